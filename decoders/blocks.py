"""Blocks and transactions on the wire: tx, block, merkleblock, BIP152 messages.

Follows dashpay/dash src/primitives/block.h (CBlock), src/merkleblock.h
(CMerkleBlock, CPartialMerkleTree) and src/blockencodings.h
(CBlockHeaderAndShortTxIDs, PrefilledTransaction, BlockTransactionsRequest,
BlockTransactions).  Transactions are transaction.py's; the header, with
its X11 ``hash``, is headers.py's.

BIP152 indexes (``getblocktxn`` indexes, ``cmpctblock`` prefilled
indexes) travel as differences: each is sent as ``index - previous - 1``,
the first as itself.  They are decoded to absolute block positions and
encoded back, which is exact: the differences follow from the absolute
values.  The wire differences are shown beside them, computed from the
absolute indexes (``index_differences`` of getblocktxn, ``index_difference``
of each prefilled transaction); building reads only the absolute ones.  As
in Core, a difference or an absolute index above 0xffff is an error, and so
is a compact block announcing more than 0xffff transactions.

Sizes follow Core's block rules: a block (and the transactions of one
block that ``blocktxn`` or a compact block's prefilled list carry) is at
most MaxBlockSize() bytes, and holds at most MaxBlockSize() / 60
transactions, 60 bytes being the smallest transaction CheckTransaction
accepts; each count is refused before its elements are read.

Key names follow Core's members; ``vtx``, ``vin`` and ``vout`` keep the
names Bitcoin's JSON uses.

>>> txn = GetBlockTxn.parse(bytes(32) + bytes.fromhex("03" "01" "00" "02"))
>>> txn["indexes"], txn["index_differences"]
([1, 2, 5], [1, 0, 2])
"""

from __future__ import annotations

from construct import (
    Computed,
    Construct,
    ConstructError,
    Int32ul,
    Int64ul,
    Terminated,
)
from construct.core import stream_read, stream_write

from .bitsets import _bits_to_bytes, _bytes_to_bits, _check_bits
from .headers import BlockHeader
from .limits import MAX_SIZE, Bounded, Limit, check_count, over_limit
from .primitives import (
    CompactSize,
    Hash256,
    _read_prefixed,
    _write_prefixed,
)
from .special_tx import TX_TYPE_NAMES
from .structs import FocusedSeq, Struct, at_index
from .transaction import TX_MIN_SIZE, Transaction
from .vectors import HashArray, VarArray

U16_MAX = 0xFFFF
SHORTTXIDS_LENGTH = 6  # blockencodings.h: 6-byte short ids, u32 LE + u16 LE

# consensus/consensus.h MaxBlockSize(): CheckBlock (validation.cpp) refuses a
# larger block as "bad-blk-length".  1000000 bytes (MAX_LEGACY_BLOCK_SIZE)
# before DIP0001, 2000000 since; no release allowed more.
MAX_DIP0001_BLOCK_SIZE = Limit(2000000, "MAX_DIP0001_BLOCK_SIZE", "src/consensus/consensus.h")

