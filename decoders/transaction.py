"""Dash transactions (dashpay/dash src/primitives/transaction.h).

A Dash transaction is Bitcoin's pre-SegWit layout with the DIP2 split of
the version word: its low 16 bits are ``nVersion`` (i16), its high 16 bits
``nType`` (u16).  When ``nVersion >= 3`` and ``nType != 0`` a
``vExtraPayload`` byte vector follows ``nLockTime``; its layout depends on
``nType`` (special_tx.py).  There is no SegWit marker: a transaction with
zero inputs (quorum commitments, hard-fork signals, asset unlocks) starts
``<version word> 00``.

The extra payload appears three times in a decoded transaction:

``extra_payload_raw``
    the payload bytes as hex (what is on the wire);
``extra_payload``
    the decoded payload, or None when the type is unknown or the payload
    does not match its layout;
``extra_payload_error``
    None, or why ``extra_payload`` is None (reason, field, offset).

A malformed payload inside a well-formed transaction is reported there and
does not fail the transaction, since Core only checks payloads during
validation.  Building writes ``extra_payload`` when it is not None and
``extra_payload_raw`` otherwise.  All three are None for normal
transactions.

``txid`` is SHA256d of the transaction's exact wire bytes; for asset
unlocks with payload version >= 2 it is computed with the trailing quorum
signing fields zeroed and the full hash is added as ``instance_hash``
(``ASSET_UNLOCK_STABLE_TXID_VERSION``, dashpay/dash PR #7639).

A transaction is at most MAX_LEGACY_BLOCK_SIZE bytes: a larger one is a
decode error, refused as soon as a count inside it claims more
(limits.Bounded).  Core has no other limit on its counts and script
lengths (MAX_SCRIPT_SIZE applies when a script runs, not when it is
read).  An extra payload above MAX_TX_EXTRA_PAYLOAD is kept raw.

``TransactionLayout`` is the declarative definition; ``Transaction`` reads
the same with ``struct`` (transactions are the bulk of blocks) and leaves
anything unusual to it.

>>> tx = Transaction.parse(bytes.fromhex("02000000" "00" "00" "00000000"))
>>> tx["version"], tx["type"], tx["vin"], tx["extra_payload_raw"]
(2, 0, [], None)
>>> tx["txid"]
'4ebd325a4b394cff8c57e8317ccf5a8d0e2bdf1b8526f8aad6c8e43d8240621a'
"""

from __future__ import annotations

import struct
from hashlib import sha256 as _sha256

from construct import (
    Construct,
    ConstructError,
    If,
    Int16sl,
    Int16ul,
    Int32ul,
)
from construct.core import stream_read, stream_seek, stream_tell

from .limits import BOUND, MAX_SIZE, Bounded, Limit
from .primitives import (
    _read_prefixed,
    _unhex,
    _write_prefixed,
    sha256d,
)
from .script import COIN, asm_of, dash_amount, describe_script
from .special_tx import build_payload, decode_payload
from .structs import Struct
from .txparts import (
    SPECIAL_VERSION,
    TRANSACTION_ASSET_UNLOCK,
    TRANSACTION_NORMAL,
    TX_MIN_SIZE,
    TXIN_MIN_SIZE,
    TXOUT_MIN_SIZE,
    TxIn,
    TxOut,
    context_network,
)
from .vectors import VarArray

# consensus/consensus.h: CheckTransaction (consensus/tx_check.cpp) refuses a
# larger transaction ("bad-txns-oversize") in every release.  From DIP0001,
# ContextualCheckTransaction allows 100000 (MAX_STANDARD_TX_SIZE), a rule of
# the block height, which a decoder does not know.
MAX_LEGACY_BLOCK_SIZE = Limit(1000000, "MAX_LEGACY_BLOCK_SIZE", "src/consensus/consensus.h")

