"""A ``Flow`` drawn as SVG, and as a self-contained HTML page around it.

SVG is text, written here by hand: lanes (the node's in the middle, the
peers' left and right of it), one row per arrow, time on the left.  Every
element a reader (or a test) looks for carries its data:

- ``<g class="msg" id="m{seq}" data-seq data-lane data-dir data-cmd data-count>``
  for each arrow, with a ``<title>`` (the summary; SVG viewers show it on hover);
- ``<path class="link" data-req="m{seq}" data-ans="m{seq}" data-rule data-wait-ns>``
  from a request's arrow to its answer's;
- ``<g class="unanswered" data-req="m{seq}">`` on a request never answered;
- ``<g class="mark" data-kind="loss|pause">`` across the lanes.

The HTML page holds the SVG, a style sheet, a script and the decoded
messages as JSON: zoom (buttons, Ctrl+wheel), and hovering an arrow shows
its decoded message and lights up its request or answers.  Nothing is
loaded from anywhere: the file opens offline.

>>> from p2pcap.analysis.flow import Arrow, Flow, Lane
>>> f = Flow([Lane(1, 3, "10.0.0.1:9999", "inbound")], "node", [Arrow(0, 0, 0, "in", "ping", 8)])
>>> svg = flow_svg(f)
>>> svg.startswith("<svg") and 'data-cmd="ping"' in svg
True
"""

from __future__ import annotations

import html

from p2pcap.analysis.flow import Flow
from p2pcap.terminal import printable
from p2pcap.units import iso

ROW = 24  # px per arrow
MARK_ROW = 22  # px for a loss or pause mark
TOP = 78  # the lane headers
TIME_W = 150  # the time column
LANE_GAP = 240  # px between lanes
FONT = "font-family:ui-monospace,Menlo,Consolas,monospace"
_COLOURS = {"in": "#1f5fbf", "out": "#444"}
_LINK_COLOURS = {"answered": "#2e8b57", "notfound": "#d2691e", "rejected": "#d2691e", "requested": "#8e44ad"}


def _t(text) -> str:
    """Text from a capture, made visible (control characters escaped) and XML-safe."""
    return html.escape(printable(str(text)), quote=True)


def _geometry(flow: Flow):
    left = [i for i, lane in enumerate(flow.lanes) if lane.side == "left"]
    right = [i for i, lane in enumerate(flow.lanes) if lane.side == "right"]
    node_x = TIME_W + 90 + len(left) * LANE_GAP
    xs = {}
    for k, i in enumerate(left):
        xs[i] = node_x - (k + 1) * LANE_GAP
    for k, i in enumerate(right):
        xs[i] = node_x + (k + 1) * LANE_GAP
    width = node_x + max(len(right), 0) * LANE_GAP + 110
    return node_x, xs, width


