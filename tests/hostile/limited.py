"""Run a p2pcap command in a child process under a memory limit and a timeout.

The child gets ``RLIMIT_AS`` (its address space) set before it starts, so a
command that tries to take more fails at once (a MemoryError, which the
tests count as a failure) instead of swapping the machine.  What it used:
CPU time (user + system, every thread) from the kernel with ``wait4``,
which the machine's other load does not inflate the way it does the wall
clock; peak resident memory (``VmHWM``) and address space (``VmPeak``)
as the child reports them when it exits.  (``wait4``'s ``ru_maxrss``
would count the test process's own memory, which the child shares between
``fork`` and ``exec``.)

The address-space limit is the budget plus the command's own baseline: a
command's address space is much larger than what it touches (thread stacks
and glibc's per-thread heap reservations: ~170 MB of address space for a
``show`` that is resident in 28 MB), so ``baseline`` measures it by running
the same command on a small legitimate capture.

    .venv/bin/python -m tests.hostile.limited FILE...    # every reader command on each FILE
"""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

MB = 1 << 20
BUDGET = 256 * MB  # what a command may use on a capture under 1 MB (issue 22)
SECONDS = 10.0  # CPU seconds it may take on one
WALL_TIMEOUT = 120.0  # a runaway is stopped here whatever it is doing

# Every command that reads a capture, as (name, arguments); "@" is the
# capture, "{out}" a folder for what the command writes.
COMMANDS = [
    ("show", ["show", "@"]),
    ("show --json", ["show", "--json", "@"]),
    ("show -n", ["show", "-n", "@"]),
    ("stats", ["stats", "@"]),
    ("check", ["check", "@"]),
    ("diff", ["diff", "@", "@"]),
    ("filter", ["filter", "@", "-o", "{out}/filtered.cap"]),
    ("repair", ["repair", "@", "-o", "{out}/repaired.cap"]),
    ("merge", ["merge", "@", "@", "-o", "{out}/merged.cap"]),
    ("export jsonl", ["export", "@", "-o", "{out}/export.jsonl"]),
    ("export pcapng", ["export", "@", "-o", "{out}/export.pcapng", "--network", "regtest"]),
    ("replay --no-pacing", ["replay", "--no-pacing", "@"]),
]

# Reports the peak address space and resident memory (kB) when it exits.
_LAUNCH = """
import atexit, os, sys
def _peak():
    with open("/proc/self/status") as f:
        kb = dict(line.split()[:2] for line in f if line.startswith(("VmPeak:", "VmHWM:")))
    os.write(int(os.environ["P2PCAP_PEAK_FD"]), f"{kb['VmPeak:']} {kb['VmHWM:']}".encode())
atexit.register(_peak)
sys.argv = ["p2pcap", *sys.argv[1:]]
from p2pcap.cli import main
main()
"""


@dataclass
class Run:
    """What one command did: its exit status, stderr, and what it cost."""

    args: list
    status: int  # exit status, or -signal
    stderr: str
    cpu_s: float
    wall_s: float
    max_rss: int  # bytes (0: the child died before it could say)
    timed_out: bool
    stdout: Path
    peak_as: int | None = None  # bytes of address space

    def describe(self) -> str:
        err = self.stderr.strip().splitlines()
        return (
            f"p2pcap {' '.join(map(str, self.args))}: status {self.status}, {self.cpu_s:.1f} s CPU, "
            f"{self.max_rss / MB:.0f} MB, {len(err)} stderr lines"
            + (f"; last: {err[-1][:300]}" if err else "")
        )


def arguments(template: list, capture: Path, out: Path) -> list:
    return [str(capture) if a == "@" else a.replace("{out}", str(out)) for a in template]


def run_p2pcap(
    args: list,
    *,
    workdir: Path,
    address_space: int | None = None,
    timeout: float = WALL_TIMEOUT,
) -> Run:
    """``p2pcap ARGS`` in a child process; stdout goes to a file in ``workdir``."""
    stdout_path = workdir / "stdout"
    stderr_path = workdir / "stderr"
    read_fd, write_fd = os.pipe()
    env = dict(os.environ, PYTHONFAULTHANDLER="", P2PCAP_PEAK_FD=str(write_fd))

    def limit():
        if address_space is not None:
            resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))

    start = time.monotonic()
    with open(stdout_path, "wb") as out, open(stderr_path, "wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-c", _LAUNCH, *map(str, args)],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            env=env,
            cwd=workdir,
            preexec_fn=limit,
            pass_fds=(write_fd,),
        )
    os.close(write_fd)
    timer = threading.Timer(timeout, lambda: os.kill(proc.pid, signal.SIGKILL))
    timer.start()
    try:
        _, status, usage = os.wait4(proc.pid, 0)
    finally:
        timer.cancel()
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.monotonic() - start
    with os.fdopen(read_fd, "rb") as f:
        peaks = f.read().split()
    peak_as, hwm = (int(kb) * 1024 for kb in peaks) if len(peaks) == 2 else (None, 0)
    return Run(
        args,
        proc.returncode,
        stderr_path.read_text(errors="replace"),
        usage.ru_utime + usage.ru_stime,
        wall,
        hwm,
        wall >= timeout,
        stdout_path,
        peak_as,
    )


def baseline(template: list, capture: Path, workdir: Path) -> int:
    """Bytes of address space ``template`` reaches on ``capture`` (a small,
    legitimate one): what the command costs before any input does."""
    out = workdir / "baseline-out"
    out.mkdir(exist_ok=True)
    run = run_p2pcap(arguments(template, capture, out), workdir=workdir)
    if run.status not in (0, 1) or run.peak_as is None:
        raise RuntimeError(f"baseline run failed: {run.describe()}")
    return run.peak_as


def problems(run: Run, workdir: Path, *, seconds: float = SECONDS) -> list:
    """What is wrong with a run of a reader command on a hostile capture:
    a status other than 0, 1 or 2, a traceback, a line of stderr that is
    not a whole message of its own, too much memory or time.

    A whole message starts with ``p2pcap: `` (a problem, a warning),
    ``Error: `` (what ended the command) or names an output in ``workdir``
    (``export``'s summary line).
    """
    bad = []
    if run.timed_out:
        bad.append(f"still running after {WALL_TIMEOUT:.0f} s")
    if run.status not in (0, 1, 2):
        bad.append(f"exit status {run.status}")
    if "Traceback" in run.stderr or "MemoryError" in run.stderr:
        bad.append("a traceback")
    for line in run.stderr.splitlines():
        if not line.startswith(("p2pcap: ", "Error: ", str(workdir))):
            bad.append(f"a stderr line that is not one message: {line[:120]!r}")
            break
    if run.max_rss > BUDGET:
        bad.append(f"{run.max_rss / MB:.0f} MB resident (limit {BUDGET / MB:.0f})")
    if run.cpu_s > seconds:
        bad.append(f"{run.cpu_s:.1f} s of CPU (limit {seconds:.0f})")
    return bad


def main(argv=None) -> int:
    import tempfile

    files = [Path(a) for a in (argv if argv is not None else sys.argv[1:])]
    for capture in files:
        for name, template in COMMANDS:
            with tempfile.TemporaryDirectory() as tmp:
                work = Path(tmp)
                run = run_p2pcap(arguments(template, capture.resolve(), work), workdir=work)
                bad = problems(run, work)
                print(
                    f"{capture.name:24} {name:20} status {run.status:3} {run.cpu_s:6.2f} s "
                    f"{run.max_rss / MB:6.0f} MB {len(run.stderr.splitlines()):5} lines"
                    + (f"  PROBLEM: {'; '.join(bad)}" if bad else "")
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
