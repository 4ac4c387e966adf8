"""CaptureReader: a capture file in, records out (the I/O edge of ``decoder``).

The reader feeds the sans-I/O ``Decoder`` from a file, a pipe, or a file
still being written (``follow=True``), one block at a time, so memory does
not grow with the file.  When the file has a footer, its index tells which
blocks may hold the commands asked for; block headers carry each block's time
range and a command mask, so even a file without a footer (a killed
recorder) is filtered without decompressing every block.

A torn tail is not an error: iteration ends normally and ``torn_tail`` says
where the file was cut.  A damaged block raises ``CorruptBlock`` after every
record before it was yielded, or with ``skip_damaged=True`` is noted in
``damaged`` and skipped.
"""

from __future__ import annotations

import os
import queue
import threading

from .accelerators import blockwalk
from .block import remember_process
from .decoder import END, NEED_DATA, Block, BlockStart, Damaged, Decoder, Footer, Truncated
from .errors import CorruptBlock, FormatError
from .footer import parse_footer
from .index import CaptureIndex, IndexBuilder
from .layout import (
    BLOCK_HEADER_LEN,
    MAX_BLOCK_BYTES,
    TRAILER_LEN,
    TYPE_FOOTER,
    check_body,
    commands_mask,
    parse_block_header,
    parse_trailer,
)


