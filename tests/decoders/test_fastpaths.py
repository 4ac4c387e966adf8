"""The hand-written parsers of decoders/fastpaths.py give what the constructs give.

The construct of each command is the reference: on every payload a fast
parser accepts, its dict must equal the construct's (keys, order, value
types, values); on anything else it must step aside (None), so the
construct decodes or names the error, and ``decode`` as a whole must give
what it gives with no fast path at all.  Payloads: every row and vector of
the decoder tables, random well-formed messages built with ``build``,
random bytes, and damaged copies (cut, extended, bit-flipped,
non-canonical counts), at the versions where layouts change and on every
network.

For ``tx`` the reference is the declarative TransactionLayout, not the
registered construct (which reads through the same ``_fast_tx``).
"""

from __future__ import annotations

import importlib
import io
import struct
from contextlib import contextmanager

import pytest
from construct import Terminated
from hypothesis import given, settings
from hypothesis import strategies as st

from p2pcap.decoders import DecodeError, build, decode
from p2pcap.decoders.decode import _context, _messages, to_plain
from p2pcap.decoders.fastpaths import FAST
from p2pcap.decoders.headers import MAX_HEADERS_UNCOMPRESSED_RESULT
from p2pcap.decoders.inventory import MAX_INV_SZ
from p2pcap.decoders.primitives import MAX_SIZE, compact_bytes
from p2pcap.decoders.script import NETWORKS
from p2pcap.decoders.signing import MAX_MSGS_CNT_QSIGSESANN, MAX_MSGS_SIG_SHARES
from p2pcap.decoders.sporks import SPORK_NAMES
from p2pcap.decoders.structs import FocusedSeq
from p2pcap.decoders.transaction import TransactionLayout
from p2pcap.decoders.versions import (
    COINJOIN_PROTX_HASH_PROTO_VERSION,
    ISDLOCK_PROTO_VERSION,
    PROTOCOL_VERSION,
)

from . import tables
from .test_fast_helpers import script_pub_keys, script_sigs
from .test_special_tx import PAYLOADS as SPECIAL_PAYLOADS
from .test_special_tx import special

# the module (the package's ``decode`` is the function): its FAST is swapped out below
decode_module = importlib.import_module("p2pcap.decoders.decode")

# The pure layout of a ``tx`` message: what the fast path must equal.
TX_LAYOUT = FocusedSeq("tx", "tx" / TransactionLayout, Terminated)

ALL_NETWORKS = [None, *NETWORKS]
# Connection versions where a fast-pathed layout changes, either side of each.
VERSIONS = [
    None,
    ISDLOCK_PROTO_VERSION - 1,
    ISDLOCK_PROTO_VERSION,
    COINJOIN_PROTX_HASH_PROTO_VERSION - 1,
    COINJOIN_PROTX_HASH_PROTO_VERSION,
    70230,
    PROTOCOL_VERSION,
]


# One block header, for the headers payloads built below.
HEADER = {"version": 1, "prev_block": "00" * 32, "merkle_root": "11" * 32, "time": 2, "bits": 3, "nonce": 4}


def reference(command: str):
    return TX_LAYOUT if command == "tx" else _messages()[command]


def by_construct(command: str, payload: bytes, version=None, network=None):
    """The construct's answer, or None where it raises (bypassing the fast path)."""
    try:
        return to_plain(
            reference(command)._parsereport(io.BytesIO(payload), _context(version, network), "(parsing)")
        )
    except Exception:  # any construct error: the fast path must not accept it either
        return None


def same(a, b, where="payload") -> None:
    """Equal, and also of the same types and with keys in the same order."""
    assert type(a) is type(b), f"{where}: {type(a).__name__} vs {type(b).__name__}"
    if isinstance(a, dict):
        assert list(a) == list(b), f"{where}: keys {list(a)} vs {list(b)}"
        for key in a:
            same(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, list):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            same(x, y, f"{where}[{i}]")
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


