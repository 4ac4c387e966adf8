"""``p2pcap diff`` on two big captures: time and peak memory.

    .venv/bin/python benchmarks/bench_diff.py                 # 1,000,000 messages each
    .venv/bin/python benchmarks/bench_diff.py --messages 100000

Two captures of the same session from "two nodes": 8 peers; a mix of
``inv`` (one per transaction, unique hashes), ``getdata``, ``tx``-sized
unknown payloads, ``ping``/``pong`` (other nonces in B), ``headers``; B
lacks three messages and has two changed.  Prints the time
of ``diff_captures`` and the peak RSS it added (``ru_maxrss``), and the
fingerprint bytes per message (the part that grows with the capture).
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from p2pcap.analysis.diff import diff_captures
from p2pcap.formats import CaptureWriter, Message

T0 = 1_700_000_000_000_000_000


def session(n: int, variant: bool, seed: int = 1):
    rng = random.Random(seed)
    drop = {n // 3, n // 2 + 1, (2 * n) // 3}
    change = {n // 4, (3 * n) // 4}
    for i in range(n):
        peer = i % 8
        kind = rng.random()
        blob = rng.randbytes(32)
        if kind < 0.45:
            command, payload = "inv", b"\x01" + struct.pack("<I", 1) + blob
        elif kind < 0.6:
            command, payload = "getdata", b"\x01" + struct.pack("<I", 1) + blob
        elif kind < 0.8:
            command, payload = "xtxdata", blob * (8 + i % 16)
        elif kind < 0.95:
            command = "ping" if i % 2 else "pong"
            payload = struct.pack("<Q", (i * 7 if variant else i) & 0xFFFFFFFF)
        else:
            command, payload = "sendheaders", b""
        if variant and i in drop:
            continue
        if variant and i in change and payload:
            payload = payload[:-1] + bytes([payload[-1] ^ 1])
        yield Message(
            T0 + i * 1000,
            1 if not variant else 2,
            peer,
            f"10.0.{peer}.1:9999",
            "inbound",
            "in" if i % 3 else "out",
            command,
            len(payload),
            payload,
        )


def write(path: Path, n: int, variant: bool) -> None:
    with CaptureWriter(path, {"bench": True}) as w:
        for rec in session(n, variant):
            w.write(rec)


def measure(a: Path, b: Path, n: int) -> None:
    """In a fresh process, so the peak RSS is the diff's own."""
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t = time.perf_counter()
    res = diff_captures(a, b)
    took = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    hunks = sum(len(s.hunks) for s in res.sessions)
    fp_bytes = sum(
        s.fps.itemsize * len(s.fps) + s.ords.itemsize * len(s.ords)
        for side in (res.a, res.b)
        for s in side.sessions
    )
    res.close()
    print(
        f"diff: {took:.0f} s ({took / (2 * n) * 1e6:.0f} us a message), {hunks} hunks, "
        f"peak RSS {peak / 1024:.0f} MB (+{(peak - base) / 1024:.0f} MB over the imports; "
        f"fingerprints {fp_bytes / 1e6:.0f} MB)"
    )


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--measure", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure:
        return measure(*args.measure, args.messages)
    with tempfile.TemporaryDirectory() as tmp:
        a, b = Path(tmp) / "a.cap", Path(tmp) / "b.cap"
        t = time.perf_counter()
        write(a, args.messages, False)
        write(b, args.messages, True)
        print(
            f"wrote 2 x {args.messages:,} messages ({os.path.getsize(a) / 1e6:.0f} MB each) "
            f"in {time.perf_counter() - t:.0f} s",
            flush=True,
        )
        subprocess.run(
            [sys.executable, __file__, "--messages", str(args.messages), "--measure", str(a), str(b)],
            check=True,
        )


if __name__ == "__main__":
    sys.exit(main())
