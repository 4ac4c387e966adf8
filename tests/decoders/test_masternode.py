"""mnauth and platformban, from payloads assembled by hand.

Layouts: dashpay/dash src/evo/mnauth.h, src/masternode/meta.h.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from p2pcap.decoders import build, decode

from .vectors import Table, decode_error, shown

PROTX = bytes(range(32)).hex()  # 000102..1f on the wire
QUORUM = bytes(range(0x40, 0x60)).hex()
BLS_SIG = "8b" + "c3" * 94 + "7d"  # 96 bytes, kept opaque

CASES = [
    (
        "mnauth",
        PROTX  # pro_reg_tx_hash: 32 bytes
        + BLS_SIG,  # sig: 96 bytes
        {"pro_reg_tx_hash": shown(PROTX), "sig": BLS_SIG},
    ),
    (
        "platformban",
        PROTX  # protx_hash: 32 bytes
        + "40420f00"  # requested_height: i32 1000000
        + QUORUM  # quorum_hash: 32 bytes
        + BLS_SIG,  # signature: 96 bytes
        {
            "protx_hash": shown(PROTX),
            "requested_height": 1000000,
            "quorum_hash": shown(QUORUM),
            "signature": BLS_SIG,
        },
    ),
]

TABLE = Table(CASES)  # driven by test_tables.py
VECTORS = [(command, payload) for command, payload, _ in CASES]


def test_sizes():
    assert [len(payload) // 2 for _, payload, _ in CASES] == [128, 164]


# offset: where reading stopped
@pytest.mark.parametrize(
    "command, payload, path, offset",
    [
        ("mnauth", PROTX + BLS_SIG[:-2], "(parsing) -> sig", 127),  # 95 of 96
        ("mnauth", PROTX[:-2], "(parsing) -> pro_reg_tx_hash", 31),
        ("platformban", PROTX + "40420f", "(parsing) -> requested_height", 35),
        ("platformban", PROTX + "40420f00" + QUORUM, "(parsing) -> signature", 68),
    ],
)
def test_truncated(command, payload, path, offset):
    error = decode_error(command, payload)
    assert (error.path, error.offset) == (path, offset)


hash256 = st.binary(min_size=32, max_size=32).map(bytes.hex)
bls_sig = st.binary(min_size=96, max_size=96).map(bytes.hex)


@settings(max_examples=100, deadline=None)
@given(
    mnauth=st.fixed_dictionaries({"pro_reg_tx_hash": hash256, "sig": bls_sig}),
    ban=st.fixed_dictionaries(
        {
            "protx_hash": hash256,
            "requested_height": st.integers(-(2**31), 2**31 - 1),
            "quorum_hash": hash256,
            "signature": bls_sig,
        }
    ),
)
def test_round_trip(mnauth, ban):
    for command, obj, size in (("mnauth", mnauth, 128), ("platformban", ban, 164)):
        raw = build(command, obj)
        assert len(raw) == size
        assert decode(command, raw) == obj
