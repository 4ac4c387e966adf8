#!/usr/bin/env python3
"""Write samples/regtest-session.msgs: a realistic regtest-like P2P session.

The stand-in node (tests/standin) replays this file through USDT probes
shaped like dashd's; ``make demo`` records it.  Payloads are assembled here
with ``struct`` from the wire layouts (Dash Core src/protocol.h,
src/primitives/block.h, src/primitives/transaction.h, src/net_processing.cpp,
src/chainlock/clsig.h, src/instantsend/lock.h), independently of p2pcap's
decoders.

Peers: 0 outbound-full-relay to 127.0.0.1:19899, 1 inbound from an IPv6
address, 2 a manual connection opened by a long host name.
"""

from __future__ import annotations

import hashlib
import struct
import sys
from pathlib import Path


def cs(n: int) -> bytes:
    """CompactSize (canonical)."""
    if n < 0xFD:
        return bytes([n])
    if n <= 0xFFFF:
        return b"\xfd" + struct.pack("<H", n)
    return b"\xfe" + struct.pack("<I", n)


def sha256d(b: bytes) -> bytes:
    return hashlib.sha256(hashlib.sha256(b).digest()).digest()


def h(seed: int) -> bytes:
    """A deterministic 32-byte hash-like value."""
    return hashlib.sha256(seed.to_bytes(8, "little")).digest()


def service(ip4: str, port: int) -> bytes:
    return b"\x00" * 10 + b"\xff\xff" + bytes(int(x) for x in ip4.split(".")) + struct.pack(">H", port)


def version(height: int, nonce: int, ua: str) -> bytes:
    return (
        struct.pack("<iQq", 70238, 0xC05, 1_700_000_000)
        + struct.pack("<Q", 0xC05)
        + service("127.0.0.1", 19899)  # addr_to
        + struct.pack("<Q", 0xC05)
        + service("0.0.0.0", 0)  # addr_from
        + struct.pack("<Q", nonce)
        + cs(len(ua))
        + ua.encode()
        + struct.pack("<i", height)
        + b"\x01"  # relay
        + h(nonce)  # mnauth challenge
        + b"\x00"
    )  # not a masternode connection


def tx(seed: int, n_out: int = 2) -> bytes:
    vin = cs(1) + h(seed) + struct.pack("<I", 0) + cs(107) + bytes(range(107)) + struct.pack("<I", 0xFFFFFFFF)
    vout = cs(n_out) + b"".join(
        struct.pack("<q", 50_000_000 * (i + 1)) + cs(25) + b"\x76\xa9\x14" + h(seed + i)[:20] + b"\x88\xac"
        for i in range(n_out)
    )
    return struct.pack("<i", 2) + vin + vout + struct.pack("<I", 0)


def coinbase(height: int) -> bytes:
    """A DIP2 coinbase: version 3, type 5 (CbTx v2 payload)."""
    script = b"\x03" + height.to_bytes(3, "little") + b"\x00"
    vin = (
        cs(1)
        + b"\x00" * 32
        + struct.pack("<I", 0xFFFFFFFF)
        + cs(len(script))
        + script
        + struct.pack("<I", 0xFFFFFFFF)
    )
    vout = cs(1) + struct.pack("<q", 500_000_000) + cs(25) + b"\x76\xa9\x14" + h(height)[:20] + b"\x88\xac"
    cbtx = (
        struct.pack("<HI", 2, height) + h(height + 1) + h(height + 2)
    )  # version, height, mn root, quorum root
    return struct.pack("<HH", 3, 5) + vin + vout + struct.pack("<I", 0) + cs(len(cbtx)) + cbtx


def header(prev: bytes, merkle: bytes, t: int, nonce: int) -> bytes:
    return struct.pack("<i", 0x20000000) + prev + merkle + struct.pack("<III", t, 0x207FFFFF, nonce)


def inv(items) -> bytes:
    return cs(len(items)) + b"".join(struct.pack("<I", t) + x for t, x in items)