def _rows(flow: Flow) -> tuple[dict, list, int]:
    """y of each arrow (by seq), (y, mark) of each mark, the height."""
    marks_before: dict = {}
    for m in flow.marks:
        marks_before.setdefault(m.before_seq, []).append(m)
    y = TOP + 14
    ys, marks = {}, []
    for a in flow.arrows:
        for m in marks_before.pop(a.seq, ()):
            marks.append((y + MARK_ROW // 2, m))
            y += MARK_ROW
        y += ROW
        ys[a.seq] = y
    for rest in marks_before.values():
        for m in rest:
            y += MARK_ROW
            marks.append((y, m))
    return ys, marks, y + 40


def flow_svg(flow: Flow) -> str:
    """The diagram as an SVG document (a string)."""
    node_x, xs, width = _geometry(flow)
    ys, marks, height = _rows(flow)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="p2pcap-flow" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" style="{FONT};font-size:12px;background:#fff">',
        "<defs>"
        + "".join(
            f'<marker id="head-{d}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="9" markerHeight="9" '
            f'markerUnits="userSpaceOnUse" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{c}"/></marker>'
            for d, c in _COLOURS.items()
        )
        + "</defs>",
        f'<text x="8" y="18" font-weight="bold">{_t(_title(flow))}</text>',
    ]
    bottom = height - 24
    lanes = [(node_x, flow.node, "", "node", -1)] + [
        (xs[i], f"peer {lane.peer_id}", f"{lane.addr} {lane.conn_type}", "peer", i)
        for i, lane in enumerate(flow.lanes)
    ]
    for x, label, sub, kind, i in lanes:
        fill = "#fdf1d6" if kind == "node" else "#e8eefc"
        out.append(
            f'<g class="lane" data-kind="{kind}" data-lane="{i}"><rect x="{x - 105}" y="30" width="210" height="38" '
            f'rx="4" fill="{fill}" stroke="#888"/><text x="{x}" y="46" text-anchor="middle" font-weight="bold">'
            f'{_t(label)}</text><text x="{x}" y="61" text-anchor="middle" font-size="10">{_t(sub[:34])}</text>'
            f'<line x1="{x}" y1="68" x2="{x}" y2="{bottom}" stroke="#bbb" stroke-dasharray="4 3"/></g>'
        )
    for y, m in marks:
        colour = "#c0392b" if m.kind == "loss" else "#999"
        out.append(
            f'<g class="mark" data-kind="{m.kind}" data-before="m{m.before_seq}"><line x1="{TIME_W - 10}" y1="{y}" '
            f'x2="{width - 10}" y2="{y}" stroke="{colour}" stroke-dasharray="6 4"/><rect x="{node_x - 110}" '
            f'y="{y - 8}" width="220" height="15" fill="#fff"/><text x="{node_x}" y="{y + 4}" text-anchor="middle" '
            f'fill="{colour}">{_t(m.text)}</text></g>'
        )
    for a in flow.arrows:
        out.append(_arrow(a, ys[a.seq], node_x, xs))
    for link in flow.links:
        out.append(_link(flow, link, ys, node_x, xs))
    out.append("</svg>")
    return "\n".join(out)


def _title(flow: Flow) -> str:
    span = ""
    if flow.first_ns is not None:
        span = f", {iso(flow.first_ns)} to {iso(flow.last_ns)}"
    summary = f" (summarised per {flow.bin_ns / 1e9:g} s)" if flow.summarised else ""
    return f"{flow.messages} messages with {len(flow.lanes)} peer-session(s){span}{summary}"


def _arrow(a, y, node_x, xs) -> str:
    peer_x = xs[a.lane]
    x1, x2 = (peer_x, node_x) if a.direction == "in" else (node_x, peer_x)
    pad = 4 if x2 > x1 else -4
    colour = _COLOURS.get(a.direction, "#444")
    label = a.command if a.count == 1 else f"{a.command} ({a.count})"
    size = f" {a.size} B" if a.count == 1 else ""
    mid = (x1 + x2) / 2
    title = (
        f"{iso(a.ts_ns)} {a.direction} {label}{size}: {a.summary}"
        if a.summary
        else f"{iso(a.ts_ns)} {label}{size}"
    )
    parts = [
        f'<g class="msg" id="m{a.seq}" data-seq="{a.seq}" data-lane="{a.lane}" data-dir="{a.direction}" '
        f'data-cmd="{_t(a.command)}" data-count="{a.count}" data-ts-ns="{a.ts_ns}"><title>{_t(title)}</title>',
        f'<rect x="{min(x1, x2)}" y="{y - 16}" width="{abs(x2 - x1)}" height="20" fill="transparent"/>',
        f'<text x="6" y="{y + 4}" fill="#777" font-size="10">{iso(a.ts_ns)[11:26]}</text>',
        f'<line x1="{x1 + pad}" y1="{y}" x2="{x2 - pad}" y2="{y}" stroke="{colour}" stroke-width="1.4" '
        f'marker-end="url(#head-{a.direction})"/>',
        f'<text x="{mid}" y="{y - 4}" text-anchor="middle" fill="{colour}">{_t(label)}{_t(size)}</text>',
    ]
    if a.mark or a.unanswered:
        text = a.mark or f"{a.unanswered} unanswered"
        ex = x2 + (10 if x2 > x1 else -10)
        anchor = "start" if x2 > x1 else "end"
        parts.append(
            f'<g class="unanswered" data-req="m{a.seq}"><circle cx="{x2 - pad}" cy="{y}" r="4" fill="#c0392b"/>'
            f'<text x="{ex}" y="{y + 4}" text-anchor="{anchor}" fill="#c0392b" font-size="10">{_t(text)}</text></g>'
        )
    parts.append("</g>")
    return "".join(parts)


def _link(flow, link, ys, node_x, xs) -> str:
    """A curve beside the node's lane from the request's row to the answer's;
    the wait is written on the answer's row, near the peer's end of it."""
    y1, y2 = ys[link.request_seq], ys[link.answer_seq]
    lane = next(a.lane for a in flow.arrows if a.seq == link.request_seq)
    side = -1 if flow.lanes[lane].side == "left" else 1
    x0 = node_x + side * 6
    bulge = node_x + side * (26 + min(abs(y2 - y1) // 8, 70))
    colour = _LINK_COLOURS.get(link.status, "#2e8b57")
    wait = f"{link.wait_ns / 1e6:.3f} ms"
    tx = xs[lane] - side * 8
    return (
        f'<g class="pair"><path class="link" data-req="m{link.request_seq}" data-ans="m{link.answer_seq}" '
        f'data-rule="{link.rule}" data-status="{link.status}" data-wait-ns="{link.wait_ns}" '
        f'd="M{x0},{y1} C{bulge},{y1} {bulge},{y2} {x0},{y2}" fill="none" stroke="{colour}" stroke-width="1.2" '
        f'opacity="0.8"><title>{link.rule} {link.status} in {wait}</title></path>'
        f'<text x="{tx}" y="{y2 - 4}" text-anchor="{"start" if side < 0 else "end"}" fill="{colour}" '
        f'font-size="9">{wait}</text></g>'
    )
