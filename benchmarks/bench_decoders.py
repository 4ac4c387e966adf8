"""Decoder speed, side by side in one run.

    .venv/bin/python benchmarks/bench_decoders.py [--seconds 1.0] [--before DIR]

Measures messages per second of ``p2pcap.decoders.decode`` for a
mainnet-like message mix (MIX_SHARES: mostly inv, getdata and tx), for
``inv`` and ``tx`` against a baseline written by hand with ``struct``
(below), and for the heavy messages: a ~2 MB block of ~5,000 transactions
(also cut at 32 KiB and read with ``decode_partial``) and a mainnet-sized
``mnlistdiff``.  The block is also decoded with the declarative
transaction layout instead of the struct-based parser, to show what that
buys, and ``inv`` with ``json.dumps`` after it, to show what ``show
--json`` pays on top of decoding.  ``--before`` takes another copy of
decoders/ (say HEAD's) and adds its figures and the ratio.  The goal
(issue: "Speed, measured side by side"): a full decode of a typical
mainnet block in under 1 s.

Figures vary with the machine's load; the ratios of one run are what to
compare, as every row measures its columns in turns.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import io
import json
import random
import struct
import sys
import time
from collections import Counter
from pathlib import Path

from construct import Struct, Terminated

from p2pcap.decoders import build, decode, decode_partial
from p2pcap.decoders.blocks import Block
from p2pcap.decoders.decode import to_plain
from p2pcap.decoders.headers import BlockHeader
from p2pcap.decoders.transaction import TX_MIN_SIZE, TransactionLayout
from p2pcap.decoders.vectors import VarArray

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # the tests package, for the vectors
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
        out += [
            rnd.randbytes(32),
            struct.pack("<I", rnd.randrange(8)),
            compact(len(script_sig)),
            script_sig,
            b"\xff" * 4,
        ]
    out.append(compact(n_out))
    for _ in range(n_out):
        script = p2pkh()
        out += [struct.pack("<q", rnd.randrange(10**10)), compact(len(script)), script]
    out.append(b"\x00" * 4)
    return b"".join(out)


def coinbase_tx() -> bytes:
    payload = (
        b"\x03\x00"
        + struct.pack("<i", 2_100_000)
        + rnd.randbytes(64)  # CbTx v3, height, two roots
        + b"\x00"
        + rnd.randbytes(96)
        + struct.pack("<q", 10**13)  # CL diff, CL sig, credit pool
    )
    script_sig = b"\x03" + (2_100_000).to_bytes(3, "little") + rnd.randbytes(20)
    outs = [p2pkh() for _ in range(3)]
    return b"".join(
        [
            struct.pack("<hH", 3, 5),
            b"\x01",
            bytes(32),
            b"\xff" * 4,
            compact(len(script_sig)),
            script_sig,
            b"\xff" * 4,
        ]
        + [compact(3)]
        + [struct.pack("<q", 10**8) + compact(25) + s for s in outs]
        + [b"\x00" * 4, compact(len(payload)), payload]
    )


def commitment_tx() -> bytes:
    bits = b"\xfd\x90\x01" + b"\xff" * 50  # 400 members, all set
    commitment = (
        b"\x04\x00\x05" + rnd.randbytes(32) + b"\x00\x00" + bits + bits + rnd.randbytes(48 + 32 + 192)
    )
    payload = b"\x01\x00" + struct.pack("<I", 2_100_000) + commitment
    return struct.pack("<hH", 3, 6) + b"\x00\x00" + b"\x00" * 4 + compact(len(payload)) + payload


def mainnet_like_block(n_txs: int = 5000) -> bytes:
    """~2 MB: mostly 1-3 input payments, some CoinJoin-sized transactions."""
    shapes = [(1, 2)] * 9 + [(2, 2)] * 6 + [(3, 2)] * 3 + [(6, 6)] * 2
    txs = [coinbase_tx(), commitment_tx(), commitment_tx()]
    txs += [normal_tx(*rnd.choice(shapes)) for _ in range(n_txs - len(txs))]
    header = (
        struct.pack("<i", 0x20000000) + rnd.randbytes(64) + struct.pack("<III", 1_700_000_000, 0x1924B6A5, 7)
    )
    return header + compact(len(txs)) + b"".join(txs)


def inv(n: int) -> bytes:
    return compact(n) + b"".join(struct.pack("<I", 1) + rnd.randbytes(32) for _ in range(n))


def vectors_of(module: str) -> list:
    """VECTORS of a decoder test module (tests/decoders is a package)."""
    return list(importlib.import_module(f"tests.decoders.test_{module}").VECTORS)


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
        vin.append(
            {"prevout": {"hash": prev[::-1].hex(), "n": n}, "script_sig": script.hex(), "sequence": sequence}
        )
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
    tx = {
        "version": version,
        "type": tx_type,
        "vin": vin,
        "vout": vout,
        "lock_time": lock_time,
        "extra_payload_raw": payload,
        "txid": txid,
    }
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


# The declarative layout alone: what the struct-based transaction parser buys.
_DECLARATIVE_BLOCK = Struct(
    "header" / BlockHeader, "vtx" / VarArray(TransactionLayout, min_size=TX_MIN_SIZE), Terminated
)


def declarative_block(payload: bytes) -> dict:
    return to_plain(_DECLARATIVE_BLOCK.parse_stream(io.BytesIO(payload)))


# --- a mainnet-like mix ---------------------------------------------------------------

# Share of each command in the mix, roughly what a mainnet node sees
# (inventory traffic dominates; LLMQ signing and InstantSend are steady).
MIX_SHARES = {
    "inv": 40, "getdata": 20, "tx": 20, "ping": 5, "pong": 5, "headers": 2,
    "clsig": 2, "isdlock": 3, "qsigsinv": 1, "qsigshare": 1, "qsigrec": 1, "dsq": 1,
}  # fmt: skip
VECTOR_MODULES = {"clsig": "chainlocks", "isdlock": "instantsend", "qsigsinv": "signing",
                  "qsigshare": "signing", "qsigrec": "signing", "dsq": "coinjoin"}  # fmt: skip


def realistic_mix(size: int = 1000) -> list[tuple[str, bytes]]:
    """``size`` (command, payload) pairs in MIX_SHARES proportions, shuffled."""
    makers = {
        "inv": lambda: inv(rnd.choice([1, 1, 2, 3, 5, 10, 35])),
        "getdata": lambda: inv(rnd.choice([1, 1, 1, 2, 4])),
        "tx": lambda: normal_tx(*rnd.choice([(1, 2), (1, 2), (2, 2), (3, 2), (6, 6)])),
        "ping": lambda: rnd.randbytes(8),
        "pong": lambda: rnd.randbytes(8),
        "headers": lambda: b"\x01" + rnd.randbytes(80) + b"\x00",  # a new-block announcement
    }
    for command, module in VECTOR_MODULES.items():
        found = [bytes.fromhex(p) for c, p in vectors_of(module) if c == command]
        if found:
            makers[command] = lambda found=found: rnd.choice(found)
    total = sum(MIX_SHARES[c] for c in makers)
    mix = [(c, makers[c]()) for c in makers for _ in range(round(size * MIX_SHARES[c] / total))]
    rnd.shuffle(mix)
    return mix


def load_tree(path: Path):
    """Another copy of decoders/ (e.g. HEAD's) as a package, for side-by-side runs.

    git archive HEAD decoders | tar -x -C /tmp/before   # then --before /tmp/before/decoders
    """
    spec = importlib.util.spec_from_file_location(
        "_before_decoders", path / "__init__.py", submodule_search_locations=[str(path)]
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


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


def side_by_side(fns: list, payloads: list, seconds: float, rounds: int = 3) -> list:
    """Best rate of each of ``fns`` (None stays None), measured in turns so
    that load from other processes hits them alike."""
    best = [0.0 if fn is not None else None for fn in fns]
    for _ in range(rounds):
        for i, fn in enumerate(fns):
            if fn is not None:
                best[i] = max(best[i], rate(fn, payloads, seconds / rounds))
    return best


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="time per measurement")
    parser.add_argument("--before", type=Path, help="another decoders/ tree to compare with")
    args = parser.parse_args(argv)
    t = args.seconds
    before = load_tree(args.before) if args.before else None
    old = before.decode if before else None

    invs = [inv(rnd.choice([1, 2, 5, 10, 35])) for _ in range(200)]
    txs = [normal_tx(*rnd.choice([(1, 2), (1, 2), (2, 2), (3, 2), (6, 6)])) for _ in range(200)]
    block = mainnet_like_block()
    mix = [(c, p) for c, p in realistic_mix() if _decodes(c, p)]
    shares = ", ".join(
        f"{c} {n}" for c, n in sorted(Counter(c for c, _ in mix).items(), key=lambda kv: -kv[1])
    )

    def on(command):
        # (ours, before) for one command
        return [lambda p: decode(command, p), old and (lambda p: old(command, p))]

    rows = []
    rows.append(("inv (1-35 entries)", *side_by_side(on("inv") + [baseline_inv], invs, t)))
    rows.append(
        (
            "  same + json.dumps",
            *side_by_side(
                [lambda p: json.dumps(decode("inv", p)), old and (lambda p: json.dumps(old("inv", p))), None],
                invs,
                t,
            ),
        )
    )
    rows.append(("tx (1-6 in, 2-6 out)", *side_by_side(on("tx") + [baseline_tx_message], txs, t)))
    rows.append(
        (
            f"mainnet-like mix of {len(mix)}",
            *side_by_side([lambda cp: decode(*cp), old and (lambda cp: old(*cp)), None], mix, t),
        )
    )
    block_rates = side_by_side(on("block") + [baseline_block], [block], t)
    rows.append((f"block {len(block) / 1e6:.2f} MB, 5000 txs", *block_rates))
    rows.append(("  same, parse only (no to_plain)", *side_by_side([Block.parse, None, None], [block], t)))
    rows.append(
        ("  same, declarative TransactionLayout", *side_by_side([declarative_block, None, None], [block], t))
    )
    rows.append(
        (
            "  same cut at 32 KiB (decode_partial)",
            *side_by_side([lambda p: decode_partial("block", p), None, None], [block[:32768]], t),
        )
    )
    diff = large_mnlistdiff()
    if diff is not None:
        rows.append(
            (
                f"mnlistdiff {len(diff) / 1e6:.2f} MB, 3000 MNs",
                *side_by_side(on("mnlistdiff") + [None], [diff], t),
            )
        )

    print(f"mix: {shares}\n")
    print(f"{'message':<38} {'msg/s':>10} {'before':>10} {'x before':>8} {'struct':>10} {'/struct':>7}")
    for name, ours, then, base in rows:
        cells = [f"{ours:>10,.1f}"]
        cells += [f"{then:>10,.1f}", f"{ours / then:>8.2f}"] if then else [" " * 10, " " * 8]
        cells += [f"{base:>10,.0f}", f"{ours / base:>7.2f}"] if base else [" " * 10, " " * 7]
        print(f"{name:<38} " + " ".join(cells))
    print(f"\nfull decode of the block: {1000 / block_rates[0]:.0f} ms (goal: under 1000 ms)")
    return 0


def _decodes(command: str, payload: bytes) -> bool:
    try:
        decode(command, payload)
        return True
    except Exception:
        return False


if __name__ == "__main__":
    sys.exit(main())
