#!/usr/bin/env python3
"""What ``record --metrics`` costs the recorder: CPU with and without, side by side.

    sudo .venv/bin/python benchmarks/bench_metrics.py                 # 4 rounds of 15 s at 10,000 msg/s (~2.5 min)
    sudo .venv/bin/python benchmarks/bench_metrics.py --rounds 6 --seconds 20

Each round records the stand-in node (build/p2p-standin replaying
samples/regtest-session.msgs: three peers, 13 commands) at ``--rate`` for
``--seconds`` twice: once with ``--metrics 127.0.0.1:PORT``, scraped every
second by this script, once without; the order alternates from round to
round.  The recorder's CPU (every thread, schedstat) while the node
replays is compared within each round, and the median of the rounds'
ratios is the figure.  On a shared 2-core machine one run's CPU swings by
several percent, more than the difference sought, so two exact figures
go with it, measured in this process on the same code: the collector's
cost per scrape (``generate_latest`` over a recorder-shaped object with
this session's series; prometheus_client's own ``generate_latest``
beside it) and the tally's cost per block
(``BlockTally.add`` on a block of this session's messages), each then
put as a share of the recorder's CPU at the rate; and the recorder's own
CPU per scrape, HTTP included, over 200 back-to-back scrapes of a
recording at rest (less its idle CPU).
"""

from __future__ import annotations

import argparse
import json
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_recorder import cpu_ns, start_recorder  # noqa: E402

