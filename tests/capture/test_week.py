"""``record --duration 7d`` with a fake clock: a week of recording in seconds.

The recorder's own loop (capture/recorder.py) runs against a fake ``time``
whose clocks move only when the loop sleeps (each sleep jumps a minute),
a fake ring that hands it the messages a node sent meanwhile, and the
real output: files rotated by size and by the hour across seven
midnights (UTC), a peer table that turns, peers that come and go, and a
step of the wall clock half way.  Checked: the recording stops after
seven days; every message is in exactly one file, in order, with its
peer; the step is recorded (the footer of the file it happened in, the
metadata of every later file) and reorders nothing; memory structures
stay small.  No BPF, no root.
"""

from __future__ import annotations

import calendar
import json
import os
import time

from p2pcap.capture import output as output_module
from p2pcap.capture import program
from p2pcap.capture import recorder as recorder_module
from p2pcap.capture.compression import AdaptiveCompressor
from p2pcap.capture.events import encode_message, encode_peer
from p2pcap.capture.output import Output
from p2pcap.capture.recorder import Recorder
from p2pcap.formats import CaptureWriter, Message, open_capture
from p2pcap.formats.compress import decompress
from p2pcap.formats.layout import parse_block_header, parse_trailer
from p2pcap.units import parse_duration

NS = 1_000_000_000
START = calendar.timegm((2026, 3, 1, 23, 59, 30)) * NS  # half a minute before midnight UTC
STEP_AT_S = 3.5 * 86400  # the wall clock is stepped back here
STEP_NS = -5 * NS


class FakeTime:
    """The parts of ``time`` the recorder and its output use; clocks move when slept on."""

    def __init__(self, wall_ns: int):
        self.mono_ns = 5_000 * NS  # since boot
        self.wall_offset_ns = wall_ns - self.mono_ns

    def monotonic_ns(self) -> int:
        return self.mono_ns

    def monotonic(self) -> float:
        return self.mono_ns / NS

    def time_ns(self) -> int:
        return self.mono_ns + self.wall_offset_ns

    def time(self) -> float:
        return self.time_ns() / NS

    def sleep(self, seconds: float) -> None:
        self.mono_ns += int(seconds * NS)

    def strftime(self, fmt: str, t=None) -> str:
        return time.strftime(fmt, time.gmtime(self.time()) if t is None else t)


class Node:
    """The kernel side: messages on a schedule, each peer named once per epoch."""

    def __init__(self, clock: FakeTime):
        self.clock = clock
        self.t0 = clock.mono_ns
        self.sent = 0
        self.epoch = 0
        self.refs: dict = {}
        self.next_ref = 1
        self.stepped = False

    def forget(self, _bpf=None) -> None:
        self.epoch += 1

    def due(self) -> list[bytes]:
        """Records for the messages due since the last call: one every 10 s on
        even days, every 5 s on odd ones (so both size and time end files)."""
        out = []
        while True:
            t = self._time_of(self.sent)
            if t > self.clock.mono_ns:
                break
            n = self.sent
            peer = n // 40  # a new peer every 40 messages: 1,000s of peers in the week
            addr = f"10.{peer // 62500 % 250}.{peer // 250 % 250}.{peer % 250}:9999"
            key = (peer, self.epoch)
            ref = self.refs.get(key)
            if ref is None:
                ref = self.refs[key] = self.next_ref
                self.next_ref += 1
                out.append(encode_peer(ref, peer, os.getpid(), addr, "inbound"))
            out.append(encode_message(ref, "tx", n.to_bytes(8, "little") + bytes(92), ts_ns=t))
            self.sent += 1
        if not self.stepped and self.clock.mono_ns - self.t0 >= STEP_AT_S * NS:
            self.clock.wall_offset_ns += STEP_NS  # NTP steps the wall clock back
            self.stepped = True
        self.refs = {k: v for k, v in self.refs.items() if k[1] == self.epoch}
        return out

    def _time_of(self, n: int) -> int:
        day = 86400 * NS
        per_slow, per_fast = 8640, 17280  # messages in a day at 10 s, at 5 s
        pair = per_slow + per_fast
        whole, rest = divmod(n, pair)
        t = self.t0 + whole * 2 * day
        if rest < per_slow:
            return t + rest * 10 * NS
        return t + day + (rest - per_slow) * 5 * NS


class Ring:
    kind = "fake"
    fd = -1

    def __init__(self, node: Node, assembler):
        self.node, self.assembler = node, assembler
        self.drains = 0

    def drain(self) -> int:
        self.drains += 1
        records = self.node.due()
        if records:
            self.assembler.feed_many(records)
        return len(records)

    def positions(self) -> tuple[int, int]:
        return self.drains, self.drains

    def backlog(self) -> int:
        return 0

    def close(self) -> None:
        pass


