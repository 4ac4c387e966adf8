"""Long runs through real uprobes: rotation, --count, --duration, stdout, status.

Rotation must split a recording without losing or duplicating a message;
``-o -`` streams a capture into ``p2pcap show -``; a terminal gets a live
status line, a pipe does not.  Needs root and BCC.
"""

from __future__ import annotations

import json
import os
import pty
import random
import re
import signal
import subprocess
import time

import pytest

from ..conftest import p2pcap_cmd
from .live import (
    finish,
    gaps_of,
    messages_of,
    read_capture,
    record_standin,
    start_node,
    start_recorder,
    summary_line,
    write_messages,
)

pytestmark = pytest.mark.ebpf


def session(n: int, size: int, seed: int = 3):
    rng = random.Random(seed)
    return [
        (
            "in" if i % 3 else "out",
            i % 4,
            f"10.3.0.{i % 4}:9999",
            "inbound",
            "tx",
            i.to_bytes(4, "little") + rng.randbytes(size - 4),
        )
        for i in range(n)
    ]


def test_size_rotation_splits_without_loss_or_duplicates(tmp_path, ebpf, standin):
    messages = session(500, 20_000)  # 10 MB, incompressible
    msgs = tmp_path / "big.msgs"
    write_messages(msgs, messages)
    capture = tmp_path / "run.cap"
    recorder, node_out = record_standin(
        standin, msgs, capture, "--rotate-size", "1M", node_args=("--rate", "1000")
    )
    assert recorder.returncode == 0, recorder.stderr
    files = sorted(
        tmp_path.glob("run.cap*"), key=lambda p: int(p.suffix[1:]) if p.suffix[1:].isdigit() else 0
    )
    assert [f.name for f in files] == ["run.cap"] + [f"run.cap.{n}" for n in range(1, len(files))]
    assert len(files) >= 3
    records, _ = read_capture(*files)
    assert [m.payload for m in messages_of(records)] == [m[5] for m in messages]
    assert gaps_of(records) == []
    # A file ends once its written size passes the limit; the blocks still
    # being compressed then (at most the writer's queue, ~5 MiB) go with it.
    assert all(os.path.getsize(f) < (1 << 20) + (6 << 20) for f in files)
    assert f"wrote {len(files)} files: " in recorder.stderr


def test_time_rotation_with_a_strftime_pattern(tmp_path, ebpf, standin):
    messages = session(150, 200, seed=4)
    msgs = tmp_path / "paced.msgs"
    write_messages(msgs, messages)
    pattern = str(tmp_path / "run-%Y%m%dT%H%M%S.cap")
    node = start_node(standin, msgs, "--rate", "50", "--linger", "0.3")
    try:
        rec, first = start_recorder("-o", pattern, "--pid", str(node.pid), "--rotate-time", "1")
        node.send_signal(signal.SIGUSR1)
        node.wait(60)
        done = finish(rec, first)
    finally:
        node.kill()
    assert done.returncode == 0, done.stderr
    files = sorted(tmp_path.glob("run-*.cap*"))
    assert len(files) >= 3  # 3 s of messages, a file a second
    assert all(re.fullmatch(r"run-\d{8}T\d{6}\.cap(\.\d+)?", f.name) for f in files)
    files.sort(key=lambda f: read_capture(f)[1]["file_index"])
    records, _ = read_capture(*files)
    assert [m.payload for m in messages_of(records)] == [m[5] for m in messages]


def test_count_stops_after_exactly_n_messages(tmp_path, ebpf, standin):
    msgs = tmp_path / "m.msgs"
    write_messages(msgs, session(50, 100))
    node = start_node(standin, msgs, "--rate", "100", "--repeat", "100")
    try:
        rec, first = start_recorder(
            "-o", str(tmp_path / "count.cap"), "--pid", str(node.pid), "--count", "20"
        )
        node.send_signal(signal.SIGUSR1)
        done = finish(rec, first, timeout=30)
    finally:
        node.kill()
    assert done.returncode == 0, done.stderr
    got = messages_of(read_capture(tmp_path / "count.cap")[0])
    assert [m.payload for m in got] == [m[5] for m in session(50, 100)[:20]]
    assert summary_line(done) == "20 messages, 2000 payload bytes, 0 lost"


