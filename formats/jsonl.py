"""JSON lines export: one object per record, for jq, DuckDB, pandas.

Every line has ``kind``: ``"message"`` or ``"gap"``.  A message line holds
the record's metadata under the names ``show --json`` uses, the payload as
hex, and, when the caller passes a ``decode`` function, ``decoded`` (an
object, or null) and ``error``; a gap line holds what the recorder lost.
This module never decodes: the p2pcap layer passes ``decode`` in
(formats/ does not import decoders; DESIGN.md, "The data path").

>>> import io
>>> out = io.StringIO()
>>> w = JsonlWriter(out)
>>> w.write(Message(5, 7, 0, "1.2.3.4:9999", "inbound", "in", "ping", 8, bytes(8)))
>>> row = json.loads(out.getvalue())
>>> row["kind"], row["command"], row["payload_hex"]
('message', 'ping', '0000000000000000')
"""

from __future__ import annotations

import json

from .records import Gap, Message


def message_object(msg: Message) -> dict:
    """The metadata and payload of one message, JSON-ready."""
    return {
        "kind": "message",
        "ts_ns": msg.ts_ns,
        "pid": msg.pid,
        "peer_id": msg.peer_id,
        "peer_addr": msg.peer_addr,
        "conn_type": msg.conn_type,
        "direction": msg.direction,
        "command": msg.command,
        "msg_size": msg.msg_size,
        "captured_len": msg.captured_len,
        "flags": msg.flags,
        "payload_hex": msg.payload.hex(),
    }


def gap_object(gap: Gap) -> dict:
    return {
        "kind": "gap",
        "ts_ns": gap.ts_ns,
        "pid": gap.pid,
        "reason": gap.reason_name,
        "lost_messages": gap.lost_messages,
        "lost_bytes": gap.lost_bytes,
    }


class JsonlWriter:
    """Write records as JSON lines to a text file object.

    ``decode(msg) -> (decoded, error)`` adds ``decoded``/``error`` to every
    message line; it is called once per message, in file order.
    """

    def __init__(self, file, *, decode=None):
        self._file = file
        self._decode = decode
        self.messages = 0
        self.gaps = 0

    def write(self, record) -> None:
        if type(record) is Gap:
            obj = gap_object(record)
            self.gaps += 1
        else:
            obj = message_object(record)
            if self._decode is not None:
                obj["decoded"], obj["error"] = self._decode(record)
            self.messages += 1
        self._file.write(json.dumps(obj, separators=(",", ":")) + "\n")