STANDIN = ROOT / "build" / "p2p-standin"
SESSION = ROOT / "samples" / "regtest-session.msgs"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def one_run(with_metrics: bool, rate: float, seconds: float, tmp: Path) -> dict:
    node = subprocess.Popen(
        [
            str(STANDIN),
            "--wait-signal",
            "--repeat",
            "0",
            "--duration",
            str(seconds),
            "--rate",
            str(rate),
            str(SESSION),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    node.stdout.readline()
    port = free_port()
    extra = ["--metrics", f"127.0.0.1:{port}"] if with_metrics else []
    out = tmp / "bench.cap"
    scrapes = []
    stop = threading.Event()

    def scraper():
        while not stop.wait(1.0):
            t = time.perf_counter()
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
                r.read()
            scrapes.append(time.perf_counter() - t)

    try:
        rec = start_recorder("p2pcap", node.pid, out, extra)
        thread = threading.Thread(target=scraper, daemon=True) if with_metrics else None
        before = cpu_ns(rec.pid)
        node.send_signal(signal.SIGUSR1)
        if thread:
            thread.start()
        node_line = node.stdout.read()
        node.wait()
        during = cpu_ns(rec.pid) - before
        stop.set()
        if thread:
            thread.join()
        rest = rec.communicate(timeout=120)[1]
    finally:
        stop.set()
        if node.poll() is None:
            node.kill()
        for f in tmp.glob("bench.cap*"):
            f.unlink()
    summary = rest.strip().splitlines()[-1]
    return {
        "metrics": with_metrics,
        "sent": int(node_line.split()[1]),
        "kept": int(summary.split()[0]),
        "lost": int(summary.split(", ")[2].split()[0]),
        "cpu_pct": 100.0 * during / 1e9 / seconds,
        "scrapes": len(scrapes),
        "scrape_ms_median": 1000 * statistics.median(scrapes) if scrapes else None,
    }


def live_scrape_cost(tmp: Path, scrapes: int = 200) -> dict:
    """The recorder's CPU per scrape, HTTP included: the stand-in replays the
    session once and stays, so every series exists; the recorder's CPU over
    ``scrapes`` back-to-back scrapes, less what it uses idle, per scrape."""
    node = subprocess.Popen(
        [str(STANDIN), "--wait-signal", "--linger", "600", str(SESSION)], stdout=subprocess.PIPE, text=True
    )
    node.stdout.readline()
    port = free_port()
    url = f"http://127.0.0.1:{port}/metrics"
    rec = None
    try:
        rec = start_recorder("p2pcap", node.pid, tmp / "bench.cap", ["--metrics", f"127.0.0.1:{port}"])
        node.send_signal(signal.SIGUSR1)
        time.sleep(2.5)  # the session's block is sealed (a block ends within a second)
        with urllib.request.urlopen(url, timeout=5) as r:
            series = sum(1 for line in r.read().decode().splitlines() if not line.startswith("#"))
        a, t = cpu_ns(rec.pid), time.monotonic()
        time.sleep(3)
        idle = (cpu_ns(rec.pid) - a) / (time.monotonic() - t)
        a, t = cpu_ns(rec.pid), time.monotonic()
        for _ in range(scrapes):
            with urllib.request.urlopen(url, timeout=5) as r:
                r.read()
        used = cpu_ns(rec.pid) - a - idle * (time.monotonic() - t)
    finally:
        for p in (rec, node):
            if p is not None and p.poll() is None:
                p.send_signal(signal.SIGTERM)
                p.wait()
        for f in tmp.glob("bench.cap*"):
            f.unlink()
    return {"us_per_live_scrape": used / scrapes / 1e3, "samples_served": series}


def exact_costs() -> dict:
    """µs per scrape and per block, in this process, on this session's shapes."""
    from prometheus_client import CollectorRegistry, generate_latest

    from p2pcap.capture.metrics import BlockTally, Exposition, RecorderCollector
    from p2pcap.capture.output import FileList
    from p2pcap.capture.peertable import PeerTable
    from p2pcap.capture.recorder import Summary
    from p2pcap.formats.block import BlockBuilder
    from p2pcap.formats.records import Message

    rows = [line.split("\t") for line in SESSION.read_text().splitlines() if not line.startswith("#")]
    block = BlockBuilder()
    for i in range(5000):  # ~0.5 s of this session at 10,000 msg/s: one block
        d, peer, addr, conn, command, payload = rows[i % len(rows)]
        block.add(
            Message(i, 1, int(peer), addr, conn, d, command, len(payload) // 2, bytes(len(payload) // 2))
        )
    content = block.finish()
    tally = BlockTally()
    n = 2000
    t = time.perf_counter()
    for _ in range(n):
        tally.add(content, 100_000)
    per_block = (time.perf_counter() - t) / n

    class Fake:  # what the collector reads of a Recorder
        summary = Summary()
        opts = type("O", (), {"ringbuf_bytes": 64 << 20})()
        ring = None
        output = type("Out", (), {"files": FileList()})()
        assembler = type("A", (), {"table": PeerTable(), "pids": {1}})()

    for ref, (_d, peer, addr, conn, *_rest) in enumerate(rows):
        Fake.assembler.table.add(ref, (1, int(peer), addr, conn, 0))
    collector = RecorderCollector(tally)
    collector.recorder = Fake()
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    exposition = Exposition()
    n = 500
    t = time.perf_counter()
    for _ in range(n):
        exposition.render(registry.collect())
    per_scrape = (time.perf_counter() - t) / n
    t = time.perf_counter()
    for _ in range(n):
        generate_latest(registry)
    per_generate = (time.perf_counter() - t) / n
    return {
        "us_per_block": 1e6 * per_block,
        "messages_per_block": 5000,
        "us_per_scrape": 1e6 * per_scrape,
        "us_per_generate_latest": 1e6 * per_generate,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rate", type=float, default=10_000)
    ap.add_argument("--seconds", type=float, default=15)
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--json", type=Path, help="Also write the figures here.")
    args = ap.parse_args()
    exact = exact_costs()
    print(
        f"bench_metrics: the tally costs {exact['us_per_block']:.0f} µs per block of "
        f"{exact['messages_per_block']} messages ({1000 * exact['us_per_block'] / exact['messages_per_block']:.1f} ns "
        f"a message); rendering a scrape {exact['us_per_scrape']:.0f} µs "
        f"(prometheus_client's generate_latest: {exact['us_per_generate_latest']:.0f} µs)",
        flush=True,
    )
    runs = []
    with tempfile.TemporaryDirectory(prefix="p2pcap-bench-metrics-") as tmp:
        exact.update(live_scrape_cost(Path(tmp)))
        print(
            f"bench_metrics: a scrape of {exact['samples_served']} samples costs the recording recorder "
            f"{exact['us_per_live_scrape']:.0f} µs of CPU (HTTP included; 200 scrapes less its idle CPU)",
            flush=True,
        )
        for i in range(args.rounds):
            order = (True, False) if i % 2 == 0 else (False, True)
            pair = {m: one_run(m, args.rate, args.seconds, Path(tmp)) for m in order}
            runs.append(pair)
            w, wo = pair[True], pair[False]
            print(
                f"  round {i + 1}: recorder CPU {w['cpu_pct']:.2f}% with --metrics "
                f"({w['scrapes']} scrapes, median {w['scrape_ms_median'] or 0:.1f} ms), "
                f"{wo['cpu_pct']:.2f}% without: ratio {w['cpu_pct'] / wo['cpu_pct']:.3f}; "
                f"lost {w['lost']} / {wo['lost']}, kept {w['kept']}/{w['sent']} and {wo['kept']}/{wo['sent']}",
                flush=True,
            )
    ratios = [p[True]["cpu_pct"] / p[False]["cpu_pct"] for p in runs]
    base = statistics.median(p[False]["cpu_pct"] for p in runs)
    # the exact figures as a share of the recorder's CPU at this rate
    per_s = exact["us_per_block"] * args.rate / exact["messages_per_block"] + exact["us_per_live_scrape"]
    share = 100.0 * (per_s / 1e6) / (base / 100.0)
    print(
        f"bench_metrics: {args.rate:,.0f} msg/s, {args.rounds} rounds of {args.seconds:g} s: "
        f"CPU ratio with/without median {statistics.median(ratios):.3f} "
        f"(rounds {', '.join(f'{r:.3f}' for r in ratios)}); recorder without: {base:.1f}% of a core; "
        f"tally + one live scrape a second: {per_s:.0f} µs/s = {share:.2f}% of that"
    )
    if args.json:
        args.json.write_text(
            json.dumps({"exact": exact, "runs": runs, "ratios": ratios, "share_pct": share}, indent=1)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