def test_duration_stops_in_time(tmp_path, ebpf, standin):
    msgs = tmp_path / "m.msgs"
    write_messages(msgs, session(10, 100))
    node = start_node(standin, msgs, "--rate", "20", "--repeat", "100")
    try:
        rec, first = start_recorder(
            "-o", str(tmp_path / "d.cap"), "--pid", str(node.pid), "--duration", "1.5s"
        )
        node.send_signal(signal.SIGUSR1)
        started = time.monotonic()
        done = finish(rec, first, timeout=30)
        took = time.monotonic() - started
    finally:
        node.kill()
    assert done.returncode == 0 and 1.4 < took < 6
    n = len(messages_of(read_capture(tmp_path / "d.cap")[0]))
    assert 20 <= n <= 40


def test_stdout_streams_into_show(tmp_path, ebpf, standin):
    messages = session(30, 300) + [("in", 9, "10.3.0.9:1", "inbound", "block", os.urandom(100_000))]
    msgs = tmp_path / "m.msgs"
    write_messages(msgs, messages)
    node = start_node(standin, msgs, "--linger", "0.3")
    try:
        rec, first = start_recorder("-o", "-", "--pid", str(node.pid), stdout=subprocess.PIPE)
        show = subprocess.Popen(
            p2pcap_cmd("show", "-", "--json", "--hex"),
            stdin=rec.stdout,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        rec.stdout.close()  # show holds the pipe now
        node.send_signal(signal.SIGUSR1)
        shown, show_err = show.communicate(timeout=60)
        rest = rec.stderr.read()
        rec.wait(30)
    finally:
        node.kill()
    assert rec.returncode == 0 and show.returncode == 0, show_err + rest
    got = [json.loads(line) for line in shown.splitlines()]
    assert [o["payload_hex"] for o in got] == [m[5].hex() for m in messages]
    assert first.startswith("listening on") and rest.strip().endswith(", 0 lost")


def test_a_terminal_gets_a_status_line_a_pipe_does_not(tmp_path, ebpf, standin):
    msgs = tmp_path / "m.msgs"
    write_messages(msgs, session(20, 100))
    node = start_node(standin, msgs, "--rate", "10", "--linger", "0.3")
    master, slave = pty.openpty()
    try:
        rec = subprocess.Popen(
            p2pcap_cmd("record", "-o", str(tmp_path / "tty.cap"), "--pid", str(node.pid)),
            stderr=slave,
            stdout=subprocess.DEVNULL,
        )
        os.close(slave)
        seen = b""
        deadline = time.monotonic() + 60
        while b"listening on" not in seen and time.monotonic() < deadline:
            seen += os.read(master, 4096)
        node.send_signal(signal.SIGUSR1)
        while rec.poll() is None and time.monotonic() < deadline:
            try:
                seen += os.read(master, 4096)
            except OSError:
                break
        rec.wait(30)
    finally:
        node.kill()
        os.close(master)
    text = seen.decode(errors="replace")
    assert re.search(r"\r\d+ messages, [\d,]+/s, [\d.]+ MB written, ratio [\d.]+x, 0 lost", text), text
    assert text.rstrip().endswith("20 messages, 2000 payload bytes, 0 lost")


def test_a_pipe_gets_no_status_line(tmp_path, ebpf, standin):
    msgs = tmp_path / "m.msgs"
    write_messages(msgs, session(15, 100))
    recorder, _ = record_standin(standin, msgs, tmp_path / "pipe.cap", node_args=("--rate", "10"))
    assert "\r" not in recorder.stderr and "/s," not in recorder.stderr
