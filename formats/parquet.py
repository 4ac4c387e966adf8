"""Parquet export (pyarrow): one row per record, for DuckDB or any engine.

Columns (``SCHEMA`` below): ``kind`` ("message" or "gap"), the record's
metadata (``ts_ns`` and ``time`` as a UTC timestamp, ``pid``, ``peer_id``,
``peer_addr``, ``conn_type``, ``direction``, ``command``, ``msg_size``,
``captured_len``, ``flags``), ``payload`` as binary, ``decoded`` as JSON
text and ``decode_error`` (null unless the caller passes a ``decode``
function: this module never decodes), and for gap rows ``gap_reason``,
``lost_messages``, ``lost_bytes``.  The capture's metadata is kept as JSON in
the file's key-value metadata under ``p2pcap.metadata``.

Text columns hold UTF-8, as Parquet's string type must; a capture's strings
may hold bytes that are not (kept in memory as surrogate escapes).  Such a
value is written in the lossless form of ``parquet_text``: every backslash
doubled, every byte that was not UTF-8 as ``\\xNN``.  A value that is valid
UTF-8 and has no backslash -- every address, connection type and command a
node gives -- is written byte for byte (docs/FLEET.md, "Text columns").

Rows are buffered into row groups of at most ``ROWS_PER_GROUP`` rows or
``BYTES_PER_GROUP`` payload bytes, so memory stays bounded whatever the size
of the capture.  ``pyarrow`` is imported only when a writer is made.
Records come one at a time (``write``, the reference) or a block's at once
as Arrow arrays (``write_block``, formats/columns.py): the row groups are the
same either way.

    SELECT command, count(*), sum(msg_size) FROM 'run.parquet'
    WHERE kind = 'message' GROUP BY command ORDER BY 3 DESC;
"""

from __future__ import annotations

import json
import queue
import re
import threading

from p2pcap.errors import P2pcapError

from .errors import FormatError
from .records import Gap

ROWS_PER_GROUP = 65_536
# Payload and decoded text buffered before a row group is written: with
# pyarrow's copy of it, twice this is the writer's peak beside the reader's.
BYTES_PER_GROUP = 32 << 20
METADATA_KEY = b"p2pcap.metadata"
_INT64_MAX = (1 << 63) - 1  # Parquet's integers and nanosecond times are signed 64-bit

COLUMNS = (
    "kind",
    "ts_ns",
    "time",
    "pid",
    "peer_id",
    "peer_addr",
    "conn_type",
    "direction",
    "command",
    "msg_size",
    "captured_len",
    "flags",
    "payload",
    "decoded",
    "decode_error",
    "gap_reason",
    "lost_messages",
    "lost_bytes",
)


def _gap_columns(gap) -> tuple:
    """A gap row's columns after kind, time and pid: no message fields, then the loss."""
    return (*_NO_MESSAGE, gap.reason_name, gap.lost_messages, gap.lost_bytes)


_NO_MESSAGE = (None,) * 11  # peer_id .. decode_error

# The order ``write`` builds a row in: the columns, with ``kind`` after the time and pid.
_ROW_ORDER = (*COLUMNS[1:4], "kind", *COLUMNS[4:])


# -- text columns ------------------------------------------------------------------

_ESCAPED = re.compile(r"[\\\ud800-\udfff]")
_UNESCAPE = re.compile(r"\\(\\|x[0-9a-f]{2}|u[0-9a-f]{4})")


def _escape(match: re.Match) -> str:
    ch = match.group()
    if ch == "\\":
        return "\\\\"
    code = ord(ch)
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8 (surrogateescape)
        return f"\\x{code - 0xDC00:02x}"
    return f"\\u{code:04x}"  # a lone surrogate from JSON: no byte to give back


def parquet_text(value: str) -> str:
    """``value`` as a Parquet text column holds it: valid UTF-8, lossless.

    Unchanged when it is valid UTF-8 without a backslash; otherwise each
    backslash is doubled and each byte that was not UTF-8 (a surrogate
    escape) is written ``\\xNN``.  ``text_value`` reverses it.

    >>> parquet_text("1.2.3.4:9999")
    '1.2.3.4:9999'
    >>> parquet_text(b"host\\xff\\\\x".decode("utf-8", "surrogateescape"))
    'host\\\\xff\\\\\\\\x'
    """
    if value.isascii() and "\\" not in value:
        return value
    return _ESCAPED.sub(_escape, value)


