"""CaptureReader: the index skips blocks, memory stays bounded, follow works."""

import io
import random
import threading
import time
import tracemalloc

import pytest
from formats_helpers import make_records, write_capture

from p2pcap.formats import CaptureReader, CaptureWriter, Gap, Message, compress, open_capture


@pytest.fixture
def count_decompress(monkeypatch):
    calls = []
    real = compress.decompress

    def counting(frame, size):
        calls.append(size)
        return real(frame, size)

    import p2pcap.formats.decoder as decoder

    monkeypatch.setattr(decoder, "decompress", counting)
    return calls


def rare_capture():
    """500 blocks of inv/tx with one "spork" message in block 250."""
    recs = []
    for i in range(5000):
        command = "spork" if i == 2505 else ("inv", "tx")[i % 2]
        recs.append(Message(i, 1, i % 3, "p:1", "inbound", "in", command, 40, bytes(40)))
    return recs, write_capture(recs, block_size=700)


def test_footer_index_skips_blocks_without_the_command(count_decompress):
    recs, data = rare_capture()
    reader = CaptureReader(io.BytesIO(data))
    n_blocks = len(reader.index.blocks)
    count_decompress.clear()
    assert [m.ts_ns for m in reader.records(commands={"spork"})] == [2505]
    assert len(count_decompress) == 1 and n_blocks > 400


def test_without_footer_the_header_mask_still_skips(count_decompress):
    recs, data = rare_capture()
    footer = CaptureReader(io.BytesIO(data)).index.blocks[-1]
    reader = CaptureReader(io.BytesIO(data[: footer.offset + footer.length]))  # killed recorder
    assert reader.index is None
    count_decompress.clear()
    assert [m.ts_ns for m in reader.records(commands={"spork"})] == [2505]
    assert len(count_decompress) < 10  # a mask bit may collide; most blocks are skipped


def test_time_range_reads_only_overlapping_blocks(count_decompress):
    recs, data = rare_capture()
    reader = CaptureReader(io.BytesIO(data))
    count_decompress.clear()
    got = list(reader.records(since_ns=1000, until_ns=1099))
    assert [m.ts_ns for m in got] == list(range(1000, 1100))
    assert len(count_decompress) <= 15  # of 500


def test_blocks_and_stats_without_decompressing(count_decompress):
    recs, data = rare_capture()
    reader = CaptureReader(io.BytesIO(data))
    count_decompress.clear()
    infos = list(reader.blocks())
    stats = reader.summarize()
    assert count_decompress == []
    assert sum(b.records for b in infos) == len(recs)
    assert stats.commands["spork"]["in"].messages == 1
    assert stats.messages == 5000
    # without a footer blocks() walks the headers, still without decompressing
    bare = CaptureReader(io.BytesIO(data[: infos[-1].offset + infos[-1].length]))
    assert [(b.offset, b.records) for b in bare.blocks()] == [(b.offset, b.records) for b in infos]
    assert count_decompress == []


def test_summarize_by_scanning_equals_the_footer():
    recs = make_records(500)
    data = write_capture(recs, block_size=800)
    reader = CaptureReader(io.BytesIO(data))
    assert reader.summarize(scan=True).to_json() == reader.index.to_json()
    idx = reader.index
    assert idx.lost_messages == sum(r.lost_messages for r in recs if type(r) is Gap)
    assert idx.captured_bytes == sum(len(r.payload) for r in recs if type(r) is Message)
    assert {(p.pid, p.peer_id) for p in idx.peers} == {(r.pid, r.peer_id) for r in recs if type(r) is Message}


def test_read_twice_and_gaps_false():
    recs = make_records(100)
    reader = CaptureReader(io.BytesIO(write_capture(recs)))
    assert list(reader) == recs
    assert list(reader.records(gaps=False)) == [r for r in recs if type(r) is Message]


def test_memory_is_bounded(tmp_path):
    """Reading 40x more blocks costs no more memory."""

    def peak(n_blocks):
        path = tmp_path / f"{n_blocks}.cap"
        # payloads as incompressible as real ones: repeated bytes would make
        # this a file that expands 66x, which readers refuse (limits.py)
        payloads = [random.Random(i).randbytes(1000) for i in range(256)]
        with CaptureWriter(path, {}, block_size=64 << 10, level=1) as w:
            for i in range(n_blocks * 64):
                w.write(
                    Message(
                        i,
                        1,
                        i % 50,
                        f"10.0.0.{i % 50}:1",
                        "inbound",
                        "in",
                        ("inv", "tx")[i % 2],
                        1000,
                        payloads[i % 256],
                    )
                )
        tracemalloc.start()
        with open_capture(path) as reader:
            n = sum(1 for _ in reader)
        used = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert n == n_blocks * 64
        return used

    small, big = peak(5), peak(200)
    assert big < small * 1.5 + (256 << 10), (small, big)


def test_follow_reads_a_growing_file(tmp_path):
    path = tmp_path / "live.cap"
    recs = make_records(300)
    writer = CaptureWriter(path, {"live": 1}, block_size=400, flush_interval=0.01)
    got = []

    def follow():
        with open_capture(path, follow=True, poll_interval=0.01) as reader:
            got.extend(reader)

    t = threading.Thread(target=follow)
    t.start()
    for i, r in enumerate(recs):
        writer.write(r)
        if i % 50 == 0:
            writer.flush()
            time.sleep(0.02)
    time.sleep(0.05)
    assert 0 < len(got) < len(recs)  # reading as it is written
    writer.close()
    t.join(5)
    assert not t.is_alive() and got == recs  # ends at the trailer


def test_follow_stops_on_request(tmp_path):
    path = tmp_path / "live.cap"
    writer = CaptureWriter(path, {})
    writer.write(make_records(1)[0])
    writer.flush()
    reader = CaptureReader(path, follow=True, poll_interval=0.01)
    got = []
    t = threading.Thread(target=lambda: got.extend(reader))
    t.start()
    time.sleep(0.1)
    reader.stop()
    t.join(5)
    assert not t.is_alive() and len(got) == 1 and reader.torn_tail is None
    writer.close()
