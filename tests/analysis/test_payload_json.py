"""The C writers of decoded JSON (formats/_payloadjson.c) print what decoding prints.

``show --json`` takes an inventory's, a tx's, a ping's, a chain lock's, an
InstantSend lock's, a signing message's or a dsq's decoded JSON from
``MessageLines.payload_line``, which the C writers make straight from the
payload.  Each line must be the general one byte for byte: the message
decoded by ``decode`` (itself held to the constructs in
tests/decoders/test_fastpaths.py) and written by orjson.  A writer may
decline (None: the general way), never disagree; and where the decoders'
own struct parsers read a payload, the writer must write it, or the
accelerator would quietly stop accelerating.
"""

from __future__ import annotations

import hashlib
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from p2pcap.cli.render import MessageLines, json_line
from p2pcap.decoders import DecodeError, build, decode
from p2pcap.decoders.inventory import MAX_INV_SZ
from p2pcap.decoders.limits import MAX_PROTOCOL_MESSAGE_LENGTH
from p2pcap.decoders.primitives import compact_bytes
from p2pcap.decoders.signing import MAX_MSGS_CNT_QSIGSESANN, MAX_MSGS_SIG_SHARES
from p2pcap.formats import Message, _payloadjson
from p2pcap.formats.jsonl import message_object
from p2pcap.units import iso

from ..decoders.test_fast_helpers import script_pub_keys, script_sigs
from ..decoders.test_fastpaths import damaged, messages, networks, versions
from .captures import T0

# The commands the C writers take; the others (headers, spork) are always decoded.
WRITTEN = {
    "inv",
    "getdata",
    "notfound",
    "tx",
    "ping",
    "pong",
    "clsig",
    "isdlock",
    "qsigshare",
    "qsigsesann",
    "dsq",
}


def general_line(msg: Message, version: int, network) -> str:
    """The line the general path prints: the payload decoded, then orjson."""
    try:
        decoded, error = decode(msg.command, msg.payload, version=version, network=network), None
    except DecodeError as exc:
        decoded, error = None, str(exc)
    return json_line(
        message_object(
            msg,
            iso(msg.ts_ns),
            decoded=decoded,
            error=error,
            version=(version, "negotiated"),
            payload_hex=False,
            kind=False,
        )
    )


def written(command: str, payload: bytes, version: int, network=None) -> str | None:
    """The C writer's line for the message, after checking it against the general one."""
    msg = Message(T0, 1, 2, "x:1", "inbound", "in", command, len(payload), payload)
    line = MessageLines(False).payload_line(msg, (version, "negotiated"), network)
    if line is not None:
        assert line == general_line(msg, version, network), f"{command} {payload.hex()}"
    return line


def may_decline(command: str, payload: bytes, version: int) -> bool:
    """Whether a writer may leave a payload the decoders read to them: what their
    own struct parsers (decoders/fastpaths.py) would leave to the constructs too,
    or a tx the C writer leaves to the Python (a special transaction's payload,
    an output that may be multisig)."""
    if command not in WRITTEN:
        return True
    if command != "tx":
        return False
    try:
        tx = decode("tx", payload, version=version)
    except DecodeError:
        return True
    if tx["version"] >= 3 and tx["type"] != 0:
        return True
    return any(len(s) >= 6 and s.endswith("ae") for s in (o["script_pub_key"] for o in tx["vout"]))


@settings(max_examples=800, deadline=None)
@given(message=messages(), network=networks)
def test_built_messages_are_written_as_decoded(message, network):
    command, payload, version = message
    version = version or 0  # the pipeline's versions are numbers; 0 when none is known
    line = written(command, payload, version, network)
    if line is None:
        assert may_decline(command, payload, version), f"{command} declined: {payload.hex()}"
    elif command not in WRITTEN:
        raise AssertionError(f"{command} has no writer, yet one answered")


@settings(max_examples=800, deadline=None)
@given(message=messages(), network=networks, data=st.data())
def test_damaged_messages_are_written_as_decoded_or_declined(message, network, data):
    command, payload, version = message
    written(command, damaged(payload, data), version or 0, network)


@settings(max_examples=500, deadline=None)
@given(payload=st.binary(max_size=300), command=st.sampled_from(sorted(WRITTEN)), version=versions)
def test_random_bytes_are_written_as_decoded_or_declined(payload, command, version):
    written(command, payload, version or 0)


# -- transactions: every kind of script, on every network ----------------------------------------
def _tx(version: int, inputs, outputs) -> bytes:
    return build(
        "tx",
        {
            "version": version,
            "type": 0,
            "vin": [
                {"prevout": {"hash": h.hex(), "n": n}, "script_sig": s.hex(), "sequence": q}
                for h, n, s, q in inputs
            ],
            "vout": [{"value": v, "script_pub_key": s.hex()} for v, s in outputs],
            "lock_time": 0,
            "extra_payload_raw": None,
            "extra_payload": None,
            "extra_payload_error": None,
        },
    )


