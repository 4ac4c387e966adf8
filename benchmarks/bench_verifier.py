"""What the recorder's BPF programs cost the running kernel's verifier.

Loads the recorder's programs as ``p2pcap record`` would, with the
verifier's log on (BCC ``DEBUG_BPF``, log level 1), and prints the
instructions the verifier processed for each program against its budget
(1,000,000 since Linux 5.2, BPF_COMPLEXITY_LIMIT_INSNS).  Run by the kernel
matrix in every guest (tests/kernels/matrix.py), so the figures come from
each kernel the project claims::

    sudo .venv/bin/python benchmarks/bench_verifier.py [--json]

Needs root, BCC and the stand-in node (build/p2p-standin).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STANDIN = ROOT / "build" / "p2p-standin"
BUDGET = 1_000_000
PROCESSED = re.compile(r"processed (\d+) insns")


def measure(exe: str) -> dict[str, int]:
    """program name -> instructions processed, in load order."""
    import bcc

    from p2pcap.capture import program

    bpf = program.load(program.Options(), exe=exe, debug=bcc.DEBUG_BPF)
    counts = [int(n) for n in PROCESSED.findall(bpf.load_log)]
    # program.load loads copy_chunks first, then one entry point per probe
    # site as it attaches them (capture/usdt.py names them).
    names = ["copy_chunks", *(fn_name for fn_name, _path, _pid, _sem in bpf.p2pcap_sites)]
    bpf.cleanup()
    if len(counts) != len(names):
        raise SystemExit(f"expected {len(names)} verifier reports, found {len(counts)}")
    return dict(zip(names, counts))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exe", default=str(STANDIN))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    counts = measure(args.exe)
    release = os.uname().release
    if args.json:
        print(json.dumps({"kernel": release, "insns": counts, "budget": BUDGET}))
    else:
        for name, n in counts.items():
            print(f"{release}  {name:20s} {n:9,d} insns  ({100 * n / BUDGET:.1f}% of the verifier budget)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
