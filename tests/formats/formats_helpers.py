"""Helpers shared by the format tests: records and small captures."""

import io
import random

from p2pcap.formats import CaptureWriter, Gap, Message

COMMANDS = [
    "inv",
    "getdata",
    "tx",
    "ping",
    "pong",
    "headers",
    "clsig",
    "isdlock",
    "qsigshare",
    "dsq",
    "version",
    "verack",
]


def make_records(n: int, seed: int = 1, gap_every: int = 13, max_payload: int = 120) -> list:
    """Deterministic mixed records: several peers and pids, both directions, gaps."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        ts = 1_700_000_000_000_000_000 + i * 1_000_000
        if i % gap_every == gap_every - 1:
            out.append(
                Gap(ts, rng.choice([0, 4242]), rng.randint(1, 3), rng.randint(1, 9), rng.randint(0, 5000))
            )
            continue
        peer = rng.randint(0, 5)
        size = rng.randint(0, max_payload)
        cut = rng.random() < 0.1
        out.append(
            Message(
                ts,
                4242 + peer % 2,
                peer,
                f"10.0.0.{peer}:9999",
                "inbound" if peer % 3 else "outbound-full-relay",
                rng.choice(("in", "out")),
                rng.choice(COMMANDS),
                size + (50 if cut else 0),
                rng.randbytes(size),
                1 if cut else 0,
            )
        )
    return out


def write_capture(records, *, block_size=512, close=True, **options) -> bytes:
    out = io.BytesIO()
    w = CaptureWriter(out, {"test": True}, block_size=block_size, **options)
    for r in records:
        w.write(r)
    if close:
        w.close()
    else:
        w.flush()
    return out.getvalue()
