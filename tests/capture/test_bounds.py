"""What a recording holds in memory is bounded by configuration, not by its length.

Issue 29: the recorder held ~300 bytes per message written (a peer named
anew with every message), a closed file's writer lived on until a full
garbage collection, and the index, the file list and the names of
rotated files grew with every block, peer and file.  No BPF, no root:
synthetic ring records, fake clocks.
"""

from __future__ import annotations

import gc
import io
import os
import threading
import time
import tracemalloc
import weakref

import pytest

from p2pcap.capture import output as output_module
from p2pcap.capture.compression import AdaptiveCompressor
from p2pcap.capture.events import COMMAND_CACHE_MAX, Assembler, encode_message, encode_peer
from p2pcap.capture.output import FileList, Output
from p2pcap.capture.peertable import PeerTable
from p2pcap.formats import CaptureWriter, Message, open_capture
from p2pcap.formats import writer as writer_module
from p2pcap.formats.block import BlockContent
from p2pcap.formats.index import BlockInfo, BlockTable, IndexBuilder, IndexLimits


class Kernel:
    """Stands for the BPF program's peer cache: a ref per (peer, epoch); or a
    fresh ref for every message (``rename_every_time``, as when two peers
    share a cache slot and take turns)."""

    def __init__(self, rename_every_time: bool = False):
        self.epoch = 0
        self.rename_every_time = rename_every_time
        self.refs: dict = {}
        self.next_ref = 1

    def forget(self) -> None:
        self.epoch += 1

    def message(self, pid: int, peer_id: int, addr: str, ts_ns: int, payload: bytes) -> list[bytes]:
        key = (pid, peer_id, addr, self.epoch)
        out = []
        ref = self.refs.get(key)
        if ref is None or self.rename_every_time:
            ref = self.refs[key] = self.next_ref
            self.next_ref += 1
            out.append(encode_peer(ref, peer_id, pid, addr, "inbound"))
        out.append(encode_message(ref, "tx", payload, ts_ns=ts_ns))
        return out


def test_a_peer_renamed_with_every_message_costs_no_memory_per_message():
    kernel = Kernel(rename_every_time=True)
    out = []
    a = Assembler(0, out.append)
    a.table = PeerTable(size=1000)
    biggest = turns = 0
    for batch in range(100):  # 100 drains of 500 messages, 4 peers: 50,000 renames
        records = []
        for i in range(500):
            n = batch * 500 + i
            records += kernel.message(7, n % 4, f"10.0.0.{n % 4}:9999", n, n.to_bytes(4, "little"))
        a.feed_many(records)
        turns += a.table.tick(batch * 0.25, batch, batch, kernel.forget)  # a drain every grace_s
        biggest = max(biggest, len(a.table))
    assert len(out) == 50_000 and turns >= 45
    assert all(m.peer_addr == f"10.0.0.{m.peer_id}:9999" for m in out)  # none lost its name
    # Two generations of 1,000 refs, plus one drain's worth while a turn waits.
    assert biggest <= 2 * 1000 + 500
    assert kernel.epoch == turns  # every turn made the kernel forget first


def test_a_turn_waits_until_the_ring_is_read_past_what_was_written_before_it():
    table = PeerTable(size=1, grace_s=0.25)
    forgot = []
    table.add(1, (7, 0, "a", "inbound", 0))
    assert table.tick(0.0, consumed=0, produced=100, forget=lambda: forgot.append(1)) is False
    assert table.tick(0.3, consumed=50, produced=120, forget=lambda: forgot.append(1)) is False
    assert table.tick(0.4, consumed=119, produced=130, forget=lambda: forgot.append(1)) is False
    assert table.tick(0.5, consumed=120, produced=130, forget=lambda: forgot.append(1)) is True
    assert forgot == [1] and table.get(1) is not None  # the older generation still answers
    table.add(2, (7, 1, "b", "inbound", 0))
    assert table.tick(1.0, consumed=130, produced=130, forget=lambda: forgot.append(2)) is True
    assert table.get(1) is None and table.get(2) is not None


def test_idle_peers_are_forgotten_within_two_turns():
    table = PeerTable(size=100, idle_s=600)
    table.add(1, (7, 0, "a", "inbound", 0))
    for minute in range(25):
        table.tick(60.0 * minute, consumed=minute, produced=minute, forget=lambda: None)
    assert table.turns == 2 and table.get(1) is None


