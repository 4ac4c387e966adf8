"""Compression that keeps up: lower the zstd level while the writer falls behind.

zstd level 3 gives ~2.5x on a typical capture at ~180 MB/s per core on
these machines (and ~50 MB/s on block-like data, which hardly compresses),
so a node pushing 500 MB/s of blocks would outrun it and the ring buffer
would overflow.  The recorder's writer compresses on its own thread, fed
by a bounded queue of blocks; before each block this compressor looks at
that queue.  Blocks waiting (BACKLOG_HIGH or more) mean compression is the
bottleneck: it steps down a ladder of levels -- 3, 1, -1, -3, -7, -20,
-100, and last STORED; negative levels trade ratio for speed, -100 runs at
~3-5 GB/s and still copies every byte, and STORED frames the block as raw
zstd blocks around the data as it lies (``formats.compress.stored_frame``),
copying nothing.  The queue also backs up when ``write()`` is the slow
part; stepping down then frees CPU for the writing thread.
After ``calm`` blocks in a row found the queue empty it steps back up;
a step up that has to be taken back soon doubles ``calm`` (up to
MAX_CALM_BLOCKS), like a backoff, since every block compressed at a level
too slow for the load costs several blocks' worth of time.
Every frame is an ordinary zstd frame; readers see no difference.
Only the level in use holds a zstd context: each takes 1.3-2.6 MB once
it has compressed a 1 MiB block, and a recorder that went down the whole
ladder once would otherwise keep ~11 MB of them for good (issue 29).
"""

from __future__ import annotations

from p2pcap.formats.compress import DEFAULT_LEVEL, Compressor, stored_frame

STORED = -(1 << 31)  # below every zstd level: raw blocks, no compression
LEVELS = (DEFAULT_LEVEL, 1, -1, -3, -7, -20, -100, STORED)
BACKLOG_HIGH = 2  # blocks waiting behind the one being compressed: step down
CALM_BLOCKS = 32  # blocks in a row with none waiting before a step up ...
MAX_CALM_BLOCKS = 4096  # ... doubled, up to this, each time a step up failed
SETTLED_BLOCKS = 512  # a step up that held this long halves the wait again


class AdaptiveCompressor:
    """A ``Compressor`` whose level follows the writer's backlog.

    ``backlog()`` says how many blocks wait to be compressed.

    >>> c = AdaptiveCompressor(lambda: 0)
    >>> c(b"inv" * 1000)[:4] == b"\\x28\\xb5\\x2f\\xfd"
    True
    >>> c.level
    3
    """

    def __init__(self, backlog, levels=LEVELS):
        self.backlog = backlog
        self.levels = tuple(levels)
        self._compressors: list = [None] * len(self.levels)  # made when used, let go when left
        self._step = 0
        self._calm = 0  # blocks in a row that found no backlog
        self._calm_needed = CALM_BLOCKS
        self._since_up: int | None = None  # blocks since the last step up
        self.lowest_level = self.levels[0]  # the lowest level used so far

    @property
    def level(self) -> int:
        return self.levels[self._step]

    def __call__(self, data) -> bytes:
        waiting = self.backlog()
        if self._since_up is not None:
            self._since_up += 1
            if self._since_up >= SETTLED_BLOCKS:
                self._calm_needed = max(CALM_BLOCKS, self._calm_needed // 2)
                self._since_up = None
        if waiting >= BACKLOG_HIGH:
            self._calm = 0
            if self._step + 1 < len(self.levels):
                self._step += 1
                self.lowest_level = min(self.lowest_level, self.level)
                if self._since_up is not None:  # the last step up was too much
                    self._calm_needed = min(MAX_CALM_BLOCKS, self._calm_needed * 2)
                    self._since_up = None
        elif waiting == 0:
            self._calm += 1
            if self._calm >= self._calm_needed and self._step > 0:
                self._step -= 1
                self._calm = 0
                self._since_up = 0
        else:
            self._calm = 0
        compress = self._compressors[self._step]
        if compress is None:
            for i in range(len(self._compressors)):
                self._compressors[i] = None  # the level left behind: free its context
            level = self.level
            compress = self._compressors[self._step] = stored_frame if level == STORED else Compressor(level)
        return compress(data)
