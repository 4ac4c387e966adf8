"""``stats``: what a capture holds, like ``capinfos`` and ``tshark -z``.

Counts per command, direction and peer-session, bytes, rates, losses.  A
capture closed cleanly has all of that in its footer index, so the plain
``stats`` decompresses nothing.  The footer is the file's own account of
itself: the reader refuses one whose claims the file cannot hold
(``formats/footer.py``), but only reading the blocks proves the counts, so
a result from the footer says it is unchecked (``checked``).  Asking for
what the index cannot know (the biggest messages, a timeline for
``--plot``), or a file without a footer, costs one pass over the records,
in bounded memory: counters per command and peer, a heap of the N
biggest, a few hundred time buckets.
"""

from __future__ import annotations

import heapq
import os
from dataclasses import dataclass, field

from p2pcap.analysis import plotting
from p2pcap.analysis.source import input_name, input_problems, open_input
from p2pcap.formats import CaptureIndex, Counts
from p2pcap.formats.records import DIRECTIONS, GAP_REASONS, Message
from p2pcap.units import NS, utc_text

MAX_BUCKETS = 400  # timeline resolution for --plot


@dataclass
class Timeline:
    """Messages per command in fixed-width time buckets; the width doubles
    whenever there would be more than ``MAX_BUCKETS`` (bounded memory)."""

    width_ns: int = NS
    start_ns: int | None = None
    buckets: dict = field(default_factory=dict)  # bucket -> {command: n}

    def add(self, ts_ns: int, command: str) -> None:
        if self.start_ns is None:
            self.start_ns = ts_ns
        key = (ts_ns - self.start_ns) // self.width_ns
        row = self.buckets.setdefault(key, {})
        row[command] = row.get(command, 0) + 1
        if len(self.buckets) > MAX_BUCKETS:
            self._coarsen()

    def _coarsen(self) -> None:
        self.width_ns *= 2
        merged: dict = {}
        for key, row in self.buckets.items():
            into = merged.setdefault(key // 2, {})
            for command, n in row.items():
                into[command] = into.get(command, 0) + n
        self.buckets = merged


@dataclass
class Stats:
    file: str
    source: str  # "footer" (the index, nothing decompressed) or "scan"
    metadata: dict
    index: CaptureIndex
    file_size: int | None = None
    biggest: list = field(default_factory=list)  # dicts (no payload), biggest first
    timeline: Timeline | None = None
    torn_tail: str | None = None
    damaged: list = field(default_factory=list)
    problems: list = field(default_factory=list)  # InputProblem, from a scan
    filter: str | None = None  # the filter the counts are of (show's options), None: every record

    @property
    def checked(self) -> bool:
        """True when the counts come from the blocks; False when they are the
        footer's, taken on trust (``check`` or ``--scan`` verifies them)."""
        return self.source == "scan"

    @property
    def first_ns(self):
        return self.index.ts_min_ns

    @property
    def last_ns(self):
        return self.index.ts_max_ns

    @property
    def duration_s(self) -> float:
        if self.first_ns is None:
            return 0.0
        return (self.last_ns - self.first_ns) / NS

    def direction_totals(self) -> dict:
        totals = {d: Counts() for d in DIRECTIONS}
        for dirs in self.index.commands.values():
            for d, c in dirs.items():
                totals[d].messages += c.messages
                totals[d].bytes += c.bytes
                totals[d].captured += c.captured
        return totals

    def rate(self, n: int) -> float | None:
        return n / self.duration_s if self.duration_s > 0 else None


class _Extras:
    """What a scan adds to the index: the biggest messages and a timeline."""

    def __init__(self, biggest: int, timeline: bool):
        self.top_n = biggest
        self.heap: list = []  # (msg_size, -ordinal, record without payload)
        self.timeline = Timeline() if timeline else None
        self._n = 0

    def add_block(self, records) -> None:
        top_n, heap, timeline = self.top_n, self.heap, self.timeline
        for rec in records:
            if type(rec) is not Message:
                continue
            self._n += 1
            if top_n:
                entry = (rec.msg_size, -self._n, _without_payload(rec))
                if len(heap) < top_n:
                    heapq.heappush(heap, entry)
                elif entry[:2] > heap[0][:2]:
                    heapq.heapreplace(heap, entry)
            if timeline is not None:
                timeline.add(rec.ts_ns, rec.command)


def _bin_width(index) -> int:
    """1 s bins, or finer for a capture known to be shorter than 100 s."""
    if index is None or index.ts_min_ns is None:
        return NS
    span = index.ts_max_ns - index.ts_min_ns
    return NS if span >= 100 * NS else max(1_000_000, span // 100)


def _without_payload(msg: Message) -> dict:
    return {
        "ts_ns": msg.ts_ns,
        "pid": msg.pid,
        "peer_id": msg.peer_id,
        "peer_addr": msg.peer_addr,
        "direction": msg.direction,
        "command": msg.command,
        "msg_size": msg.msg_size,
        "captured_len": msg.captured_len,
    }


def capture_stats(
    path, *, biggest: int = 0, timeline: bool = False, scan: bool = False, filt=None, describe=None
) -> Stats:
    """Statistics of one capture (``path`` or ``-``).

    From the footer index alone unless ``biggest``, ``timeline`` or ``scan``
    ask for more, or the file has no footer.  A scan builds the index the
    writer would have (``formats.index.IndexBuilder``) from every intact
    block, and names the damaged ones in ``problems``.  ``filt`` (a
    ``filters.RecordFilter``, show's options) counts only what it selects,
    in one pass (``filters.selected_index``); ``describe`` is its text.
    """
    reader, seekable = open_input(path)
    with reader:
        size = os.path.getsize(path) if reader.path and os.path.isfile(reader.path) else None
        stats = Stats(input_name(path), "footer", reader.metadata, CaptureIndex(), size)
        if filt is not None:
            from p2pcap.analysis.filters import Selection, selected_index

            stats.source, stats.filter = "scan", describe or "filtered"
            extras = _Extras(biggest, timeline) if biggest or timeline else None
            if extras is not None and extras.timeline is not None:
                extras.timeline.width_ns = _bin_width(reader.index)
            selection = Selection(reader, filt, seekable=seekable)
            stats.index = selected_index(selection, extras.add_block if extras else None)
            if extras is not None:
                stats.biggest = [e[2] for e in sorted(extras.heap, key=lambda e: e[:2], reverse=True)]
                stats.timeline = extras.timeline
        elif reader.index is not None and not (biggest or timeline or scan):
            stats.index = reader.index
        else:
            stats.source = "scan"
            extras = None
            if biggest or timeline:
                extras = _Extras(biggest, timeline)
                if extras.timeline is not None:
                    extras.timeline.width_ns = _bin_width(reader.index)
            stats.index = reader.summarize(scan=True, each_block=extras.add_block if extras else None)
            if extras is not None:
                stats.biggest = [e[2] for e in sorted(extras.heap, key=lambda e: e[:2], reverse=True)]
                stats.timeline = extras.timeline
        stats.problems = input_problems(reader, input_name(path)) if stats.source == "scan" else []
        stats.torn_tail = str(reader.torn_tail) if reader.torn_tail is not None else None
        stats.damaged = [str(e) for e in reader.damaged]
    return stats


def stats_json(st: Stats) -> dict:
    """The whole of ``Stats`` as plain JSON (``stats --json``)."""
    idx = st.index
    totals = st.direction_totals()
    return {
        "file": st.file,
        "source": st.source,
        "checked": st.checked,
        "filter": st.filter,
        "file_size": st.file_size,
        "metadata": st.metadata,
        "first_ns": st.first_ns,
        "last_ns": st.last_ns,
        "duration_s": st.duration_s,
        "messages": idx.messages,
        "bytes": idx.msg_bytes,
        "captured_bytes": idx.captured_bytes,
        "rates": {"messages_per_s": st.rate(idx.messages), "bytes_per_s": st.rate(idx.msg_bytes)},
        "directions": {
            d: {
                "messages": c.messages,
                "bytes": c.bytes,
                "captured": c.captured,
                "messages_per_s": st.rate(c.messages),
            }
            for d, c in totals.items()
        },
        "commands": {
            name: {
                **{
                    d: {"messages": c.messages, "bytes": c.bytes, "captured": c.captured}
                    for d, c in sorted(dirs.items())
                },
                "messages_per_s": st.rate(sum(c.messages for c in dirs.values())),
            }
            for name, dirs in sorted(idx.commands.items())
        },
        "peers": [
            {
                "pid": p.pid,
                "peer_id": p.peer_id,
                "addr": p.addr,
                "conn_type": p.conn_type,
                "first_ns": p.first_ns,
                "last_ns": p.last_ns,
                "messages_in": p.messages_in,
                "messages_out": p.messages_out,
                "bytes_in": p.bytes_in,
                "bytes_out": p.bytes_out,
            }
            for p in idx.peers
        ],
        "losses": [
            {
                "pid": x.pid,
                "reason": GAP_REASONS.get(x.reason, f"reason-{x.reason}"),
                "gap_records": x.records,
                "lost_messages": x.lost_messages,
                "lost_bytes": x.lost_bytes,
                "first_ns": x.first_ns,
                "last_ns": x.last_ns,
            }
            for x in idx.losses
        ],
        "lost_messages": idx.lost_messages,
        "lost_bytes": idx.lost_bytes,
        "gap_records": idx.gap_records,
        "biggest": st.biggest,
        "torn_tail": st.torn_tail,
        "damaged": st.damaged,
    }


# -- text ---------------------------------------------------------------------
def plot_rates(st: Stats, out_path, *, top: int = 8) -> None:
    """Messages/s per command over time as a PNG (or whatever matplotlib infers from the name)."""
    plt = plotting.pyplot()
    tl = st.timeline
    fig, ax = plt.subplots(figsize=(10, 5))
    if tl is not None and tl.buckets:
        totals: dict = {}
        for row in tl.buckets.values():
            for command, n in row.items():
                totals[command] = totals.get(command, 0) + n
        shown = sorted(totals, key=lambda c: -totals[c])[:top]
        lo, hi = min(tl.buckets), max(tl.buckets)
        xs = [(k - lo) * tl.width_ns / NS for k in range(lo, hi + 1)]
        per_s = NS / tl.width_ns
        for command in shown:
            ax.plot(
                xs,
                [tl.buckets.get(k, {}).get(command, 0) * per_s for k in range(lo, hi + 1)],
                label=command,
                drawstyle="steps-post",
            )
        rest = [
            sum(n for c, n in tl.buckets.get(k, {}).items() if c not in shown) * per_s
            for k in range(lo, hi + 1)
        ]
        if any(rest):
            ax.plot(xs, rest, label="other", drawstyle="steps-post", color="black")
        ax.legend(loc="upper right", fontsize="small")
    ax.set_xlabel(f"seconds since {utc_text(st.first_ns)} (bins of {tl.width_ns / NS if tl else 0:g} s)")
    ax.set_ylabel("messages/s")
    ax.set_title(f"{os.path.basename(st.file)}: messages per second by command")
    ax.grid(True, alpha=0.3)
    plotting.save(plt, fig, out_path)


def clock_text(clock) -> str:
    """One line for a capture's ``clock`` entry (capture/clocksync.py), or what is missing.

    >>> clock_text({"synchronized": False, "source": "kernel", "kernel": {"esterror_us": 16000000}})
    'NOT synchronised, by kernel, estimated error 16000 ms'
    """
    if not isinstance(clock, dict):
        return "not recorded in this capture"
    parts = []
    sync = clock.get("synchronized")
    parts.append("synchronised" if sync is True else "NOT synchronised" if sync is False else "sync unknown")
    if clock.get("source"):
        parts.append(f"by {clock['source']}")
    kernel = clock.get("kernel") if isinstance(clock.get("kernel"), dict) else {}
    if kernel.get("esterror_us") is not None:
        parts.append(f"estimated error {kernel['esterror_us'] / 1000:g} ms")
    if kernel.get("maxerror_us") is not None:
        parts.append(f"max error {kernel['maxerror_us'] / 1000:g} ms")
    chrony = clock.get("chrony") if isinstance(clock.get("chrony"), dict) else {}
    if chrony.get("system_offset_s") is not None:
        parts.append(f"chrony offset {chrony['system_offset_s'] * 1000:+.3f} ms")
    return ", ".join(parts)
