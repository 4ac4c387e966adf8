"""Shared wire pieces, written once: CompactSize, hashes, byte strings, addresses.

Vectors (``vec<T>``) are vectors.py's.  Follows dashpay/dash
src/serialize.h (CompactSize, VarInt, byte vectors),
src/uint256.h (hashes), src/netaddress.h / src/protocol.h (CService).
Every construct here parses and builds, so ``build(parse(b)) == b``.

Every length here is checked by limits.py's ``check_count`` before its
bytes are read; MAX_SIZE is limits.py's, named here too for the modules
that take it from primitives.
"""

from __future__ import annotations

import hashlib
import ipaddress

from construct import (
    Adapter,
    Bytes,
    Construct,
    ConstructError,
    Int8ub,
    Int16ub,
    Int32ul,
    Subconstruct,
)
from construct.core import (
    SizeofError,
    singleton,
    stream_read,
    stream_seek,
    stream_tell,
    stream_write,
)

from .limits import MAX_SIZE, check_count, remaining
from .structs import Struct


class NonCanonical(ConstructError):
    """A CompactSize or VarInt written in more bytes than needed."""


@singleton
class CompactSize(Construct):
    r"""Bitcoin's CompactSize integer (serialize.h ``ReadCompactSize``).

    ======================  ===========================
    value                   bytes
    ======================  ===========================
    0 .. 0xfc               the value, 1 byte
    0xfd .. 0xffff          ``fd`` + u16 LE
    0x10000 .. 0xffffffff   ``fe`` + u32 LE
    larger                  ``ff`` + u64 LE
    ======================  ===========================

    A value that fits a shorter form is rejected as non-canonical, as Core
    does ("non-canonical ReadCompactSize()").
    """

    def _parse(self, stream, context, path):
        first = stream_read(stream, 1, path)[0]
        if first < 0xFD:
            return first
        width, floor = {0xFD: (2, 0xFD), 0xFE: (4, 0x10000), 0xFF: (8, 0x100000000)}[first]
        value = int.from_bytes(stream_read(stream, width, path), "little")
        if value < floor:
            raise NonCanonical(f"non-canonical CompactSize {value}", path=path)
        return value

    def _build(self, obj, stream, context, path):
        if not isinstance(obj, int) or obj < 0 or obj > 0xFFFFFFFFFFFFFFFF:
            raise ConstructError(f"CompactSize out of range: {obj!r}", path=path)
        if obj < 0xFD:
            data = bytes((obj,))
        elif obj <= 0xFFFF:
            data = b"\xfd" + obj.to_bytes(2, "little")
        elif obj <= 0xFFFFFFFF:
            data = b"\xfe" + obj.to_bytes(4, "little")
        else:
            data = b"\xff" + obj.to_bytes(8, "little")
        stream_write(stream, data, len(data), path)
        return obj

    def _sizeof(self, context, path):
        raise ConstructError("CompactSize has no fixed size", path=path)


@singleton
class CompactSizeMax(Construct):
    """A CompactSize read as Core's ``ReadCompactSize`` range-checks it.

    For numbers that are not lengths (``COMPACTSIZE(x)`` fields, the
    ignored tx count of ``headers``): above MAX_SIZE is an error, as in
    Core ("ReadCompactSize(): size too large").
    """

    def _parse(self, stream, context, path):
        value = CompactSize._parsereport(stream, context, path)
        if value > MAX_SIZE:
            raise ConstructError(f"CompactSize {value} is above MAX_SIZE", path=path)
        return value

    def _build(self, obj, stream, context, path):
        return CompactSize._build(obj, stream, context, path)


@singleton
class VarInt(Construct):
    r"""Dash Core's base-128 VARINT (serialize.h ``ReadVarInt``, mode DEFAULT).

    MSB first, 7 bits a byte, high bit = more follows, each non-final group
    stored minus one: 0 -> ``00``, 127 -> ``7f``, 128 -> ``80 00``,
    255 -> ``80 7f``, 16384 -> ``ff 00``.  Values above u32 are rejected
    (the fields that use it are u32).
    """

    def _parse(self, stream, context, path):
        n = 0
        while True:
            b = stream_read(stream, 1, path)[0]
            n = (n << 7) | (b & 0x7F)
            if n > 0xFFFFFFFF:
                raise ConstructError("VarInt larger than u32", path=path)
            if not b & 0x80:
                return n
            n += 1

    def _build(self, obj, stream, context, path):
        if not isinstance(obj, int) or not 0 <= obj <= 0xFFFFFFFF:
            raise ConstructError(f"VarInt out of range: {obj!r}", path=path)
        out = [obj & 0x7F]
        n = obj
        while n > 0x7F:
            n = (n >> 7) - 1
            out.append((n & 0x7F) | 0x80)
        data = bytes(reversed(out))
        stream_write(stream, data, len(data), path)
        return obj


