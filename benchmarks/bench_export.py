"""Parquet export a block at a time beside the per-record writers, on the same captures (issue 27).

    .venv/bin/python benchmarks/bench_export.py                        # 2 nodes x 500,000 messages
    .venv/bin/python benchmarks/bench_export.py --nodes 10 --messages 1000000 --keep /tmp/benchfleet

The captures are bench_fleet.py's (the same generator and node streams;
``--keep DIR`` reuses ``DIR/n0.cap`` ... as bench_fleet leaves them).  Each
export runs as a subprocess, timed end to end with its peak RSS (a small
launcher's ``wait4``), twice: the per-record writers
(``P2PCAP_GENERAL=1``, which sets the C accelerators aside: export as it
was before issue 27) and the block-at-a-time way (the default), one after
the other on the same files, so the ratio is what this machine's noise
leaves comparable.  Exports:

* one capture to one file (``-o n0.parquet``), ``--no-decode`` and decoded;
* every capture into one dataset (``-o fleet/``), ``--no-decode`` and
  decoded: the four tables;
* the same without the pairs table (``export_dataset(tables=...)``: the
  command has no flag for it), to show what the pairs' tracker
  (p2pcap/analysis/pairs.py, Python per message) costs.

msg/s counts the messages exported over the wall time, start-up included.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_fleet import node_stream
from bench_offline import OfflineMix, peak_rss

from p2pcap.formats import CaptureWriter, open_capture

P2PCAP = [sys.executable, "-m", "p2pcap"]
# export_dataset without the pairs table (no flag says so): argv output, decode, node=cap ...
_NO_PAIRS = (
    "import sys; from p2pcap.analysis.dataset import export_dataset; "
    "pairs = [a.split('=', 1) for a in sys.argv[3:]]; "
    "export_dataset([c for _n, c in pairs], sys.argv[1], nodes=[n for n, _c in pairs], "
    "decode=sys.argv[2] == '1', tables=('messages', 'inventory', 'objects'))"
)


def captures(folder: Path, nodes: int, messages: int) -> list[Path]:
    """bench_fleet's node captures, made where missing."""
    paths = [folder / f"n{n}.cap" for n in range(nodes)]
    missing = [p for p in paths if not p.exists()]
    if missing:
        base = list(OfflineMix(1).messages(messages))
        for n, path in enumerate(paths):
            if path in missing:
                with CaptureWriter(path, {"network": "mainnet", "bench": "fleet", "host": f"n{n}"}) as w:
                    for m in node_stream(base, n, 1):
                        w.write(m)
    return paths


def count(path: Path) -> int:
    with open_capture(path) as reader:
        index = reader.summarize()
    return index.messages


def timed(cmd: list[str], general: bool, out: Path) -> tuple[float, int]:
    """(wall seconds, peak RSS KiB) of ``cmd``, the accelerators set aside when ``general``."""
    if out.exists():
        shutil.rmtree(out) if out.is_dir() else out.unlink()
    before = os.environ.get("P2PCAP_GENERAL")
    os.environ["P2PCAP_GENERAL"] = "1" if general else "0"
    try:
        return peak_rss(cmd)
    finally:
        if before is None:
            del os.environ["P2PCAP_GENERAL"]
        else:
            os.environ["P2PCAP_GENERAL"] = before


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=2)
    parser.add_argument("--messages", type=int, default=500_000, help="messages per node")
    parser.add_argument(
        "--keep", metavar="DIR", help="work in DIR and keep the captures (default: a temporary folder)"
    )
    parser.add_argument("--skip-records", action="store_true", help="only the block way (no ratio)")
    args = parser.parse_args(argv)
    ctx = tempfile.TemporaryDirectory() if not args.keep else None
    tmp = Path(args.keep or ctx.name)
    tmp.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    caps = captures(tmp, args.nodes, args.messages)
    one, every = count(caps[0]), sum(count(c) for c in caps)
    size = sum(c.stat().st_size for c in caps)
    print(
        f"{args.nodes} captures, {every:,} messages, {size / 1e6:.0f} MB ({time.perf_counter() - t:.0f} s to make)\n"
    )
    nodes = [a for n in range(len(caps)) for a in ("--node", f"n{n}")]
    named = [f"n{n}={c}" for n, c in enumerate(caps)]
    out_file, out_dir = tmp / "bench-export.parquet", tmp / "bench-export-ds"
    runs = [
        (
            "1 capture --no-decode -o x.parquet",
            one,
            [*P2PCAP, "export", str(caps[0]), "--no-decode", "-o", str(out_file)],
            out_file,
        ),
        (
            "1 capture -o x.parquet (decoded)",
            one,
            [*P2PCAP, "export", str(caps[0]), "-o", str(out_file)],
            out_file,
        ),
        (
            f"{len(caps)} captures --no-decode -o ds/",
            every,
            [
                *P2PCAP,
                "export",
                *map(str, caps),
                *nodes,
                "--no-decode",
                "--format",
                "parquet",
                "-o",
                str(out_dir),
            ],
            out_dir,
        ),
        (
            f"{len(caps)} captures -o ds/ (decoded)",
            every,
            [*P2PCAP, "export", *map(str, caps), *nodes, "--format", "parquet", "-o", str(out_dir)],
            out_dir,
        ),
        (
            "  the same, no pairs, --no-decode",
            every,
            [sys.executable, "-c", _NO_PAIRS, str(out_dir), "0", *named],
            out_dir,
        ),
        (
            "  the same, no pairs, decoded",
            every,
            [sys.executable, "-c", _NO_PAIRS, str(out_dir), "1", *named],
            out_dir,
        ),
    ]
    print(f"{'export':38} {'records s':>10} {'blocks s':>9} {'ratio':>6} {'msg/s':>9} {'peak RSS':>12}")
    for name, messages, cmd, out in runs:
        secs, rss = timed(cmd, False, out)
        before = None if args.skip_records else timed(cmd, True, out)
        old = f"{before[0]:>10.1f}" if before else f"{'-':>10}"
        ratio = f"{before[0] / secs:>5.1f}x" if before else f"{'-':>6}"
        rss_text = f"{rss / 1024:.0f}" + (f"/{before[1] / 1024:.0f}" if before else "") + " MB"
        print(f"{name:38} {old} {secs:>9.1f} {ratio} {messages / secs:>9,.0f} {rss_text:>12}", flush=True)
    if out_file.exists():
        out_file.unlink()
    shutil.rmtree(out_dir, ignore_errors=True)
    if ctx is not None:
        ctx.cleanup()


if __name__ == "__main__":
    main()
