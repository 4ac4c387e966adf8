"""clsig, from payloads assembled by hand.

Layout: dashpay/dash src/chainlock/clsig.h.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from p2pcap.decoders import DecodeError, build, decode

from .vectors import Table, shown
from .vectors import sha256d_shown as inv_hash

BLOCK = bytes(range(32)).hex()  # 000102..1f on the wire
BLS_SIG = "97" + "e1" * 94 + "0f"  # 96 bytes, kept opaque
CLSIG = (
    "a0860100"  # height: i32 100000
    + BLOCK  # block_hash: 32 bytes
    + BLS_SIG  # sig: 96 bytes
)
NULL_CLSIG = (
    "ffffffff"  # height: i32 -1 (ChainLockSig::IsNull)
    + "00" * 32  # block_hash: zero
    + "00" * 96  # sig: all zero, "absent"
)

CASES = [
    (
        "clsig",
        CLSIG,
        {"height": 100000, "block_hash": shown(BLOCK), "sig": BLS_SIG, "hash": inv_hash(CLSIG)},
    ),
    (
        "clsig",
        NULL_CLSIG,
        {"height": -1, "block_hash": "00" * 32, "sig": "00" * 96, "hash": inv_hash(NULL_CLSIG)},
    ),
]

TABLE = Table(CASES)  # driven by test_tables.py
VECTORS = [(command, payload) for command, payload, _ in CASES]


def test_clsig_is_132_bytes():
    assert [len(payload) // 2 for _, payload, _ in CASES] == [132, 132]


def test_truncated_signature():
    with pytest.raises(DecodeError) as info:
        decode("clsig", bytes.fromhex(CLSIG[:-2]))
    assert info.value.path == "(parsing) -> sig"
    assert info.value.offset == 131  # where reading stopped


@settings(max_examples=100, deadline=None)
@given(
    height=st.integers(-(2**31), 2**31 - 1),
    block_hash=st.binary(min_size=32, max_size=32),
    sig=st.binary(min_size=96, max_size=96),
)
def test_round_trip(height, block_hash, sig):
    obj = {"height": height, "block_hash": shown(block_hash), "sig": sig.hex()}
    raw = build("clsig", obj)
    assert raw == height.to_bytes(4, "little", signed=True) + block_hash + sig
    assert decode("clsig", raw) == {**obj, "hash": inv_hash(raw.hex())}