def _read_prefixed(stream, context, path, max_len: int) -> bytes:
    """CompactSize length, checked against ``max_len`` and the bytes left, then the bytes."""
    n = CompactSize._parsereport(stream, context, path)
    check_count(n, 1, max_len, stream, path)
    return stream_read(stream, n, path)


def _write_prefixed(data: bytes, stream, context, path, max_len: int) -> None:
    if len(data) > max_len:
        raise ConstructError(f"{len(data)} bytes exceed the limit {max_len}", path=path)
    CompactSize._build(len(data), stream, context, path)
    stream_write(stream, data, len(data), path)


class Trailing(Subconstruct):
    """A field read only if payload bytes remain, else None.

    Core's VERSION handler reads each group after the first addresses
    under ``if (!vRecv.empty())``, so older or minimal peers may stop after
    any group.  A group that starts but is cut short is still an error, as
    in Core.  Building writes nothing for None.  CQuorumDataRequest's last
    byte, nError, is read the same way (llmq.py).

    >>> Struct("a" / Int8ub, "b" / Trailing(Int8ub)).parse(b"\\x01")
    {'a': 1, 'b': None}
    """

    def __init__(self, subcon):
        super().__init__(subcon)
        self.flagbuildnone = True

    def _parse(self, stream, context, path):
        if not remaining(stream):
            return None
        return self.subcon._parsereport(stream, context, path)

    def _build(self, obj, stream, context, path):
        if obj is None:
            return None
        return self.subcon._build(obj, stream, context, path)

    def _sizeof(self, context, path):
        raise SizeofError("Trailing has no fixed size", path=path)


class VarBytes(Construct):
    """``vec<u8>``: CompactSize length then raw bytes, shown as hex."""

    def __init__(self, max_len: int = MAX_SIZE):
        super().__init__()
        self.max_len = max_len

    def _parse(self, stream, context, path):
        return _read_prefixed(stream, context, path, self.max_len).hex()

    def _build(self, obj, stream, context, path):
        _write_prefixed(_unhex(obj, path), stream, context, path, self.max_len)
        return obj


class VarStr(Construct):
    """A CompactSize-prefixed string (user agent, governance data ...).

    Core reads it as bytes (``std::string``, src/serialize.h): a peer may
    send any.  Bytes that are not UTF-8 are kept as Python's surrogate
    escapes, so the text builds back to the same bytes (JSON shows them as
    ``\\udcNN``; a terminal as ``\\xNN``, p2pcap/terminal.py).

    >>> VarStr().parse(b"\\x03a\\xffb")
    'a\\udcffb'
    >>> VarStr().build("a\\udcffb")
    b'\\x03a\\xffb'
    """

    def __init__(self, max_len: int = MAX_SIZE):
        super().__init__()
        self.max_len = max_len

    def _parse(self, stream, context, path):
        return _read_prefixed(stream, context, path, self.max_len).decode("utf-8", "surrogateescape")

    def _build(self, obj, stream, context, path):
        if not isinstance(obj, str):
            raise ConstructError(f"expected text, got {obj!r}", path=path)
        try:
            raw = obj.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError as exc:  # a surrogate that stands for no byte
            raise ConstructError(f"text cannot be sent as bytes: {exc.reason}", path=path) from None
        _write_prefixed(raw, stream, context, path, self.max_len)
        return obj


def _unhex(obj, path) -> bytes:
    if isinstance(obj, (bytes, bytearray)):
        return bytes(obj)
    try:
        return bytes.fromhex(obj)
    except (TypeError, ValueError):
        raise ConstructError(f"expected hex, got {obj!r}", path=path) from None


class Hex(Construct):
    """``length`` bytes shown as hex: in wire order (keys, signatures), or
    byte-reversed (``reverse``) as Core shows a uint256 in RPC."""

    def __init__(self, length: int, reverse: bool = False):
        super().__init__()
        self.length = length
        self.reverse = reverse

    def _parse(self, stream, context, path):
        data = stream_read(stream, self.length, path)
        return (data[::-1] if self.reverse else data).hex()

    def _build(self, obj, stream, context, path):
        data = _unhex(obj, path)
        if len(data) != self.length:
            raise ConstructError(f"expected {self.length} bytes, got {len(data)}", path=path)
        stream_write(stream, data[::-1] if self.reverse else data, self.length, path)
        return obj

    def _sizeof(self, context, path):
        return self.length


