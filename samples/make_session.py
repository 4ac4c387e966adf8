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

Every hash a message names is the hash of an object the session carries:
the inv/getdata items name tx1 and tx2 by txid, the isdlock and the clsig
by Core's hash of each (SHA256d of the payload), block 201 by its X11
hash; the clsig names block 201 and the isdlock tx1; the headers chain
198 -> 199 -> 200 -> 201 by ``prev_block``; block 201's merkle root is
its transactions'; every header meets regtest's proof of work.
Deliberately not carried, because they come from before the session:

- blocks 192-197 (the node's older chain): named by the getheaders2
  locator (196 and 197), by header 198's ``prev_block`` (197) and by the
  isdlock's ``cycle_hash`` (192: the first block of the signing quorum's
  DKG cycle, src/instantsend/signing.cpp; llmq_test_dip0024's dkgInterval
  is 24, src/llmq/params.h);
- the coinbases of blocks 198-200, named by those headers' merkle roots (a
  ``headers`` message carries no transactions);
- the transactions tx1 and tx2 spend (their inputs, and the isdlock's);
- the masternode list and the quorum commitments the CbTx's merkle roots
  commit to (chain state, src/evo/cbtx.h).

tests/test_samples.py follows every one of these hashes and holds this list.
"""

from __future__ import annotations

import hashlib
import struct
import sys
from pathlib import Path

import dash_hash  # Dash's X11 block hash (a dependency of p2pcap)


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


REGTEST_BITS = 0x207FFFFF  # src/chainparams.cpp CRegTestParams genesis nBits


def x11(header_bytes: bytes) -> bytes:
    """A block's hash: X11 of its 80-byte header (src/primitives/block.cpp), wire order."""
    return dash_hash.getPoWHash(header_bytes)


def meets_target(block_hash: bytes, bits: int) -> bool:
    """CheckProofOfWork (src/pow.cpp): the hash, a little-endian number, at most the compact target."""
    target = (bits & 0xFFFFFF) << (8 * ((bits >> 24) - 3))
    return int.from_bytes(block_hash, "little") <= target


def header(prev: bytes, merkle: bytes, t: int) -> bytes:
    """An 80-byte header, mined: the first nonce that meets regtest's target."""
    nonce = 0
    while True:
        raw = struct.pack("<i", 0x20000000) + prev + merkle + struct.pack("<III", t, REGTEST_BITS, nonce)
        if meets_target(x11(raw), REGTEST_BITS):
            return raw
        nonce += 1


def inv(items) -> bytes:
    return cs(len(items)) + b"".join(struct.pack("<I", t) + x for t, x in items)


def main(out: Path) -> None:
    P0 = ("0", "127.0.0.1:19899", "outbound-full-relay")
    P1 = ("1", "[2001:db8::7]:51234", "inbound")
    P2 = ("2", "regtest-seed-node-number-two.long-hostname.p2pcap-tests.example.org:19899", "manual")
    tx1, tx2 = tx(11), tx(12, n_out=3)
    # The chain: blocks 192-200 have only a coinbase (a one-transaction
    # block's merkle root is that transaction's txid, src/consensus/merkle.cpp);
    # block 201 holds its coinbase and tx1.  Block 191 is only a hash, the
    # parent of the first header made.
    hashes = {191: h(191)}
    chain = {}
    for height in range(192, 201):
        chain[height] = header(
            hashes[height - 1], sha256d(coinbase(height)), 1_700_000_000 + 150 * (height - 198)
        )
        hashes[height] = x11(chain[height])
    cb = coinbase(201)
    merkle = sha256d(sha256d(cb) + sha256d(tx1))
    block_header = header(hashes[200], merkle, 1_700_000_600)
    block_hash = x11(block_header)
    block = block_header + cs(2) + cb + tx1
    headers = cs(3) + b"".join(chain[height] + b"\x00" for height in (198, 199, 200))
    # An isdlock (src/instantsend/lock.h): tx1's input, tx1, the quorum cycle's first block.
    isdlock = b"\x01" + cs(1) + h(11) + struct.pack("<I", 0) + sha256d(tx1) + hashes[192] + b"\x8a" * 96
    clsig = struct.pack("<i", 201) + block_hash + b"\x99" * 96  # src/chainlock/clsig.h
    locator = struct.pack("<i", 70238) + cs(2) + hashes[197] + hashes[196] + b"\x00" * 32
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
        ("in", P0, "inv", inv([(2, block_hash)])),
        ("out", P0, "getdata", inv([(2, block_hash)])),
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
