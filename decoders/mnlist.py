"""Masternode list sync: ``getmnlistd``/``mnlistdiff`` and ``getqrinfo``/``qrinfo``.

Follows dashpay/dash src/evo/smldiff.h (CGetSimplifiedMNListDiff,
CSimplifiedMNListDiff; older releases: evo/simplifiedmns.h),
src/evo/simplifiedmns.h (CSimplifiedMNListEntry), src/evo/netinfo.h
(MnNetInfo; ExtNetInfo is decoded by special_tx.py), src/merkleblock.h
(CPartialMerkleTree, blocks.py's) and src/llmq/snapshot.h (CQuorumSnapshot,
CGetQuorumRotationInfo, CQuorumRotationInfo, DIP-0024).

These layouts depend on the negotiated protocol version
(``this._params.version``, src/version.h).  Each boundary, with the
release that introduced it (tags of dashpay/dash):

* 70218..70224 (v18.x; v18.2.x): the diff is baseBlockHash, blockHash,
  cbTxMerkleTree, cbTx, deletedMNs, mnList, deletedQuorums, newQuorums
  (the quorum vectors are gated on LLMQS_PROTO_VERSION 70214, older than
  any peer decoded here); an entry is proRegTxHash, confirmedHash, a
  CService, pubKeyOperator, keyIDVoting, isValid (src/evo/simplifiedmns.h
  at v18.2.2).  ``version`` is None for the diff and 1 for the entries.
* ``BLS_SCHEME_PROTO_VERSION`` (70225, v19.0.0): the diff's nVersion
  (u16) is written after cbTx and before deletedMNs (simplifiedmns.h at
  v19.0.0).  It is 1 (legacy BLS) before the v19 fork and 2 (basic BLS)
  after it; BuildSimplifiedDiff (src/evo/deterministicmns.cpp at v19.0.0)
  sets every entry's in-memory nVersion to it.  Entries still carry no
  version, so the version shown for an entry is the diff's: the field
  order puts nVersion ahead of mnList, which is what lets a receiver know
  it.  (Core's own reader at these versions left each entry at its
  default, LegacyBLS; SPV clients used the diff's nVersion.)
* ``DMN_TYPE_PROTO_VERSION`` (70227, v19.0.0/v19.1.0): after isValid an
  entry of version 2 (BASIC_BLS) carries nType (u16) and, when nType is
  Evo (1, "HighPerformance" at v19), platformHTTPPort (u16) and
  platformNodeID (20 bytes).  With the version implied by the diff, every
  entry of an nVersion-2 diff has nType.  (A newer sender speaking 70227
  sets entries from the masternode state instead; this decoder follows
  the v19.0/v19.1 sender.)
* ``SMNLE_VERSIONED_PROTO_VERSION`` (70228, v19.2.0): each entry starts
  with its own nVersion (u16); nType follows for version >= 2.  The diff's
  nVersion stays after cbTx.
* ``MNLISTDIFF_VERSION_ORDER`` (70229, v20.0.0): the diff's nVersion moves
  to the front, before baseBlockHash (src/evo/simplifiedmns.h at v20.0.0,
  src/evo/smldiff.h on develop); it is CURRENT_VERSION 1 from then on.
* ``MNLISTDIFF_CHAINLOCKS_PROTO_VERSION`` (70230, v20.0.0):
  ``quorumsCLSigs`` (map<CBLSSignature, set<uint16_t>>) is appended.
* Entry version 3 (ExtAddr, develop after v22.0.0): netInfo becomes
  ExtNetInfo (src/evo/netinfo.h NetInfoSerWrapper); no protocol version
  gates it, only the entry's version, which is on the wire from 70228.
  Core before 70228 always wrote a CService, so an implied version never
  selects ExtNetInfo here.
* CFinalCommitment (newQuorums, qrinfo's lastCommitmentPerIndex) depends
  on no protocol version, only on its own version 1..4 (commitment.py,
  src/llmq/commitment.h; 3 and 4 from v19.0.0).
* qrinfo (src/llmq/snapshot.h): the same field order at v18.x through
  develop.  ``EFFICIENT_QRINFO_VERSION`` (70236, v22.0.0) changes only how
  the answer is built (src/llmq/snapshot.cpp ``use_legacy_construction``:
  which base blocks the diffs start from), not its bytes.  With
  extraShare set, develop always writes the H-4C snapshot and diff (empty
  when it has none); releases up to v21.x wrote them when they had them
  and their reader skipped them.  CQuorumSnapshot is unchanged across the
  tags: mnSkipListMode (i32), activeQuorumMembers (CompactSize bit count +
  fixed bitset), mnSkipList (vector<int32>).

Within an entry, the entry's own version picks the address form (legacy
CService below ExtAddr = 3, ExtNetInfo from it) and whether ``nType``
follows (BasicBLS = 2 and up).  Diffs inside ``qrinfo`` follow the same
rules as a standalone ``mnlistdiff``.

Limits: Core reads these vectors with no count limit of its own (a node
sends them to light clients and never accepts one it did not ask for), so
they are bounded by the 3 MiB message, checked against the bytes left
before any element is read.  The limits that do exist are Core's: the
commitments' member bitsets (commitment.py), an ExtNetInfo's entries
(special_tx.py), a std::set<uint16_t> of quorum indexes, which holds at
most 65536 distinct values, and the lists at the end of a qrinfo, which
Core's BuildQuorumRotationInfo (src/llmq/snapshot.cpp) fills with one
commitment per quorum index of a rotating LLMQ type and a snapshot and a
diff for each of the three cycles before each.
"""

