"""Dash transactions (``tx``), from payloads assembled by hand and from the chain.

Layout: dashpay/dash src/primitives/transaction.h.  Special-transaction payloads have their own
module, test_special_tx.py; here they only matter as bytes kept or reported.
"""

from __future__ import annotations

import io
import re

import pytest
from construct import ConstructError
from hypothesis import given, settings
from hypothesis import strategies as st

from p2pcap.decoders import DecodeError, build, decode
from p2pcap.decoders.transaction import Transaction, TransactionLayout

from .vectors import Table, shown, without_derived
from .vectors import sha256d_shown as txid

# decode.py words trailing bytes one way or the other; the offset is the first extra byte
TRAILING = "trailing bytes|expected end of stream"


PREV_A = "11" * 31 + "aa"  # previous txids, wire order
PREV_B = "22" * 31 + "bb"
SIG_A = "47" + "30" * 71  # scriptSig: push 71 bytes (a DER signature's size)
PKH = "76a914" + "33" * 20 + "88ac"  # P2PKH scriptPubKey, 25 bytes

NORMAL = (
    "0200"  # version: i16 2 (low half of the version word)
    "0000"  # type: u16 0, normal
    "02"  # vin: 2 inputs
    + PREV_A  # vin[0].prevout.hash
    + "01000000"  # vin[0].prevout.n: 1
    "48"  # vin[0].script_sig: 72 bytes
    + SIG_A
    + "feffffff"  # vin[0].sequence: 0xfffffffe
    + PREV_B  # vin[1].prevout.hash
    + "00000000"  # vin[1].prevout.n: 0
    "00"  # vin[1].script_sig: empty
    "ffffffff"  # vin[1].sequence: final
    "02"  # vout: 2 outputs
    "00e1f50500000000"  # vout[0].value: 100000000 duffs (1 DASH)
    "19"  # vout[0].script_pub_key: 25 bytes
     + PKH + "ffffffffffffffff"  # vout[1].value: i64 -1 (CTxOut::SetNull)
    "00"  # vout[1].script_pub_key: empty
    "a0860100"  # lock_time: 100000
)

# The mainnet genesis coinbase (dashpay/dash src/chainparams.cpp
# CreateGenesisBlock); its txid is the genesis merkle root.
GENESIS_SCRIPT_SIG = (
    "04ffff001d"  # push 4: nBits 0x1d00ffff
    "0104"  # push 1: 4
    "4c59"  # OP_PUSHDATA1 89 bytes: the "Wired 09/Jan/2014 ..." headline
    + b"Wired 09/Jan/2014 The Grand Experiment Goes Live: Overstock.com Is Now Accepting Bitcoins".hex()
)
GENESIS_PUBKEY = (
    "040184710fa689ad5023690c80f3a49c8f13f8d45b8c857fbcbc8bc4a8e4d3eb4b"
    "10f4d4604fa08dce601aaf0f470216fe1b51850b4acf21b179c45070ac7b03a9"
)
GENESIS_COINBASE = (
    "0100"  # version 1
    "0000"  # type 0
    "01"  # vin: 1 input
    + "00"
    * 32  # prevout.hash: null
    + "ffffffff"  # prevout.n: -1, a coinbase
    "62"  # script_sig: 98 bytes
     + GENESIS_SCRIPT_SIG + "ffffffff"  # sequence
    "01"  # vout: 1 output
    "00f2052a01000000"  # value: 5000000000 duffs (50 DASH)
    "43"  # script_pub_key: 67 bytes
    "41" + GENESIS_PUBKEY + "ac"  # push 65-byte key, OP_CHECKSIG
    "00000000"  # lock_time 0
)
GENESIS_MERKLE_ROOT = "e0028eb9648db56b1ac77cf090b99048a8007e2bb64b68f092c03c7f56a662c7"

LONG_SCRIPT = (
    "0300"  # version 3
    "0000"  # type 0: no payload even at version 3
    "00"  # vin: none
    "01"  # vout: 1
    "0000000000000000"  # value 0
    "fdfd00" + "6a" * 253 + "00000000"  # script_pub_key: CompactSize 253, the 3-byte form  # lock_time
)

