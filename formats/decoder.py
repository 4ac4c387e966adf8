"""The sans-I/O core of the reader: bytes in, events out (docs/DESIGN.md).

Like h11's ``receive_data``/``next_event``: the caller feeds whatever bytes
it has (``b""`` means end of file) and asks for the next event until it gets
``NEED_DATA`` or ``END``.  Nothing here touches a file, so the same object
serves a file on disk, a pipe, and ``show --follow`` on a file still being
written.

Events, in file order: one ``FileHeader``; per record block a ``BlockStart``
(header only; the caller may ``skip_body()``) then a ``Block``; a ``Footer``;
``Damaged`` for a block that fails its checksums (the decoder then goes on
with the next block); ``Truncated`` when the input ends inside something.
Buffering is bounded by one block (``MAX_BLOCK_BYTES``) as long as the
caller feeds only after ``NEED_DATA``, asking for ``need`` bytes.  What the
blocks decompress to is bounded by the bytes fed: each record block is
charged to an ``ExpansionBudget`` before it is delivered, and one past the
budget comes as ``Damaged`` instead (``limits.py``, docs/FORMAT.md "Limits").

>>> from p2pcap.formats.layout import encode_file_header
>>> d = Decoder()
>>> d.receive_data(encode_file_header({"network": "main"}))
>>> d.next_event().metadata, d.next_event()
({'network': 'main'}, NEED_DATA)
>>> d.receive_data(b""); d.next_event()
END
"""

from __future__ import annotations

from dataclasses import dataclass

from .block import decode_block, scan_block
from .compress import decompress
from .errors import CorruptBlock, FormatError, TruncatedCapture
from .footer import parse_footer
from .index import BlockInfo, CaptureIndex
from .layout import (
    BLOCK_HEADER_LEN,
    BLOCK_SYNC,
    FILE_HEADER,
    TRAILER_LEN,
    TYPE_FOOTER,
    TYPE_RECORDS,
    BlockHeader,
    FileHeader,
    block_header_length,
    check_body,
    check_magic_prefix,
    file_header_length,
    parse_block_header,
    parse_file_header,
    parse_trailer,
)
from .limits import ExpansionBudget


class _Sentinel:
    def __init__(self, name: str):
        self._name = name

    def __repr__(self) -> str:
        return self._name


NEED_DATA = _Sentinel("NEED_DATA")
END = _Sentinel("END")


def _locate(err: FormatError, header: BlockHeader, index: int | None) -> FormatError:
    if err.offset is None:
        err.offset = header.offset
    if err.block_index is None:
        err.block_index = index
    return err


@dataclass(frozen=True, slots=True)
class BlockStart:
    """A record block's verified header; its body has not been read yet."""

    header: BlockHeader
    index: int

    @property
    def info(self) -> BlockInfo:
        h = self.header
        return BlockInfo(
            self.index, h.offset, h.length, h.records, h.ts_min_ns, h.ts_max_ns, h.raw_len, h.mask
        )


@dataclass(frozen=True, slots=True)
class Block:
    """A record block whose body (still compressed) matched its checksum."""

    header: BlockHeader
    index: int
    body: bytes

    @property
    def info(self) -> BlockInfo:
        return BlockStart(self.header, self.index).info

    def raw(self) -> bytes:
        """The decompressed body; ``CorruptBlock`` naming this block if it is bad."""
        try:
            return decompress(self.body, self.header.raw_len)
        except CorruptBlock as e:
            raise _locate(e, self.header, self.index) from None

    def records(self, raw=None, **filters) -> list:
        """The block's Message and Gap records (``decode_block`` filters apply);
        ``raw`` is the decompressed body, when the caller has it already."""
        try:
            return decode_block(self.raw() if raw is None else raw, self.header.records, **filters)
        except CorruptBlock as e:
            raise _locate(e, self.header, self.index) from None

    def content(self):
        """Counts without payloads (``scan_block``), for ``stats`` and ``check``."""
        try:
            return scan_block(self.raw(), self.header.records)
        except CorruptBlock as e:
            raise _locate(e, self.header, self.index) from None


@dataclass(frozen=True, slots=True)
class Footer:
    """The footer block (checksum verified); ``index()`` decompresses and parses it.

    ``first_block`` is where the file's first block starts (the footer's
    block list is checked against it).
    """

    header: BlockHeader
    body: bytes
    first_block: int = 0

    def index(self) -> CaptureIndex:
        try:
            return parse_footer(self.header, self.body, self.first_block)
        except FormatError as e:
            raise CorruptBlock(f"footer: {e.what}", offset=self.header.offset) from None


@dataclass(frozen=True, slots=True)
class Damaged:
    """A block (or the footer or trailer) failed a check; reading goes on after it."""

    error: CorruptBlock


@dataclass(frozen=True, slots=True)
class Truncated:
    """The input ended inside a header, block or trailer: a torn tail."""

    error: TruncatedCapture


_FILE_HEADER, _BLOCK, _BODY, _SKIP, _TRAILER, _RESYNC, _DONE, _END = range(8)
# What to ask for while looking for a sync marker in damaged bytes: any
# amount helps, and a header's worth at a time would crawl through them.
RESYNC_READ = 1 << 16


