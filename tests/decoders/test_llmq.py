"""LLMQ DKG and quorum-data messages (decoders/llmq.py).

Payloads are assembled by hand from Dash Core's src/llmq/dkgmessages.h,
src/bls/bls_ies.h and src/llmq/quorums.h, field by field.
"""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from p2pcap.decoders import DecodeError, decode

from .vectors import Table, assert_subset, check_built_object, sha256d_shown

QUORUM_HASH = "00" + "11" * 30 + "ff"  # wire order
QUORUM_HASH_DISPLAY = "ff" + "11" * 30 + "00"  # RPC order
PRO_TX_HASH = "22" * 32


# qcontrib: CDKGContribution of a 3-member llmq_test quorum
QCONTRIB = (
    "64"  # llmqType 100 (llmq_test)
    + QUORUM_HASH  # quorumHash
    + PRO_TX_HASH  # proTxHash (sender)
    + "02"  # vvec: 2 public keys (the threshold)
    + "a1" * 48  # vvec[0]
    + "a2" * 48  # vvec[1]
    + "b1" * 48  # contributions.ephemeralPubKey
    + "c1" * 32  # contributions.ivSeed
    + "03"  # contributions.blobs: 3 (one per member)
    + "20"
    + "d1" * 32  # blob 0, 32 bytes
    + "20"
    + "d2" * 32  # blob 1
    + "20"
    + "d3" * 32  # blob 2
    + "e1" * 96  # sig
)

# qcomplaint: CDKGComplaint
QCOMPLAINT = (
    "01"  # llmqType 1 (llmq_50_60)
    + QUORUM_HASH  # quorumHash
    + PRO_TX_HASH  # proTxHash
    + "0a"
    + "0102"  # badMembers: 10 bits, bits 0 and 9 set
    + "0a"
    + "0000"  # complainForMembers: 10 bits, none set
    + "e2" * 96  # sig
)

# qjustify: CDKGJustification revealing two secret-key shares
QJUSTIFY = (
    "64"  # llmqType 100
    + QUORUM_HASH  # quorumHash
    + PRO_TX_HASH  # proTxHash
    + "02"  # contributions: 2
    + "01000000"
    + "f1" * 32  # index 1, key
    + "02000000"
    + "f2" * 32  # index 2, key
    + "e3" * 96  # sig
)

# qpcommit: CDKGPrematureCommitment
QPCOMMIT = (
    "64"  # llmqType 100
    + QUORUM_HASH  # quorumHash
    + PRO_TX_HASH  # proTxHash
    + "03"
    + "07"  # validMembers: 3 bits, all set
    + "a3" * 48  # quorumPublicKey
    + "c2" * 32  # quorumVvecHash
    + "e4" * 96  # quorumSig (threshold share)
    + "e5" * 96  # sig (member signature)
)

# qfcommit: CFinalCommitment, version 4 (basic BLS, indexed)
QFCOMMIT = (
    "0400"  # nVersion 4
    + "67"  # llmqType 103 (llmq_test_dip0024)
    + QUORUM_HASH  # quorumHash
    + "0100"  # quorumIndex 1 (indexed versions only)
    + "04"
    + "0f"  # signers: 4 bits, all set
    + "04"
    + "0b"  # validMembers: bits 0, 1, 3
    + "a4" * 48  # quorumPublicKey
    + "c3" * 32  # quorumVvecHash
    + "e6" * 96  # quorumSig
    + "e7" * 96  # membersSig
)

# qgetdata: CQuorumDataRequest without nError (67 bytes)
QGETDATA = (
    "04"  # llmqType 4 (llmq_100_67)
    + QUORUM_HASH  # quorumHash
    + "0300"  # nDataMask: verification vector | encrypted contributions
    + PRO_TX_HASH  # proTxHash
)

# qdata carrying both data sets
QDATA_OK = (
    "04"  # request.llmqType 4
    + QUORUM_HASH  # request.quorumHash
    + "0300"  # request.nDataMask 3
    + PRO_TX_HASH  # request.proTxHash
    + "00"  # request.nError NONE
    + "02"  # quorumVvec: 2 keys
    + "a5" * 48
    + "a6" * 48
    + "01"  # encContributions: 1
    + "b2" * 48  # ephemeralPubKey
    + "c4" * 32  # ivSeed
    + "20"
    + "d4" * 32  # data: 32 encrypted bytes
)

# qdata answering with an error: nothing follows the request
QDATA_ERROR = (
    "04"  # request.llmqType 4
    + QUORUM_HASH  # request.quorumHash
    + "0100"  # request.nDataMask 1
    + "00" * 32  # request.proTxHash (none)
    + "03"  # request.nError QUORUM_NOT_FOUND
)

