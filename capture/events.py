"""Turn raw ring-buffer events into records: a pure function of the bytes.

Layout of ``struct event`` and ``struct chunk`` in p2p_messages.bpf.c:

    event: u32 kind, u32 data_len, u64 ts_ns, u64 msg_size, u64 captured_len,
           s64 peer_id, u32 pid, u32 tid, u32 flags, u32 inbound,
           char addr[ADDR_MAX], char conn_type[CONN_MAX], char command[CMD_MAX],
           u8 data[]
    chunk: u32 kind, u32 data_len, u32 offset, u32 tid, u8 data[]

A message larger than one chunk arrives as an EV_MESSAGE event followed by
EV_CHUNK events from the same thread: one probe hit runs to completion
before that thread can hit another, so per thread the chunks are in order,
while threads on other CPUs interleave theirs (dashd pushes messages from
several threads).  The assembler keeps one pending message per thread id;
a new EV_MESSAGE from a thread whose message is still incomplete means
chunks went missing (a reservation failed), and that is counted.
"""

from __future__ import annotations

import struct

from p2pcap.formats.records import FLAG_PAYLOAD_FAULT, Message

from .limits import ADDR_MAX, CMD_MAX, CONN_MAX

EV_MESSAGE = 1
EV_CHUNK = 2

EVENT = struct.Struct(f"<IIQQQqIIII{ADDR_MAX}s{CONN_MAX}s{CMD_MAX}s")
CHUNK = struct.Struct("<IIII")


def _cstr(raw: bytes) -> str:
    end = raw.find(b"\0")
    return raw[: end if end >= 0 else len(raw)].decode("utf-8", "backslashreplace")


class Assembler:
    """Feeds on raw events; yields finished Messages; counts incomplete ones.

    ``clock_offset_ns`` turns the kernel's CLOCK_MONOTONIC stamps into wall
    clock: one offset taken when recording starts (DESIGN.md, Capture).
    """

    def __init__(self, clock_offset_ns: int):
        self.clock_offset_ns = clock_offset_ns
        self._pending: dict[int, tuple[Message, bytearray, int]] = {}
        self.incomplete = 0  # messages abandoned with chunks missing
        self.incomplete_bytes = 0

    def feed(self, raw: bytes) -> Message | None:
        """One event in; a Message out when one is complete, else None."""
        kind = int.from_bytes(raw[:4], "little")
        if kind == EV_MESSAGE:
            return self._start(raw)
        if kind == EV_CHUNK:
            return self._chunk(raw)
        raise ValueError(f"unknown event kind {kind}")

    def _start(self, raw: bytes) -> Message | None:
        (_, data_len, ts, msg_size, captured, peer_id, pid, tid, flags, inbound,
         addr, conn, command) = EVENT.unpack_from(raw)
        if tid in self._pending:
            self._abandon(tid)
        data = raw[EVENT.size : EVENT.size + data_len]
        if data_len == 0 and captured > 0:
            flags |= FLAG_PAYLOAD_FAULT
        msg = Message(
            ts_ns=ts + self.clock_offset_ns,
            pid=pid,
            peer_id=peer_id,
            peer_addr=_cstr(addr),
            conn_type=_cstr(conn),
            direction="in" if inbound else "out",
            command=_cstr(command),
            msg_size=msg_size,
            payload=b"",
            flags=flags,
        )
        if flags & FLAG_PAYLOAD_FAULT or data_len >= captured:
            msg.payload = data if not flags & FLAG_PAYLOAD_FAULT else b""
            return msg
        self._pending[tid] = (msg, bytearray(data), captured)
        return None

    def _chunk(self, raw: bytes) -> Message | None:
        _, data_len, offset, tid = CHUNK.unpack_from(raw)
        entry = self._pending.get(tid)
        if entry is None:
            return None  # the start was lost; the kernel counted it
        msg, buf, captured = entry
        if offset != len(buf) or data_len == 0:
            # Out of order or a failed read: the message cannot be whole.
            del self._pending[tid]
            if data_len == 0 and offset == len(buf):
                msg.flags |= FLAG_PAYLOAD_FAULT
                msg.payload = b""
                return msg
            self._count_incomplete(msg)
            return None
        buf += raw[CHUNK.size : CHUNK.size + data_len]
        if len(buf) >= captured:
            del self._pending[tid]
            msg.payload = bytes(buf)
            return msg
        return None

    def _abandon(self, tid: int) -> None:
        msg, _, _ = self._pending.pop(tid)
        self._count_incomplete(msg)

    def _count_incomplete(self, msg: Message) -> None:
        self.incomplete += 1
        self.incomplete_bytes += msg.msg_size

    def finish(self) -> None:
        """End of recording: whatever is still pending is incomplete."""
        for tid in list(self._pending):
            self._abandon(tid)

