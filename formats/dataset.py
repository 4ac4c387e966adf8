"""Parquet datasets: the captures of many nodes as three hive-partitioned tables.

A dataset is a folder (docs/FLEET.md)::

    DIR/_p2pcap_dataset.json                      marker: {"format": "p2pcap-dataset", "schema_version": 1}
    DIR/messages/node=<name>/date=<YYYY-MM-DD>/<capture>.parquet
    DIR/inventory/node=<name>/date=<YYYY-MM-DD>/<capture>.parquet
    DIR/objects/node=<name>/date=<YYYY-MM-DD>/<capture>.parquet

``node`` and ``date`` are partition columns (in the path, not the files).
Every file carries ``schema_version`` and ``capture`` columns and, in its
key-value metadata under ``p2pcap.dataset``, its table, node, capture and
schema version, so a reader can tell ours from a foreign file.  Nothing
here decodes: the inventory and object rows come from the caller's
``items`` function.

What one capture costs to write is bounded whatever it holds:

- rows are buffered per table, at most ``ROWS_PER_GROUP`` rows or
  ``BYTES_PER_GROUP`` bytes over all its days together; then each day's
  rows become a row group of that day's file;
- at most ``OPEN_FILES`` files are open at once, the least recently used
  closed first.  A day whose file was closed and that gets rows again (a
  capture out of time order, or spread over more days than that) goes on
  in a new part, ``<capture>.1.parquet``, ``.2``, ...  Every file holds at
  least one row: a capture makes at most as many files as it has rows, and
  in time order one per table and day;
- a file whose first row group is small (under ``SMALL_FILE_ROWS`` rows) is
  written uncompressed, without dictionaries or statistics: for a few rows
  their set-up per column costs more time than they save (a third of the
  time of a file of one row).

Where a file goes is the caller's choice: ``place(relative path)`` returns
the path to write it at, so ``p2pcap.outputs`` can stage the files under
temporary names and rename them into place when the whole export is done.
Each file is on disk (fsync) before it is handed back.
"""

from __future__ import annotations

import datetime
import json
import os
import re
from collections import OrderedDict

from .errors import FormatError
from .parquet import (
    _INT64_MAX,
    BYTES_PER_GROUP,
    COLUMNS,
    METADATA_KEY,
    ROWS_PER_GROUP,
    WriteBehind,
    _pyarrow,
    group_share,
    message_sizes,
    metadata_json,
    record_batch,
    schema,
    text_or_null,
)
from .records import Gap

SCHEMA_VERSION = 1
TABLES = ("messages", "inventory", "objects", "pairs")
# The pairs table: one row per request and its fate, as ``p2pcap pairs --json``
# gives it (p2pcap/analysis/pairs.py, docs/CONVERSATIONS.md), after the
# session columns; times in ns.
PAIR_COLUMNS = (
    ("rule", "string"),
    ("status", "string"),
    ("asked_by", "string"),
    ("key", "string"),
    ("request", "string"),
    ("request_ns", "int64"),
    ("answer", "string"),
    ("answer_ns", "int64"),
    ("answers", "int64"),
    ("wait_ns", "int64"),
    ("until", "string"),
    ("announce_ns", "int64"),
    ("detail", "string"),
)
MARKER = "_p2pcap_dataset.json"
DATASET_KEY = b"p2pcap.dataset"
OPEN_FILES = 16  # Parquet writers open at once, per capture being written
SMALL_FILE_ROWS = 256
SYNC_THREADS = 4  # fsyncs at once (see _Files._sync)
SYNC_BATCH = 16  # files closed before a batch is synced; with OPEN_FILES, 32 descriptors at most
WRITE_BUFFER = 1 << 16
PAIRS_AT_ONCE = 4096  # rows of the pairs table converted together
_DAY_NS = 86_400 * 10**9
# The columns the inventory and objects tables take from their message.
_HEAD = ("ts_ns", "time", "pid", "peer_id", "peer_addr", "conn_type", "direction", "command")

# The names p2pcap gives (and the only ones a reader accepts): no glob
# characters, no separators, nothing a shell or an engine reads twice.
NODE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
DATE_NAME = re.compile(r"\d{4}-\d{2}-\d{2}")
CAPTURE_NAME = re.compile(r"[A-Za-z0-9._-]{1,48}-[0-9a-f]{16}")
FILE_NAME = re.compile(r"(?P<capture>[A-Za-z0-9._-]{1,48}-[0-9a-f]{16})(?:\.(?P<part>[1-9][0-9]*))?\.parquet")


