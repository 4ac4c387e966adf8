"""The state ``pairs.PairTracker`` keeps per peer-session: requests waiting, by key.

``Queue`` holds one rule's waiting requests on one side of one
peer-session, oldest first, at most ``cap`` of them (the oldest is given up
past that: ``pairs.MAX_OUTSTANDING``); ``Session`` holds a peer-session's
queues.

>>> q = Queue(cap=2)
>>> [q.add(k, Ask(i, i, "ping", True, str(k))) for i, k in enumerate((5, 6, 7))][-1].text
'5'
>>> q.take(6).seq, q.take(6), q.n
(1, None, 1)
"""

from __future__ import annotations


class Ask:
    """A request (or an announcement) waiting."""

    __slots__ = ("seq", "ts", "command", "wanted", "text", "extra", "announce_ns", "announce_seq", "detail")

    def __init__(self, seq, ts, command, wanted, text, extra=None, detail=None):
        self.seq, self.ts, self.command, self.wanted = seq, ts, command, wanted
        self.text, self.extra, self.detail = text, extra, detail
        self.announce_ns = self.announce_seq = None


class Queue:
    """Waiting requests of one rule by key, oldest first; at most ``cap``."""

    __slots__ = ("by_key", "n", "cap")

    def __init__(self, cap: int):
        self.by_key: dict = {}
        self.n = 0
        self.cap = cap

    def add(self, key, ask: Ask) -> Ask | None:
        """Queue ``ask``; returns the oldest one given up to stay under the cap."""
        self.by_key.setdefault(key, []).append(ask)
        self.n += 1
        if self.n > self.cap:
            return self._pop(next(iter(self.by_key)))
        return None

    def first(self, key) -> Ask | None:
        asks = self.by_key.get(key)
        return asks[0] if asks else None

    def take(self, key) -> Ask | None:
        return self._pop(key) if key in self.by_key else None

    def take_matching(self, test) -> Ask | None:
        """The oldest waiting request whose (key, ask) passes ``test``."""
        best_key = best = None
        for key, asks in self.by_key.items():
            for ask in asks:
                if (best is None or ask.seq < best.seq) and test(key, ask):
                    best_key, best = key, ask
                    break
        if best is None:
            return None
        self.by_key[best_key].remove(best)
        if not self.by_key[best_key]:
            del self.by_key[best_key]
        self.n -= 1
        return best

    def _pop(self, key) -> Ask:
        asks = self.by_key[key]
        ask = asks.pop(0)
        if not asks:
            del self.by_key[key]
        self.n -= 1
        return ask

    def drain(self):
        for asks in self.by_key.values():
            yield from asks
        self.by_key.clear()
        self.n = 0


class Session:
    __slots__ = ("pid", "peer_id", "addr", "conn_type", "last_ns", "queues", "burst")

    def __init__(self, msg):
        self.pid, self.peer_id, self.addr, self.conn_type = msg.pid, msg.peer_id, msg.peer_addr, msg.conn_type
        self.last_ns = msg.ts_ns
        self.queues: dict = {}  # (side, rule) -> _Queue; rule "inv" holds announcements
        self.burst = {"in": None, "out": None}  # a getsporks pair still collecting sporks