class CaptureReader:
    """Read a capture: ``metadata``, ``version``, then records in file order.

    >>> import io
    >>> from p2pcap.formats import CaptureWriter, Message
    >>> buf = io.BytesIO()
    >>> with CaptureWriter(buf, {"network": "main"}) as w:
    ...     w.write(Message(5, 7, 0, "1.2.3.4:9999", "inbound", "in", "inv", 37, bytes(37)))
    >>> r = CaptureReader(io.BytesIO(buf.getvalue()))
    >>> r.metadata, [m.command for m in r.records(commands={"inv"})], r.torn_tail
    ({'network': 'main'}, ['inv'], None)
    """

    def __init__(
        self, source, *, skip_damaged: bool = False, follow: bool = False, poll_interval: float = 0.2
    ):
        if isinstance(source, (str, os.PathLike)):
            self.path = os.fspath(source)
            self._file = open(source, "rb")
            self._own = True
        else:
            name = getattr(source, "name", None)
            self.path = name if isinstance(name, str) else None
            self._file = source
            self._own = False
        self.skip_damaged = skip_damaged
        self.follow = follow
        self.poll_interval = poll_interval
        self.torn_tail = None  # TruncatedCapture, set when reading reaches a cut tail
        self.damaged: list = []  # CorruptBlock skipped (skip_damaged=True)
        # pid -> the network its process ran on, as the blocks read so far
        # define it (format 1.1; block.MAX_PROCESSES at most)
        self.processes: dict = {}
        self.index: CaptureIndex | None = None  # the footer's index, if the file has one
        self.footer_error: FormatError | None = None  # why a present footer was not used
        # The latest record time of the intact blocks passed so far: what a
        # capture without a footer is complete up to.
        self.intact_until_ns: int | None = None
        self.finished = False  # a pass reached the end of the file
        self._stop = threading.Event()
        try:
            self._seekable = bool(self._file.seekable())
            self._base = self._file.tell() if self._seekable else 0
        except (AttributeError, OSError):
            self._seekable, self._base = False, 0
        try:
            self._decoder = Decoder()
            header = self._read_file_header()
            self.metadata: dict = header.metadata
            self.version: tuple = header.version
            self.header_length: int = header.length
            self._fresh = True
            if self._seekable and not follow:
                self._load_footer()
        except BaseException:
            self.close()
            raise

    # -- public --------------------------------------------------------------
    def __iter__(self):
        return self.records()

    def records(
        self, commands=None, since_ns: int | None = None, until_ns: int | None = None, *, gaps: bool = True
    ):
        """Message and Gap records in file order, optionally filtered.

        ``commands``: names to keep (a set, or one name); other messages are
        skipped without being built, and blocks known not to hold any are
        not decompressed.  ``since_ns``/``until_ns`` (inclusive) select by
        time.  Gaps are kept (a filtered view still reports losses) unless
        ``gaps=False``.  The networks the blocks define for their processes
        are kept in ``processes`` as they are read.
        """
        processes = self.processes
        for block, filters, raw in self._decompressing(commands, since_ns, until_ns, gaps):
            try:
                records = block.records(raw(), processes=processes, **filters)
            except CorruptBlock as e:
                self._damage(e)
                continue
            yield from records

    def rendered_blocks(
        self,
        render,
        commands=None,
        since_ns: int | None = None,
        until_ns: int | None = None,
        *,
        gaps: bool = True,
    ):
        """What ``records()`` gives, a block at a time, through ``render``.

        ``render(raw, records, commands, since_ns, until_ns, gaps)`` gets each
        block's decompressed body and returns what it made of it, or None for
        a block it leaves to the general way: the block's list of records is
        yielded instead (so a damaged block is named as ``records()`` names
        it).  Blocks are picked, and damage handled, as in ``records()``.
        """
        for block, filters, raw in self._decompressing(commands, since_ns, until_ns, gaps):
            try:
                body = raw()
                made = render(body, block.header.records, *filters.values())
                if made is None:
                    yield block.records(body, processes=self.processes, **filters)
                else:
                    self._note_processes(block, body)  # the walkers step over them
                    yield made
            except CorruptBlock as e:
                self._damage(e)

    def _note_processes(self, block, body) -> None:
        """The networks a block ``render`` made defines for its processes, into
        ``processes`` (format 1.1): what ``records()`` would have kept."""
        walker = blockwalk()
        if walker is None:  # a render of one's own: the records' way, building no message
            block.records(body, processes=self.processes, commands=(), gaps=False)
            return
        for pid, network in walker.processes(body):
            remember_process(self.processes, pid, network)

    def _decompressing(self, commands, since_ns, until_ns, gaps):
        """``(block, filters, raw)`` for the blocks ``_filtered_blocks`` picks;
        ``raw()`` is the decompressed body, from a worker thread a block ahead
        when reading a file (``_decompressed_ahead``)."""
        blocks = self._filtered_blocks(commands, since_ns, until_ns, gaps)
        if not self._seekable or self.follow:
            # (reading ahead would hold back a block's records until the next one comes)
            return ((block, filters, block.raw) for block, filters in blocks)
        return _decompressed_ahead(blocks)

    def _filtered_blocks(self, commands, since_ns, until_ns, gaps):
        """(block, ``decode_block`` filters) of the blocks that may hold what is asked for."""
        if isinstance(commands, str):
            commands = {commands}
        elif commands is not None:
            commands = set(commands)
        wanted = _block_filter(self.index, commands, since_ns, until_ns, gaps)
        filters = {"commands": commands, "since_ns": since_ns, "until_ns": until_ns, "gaps": gaps}
        for block in self._blocks_read(wanted):
            yield block, filters

    def read_blocks(self, wanted=None):
        """Verified blocks (``decoder.Block``: ``info``, ``body``, ``records()``,
        ``content()``), in file order; ``wanted(info)`` false skips a block
        unread."""
        return self._blocks_read(wanted)

    def blocks(self):
        """``BlockInfo`` of every record block, without decompressing any.

        From the footer when there is one, else by walking block headers.
        """
        if self.index is not None and not self.follow:
            yield from self.index.blocks
            return
        for event in self._events(lambda info: False, starts=True):
            if type(event) is BlockStart:
                yield event.info

    def summarize(self, *, scan: bool = False, each_block=None) -> CaptureIndex:
        """The capture's index: the footer's, or (``scan=True``, no footer, or
        ``each_block``) one built by reading every block's records without
        their payloads.  ``each_block(records)``, when given, also gets each
        intact block's records (``stats --biggest`` and its timeline)."""
        if self.index is not None and not scan and each_block is None:
            return self.index
        builder = IndexBuilder()
        for block in self._blocks_read():
            try:
                content = block.content()
                records = block.records() if each_block is not None else None
            except CorruptBlock as e:
                self._damage(e)
                continue
            h = block.header
            builder.add_block(h.offset, h.length, h.raw_len, content)
            if records is not None:
                each_block(records)
        return builder.index

    def stop(self) -> None:
        """End a ``follow=True`` iteration (from another thread or a signal handler)."""
        self._stop.set()

    def close(self) -> None:
        if self._own:
            self._file.close()

    def __enter__(self) -> CaptureReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- I/O -----------------------------------------------------------------
    def _named(self, err: FormatError) -> FormatError:
        if err.path is None:
            err.path = self.path
        return err

    def _damage(self, err: CorruptBlock) -> None:
        self._named(err)
        if not self.skip_damaged:
            raise err
        self.damaged.append(err)

    def _read(self, decoder: Decoder) -> bool:
        """Feed the decoder; False when there is nothing more (and not following)."""
        # Exactly what the decoder asks for: a block's body then arrives as one
        # bytes object, which the decoder hands on without copying it.
        data = self._file.read(max(decoder.need, 1))
        if data:
            decoder.receive_data(data)
            return True
        if self.follow and not self._stop.is_set():
            self._stop.wait(self.poll_interval)
            return True
        if self.follow:
            return False
        decoder.receive_data(b"")
        return True

    def _read_file_header(self):
        dec = self._decoder
        try:
            while True:
                event = dec.next_event()
                if event is not NEED_DATA:
                    return event
                if not self._read(dec):
                    dec.receive_data(b"")
        except FormatError as e:
            raise self._named(e) from None

    def _load_footer(self) -> None:
        """Find the index through the trailer; any doubt leaves ``index`` None."""
        f = self._file
        here = f.tell()  # the decoder may hold bytes read past the header
        try:
            end = f.seek(0, os.SEEK_END) - self._base
            first_block = self.header_length
            if end < first_block + BLOCK_HEADER_LEN + TRAILER_LEN:
                return
            f.seek(self._base + end - TRAILER_LEN)
            offset = parse_trailer(f.read(TRAILER_LEN))
            if offset is None:
                return  # no trailer: the recorder did not close the file
            length = end - TRAILER_LEN - offset
            if not (first_block <= offset and BLOCK_HEADER_LEN <= length <= 2 * MAX_BLOCK_BYTES):
                raise CorruptBlock("trailer points outside the file", offset=end - TRAILER_LEN)
            f.seek(self._base + offset)
            data = f.read(length)
            header = parse_block_header(data, offset)
            if header.type != TYPE_FOOTER or header.length != length:
                raise CorruptBlock("trailer does not point at the footer", offset=offset)
            body = data[header.header_len :]
            check_body(header, body)
            self.index = parse_footer(header, body, first_block)
        except FormatError as e:
            if not isinstance(e, CorruptBlock) or not e.what.startswith("footer"):
                e = CorruptBlock(f"footer: {e.what}", offset=offset if e.offset is None else e.offset)
            self.footer_error = self._named(e)
        finally:
            f.seek(here)

    def _decoder_for_pass(self) -> Decoder:
        if self._fresh:
            self._fresh = False
            return self._decoder
        if not self._seekable:
            raise ValueError("a capture read from a pipe can be read only once")
        self._file.seek(self._base + self.header_length)
        self.torn_tail = None
        self.damaged = []
        self.intact_until_ns = None
        self.finished = False
        self._decoder = Decoder(offset=self.header_length, file_header=False)
        return self._decoder

    def _events(self, wanted=None, starts: bool = False):
        """Decoder events with I/O, damage and torn tails handled here."""
        dec = self._decoder_for_pass()
        while True:
            event = dec.next_event()
            if event is NEED_DATA:
                if not self._read(dec):
                    return
                continue
            if event is END:
                self._check_end(dec)
                self.finished = True
                return
            kind = type(event)
            if kind is BlockStart:
                if wanted is not None and not wanted(event.info):
                    left = dec.skip_body()
                    if left and self._seekable:
                        self._skip(dec, left)
                    self._intact(event.header.ts_max_ns)
                if starts:
                    yield event
            elif kind is Block:
                self._intact(event.header.ts_max_ns)
                yield event
            elif kind is Damaged:
                self._damage(event.error)
            elif kind is Truncated:
                self.torn_tail = self._named(event.error)
            elif kind is Footer:
                if self.index is None and self.footer_error is None:
                    try:
                        self.index = event.index()
                    except CorruptBlock as e:
                        self._damage(e)

    def _intact(self, ts_ns: int) -> None:
        if self.intact_until_ns is None or ts_ns > self.intact_until_ns:
            self.intact_until_ns = ts_ns

    def _blocks_read(self, wanted=None):
        return self._events(wanted)

    def _skip(self, dec: Decoder, left: int) -> None:
        """Seek over a skipped body, but not past the end (a torn block stays torn)."""
        f = self._file
        here = f.tell()
        end = f.seek(0, os.SEEK_END)
        n = min(left, end - here)
        f.seek(here + n)
        dec.skipped(n)

    def _check_end(self, dec: Decoder) -> None:
        if self.follow:
            return
        if self._file.read(1):
            self._damage(CorruptBlock("unexpected bytes after the end of the capture", offset=dec.offset))


