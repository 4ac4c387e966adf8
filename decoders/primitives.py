"""Shared wire pieces, written once: CompactSize, hashes, vectors, addresses.

Follows dashpay/dash src/serialize.h (CompactSize, VarInt, vectors),
src/uint256.h (hashes), src/netaddress.h / src/protocol.h (CService).
Every construct here parses and builds, so ``build(parse(b)) == b``.
"""

from __future__ import annotations

import hashlib
import ipaddress

from construct import (
    Adapter,
    Bytes,
    Construct,
    ConstructError,
    Int16ub,
    Int32ul,
    ListContainer,
    Struct,
    StreamError,
    Int8ub,
)
from construct.core import (
    evaluate,
    singleton,
    stream_read,
    stream_tell,
    stream_write,
    stream_seek,
)

# serialize.h MAX_SIZE: the largest length or count CompactSize may carry.
MAX_SIZE = 0x02000000


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


def _remaining(stream) -> int:
    here = stream_tell(stream, None)
    end = stream_seek(stream, 0, 2, None)
    stream_seek(stream, here, 0, None)
    return end - here


class VarArray(Construct):
    """``vec<T>``: CompactSize count then ``count`` elements.

    The count is checked before anything is allocated: above ``max_count``
    (default serialize.h MAX_SIZE) or above what the remaining bytes could
    hold at ``min_size`` bytes per element, parsing fails at once — a count
    of 2^32 costs nothing.
    """

    def __init__(self, subcon, min_size: int = 1, max_count: int = MAX_SIZE):
        super().__init__()
        self.subcon = subcon
        self.min_size = min_size
        self.max_count = max_count

    def _parse(self, stream, context, path):
        count = CompactSize._parsereport(stream, context, path)
        check_count(count, self.min_size, self.max_count, stream, path)
        parse = self.subcon._parsereport
        return ListContainer(parse(stream, context, path) for _ in range(count))

    def _build(self, obj, stream, context, path):
        if len(obj) > self.max_count:
            raise ConstructError(f"{len(obj)} elements exceed the limit {self.max_count}", path=path)
        CompactSize._build(len(obj), stream, context, path)
        build = self.subcon._build
        return ListContainer(build(item, stream, context, path) for item in obj)


def check_count(count, min_size, max_count, stream, path):
    """Refuse a count above ``max_count`` or beyond what the bytes left can hold."""
    if count > max_count:
        raise ConstructError(f"count {count} exceeds the limit {max_count}", path=path)
    if min_size and count * min_size > _remaining(stream):
        raise StreamError(
            f"count {count} needs at least {count * min_size} bytes, "
            f"{_remaining(stream)} left",
            path=path,
        )


class VarBytes(Construct):
    """``vec<u8>``: CompactSize length then raw bytes, shown as hex."""

    def __init__(self, max_len: int = MAX_SIZE):
        super().__init__()
        self.max_len = max_len

    def _parse(self, stream, context, path):
        n = CompactSize._parsereport(stream, context, path)
        check_count(n, 1, self.max_len, stream, path)
        return stream_read(stream, n, path).hex()

    def _build(self, obj, stream, context, path):
        data = _unhex(obj, path)
        if len(data) > self.max_len:
            raise ConstructError(f"{len(data)} bytes exceed the limit {self.max_len}", path=path)
        CompactSize._build(len(data), stream, context, path)
        stream_write(stream, data, len(data), path)
        return obj


class VarStr(Construct):
    """A CompactSize-prefixed string (user agent, governance data ...).

    Kept as text when it is valid UTF-8; otherwise parsing fails, since a
    silent replacement would not build back to the same bytes.
    """

    def __init__(self, max_len: int = MAX_SIZE):
        super().__init__()
        self.max_len = max_len

    def _parse(self, stream, context, path):
        n = CompactSize._parsereport(stream, context, path)
        check_count(n, 1, self.max_len, stream, path)
        raw = stream_read(stream, n, path)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ConstructError(f"string is not UTF-8: {exc.reason}", path=path) from None

    def _build(self, obj, stream, context, path):
        data = obj.encode("utf-8")
        if len(data) > self.max_len:
            raise ConstructError(f"{len(data)} bytes exceed the limit {self.max_len}", path=path)
        CompactSize._build(len(data), stream, context, path)
        stream_write(stream, data, len(data), path)
        return obj


def _unhex(obj, path) -> bytes:
    if isinstance(obj, (bytes, bytearray)):
        return bytes(obj)
    try:
        return bytes.fromhex(obj)
    except (TypeError, ValueError):
        raise ConstructError(f"expected hex, got {obj!r}", path=path) from None


class Hex(Adapter):
    """Fixed-size bytes shown as hex in wire order (keys, signatures, scripts)."""

    def _decode(self, obj, context, path):
        return obj.hex()

    def _encode(self, obj, context, path):
        return _unhex(obj, path)


class _Hash256(Adapter):
    """A uint256 shown as hex in RPC display order (byte-reversed)."""

    def _decode(self, obj, context, path):
        return obj[::-1].hex()

    def _encode(self, obj, context, path):
        return _unhex(obj, path)[::-1]


Hash256 = _Hash256(Bytes(32))
Hash160 = Hex(Bytes(20))
BLSPubKey = Hex(Bytes(48))
BLSSig = Hex(Bytes(96))
BLSSecKey = Hex(Bytes(32))


class HashArray(Construct):
    """``vec<uint256>`` read in one slice (no per-field construct objects)."""

    def __init__(self, max_count: int = MAX_SIZE):
        super().__init__()
        self.max_count = max_count

    def _parse(self, stream, context, path):
        count = CompactSize._parsereport(stream, context, path)
        check_count(count, 32, self.max_count, stream, path)
        raw = stream_read(stream, 32 * count, path)
        return ListContainer(raw[i : i + 32][::-1].hex() for i in range(0, 32 * count, 32))

    def _build(self, obj, stream, context, path):
        CompactSize._build(len(obj), stream, context, path)
        hashes = [_unhex(h, path) for h in obj]
        if any(len(h) != 32 for h in hashes):
            raise ConstructError("every hash must be 32 bytes", path=path)
        data = b"".join(h[::-1] for h in hashes)
        stream_write(stream, data, len(data), path)
        return obj


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
    the key is ignored.
    """

    def __init__(self, subcon, key: str, hashfn):
        super().__init__()
        self.subcon = subcon
        self.key = key
        self.hashfn = hashfn
        self.flagbuildnone = subcon.flagbuildnone

    def _parse(self, stream, context, path):
        start = stream_tell(stream, path)
        obj = self.subcon._parsereport(stream, context, path)
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

Bool = Int8ub  # serialize.h writes 0/1; any non-zero reads as true.