# primitives/transaction.h: ASSET_UNLOCK_PAYLOAD_SIZE, _QUORUM_INFO_SIZE and
# ASSET_UNLOCK_STABLE_TXID_VERSION.
ASSET_UNLOCK_PAYLOAD_SIZE = 1 + 8 + 4 + 4 + 32 + 96
ASSET_UNLOCK_QUORUM_INFO_SIZE = 4 + 32 + 96
ASSET_UNLOCK_STABLE_TXID_VERSION = 2


def _has_payload(ctx) -> bool:
    return ctx["version"] >= SPECIAL_VERSION and ctx["type"] != TRANSACTION_NORMAL


def _payload_fields(tx_type: int, data: bytes, network: str | None) -> tuple[str, object, str | None]:
    """extra_payload_raw, extra_payload and extra_payload_error of the payload bytes."""
    decoded, error = decode_payload(tx_type, data, network)
    return data.hex(), decoded, error


class _ExtraPayload(Construct):
    """``vExtraPayload``: read the bytes, then decode them by ``nType``.

    Parsing returns the raw hex and leaves the decoded payload and any
    error in the context for the two fields that follow.  Building writes
    the decoded payload when there is one, else the raw bytes, so either
    key alone is enough.
    """

    def __init__(self):
        super().__init__()
        self.flagbuildnone = True  # extra_payload_raw may be left out

    def _parse(self, stream, context, path):
        data = _read_prefixed(stream, context, path, MAX_SIZE)
        raw, context["_payload"], context["_payload_error"] = _payload_fields(
            context["type"], data, context_network(context)
        )
        return raw

    def _build(self, obj, stream, context, path):
        decoded = context.get("extra_payload")
        if decoded is not None:
            data = build_payload(context["type"], decoded, path)
        elif obj is not None:
            data = _unhex(obj, path)
        else:
            raise ConstructError("a special transaction needs extra_payload or extra_payload_raw", path=path)
        _write_prefixed(data, stream, context, path, MAX_SIZE)
        return obj


class _FromContext(Construct):
    """A value the previous field left in the context; builds to nothing."""

    def __init__(self, key: str):
        super().__init__()
        self.key = key
        self.flagbuildnone = True

    def _parse(self, stream, context, path):
        return context.get(self.key)

    def _build(self, obj, stream, context, path):
        return obj


_Transaction = Struct(
    # the i32 version word, little-endian: nVersion is its low half
    "version" / Int16sl,
    "type" / Int16ul,
    "vin" / VarArray(TxIn, min_size=TXIN_MIN_SIZE),
    "vout" / VarArray(TxOut, min_size=TXOUT_MIN_SIZE),
    "lock_time" / Int32ul,
    "extra_payload_raw" / If(_has_payload, _ExtraPayload()),
    "extra_payload" / If(_has_payload, _FromContext("_payload")),
    "extra_payload_error" / If(_has_payload, _FromContext("_payload_error")),
)


def _txid(raw, obj) -> tuple[bytes, bytes | None]:
    """(txid, instance hash or None) of a transaction's wire bytes (bytes or a memoryview)."""
    full = sha256d(raw)
    payload = obj["extra_payload_raw"]
    if (
        obj["type"] == TRANSACTION_ASSET_UNLOCK
        and payload is not None
        and len(payload) == 2 * ASSET_UNLOCK_PAYLOAD_SIZE
        and int(payload[:2], 16) >= ASSET_UNLOCK_STABLE_TXID_VERSION
    ):
        # The payload is the last field, so its quorum info is the tail.
        cut = len(raw) - ASSET_UNLOCK_QUORUM_INFO_SIZE
        return sha256d(bytes(raw[:cut]) + bytes(ASSET_UNLOCK_QUORUM_INFO_SIZE)), full
    return full, None


