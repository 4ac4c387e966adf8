"""Turn records into table rows and JSON lines (``show``'s output).

Decoding happens here, per shown record, with the version negotiated on that
peer-session; only records that pass the filters are decoded.
"""

from __future__ import annotations

import json
import time

from p2pcap.decoders import DecodeError, decode
from p2pcap.formats.records import Gap, Message

from .negotiation import VersionTracker
from .summary import summarize

WIDTH = 80


def decode_record(msg: Message, version: int) -> tuple[dict | None, str | None]:
    """(decoded, error) for one message; never raises for bad payloads."""
    if msg.partial:
        return None, f"partial payload: {msg.captured_len} of {msg.msg_size} bytes captured, not decoded"
    try:
        return decode(msg.command, msg.payload, version=version), None
    except DecodeError as exc:
        return None, str(exc)


def clock(ts_ns: int) -> str:
    """UTC time of day with microseconds, like tcpdump's default."""
    seconds, ns = divmod(ts_ns, 1_000_000_000)
    return time.strftime("%H:%M:%S", time.gmtime(seconds)) + f".{ns // 1000:06d}"


class Renderer:
    def __init__(self, *, json_lines: bool, hex_payload: bool, color: bool):
        self.json_lines = json_lines
        self.hex_payload = hex_payload
        self.color = color
        self.versions = VersionTracker()

    def observe(self, record) -> None:
        """Every record, shown or not, so negotiated versions stay right."""
        if type(record) is Message:
            self.versions.see(record.pid, record.peer_id, record.direction, record.command, record.payload)

    def render(self, record) -> str:
        if type(record) is Gap:
            return self._gap(record)
        version = self.versions.version_for(record.pid, record.peer_id)
        decoded, error = decode_record(record, version)
        if self.json_lines:
            return json.dumps(message_json(record, decoded, error, self.hex_payload), separators=(",", ":"))
        return self._row(record, decoded, error)

    def header(self) -> str | None:
        if self.json_lines:
            return None
        return f"{'time (UTC)':15} {'dir':3} {'peer':>5} {'command':12} {'size':>8}  info"

    def _row(self, msg: Message, decoded, error) -> str:
        info = f"! {error}" if error else summarize(msg.command, decoded)
        size = str(msg.msg_size) if not msg.partial else f"{msg.captured_len}/{msg.msg_size}"
        row = f"{clock(msg.ts_ns)} {msg.direction:3} {msg.peer_id:>5} {msg.command:12} {size:>8}  {info}"
        if len(row) > WIDTH:
            row = row[: WIDTH - 1] + "…"
        if self.color:
            import click

            row = click.style(row, fg="red" if error else ("cyan" if msg.direction == "in" else None))
        return row

    def _gap(self, gap: Gap) -> str:
        if self.json_lines:
            return json.dumps({
                "gap": True, "ts_ns": gap.ts_ns, "pid": gap.pid, "reason": gap.reason_name,
                "lost_messages": gap.lost_messages, "lost_bytes": gap.lost_bytes,
            }, separators=(",", ":"))
        row = (f"{clock(gap.ts_ns)} --- GAP: {gap.lost_messages} messages "
               f"({gap.lost_bytes} bytes) lost, {gap.reason_name}")
        if self.color:
            import click

            row = click.style(row, fg="yellow", bold=True)
        return row


def message_json(msg: Message, decoded, error, hex_payload: bool) -> dict:
    obj = {
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
        "decoded": decoded,
        "error": error,
    }
    if hex_payload:
        obj["payload_hex"] = msg.payload.hex()
    return obj
