"""Stream a long capture to disk without filling the page cache.

A recorder writing hundreds of MB/s would otherwise leave gigabytes of
dirty pages behind it: the kernel then throttles every writer on the disk
(the traced node's own block and chainstate writes too) and evicts the
node's cached files to make room for a capture nobody reads back soon.
``WriteBehind`` asks the kernel to start writing each few MiB as soon as it
is written (sync_file_range(2) with SYNC_FILE_RANGE_WRITE), waits for the
range before it, and drops that from the cache (posix_fadvise DONTNEED):
the capture occupies a few MiB of cache, and the disk's own speed, not
free memory, sets the pace -- as it must in a run of any length.
"""

from __future__ import annotations

import ctypes
import os

STEP = 8 << 20  # bytes handed to writeback at a time
_WAIT_BEFORE, _WRITE, _WAIT_AFTER = 1, 2, 4  # <linux/fs.h> SYNC_FILE_RANGE_*


def _sync_file_range():
    try:
        fn = ctypes.CDLL(None, use_errno=True).sync_file_range
    except (OSError, AttributeError):
        return None  # not Linux/glibc: the page cache does as it likes
    fn.argtypes = (ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint)
    fn.restype = ctypes.c_int
    return fn


class WriteBehind:
    """For a regular file written from offset 0 by one thread, in order."""

    def __init__(self, fd: int):
        self.fd = fd
        self._range = _sync_file_range()
        self.started = 0  # [0, started) is on its way to the disk
        self.dropped = 0  # [0, dropped) is on the disk and out of the cache

    def written(self, end: int) -> None:
        """The file now holds ``end`` bytes."""
        if self._range is None or end - self.started < STEP:
            return
        if self.started > self.dropped:
            # ctypes releases the GIL while the kernel waits for the disk.
            if (
                self._range(
                    self.fd, self.dropped, self.started - self.dropped, _WAIT_BEFORE | _WRITE | _WAIT_AFTER
                )
                == 0
            ):
                os.posix_fadvise(self.fd, self.dropped, self.started - self.dropped, os.POSIX_FADV_DONTNEED)
            self.dropped = self.started
        if self._range(self.fd, self.started, end - self.started, _WRITE) != 0:
            self._range = None  # e.g. a file system without it: stop asking
        self.started = end
