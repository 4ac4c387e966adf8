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

>>> tx = Transaction.parse(bytes.fromhex("02000000" "00" "00" "00000000"))
>>> tx.version, tx.type, tx.vin, tx.extra_payload_raw
(2, 0, ListContainer([]), None)
>>> tx.txid
'4ebd325a4b394cff8c57e8317ccf5a8d0e2bdf1b8526f8aad6c8e43d8240621a'
"""

from __future__ import annotations

import struct

from construct import (
    Construct,
    ConstructError,
    Container,
    If,
    Int16sl,
    Int16ul,
    Int32ul,
    Int64sl,
    ListContainer,
    StreamError,
    Struct,
)
from construct.core import stream_read, stream_seek, stream_tell, stream_write

from .primitives import (
    MAX_SIZE,
    CompactSize,
    OutPoint,
    VarArray,
    VarBytes,
    check_count,
    _unhex,
    sha256d,
)

# CTransaction::SPECIAL_VERSION and the special types this module needs.
SPECIAL_VERSION = 3
TRANSACTION_NORMAL = 0
TRANSACTION_ASSET_UNLOCK = 9
# primitives/transaction.h: ASSET_UNLOCK_PAYLOAD_SIZE, _QUORUM_INFO_SIZE and
# ASSET_UNLOCK_STABLE_TXID_VERSION.
ASSET_UNLOCK_PAYLOAD_SIZE = 1 + 8 + 4 + 4 + 32 + 96
ASSET_UNLOCK_QUORUM_INFO_SIZE = 4 + 32 + 96
ASSET_UNLOCK_STABLE_TXID_VERSION = 2

# Smallest wire sizes, used to reject hostile counts before parsing.
TXIN_MIN_SIZE = 32 + 4 + 1 + 4
TXOUT_MIN_SIZE = 8 + 1
TX_MIN_SIZE = 4 + 1 + 1 + 4

TxIn = Struct(
    "prevout" / OutPoint,
    "script_sig" / VarBytes(),
    "sequence" / Int32ul,
)


TxOut = Struct(
    "value" / Int64sl,  # duffs
    "script_pub_key" / VarBytes(),
)


class _FastVector(Construct):
    """``vec<CTxIn>`` / ``vec<CTxOut>`` parsed with ``struct``, built by ``layout``.

    Blocks hold thousands of inputs and outputs, and a generic Struct spends
    most of a block's decode time on them.  These parsers read the same
    fields with two stream reads per element and keep every check of the
    declarative layout: the count against the bytes left (``min_size``),
    canonical CompactSize lengths, and short reads.  The declarative
    ``TxIn``/``TxOut`` above stay the reference: they build, and the tests
    check both parsers agree.
    """

    def __init__(self, layout, min_size: int):
        super().__init__()
        self.layout = VarArray(layout, min_size=min_size)
        self.min_size = min_size

    def _parse(self, stream, context, path):
        count = CompactSize._parsereport(stream, context, path)
        check_count(count, self.min_size, MAX_SIZE, stream, path)
        element = self._element
        return ListContainer([element(stream, path) for _ in range(count)])

    def _build(self, obj, stream, context, path):
        return self.layout._build(obj, stream, context, path)


def _read(stream, n: int, path) -> bytes:
    data = stream.read(n)
    if len(data) != n:
        raise StreamError(
            f"stream read less than specified amount, expected {n}, found {len(data)}", path=path
        )
    return data


def _script_len(stream, path) -> int:
    """A script length whose first CompactSize byte (>= 0xfd) was just read."""
    stream.seek(-1, 1)
    n = CompactSize._parsereport(stream, None, path)
    check_count(n, 1, MAX_SIZE, stream, path)
    return n


_OUTPOINT_LEN = struct.Struct("<32sIB")  # hash, n, first byte of the script length
_VALUE_LEN = struct.Struct("<qB")  # value, first byte of the script length
_SEQUENCE = struct.Struct("<I")


class _TxInVector(_FastVector):
    def __init__(self):
        super().__init__(TxIn, TXIN_MIN_SIZE)

    @staticmethod
    def _element(stream, path):
        prev_hash, n, size = _OUTPOINT_LEN.unpack(_read(stream, 37, path))
        if size >= 0xFD:
            size = _script_len(stream, path + " -> script_sig")
        tail = _read(stream, size + 4, path + " -> script_sig")
        return Container(
            prevout=Container(hash=prev_hash[::-1].hex(), n=n),
            script_sig=tail[:-4].hex(),
            sequence=_SEQUENCE.unpack_from(tail, size)[0],
        )


class _TxOutVector(_FastVector):
    def __init__(self):
        super().__init__(TxOut, TXOUT_MIN_SIZE)

    @staticmethod
    def _element(stream, path):
        value, size = _VALUE_LEN.unpack(_read(stream, 9, path))
        if size >= 0xFD:
            size = _script_len(stream, path + " -> script_pub_key")
        script = _read(stream, size, path + " -> script_pub_key")
        return Container(value=value, script_pub_key=script.hex())


def _has_payload(ctx) -> bool:
    return ctx.version >= SPECIAL_VERSION and ctx.type != TRANSACTION_NORMAL


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
        n = CompactSize._parsereport(stream, context, path)
        check_count(n, 1, MAX_SIZE, stream, path)
        raw = stream_read(stream, n, path)
        from .special_tx import decode_payload  # special_tx imports TxOut from here

        decoded, error = decode_payload(context.type, raw)
        context["_payload"] = decoded
        context["_payload_error"] = error
        return raw.hex()

    def _build(self, obj, stream, context, path):
        decoded = context.get("extra_payload")
        if decoded is not None:
            from .special_tx import build_payload

            data = build_payload(context.type, decoded, path)
        elif obj is not None:
            data = _unhex(obj, path)
        else:
            raise ConstructError(
                "a special transaction needs extra_payload or extra_payload_raw", path=path
            )
        CompactSize._build(len(data), stream, context, path)
        stream_write(stream, data, len(data), path)
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
    "vin" / _TxInVector(),
    "vout" / _TxOutVector(),
    "lock_time" / Int32ul,
    "extra_payload_raw" / If(_has_payload, _ExtraPayload()),
    "extra_payload" / If(_has_payload, _FromContext("_payload")),
    "extra_payload_error" / If(_has_payload, _FromContext("_payload_error")),
)


def _txid(raw: bytes, obj) -> tuple[bytes, bytes | None]:
    """(txid, instance hash or None) of a transaction's wire bytes."""
    full = sha256d(raw)
    payload = obj.extra_payload_raw
    if (
        obj.type == TRANSACTION_ASSET_UNLOCK
        and payload is not None
        and len(payload) == 2 * ASSET_UNLOCK_PAYLOAD_SIZE
        and int(payload[:2], 16) >= ASSET_UNLOCK_STABLE_TXID_VERSION
    ):
        # The payload is the last field, so its quorum info is the tail.
        cut = len(raw) - ASSET_UNLOCK_QUORUM_INFO_SIZE
        return sha256d(raw[:cut] + bytes(ASSET_UNLOCK_QUORUM_INFO_SIZE)), full
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
        txid, instance = _txid(stream_read(stream, end - start, path), obj)
        obj["txid"] = txid[::-1].hex()
        if instance is not None:
            obj["instance_hash"] = instance[::-1].hex()
        return obj

    def _build(self, obj, stream, context, path):
        return self.subcon._build(obj, stream, context, path)


Transaction = _WithTxid(_Transaction)

__all__ = [
    "SPECIAL_VERSION",
    "TX_MIN_SIZE",
    "TXIN_MIN_SIZE",
    "TXOUT_MIN_SIZE",
    "Transaction",
    "TxIn",
    "TxOut",
]