_inputs = st.lists(
    st.tuples(
        st.sampled_from([bytes(32)]) | st.binary(min_size=32, max_size=32),
        st.sampled_from([0, 1, 0xFFFFFFFF]) | st.integers(0, 2**32 - 1),
        script_sigs,
        st.integers(0, 2**32 - 1),
    ),
    max_size=3,
)
_outputs = st.lists(
    st.tuples(
        st.sampled_from([0, 1, 10**8, -1, -(2**63), 2**63 - 1]) | st.integers(-(2**63), 2**63 - 1),
        script_pub_keys,
    ),
    max_size=3,
)


@settings(max_examples=800, deadline=None)
@given(
    version=st.sampled_from([1, 2, 3, -1, -(2**15), 2**15 - 1]),
    inputs=_inputs,
    outputs=_outputs,
    network=networks,
)
def test_transactions_of_every_script_kind(version, inputs, outputs, network):
    payload = _tx(version, inputs, outputs)
    line = written("tx", payload, 70238, network)
    if line is None:
        assert may_decline("tx", payload, 70238), payload.hex()


def test_a_long_transaction_crosses_the_sizes_the_writer_reserves():
    """Scripts of thousands of bytes and a 0xfd count: room is made as it goes."""
    big_sig = bytes([0x4D]) + struct.pack("<H", 9000) + bytes(range(256)) * 35 + bytes(40)
    inputs = [(bytes([i]) * 32, i, big_sig, 0xFFFFFFFF) for i in range(3)]
    outputs = [(i, b"\x76\xa9\x14" + bytes([i % 256]) * 20 + b"\x88\xac") for i in range(300)]
    payload = _tx(2, inputs, outputs)
    assert written("tx", payload, 70238) is not None


def test_a_special_transaction_is_left_to_the_decoders():
    # version 3, type 5 (a coinbase's CbTx), no inputs or outputs, lock time, a one-byte payload
    payload = struct.pack("<hH", 3, 5) + b"\x00\x00" + bytes(4) + b"\x01\x00"
    msg = Message(T0, 1, 2, "x:1", "inbound", "in", "tx", len(payload), payload)
    assert MessageLines(False).payload_line(msg, (70238, "negotiated"), None) is None


# -- inventories --------------------------------------------------------------------------------
def _inventory_payloads():
    entry = st.tuples(
        st.sampled_from((0, 1, 2, 20, 29, 30, 31, 99, 1 << 31)), st.binary(min_size=32, max_size=32)
    )
    whole = st.lists(entry, max_size=8).map(
        lambda es: bytes([len(es)]) + b"".join(struct.pack("<I", t) + h for t, h in es)
    )
    wide = st.integers(0xFD, 0x120).map(lambda n: b"\xfd" + struct.pack("<H", n) + bytes(36 * n))
    narrow = st.integers(0, 0xFC).map(
        lambda n: b"\xfd" + struct.pack("<H", n) + bytes(36 * n)
    )  # non-canonical
    return (
        whole
        | wide
        | narrow
        | st.binary(max_size=80)
        | whole.map(lambda b: b[:-1])
        | whole.map(lambda b: b + b"\x00")
    )


@settings(max_examples=500, deadline=None)
@given(payload=_inventory_payloads(), command=st.sampled_from(("inv", "getdata", "notfound")))
def test_inventories_are_written_as_decoded_or_declined(payload, command):
    line = written(command, payload, 70238)
    try:
        decode(command, payload)
    except DecodeError:
        return
    assert line is not None  # what the struct parser reads, the C writer writes


# -- the parts ---------------------------------------------------------------------------------
@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=300))
def test_sha256d_with_and_without_the_sha_extensions(data):
    """Both compressions, whichever this CPU runs, against hashlib's."""
    expected = hashlib.sha256(hashlib.sha256(data).digest()).digest()
    assert _payloadjson.sha256d(data) == expected
    assert _payloadjson.sha256d(data, portable=True) == expected


def test_sha256d_at_every_padding_boundary():
    for n in range(0, 200):
        data = bytes(range(n))
        expected = hashlib.sha256(hashlib.sha256(data).digest()).digest()
        assert _payloadjson.sha256d(data) == expected, n
        assert _payloadjson.sha256d(data, portable=True) == expected, n


def test_a_snapped_payload_is_left_to_the_decoders():
    """A payload cut by a snap length is decoded in part, with a note: never written whole."""
    payload = b"\x01" + bytes(36)
    msg = Message(T0, 1, 2, "x:1", "inbound", "in", "inv", len(payload) + 10, payload)
    assert MessageLines(False).payload_line(msg, (70238, "negotiated"), None) is None


