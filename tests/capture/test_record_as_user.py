"""``sudo p2pcap record``, end to end through real uprobes, as an attacker would try it.

Root with SUDO_UID/SUDO_GID of a non-root user (nobody): the capture and
its rotated files belong to that user; a symlink planted at the output
name is refused and its target left as it was.  On kernels before 6.5 the
recorder keeps root (capture/privileges.py) and only its ``open`` changes
identity; from 6.5 it becomes the user: the kernel matrix runs this on
both kinds.  The node is started by ``record -- COMMAND`` (as that user).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from ..conftest import p2pcap_cmd
from .live import read_capture, write_messages

pytestmark = pytest.mark.ebpf

NOBODY = {"SUDO_UID": "65534", "SUDO_GID": "65534"}


@pytest.fixture
def shared(ebpf, standin):
    """A /tmp-like folder (sticky, world-writable) holding a copy of the stand-in
    and its messages, so that nobody can run it whatever the clone's folder allows."""
    folder = Path(tempfile.mkdtemp(prefix="p2pcap-sudo-", dir="/tmp"))
    folder.chmod(0o1777)
    shutil.copy2(standin, folder / "p2p-standin")
    messages = [
        ("in" if i % 2 else "out", i % 3, f"10.0.0.{i % 3}:19999", "inbound", "ping", i.to_bytes(8, "little"))
        for i in range(40)
    ]
    write_messages(folder / "session.msgs", messages)
    (folder / "session.msgs").chmod(0o644)
    yield folder, messages
    shutil.rmtree(folder)


def record(folder: Path, output: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, **NOBODY}
    command = [str(folder / "p2p-standin"), "-regtest", "--linger", "0.5", str(folder / "session.msgs")]
    return subprocess.run(
        p2pcap_cmd("record", "-o", output, *args, "--", *command),
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_the_capture_and_its_rotations_belong_to_the_sudo_user(shared):
    folder, messages = shared
    done = record(folder, str(folder / "run.cap"), "--rotate-size", "1")
    assert done.returncode == 0, done.stderr
    assert "the command exited with status 0" in done.stderr
    made = sorted(folder.glob("run.cap*"))
    assert made and all(p.stat().st_uid == 65534 and p.stat().st_gid == 65534 for p in made)
    got = []
    for path in sorted(made, key=lambda p: (len(p.name), p.name)):
        records, _ = read_capture(path)
        got.extend((r.direction, r.peer_id, r.payload) for r in records)
    assert got == [(d, p, payload) for d, p, _a, _c, _cmd, payload in messages]


def test_a_planted_link_at_the_output_is_refused_and_its_target_kept(shared):
    folder, _ = shared
    victim = folder / "victim"
    victim.write_bytes(b"root's data\n")
    (folder / "x.cap").symlink_to(victim)
    done = record(folder, str(folder / "x.cap"))
    assert done.returncode == 2, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("Error:")]
    assert len(lines) == 1 and "symbolic link" in lines[0], done.stderr
    assert "Traceback" not in done.stderr
    assert victim.read_bytes() == b"root's data\n" and victim.stat().st_uid == 0
    assert (folder / "x.cap").is_symlink()
