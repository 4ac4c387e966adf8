"""Parquet export (pyarrow): one row per record, for DuckDB or any engine.

Columns (``SCHEMA`` below): ``kind`` ("message" or "gap"), the record's
metadata (``ts_ns`` and ``time`` as a UTC timestamp, ``pid``, ``peer_id``,
``peer_addr``, ``conn_type``, ``direction``, ``command``, ``msg_size``,
``captured_len``, ``flags``), ``payload`` as binary, ``decoded`` as JSON
text and ``decode_error`` (null unless the caller passes a ``decode``
function: this module never decodes), and for gap rows ``gap_reason``,
``lost_messages``, ``lost_bytes``.  The capture's metadata is kept as JSON in
the file's key-value metadata under ``p2pcap.metadata``.

Rows are buffered into row groups of at most ``ROWS_PER_GROUP`` rows or
``BYTES_PER_GROUP`` payload bytes, so memory stays bounded whatever the size
of the capture.  ``pyarrow`` is imported only when a writer is made.

    SELECT command, count(*), sum(msg_size) FROM 'run.parquet'
    WHERE kind = 'message' GROUP BY command ORDER BY 3 DESC;
"""

from __future__ import annotations

import contextlib
import json
import os

from p2pcap.errors import P2pcapError

from .records import Gap

ROWS_PER_GROUP = 65_536
BYTES_PER_GROUP = 64 << 20
METADATA_KEY = b"p2pcap.metadata"

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


class ParquetWriter:
    """Write records to a Parquet file (path or binary file object).

    ``decode(msg) -> (decoded, error)`` fills ``decoded`` (serialised to
    JSON text) and ``decode_error``.  Call ``close()`` (or use ``with``):
    the file is valid only once its footer is written.
    """

    def __init__(self, target, metadata: dict | None = None, *, decode=None, compression: str = "zstd"):
        self._pa, pq = _pyarrow()
        self._schema = schema(self._pa).with_metadata(
            {METADATA_KEY: json.dumps(metadata or {}, default=str).encode()}
        )
        self._writer = pq.ParquetWriter(target, self._schema, compression=compression)
        self._decode = decode
        self._columns = {name: [] for name in COLUMNS}
        self._lists = [self._columns[name] for name in _ROW_ORDER]
        self._rows = 0
        self._bytes = 0
        self.messages = 0
        self.gaps = 0

    def write(self, record) -> None:
        if type(record) is Gap:
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
        if self._rows >= ROWS_PER_GROUP or self._bytes >= BYTES_PER_GROUP:
            self._flush()

    def _flush(self) -> None:
        if not self._rows:
            return
        batch = self._pa.RecordBatch.from_pydict(self._columns, schema=self._schema)
        self._writer.write_batch(batch)
        for values in self._columns.values():
            values.clear()
        self._rows = self._bytes = 0

    def close(self) -> None:
        try:
            self._flush()
        finally:
            self._writer.close()

    def __enter__(self) -> ParquetWriter:
        return self

    def __exit__(self, exc_type, *exc) -> None:
        if exc_type is None:
            self.close()
        else:
            self._writer.close()  # the caller removes the half-written file


# -- datasets --------------------------------------------------------------------
#
# A dataset is a folder of three hive-partitioned tables (docs/FLEET.md):
#
#   DIR/_p2pcap_dataset.json                      marker: {"format": "p2pcap-dataset", "schema_version": 1}
#   DIR/messages/node=<name>/date=<YYYY-MM-DD>/<capture>.parquet
#   DIR/inventory/node=<name>/date=<YYYY-MM-DD>/<capture>.parquet
#   DIR/objects/node=<name>/date=<YYYY-MM-DD>/<capture>.parquet
#
# ``node`` and ``date`` are partition columns (in the path, not the files).
# Every file carries ``schema_version`` and ``capture`` columns and, in its
# key-value metadata under ``p2pcap.dataset``, its table, node, capture and
# schema version, so a reader can tell ours from a foreign file.  Nothing
# here decodes: the inventory and object rows come from the caller's
# ``items`` function.

SCHEMA_VERSION = 1
TABLES = ("messages", "inventory", "objects")
MARKER = "_p2pcap_dataset.json"
DATASET_KEY = b"p2pcap.dataset"
_DAY_NS = 86_400 * 10**9


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
    raise ValueError(table)


