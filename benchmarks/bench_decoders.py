"""Decoder speed, side by side in one run.

    .venv/bin/python benchmarks/bench_decoders.py [--seconds 1.0]

Measures messages per second of ``p2pcap.decoders.decode`` for a realistic
message mix, for ``inv`` and ``tx`` against a baseline written by hand with
``struct`` (below), and for the heavy messages: a ~2 MB block of ~5,000
transactions and a mainnet-sized ``mnlistdiff`` (when decoders/mnlist.py
can build one).  The block is also decoded with the declarative TxIn/TxOut
layouts instead of the struct-based input/output parsers, to show what
those buy.  The goal (issue: "Speed, measured side by side"): a full decode
of a typical mainnet block in under 1 s.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import io
import random
import struct
import sys
import time
from pathlib import Path

from construct import Struct, Terminated

from p2pcap.decoders import build, decode
from p2pcap.decoders.blocks import Block
from p2pcap.decoders.decode import to_plain
from p2pcap.decoders.headers import BlockHeader
from p2pcap.decoders.primitives import VarArray
from p2pcap.decoders.transaction import (
    TX_MIN_SIZE,
    TXIN_MIN_SIZE,
    TXOUT_MIN_SIZE,
    TxIn,
    TxOut,
    _Transaction,
    _WithTxid,
)

HERE = Path(__file__).resolve().parent
rnd = random.Random(20240501)


# --- payloads -------------------------------------------------------------------


def compact(n: int) -> bytes:
    if n < 0xFD:
        return bytes([n])
    if n <= 0xFFFF:
        return b"\xfd" + n.to_bytes(2, "little")
    return b"\xfe" + n.to_bytes(4, "little")


def p2pkh() -> bytes:
    return b"\x76\xa9\x14" + rnd.randbytes(20) + b"\x88\xac"


def normal_tx(n_in: int, n_out: int) -> bytes:
    out = [struct.pack("<hH", 2, 0), compact(n_in)]
    for _ in range(n_in):
        script_sig = b"\x47" + rnd.randbytes(71) + b"\x21" + rnd.randbytes(33)  # sig + compressed key
        out += [rnd.randbytes(32), struct.pack("<I", rnd.randrange(8)), compact(len(script_sig)), script_sig, b"\xff" * 4]
    out.append(compact(n_out))
    for _ in range(n_out):
        script = p2pkh()
        out += [struct.pack("<q", rnd.randrange(10**10)), compact(len(script)), script]
    out.append(b"\x00" * 4)
    return b"".join(out)


def coinbase_tx() -> bytes:
    payload = (
        b"\x03\x00" + struct.pack("<i", 2_100_000) + rnd.randbytes(64)  # CbTx v3, height, two roots
        + b"\x00" + rnd.randbytes(96) + struct.pack("<q", 10**13)  # CL diff, CL sig, credit pool
    )
    script_sig = b"\x03" + (2_100_000).to_bytes(3, "little") + rnd.randbytes(20)
    outs = [p2pkh() for _ in range(3)]
    return b"".join(
        [struct.pack("<hH", 3, 5), b"\x01", bytes(32), b"\xff" * 4, compact(len(script_sig)), script_sig, b"\xff" * 4]
        + [compact(3)] + [struct.pack("<q", 10**8) + compact(25) + s for s in outs]
        + [b"\x00" * 4, compact(len(payload)), payload]
    )


def commitment_tx() -> bytes:
    bits = b"\xfd\x90\x01" + b"\xff" * 50  # 400 members, all set
    commitment = b"\x04\x00\x05" + rnd.randbytes(32) + b"\x00\x00" + bits + bits + rnd.randbytes(48 + 32 + 192)
    payload = b"\x01\x00" + struct.pack("<I", 2_100_000) + commitment
    return struct.pack("<hH", 3, 6) + b"\x00\x00" + b"\x00" * 4 + compact(len(payload)) + payload


def mainnet_like_block(n_txs: int = 5000) -> bytes:
    """~2 MB: mostly 1-3 input payments, some CoinJoin-sized transactions."""
    shapes = [(1, 2)] * 9 + [(2, 2)] * 6 + [(3, 2)] * 3 + [(6, 6)] * 2
    txs = [coinbase_tx(), commitment_tx(), commitment_tx()]
    txs += [normal_tx(*rnd.choice(shapes)) for _ in range(n_txs - len(txs))]
    header = struct.pack("<i", 0x20000000) + rnd.randbytes(64) + struct.pack("<III", 1_700_000_000, 0x1924B6A5, 7)
    return header + compact(len(txs)) + b"".join(txs)


def inv(n: int) -> bytes:
    return compact(n) + b"".join(struct.pack("<I", 1) + rnd.randbytes(32) for _ in range(n))


def vectors_of(module: str) -> list:
    """VECTORS of a test module, or [] when it is not there (yet)."""
    path = HERE.parent / "tests" / "decoders" / f"test_{module}.py"
    try:
        spec = importlib.util.spec_from_file_location(f"_bench_{module}", path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        return list(mod.VECTORS)
    except Exception:  # a helper's module may be mid-edit; the mix does without it
        return []


def large_mnlistdiff(n_entries: int = 3000, n_quorums: int = 24) -> bytes | None:
    """Grow a known-good diff to mainnet size with ``build``, or None."""
    try:
        base = max((p for c, p in vectors_of("mnlist") if c == "mnlistdiff"), key=len)
        diff = decode("mnlistdiff", bytes.fromhex(base))
        entries = diff["mn_list"] or []
        quorums = diff["new_quorums"] or []
        if not entries or not quorums:
            return None
        diff["mn_list"] = [dict(entries[i % len(entries)]) for i in range(n_entries)]
        quorum = dict(quorums[0], signers="1" * 400, valid_members="1" * 400)
        diff["new_quorums"] = [quorum] * n_quorums
        if diff.get("quorums_cl_sigs") is not None:
            diff["quorums_cl_sigs"] = [{"signature": "00" * 96, "indexes": list(range(n_quorums))}]
        payload = build("mnlistdiff", diff)
        decode("mnlistdiff", payload)
        return payload
    except Exception as exc:
        print(f"(mnlistdiff skipped: {type(exc).__name__}: {exc})", file=sys.stderr)
        return None


# --- the struct baseline -------------------------------------------------------------


def _compact(buf: bytes, pos: int) -> tuple[int, int]:
    first = buf[pos]
    if first < 0xFD:
        return first, pos + 1
    width = {0xFD: 2, 0xFE: 4, 0xFF: 8}[first]
    value = int.from_bytes(buf[pos + 1 : pos + 1 + width], "little")
    if value < (0xFD, 0x10000, 0x100000000)[width.bit_length() - 2]:
        raise ValueError("non-canonical CompactSize")
    return value, pos + 1 + width


def _take(buf: bytes, pos: int, n: int) -> bytes:
    if pos + n > len(buf):
        raise ValueError("truncated")
    return buf[pos : pos + n]


def baseline_inv(buf: bytes) -> dict:
    count, pos = _compact(buf, 0)
    if pos + 36 * count != len(buf):
        raise ValueError("bad inv length")
    items = []
    for _ in range(count):
        (inv_type,) = struct.unpack_from("<I", buf, pos)
        items.append({"type": inv_type, "hash": buf[pos + 4 : pos + 36][::-1].hex()})
        pos += 36
    return {"inventory": items}


def baseline_tx(buf: bytes, pos: int = 0) -> tuple[dict, int]:
    start = pos
    version, tx_type = struct.unpack_from("<hH", buf, pos)
    n_in, pos = _compact(buf, pos + 4)
    vin = []
    for _ in range(n_in):
        prev, n = struct.unpack_from("<32sI", buf, pos)
        size, pos = _compact(buf, pos + 36)
        script = _take(buf, pos, size)
        (sequence,) = struct.unpack_from("<I", buf, pos + size)
        pos += size + 4
        vin.append({"prevout": {"hash": prev[::-1].hex(), "n": n}, "script_sig": script.hex(), "sequence": sequence})
    n_out, pos = _compact(buf, pos)
    vout = []
    for _ in range(n_out):
        (value,) = struct.unpack_from("<q", buf, pos)
        size, pos = _compact(buf, pos + 8)
        vout.append({"value": value, "script_pub_key": _take(buf, pos, size).hex()})
        pos += size
    (lock_time,) = struct.unpack_from("<I", buf, pos)
    pos += 4
    payload = None
    if version >= 3 and tx_type != 0:
        size, pos = _compact(buf, pos)
        payload = _take(buf, pos, size).hex()
        pos += size
    txid = hashlib.sha256(hashlib.sha256(buf[start:pos]).digest()).digest()[::-1].hex()
    tx = {"version": version, "type": tx_type, "vin": vin, "vout": vout, "lock_time": lock_time,
          "extra_payload_raw": payload, "txid": txid}
    return tx, pos


def baseline_tx_message(buf: bytes) -> dict:
    tx, pos = baseline_tx(buf)
    if pos != len(buf):
        raise ValueError("trailing bytes")
    return tx


def baseline_block(buf: bytes) -> dict:
    header = buf[:80]
    count, pos = _compact(buf, 80)
    txs = []
    for _ in range(count):
        tx, pos = baseline_tx(buf, pos)
        txs.append(tx)
    return {"header": header.hex(), "vtx": txs}


# The "before" layout: vin/vout as declarative VarArray(TxIn/TxOut).
_DECLARATIVE_TX = _WithTxid(
    Struct(*[
        sc.name / VarArray(TxIn, min_size=TXIN_MIN_SIZE) if sc.name == "vin"
        else sc.name / VarArray(TxOut, min_size=TXOUT_MIN_SIZE) if sc.name == "vout"
        else sc
        for sc in _Transaction.subcons
    ])
)
_DECLARATIVE_BLOCK = Struct("header" / BlockHeader, "vtx" / VarArray(_DECLARATIVE_TX, min_size=TX_MIN_SIZE), Terminated)


def declarative_block(payload: bytes) -> dict:
    return to_plain(_DECLARATIVE_BLOCK.parse_stream(io.BytesIO(payload)))


# --- timing --------------------------------------------------------------------------


def rate(fn, payloads: list, seconds: float) -> float:
    """Messages per second of ``fn`` over ``payloads``, repeated for ``seconds``."""
    fn(payloads[0])  # warm up (imports, caches)
    done, start = 0, time.perf_counter()
    while True:
        for p in payloads:
            fn(p)
        done += len(payloads)
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return done / elapsed


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="time per measurement")
    args = parser.parse_args(argv)
    t = args.seconds

    invs = [inv(rnd.choice([1, 2, 5, 10, 35])) for _ in range(200)]
    txs = [normal_tx(*rnd.choice([(1, 2), (1, 2), (2, 2), (3, 2), (6, 6)])) for _ in range(200)]
    block = mainnet_like_block()
    mix = [("inv", p) for p in invs[:40]] + [("tx", p) for p in txs[:30]] + [("getdata", p) for p in invs[40:50]]
    mix += [("ping", rnd.randbytes(8)) for _ in range(5)] + [("pong", rnd.randbytes(8)) for _ in range(5)]
    for module, commands, share in (
        ("chainlocks", {"clsig"}, 3),
        ("instantsend", {"isdlock"}, 5),
        ("headers", {"headers"}, 2),
        ("signing", {"qsigsinv", "qsigshare", "qsigsesann"}, 6),
        ("coinjoin", {"dsq"}, 2),
    ):
        found = [(c, bytes.fromhex(p)) for c, p in vectors_of(module) if c in commands]
        mix += [found[i % len(found)] for i in range(share)] if found else []
    mix = [(c, p) for c, p in mix if _decodes(c, p)]
    rnd.shuffle(mix)

    rows = []
    ours_inv = rate(lambda p: decode("inv", p), invs, t)
    base_inv = rate(baseline_inv, invs, t)
    rows.append(("inv (1-35 entries)", ours_inv, base_inv))
    ours_tx = rate(lambda p: decode("tx", p), txs, t)
    base_tx = rate(baseline_tx_message, txs, t)
    rows.append(("tx (1-6 in, 2-6 out)", ours_tx, base_tx))
    rows.append((f"mix of {len(mix)} ({len({c for c, _ in mix})} commands)", rate(lambda cp: decode(*cp), mix, t), None))
    ours_block = rate(lambda p: decode("block", p), [block], t)
    rows.append((f"block {len(block) / 1e6:.2f} MB, 5000 txs", ours_block, rate(baseline_block, [block], t)))
    rows.append(("  same, parse only (no to_plain)", rate(Block.parse, [block], t), None))
    rows.append(("  same, declarative TxIn/TxOut", rate(declarative_block, [block], t), None))
    diff = large_mnlistdiff()
    if diff is not None:
        rows.append((f"mnlistdiff {len(diff) / 1e6:.2f} MB, 3000 MNs", rate(lambda p: decode("mnlistdiff", p), [diff], t), None))

    print(f"{'message':<36} {'msg/s':>10} {'struct msg/s':>13} {'ours/struct':>11}")
    for name, ours, base in rows:
        ratio = f"{ours / base:>11.2f}" if base else f"{'':>11}"
        base_text = f"{base:>13,.0f}" if base else f"{'':>13}"
        print(f"{name:<36} {ours:>10,.1f} {base_text} {ratio}")
    print(f"\nfull decode of the block: {1000 / ours_block:.0f} ms (goal: under 1000 ms)")
    return 0


def _decodes(command: str, payload: bytes) -> bool:
    try:
        decode(command, payload)
        return True
    except Exception:
        return False


if __name__ == "__main__":
    sys.exit(main())
