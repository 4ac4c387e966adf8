"""LLMQ signing-session messages (decoders/signing.py).

Payloads are assembled by hand from Dash Core's src/llmq/signing_shares.h
and src/llmq/signing.h, field by field.
"""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from p2pcap.decoders import DecodeError, decode

from .vectors import Table, assert_subset, check_built_object, sha256d_shown

QUORUM_HASH = "00" + "11" * 30 + "ff"  # wire order; display order reverses it
QUORUM_HASH_DISPLAY = "ff" + "11" * 30 + "00"
SIG = "5a" * 96

# qsigsesann: two announcements
QSIGSESANN = (
    "02"  # vec count 2
    # [0]
    + "812c"  # sessionId VarInt 300 (0x81 -> 1, +1, then <<7 | 0x2c)
    + "64"  # llmqType 100 (llmq_test)
    + QUORUM_HASH  # quorumHash
    + "21" * 32  # id
    + "31" * 32  # msgHash
    # [1]
    + "00"  # sessionId 0
    + "05"  # llmqType 5 (llmq_60_75)
    + "12" * 32  # quorumHash
    + "22" * 32  # id
    + "32" * 32  # msgHash
)

# qsigsinv: one inv in each AUTOBITSET form
QSIGSINV = (
    "02"  # vec count 2
    # [0] fixed form
    + "05"  # sessionId 5
    + "0a"  # invSize 10 (CompactSize)
    + "00"  # isVarInts = 0: fixed bitset, ceil(10/8) = 2 bytes
    + "0902"  # bits 0, 3 (0x09) and 9 (0x02 in the second byte)
    # [1] varint-list form
    + "06"  # sessionId 6
    + "3c"  # invSize 60
    + "01"  # isVarInts = 1
    + "03"  # first set bit 2, written as 2 - (-1) = 3
    + "39"  # next set bit 59, gap 57
    + "00"  # end of list
)

# qgetsigs: the same structure, a request
QGETSIGS = (
    "01"  # vec count 1
    + "fe7f"  # sessionId VarInt 16383
    + "04"  # invSize 4
    + "00"  # fixed form
    + "05"  # bits 0 and 2
)

# qbsigs: one batch of two shares
QBSIGS = (
    "01"  # vec count 1
    + "07"  # sessionId 7
    + "02"  # sigShares count 2
    + "0000"  # quorumMember 0
    + "a1" * 96  # sigShare
    + "0300"  # quorumMember 3
    + "a2" * 96  # sigShare
)

# qsigshare: one self-describing share (195 bytes)
QSIGSHARE = (
    "01"  # vec count 1
    + "64"  # llmqType 100
    + QUORUM_HASH  # quorumHash
    + "0200"  # quorumMember 2 (comes before id)
    + "23" * 32  # id
    + "33" * 32  # msgHash
    + SIG  # sigShare
)

# qsigrec: CRecoveredSig, 193 bytes
QSIGREC = (
    "04"  # llmqType 4 (llmq_100_67)
    + QUORUM_HASH  # quorumHash
    + "24" * 32  # id
    + "34" * 32  # msgHash
    + SIG  # sig
)


CASES = [
    (
        "qsigsesann",
        QSIGSESANN,
        {
            "anns": [
                {
                    "session_id": 300,
                    "llmq_type": 100,
                    "llmq_type_name": "llmq_test",
                    "quorum_hash": QUORUM_HASH_DISPLAY,
                    "id": "21" * 32,
                    "msg_hash": "31" * 32,
                },
                {"session_id": 0, "llmq_type": 5, "llmq_type_name": "llmq_60_75"},
            ]
        },
    ),
    (
        "qsigsinv",
        QSIGSINV,
        {
            "invs": [
                {"session_id": 5, "inv_size": 10, "inv": {"is_var_ints": False, "bits": "1001000001"}},
                {
                    "session_id": 6,
                    "inv_size": 60,
                    "inv": {"is_var_ints": True, "bits": "001" + "0" * 56 + "1"},
                },
            ]
        },
    ),
    (
        "qgetsigs",
        QGETSIGS,
        {"invs": [{"session_id": 16383, "inv_size": 4, "inv": {"is_var_ints": False, "bits": "1010"}}]},
    ),
    (
        "qbsigs",
        QBSIGS,
        {
            "batches": [
                {
                    "session_id": 7,
                    "sig_shares": [
                        {"quorum_member": 0, "sig_share": "a1" * 96},
                        {"quorum_member": 3, "sig_share": "a2" * 96},
                    ],
                }
            ]
        },
    ),
    (
        "qsigshare",
        QSIGSHARE,
        {
            "sig_shares": [
                {
                    "llmq_type": 100,
                    "quorum_hash": QUORUM_HASH_DISPLAY,
                    "quorum_member": 2,
                    "id": "23" * 32,
                    "msg_hash": "33" * 32,
                    "sig_share": SIG,
                }
            ]
        },
    ),
    (
        "qsigrec",
        QSIGREC,
        {
            "llmq_type": 4,
            "llmq_type_name": "llmq_100_67",
            "quorum_hash": QUORUM_HASH_DISPLAY,
            "id": "24" * 32,
            "msg_hash": "34" * 32,
            "sig": SIG,
            "hash": sha256d_shown(QSIGREC),
        },
    ),
]