OLD_VERSION_TYPED = (
    "0200"  # version 2: below SPECIAL_VERSION
    "0500"  # type 5, ignored: no vExtraPayload follows
    "00"  # vin: none
    "00"  # vout: none
    "00000000"  # lock_time
)

NEGATIVE_VERSION = (
    "ffff"  # version: i16 -1
    "0100"  # type 1, ignored: version < 3
    "00"  # vin
    "00"  # vout
    "ffffffff"  # lock_time: 0xffffffff
)

BAD_PAYLOAD = (
    "0300"  # version 3
    "0500"  # type 5, coinbase payload expected
    "00"  # vin
    "00"  # vout
    "00000000"  # lock_time
    "03"  # vExtraPayload: 3 bytes
    "020010"  # CbTx version 2, then one byte of the i32 height: too short
)

UNKNOWN_TYPE = (
    "0300"  # version 3
    "2a00"  # type 42: no known layout
    "00"  # vin
    "00"  # vout
    "00000000"  # lock_time
    "02"  # vExtraPayload: 2 bytes
    "beef"
)

UNLOCK_PAYLOAD = (
    "02"  # CAssetUnlockPayload version 2: stable txid
    "0500000000000000"  # index 5
    "10270000"  # fee 10000
    "40e20100"  # requestedHeight 123456
    + "44" * 32  # quorumHash
    + "55" * 96  # quorumSig
)
UNLOCK_V2 = (
    "0300"  # version 3
    "0900"  # type 9: asset unlock
    "00"  # vin: none, as for every asset unlock
    "01"  # vout: 1
    "1027000000000000"  # value 10000
    "19"
    + PKH  # script
    + "00000000"  # lock_time
    "91"  # vExtraPayload: 145 bytes
     + UNLOCK_PAYLOAD
)
# primitives/transaction.h ASSET_UNLOCK_STABLE_TXID_VERSION: the txid hashes
# the transaction with requestedHeight, quorumHash and quorumSig zeroed.
UNLOCK_V2_STABLE = UNLOCK_V2[: -2 * 132] + "00" * 132


def tx(version, type_, vin, vout, lock_time, payload_hex=None, decoded=None, error=None, **extra):
    out = {
        "version": version,
        "type": type_,
        "vin": vin,
        "vout": vout,
        "lock_time": lock_time,
        "extra_payload_raw": payload_hex,
        "extra_payload": decoded,
        "extra_payload_error": error,
    }
    out.update(extra)
    return out


def txin(prev, n, script, sequence):
    return {"prevout": {"hash": shown(prev), "n": n}, "script_sig": script, "sequence": sequence}


CASES = [
    (
        "normal",
        NORMAL,
        tx(
            2,
            0,
            [txin(PREV_A, 1, SIG_A, 0xFFFFFFFE), txin(PREV_B, 0, "", 0xFFFFFFFF)],
            [{"value": 100000000, "script_pub_key": PKH}, {"value": -1, "script_pub_key": ""}],
            100000,
            txid=txid(NORMAL),
        ),
    ),
    (
        "genesis coinbase",
        GENESIS_COINBASE,
        tx(
            1,
            0,
            [txin("00" * 32, 0xFFFFFFFF, GENESIS_SCRIPT_SIG, 0xFFFFFFFF)],
            [{"value": 5000000000, "script_pub_key": "41" + GENESIS_PUBKEY + "ac"}],
            0,
            txid=GENESIS_MERKLE_ROOT,
        ),
    ),
    (
        "long script",
        LONG_SCRIPT,
        tx(3, 0, [], [{"value": 0, "script_pub_key": "6a" * 253}], 0, txid=txid(LONG_SCRIPT)),
    ),
    ("version 2 with a type", OLD_VERSION_TYPED, tx(2, 5, [], [], 0, txid=txid(OLD_VERSION_TYPED))),
    ("negative version", NEGATIVE_VERSION, tx(-1, 1, [], [], 0xFFFFFFFF, txid=txid(NEGATIVE_VERSION))),
    (
        "malformed payload",
        BAD_PAYLOAD,
        tx(
            3,
            5,
            [],
            [],
            0,
            "020010",
            None,
            "stream read less than specified amount, expected 4, found 1 in (parsing) -> height at payload offset 3",
            txid=txid(BAD_PAYLOAD),
        ),
    ),
    (
        "unknown type",
        UNKNOWN_TYPE,
        tx(
            3,
            42,
            [],
            [],
            0,
            "beef",
            None,
            "no payload layout for special transaction type 42",
            txid=txid(UNKNOWN_TYPE),
        ),
    ),
    (
        "asset unlock v2",
        UNLOCK_V2,
        tx(
            3,
            9,
            [],
            [{"value": 10000, "script_pub_key": PKH}],
            0,
            UNLOCK_PAYLOAD,
            {
                "version": 2,
                "index": 5,
                "fee": 10000,
                "requested_height": 123456,
                "quorum_hash": "44" * 32,
                "quorum_sig": "55" * 96,
            },
            txid=txid(UNLOCK_V2_STABLE),
            instance_hash=txid(UNLOCK_V2),
        ),
    ),
]

