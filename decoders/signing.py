"""LLMQ signing sessions: share announcements, shares, recovered signatures.

Follows dashpay/dash src/llmq/signing_shares.h (CSigSesAnn, CSigSharesInv,
CBatchedSigShares, CSigShare; older: llmq/quorums_signing_shares.h) and
src/llmq/signing.h (CRecoveredSig; older: llmq/quorums_signing.h), read in
CSigSharesManager::ProcessMessage (newest: llmq/net_signing.cpp).

Each of qsigsesann, qsigsinv, qgetsigs, qbsigs and qsigshare is a
``std::vector`` of its structure; Core caps the counts after parsing
(100 announcements, 200 invs, 32 shares, 400 sigs per qbsigs) and bans the
sender, so a decoder of recorded traffic reads whatever was sent.  A
session id is a per-peer number the sender picks for one signing session
(any u32 but 0xFFFFFFFF), written as a VarInt.
"""

from __future__ import annotations

from construct import Int8ub, Int16ul, Terminated, this

from .bitsets import AutoBitSet
from .llmq_types import LLMQTypeName
from .primitives import BLSSig, CompactSize, Hash256, Identified, VarInt, sha256d
from .structs import Struct
from .vectors import VarArray

# The largest quorum has 400 members; the newest CSigSharesInv refuses a
# larger invSize while parsing (MAX_MSGS_TOTAL_BATCHED_SIGS, signing_shares.h).
MAX_QUORUM_MEMBERS = 400

# CSigSesAnn: binds a session id to (llmqType, quorumHash, id, msgHash).
SigSesAnn = Struct(
    "session_id" / VarInt,
    "llmq_type" / Int8ub,
    "llmq_type_name" / LLMQTypeName,
    "quorum_hash" / Hash256,
    "id" / Hash256,
    "msg_hash" / Hash256,
)

# CSigSharesInv: bit i = the share of quorum member i.  invSize is the
# quorum size; the bitset picks the shorter of its two forms.
SigSharesInv = Struct(
    "session_id" / VarInt,
    "inv_size" / CompactSize,
    "inv" / AutoBitSet(this.inv_size, max_size=MAX_QUORUM_MEMBERS),
)

# One pair<uint16_t quorumMember, CBLSLazySignature> of CBatchedSigShares.
BatchedSigShare = Struct(
    "quorum_member" / Int16ul,
    "sig_share" / BLSSig,
)

# CBatchedSigShares: shares of one session, members named by index.
BatchedSigShares = Struct(
    "session_id" / VarInt,
    "sig_shares" / VarArray(BatchedSigShare, min_size=98),
)

# CSigShare: a self-describing share (used when all members are connected,
# SPORK_21).  Note quorumMember comes before id, unlike CSigSesAnn.
SigShare = Struct(
    "llmq_type" / Int8ub,
    "llmq_type_name" / LLMQTypeName,
    "quorum_hash" / Hash256,
    "quorum_member" / Int16ul,
    "id" / Hash256,
    "msg_hash" / Hash256,
    "sig_share" / BLSSig,
)

# qsigsesann — vec<CSigSesAnn>.
QSigSesAnn = Struct(
    "anns" / VarArray(SigSesAnn, min_size=98),
    Terminated,
)

# qsigsinv (shares the sender has) and qgetsigs (shares it wants): both
# vec<CSigSharesInv>.
SigSharesInvs = Struct(
    "invs" / VarArray(SigSharesInv, min_size=3),
    Terminated,
)

# qbsigs — vec<CBatchedSigShares>.
QBSigs = Struct(
    "batches" / VarArray(BatchedSigShares, min_size=2),
    Terminated,
)

# qsigshare — vec<CSigShare>, 195 bytes each.
QSigShare = Struct(
    "sig_shares" / VarArray(SigShare, min_size=195),
    Terminated,
)

# qsigrec — CRecoveredSig (inv 28), 193 bytes; its inv hash is SHA256d of
# the payload (CRecoveredSig::UpdateHash).
QSigRec = Identified(
    Struct(
        "llmq_type" / Int8ub,
        "llmq_type_name" / LLMQTypeName,
        "quorum_hash" / Hash256,
        "id" / Hash256,
        "msg_hash" / Hash256,
        "sig" / BLSSig,
        Terminated,
    ),
    "hash",
    sha256d,
)

MESSAGES = {
    "qsigsesann": QSigSesAnn,
    "qsigsinv": SigSharesInvs,
    "qgetsigs": SigSharesInvs,
    "qbsigs": QBSigs,
    "qsigshare": QSigShare,
    "qsigrec": QSigRec,
}
