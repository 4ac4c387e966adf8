"""The only module that imports ``zstandard``, so the checks below live in one place.

Each block body is one zstd frame compressed in one shot, so the frame header
records its content size (python-zstandard ``docs/concepts.rst``).  The
reader checks that size against the block header *before* decompressing (a
frame may claim any size, and ``max_output_size`` is ignored when the frame
states one), then decompresses with ``allow_extra_data=False`` (zstandard
issue #181: trailing bytes are ignored otherwise) and checks the length.
"""

from __future__ import annotations

import struct
import threading

import zstandard

from .errors import CorruptBlock

DEFAULT_LEVEL = 3  # docs/FORMAT.md, "Choices": level matters less than block size

_local = threading.local()  # ZstdDecompressor objects are not thread-safe


class Compressor:
    """One-shot zstd compression of block bodies, one instance per thread.

    >>> Compressor(3)(b"inv" * 100)[:4] == b"\\x28\\xb5\\x2f\\xfd"
    True
    """

    def __init__(self, level: int = DEFAULT_LEVEL):
        self._cctx = zstandard.ZstdCompressor(
            level=level, write_content_size=True, write_checksum=False, write_dict_id=False
        )

    def __call__(self, data) -> bytes:
        return self._cctx.compress(data)


# RFC 8878 section 3.1.1: frame magic; a Frame_Header_Descriptor with
# Single_Segment_flag set and FCS_Field_Size 4 (flag value 2), no checksum and
# no dictionary; then 3-byte block headers (Last_Block bit, Block_Type in bits
# 1-2, 0 = Raw_Block, Block_Size in bits 3-23).  A raw block holds at most
# Block_Maximum_Size = min(window, 128 KiB) bytes.
_STORED_HEAD = struct.Struct("<IBI")
_ZSTD_MAGIC = 0xFD2FB528
_FHD_SINGLE_SEGMENT_FCS4 = 0xA0
RAW_BLOCK_MAX = 128 << 10


def stored_frame(data) -> list:
    """``data`` as a zstd frame of raw (uncompressed) blocks, in pieces.

    Returns the frame as a list of byte strings and memoryviews of ``data``
    to be written one after the other: storing costs no copy of the data,
    where zstd, even at its fastest level, copies it once.  The recorder
    falls back to this when compression cannot keep up
    (``capture/compression.py``); any zstd decoder reads the frame.

    >>> import zstandard
    >>> frame = b"".join(stored_frame(b"inv" * 50000))
    >>> zstandard.ZstdDecompressor().decompress(frame) == b"inv" * 50000
    True
    """
    view = memoryview(data).cast("B")
    size = view.nbytes
    if size >= 1 << 32:
        raise ValueError(f"a stored frame holds less than 4 GiB, not {size} bytes")
    pieces: list = [_STORED_HEAD.pack(_ZSTD_MAGIC, _FHD_SINGLE_SEGMENT_FCS4, size)]
    pos = 0
    while True:
        n = min(RAW_BLOCK_MAX, size - pos)
        last = pos + n == size
        pieces.append((n << 3 | last).to_bytes(3, "little"))  # Block_Type 0: raw
        if n:
            pieces.append(view[pos : pos + n])
        pos += n
        if last:
            return pieces


def decompress(frame: bytes, size: int) -> bytes:
    """Decompress one frame that must hold exactly ``size`` bytes.

    Raises ``CorruptBlock`` (without a location; callers add it) for anything
    that is not exactly one well-formed frame of ``size`` bytes.
    """
    try:
        claimed = zstandard.frame_content_size(frame)
    except zstandard.ZstdError as e:
        raise CorruptBlock(f"zstd frame header unreadable ({e})") from None
    if claimed != size:
        raise CorruptBlock(f"zstd frame holds {claimed} bytes, block header says {size}")
    dctx = getattr(_local, "dctx", None)
    if dctx is None:
        dctx = _local.dctx = zstandard.ZstdDecompressor()
    try:
        data = dctx.decompress(frame, max_output_size=size, allow_extra_data=False)
    except zstandard.ZstdError as e:
        raise CorruptBlock(f"zstd: {e}") from None
    if len(data) != size:
        raise CorruptBlock(f"zstd frame gave {len(data)} bytes, expected {size}")
    return data