def test_the_version_picks_the_layout_as_decode_does():
    """0 (none known) reads as PROTOCOL_VERSION, as decode() does; a version
    past what C's long long holds still compares as the large number it is."""
    by_protx = struct.pack("<i32sqBB", 1, bytes(32), 5, 1, 2) + b"\xaa\xbb"
    by_outpoint = struct.pack("<i32sIqBB", 1, bytes(32), 3, 5, 1, 2) + b"\xaa\xbb"
    for payload in (by_protx, by_outpoint):
        msg = Message(T0, 1, 2, "x:1", "inbound", "in", "dsq", len(payload), payload)
        for version in (0, 70225, 70226, 2**70):
            line = MessageLines(False).payload_line(msg, (version, "negotiated"), None)
            expected = general_line(msg, version, None)
            if '"error":null' in expected:
                assert line == expected, version
            else:  # this layout is not that version's: decoding names the error
                assert line is None, version


def test_a_writer_called_wrongly_raises_typeerror():
    """Misuse is the caller's bug: a TypeError naming the writer, never a crash or a guess."""
    words = (None,) * 256
    calls = [
        lambda: _payloadjson.tx_json(76, 16, (), words, b"", 70238),  # a table of the wrong size
        lambda: _payloadjson.tx_json(300, 16, words, words, b"", 70238),  # not a version byte
        lambda: _payloadjson.tx_json(76, 16, words, words, b""),  # no version
        lambda: _payloadjson.inventory_json([], 10, b"\x00", 70238),  # names not a tuple
        lambda: _payloadjson.nonce_json(bytes(8), "70238"),  # a version that is not an int
        lambda: _payloadjson.nonce_json("12345678", 70238),  # a payload that is not bytes
        lambda: _payloadjson.dsq_json(b"", b"", 70238),  # the version it changed at is not an int
        lambda: _payloadjson.qsigshare_json((), b"\x00", 70238),
    ]
    for call in calls:
        with pytest.raises(TypeError):
            call()
    assert _payloadjson.nonce_json(bytearray(8), 70238) == '{"nonce":0}'  # any bytes-like payload


# -- Core's limits: what the decoders refuse, a writer declines (and the general way names) ------
_ENTRY = bytes(4) + bytes(range(32))
LIMITED = [
    ("inv", _ENTRY, MAX_INV_SZ),
    ("getdata", _ENTRY, MAX_INV_SZ),
    ("qsigshare", b"\x64" + bytes(32) + b"\x01\x00" + bytes(64) + bytes(96), MAX_MSGS_SIG_SHARES),
    ("qsigsesann", b"\x01\x64" + bytes(96), MAX_MSGS_CNT_QSIGSESANN),
]


@pytest.mark.parametrize("command, element, limit", LIMITED, ids=[row[0] for row in LIMITED])
def test_writers_stop_at_cores_limits(command, element, limit):
    at_limit = compact_bytes(limit) + element * limit
    assert written(command, at_limit, 70238) is not None
    above = compact_bytes(limit + 1) + element * (limit + 1)
    assert written(command, above, 70238) is None
    msg = Message(T0, 1, 2, "x:1", "inbound", "in", command, len(above), above)
    assert f"is above {limit.name}" in general_line(msg, 70238, None)


def test_a_long_notfound_is_declined_and_decoded():
    """notfound has no count limit: past MAX_INV_SZ the C writer declines
    (it keeps one bound for the three), and the general way writes it."""
    payload = compact_bytes(MAX_INV_SZ + 1) + _ENTRY * (MAX_INV_SZ + 1)
    assert written("notfound", payload, 70238) is None
    msg = Message(T0, 1, 2, "x:1", "inbound", "in", "notfound", len(payload), payload)
    assert '"error":null' in general_line(msg, 70238, None)


def test_a_tx_above_its_size_limit_is_declined():
    """MAX_LEGACY_BLOCK_SIZE: 17 outputs of OP_1 scripts (0xfd-form lengths,
    which the writer reads) filling exactly 1,000,000 bytes, then one more."""
    for extra, expected in ((0, True), (1, False)):
        scripts = [62_000] * 16 + [7_803 + extra]
        outputs = b"".join(bytes(8) + compact_bytes(n) + b"\x51" * n for n in scripts)
        payload = b"\x01\x00\x00\x00\x00" + compact_bytes(17) + outputs + bytes(4)
        assert len(payload) == 1_000_000 + extra
        assert (written("tx", payload, 70238) is not None) is expected, len(payload)


def test_every_writer_declines_a_payload_above_3_mib():
    payload = bytes(MAX_PROTOCOL_MESSAGE_LENGTH + 1)
    for command in sorted(WRITTEN):
        assert written(command, payload, 70238) is None, command
    msg = Message(T0, 1, 2, "x:1", "inbound", "in", "inv", len(payload), payload)
    assert "is above MAX_PROTOCOL_MESSAGE_LENGTH" in general_line(msg, 70238, None)
