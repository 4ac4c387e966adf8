"""``pairs``: a capture's requests and answers, summed up (docs/CONVERSATIONS.md).

``capture_pairs`` streams a capture through ``PairTracker`` (pairs.py) and
hands every pair to the caller as it is settled, while it keeps, in bounded
memory, what the summary needs: per rule and side the counts of each
status and the waits; per peer-session the ping round trips; the first
unanswered requests.

The filter options select which pairs are reported, not what the pairing
reads: a peer, process, connection type or time range narrows the messages
read, while ``--type``, ``--not-type``, ``--direction`` and decoded-field
tests choose pairs by their request (or, for an item never requested, by
its ``inv``; for an answer nothing asked for, by the answer), so that
``--type ping`` still sees the pongs.

>>> result = capture_pairs("run.cap")  # doctest: +SKIP
>>> result.rules[("ping", "us")].waits.percentile(50)  # doctest: +SKIP
1830000
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from p2pcap.analysis.filters import RecordFilter
from p2pcap.analysis.pair_rules import COMMANDS, EMPTY, RULES, object_hash_only
from p2pcap.analysis.pairs import MAX_OUTSTANDING, Pair, PairTracker
from p2pcap.analysis.pipeline import open_pipeline
from p2pcap.formats.records import Message

STATUSES = ("answered", "notfound", "rejected", "unanswered", "dropped", "not-requested", "unrequested")
EXACT_WAITS = 65_536  # waits kept exactly; past that, a histogram (1% wide buckets)
_RATIO = math.log(1.01)
MAX_RTT_SESSIONS = 16_384  # peer-sessions with their own ping summary (the index's limit per file)
KEEP_UNANSWERED = 1000  # unanswered requests kept for the table (all go to on_pair)


class Waits:
    """Durations (ns): count, min, max, mean and nearest-rank percentiles,
    exact up to ``EXACT_WAITS`` values, then to within 1%.

    >>> w = Waits()
    >>> for ns in (5, 1, 3, 2, 4): w.add(ns)
    >>> w.count, w.min, w.max, w.percentile(50), w.percentile(90)
    (5, 1, 5, 3, 5)
    """

    __slots__ = ("count", "total", "min", "max", "_values", "_buckets")

    def __init__(self):
        self.count = self.total = 0
        self.min = self.max = None
        self._values: list | None = []
        self._buckets: dict | None = None

    def add(self, ns: int) -> None:
        ns = max(int(ns), 0)
        self.count += 1
        self.total += ns
        self.min = ns if self.min is None else min(self.min, ns)
        self.max = ns if self.max is None else max(self.max, ns)
        if self._values is not None:
            self._values.append(ns)
            if len(self._values) > EXACT_WAITS:
                self._buckets = {}
                for v in self._values:
                    self._bucket(v)
                self._values = None
        else:
            self._bucket(ns)

    def _bucket(self, ns: int) -> None:
        b = -1 if ns <= 0 else int(math.log(ns) / _RATIO)
        self._buckets[b] = self._buckets.get(b, 0) + 1

    @property
    def mean(self) -> float | None:
        return self.total / self.count if self.count else None

    def percentile(self, p: float) -> int | None:
        """The smallest wait whose rank r of n has r * 100 >= p * n (nearest rank)."""
        if not self.count:
            return None
        rank = max(1, math.ceil(p * self.count / 100))
        if self._values is not None:
            return sorted(self._values)[rank - 1]
        seen = 0
        for b in sorted(self._buckets):
            seen += self._buckets[b]
            if seen >= rank:
                return 0 if b < 0 else min(max(round(math.exp((b + 0.5) * _RATIO)), self.min), self.max)
        return self.max

    def as_json(self) -> dict:
        ms = lambda ns: None if ns is None else ns / 1e6
        return {
            "count": self.count,
            "min_ms": ms(self.min),
            "p50_ms": ms(self.percentile(50)),
            "p90_ms": ms(self.percentile(90)),
            "p99_ms": ms(self.percentile(99)),
            "max_ms": ms(self.max),
            "mean_ms": ms(self.mean),
            "exact": self._values is not None,
        }


@dataclass
class RuleCounts:
    """One rule on one side: how its requests ended, and how long answers took."""

    rule: str
    asked_by: str
    statuses: dict = field(default_factory=lambda: dict.fromkeys(STATUSES, 0))
    waits: Waits = field(default_factory=Waits)  # request -> answer (answered, notfound, rejected)
    to_request: Waits = field(default_factory=Waits)  # getdata: inv -> getdata
    unanswered_waits: Waits = field(default_factory=Waits)

    @property
    def requests(self) -> int:
        s = self.statuses
        return s["answered"] + s["notfound"] + s["rejected"] + s["unanswered"] + s["dropped"]

    def add(self, pair: Pair) -> None:
        self.statuses[pair.status] += 1
        if pair.status in ("answered", "notfound", "rejected"):
            self.waits.add(pair.wait_ns)
        elif pair.status == "unanswered":
            self.unanswered_waits.add(pair.wait_ns)
        if pair.request is not None and pair.to_request_ns is not None:
            self.to_request.add(pair.to_request_ns)

    def as_json(self) -> dict:
        obj = {"rule": self.rule, "asked_by": self.asked_by, "requests": self.requests, **self.statuses}
        obj["wait"] = self.waits.as_json()
        obj["unanswered_wait"] = self.unanswered_waits.as_json()
        if self.rule == "getdata":
            obj["to_request"] = self.to_request.as_json()
        return obj


@dataclass
class PeerRtt:
    """Our pings to one peer-session and its pongs: the round trip over time."""

    pid: int
    peer_id: int
    addr: str
    conn_type: str
    rtt: Waits = field(default_factory=Waits)
    first_ns: int | None = None
    last_ns: int | None = None
    last_rtt_ns: int | None = None
    unanswered: int = 0

    def as_json(self) -> dict:
        return {
            "pid": self.pid,
            "peer_id": self.peer_id,
            "peer_addr": self.addr,
            "conn_type": self.conn_type,
            "pings": self.rtt.count,
            "unanswered": self.unanswered,
            "first_ns": self.first_ns,
            "last_ns": self.last_ns,
            "last_ms": None if self.last_rtt_ns is None else self.last_rtt_ns / 1e6,
            "rtt": self.rtt.as_json(),
        }


@dataclass
class PairsResult:
    file: str
    rules: dict = field(default_factory=dict)  # (rule, asked_by) -> RuleCounts
    rtt: dict = field(default_factory=dict)  # (pid, peer_id) -> PeerRtt
    rtt_other: PeerRtt | None = None  # sessions past MAX_RTT_SESSIONS, together
    unanswered: list = field(default_factory=list)  # the first KEEP_UNANSWERED unanswered Pairs
    unanswered_total: int = 0
    messages: int = 0
    decoded: int = 0
    undecodable: int = 0
    first_ns: int | None = None
    last_ns: int | None = None
    closes_inferred: bool = True
    max_outstanding: int = MAX_OUTSTANDING
    problems: list = field(default_factory=list)

    def add(self, pair: Pair) -> None:
        key = (pair.rule, pair.asked_by)
        counts = self.rules.get(key)
        if counts is None:
            counts = self.rules[key] = RuleCounts(*key)
        counts.add(pair)
        if pair.status == "unanswered":
            self.unanswered_total += 1
            if len(self.unanswered) < KEEP_UNANSWERED:
                self.unanswered.append(pair)
        if pair.rule == "ping" and pair.asked_by == "us" and pair.request is not None:
            self._rtt(pair)

    def _rtt(self, pair: Pair) -> None:
        key = (pair.pid, pair.peer_id)
        peer = self.rtt.get(key)
        if peer is None:
            if len(self.rtt) >= MAX_RTT_SESSIONS:
                if self.rtt_other is None:
                    self.rtt_other = PeerRtt(0, -1, "(other sessions)", "")
                peer = self.rtt_other
            else:
                peer = self.rtt[key] = PeerRtt(pair.pid, pair.peer_id, pair.addr, pair.conn_type)
        if pair.status == "answered":
            peer.rtt.add(pair.wait_ns)
            peer.last_rtt_ns = pair.wait_ns
            peer.first_ns = pair.request_ns if peer.first_ns is None else peer.first_ns
            peer.last_ns = pair.request_ns
        elif pair.status in ("unanswered", "dropped"):
            peer.unanswered += 1

    def ordered_rules(self) -> list[RuleCounts]:
        order = {rule: i for i, rule in enumerate(RULES)}
        return sorted(self.rules.values(), key=lambda c: (order.get(c.rule, 99), c.asked_by != "us"))

    def as_json(self) -> dict:
        """The summary (``pairs --json``'s last line, ``stats --json``'s ``pairs``)."""
        return {
            "file": self.file,
            "messages": self.messages,
            "decoded": self.decoded,
            "undecodable": self.undecodable,
            "first_ns": self.first_ns,
            "last_ns": self.last_ns,
            "closes_inferred": self.closes_inferred,
            "max_outstanding": self.max_outstanding,
            "rules": [c.as_json() for c in self.ordered_rules()],
            "rtt": [p.as_json() for p in self.rtt.values()]
            + ([self.rtt_other.as_json()] if self.rtt_other else []),
            "unanswered": self.unanswered_total,
        }


def pings_visible(metadata) -> bool:
    """Did the recording keep both directions' pings?  Then a silent session
    is a closed one (pairs.CLOSED_AFTER_NS); else nothing tells."""
    filters = metadata.get("filters") if isinstance(metadata, dict) else None
    if not isinstance(filters, dict):
        return True
    types = filters.get("types") or ()
    if types and not {"ping", "pong"} <= set(types):
        return False
    return not filters.get("direction")


def _session_filter(filt: RecordFilter) -> RecordFilter:
    """What narrows the messages read: whole peer-sessions and the time range."""
    return RecordFilter(
        peers=filt.peers, pids=filt.pids, conn_types=filt.conn_types, since=filt.since, until=filt.until
    )


class PairFeed:
    """The pairs of one pipeline's messages, for the dataset's ``pairs`` table:
    ``feed(record, add)`` after each record, ``finish(add)`` at the end;
    ``add`` gets each settled pair as ``Pair.as_json()``, but the inv items
    never requested (the ``inventory`` table has every item already)."""

    def __init__(self, pipeline):
        self._p = pipeline
        self._tracker = PairTracker(infer_closes=pings_visible(pipeline.metadata))
        self._seq = -1

    def feed(self, record, add) -> None:
        if type(record) is not Message:
            return
        self._seq += 1
        decoded = None
        if record.command in COMMANDS and record.command not in EMPTY:
            decoded = self._p.decoded(record)[0]
        self._add(self._tracker.feed(record, self._seq, decoded), add)

    def finish(self, add) -> None:
        index = self._p.index
        end = index.ts_max_ns if index is not None else None
        self._add(self._tracker.finish(end), add)

    @staticmethod
    def _add(pairs, add) -> None:
        for pair in pairs:
            if pair.status != "not-requested":
                add(pair.as_json())


def capture_pairs(path, filt: RecordFilter | None = None, *, on_pair=None, assume=None) -> PairsResult:
    """Pair the requests and answers of the capture at ``path`` (``-``: stdin).

    ``on_pair(pair)`` gets every pair the filter selects, as it is settled
    (answers as they come, unanswered requests when their session ends or
    the capture does); the result sums them up.
    """
    filt = filt or RecordFilter()
    # -Y (a display filter) is tested as show tests it, with this pipeline's decoding.
    display = getattr(filt, "display", None)
    if display is not None and display.residual_free:
        display = None
    selective = filt.selected_commands is not None or bool(filt.exclude) or filt.direction is not None
    result = PairsResult(str(path))
    with open_pipeline(path, _session_filter(filt), decode=True, assume=assume) as p:
        result.closes_inferred = pings_visible(p.metadata)
        tracker = PairTracker(infer_closes=result.closes_inferred)
        needs_decoded = filt.needs_decode

        def settle(pairs):
            for pair in pairs:
                if pair.wanted:
                    result.add(pair)
                    if on_pair is not None:
                        on_pair(pair)

        seq = -1
        for rec in p:
            if type(rec) is not Message:
                continue
            seq += 1
            result.messages += 1
            if result.first_ns is None:
                result.first_ns = rec.ts_ns
            result.last_ns = rec.ts_ns
            command = rec.command
            decoded = None
            if command in COMMANDS and command not in EMPTY:
                # A tx or block needs only its hash, unless a filter reads its fields.
                if not needs_decoded and display is None:
                    decoded = object_hash_only(command, rec.payload, rec.msg_size)
                if decoded is None:
                    decoded = p.decoded(rec)[0]
                result.decoded += 1
                if decoded is None:
                    result.undecodable += 1
            wanted = True
            if selective or needs_decoded or display is not None:
                wanted = (
                    filt.wants(rec)
                    and (not filt.where or filt.wants_decoded(decoded, command))
                    and (display is None or display.matches(rec, p.selection))
                )
            settle(tracker.feed(rec, seq, decoded, wanted))
        end = result.last_ns
        if p.index is not None and filt.until is None and p.index.ts_max_ns is not None:
            end = max(end or 0, p.index.ts_max_ns)
        settle(tracker.finish(end))
        result.problems = p.problems()
    return result
