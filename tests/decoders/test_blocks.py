"""block, merkleblock, cmpctblock, getblocktxn, blocktxn, assembled by hand.

Layouts: dashpay/dash src/primitives/block.h, src/merkleblock.h,
src/blockencodings.h.  Block hashes are X11 of the
80-byte header (computed here with dash_hash directly); txids SHA256d.
"""

from __future__ import annotations

import re

import dash_hash
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from p2pcap.decoders import DecodeError, build, decode

from .vectors import Table, decode_error, sha256d_shown, shown

# decode.py words trailing bytes one way or the other; the offset is the first extra byte
TRAILING = "trailing bytes|expected end of stream"


def x11_shown(header_hex: str) -> str:
    return dash_hash.getPoWHash(bytes.fromhex(header_hex))[::-1].hex()


# --- the mainnet genesis block (dashpay/dash src/chainparams.cpp) ------------------

GENESIS_MERKLE_ROOT = "e0028eb9648db56b1ac77cf090b99048a8007e2bb64b68f092c03c7f56a662c7"
GENESIS_HEADER = (
    "01000000"  # version 1
    + "00" * 32  # prev_block: none
    + shown(GENESIS_MERKLE_ROOT)  # merkle_root, wire order
    + "022ddb52"  # time 1390095618
    "f0ff0f1e"  # bits 0x1e0ffff0
    "c23fb901"  # nonce 28917698
)
GENESIS_COINBASE = (
    "01000000"  # version 1, type 0
    "01"  # vin: 1
    + "00" * 32
    + "ffffffff"  # null prevout: coinbase
    + "62"  # scriptSig: 98 bytes
    "04ffff001d0104"
    "4c59"  # pushes: bits, 4, then 89 bytes of text
    + b"Wired 09/Jan/2014 The Grand Experiment Goes Live: Overstock.com Is Now Accepting Bitcoins".hex()
    + "ffffffff"  # sequence
    "01"  # vout: 1
    "00f2052a01000000"  # 50 DASH
    "43"
    "41"  # scriptPubKey: 67 bytes, push 65
    "040184710fa689ad5023690c80f3a49c8f13f8d45b8c857fbcbc8bc4a8e4d3eb4b"
    "10f4d4604fa08dce601aaf0f470216fe1b51850b4acf21b179c45070ac7b03a9"
    "ac"  # OP_CHECKSIG
    "00000000"  # lock_time
)
GENESIS_BLOCK = GENESIS_HEADER + "01" + GENESIS_COINBASE  # one transaction
GENESIS_HASH = "00000ffd590b1485b3caadc19b22e6379c733355108f107a430458cdf3407ab6"

# --- a small block: a coinbase with a CbTx payload and a normal tx ------------------

PREV = "ab" * 31 + "00"
ROOT = "cd" * 32
HEADER = (
    "00000020"  # version 0x20000000 (BIP9)
    + PREV  # prev_block
    + ROOT  # merkle_root (not checked by a decoder)
    + "80f1a565"  # time
    "d2c3191a"  # bits
    "0f000000"  # nonce 15
)
PKH = "76a914" + "33" * 20 + "88ac"
COINBASE = (
    "0300"  # version 3
    "0500"  # type 5: coinbase payload
    "01"  # vin: 1
    + "00" * 32
    + "ffffffff"  # null prevout
    + "04"
    "03a08601"  # scriptSig: 4 bytes, BIP34 height push
    "ffffffff"  # sequence
    "01"  # vout: 1
    "00e1f50500000000"  # 1 DASH
    "19" + PKH + "00000000"  # lock_time
    "26"  # payload: 38 bytes
    "0100"  # CbTx version 1
    "a0860100"  # height 100000
     + "ee" * 32  # merkleRootMNList
)
SPEND = (
    "02000000"  # version 2, type 0
    "01"  # vin: 1
    + "12" * 32
    + "00000000"  # prevout
    + "00"  # empty scriptSig
    "ffffffff"  # sequence
    "01"  # vout: 1
    "0065cd1d00000000"  # 5 DASH
    "19" + PKH + "00000000"  # lock_time
)
BLOCK = HEADER + "02" + COINBASE + SPEND

# --- merkleblock --------------------------------------------------------------------

MERKLEBLOCK = (
    HEADER + "03000000"  # txn.transactions: 3 in the block
    "02"  # txn.hashes: 2
    + "a1" * 32  # hash 0
    + "b2" * 32  # hash 1
    + "01"  # flag bytes: 1
    "1d"  # 0b00011101: bits 1,0,1,1,1,0,0,0 (least significant first)
)

# --- BIP152 ---------------------------------------------------------------------------