@contextmanager
def no_fast_paths():
    saved = decode_module.FAST
    decode_module.FAST = {}
    try:
        yield
    finally:
        decode_module.FAST = saved


def outcome(command, payload, version, network):
    try:
        return decode(command, payload, version, network)
    except DecodeError as exc:
        return ("DecodeError", str(exc), exc.reason, exc.path, exc.offset)


def agree(command: str, payload: bytes, version=None, network=None):
    """The fast path equals the construct or steps aside; decode() is unchanged."""
    fast = FAST[command](payload, version or PROTOCOL_VERSION, network)
    reference_obj = by_construct(command, payload, version, network)
    if fast is not None:
        assert reference_obj is not None, (
            f"{command} fast path accepted what the construct refuses: {payload.hex()}"
        )
        same(fast, reference_obj)
    got = outcome(command, payload, version, network)
    with no_fast_paths():
        expected = outcome(command, payload, version, network)
    same(got, expected)
    if reference_obj is None:
        assert isinstance(got, tuple), f"decode accepted what the construct refuses: {payload.hex()}"
    else:
        same(got, reference_obj)
    return fast


def damaged(payload: bytes, data) -> bytes:
    """``payload`` cut, extended, with a bit flipped or a byte set."""
    raw = bytearray(payload)
    for _ in range(data.draw(st.integers(1, 3), label="edits")):
        where = data.draw(st.integers(0, max(0, len(raw) - 1)), label="where")
        kind = data.draw(st.sampled_from(["cut", "extend", "flip", "byte", "insert"]), label="kind")
        if kind == "cut":
            del raw[where:]
        elif kind == "extend":
            raw += data.draw(st.binary(min_size=1, max_size=4), label="tail")
        elif kind == "flip" and raw:
            raw[where] ^= 1 << data.draw(st.integers(0, 7), label="bit")
        elif kind == "byte" and raw:
            raw[where] = data.draw(st.sampled_from([0x00, 0x7F, 0x80, 0xFC, 0xFD, 0xFE, 0xFF]), label="b")
        else:
            raw[where:where] = data.draw(st.binary(min_size=1, max_size=4), label="bytes")
    return bytes(raw)


# --- the decoder tables ----------------------------------------------------------

ROWS = [case for case in tables.CASES if case.command in FAST]
TABLE_VECTORS = [(command, payload) for command, payload in tables.VECTORS if command in FAST]


def test_the_tables_cover_every_fast_path():
    assert {case.command for case in ROWS} == set(FAST)


@pytest.mark.parametrize("network", ALL_NETWORKS)
@pytest.mark.parametrize("case", ROWS, ids=[case.id for case in ROWS])
def test_table_rows(case, network):
    payload = bytes.fromhex(case.payload)
    # every row is a well-formed message of the usual shape: the fast path takes it
    assert agree(case.command, payload, case.version, network) is not None
    for version in VERSIONS:  # and at other versions it agrees or steps aside
        agree(case.command, payload, version, network)
    agree(case.command, payload[:-1], case.version, network)
    agree(case.command, payload + b"\x00", case.version, network)
    # any bytes-like payload reads as its bytes
    for other in (bytearray(payload), memoryview(payload)):
        same(
            FAST[case.command](other, case.version or PROTOCOL_VERSION, network),
            by_construct(case.command, payload, case.version, network),
        )


@pytest.mark.parametrize(("command", "payload"), TABLE_VECTORS)
def test_table_vectors(command, payload):
    for network in ALL_NETWORKS:
        assert agree(command, payload, None, network) is not None


@settings(max_examples=200, deadline=None)
@given(case=st.sampled_from(ROWS), network=st.sampled_from(ALL_NETWORKS), data=st.data())
def test_damaged_table_rows(case, network, data):
    payload = damaged(bytes.fromhex(case.payload), data)
    agree(case.command, payload, data.draw(st.sampled_from([case.version, *VERSIONS])), network)


