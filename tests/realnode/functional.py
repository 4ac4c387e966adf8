"""Core's own functional tests as masternode networks, recorded with ``--exe``.

Dash Core's functional tests (test/functional, same tag as the binary)
build the networks a hand-made script would not: quorums of masternodes
running DKG sessions, signing, ChainLocks, InstantSend, governance.  Each
run here is one such test, started by Core's framework under
``--dashd-arg=-capturemessages`` while ``p2pcap record --exe DASHD``
records every node it starts; afterwards each node's data directory holds
Core's own capture to compare with.

``RUNS`` is the table: the test, its arguments, and the Dash-specific
commands its recording must show in real bytes (the commands that run
showed on this project's machine; docs/DECODERS.md has the counts).  Tests
that add a masternode on the fly (``dynamically_add_masternode``, e.g.
feature_llmq_chainlocks.py) copy node0's data directory, message_capture
included, and then fail on that folder: they are not in the table.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from .recording import NodeWatcher, Recorder

# On a 2-core machine Core's DKG phases time out at the default factor
# (../README of the Dash Core build: --timeout-factor=4 is needed there).
TIMEOUT_FACTOR = "4"


@dataclass(frozen=True)
class Run:
    """One functional test to record: its script, arguments and what it must show."""

    script: str
    args: tuple[str, ...] = ()
    shows: frozenset[str] = frozenset()  # Dash-specific commands its recording must hold
    ci: bool = False  # in the CI subset (the 15-minute budget)
    # Why Core's own test is not reliable here, with or without p2pcap (its
    # run is then checked as far as it went, and not retried); empty: it
    # must pass.
    core_unreliable: str = ""

    @property
    def name(self) -> str:
        return Path(self.script).stem + "".join(a.replace("--", "-") for a in self.args)


def _shows(*commands: str) -> frozenset[str]:
    return frozenset(commands)


# fmt: off
RUNS = (
    # Governance: proposals and triggers, their votes, governance sync.
    Run("feature_governance.py", (), _shows("govobj", "govobjvote", "govsync", "ssc", "mnauth", "spork"), ci=True,
        core_unreliable="its check 'Should have 25 votes on all nodes' saw 24 in 3 of 4 runs here, "
                        "one of them without p2pcap and without -capturemessages"),
    # Signing with spork 21 (all quorum members connected): single signature shares.
    Run("feature_llmq_signing.py", ("--spork21",), _shows("qsigshare", "qcontrib", "qfcommit", "qsigrec", "mnauth"),
        ci=True),
    # Rotating quorums: masternode list diffs between the nodes.
    Run("feature_llmq_rotation.py", (), _shows("getmnlistd", "mnlistdiff", "qcontrib", "qfcommit", "clsig"), ci=True),
    # DKG with complaints and justifications, then signing sessions and ChainLocks.
    Run("feature_llmq_dkgerrors.py", (), _shows(
        "qcontrib", "qpcommit", "qfcommit", "qcomplaint", "qjustify", "qsigsesann", "qsigsinv", "qgetsigs",
        "qbsigs", "qsigrec", "qsendrecsigs", "mnauth", "clsig", "spork", "senddsq"), ci=True),
    # Quorum data requests and quorum-watch connections.
    Run("p2p_quorum_data.py", (), _shows("qgetdata", "qdata", "qwatch", "getsporks", "mempool"), ci=True),
    # InstantSend locks.
    Run("p2p_instantsend.py", (), _shows("isdlock", "getsporks", "clsig"), ci=True),
    # Beyond CI's budget (run here for docs/DECODERS.md).
    Run("feature_llmq_signing.py", (), _shows("qsigsesann", "qsigsinv", "qgetsigs", "qbsigs", "qsigrec", "clsig")),
    Run("feature_llmq_is_retroactive.py", (), _shows("isdlock", "clsig", "qsigrec")),
)
# fmt: on


def config_file(functional: Path, path: Path) -> Path:
    """The framework's config.ini for this Core build (written to ``path`` when needed).

    A build tree has test/config.ini written by configure; the bundled
    build has test/config.ini.in with ``@DASHCORE@`` for its root.
    """
    test_dir = functional.parent
    if (test_dir / "config.ini").exists():
        return test_dir / "config.ini"
    text = (test_dir / "config.ini.in").read_text().replace("@DASHCORE@", str(test_dir.parent))
    path.write_text(text)
    return path


@dataclass
class Recorded:
    """A functional test run under a recorder: where everything ended up."""

    run: Run
    tmpdir: Path  # the framework's --tmpdir: node0/, node1/, ... (kept: --nocleanup)
    capture: Path
    recorder: Recorder
    datadirs: dict[int, Path]  # pid -> data directory
    returncode: int
    log: str  # the test's output, for an assertion message
    seconds: float


def record_run(run: Run, dashd: Path, functional: Path, workdir: Path) -> Recorded:
    """Run ``run`` with -capturemessages while ``p2pcap record --exe`` records its nodes.

    The nodes run a private copy of ``dashd`` (the same bytes, its own
    inode), so that ``--exe`` sees this run's nodes and no other's: runs
    can go two at a time, and nothing else on the machine recording the
    original binary touches them.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    tmpdir, capture = workdir / run.name, workdir / f"{run.name}.cap"
    shutil.rmtree(tmpdir, ignore_errors=True)  # the framework wants a new --tmpdir
    binary = workdir / f"{run.name}.dashd"
    shutil.copy2(dashd, binary)
    watcher = NodeWatcher(binary)
    watcher.start()
    started = time.monotonic()
    with Recorder(capture, "--exe", str(binary)) as recorder:
        proc = subprocess.run(
            [
                sys.executable,
                str(functional / run.script),
                *run.args,
                f"--configfile={config_file(functional, workdir / f'{run.name}.ini')}",
                f"--tmpdir={tmpdir}",
                f"--cachedir={workdir / f'{run.name}.cache'}",
                "--nocleanup",
                "--descriptors",
                f"--timeout-factor={TIMEOUT_FACTOR}",
                "--dashd-arg=-capturemessages",
            ],
            env={**os.environ, "DASHD": str(binary)},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        datadirs = watcher.stop()
        recorder.stop()
    # which process was which node, kept beside the capture for a later look
    pids = capture.with_suffix(".pids.json")
    pids.write_text(json.dumps({str(pid): str(path) for pid, path in sorted(datadirs.items())}, indent=1))
    binary.unlink()
    return Recorded(
        run, tmpdir, capture, recorder, datadirs, proc.returncode, proc.stdout, time.monotonic() - started
    )


def record_with_retry(run: Run, dashd: Path, functional: Path, workdir: Path) -> list[Recorded]:
    """One attempt, and a second when Core's own test failed where it should pass.

    Core's DKG tests are timed; on 2 shared cores a phase can miss its
    window.  Every attempt's recording is checked; the last one decides
    whether Core's test passed under the recorder.
    """
    first = record_run(run, dashd, functional, workdir / "1")
    if first.returncode == 0 or run.core_unreliable:
        return [first]
    return [first, record_run(run, dashd, functional, workdir / "2")]
