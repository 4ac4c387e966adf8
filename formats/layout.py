"""Byte layout of the file header, block headers and trailer (docs/FORMAT.md).

Pure functions over bytes: nothing here reads or writes files.  All integers
are little-endian.  Parsers raise ``FormatError`` subclasses carrying the
offset they were given; the reader adds the file name.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass

# zlib-ng's CRC32 (same polynomial and values as zlib's) runs at ~9 GB/s here
# against zlib's ~2 GB/s: at 500 MB/s of capture, zlib's spent a quarter of
# a core on block bodies (benchmarks/bench_recorder.py, (b)).
from zlib_ng.zlib_ng import crc32

from p2pcap.errors import ArgumentError

from .errors import BadMagic, CorruptBlock, FormatError, UnsupportedVersion
from .limits import MAX_JSON_DEPTH, MAX_METADATA, MIN_RECORD, json_shape, load_json

# -- file header ------------------------------------------------------------
# PNG-style magic: the high-bit byte catches 7-bit transfers, CR LF catches
# LF -> CR LF and CR LF -> LF conversions, 0x1a stops DOS `type` (PNG spec,
# section 12.12).
MAGIC = b"\x89P2P\r\n\x1a\n"
FORMAT_MAJOR = 1
FORMAT_MINOR = 1  # 1.1: process definitions (docs/FORMAT.md, "Versions")
FILE_HEADER = struct.Struct("<8sHHI")  # magic, major, minor, metadata length

# -- blocks -------------------------------------------------------------------
BLOCK_SYNC = b"P2PB"
TYPE_RECORDS = 0x01
TYPE_FOOTER = 0x02
# sync, type, flags, header length, body length, raw length, records,
# ts_min, ts_max, command mask, body CRC32; the header CRC32 follows.
BLOCK_HEADER = struct.Struct("<4sBBHIIIQQQI")
BLOCK_HEADER_LEN = BLOCK_HEADER.size + 4  # 52 in format 1.0
MAX_BLOCK_HEADER_LEN = 4096  # newer minors may grow the header up to this
MAX_BLOCK_BYTES = 64 << 20  # refuse bodies (stored or raw) larger than this
GAP_BIT = 1 << 63  # command-mask bit: the block holds gap records

# -- trailer ------------------------------------------------------------------
END_MAGIC = b"P2PINDEX"
TRAILER = struct.Struct("<Q8s")  # footer block offset, end magic
TRAILER_LEN = TRAILER.size  # 16


def command_bit(command: bytes) -> int:
    """The command-mask bit for a command name: bit ``crc32(name) % 63``.

    >>> command_bit(b"inv") == 1 << (crc32(b"inv") % 63)
    True
    """
    return 1 << (crc32(command) % 63)


def commands_mask(commands) -> int:
    mask = 0
    for name in commands:
        mask |= command_bit(name.encode("utf-8", "surrogateescape"))
    return mask


# -- file header --------------------------------------------------------------


def json_text(obj) -> str:
    """Compact JSON for the file (metadata, footer): UTF-8 as it is, but a
    string holding bytes that were not UTF-8 (surrogate escapes, as the
    reader decodes them) is written as ``\\udcXX`` escapes, which read back
    as the same string, so its bytes round-trip.

    >>> json_text({"host": "n1"}), json_text({"host": "n\\udce9"})
    ('{"host":"n1"}', '{"host":"n\\\\udce9"}')
    """
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(obj, separators=(",", ":"))  # ensure_ascii: every non-ASCII one escaped
    return text


def encode_file_header(metadata: dict, major: int = FORMAT_MAJOR, minor: int = FORMAT_MINOR) -> bytes:
    """Magic, version, JSON metadata and a CRC32 over all of it.

    >>> encode_file_header({})[:16].hex(" ")
    '89 50 32 50 0d 0a 1a 0a 01 00 01 00 02 00 00 00'
    """
    if not isinstance(metadata, dict):
        raise TypeError("capture metadata must be a dict (a JSON object)")
    text = json_text(metadata)
    meta = text.encode("utf-8")
    if len(meta) > MAX_METADATA:
        raise ArgumentError("metadata", f"is {len(meta)} bytes of JSON; the format allows {MAX_METADATA}")
    if json_shape(text)[0] > MAX_JSON_DEPTH:
        raise ArgumentError("metadata", f"nests deeper than the format's {MAX_JSON_DEPTH} levels")
    head = FILE_HEADER.pack(MAGIC, major, minor, len(meta)) + meta
    return head + struct.pack("<I", crc32(head))


@dataclass(frozen=True, slots=True)
class FileHeader:
    """The parsed file header; ``length`` is its size in bytes on disk."""

    major: int
    minor: int
    metadata: dict
    length: int

    @property
    def version(self) -> tuple[int, int]:
        return (self.major, self.minor)


def file_header_length(prefix: bytes) -> int:
    """Check the first 16 bytes; return the whole header's length.

    Magic first (is this a capture at all?), then the version (a newer major
    may lay out the rest differently, so it is judged before the checksum).
    """
    magic, major, minor, meta_len = FILE_HEADER.unpack_from(prefix)
    check_magic_prefix(magic)
    if major != FORMAT_MAJOR:
        newer = "newer than" if major > FORMAT_MAJOR else "older than"
        raise UnsupportedVersion(
            f"capture format {major}.{minor} is {newer} this reader's {FORMAT_MAJOR}.x"
            + ("; upgrade p2pcap to read it" if major > FORMAT_MAJOR else ""),
            offset=8,
        )
    if meta_len > MAX_METADATA:
        raise CorruptBlock(
            f"file header claims {meta_len} bytes of metadata (limit {MAX_METADATA})", offset=12
        )
    return FILE_HEADER.size + meta_len + 4


def check_magic_prefix(prefix: bytes) -> None:
    """``BadMagic`` unless ``prefix`` (up to 8 bytes) starts the magic."""
    if bytes(prefix[: len(MAGIC)]) != MAGIC[: len(prefix)]:
        raise BadMagic(
            f"not a p2pcap capture (starts with {bytes(prefix[:8]).hex(' ')}; expected {MAGIC.hex(' ')})",
            offset=0,
        )


def parse_file_header(data: bytes) -> FileHeader:
    """Parse a complete file header (``file_header_length`` bytes)."""
    length = file_header_length(data)
    _, major, minor, meta_len = FILE_HEADER.unpack_from(data)
    (stored,) = struct.unpack_from("<I", data, length - 4)
    if crc32(memoryview(data)[: length - 4]) != stored:
        raise CorruptBlock("file header checksum mismatch", offset=0)
    raw = data[FILE_HEADER.size : FILE_HEADER.size + meta_len]
    metadata = load_json(raw, "file header metadata", offset=FILE_HEADER.size)
    if not isinstance(metadata, dict):
        raise FormatError("file header metadata is not a JSON object", offset=FILE_HEADER.size)
    return FileHeader(major, minor, metadata, length)


# -- block headers ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BlockHeader:
    """A parsed, checksum-verified block header.  ``offset`` is where it starts."""

    type: int
    flags: int
    header_len: int
    body_len: int
    raw_len: int
    records: int
    ts_min_ns: int
    ts_max_ns: int
    mask: int
    body_crc: int
    offset: int = 0

    @property
    def length(self) -> int:
        """Header plus body: the block's size on disk."""
        return self.header_len + self.body_len


