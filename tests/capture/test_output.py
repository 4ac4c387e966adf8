"""Rotation, naming, sizes and the adaptive compressor: no BPF, no root."""

from __future__ import annotations

import os
import random
import re

import pytest

from p2pcap.capture import compression
from p2pcap.capture.compression import AdaptiveCompressor
from p2pcap.capture.output import Output
from p2pcap.errors import P2pcapError
from p2pcap.formats import CaptureWriter, Gap, Message, open_capture
from p2pcap.formats.compress import decompress


def message(i: int, size: int = 1000) -> Message:
    payload = random.Random(i).randbytes(size)  # incompressible: sizes on disk are predictable
    return Message(i, 42, i % 3, "127.0.0.1:19899", "inbound", "in", "tx", size, payload)


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def small_blocks(dest, meta, opener=None):
    return CaptureWriter(dest, meta, block_size=4096, flush_interval=3600, opener=opener)


def read_all(paths):
    records, metas = [], []
    for path in paths:
        with open_capture(path) as reader:
            metas.append(reader.metadata)
            records.extend(reader.records())
    return records, metas


def test_size_rotation_numbers_files_and_keeps_every_record_once(tmp_path):
    out = Output(
        tmp_path / "run.cap", {"network": "regtest"}, rotate_size=20_000, writer_factory=small_blocks
    )
    sent = []
    for i in range(100):
        m = message(i)
        out.write(m)
        sent.append(m)
        if i % 10 == 9:
            out.write(Gap(ts_ns=i, pid=0, reason=1, lost_messages=2, lost_bytes=3))
            sent.append("gap")
            out.tick()
    out.close()
    assert out.files[0] == str(tmp_path / "run.cap")
    assert out.files[1:] == [f"{tmp_path / 'run.cap'}.{n}" for n in range(1, len(out.files))]
    assert len(out.files) >= 3
    records, metas = read_all(out.files)
    got = ["gap" if type(r) is Gap else r for r in records]
    assert got == sent
    assert [m["file_index"] for m in metas] == list(range(len(out.files)))
    assert all(m["network"] == "regtest" for m in metas)
    assert out.messages == 100 and out.bytes_written == sum(os.path.getsize(f) for f in out.files)


def test_time_rotation_with_a_strftime_pattern(tmp_path):
    clock = Clock()
    pattern = str(tmp_path / "run-%Y%m%dT%H%M%S.cap")
    out = Output(pattern, {}, rotate_time=60, clock=clock, writer_factory=small_blocks)
    for i in range(30):
        out.write(message(i))
        clock.now += 5
        out.tick()
    out.close()
    assert len(out.files) == 3  # 150 s of records, a file a minute
    names = [os.path.basename(f) for f in out.files]
    assert all(re.fullmatch(r"run-\d{8}T\d{6}\.cap(\.\d+)?", n) for n in names), names
    assert len(set(names)) == 3  # same second: .1, .2 keep them apart
    records, _ = read_all(out.files)
    assert [r.ts_ns for r in records] == list(range(30))


def test_no_empty_files_while_nothing_happens(tmp_path):
    clock = Clock()
    out = Output(tmp_path / "quiet.cap", {}, rotate_time=1, clock=clock, writer_factory=small_blocks)
    for _ in range(5):
        clock.now += 10
        out.tick()
    out.close()
    assert out.files == [str(tmp_path / "quiet.cap")]


def test_stdout_cannot_rotate():
    with pytest.raises(P2pcapError, match="standard output"):
        Output("-", {}, rotate_size=10)


def test_an_unwritable_place_is_one_error(tmp_path):
    with pytest.raises(P2pcapError, match="cannot create"):
        Output(tmp_path / "missing-dir" / "run.cap", {})


def test_adaptive_compressor_steps_down_under_backlog_and_back_up_when_calm():
    backlog = [0]
    c = AdaptiveCompressor(lambda: backlog[0])
    data = b"inv " * 10_000
    assert c.level == 3
    backlog[0] = 3
    for _ in range(len(compression.LEVELS) + 2):
        frame = c(data)
        if c.level == compression.STORED:  # pieces of a frame, around the data as it lies
            assert any(type(p) is memoryview for p in frame)
            frame = b"".join(frame)
        assert decompress(frame, len(data)) == data  # ordinary frames at every level
    assert c.level == compression.LEVELS[-1] == c.lowest_level
    backlog[0] = 0
    for _ in range(compression.CALM_BLOCKS):
        c(data)
    assert c.level == compression.LEVELS[-2]


def test_adaptive_compressor_backs_off_after_a_failed_step_up():
    backlog = [3]
    c = AdaptiveCompressor(lambda: backlog[0], levels=(3, 1))
    c(b"x")
    assert c.level == 1
    backlog[0] = 0
    for _ in range(compression.CALM_BLOCKS):
        c(b"x")
    assert c.level == 3
    backlog[0] = 3
    c(b"x")  # the step up did not hold
    backlog[0] = 0
    for _ in range(compression.CALM_BLOCKS):
        c(b"x")
    assert c.level == 1  # now it waits twice as long
    for _ in range(compression.CALM_BLOCKS):
        c(b"x")
    assert c.level == 3
