"""Governance: ``govsync``, ``govobj``, ``govobjvote`` and ``ssc``.

Follows dashpay/dash src/governance/net_governance.cpp (how ``govsync``,
``govobj`` and ``govobjvote`` are read; older releases in
src/governance/governance.cpp), src/governance/common.h
(``Governance::Object``, the network form of ``CGovernanceObject`` in
src/governance/object.h), src/governance/vote.h (``CGovernanceVote``),
src/common/bloom.h (``CBloomFilter``) and src/masternode/sync.h (``ssc``).
"""

from __future__ import annotations

import struct

from construct import Computed, If, Int32sl, Int64sl, Terminated, this

from .filters import BloomFilter
from .primitives import (
    Hash256,
    Identified,
    OutPoint,
    VarBytes,
    compact_bytes,
    outpoint_bytes,
    sha256d,
)
from .structs import Named, Struct
from .versions import GOVERNANCE_FILTER_PROTO_VERSION

# GovernanceObject (common.h).  Older releases also had 3 = WATCHDOG.
OBJECT_TYPES = {0: "UNKNOWN", 1: "PROPOSAL", 2: "TRIGGER", 3: "WATCHDOG"}
# vote_outcome_enum_t and vote_signal_enum_t (vote.h).
VOTE_OUTCOMES = {0: "NONE", 1: "YES", 2: "NO", 3: "ABSTAIN"}
VOTE_SIGNALS = {0: "NONE", 1: "FUNDING", 2: "VALID", 3: "DELETE", 4: "ENDORSED"}
# What an ``ssc`` counts (masternode/sync.h); 2 and 3 are the pre-DIP3
# masternode list and payment votes, kept for old captures.
SYNC_ITEMS = {2: "LIST", 3: "MNW", 10: "GOVOBJ", 11: "GOVOBJ_VOTE"}


def _data_text(context) -> str | None:
    """The object's data as text when it is UTF-8 (it is JSON), else None.

    Also runs on build, where ``data`` may be bytes or anything a caller
    passed; the result is ignored there.
    """
    data = context["data"]
    try:
        raw = data if isinstance(data, (bytes, bytearray)) else bytes.fromhex(data)
        return raw.decode("utf-8")
    except (TypeError, ValueError):  # UnicodeDecodeError is a ValueError
        return None


# Core hashes a masternode outpoint in governance objects and votes as the
# CTxIn it once was: the outpoint, an empty scriptSig (one 0x00 byte) and
# nSequence 0xffffffff ("adding dummy values here to match old hashing").
_DUMMY_TXIN_TAIL = b"\x00\xff\xff\xff\xff"


def _object_hash(obj: dict) -> bytes:
    """Governance::Object::GetHash (src/governance/common.cpp; older releases
    CGovernanceObject::GetHash in governance/object.cpp): SHA256d of
    hashParent, nRevision, nTime, the data *as its hex string* (a
    CompactSize-prefixed std::string), the outpoint as a CTxIn and vchSig.
    The collateral hash and the object type are left out, as in Core."""
    data_hex = obj["data"].lower().encode("ascii")
    sig = bytes.fromhex(obj["sig"])
    return sha256d(
        bytes.fromhex(obj["hash_parent"])[::-1]
        + struct.pack("<iq", obj["revision"], obj["time"])
        + compact_bytes(len(data_hex))
        + data_hex
        + outpoint_bytes(obj["masternode_outpoint"])
        + _DUMMY_TXIN_TAIL
        + compact_bytes(len(sig))
        + sig
    )


def _vote_hash(obj: dict) -> bytes:
    """CGovernanceVote::UpdateHash (src/governance/vote.cpp): SHA256d of the
    outpoint as a CTxIn, nParentHash, nVoteSignal, nVoteOutcome and nTime.
    Signal comes before outcome here (the wire has outcome first) and the
    signature is left out, so a re-signed vote keeps its hash."""
    return sha256d(
        outpoint_bytes(obj["masternode_outpoint"])
        + _DUMMY_TXIN_TAIL
        + bytes.fromhex(obj["parent_hash"])[::-1]
        + struct.pack("<iiq", obj["vote_signal"], obj["vote_outcome"], obj["time"])
    )


