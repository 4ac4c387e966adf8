"""CaptureWriter: records in, a crash-safe capture file out (the I/O edge).

Records go into a ``BlockBuilder``; a block ends when it reaches
``block_size`` bytes or when its oldest record is ``flush_interval`` seconds
old, and is then compressed and handed to the OS with one ``writev()``,
so whatever the process dies of, the file holds every block but the one
being filled.  ``close()`` adds the footer index and the trailer.

With ``threaded=True`` blocks are compressed by one worker thread and
written by another, each fed through a bounded queue: zstd, the CRC and
``write()`` release the GIL, so the caller (the recorder's consumer loop)
never pays for them, and compressing one block overlaps writing the one
before (at 500 MB/s, each is a good part of a core here).  Full queues slow
the caller down instead of growing memory.  A ``kill -9`` then also loses
the blocks still queued (normally none).
"""

from __future__ import annotations

import collections
import os
import queue
import threading
import time

from .block import BlockBuilder, BlockContent, payload_len
from .compress import DEFAULT_LEVEL, Compressor
from .index import WRITER_LIMITS, IndexBuilder
from .layout import (
    TYPE_FOOTER,
    TYPE_RECORDS,
    encode_block_header,
    encode_file_header,
    encode_trailer,
    json_text,
)
from .records import Message
from .writebehind import WriteBehind

DEFAULT_BLOCK_SIZE = 1 << 20  # docs/FORMAT.md, "Choices"
# A block's buffer holds block_size and this much more (its records'
# headers and peer definitions); once the block is written the buffer is
# reused, unless a multi-MiB message grew it past twice the block size.
BUFFER_SLACK = 64 << 10
IOV_MAX = 1024  # pieces per writev() (Linux UIO_MAXIOV)
_STOP = object()


def _no_backlog() -> int:
    return 0


