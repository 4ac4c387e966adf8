"""LLMQ signing sessions: share announcements, shares, recovered signatures.

Follows dashpay/dash src/llmq/signing_shares.h (CSigSesAnn, CSigSharesInv,
CBatchedSigShares, CSigShare; older: llmq/quorums_signing_shares.h) and
src/llmq/signing.h (CRecoveredSig; older: llmq/quorums_signing.h), read in
CSigSharesManager::ProcessMessage (newest: llmq/net_signing.cpp).

Each of qsigsesann, qsigsinv, qgetsigs, qbsigs and qsigshare is a
``std::vector`` of its structure.  Core caps the counts after parsing
(CSigSharesManager::ProcessMessage: 100 announcements, 200 invs, 32 shares,
400 sigs in all the batches of a qbsigs) and bans a sender that sends
more; the same counts are refused here, before an element is read.  A
session id is a per-peer number the sender picks for one signing session
(any u32 but 0xFFFFFFFF), written as a VarInt.
"""

from __future__ import annotations

from construct import ConstructError, Int8ub, Int16ul, StreamError, Terminated, this

from .bitsets import AutoBitSet
from .limits import Limit, check_count
from .llmq_types import MAX_QUORUM_MEMBERS, LLMQTypeName
from .primitives import BLSSig, CompactSize, Hash256, Identified, VarInt, sha256d
from .structs import Struct, at_index
from .vectors import VarArray

# llmq/signing_shares.h, CSigSharesManager: the most elements of each message
# Core accepts (BanNode above them, signing_shares.cpp ProcessMessage) and
# the most its own SendMessages puts in one.
MAX_MSGS_CNT_QSIGSESANN = Limit(100, "MAX_MSGS_CNT_QSIGSESANN", "src/llmq/signing_shares.h")
MAX_MSGS_CNT_QGETSIGSHARES = Limit(200, "MAX_MSGS_CNT_QGETSIGSHARES", "src/llmq/signing_shares.h")
MAX_MSGS_CNT_QSIGSHARESINV = Limit(200, "MAX_MSGS_CNT_QSIGSHARESINV", "src/llmq/signing_shares.h")
MAX_MSGS_SIG_SHARES = Limit(32, "MAX_MSGS_SIG_SHARES", "src/llmq/signing_shares.h")
# Shares in all the batches of one qbsigs together.  Core's sender never
# writes an empty batch (SendMessages asserts it), so a qbsigs also has at
# most this many batches.
MAX_MSGS_TOTAL_BATCHED_SIGS = Limit(400, "MAX_MSGS_TOTAL_BATCHED_SIGS", "src/llmq/signing_shares.h")

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
# quorum size (VerifySigSharesInv bans another), so at most the largest
# quorum's; the bitset picks the shorter of its two forms.
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


def _shares_left(context) -> Limit:
    """What the batches before this one leave of MAX_MSGS_TOTAL_BATCHED_SIGS."""
    outer = context.get("_")
    used = outer.get(_SHARES_USED, 0) if outer is not None else 0
    if not used:
        return MAX_MSGS_TOTAL_BATCHED_SIGS
    limit = MAX_MSGS_TOTAL_BATCHED_SIGS
    return Limit(limit - used, limit.name, f"less {used} shares in the batches before, {limit.source}")


# CBatchedSigShares: shares of one session, members named by index.
BatchedSigShares = Struct(
    "session_id" / VarInt,
    "sig_shares" / VarArray(BatchedSigShare, min_size=98, max_count=_shares_left),
)

# The context key where _Batches counts the shares of the batches read so far.
_SHARES_USED = "_sig_shares_used"