# A zero ``prop`` asks for every object (answered by invs and an ``ssc``
# with item 10); a non-zero one asks for that object's votes, minus those
# matching ``filter`` (answered by invs and an ``ssc`` with item 11).  Both
# forms have the same layout.  Peers below GOVERNANCE_FILTER_PROTO_VERSION
# (70206, under today's minimum peer version) sent ``prop`` alone.
GovSync = Struct(
    "prop" / Hash256,
    "filter" / If(this._params.version >= GOVERNANCE_FILTER_PROTO_VERSION, BloomFilter),
    Terminated,
)

# Governance::Object; the vote and cache fields of CGovernanceObject are
# written to disk only.  ``collateral_hash`` is the fee transaction (zero
# for triggers; one snapshot renames it m_commitment_hash, same bytes).
# ``data`` is JSON describing the proposal or trigger, also shown as text.
# ``sig`` is empty for proposals and a 96-byte BLS operator signature for
# triggers.  ``hash`` (not on the wire) is Core's object hash.
GovObj = Identified(
    Struct(
        "hash_parent" / Hash256,
        "revision" / Int32sl,
        "time" / Int64sl,
        "collateral_hash" / Hash256,
        "data" / VarBytes(),
        "data_text" / Computed(_data_text),
        "type" / Int32sl,
        "type_name" / Named(OBJECT_TYPES, "type"),
        "masternode_outpoint" / OutPoint,
        "sig" / VarBytes(),
        Terminated,
    ),
    "hash",  # the MSG_GOVERNANCE_OBJECT (17) inv hash, Core's objectHash
    _object_hash,
    from_fields=True,
)

# CGovernanceVote.  Outcome comes before signal on the wire.  ``sig`` is a
# 65-byte compact ECDSA signature by the voting key or a 96-byte BLS
# signature by the operator key.
GovObjVote = Identified(
    Struct(
        "masternode_outpoint" / OutPoint,
        "parent_hash" / Hash256,
        "vote_outcome" / Int32sl,
        "vote_outcome_name" / Named(VOTE_OUTCOMES, "vote_outcome"),
        "vote_signal" / Int32sl,
        "vote_signal_name" / Named(VOTE_SIGNALS, "vote_signal"),
        "time" / Int64sl,
        "sig" / VarBytes(),
        Terminated,
    ),
    "hash",  # the MSG_GOVERNANCE_OBJECT_VOTE (18) inv hash
    _vote_hash,
    from_fields=True,
)

# Sync status count: how many items the peer is about to announce
# (CMasternodeSync::ProcessMessage reads two ints).
Ssc = Struct(
    "item_id" / Int32sl,
    "item_name" / Named(SYNC_ITEMS, "item_id"),
    "count" / Int32sl,
    Terminated,
)

MESSAGES = {
    "govsync": GovSync,
    "govobj": GovObj,
    "govobjvote": GovObjVote,
    "ssc": Ssc,
}

# The info column (see control.py SUMMARIES): an object by type, hash and
# the name in its JSON data; a vote by signal and outcome.
SUMMARIES = {
    "govsync": (("prop", "hash", "object"),),
    "govobj": (("type", "name"), ("hash", "hash", ""), ("data_text", "json:name", '"{}"'),
               ("collateral_hash", "hash", "collateral")),
    "govobjvote": (("vote_signal", "name"), ("vote_outcome", "name"), ("parent_hash", "hash", "object"),
                   ("masternode_outpoint.hash", "hash", "mn")),
    "ssc": (("item_id", "name"), ("count", "plain")),
}  # fmt: skip
