"""CaptureWriter: when blocks end, pipes, threads, errors, counters."""

import io
import os
import threading

import pytest
from formats_helpers import make_records, write_capture

from p2pcap.formats import CaptureReader, CaptureWriter, Gap, Message


def msg(ts=1, command="inv", payload=b"x" * 37, **kw):
    fields = dict(
        pid=1,
        peer_id=2,
        peer_addr="1.2.3.4:9999",
        conn_type="inbound",
        direction="in",
        msg_size=len(payload),
        flags=0,
    )
    fields.update(kw)
    return Message(
        ts,
        fields["pid"],
        fields["peer_id"],
        fields["peer_addr"],
        fields["conn_type"],
        fields["direction"],
        command,
        fields["msg_size"],
        payload,
        fields["flags"],
    )


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def blocks_in(data: bytes) -> int:
    return sum(1 for _ in CaptureReader(io.BytesIO(data)).blocks())


def test_block_ends_by_age():
    clock = FakeClock()
    out = io.BytesIO()
    w = CaptureWriter(out, {}, flush_interval=1.0, clock=clock)
    header = len(out.getvalue())
    w.write(msg())
    clock.now = 0.5
    w.write(msg())
    assert not w.maybe_flush() and len(out.getvalue()) == header
    clock.now = 1.0
    assert w.maybe_flush()
    assert len(out.getvalue()) > header  # on the file object already
    clock.now = 1.2
    w.write(msg())
    clock.now = 2.3
    w.write(msg())  # a write also ends a block that has grown old
    assert w.blocks == 2
    w.close()
    assert [b.records for b in CaptureReader(io.BytesIO(out.getvalue())).blocks()] == [2, 2]


def test_block_ends_by_size():
    recs = [msg(ts=i, payload=bytes(100)) for i in range(100)]
    data = write_capture(recs, block_size=1000)
    sizes = [b.raw_len for b in CaptureReader(io.BytesIO(data)).blocks()]
    assert all(s <= 1000 for s in sizes) and len(sizes) >= 10


def test_threaded_writes_the_same_bytes():
    recs = make_records(500)
    assert write_capture(recs, block_size=700, threaded=True) == write_capture(recs, block_size=700)


class Pipe(io.RawIOBase):
    """A file object that refuses to seek or tell, like stdout on a pipe."""

    def __init__(self):
        self.data = bytearray()

    def writable(self):
        return True

    def seekable(self):
        return False

    def write(self, b):
        self.data += b
        return len(b)

    def tell(self):
        raise io.UnsupportedOperation("pipe")

    def seek(self, *a):
        raise io.UnsupportedOperation("pipe")


def test_writes_to_a_non_seekable_stream():
    recs = make_records(50)
    pipe = Pipe()
    with CaptureWriter(pipe, {"test": True}, block_size=300) as w:
        for r in recs:
            w.write(r)
    assert bytes(pipe.data) == write_capture(recs, block_size=300)
    reader = CaptureReader(io.BytesIO(bytes(pipe.data)))
    assert list(reader) == recs and reader.index is not None


def test_real_pipe_both_ends():
    recs = make_records(200)
    r, w = os.pipe()
    with os.fdopen(r, "rb") as rf:

        def produce():
            with os.fdopen(w, "wb") as wf, CaptureWriter(wf, {}, block_size=500) as cw:
                for rec in recs:
                    cw.write(rec)

        t = threading.Thread(target=produce)
        t.start()
        reader = CaptureReader(rf)
        got = list(reader.records(commands={"inv"}))
        t.join()
    assert got == [x for x in recs if type(x) is Gap or x.command == "inv"]
    assert reader.index is not None and reader.torn_tail is None


class Failing(io.BytesIO):
    def __init__(self, after: int):
        super().__init__()
        self.after = after

    def write(self, b):
        if self.tell() + len(b) > self.after:
            raise OSError(28, "No space left on device")
        return super().write(b)


@pytest.mark.parametrize("threaded", [False, True])
def test_write_errors_surface(threaded):
    w = CaptureWriter(Failing(2000), {}, block_size=300, threaded=threaded)
    with pytest.raises(OSError, match="No space"):
        for r in make_records(200):
            w.write(r)
        w.close()
    with pytest.raises(OSError):  # the writer stays failed: no garbage after a short write
        w.write(msg())
    try:
        w.close()
    except OSError:
        pass
    w.close()  # a second close does nothing


