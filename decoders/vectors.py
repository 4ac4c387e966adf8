"""Vectors (``std::vector<T>``): a CompactSize count, then the elements.

Follows dashpay/dash src/serialize.h (``ReadCompactSize``, vector
serialisation).  Every vector refuses a count it cannot hold before
reading an element (``check_count``): above its Core limit
(``max_count``, a limits.Limit named in the family's module; serialize.h
MAX_SIZE where Core has none) or above what the bytes left can hold.  It
names the failing element in error paths (``mn_list -> [17] ->
pub_key_operator``) and returns a plain list.  ``VarArray`` is the
declarative form; ``SlicedArray`` reads fixed-size elements (inventory,
hashes, outpoints, integers) in one slice with ``struct``.
"""

from __future__ import annotations

import struct

from construct import Construct, ConstructError, StreamError
from construct.core import stream_read

from .limits import MAX_SIZE, check_count, over_limit
from .primitives import CompactSize, Hash256, OutPoint
from .structs import at_index


class Vector(Construct):
    """Base of the ``vec<T>`` parsers: a count, then elements.

    ``element`` parses one element; ``parse_prefix`` uses it to read the
    elements a payload cut short still holds whole (``decode_partial``).
    Subclasses parse the whole vector their own (faster) way.
    ``max_count`` is a number or a function of the context giving one (a
    limit that depends on the protocol version or on what came before).
    """

    prefix = CompactSize
    max_count = MAX_SIZE
    element: Construct

    def limit(self, context) -> int:
        """The most elements this vector may hold here."""
        max_count = self.max_count
        return max_count(context) if callable(max_count) else max_count

    def parse_prefix(self, stream, context, path) -> list:
        """The elements read whole before the bytes run out."""
        count = self.prefix._parsereport(stream, context, path)
        check_count(count, 0, self.limit(context), stream, path)
        items = []
        parse = self.element._parsereport
        try:
            for _ in range(count):
                items.append(parse(stream, context, path))
        except StreamError:
            pass
        except ConstructError as exc:
            raise at_index(exc, path, len(items)) from None
        return items


class VarArray(Vector):
    """``vec<T>``: CompactSize count then ``count`` elements, as a list.

    The count is checked before anything is allocated: above ``max_count``
    (default serialize.h MAX_SIZE) or above what the remaining bytes could
    hold at ``min_size`` bytes per element, parsing fails at once — a count
    of 2^32 costs nothing.  An element's error names its index:
    ``inputs -> [2] -> hash``.  ``prefix`` is the count's construct (a
    ``u8`` for a few Dash lists).
    """

    def __init__(self, subcon, min_size: int = 1, max_count=MAX_SIZE, prefix=CompactSize):
        super().__init__()
        self.element = self.subcon = subcon
        self.min_size = min_size
        self.max_count = max_count
        self.prefix = prefix

    def _parse(self, stream, context, path):
        count = self.prefix._parsereport(stream, context, path)
        check_count(count, self.min_size, self.limit(context), stream, path)
        parse = self.subcon._parsereport
        items = []
        try:
            for _ in range(count):
                items.append(parse(stream, context, path))
        except ConstructError as exc:
            raise at_index(exc, path, len(items)) from None
        return items

    def _build(self, obj, stream, context, path):
        if not isinstance(obj, (list, tuple)):
            raise ConstructError(f"expected a list, got {type(obj).__name__}", path=path)
        limit = self.limit(context)
        if len(obj) > limit:
            raise ConstructError(over_limit(len(obj), limit), path=path)
        self.prefix._build(len(obj), stream, context, path)
        build = self.subcon._build
        for index, item in enumerate(obj):
            try:
                build(item, stream, context, path)
            except ConstructError as exc:
                raise at_index(exc, path, index) from None
        return obj


class SlicedArray(Vector):
    """``vec<T>`` of a fixed-size ``T``, read in one slice and unpacked by ``struct``.

    For long vectors of small records (inventory, hashes, outpoints): no
    construct object and no function call runs per element.  ``fmt`` is the
    ``struct`` format of one element; ``make`` turns the iterator of
    unpacked tuples into the list of plain elements (a comprehension).
    ``element`` is the declarative layout, which builds, serves
    ``parse_prefix`` and is what the tests compare the fast parse against.
    The checks are VarArray's: the count against the limit and the bytes
    left, canonical CompactSize.

    >>> from construct import Int8ub
    >>> SlicedArray(Int8ub, "B", lambda rows: [b * 2 for (b,) in rows]).parse(b"\\x02\\x01\\x05")
    [2, 10]
    """

    def __init__(self, element, fmt: str, make, max_count=MAX_SIZE):
        super().__init__()
        self.element = element
        self.record = struct.Struct("<" + fmt)
        self.make = make
        self.max_count = max_count
        self.layout = VarArray(element, self.record.size, max_count)

    def _parse(self, stream, context, path):
        count = CompactSize._parsereport(stream, context, path)
        size = self.record.size
        check_count(count, size, self.limit(context), stream, path)
        return self.make(self.record.iter_unpack(stream_read(stream, size * count, path)))

    def _build(self, obj, stream, context, path):
        return self.layout._build(obj, stream, context, path)


def _shown_hashes(rows) -> list:
    return [wire[::-1].hex() for (wire,) in rows]


def HashArray(max_count=MAX_SIZE) -> SlicedArray:
    """``vec<uint256>`` read in one slice, each hash shown as Hash256 shows it."""
    return SlicedArray(Hash256, "32s", _shown_hashes, max_count)


def _numbers(rows) -> list:
    return [number for (number,) in rows]


def IntArray(element, fmt: str, max_count=MAX_SIZE) -> SlicedArray:
    """``vec<int>`` of a fixed-width integer ``element`` (``fmt`` its struct
    code), read in one slice: a message may hold a million of them.

    >>> from construct import Int16ul
    >>> IntArray(Int16ul, "H").parse(bytes.fromhex("02" "0100" "ffff"))
    [1, 65535]
    """
    return SlicedArray(element, fmt, _numbers, max_count)


def _outpoints(rows) -> list:
    return [{"hash": wire_hash[::-1].hex(), "n": n} for wire_hash, n in rows]


# std::vector<COutPoint> (InstantSend lock inputs), read in one slice.
OutPointArray = SlicedArray(OutPoint, "32sI", _outpoints)


__all__ = ["HashArray", "IntArray", "OutPointArray", "SlicedArray", "VarArray", "Vector"]