# Transactions from the chain with the txids block explorers give.
# Mainnet coinbases from an explorer API mock in dashpay's repositories and
# the getblock.io getrawtransaction example; the normal v1 tx from the
# NBitcoin-derived Dash test suite (ReadWrite_DeserializeOldNormal).
CHAIN = [
    (
        "83dc6c8e03026c0317885f62a7072dfde10014967f59477a0f7b5fc52f44a784",  # mainnet block 1535345
        "03000500010000000000000000000000000000000000000000000000000000000000000000ffffffff2703716d170423ce"
        "39610800004440830900000fe4b883e5bda9e7a59ee4bb99e9b1bc04f09f909f40440fa802203d5807000000001976a9"
        "147c086eada12bdb10a265c16c08a7ae87366bd48188aca03c9f08000000001976a91406c7111117f7b797528485b647"
        "72d3ffcff919ec88ac209af41f460200716d1700efc371b5251f5bae393e5962fe092f8b2003732a56eda3e1a2babe84"
        "13d17ce7ce2396a41c1f833c0cd00a0d8e900dfc4962805706e70a35074dcd30fafbd4c6",
    ),
    (
        "35541e151818606a512bb88acddb449449f46531e97f1ed0a5fcc0d7a8091e41",  # mainnet block 1239931
        "03000500010000000000000000000000000000000000000000000000000000000000000000ffffffff27037beb121a4d69"
        "6e656420627920416e74506f6f6c347c00330120ad45211b6b76000001000000ffffffff025d384209000000001976a9"
        "14aeb4b16eb331e7be66082f1dc132ef245e722d7188ac6b384209000000001976a91404dfe99f6dda028e4e6a905950"
        "96e63787a4a01c88ac000000004602007beb12009d9eb909c943fd6b4aad565dc083dc2b53736359cc678af072352bbf"
        "409a942f3b0192d52c43692520241eb04505406f34adf6805fd5ab29113959133e8e1d3d",
    ),
    (
        "a9b8ebadbaf5f77b1ed1421e142c24e694dfe6cee54ca46c2af4c8db15accce1",
        "01000000012dd09102d8edec210d0574e89f8367055c40afd90ba061ea3733480b684a02b4010000006b483045022100d9"
        "65ebacd14143307c28fcc2b4b630f138bbc50256f689f5554e805497688d0102202ccd9d87e098ef3d0dfe508c6c41b003"
        "68c2eb562b877af805efe566b9d691bd012102611eef2d8b790712b1de7b29fdc51e7eed24bf6f8f052a2c747e53d3b295"
        "8b9a0000000002a1274b00000000001976a91468bc0bc35993f640c308b176fd9760b8c798d94588aca6dc020000000000"
        "1976a9148847b2b26aa95075219d8982d8731d3022e0b3d588ac00000000",
    ),
]