from __future__ import annotations

from construct import (
    Computed,
    If,
    IfThenElse,
    Int8ub,
    Int16ul,
    Int32sl,
    Terminated,
    this,
)

from .bitsets import DynBitSet
from .blocks import PartialMerkleTree
from .commitment import FINAL_COMMITMENT_MIN_SIZE, FinalCommitment
from .limits import Limit
from .llmq_types import LLMQTypeName
from .netinfo import ExtNetInfo
from .primitives import BLSPubKey, BLSSig, Bool, Hash160, Hash256, Service
from .structs import Struct
from .transaction import Transaction
from .vectors import HashArray, IntArray, VarArray
from .versions import (
    BLS_SCHEME_PROTO_VERSION,
    DMN_TYPE_PROTO_VERSION,
    MNLISTDIFF_CHAINLOCKS_PROTO_VERSION,
    MNLISTDIFF_VERSION_ORDER,
    SMNLE_VERSIONED_PROTO_VERSION,
)

# ProTxVersion (src/evo/providertx.h) as used by SML entries.
LEGACY_BLS_VERSION = 1
BASIC_BLS_VERSION = 2
EXT_ADDR_VERSION = 3

# MnType (src/evo/dmn_types.h).
MN_TYPE_EVO = 1


def _entry_version(context) -> int:
    """The version of an entry that has none on the wire (below 70228).

    From 70225 to 70227 the sender gave every entry the diff's own nVersion
    (src/evo/deterministicmns.cpp BuildSimplifiedDiff at v19.0.0/v19.1.0),
    and the diff writes that nVersion after cbTx, before mnList, so it is
    known here (the enclosing diff's ``version``).  Below 70225 there is no
    version anywhere and entries are LegacyBLS.  An entry parsed on its own
    (no enclosing diff) is LegacyBLS too.
    """
    if context._params.version < BLS_SCHEME_PROTO_VERSION:
        return LEGACY_BLS_VERSION
    outer = context.get("_")
    if outer is None or "cb_tx" not in outer:  # not inside a diff
        return LEGACY_BLS_VERSION
    version = outer.get("version")
    return LEGACY_BLS_VERSION if version is None else version


def _has_type(context) -> bool:
    """nType (and the Evo fields) follow the entry from 70227 on.

    v19.0.0/v19.1.0 (70227, versions implied by the diff) wrote them for
    version == BASIC_BLS only; from 70228 Core writes them for BasicBLS
    and up (ExtAddr = 3 included, src/evo/simplifiedmns.h on develop).
    """
    proto = context._params.version
    if proto < DMN_TYPE_PROTO_VERSION:
        return False
    if proto < SMNLE_VERSIONED_PROTO_VERSION:
        return context.version == BASIC_BLS_VERSION
    return context.version >= BASIC_BLS_VERSION


