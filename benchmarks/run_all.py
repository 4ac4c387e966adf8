#!/usr/bin/env python3
"""Run every benchmark in this folder, one after the other, and print its figures.

    .venv/bin/python benchmarks/run_all.py            # all
    .venv/bin/python benchmarks/run_all.py decoders   # only bench_decoders.py
    DASHD=/path/to/dashd .venv/bin/python benchmarks/run_all.py realnode   # the cost on a real dashd

bench_realnode.py measures only when DASHD names a dashd built with USDT
probes (make bench DASHD=...); without it, it says so in one line.

Opt-in, run only when named (they take long): ``soak`` (bench_soak.py,
the recorder's memory over ~85 minutes of recording).

Each benchmark compares side by side in one run and prints ratios: these
machines are shared and noisy, so absolute numbers matter less.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
OPT_IN = {"soak"}  # run only when asked for by name


def main(names: list[str]) -> int:
    scripts = sorted(HERE.glob("bench_*.py"))
    if names:
        scripts = [s for s in scripts if s.stem.removeprefix("bench_") in names]
    else:
        scripts = [s for s in scripts if s.stem.removeprefix("bench_") not in OPT_IN]
    status = 0
    for script in scripts:
        print(f"== {script.name}", flush=True)
        status |= subprocess.run([sys.executable, str(script)]).returncode
        print(flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
