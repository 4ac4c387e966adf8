"""``stats``: what a capture holds, like ``capinfos`` and ``tshark -z``.

Counts per command, direction and peer-session, bytes, rates, losses.  A
capture closed cleanly has all of that in its footer index, so the plain
``stats`` decompresses nothing.  Asking for what the index cannot know
(the biggest messages, a timeline for ``--plot``), or a file without a
footer, costs one pass over the records, in bounded memory: counters per
command and peer, a heap of the N biggest, a few hundred time buckets.
"""

from __future__ import annotations

import heapq
import os
from dataclasses import dataclass, field

from p2pcap.formats import CaptureIndex, Counts
from p2pcap.formats.records import DIRECTIONS, GAP_REASONS, Message

from p2pcap.analysis.source import input_name, input_problems, open_input
from p2pcap.analysis.timespec import NS

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
    return {"ts_ns": msg.ts_ns, "pid": msg.pid, "peer_id": msg.peer_id, "peer_addr": msg.peer_addr,
            "direction": msg.direction, "command": msg.command, "msg_size": msg.msg_size,
            "captured_len": msg.captured_len}


def capture_stats(path, *, biggest: int = 0, timeline: bool = False, scan: bool = False) -> Stats:
    """Statistics of one capture (``path`` or ``-``).

    From the footer index alone unless ``biggest``, ``timeline`` or ``scan``
    ask for more, or the file has no footer.  A scan builds the index the
    writer would have (``formats.index.IndexBuilder``) from every intact
    block, and names the damaged ones in ``problems``.
    """
    reader, _seekable = open_input(path)
    with reader:
        size = os.path.getsize(path) if reader.path and os.path.isfile(reader.path) else None
        stats = Stats(input_name(path), "footer", reader.metadata, CaptureIndex(), size)
        if reader.index is not None and not (biggest or timeline or scan):
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
        "file_size": st.file_size,
        "metadata": st.metadata,
        "first_ns": st.first_ns,
        "last_ns": st.last_ns,
        "duration_s": st.duration_s,
        "messages": idx.messages,
        "bytes": idx.msg_bytes,
        "captured_bytes": idx.captured_bytes,
        "rates": {"messages_per_s": st.rate(idx.messages), "bytes_per_s": st.rate(idx.msg_bytes)},
        "directions": {d: {"messages": c.messages, "bytes": c.bytes, "captured": c.captured,
                           "messages_per_s": st.rate(c.messages)} for d, c in totals.items()},
        "commands": {
            name: {**{d: {"messages": c.messages, "bytes": c.bytes, "captured": c.captured}
                      for d, c in sorted(dirs.items())},
                   "messages_per_s": st.rate(sum(c.messages for c in dirs.values()))}
            for name, dirs in sorted(idx.commands.items())},
        "peers": [{"pid": p.pid, "peer_id": p.peer_id, "addr": p.addr, "conn_type": p.conn_type,
                   "first_ns": p.first_ns, "last_ns": p.last_ns,
                   "messages_in": p.messages_in, "messages_out": p.messages_out,
                   "bytes_in": p.bytes_in, "bytes_out": p.bytes_out} for p in idx.peers],
        "losses": [{"pid": x.pid, "reason": GAP_REASONS.get(x.reason, f"reason-{x.reason}"),
                    "gap_records": x.records, "lost_messages": x.lost_messages,
                    "lost_bytes": x.lost_bytes, "first_ns": x.first_ns, "last_ns": x.last_ns}
                   for x in idx.losses],
        "lost_messages": idx.lost_messages,
        "lost_bytes": idx.lost_bytes,
        "gap_records": idx.gap_records,
        "biggest": st.biggest,
        "torn_tail": st.torn_tail,
        "damaged": st.damaged,
    }


# -- text ---------------------------------------------------------------------
def human(n: float | None, unit: str = "B") -> str:
    """``1234`` -> ``"1.2 kB"`` (SI prefixes, like capinfos).

    >>> human(999), human(1234), human(5_600_000)
    ('999 B', '1.2 kB', '5.6 MB')
    """
    if n is None:
        return "-"
    for prefix in ("", "k", "M", "G", "T"):
        if abs(n) < 1000 or prefix == "T":
            return f"{n:.0f} {prefix}{unit}" if not prefix else f"{n:.1f} {prefix}{unit}"
        n /= 1000
    return ""  # not reached


def _when(ts_ns) -> str:
    from p2pcap.analysis.timespec import iso

    return "-" if ts_ns is None else iso(ts_ns).replace("T", " ")[:-4] + " UTC"


def _rate(x) -> str:
    return "-" if x is None else (f"{x:.2f}" if x < 100 else f"{x:.0f}")


