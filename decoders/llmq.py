"""LLMQ messages: the DKG rounds, quorum data requests, watch mode.

Follows dashpay/dash src/llmq/dkgmessages.h (CDKGContribution,
CDKGComplaint, CDKGJustification, CDKGPrematureCommitment; older releases
keep them in llmq/dkgsession.h), src/bls/bls_ies.h (the encrypted
contribution blobs), src/llmq/commitment.h (CFinalCommitment, decoded by
``commitment.py``), src/llmq/quorums.h (CQuorumDataRequest) and the QDATA
handler in src/llmq/net_quorum.cpp (older: quorums.cpp).  LLMQ type names
are llmq_types.py's.

Every DKG message starts with ``u8 llmqType`` and ``uint256 quorumHash``.
The inventory hash that announces a DKG message or a final commitment
(inv types 21, 23-26) is SHA256d of the whole payload; it is added as
``hash`` so an ``inv``/``getdata`` can be matched to its message.

BLS keys and signatures are kept as opaque bytes: their sizes never change
between the legacy and basic schemes, only the point encoding does.

Every bitset and vector of these messages has a bit or an entry per quorum
member (or per threshold member, which is fewer): PreVerifyMessage
(src/llmq/dkgsession.cpp) bans a contribution whose vvec is not the
threshold long or whose blobs are not one per member, a complaint or a
premature commitment whose bitsets are not the quorum's size, and a
justification naming a member twice; a qdata's vvec must hash to the
commitment's, its contributions be one per member.  So each is refused
above the largest quorum (llmq_types.MAX_QUORUM_MEMBERS) before an element
is read.
"""

from __future__ import annotations

from construct import If, Int8ub, Int16ul, Int32ul, Terminated, this

from .commitment import FinalCommitment
from .llmq_types import MAX_QUORUM_MEMBERS, LLMQTypeName, MemberBitSet
from .primitives import (
    BLSPubKey,
    BLSSecKey,
    BLSSig,
    Bool,
    Hash256,
    Identified,
    Trailing,
    VarBytes,
    sha256d,
)
from .structs import Named, Struct
from .vectors import VarArray

# CQuorumDataRequest::Errors (src/llmq/quorums.h).
DATA_REQUEST_ERRORS = {
    0x00: "NONE",
    0x01: "QUORUM_TYPE_INVALID",
    0x02: "QUORUM_BLOCK_NOT_FOUND",
    0x03: "QUORUM_NOT_FOUND",
    0x04: "MASTERNODE_IS_NO_MEMBER",
    0x05: "QUORUM_VERIFICATION_VECTOR_MISSING",
    0x06: "ENCRYPTED_CONTRIBUTIONS_MISSING",
    0xFF: "UNDEFINED",
}

# nDataMask bits (src/llmq/quorums.h).
QUORUM_VERIFICATION_VECTOR = 0x0001
ENCRYPTED_CONTRIBUTIONS = 0x0002


# CBLSIESMultiRecipientObjects<CBLSSecretKey> (bls_ies.h): one ephemeral key
# and IV seed, then one encrypted secret-key share per quorum member.
BLSIESMultiRecipientObjects = Struct(
    "ephemeral_pub_key" / BLSPubKey,
    "iv_seed" / Hash256,
    "blobs" / VarArray(VarBytes(), min_size=1, max_count=MAX_QUORUM_MEMBERS),
)

# CBLSIESEncryptedObject<CBLSSecretKey> (bls_ies.h), the element of qdata's
# encrypted contributions.
BLSIESEncryptedObject = Struct(
    "ephemeral_pub_key" / BLSPubKey,
    "iv_seed" / Hash256,
    "data" / VarBytes(),
)

# CDKGJustification::Contribution: a revealed secret-key share.
JustificationContribution = Struct(
    "index" / Int32ul,
    "key" / BLSSecKey,
)

# qcontrib — CDKGContribution (inv 23).
QContrib = Identified(
    Struct(
        "llmq_type" / Int8ub,
        "llmq_type_name" / LLMQTypeName,
        "quorum_hash" / Hash256,
        "pro_tx_hash" / Hash256,
        "vvec" / VarArray(BLSPubKey, min_size=48, max_count=MAX_QUORUM_MEMBERS),
        "contributions" / BLSIESMultiRecipientObjects,
        "sig" / BLSSig,
        Terminated,
    ),
    "hash",
    sha256d,
)

# qcomplaint — CDKGComplaint (inv 24).
QComplaint = Identified(
    Struct(
        "llmq_type" / Int8ub,
        "llmq_type_name" / LLMQTypeName,
        "quorum_hash" / Hash256,
        "pro_tx_hash" / Hash256,
        "bad_members" / MemberBitSet,
        "complain_for_members" / MemberBitSet,
        "sig" / BLSSig,
        Terminated,
    ),
    "hash",
    sha256d,
)

