"""CaptureWriter: records in, a crash-safe capture file out (the I/O edge).

Records go into a ``BlockBuilder``; a block ends when it reaches
``block_size`` bytes or when its oldest record is ``flush_interval`` seconds
old, and is then compressed and written with one ``write()`` plus a
``flush()``, so whatever the process dies of, the file holds every block but
the one being filled.  ``close()`` adds the footer index and the trailer.

With ``threaded=True`` blocks are compressed and written by one worker
thread fed through a bounded queue: zstd releases the GIL, so the caller
(the recorder's consumer loop) never pays for compression, and a full queue
slows the caller down instead of growing memory.  A ``kill -9`` then also
loses the blocks still queued (normally none: zstd is far faster than any
node's traffic).
"""

from __future__ import annotations

import collections
import json
import os
import queue
import threading
import time

from .block import BlockBuilder, BlockContent
from .compress import DEFAULT_LEVEL, Compressor
from .index import IndexBuilder
from .layout import (TYPE_FOOTER, TYPE_RECORDS, encode_block_header, encode_file_header,
                     encode_trailer)
from .records import Gap, Message

DEFAULT_BLOCK_SIZE = 1 << 20  # docs/FORMAT.md, "Choices"
_STOP = object()


class CaptureWriter:
    """Write Message and Gap records to a capture file.

    ``target`` is a path (created or truncated) or a binary file object, which
    may be a pipe: the writer never seeks, and closes only files it opened.

    >>> import io
    >>> out = io.BytesIO()
    >>> with CaptureWriter(out, {"network": "regtest"}) as w:
    ...     w.write(Message(1, 7, 0, "127.0.0.1:19899", "inbound", "in", "ping", 8, bytes(8)))
    >>> w.messages, w.bytes_written == len(out.getvalue())
    (1, True)
    """

    def __init__(self, target, metadata: dict | None = None, *,
                 block_size: int = DEFAULT_BLOCK_SIZE, flush_interval: float = 1.0,
                 level: int = DEFAULT_LEVEL, threaded: bool = False, queue_blocks: int = 4,
                 clock=time.monotonic):
        header = encode_file_header(metadata or {})  # bad metadata fails before any file exists
        if isinstance(target, (str, os.PathLike)):
            self._file = open(target, "wb")
            self._own = True
        else:
            self._file = target
            self._own = False
        self.block_size = block_size
        self.flush_interval = flush_interval
        self._clock = clock
        self._compress = Compressor(level)
        self._index = IndexBuilder()
        self._lock = threading.Lock()
        self._builder = BlockBuilder()
        self._oldest: float | None = None  # clock() when the open block got its first record
        self._error: BaseException | None = None
        self._written = collections.deque()  # blocks written, not yet in the index
        self._closed = False
        self.messages = 0
        self.payload_bytes = 0
        self.gaps = 0
        self.lost_messages = 0
        self.lost_bytes = 0
        self.blocks = 0
        self.bytes_written = 0
        self._put(header)
        self._queue = self._thread = None
        if threaded:
            self._queue = queue.Queue(maxsize=queue_blocks)
            self._thread = threading.Thread(target=self._work, name="p2pcap-writer", daemon=True)
            self._thread.start()

    # -- records -------------------------------------------------------------
    def write(self, record) -> None:
        """Add one Message or Gap; may end the current block (size or age)."""
        with self._lock:
            if self._error is not None or self._closed:
                self._check()
            b = self._builder
            if type(record) is Message:
                n = len(record.payload)
                if b.records and (len(b.body) + 28 + n > self.block_size or b.full):
                    self._end_block()
                    b = self._builder
                b.add_message(record)
                self.messages += 1
                self.payload_bytes += n
            else:
                if b.records and len(b.body) + 35 > self.block_size:
                    self._end_block()
                    b = self._builder
                b.add(record)
                self.gaps += 1
                self.lost_messages += record.lost_messages
                self.lost_bytes += record.lost_bytes
            now = self._clock()
            if self._oldest is None:
                self._oldest = now
            elif now - self._oldest >= self.flush_interval:
                self._end_block()

    def flush(self) -> None:
        """End the current block now (queued to the worker when threaded)."""
        with self._lock:
            self._check()
            if self._builder.records:
                self._end_block()
            if self._thread is None:
                self._file.flush()

    def maybe_flush(self, now: float | None = None) -> bool:
        """End the current block if its oldest record is ``flush_interval`` old.

        Call it from a timer so a quiet capture still reaches the disk within
        about ``flush_interval`` seconds.  Returns True if a block was ended.
        """
        with self._lock:
            self._check()
            if self._oldest is None:
                return False
            if (self._clock() if now is None else now) - self._oldest < self.flush_interval:
                return False
            self._end_block()
            return True

    def close(self) -> None:
        """Flush, wait for the worker, write the footer and trailer; idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            try:
                if self._error is None and self._builder.records:
                    self._end_block()
                if self._thread is not None:
                    self._queue.put(_STOP)
                    self._thread.join()
                if self._error is not None:
                    raise self._error
                self._merge()
                self._write_footer()
            finally:
                if self._own:
                    self._file.close()

    def __enter__(self) -> "CaptureWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- blocks --------------------------------------------------------------
    def _check(self) -> None:
        if self._error is not None:
            raise self._error
        if self._closed:
            raise ValueError("write to a closed CaptureWriter")

    def _end_block(self) -> None:
        content = self._builder.finish()
        self._builder = BlockBuilder()
        self._oldest = None
        if self._queue is None:
            try:
                self._emit(content)
            except BaseException as e:  # a short write leaves a torn block: stop here
                self._error = e
                raise
        else:
            self._queue.put(content)  # blocks while the worker is behind
        self._merge()

    def _merge(self) -> None:
        """Index the blocks written so far (on the caller's thread: the worker
        keeps to C calls that release the GIL, plus a few lines)."""
        done = self._written
        while done:
            offset, length, raw_len, content = done.popleft()
            self._index.add_block(offset, length, raw_len, content)
            self.blocks += 1

    def _work(self) -> None:
        while True:
            content = self._queue.get()
            try:
                if content is _STOP:
                    return
                if self._error is None:
                    self._emit(content)
            except BaseException as e:  # surfaces on the caller's next call
                self._error = e
            finally:
                self._queue.task_done()

    def _emit(self, content: BlockContent) -> None:
        body = self._compress(content.raw)
        head = encode_block_header(TYPE_RECORDS, body, len(content.raw), content.records,
                                   content.ts_min_ns, content.ts_max_ns, content.mask)
        offset = self.bytes_written
        self._put(head + body)
        raw_len, content.raw = len(content.raw), b""
        self._written.append((offset, len(head) + len(body), raw_len, content))

    def append_block(self, header: bytes, body: bytes, raw_len: int, content: BlockContent) -> None:
        """Copy a verified block as it is (``repair``, ``filter`` of whole blocks)."""
        with self._lock:
            self._check()
            if self._builder.records:
                self._end_block()
            if self._queue is not None:  # keep block order: let the worker catch up
                self._queue.join()
                self._check()
            self._merge()
            offset = self.bytes_written
            self._put(header + body)
            self._index.add_block(offset, len(header) + len(body), raw_len, content)
            self.blocks += 1
            self.messages += sum(c[0] for c in content.counts.values())
            self.payload_bytes += sum(c[2] for c in content.counts.values())
            self.gaps += len(content.gaps)
            self.lost_messages += sum(g.lost_messages for g in content.gaps)
            self.lost_bytes += sum(g.lost_bytes for g in content.gaps)

    def _write_footer(self) -> None:
        index = self._index.index
        raw = json.dumps(index.to_json(), ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        body = self._compress(raw)
        head = encode_block_header(TYPE_FOOTER, body, len(raw), len(index.blocks),
                                   index.ts_min_ns or 0, index.ts_max_ns or 0, 0)
        offset = self.bytes_written
        self._put(head + body + encode_trailer(offset))

    def _put(self, data: bytes) -> None:
        self._file.write(data)
        self._file.flush()  # to the OS: a SIGKILL after this loses nothing
        self.bytes_written += len(data)

    @property
    def index(self):
        """The index of the blocks written so far (complete after ``close``)."""
        with self._lock:
            self._merge()
            return self._index.index

