"""Block headers: ``headers`` and Dash's compressed ``headers2`` (DIP-0025).

Follows dashpay/dash src/primitives/block.h (``CBlockHeader``,
``CompressedHeaderBitField``, ``CompressibleBlockHeader``),
src/primitives/block.cpp (X11 block hash; ``Uncompress`` and its
most-recently-used version list) and the HEADERS/HEADERS2 handler in
src/net_processing.cpp.

``BlockHeader`` is shared: blocks.py builds ``block``, ``cmpctblock`` and
``merkleblock`` on it.

Core reads the count first and punishes a ``headers`` of more than
MAX_HEADERS_UNCOMPRESSED_RESULT entries, or a ``headers2`` of more than
its limit for the connection (src/net_processing.cpp GetHeadersLimit),
before reading any header; so does this decoder.
"""

from __future__ import annotations

import struct

from construct import (
    ConstructError,
    If,
    Int8ub,
    Int16sl,
    Int32sl,
    Int32ul,
    StreamError,
    Terminated,
    this,
)

from .limits import Limit, check_count, over_limit
from .primitives import (
    CompactSize,
    CompactSizeMax,
    Hash256,
    Identified,
    x11,
)
from .structs import Struct, at_index
from .vectors import VarArray, Vector
from .versions import INCREASE_MAX_HEADERS2_VERSION

# validation.h: the most headers one message may carry (Misbehaving above it,
# net_processing.cpp).  2000 for ``headers`` in every release (older ones
# call it MAX_HEADERS_RESULTS), and for ``headers2`` until
# INCREASE_MAX_HEADERS2_VERSION (70235), from which both peers allow
# 8000 compressed headers.
MAX_HEADERS_UNCOMPRESSED_RESULT = Limit(2000, "MAX_HEADERS_UNCOMPRESSED_RESULT", "src/validation.h")
MAX_HEADERS_COMPRESSED_RESULT = Limit(8000, "MAX_HEADERS_COMPRESSED_RESULT", "src/validation.h")


def headers2_limit(context) -> Limit:
    """GetHeadersLimit for headers2 at the connection's protocol version."""
    if context._params.version >= INCREASE_MAX_HEADERS2_VERSION:
        return MAX_HEADERS_COMPRESSED_RESULT
    return MAX_HEADERS_UNCOMPRESSED_RESULT


# CBlockHeader, 80 bytes; ``hash`` is X11 of exactly these bytes.
BlockHeader = Identified(
    Struct(
        "version" / Int32sl,
        "prev_block" / Hash256,
        "merkle_root" / Hash256,
        "time" / Int32ul,
        "bits" / Int32ul,
        "nonce" / Int32ul,
    ),
    "hash",
    x11,
)

# ``headers``: Core writes each header as a CBlock with no transactions,
# i.e. the 80 bytes + CompactSize 0.  The reader ignores the count
# (``ReadCompactSize(vRecv); // ignore tx count; assume it is 0.``) but
# ReadCompactSize still range-checks it against MAX_SIZE.
HeadersEntry = Struct(
    "header" / BlockHeader,
    "tx_count" / CompactSizeMax,
)

Headers = Struct(
    "headers" / VarArray(HeadersEntry, min_size=81, max_count=MAX_HEADERS_UNCOMPRESSED_RESULT),
    Terminated,
)

# CompressedHeaderBitField flags (block.h).  A set flag means the field is
# on the wire; the low three bits are a version back-reference (0 = sent).
VERSION_MASK = 0x07
PREV_BLOCK_HASH = 0x08
TIMESTAMP = 0x10
NBITS = 0x20
# Core keeps at most this many versions in ``last_unique_versions``.
MAX_VERSIONS = 7

# CompressibleBlockHeader as serialised, before decompression.
CompressedHeader = Struct(
    "bit_field" / Int8ub,
    "version" / If((this.bit_field & VERSION_MASK) == 0, Int32sl),
    "prev_block" / If(this.bit_field & PREV_BLOCK_HASH, Hash256),
    "merkle_root" / Hash256,
    "time" / If(this.bit_field & TIMESTAMP, Int32ul),
    "time_offset" / If(~(this.bit_field & TIMESTAMP), Int16sl),
    "bits" / If(this.bit_field & NBITS, Int32ul),
    "nonce" / Int32ul,
)

# Smallest compressed header: bit_field, merkle root, time offset, nonce.
MIN_COMPRESSED_SIZE = 1 + 32 + 2 + 4