# qjustify — CDKGJustification (inv 25).
QJustify = Identified(
    Struct(
        "llmq_type" / Int8ub,
        "llmq_type_name" / LLMQTypeName,
        "quorum_hash" / Hash256,
        "pro_tx_hash" / Hash256,
        "contributions" / VarArray(JustificationContribution, min_size=36, max_count=MAX_QUORUM_MEMBERS),
        "sig" / BLSSig,
        Terminated,
    ),
    "hash",
    sha256d,
)

# qpcommit — CDKGPrematureCommitment (inv 26).
QPCommit = Identified(
    Struct(
        "llmq_type" / Int8ub,
        "llmq_type_name" / LLMQTypeName,
        "quorum_hash" / Hash256,
        "pro_tx_hash" / Hash256,
        "valid_members" / MemberBitSet,
        "quorum_public_key" / BLSPubKey,
        "quorum_vvec_hash" / Hash256,
        "quorum_sig" / BLSSig,
        "sig" / BLSSig,
        Terminated,
    ),
    "hash",
    sha256d,
)

# qfcommit — CFinalCommitment (inv 21), the same structure that is mined in
# quorum commitment transactions and listed in mnlistdiff.newQuorums.
QFCommit = Identified(
    Struct(
        "commitment" / FinalCommitment,
        Terminated,
    ),
    "hash",
    sha256d,
)

# CQuorumDataRequest.  Core writes nError only when it is not UNDEFINED
# (0xFF) and reads a missing byte as UNDEFINED, so a plain request is 67
# bytes; ``error`` is None then.
_DATA_REQUEST_FIELDS = (
    "llmq_type" / Int8ub,
    "llmq_type_name" / LLMQTypeName,
    "quorum_hash" / Hash256,
    "data_mask" / Int16ul,
    "pro_tx_hash" / Hash256,
    "error" / Trailing(Int8ub),
    "error_name" / Named(DATA_REQUEST_ERRORS, "error"),
)
QuorumDataRequest = Struct(*_DATA_REQUEST_FIELDS)

# qgetdata (>= LLMQ_DATA_MESSAGES_VERSION, 70219): the request itself.
QGetData = Struct(*_DATA_REQUEST_FIELDS, Terminated)

# qdata: the answer.  The data follow only when error is NONE, in mask
# order (net_quorum.cpp reads the vvec, then the encrypted contributions).
QData = Struct(
    "request" / QuorumDataRequest,
    "quorum_vvec"
    / If(
        (this.request.error == 0) & ((this.request.data_mask & QUORUM_VERIFICATION_VECTOR) != 0),
        VarArray(BLSPubKey, min_size=48, max_count=MAX_QUORUM_MEMBERS),
    ),
    "enc_contributions"
    / If(
        (this.request.error == 0) & ((this.request.data_mask & ENCRYPTED_CONTRIBUTIONS) != 0),
        VarArray(BLSIESEncryptedObject, min_size=81, max_count=MAX_QUORUM_MEMBERS),
    ),
    Terminated,
)

# qsendrecsigs: bool, "send me recovered signatures" (Core stores it as the
# peer's m_wants_recsigs).
QSendRecSigs = Struct(
    "wants_recsigs" / Bool,
    Terminated,
)

# qwatch: empty, "relay me all quorum traffic" (watch mode).
QWatch = Struct(Terminated)

MESSAGES = {
    "qcontrib": QContrib,
    "qcomplaint": QComplaint,
    "qjustify": QJustify,
    "qpcommit": QPCommit,
    "qfcommit": QFCommit,
    "qwatch": QWatch,
    "qgetdata": QGetData,
    "qdata": QData,
    "qsendrecsigs": QSendRecSigs,
}

# The info column (see control.py SUMMARIES): the quorum type by its
# llmq/params.h name, the quorum, then the member and what it sends.
_DKG = (("llmq_type", "name"), ("quorum_hash", "hash", "quorum"), ("pro_tx_hash", "hash", "from"))
SUMMARIES = {
    "qcontrib": (*_DKG, ("vvec", "count", "vvec")),
    "qcomplaint": (*_DKG, ("bad_members", "plain", "bad")),
    "qjustify": (*_DKG, ("contributions", "count", "contribution|contributions")),
    "qpcommit": _DKG,
    "qfcommit": (("commitment.llmq_type", "name"), ("commitment.quorum_hash", "hash", "quorum"),
                 ("commitment.signers_count", "plain", "signers"),
                 ("commitment.valid_members_count", "plain", "valid")),
    "qwatch": ("watch DKG messages",),
    "qgetdata": (("llmq_type", "name"), ("quorum_hash", "hash", "quorum"), ("data_mask", "plain", "mask"),
                 ("pro_tx_hash", "hash", "member")),
    "qdata": (("request.llmq_type", "name"), ("request.quorum_hash", "hash", "quorum"),
              ("quorum_vvec", "count", "vvec"), ("enc_contributions", "count", "contribution|contributions"),
              ("request.error", "name", "error {}")),
    "qsendrecsigs": (("wants_recsigs", "plain", "wants recsigs"),),
}  # fmt: skip
