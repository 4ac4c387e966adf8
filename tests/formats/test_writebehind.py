"""A streamed capture leaves the page cache as it found it (writebehind.py).

Residency is read with mincore(2) on a mapping of the file.  The files go
under the repository's build/ directory: on a tmpfs (a common /tmp) pages
cannot leave memory at all.
"""

from __future__ import annotations

import ctypes
import mmap
import os
import tempfile
from pathlib import Path

import pytest

from p2pcap.formats import CaptureReader, CaptureWriter, Message
from p2pcap.formats.writebehind import STEP

BUILD = Path(__file__).resolve().parents[2] / "build"


def resident_fraction(path: Path, length: int) -> float:
    """Of the file's first ``length`` bytes, the part in the page cache."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mincore.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p)
    pages = (length + mmap.PAGESIZE - 1) // mmap.PAGESIZE
    vec = ctypes.create_string_buffer(pages)
    with open(path, "r+b") as f, mmap.mmap(f.fileno(), length) as m:
        anchor = ctypes.c_char.from_buffer(m)
        try:
            if libc.mincore(ctypes.addressof(anchor), length, vec) != 0:
                raise OSError(ctypes.get_errno(), "mincore")
        finally:
            del anchor
    return sum(b & 1 for b in vec.raw) / pages


def write(path: Path, stream: bool) -> list:
    recs = [
        Message(i, 1, 2, "10.0.0.1:9999", "inbound", "in", "block", 65536, os.urandom(65536))
        for i in range(6 * STEP // 65536)
    ]
    with CaptureWriter(path, {}, level=1, stream=stream) as w:
        for r in recs:
            w.write(r)
    return recs


@pytest.fixture
def scratch():
    BUILD.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(dir=BUILD) as d:
        yield Path(d)


def test_streamed_capture_is_written_and_dropped_from_the_cache(scratch):
    streamed, cached = scratch / "streamed.cap", scratch / "cached.cap"
    recs = write(streamed, stream=True)
    write(cached, stream=False)
    head = 3 * STEP  # written, waited for and dropped long before the end
    assert resident_fraction(cached, head) > 0.9  # what the cache does by itself
    assert resident_fraction(streamed, head) < 0.1
    assert list(CaptureReader(streamed)) == recs