# qdata with only the verification vector requested
QDATA_VVEC = (
    "04"  # request.llmqType 4
    + QUORUM_HASH  # request.quorumHash
    + "0100"  # request.nDataMask 1
    + "00" * 32  # request.proTxHash
    + "00"  # request.nError NONE
    + "01"  # quorumVvec: 1 key
    + "a7" * 48
)

CASES = [
    (
        "qcontrib",
        QCONTRIB,
        {
            "llmq_type": 100,
            "llmq_type_name": "llmq_test",
            "quorum_hash": QUORUM_HASH_DISPLAY,
            "pro_tx_hash": PRO_TX_HASH,
            "vvec": ["a1" * 48, "a2" * 48],
            "contributions": {
                "ephemeral_pub_key": "b1" * 48,
                "iv_seed": "c1" * 32,
                "blobs": ["d1" * 32, "d2" * 32, "d3" * 32],
            },
            "sig": "e1" * 96,
            "hash": sha256d_shown(QCONTRIB),
        },
    ),
    (
        "qcomplaint",
        QCOMPLAINT,
        {
            "llmq_type": 1,
            "llmq_type_name": "llmq_50_60",
            "bad_members": "1000000001",
            "complain_for_members": "0000000000",
            "sig": "e2" * 96,
            "hash": sha256d_shown(QCOMPLAINT),
        },
    ),
    (
        "qjustify",
        QJUSTIFY,
        {
            "contributions": [{"index": 1, "key": "f1" * 32}, {"index": 2, "key": "f2" * 32}],
            "sig": "e3" * 96,
        },
    ),
    (
        "qpcommit",
        QPCOMMIT,
        {
            "valid_members": "111",
            "quorum_public_key": "a3" * 48,
            "quorum_vvec_hash": "c2" * 32,
            "quorum_sig": "e4" * 96,
            "sig": "e5" * 96,
            "hash": sha256d_shown(QPCOMMIT),
        },
    ),
    (
        "qfcommit",
        QFCOMMIT,
        {
            "commitment": {
                "version": 4,
                "llmq_type": 103,
                "llmq_type_name": "llmq_test_dip0024",
                "quorum_hash": QUORUM_HASH_DISPLAY,
                "quorum_index": 1,
                "signers": "1111",
                "valid_members": "1101",
                "quorum_public_key": "a4" * 48,
                "quorum_vvec_hash": "c3" * 32,
                "quorum_sig": "e6" * 96,
                "members_sig": "e7" * 96,
            },
            "hash": sha256d_shown(QFCOMMIT),
        },
    ),
    ("qwatch", "", {}),
    ("qsendrecsigs", "01", {"wants_recsigs": 1}),
    (
        "qgetdata",
        QGETDATA,
        {
            "llmq_type": 4,
            "llmq_type_name": "llmq_100_67",
            "quorum_hash": QUORUM_HASH_DISPLAY,
            "data_mask": 3,
            "pro_tx_hash": PRO_TX_HASH,
            "error": None,
        },
    ),
    ("qgetdata", QGETDATA + "ff", {"error": 0xFF, "error_name": "UNDEFINED"}),
    (
        "qdata",
        QDATA_OK,
        {
            "request": {"data_mask": 3, "error": 0, "error_name": "NONE"},
            "quorum_vvec": ["a5" * 48, "a6" * 48],
            "enc_contributions": [{"ephemeral_pub_key": "b2" * 48, "iv_seed": "c4" * 32, "data": "d4" * 32}],
        },
    ),
    (
        "qdata",
        QDATA_ERROR,
        {
            "request": {"error": 3, "error_name": "QUORUM_NOT_FOUND"},
            "quorum_vvec": None,
            "enc_contributions": None,
        },
    ),
    ("qdata", QDATA_VVEC, {"quorum_vvec": ["a7" * 48], "enc_contributions": None}),
    # a request echoed without nError reads as UNDEFINED: no data
    ("qdata", QGETDATA, {"request": {"error": None}, "quorum_vvec": None}),
]

# Known-good payloads, for the decoder-wide fuzz test.
VECTORS = [(command, payload) for command, payload, _ in CASES]

# driven by test_tables.py: the rows list some fields; a stray byte can
# start an optional field (qgetdata, qdata), so two, refused for any reason
TABLE = Table(CASES, match=assert_subset, extra="0000", reason=None)


def test_qgetdata_sizes():
    assert len(bytes.fromhex(QGETDATA)) == 67


def test_truncated_contribution_says_where():
    raw = bytes.fromhex(QCONTRIB)[:200]  # 65 header + 1 + 96 vvec = 162; 200 is in the ephemeral key
    with pytest.raises(DecodeError) as info:
        decode("qcontrib", raw)
    assert "ephemeral_pub_key" in info.value.path
    assert info.value.offset == 200