# --- random well-formed messages, built with the constructs ------------------------

u8 = st.integers(0, 0xFF)
u16 = st.integers(0, 0xFFFF)
u32 = st.integers(0, 2**32 - 1)
i32 = st.integers(-(2**31), 2**31 - 1)
i64 = st.integers(-(2**63), 2**63 - 1)
hash32 = st.binary(min_size=32, max_size=32).map(bytes.hex)
sig96 = st.binary(min_size=96, max_size=96).map(bytes.hex)
outpoints = st.fixed_dictionaries(
    {
        "hash": st.sampled_from(["00" * 32]) | hash32,  # the null hash of a coinbase prevout, or not
        "n": st.sampled_from([0, 1, 0xFFFFFFFF]) | u32,
    }
)
llmq_types = st.sampled_from([1, 4, 5, 6, 100, 103, 255]) | u8
versions = st.sampled_from(VERSIONS) | st.integers(0, 80000)
networks = st.sampled_from(ALL_NETWORKS)
sizes = st.sampled_from([0, 1, 0xFC, 0xFD, 0xFFFF, 0x10000, MAX_SIZE, MAX_SIZE + 1]) | u32


def version_of(version) -> int:
    return version or PROTOCOL_VERSION


@st.composite
def clsigs(draw):
    return {"height": draw(i32), "block_hash": draw(hash32), "sig": draw(sig96)}


@st.composite
def isdlocks(draw, version):
    new = version_of(version) >= ISDLOCK_PROTO_VERSION
    return {
        "version": draw(u8) if new else None,
        "inputs": draw(st.lists(outpoints, max_size=6)),
        "txid": draw(hash32),
        "cycle_hash": draw(hash32) if new else None,
        "sig": draw(sig96),
    }


sig_shares = st.fixed_dictionaries(
    {
        "llmq_type": llmq_types,
        "quorum_hash": hash32,
        "quorum_member": u16,
        "id": hash32,
        "msg_hash": hash32,
        "sig_share": sig96,
    }
)
ses_anns = st.fixed_dictionaries(
    {
        "session_id": st.sampled_from([0, 127, 128, 16383, 16384, 2**32 - 2, 2**32 - 1]) | u32,
        "llmq_type": llmq_types,
        "quorum_hash": hash32,
        "id": hash32,
        "msg_hash": hash32,
    }
)


@st.composite
def dsqs(draw, version):
    new = version_of(version) >= COINJOIN_PROTX_HASH_PROTO_VERSION
    return {
        "denom": draw(st.sampled_from([1, 2, 4, 8, 16]) | i32),
        "protx_hash": draw(hash32) if new else None,
        "masternode_outpoint": None if new else draw(outpoints),
        "time": draw(i64),
        "ready": draw(u8),
        "sig": draw(st.binary(max_size=300).map(bytes.hex)),
    }


@st.composite
def sporks(draw):
    return {
        "spork_id": draw(st.sampled_from(sorted(SPORK_NAMES)) | i32),
        "value": draw(i64),
        "time_signed": draw(i64),
        "sig": draw(st.binary(max_size=300).map(bytes.hex)),
    }


block_headers = st.fixed_dictionaries(
    {
        "version": i32,
        "prev_block": hash32,
        "merkle_root": hash32,
        "time": u32,
        "bits": u32,
        "nonce": u32,
    }
)
header_entries = st.fixed_dictionaries(
    {"header": block_headers, "tx_count": st.sampled_from([0, 0, 0, 1, 0xFC, 0xFD]) | sizes}
)

