"""The analysis commands: ``stats``, ``diff``, ``filter``, ``merge``, ``anonymize``.

Thin click layers: read options, call one library function, print.
``register(main)`` adds them to the ``p2pcap`` group (see the end of cli.py).
"""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

import click

from p2pcap.cli.common import STATUS_KEY, finish, skip_damaged_option, warn, wide_option
from p2pcap.cli.params import with_filter
from p2pcap.errors import ArgumentError, P2pcapError
from p2pcap.outputs import refuse_overwriting
from p2pcap.terminal import printable

INPUT = click.Path(exists=True, dir_okay=False, path_type=Path, allow_dash=True)
OUTPUT = click.Path(dir_okay=False, path_type=Path, allow_dash=True)
DIFF_INPUT = click.Path(exists=True, dir_okay=False, path_type=Path)


def _echo_lines(lines, *, escape: bool = True) -> None:
    """Print lines; in a table, whatever control character a capture's
    strings still carry is escaped here, the last step before the terminal
    (``escape=False`` for JSON, which is exact and has its own escapes)."""
    out = sys.stdout
    for line in lines:
        out.write((printable(line, backslash=False) if escape else line) + "\n")
    out.flush()


@click.command()
@click.argument("file", type=INPUT)
@click.option("--json", "as_json", is_flag=True, help="One JSON object with everything.")
@click.option(
    "--biggest",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="List the N biggest messages (reads every record).",
)
@click.option(
    "--plot",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Draw messages/s per command over time into this PNG (needs matplotlib).",
)
@click.option("--scan", is_flag=True, help="Count from the records even when the footer index has it all.")
@click.option("--pairs", "pairs", is_flag=True, help="Add p2pcap pairs' summary (reads every record).")
@with_filter
@wide_option
@skip_damaged_option
def stats(file, as_json, biggest, plot, scan, wide, filt, pairs):
    """Counts, bytes, rates per command, direction and peer; losses.

    Answers from the footer index without decompressing when it can; with
    show's filters (-Y, --type, --peer...), counts what they select.

    \b
      p2pcap stats run.cap
      p2pcap stats run.cap --biggest 10 --plot rates.png
      p2pcap stats run.cap --json | jq '.commands.inv'
      p2pcap stats run.cap -Y 'object.type == MSG_ISDLOCK && dir == "in"'
    """
    from p2pcap.analysis.stats import capture_stats, plot_rates, stats_json
    from p2pcap.cli.render import page_width, set_page_width
    from p2pcap.cli.statsout import stats_lines

    set_page_width(page_width(sys.stdout, wide=wide))
    if plot is not None:
        refuse_overwriting([file], plot)
    from p2pcap.analysis.editing import describe_filter
    from p2pcap.analysis.filters import RecordFilter

    chosen = None if filt == RecordFilter() else filt
    described = " ".join(shlex.quote(w) for w in describe_filter(filt)) if chosen else None
    st = capture_stats(
        file, biggest=biggest, timeline=plot is not None, scan=scan, filt=chosen, describe=described
    )
    if plot is not None:
        plot_rates(st, plot)
    conversations = None
    if pairs:  # requests and answers (docs/CONVERSATIONS.md): a second pass, so a file
        from p2pcap.analysis.conversations import capture_pairs
        from p2pcap.outputs import is_stdio

        if is_stdio(file):
            raise ArgumentError("pairs", "{arg} reads the capture again: give a file, not standard input")
        conversations = capture_pairs(file, filt)
    if as_json:
        obj = stats_json(st)
        if conversations is not None:
            obj["pairs"] = conversations.as_json()
        _echo_lines([json.dumps(obj, ensure_ascii=False, separators=(",", ":"))], escape=False)
    else:
        _echo_lines(stats_lines(st))
        if conversations is not None:
            from p2pcap.cli.conversations import summary_lines

            _echo_lines(["", *summary_lines(conversations)])
    if plot is not None and not as_json:
        warn(f"plot written to {plot}")
    finish(st.problems)


class DiffTrouble(click.ClickException):
    """diff's exit status is diff(1)'s: 0 same, 1 different, 2 trouble."""

    exit_code = 2