class _WithTxid(Construct):
    """Parse a transaction and add ``txid`` (and ``instance_hash`` if it differs)."""

    def __init__(self, subcon):
        super().__init__()
        self.subcon = subcon

    def _parse(self, stream, context, path):
        start = stream_tell(stream, path)
        obj = self.subcon._parsereport(stream, context, path)
        end = stream_tell(stream, path)
        stream_seek(stream, start, 0, path)
        _add_txid(obj, stream_read(stream, end - start, path))
        return obj

    def _build(self, obj, stream, context, path):
        return self.subcon._build(obj, stream, context, path)


def _add_txid(obj: dict, raw) -> None:
    txid, instance = _txid(raw, obj)
    obj["txid"] = txid[::-1].hex()
    if instance is not None:
        obj["instance_hash"] = instance[::-1].hex()


# The layout with its txid and Core's size limit: the reference the fast
# parser must equal.
TransactionLayout = Bounded(_WithTxid(_Transaction), MAX_LEGACY_BLOCK_SIZE, "transaction")

_VERSION_TYPE_COUNT = struct.Struct("<hHB")  # nVersion, nType, first byte of the vin count
_OUTPOINT_LEN = struct.Struct("<32sIB")  # prevout hash, n, first byte of the script length
_VALUE_LEN = struct.Struct("<qB")  # value, first byte of the script length
_U32 = struct.Struct("<I")
_NULL_HASH = bytes(32)
# CompactSize first byte -> (bytes with it, smallest canonical value)
_COMPACT = {0xFD: (3, 0xFD), 0xFE: (5, 0x10000), 0xFF: (9, 0x100000000)}


class _Unusual(Exception):
    """The fast parser met something it leaves to the layout."""


def _compact(view, pos: int, end: int) -> tuple[int, int]:
    """A canonical CompactSize up to MAX_SIZE at ``pos``: (value, next position)."""
    if pos >= end:
        raise _Unusual
    first = view[pos]
    if first < 0xFD:
        return first, pos + 1
    size, floor = _COMPACT[first]
    if pos + size > end:
        raise _Unusual
    value = int.from_bytes(view[pos + 1 : pos + size], "little")
    if not floor <= value <= MAX_SIZE:
        raise _Unusual
    return value, pos + size