# Special payloads: every one test_special_tx.py assembles, or random bytes.
special_payloads = st.sampled_from([(t, p) for _, t, p, _, _, _ in SPECIAL_PAYLOADS]) | st.tuples(
    st.integers(1, 12) | u16, st.binary(max_size=200).map(bytes.hex)
)
coinbase_inputs = st.builds(
    lambda script, seq: {
        "prevout": {"hash": "00" * 32, "n": 0xFFFFFFFF},
        "script_sig": script,
        "sequence": seq,
    },
    st.binary(max_size=100).map(bytes.hex),
    u32,
)
inputs = (
    st.builds(
        lambda prevout, script, seq: {"prevout": prevout, "script_sig": script.hex(), "sequence": seq},
        outpoints,
        script_sigs,
        st.sampled_from([0xFFFFFFFF, 0xFFFFFFFE]) | u32,
    )
    | coinbase_inputs
)
outputs = st.builds(
    lambda value, script: {"value": value, "script_pub_key": script.hex()},
    st.integers(0, 21 * 10**14) | i64,
    script_pub_keys,
)


@st.composite
def transactions(draw):
    version = draw(st.sampled_from([1, 2, 3, 3, 3]) | st.integers(-(2**15), 2**15 - 1))
    tx_type, payload = 0, None
    if version >= 3 and draw(st.booleans()):
        tx_type, payload = draw(special_payloads)
    elif draw(st.integers(0, 9)) == 0:
        tx_type = draw(u16)  # a type with no payload below version 3
        if version >= 3 and tx_type:
            payload = draw(st.binary(max_size=50).map(bytes.hex))
    return {
        "version": version,
        "type": tx_type,
        "vin": draw(st.lists(inputs, max_size=4)),  # zero inputs included
        "vout": draw(st.lists(outputs, max_size=4)),
        "lock_time": draw(u32),
        "extra_payload_raw": payload,
        "extra_payload": None,
        "extra_payload_error": None,
    }


@st.composite
def messages(draw):
    """(command, payload, connection version) of a random well-formed message."""
    command = draw(st.sampled_from(sorted(FAST)))
    version = draw(versions)
    if command in ("inv", "getdata", "notfound"):
        obj = {"inv": draw(st.lists(st.fixed_dictionaries({"type": u32, "hash": hash32}), max_size=8))}
    elif command in ("ping", "pong"):
        obj = {"nonce": draw(st.integers(0, 2**64 - 1))}
    elif command == "clsig":
        obj = draw(clsigs())
    elif command == "isdlock":
        obj = draw(isdlocks(version))
    elif command == "qsigshare":
        obj = {"sig_shares": draw(st.lists(sig_shares, max_size=3))}
    elif command == "qsigsesann":
        obj = {"anns": draw(st.lists(ses_anns, max_size=3))}
    elif command == "dsq":
        obj = draw(dsqs(version))
    elif command == "spork":
        obj = draw(sporks())
    elif command == "headers":
        obj = {"headers": draw(st.lists(header_entries, max_size=3))}
    else:
        assert command == "tx", command
        obj = draw(transactions())
    return command, build(command, obj, version), version


@settings(max_examples=600, deadline=None)
@given(message=messages(), network=networks)
def test_built_messages(message, network):
    command, payload, version = message
    agree(command, payload, version, network)


@settings(max_examples=600, deadline=None)
@given(message=messages(), network=networks, data=st.data())
def test_damaged_messages(message, network, data):
    command, payload, version = message
    agree(command, damaged(payload, data), version, network)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300), st.sampled_from(sorted(FAST)), versions)
def test_random_bytes(payload, command, version):
    agree(command, payload, version, None)


# --- transactions of each kind -----------------------------------------------------


def tx_with(vin=(), vout=(), version=2, tx_type=0, payload=None) -> bytes:
    obj = {
        "version": version,
        "type": tx_type,
        "vin": list(vin),
        "vout": list(vout),
        "lock_time": 0,
        "extra_payload_raw": payload,
        "extra_payload": None,
        "extra_payload_error": None,
    }
    return build("tx", obj)


