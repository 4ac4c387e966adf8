"""A ``Flow`` as text for the terminal: one line per arrow, lanes as columns.

::

    time (UTC)       peer 0                     node
    19:48:10.452530    |<------ getheaders2 ------|
    19:48:10.457538    |------- headers 244 ----->|  answers 19:48:10.452530 getheaders after 5.008 ms
    19:48:10.552542    |<--------- ping ----------|  !! ping unanswered, waited 20.000 s (capture-end)
    ~~~~~~~~~~~~~~~~~~~~~~~~ 3 messages lost (ringbuf-full, pid 812) ~~~~~~~~~~~~~~~~~~~~~~~~

ASCII only, so any terminal shows it; strings from the capture are escaped
(``p2pcap.terminal``).

>>> from p2pcap.analysis.flow import Arrow, Flow, Lane
>>> f = Flow([Lane(1, 3, "a", "inbound")], "node", [Arrow(0, 0, 0, "in", "ping", 8)])
>>> print(flow_lines(f)[-1])
00:00:00.000000    |---------ping 8--------->|
"""

from __future__ import annotations

from p2pcap.analysis.flow import Flow
from p2pcap.terminal import printable

LANE_W = 26  # columns between two lanes


def _clock(ts_ns: int) -> str:
    seconds, ns = divmod(ts_ns, 1_000_000_000)
    day = seconds % 86_400
    return f"{day // 3600:02d}:{day // 60 % 60:02d}:{day % 60:02d}.{ns // 1000:06d}"


def _columns(flow: Flow) -> tuple[dict, int]:
    """Column of each lane (-1 the node) from the left of the diagram."""
    left = [i for i, lane in enumerate(flow.lanes) if lane.side == "left"]
    right = [i for i, lane in enumerate(flow.lanes) if lane.side == "right"]
    cols = {}
    for k, i in enumerate(reversed(left)):
        cols[i] = k * LANE_W
    cols[-1] = len(left) * LANE_W
    for k, i in enumerate(right):
        cols[i] = (len(left) + k + 1) * LANE_W
    return cols, cols[-1] + len(right) * LANE_W + 1


def _arrow_text(a, cols, width) -> str:
    row = [" "] * width
    for c in cols.values():
        row[c] = "|"
    peer, node = cols[a.lane], cols[-1]
    lo, hi = min(peer, node), max(peer, node)
    for c in range(lo + 1, hi):
        row[c] = "-"
    towards_right = (a.direction == "in") == (peer < node)
    if towards_right:
        row[hi - 1] = ">"
    else:
        row[lo + 1] = "<"
    label = printable(a.command if a.count == 1 else f"{a.command} ({a.count})")
    if a.count == 1:
        label += f" {a.size}"
    label = label[: hi - lo - 5]
    start = lo + 1 + (hi - lo - 1 - len(label)) // 2
    row[start : start + len(label)] = label
    return "".join(row).rstrip()


def flow_lines(flow: Flow) -> list[str]:
    """The diagram, line by line."""
    cols, width = _columns(flow)
    pad = " " * 4
    head = [" "] * (width + 40)
    names = {-1: flow.node, **{i: f"peer {lane.peer_id}" for i, lane in enumerate(flow.lanes)}}
    for i, c in cols.items():
        text = printable(names[i])[: LANE_W - 2]
        head[c : c + len(text)] = text
    lines = []
    for lane in flow.lanes:
        lines.append(
            f"peer {lane.peer_id}: pid {lane.pid}, {printable(lane.addr)}, {printable(lane.conn_type)}"
        )
    if flow.summarised:
        lines.append(f"summarised: one arrow per peer, direction and {flow.bin_ns / 1e9:g} s")
    lines.append(f"{'time (UTC)':15}{pad}" + "".join(head).rstrip())
    by_request = {link.answer_seq: link for link in flow.links}
    times = {a.seq: a.ts_ns for a in flow.arrows}
    marks: dict = {}
    for m in flow.marks:
        marks.setdefault(m.before_seq, []).append(m)
    total = 15 + len(pad) + width
    for a in flow.arrows:
        for m in marks.pop(a.seq, ()):
            text = f" {printable(m.text)} "
            fill = "~" if m.kind == "loss" else "."
            lines.append(text.center(total, fill))
        line = f"{_clock(a.ts_ns)}{pad}{_arrow_text(a, cols, width)}"
        note = []
        link = by_request.get(a.seq)
        if link is not None:
            note.append(
                f"answers {_clock(times[link.request_seq])} {link.rule}"
                f"{'' if link.status == 'answered' else ' (' + link.status + ')'} after {link.wait_ns / 1e6:.3f} ms"
            )
        if a.mark:
            note.append(f"!! {printable(a.mark)}")
        elif a.unanswered:
            note.append(f"!! {a.unanswered} unanswered")
        if a.count > 1 and a.summary:
            note.append(printable(a.summary))
        if note:
            line = line.ljust(total) + "  " + "; ".join(note)
        lines.append(line)
    for rest in marks.values():
        for m in rest:
            lines.append(f" {printable(m.text)} ".center(total, "~" if m.kind == "loss" else "."))
    return lines