def main(out: Path) -> None:
    P0 = ("0", "127.0.0.1:19899", "outbound-full-relay")
    P1 = ("1", "[2001:db8::7]:51234", "inbound")
    P2 = ("2", "regtest-seed-node-number-two.long-hostname.p2pcap-tests.example.org:19899", "manual")
    tx1, tx2 = tx(11), tx(12, n_out=3)
    cb = coinbase(201)
    merkle = sha256d(sha256d(cb) + sha256d(tx1))
    block_header = header(h(200), merkle, 1_700_000_600, 7)
    block = block_header + cs(2) + cb + tx1
    headers = cs(3) + b"".join(
        header(h(197 + i), h(300 + i), 1_700_000_000 + 150 * i, i) + b"\x00" for i in range(3)
    )
    isdlock = b"\x01" + cs(1) + h(11) + struct.pack("<I", 0) + sha256d(tx1) + h(99) + b"\x8a" * 96
    clsig = struct.pack("<i", 201) + h(4242) + b"\x99" * 96
    locator = struct.pack("<i", 70238) + cs(2) + h(200) + h(199) + b"\x00" * 32
    addrv2 = cs(2) + (
        struct.pack("<I", 1_700_000_000)
        + cs(0xC05)
        + b"\x01"
        + cs(4)
        + bytes([10, 0, 0, 7])
        + struct.pack(">H", 19899)
        + struct.pack("<I", 1_700_000_100)
        + cs(1)
        + b"\x02"
        + cs(16)
        + bytes.fromhex("20010db8000000000000000000000007")
        + struct.pack(">H", 19899)
    )
    lines = [
        ("out", P0, "version", version(200, 1, "/Dash Core:22.1.0/")),
        ("in", P0, "version", version(201, 2, "/Dash Core:22.0.0/")),
        ("in", P0, "sendaddrv2", b""),
        ("in", P0, "verack", b""),
        ("out", P0, "sendaddrv2", b""),
        ("out", P0, "verack", b""),
        ("out", P0, "sendheaders2", b""),
        ("out", P0, "sendcmpct", b"\x00" + struct.pack("<Q", 1)),
        ("out", P0, "senddsq", b"\x01"),
        ("out", P0, "getheaders2", locator),
        ("in", P0, "headers", headers),
        ("out", P0, "getaddr", b""),
        ("in", P0, "addrv2", addrv2),
        ("in", P1, "version", version(180, 3, "/Dash Core:21.1.0/")),
        ("out", P1, "version", version(201, 4, "/Dash Core:22.1.0/")),
        ("out", P1, "verack", b""),
        ("in", P1, "verack", b""),
        ("in", P1, "inv", inv([(1, sha256d(tx1)), (1, sha256d(tx2))])),
        ("out", P1, "getdata", inv([(1, sha256d(tx1)), (1, sha256d(tx2))])),
        ("in", P1, "tx", tx1),
        ("in", P1, "tx", tx2),
        ("out", P0, "inv", inv([(1, sha256d(tx1)), (1, sha256d(tx2))])),
        ("in", P0, "isdlock", isdlock),
        ("out", P1, "inv", inv([(31, sha256d(isdlock))])),
        ("in", P0, "inv", inv([(2, h(4242))])),
        ("out", P0, "getdata", inv([(2, h(4242))])),
        ("in", P0, "block", block),
        ("in", P0, "clsig", clsig),
        ("out", P1, "inv", inv([(29, sha256d(clsig))])),
        ("out", P0, "ping", struct.pack("<Q", 0x1122334455667788)),
        ("in", P0, "pong", struct.pack("<Q", 0x1122334455667788)),
        ("in", P2, "version", version(201, 5, "/Dash Core:22.1.0/")),
        ("out", P2, "version", version(201, 6, "/Dash Core:22.1.0/")),
        ("in", P2, "verack", b""),
        ("out", P2, "verack", b""),
        ("in", P1, "ping", struct.pack("<Q", 99)),
        ("out", P1, "pong", struct.pack("<Q", 99)),
    ]
    with open(out, "w") as f:
        f.write("# regtest-like session for the stand-in node (samples/make_session.py)\n")
        f.write("# direction\tpeer_id\taddr\tconn_type\tcommand\tpayload_hex\n")
        for direction, (peer, addr, conn), command, payload in lines:
            f.write("\t".join((direction, peer, addr, conn, command, payload.hex())) + "\n")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).with_name("regtest-session.msgs"))