# merkleblock.cpp CPartialMerkleTree::ExtractMatches: "MaxBlockSize() / 60",
# "60 is the lower bound for the size of a serialized CTransaction" (one input
# of 41 bytes, one output of 9, 10 of version, counts and lock time, which
# CheckTransaction requires; the types that may lack them carry a larger
# payload).  So no valid block, and no valid proof, has more transactions.
MAX_BLOCK_TRANSACTIONS = Limit(2000000 // 60, "MaxBlockSize() / 60", "src/merkleblock.cpp")

# blockencodings.h CBlockHeaderAndShortTxIDs: "indexes overflowed 16 bits"
# when shorttxids and prefilledtxn together hold more (read time).
MAX_COMPACT_TRANSACTIONS = Limit(U16_MAX, "uint16_t max (BlockTxCount)", "src/blockencodings.h")

# blockencodings.h BlockTransactionsRequest: every index is a uint16_t and
# each is above the one before (DifferenceFormatter), so at most 65536.
MAX_REQUESTED_INDEXES = Limit(U16_MAX + 1, "uint16_t indexes (DifferenceFormatter)", "src/blockencodings.h")


class _FlagBits(Construct):
    """CPartialMerkleTree ``vBits``: a byte vector of flag bits, LSB first.

    Shown as a '0'/'1' string of 8 bits per byte (bitsets.py form); Core
    reads every bit of every byte, so the length is a multiple of 8.
    """

    def _parse(self, stream, context, path):
        data = _read_prefixed(stream, context, path, MAX_SIZE)
        return _bytes_to_bits(data, 8 * len(data), path)

    def _build(self, obj, stream, context, path):
        if len(_check_bits(obj, path)) % 8:
            raise ConstructError("merkle flag bits come in whole bytes", path=path)
        _write_prefixed(_bits_to_bytes(obj), stream, context, path, MAX_SIZE)
        return obj


class _DiffIndexes(Construct):
    """A CompactSize count of BIP152 differential indexes, as absolute indexes."""

    def _parse(self, stream, context, path):
        count = CompactSize._parsereport(stream, context, path)
        check_count(count, 1, MAX_REQUESTED_INDEXES, stream, path)
        out = []
        nxt = 0  # the absolute index a difference of 0 would mean
        for _ in range(count):
            out.append(_absolute(CompactSize._parsereport(stream, context, path), nxt, path))
            nxt = out[-1] + 1
        return out

    def _build(self, obj, stream, context, path):
        if len(obj) > MAX_REQUESTED_INDEXES:
            raise ConstructError(over_limit(len(obj), MAX_REQUESTED_INDEXES), path=path)
        CompactSize._build(len(obj), stream, context, path)
        nxt = 0
        for index in obj:
            CompactSize._build(_difference(index, nxt, path), stream, context, path)
            nxt = index + 1
        return obj


def _differences(context) -> list:
    """The wire differences of ``indexes`` (already checked absolute indexes)."""
    out, nxt = [], 0
    for index in context.indexes:
        out.append(index - nxt)
        nxt = index + 1
    return out


def _absolute(diff: int, nxt: int, path) -> int:
    if diff > U16_MAX:
        raise ConstructError(f"index difference {diff} overflows 16 bits", path=path)
    if nxt + diff > U16_MAX:
        raise ConstructError(f"index {nxt + diff} overflows 16 bits", path=path)
    return nxt + diff


def _difference(index, nxt: int, path) -> int:
    if not isinstance(index, int) or not nxt <= index <= U16_MAX:
        raise ConstructError(
            f"indexes must increase and fit 16 bits, got {index!r} after {nxt - 1}", path=path
        )
    return index - nxt


class _ShortIds(Construct):
    """``shorttxids``: CompactSize count, then 6-byte little-endian ids."""

    def _parse(self, stream, context, path):
        count = CompactSize._parsereport(stream, context, path)
        check_count(count, SHORTTXIDS_LENGTH, MAX_COMPACT_TRANSACTIONS, stream, path)
        raw = stream_read(stream, SHORTTXIDS_LENGTH * count, path)
        return [
            int.from_bytes(raw[i : i + SHORTTXIDS_LENGTH], "little")
            for i in range(0, len(raw), SHORTTXIDS_LENGTH)
        ]

    def _build(self, obj, stream, context, path):
        if len(obj) > MAX_COMPACT_TRANSACTIONS:
            raise ConstructError(over_limit(len(obj), MAX_COMPACT_TRANSACTIONS), path=path)
        CompactSize._build(len(obj), stream, context, path)
        for short_id in obj:
            if not isinstance(short_id, int) or not 0 <= short_id < 1 << 48:
                raise ConstructError(f"short id out of range: {short_id!r}", path=path)
            data = short_id.to_bytes(SHORTTXIDS_LENGTH, "little")
            stream_write(stream, data, SHORTTXIDS_LENGTH, path)
        return obj


class _Prefilled(Construct):
    """``prefilledtxn``: (differential CompactSize index, tx) pairs.

    Each item shows the absolute ``index`` and the ``index_difference`` sent;
    building writes the difference computed from ``index``.  The count is
    checked before any is read: with the short ids, at most 0xffff
    (blockencodings.h).  The transactions, whole ones of one block, are
    bounded by the block's size (``Bounded`` around this).
    """

    @staticmethod
    def limit(context) -> Limit:
        """What the short ids read before leave of the 0xffff transactions."""
        used = len(context.shorttxids)
        if not used:
            return MAX_COMPACT_TRANSACTIONS
        return Limit(
            U16_MAX - used, MAX_COMPACT_TRANSACTIONS.name, f"less {used} short ids, src/blockencodings.h"
        )

    def _parse(self, stream, context, path):
        count = CompactSize._parsereport(stream, context, path)
        check_count(count, 1 + TX_MIN_SIZE, self.limit(context), stream, path)
        out = []
        nxt = 0
        try:
            for _ in range(count):
                diff = CompactSize._parsereport(stream, context, path)
                index = _absolute(diff, nxt, path)
                tx = Transaction._parsereport(stream, context, path)
                out.append({"index": index, "index_difference": diff, "tx": tx})
                nxt = index + 1
        except ConstructError as exc:
            raise at_index(exc, path, len(out)) from None
        return out

    def _build(self, obj, stream, context, path):
        limit = self.limit(context)
        if len(obj) > limit:
            raise ConstructError(over_limit(len(obj), limit), path=path)
        CompactSize._build(len(obj), stream, context, path)
        nxt = 0
        for position, item in enumerate(obj):
            try:
                CompactSize._build(_difference(item["index"], nxt, path), stream, context, path)
                Transaction._build(item["tx"], stream, context, path)
            except ConstructError as exc:
                raise at_index(exc, path, position) from None
            nxt = item["index"] + 1
        return obj


# tx: one transaction, shown as the transaction itself
TxMessage = FocusedSeq(
    "tx",
    "tx" / Transaction,
    Terminated,
)

# A block's transactions; a block is at most MAX_DIP0001_BLOCK_SIZE bytes.
Block = Bounded(
    Struct(
        "header" / BlockHeader,
        "vtx" / VarArray(Transaction, min_size=TX_MIN_SIZE, max_count=MAX_BLOCK_TRANSACTIONS),
        Terminated,
    ),
    MAX_DIP0001_BLOCK_SIZE,
    "block",
)

# CPartialMerkleTree (merkleblock.h); also the cbTxMerkleTree of mnlistdiff
# (mnlist.py).
PartialMerkleTree = Struct(
    "transactions" / Int32ul,  # nTransactions in the whole block
    # ExtractMatches refuses more hashes than nTransactions, and more than
    # MaxBlockSize() / 60 transactions
    "hash" / HashArray(MAX_BLOCK_TRANSACTIONS),  # vHash
    "bits" / _FlagBits(),  # vBits
)

MerkleBlock = Struct(
    "header" / BlockHeader,
    "txn" / PartialMerkleTree,
    Terminated,
)

CmpctBlock = Struct(
    "header" / BlockHeader,
    "nonce" / Int64ul,
    "shorttxids" / _ShortIds(),
    # whole transactions of one block: at most MaxBlockSize() bytes of them
    "prefilledtxn" / Bounded(_Prefilled(), MAX_DIP0001_BLOCK_SIZE, "block's transactions"),
    Terminated,
)

GetBlockTxn = Struct(
    "blockhash" / Hash256,
    "indexes" / _DiffIndexes(),
    "index_differences" / Computed(_differences),
    Terminated,
)

# The transactions a getblocktxn asked for, of one block: as a block's.
BlockTxn = Struct(
    "blockhash" / Hash256,
    "txn"
    / Bounded(
        VarArray(Transaction, min_size=TX_MIN_SIZE, max_count=MAX_BLOCK_TRANSACTIONS),
        MAX_DIP0001_BLOCK_SIZE,
        "block's transactions",
    ),
    Terminated,
)

MESSAGES = {
    "tx": TxMessage,
    "block": Block,
    "merkleblock": MerkleBlock,
    "cmpctblock": CmpctBlock,
    "getblocktxn": GetBlockTxn,
    "blocktxn": BlockTxn,
}

# The info column (see control.py SUMMARIES).  A special transaction's
# type is named; a normal one (type 0) says none.
_SPECIAL_TYPES = {**TX_TYPE_NAMES, 0: None}
SUMMARIES = {
    "tx": (("txid", "hash", "txid"), ("type", _SPECIAL_TYPES, ""), ("vin", "count", "in"), ("vout", "count", "out")),
    "block": (("header.hash", "hash", "hash"), ("vtx", "count", "tx|txs")),
    "merkleblock": (("header.hash", "hash", "hash"), ("txn.transactions", "plain", "{} txs"),
                    ("txn.hash", "count", "hashes")),
    "cmpctblock": (("header.hash", "hash", "hash"), ("shorttxids", "count", "short ids"),
                   ("prefilledtxn", "count", "prefilled")),
    "getblocktxn": (("blockhash", "hash", "block"), ("indexes", "count", "txs wanted")),
    "blocktxn": (("blockhash", "hash", "block"), ("txn", "count", "tx|txs")),
}  # fmt: skip