def test_bad_records_are_refused_and_leave_the_writer_usable():
    out = io.BytesIO()
    w = CaptureWriter(out, {})
    good = msg()
    w.write(good)
    for bad, error in [
        (msg(direction="sideways"), ValueError),
        (msg(peer_addr="a" * 70000, peer_id=9), ValueError),
        (msg(command="c" * 300), ValueError),
        (msg(msg_size=1 << 32, peer_id=8, command="new"), ValueError),
        (msg(payload="text", peer_id=7), TypeError),
        ("not a record", TypeError),
        (Gap(1, 1, 1, -1), ValueError),
    ]:
        with pytest.raises(error):
            w.write(bad)
    w.write(good)
    w.close()
    reader = CaptureReader(io.BytesIO(out.getvalue()))
    assert list(reader) == [good, good]
    assert [p.peer_id for p in reader.index.peers] == [2]
    assert list(reader.index.commands) == ["inv"]


def test_counters():
    recs = make_records(100)
    out = io.BytesIO()
    with CaptureWriter(out, {}, threaded=True, block_size=500) as w:
        for r in recs:
            w.write(r)
    msgs = [r for r in recs if type(r) is Message]
    gaps = [r for r in recs if type(r) is Gap]
    assert w.messages == len(msgs)
    assert w.payload_bytes == sum(len(m.payload) for m in msgs)
    assert w.lost_messages == sum(g.lost_messages for g in gaps)
    assert w.bytes_written == len(out.getvalue())


def test_close_is_idempotent_and_closes_only_its_own_files(tmp_path):
    out = io.BytesIO()
    w = CaptureWriter(out, {})
    w.close()
    w.close()
    assert not out.closed
    with pytest.raises(ValueError):
        w.write(msg())
    path = tmp_path / "own.cap"
    with CaptureWriter(path, {"a": [1, 2]}) as w:
        w.write(msg())
    assert w._file.closed
    assert CaptureReader(path).metadata == {"a": [1, 2]}


def test_peer_sessions_are_stored_once_per_block():
    """1000 messages of one peer: its address appears once per block, not per message."""
    addr = "abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrstuv.onion:9999"
    recs = [msg(ts=i, peer_addr=addr, payload=bytes([i % 256]) * 8) for i in range(1000)]
    out = io.BytesIO()
    with CaptureWriter(out, {}, level=1) as w:
        for r in recs:
            w.write(r)
    from p2pcap.formats.block import BlockBuilder

    b = BlockBuilder()
    for r in recs:
        b.add(r)
    assert bytes(b.finish().raw).count(addr.encode()) == 1
    reader = CaptureReader(io.BytesIO(out.getvalue()))
    (session,) = reader.index.peers
    assert (session.addr, session.first_ns, session.last_ns) == (addr, 0, 999)
    assert session.messages_in == 1000


def test_payload_views_and_pieces_are_copied_before_write_returns():
    """The recorder hands over payloads still lying in its ring buffer."""
    source = bytearray(b"abcdefgh" * 1000)
    out = io.BytesIO()
    with CaptureWriter(out, {}, block_size=4096) as w:
        w.write(msg(ts=1, command="tx", payload=memoryview(source)[:100]))
        w.write(msg(ts=2, command="block", payload=[memoryview(source)[:5000], b"tail"]))
        source[:] = bytes(len(source))  # the ring buffer is reused at once
    got = list(CaptureReader(io.BytesIO(out.getvalue())))
    assert [m.payload for m in got] == [b"abcdefgh" * 12 + b"abcd", (b"abcdefgh" * 625) + b"tail"]
    assert [m.captured_len for m in got] == [100, 5004]


def test_stored_frames_and_reused_buffers_through_a_real_file(tmp_path):
    """Many blocks through a few buffers, the body left uncompressed: byte-exact back."""
    from p2pcap.formats.compress import stored_frame

    recs = make_records(3000, max_payload=3000) + [msg(ts=2, payload=os.urandom(300_000))]
    path = tmp_path / "x.cap"
    with CaptureWriter(
        path, {}, block_size=20_000, threaded=True, queue_blocks=2, compressor=lambda backlog: stored_frame
    ) as w:
        for r in recs:
            w.write(r)
    assert w.blocks > 100
    assert list(CaptureReader(path)) == recs


def test_writev_keeps_going_after_partial_writes(tmp_path, monkeypatch):
    """A write() may take part of the bytes (a pipe, a signal): the rest follows."""
    from p2pcap.formats import writer as writer_module

    real = os.writev
    calls = []

    def at_most_1000_bytes(fd, buffers):
        calls.append(len(buffers))
        budget, take = 1000, []
        for b in buffers:
            b = memoryview(b)[:budget]
            take.append(b)
            budget -= b.nbytes
            if not budget:
                break
        return real(fd, take)

    monkeypatch.setattr(writer_module.os, "writev", at_most_1000_bytes)
    recs = make_records(400, max_payload=900)
    path = tmp_path / "x.cap"
    with CaptureWriter(path, {"test": True}, block_size=8000) as w:
        for r in recs:
            w.write(r)
    assert max(calls) > 1 and len(calls) > w.blocks
    assert path.read_bytes() == write_capture(recs, block_size=8000)