def encode_block_header(
    block_type: int, body, raw_len: int, records: int, ts_min_ns: int, ts_max_ns: int, mask: int
) -> bytes:
    """The 52-byte header for ``body`` (already compressed): bytes, or a list
    of pieces written one after the other (``compress.stored_frame``)."""
    if type(body) is list:
        body_len = body_crc = 0
        for piece in body:
            body_len += len(piece)
            body_crc = crc32(piece, body_crc)
    else:
        body_len, body_crc = len(body), crc32(body)
    head = BLOCK_HEADER.pack(
        BLOCK_SYNC,
        block_type,
        0,
        BLOCK_HEADER_LEN,
        body_len,
        raw_len,
        records,
        ts_min_ns,
        ts_max_ns,
        mask,
        body_crc,
    )
    return head + struct.pack("<I", crc32(head))


def block_header_length(prefix, offset: int = 0) -> int:
    """From the first 8 bytes: the header's length, or ``CorruptBlock``."""
    if bytes(prefix[:4]) != BLOCK_SYNC:
        raise CorruptBlock(f"no block sync marker (found {bytes(prefix[:4]).hex(' ')})", offset=offset)
    (header_len,) = struct.unpack_from("<H", prefix, 6)
    if not BLOCK_HEADER_LEN <= header_len <= MAX_BLOCK_HEADER_LEN:
        raise CorruptBlock(f"block header length {header_len} out of range", offset=offset)
    return header_len


def parse_block_header(data, offset: int = 0) -> BlockHeader:
    """Parse and verify a complete block header (``block_header_length`` bytes).

    Bytes between the 1.0 fields and the header CRC (added by newer minors)
    are covered by the CRC and otherwise ignored.
    """
    header_len = block_header_length(data, offset)
    (_, btype, flags, _, body_len, raw_len, records, ts_min, ts_max, mask, body_crc) = (
        BLOCK_HEADER.unpack_from(data)
    )
    (stored,) = struct.unpack_from("<I", data, header_len - 4)
    if crc32(memoryview(data)[: header_len - 4]) != stored:
        raise CorruptBlock("block header checksum mismatch", offset=offset)
    if body_len > MAX_BLOCK_BYTES + (MAX_BLOCK_BYTES >> 4) or raw_len > MAX_BLOCK_BYTES:
        raise CorruptBlock(
            f"block claims {body_len} stored / {raw_len} raw bytes (limit {MAX_BLOCK_BYTES})", offset=offset
        )
    if btype == TYPE_RECORDS and records * MIN_RECORD > raw_len:
        raise CorruptBlock(
            f"block claims {records} records in {raw_len} bytes (a record takes at least {MIN_RECORD})",
            offset=offset,
        )
    return BlockHeader(
        btype, flags, header_len, body_len, raw_len, records, ts_min, ts_max, mask, body_crc, offset
    )


def check_body(header: BlockHeader, body) -> None:
    """Compare a block body with the CRC32 its header stores."""
    crc = crc32(body)
    if crc != header.body_crc:
        raise CorruptBlock(
            f"body checksum mismatch (stored {header.body_crc:08x}, computed {crc:08x})",
            offset=header.offset,
            records=header.records,
        )


# -- trailer ------------------------------------------------------------------


def encode_trailer(footer_offset: int) -> bytes:
    """The last 16 bytes of a closed capture.

    >>> encode_trailer(300).hex(" ")
    '2c 01 00 00 00 00 00 00 50 32 50 49 4e 44 45 58'
    """
    return TRAILER.pack(footer_offset, END_MAGIC)


def parse_trailer(data) -> int | None:
    """The footer offset from a trailer, or ``None`` if these bytes are not one."""
    footer_offset, magic = TRAILER.unpack_from(data)
    return footer_offset if magic == END_MAGIC else None
