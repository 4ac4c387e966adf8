"""Nodes as operators run them: in a container's mount namespace, or with
their binary replaced or deleted on disk while they run.

The recorder reads such a node's binary through ``/proc/PID/exe`` and
attaches its uprobes there; ``--exe`` with the host path also finds a
container process running its own copy of the same build.  Needs root, BCC
and ``unshare`` (util-linux).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from .live import finish, messages_of, read_capture, record_standin, start_recorder, write_messages

pytestmark = pytest.mark.ebpf


def session(peer: int, n: int = 25):
    return [
        (
            "in" if i % 2 else "out",
            peer,
            f"10.3.0.{peer}:9999",
            "outbound-full-relay",
            "inv",
            bytes([peer, i]) * 18,
        )
        for i in range(n)
    ] + [("in", peer, f"10.3.0.{peer}:9999", "outbound-full-relay", "block", os.urandom(2 * 1024 * 1024))]


def start(argv: list[str]) -> subprocess.Popen:
    """A stand-in (maybe behind a wrapper that execs it) waiting for SIGUSR1."""
    node = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    line = node.stdout.readline()
    if not line.startswith("waiting for SIGUSR1"):
        node.kill()
        raise AssertionError(f"the stand-in did not start: {line!r}")
    return node


def record_pid(node: subprocess.Popen, capture: Path) -> tuple[subprocess.CompletedProcess, str]:
    rec, listening = start_recorder("-o", str(capture), "--pid", str(node.pid))
    node.send_signal(signal.SIGUSR1)
    out = node.stdout.read()
    node.wait(60)
    return finish(rec, listening, timeout=120), out


def assert_recorded(recorder, capture: Path, sent, *, status: int = 0) -> None:
    assert recorder.returncode == status, recorder.stderr
    records, _ = read_capture(capture)
    got = [(m.direction, m.peer_id, m.command, m.payload) for m in messages_of(records)]
    assert got == [(d, p, c, payload) for d, p, _a, _c, c, payload in sent]
    assert recorder.stderr.strip().endswith(", 0 lost")


@pytest.fixture
def unshare():
    path = shutil.which("unshare")
    if path is None:
        pytest.fail("unshare (util-linux) is needed to run a node in its own mount namespace")
    return path


def start_in_container(unshare: str, standin: Path, msgs: Path) -> subprocess.Popen:
    """The stand-in as /mnt/dashd on a tmpfs that only its own mount namespace has."""
    script = (
        f"mount -t tmpfs p2pcap-test /mnt && cp {standin} /mnt/dashd && "
        f"exec /mnt/dashd --wait-signal --linger 0.3 {msgs}"
    )
    return start([unshare, "--mount", "--propagation", "private", "sh", "-c", script])


def test_pid_in_another_mount_namespace(tmp_path, ebpf, standin, unshare):
    """dashmate's case: the binary's path exists only inside the container."""
    msgs = tmp_path / "ns.msgs"
    sent = session(4)
    write_messages(msgs, sent)
    node = start_in_container(unshare, standin, msgs)
    try:
        assert os.readlink(f"/proc/{node.pid}/exe").endswith("/mnt/dashd")  # seen from here (or a chroot)
        assert not os.path.exists("/mnt/dashd") or not os.path.samefile("/mnt/dashd", f"/proc/{node.pid}/exe")
        recorder, _ = record_pid(node, tmp_path / "ns.cap")
    finally:
        node.kill()
    # The path as the kernel shows it from here: /mnt/dashd (prefixed by the
    # chroot when these tests run in another userland, tests/kernels).
    assert "/mnt/dashd)" in recorder.stderr.splitlines()[0]
    assert_recorded(recorder, tmp_path / "ns.cap", sent)


@pytest.mark.parametrize("how", ["deleted", "replaced"])
def test_pid_whose_binary_changed_on_disk(tmp_path, ebpf, standin, how):
    """An upgrade unpacked over the running binary (rename) or a binary removed."""
    exe = tmp_path / "dashd"
    shutil.copy(standin, exe)
    msgs = tmp_path / "disk.msgs"
    sent = session(5)
    write_messages(msgs, sent)
    node = start([str(exe), "--wait-signal", "--linger", "0.3", str(msgs)])
    try:
        if how == "deleted":
            exe.unlink()
        else:  # what dpkg does: a new file renamed over the old name
            new = tmp_path / "dashd.new"
            new.write_bytes(b"#!/bin/sh\nexit 0\n")
            new.chmod(0o755)
            new.rename(exe)
        link = os.readlink(f"/proc/{node.pid}/exe")
        assert link.endswith(" (deleted)")
        recorder, _ = record_pid(node, tmp_path / "disk.cap")
    finally:
        node.kill()
    assert_recorded(recorder, tmp_path / "disk.cap", sent)


def test_exe_finds_the_same_build_in_a_container(tmp_path, ebpf, standin, unshare):
    """--exe HOST-PATH also records a container's own copy of that build, and says so."""
    host = tmp_path / "dashd"
    shutil.copy(standin, host)
    msgs = tmp_path / "c.msgs"
    sent = session(6)
    write_messages(msgs, sent)
    node = start_in_container(unshare, standin, msgs)
    try:
        rec, listening = start_recorder("-o", str(tmp_path / "c.cap"), "--exe", str(host))
        assert f"and pid {node.pid} running the same build from another file" in listening
        node.send_signal(signal.SIGUSR1)
        node.stdout.read()
        node.wait(60)
        rec.send_signal(signal.SIGINT)
        recorder = finish(rec, listening, timeout=120)
    finally:
        node.kill()
    assert_recorded(recorder, tmp_path / "c.cap", sent, status=130)  # stopped by Ctrl-C
    records, metadata = read_capture(tmp_path / "c.cap")
    assert metadata["target"]["same_build_pids"] == [node.pid]


def test_a_plain_build_says_it_has_no_semaphores(tmp_path, ebpf, standin):
    msgs = tmp_path / "p.msgs"
    write_messages(msgs, session(7, 3))
    recorder, _ = record_standin(standin, msgs, tmp_path / "p.cap")
    assert "semaphore" not in recorder.stderr.splitlines()[0]
    _, metadata = read_capture(tmp_path / "p.cap")
    assert metadata["target"]["semaphores"] == {"net:inbound_message": "none", "net:outbound_message": "none"}