def test_the_command_cache_is_bounded_against_made_up_names():
    out = []
    a = Assembler(0, out.append)
    records = [encode_peer(1, 0, 7, "10.0.0.1:9999", "inbound")]
    records += [encode_message(1, f"c{i:010d}", b"") for i in range(COMMAND_CACHE_MAX + 10)]
    a.feed_many(records)
    a.feed_many([encode_message(1, "last", b"")])
    assert len(a._commands) <= COMMAND_CACHE_MAX and out[-1].command == "last"


def test_a_closed_writer_is_freed_without_the_garbage_collector(tmp_path):
    gc.disable()
    try:
        w = CaptureWriter(tmp_path / "a.cap", {}, threaded=True, compressor=AdaptiveCompressor, stream=True)
        w.write(Message(1, 7, 0, "a", "inbound", "in", "ping", 8, bytes(8)))
        w.close()
        alive = weakref.ref(w)
        del w
        assert alive() is None  # no reference cycle keeps its block buffers
    finally:
        gc.enable()


def test_block_entries_are_packed():
    table = BlockTable()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for i in range(20_000):
            table.append(
                BlockInfo(
                    i,
                    10**9 + i,
                    700_000,
                    3000,
                    1_700_000_000 * 10**9 + i,
                    1_700_000_001 * 10**9,
                    1 << 20,
                    0,
                    ("inv", "tx"),
                    0,
                )
            )
        per_block = (tracemalloc.get_traced_memory()[0] - before) / 20_000
    finally:
        tracemalloc.stop()
    assert per_block < 80, per_block
    assert table[12_345].offset == 10**9 + 12_345 and table[-1].commands == ("inv", "tx")
    assert [b.index for b in table[3:6]] == [3, 4, 5]


def content_with_peers(first: int, n: int) -> BlockContent:
    c = BlockContent(records=n, ts_min_ns=1, ts_max_ns=2, commands=["tx"])
    for k in range(n):
        c.peers.append((7, first + k, f"10.0.{k // 250}.{k % 250}:9999", "inbound"))
        c.peer_first.append(1)
        c.peer_last.append(2)
        c.counts[k << 18 | 0 << 1 | 0] = [1, 10, 10]
    return c


def test_the_index_says_full_before_its_limits_and_lets_go_past_them():
    b = IndexBuilder(IndexLimits(sessions=64))
    b.add_block(0, 100, 100, content_with_peers(0, 40))
    assert not b.full
    b.add_block(100, 100, 100, content_with_peers(40, 20))
    assert b.full and not b.overflowed
    b.add_block(200, 100, 100, content_with_peers(60, 20))
    assert b.overflowed and b.index.peers == [] and len(b.index.blocks) == 0


def test_rotation_starts_a_new_file_when_the_index_is_full(tmp_path, monkeypatch):
    monkeypatch.setattr(writer_module, "WRITER_LIMITS", IndexLimits(sessions=1024))

    def factory(dest, meta, opener=None):
        return CaptureWriter(dest, meta, block_size=4096, flush_interval=3600, stream=True, opener=opener)

    out = Output(tmp_path / "churn.cap", {}, writer_factory=factory)
    sent = []
    for i in range(8000):  # a new peer every message, ~36 to a block
        m = Message(
            i,
            7,
            i,
            f"10.{i // 62500}.{i // 250 % 250}.{i % 250}:9999",
            "inbound",
            "in",
            "version",
            4,
            bytes(4),
        )
        out.write(m)
        sent.append((m.ts_ns, m.peer_id))
        out.tick()
    out.close()
    assert len(out.files) >= 8  # 896 peer-sessions make the index full
    got = []
    for path in out.files:
        with open_capture(path) as reader:
            assert reader.index is not None  # every file kept its footer
            assert len(reader.index.peers) <= 1024
            got += [(m.ts_ns, m.peer_id) for m in reader.records()]
    assert got == sent


def test_a_stream_that_cannot_rotate_ends_without_a_footer_but_whole(monkeypatch):
    monkeypatch.setattr(writer_module, "WRITER_LIMITS", IndexLimits(sessions=16))
    buf = io.BytesIO()
    with CaptureWriter(buf, {}, block_size=2048, stream=True) as w:
        for i in range(200):
            w.write(Message(i, 7, i, f"10.2.0.{i % 250}:9999", "inbound", "in", "ping", 8, bytes(8)))
    with open_capture(io.BytesIO(buf.getvalue())) as reader:
        assert reader.index is None
        assert [m.peer_id for m in reader.records()] == list(range(200))


