"""The soak benchmark, 5 minutes in all: the recorder's memory stays flat.

``benchmarks/bench_soak.py --quick`` run as tests, a regression check of
issue 29 (a recorder that held ~300 bytes per message): 2.5 minutes at
20,000 messages/s with rotation by size and by time, a churn of 15,000
peers, a node restarting every 15 s under --exe.  Each records the
stand-in through real uprobes and samples the recorder's RSS every 10 s;
its growth after the first 30 s must stay within 16 MB, and every message
the nodes sent must be recorded or counted lost.  The hour-long figures:
docs/BENCHMARKS.md.  Marked ``soak`` (``pytest -m soak``) and ``ebpf``.
"""

from __future__ import annotations

import importlib.util
import sys

import pytest

from ..conftest import ROOT, build_standin

pytestmark = [pytest.mark.ebpf, pytest.mark.soak]


def _bench():
    spec = importlib.util.spec_from_file_location("bench_soak", ROOT / "benchmarks" / "bench_soak.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_soak"] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def bench(ebpf):
    build_standin("p2p-standin")
    build_standin("p2p-standin-cxx")
    return _bench()


@pytest.mark.parametrize("name", ["rate", "churn", "restarts"])
def test_memory_stays_flat(bench, name, tmp_path):
    result = bench.soak(name, tmp_path, quick=True)
    print(result.line())
    assert len(result.samples) >= 6, result.samples
    assert result.growth_mb <= bench.GOAL_MB, result.line()
    assert result.accounted, result.line()
