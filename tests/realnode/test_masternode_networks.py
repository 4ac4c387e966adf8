"""Masternode networks from Core's own functional tests, against Core's own capture.

Each run (tests/realnode/functional.py ``RUNS``) is one of Dash Core's
functional tests, started by its framework with ``-capturemessages`` while
``p2pcap record --exe`` records every node.  Per node, peer folder and
direction the recording must equal Core's files byte for byte and in
order, with nothing lost or extra; every message must decode; and the
Dash-specific commands the run is known to send must be there.

Which runs: ``P2PCAP_REALNODE_RUNS`` = ``ci`` (the default: the subset
that fits CI's time budget), ``all``, or names from ``RUNS`` separated by
commas; ``P2PCAP_REALNODE_JOBS`` of them at a time (default 2).
``P2PCAP_REALNODE_REPORT=FILE`` appends one JSON line per run
(its commands with counts, its time), what docs/DECODERS.md's "Decoded
from real bytes" table is made from.
"""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor

import pytest

from .functional import RUNS, Run, record_with_retry
from .oracle import compare, core_streams, recorded_streams
from .recording import decoded_commands, pids_by_datadir

# Runs at a time: each mostly waits on Core's timers (a third of a core
# each here), and each records only its own copy of dashd.
JOBS = int(os.environ.get("P2PCAP_REALNODE_JOBS", "2"))


def selected_runs() -> list[Run]:
    choice = os.environ.get("P2PCAP_REALNODE_RUNS", "ci")
    if choice == "all":
        return list(RUNS)
    if choice == "ci":
        return [run for run in RUNS if run.ci]
    names = set(choice.split(","))
    unknown = names - {run.name for run in RUNS}
    if unknown:
        raise pytest.UsageError(
            f"P2PCAP_REALNODE_RUNS names no run {sorted(unknown)}: {[r.name for r in RUNS]}"
        )
    return [run for run in RUNS if run.name in names]


def check_recording(recorded) -> tuple[int, dict]:
    """Assert the recording equals Core's capture on every node; (messages, commands)."""
    messages, gaps = recorded.recorder.records()
    assert gaps == [], gaps[:5]
    total, lost = recorded.recorder.counts()
    assert lost == 0, recorded.recorder.summary
    # every process that sent or received was one of the framework's nodes ...
    unattributed = {m.pid for m in messages} - set(recorded.datadirs)
    assert not unattributed, f"messages of processes the watcher never saw: {unattributed}"
    # ... and every node that wrote a capture ran while we recorded
    written = {p.parent.parent for p in recorded.tmpdir.glob("node*/regtest/message_capture")}
    assert written <= set(recorded.datadirs.values()), written - set(recorded.datadirs.values())
    compared = 0
    for datadir, pids in sorted(pids_by_datadir(recorded.datadirs).items()):
        result = compare(datadir.name, core_streams(datadir), recorded_streams(messages, pids))
        assert result.exact, result.summary()
        compared += result.core
    assert compared == len(messages) == total > 0
    commands, problems = decoded_commands(recorded.capture)
    assert problems == [], problems[:10]
    return total, commands


@pytest.fixture(scope="module")
def recordings(dashd, dash_functional, workdir):
    """Every selected run, JOBS at a time (they mostly wait on Core's timers), started at once."""
    pool = ThreadPoolExecutor(max_workers=JOBS)
    futures = {
        run.name: pool.submit(
            record_with_retry, run, dashd, dash_functional, workdir / "functional" / run.name
        )
        for run in sorted(selected_runs(), key=lambda run: not run.ci)
    }
    yield futures
    pool.shutdown(wait=True)


@pytest.mark.parametrize("run", selected_runs(), ids=lambda run: run.name)
def test_masternode_network_equals_cores_capture(run, recordings):
    attempts = recordings[run.name].result()
    for recorded in attempts:  # a failed attempt's recording must be exact too
        total, commands = check_recording(recorded)
    report(attempts, total, commands)
    last = attempts[-1]
    if not run.core_unreliable:
        assert last.returncode == 0, (
            f"Core's {run.script} failed {len(attempts)} times under the recorder:\n{last.log[-3000:]}"
        )
    missing = run.shows - set(commands)
    assert not missing, f"{run.name} sent none of {sorted(missing)} (it sent {sorted(commands)})"


def report(attempts, total: int, commands) -> None:
    path = os.environ.get("P2PCAP_REALNODE_REPORT")
    if not path:
        return
    recorded = attempts[-1]
    line = {
        "run": recorded.run.name,
        "seconds": [round(a.seconds) for a in attempts],
        "core_test_passed": recorded.returncode == 0,
        "nodes": len(set(recorded.datadirs.values())),
        "messages": total,
        "commands": dict(sorted(commands.items())),
    }
    with open(path, "a") as f:
        f.write(json.dumps(line) + "\n")