def stats_lines(st: Stats) -> list[str]:
    """The ``stats`` table: fits 80 columns (long addresses are cut; ``--json`` has them whole)."""
    from p2pcap.cli.render import clock, fit

    idx = st.index
    md = st.metadata if isinstance(st.metadata, dict) else {}
    totals = st.direction_totals()
    size = f"{human(st.file_size)}, " if st.file_size is not None else ""
    source = "from the footer index" if st.source == "footer" else "scanned"
    lines = [fit(f"file        {st.file} ({size}{source})")]
    target = md.get("target") if isinstance(md.get("target"), dict) else {}
    pids = sorted({p.pid for p in idx.peers})
    lines.append(fit(f"network     {md.get('network', '-')}   pid {', '.join(map(str, pids)) or '-'}   "
                     f"host {md.get('host', '-')}"))
    if target.get("exe"):
        lines.append(fit(f"target      {target['exe']}"))
    lines += [f"first       {_when(st.first_ns)}", f"last        {_when(st.last_ns)}",
              f"duration    {st.duration_s:.6f} s"]
    i, o = totals["in"], totals["out"]
    lines.append(fit(f"messages    {idx.messages} (in {i.messages}, out {o.messages}), "
                     f"{human(idx.msg_bytes)} (in {human(i.bytes)}, out {human(o.bytes)})"))
    if idx.captured_bytes != idx.msg_bytes:
        lines.append(f"captured    {human(idx.captured_bytes)} of payload (snap length or faults)")
    lines.append(f"rate        {_rate(st.rate(idx.messages))} msg/s, {human(st.rate(idx.msg_bytes))}/s")
    if idx.gap_records:
        lines.append(f"lost        {idx.lost_messages} messages, {human(idx.lost_bytes)} "
                     f"({idx.gap_records} gap record{'s' if idx.gap_records != 1 else ''})")
        for x in idx.losses:
            lines.append(fit(f"            {GAP_REASONS.get(x.reason, x.reason)}: {x.lost_messages} "
                             f"messages, {human(x.lost_bytes)}, pid {x.pid}, from {clock(x.first_ns)}"
                             + (f" for {(x.last_ns - x.first_ns) / NS:.1f} s" if x.last_ns > x.first_ns else "")))
    else:
        lines.append("lost        none")
    if st.torn_tail:
        lines.append(fit(f"torn tail   {st.torn_tail}"))
    for d in st.damaged:
        lines.append(fit(f"damaged     {d}"))
    lines += ["", f"{'command':14} {'in':>8} {'bytes':>10} {'out':>8} {'bytes':>10} {'msg/s':>9} {'share':>7}"]
    for name, dirs in sorted(idx.commands.items(), key=lambda kv: -sum(c.messages for c in kv[1].values())):
        ci, co = dirs.get("in", Counts()), dirs.get("out", Counts())
        n = ci.messages + co.messages
        share = f"{100 * n / idx.messages:.1f}%" if idx.messages else "-"
        lines.append(f"{name:14} {ci.messages:>8} {human(ci.bytes):>10} {co.messages:>8} "
                     f"{human(co.bytes):>10} {_rate(st.rate(n)):>9} {share:>7}")
    lines.append(f"{'total':14} {i.messages:>8} {human(i.bytes):>10} {o.messages:>8} "
                 f"{human(o.bytes):>10} {_rate(st.rate(idx.messages)):>9}")
    lines += ["", *peer_lines(idx.peers)]
    if st.biggest:
        lines += ["", f"biggest     {'time (UTC)':15} {'dir':3} {'peer':>5} {'command':12} {'size':>10}"]
        for m in st.biggest:
            size = human(m["msg_size"]) + ("" if m["captured_len"] == m["msg_size"] else " (cut)")
            lines.append(f"            {clock(m['ts_ns'])} {m['direction']:3} {m['peer_id']:>5} "
                         f"{m['command']:12} {size:>10}")
    return lines


def peer_lines(peers) -> list[str]:
    """One row per peer-session: id, address, connection type, messages, bytes."""
    from p2pcap.cli.render import fit

    several = len({p.pid for p in peers}) > 1
    labels = [f"{p.pid}:{p.peer_id}" if several else str(p.peer_id) for p in peers]
    w = max([4, *map(len, labels)])
    fixed = w + 20 + 7 + 7 + 9 + 5
    aw = max(12, 80 - fixed)
    lines = [f"{'peer':>{w}} {'address':{aw}} {'conn type':20} {'in':>7} {'out':>7} {'bytes':>9}"]
    for label, p in zip(labels, peers):
        lines.append(f"{label:>{w}} {fit(p.addr, aw):{aw}} {fit(p.conn_type, 20):20} {p.messages_in:>7} "
                     f"{p.messages_out:>7} {human(p.bytes_in + p.bytes_out):>9}")
    return lines


# -- --plot ---------------------------------------------------------------------
def plot_rates(st: Stats, out_path, *, top: int = 8) -> None:
    """Messages/s per command over time as a PNG (or whatever matplotlib infers from the name)."""
    from p2pcap.errors import ArgumentError, PathError

    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ArgumentError("plot", "{arg} needs matplotlib: pip install 'p2pcap[plot]'") from None
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
            ax.plot(xs, [tl.buckets.get(k, {}).get(command, 0) * per_s for k in range(lo, hi + 1)],
                    label=command, drawstyle="steps-post")
        rest = [sum(n for c, n in tl.buckets.get(k, {}).items() if c not in shown) * per_s
                for k in range(lo, hi + 1)]
        if any(rest):
            ax.plot(xs, rest, label="other", drawstyle="steps-post", color="black")
        ax.legend(loc="upper right", fontsize="small")
    ax.set_xlabel(f"seconds since {_when(st.first_ns)} (bins of {tl.width_ns / NS if tl else 0:g} s)")
    ax.set_ylabel("messages/s")
    ax.set_title(f"{os.path.basename(st.file)}: messages per second by command")
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    try:
        fig.savefig(out_path)
    except (OSError, ValueError) as exc:
        raise PathError(f"{out_path}: cannot write the plot: {exc}", out_path) from None
    finally:
        plt.close(fig)
