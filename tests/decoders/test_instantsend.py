"""isdlock and the legacy islock, from payloads assembled by hand.

Layouts: dashpay/dash src/instantsend/lock.h (older: src/llmq/instantsend.h,
which reads the version byte and the cycle hash only at connection
versions >= 70220).
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from p2pcap.decoders import DecodeError, build, decode

from .vectors import VERSIONED, Table, decode_error, shown
from .vectors import sha256d_shown as inv_hash

PREV1 = bytes(range(32)).hex()
PREV2 = bytes(range(0x20, 0x40)).hex()
TXID = bytes(range(0x40, 0x60)).hex()
CYCLE = bytes(range(0x60, 0x80)).hex()
BLS_SIG = "a5" + "3c" * 94 + "e2"  # 96 bytes, kept opaque

INPUTS = (
    "02"  # inputs: CompactSize 2
    + PREV1  # inputs[0].hash
    + "00000000"  # inputs[0].n: u32 0
    + PREV2  # inputs[1].hash
    + "05000000"  # inputs[1].n: u32 5
)
INPUTS_DECODED = [{"hash": shown(PREV1), "n": 0}, {"hash": shown(PREV2), "n": 5}]

ISDLOCK = (
    "01"  # version: u8 1
    + INPUTS
    + TXID  # txid: 32 bytes
    + CYCLE  # cycle_hash: 32 bytes
    + BLS_SIG  # sig: 96 bytes
)
ISDLOCK_DECODED = {
    "version": 1,
    "inputs": INPUTS_DECODED,
    "txid": shown(TXID),
    "cycle_hash": shown(CYCLE),
    "sig": BLS_SIG,
    "hash": inv_hash(ISDLOCK),
}

LEGACY = (
    INPUTS  # no version byte
    + TXID  # txid: 32 bytes
    + BLS_SIG  # sig: 96 bytes (no cycle hash)
)
LEGACY_DECODED = {"inputs": INPUTS_DECODED, "txid": shown(TXID), "sig": BLS_SIG, "hash": inv_hash(LEGACY)}
NO_INPUTS = (
    "01"  # version: u8 1
    "00"  # inputs: none
    + TXID  # txid
    + "00" * 32  # cycle_hash: zero
    + BLS_SIG  # sig
)

# (command, connection version or None for the newest, payload, expected)
CASES = [
    ("isdlock", None, ISDLOCK, ISDLOCK_DECODED),
    # cycle_hash changed meaning at 70237 (the quorum's base block), not
    # layout: the same bytes decode the same on both sides of it
    ("isdlock", 70237, ISDLOCK, ISDLOCK_DECODED),
    ("isdlock", 70236, ISDLOCK, ISDLOCK_DECODED),
    ("isdlock", 70220, ISDLOCK, ISDLOCK_DECODED),
    # below ISDLOCK_PROTO_VERSION Core read no version byte, no cycle hash
    ("isdlock", 70219, LEGACY, {**LEGACY_DECODED, "version": None, "cycle_hash": None}),
    (
        "isdlock",
        None,
        NO_INPUTS,
        {
            "version": 1,
            "inputs": [],
            "txid": shown(TXID),
            "cycle_hash": "00" * 32,
            "sig": BLS_SIG,
            "hash": inv_hash(NO_INPUTS),
        },
    ),
    # islock: dropped at 70231, decoded at any version for old captures
    ("islock", None, LEGACY, LEGACY_DECODED),
    ("islock", 70230, LEGACY, LEGACY_DECODED),
]

TABLE = Table(CASES, fields=VERSIONED)  # driven by test_tables.py
VECTORS = [(command, payload) for command, version, payload, _ in CASES if version is None]


def test_isdlock_as_islock_fails():
    # a deterministic lock is 33 bytes longer than the legacy form
    with pytest.raises(DecodeError):
        decode("islock", bytes.fromhex(ISDLOCK))


# offset: where reading stopped
@pytest.mark.parametrize(
    "command, payload, path, offset",
    [
        # 2^32-1 inputs claimed: refused before allocating anything
        ("isdlock", "01feffffffff" + "00" * 200, "(parsing) -> inputs", 6),
        ("isdlock", "01ff0000000001000000" + "00" * 200, "(parsing) -> inputs", 10),
        # two inputs claimed, room for one: refused right after the count
        ("islock", "02" + PREV1 + "00000000", "(parsing) -> inputs", 1),
        ("isdlock", ISDLOCK[:-2], "(parsing) -> sig", len(ISDLOCK) // 2 - 1),
    ],
)
def test_errors(command, payload, path, offset):
    error = decode_error(command, payload)
    assert (error.path, error.offset) == (path, offset)


hash256 = st.binary(min_size=32, max_size=32).map(bytes.hex)
outpoint = st.fixed_dictionaries({"hash": hash256, "n": st.integers(0, 2**32 - 1)})
lock = st.fixed_dictionaries(
    {
        "version": st.integers(0, 255),
        "inputs": st.lists(outpoint, max_size=5),
        "txid": hash256,
        "cycle_hash": hash256,
        "sig": st.binary(min_size=96, max_size=96).map(bytes.hex),
    }
)


@settings(max_examples=100, deadline=None)
@given(obj=lock, version=st.sampled_from([70219, 70220, 70231, 70237, 70238]))
def test_round_trip(obj, version):
    if version < 70220:
        obj = {**obj, "version": None, "cycle_hash": None}
    raw = build("isdlock", obj, version=version)
    assert len(raw) == 1 + 36 * len(obj["inputs"]) + 32 + 96 + (33 if version >= 70220 else 0)
    assert decode("isdlock", raw, version=version) == {**obj, "hash": inv_hash(raw.hex())}

    legacy = {k: obj[k] for k in ("inputs", "txid", "sig")}
    raw = build("islock", legacy)
    assert decode("islock", raw) == {**legacy, "hash": inv_hash(raw.hex())}
