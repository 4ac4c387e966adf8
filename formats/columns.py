"""A block's records as Arrow arrays: what export writes, without a Python
object per record (issue 27; docs/FLEET.md, "What writing costs").

``formats/_blockwalk.c`` ``columns`` walks one decompressed block body and
gives each field of the records the reader's filters keep in one buffer
that Arrow takes as it is (``BlockColumns``), and the items of the
inventory messages among them.  Nothing here decodes: which commands are
inventories, and what a declined message holds, is the caller's to say
(``p2pcap/analysis/exporting.py``).  The per-record writers
(``ParquetWriter.write``, ``DatasetWriter.write``) stay the reference; a
block the walker is unsure of is read the general way
(``CaptureReader.rendered_blocks``), and tests/analysis/test_export_columns.py
holds both ways to the same rows.

>>> made = block_columns(body, count, None, None, None, True, None)  # doctest: +SKIP
>>> made.rows, made.arrays(pyarrow)["command"]  # doctest: +SKIP
"""

from __future__ import annotations

from array import array

from .accelerators import blockwalk
from .parquet import parquet_text
from .records import DIRECTIONS, GAP_REASONS, Message

# The message columns of an export, as ``BlockColumns.arrays`` names them
# (parquet.COLUMNS without ``time``, ``decoded`` and ``decode_error``,
# which the writers add).
ARRAY_COLUMNS = (
    "kind",
    "ts_ns",
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
    "gap_reason",
    "lost_messages",
    "lost_bytes",
)
_HASH_LEN = 64  # an item's hash: 32 bytes as hex
_hash_offsets = array("i", [0])  # 0, 64, 128, ...: a prefix is any block's item offsets


def available() -> bool:
    """Whether the C walker is built (and not set aside by ``P2PCAP_GENERAL``)."""
    return blockwalk() is not None


def block_columns(raw, records: int, commands, since_ns, until_ns, gaps: bool, inventory):
    """``BlockColumns`` of one decompressed body (``rendered_blocks``'s
    ``render`` with ``inventory`` bound), or None: read it the general way.

    ``inventory``: None, or ``{command: max items}`` of the messages whose
    payload is an inventory vector, -1 for as many as its bytes hold.
    """
    made = blockwalk().columns(raw, records, commands, since_ns, until_ns, gaps, inventory)
    return None if made is None else BlockColumns(made)


def _reason_name(reason: int) -> str:
    return GAP_REASONS.get(reason, f"reason-{reason}")  # Gap.reason_name


def _buffer(pa, data):
    return pa.py_buffer(data)


def _hash_offsets_for(count: int):
    """The offsets of ``count`` hashes of 64 characters, one after another."""
    global _hash_offsets
    if len(_hash_offsets) <= count:
        _hash_offsets = array("i", range(0, _HASH_LEN * (2 * count + 2), _HASH_LEN))
    return memoryview(_hash_offsets)[: count + 1]