def table_schema(pa, table: str):
    """The Arrow schema of one dataset table, without the partition columns."""
    head = [("schema_version", pa.int32()), ("capture", pa.string())]
    # ``time`` in microseconds (``ts_ns`` keeps the nanoseconds): Spark reads
    # no nanosecond timestamps from Parquet.
    time = ("time", pa.timestamp("us", tz="UTC"))
    if table == "messages":
        return pa.schema(head + [time if f.name == "time" else (f.name, f.type) for f in schema(pa)])
    if table in ("inventory", "objects"):
        fields = head + [
            ("ts_ns", pa.int64()),
            time,
            ("pid", pa.int64()),
            ("peer_id", pa.int64()),
            ("peer_addr", pa.string()),
            ("conn_type", pa.string()),
            ("direction", pa.string()),
            ("command", pa.string()),
            ("inv_type", pa.string()),
            ("hash", pa.string()),
        ]
        if table == "objects":
            fields.append(("msg_size", pa.int64()))
        return pa.schema(fields)
    if table == "pairs":
        session = [("ts_ns", pa.int64()), time, ("pid", pa.int64()), ("peer_id", pa.int64())]
        session += [("peer_addr", pa.string()), ("conn_type", pa.string())]
        return pa.schema(head + session + [(n, getattr(pa, kind)()) for n, kind in PAIR_COLUMNS])
    raise ValueError(table)


