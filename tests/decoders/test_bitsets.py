"""Dash bitsets, from bytes assembled by hand.

Layouts: dashpay/dash src/serialize.h CFixedBitSet, CDynamicBitSet,
CFixedVarIntsBitSet, CAutoBitSet.  Bit i is byte i // 8,
bit i % 8, least significant first; decoded bitsets are '0'/'1' strings.
"""

from __future__ import annotations

import pytest
from construct import ConstructError, Int8ub, Struct, this
from hypothesis import given, settings
from hypothesis import strategies as st

from p2pcap.decoders.bitsets import AutoBitSet, DynBitSet, FixedBitSet, VarIntsBitSet

# Bitsets are not messages of their own; qfcommit, qsigsinv ... carry them
# and their test modules hold the message vectors.
VECTORS: list = []

CASES = [
    (
        "dynbitset 10 bits",
        DynBitSet,
        "0a"  # nbits: CompactSize 10
        "05"  # bits 0-7: 0b00000101 -> bits 0 and 2
        "02",  # bits 8-9: 0b10 -> bit 9 (bits 10-15 clear)
        "1010000001",
    ),
    ("dynbitset empty", DynBitSet, "00", ""),  # nbits 0, no bytes
    (
        "dynbitset 8 bits",
        DynBitSet,
        "08"  # nbits 8
        "ff",  # all set
        "11111111",
    ),
    (
        "dynbitset 300 bits",
        DynBitSet,
        "fd2c01"  # nbits: CompactSize 0xfd + u16 300
        + "00" * 37  # bits 0-295 clear
        + "08",  # bits 296-299: bit 299 set (0x08 = bit 3 of the byte)
        "0" * 299 + "1",
    ),
    (
        "fixedbitset 12",
        FixedBitSet(12),
        "ff"  # bits 0-7 set
        "0f",  # bits 8-11 set
        "1" * 12,
    ),
    (
        "varints 5",
        VarIntsBitSet(5),
        "01"  # VarInt 1: index -1 + 1 = 0
        "03"  # VarInt 3: index 0 + 3 = 3
        "00",  # VarInt 0: end
        "10010",
    ),
    (
        "varints two-byte gap",
        VarIntsBitSet(200),
        "8017"  # VarInt 151 (0x80 0x17: (0 + 1) << 7 | 0x17): index 150
        "00",  # end
        "0" * 150 + "1" + "0" * 49,
    ),
    ("varints none set", VarIntsBitSet(3), "00", "000"),  # only the end marker
]

AUTO_CASES = [
    (
        "auto fixed",
        "04"  # size (context): 4
        "00"  # isVarInts: 0 -> fixed form
        "05",  # bits 0 and 2
        {"is_var_ints": False, "bits": "1010"},
    ),
    (
        "auto varints",
        "04"  # size: 4
        "01"  # isVarInts: 1 -> list of gaps
        "01"  # VarInt 1: index 0
        "02"  # VarInt 2: index 2
        "00",  # end
        {"is_var_ints": True, "bits": "1010"},
    ),
]

# An AUTOBITSET whose size comes from an earlier field, as in CSigSharesInv.
SIZED = Struct("size" / Int8ub, "bits" / AutoBitSet(this.size))


@pytest.mark.parametrize("name, con, payload, expected", CASES, ids=[c[0] for c in CASES])
def test_parse_and_build(name, con, payload, expected):
    raw = bytes.fromhex(payload)
    assert con.parse(raw) == expected
    assert con.build(expected) == raw


@pytest.mark.parametrize("name, payload, expected", AUTO_CASES, ids=[c[0] for c in AUTO_CASES])
def test_auto(name, payload, expected):
    raw = bytes.fromhex(payload)
    obj = SIZED.parse(raw)
    assert dict(obj.bits) == expected
    assert SIZED.build(obj) == raw


ERRORS = [
    ("dyn: bit beyond nbits", DynBitSet, "0309", "bits set beyond"),  # 3 bits, bit 3 set
    ("dyn: truncated", DynBitSet, "10ff", "stream read less"),  # 16 bits, one byte
    ("dyn: hostile size", DynBitSet, "feffffff01", "stream read less"),  # 33554431 bits, no bytes
    ("dyn: above MAX_SIZE", DynBitSet, "fe01000002", "exceeds"),  # 0x02000001 bits
    ("dyn: non-canonical", DynBitSet, "fd030007", "non-canonical"),  # 3 written in 3 bytes
    ("fixed: bit beyond size", FixedBitSet(4), "10", "bits set beyond"),  # bit 4 of 4
    ("varints: out of bounds", VarIntsBitSet(4), "0500", "out of bounds"),  # index 4 of 4
    ("varints: no end", VarIntsBitSet(4), "01", "stream read less"),  # end marker missing
]


@pytest.mark.parametrize("name, con, payload, message", ERRORS, ids=[e[0] for e in ERRORS])
def test_errors(name, con, payload, message):
    with pytest.raises(ConstructError, match=message):
        con.parse(bytes.fromhex(payload))


def test_auto_flag_must_be_0_or_1():
    with pytest.raises(ConstructError, match="isVarInts"):
        SIZED.parse(bytes.fromhex("040205"))  # size 4, isVarInts 2


@pytest.mark.parametrize(
    "con, obj",
    [
        (DynBitSet, "10a"),  # not a bit
        (DynBitSet, [True, False]),  # not the string form
        (FixedBitSet(4), "101"),  # wrong length
        (VarIntsBitSet(2), "111"),  # wrong length
    ],
)
def test_build_rejects(con, obj):
    with pytest.raises(ConstructError):
        con.build(obj)


bit_strings = st.text(alphabet="01", max_size=600)


@settings(max_examples=100, deadline=None)
@given(bits=bit_strings)
def test_dyn_round_trip(bits):
    raw = DynBitSet.build(bits)
    assert len(raw) >= (len(bits) + 7) // 8
    assert DynBitSet.parse(raw) == bits


@settings(max_examples=100, deadline=None)
@given(bits=st.text(alphabet="01", min_size=1, max_size=255), var_ints=st.booleans())
def test_auto_round_trip(bits, var_ints):
    obj = {"size": len(bits), "bits": {"is_var_ints": var_ints, "bits": bits}}
    raw = SIZED.build(obj)
    again = SIZED.parse(raw)
    assert dict(again.bits) == obj["bits"]
    assert SIZED.build(again) == raw
