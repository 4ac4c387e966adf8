"""Dash Core's limits, and the checks that hold every decoder to them.

Issue 22: a 670-byte capture of one ``qbsigs`` claiming 3,000,000 elements
made ``show`` take 817 MB, because counts were checked only against the
bytes left.  Now each count, length and size Core bounds is a ``Limit``,
named once in the module of its family with its Core source (deserialising
limits, which make a message invalid on the wire, and processing limits,
"Misbehaving if more than N", which make the sender out of protocol), and:

* ``check_count`` refuses a count above its limit, or above what the bytes
  left can hold, before anything is allocated for its elements;
* ``Bounded`` holds a part to a size in bytes (a transaction to
  MAX_LEGACY_BLOCK_SIZE, a block to MaxBlockSize()): while it is read,
  "the bytes left" end at its limit;
* decode.py's ``check_length`` refuses a payload above
  MAX_PROTOCOL_MESSAGE_LENGTH, whatever its command.

docs/DECODERS.md ("Limits") lists them and what the costliest message
within them costs (tests/decoders/worstcase.py).  Imports only construct.
"""

from __future__ import annotations

from construct import ConstructError, StreamError, Subconstruct
from construct.core import stream_tell


class Limit(int):
    """A maximum Dash Core sets, as an ``int`` that knows its Core name and source.

    Every count, length and size a decoder checks against Core is one of
    these, named once in the module of its family, so an error says which
    rule the input broke.

    >>> MAX_INV_SZ = Limit(50000, "MAX_INV_SZ", "src/net.h")
    >>> MAX_INV_SZ + 1, str(MAX_INV_SZ)
    (50001, 'MAX_INV_SZ (50000, src/net.h)')
    """

    name: str
    source: str

    def __new__(cls, value: int, name: str, source: str) -> Limit:
        self = super().__new__(cls, value)
        self.name = name
        self.source = source
        return self

    def __str__(self) -> str:
        return f"{self.name} ({int(self)}, {self.source})"

    __repr__ = __str__

    def __reduce__(self):  # int's own would call __new__ with the value alone
        return (Limit, (int(self), self.name, self.source))


# serialize.h MAX_SIZE: the largest length or count CompactSize may carry.
MAX_SIZE = Limit(0x02000000, "MAX_SIZE", "src/serialize.h")

# net.h MAX_PROTOCOL_MESSAGE_LENGTH: net.cpp refuses a message header that
# announces a larger payload, so no payload on the wire is longer.  Dash
# 0.12.0 allowed 2 MiB (its net.h); 3 MiB is the most any release allowed.
MAX_PROTOCOL_MESSAGE_LENGTH = Limit(3 * 1024 * 1024, "MAX_PROTOCOL_MESSAGE_LENGTH", "src/net.h")


def remaining(stream) -> int:
    """The bytes left in ``stream`` after its position."""
    here = stream.tell()
    end = stream.seek(0, 2)
    stream.seek(here)
    return end - here


# The attribute a stream carries while a ``Bounded`` part is read: (end offset,
# Limit, what).  check_count measures "bytes left" up to it.
BOUND = "p2pcap_bound"


def over_limit(count: int, max_count: int) -> str:
    """The reason a count above ``max_count`` is refused, naming a Limit."""
    if isinstance(max_count, Limit):
        return f"count {count} is above {max_count}"
    return f"count {count} exceeds the limit {max_count}"


def check_count(count, min_size, max_count, stream, path):
    """Refuse a count before anything is allocated for its elements.

    Above ``max_count`` (a Core limit, named in the error when it is a
    ``Limit``) is a ConstructError; more elements of ``min_size`` bytes than
    the payload has left is a StreamError (the bytes ran out: a payload cut
    short, for ``decode_partial``); more than fit in what is left of an
    enclosing ``Bounded`` part (a transaction's or a block's Core size
    limit) is a ConstructError naming that limit.
    """
    if count > max_count:
        raise ConstructError(over_limit(count, max_count), path=path)
    if min_size:
        need = count * min_size
        left = remaining(stream)
        if need > left:
            raise StreamError(f"count {count} needs at least {need} bytes, {left} left", path=path)
        bound = getattr(stream, BOUND, None)
        if bound is not None:
            end, limit, what = bound
            room = end - stream.tell()
            if need > room:
                raise ConstructError(
                    f"count {count} needs at least {need} bytes, more than the {max(room, 0)} "
                    f"left of the {what}'s {limit}",
                    path=path,
                )


class Bounded(Subconstruct):
    """``subcon``, which Dash Core allows at most ``limit`` bytes (a Limit).

    A transaction is at most MAX_LEGACY_BLOCK_SIZE bytes, a block at most
    MaxBlockSize(): while ``subcon`` is read, every count inside it is
    checked against what is left of the limit as well as of the payload
    (``check_count``), so an oversized part is refused before its elements
    are read; a part that still ends past the limit (fixed-size fields) is
    refused when it ends.  Nested bounds keep the tighter one.  Building
    is ``subcon``'s.

    >>> from p2pcap.decoders.primitives import VarBytes
    >>> blob = Bounded(VarBytes(), Limit(4, "FOUR", "here"), "blob")
    >>> blob.parse(bytes.fromhex("03aabbcc"))
    'aabbcc'
    >>> blob.parse(bytes.fromhex("04aabbccdd"))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    construct.core.ConstructError: ...count 4 needs at least 4 bytes, more than the 3 left of the blob's FOUR (4, here)
    """

    def __init__(self, subcon, limit: Limit, what: str):
        super().__init__(subcon)
        self.limit = limit
        self.what = what

    def _parse(self, stream, context, path):
        start = stream_tell(stream, path)
        saved = getattr(stream, BOUND, None)
        end = start + self.limit
        try:
            if saved is None or end < saved[0]:
                setattr(stream, BOUND, (end, self.limit, self.what))
        except AttributeError:  # a stream that takes no attributes: checked at the end only
            saved = False
        try:
            obj = self.subcon._parsereport(stream, context, path)
        finally:
            if saved is not False:
                setattr(stream, BOUND, saved)
        self.check_size(stream_tell(stream, path) - start, path)
        return obj

    def check_size(self, size: int, path) -> None:
        """Refuse a part of ``size`` bytes above the limit."""
        if size > self.limit:
            raise ConstructError(f"{self.what} of {size} bytes is above {self.limit}", path=path)

    def _build(self, obj, stream, context, path):
        start = stream_tell(stream, path)
        built = self.subcon._build(obj, stream, context, path)
        self.check_size(stream_tell(stream, path) - start, path)
        return built


__all__ = [
    "BOUND",
    "MAX_PROTOCOL_MESSAGE_LENGTH",
    "MAX_SIZE",
    "Bounded",
    "Limit",
    "check_count",
    "over_limit",
    "remaining",
]