def _fast_tx(view, pos: int, network: str | None = None, end: int | None = None) -> tuple[dict, int]:
    """One transaction from a buffer: (what TransactionLayout parses, end).

    Only the well-formed path: anything short, non-canonical or over a
    limit raises _Unusual, and the layout reads the bytes again to give
    its own result or error.  ``view`` is bytes (a ``tx`` message, through
    fastpaths.py) or a memoryview of the stream (a block's transactions).
    The transaction must end by ``end`` (default: the end of ``view``) and
    within MAX_LEGACY_BLOCK_SIZE bytes.  Each script is converted to hex
    once; its asm takes slices of that hex (script.asm_of).
    """
    start = pos
    end = min(len(view), pos + MAX_LEGACY_BLOCK_SIZE, len(view) if end is None else end)
    if pos + 5 > end:
        raise _Unusual
    version, tx_type, count = _VERSION_TYPE_COUNT.unpack_from(view, pos)
    pos += 5
    if count >= 0xFD:
        count, pos = _compact(view, pos - 1, end)
    vin = []
    for _ in range(count):
        if pos + 37 > end:
            raise _Unusual
        prev_hash, n, size = _OUTPOINT_LEN.unpack_from(view, pos)
        pos += 37
        if size >= 0xFD:
            size, pos = _compact(view, pos - 1, end)
        stop = pos + size
        if stop + 4 > end:
            raise _Unusual
        script_sig = bytes(view[pos:stop])
        hexed = script_sig.hex()
        vin.append(
            {
                "prevout": {"hash": prev_hash[::-1].hex(), "n": n},
                "script_sig": hexed,
                # a coinbase input (src/primitives/transaction.h COutPoint::IsNull)
                # has no asm, as in txparts.TxIn
                "script_sig_asm": None
                if n == 0xFFFFFFFF and prev_hash == _NULL_HASH
                else asm_of(script_sig, hexed, True),
                "sequence": _U32.unpack_from(view, stop)[0],
            }
        )
        pos = stop + 4
    if pos >= end:
        raise _Unusual
    count = view[pos]
    pos += 1
    if count >= 0xFD:
        count, pos = _compact(view, pos - 1, end)
    vout = []
    for _ in range(count):
        if pos + 9 > end:
            raise _Unusual
        value, size = _VALUE_LEN.unpack_from(view, pos)
        pos += 9
        if size >= 0xFD:
            size, pos = _compact(view, pos - 1, end)
        stop = pos + size
        if stop > end:
            raise _Unusual
        script = bytes(view[pos:stop])
        asm, kind, address = describe_script(script, network)
        vout.append(
            {
                "value": value,
                # dash_amount, written out for the usual non-negative value
                "value_dash": "%d.%08d" % divmod(value, COIN)  # noqa: UP031 (one call fewer)
                if value >= 0
                else dash_amount(value),
                "script_pub_key": script.hex(),
                "script_pub_key_asm": asm,
                "script_pub_key_type": kind,
                "address": address,
            }
        )
        pos = stop
    if pos + 4 > end:
        raise _Unusual
    lock_time = _U32.unpack_from(view, pos)[0]
    pos += 4
    raw = payload = error = None
    if version >= SPECIAL_VERSION and tx_type != TRANSACTION_NORMAL:
        size, pos = _compact(view, pos, end)
        if pos + size > end:
            raise _Unusual
        raw, payload, error = _payload_fields(tx_type, bytes(view[pos : pos + size]), network)
        pos += size
    obj = {
        "version": version,
        "type": tx_type,
        "vin": vin,
        "vout": vout,
        "lock_time": lock_time,
        "extra_payload_raw": raw,
        "extra_payload": payload,
        "extra_payload_error": error,
    }
    wire = view if start == 0 and pos == end else view[start:pos]  # a whole tx message: no copy
    if tx_type == TRANSACTION_ASSET_UNLOCK:
        _add_txid(obj, wire)
    else:  # _add_txid without the asset unlock's second hash: SHA256d of the wire bytes
        obj["txid"] = _sha256(_sha256(wire).digest()).digest()[::-1].hex()
    return obj, pos


class _FastTransaction(Construct):
    """TransactionLayout's result, read from the buffer with ``struct``.

    A transaction is the most frequent payload after inventory and a block
    holds thousands: read field by field by constructs, one costs about
    three times as much as the few ``struct`` calls here.  The layout
    (``subcon``) stays the definition: it builds, reads what the fast path
    leaves to it (short, non-canonical or otherwise broken bytes, so errors
    are exactly its own), reads streams without a buffer, and reads field
    by field for ``decode_partial``.  The tests compare both on good,
    mutated and cut transactions.
    """

    def __init__(self, layout):
        super().__init__()
        self.subcon = layout

    def _parse(self, stream, context, path):
        getbuffer = getattr(stream, "getbuffer", None)
        if getbuffer is not None:
            start = stream.tell()
            bound = getattr(stream, BOUND, None)  # a block's size limit, if any
            try:
                with getbuffer() as view:
                    obj, end = _fast_tx(
                        view, start, context_network(context), None if bound is None else bound[0]
                    )
            except _Unusual:
                pass
            else:
                stream.seek(end)
                return obj
        return self.subcon._parsereport(stream, context, path)

    def _build(self, obj, stream, context, path):
        return self.subcon._build(obj, stream, context, path)


Transaction = _FastTransaction(TransactionLayout)

__all__ = [
    "MAX_LEGACY_BLOCK_SIZE",
    "SPECIAL_VERSION",
    "TXIN_MIN_SIZE",
    "TXOUT_MIN_SIZE",
    "TX_MIN_SIZE",
    "Transaction",
    "TransactionLayout",
    "TxIn",
    "TxOut",
]
