"""``top``'s model: one row per peer-session of a capture being read live.

``TopTable.add(record)`` takes each record as it comes (from ``record -o -``
through a pipe); ``rows(now_ns)`` gives each peer-session's row: address,
connection type, the version it announced, messages and bytes per second in
and out over the last ``WINDOW_S`` seconds of capture time, the last
command, the round trip of our latest answered ping, and the losses of its
node process.  ``recent(key)`` is a peer's latest messages, for the detail
view.  Rates use the records' own times, so a pipe that delivers a block a
second still gives steady rates.

Bounded memory: ``MAX_PEERS`` peer-sessions (the one silent longest goes
first), ``RECENT`` messages each (payloads over ``RECENT_PAYLOAD`` bytes are
not kept), a few pings in flight.

>>> from p2pcap.formats.records import Message
>>> t = TopTable()
>>> for i in range(10):
...     t.add(Message(i * 100_000_000, 1, 3, "10.0.0.1:9999", "inbound", "in", "inv", 37, bytes(37)))
>>> row = t.rows()[0]
>>> row.peer_id, row.msgs_in, round(row.rate_in, 1)
(3, 10, 10.0)
"""

from __future__ import annotations

import collections
import time
from dataclasses import dataclass, field

from p2pcap.formats.records import Gap, Message
from p2pcap.units import NS

WINDOW_S = 5  # rates over the last 5 s of capture time
MAX_PEERS = 4096
RECENT = 200
RECENT_PAYLOAD = 4096
GONE_AFTER_NS = 60 * NS  # a peer silent this long leaves the table
_PINGS = 8


@dataclass
class PeerRow:
    """One peer-session's figures."""

    pid: int
    peer_id: int
    addr: str
    conn_type: str
    first_ns: int
    last_ns: int = 0
    version: str = ""
    msgs_in: int = 0
    msgs_out: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    rate_in: float = 0.0  # messages per second, over the window
    rate_out: float = 0.0
    byte_rate_in: float = 0.0
    byte_rate_out: float = 0.0
    last_command: str = ""
    ping_ns: int | None = None
    losses: int = 0  # messages its process lost (gap records)

    @property
    def key(self) -> tuple[int, int]:
        return (self.pid, self.peer_id)


class _Peer:
    __slots__ = ("row", "buckets", "recent", "pings", "last")

    def __init__(self, row: PeerRow):
        self.row = row
        self.buckets: dict = {}  # second -> [msgs in, msgs out, bytes in, bytes out], oldest first
        self.recent: collections.deque = collections.deque(maxlen=RECENT)
        self.pings: dict = {}  # nonce -> ts of our ping
        self.last = (True, "")  # (inbound, command) of its latest message


SORT_KEYS = {
    "rate": lambda r: r.rate_in + r.rate_out,
    "bytes": lambda r: r.byte_rate_in + r.byte_rate_out,
    "in": lambda r: r.rate_in,
    "out": lambda r: r.rate_out,
    "ping": lambda r: r.ping_ns if r.ping_ns is not None else -1,
    "peer": lambda r: (r.pid, r.peer_id),
    "address": lambda r: r.addr,
    "type": lambda r: r.conn_type,
    "total": lambda r: r.msgs_in + r.msgs_out,
}


@dataclass
class Totals:
    messages: int = 0
    bytes: int = 0
    lost: int = 0
    gaps: int = 0
    last_ts_ns: int | None = None
    first_ts_ns: int | None = None
    lost_by_pid: dict = field(default_factory=dict)