SIG = "3044" + "0220" + "11" * 32 + "0220" + "22" * 32 + "01"  # strict DER, SIGHASH_ALL
KEY = "02" + "33" * 32
SPEND = {"prevout": {"hash": "44" * 32, "n": 1}, "script_sig": f"47{SIG}21{KEY}", "sequence": 0xFFFFFFFF}
KINDS = {
    "pubkeyhash": "76a914" + "55" * 20 + "88ac",
    "scripthash": "a914" + "66" * 20 + "87",
    "pubkey": "21" + KEY + "ac",
    "nulldata": "6a0474657374",
    "multisig": "51" + "21" + KEY + "21" + "03" + "77" * 32 + "52ae",
    "nonstandard": "51",
}


@pytest.mark.parametrize("network", ALL_NETWORKS)
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_each_output_kind(kind, network):
    payload = tx_with([SPEND], [{"value": 12345, "script_pub_key": KINDS[kind]}])
    fast = agree("tx", payload, None, network)
    assert fast["vout"][0]["script_pub_key_type"] == kind
    assert fast["vin"][0]["script_sig_asm"] == f"{SIG[:-2]}[ALL] {KEY}"
    assert (fast["vout"][0]["address"] is not None) == (kind in ("pubkeyhash", "scripthash"))


@pytest.mark.parametrize("network", ALL_NETWORKS)
@pytest.mark.parametrize(
    ("tx_type", "payload", "vin", "vout"),
    [(t, p, vin, vout) for _, t, p, vin, vout, _ in SPECIAL_PAYLOADS],
    ids=[name for name, *_ in SPECIAL_PAYLOADS],
)
def test_special_transactions(tx_type, payload, vin, vout, network):
    raw = bytes.fromhex(special(tx_type, payload, vin, vout))
    fast = agree("tx", raw, None, network)
    assert fast is not None and fast["extra_payload_raw"] == payload


def test_zero_inputs_and_outputs():
    assert agree("tx", tx_with(), None, None) == by_construct("tx", tx_with())
    assert agree("tx", tx_with(version=3, tx_type=6, payload="00"), None, "testnet") is not None


def test_what_the_tx_fast_path_leaves_to_the_construct():
    good = tx_with([SPEND], [{"value": 1, "script_pub_key": KINDS["pubkeyhash"]}])
    assert FAST["tx"](good, PROTOCOL_VERSION, None) is not None
    non_canonical = good[:4] + b"\xfd\x01\x00" + good[5:]  # the input count in three bytes
    for payload in (good[:-1], good + b"\x00", non_canonical, b"", good[:4]):
        assert FAST["tx"](payload, PROTOCOL_VERSION, None) is None
        agree("tx", payload)


# --- the other fast paths at their edges ---------------------------------------------


def inv_payload(entries, *, prefix: bytes | None = None) -> bytes:
    n = len(entries)
    count = prefix if prefix is not None else (bytes([n]) if n < 0xFD else b"\xfd" + struct.pack("<H", n))
    return count + b"".join(struct.pack("<I", t) + h for t, h in entries)


entries = st.lists(
    st.tuples(
        st.sampled_from([1, 2, 4, 14, 29, 31, 32, 99, 0xFFFFFFFF]), st.binary(min_size=32, max_size=32)
    ),
    max_size=300,
)


@settings(max_examples=300, deadline=None)
@given(entries, st.sampled_from(["inv", "getdata", "notfound"]))
def test_inventory_matches_the_construct(items, command):
    payload = inv_payload(items)
    assert FAST[command](payload, PROTOCOL_VERSION, None) is not None  # well-formed: the fast path takes it
    agree(command, payload)
    agree(command, payload[:-1])  # cut
    agree(command, payload + b"\x00")  # one byte too many
    if items:
        agree(command, inv_payload(items, prefix=b"\xfd" + struct.pack("<H", len(items))))  # non-canonical