def text_value(text: str) -> str:
    """The string ``parquet_text`` was given (stray bytes as surrogate escapes again).

    >>> raw = b"caf\\xe9 \\\\ ok"
    >>> text_value(parquet_text(raw.decode("utf-8", "surrogateescape"))).encode("utf-8", "surrogateescape") == raw
    True
    """
    if "\\" not in text:
        return text

    def back(match: re.Match) -> str:
        code = match.group(1)
        if code == "\\":
            return "\\"
        if code[0] == "x":
            return chr(0xDC00 + int(code[1:], 16))
        return chr(int(code[1:], 16))

    return _UNESCAPE.sub(back, text)


def text_array(pa, values: list):
    """A pyarrow string array of ``values`` (str or None) in ``parquet_text`` form.

    The common case -- valid UTF-8, no backslash anywhere -- is converted
    as it is, in one call; only a column holding something to escape is
    converted value by value.
    """
    try:
        array = pa.array(values, type=pa.string())
    except UnicodeEncodeError:  # a surrogate escape: bytes that were not UTF-8
        pass
    else:
        if len(values) < 1024:  # a few values: cheaper in Python than a compute call
            if not any("\\" in v for v in values if v is not None):
                return array
        else:
            import pyarrow.compute as pc

            if not pc.any(pc.match_substring(array, "\\")).as_py():
                return array
    return pa.array([None if v is None else parquet_text(v) for v in values], type=pa.string())


def _pyarrow():
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError:
        raise P2pcapError("Parquet export needs pyarrow: pip install 'p2pcap[parquet]'") from None
    return pyarrow, pyarrow.parquet


def schema(pa):
    """The Arrow schema of an export (``pa`` is the pyarrow module)."""
    return pa.schema(
        [
            ("kind", pa.string()),
            ("ts_ns", pa.int64()),
            ("time", pa.timestamp("ns", tz="UTC")),
            ("pid", pa.int64()),
            ("peer_id", pa.int64()),
            ("peer_addr", pa.string()),
            ("conn_type", pa.string()),
            ("direction", pa.string()),
            ("command", pa.string()),
            ("msg_size", pa.int64()),
            ("captured_len", pa.int64()),
            ("flags", pa.int64()),
            ("payload", pa.binary()),
            ("decoded", pa.string()),
            ("decode_error", pa.string()),
            ("gap_reason", pa.string()),
            ("lost_messages", pa.int64()),
            ("lost_bytes", pa.int64()),
        ]
    )


def _message_array(pa, values: list):
    """Our own messages (``decode_error``): a stray byte of a command name in
    one is shown ``\\xNN``, as Python's ``backslashreplace`` does (the
    command itself is kept losslessly in its own column)."""
    try:
        return pa.array(values, type=pa.string())
    except UnicodeEncodeError:
        return pa.array(
            [
                None
                if v is None
                else v.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
                for v in values
            ],
            type=pa.string(),
        )


# The text columns whose values come from the capture's own strings; the
# others are p2pcap's words (kind, direction, gap_reason, inv_type, hash),
# JSON made with ``ensure_ascii`` (``decoded``: ASCII, its backslashes
# JSON's) or p2pcap's messages (``decode_error``).
CAPTURE_TEXT = frozenset(("peer_addr", "conn_type", "command"))


def record_batch(pa, schema_, columns: list):
    """A record batch of ``schema_`` from one Python list per column, the
    capture's strings (``CAPTURE_TEXT``) through ``text_array``."""
    arrays = []
    for values, f in zip(columns, schema_):
        if f.name in CAPTURE_TEXT:
            arrays.append(text_array(pa, values))
        elif f.name == "decode_error":
            arrays.append(_message_array(pa, values))
        else:
            arrays.append(pa.array(values, type=f.type))
    return pa.RecordBatch.from_arrays(arrays, schema=schema_)