def test_bitset_pad_bits_rejected():
    bad = QCOMPLAINT.replace("0a" + "0102", "0a" + "0106", 1)  # bit 10 of a 10-bit set
    with pytest.raises(DecodeError) as info:
        decode("qcomplaint", bytes.fromhex(bad))
    assert "bad_members" in info.value.path


def test_unknown_commitment_version_rejected():
    with pytest.raises(DecodeError):
        decode("qfcommit", bytes.fromhex("0500" + QFCOMMIT[4:]))


def test_hostile_count_fails_fast():
    # qjustify claiming 2^32-1 contributions
    hostile = bytes.fromhex("64" + QUORUM_HASH + PRO_TX_HASH + "feffffffff") + bytes(200)
    start = time.perf_counter()
    with pytest.raises(DecodeError) as info:
        decode("qjustify", hostile)
    assert time.perf_counter() - start < 0.1
    assert "contributions" in info.value.path


# --- hypothesis: build a random message, decode it, build it again --------------


def _hex(n):
    return st.binary(min_size=n, max_size=n).map(bytes.hex)


def _bits(max_size=64):
    return st.text(alphabet="01", max_size=max_size)


_head = {"llmq_type": st.integers(0, 255), "quorum_hash": _hex(32), "pro_tx_hash": _hex(32)}

_contrib = st.fixed_dictionaries(
    {
        **_head,
        "vvec": st.lists(_hex(48), max_size=3),
        "contributions": st.fixed_dictionaries(
            {
                "ephemeral_pub_key": _hex(48),
                "iv_seed": _hex(32),
                "blobs": st.lists(st.binary(max_size=40).map(bytes.hex), max_size=3),
            }
        ),
        "sig": _hex(96),
    }
)
_complaint = st.fixed_dictionaries(
    {**_head, "bad_members": _bits(), "complain_for_members": _bits(), "sig": _hex(96)}
)
_justify = st.fixed_dictionaries(
    {
        **_head,
        "contributions": st.lists(
            st.fixed_dictionaries({"index": st.integers(0, 0xFFFFFFFF), "key": _hex(32)}), max_size=3
        ),
        "sig": _hex(96),
    }
)
_pcommit = st.fixed_dictionaries(
    {
        **_head,
        "valid_members": _bits(),
        "quorum_public_key": _hex(48),
        "quorum_vvec_hash": _hex(32),
        "quorum_sig": _hex(96),
        "sig": _hex(96),
    }
)


@st.composite
def _fcommit(draw):
    version = draw(st.integers(1, 4))
    return {
        "commitment": {
            "version": version,
            "llmq_type": draw(st.integers(0, 255)),
            "quorum_hash": draw(_hex(32)),
            "quorum_index": draw(st.integers(-(2**15), 2**15 - 1)) if version in (2, 4) else None,
            "signers": draw(_bits()),
            "valid_members": draw(_bits()),
            "quorum_public_key": draw(_hex(48)),
            "quorum_vvec_hash": draw(_hex(32)),
            "quorum_sig": draw(_hex(96)),
            "members_sig": draw(_hex(96)),
        }
    }


_error = st.one_of(st.none(), st.integers(0, 255))


@st.composite
def _request(draw):
    return {
        "llmq_type": draw(st.integers(0, 255)),
        "quorum_hash": draw(_hex(32)),
        "data_mask": draw(st.integers(0, 0xFFFF)),
        "pro_tx_hash": draw(_hex(32)),
        "error": draw(_error),
    }


@st.composite
def _qdata(draw):
    request = draw(_request())
    ok = request["error"] == 0
    enc = st.fixed_dictionaries(
        {"ephemeral_pub_key": _hex(48), "iv_seed": _hex(32), "data": st.binary(max_size=40).map(bytes.hex)}
    )
    return {
        "request": request,
        "quorum_vvec": draw(st.lists(_hex(48), max_size=3)) if ok and request["data_mask"] & 1 else None,
        "enc_contributions": draw(st.lists(enc, max_size=2)) if ok and request["data_mask"] & 2 else None,
    }


MESSAGES = st.one_of(
    st.tuples(st.just("qcontrib"), _contrib),
    st.tuples(st.just("qcomplaint"), _complaint),
    st.tuples(st.just("qjustify"), _justify),
    st.tuples(st.just("qpcommit"), _pcommit),
    st.tuples(st.just("qfcommit"), _fcommit()),
    st.tuples(st.just("qgetdata"), _request()),
    st.tuples(st.just("qdata"), _qdata()),
    st.tuples(st.just("qsendrecsigs"), st.fixed_dictionaries({"wants_recsigs": st.integers(0, 255)})),
)


@settings(max_examples=100, deadline=None)
@given(MESSAGES)
def test_round_trip_property(message):
    command, obj = message
    check_built_object(command, obj)