def _writev_all(fd: int, pieces) -> None:
    """``os.writev`` until every byte is written (pipes take part of a call)."""
    pending = [memoryview(p).cast("B") for p in pieces]
    while pending:
        n = os.writev(fd, pending[:IOV_MAX])
        while n:
            head = pending[0]
            if n >= head.nbytes:
                n -= head.nbytes
                pending.pop(0)
            else:
                pending[0] = head[n:]
                n = 0
        while pending and not pending[0].nbytes:
            pending.pop(0)


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

    def __init__(
        self,
        target,
        metadata: dict | None = None,
        *,
        block_size: int = DEFAULT_BLOCK_SIZE,
        flush_interval: float = 1.0,
        level: int = DEFAULT_LEVEL,
        threaded: bool = False,
        queue_blocks: int = 4,
        compressor=None,
        stream: bool = False,
        clock=time.monotonic,
        opener=None,
        processes: dict | None = None,
    ):
        header = encode_file_header(metadata or {})  # bad metadata fails before any file exists
        if isinstance(target, (str, os.PathLike)):
            # opener: how the recorder creates its files as root (capture/files.py)
            self._file = open(target, "wb", buffering=0, opener=opener)  # _put gathers its own writes
            self._own = True
        else:
            self._file = target
            self._own = False
        try:
            self._fd = self._file.fileno()
        except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is both
            self._fd = None  # BytesIO and such: plain write() calls
        # stream: a long recording; keep the page cache clear (writebehind.py).
        self._behind = WriteBehind(self._fd) if stream and self._own else None
        self.block_size = block_size
        self.flush_interval = flush_interval
        self._clock = clock
        self._queue = self._io_queue = None
        if threaded:
            self._queue = queue.Queue(maxsize=queue_blocks)  # blocks to compress
            self._io_queue = queue.Queue(maxsize=queue_blocks)  # compressed, to write
        # compressor(backlog) -> compress(raw): bytes, or a stored frame's
        # pieces; backlog() tells how many blocks wait to be compressed.  It
        # is the queue's own method, not one of this writer's: a cycle
        # writer -> compressor -> writer kept every closed file's writer,
        # and its ~12 MiB of block buffers, until a full garbage collection
        # (a recorder rotating files grew ~1.3 MB per file; issue 29).
        backlog = self._queue.qsize if threaded else _no_backlog
        self._compress = compressor(backlog) if compressor else Compressor(level)
        # stream: the recorder's files, whose index must not grow without
        # bound however long the recording (index.py, IndexLimits).
        self._index = IndexBuilder(WRITER_LIMITS if stream else None)
        # on_block(content, stored bytes): each records block as it is sealed,
        # on the compressing thread (``record --metrics`` counts blocks, not
        # messages: ``content.counts`` already sums them).
        self.on_block = None
        self._lock = threading.Lock()
        self._spare: list[bytearray] = []  # buffers of blocks written, for the next ones
        # A buffer per block in flight: queued, compressing, writing, filling.
        self._spare_max = 2 * queue_blocks + 3 if threaded else 1
        # pid -> network: each block defines the networks of the processes
        # it holds messages of (format 1.1); the caller keeps the dict current.
        self._processes = processes
        self._builder = self._new_builder()
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
        self._threads: list[threading.Thread] = []
        if threaded:
            self._threads = [
                threading.Thread(
                    target=self._work,
                    args=(self._queue, self._seal_and_pass),
                    name="p2pcap-zstd",
                    daemon=True,
                ),
                threading.Thread(
                    target=self._work, args=(self._io_queue, self._store), name="p2pcap-writer", daemon=True
                ),
            ]
            for t in self._threads:
                t.start()

    # -- records -------------------------------------------------------------
    def write(self, record) -> None:
        """Add one Message or Gap; may end the current block (size or age)."""
        with self._lock:
            if self._error is not None or self._closed:
                self._check()
            b = self._builder
            if type(record) is Message:
                n = payload_len(record.payload)
                if b.records and (b.nbytes + 28 + n > self.block_size or b.full):
                    self._end_block()
                    b = self._builder
                b.add_message(record, n)
                self.messages += 1
                self.payload_bytes += n
            else:
                if b.records and len(b) + 35 > self.block_size:
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
            if not self._threads:
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
                if self._threads:
                    self._queue.put(_STOP)  # the compressor passes it on to the writer
                    for t in self._threads:
                        t.join()
                if self._error is not None:
                    raise self._error
                self._merge()
                if not self._index.overflowed:  # past its limits the index was let go
                    self._write_footer()
            finally:
                if self._own:
                    self._file.close()

    def __enter__(self) -> CaptureWriter:
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
        self._builder = self._new_builder()
        self._oldest = None
        if self._queue is None:
            try:
                self._store(self._seal(content))
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

    def _work(self, source: queue.Queue, handle) -> None:
        """A worker thread's loop: ``handle`` each item of ``source`` until _STOP."""
        while True:
            item = source.get()
            try:
                if item is _STOP:
                    if source is self._queue:
                        self._io_queue.put(_STOP)
                    return
                if self._error is None:
                    handle(item)
            except BaseException as e:  # surfaces on the caller's next call
                self._error = e
            finally:
                source.task_done()

    def _seal_and_pass(self, content: BlockContent) -> None:
        self._io_queue.put(self._seal(content))

    def backlog(self) -> int:
        """Finished blocks waiting for the compressing thread."""
        return self._queue.qsize() if self._queue is not None else 0

    @property
    def index_full(self) -> bool:
        """The index is near its limits (``stream=True``): time for a new file."""
        return self._index.full

    def note_clock_step(self, step: dict) -> None:
        """Keep a step of the wall clock (a JSON object) in this file's footer."""
        with self._lock:
            self._index.add_clock_step(step)

    @property
    def processes(self) -> dict | None:
        """pid -> network, defined in each block that holds the process's
        messages (format 1.1); a dict the caller keeps current."""
        return self._processes

    @processes.setter
    def processes(self, processes: dict | None) -> None:
        with self._lock:
            self._processes = processes
            self._builder._processes = processes

    def _new_builder(self) -> BlockBuilder:
        spare = self._spare
        # list.pop/append are atomic: the worker thread hands buffers back.
        buffer = spare.pop() if spare else bytearray(self.block_size + BUFFER_SLACK)
        return BlockBuilder(buffer, self._processes)

    def _seal(self, content: BlockContent) -> tuple:
        """Compress a finished block: (header, body, raw body, content).

        The body is bytes, or the pieces of a stored frame, which point into
        the raw body: that is let go in ``_store``, once written.
        """
        raw = content.raw
        content.raw = b""
        body = self._compress(raw)
        head = encode_block_header(
            TYPE_RECORDS, body, len(raw), content.records, content.ts_min_ns, content.ts_max_ns, content.mask
        )
        if self.on_block is not None:
            self.on_block(content, len(head) + (sum(map(len, body)) if type(body) is list else len(body)))
        return head, body, raw, content

    def _store(self, sealed: tuple) -> None:
        head, body, raw, content = sealed
        offset = self.bytes_written
        pieces = body if type(body) is list else [body]
        self._put(head, *pieces)  # one writev: concatenating would copy the body again
        for piece in pieces:
            if type(piece) is memoryview:
                piece.release()
        raw_len = len(raw)
        if type(raw) is memoryview:  # the builder's buffer: keep it for a next block
            buf = raw.obj
            raw.release()
            if len(self._spare) < self._spare_max and len(buf) <= 2 * self.block_size + BUFFER_SLACK:
                self._spare.append(buf)
        self._written.append((offset, self.bytes_written - offset, raw_len, content))

    def append_block(self, header: bytes, body: bytes, raw_len: int, content: BlockContent) -> None:
        """Copy a verified block as it is (``repair``, ``filter`` of whole blocks)."""
        with self._lock:
            self._check()
            if self._builder.records:
                self._end_block()
            if self._queue is not None:  # keep block order: let the workers catch up
                self._queue.join()
                self._io_queue.join()
                self._check()
            self._merge()
            offset = self.bytes_written
            self._put(header, body)
            self._index.add_block(offset, len(header) + len(body), raw_len, content)
            self.blocks += 1
            self.messages += sum(c[0] for c in content.counts.values())
            self.payload_bytes += sum(c[2] for c in content.counts.values())
            self.gaps += len(content.gaps)
            self.lost_messages += sum(g.lost_messages for g in content.gaps)
            self.lost_bytes += sum(g.lost_bytes for g in content.gaps)

    def _write_footer(self) -> None:
        index = self._index.index
        raw = json_text(index.to_json()).encode("utf-8")  # strings from any bytes round-trip
        body = self._compress(raw)
        head = encode_block_header(
            TYPE_FOOTER, body, len(raw), len(index.blocks), index.ts_min_ns or 0, index.ts_max_ns or 0, 0
        )
        offset = self.bytes_written
        self._put(head, *(body if type(body) is list else [body]), encode_trailer(offset))

    def _put(self, *pieces) -> None:
        """Hand ``pieces`` to the OS, in order: after this a SIGKILL loses nothing.

        One ``writev()`` for all of them where the target is a file
        descriptor: each call out of Python gives up the GIL and must win it
        back from the recorder's busy consumer thread, so a block goes out
        in one call, not one per piece.
        """
        if self._fd is None:
            for data in pieces:
                self._file.write(data)
            self._file.flush()
        else:
            self._file.flush()  # a caller's buffered file may hold bytes: they go first
            _writev_all(self._fd, pieces)
        self.bytes_written += sum(map(len, pieces))
        if self._behind is not None:
            self._behind.written(self.bytes_written)

    @property
    def index(self):
        """The index of the blocks written so far (complete after ``close``)."""
        with self._lock:
            self._merge()
            return self._index.index