class TopTable:
    """The live per-peer figures of one capture stream (see the module doc)."""

    def __init__(
        self, *, window_s: int = WINDOW_S, max_peers: int = MAX_PEERS, gone_after_ns: int = GONE_AFTER_NS
    ):
        self.window_s = window_s
        self.gone_after_ns = gone_after_ns
        self.max_peers = max_peers
        self.peers: dict = {}  # (pid, peer_id) -> _Peer, oldest activity first
        self.totals = Totals()
        self.wall_at_last: float | None = None  # time.time() when the latest record came

    def add(self, rec) -> None:
        """One record (``add_block`` for many)."""
        self.add_block((rec,))

    def add_block(self, records) -> None:
        """The records of one block, in order: the hot path of ``top`` (a few
        µs a record at 100,000 a second), so kept lean."""
        t = self.totals
        peers = self.peers
        keep = self.window_s + 2
        last = t.last_ts_ns
        messages = size_total = 0
        for rec in records:
            if type(rec) is Gap:
                t.gaps += 1
                t.lost += rec.lost_messages
                t.lost_by_pid[rec.pid] = t.lost_by_pid.get(rec.pid, 0) + rec.lost_messages
                continue
            ts = rec.ts_ns
            size = rec.msg_size
            messages += 1
            size_total += size
            if last is None or ts > last:
                last = ts
            key = (rec.pid, rec.peer_id)
            peer = peers.get(key)
            if peer is None:
                peer = self._new_peer(rec)
            row = peer.row
            row.last_ns = ts
            command = rec.command
            inbound = rec.direction == "in"
            second = ts // NS
            buckets = peer.buckets
            b = buckets.get(second)
            if b is None:
                b = buckets[second] = [0, 0, 0, 0]
                if len(buckets) > keep:
                    del buckets[next(iter(buckets))]
            if inbound:
                row.msgs_in += 1
                row.bytes_in += size
                b[0] += 1
                b[2] += size
            else:
                row.msgs_out += 1
                row.bytes_out += size
                b[1] += 1
                b[3] += size
            payload = rec.payload
            peer.recent.append(
                (ts, rec.direction, command, size, payload if len(payload) <= RECENT_PAYLOAD else None)
            )
            peer.last = (inbound, command)
            if command == "version" and inbound:
                row.version = _version_text(payload)
            elif command == "ping" and not inbound and len(payload) == 8:
                peer.pings[payload] = ts
                if len(peer.pings) > _PINGS:
                    del peer.pings[next(iter(peer.pings))]
            elif command == "pong" and inbound:
                sent = peer.pings.pop(payload, None)
                if sent is not None:
                    row.ping_ns = ts - sent
        if messages:
            if t.first_ts_ns is None:
                t.first_ts_ns = next(r.ts_ns for r in records if type(r) is not Gap)
            t.last_ts_ns = last
            t.messages += messages
            t.bytes += size_total
            self.wall_at_last = time.time()

    def _new_peer(self, rec) -> _Peer:
        peers = self.peers
        if len(peers) >= self.max_peers:  # the one silent longest goes
            del peers[min(peers, key=lambda k: peers[k].row.last_ns)]
        peer = peers[(rec.pid, rec.peer_id)] = _Peer(
            PeerRow(rec.pid, rec.peer_id, rec.peer_addr, rec.conn_type, rec.ts_ns)
        )
        return peer

    def now_ns(self, wall: float | None = None) -> int | None:
        """Capture time now: the latest record's, moved on with the wall clock
        when records stop coming (so rates fall to zero in a silence)."""
        last = self.totals.last_ts_ns
        if last is None or self.wall_at_last is None:
            return last
        wall = time.time() if wall is None else wall
        # Blocks reach a pipe about once a second: no silence before that.
        idle = wall - self.wall_at_last - 1.5
        return last + int(idle * NS) if idle > 0 else last

    def rows(self, now_ns: int | None = None, sort: str = "rate", reverse: bool = True) -> list[PeerRow]:
        """Every peer-session's row with its rates at ``now_ns`` (default: the latest record's time)."""
        now = now_ns if now_ns is not None else self.totals.last_ts_ns
        if now is None:
            return []
        start_second = now // NS - (self.window_s - 1)
        stale = []
        out = []
        for key, peer in self.peers.items():
            row = peer.row
            row.last_command = ("< " if peer.last[0] else "> ") + peer.last[1]
            if now - row.last_ns > self.gone_after_ns:
                stale.append(key)
                continue
            since = max(start_second * NS, row.first_ns)
            span = max((now - since) / NS, 1.0)
            mi = mo = bi = bo = 0
            for second, b in list(peer.buckets.items()):
                if second >= start_second:
                    mi += b[0]
                    mo += b[1]
                    bi += b[2]
                    bo += b[3]
            row.rate_in, row.rate_out = mi / span, mo / span
            row.byte_rate_in, row.byte_rate_out = bi / span, bo / span
            row.losses = self.totals.lost_by_pid.get(row.pid, 0) + self.totals.lost_by_pid.get(0, 0)
            out.append(row)
        for key in stale:
            del self.peers[key]
        out.sort(key=SORT_KEYS[sort], reverse=reverse)
        return out

    def recent(self, key) -> list[tuple]:
        """(ts_ns, direction, command, msg_size, payload or None) of a peer's latest messages, newest last."""
        peer = self.peers.get(key)
        return list(peer.recent) if peer is not None else []

    def lag_s(self, wall: float | None = None) -> float | None:
        """How far behind the wall clock the latest record read is (the recorder's
        times are the same host's wall clock)."""
        last = self.totals.last_ts_ns
        if last is None:
            return None
        wall = time.time() if wall is None else wall
        return wall - last / NS


def _version_text(payload: bytes) -> str:
    """``/Dash Core:22.1.0/ 70238`` from a version payload, or ``?``."""
    from p2pcap.decoders import DecodeError, decode

    try:
        d = decode("version", payload)
    except DecodeError:  # a peer's bytes: shown as unknown, never fatal
        return "?"
    return f"{d.get('sub_ver') or ''} {d.get('version')}".strip()


__all__ = ["Message", "PeerRow", "SORT_KEYS", "TopTable"]