Hash256 = Hex(32, reverse=True)
Hash160 = Hex(20)
BLSPubKey = Hex(48)
BLSSig = Hex(96)
BLSSecKey = Hex(32)


def sha256d(data: bytes) -> bytes:
    return hashlib.sha256(hashlib.sha256(data).digest()).digest()


def x11(data: bytes) -> bytes:
    """Dash's block hash (X11), from the maintained ``dash_hash`` C extension."""
    import dash_hash  # imported here: only headers and blocks need it

    return dash_hash.getPoWHash(data)


class Identified(Construct):
    """Parse ``subcon`` and add ``key`` = hash of the exact bytes it consumed.

    How txids (SHA256d) and block hashes (X11) are attached: the hash is
    computed from the wire bytes, never from a re-serialisation.  On build
    the key is ignored.  An object whose Core ``GetHash`` covers other
    bytes than its wire form (governance objects and votes) passes
    ``from_fields=True``: ``hashfn`` then gets the parsed dict and returns
    the digest of what Core hashes.
    """

    def __init__(self, subcon, key: str, hashfn, from_fields: bool = False):
        super().__init__()
        self.subcon = subcon
        self.key = key
        self.hashfn = hashfn
        self.from_fields = from_fields
        self.flagbuildnone = subcon.flagbuildnone

    def _parse(self, stream, context, path):
        start = stream_tell(stream, path)
        obj = self.subcon._parsereport(stream, context, path)
        if self.from_fields:
            obj[self.key] = self.hashfn(obj)[::-1].hex()
            return obj
        end = stream_tell(stream, path)
        stream_seek(stream, start, 0, path)
        raw = stream_read(stream, end - start, path)
        obj[self.key] = self.hashfn(raw)[::-1].hex()
        return obj

    def _build(self, obj, stream, context, path):
        return self.subcon._build(obj, stream, context, path)


class _IPv6Text(Adapter):
    """16 bytes of CNetAddr v1 form as text: IPv4-mapped shown dotted."""

    def _decode(self, obj, context, path):
        addr = ipaddress.IPv6Address(obj)
        return str(addr.ipv4_mapped) if addr.ipv4_mapped else str(addr)

    def _encode(self, obj, context, path):
        try:
            addr = ipaddress.ip_address(obj)
        except ValueError:
            raise ConstructError(f"not an IP address: {obj!r}", path=path) from None
        if addr.version == 4:
            return b"\x00" * 10 + b"\xff\xff" + addr.packed
        return addr.packed


# CService, v1 form (protocol.h): 16-byte IPv6 (IPv4 mapped) + u16 BE port.
# Text form of a 16-byte address that is not IPv4-mapped stays IPv6; the
# exception for Core's internal pseudo-networks is not needed to round trip.
Service = Struct(
    "ip" / _IPv6Text(Bytes(16)),
    "port" / Int16ub,
)

# COutPoint: txid + output index.
OutPoint = Struct(
    "hash" / Hash256,
    "n" / Int32ul,
)


def outpoint_bytes(outpoint: dict) -> bytes:
    """The 36 wire bytes of a decoded OutPoint (for hashes Core computes over them)."""
    return bytes.fromhex(outpoint["hash"])[::-1] + outpoint["n"].to_bytes(4, "little")


def compact_bytes(n: int) -> bytes:
    """A CompactSize as bytes (serialize.h WriteCompactSize).

    Written out rather than ``CompactSize.build``: construct's build makes a
    context that refers to itself, garbage for the cycle collector on every
    governance object hashed (tests/decoders/test_limits.py).

    >>> compact_bytes(0xFC).hex(), compact_bytes(0xFD).hex(), compact_bytes(0x10000).hex()
    ('fc', 'fdfd00', 'fe00000100')
    """
    if not 0 <= n <= 0xFFFFFFFFFFFFFFFF:
        raise ValueError(f"CompactSize out of range: {n}")
    if n < 0xFD:
        return bytes((n,))
    if n <= 0xFFFF:
        return b"\xfd" + n.to_bytes(2, "little")
    if n <= 0xFFFFFFFF:
        return b"\xfe" + n.to_bytes(4, "little")
    return b"\xff" + n.to_bytes(8, "little")


Bool = Int8ub  # serialize.h writes 0/1; any non-zero reads as true.
