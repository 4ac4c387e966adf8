"""The real-node tier: its own pytest run, against a real dashd.

``make test-realnode DASHD=PATH [DASH_FUNCTIONAL=PATH]`` runs
``pytest tests/realnode``.  The tier is collected only when its folder
is named on the command line, so ``make test`` (``pytest`` over
``tests/``) never starts a dashd, whatever the environment holds.

It needs a dashd built with USDT probes (``DASHD``) and, for the
masternode networks, Core's ``test/functional`` folder of the same
version (``DASH_FUNCTIONAL``).  Outside CI a missing one skips the tests
that need it, saying why; with ``P2PCAP_REQUIRE_REALNODE=1`` (set by
.ci/run) it fails them, and any test that skips anyway fails the run.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ..conftest import _ebpf_missing

HERE = Path(__file__).resolve().parent
REQUIRE = os.environ.get("P2PCAP_REQUIRE_REALNODE") == "1"


def _named(config) -> bool:
    for arg in config.args:
        path = Path(arg.split("::", 1)[0]).resolve()
        if path == HERE or HERE in path.parents:
            return True
    return False


def pytest_ignore_collect(collection_path, config):
    """Left out of a run that did not name tests/realnode (``make test``)."""
    if not _named(config):
        return True
    return None


def pytest_sessionfinish(session, exitstatus):
    # In CI a skipped real-node test is a failure, like a missing one.
    skipped = session.config.pluginmanager.get_plugin("terminalreporter")
    if REQUIRE and skipped is not None and skipped.stats.get("skipped") and exitstatus == 0:
        session.exitstatus = 1


def _missing(what: str, why: str):
    if REQUIRE:
        pytest.fail(f"the real-node tier must run here but cannot: {why}")
    pytest.skip(f"{what}: {why}")


@pytest.fixture(scope="session")
def dashd(ebpf_ready) -> Path:
    """The dashd with USDT probes named by DASHD."""
    value = os.environ.get("DASHD")
    if not value:
        _missing("no dashd", "DASHD=PATH names a dashd built with USDT probes (make test-realnode DASHD=...)")
    path = Path(value).resolve()
    if not os.access(path, os.X_OK):
        _missing("no dashd", f"DASHD={value} is not an executable file")
    return path


@pytest.fixture(scope="session")
def dash_functional() -> Path:
    """Core's test/functional folder of the same version, named by DASH_FUNCTIONAL."""
    value = os.environ.get("DASH_FUNCTIONAL")
    if not value:
        _missing("no functional tests", "DASH_FUNCTIONAL=PATH names Dash Core's test/functional folder")
    path = Path(value).resolve()
    if not (path / "test_framework" / "test_framework.py").is_file():
        _missing("no functional tests", f"DASH_FUNCTIONAL={value} holds no test_framework/test_framework.py")
    return path


@pytest.fixture(scope="session")
def ebpf_ready():
    missing = _ebpf_missing()
    if missing:
        _missing("eBPF recording unavailable", missing)


@pytest.fixture(scope="session")
def workdir(tmp_path_factory) -> Path:
    """Where the nodes' data directories and the captures go (never under a read-only Core tree)."""
    return tmp_path_factory.mktemp("realnode")


@pytest.fixture(scope="session")
def network(dashd, workdir):
    """The regtest network's scenario, recorded four ways (tests/realnode/scenario.py); run once."""
    from .scenario import run_network

    return run_network(dashd, workdir / "regtest")
