#!/usr/bin/env python3
"""Soak: the recorder's memory over long runs stays flat (issue 29).

    sudo .venv/bin/python benchmarks/bench_soak.py                 # the figures: ~85 min
    sudo .venv/bin/python benchmarks/bench_soak.py --runs rate --minutes 60
    sudo .venv/bin/python benchmarks/bench_soak.py --quick         # 5 minutes in all

Three runs, each recording the stand-in nodes through their USDT probes
with ``p2pcap record`` as a user would run it, the recorder's RSS sampled
every 10 s (/proc/PID/status VmRSS):

* ``rate``: 20,000 messages/s of 257 bytes from four peers for an hour,
  ``--rotate-size 20M --rotate-time 10s``.  The four peer ids are 4096
  apart, so they share one slot of the probe's per-CPU peer cache and
  every message names its peer again: the case that held ~300 bytes per
  message.  The steady node alone writes less than 20 MB in 10 s, so
  files end by time; every 2 minutes a second node (``--exe`` records
  every process of the binary) sends 30 s of 4 KiB incompressible
  messages at 2,000/s, and files then end by size, every few seconds.
* ``churn``: 100,000 distinct peers connecting, talking and leaving (the
  C++ stand-in frees each CNode and its strings), ids counting up as
  Dash Core's do, at 1,000 messages/s; no rotation asked for.
* ``restarts``: the node restarts every minute under ``--exe`` (a new
  pid, new peers), 5,000 messages/s from 8 peers.

Figures: RSS at the first minute and the largest growth after it (the
goal: <= 16 MB), messages sent, recorded and counted lost (every message
the nodes sent must be one or the other), files written.  ``--plot``
draws the samples (docs/soak.png).  Rotated files are deleted as the run
goes (all but the newest), so an hour needs little disk.  The machine is
shared: losses depend on what else runs, the memory figures do not.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STANDIN = ROOT / "build" / "p2p-standin"
STANDIN_CXX = ROOT / "build" / "p2p-standin-cxx"
P2PCAP = [sys.executable, "-m", "p2pcap"]
SAMPLE_S = 10.0
WARMUP_S = 60.0  # growth is measured from the first sample after this
GOAL_MB = 16.0


# -- message files -------------------------------------------------------------------
def write_steady(
    path: Path, *, peers: int = 4, lines: int = 1000, size: int = 257, spread: int = 4096
) -> None:
    """``lines`` messages of ``size`` random bytes from ``peers`` peers whose
    ids are ``spread`` apart (4096: one slot of the probe's peer cache)."""
    rng = random.Random(29)
    with open(path, "w") as f:
        for i in range(lines):
            p = i % peers
            d = "in" if i % 2 else "out"
            f.write(f"{d}\t{p * spread}\t10.29.0.{p}:9999\tinbound\ttx\t{rng.randbytes(size).hex()}\n")


def write_bursts(path: Path, *, lines: int = 2000, size: int = 4096) -> None:
    """Incompressible 4 KiB messages (8 MB of random payload) from two peers."""
    rng = random.Random(30)
    with open(path, "w") as f:
        for i in range(lines):
            f.write(
                f"in\t{i % 2}\t10.30.0.{i % 2}:9999\toutbound-full-relay\tblock\t{rng.randbytes(size).hex()}\n"
            )


def write_churn(path: Path, *, peers: int = 100_000, live: int = 40, seed: int = 31) -> int:
    """Peers connecting (version/verack), sending a few messages and leaving
    (a "-" line: the C++ stand-in frees the CNode); ids 0, 1, 2 ... as
    Dash Core numbers them, addresses reused.  Returns the messages fired."""
    rng = random.Random(seed)
    fired = 0
    connected: dict[int, tuple[str, int]] = {}
    next_id = 0
    with open(path, "w") as f:
        while next_id < peers or connected:
            if next_id < peers and len(connected) < live:
                addr = f"10.{31 + next_id % 7}.{next_id // 250 % 250}.{next_id % 250}:{9999 - next_id % 3}"
                connected[next_id] = (addr, rng.randint(1, 4))
                for d, command, payload in (("in", "version", rng.randbytes(120)), ("out", "verack", b"")):
                    f.write(f"{d}\t{next_id}\t{addr}\tinbound\t{command}\t{payload.hex()}\n")
                    fired += 1
                next_id += 1
                continue
            peer = rng.choice(list(connected))
            addr, left = connected[peer]
            if left == 0:
                f.write(f"in\t{peer}\t{addr}\tinbound\t-\t\n")
                del connected[peer]
                continue
            command = rng.choice(("ping", "inv", "tx", "addrv2"))
            f.write(
                f"{rng.choice(('in', 'out'))}\t{peer}\t{addr}\tinbound\t{command}\t{rng.randbytes(rng.randint(8, 300)).hex()}\n"
            )
            fired += 1
            connected[peer] = (addr, left - 1)
    return fired


# -- processes ------------------------------------------------------------------------
def rss_kb(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


class Sampler(threading.Thread):
    """RSS of ``pid`` every SAMPLE_S seconds, from when it is started."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid = pid
        self.samples: list[tuple[float, int]] = []  # (s since start, kB)
        self._halt = threading.Event()

    def run(self) -> None:
        start = time.monotonic()
        while not self._halt.is_set():
            kb = rss_kb(self.pid)
            if kb is None:
                return
            self.samples.append((time.monotonic() - start, kb))
            self._halt.wait(SAMPLE_S)

    def stop(self) -> None:
        self._halt.set()
        self.join()


def private_copy(binary: Path, tmp: Path) -> Path:
    """A copy of a stand-in for this run alone: uprobes are per inode, so
    ``--exe`` on the shared build/ binary would also record (and slow) any
    other test replaying it meanwhile, and theirs ours."""
    copy = tmp / f"{binary.name}-soak"
    if not copy.exists():
        shutil.copy2(binary, copy)
    return copy


def start_recorder(out: Path, *args: str) -> subprocess.Popen:
    rec = subprocess.Popen(
        [*P2PCAP, "record", "-o", str(out), *args],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        cwd=ROOT,
    )
    said = []
    for line in rec.stderr:
        if line.startswith("listening"):
            return rec
        said.append(line)
    rec.wait()
    raise SystemExit(f"the recorder did not start: {''.join(said)}")


def node(binary: Path, messages: Path, *args: str, wait: bool = False) -> subprocess.Popen:
    cmd = [str(binary), *(["--wait-signal"] if wait else []), *args, str(messages)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    if wait:
        line = proc.stdout.readline()
        if not line.startswith("waiting"):
            proc.kill()
            raise SystemExit(f"the stand-in did not start: {line!r}")
    return proc


def replayed(proc: subprocess.Popen) -> int:
    """Messages the stand-in says it fired ("replayed N messages, ...")."""
    out = proc.stdout.read()
    proc.wait()
    words = out.split()
    return int(words[1]) if len(words) > 1 and words[0] == "replayed" else 0


class Pruner(threading.Thread):
    """Deletes rotated files but the newest two while a run goes on (disk)."""

    def __init__(self, folder: Path):
        super().__init__(daemon=True)
        self.folder = folder
        self.deleted = 0
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.wait(5):
            files = sorted(self.folder.glob("run.cap*"), key=lambda p: p.stat().st_mtime if p.exists() else 0)
            for f in files[:-2]:
                try:
                    f.unlink()
                    self.deleted += 1
                except OSError:
                    pass

    def stop(self) -> None:
        self._halt.set()
        self.join()


# -- results ----------------------------------------------------------------------------
@dataclass
class Result:
    name: str
    seconds: float
    sent: int = 0
    recorded: int = 0
    lost: int = 0
    files: int = 0
    summary: str = ""
    samples: list = field(default_factory=list)  # (s, kB)
    warmup_s: float = WARMUP_S

    @property
    def rss_at_warmup_mb(self) -> float:
        after = [kb for t, kb in self.samples if t >= self.warmup_s]
        return (after[0] if after else self.samples[-1][1]) / 1024

    @property
    def growth_mb(self) -> float:
        """Largest RSS after the warm-up (the first minute) less RSS then."""
        after = [kb for t, kb in self.samples if t >= self.warmup_s]
        return (max(after) - after[0]) / 1024 if after else 0.0

    @property
    def accounted(self) -> bool:
        return self.sent > 0 and self.recorded + self.lost == self.sent

    def line(self) -> str:
        start = self.samples[0][1] / 1024 if self.samples else 0
        return (
            f"{self.name:9s} {self.seconds / 60:5.1f} min  RSS {start:6.1f} MB at start, "
            f"{self.rss_at_warmup_mb:6.1f} MB at {self.warmup_s:.0f} s, growth after {self.growth_mb:+5.1f} MB "
            f"({'ok' if self.growth_mb <= GOAL_MB else 'OVER'} <= {GOAL_MB:.0f})  "
            f"sent {self.sent:,} recorded {self.recorded:,} lost {self.lost:,}"
            f"{'' if self.accounted else ' (NOT ACCOUNTED)'}  files {self.files}"
        )


def finish(rec: subprocess.Popen, sampler: Sampler, result: Result) -> Result:
    rec.send_signal(signal.SIGINT)
    rest = rec.communicate(timeout=600)[1]
    sampler.stop()
    result.samples = sampler.samples
    lines = rest.strip().splitlines()
    result.summary = lines[-1] if lines else ""
    words = result.summary.split(", ")
    if len(words) >= 3 and words[0].endswith(" messages"):
        result.recorded = int(words[0].split()[0])
        result.lost = int(words[2].split()[0])
    files = [ln for ln in lines if ln.startswith("wrote ")]
    result.files = int(files[-1].split()[1]) if files else 1
    return result


def _log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# -- the runs ---------------------------------------------------------------------------
def run_rate(tmp: Path, seconds: float, *, rate: int = 20_000, burst_every: float = 120.0) -> Result:
    """20,000 msg/s from one node, bursts from another every ``burst_every`` s; rotation by size and time."""
    steady, bursts = tmp / "steady.msgs", tmp / "bursts.msgs"
    write_steady(steady)
    write_bursts(bursts)
    out = tmp / "rate"
    out.mkdir()
    standin = private_copy(STANDIN, tmp)
    rec = start_recorder(
        out / "run.cap", "--exe", str(standin), "--rotate-size", "20M", "--rotate-time", "10s"
    )
    sampler, pruner = Sampler(rec.pid), Pruner(out)
    sampler.start()
    pruner.start()
    result = Result("rate", seconds)
    main = node(standin, steady, "--rate", str(rate), "--repeat", "0", "--duration", str(seconds))
    started = time.monotonic()
    burst_at = started + burst_every / 2
    while main.poll() is None:
        if time.monotonic() >= burst_at and time.monotonic() + 30 < started + seconds:
            b = node(standin, bursts, "--rate", "2000", "--repeat", "0", "--duration", "30")
            result.sent += replayed(b)
            burst_at += burst_every
        time.sleep(0.5)
    result.sent += replayed(main)
    time.sleep(1)  # the last drain
    finish(rec, sampler, result)
    pruner.stop()
    return result


def run_churn(tmp: Path, seconds: float, *, peers: int = 100_000) -> Result:
    """``peers`` distinct peers come and go over ``seconds``; no rotation asked for."""
    churn = tmp / "churn.msgs"
    fired = write_churn(churn, peers=peers)
    out = tmp / "churn"
    out.mkdir()
    n = node(STANDIN_CXX, churn, "--rate", str(max(1, round(fired / seconds))), "--linger", "1", wait=True)
    rec = start_recorder(out / "run.cap", "--pid", str(n.pid))
    sampler, pruner = Sampler(rec.pid), Pruner(out)
    sampler.start()
    pruner.start()
    n.send_signal(signal.SIGUSR1)
    result = Result("churn", seconds)
    result.sent = replayed(n)
    finish(rec, sampler, result)
    pruner.stop()
    return result


def run_restarts(tmp: Path, seconds: float, *, every: float = 60.0, rate: int = 5000) -> Result:
    """A node that restarts every ``every`` s under --exe: new pid, new peers."""
    msgs = tmp / "restart.msgs"
    write_steady(msgs, peers=8, spread=1, size=200)
    out = tmp / "restarts"
    out.mkdir()
    standin = private_copy(STANDIN_CXX, tmp)
    rec = start_recorder(out / "run.cap", "--exe", str(standin), "--rotate-time", "5m")
    sampler, pruner = Sampler(rec.pid), Pruner(out)
    sampler.start()
    pruner.start()
    result = Result("restarts", seconds)
    end = time.monotonic() + seconds
    while time.monotonic() + 1 < end:
        life = min(every - 0.5, end - time.monotonic())
        n = node(standin, msgs, "--rate", str(rate), "--repeat", "0", "--duration", f"{life:.1f}")
        result.sent += replayed(n)
        time.sleep(0.5)  # the node is down, as a restart leaves it
    time.sleep(1)
    finish(rec, sampler, result)
    pruner.stop()
    return result


RUNS = {"rate": run_rate, "churn": run_churn, "restarts": run_restarts}
# The figures (~85 minutes), and the regression check of `make test`
# (tests/capture/test_soak.py): 5 minutes, growth counted after 30 s.
FULL = {"rate": (60.0, {}), "churn": (10.0, {}), "restarts": (15.0, {})}
QUICK = {"rate": (2.5, {}), "churn": (1.5, {"peers": 15_000}), "restarts": (1.0, {"every": 15.0})}


def soak(name: str, tmp: Path, *, quick: bool = False, minutes: float | None = None) -> Result:
    """One run, by name; ``quick``: its 5-minutes-in-all version."""
    length, kw = (QUICK if quick else FULL)[name]
    result = RUNS[name](tmp, (minutes or length) * 60, **kw)
    if quick:
        result.warmup_s = 30.0
    return result


def plot(results: list[Result], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(results), 1, figsize=(8, 2.6 * len(results)), squeeze=False)
    for ax, r in zip(axes[:, 0], results):
        minutes = [t / 60 for t, _ in r.samples]
        mb = [kb / 1024 for _, kb in r.samples]
        ax.plot(minutes, mb, lw=1.2)
        base = r.rss_at_warmup_mb
        ax.axvline(r.warmup_s / 60, color="grey", lw=0.8, ls=":")
        ax.axhspan(base, base + GOAL_MB, color="green", alpha=0.08, label=f"warm-up + {GOAL_MB:.0f} MB")
        ax.set_ylim(min(mb) - 10, max(max(mb), base + GOAL_MB) + 10)
        ax.set_title(
            f"{r.name} ({r.seconds / 60:g} min): RSS growth after the first {r.warmup_s:.0f} s {r.growth_mb:+.1f} MB",
            fontsize=10,
        )
        ax.set_ylabel("recorder RSS (MB)")
        ax.legend(loc="lower right", fontsize=8)
    axes[-1, 0].set_xlabel("minutes")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", default="rate,churn,restarts", help="comma list of: " + ", ".join(RUNS))
    parser.add_argument("--minutes", type=float, help="length of every run asked for (default: 60, 10, 15)")
    parser.add_argument("--quick", action="store_true", help="5 minutes in all: 2.5 + 1.5 + 1")
    parser.add_argument("--plot", type=Path, help="PNG of the RSS samples")
    parser.add_argument("--json", type=Path, help="write the samples and figures here")
    args = parser.parse_args(argv)
    results = []
    with tempfile.TemporaryDirectory(prefix="p2pcap-soak-") as tmp:
        for name in args.runs.split(","):
            _log(f"== {name}")
            r = soak(name, Path(tmp), quick=args.quick, minutes=args.minutes)
            _log(r.line())
            results.append(r)
    for r in results:
        print(r.line())
    if args.plot:
        plot(results, args.plot)
    if args.json:
        args.json.write_text(json.dumps([{**asdict(r), "growth_mb": r.growth_mb} for r in results]))
    ok = all(r.growth_mb <= GOAL_MB and r.accounted for r in results)
    return 0 if ok else 1


if __name__ == "__main__":
    if os.geteuid() != 0:
        sys.exit("bench_soak.py records through uprobes: run it as root")
    sys.exit(main())
