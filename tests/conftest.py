"""Shared fixtures: the stand-in node and the eBPF precondition.

Live tests record through real uprobes.  Outside CI they skip, saying why,
when root, BCC or kernel headers are missing; with P2PCAP_REQUIRE_EBPF=1
(set by .ci/run) a missing precondition fails them instead.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
STANDIN_SOURCE = ROOT / "tests" / "standin" / "standin_node.c"
STANDIN = ROOT / "build" / "p2p-standin"
STANDIN_CXX_SOURCE = ROOT / "tests" / "standin" / "standin_node.cpp"
TRACE_H = ROOT / "tests" / "standin" / "trace.h"
# The stand-in builds (the Makefile's standin target makes the same ones):
# name in build/ -> (compiler and flags, source).  See tests/standin/README.md.
CC = ["gcc", "-O2", "-Wall"]
CXX = ["g++", "-O2", "-Wall", "-std=c++17", "-pthread"]
STANDIN_BUILDS = {
    "p2p-standin": (CC, STANDIN_SOURCE),
    "p2p-standin-sema": ([*CC, "-DSTANDIN_SEMAPHORES"], STANDIN_SOURCE),
    "p2p-standin-cxx": (CXX, STANDIN_CXX_SOURCE),
    "p2p-standin-cxx-sema": ([*CXX, "-DSTANDIN_SEMAPHORES"], STANDIN_CXX_SOURCE),
}


def _ebpf_missing() -> str | None:
    if os.geteuid() != 0:
        return "not root"
    try:
        import bcc  # noqa: F401
    except ImportError:
        return "BCC Python bindings (python3-bpfcc) not importable"
    release = os.uname().release
    if not os.path.exists(f"/lib/modules/{release}/build/include") and not os.path.exists(
        f"/lib/modules/{release}/source/include"
    ):
        return f"no kernel headers at /lib/modules/{release}/build (run 'make setup')"
    if not os.path.ismount("/sys/kernel/tracing"):
        return "tracefs not mounted (run 'make setup')"
    return None


@pytest.fixture(scope="session")
def ebpf():
    """Require a machine that can record; fail instead of skip in CI."""
    missing = _ebpf_missing()
    if missing:
        if os.environ.get("P2PCAP_REQUIRE_EBPF") == "1":
            pytest.fail(f"eBPF tests must run here but cannot: {missing}")
        pytest.skip(f"eBPF recording unavailable: {missing}")


def build_standin(name: str) -> Path:
    """build/NAME, (re)built when missing or older than its source or trace.h."""
    command, source = STANDIN_BUILDS[name]
    target = ROOT / "build" / name
    newest = max(source.stat().st_mtime, TRACE_H.stat().st_mtime)
    if not target.exists() or target.stat().st_mtime < newest:
        target.parent.mkdir(exist_ok=True)
        partial = target.with_name(f".{name}.{os.getpid()}")
        subprocess.run([*command, "-o", str(partial), str(source)], check=True)
        os.replace(partial, target)  # a node still running keeps its old file
    return target


@pytest.fixture(scope="session")
def standin() -> Path:
    """The stand-in node binary, built if missing or stale."""
    return build_standin("p2p-standin")


@pytest.fixture(scope="session")
def standin_sema() -> Path:
    """The C stand-in with USDT semaphores: probes fire only while raised."""
    return build_standin("p2p-standin-sema")


@pytest.fixture(scope="session")
def standin_cxx() -> Path:
    """The C++ stand-in shaped like dashd: stack-slot probe operands, --threads, freed peers."""
    return build_standin("p2p-standin-cxx")


@pytest.fixture(scope="session")
def standin_cxx_sema() -> Path:
    """The C++ stand-in with USDT semaphores."""
    return build_standin("p2p-standin-cxx-sema")


def p2pcap_cmd(*args: str) -> list[str]:
    """Run the CLI with this interpreter (the one that has BCC in CI)."""
    return [sys.executable, "-m", "p2pcap", *args]


@pytest.fixture
def public_dir():
    """A directory the user nobody can create files in (pytest's tmp_path is root-only):
    sticky, as /tmp is, since the root recorder refuses a folder anyone may swap names in."""
    path = Path(tempfile.mkdtemp(prefix="p2pcap-sudo-", dir="/tmp"))
    path.chmod(0o1777)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def run_in_terminal(args, *, columns: int = 80, timeout: float = 60) -> tuple[int, str]:
    """Run the CLI with a pseudo-terminal of ``columns`` as its standard output
    (what a user at a terminal sees); returns (exit status, the text, CR LF as LF)."""
    import fcntl
    import pty
    import struct
    import termios

    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    proc = subprocess.Popen(p2pcap_cmd(*map(str, args)), stdout=follower, stderr=subprocess.PIPE, env=env)
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:  # EIO: the other end is closed
            break
        if not data:
            break
        chunks.append(data)
    os.close(leader)
    status = proc.wait(timeout)
    return status, b"".join(chunks).decode("utf-8", "replace").replace("\r\n", "\n")
