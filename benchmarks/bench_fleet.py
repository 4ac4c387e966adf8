"""A fleet at scale: export N nodes' captures into one dataset, then ``propagation`` on DuckDB.

    .venv/bin/python benchmarks/bench_fleet.py                       # 10 nodes x 1,000,000 messages
    .venv/bin/python benchmarks/bench_fleet.py --nodes 3 --messages 100000

One generated mainnet-like stream (bench_offline's mix: inv, getdata, tx,
pings, headers, clsig, isdlock, signing sessions, dsq over 12 peers) is what
every node sees, each node with its own delay (a per-node lag plus up to
400 ms of jitter per message, re-sorted by time) and 2% of the messages
missing, so the same objects reach every node at different times.  Each
node's capture is written with the real writer; then, each as a subprocess
timed end to end with its peak RSS (``wait4`` in a small launcher: a fork
of this process would count the generator's memory):

* ``p2pcap export n0.cap ... --node n0 ... -o fleet/`` (the dataset,
  messages with ``decoded``: the full export), and the same with
  ``--no-decode`` (the inventory and object tables are filled either way);
* ``p2pcap propagation fleet/`` (the table) and ``--json`` (every object).

Memory stays bounded: the export streams (row groups of at most 65,536 rows
per table and day) and the engine does the join (DuckDB spills to disk
beyond its memory limit).
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_offline import OfflineMix, peak_rss

from p2pcap.formats import CaptureWriter, Message

P2PCAP = [sys.executable, "-m", "p2pcap"]


def node_stream(base, node: int, seed: int):
    """The base messages as node ``node`` sees them: lagged, jittered, 2% missing, in time order."""
    rng = random.Random(seed * 1000 + node)
    lag = node * 15_000_000  # 15 ms more per node
    out = []
    for m in base:
        if rng.random() < 0.02:
            continue
        ts = m.ts_ns + lag + int(rng.random() * 400_000_000)
        out.append(
            Message(
                ts, m.pid, m.peer_id, m.peer_addr, m.conn_type, m.direction, m.command, m.msg_size, m.payload
            )
        )
    out.sort(key=lambda m: m.ts_ns)
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=10)
    parser.add_argument("--messages", type=int, default=1_000_000, help="messages per node")
    parser.add_argument(
        "--keep", metavar="DIR", help="work in DIR and keep the files (default: a temporary folder)"
    )
    parser.add_argument("--skip-decoded", action="store_true", help="only the --no-decode export")
    args = parser.parse_args(argv)
    ctx = tempfile.TemporaryDirectory() if not args.keep else None
    tmp = Path(args.keep or ctx.name)
    tmp.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    # Generated only when a capture is missing: a kept folder (--keep) is reused.
    missing = any(not (tmp / f"n{n}.cap").exists() for n in range(args.nodes))
    base = list(OfflineMix(1).messages(args.messages)) if missing else []
    caps = []
    for n in range(args.nodes):
        path = tmp / f"n{n}.cap"
        if not path.exists():
            with CaptureWriter(path, {"network": "mainnet", "bench": "fleet", "host": f"n{n}"}) as w:
                for m in node_stream(base, n, 1):
                    w.write(m)
        caps.append(path)
    del base
    size = sum(p.stat().st_size for p in caps)
    print(
        f"{args.nodes} nodes x {args.messages:,} messages generated in {time.perf_counter() - t:.0f} s "
        f"({size / 1e6:.0f} MB of captures)\n"
    )
    nodes = [a for n in range(args.nodes) for a in ("--node", f"n{n}")]
    rows = []
    exports = [("export --no-decode", ["--no-decode"], tmp / "fleet-nodecode")]
    if not args.skip_decoded:
        exports.append(("export (decoded)", [], tmp / "fleet"))
    for name, extra, out in exports:
        if out.exists():
            subprocess.run(["rm", "-rf", str(out)], check=True)
        secs, rss = peak_rss(
            [*P2PCAP, "export", *map(str, caps), *nodes, *extra, "--format", "parquet", "-o", str(out)]
        )
        du = sum(f.stat().st_size for f in out.rglob("*.parquet"))
        rows.append((name, secs, rss, f"{du / 1e6:.0f} MB dataset"))
    ds = exports[0][2]
    secs, rss = peak_rss([*P2PCAP, "propagation", str(ds)])
    rows.append(("propagation (table)", secs, rss, ""))
    secs, rss = peak_rss([*P2PCAP, "propagation", str(ds), "--json"])
    rows.append(("propagation --json", secs, rss, ""))
    print(f"{'command':24} {'wall s':>8} {'peak RSS':>10}  notes")
    for name, secs, rss, note in rows:
        print(f"{name:24} {secs:>8.1f} {rss / 1024:>7.0f} MB  {note}")
    if ctx is not None:
        ctx.cleanup()


if __name__ == "__main__":
    main()