CMPCTBLOCK = (
    HEADER + "0807060504030201"  # nonce 0x0102030405060708
    "02"  # shorttxids: 2
    "010203040506"  # 0x060504030201, 6 bytes LE
    "ffffffffffff"  # 0xffffffffffff
    "02"  # prefilledtxn: 2
    "00"  # index difference 0: absolute 0
    + COINBASE
    + "02"  # difference 2: absolute 0 + 1 + 2 = 3
    + SPEND
)
BLOCK_HASH = "5a" * 31 + "00"
GETBLOCKTXN = (
    BLOCK_HASH  # blockhash
    + "03"  # indexes: 3
    "01"  # difference 1: absolute 1
    "00"  # 0: absolute 2
    "02"  # 2: absolute 5
)
GETBLOCKTXN_WIDE = (
    BLOCK_HASH + "02"  # indexes: 2
    "fd1027"  # difference 10000: absolute 10000
    "fdeed8"  # difference 55534: absolute 10001 + 55534 = 65535, the largest
)
BLOCKTXN = (
    BLOCK_HASH  # blockhash
    + "01"  # txn: 1
    + SPEND
)


def header(version, prev, root, time, bits, nonce, raw):
    return {
        "version": version,
        "prev_block": shown(prev),
        "merkle_root": shown(root),
        "time": time,
        "bits": bits,
        "nonce": nonce,
        "hash": x11_shown(raw),
    }


HEADER_OBJ = header(0x20000000, PREV, ROOT, 0x65A5F180, 0x1A19C3D2, 15, HEADER)
COINBASE_TXID = sha256d_shown(COINBASE)
SPEND_TXID = sha256d_shown(SPEND)

CASES = [
    # (command, payload, check): check picks fields to compare, keeping the table short
    (
        "block",
        GENESIS_BLOCK,
        {
            "header": header(
                1, "00" * 32, shown(GENESIS_MERKLE_ROOT), 1390095618, 0x1E0FFFF0, 28917698, GENESIS_HEADER
            ),
            "tx count": 1,
            "txids": [GENESIS_MERKLE_ROOT],
        },
    ),
    ("block", BLOCK, {"header": HEADER_OBJ, "tx count": 2, "txids": [COINBASE_TXID, SPEND_TXID]}),
    (
        "merkleblock",
        MERKLEBLOCK,
        {
            "header": HEADER_OBJ,
            "txn": {"transactions": 3, "hash": [shown("a1" * 32), shown("b2" * 32)], "bits": "10111000"},
        },
    ),
    (
        "cmpctblock",
        CMPCTBLOCK,
        {
            "header": HEADER_OBJ,
            "nonce": 0x0102030405060708,
            "shorttxids": [0x060504030201, 0xFFFFFFFFFFFF],
            "prefilled": [(0, COINBASE_TXID), (3, SPEND_TXID)],
        },
    ),
    ("getblocktxn", GETBLOCKTXN, {"blockhash": shown(BLOCK_HASH), "indexes": [1, 2, 5]}),
    ("getblocktxn", GETBLOCKTXN_WIDE, {"blockhash": shown(BLOCK_HASH), "indexes": [10000, 65535]}),
    ("blocktxn", BLOCKTXN, {"blockhash": shown(BLOCK_HASH), "txids": [SPEND_TXID]}),
]


def _summary(command, decoded):
    """The fields CASES states, from a decoded payload."""
    keys = ("header", "nonce", "shorttxids", "blockhash", "indexes") + (
        ("txn",) if command == "merkleblock" else ()
    )
    out = {k: v for k, v in decoded.items() if k in keys}
    if command == "block":
        out["tx count"] = len(decoded["vtx"])
        out["txids"] = [t["txid"] for t in decoded["vtx"]]
    if command == "blocktxn":
        out["txids"] = [t["txid"] for t in decoded["txn"]]
    if command == "cmpctblock":
        out["prefilled"] = [(p["index"], p["tx"]["txid"]) for p in decoded["prefilledtxn"]]
    return out


TABLE = Table(CASES, view=_summary)  # driven by test_tables.py
VECTORS = [(command, payload) for command, payload, _ in CASES]


def test_genesis_hash():
    assert decode("block", bytes.fromhex(GENESIS_BLOCK))["header"]["hash"] == GENESIS_HASH


def test_block_coinbase_payload():
    coinbase = decode("block", bytes.fromhex(BLOCK))["vtx"][0]
    assert coinbase["extra_payload"] == {
        "version": 1,
        "height": 100000,
        "merkle_root_mn_list": "ee" * 32,
        "merkle_root_quorums": None,
        "best_cl_height_diff": None,
        "best_cl_signature": None,
        "credit_pool_balance": None,
    }


