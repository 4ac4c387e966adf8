"""Does ``p2pcap top`` keep up with 100,000 messages/s?  Its lag, measured (root).

    sudo .venv/bin/python benchmarks/bench_top.py                     # 100,000 msg/s for 30 s
    sudo .venv/bin/python benchmarks/bench_top.py --rate 50000 --seconds 20 --size 200

Runs ``p2pcap top -b -d 1 -- build/p2p-standin --rate R --size S ...``:
top starts ``p2pcap record -o -``, which starts the stand-in replaying the
sample session (three peers) at R messages/s; top reads the stream through
the pipe and prints a table a second.  Each table's header says the
**lag**: how far the latest record top has read is behind the wall clock
(the recorder's times are the same host's clock).  Reported: the lag's
median and maximum after the first 5 s, whether it grew (the last third
against the first), the rate top showed against the stand-in's own count
("replayed N messages ... in T s"), and top's CPU time.

``--capacity N`` measures top alone instead: N messages of bench_offline's
mainnet-like mix (12 peers) are written to a capture, which ``cat`` pipes
into ``p2pcap top - -b`` as fast as top reads; the rate top reads at is
its ceiling on this machine, whatever the recorder does.
"""

from __future__ import annotations

import argparse
import re
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEAD = re.compile(
    r"^p2pcap top: (\d+) peers, in ([\d.]+) msg/s, out ([\d.]+) msg/s, lag ([\d.-]+) s, lost (\d+), read (\d+)"
)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rate", type=int, default=100_000)
    ap.add_argument("--seconds", type=int, default=30)
    ap.add_argument("--size", type=int, default=100, help="payload bytes per message (the stand-in's --size)")
    ap.add_argument(
        "--capacity", type=int, default=0, metavar="N", help="top alone, on N messages through a pipe"
    )
    args = ap.parse_args(argv)
    if args.capacity:
        capacity(args.capacity)
        return
    cmd = [sys.executable, "-m", "p2pcap", "top", "-b", "-d", "1", "--"]
    cmd += [str(ROOT / "build" / "p2p-standin"), "--rate", str(args.rate), "--repeat", "0"]
    cmd += [
        "--duration",
        str(args.seconds),
        "--size",
        str(args.size),
        str(ROOT / "samples" / "regtest-session.msgs"),
    ]
    print("$ " + " ".join(cmd), flush=True)
    start = time.monotonic()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    run = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=args.seconds + 120)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if run.returncode != 0:
        sys.exit(f"top failed ({run.returncode}): {run.stderr[-2000:]}")
    samples = []  # (second, lag, rate shown, read, lost)
    for i, table in enumerate(t for t in run.stdout.split("\n\n") if t.startswith("p2pcap top:")):
        m = HEAD.match(table)
        if m and m.group(4) != "-":
            samples.append(
                (
                    i + 1,
                    float(m.group(4)),
                    float(m.group(2)) + float(m.group(3)),
                    int(m.group(6)),
                    int(m.group(5)),
                )
            )
    own = re.search(r"replayed (\d+) messages, \d+ payload bytes in ([\d.]+) s", run.stderr)
    steady = [s for s in samples if s[0] > 5 and s[3] > 0][: max(args.seconds - 6, 1)]
    if not steady:
        sys.exit("no steady tables: " + run.stdout[-2000:])
    lags = [s[1] for s in steady]
    third = max(len(lags) // 3, 1)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    print(f"tables read: {len(samples)}; steady (after 5 s): {len(steady)}")
    print(f"lag: median {statistics.median(lags):.2f} s, max {max(lags):.2f} s")
    print(
        f"lag, first third {statistics.mean(lags[:third]):.2f} s, last third {statistics.mean(lags[-third:]):.2f} s"
    )
    print(f"rate shown: median {statistics.median(s[2] for s in steady):,.0f} msg/s")
    if own:
        n, t = int(own.group(1)), float(own.group(2))
        print(
            f"stand-in's own: {n:,} messages in {t:.2f} s = {n / t:,.0f} msg/s; top read {samples[-1][3]:,}"
        )
    print(f"lost (gap records): {samples[-1][4]}")
    print(f"CPU of top and the recorder (children): {cpu:.1f} s over {time.monotonic() - start:.1f} s")


def capacity(n: int) -> None:
    import tempfile

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bench_offline import OfflineMix, write

    with tempfile.TemporaryDirectory(prefix="p2pcap-bench-top-") as tmp:
        path = Path(tmp) / "mix.cap"
        write(list(OfflineMix(1).messages(n)), path)
        cmd = f"cat {path} | {sys.executable} -m p2pcap top - -b -d 0.5"
        print("$ " + cmd, flush=True)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.monotonic()
        run = subprocess.run(cmd, shell=True, capture_output=True, text=True, cwd=ROOT, timeout=600)
        elapsed = time.monotonic() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    reads = [int(m.group(6)) for m in map(HEAD.match, run.stdout.split("\n\n")) if m]
    if not reads or reads[-1] < n:
        sys.exit(f"top read {reads[-1] if reads else 0} of {n}: {run.stderr[-2000:]}")
    first = next(i for i, r in enumerate(reads) if r > 0)
    done = next(i for i, r in enumerate(reads) if r >= n)
    seconds = max((done - first + 1) * 0.5, 0.5)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    print(f"{n:,} messages read in about {seconds:.1f} s: {n / seconds:,.0f} msg/s (wall {elapsed:.1f} s)")
    print(f"CPU of cat and top: {cpu:.1f} s, {cpu / n * 1e6:.1f} µs a message")


if __name__ == "__main__":
    main()