def test_long_vectors_take_the_fd_form():
    inv = {"inv": [{"type": 1, "hash": "00" * 32}] * 253}
    payload = build("inv", inv)
    assert payload[0] == 0xFD and agree("inv", payload) is not None
    lock = {"version": 1, "inputs": [{"hash": "44" * 32, "n": 2}] * 300, "txid": "55" * 32}
    lock |= {"cycle_hash": "66" * 32, "sig": "77" * 96}
    assert agree("isdlock", build("isdlock", lock)) is not None
    header = HEADER
    payload = build("headers", {"headers": [{"header": header, "tx_count": 0}] * 260})
    assert agree("headers", payload) is not None
    # a tx count of 0xfd or more, a long signature: left to the construct
    assert (
        FAST["headers"](build("headers", {"headers": [{"header": header, "tx_count": 300}]}), 0, None) is None
    )
    sig = {"spork_id": 10001, "value": 1, "time_signed": 2, "sig": "88" * 300}
    assert FAST["spork"](build("spork", sig), PROTOCOL_VERSION, None) is None
    agree("spork", build("spork", sig))


def test_session_ids_above_u32_are_the_constructs():
    ann = "64" + "11" * 32 + "22" * 32 + "33" * 32
    # VarInt (src/serialize.h ReadVarInt): 8e fe fe fe 7f is 0xffffffff; the others
    # run past u32, or end the payload in the middle of the number
    for session in ("8efefefe7f", "8efefeff00", "8ffefefe7f", "ffffffffff7f", "80"):
        payload = bytes.fromhex("01" + session + ann)
        agree("qsigsesann", payload)
    top = build(
        "qsigsesann",
        {
            "anns": [
                {
                    "session_id": 2**32 - 1,
                    "llmq_type": 1,
                    "quorum_hash": "00" * 32,
                    "id": "00" * 32,
                    "msg_hash": "00" * 32,
                }
            ]
        },
    )
    assert agree("qsigsesann", top)["anns"][0]["session_id"] == 2**32 - 1
    over = top[:1] + bytes([top[1] + 1]) + top[2:]  # the first VarInt byte one more: above u32
    assert (
        by_construct("qsigsesann", over) is None and FAST["qsigsesann"](over, PROTOCOL_VERSION, None) is None
    )


def test_a_long_count_byte_at_the_usual_place():
    # 0xfd..0xff where a one-byte CompactSize is expected, in a payload of the
    # length the one-byte form would give: the construct reads a longer
    # number there, so the fast path must step aside
    header = HEADER
    two = bytearray(build("headers", {"headers": [{"header": header, "tx_count": 0}] * 2}))
    spork = build("spork", {"spork_id": 10001, "value": 1, "time_signed": 2, "sig": ""})[:20]
    queue = {"denom": 1, "protx_hash": "aa" * 32, "masternode_outpoint": None, "time": 5, "ready": 1}
    dsq = build("dsq", {**queue, "sig": ""})[:45]
    for marker in (0xFD, 0xFE, 0xFF):
        two[81] = marker
        payloads = {
            "headers": bytes(two),
            "spork": spork + bytes((marker,)) + b"\x88" * marker,
            "dsq": dsq + bytes((marker,)) + b"\x99" * marker,
        }
        for command, payload in payloads.items():
            assert FAST[command](payload, PROTOCOL_VERSION, None) is None, command
            agree(command, payload)