VECTORS = [("tx", payload) for _, payload, _ in CASES] + [("tx", payload) for _, payload in CHAIN]
# driven by test_tables.py: the wire fields compared
TABLE = Table(
    CASES,
    fields=("name", "payload", "expected"),
    command="tx",
    view=lambda command, decoded: without_derived(decoded),
)


@pytest.mark.parametrize("expected_txid, payload", CHAIN, ids=[c[0][:8] for c in CHAIN])
def test_chain(expected_txid, payload):
    decoded = decode("tx", bytes.fromhex(payload))
    assert decoded["txid"] == expected_txid
    assert decoded["extra_payload_error"] is None
    assert build("tx", decoded) == bytes.fromhex(payload)


def test_build_prefers_the_decoded_payload():
    decoded = decode("tx", bytes.fromhex(UNLOCK_V2))
    decoded["extra_payload"]["fee"] = 20000
    rebuilt = decode("tx", build("tx", decoded))
    assert rebuilt["extra_payload"]["fee"] == 20000
    assert rebuilt["extra_payload_raw"] != decoded["extra_payload_raw"]


def test_build_needs_some_payload():
    decoded = decode("tx", bytes.fromhex(UNKNOWN_TYPE))
    decoded["extra_payload_raw"] = None
    with pytest.raises(DecodeError, match="needs extra_payload"):
        build("tx", decoded)


