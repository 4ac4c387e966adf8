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

import json

from p2pcap.errors import P2pcapError

from .records import Gap

ROWS_PER_GROUP = 65_536
BYTES_PER_GROUP = 64 << 20
METADATA_KEY = b"p2pcap.metadata"

COLUMNS = (
    "kind", "ts_ns", "time", "pid", "peer_id", "peer_addr", "conn_type", "direction", "command",
    "msg_size", "captured_len", "flags", "payload", "decoded", "decode_error",
    "gap_reason", "lost_messages", "lost_bytes",
)


# The order ``write`` builds a row in.
_ROW_ORDER = (
    "ts_ns", "time", "pid", "kind", "peer_id", "peer_addr", "conn_type", "direction", "command",
    "msg_size", "captured_len", "flags", "payload", "decoded", "decode_error",
    "gap_reason", "lost_messages", "lost_bytes",
)


def _pyarrow():
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError:
        raise P2pcapError("Parquet export needs pyarrow: pip install 'p2pcap[parquet]'") from None
    return pyarrow, pyarrow.parquet


def schema(pa):
    """The Arrow schema of an export (``pa`` is the pyarrow module)."""
    return pa.schema([
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
    ])


class ParquetWriter:
    """Write records to a Parquet file (path or binary file object).

    ``decode(msg) -> (decoded, error)`` fills ``decoded`` (serialised to
    JSON text) and ``decode_error``.  Call ``close()`` (or use ``with``):
    the file is valid only once its footer is written.
    """

    def __init__(self, target, metadata: dict | None = None, *, decode=None,
                 compression: str = "zstd"):
        self._pa, pq = _pyarrow()
        self._schema = schema(self._pa).with_metadata(
            {METADATA_KEY: json.dumps(metadata or {}, default=str).encode()})
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
            row = (record.ts_ns, record.ts_ns, record.pid, "gap", None, None, None, None, None, None,
                   None, None, None, None, None, record.reason_name, record.lost_messages, record.lost_bytes)
            self.gaps += 1
        else:
            decoded = error = None
            if self._decode is not None:  # before any column grows: it may raise
                obj, error = self._decode(record)
                decoded = None if obj is None else json.dumps(obj, separators=(",", ":"))
            row = (record.ts_ns, record.ts_ns, record.pid, "message", record.peer_id, record.peer_addr,
                   record.conn_type, record.direction, record.command, record.msg_size, record.captured_len,
                   record.flags, record.payload, decoded, error, None, None, None)
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

    def __enter__(self) -> "ParquetWriter":
        return self

    def __exit__(self, exc_type, *exc) -> None:
        if exc_type is None:
            self.close()
        else:
            self._writer.close()  # the caller removes the half-written file