@click.command()
@click.argument("a", type=DIFF_INPUT)
@click.argument("b", type=DIFF_INPUT)
@with_filter
@click.option(
    "--ignore",
    multiple=True,
    metavar="FIELD",
    help="Also ignore this decoded field: a name anywhere, or a dotted path (repeatable or comma list).",
)
@click.option(
    "-U",
    "--context",
    type=click.IntRange(min=0),
    default=3,
    show_default=True,
    help="Messages of context around each change.",
)
@click.option(
    "--peer-map",
    "peer_map",
    multiple=True,
    metavar="A=B",
    help="Pair peer A of the first capture with peer B of the second: 3=5 or pid:3=pid:5.",
)
@click.option("--json", "as_json", is_flag=True, help="JSON lines: summary, sessions, hunks, result.")
@wide_option
@skip_damaged_option
def diff(a, b, filt, ignore, context, peer_map, as_json, wide):
    """Compare two captures: counts, then per peer-session message sequences.

    Nonces, timestamps and peer ids are ignored; --ignore adds fields.
    Exit status as diff(1): 0 same, 1 different, 2 trouble.  The filter
    options apply to both captures.

    \b
      p2pcap diff broken.cap working.cap
      p2pcap diff a.cap b.cap --not-type ping,pong --ignore starting_height -U 1
      p2pcap diff a.cap b.cap --peer-map 3=5 --json | jq 'select(.type=="hunk")'
    """
    from p2pcap.analysis.diff import diff_captures
    from p2pcap.cli.diffout import diff_json, diff_text
    from p2pcap.cli.render import page_width, set_page_width
    from p2pcap.units import split_commas

    set_page_width(page_width(sys.stdout, wide=wide))
    try:
        res = diff_captures(a, b, filt=filt, ignore=split_commas(ignore), context=context, peer_map=peer_map)
    except P2pcapError as exc:
        raise DiffTrouble(str(exc)) from None
    # A reader that leaves early (`| head`) still gets diff's answer as the status.
    click.get_current_context().meta[STATUS_KEY] = 1 if res.different else 0
    try:
        for note in res.notes:
            warn(f"note: {note}")
        for side, path in ((res.a, a), (res.b, b)):
            if side.gap_records:
                warn(
                    f"warning: {path}: {side.lost_messages} messages lost in {side.gap_records} gaps; "
                    f"the comparison cannot see them"
                )
        if as_json:
            _echo_lines(
                (json.dumps(obj, ensure_ascii=False, separators=(",", ":")) for obj in diff_json(res)),
                escape=False,
            )
        else:
            _echo_lines(diff_text(res, str(a), str(b)))
        different = res.different
    finally:
        res.close()
    finish(res.a.problems + res.b.problems, status=2)  # diff(1): trouble
    click.get_current_context().exit(1 if different else 0)


@click.command("filter")
@click.argument("file", type=INPUT)
@click.option("-o", "--output", type=OUTPUT, required=True, help="Capture to write (- for stdout).")
@with_filter
@click.option("-c", "--limit", type=click.IntRange(min=0), help="Stop after this many messages.")
@skip_damaged_option
def filter_(file, output, filt, limit):
    """Write the records that pass show's filters to a new capture (like editcap).

    Gap records are kept; the metadata is kept, with the filter noted.

    \b
      p2pcap filter run.cap -o inv.cap --type inv,getdata --peer 3
      p2pcap filter run.cap -o tail.cap --since +60s
      p2pcap filter run.cap -o - --where inv.type=MSG_CLSIG | p2pcap show -
    """
    from p2pcap.analysis.editing import filter_capture

    report = filter_capture(file, output, filt, limit=limit)
    warn(report.line())
    finish(report.problems)


@click.command()
@click.argument("files", type=INPUT, nargs=-1, required=True)
@click.option("-o", "--output", type=OUTPUT, required=True, help="Capture to write (- for stdout).")
@skip_damaged_option
def merge(files, output):
    """Merge captures into one, by time (like mergecap).

    Metadata: what all inputs agree on, plus each input's under merged_from.

    \b
      p2pcap merge node1.cap node2.cap -o both.cap
    """
    from p2pcap.analysis.editing import merge_captures

    report = merge_captures(list(files), output)
    warn(report.line())
    finish(report.problems)


@click.command()
@click.argument("file", type=INPUT)
@click.option("-o", "--output", type=OUTPUT, required=True, help="Capture to write (- for stdout).")
@click.option(
    "--mapping",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write original -> placeholder as JSON (keep it private).",
)
@skip_damaged_option
def anonymize(file, output, mapping):
    """Replace peer addresses with placeholders, for a public bug report.

    Addresses in record metadata and in version, addr, addrv2, mnlistdiff
    and qrinfo payloads become 198.18.0.0/15, 2001:db8::/32 or
    peerN.invalid, consistently; the host name is dropped; everything else
    stays byte-identical.

    \b
      p2pcap anonymize run.cap -o shareable.cap
      p2pcap anonymize run.cap -o shareable.cap --mapping private-map.json
    """
    from p2pcap.analysis.anonymize import anonymize_capture

    report = anonymize_capture(file, output, mapping_path=mapping)
    warn(report.line())
    finish(report.problems)


def register(group: click.Group) -> None:
    """Add this module's commands to the ``p2pcap`` group."""
    for command in (stats, diff, filter_, merge, anonymize):
        group.add_command(command)