class Decoder:
    """Incremental capture decoder.  ``offset``/``block_index`` say where it is."""

    def __init__(self, *, offset: int = 0, block_index: int = 0, file_header: bool = True):
        self._buf = b""  # bytes adopted from the caller, or a bytearray once they are joined
        self._start = 0
        self._eof = False
        self._state = _FILE_HEADER if file_header else _BLOCK
        self._header: BlockHeader | None = None
        self._skip_left = 0
        self._footer_offset: int | None = None
        self.offset = offset  # file offset of the next byte not yet consumed
        self.block_index = block_index  # index the next record block gets
        self.need = FILE_HEADER.size  # bytes wanted before the next event can come
        self.file_header: FileHeader | None = None
        self.first_block = offset  # where the first block starts (after the file header)
        self.budget = ExpansionBudget()  # what the blocks delivered decompress to

    # -- input ---------------------------------------------------------------
    def receive_data(self, data) -> None:
        """Add bytes; ``b""`` says the input has ended."""
        if data:
            if self._eof:
                raise RuntimeError("receive_data after end of input")
            if self._start == len(self._buf) and type(data) is bytes:
                # Nothing buffered: keep the caller's bytes as they are, so a
                # body read whole is handed on without a copy (_peek).
                self._buf = data
                self._start = 0
                return
            if type(self._buf) is bytes:
                self._buf = bytearray(memoryview(self._buf)[self._start :])
                self._start = 0
            self._buf += data
        else:
            self._eof = True

    def skip_body(self) -> int:
        """After ``BlockStart``: drop this block's body unread.

        Returns how many body bytes have not been fed yet.  The caller either
        skips them in its source and reports that with ``skipped(n)``, or
        keeps feeding and the decoder drops them.
        """
        if self._state != _BODY or self._header.type != TYPE_RECORDS:
            raise RuntimeError("skip_body() is only valid right after BlockStart")
        h = self._header
        buffered = min(self._avail(), h.body_len)
        self._consume(buffered)
        self.block_index += 1
        self._skip_left = h.body_len - buffered
        self._state = _SKIP if self._skip_left else _BLOCK
        return self._skip_left

    def skipped(self, n: int) -> None:
        """The caller skipped ``n`` body bytes in its source (after ``skip_body``)."""
        if self._state != _SKIP or not 0 <= n <= self._skip_left:
            raise RuntimeError("skipped() does not match the pending skip")
        self._skip_left -= n
        self.offset += n
        if not self._skip_left:
            self._state = _BLOCK

    # -- buffer --------------------------------------------------------------
    def _avail(self) -> int:
        return len(self._buf) - self._start

    def _consume(self, n: int) -> None:
        self._start += n
        self.offset += n
        if self._start == len(self._buf):
            self._buf = b""
            self._start = 0
        elif self._start > 1 << 16 and self._start * 2 > len(self._buf):
            if type(self._buf) is bytes:
                self._buf = bytearray(memoryview(self._buf)[self._start :])
            else:
                del self._buf[: self._start]
            self._start = 0

    def _peek(self, n: int) -> bytes:
        buf = self._buf
        if type(buf) is bytes:
            return buf if self._start == 0 and n == len(buf) else buf[self._start : self._start + n]
        with memoryview(buf) as mv:
            return bytes(mv[self._start : self._start + n])

    def _wait(self, n: int):
        """NEED_DATA for ``n`` bytes in all, or ``None`` if the input has ended."""
        if self._eof:
            return None
        self.need = n - self._avail()
        return NEED_DATA

    # -- events --------------------------------------------------------------
    def next_event(self):
        """The next event, ``NEED_DATA`` or ``END``; fatal problems raise."""
        while True:
            state = self._state
            if state == _BLOCK:
                event = self._block_header()
            elif state == _BODY:
                event = self._body()
            elif state == _SKIP:
                event = self._skip()
            elif state == _RESYNC:
                event = self._resync()
            elif state == _TRAILER:
                event = self._trailer()
            elif state == _FILE_HEADER:
                event = self._file_header()
            elif state == _DONE:
                event = self._done()
            else:
                return END
            if event is not None:
                return event

    def _file_header(self):
        avail = self._avail()
        check_magic_prefix(self._peek(min(avail, 8)))
        if avail >= FILE_HEADER.size:
            length = file_header_length(self._peek(FILE_HEADER.size))
            if avail >= length:
                self.file_header = parse_file_header(self._peek(length))
                self._consume(length)
                self.first_block = self.offset
                self._state = _BLOCK
                return self.file_header
        else:
            length = FILE_HEADER.size
        wait = self._wait(length)
        if wait is None:
            raise TruncatedCapture(
                f"file ends {avail} bytes into the file header"
                + (f" of {length} bytes" if length > FILE_HEADER.size else ""),
                offset=0,
            )
        return wait

    def _truncated(self, what: str, offset: int, index: int | None = None):
        self._state = _END
        return Truncated(TruncatedCapture(what, offset=offset, block_index=index))

    def _damaged(self, err: CorruptBlock, resync: bool):
        if err.offset is None:
            err.offset = self.offset
        if resync:
            err.block_index = self.block_index
            self.block_index += 1
            self._consume(1)
            self._state = _RESYNC
        return Damaged(err)

    def _block_header(self):
        avail = self._avail()
        if avail == 0:
            if self._eof:
                self._state = _END
                return END
            self.need = BLOCK_HEADER_LEN
            return NEED_DATA
        head = self._peek(min(avail, BLOCK_HEADER_LEN))
        if head[:4] != BLOCK_SYNC[: len(head)]:
            return self._damaged(
                CorruptBlock(f"no block sync marker (found {head[:4].hex(' ')})"), resync=True
            )
        try:
            length = block_header_length(head, self.offset) if avail >= 8 else BLOCK_HEADER_LEN
            if avail >= length:
                h = parse_block_header(self._peek(length), self.offset)
            else:
                h = None
        except CorruptBlock as e:
            return self._damaged(e, resync=True)
        if h is None:
            if self._wait(length) is None:
                return self._truncated(
                    f"file ends {avail} bytes into a block header", self.offset, self.block_index
                )
            return NEED_DATA
        self._consume(h.header_len)
        self._header = h
        if h.type == TYPE_RECORDS:
            self._state = _BODY
            return BlockStart(h, self.block_index)
        if h.type == TYPE_FOOTER:
            self._state = _BODY
        else:  # a block type from a newer minor: step over it
            self._skip_left = h.body_len
            self._state = _SKIP
        return None

    def _body(self):
        h = self._header
        avail = self._avail()
        if avail < h.body_len:
            if self._wait(h.body_len) is None:
                what = "the footer" if h.type == TYPE_FOOTER else f"a block of {h.length} bytes"
                index = None if h.type == TYPE_FOOTER else self.block_index
                return self._truncated(f"file ends {h.header_len + avail} bytes into {what}", h.offset, index)
            return NEED_DATA
        body = self._peek(h.body_len)
        self._consume(h.body_len)
        if h.type == TYPE_FOOTER:
            self._state = _TRAILER
            self._footer_offset = h.offset
            try:
                check_body(h, body)
            except CorruptBlock as e:
                return Damaged(CorruptBlock(f"footer: {e.what}", offset=h.offset))
            return Footer(h, body, self.first_block)
        index = self.block_index
        self.block_index += 1
        self._state = _BLOCK
        try:
            check_body(h, body)
        except CorruptBlock as e:
            e.block_index = index
            return Damaged(e)
        refused = self.budget.charge(h.raw_len, h.records, read=self.offset)
        if refused is not None:
            return Damaged(CorruptBlock(refused, offset=h.offset, block_index=index, records=h.records))
        return Block(h, index, body)

    def _skip(self):
        n = min(self._avail(), self._skip_left)
        self._consume(n)
        self._skip_left -= n
        if not self._skip_left:
            self._state = _BLOCK
            return None
        if self._eof:
            h = self._header
            return self._truncated(
                f"file ends {h.length - self._skip_left} bytes into a block of {h.length} bytes",
                h.offset,
                self.block_index - 1,
            )
        self.need = self._skip_left
        return NEED_DATA

    def _resync(self):
        """Look for the next block header whose checksum holds (after damage)."""
        while True:
            i = self._buf.find(BLOCK_SYNC, self._start)
            if i < 0:
                self._consume(max(0, self._avail() - (len(BLOCK_SYNC) - 1)))
                if self._eof:
                    self._state = _END
                    return END
                self.need = RESYNC_READ
                return NEED_DATA
            self._consume(i - self._start)
            head = self._peek(min(self._avail(), BLOCK_HEADER_LEN))
            try:
                length = BLOCK_HEADER_LEN
                if len(head) >= 8:
                    length = block_header_length(head, self.offset)
                if self._avail() < length:
                    if self._eof:
                        self._state = _END
                        return END
                    self.need = length - self._avail()
                    return NEED_DATA
                parse_block_header(self._peek(length), self.offset)
            except CorruptBlock:
                self._consume(1)
                continue
            self._state = _BLOCK
            return None

    def _trailer(self):
        avail = self._avail()
        if avail < TRAILER_LEN:
            if self._wait(TRAILER_LEN) is None:
                return self._truncated(
                    f"file ends {avail} bytes into the {TRAILER_LEN}-byte trailer", self.offset
                )
            return NEED_DATA
        offset = self.offset
        footer_offset = parse_trailer(self._peek(TRAILER_LEN))
        self._consume(TRAILER_LEN)
        self._state = _DONE
        if footer_offset != self._footer_offset:
            return Damaged(CorruptBlock("trailer does not point at the footer", offset=offset))
        return None

    def _done(self):
        avail = self._avail()
        self._state = _END
        if avail:
            offset = self.offset
            self._consume(avail)
            return Damaged(CorruptBlock(f"{avail} unexpected bytes after the trailer", offset=offset))
        return END
