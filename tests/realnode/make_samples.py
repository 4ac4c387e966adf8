"""Write samples/'s captures of real dashd nodes, the way the real-node tier records them.

    sudo DASHD=/path/to/dashd DASH_FUNCTIONAL=/path/to/dash/test/functional \\
        .venv/bin/python -m tests.realnode.make_samples samples/

* ``realnode-regtest.cap``: the regtest network of tests/realnode/scenario.py
  (four nodes, v1 and v2 connections, 110 blocks, 25 wallet transactions,
  a reorg, a restart), recorded with ``p2pcap record --exe DASHD``;
* ``realnode-masternodes.cap``: Dash Core's functional test
  feature_llmq_dkgerrors.py (four masternodes and a controller node: DKG
  sessions with complaints and justifications, signing, ChainLocks),
  recorded the same way under ``--dashd-arg=-capturemessages``.

Each is checked against Core's own ``-capturemessages`` files first (the
tier's comparison), so a sample is only written when it is exact.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

from .functional import RUNS, record_run
from .oracle import compare, core_streams, recorded_streams
from .recording import pids_by_datadir
from .scenario import run_network

MAX_SAMPLE = 2_000_000  # bytes: samples stay small enough to keep in git
MASTERNODE_RUN = "feature_llmq_dkgerrors"


def _exact(messages, nodes) -> int:
    """Compare every node; the number of messages, or SystemExit naming the first difference."""
    total = 0
    for name, datadir, pids in nodes:
        result = compare(name, core_streams(datadir), recorded_streams(messages, pids))
        if not result.exact:
            raise SystemExit(f"not exact, no sample written: {result.summary()}")
        total += result.core
    return total


def _keep(capture: Path, target: Path) -> None:
    size = capture.stat().st_size
    if size > MAX_SAMPLE:
        raise SystemExit(f"{capture.name} is {size} bytes, over the samples' {MAX_SAMPLE}")
    shutil.copyfile(capture, target)
    print(f"wrote {target} ({size} bytes)")


def main(folder: Path) -> None:
    dashd, functional = Path(os.environ["DASHD"]).resolve(), Path(os.environ["DASH_FUNCTIONAL"]).resolve()
    work = Path(tempfile.mkdtemp(prefix="p2pcap-samples-"))
    try:
        network = run_network(dashd, work / "regtest")
        messages, _ = network.recorders["all"].records()
        count = _exact(messages, [(n.name, n.datadir, n.pids) for n in network.nodes.values()])
        print(f"regtest network: {count} messages, equal to Core's capture")
        _keep(network.recorders["all"].output, folder / "realnode-regtest.cap")

        run = next(r for r in RUNS if r.name == MASTERNODE_RUN)
        recorded = record_run(run, dashd, functional, work / "functional")
        if recorded.returncode != 0:
            raise SystemExit(f"{run.script} failed:\n{recorded.log[-2000:]}")
        messages, _ = recorded.recorder.records()
        nodes = [(d.name, d, pids) for d, pids in pids_by_datadir(recorded.datadirs).items()]
        count = _exact(messages, nodes)
        print(f"{run.script}: {count} messages, equal to Core's capture")
        _keep(recorded.capture, folder / "realnode-masternodes.cap")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "samples"))
