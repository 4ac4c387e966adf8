"""Sporks: ``spork`` and ``getsporks``.

Follows dashpay/dash src/spork.h (``CSporkMessage``, ``SporkId``) and
src/spork.cpp (``CSporkManager::ProcessSpork``, which answers ``getsporks``
with one ``spork`` per active spork).
"""

from __future__ import annotations

from construct import Int32sl, Int64sl, Terminated

from .primitives import Identified, VarBytes, sha256d
from .structs import Named, Struct

# SporkId (spork.h).  Mainnet values are hard-coded since Dash Core 21, but
# sporks still travel; the retired ids are kept so old captures read well
# (SPORK_6 removed in 0.16, SPORK_22 in 0.17, SPORK_24 in 22.0, the rest
# with the pre-DIP3 masternode system).  Unknown ids get no name.
SPORK_NAMES = {
    10001: "SPORK_2_INSTANTSEND_ENABLED",
    10002: "SPORK_3_INSTANTSEND_BLOCK_FILTERING",
    10004: "SPORK_5_INSTANTSEND_MAX_VALUE",
    10005: "SPORK_6_NEW_SIGS",
    10007: "SPORK_8_MASTERNODE_PAYMENT_ENFORCEMENT",
    10008: "SPORK_9_SUPERBLOCKS_ENABLED",
    10009: "SPORK_10_MASTERNODE_PAY_UPDATED_NODES",
    10011: "SPORK_12_RECONSIDER_BLOCKS",
    10012: "SPORK_13_OLD_SUPERBLOCK_FLAG",
    10013: "SPORK_14_REQUIRE_SENTINEL_FLAG",
    10014: "SPORK_15_DETERMINISTIC_MNS_ENABLED",
    10015: "SPORK_16_INSTANTSEND_AUTOLOCKS",
    10016: "SPORK_17_QUORUM_DKG_ENABLED",
    10018: "SPORK_19_CHAINLOCKS_ENABLED",
    10019: "SPORK_20_INSTANTSEND_LLMQ_BASED",
    10020: "SPORK_21_QUORUM_ALL_CONNECTED",
    10021: "SPORK_22_PS_MORE_PARTICIPANTS",
    10022: "SPORK_23_QUORUM_POSE",
    10023: "SPORK_24_TEST_EHF",
}

# CSporkMessage.  ``value`` is usually a unix time (the spork is on once it
# is in the past; 4070908800 means "off") or a small mode number.  ``sig``
# is a 65-byte compact recoverable ECDSA signature by a spork key.
# ``hash`` (not on the wire) is the MSG_SPORK (6) inv hash: CSporkMessage::
# GetHash is SerializeHash of the whole message, signature included
# (src/spork.cpp); the signed hash (GetSignatureHash) leaves vchSig out.
Spork = Identified(
    Struct(
        "spork_id" / Int32sl,
        "spork_name" / Named(SPORK_NAMES, "spork_id"),
        "value" / Int64sl,
        "time_signed" / Int64sl,
        "sig" / VarBytes(),
        Terminated,
    ),
    "hash",
    sha256d,
)

# No payload: a request for every active spork.
GetSporks = Struct(Terminated)

MESSAGES = {
    "spork": Spork,
    "getsporks": GetSporks,
}

# The info column (see control.py SUMMARIES): the spork by its SporkId name
# (src/spork.h, SPORK_NAMES above), then its value.
SUMMARIES = {
    "spork": (("spork_id", "name"), ("value", "plain"), ("time_signed", "plain", "signed")),
    "getsporks": ("asks for every active spork",),
}
