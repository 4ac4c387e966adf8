"""The only module that imports ``zstandard`` (STYLE.md §2).

Each block body is one zstd frame compressed in one shot, so the frame header
records its content size (python-zstandard ``docs/concepts.rst``).  The
reader checks that size against the block header *before* decompressing (a
frame may claim any size, and ``max_output_size`` is ignored when the frame
states one), then decompresses with ``allow_extra_data=False`` (zstandard
issue #181: trailing bytes are ignored otherwise) and checks the length.
"""

from __future__ import annotations

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
            level=level, write_content_size=True, write_checksum=False, write_dict_id=False)

    def __call__(self, data) -> bytes:
        return self._cctx.compress(data)


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
