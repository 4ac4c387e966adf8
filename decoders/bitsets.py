"""Dash's four bitset encodings (dashpay/dash src/serialize.h).

``CFixedBitSet``, ``CDynamicBitSet``, ``CFixedVarIntsBitSet`` and
``CAutoBitSet`` (macros FIXEDBITSET, DYNBITSET, FIXEDVARINTSBITSET,
AUTOBITSET).  Bit *i* lives in byte ``i // 8`` at bit ``i % 8``, least
significant bit first.

A decoded bitset is a string of ``'0'``/``'1'`` characters, one per bit,
character *i* being bit *i*: ``"1010"`` is a 4-bit set with bits 0 and 2
set.  It is JSON-ready, readable next to a quorum's member list, and fixes
the size, so it builds back to the same bytes.  ``AutoBitSet`` also keeps
which of the two forms the sender chose (``is_var_ints``), since Core's
"pick the shorter" rule is the sender's business, not a check on input.

>>> DynBitSet.parse(bytes.fromhex("0a0502"))
'1010000001'
"""

from __future__ import annotations

from construct import Construct, ConstructError
from construct.core import evaluate, stream_read, stream_write

from .limits import MAX_SIZE
from .primitives import CompactSize, VarInt

# byte value -> its 8 bits, least significant first
_BITS = tuple(format(b, "08b")[::-1] for b in range(256))


def _bytes_to_bits(data: bytes, nbits: int, path) -> str:
    """Bits of ``data`` as a string; bits at or past ``nbits`` must be clear."""
    spare = len(data) * 8 - nbits
    if spare and data[-1] >> (8 - spare):
        # serialize.h CFixedBitSet::Unserialize: "Out-of-range bits set"
        raise ConstructError(f"bits set beyond the bitset size {nbits}", path=path)
    return "".join([_BITS[b] for b in data])[:nbits]


def _bits_to_bytes(bits: str) -> bytes:
    padded = bits + "0" * (-len(bits) % 8)
    return bytes(int(padded[i : i + 8][::-1], 2) for i in range(0, len(padded), 8))


def _check_bits(obj, path, size: int | None = None) -> str:
    if not isinstance(obj, str) or obj.strip("01"):
        raise ConstructError(f"a bitset is a string of 0 and 1, got {obj!r}", path=path)
    if size is not None and len(obj) != size:
        raise ConstructError(f"bitset has {len(obj)} bits, expected {size}", path=path)
    return obj


class _SizedBitSet(Construct):
    """A bitset whose size (bit count) is not on the wire: ``size`` is an
    expression on the context, at most ``max_size``."""

    def __init__(self, size, max_size: int = MAX_SIZE):
        super().__init__()
        self.size = size
        self.max_size = max_size

    def _bits(self, context, path) -> int:
        n = evaluate(self.size, context)
        if not isinstance(n, int) or not 0 <= n <= self.max_size:
            raise ConstructError(f"bitset size {n!r} out of range 0..{self.max_size}", path=path)
        return n


