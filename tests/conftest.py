"""Shared fixtures: the stand-in node and the eBPF precondition.

Live tests record through real uprobes.  Outside CI they skip, saying why,
when root, BCC or kernel headers are missing; with P2PCAP_REQUIRE_EBPF=1
(set by .ci/run) a missing precondition fails them instead.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
STANDIN_SOURCE = ROOT / "tests" / "standin" / "standin_node.c"
STANDIN = ROOT / "build" / "p2p-standin"


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


@pytest.fixture(scope="session")
def standin() -> Path:
    """The stand-in node binary, built if missing or stale."""
    if not STANDIN.exists() or STANDIN.stat().st_mtime < STANDIN_SOURCE.stat().st_mtime:
        STANDIN.parent.mkdir(exist_ok=True)
        subprocess.run(["gcc", "-O2", "-Wall", "-o", str(STANDIN), str(STANDIN_SOURCE)], check=True)
    return STANDIN


def p2pcap_cmd(*args: str) -> list[str]:
    """Run the CLI with this interpreter (the one that has BCC in CI)."""
    return [sys.executable, "-m", "p2pcap", *args]
