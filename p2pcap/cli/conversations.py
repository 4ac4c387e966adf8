"""The conversation commands: ``pairs`` (requests and their answers) and ``flow``
(a sequence diagram of some peers' conversations).

Thin click layers over ``p2pcap.analysis.conversations`` and
``p2pcap.analysis.flow``; ``register(main)`` adds them to the group.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from p2pcap.cli.common import finish, skip_damaged_option, warn, wide_option
from p2pcap.cli.params import with_filter
from p2pcap.errors import ArgumentError
from p2pcap.terminal import printable
from p2pcap.units import split_commas

INPUT = click.Path(exists=True, dir_okay=False, path_type=Path, allow_dash=True)
STATUS_WORDS = ("answered", "notfound", "rejected", "unanswered", "dropped", "not-requested", "unrequested")


def _ms(ns) -> str:
    if ns is None:
        return "-"
    ms = ns / 1e6
    return f"{ms:.3f}" if ms < 10 else (f"{ms:.1f}" if ms < 10_000 else f"{ms / 1000:.0f}s")


def _write(lines) -> None:
    out = sys.stdout
    for line in lines:
        out.write(line + "\n")
    out.flush()


def summary_lines(result) -> list[str]:
    """The ``pairs`` tables: rules by side, ping round trips per peer, the unanswered."""
    from p2pcap.cli.render import clock, fit, page_width_now

    lines = [
        f"{'rule':12} {'asked by':8} {'requests':>8} {'answered':>8} {'notfound':>8} "
        f"{'rejected':>8} {'waiting':>7} {'p50 ms':>8} {'p90 ms':>8} {'max ms':>8}"
    ]
    extra_not_requested = extra_unrequested = 0
    for c in result.ordered_rules():
        s = c.statuses
        extra_not_requested += s["not-requested"]
        extra_unrequested += s["unrequested"]
        if not c.requests:
            continue
        lines.append(
            f"{c.rule:12} {c.asked_by:8} {c.requests:>8} {s['answered']:>8} {s['notfound']:>8} "
            f"{s['rejected']:>8} {s['unanswered'] + s['dropped']:>7} {_ms(c.waits.percentile(50)):>8} "
            f"{_ms(c.waits.percentile(90)):>8} {_ms(c.waits.max):>8}"
        )
    if len(lines) == 1:
        lines.append("(no requests)")
    for c in result.ordered_rules():
        if c.rule == "getdata" and c.to_request.count:
            lines.append(
                f"inv to getdata ({'we' if c.asked_by == 'us' else 'peer'} requested): {c.to_request.count} items, "
                f"p50 {_ms(c.to_request.percentile(50))} ms, max {_ms(c.to_request.max)} ms"
            )
    if extra_not_requested:
        lines.append(f"inv items never requested: {extra_not_requested}")
    if extra_unrequested:
        lines.append(f"answers no request explains (announcements, pushes): {extra_unrequested}")
    if not result.closes_inferred:
        lines.append("the recording kept no pings: waits run to the capture's end (closes cannot be told)")
    if result.rtt:
        several = len({p.pid for p in result.rtt.values()}) > 1
        page = page_width_now()
        aw = 24 if page is not None else max(24, *(len(printable(p.addr)) for p in result.rtt.values()))
        lines += [
            "",
            "ping round trip of our pings, per peer",
            f"{'peer':>6} {'address':{aw}} {'pings':>6} {'lost':>5} {'min ms':>8} {'p50 ms':>8} "
            f"{'max ms':>8} {'last ms':>8}",
        ]
        peers = list(result.rtt.values()) + ([result.rtt_other] if result.rtt_other else [])
        for p in peers:
            label = f"{p.pid}:{p.peer_id}" if several else str(p.peer_id)
            lines.append(
                f"{label:>6} {fit(printable(p.addr), aw):{aw}} {p.rtt.count:>6} {p.unanswered:>5} "
                f"{_ms(p.rtt.min):>8} {_ms(p.rtt.percentile(50)):>8} {_ms(p.rtt.max):>8} {_ms(p.last_rtt_ns):>8}"
            )
    if result.unanswered_total:
        lines += ["", f"unanswered requests ({result.unanswered_total})"]
        lines.append(
            f"{'time (UTC)':15} {'peer':>5} {'asked by':8} {'request':12} {'waited':>9}  until        what"
        )
        for p in result.unanswered:
            lines.append(
                fit(
                    f"{clock(p.request_ns)} {p.peer_id:>5} {p.asked_by:8} {printable(p.request):12} "
                    f"{_ms(p.wait_ns) + ' ms':>9}  {p.until:12} {printable(p.key)}"
                )
            )
        if result.unanswered_total > len(result.unanswered):
            lines.append(f"... {result.unanswered_total - len(result.unanswered)} more (--list or --json)")
    return lines


def pair_line(p) -> str:
    """One pair as a row of ``pairs --list``."""
    from p2pcap.cli.render import clock, fit

    when = p.request_ns if p.request_ns is not None else (p.announce_ns or p.answer_ns)
    asked = printable(p.request or ("inv" if p.status == "not-requested" else "-"))
    answer = printable(p.answer or "-")
    wait = _ms(p.wait_ns)
    return fit(
        f"{clock(when)} {p.peer_id:>5} {p.asked_by:5} {p.rule:11} {asked:>11} -> {answer:11} "
        f"{p.status:13} {wait:>9} {printable(p.key)}"
    )


@click.command()
@click.argument("file", type=INPUT)
@with_filter
@click.option(
    "--list",
    "listing",
    is_flag=True,
    help="Every pair, one line each, as it is settled (before the summary).",
)
@click.option("--json", "as_json", is_flag=True, help="JSON lines: every pair, then one summary object.")
@click.option(
    "--status",
    "statuses",
    multiple=True,
    metavar="STATUS",
    help="With --list/--json, only pairs that ended so: " + ", ".join(STATUS_WORDS) + " (repeatable).",
)
@wide_option
@skip_damaged_option
def pairs(file, filt, listing, as_json, statuses, wide):
    """Requests paired with their answers, by content: ping/pong, inv/getdata/object, ...

    Per rule and side (we ask them, they ask us): how many were answered,
    how long it took, which never were and how long they waited; ping round
    trips per peer.  The rules are in docs/CONVERSATIONS.md.  The filter
    options choose pairs by their request (--type ping keeps its pongs).

    \b
      p2pcap pairs run.cap
      p2pcap pairs run.cap --peer 3 --type getdata --list
      p2pcap pairs run.cap --json --status unanswered | jq .key
    """
    import orjson

    from p2pcap.analysis.conversations import capture_pairs
    from p2pcap.cli.render import page_width, set_page_width

    wanted = set(split_commas(statuses))
    for word in wanted:
        if word not in STATUS_WORDS:
            raise ArgumentError("statuses", f"expected one of {', '.join(STATUS_WORDS)}", value=word)
    set_page_width(page_width(sys.stdout, wide=wide))
    out = sys.stdout
    on_pair = None
    if as_json:

        def on_pair(pair):
            if not wanted or pair.status in wanted:
                out.write(orjson.dumps(pair.as_json()).decode() + "\n")

    elif listing:

        def on_pair(pair):
            if not wanted or pair.status in wanted:
                out.write(pair_line(pair) + "\n")

    result = capture_pairs(file, filt, on_pair=on_pair)
    if as_json:
        out.write(orjson.dumps({"summary": result.as_json()}).decode() + "\n")
    else:
        if listing:
            out.write("\n")
        _write(summary_lines(result))
    out.flush()
    finish(result.problems)


FLOW_FORMATS = ("text", "svg", "html")


@click.command()
@click.argument("file", type=INPUT)
@with_filter
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path, allow_dash=True),
    help="Write the diagram here: .svg or .html (self-contained); - or nothing: text on the terminal.",
)
@click.option(
    "--format", "fmt", type=click.Choice(FLOW_FORMATS), help="text, svg or html (default: from -o's suffix)."
)
@click.option(
    "--max-arrows",
    type=click.IntRange(min=10),
    default=2000,
    show_default=True,
    help="Past this many messages, one arrow per peer, direction and second (or longer).",
)
@skip_damaged_option
def flow(file, filt, output, fmt, max_arrows):
    """A sequence diagram of one or several peers' conversations with the node.

    The node in the middle, one lane per peer-session (--peer, repeatable;
    without it every peer-session, up to 12),
    an arrow per message, requests linked to their answers (the pairs rules),
    unanswered requests, losses and pauses marked.  To the terminal as text,
    or to an SVG or a self-contained HTML page (zoom; hover shows the decoded
    message).  The other filter options choose the arrows drawn.

    \b
      p2pcap flow run.cap --peer 3
      p2pcap flow run.cap --peer 3 --peer 7 -o conv.html
      p2pcap flow run.cap --peer 1.2.3.4 --since +30s --until +40s -o conv.svg
    """
    from p2pcap.analysis.flow import capture_flow
    from p2pcap.outputs import atomic_file, is_stdio, refuse_overwriting

    if fmt is None:
        suffix = output.suffix.lower() if output is not None and not is_stdio(output) else ""
        fmt = {".svg": "svg", ".html": "html", ".htm": "html"}.get(suffix)
        if fmt is None and output is not None and not is_stdio(output):
            raise ArgumentError("output", "give a .svg or .html name, or --format", value=str(output))
        fmt = fmt or "text"
    if output is not None and not is_stdio(output):
        refuse_overwriting([file], output)
    result = capture_flow(file, filt.peers, filt, max_arrows=max_arrows, decode=True)
    if not result.arrows:
        warn("no messages of those peers pass the filters")
    if fmt == "text":
        from p2pcap.analysis.flow_text import flow_lines

        text = "\n".join(flow_lines(result)) + "\n"
    elif fmt == "svg":
        from p2pcap.analysis.flow_svg import flow_svg

        text = flow_svg(result) + "\n"
    else:
        from p2pcap.analysis.flow_html import flow_html

        text = flow_html(result)
    if output is None or is_stdio(output):
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        with atomic_file(output, "w", encoding="utf-8") as f:
            f.write(text)
        warn(
            f"{output}: {len(result.arrows)} arrows, {len(result.links)} links, {len(result.marks)} marks"
            + (f" (summarised per {result.bin_ns / 1e9:g} s)" if result.summarised else "")
        )
    finish(result.problems)


def register(group: click.Group) -> None:
    """Add this module's commands to the ``p2pcap`` group."""
    group.add_command(pairs)
    group.add_command(flow)