class Waker:
    """Sleeps a minute whatever it is asked: the week goes by in 10,080 drains."""

    def __init__(self, clock: FakeTime):
        self.clock = clock

    def sleep(self, seconds: float) -> bool:
        self.clock.sleep(max(seconds, 60.0))
        return False

    def close(self) -> None:
        pass


class NoLosses:
    def __init__(self, _bpf):
        pass

    def read(self):
        return []


def footer_json(path) -> dict:
    with open(path, "rb") as f:
        data = f.read()
    offset = parse_trailer(data[-16:])
    h = parse_block_header(data[offset:], offset)
    body = data[offset + h.header_len : offset + h.header_len + h.body_len]
    return json.loads(decompress(body, h.raw_len))


def test_a_week_long_recording_with_rotation_across_midnights_and_a_clock_step(tmp_path, monkeypatch):
    clock = FakeTime(START)
    node = Node(clock)
    monkeypatch.setattr(recorder_module, "time", clock)
    monkeypatch.setattr(output_module, "time", clock)
    monkeypatch.setattr(recorder_module, "Waker", lambda fd: Waker(clock))
    monkeypatch.setattr(
        recorder_module, "open_ring", lambda bpf, name, size, assembler: Ring(node, assembler)
    )
    monkeypatch.setattr(program, "LossCounters", NoLosses)
    monkeypatch.setattr(program, "forget_peers", node.forget)

    def one_level(backlog):
        # The recorder's compressor held at one level, -100 (next to stored):
        # an hour of the slow days then ends by time and one of the fast
        # days by size.  The adaptive one steps down as far as the machine's
        # load makes it, and which files end by size would depend on it.
        return AdaptiveCompressor(backlog, levels=(-100,))

    def writer(dest, meta, opener=None):  # the recorder's writer, on the fake clock
        return CaptureWriter(
            dest, meta, threaded=True, compressor=one_level, stream=True, clock=clock.monotonic
        )

    out = Output(
        str(tmp_path / "run-%Y%m%dT%H%M%S.cap"),
        {"network": "regtest"},
        rotate_size=60_000,
        rotate_time=3600,
        clock=clock.monotonic,
        writer_factory=writer,
    )
    notes = []
    rec = Recorder(
        None, out, program.Options(), pids=[os.getpid()], duration=parse_duration("7d"), on_note=notes.append
    )
    summary = rec.run()
    out.close()

    # It stopped after seven days, to the minute.
    assert 7 * 86400 <= (clock.mono_ns - node.t0) / NS <= 7 * 86400 + 120
    assert summary.messages == node.sent and summary.lost_messages == 0
    # Every message once, in order, with its peer, across every file.
    assert len(out.files) == len(list(out.files)) > 150
    names = [os.path.basename(f) for f in out.files]
    assert len(set(names)) == len(names)
    days = {n[4:12] for n in names}
    assert {"20260301", "20260302", "20260308"} <= days  # named across the midnights
    seen, last_ts = 0, None
    ends = {"size": 0, "time": 0}
    for path in out.files:
        with open_capture(path) as reader:
            messages = [r for r in reader.records() if type(r) is Message]
            assert reader.index is not None  # closed cleanly, footer and all
            first = reader.metadata["file_start_time_ns"]
        size = os.path.getsize(path)
        ends["size" if size >= 60_000 else "time"] += 1
        for m in messages:
            n = int.from_bytes(m.payload[:8], "little")
            assert n == seen, (path, n, seen)
            assert m.peer_id == n // 40 and m.peer_addr.endswith(f".{m.peer_id % 250}:9999")
            assert last_ts is None or m.ts_ns > last_ts  # the step reordered nothing
            last_ts = m.ts_ns
            seen += 1
        assert first is not None
    assert seen == node.sent
    assert ends["size"] > 20 and ends["time"] > 20, ends
    # The step: noted, in the footer of the file it happened in, in the metadata of later files.
    (step,) = summary.clock_steps
    assert step.step_ns == STEP_NS and any("stepped -5.000 s" in n for n in notes)
    holding = [p for p in out.files if footer_json(p).get("clock_steps")]
    assert len(holding) == 1 and holding[0] != out.files[-1]
    with open_capture(out.files[-1]) as reader:
        assert reader.metadata["clock_steps"][0]["step_ns"] == STEP_NS
    # Bounded state: the peer table turned (every 10 minutes) and holds little.
    table = rec.assembler.table
    assert table.turns > 900 and len(table) < 100
    assert node.epoch >= table.turns
