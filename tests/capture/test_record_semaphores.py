"""USDT semaphores: a guarded build records like an unguarded one, and is left as found.

The stand-in's semaphore builds fire a probe only while its semaphore is
above 0 (Bitcoin Core v29's src/util/trace.h) and say at exit how many
messages fired.  The recorder attaches with the uprobe's reference counter,
so the kernel raises the semaphores while recording and lowers them when
the uprobes go, however the recording ends; the tests read the counters in
the node's memory (tests/capture/semaphores.py).  Needs root and BCC.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess

import pytest

from .live import (
    environ,
    finish,
    messages_of,
    read_capture,
    start_node,
    start_recorder,
    wait_for,
    write_messages,
)
from .semaphores import fired_counts, semaphore_values, write_semaphore

pytestmark = pytest.mark.ebpf

PROBES = ("net:inbound_message", "net:outbound_message")


def session(peer: int, n: int = 30):
    return [
        ("in" if i % 2 else "out", peer, f"10.4.0.{peer}:9999", "inbound", "inv", bytes([peer, i]) * 20)
        for i in range(n)
    ] + [("in", peer, f"10.4.0.{peer}:9999", "inbound", "block", os.urandom(3 << 20))]


def assert_whole(capture, sent) -> None:
    records, _ = read_capture(capture)
    got = [(m.direction, m.peer_id, m.command, m.payload) for m in messages_of(records)]
    assert got == [(d, p, c, payload) for d, p, _a, _c, c, payload in sent]


def ended(node: subprocess.Popen) -> str:
    """Release a --hold node (SIGUSR2) and return all it printed."""
    node.send_signal(signal.SIGUSR2)
    out = node.stdout.read()
    node.wait(30)
    return out


@pytest.mark.parametrize("how", ["ctrl-c", "sigterm", "duration", "kill-9", "sudo"])
def test_pid_records_everything_and_leaves_the_semaphores_as_found(
    tmp_path, public_dir, ebpf, standin_sema, how
):
    msgs = tmp_path / "s.msgs"
    sent = session(1)
    write_messages(msgs, sent)
    node = start_node(standin_sema, msgs, "--hold")
    try:
        # Another tracer already holds the inbound one: it must stay held.
        write_semaphore(node.pid, "net:inbound_message", 1)
        before = semaphore_values(node.pid)
        assert before == {"net:inbound_message": 1, "net:outbound_message": 0}
        capture = public_dir / "s.cap"  # under sudo, the recording writes as nobody
        args = ["-o", str(capture), "--pid", str(node.pid)]
        env = None
        if how == "duration":
            args += ["--duration", "4"]
        if how == "sudo":
            env = environ(SUDO_UID="65534", SUDO_GID="65534", SUDO_USER="nobody")
        rec, listening = start_recorder(*args, env=env)
        assert (
            "USDT semaphores of net:inbound_message, net:outbound_message raised by the kernel" in listening
        )
        assert semaphore_values(node.pid) == {probe: before[probe] + 1 for probe in PROBES}
        node.send_signal(signal.SIGUSR1)
        assert wait_for(
            lambda: read_capture_count(capture) == len(sent) or rec.poll() is not None, timeout=60
        )
        {
            "ctrl-c": lambda: rec.send_signal(signal.SIGINT),
            "sigterm": lambda: rec.send_signal(signal.SIGTERM),
            "duration": lambda: None,
            "kill-9": lambda: rec.send_signal(signal.SIGKILL),
            "sudo": lambda: rec.send_signal(signal.SIGINT),
        }[how]()
        recorder = finish(rec, listening, timeout=60)
        if how == "kill-9":
            assert recorder.returncode == -signal.SIGKILL
        else:
            # Ctrl-C says "interrupted" (130); SIGTERM and --duration are a clean stop.
            assert recorder.returncode == (130 if how in ("ctrl-c", "sudo") else 0), recorder.stderr
            assert recorder.stderr.strip().endswith(", 0 lost")
        # Whatever ended the recording (and its root helper under sudo), the
        # kernel took its increments back.
        assert wait_for(lambda: semaphore_values(node.pid) == before, timeout=10), semaphore_values(node.pid)
        write_semaphore(node.pid, "net:inbound_message", 0)
        out = ended(node)
    finally:
        if node.poll() is None:
            node.kill()
    assert fired_counts(out) == (16, 15, 0)  # every message fired: both semaphores were up throughout
    if how != "kill-9":
        assert_whole(capture, sent)


def read_capture_count(path) -> int:
    """Messages in a capture being written (0 while it has no readable block)."""
    try:
        return len(messages_of(read_capture(path)[0]))
    except Exception:  # the file may not have a whole block yet
        return 0


def test_exe_raises_the_semaphores_of_running_and_later_processes(tmp_path, ebpf, standin_sema):
    exe = tmp_path / "dashd"
    shutil.copy(standin_sema, exe)  # uprobes are per inode: keep other tests' nodes out
    early, late = tmp_path / "early.msgs", tmp_path / "late.msgs"
    first_sent, second_sent = session(2), session(3)
    write_messages(early, first_sent)
    write_messages(late, second_sent)
    first = start_node(exe, early)
    try:
        rec, listening = start_recorder("-o", str(tmp_path / "e.cap"), "--exe", str(exe))
        assert "raised by the kernel" in listening
        assert semaphore_values(first.pid) == {probe: 1 for probe in PROBES}
        first.send_signal(signal.SIGUSR1)
        first_out = first.stdout.read()
        first.wait(60)
        second = start_node(exe, late, "--hold")  # started while recording
        assert semaphore_values(second.pid) == {probe: 1 for probe in PROBES}
        second.send_signal(signal.SIGUSR1)
        assert wait_for(
            lambda: read_capture_count(tmp_path / "e.cap") == len(first_sent) + len(second_sent), timeout=60
        )
        rec.send_signal(signal.SIGINT)
        recorder = finish(rec, listening, timeout=60)
        assert semaphore_values(second.pid) == {probe: 0 for probe in PROBES}
        second_out = ended(second)
    finally:
        for node in (first, locals().get("second")):
            if node is not None and node.poll() is None:
                node.kill()
    assert recorder.returncode == 130, recorder.stderr  # stopped by Ctrl-C
    assert recorder.stderr.strip().endswith(", 0 lost")
    assert fired_counts(first_out) == (16, 15, 0) and fired_counts(second_out) == (16, 15, 0)
    records, _ = read_capture(tmp_path / "e.cap")
    by_pid = {}
    for m in messages_of(records):
        by_pid.setdefault(m.pid, []).append((m.direction, m.peer_id, m.command, m.payload))
    assert by_pid == {
        first.pid: [(d, p, c, x) for d, p, _a, _c, c, x in first_sent],
        second.pid: [(d, p, c, x) for d, p, _a, _c, c, x in second_sent],
    }


def test_the_header_says_how_the_semaphores_were_handled(tmp_path, ebpf, standin_sema):
    msgs = tmp_path / "h.msgs"
    write_messages(msgs, session(4, 2))
    node = start_node(standin_sema, msgs)
    try:
        rec, listening = start_recorder("-o", str(tmp_path / "h.cap"), "--pid", str(node.pid))
        node.send_signal(signal.SIGUSR1)
        node.stdout.read()
        node.wait(60)
        finish(rec, listening, timeout=60)
    finally:
        if node.poll() is None:
            node.kill()
    _, metadata = read_capture(tmp_path / "h.cap")
    assert metadata["target"]["semaphores"] == {
        probe: "raised by the kernel while recording (uprobe reference counter)" for probe in PROBES
    }


def test_doctor_names_the_semaphores(ebpf, standin_sema):
    from ..conftest import p2pcap_cmd

    proc = subprocess.run(
        p2pcap_cmd("doctor", "--exe", str(standin_sema)), capture_output=True, text=True, timeout=60
    )
    lines = [line for line in proc.stdout.splitlines() if "net:" in line]
    assert len(lines) == 2 and all(line.startswith("ok    ") for line in lines), proc.stdout
    assert all("raised by the kernel while recording" in line for line in lines)