def test_the_list_of_files_keeps_the_first_and_the_latest():
    files = FileList(keep=3)
    for n in range(10):
        files.append(f"run.cap.{n}")
    assert len(files) == 10 and files[0] == "run.cap.0" and files[-1] == "run.cap.9"
    assert list(files) == ["run.cap.0", "run.cap.7", "run.cap.8", "run.cap.9"]
    with pytest.raises(IndexError, match="no longer kept"):
        files[3]


def test_names_of_rotated_files_are_remembered_up_to_a_bound(tmp_path, monkeypatch):
    monkeypatch.setattr(output_module, "NAMES_KEPT", 5)

    def small(dest, meta, opener=None):
        return CaptureWriter(dest, meta, opener=opener)

    out = Output(str(tmp_path / "same.cap%%"), {}, rotate_size=1, writer_factory=small)
    for i in range(20):
        out.write(Message(i, 7, 0, "a", "inbound", "in", "ping", 8, bytes(8)))
        out.tick()
    out.close()
    assert len(out._names) == 5 and len(out.files) == 21
    # Within the names kept, a name that comes round again gets a suffix.
    assert out.files[-1] != out.files[-2]


class SlowDisk(io.BytesIO):
    """A file whose writes wait until ``go`` is set: a disk that fell behind."""

    def __init__(self):
        super().__init__()
        self.go = threading.Event()

    def write(self, data) -> int:
        self.go.wait()
        return super().write(data)


def test_a_disk_that_falls_behind_holds_up_the_writer_not_memory():
    disk = SlowDisk()
    disk.go.set()  # the file header
    w = CaptureWriter(disk, {}, block_size=4096, threaded=True, queue_blocks=2)
    disk.go.clear()
    sent = [0]

    def produce():
        for i in range(2000):  # ~250 blocks' worth
            w.write(Message(i, 7, 0, "a", "inbound", "in", "tx", 200, bytes(200)))
            sent[0] += 1

    t = threading.Thread(target=produce, daemon=True)
    t.start()
    time.sleep(0.5)
    held = sent[0]
    time.sleep(0.5)
    # Blocked in write(): two queues of 2 blocks, one being compressed, one
    # being written, one filling -- not 2,000 messages piling up.
    assert sent[0] == held < 2000 and held * 228 < 8 * 4096
    disk.go.set()
    t.join(10)
    w.close()
    with open_capture(io.BytesIO(disk.getvalue())) as reader:
        assert [m.ts_ns for m in reader.records()] == list(range(2000))


def test_a_process_that_exits_leaves_no_peer_names(monkeypatch):
    from p2pcap.capture import program
    from p2pcap.capture.recorder import Recorder

    forgotten = []
    monkeypatch.setattr(program, "forget_peers", lambda bpf: forgotten.append(bpf))
    rec = Recorder("bpf", None, program.Options())  # --exe: no pids named
    rec.assembler = Assembler(0, lambda m: None)
    gone = 4_194_000  # above any pid this machine hands out (pid_max is 4,194,304 at most)
    rec.assembler.feed_many(
        [
            encode_peer(1, 0, gone, "10.0.0.1:9999", "inbound"),
            encode_peer(2, 0, os.getpid(), "10.0.0.2:9999", "inbound"),
        ]
    )
    rec._check_targets()  # both seen; the gone one found dead
    assert rec.assembler.table.get(1) is not None and forgotten == []
    rec._check_targets()  # its last messages are drained by now: forgotten, and the probe told
    assert rec.assembler.table.get(1) is None and rec.assembler.table.get(2) is not None
    assert gone not in rec.assembler.pids and forgotten == ["bpf"]


def test_the_adaptive_compressor_holds_one_zstd_context():
    backlog = [5]
    c = AdaptiveCompressor(lambda: backlog[0])
    data = bytes(range(256)) * 4096
    levels = {c.level}
    for _ in range(12):  # all the way down the ladder
        c(data)
        levels.add(c.level)
        assert sum(x is not None for x in c._compressors) == 1
    assert len(levels) == len(c.levels)
    backlog[0] = 0
    for _ in range(40):
        c(data)
    assert c.level != c.levels[-1] and sum(x is not None for x in c._compressors) == 1
