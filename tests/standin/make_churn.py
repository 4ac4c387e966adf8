#!/usr/bin/env python3
"""Write a stand-in message file where peers connect and disconnect.

    make_churn.py OUT [--peers N] [--live N] [--messages N] [--big N] [--seed N]

Peers come and go as on a node: each new peer gets the next id, never one
used before (Dash Core's CConnman::GetNewNodeId counts up from 0), does the
version/verack handshake, exchanges messages, and disconnects: a line with
command "-" (fires no probe; the C++ stand-in then frees that CNode and its
strings).  A new peer often takes the address of one that left (a reconnect
from the same address:port gets a new id), so only the id tells sessions
apart.  At most --live peers are connected at once; --peers in all;
--messages after each handshake on average; --big N: about one message in N
is a 2-3 MiB block (0: none).

Importable: ``churn(...)`` returns the lines as tests/capture/live.py's
``write_messages`` takes them: (direction, peer, addr, conn_type, command,
payload bytes); a disconnection is (direction "in", peer, addr, conn_type,
"-", b"").
"""

from __future__ import annotations

import argparse
import hashlib
import random
import struct
import sys
from pathlib import Path

DISCONNECT = "-"
CONN_TYPES = ["inbound", "inbound", "outbound-full-relay", "block-relay-only", "manual", "feeler"]
CHATTER = ["ping", "pong", "inv", "getdata", "tx", "addrv2", "headers", "sendcmpct", "feefilter"]


def _cs(n: int) -> bytes:
    if n < 0xFD:
        return bytes([n])
    if n <= 0xFFFF:
        return b"\xfd" + struct.pack("<H", n)
    return b"\xfe" + struct.pack("<I", n)


def version_payload(nonce: int, height: int, protocol: int = 70238) -> bytes:
    """A Dash version message (through the masternode-auth challenge)."""
    ua = b"/Dash Core:22.1.0/"
    addr = struct.pack("<Q", 0xC05) + b"\x00" * 10 + b"\xff\xff\x7f\x00\x00\x01" + struct.pack(">H", 19899)
    return (
        struct.pack("<iQq", protocol, 0xC05, 1_700_000_000)
        + addr
        + addr
        + struct.pack("<Q", nonce)
        + _cs(len(ua))
        + ua
        + struct.pack("<i", height)
        + b"\x01"
        + hashlib.sha256(nonce.to_bytes(8, "little")).digest()
        + b"\x00"
    )


def _payload(rng: random.Random, command: str, big: int) -> bytes:
    if command in ("ping", "pong", "feefilter"):
        return rng.randbytes(8)
    if command in ("inv", "getdata"):
        n = rng.randint(1, 20)
        return _cs(n) + b"".join(struct.pack("<I", 1) + rng.randbytes(32) for _ in range(n))
    if command == "block" and big:
        return rng.randbytes(rng.randint(2 << 20, 3 << 20))
    return rng.randbytes(rng.randint(0, 600))


def churn(
    peers: int = 40, live: int = 6, messages: int = 8, big: int = 0, seed: int = 1
) -> list[tuple[str, int, str, str, str, bytes]]:
    rng = random.Random(seed)
    lines: list[tuple[str, int, str, str, str, bytes]] = []
    addresses = [f"10.{i // 250}.{i % 250}.{1 + i % 7}:{19999 - i % 3}" for i in range(max(3, peers // 3))]
    connected: dict[int, tuple[str, str, int]] = {}  # id -> addr, conn, messages left
    next_id = 0
    while next_id < peers or connected:
        if next_id < peers and (len(connected) < live and (not connected or rng.random() < 0.4)):
            peer, next_id = next_id, next_id + 1
            addr, conn = rng.choice(addresses), rng.choice(CONN_TYPES)
            ours, theirs = (
                version_payload(rng.getrandbits(64), 2000),
                version_payload(rng.getrandbits(64), 2001),
            )
            handshake = (
                [("in", "version", theirs), ("out", "version", ours)]
                if conn == "inbound"
                else [("out", "version", ours), ("in", "version", theirs)]
            )
            handshake += [("out", "verack", b""), ("in", "verack", b"")]
            for direction, command, payload in handshake:
                lines.append((direction, peer, addr, conn, command, payload))
            connected[peer] = (addr, conn, rng.randint(0, 2 * messages))
            continue
        peer = rng.choice(sorted(connected))
        addr, conn, left = connected[peer]
        if left == 0:
            lines.append(("in", peer, addr, conn, DISCONNECT, b""))
            del connected[peer]
            continue
        command = "block" if big and rng.randrange(big) == 0 else rng.choice(CHATTER)
        lines.append((rng.choice(("in", "out")), peer, addr, conn, command, _payload(rng, command, big)))
        connected[peer] = (addr, conn, left - 1)
    return lines


def write(path: Path, lines) -> None:
    with open(path, "w") as f:
        for direction, peer, addr, conn, command, payload in lines:
            f.write(f"{direction}\t{peer}\t{addr}\t{conn}\t{command}\t{payload.hex()}\n")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--peers", type=int, default=40)
    parser.add_argument("--live", type=int, default=6)
    parser.add_argument("--messages", type=int, default=8)
    parser.add_argument("--big", type=int, default=0)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    lines = churn(args.peers, args.live, args.messages, args.big, args.seed)
    write(args.out, lines)
    fired = sum(1 for line in lines if line[4] != DISCONNECT)
    print(f"{args.out}: {fired} messages, {args.peers} peers", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