def utc_day(ts_ns: int) -> str:
    """``2025-01-01`` for a time in ns since the epoch (the ``date`` partition)."""
    import datetime

    return (datetime.date(1970, 1, 1) + datetime.timedelta(days=ts_ns // _DAY_NS)).isoformat()


class _Table:
    """One table's rows of one capture: a file per UTC day, rows buffered per day."""

    def __init__(self, pa, pq, root, table, node, capture, metadata, compression):
        self._pa, self._pq = pa, pq
        self._folder = os.path.join(root, table, f"node={node}")
        self._capture = capture
        info = {"table": table, "node": node, "capture": capture, "schema_version": SCHEMA_VERSION}
        self.schema = table_schema(pa, table).with_metadata(
            {
                METADATA_KEY: json.dumps(metadata or {}, default=str).encode(),
                DATASET_KEY: json.dumps(info).encode(),
            }
        )
        self._names = self.schema.names
        self._compression = compression
        self._days: dict[int, list] = {}  # day number -> [columns, rows, bytes]
        self._writers: dict[int, object] = {}
        self._day_text: dict[int, str] = {}
        self.paths: list[str] = []
        self.rows = 0

    def add(self, ts_ns: int, row: tuple, size: int = 0) -> None:
        day = ts_ns // _DAY_NS
        buf = self._days.get(day)
        if buf is None:
            buf = self._days[day] = [[[] for _ in self._names], 0, 0]
        for values, value in zip(buf[0], (SCHEMA_VERSION, self._capture, *row)):
            values.append(value)
        buf[1] += 1
        buf[2] += size
        self.rows += 1
        if buf[1] >= ROWS_PER_GROUP or buf[2] >= BYTES_PER_GROUP:
            self._flush(day)

    def _flush(self, day: int) -> None:
        columns, rows, _ = self._days[day]
        if not rows:
            return
        writer = self._writers.get(day)
        if writer is None:
            folder = os.path.join(self._folder, f"date={utc_day(day * _DAY_NS)}")
            os.makedirs(folder, exist_ok=True)
            path = os.path.join(folder, f"{self._capture}.parquet")
            if os.path.exists(path):
                raise P2pcapError(f"{path}: already in the dataset (this capture was exported to it before)")
            writer = self._writers[day] = self._pq.ParquetWriter(
                path, self.schema, compression=self._compression
            )
            self.paths.append(path)
        batch = self._pa.RecordBatch.from_arrays(
            [self._pa.array(v, type=f.type) for v, f in zip(columns, self.schema)], schema=self.schema
        )
        writer.write_batch(batch)
        self._days[day] = [[[] for _ in self._names], 0, 0]

    def close(self) -> None:
        try:
            for day in list(self._days):
                self._flush(day)
        finally:
            for writer in self._writers.values():
                writer.close()


class DatasetWriter:
    """Write one capture's records into a dataset folder (created if new).

    ``node`` names the partition; ``capture`` names the files (one per table
    and UTC day), so the same capture cannot be added twice.  ``decode(msg)
    -> (decoded, error)`` fills the message table's ``decoded``;
    ``items(msg, decoded) -> (inventory pairs, object pairs)`` gives the
    (inv type, hash) rows of the other two tables (``decoded`` is None when
    no ``decode`` was given: ``items`` decodes what it needs).
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
    ):
        pa, pq = _pyarrow()
        self.root = str(root)
        os.makedirs(self.root, exist_ok=True)
        import glob

        for path in glob.glob(
            os.path.join(glob.escape(self.root), "*", "node=*", "date=*", glob.escape(capture) + ".parquet")
        ):
            raise P2pcapError(f"{path}: already in the dataset (this capture was exported to it before)")
        marker = os.path.join(self.root, MARKER)
        if not os.path.exists(marker):
            with open(marker, "w", encoding="utf-8") as f:
                json.dump({"format": "p2pcap-dataset", "schema_version": SCHEMA_VERSION}, f)
                f.write("\n")
        self._tables = {t: _Table(pa, pq, self.root, t, node, capture, metadata, compression) for t in TABLES}
        self._messages, self._inventory, self._objects = (self._tables[t] for t in TABLES)
        self._keep_messages = "messages" in tables  # else only the inventory and object tables
        self._decode = decode
        self._items = items
        self.messages = 0
        self.gaps = 0

    @property
    def paths(self) -> list[str]:
        return [p for t in self._tables.values() for p in t.paths]

    @property
    def rows(self) -> dict[str, int]:
        return {name: t.rows for name, t in self._tables.items()}

    def write(self, record) -> None:
        ts = record.ts_ns
        us = ts // 1000
        if type(record) is Gap:
            if self._keep_messages:
                self._messages.add(
                    ts,
                    ("gap", ts, us, record.pid, *_gap_columns(record)),
                )
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
                    ts,
                    us,
                    record.pid,
                    record.peer_id,
                    record.peer_addr,
                    record.conn_type,
                    record.direction,
                    record.command,
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

    def close(self) -> None:
        try:
            for table in self._tables.values():
                table.close()
        except BaseException:
            self._discard()
            raise

    def _discard(self) -> None:
        for table in self._tables.values():
            for writer in table._writers.values():
                with contextlib.suppress(Exception):
                    writer.close()
        for path in self.paths:  # a half-written capture is worse than none
            with contextlib.suppress(OSError):
                os.unlink(path)

    def __enter__(self) -> DatasetWriter:
        return self

    def __exit__(self, exc_type, *exc) -> None:
        if exc_type is None:
            self.close()
        else:
            self._discard()
