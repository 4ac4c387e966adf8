"""A real ``kill -9`` of a process writing with the real writer.

The child writes a known sequence of records (record i is a function of i)
with a short flush interval; the parent waits until the file holds a few
blocks, kills it with SIGKILL and reads what is left: a prefix of the
sequence holding every complete block, then a torn tail or a clean end.
"""

import os
import signal
import subprocess
import sys
import time

import pytest

from p2pcap.formats import CaptureReader, TruncatedCapture, check_capture, repair_capture
from p2pcap.formats.records import Message

CHILD = r"""
import sys, time
from p2pcap.formats import CaptureWriter, Message
path, threaded = sys.argv[1], sys.argv[2] == "1"
w = CaptureWriter(path, {"child": True}, block_size=4096, flush_interval=0.02,
                  threaded=threaded)
i = 0
while True:
    w.write(Message(i, 99, i % 7, f"10.1.0.{i % 7}:9999", "inbound", "in", "inv",
                    37 + i % 50, bytes([i % 251]) * (37 + i % 50)))
    i += 1
    if i % 50 == 0:
        time.sleep(0.001)
"""


def record(i: int) -> Message:
    return Message(
        i,
        99,
        i % 7,
        f"10.1.0.{i % 7}:9999",
        "inbound",
        "in",
        "inv",
        37 + i % 50,
        bytes([i % 251]) * (37 + i % 50),
    )


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
@pytest.mark.parametrize("threaded", [False, True])
def test_sigkill_loses_at_most_the_open_block(tmp_path, threaded):
    path = tmp_path / "killed.cap"
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(path), "1" if threaded else "0"])
    try:
        deadline = time.monotonic() + 30
        while not (path.exists() and path.stat().st_size > 60_000):
            assert child.poll() is None, "writer exited early"
            assert time.monotonic() < deadline, "writer too slow"
            time.sleep(0.01)
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    assert child.returncode == -signal.SIGKILL

    reader = CaptureReader(path)
    got = list(reader)
    assert got == [record(i) for i in range(len(got))]
    complete = sum(b.records for b in CaptureReader(path).blocks())
    assert len(got) == complete > 0
    assert reader.index is None and reader.damaged == []
    assert reader.torn_tail is None or isinstance(reader.torn_tail, TruncatedCapture)

    assert check_capture(path).verdict in ("torn tail", "no footer")
    fixed = tmp_path / "fixed.cap"
    repair_capture(path, fixed)
    assert check_capture(fixed).verdict == "ok"
    assert list(CaptureReader(fixed)) == got


IDLE_CHILD = r"""
import sys, time
from p2pcap.formats import CaptureWriter, Message
w = CaptureWriter(sys.argv[1], {}, flush_interval=0.2, threaded=True)
for i in range(100):
    w.write(Message(i, 99, i % 7, f"10.1.0.{i % 7}:9999", "inbound", "in", "inv",
                    37 + i % 50, bytes([i % 251]) * (37 + i % 50)))
print("written", flush=True)
while True:  # the recorder's timer
    time.sleep(0.05)
    w.maybe_flush()
"""


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_sigkill_after_a_quiet_second_loses_nothing(tmp_path):
    """Records older than flush_interval are on disk even when traffic stops."""
    path = tmp_path / "quiet.cap"
    child = subprocess.Popen([sys.executable, "-c", IDLE_CHILD, str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline() == "written\n"
        time.sleep(0.6)  # flush_interval 0.2 s plus the timer's period, with margin
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        child.stdout.close()
    reader = CaptureReader(path)
    assert list(reader) == [record(i) for i in range(100)]
    assert reader.torn_tail is None