ERRORS = [
    # (name, payload, reason, path fragment, offset)
    ("trailing byte", NORMAL + "00", TRAILING, "", len(NORMAL) // 2),
    ("empty", "", "stream read less", "version", 0),
    ("non-canonical input count", "02000000fd0100", "non-canonical", "vin", 7),
    ("hostile input count", "02000000fd0001", "needs at least", "vin", 7),  # 256 inputs, no bytes
    ("input count above MAX_SIZE", "02000000feffffffff", "is above MAX_SIZE", "vin", 9),
    ("hostile output count", "0200000000ff0000000001000000", "is above MAX_SIZE", "vout", 14),
    (
        "non-canonical script length",
        "0200000001" + PREV_A + "00000000fd0500" + "00" * 5 + "ffffffff0000000000",
        "non-canonical",
        "vin -> [0] -> script_sig",
        44,
    ),
    # an 80-byte scriptSig with 10 bytes left: refused at its length, before reading
    (
        "truncated script",
        "0200000001" + PREV_A + "0000000050" + "00" * 10,
        "count 80 needs at least 80 bytes, 10 left",
        "vin -> [0] -> script_sig",
        42,
    ),
    (
        "truncated output",
        "020000000001000000000000000020" + "00" * 5,
        "count 32 needs at least 32 bytes, 5 left",
        "vout -> [0] -> script_pub_key",
        15,
    ),
    ("too few bytes for the inputs", "0200000001" + "00" * 39, "needs at least 41", "vin", 5),
    ("hostile payload size", "03000500000000000000feffffff01", "needs at least", "extra_payload_raw", 15),
    ("missing payload", "03000500000000000000", "stream read less", "extra_payload_raw", 10),
]


@pytest.mark.parametrize("name, payload, reason, path, offset", ERRORS, ids=[e[0] for e in ERRORS])
def test_errors(name, payload, reason, path, offset):
    with pytest.raises(DecodeError) as info:
        decode("tx", bytes.fromhex(payload))
    assert info.value.command == "tx"
    assert re.search(reason, info.value.reason)
    assert path in info.value.path
    assert info.value.offset == offset


# --- properties ----------------------------------------------------------------

u32 = st.integers(0, 2**32 - 1)
scripts = st.binary(max_size=300).map(bytes.hex)
txins = st.builds(
    lambda h, n, s, q: {"prevout": {"hash": h.hex(), "n": n}, "script_sig": s, "sequence": q},
    st.binary(min_size=32, max_size=32),
    u32,
    scripts,
    u32,
)
txouts = st.builds(
    lambda v, s: {"value": v, "script_pub_key": s},
    st.integers(-(2**63), 2**63 - 1),
    scripts,
)


@st.composite
def transactions(draw):
    version = draw(st.integers(-(2**15), 2**15 - 1))
    type_ = draw(st.integers(0, 12) | st.integers(0, 2**16 - 1))
    special = version >= 3 and type_ != 0
    return tx(
        version,
        type_,
        draw(st.lists(txins, max_size=4)),
        draw(st.lists(txouts, max_size=4)),
        draw(u32),
        draw(st.binary(max_size=200)).hex() if special else None,
    )


@settings(max_examples=100, deadline=None)
@given(obj=transactions())
def test_round_trip(obj):
    raw = build("tx", obj)
    decoded = decode("tx", raw)
    assert decoded["txid"] in (txid(raw.hex()), decoded.get("txid"))
    assert without_derived(decoded["vin"]) == obj["vin"]
    assert without_derived(decoded["vout"]) == obj["vout"]
    assert decoded["extra_payload_raw"] == obj["extra_payload_raw"]
    # random payload bytes either decode or say why, never both
    assert (decoded["extra_payload"] is None) != (decoded["extra_payload_error"] is None) or obj[
        "extra_payload_raw"
    ] is None
    assert build("tx", decoded) == raw


def parse_both(raw: bytes) -> list:
    """What the fast parser and the layout make of ``raw``: the result and
    where the stream stopped, or the error with its path and offset."""
    out = []
    for con in (Transaction, TransactionLayout):
        stream = io.BytesIO(raw)
        try:
            out.append(("ok", con.parse_stream(stream), stream.tell()))
        except ConstructError as exc:
            out.append((type(exc).__name__, str(exc), exc.path, stream.tell()))
    return out


@settings(max_examples=150, deadline=None)
@given(obj=transactions(), tail=st.binary(max_size=8))
def test_fast_parser_agrees_with_the_layout(obj, tail):
    """The struct-based parser gives what the declarative layout gives, and
    stops where it stops (a transaction inside a longer payload)."""
    raw = build("tx", obj) + tail
    fast, layout = parse_both(raw)
    assert fast == layout
    assert fast[0] == "ok"


@settings(max_examples=300, deadline=None)
@given(obj=transactions(), data=st.data())
def test_fast_parser_fails_like_the_layout(obj, data):
    """On broken bytes both give the same result or the same error."""
    raw = bytearray(build("tx", obj))
    for _ in range(data.draw(st.integers(1, 3), label="edits")):
        where = data.draw(st.integers(0, max(0, len(raw) - 1)), label="where")
        kind = data.draw(st.sampled_from(["cut", "byte", "insert"]), label="kind")
        if kind == "cut":
            del raw[where:]
        elif kind == "byte" and raw:
            raw[where] = data.draw(
                st.sampled_from([0x00, 0x01, 0xFC, 0xFD, 0xFE, 0xFF]) | st.integers(0, 255), label="b"
            )
        else:
            raw[where:where] = data.draw(st.binary(min_size=1, max_size=5), label="bytes")
    fast, layout = parse_both(bytes(raw))
    assert fast == layout


def test_fast_parser_fails_like_the_layout_examples():
    cases = [
        "0200000001" + PREV_A + "00000000fd0001",  # script of 256 bytes, none given
        "0200000001" + PREV_A + "00000000fd0500" + "00" * 5 + "ffffffff0000000000",  # non-canonical
        "02000000feffffffff",  # input count above MAX_SIZE
        "03000500000000000000050102",  # special payload of 5 bytes, 2 given
        "020000",  # cut in the type
    ]
    for raw in cases:
        fast, layout = parse_both(bytes.fromhex(raw))
        assert fast == layout and fast[0] != "ok", raw


def test_stream_without_a_buffer_uses_the_layout():
    class Plain:  # read/seek/tell only, no getbuffer()
        def __init__(self, data):
            self._io = io.BytesIO(data)
            self.read, self.seek, self.tell = self._io.read, self._io.seek, self._io.tell

    raw = bytes.fromhex(NORMAL)
    assert Transaction.parse_stream(Plain(raw)) == Transaction.parse(raw) == TransactionLayout.parse(raw)


def test_structure_alone():
    obj = Transaction.parse(bytes.fromhex(NORMAL))
    assert type(obj) is dict and obj["txid"] == txid(NORMAL)