def group_share(n: int, sizes, rows_room: int, bytes_room: int | None) -> tuple[int, int]:
    """(rows, their bytes): how many of a batch's ``n`` rows join the row
    group being gathered, which is full after ``rows_room`` more rows or
    ``bytes_room`` more bytes (``sizes``: an Arrow array of each row's
    bytes, or None when only rows count): as writing them one at a time,
    the group ends with the row that fills it.

    >>> import pyarrow as pa
    >>> group_share(5, pa.array([10, 10, 10, 10, 10]), 4, 25), group_share(5, None, 4, None)
    ((3, 30), (4, 0))
    """
    take = min(n, rows_room)
    if sizes is None or take == 0:
        return take, 0
    import pyarrow.compute as pc

    total = pc.cumulative_sum(sizes.slice(0, take))
    if bytes_room is not None:
        full = pc.index(pc.greater_equal(total, bytes_room), True).as_py()
        if full >= 0:
            take = full + 1
    return take, total[take - 1].as_py()


def message_sizes(payload, decoded):
    """Each row's payload and ``decoded`` bytes (arrays), as ``BYTES_PER_GROUP`` counts them."""
    import pyarrow.compute as pc

    size = pc.fill_null(pc.binary_length(payload), 0)
    if decoded.null_count < len(decoded):
        size = pc.add(size, pc.fill_null(pc.binary_length(decoded), 0))
    return size.cast("int64")


def text_or_null(pa, values, n: int, messages: bool = False):
    """A string array of ``values`` (a list, or None: all null); ``messages``:
    p2pcap's messages, as ``decode_error`` holds them."""
    if values is None:
        return pa.nulls(n, pa.string())
    return _message_array(pa, values) if messages else pa.array(values, pa.string())


class WriteBehind:
    """Row groups encoded and written in one thread while the caller gathers
    the next: pyarrow lets go of the GIL while it encodes and compresses,
    which is most of an export's time beside reading (issue 27).

    ``submit(fn, *args)`` runs ``fn(*args)`` in the thread, in order; at most
    ``depth`` jobs wait (so at most that many row groups more are held), a
    full queue makes the caller wait.  The first error a job raises is
    raised again in the caller, by the next ``submit``, ``drain`` or
    ``close``, and the jobs after it are not run.  ``abandon()`` stops
    without raising (the output is being dropped).
    """

    def __init__(self, depth: int = 1):
        self._jobs: queue.Queue = queue.Queue(maxsize=depth)
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None  # once set, no job runs
        self._raised = False

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            try:
                if job is None:
                    return
                if self._error is None:
                    fn, args = job
                    fn(*args)
            except BaseException as exc:  # noqa: BLE001  handed to the caller
                self._error = exc
            finally:
                self._jobs.task_done()

    def _raise(self) -> None:
        if self._error is not None and not self._raised:
            self._raised = True
            raise self._error

    def submit(self, fn, *args) -> None:
        self._raise()
        if self._thread is None:
            self._thread = threading.Thread(target=self._work, name="p2pcap-parquet", daemon=True)
            self._thread.start()
        self._jobs.put((fn, args))

    def drain(self) -> None:
        """Wait until every job submitted has run."""
        if self._thread is not None:
            self._jobs.join()
        self._raise()

    def close(self) -> None:
        try:
            self.drain()
        finally:
            self._stop()

    def abandon(self) -> None:
        """Stop; the jobs not run yet are not."""
        if self._error is None:
            self._error, self._raised = _Abandoned(), True
        self._stop()

    def _stop(self) -> None:
        if self._thread is not None:
            self._jobs.put(None)
            self._thread.join()
            self._thread = None


class _Abandoned(Exception):
    pass


def metadata_json(metadata) -> bytes:
    """The capture's metadata as the ``p2pcap.metadata`` value: JSON, ASCII
    (a string's stray bytes as ``\\udcNN`` escapes, which ``json.loads`` gives back)."""
    return json.dumps(metadata or {}, default=str, ensure_ascii=True).encode()