# CSimplifiedMNListEntry.  From SMNLE_VERSIONED_PROTO_VERSION (70228) the
# entry starts with its own nVersion; below that ``version`` is computed
# (``_entry_version``) and written as nothing.  Only on-wire versions of
# ExtAddr (3) and up switch netInfo to ExtNetInfo; Core before 70228 always
# wrote a CService.  Smallest form at >= 70228: 2 + 32 + 32 + 1 (ExtNetInfo
# of an unknown version) + 48 + 20 + 1 + 2 = 138 bytes.
SMLEntry = Struct(
    "version"
    / IfThenElse(
        this._params.version >= SMNLE_VERSIONED_PROTO_VERSION,
        Int16ul,
        Computed(_entry_version),
    ),
    "pro_reg_tx_hash" / Hash256,
    "confirmed_hash" / Hash256,
    "net_info"
    / IfThenElse(
        (this._params.version >= SMNLE_VERSIONED_PROTO_VERSION) & (this.version >= EXT_ADDR_VERSION),
        ExtNetInfo,
        Service,
    ),
    # legacy BLS encoding iff version == 1; same 48 bytes either way
    "pub_key_operator" / BLSPubKey,
    "key_id_voting" / Hash160,
    "is_valid" / Bool,
    "type" / If(_has_type, Int16ul),
    "platform_http_port" / If(this.type == MN_TYPE_EVO, Int16ul),
    "platform_node_id" / If(this.type == MN_TYPE_EVO, Hash160),
)
SML_ENTRY_MIN_SIZE = 138

# One deletedQuorums element: pair<uint8_t llmqType, uint256 quorumHash>.
DeletedQuorum = Struct(
    "llmq_type" / Int8ub,
    "llmq_type_name" / LLMQTypeName,
    "quorum_hash" / Hash256,
)

# llmq/params.h: the most quorum indexes of any LLMQ type (llmq_60_75's
# signingActiveQuorumCount); qrinfo's lastCommitmentPerIndex has one
# commitment per index (CQuorumBlockProcessor::GetLastMinedCommitmentsPer-
# QuorumIndexUntilBlock), its quorumSnapshotList and mnListDiffList one entry
# per distinct height of the three cycles before each (snapshot.cpp
# BuildQuorumRotationInfo's snapshotHeightsNeeded).
MAX_QUORUM_INDEXES_PER_TYPE = Limit(32, "signingActiveQuorumCount of llmq_60_75", "src/llmq/params.h")
MAX_QRINFO_CYCLES = Limit(
    3 * 32, "3 * signingActiveQuorumCount", "src/llmq/snapshot.cpp BuildQuorumRotationInfo"
)

# smldiff.h quorumsCLSigs' std::set<uint16_t>: distinct values, so at most
# 65536 (Core's set reader would drop a repeated one; its writer has none).
MAX_QUORUM_INDEXES = Limit(0x10000, "std::set<uint16_t> size", "src/evo/smldiff.h quorumsCLSigs")

# One quorumsCLSigs element, map<CBLSSignature, set<uint16_t>>: a ChainLock
# signature and the indexes into newQuorums of the quorums it belongs to.
QuorumCLSig = Struct(
    "signature" / BLSSig,
    "indexes" / IntArray(Int16ul, "H", MAX_QUORUM_INDEXES),
)

# CSimplifiedMNListDiff, field by field; shared by mnlistdiff (which adds
# Terminated) and the diffs embedded in qrinfo.
_MNLISTDIFF_FIELDS = (
    "version" / If(this._params.version >= MNLISTDIFF_VERSION_ORDER, Int16ul),
    "base_block_hash" / Hash256,
    "block_hash" / Hash256,
    "cb_tx_merkle_tree" / PartialMerkleTree,  # the coinbase's merkle path
    "cb_tx" / Transaction,
    # 70225..70228 wrote nVersion here instead.  Outside that range this
    # re-states the front value (Computed writes nothing), so the decoded
    # dict has one ``version`` key at every protocol version.
    "version"
    / IfThenElse(
        (this._params.version >= BLS_SCHEME_PROTO_VERSION)
        & (this._params.version < MNLISTDIFF_VERSION_ORDER),
        Int16ul,
        Computed(this.version),
    ),
    "deleted_mns" / HashArray(),
    "mn_list" / VarArray(SMLEntry, min_size=SML_ENTRY_MIN_SIZE),
    "deleted_quorums" / VarArray(DeletedQuorum, min_size=33),
    "new_quorums" / VarArray(FinalCommitment, min_size=FINAL_COMMITMENT_MIN_SIZE),
    "quorums_cl_sigs"
    / If(
        this._params.version >= MNLISTDIFF_CHAINLOCKS_PROTO_VERSION,
        VarArray(QuorumCLSig, min_size=97),
    ),
)
SimplifiedMNListDiff = Struct(*_MNLISTDIFF_FIELDS)
# 64 hashes + 6 (empty merkle tree) + 10 (smallest tx) + 4 empty vectors.
MNLISTDIFF_MIN_SIZE = 84

