"""CFinalCommitment (every version), from payloads assembled by hand.

Layout: dashpay/dash src/llmq/commitment.h.  The
commitments travel here as ``qfcommit`` payloads; the same bytes are the
body of quorum commitment transactions (test_special_tx.py).
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from p2pcap.decoders import DecodeError, build, decode
from p2pcap.decoders.commitment import FINAL_COMMITMENT_MIN_SIZE, FinalCommitment

from .vectors import Table, sha256d_shown, shown

# decode.py words trailing bytes one way or the other; the offset is the first extra byte
TRAILING = "trailing bytes|expected end of stream"


# dashpay/dash src/llmq/params.h Consensus::LLMQType, copied by hand.
LLMQ_NAMES = {
    1: "llmq_50_60", 2: "llmq_400_60", 3: "llmq_400_85", 4: "llmq_100_67",
    5: "llmq_60_75", 6: "llmq_25_67", 100: "llmq_test", 101: "llmq_devnet",
    102: "llmq_test_v17", 103: "llmq_test_dip0024", 104: "llmq_test_instantsend",
    105: "llmq_devnet_dip0024", 106: "llmq_test_platform", 107: "llmq_devnet_platform",
    255: "llmq_none",
}  # fmt: skip

QUORUM_HASH = bytes(range(32)).hex()  # 000102..1f on the wire
PUBKEY = "a1" * 48
VVEC = "b2" * 32
QSIG = "c3" * 96
MSIG = "d4" * 96

V1 = (
    "0100"  # version 1: legacy BLS, not indexed
    "01"  # llmqType 1 (LLMQ_50_60)
    + QUORUM_HASH  # quorumHash
    + "32"  # signers: 50 bits
    "ffffffffffff03"  # all 50 set (0x03: bits 48, 49)
    "32"  # validMembers: 50 bits
    "ffffffffffff03"  # all set
    + PUBKEY  # quorumPublicKey, 48 bytes
    + VVEC  # quorumVvecHash
    + QSIG  # quorumSig, 96 bytes
    + MSIG  # membersSig, 96 bytes
)
V2 = (
    "0200"  # version 2: legacy BLS, indexed (rotation)
    "67" + QUORUM_HASH + "0100"  # llmqType 103 (LLMQ_TEST_DIP0024)  # quorumIndex: i16 1
    "3c"  # signers: 60 bits
    "feffffffffffff00"  # bit 0 clear, bits 1-55 set, bits 56-59 clear
    "3c"  # validMembers: 60 bits
    "ffffffffffffff0f"  # all 60 set
     + PUBKEY + VVEC + QSIG + MSIG
)
V3_NULL = (
    "0300"  # version 3: basic BLS, not indexed
    "04"  # llmqType 4 (LLMQ_100_67)
    + QUORUM_HASH
    + "64"  # signers: 100 bits
    + "00" * 13  # none set: a null commitment
    + "64"  # validMembers: 100 bits
    + "00" * 13
    + "00" * 48  # null public key
    + "00" * 32  # null vvec hash
    + "00" * 96  # null quorumSig
    + "00" * 96  # null membersSig
)
V4 = (
    "0400"  # version 4: basic BLS, indexed
    "67" + QUORUM_HASH + "ffff"  # llmqType 103  # quorumIndex: i16 -1 (signed)
    "08"  # signers: 8 bits
    "81"  # bits 0 and 7
    "08"  # validMembers: 8 bits
    "ff" + PUBKEY + VVEC + QSIG + MSIG
)


def commitment(
    version, llmq_type, name, index, signers, valid, pubkey=PUBKEY, vvec=VVEC, qsig=QSIG, msig=MSIG
):
    # signers_hex / valid_members_hex: what CFinalCommitment::ToJson prints
    # (BitsVectorToHexStr, src/llmq/commitment.h): bit i in byte i/8 at bit
    # i%8, which is the DYNBITSET's own byte body, so the hex is taken from
    # the payload bytes each vector writes (BITS below).
    return {
        "version": version,
        "llmq_type": llmq_type,
        "llmq_type_name": name,
        "quorum_hash": shown(QUORUM_HASH),
        "quorum_index": index,
        "signers": signers,
        "signers_count": signers.count("1"),
        "signers_hex": BITS[signers],
        "valid_members": valid,
        "valid_members_count": valid.count("1"),
        "valid_members_hex": BITS[valid],
        "quorum_public_key": pubkey,
        "quorum_vvec_hash": shown(vvec),
        "quorum_sig": qsig,
        "members_sig": msig,
    }


# bit string -> the bitset's bytes as the vectors above write them
BITS = {
    "1" * 50: "ffffffffffff03",
    "0" + "1" * 55 + "0000": "feffffffffffff00",
    "1" * 60: "ffffffffffffff0f",
    "0" * 100: "00" * 13,
    "10000001": "81",
    "1" * 8: "ff",
}

CASES = [
    ("qfcommit", V1, commitment(1, 1, "llmq_50_60", None, "1" * 50, "1" * 50)),
    ("qfcommit", V2, commitment(2, 103, "llmq_test_dip0024", 1, "0" + "1" * 55 + "0000", "1" * 60)),
    (
        "qfcommit",
        V3_NULL,
        commitment(
            3, 4, "llmq_100_67", None, "0" * 100, "0" * 100, "00" * 48, "00" * 32, "00" * 96, "00" * 96
        ),
    ),
    ("qfcommit", V4, commitment(4, 103, "llmq_test_dip0024", -1, "10000001", "1" * 8)),
]

# driven by test_tables.py; a row's expected is the commitment, the inv hash is of the whole payload
TABLE = Table(
    CASES,
    expect=lambda command, payload, expected: {"commitment": expected, "hash": sha256d_shown(payload)},
)
VECTORS = [(command, payload) for command, payload, _ in CASES]


def test_structure_alone():
    raw = bytes.fromhex(V2)
    assert FinalCommitment.parse(raw)["quorum_index"] == 1
    assert FinalCommitment.build(FinalCommitment.parse(raw)) == raw


def test_min_size_is_a_null_commitment_with_empty_bitsets():
    smallest = V1[:70] + "00" + "00" + "00" * (48 + 32 + 96 + 96)  # version..quorumHash, two empty bitsets
    assert len(bytes.fromhex(smallest)) == FINAL_COMMITMENT_MIN_SIZE
    assert FinalCommitment.parse(bytes.fromhex(smallest))["signers"] == ""


ERRORS = [
    ("unknown version", "0500" + V1[4:], "version 5 is not known", "commitment -> version", 2),
    ("version 0", "0000" + V1[4:], "version 0 is not known", "commitment -> version", 2),
    # bit 50 set in a 50-bit signers set: the last byte is 0x07 instead of 0x03
    ("bits beyond size", V1.replace("ffffffffffff03", "ffffffffffff07", 1), "bits set beyond", "signers", 43),
    ("trailing byte", V1 + "00", TRAILING, "", len(V1) // 2),
    # a signers count of 2^32-1 bits: fails before reading anything more
    ("hostile bitset size", V1[:70] + "feffffffff", "exceeds", "signers", 40),
    ("truncated", V1[:-2], "stream read less", "members_sig", None),
]


@pytest.mark.parametrize("name, payload, reason, path, offset", ERRORS, ids=[e[0] for e in ERRORS])
def test_errors(name, payload, reason, path, offset):
    with pytest.raises(DecodeError) as info:
        decode("qfcommit", bytes.fromhex(payload))
    assert re.search(reason, info.value.reason)
    assert path in info.value.path
    if offset is not None:
        assert info.value.offset == offset


@st.composite
def commitments(draw):
    version = draw(st.integers(1, 4))
    size = draw(st.integers(0, 400))
    bits = st.text(alphabet="01", min_size=size, max_size=size)
    return {
        "version": version,
        "llmq_type": draw(st.integers(0, 255)),
        "quorum_hash": draw(st.binary(min_size=32, max_size=32)).hex(),
        "quorum_index": draw(st.integers(-(2**15), 2**15 - 1)) if version in (2, 4) else None,
        "signers": draw(bits),
        "valid_members": draw(bits),
        "quorum_public_key": draw(st.binary(min_size=48, max_size=48)).hex(),
        "quorum_vvec_hash": draw(st.binary(min_size=32, max_size=32)).hex(),
        "quorum_sig": draw(st.binary(min_size=96, max_size=96)).hex(),
        "members_sig": draw(st.binary(min_size=96, max_size=96)).hex(),
    }


def _bitset_body(raw: bytes, obj: dict, which: str) -> bytes:
    """The bytes of ``signers`` or ``valid_members`` in a built qfcommit."""
    pos = 2 + 1 + 32 + (2 if obj["version"] in (2, 4) else 0)
    for name in ("signers", "valid_members"):
        size = len(obj[name])
        pos += 1 if size < 0xFD else 3  # CompactSize of at most 400
        body = raw[pos : pos + (size + 7) // 8]
        if name == which:
            return body
        pos += len(body)
    raise AssertionError(which)


@settings(max_examples=100, deadline=None)
@given(obj=commitments())
def test_round_trip(obj):
    raw = build("qfcommit", {"commitment": obj})
    decoded = decode("qfcommit", raw)
    signers, valid = obj["signers"], obj["valid_members"]
    got = dict(decoded["commitment"])
    signers_hex, valid_hex = got.pop("signers_hex"), got.pop("valid_members_hex")
    assert got == {
        **obj,
        "llmq_type_name": LLMQ_NAMES.get(obj["llmq_type"]),
        "signers_count": signers.count("1"),
        "valid_members_count": valid.count("1"),
    }
    # the hex is the bitset's bytes on the wire, after its CompactSize size
    assert bytes.fromhex(signers_hex) == _bitset_body(raw, obj, "signers")
    assert bytes.fromhex(valid_hex) == _bitset_body(raw, obj, "valid_members")
    assert build("qfcommit", decoded) == raw