def test_tx_message_is_the_transaction():
    decoded = decode("tx", bytes.fromhex(SPEND))
    assert decoded["txid"] == SPEND_TXID and decoded["vin"][0]["prevout"]["n"] == 0


ERRORS = [
    # (command, payload, reason, path fragment, offset)
    ("block", BLOCK + "00", TRAILING, "", len(BLOCK) // 2),
    ("block", HEADER[:-2], "stream read less", "header", 79),
    ("block", HEADER + "fe00000100", "above MaxBlockSize\\(\\) / 60", "vtx", 85),  # 65536 txs, no bytes
    ("block", HEADER + "fd1027", "needs at least", "vtx", 83),  # 10000 txs, no bytes
    ("block", HEADER + "02" + COINBASE, "stream read less", "vtx", None),  # the second tx missing
    ("merkleblock", MERKLEBLOCK[: 2 * 84] + "ff0000000001000000", "above MaxBlockSize", "hash", 93),  # 2^32
    ("merkleblock", MERKLEBLOCK + "00", TRAILING, "", len(MERKLEBLOCK) // 2),
    ("getblocktxn", BLOCK_HASH + "01fe00000100", "difference 65536 overflows", "indexes", 38),
    ("getblocktxn", BLOCK_HASH + "02fdffff00", "index 65536 overflows", "indexes", 37),
    ("getblocktxn", BLOCK_HASH + "fdffff", "needs at least", "indexes", 35),
    ("getblocktxn", BLOCK_HASH + "01fd0100", "non-canonical", "indexes", 36),
    ("cmpctblock", HEADER + "00" * 8 + "fdffff", "needs at least", "shorttxids", 91),
    ("cmpctblock", HEADER + "00" * 8 + "0001fe00000100" + SPEND, "overflows 16 bits", "prefilledtxn", 95),
    ("blocktxn", BLOCK_HASH + "02" + SPEND, "stream read less", "txn", None),
]


@pytest.mark.parametrize(
    "command, payload, reason, path, offset", ERRORS, ids=[f"{e[0]}-{i}" for i, e in enumerate(ERRORS)]
)
def test_errors(command, payload, reason, path, offset):
    error = decode_error(command, payload)
    assert error.command == command
    assert re.search(reason, error.reason)
    assert path in error.path
    if offset is not None:
        assert error.offset == offset


def test_compact_block_tx_count_limit():
    # 65535 short ids plus one prefilled transaction: BlockTxCount() > 0xffff
    payload = HEADER + "00" * 8 + "fdffff" + "00" * (6 * 0xFFFF) + "0100" + SPEND
    with pytest.raises(
        DecodeError, match=r"count 1 is above uint16_t max \(BlockTxCount\) \(0, less 65535"
    ) as info:
        decode("cmpctblock", bytes.fromhex(payload))
    # refused at the count, before the transaction is read
    assert info.value.path == "(parsing) -> prefilledtxn" and info.value.offset == 88 + 3 + 6 * 0xFFFF + 1


@pytest.mark.parametrize("indexes", [[2, 2], [3, 1], [70000], [-1]])
def test_build_rejects_bad_indexes(indexes):
    with pytest.raises(DecodeError, match="cannot build"):
        build("getblocktxn", {"blockhash": "00" * 32, "indexes": indexes})


# --- properties ----------------------------------------------------------------


@settings(max_examples=100, deadline=None)
@given(indexes=st.sets(st.integers(0, 0xFFFF), max_size=50).map(sorted))
def test_getblocktxn_round_trip(indexes):
    raw = build("getblocktxn", {"blockhash": "11" * 32, "indexes": indexes})
    decoded = decode("getblocktxn", raw)
    assert decoded["indexes"] == indexes
    assert build("getblocktxn", decoded) == raw


simple_txs = st.builds(
    lambda h, n, s, v, p: {
        "version": 2,
        "type": 0,
        "vin": [{"prevout": {"hash": h.hex(), "n": n}, "script_sig": s.hex(), "sequence": 0xFFFFFFFF}],
        "vout": [{"value": v, "script_pub_key": p.hex()}],
        "lock_time": 0,
        "extra_payload_raw": None,
        "extra_payload": None,
        "extra_payload_error": None,
    },
    st.binary(min_size=32, max_size=32),
    st.integers(0, 2**32 - 1),
    st.binary(max_size=120),
    st.integers(0, 2**62),
    st.binary(max_size=40),
)
headers = st.builds(
    lambda prev, root, t, b, n: {
        "version": 0x20000000,
        "prev_block": prev.hex(),
        "merkle_root": root.hex(),
        "time": t,
        "bits": b,
        "nonce": n,
    },
    st.binary(min_size=32, max_size=32),
    st.binary(min_size=32, max_size=32),
    st.integers(0, 2**32 - 1),
    st.integers(0, 2**32 - 1),
    st.integers(0, 2**32 - 1),
)


@settings(max_examples=50, deadline=None)
@given(head=headers, txs=st.lists(simple_txs, max_size=8))
def test_block_round_trip(head, txs):
    raw = build("block", {"header": head, "vtx": txs})
    decoded = decode("block", raw)
    assert [t["txid"] for t in decoded["vtx"]] == [
        t["txid"] for t in (decode("tx", build("tx", t)) for t in txs)
    ]
    assert build("block", decoded) == raw


@settings(max_examples=50, deadline=None)
@given(
    head=headers,
    nonce=st.integers(0, 2**64 - 1),
    short_ids=st.lists(st.integers(0, 2**48 - 1), max_size=20),
    prefilled=st.lists(st.tuples(st.integers(0, 40), simple_txs), max_size=4),
)
def test_cmpctblock_round_trip(head, nonce, short_ids, prefilled):
    index, items = -1, []
    for gap, tx in prefilled:  # strictly increasing absolute indexes
        index += gap + 1
        items.append({"index": index, "tx": tx})
    raw = build(
        "cmpctblock", {"header": head, "nonce": nonce, "shorttxids": short_ids, "prefilledtxn": items}
    )
    decoded = decode("cmpctblock", raw)
    assert [p["index"] for p in decoded["prefilledtxn"]] == [p["index"] for p in items]
    assert decoded["shorttxids"] == short_ids
    assert build("cmpctblock", decoded) == raw


# --- BIP152 differences beside the absolute indexes -----------------------------------
# Bytes hand-assembled from the facts of Dash Core's src/test/blockencodings_tests.cpp
# (TransactionsRequestSerializationTest: indexes {0, 1, 3, 4};
# TransactionsRequestDeserializationMaxTest: a single index 0xffff;
# TransactionsRequestDeserializationOverflowTest: differences 0x7000, 0x10000 - 0x7000 - 2, 0,
# whose third index would be 0x10000) and the BIP152 rule that each index is sent as
# ``index - previous - 1``; the expected values are those facts, not decoder output.

CORE_REQUEST = BLOCK_HASH + "0400000100"  # {0, 1, 3, 4}: differences 0, 0, 1, 0
CORE_MAX = BLOCK_HASH + "01fdffff"  # {0xffff}
CORE_OVERFLOW = BLOCK_HASH + "03fd0070fdfe8f00"  # 0x7000, 0xffff, then 0x10000

VECTORS += [("getblocktxn", CORE_REQUEST), ("getblocktxn", CORE_MAX)]


@pytest.mark.parametrize(
    "payload, indexes, differences",
    [
        (CORE_REQUEST, [0, 1, 3, 4], [0, 0, 1, 0]),
        (CORE_MAX, [0xFFFF], [0xFFFF]),
        (GETBLOCKTXN, [1, 2, 5], [1, 0, 2]),
        (GETBLOCKTXN_WIDE, [10000, 65535], [10000, 55534]),
    ],
)
def test_getblocktxn_indexes_and_differences(payload, indexes, differences):
    decoded = decode("getblocktxn", bytes.fromhex(payload))
    assert decoded["indexes"] == indexes
    assert decoded["index_differences"] == differences
    assert build("getblocktxn", decoded).hex() == payload
    # building uses the absolute indexes only: stale differences are ignored
    assert build("getblocktxn", {**decoded, "index_differences": [9, 9]}).hex() == payload


def test_getblocktxn_overflow_as_core():
    # blockencodings_tests.cpp TransactionsRequestDeserializationOverflowTest: Core throws
    with pytest.raises(DecodeError, match="index 65536 overflows"):
        decode("getblocktxn", bytes.fromhex(CORE_OVERFLOW))


def test_cmpctblock_prefilled_differences():
    decoded = decode("cmpctblock", bytes.fromhex(CMPCTBLOCK))
    # CMPCTBLOCK sends differences 0 and 2 (see its comments): absolute 0 and 3
    assert [(p["index"], p["index_difference"]) for p in decoded["prefilledtxn"]] == [(0, 0), (3, 2)]
    stale = [{**p, "index_difference": 7} for p in decoded["prefilledtxn"]]
    assert build("cmpctblock", {**decoded, "prefilledtxn": stale}).hex() == CMPCTBLOCK