class CompressedHeaders(Vector):
    """``vec<CompressibleBlockHeader>`` decompressed as Core does it.

    State lives for one message: the headers decoded so far and the list of
    recent versions (front = most recent, at most 7).  Each header comes out
    whole -- version, prev_block, merkle_root, time, bits, nonce and its
    X11 ``hash`` -- next to ``bit_field`` and ``time_offset`` as read, which
    is all that building needs: fields flagged as sent are written from the
    reconstructed values, which equal what was read.

    Core's ``Uncompress`` silently leaves a field zero when it refers to
    something that is not there (the first header of a message, or a version
    back-reference past the end of the list); such a message cannot come
    from Core's own ``Compress``, so it is a decode error here.
    """

    element = CompressedHeader
    max_count = staticmethod(headers2_limit)

    def _parse(self, stream, context, path):
        count = CompactSize._parsereport(stream, context, path)
        check_count(count, MIN_COMPRESSED_SIZE, self.limit(context), stream, path)
        return self._headers(count, stream, context, path)

    def parse_prefix(self, stream, context, path):
        count = CompactSize._parsereport(stream, context, path)
        check_count(count, 0, self.limit(context), stream, path)
        headers: list = []
        try:
            self._headers(count, stream, context, path, headers)
        except StreamError:
            pass  # the headers read whole so far stay in ``headers``
        return headers

    @staticmethod
    def _headers(count, stream, context, path, headers=None) -> list:
        headers = [] if headers is None else headers
        versions: list[int] = []
        try:
            for _ in range(count):
                wire = CompressedHeader._parsereport(stream, context, path)
                previous = headers[-1] if headers else None
                headers.append(_uncompress(wire, previous, versions, path))
        except ConstructError as exc:
            raise at_index(exc, path, len(headers)) from None
        return headers

    def _build(self, obj, stream, context, path):
        limit = self.limit(context)
        if len(obj) > limit:
            raise ConstructError(over_limit(len(obj), limit), path=path)
        CompactSize._build(len(obj), stream, context, path)
        for index, header in enumerate(obj):
            try:
                CompressedHeader._build(header, stream, context, path)
            except ConstructError as exc:
                raise at_index(exc, path, index) from None
        return obj

    def _sizeof(self, context, path):
        raise ConstructError("headers2 has no fixed size", path=path)


def _uncompress(wire: dict, previous: dict | None, versions: list[int], path) -> dict:
    """Fill the omitted fields of one header (block.cpp ``Uncompress``)."""
    bit_field = wire["bit_field"]
    offset = bit_field & VERSION_MASK
    if previous is None:
        if offset or (~bit_field & (PREV_BLOCK_HASH | TIMESTAMP | NBITS)):
            raise ConstructError(
                f"first header of the message is compressed (bit_field {bit_field:#04x})",
                path=path,
            )
    if offset == 0:
        versions.insert(0, wire["version"])
        del versions[MAX_VERSIONS:]
    elif offset <= len(versions):
        wire["version"] = versions.pop(offset - 1)
        versions.insert(0, wire["version"])
    else:
        raise ConstructError(f"version back-reference {offset} but only {len(versions)} known", path=path)
    if not bit_field & PREV_BLOCK_HASH:
        wire["prev_block"] = previous["hash"]
    if not bit_field & TIMESTAMP:
        # uint32 nTime + int16 offset, wrapping as C++ unsigned arithmetic.
        wire["time"] = (previous["time"] + wire["time_offset"]) & 0xFFFFFFFF
    if not bit_field & NBITS:
        wire["bits"] = previous["bits"]
    wire["hash"] = x11(_serialize(wire))[::-1].hex()
    return wire


def _serialize(header) -> bytes:
    # The 80-byte CBlockHeader; struct is used rather than BlockHeader.build
    # because a headers2 message may carry 8000 of them.
    return struct.pack(
        "<i32s32sIII",
        header["version"],
        bytes.fromhex(header["prev_block"])[::-1],
        bytes.fromhex(header["merkle_root"])[::-1],
        header["time"],
        header["bits"],
        header["nonce"],
    )


Headers2 = Struct(
    "headers" / CompressedHeaders(),
    Terminated,
)

MESSAGES = {
    "headers": Headers,
    "headers2": Headers2,
}

# The info column (see control.py SUMMARIES): how many, first to last hash.
SUMMARIES = {
    "headers": (("headers", "count", "header|headers"), ("headers.header.hash", "range")),
    "headers2": (("headers", "count", "header|headers"), ("headers.hash", "range")),
}