def _decompressed_ahead(blocks):
    """``(block, filters, raw)`` for each ``(block, filters)``, where ``raw()``
    is the block's decompressed body, or the ``CorruptBlock`` that says why
    there is none, raised.

    Each block is decompressed in a worker thread while the caller works on
    the one before it (zstd lets go of the GIL; the listing is bound by
    reading).  A block damaged before it could be handed over is raised
    after the block before it was yielded, as reading one by one would.
    """
    jobs, done = queue.SimpleQueue(), queue.SimpleQueue()

    def work():
        while (block := jobs.get()) is not None:
            try:
                done.put((block.raw(), None))
            except CorruptBlock as e:
                done.put((None, e))

    def result():
        raw, error = done.get()
        if error is not None:
            raise error
        return raw

    worker = threading.Thread(target=work, name="p2pcap-decompress", daemon=True)
    worker.start()
    pending = None
    try:
        while True:
            try:
                block, filters = next(blocks)
            except StopIteration:
                break
            except CorruptBlock:
                if pending is not None:
                    yield pending
                raise
            jobs.put(block)
            if pending is not None:
                yield pending
            pending = (block, filters, result)
        if pending is not None:
            yield pending
    finally:
        jobs.put(None)


def _block_filter(index, commands, since_ns, until_ns, gaps):
    """``wanted(info)`` for the decoder, or None to read every block."""
    if commands is None and since_ns is None and until_ns is None:
        return None
    exact = {b.offset: b for b in index.blocks} if index is not None and commands else {}
    want_mask = commands_mask(commands) if commands else 0

    def wanted(info) -> bool:
        if not info.overlaps(since_ns, until_ns):
            return False
        if commands is None:
            return True
        return exact.get(info.offset, info).may_hold(commands, want_mask=want_mask, gaps=gaps)

    return wanted


def open_capture(path, **options) -> CaptureReader:
    """Open a capture file for reading (``CaptureReader`` options apply).

    >>> open_capture("/nonexistent.cap")
    Traceback (most recent call last):
    FileNotFoundError: [Errno 2] No such file or directory: '/nonexistent.cap'
    """
    return CaptureReader(path, **options)
