"""spork and getsporks, from payloads assembled by hand.

Layout: dashpay/dash src/spork.h.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from p2pcap.decoders import DecodeError, build, decode

from .vectors import Table, check_round_trip, sha256d_shown

SIG = "1c" + "5a" * 64  # a 65-byte compact recoverable signature

# (command, payload hex, expected)
CASES = [
    (
        "spork",
        "11270000"  # spork_id: i32 10001
        "0000000000000000"  # value: i64 0 (on)
        "80a0c86500000000"  # time_signed: i64 1707647104
        "41" + SIG,  # sig: CompactSize 65, 65 bytes
        {
            "spork_id": 10001,
            "spork_name": "SPORK_2_INSTANTSEND_ENABLED",
            "value": 0,
            "time_signed": 1707647104,
            "sig": SIG,
        },
    ),
    (
        "spork",
        "1e270000"  # spork_id: i32 10014, retired SPORK_15
        "8023a5f200000000"  # value: i64 4070908800 ("off")
        "0100000000000000"  # time_signed: i64 1
        "00",  # sig: empty
        {
            "spork_id": 10014,
            "spork_name": "SPORK_15_DETERMINISTIC_MNS_ENABLED",
            "value": 4070908800,
            "time_signed": 1,
            "sig": "",
        },
    ),
    (
        "spork",
        "ffffffff"  # spork_id: i32 -1, no such spork
        "ffffffffffffffff"  # value: i64 -1
        "0000000000000080"  # time_signed: i64 minimum
        "00",  # sig: empty
        {
            "spork_id": -1,
            "spork_name": None,
            "value": -1,
            "time_signed": -(2**63),
            "sig": "",
        },
    ),
    ("getsporks", "", {}),  # no payload
]

# A real testnet spork from dashpay/dashj
# core/src/test/java/org/bitcoinj/core/SporkMessageTest.java (verifySpork),
# with the fields and the signature hash that test asserts.
DASHJ_SPORK = (
    "1227000000000000000000003b5d255b00000000411b49b470662d7f4068f5630ee90a53"
    "1302ab9046d1cf8333b138c3e42db67a64ca53c390124832785a8934cf5e8a74dad9db88"
    "34c32662f8c1c69c23577b39622f"
)
DASHJ_SIGNATURE_HASH = "d1d32f00374284b19ee33f9ef19386055fd15091ce4a476ab58701603594cc5e"

VECTORS = [(command, payload) for command, payload, _ in CASES] + [("spork", DASHJ_SPORK)]


def with_hash(command, payload, expected):
    """A spork's expected dict with its inv hash: CSporkMessage::GetHash
    (src/spork.cpp) is SerializeHash(*this), SHA256d of the whole message,
    signature included, computed here from the hex."""
    return {**expected, "hash": sha256d_shown(payload)} if command == "spork" else expected


TABLE = Table(CASES, expect=with_hash)  # driven by test_tables.py


def test_dashj_spork():
    decoded = decode("spork", bytes.fromhex(DASHJ_SPORK))
    assert decoded["spork_name"] == "SPORK_3_INSTANTSEND_BLOCK_FILTERING"  # dashj's getSporkId
    assert (decoded["value"], decoded["time_signed"]) == (0, 1529175355)
    # dashj asserts the signature hash, over id, value and time only
    # (CSporkMessage::GetSignatureHash); the inv hash also covers vchSig.
    assert sha256d_shown(DASHJ_SPORK[:40]) == DASHJ_SIGNATURE_HASH
    assert decoded["hash"] == sha256d_shown(DASHJ_SPORK) != DASHJ_SIGNATURE_HASH
    check_round_trip("spork", DASHJ_SPORK)


# offset: where reading stopped (after the short read or the bad count)
@pytest.mark.parametrize(
    "payload, path, offset",
    [
        ("112700", "(parsing) -> spork_id", 3),  # 3 of 4 bytes
        ("11270000" + "00" * 16 + "41" + "00" * 64, "(parsing) -> sig", 21),  # 64 of 65
        ("11270000" + "00" * 16 + "fe00000001", "(parsing) -> sig", 25),  # 2^24 bytes
        ("11270000" + "00" * 16 + "fd4000" + "00" * 64, "(parsing) -> sig", 23),  # fd 0040
    ],
)
def test_spork_errors(payload, path, offset):
    with pytest.raises(DecodeError) as info:
        decode("spork", bytes.fromhex(payload))
    assert info.value.path == path
    assert info.value.offset == offset


i32 = st.integers(-(2**31), 2**31 - 1)
i64 = st.integers(-(2**63), 2**63 - 1)


@settings(max_examples=100, deadline=None)
@given(spork_id=i32, value=i64, time_signed=i64, sig=st.binary(max_size=300))
def test_spork_round_trip(spork_id, value, time_signed, sig):
    obj = {"spork_id": spork_id, "value": value, "time_signed": time_signed, "sig": sig.hex()}
    raw = build("spork", obj)
    assert len(raw) == 20 + len(sig) + (1 if len(sig) < 0xFD else 3)
    decoded = decode("spork", raw)
    assert decoded == {**obj, "spork_name": decoded["spork_name"], "hash": sha256d_shown(raw)}
    assert build("spork", decoded) == raw
