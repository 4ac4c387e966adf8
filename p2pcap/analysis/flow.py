"""``flow``: a sequence diagram of some peers' conversations with the node.

``capture_flow`` reads the messages of the chosen peer-sessions and makes a
``Flow``: one lane per peer-session and the node's lane in the middle, an
arrow per message (inbound from the peer's lane to the node's, outbound
back), a link from each request to its answer (``pairs.PairTracker``, the
same pairing as ``p2pcap pairs``), a mark on each request never answered,
and marks across every lane for the recorder's losses (gap records) and
for pauses (a stretch of silence the diagram does not draw to scale).
``flow_svg`` and ``flow_text`` draw it.

A long capture is summarised: past ``max_arrows`` messages, each arrow
stands for the messages of one lane and direction in one second (or a
longer bin, doubled until the arrows fit), labelled with their commands and
counts; links are then left out and each bin counts its unanswered
requests instead.  Memory is bounded by ``max_arrows`` and the number of
bins, whatever the capture's length.

>>> flow = capture_flow("run.cap", ["3"])  # doctest: +SKIP
>>> len(flow.arrows), len(flow.links)  # doctest: +SKIP
(212, 37)
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

from p2pcap.analysis.conversations import pings_visible
from p2pcap.analysis.filters import RecordFilter
from p2pcap.analysis.pairs import PairTracker
from p2pcap.analysis.pipeline import open_pipeline
from p2pcap.analysis.summary import summarize
from p2pcap.errors import ArgumentError
from p2pcap.formats.records import Gap
from p2pcap.units import NS

MAX_ARROWS = 2000  # arrows drawn; past that, bins per lane, direction and second
MAX_LANES = 12  # peer-sessions in one diagram
DETAIL_CHARS = 4000  # the decoded message shown on hover, cut past this
PAUSE_NS = 5 * NS  # silence longer than this is marked, not drawn to scale


@dataclass
class Lane:
    """One peer-session (pid, peer_id) and how it is labelled."""

    pid: int
    peer_id: int
    addr: str
    conn_type: str
    side: str = "left"  # where it is drawn: left or right of the node
    messages: int = 0

    @property
    def key(self) -> tuple[int, int]:
        return (self.pid, self.peer_id)


@dataclass
class Arrow:
    """A message, or in a summarised flow all of one lane's messages in one
    direction and bin (``count`` > 1, ``commands`` {command: n})."""

    seq: int
    ts_ns: int
    lane: int  # index into Flow.lanes
    direction: str
    command: str
    size: int
    summary: str = ""
    detail: str | None = None  # the decoded message as JSON text (for hover)
    count: int = 1
    commands: dict = field(default_factory=dict)
    mark: str | None = None  # a request never answered: how long it waited
    unanswered: int = 0


@dataclass
class Link:
    """A request's arrow and its answer's: ``rule``, ``wait_ns``, ``status``."""

    request_seq: int
    answer_seq: int
    rule: str
    wait_ns: int
    status: str


@dataclass
class Mark:
    """Across every lane, before the arrow ``before_seq``: a loss or a pause."""

    ts_ns: int
    before_seq: int
    kind: str  # "loss" or "pause"
    text: str


@dataclass
class Flow:
    lanes: list
    node: str
    arrows: list = field(default_factory=list)
    links: list = field(default_factory=list)
    marks: list = field(default_factory=list)
    summarised: bool = False
    bin_ns: int = NS
    messages: int = 0
    first_ns: int | None = None
    last_ns: int | None = None
    problems: list = field(default_factory=list)


def _detail(decoded, error) -> str:
    import orjson

    try:
        text = orjson.dumps(decoded if decoded is not None else {"error": error}, option=orjson.OPT_INDENT_2)
    except TypeError:
        return str(decoded)[:DETAIL_CHARS]
    text = text.decode()
    return text if len(text) <= DETAIL_CHARS else text[:DETAIL_CHARS] + "\n…"


class _Bins:
    """Messages per (bin, lane, direction); the bin doubles to stay under the cap."""

    def __init__(self, cap: int, start_ns: int):
        self.cap, self.start, self.width = cap, start_ns, NS
        self.bins: dict = {}  # (bin, lane, direction) -> Arrow

    def add(self, arrow: Arrow) -> None:
        key = ((arrow.ts_ns - self.start) // self.width, arrow.lane, arrow.direction)
        into = self.bins.get(key)
        if into is None:
            into = self.bins[key] = Arrow(arrow.seq, arrow.ts_ns, arrow.lane, arrow.direction, "", 0, count=0)
        into.count += arrow.count
        into.size += arrow.size
        into.unanswered += arrow.unanswered + (1 if arrow.mark else 0)
        for command, n in (arrow.commands or {arrow.command: 1}).items():
            into.commands[command] = into.commands.get(command, 0) + n
        while len(self.bins) > self.cap:
            self.width *= 2
            old, self.bins = self.bins, {}
            for a in sorted(old.values(), key=lambda a: a.seq):
                self.add(a)

    def arrows(self) -> list[Arrow]:
        out = sorted(self.bins.values(), key=lambda a: a.seq)
        for a in out:
            top = sorted(a.commands.items(), key=lambda kv: -kv[1])
            a.command = top[0][0] if len(top) == 1 else "mixed"
            a.summary = ", ".join(f"{c} x{n}" for c, n in top[:6]) + (", ..." if len(top) > 6 else "")
            if a.unanswered:
                a.summary += f"; {a.unanswered} unanswered"
        return out


def capture_flow(
    path, peers, filt: RecordFilter | None = None, *, max_arrows: int = MAX_ARROWS, decode: bool = True
) -> Flow:
    """The sequence diagram of the peer-sessions ``peers`` select (``--peer``
    words: ids, ``pid:id``, addresses; none: every peer-session, at most
    ``MAX_LANES``) in the capture at ``path``.

    ``filt``'s other options narrow the arrows drawn (``--type``, time...);
    the pairing still reads every message of those peers.
    """
    filt = filt or RecordFilter()
    session_filter = RecordFilter(peers=tuple(peers), pids=filt.pids, conn_types=filt.conn_types)
    drawn = RecordFilter(
        commands=filt.commands,
        exclude=filt.exclude,
        direction=filt.direction,
        since=filt.since,
        until=filt.until,
        where=filt.where,
        display=getattr(filt, "display", None),
    )
    display = drawn.display if drawn.display is not None and not drawn.display.residual_free else None
    flow = Flow([], "")
    lanes: dict = {}
    by_seq: dict = {}  # seq -> Arrow, while drawn one by one
    marks_pending: list = []
    bins = None
    with open_pipeline(path, session_filter, decode=decode) as p:
        tracker = PairTracker(infer_closes=pings_visible(p.metadata))
        # A relative --since/--until counts from the capture's first record.
        first = p.index.ts_min_ns if p.index is not None else None
        since = until = None
        resolved = False
        last_ts = None
        seq = -1

        linked: set = set()

        def link(a, b, rule, wait_ns, status):
            # One link per two arrows: a getdata of many items, one inv before it.
            if a in by_seq and b in by_seq and (a, b) not in linked:
                linked.add((a, b))
                flow.links.append(Link(a, b, rule, wait_ns, status))

        def settle(pairs):
            for pair in pairs:
                if bins is not None:
                    continue
                if pair.announce_seq is not None and pair.request_seq is not None:
                    link(pair.announce_seq, pair.request_seq, "inv", pair.to_request_ns, "requested")
                if pair.status in ("answered", "notfound", "rejected"):
                    for ans in pair.answer_seqs or (pair.answer_seq,):
                        link(pair.request_seq, ans, pair.rule, pair.wait_ns, pair.status)
                elif pair.status in ("unanswered", "dropped") and pair.request_seq in by_seq:
                    by_seq[pair.request_seq].mark = (
                        f"{pair.rule} unanswered, waited {pair.wait_ns / NS:.3f} s ({pair.until})"
                        if pair.wait_ns is not None
                        else f"{pair.rule} given up (over the limit of waiting requests)"
                    )

        for rec in p:
            if not resolved:
                first = rec.ts_ns if first is None else first
                since = filt.since.resolve(first) if filt.since is not None else None
                until = filt.until.resolve(first) if filt.until is not None else None
                resolved = True
            if type(rec) is Gap:
                if flow.first_ns is not None:
                    marks_pending.append(
                        Mark(
                            rec.ts_ns,
                            -1,
                            "loss",
                            f"{rec.lost_messages} messages lost ({rec.reason_name}, pid {rec.pid})",
                        )
                    )
                continue
            seq += 1
            decoded, error = p.decoded(rec) if decode else (None, None)
            show = (
                (since is None or rec.ts_ns >= since)
                and (until is None or rec.ts_ns <= until)
                and drawn.wants(rec)
                and (not drawn.where or drawn.wants_decoded(decoded, rec.command))
                and (display is None or display.matches(rec, p.selection))
            )
            if show:
                lane = lanes.get((rec.pid, rec.peer_id))
                if lane is None:
                    lane = lanes[(rec.pid, rec.peer_id)] = len(flow.lanes)
                    if lane >= MAX_LANES:
                        raise ArgumentError(
                            "peers",
                            f"more than {MAX_LANES} peer-sessions to draw: name at most {MAX_LANES} with {{arg}}",
                        )
                    flow.lanes.append(Lane(rec.pid, rec.peer_id, rec.peer_addr, rec.conn_type))
                flow.lanes[lane].messages += 1
                flow.messages += 1
                if flow.first_ns is None:
                    flow.first_ns = rec.ts_ns
                if last_ts is not None and rec.ts_ns - last_ts > PAUSE_NS:
                    marks_pending.append(
                        Mark(rec.ts_ns, -1, "pause", f"{(rec.ts_ns - last_ts) / NS:.1f} s later")
                    )
                for m in marks_pending:
                    m.before_seq = seq
                    flow.marks.append(m)
                marks_pending = []
                last_ts = flow.last_ns = rec.ts_ns
                arrow = Arrow(
                    seq,
                    rec.ts_ns,
                    lane,
                    rec.direction,
                    rec.command,
                    rec.msg_size,
                    summarize(rec.command, decoded) if decoded is not None else (error or ""),
                    _detail(decoded, error) if decode else None,
                )
                if bins is None and len(by_seq) >= max_arrows:
                    bins = _Bins(max_arrows, flow.first_ns)
                    for a in by_seq.values():
                        bins.add(a)
                    by_seq.clear()
                    flow.links.clear()
                    linked.clear()
                    flow.summarised = True
                if bins is None:
                    by_seq[seq] = arrow
                else:
                    bins.add(arrow)
            settle(tracker.feed(rec, seq, decoded))
        settle(tracker.finish())
        flow.problems = p.problems()
    pids = sorted({lane.pid for lane in flow.lanes})
    flow.node = "node" + (f" (pid {', '.join(map(str, pids))})" if pids else "")
    flow.arrows = bins.arrows() if bins is not None else list(by_seq.values())
    if bins is not None:
        flow.bin_ns = bins.width
        flow.marks = _merge_marks(flow.marks, flow.arrows)
    _place(flow)
    return flow


def _merge_marks(marks, arrows) -> list[Mark]:
    """In a summarised flow, marks before the bin arrow that holds their message."""
    firsts = [a.seq for a in arrows]
    out = []
    for m in marks:
        i = bisect.bisect_right(firsts, m.before_seq) - 1
        m.before_seq = firsts[max(i, 0)] if firsts else m.before_seq
        if m.kind == "pause" and out and out[-1].kind == "pause" and out[-1].before_seq == m.before_seq:
            continue
        out.append(m)
    return out


def _place(flow: Flow) -> None:
    """Alternate lanes left and right of the node, in the order they appear."""
    for i, lane in enumerate(flow.lanes):
        lane.side = "left" if i % 2 == 0 else "right"
