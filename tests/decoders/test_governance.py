"""govsync, govobj, govobjvote and ssc, from payloads assembled by hand.

Layouts: dashpay/dash src/governance/net_governance.cpp, common.h, vote.h;
src/common/bloom.h.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from p2pcap.decoders import DecodeError, build, decode

from .vectors import VERSIONED, Table, compact, decode_error, sha256d_shown, shown

PROP = bytes(range(32)).hex()
COLLATERAL = bytes(range(0x20, 0x40)).hex()
MN_TXID = bytes(range(0x40, 0x60)).hex()
ZERO = "00" * 32
ECDSA_SIG = "1f" + "6d" * 64  # 65 bytes
BLS_SIG = "b1" + "9e" * 94 + "04"  # 96 bytes
JSON = '{"name":"p2pcap","payment_amount":5,"type":1}'
JSON_HEX = JSON.encode().hex()  # 45 bytes = 0x2d

GOVSYNC_VOTES = (
    PROP  # prop: the object whose votes are wanted
    + "03"  # filter.data: CompactSize 3
    + "a1b2c3"  # filter.data bytes
    + "0b000000"  # filter.hash_funcs: u32 11
    + "efbeadde"  # filter.tweak: u32 0xdeadbeef
    + "02"  # filter.flags: u8 BLOOM_UPDATE_P2PUBKEY_ONLY
)
GOVSYNC_ALL = (
    ZERO  # prop: zero = every object
    + "00"  # filter.data: empty
    + "00000000"  # filter.hash_funcs: 0
    + "00000000"  # filter.tweak: 0
    + "00"  # filter.flags: 0
)
EMPTY_FILTER = {"data": "", "hash_funcs": 0, "tweak": 0, "flags": 0, "flags_name": "BLOOM_UPDATE_NONE"}

PROPOSAL = (
    ZERO  # hash_parent: root object
    + "01000000"  # revision: i32 1
    + "00e1f50500000000"  # time: i64 100000000
    + COLLATERAL  # collateral_hash
    + "2d"  # data: CompactSize 45
    + JSON_HEX  # data bytes (JSON text)
    + "01000000"  # type: i32 1 PROPOSAL
    + "00" * 32  # masternode_outpoint.hash: null
    + "ffffffff"  # masternode_outpoint.n: u32 -1 (null outpoint)
    + "00"  # sig: empty for proposals
)
TRIGGER = (
    PROP  # hash_parent
    + "ffffffff"  # revision: i32 -1
    + "ffffffffffffffff"  # time: i64 -1
    + ZERO  # collateral_hash: zero for triggers
    + "02"  # data: CompactSize 2
    + "c328"  # data bytes, not UTF-8
    + "02000000"  # type: i32 2 TRIGGER
    + MN_TXID  # masternode_outpoint.hash
    + "01000000"  # masternode_outpoint.n: 1
    + "60"  # sig: CompactSize 96
    + BLS_SIG  # sig bytes
)
VOTE = (
    MN_TXID  # masternode_outpoint.hash
    + "07000000"  # masternode_outpoint.n: 7
    + PROP  # parent_hash
    + "01000000"  # vote_outcome: i32 1 YES
    + "01000000"  # vote_signal: i32 1 FUNDING
    + "8051010000000000"  # time: i64 86400
    + "41"  # sig: CompactSize 65
    + ECDSA_SIG  # sig bytes
)
VOTE_BLS = (
    MN_TXID  # masternode_outpoint.hash
    + "00000000"  # masternode_outpoint.n: 0
    + PROP  # parent_hash
    + "03000000"  # vote_outcome: i32 3 ABSTAIN
    + "04000000"  # vote_signal: i32 4 ENDORSED
    + "0000000000000000"  # time: i64 0
    + "60"  # sig: CompactSize 96
    + BLS_SIG  # sig bytes
)


# Object and vote hashes, assembled by hand from Core's GetHash (not from the
# decoder): src/governance/common.cpp Governance::Object::GetHash hashes
# hashParent, nRevision, nTime, the data's hex *string*, the outpoint as a
# CTxIn (empty scriptSig 00, nSequence ffffffff) and vchSig;
# src/governance/vote.cpp CGovernanceVote::UpdateHash hashes the outpoint as
# a CTxIn, nParentHash, nVoteSignal, nVoteOutcome (signal first) and nTime.
def _text_hex(text: str) -> str:  # a std::string: CompactSize length + bytes
    return (compact(len(text)) + text.encode()).hex()


PROPOSAL_HASH = sha256d_shown(
    ZERO  # hashParent
    + "01000000"  # nRevision
    + "00e1f50500000000"  # nTime
    + _text_hex(JSON_HEX)  # HexStr(vchData), as a string
    + "00" * 32
    + "ffffffff"  # masternodeOutpoint
    + "00"
    + "ffffffff"  # dummy scriptSig, nSequence
    + "00"  # vchSig: empty
)
TRIGGER_HASH = sha256d_shown(
    PROP
    + "ffffffff"
    + "ffffffffffffffff"
    + _text_hex("c328")
    + MN_TXID
    + "01000000"
    + "00"
    + "ffffffff"
    + "60"
    + BLS_SIG
)
VOTE_HASH = sha256d_shown(
    MN_TXID
    + "07000000"
    + "00"
    + "ffffffff"  # outpoint as a CTxIn
    + PROP  # nParentHash
    + "01000000"  # nVoteSignal FUNDING
    + "01000000"  # nVoteOutcome YES
    + "8051010000000000"  # nTime; the signature is not hashed
)
VOTE_BLS_HASH = sha256d_shown(
    MN_TXID
    + "00000000"
    + "00"
    + "ffffffff"
    + PROP
    + "04000000"  # nVoteSignal ENDORSED
    + "03000000"  # nVoteOutcome ABSTAIN
    + "0000000000000000"
)

# (command, connection version or None for the newest, payload, expected)
CASES = [
    (
        "govsync",
        None,
        GOVSYNC_VOTES,
        {
            "prop": shown(PROP),
            "filter": {
                "data": "a1b2c3",
                "hash_funcs": 11,
                "tweak": 0xDEADBEEF,
                "flags": 2,
                "flags_name": "BLOOM_UPDATE_P2PUBKEY_ONLY",
            },
        },
    ),
    ("govsync", None, GOVSYNC_ALL, {"prop": ZERO, "filter": EMPTY_FILTER}),
    ("govsync", 70206, GOVSYNC_ALL, {"prop": ZERO, "filter": EMPTY_FILTER}),
    # before GOVERNANCE_FILTER_PROTO_VERSION: the hash alone
    ("govsync", 70205, ZERO, {"prop": ZERO, "filter": None}),
    (
        "govobj",
        None,
        PROPOSAL,
        {
            "hash_parent": ZERO,
            "revision": 1,
            "time": 100000000,
            "collateral_hash": shown(COLLATERAL),
            "data": JSON_HEX,
            "data_text": JSON,
            "type": 1,
            "type_name": "PROPOSAL",
            "masternode_outpoint": {"hash": ZERO, "n": 0xFFFFFFFF},
            "sig": "",
            "hash": PROPOSAL_HASH,
        },
    ),
    (
        "govobj",
        None,
        TRIGGER,
        {
            "hash_parent": shown(PROP),
            "revision": -1,
            "time": -1,
            "collateral_hash": ZERO,
            "data": "c328",
            "data_text": None,
            "type": 2,
            "type_name": "TRIGGER",
            "masternode_outpoint": {"hash": shown(MN_TXID), "n": 1},
            "sig": BLS_SIG,
            "hash": TRIGGER_HASH,
        },
    ),
    (
        "govobjvote",
        None,
        VOTE,
        {
            "masternode_outpoint": {"hash": shown(MN_TXID), "n": 7},
            "parent_hash": shown(PROP),
            "vote_outcome": 1,
            "vote_outcome_name": "YES",
            "vote_signal": 1,
            "vote_signal_name": "FUNDING",
            "time": 86400,
            "sig": ECDSA_SIG,
            "hash": VOTE_HASH,
        },
    ),
    (
        "govobjvote",
        None,
        VOTE_BLS,
        {
            "masternode_outpoint": {"hash": shown(MN_TXID), "n": 0},
            "parent_hash": shown(PROP),
            "vote_outcome": 3,
            "vote_outcome_name": "ABSTAIN",
            "vote_signal": 4,
            "vote_signal_name": "ENDORSED",
            "time": 0,
            "sig": BLS_SIG,
            "hash": VOTE_BLS_HASH,
        },
    ),
    (
        "ssc",
        None,
        "0a000000"  # item_id: i32 10 GOVOBJ
        "2a000000",  # count: i32 42
        {"item_id": 10, "item_name": "GOVOBJ", "count": 42},
    ),
    (
        "ssc",
        None,
        "0b000000"  # item_id: i32 11 GOVOBJ_VOTE
        "00000000",  # count: 0
        {"item_id": 11, "item_name": "GOVOBJ_VOTE", "count": 0},
    ),
    (
        "ssc",
        None,
        "63000000"  # item_id: i32 99, unknown
        "ffffffff",  # count: -1
        {"item_id": 99, "item_name": None, "count": -1},
    ),
]

TABLE = Table(CASES, fields=VERSIONED)  # driven by test_tables.py
VECTORS = [(command, payload) for command, version, payload, _ in CASES if version is None]


def test_govsync_needs_its_filter():
    # current Core always reads the filter after the hash
    with pytest.raises(DecodeError) as info:
        decode("govsync", bytes.fromhex(PROP))
    assert info.value.path == "(parsing) -> filter -> data"
    assert info.value.offset == 32


# offset: where reading stopped
@pytest.mark.parametrize(
    "command, payload, path, offset",
    [
        # data (at offset 76) claims 0x50 bytes, only 0x20 follow
        ("govobj", PROPOSAL[: 2 * 76] + "50" + "00" * 0x20, "(parsing) -> data", 77),
        ("govobj", PROPOSAL[:-2], "(parsing) -> sig", len(PROPOSAL) // 2 - 1),
        ("govobjvote", VOTE[: 2 * 80], "(parsing) -> time", 80),
        ("ssc", "0a000000", "(parsing) -> count", 4),
    ],
)
def test_errors(command, payload, path, offset):
    error = decode_error(command, payload)
    assert (error.path, error.offset) == (path, offset)


i32 = st.integers(-(2**31), 2**31 - 1)
i64 = st.integers(-(2**63), 2**63 - 1)
hash256 = st.binary(min_size=32, max_size=32).map(bytes.hex)
blob = st.binary(max_size=300).map(bytes.hex)
outpoint = st.fixed_dictionaries({"hash": hash256, "n": st.integers(0, 2**32 - 1)})
bloom = st.fixed_dictionaries(
    {
        "data": blob,
        "hash_funcs": st.integers(0, 2**32 - 1),
        "tweak": st.integers(0, 2**32 - 1),
        "flags": st.integers(0, 255),
    }
)
objects = st.fixed_dictionaries(
    {
        "hash_parent": hash256,
        "revision": i32,
        "time": i64,
        "collateral_hash": hash256,
        "data": st.one_of(blob, st.text(max_size=100).map(lambda t: t.encode().hex())),
        "type": i32,
        "masternode_outpoint": outpoint,
        "sig": blob,
    }
)
votes = st.fixed_dictionaries(
    {
        "masternode_outpoint": outpoint,
        "parent_hash": hash256,
        "vote_outcome": i32,
        "vote_signal": i32,
        "time": i64,
        "sig": blob,
    }
)


def _without_names(decoded):
    if not isinstance(decoded, dict):
        return decoded
    return {k: _without_names(v) for k, v in decoded.items() if not k.endswith(("_name", "_text"))}


@settings(max_examples=100, deadline=None)
@given(
    sync=st.fixed_dictionaries({"prop": hash256, "filter": bloom}),
    obj=objects,
    vote=votes,
    ssc=st.fixed_dictionaries({"item_id": i32, "count": i32}),
)
def test_round_trip(sync, obj, vote, ssc):
    for command, value in (("govsync", sync), ("govobj", obj), ("govobjvote", vote), ("ssc", ssc)):
        raw = build(command, value)
        decoded = decode(command, raw)
        computed = {"hash"} if command in ("govobj", "govobjvote") else set()
        assert set(decoded) - set(value) - computed == {k for k in decoded if k.endswith(("_name", "_text"))}
        assert {k: v for k, v in _without_names(decoded).items() if k not in computed} == value
        assert build(command, decoded) == raw
    text = decode("govobj", build("govobj", obj))["data_text"]
    if text is not None:
        assert text.encode().hex() == obj["data"]
