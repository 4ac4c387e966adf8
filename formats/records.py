"""The records a capture holds: what the recorder writes and readers yield.

A record is metadata plus payload bytes; nothing here decodes payloads
(docs/DESIGN.md, "The data path").  ``msg_size`` is what the node passed to the
tracepoint; ``captured_len`` is how many payload bytes we kept, like pcapng's
``packet_len`` / ``captured_len``.
"""

from __future__ import annotations

from dataclasses import dataclass

# Message.flags bits.  A flag records what the recorder knows went wrong or
# was chosen, so a reader never mistakes a partial record for a whole one.
FLAG_SNAPLEN = 0x01  # payload cut on purpose (--snaplen): captured_len < msg_size
FLAG_PAYLOAD_FAULT = 0x02  # reading the payload from the traced process failed
FLAG_ADDR_FAULT = 0x04  # the peer address string could not be read
FLAG_CONN_FAULT = 0x08  # the connection-type string could not be read
FLAG_COMMAND_FAULT = 0x10  # the command string could not be read
FLAG_ADDR_CUT = 0x20  # the peer address was longer than the recorder's limit

DIRECTIONS = ("in", "out")


@dataclass(slots=True)
class Message:
    """One P2P message as traced by ``net:inbound_message``/``outbound_message``."""

    ts_ns: int  # wall clock, ns since the Unix epoch (UTC)
    pid: int
    peer_id: int
    peer_addr: str
    conn_type: str
    direction: str  # "in" or "out"
    command: str
    msg_size: int
    payload: bytes
    flags: int = 0

    @property
    def captured_len(self) -> int:
        return len(self.payload)

    @property
    def partial(self) -> bool:
        """True when fewer payload bytes were kept than the node sent."""
        return len(self.payload) < self.msg_size


# Gap.reason values: where the loss happened (docs/FORMAT.md).
GAP_RINGBUF_FULL = 1  # kernel: ring-buffer reservation failed
GAP_REASSEMBLY = 2  # user space: chunks of a large message went missing
GAP_USERSPACE = 3  # user space: dropped after it was received (queue full)
GAP_DAMAGED = 4  # `p2pcap repair`: a damaged block of the source file was dropped
GAP_REASONS = {
    GAP_RINGBUF_FULL: "ringbuf-full",
    GAP_REASSEMBLY: "reassembly",
    GAP_USERSPACE: "userspace",
    GAP_DAMAGED: "damaged-block",
}


@dataclass(slots=True)
class Gap:
    """Messages the recorder knows it lost, at the time it noticed."""

    ts_ns: int
    pid: int  # 0 when the loss cannot be tied to one process
    reason: int
    lost_messages: int
    lost_bytes: int = 0

    @property
    def reason_name(self) -> str:
        return GAP_REASONS.get(self.reason, f"reason-{self.reason}")