# Known-good payloads, for the decoder-wide fuzz test.
VECTORS = [(command, payload) for command, payload, _ in CASES]
# driven by test_tables.py: the rows list some fields
TABLE = Table(CASES, match=assert_subset)


def test_qsigrec_is_193_bytes():
    assert len(bytes.fromhex(QSIGREC)) == 193


def test_truncated_says_where():
    raw = bytes.fromhex(QSIGREC)[:80]  # cut inside msgHash (bytes 65..96)
    with pytest.raises(DecodeError) as info:
        decode("qsigrec", raw)
    assert "msg_hash" in info.value.path
    assert info.value.offset == 80


def test_isvarints_byte_must_be_0_or_1():
    bad = "01" + "05" + "04" + "02" + "05"  # isVarInts = 2
    with pytest.raises(DecodeError) as info:
        decode("qsigsinv", bytes.fromhex(bad))
    assert "inv" in info.value.path


def test_inv_size_above_400_rejected():
    # newest CSigSharesInv: "CSigSharesInv::inv size too large"
    bad = "01" + "05" + "fd9101" + "01" + "00"  # invSize 401, empty varint list
    with pytest.raises(DecodeError):
        decode("qgetsigs", bytes.fromhex(bad))


def test_varint_index_out_of_bounds():
    bad = "01" + "05" + "04" + "01" + "05" + "00"  # set bit 4 of a 4-bit set
    with pytest.raises(DecodeError):
        decode("qsigsinv", bytes.fromhex(bad))


def test_fixed_bitset_pad_bits_must_be_clear():
    bad = "01" + "05" + "04" + "00" + "15"  # bit 4 set beyond size 4
    with pytest.raises(DecodeError):
        decode("qgetsigs", bytes.fromhex(bad))


def test_hostile_count_fails_fast():
    hostile = bytes.fromhex("feffffff01") + bytes(195)  # 0x01ffffff shares
    start = time.perf_counter()
    with pytest.raises(DecodeError) as info:
        decode("qsigshare", hostile)
    assert time.perf_counter() - start < 0.1
    assert info.value.offset is not None


# --- hypothesis: build a random message, decode it, build it again --------------


def _hex(n):
    return st.binary(min_size=n, max_size=n).map(bytes.hex)


u32 = st.integers(0, 0xFFFFFFFF)
llmq_type = st.integers(0, 255)

_ann = st.fixed_dictionaries(
    {"session_id": u32, "llmq_type": llmq_type, "quorum_hash": _hex(32), "id": _hex(32), "msg_hash": _hex(32)}
)


@st.composite
def _inv(draw):
    size = draw(st.integers(0, 400))
    bits = "".join(draw(st.lists(st.sampled_from("01"), min_size=size, max_size=size)))
    return {
        "session_id": draw(u32),
        "inv_size": size,
        "inv": {"is_var_ints": draw(st.booleans()), "bits": bits},
    }


_batch = st.fixed_dictionaries(
    {
        "session_id": u32,
        "sig_shares": st.lists(
            st.fixed_dictionaries({"quorum_member": st.integers(0, 0xFFFF), "sig_share": _hex(96)}),
            max_size=4,
        ),
    }
)
_share = st.fixed_dictionaries(
    {
        "llmq_type": llmq_type,
        "quorum_hash": _hex(32),
        "quorum_member": st.integers(0, 0xFFFF),
        "id": _hex(32),
        "msg_hash": _hex(32),
        "sig_share": _hex(96),
    }
)

MESSAGES = st.one_of(
    st.tuples(st.just("qsigsesann"), st.fixed_dictionaries({"anns": st.lists(_ann, max_size=3)})),
    st.tuples(st.just("qsigsinv"), st.fixed_dictionaries({"invs": st.lists(_inv(), max_size=3)})),
    st.tuples(st.just("qgetsigs"), st.fixed_dictionaries({"invs": st.lists(_inv(), max_size=3)})),
    st.tuples(st.just("qbsigs"), st.fixed_dictionaries({"batches": st.lists(_batch, max_size=3)})),
    st.tuples(st.just("qsigshare"), st.fixed_dictionaries({"sig_shares": st.lists(_share, max_size=3)})),
    st.tuples(
        st.just("qsigrec"),
        st.fixed_dictionaries(
            {
                "llmq_type": llmq_type,
                "quorum_hash": _hex(32),
                "id": _hex(32),
                "msg_hash": _hex(32),
                "sig": _hex(96),
            }
        ),
    ),
)


@settings(max_examples=100, deadline=None)
@given(MESSAGES)
def test_round_trip_property(message):
    command, obj = message
    check_built_object(command, obj)