class FixedBitSet(_SizedBitSet):
    """``FIXEDBITSET(v, size)``: ``ceil(size / 8)`` bytes, size from context.

    >>> FixedBitSet(4).parse(b"\\x05")
    '1010'
    """

    def _parse(self, stream, context, path):
        n = self._bits(context, path)
        return _bytes_to_bits(stream_read(stream, (n + 7) // 8, path), n, path)

    def _build(self, obj, stream, context, path):
        n = self._bits(context, path)
        data = _bits_to_bytes(_check_bits(obj, path, n))
        stream_write(stream, data, len(data), path)
        return obj

    def _sizeof(self, context, path):
        return (self._bits(context, path) + 7) // 8


class DynamicBitSet(Construct):
    """``DYNBITSET(v)``: CompactSize bit count, then the fixed form.

    A hostile bit count fails at once: above ``max_size`` (MAX_SIZE, or
    the Core limit of the field, a limits.Limit) it is refused, and
    below it the read stops at the end of the payload.

    >>> DynamicBitSet(8).parse(bytes.fromhex("0901ff"))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    construct.core.ConstructError: ...bitset size 9 exceeds 8
    """

    def __init__(self, max_size: int = MAX_SIZE):
        super().__init__()
        self.max_size = max_size

    def _parse(self, stream, context, path):
        n = CompactSize._parsereport(stream, context, path)
        if n > self.max_size:
            raise ConstructError(_too_large(n, self.max_size), path=path)
        nbytes = (n + 7) // 8
        data = stream_read(stream, nbytes, path)
        return _bytes_to_bits(data, n, path)

    def _build(self, obj, stream, context, path):
        bits = _check_bits(obj, path)
        if len(bits) > self.max_size:
            raise ConstructError(_too_large(len(bits), self.max_size), path=path)
        CompactSize._build(len(bits), stream, context, path)
        data = _bits_to_bytes(bits)
        stream_write(stream, data, len(data), path)
        return obj


def _too_large(n: int, max_size: int) -> str:
    return f"bitset size {n} exceeds {max_size}"


# Bounded only by serialize.h MAX_SIZE (and the payload): where Core has no
# bound of its own (a quorum snapshot's bit per masternode).
DynBitSet = DynamicBitSet()


class VarIntsBitSet(_SizedBitSet):
    """``FIXEDVARINTSBITSET(v, size)``: gaps between set bits as VarInts.

    Each set bit *i* is written as ``VarInt(i - previous)`` with ``previous``
    starting at -1, and ``VarInt(0)`` ends the list.  An index at or past
    ``size`` is an error ("out of bounds index" in serialize.h).

    >>> VarIntsBitSet(5).parse(bytes.fromhex("010300"))
    '10010'
    """

    def _parse(self, stream, context, path):
        n = self._bits(context, path)
        indexes = []
        last = -1
        while True:
            gap = VarInt._parsereport(stream, context, path)
            if gap == 0:
                break
            last += gap
            if last >= n:
                raise ConstructError(f"set bit {last} out of bounds (size {n})", path=path)
            indexes.append(last)
        bits = bytearray(b"0" * n)
        for i in indexes:
            bits[i] = 0x31  # '1'
        return bits.decode("ascii")

    def _build(self, obj, stream, context, path):
        n = self._bits(context, path)
        last = -1
        for i, bit in enumerate(_check_bits(obj, path, n)):
            if bit == "1":
                VarInt._build(i - last, stream, context, path)
                last = i
        VarInt._build(0, stream, context, path)
        return obj


class AutoBitSet(Construct):
    """``AUTOBITSET(v, size)``: ``u8 isVarInts`` (0 or 1) then that form.

    Decodes to ``{"is_var_ints": bool, "bits": "0101..."}``.

    >>> AutoBitSet(4).parse(bytes.fromhex("0005"))
    {'is_var_ints': False, 'bits': '1010'}
    """

    def __init__(self, size, max_size: int = MAX_SIZE):
        super().__init__()
        self.fixed = FixedBitSet(size, max_size)
        self.var_ints = VarIntsBitSet(size, max_size)

    def _parse(self, stream, context, path):
        flag = stream_read(stream, 1, path)[0]
        if flag > 1:
            # serialize.h: "invalid value for isVarInts byte"
            raise ConstructError(f"isVarInts must be 0 or 1, got {flag}", path=path)
        form = self.var_ints if flag else self.fixed
        return {"is_var_ints": bool(flag), "bits": form._parsereport(stream, context, path)}

    def _build(self, obj, stream, context, path):
        try:
            flag, bits = obj["is_var_ints"], obj["bits"]
        except (TypeError, KeyError):
            raise ConstructError(f"expected is_var_ints and bits, got {obj!r}", path=path) from None
        if not isinstance(flag, bool):
            raise ConstructError(f"is_var_ints must be a bool, got {flag!r}", path=path)
        stream_write(stream, bytes((flag,)), 1, path)
        (self.var_ints if flag else self.fixed)._build(bits, stream, context, path)
        return obj


__all__ = ["AutoBitSet", "DynBitSet", "DynamicBitSet", "FixedBitSet", "VarIntsBitSet"]