def test_versioned_layouts():
    lock = {"version": 1, "inputs": [], "txid": "55" * 32, "cycle_hash": "66" * 32, "sig": "77" * 96}
    new = build("isdlock", lock, ISDLOCK_PROTO_VERSION)
    legacy = build("isdlock", {**lock, "version": None, "cycle_hash": None}, ISDLOCK_PROTO_VERSION - 1)
    assert agree("isdlock", new, ISDLOCK_PROTO_VERSION)["cycle_hash"] == "66" * 32
    assert agree("isdlock", legacy, ISDLOCK_PROTO_VERSION - 1)["version"] is None
    assert FAST["isdlock"](legacy, ISDLOCK_PROTO_VERSION, None) is None  # too short for the new layout
    queue = {"denom": 1, "time": 5, "ready": 1, "sig": "99" * 96}
    new = build("dsq", {**queue, "protx_hash": "aa" * 32, "masternode_outpoint": None})
    old = build(
        "dsq", {**queue, "protx_hash": None, "masternode_outpoint": {"hash": "bb" * 32, "n": 3}}, 70225
    )
    assert agree("dsq", new)["protx_hash"] == "aa" * 32
    assert agree("dsq", old, 70225)["masternode_outpoint"] == {"hash": "bb" * 32, "n": 3}
    agree("dsq", new, 70225)
    agree("dsq", old)


def test_the_fast_paths_serve_real_traffic():
    # 253 entries take the fd form; a ping is 8 bytes: both go the fast way.
    big = inv_payload([(1, bytes(32))] * 253)
    fast = FAST["inv"](big, PROTOCOL_VERSION, None)
    assert fast["inv"][252] == {"type": 1, "type_name": "MSG_TX", "hash": "00" * 32}
    ping = FAST["ping"](bytes(range(8)), PROTOCOL_VERSION, None)
    assert ping == {"nonce": 0x0706050403020100} == decode("ping", bytes(range(8)))
    assert FAST["pong"](bytes(7), PROTOCOL_VERSION, None) is None


def test_an_unknown_network_is_the_constructs_error():
    with pytest.raises(ValueError):
        decode("clsig", bytes(132), None, "nosuchnet")


# -- Core's limits: the fast paths read up to them, and step aside above ----------------------
LIMITED = [
    ("inv", bytes(4) + bytes(range(32)), MAX_INV_SZ),
    ("getdata", bytes(4) + bytes(range(32)), MAX_INV_SZ),
    ("qsigshare", b"\x64" + bytes(32) + b"\x01\x00" + bytes(64) + bytes(96), MAX_MSGS_SIG_SHARES),
    ("qsigsesann", b"\x01\x64" + bytes(96), MAX_MSGS_CNT_QSIGSESANN),
    ("headers", bytes(80) + b"\x00", MAX_HEADERS_UNCOMPRESSED_RESULT),
]


@pytest.mark.parametrize("command, element, limit", LIMITED, ids=[row[0] for row in LIMITED])
def test_the_fast_paths_stop_at_cores_limits(command, element, limit):
    at_limit = compact_bytes(limit) + element * limit
    assert agree(command, at_limit) is not None  # read the fast way, as the construct reads it
    above = compact_bytes(limit + 1) + element * (limit + 1)
    assert FAST[command](above, PROTOCOL_VERSION, None) is None
    assert agree(command, above) is None  # decode() names the error, with or without fast paths
    with pytest.raises(DecodeError, match=limit.name):
        decode(command, above)


def test_notfound_is_read_the_fast_way_past_the_inv_limit():
    payload = compact_bytes(MAX_INV_SZ + 1) + (bytes(4) + bytes(32)) * (MAX_INV_SZ + 1)
    assert len(agree("notfound", payload)["inv"]) == MAX_INV_SZ + 1
    assert FAST["inv"](payload, PROTOCOL_VERSION, None) is None


def test_a_tx_above_its_size_limit_is_the_constructs():
    """MAX_LEGACY_BLOCK_SIZE: _fast_tx stops there, the construct names it."""
    for size, fast in ((1_000_000, True), (1_000_001, False)):
        script = size - 23
        payload = b"\x01\x00\x00\x00\x00\x01" + bytes(8) + compact_bytes(script) + b"\x51" * script + bytes(4)
        assert len(payload) == size
        assert (FAST["tx"](payload, PROTOCOL_VERSION, None) is not None) is fast
        assert (agree("tx", payload) is not None) is fast