class ParquetWriter:
    """Write records to a Parquet file (path or binary file object).

    ``decode(msg) -> (decoded, error)`` fills ``decoded`` (serialised to
    JSON text) and ``decode_error``.  Call ``close()`` (or use ``with``):
    the file is valid only once its footer is written.
    """

    def __init__(self, target, metadata: dict | None = None, *, decode=None, compression: str = "zstd"):
        self._pa, pq = _pyarrow()
        self._schema = schema(self._pa).with_metadata({METADATA_KEY: metadata_json(metadata)})
        self._writer = pq.ParquetWriter(target, self._schema, compression=compression)
        self._behind = WriteBehind()
        self._decode = decode
        self._columns = {name: [] for name in COLUMNS}
        self._lists = [self._columns[name] for name in _ROW_ORDER]
        self._listed = 0  # rows in the lists, after the pieces
        self._pieces: list = []  # record batches of the row group being gathered
        self._rows = 0
        self._bytes = 0
        self.messages = 0
        self.gaps = 0

    def write(self, record) -> None:
        if record.ts_ns > _INT64_MAX:
            raise FormatError(
                f"a record's time, {record.ts_ns} ns since 1970, is past what Parquet's int64 holds"
            )
        if type(record) is Gap:
            if max(record.lost_messages, record.lost_bytes) > _INT64_MAX:
                raise FormatError(f"a gap's loss ({record.lost_messages} messages) is more than int64 holds")
            row = (record.ts_ns, record.ts_ns, record.pid, "gap", *_gap_columns(record))
            self.gaps += 1
        else:
            decoded = error = None
            if self._decode is not None:  # before any column grows: it may raise
                obj, error = self._decode(record)
                decoded = None if obj is None else json.dumps(obj, separators=(",", ":"))
            row = (
                record.ts_ns,
                record.ts_ns,
                record.pid,
                "message",
                record.peer_id,
                record.peer_addr,
                record.conn_type,
                record.direction,
                record.command,
                record.msg_size,
                record.captured_len,
                record.flags,
                record.payload,
                decoded,
                error,
                None,
                None,
                None,
            )
            self._bytes += len(record.payload) + (len(decoded) if decoded else 0)
            self.messages += 1
        for values, value in zip(self._lists, row):
            values.append(value)
        self._rows += 1
        self._listed += 1
        if self._rows >= ROWS_PER_GROUP or self._bytes >= BYTES_PER_GROUP:
            self._flush()

    def write_block(self, block, decoded: list | None = None, errors: list | None = None) -> None:
        """A block's rows at once (``columns.BlockColumns``), as ``write`` would
        write its records: ``decoded`` the JSON text of each row (None for a
        gap, or no list: none), ``errors`` each row's ``decode_error``."""
        pa = self._pa
        arrays = block.arrays(pa)
        n = block.rows
        arrays["time"] = arrays["ts_ns"].cast(self._schema.field("time").type)
        arrays["decoded"] = text_or_null(pa, decoded, n)
        arrays["decode_error"] = text_or_null(pa, errors, n, messages=True)
        batch = pa.RecordBatch.from_arrays([arrays[name] for name in COLUMNS], schema=self._schema)
        self._seal()
        sizes = message_sizes(arrays["payload"], arrays["decoded"])
        start = 0
        while start < n:
            take, used = group_share(
                n - start, sizes.slice(start), ROWS_PER_GROUP - self._rows, BYTES_PER_GROUP - self._bytes
            )
            self._pieces.append(batch.slice(start, take))
            self._rows += take
            self._bytes += used
            start += take
            if self._rows >= ROWS_PER_GROUP or self._bytes >= BYTES_PER_GROUP:
                self._flush()
        self.gaps += block.gaps
        self.messages += n - block.gaps

    def _seal(self) -> None:
        """The rows written one at a time, as a piece of the row group."""
        if not self._listed:
            return
        self._pieces.append(record_batch(self._pa, self._schema, [self._columns[name] for name in COLUMNS]))
        for values in self._columns.values():
            values.clear()
        self._listed = 0

    def _flush(self) -> None:
        self._seal()
        if not self._pieces:
            return
        pieces, self._pieces = self._pieces, []
        self._behind.submit(
            self._writer.write_table, self._pa.Table.from_batches(pieces, schema=self._schema)
        )
        self._rows = self._bytes = 0

    def close(self) -> None:
        try:
            self._flush()
            self._behind.close()
        finally:
            self._behind.abandon()
            self._writer.close()

    def __enter__(self) -> ParquetWriter:
        return self

    def __exit__(self, exc_type, *exc) -> None:
        if exc_type is None:
            self.close()
        else:
            self._behind.abandon()
            self._writer.close()  # the caller drops the half-written file (p2pcap.outputs)