class _Batches(VarArray):
    """vec<CBatchedSigShares>, with MAX_MSGS_TOTAL_BATCHED_SIGS over all batches.

    Each batch's share count is checked, before its shares are read,
    against what the batches before it left (``_shares_left``).
    """

    def __init__(self):
        super().__init__(BatchedSigShares, min_size=2, max_count=MAX_MSGS_TOTAL_BATCHED_SIGS)

    def _parse(self, stream, context, path):
        count = CompactSize._parsereport(stream, context, path)
        check_count(count, self.min_size, MAX_MSGS_TOTAL_BATCHED_SIGS, stream, path)
        return self._batches(count, stream, context, path, [])

    def parse_prefix(self, stream, context, path) -> list:
        count = CompactSize._parsereport(stream, context, path)
        check_count(count, 0, MAX_MSGS_TOTAL_BATCHED_SIGS, stream, path)
        batches: list = []
        try:
            self._batches(count, stream, context, path, batches)
        except StreamError:
            pass  # the batches read whole stay in ``batches``
        return batches

    @staticmethod
    def _batches(count, stream, context, path, batches) -> list:
        context[_SHARES_USED] = 0
        try:
            for _ in range(count):
                batch = BatchedSigShares._parsereport(stream, context, path)
                batches.append(batch)
                context[_SHARES_USED] += len(batch["sig_shares"])
        except ConstructError as exc:
            if isinstance(exc, StreamError):
                raise  # the bytes ran out: parse_prefix keeps what was read
            raise at_index(exc, path, len(batches)) from None
        finally:
            context.pop(_SHARES_USED, None)
        return batches

    def _build(self, obj, stream, context, path):
        if isinstance(obj, (list, tuple)):
            shares = sum(len(b.get("sig_shares") or ()) for b in obj if isinstance(b, dict))
            if shares > MAX_MSGS_TOTAL_BATCHED_SIGS:
                raise ConstructError(
                    f"{shares} shares in all, above {MAX_MSGS_TOTAL_BATCHED_SIGS}", path=path
                )
        return super()._build(obj, stream, context, path)


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
    "anns" / VarArray(SigSesAnn, min_size=98, max_count=MAX_MSGS_CNT_QSIGSESANN),
    Terminated,
)

# qsigsinv (shares the sender has) and qgetsigs (shares it wants): both
# vec<CSigSharesInv>.
QSigSharesInv = Struct(
    "invs" / VarArray(SigSharesInv, min_size=3, max_count=MAX_MSGS_CNT_QSIGSHARESINV),
    Terminated,
)
QGetSigShares = Struct(
    "invs" / VarArray(SigSharesInv, min_size=3, max_count=MAX_MSGS_CNT_QGETSIGSHARES),
    Terminated,
)

# qbsigs — vec<CBatchedSigShares>.
QBSigs = Struct(
    "batches" / _Batches(),
    Terminated,
)

# qsigshare — vec<CSigShare>, 195 bytes each.
QSigShare = Struct(
    "sig_shares" / VarArray(SigShare, min_size=195, max_count=MAX_MSGS_SIG_SHARES),
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
    "qsigsinv": QSigSharesInv,
    "qgetsigs": QGetSigShares,
    "qbsigs": QBSigs,
    "qsigshare": QSigShare,
    "qsigrec": QSigRec,
}

# The info column (see control.py SUMMARIES): batches by what they hold,
# then the quorum type and signing ids of their sessions.
SUMMARIES = {
    "qsigsesann": (("anns", "count", "session|sessions"), ("anns.llmq_type", "name"), ("anns.id", "hash", "id"),
                   ("anns.msg_hash", "hash", "msg")),
    "qsigsinv": (("invs", "count", "inv|invs"), ("invs.session_id", "plain", "session")),
    "qgetsigs": (("invs", "count", "inv|invs"), ("invs.session_id", "plain", "session")),
    "qbsigs": (("batches.sig_shares", "count", "sig share|sig shares"), ("batches.session_id", "plain", "session")),
    "qsigshare": (("sig_shares", "count", "sig share|sig shares"), ("sig_shares.llmq_type", "name"),
                  ("sig_shares.id", "hash", "id"), ("sig_shares.quorum_member", "plain", "member")),
    "qsigrec": (("llmq_type", "name"), ("id", "hash", "id"), ("msg_hash", "hash", "msg"),
                ("quorum_hash", "hash", "quorum")),
}  # fmt: skip