class BlockColumns:
    """One block's rows (see ``_blockwalk.c`` ``columns`` for the buffers).

    ``rows`` counts the records kept (messages and gaps), ``gaps`` the gap
    rows; ``peers`` and ``names`` are the block's peer and command tables
    by ref.  Per-row values for a caller's loop: ``command_of(row)``,
    ``payload(row)``, ``message(row)``; whole columns: ``arrays(pa)``.
    """

    __slots__ = (
        "rows",
        "peers",
        "names",
        "ts",
        "pid",
        "peer_id",
        "peer_ref",
        "command_ref",
        "direction",
        "msg_size",
        "captured_len",
        "flags",
        "offsets",
        "data",
        "gaps",
        "message_valid",
        "gap_valid",
        "reason",
        "lost",
        "lost_bytes",
        "item_row",
        "item_type",
        "item_hash",
        "declined",
        "_views",
    )

    def __init__(self, made: tuple):
        (
            self.rows,
            self.peers,
            self.names,
            self.ts,
            self.pid,
            self.peer_id,
            self.peer_ref,
            self.command_ref,
            self.direction,
            self.msg_size,
            self.captured_len,
            self.flags,
            self.offsets,
            self.data,
            self.gaps,
            self.message_valid,
            self.gap_valid,
            self.reason,
            self.lost,
            self.lost_bytes,
            self.item_row,
            self.item_type,
            self.item_hash,
            self.declined,
        ) = made
        self._views = None

    # -- one row at a time ----------------------------------------------------------
    def views(self) -> tuple:
        """(ts, pid, peer_id, peer_ref, command_ref, direction, msg_size, flags,
        offsets, data): memoryviews to index by row."""
        if self._views is None:
            q, i = "q", "i"
            self._views = tuple(
                memoryview(b).cast(kind)
                for b, kind in (
                    (self.ts, q),
                    (self.pid, q),
                    (self.peer_id, q),
                    (self.peer_ref, i),
                    (self.command_ref, i),
                    (self.direction, i),
                    (self.msg_size, q),
                    (self.flags, q),
                    (self.offsets, i),
                )
            ) + (memoryview(self.data),)
        return self._views

    def is_gap(self, row: int) -> bool:
        return self.gaps > 0 and not self.message_valid[row >> 3] >> (row & 7) & 1

    def payload(self, row: int) -> memoryview:
        offsets, data = self.views()[8:10]
        return data[offsets[row] : offsets[row + 1]]

    def message(self, row: int) -> Message:
        """The message of ``row`` as the reader gives it (``decode_block``)."""
        ts, _pid, peer_id, peer_ref, command_ref, direction, msg_size, flags, offsets, data = self.views()
        pid, _id, addr, conn_type = self.peers[peer_ref[row]]
        return Message(
            ts[row],
            pid,
            peer_id[row],
            addr,
            conn_type,
            DIRECTIONS[direction[row]],
            self.names[command_ref[row]],
            msg_size[row],
            bytes(data[offsets[row] : offsets[row + 1]]),
            flags[row],
        )

    def rows_of(self, refs) -> list[int]:
        """The message rows whose command ref is in ``refs``, in order."""
        if not refs or not self.rows:
            return []
        import pyarrow as pa
        import pyarrow.compute as pc

        cref = pa.Array.from_buffers(pa.int32(), self.rows, [self._valid(pa), _buffer(pa, self.command_ref)])
        return pc.indices_nonzero(pc.is_in(cref, value_set=pa.array(sorted(refs), pa.int32()))).to_pylist()

    # -- whole columns ----------------------------------------------------------------
    def _valid(self, pa):
        return None if not self.gaps else _buffer(pa, self.message_valid)

    def arrays(self, pa) -> dict:
        """The block's columns (``ARRAY_COLUMNS``) as Arrow arrays, the
        capture's strings in ``parquet_text`` form as ``record_batch`` writes them."""
        import pyarrow.compute as pc

        n = self.rows
        valid = self._valid(pa)
        gap_valid = None if not self.gaps else _buffer(pa, self.gap_valid)

        def numbers(data, type_=pa.int64(), validity=valid):
            return pa.Array.from_buffers(type_, n, [validity, _buffer(pa, data)])

        def named(values, refs, validity=valid):
            return pa.array(values, pa.string()).take(numbers(refs, pa.int32(), validity))

        peers = self.peers
        if self.gaps:
            kind = pc.if_else(numbers(self.gap_valid, pa.bool_(), None), "gap", "message")
            reasons = memoryview(self.reason).cast("i")
            gap_reason = pa.array(
                [_reason_name(reasons[k]) if self.is_gap(k) else None for k in range(n)], pa.string()
            )
            lost, lost_bytes = (
                numbers(self.lost, validity=gap_valid),
                numbers(self.lost_bytes, validity=gap_valid),
            )
        else:
            kind = pa.repeat("message", n)
            gap_reason = pa.nulls(n, pa.string())
            lost = lost_bytes = pa.nulls(n, pa.int64())
        return {
            "kind": kind,
            "ts_ns": numbers(self.ts, validity=None),
            "pid": numbers(self.pid, validity=None),
            "peer_id": numbers(self.peer_id),
            "peer_addr": named([parquet_text(p[2]) for p in peers], self.peer_ref),
            "conn_type": named([parquet_text(p[3]) for p in peers], self.peer_ref),
            "direction": named(DIRECTIONS, self.direction),
            "command": named([parquet_text(c) for c in self.names], self.command_ref),
            "msg_size": numbers(self.msg_size),
            "captured_len": numbers(self.captured_len),
            "flags": numbers(self.flags),
            "payload": pa.Array.from_buffers(
                pa.binary(), n, [valid, _buffer(pa, self.offsets), _buffer(pa, self.data)]
            ),
            "gap_reason": gap_reason,
            "lost_messages": lost,
            "lost_bytes": lost_bytes,
        }

    def items(self, pa, type_name, extra=None) -> tuple:
        """(rows, inv types, hashes) arrays of the inventory messages' items,
        in row order: those the walker read, each type named by
        ``type_name(number)``, and ``extra``, (rows, type names, hashes) lists
        of the declined messages' items (or None)."""
        import pyarrow.compute as pc

        m = len(self.item_row) // 4
        rows = pa.Array.from_buffers(pa.int32(), m, [None, _buffer(pa, self.item_row)])
        numbers = pa.Array.from_buffers(pa.uint32(), m, [None, _buffer(pa, self.item_type)])
        hashes = pa.Array.from_buffers(
            pa.string(), m, [None, _buffer(pa, _hash_offsets_for(m)), _buffer(pa, self.item_hash)]
        )
        known = pc.unique(numbers)
        names = pa.array([type_name(t) for t in known.to_pylist()], pa.string())
        types = names.take(pc.index_in(numbers, value_set=known))
        if not extra or not extra[0]:
            return rows, types, hashes
        rows = pa.concat_arrays([rows, pa.array(extra[0], pa.int32())])
        order = pc.sort_indices(rows)  # stable: a message's items keep their order
        return (
            rows.take(order),
            pa.concat_arrays([types, pa.array(extra[1], pa.string())]).take(order),
            pa.concat_arrays([hashes, pa.array(extra[2], pa.string())]).take(order),
        )


__all__ = ["ARRAY_COLUMNS", "BlockColumns", "available", "block_columns"]
