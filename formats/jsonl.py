"""JSON lines export: one object per record, for jq, DuckDB, pandas.

Every line has ``kind``: ``"message"`` or ``"gap"``.  A message line holds
the record's metadata under the names ``show --json`` uses, the payload as
hex, and, when the caller passes a ``decode`` function, ``decoded`` (an
object, or null) and ``error``; a gap line holds what the recorder lost.
This module never decodes: the p2pcap layer passes ``decode`` in
(formats/ does not import decoders; docs/DESIGN.md, "The data path").

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

from p2pcap.units import iso as _iso

from .records import Gap, Message

NOT_DECODED = object()


def message_object(
    msg: Message,
    time_text: str,
    *,
    decoded=NOT_DECODED,
    error=None,
    version: tuple | None = None,
    payload_hex: bool = True,
    kind: bool = True,
) -> dict:
    """One message as JSON: the one shape ``show --json``, ``replay`` and this export share.

    ``time_text`` is ``ts_ns`` as ISO 8601 (the caller formats it once per
    second); ``version`` is (protocol version, how it is known) when the
    message was decoded.  ``kind`` adds ``"kind": "message"`` first (the
    export tells message and gap lines apart by it).
    """
    obj = {"kind": "message"} if kind else {}
    obj["ts_ns"] = msg.ts_ns
    obj["time"] = time_text
    obj["pid"] = msg.pid
    obj["peer_id"] = msg.peer_id
    obj["peer_addr"] = msg.peer_addr
    obj["conn_type"] = msg.conn_type
    obj["direction"] = msg.direction
    obj["command"] = msg.command
    obj["msg_size"] = msg.msg_size
    obj["captured_len"] = msg.captured_len
    obj["flags"] = msg.flags
    if version is not None:
        obj["protocol_version"], obj["protocol_version_source"] = version
    if decoded is not NOT_DECODED:
        obj["decoded"] = decoded
        obj["error"] = error
    if payload_hex:
        obj["payload_hex"] = msg.payload.hex()
    return obj


def gap_object(gap: Gap, time_text: str, *, kind: bool = True) -> dict:
    """One gap record as JSON (``"kind": "gap"``, or ``"gap": true`` without ``kind``)."""
    obj = {"kind": "gap"} if kind else {"gap": True}
    obj["ts_ns"] = gap.ts_ns
    obj["time"] = time_text
    obj["pid"] = gap.pid
    obj["reason"] = gap.reason_name
    obj["lost_messages"] = gap.lost_messages
    obj["lost_bytes"] = gap.lost_bytes
    return obj


class JsonlWriter:
    """Write records as JSON lines to a text file object.

    ``decode(msg) -> (decoded, error)`` adds ``decoded``/``error`` to every
    message line; it is called once per message, in file order.
    """

    def __init__(self, file, *, decode=None, iso=None):
        self._file = file
        self._decode = decode
        self._iso = iso or _iso
        self.messages = 0
        self.gaps = 0

    def write(self, record) -> None:
        if type(record) is Gap:
            obj = gap_object(record, self._iso(record.ts_ns))
            self.gaps += 1
        elif self._decode is not None:
            decoded, error = self._decode(record)
            obj = message_object(record, self._iso(record.ts_ns), decoded=decoded, error=error)
            self.messages += 1
        else:
            obj = message_object(record, self._iso(record.ts_ns))
            self.messages += 1
        self._file.write(json.dumps(obj, separators=(",", ":")) + "\n")