# CQuorumSnapshot.  activeQuorumMembers is written as CompactSize bit count
# + WriteFixedBitSet, the same bytes (and the same pad-bit check) as DYNBITSET.
QuorumSnapshot = Struct(
    "mn_skip_list_mode" / Int32sl,
    "active_quorum_members" / DynBitSet,
    "mn_skip_list" / IntArray(Int32sl, "i"),
)
QUORUM_SNAPSHOT_MIN_SIZE = 6

# getmnlistd — CGetSimplifiedMNListDiff; an all-zero base means "from the
# empty list".
GetMnListD = Struct(
    "base_block_hash" / Hash256,
    "block_hash" / Hash256,
    Terminated,
)

# mnlistdiff — CSimplifiedMNListDiff.
MnListDiff = Struct(*_MNLISTDIFF_FIELDS, Terminated)

# getqrinfo — CGetQuorumRotationInfo.
GetQrInfo = Struct(
    "base_block_hashes" / HashArray(),
    "block_request_hash" / Hash256,
    "extra_share" / Bool,
    Terminated,
)

# qrinfo — CQuorumRotationInfo, in wire order (snapshots for H-C..H-3C, then
# the diffs).  When extraShare is set the H-4C snapshot and diff follow: the
# newest Core always writes them (empty when it has none); older releases
# wrote them when they had them, and their reader skipped them by mistake.
QrInfo = Struct(
    "quorum_snapshot_at_h_minus_c" / QuorumSnapshot,
    "quorum_snapshot_at_h_minus_2c" / QuorumSnapshot,
    "quorum_snapshot_at_h_minus_3c" / QuorumSnapshot,
    "mn_list_diff_tip" / SimplifiedMNListDiff,
    "mn_list_diff_h" / SimplifiedMNListDiff,
    "mn_list_diff_at_h_minus_c" / SimplifiedMNListDiff,
    "mn_list_diff_at_h_minus_2c" / SimplifiedMNListDiff,
    "mn_list_diff_at_h_minus_3c" / SimplifiedMNListDiff,
    "extra_share" / Bool,
    "quorum_snapshot_at_h_minus_4c" / If(this.extra_share, QuorumSnapshot),
    "mn_list_diff_at_h_minus_4c" / If(this.extra_share, SimplifiedMNListDiff),
    "last_commitment_per_index"
    / VarArray(FinalCommitment, min_size=FINAL_COMMITMENT_MIN_SIZE, max_count=MAX_QUORUM_INDEXES_PER_TYPE),
    "quorum_snapshot_list"
    / VarArray(QuorumSnapshot, min_size=QUORUM_SNAPSHOT_MIN_SIZE, max_count=MAX_QRINFO_CYCLES),
    "mn_list_diff_list"
    / VarArray(SimplifiedMNListDiff, min_size=MNLISTDIFF_MIN_SIZE, max_count=MAX_QRINFO_CYCLES),
    Terminated,
)

MESSAGES = {
    "getmnlistd": GetMnListD,
    "mnlistdiff": MnListDiff,
    "getqrinfo": GetQrInfo,
    "qrinfo": QrInfo,
}

# The info column (see control.py SUMMARIES).
_DIFF = (
    ("mn_list", "count", "MNs"),
    ("deleted_mns", "count", "deleted"),
    ("new_quorums", "count", "quorum|quorums"),
)
SUMMARIES = {
    "getmnlistd": (("block_hash", "hash", "block"), ("base_block_hash", "hash", "base")),
    "mnlistdiff": (("block_hash", "hash", "block"), *_DIFF),
    "getqrinfo": (("block_request_hash", "hash", "block"), ("base_block_hashes", "count", "base hash|base hashes")),
    "qrinfo": (("mn_list_diff_tip.block_hash", "hash", "tip"),
               *((f"mn_list_diff_tip.{path}", how, label) for path, how, label in _DIFF),
               ("last_commitment_per_index", "count", "commitment|commitments")),
}  # fmt: skip
