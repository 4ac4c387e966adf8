"""The real ``p2pcap show --type inv --json`` against ``tshark -r``, side by side.

    .venv/bin/python benchmarks/bench_show.py                  # 1,000,000 messages
    .venv/bin/python benchmarks/bench_show.py --messages 200000

One synthetic mainnet-like capture (bench_format.Traffic) is written with
the real writer and exported with ``p2pcap export --format pcapng``; then,
each command timed end to end as a subprocess, wall clock:

* ``p2pcap show FILE --type inv --json``     (decodes every inv)
* ``p2pcap show FILE --type inv --json -n``  (metadata only)
* ``p2pcap show FILE --type tx -c 0`` on a rare type through the index
* ``tshark -r FILE.pcapng -Y bitcoin.command==inv -T json`` (when tshark is here)
* ``tshark -r FILE.pcapng`` (its default one-line-per-packet output)

Throughput is messages in the file per second (what a type filter scans).
The issue's yardstick: tshark's default speed here is 13-17k messages/s.
"""

from __future__ import annotations

import argparse
import gc
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_format import Traffic, write_p2pcap  # noqa: E402

P2PCAP = [sys.executable, "-m", "p2pcap"]


def timed_run(cmd: list[str]) -> tuple[float, int]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {proc.stderr.decode(errors='replace')[-500:]}")
    return elapsed, proc.stdout.count(b"\n")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument(
        "--tshark-messages",
        type=int,
        default=200_000,
        help="tshark runs on the first N messages only (it is slow)",
    )
    args = parser.parse_args(argv)
    n = args.messages
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        messages = list(Traffic(1, 250).messages(n))
        gc.freeze()
        cap = tmp / "mix.cap"
        write_p2pcap(messages, cap)
        small = tmp / "small.cap"
        write_p2pcap(messages[: args.tshark_messages], small)
        del messages
        rows = []
        t, inv = timed_run([*P2PCAP, "show", str(cap), "--type", "inv", "--json"])
        rows.append(("p2pcap show --type inv --json", n, inv, t))
        t, lines = timed_run([*P2PCAP, "show", str(cap), "--type", "inv", "--json", "--no-decode"])
        rows.append(("p2pcap show --type inv --json -n", n, lines, t))
        t, lines = timed_run([*P2PCAP, "show", str(cap), "--type", "block", "--json"])
        rows.append(("p2pcap show --type block (rare, index)", n, lines, t))
        m = min(n, args.tshark_messages)
        t, lines = timed_run([*P2PCAP, "show", str(small), "--type", "inv", "--json"])
        rows.append((f"p2pcap show --type inv --json ({m:,})", m, lines, t))
        if shutil.which("tshark"):
            pcap = tmp / "small.pcapng"
            subprocess.run(
                [
                    *P2PCAP,
                    "export",
                    str(small),
                    "-o",
                    str(pcap),
                    "--format",
                    "pcapng",
                    "--network",
                    "mainnet",
                ],
                check=True,
                capture_output=True,
            )
            t, lines = timed_run(["tshark", "-r", str(pcap), "-Y", 'bitcoin.command == "inv"', "-T", "json"])
            rows.append((f"tshark -Y inv -T json ({m:,})", m, None, t))
            t, lines = timed_run(["tshark", "-r", str(pcap)])
            rows.append((f"tshark -r, default output ({m:,})", m, lines, t))
        else:
            print("tshark not found: comparing with the issue's 15,000 messages/s only")
    tshark_default = next((r[1] / r[3] for r in rows if r[0].startswith("tshark -r")), 15_000.0)
    tshark_query = next((r[1] / r[3] for r in rows if r[0].startswith("tshark -Y")), None)
    print(
        f"{'command':44} {'messages':>10} {'out':>8} {'wall s':>7} {'msgs/s':>10} "
        f"{'/default':>9} {'/same query':>11}"
    )
    for name, total, out, t in rows:
        rate = total / t
        shown = "" if out is None else f"{out:,}"
        same = f"{rate / tshark_query:>10.1f}x" if tshark_query else f"{'-':>11}"
        print(
            f"{name:44} {total:>10,} {shown:>8} {t:>7.2f} {rate:>10,.0f} "
            f"{rate / tshark_default:>8.1f}x {same}"
        )
    print(
        "\n/default: against tshark -r with its default output (or the issue's 15,000 "
        "messages/s without tshark);\n/same query: against tshark -Y 'bitcoin.command == \"inv\"' "
        "-T json on the same messages. Wall clock, one process each, start-up included."
    )


if __name__ == "__main__":
    main()