def utc_day(ts_ns: int) -> str:
    """``2025-01-01`` for a time in ns since the epoch (the ``date`` partition).

    >>> utc_day(1_735_689_600 * 10**9)
    '2025-01-01'
    """
    return (datetime.date(1970, 1, 1) + datetime.timedelta(days=ts_ns // _DAY_NS)).isoformat()


def file_name(capture: str, part: int) -> str:
    """The name of part ``part`` of a capture's file in one day's folder.

    >>> file_name("run-0123456789abcdef", 0), file_name("run-0123456789abcdef", 2)
    ('run-0123456789abcdef.parquet', 'run-0123456789abcdef.2.parquet')
    """
    return f"{capture}.parquet" if part == 0 else f"{capture}.{part}.parquet"


def write_marker(folder) -> None:
    """The marker that makes ``folder`` a dataset."""
    with open(os.path.join(folder, MARKER), "x", encoding="utf-8") as f:
        json.dump({"format": "p2pcap-dataset", "schema_version": SCHEMA_VERSION}, f)
        f.write("\n")


def _placed(root):
    """The default ``place``: the file's own path under ``root``, folders made."""

    def place(relative: str) -> str:
        path = os.path.join(root, relative)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        return path

    return place


def _create(path: str):
    """A new file at ``path``, opened for writing: ``O_EXCL`` so that nothing
    there already (a link planted at the name) is followed or overwritten."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o666)
    return os.fdopen(fd, "wb", buffering=WRITE_BUFFER)


def _sync_close(files) -> None:
    """fsync and close each of ``files``; the first error is raised after all are closed."""
    error = None
    for f in files:
        try:
            os.fsync(f.fileno())
        except OSError as exc:
            error = error or exc
        finally:
            f.close()
    if error is not None:
        raise error


def _write_group(writer, group) -> None:
    writer.write(group)  # a record batch or a table: one row group


def _close_writer(writer, f) -> None:
    writer.close()
    f.flush()


class _Files:
    """The Parquet writers of one capture's export: at most ``max_open`` open,
    least recently used closed first; a day written again after its file
    was closed gets the next part."""

    def __init__(self, pa, pq, place, compression: str, max_open: int = OPEN_FILES):
        self._pa, self._pq = pa, pq
        self._place = place
        self._compression = compression
        self.max_open = max_open
        self._open: OrderedDict = OrderedDict()  # (table, day) -> (writer, its file)
        self._parts: dict = {}  # (table, day) -> parts begun
        self.paths: list[str] = []  # every file begun, in order
        self._closed: list = []  # files written whole, to sync (their descriptors still open)
        self._pool = None
        # Row groups are encoded and written in a thread, in order, files
        # closed there too (parquet.WriteBehind); _sync waits for it.
        self._behind = WriteBehind()

    def write(self, key, folder: str, capture: str, schema_, batch) -> None:
        """``batch`` (a record batch or a table: one row group) to the file of ``key``."""
        entry = self._open.pop(key, None)
        if entry is None:
            while len(self._open) >= self.max_open:
                self._finish(*self._open.popitem(last=False)[1])
            part = self._parts.get(key, 0)
            self._parts[key] = part + 1
            path = self._place(f"{folder}/{file_name(capture, part)}")
            f = _create(path)
            self.paths.append(path)
            small = batch.num_rows < SMALL_FILE_ROWS
            try:
                # A file object, not a path: no file system lookup per file.
                writer = self._pq.ParquetWriter(
                    self._pa.PythonFile(f, mode="w"),
                    schema_,
                    compression="none" if small else self._compression,
                    use_dictionary=not small,
                    write_statistics=not small,
                )
            except BaseException:
                f.close()
                raise
            entry = (writer, f)
        self._open[key] = entry
        self._behind.submit(_write_group, entry[0], batch)

    def _finish(self, writer, f) -> None:
        self._behind.submit(_close_writer, writer, f)
        self._closed.append(f)  # closed, and synced, by _stop if the thread fails
        if len(self._closed) >= SYNC_BATCH:
            self._sync()

    def _sync(self) -> None:
        """Each file is on disk before the caller renames it into place.

        The files closed are synced a batch at a time, a few at once: the
        file system commits them together (ext4: one journal commit for
        many), for thousands of small files twenty times faster than one
        after another; and in batches, not one thread hand-over per file.
        """
        self._behind.drain()  # their writers closed
        files, self._closed = self._closed, []
        if len(files) < 2:
            _sync_close(files)
            return
        if self._pool is None:
            from concurrent.futures import ThreadPoolExecutor

            self._pool = ThreadPoolExecutor(SYNC_THREADS, thread_name_prefix="p2pcap-fsync")
        for done in self._pool.map(_sync_close, [files[k::SYNC_THREADS] for k in range(SYNC_THREADS)]):
            del done  # map raises the first error here, after every batch ran

    def close(self) -> None:
        try:
            while self._open:
                self._finish(*self._open.popitem(last=False)[1])
            self._sync()
        finally:
            self._stop()

    def drop(self) -> None:
        """Close every file without caring for it (the caller removes them)."""
        self._behind.abandon()
        while self._open:
            writer, f = self._open.popitem()[1]
            for closing in (writer, f):
                try:
                    closing.close()
                except Exception:  # noqa: BLE001  a half-written file: it is dropped anyway
                    pass
        self._stop()

    def _stop(self) -> None:
        self._behind.abandon()
        for f in self._closed:
            f.close()
        self._closed = []
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None


class _Table:
    """One table's rows of one capture, buffered by UTC day: pieces (record
    batches, ``add_batch``) and after them rows added one at a time (``add``)."""

    def __init__(self, pa, files: _Files, table, node, capture, metadata: bytes):
        self._pa = pa
        self._files = files
        self._table = table
        self._folder = f"{table}/node={node}"
        self._capture = self.capture = capture
        info = {"table": table, "node": node, "capture": capture, "schema_version": SCHEMA_VERSION}
        self.schema = table_schema(pa, table).with_metadata(
            {METADATA_KEY: metadata, DATASET_KEY: json.dumps(info).encode()}
        )
        self._width = len(self.schema.names)
        self._days: dict[int, list] = {}  # day number -> one list per column
        self._pieces: dict[int, list] = {}  # day number -> record batches, before its rows in _days
        self._buffered = 0  # rows in all days
        self._bytes = 0
        self.rows = 0

    def add(self, ts_ns: int, row: tuple, size: int = 0) -> None:
        day = ts_ns // _DAY_NS
        columns = self._days.get(day)
        if columns is None:
            columns = self._days[day] = [[] for _ in range(self._width)]
        for values, value in zip(columns, (SCHEMA_VERSION, self._capture, *row)):
            values.append(value)
        self._buffered += 1
        self._bytes += size
        self.rows += 1
        if self._buffered >= ROWS_PER_GROUP or self._bytes >= BYTES_PER_GROUP:
            self.flush()

    def head(self, n: int) -> list:
        """The ``schema_version`` and ``capture`` columns of ``n`` rows."""
        pa = self._pa
        return [pa.repeat(pa.scalar(SCHEMA_VERSION, pa.int32()), n), pa.repeat(self._capture, n)]

    def add_batch(self, columns: list, sizes=None) -> None:
        """Rows at once, as ``add`` would take them one by one: ``columns``
        after ``schema_version`` and ``capture`` (Arrow arrays); ``sizes``
        each row's bytes (an array), or None."""
        pa = self._pa
        n = len(columns[0])
        if not n:
            return
        batch = pa.RecordBatch.from_arrays(self.head(n) + columns, schema=self.schema)
        self._seal()
        start = 0
        while start < n:
            take, used = group_share(
                n - start,
                None if sizes is None else sizes.slice(start),
                ROWS_PER_GROUP - self._buffered,
                None if sizes is None else BYTES_PER_GROUP - self._bytes,
            )
            self._add_piece(batch.slice(start, take))
            self._buffered += take
            self._bytes += used
            self.rows += take
            start += take
            if self._buffered >= ROWS_PER_GROUP or self._bytes >= BYTES_PER_GROUP:
                self.flush()

    def _add_piece(self, piece) -> None:
        import pyarrow.compute as pc

        days = pc.divide(piece.column("ts_ns"), _DAY_NS)
        span = pc.min_max(days)
        first, last = span["min"].as_py(), span["max"].as_py()
        if first == last:
            self._pieces.setdefault(first, []).append(piece)
            return
        for day in pc.unique(days).to_pylist():  # a block over midnight
            self._pieces.setdefault(day, []).append(piece.filter(pc.equal(days, day)))

    def _seal(self) -> None:
        """The rows added one at a time, as each day's next piece.

        The days' rows become one record batch, sliced per day (no copy):
        thousands of days of a row each cost one conversion, not thousands.
        """
        days, self._days = self._days, {}
        if not days:
            return
        order = sorted(days)
        columns = [[] for _ in range(self._width)]
        for day in order:
            for whole, part in zip(columns, days[day]):
                whole += part
        batch = record_batch(self._pa, self.schema, columns)
        del columns
        start = 0
        for day in order:
            rows = len(days.pop(day)[0])
            self._pieces.setdefault(day, []).append(batch.slice(start, rows))
            start += rows

    def flush(self) -> None:
        """Every buffered day's rows to its file, as one row group."""
        self._seal()
        pieces, self._pieces = self._pieces, {}
        self._buffered = self._bytes = 0
        for day in sorted(pieces):
            batches = pieces.pop(day)
            folder = f"{self._folder}/date={utc_day(day * _DAY_NS)}"
            group = (
                batches[0] if len(batches) == 1 else self._pa.Table.from_batches(batches, schema=self.schema)
            )
            self._files.write((self._table, day), folder, self._capture, self.schema, group)


class DatasetWriter:
    """Write one capture's records into a dataset folder.

    ``node`` names the partition; ``capture`` names the files (one per table
    and UTC day, more parts when ``OPEN_FILES`` forces it).  ``decode(msg)
    -> (decoded, error)`` fills the message table's ``decoded``;
    ``items(msg, decoded) -> (inventory pairs, object pairs)`` gives the
    (inv type, hash) rows of the other two tables (``decoded`` is None when
    no ``decode`` was given: ``items`` decodes what it needs).  ``place``:
    see the module's docstring (default: the path under ``root``).

    >>> with DatasetWriter("fleet", "mn1", "run-0123456789abcdef") as w:  # doctest: +SKIP
    ...     for record in records:
    ...         w.write(record)
    """

    def __init__(
        self,
        root,
        node: str,
        capture: str,
        metadata: dict | None = None,
        *,
        decode=None,
        items=None,
        compression: str = "zstd",
        tables=TABLES,
        place=None,
    ):
        pa, pq = _pyarrow()
        if not NODE_NAME.fullmatch(node) or not CAPTURE_NAME.fullmatch(capture):
            raise ValueError(f"not a node or capture name a dataset holds: {node!r}, {capture!r}")
        self.root = str(root)
        self._pa = pa
        self._files = _Files(pa, pq, place or _placed(self.root), compression)
        md = metadata_json(metadata)
        self._tables = {t: _Table(pa, self._files, t, node, capture, md) for t in TABLES}
        self._messages, self._inventory, self._objects = (self._tables[t] for t in TABLES[:3])
        self._keep_messages = "messages" in tables  # else only the inventory and object tables
        self._pairs: list = []  # rows of the pairs table not yet converted
        self._decode = decode
        self._items = items
        self.messages = 0
        self.gaps = 0

    @property
    def paths(self) -> list[str]:
        """Every file begun (where ``place`` put it)."""
        return list(self._files.paths)

    @property
    def rows(self) -> dict[str, int]:
        return {name: t.rows for name, t in self._tables.items()}

    def write(self, record) -> None:
        ts = record.ts_ns
        if ts > _INT64_MAX:
            raise FormatError(f"a record's time, {ts} ns since 1970, is past what Parquet's int64 holds")
        us = ts // 1000
        if type(record) is Gap:
            if max(record.lost_messages, record.lost_bytes) > _INT64_MAX:
                raise FormatError(f"a gap's loss ({record.lost_messages} messages) is more than int64 holds")
            if self._keep_messages:
                self._messages.add(ts, ("gap", ts, us, record.pid, *_gap_row(record)))
            self.gaps += 1
            return
        obj = error = text = None
        if self._decode is not None:
            obj, error = self._decode(record)
            text = None if obj is None else json.dumps(obj, separators=(",", ":"))
        head = (
            ts,
            us,
            record.pid,
            record.peer_id,
            record.peer_addr,
            record.conn_type,
            record.direction,
            record.command,
        )
        if self._items is not None:
            inventory, objects = self._items(record, obj)
            for inv_type, hash_ in inventory:
                self._inventory.add(ts, (*head, inv_type, hash_))
            for inv_type, hash_ in objects:
                self._objects.add(ts, (*head, inv_type, hash_, record.msg_size))
        if self._keep_messages:
            self._messages.add(
                ts,
                (
                    "message",
                    *head,
                    record.msg_size,
                    record.captured_len,
                    record.flags,
                    record.payload,
                    text,
                    error,
                    None,
                    None,
                    None,
                ),
                len(record.payload) + (len(text) if text else 0),
            )
        self.messages += 1

    def write_block(
        self, block, decoded=None, errors=None, *, type_name=None, declined=None, objects=None
    ) -> None:
        """A block's rows at once (``columns.BlockColumns``), as ``write`` would
        write its records.  ``decoded`` and ``errors``: each row's ``decoded``
        JSON text and ``decode_error`` (lists; None: none).  The inventory
        table gets the items the walker read, each type named by
        ``type_name(number)`` (None: no inventory rows), and ``declined``,
        the items of the messages it left to the caller; ``declined`` and
        ``objects`` are ``(rows, inv types, hashes)`` lists, ``rows`` the
        block's row of each item, in order (what ``items`` gives)."""
        import pyarrow.compute as pc

        pa = self._pa
        n = block.rows
        arrays = block.arrays(pa)
        arrays["time"] = pc.divide(arrays["ts_ns"], 1000).cast(self._messages.schema.field("time").type)
        head = [arrays[name] for name in _HEAD]
        if type_name is not None:
            rows, inv_types, hashes = block.items(pa, type_name, declined)
            if len(rows):
                self._inventory.add_batch([a.take(rows) for a in head] + [inv_types, hashes])
        if objects is not None and objects[0]:
            rows = pa.array(objects[0], pa.int32())
            self._objects.add_batch(
                [a.take(rows) for a in head]
                + [pa.array(objects[1], pa.string()), pa.array(objects[2], pa.string())]
                + [arrays["msg_size"].take(rows)]
            )
        if self._keep_messages:
            arrays["decoded"] = text_or_null(pa, decoded, n)
            arrays["decode_error"] = text_or_null(pa, errors, n, messages=True)
            self._messages.add_batch(
                [arrays[name] for name in COLUMNS], message_sizes(arrays["payload"], arrays["decoded"])
            )
        self.gaps += block.gaps
        self.messages += n - block.gaps

    def add_pair(self, pair: dict) -> None:
        """A row of the pairs table: one settled request (``Pair.as_json()``), at
        its request's time (an answer nothing asked for: the answer's; an item
        never requested: its inv's).  Rows are gathered and converted
        ``PAIRS_AT_ONCE`` at a time, column by column."""
        self._pairs.append(pair)
        if len(self._pairs) >= PAIRS_AT_ONCE:
            self._add_pairs()

    def _add_pairs(self) -> None:
        pairs, self._pairs = self._pairs, []
        if not pairs:
            return
        table = self._tables["pairs"]
        times = [
            next(p[k] for k in ("request_ns", "answer_ns", "announce_ns") if p[k] is not None) for p in pairs
        ]
        columns = [
            [SCHEMA_VERSION] * len(pairs),
            [table.capture] * len(pairs),
            times,
            [t // 1000 for t in times],
        ]
        columns += [[p[name] for p in pairs] for name in ("pid", "peer_id", "peer_addr", "conn_type")]
        columns += [[p[name] for p in pairs] for name, _kind in PAIR_COLUMNS]
        table.add_batch(record_batch(self._pa, table.schema, columns).columns[2:])

    def close(self) -> None:
        """Write what is buffered and close every file; on an error the
        files are left to the caller to remove (``paths``)."""
        try:
            self._add_pairs()
            for table in self._tables.values():
                table.flush()
            self._files.close()
        except BaseException:
            self._files.drop()
            raise

    def __enter__(self) -> DatasetWriter:
        return self

    def __exit__(self, exc_type, *exc) -> None:
        if exc_type is None:
            self.close()
        else:
            self._files.drop()


def _gap_row(gap) -> tuple:
    """A gap row's columns after kind, ts_ns, time and pid."""
    return (*(None,) * 11, gap.reason_name, gap.lost_messages, gap.lost_bytes)
