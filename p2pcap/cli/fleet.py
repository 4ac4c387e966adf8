"""CLI command ``propagation``: a thin click layer over ``p2pcap.analysis.propagation``
(registered by ``p2pcap.cli``; docs/FLEET.md)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from p2pcap.cli.common import UsageProblem, finish, warn
from p2pcap.cli.params import DISPLAY_FILTER, INV_TYPES, TIME
from p2pcap.units import split_commas

INPUT = click.Path(exists=True, path_type=Path)


def _offsets(ctx, param, values) -> dict:
    from p2pcap.analysis.propagation import parse_clock_offset
    from p2pcap.errors import ArgumentError

    out = {}
    for text in values:
        try:
            node, ns = parse_clock_offset(text)
        except ArgumentError as exc:
            raise UsageProblem(exc.named(param.opts[0])) from None
        out[node] = ns
    return out


def _ms(ns) -> str:
    return "-" if ns is None else f"{ns / 1e6:.1f}"


def summary_lines(result) -> list[str]:
    """The per-type, per-node table, then the nodes' clocks."""
    from p2pcap.analysis.propagation import CLOCK_NOTE
    from p2pcap.analysis.stats import clock_text
    from p2pcap.cli.render import fit
    from p2pcap.terminal import printable

    lines = [
        f"{len(result.nodes)} nodes ({', '.join(result.nodes)}), engine {result.engine}; "
        f"{sum(result.types.values())} objects"
    ]
    lines += ["note: " + CLOCK_NOTE.split(" (")[0], "      (" + CLOCK_NOTE.split(" (", 1)[1]]
    if result.offsets_ns:
        lines.append(
            "clock offsets corrected: "
            + ", ".join(f"{n} {ns / 1e6:+g} ms" for n, ns in sorted(result.offsets_ns.items()))
        )
    width = max([8, *(len(n) for n in result.nodes)])
    current = None
    for s in result.stats:
        if s.inv_type != current:
            current = s.inv_type
            lines += [
                "",
                f"{s.inv_type}: {result.types.get(s.inv_type, 0)} objects",
                f"  {'node':{width}} {'heard':>7} {'first':>6} {'missing':>7} {'p50 ms':>9} "
                f"{'p90 ms':>9} {'p99 ms':>9} {'max ms':>9}  peers first most often",
            ]
        peers = ", ".join(f"{printable(p) if p else '-'} ({n})" for p, n in s.top_peers)
        pct = s.percentiles_ns
        lines.append(
            fit(
                f"  {s.node:{width}} {s.heard:>7} {s.first:>6} {s.missing:>7} {_ms(pct[50]):>9} "
                f"{_ms(pct[90]):>9} {_ms(pct[99]):>9} {_ms(s.max_ns):>9}  {peers}",
                110,
            )
        )
    if not result.stats:
        lines += ["", "no inbound inventory or object messages in the inputs"]
    lines += ["", "clocks:"]
    for node in result.nodes:
        clocks = result.clocks.get(node) or [None]
        seen = []
        for c in clocks:
            text = clock_text(c)
            if text not in seen:
                seen.append(text)
        for text in seen:
            lines.append(fit(f"  {node:{width}} {text}", 110))
    return lines


@click.command()
@click.argument("inputs", metavar="CAP-OR-DATASET...", nargs=-1, required=True, type=INPUT)
@click.option(
    "--node",
    "nodes",
    multiple=True,
    metavar="NAME",
    help="Name of each capture FILE given (default: its host), once per capture, in order.",
)
@click.option(
    "--type",
    "types",
    type=INV_TYPES,
    multiple=True,
    metavar="MSG_...",
    help="Only these inv types, e.g. MSG_ISDLOCK,MSG_CLSIG (repeatable or comma list).",
)
@click.option(
    "--since", type=TIME, metavar="TIME", help="From this time (as in show; +10s is after the first event)."
)
@click.option("--until", type=TIME, metavar="TIME", help="Up to this time (same forms as --since).")
@click.option(
    "--clock-offset",
    "clock_offsets",
    multiple=True,
    metavar="NODE=±MS",
    callback=_offsets,
    help="NODE's clock runs MS ms ahead (+) or behind (-): its times are corrected (repeatable).",
)
@click.option(
    "--engine",
    type=click.Choice(["duckdb", "spark"]),
    default="duckdb",
    show_default=True,
    help="SQL engine: DuckDB in-process, or Apache Spark (pyspark and Java; --master).",
)
@click.option(
    "--master", metavar="URL", help="Spark master (local[4], spark://host:7077, yarn); default local."
)
@click.option(
    "--memory-limit",
    metavar="SIZE",
    help="DuckDB's memory limit (512MB, 2GB); past it, it spills to a temporary folder.  [default: 100MB]",
)
@click.option(
    "--temp-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where captures given as files are exported and DuckDB spills (default: the system's).",
)
@click.option(
    "-Y",
    "--filter",
    "--display-filter",
    "display_filter",
    type=DISPLAY_FILTER,
    metavar="EXPR",
    help="Only the messages of captures (given as files) this display filter selects, "
    "e.g. 'conn_type != \"block-relay-only\"'.",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="One JSON object per object (hash, inv_type, first_node, delay_ms).",
)
@click.option(
    "--plot",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Draw the delay CDF per inv type into this PNG (needs matplotlib).",
)
def propagation(
    inputs,
    nodes,
    types,
    since,
    until,
    clock_offsets,
    engine,
    master,
    memory_limit,
    temp_dir,
    display_filter,
    as_json,
    plot,
):
    """How fast inventory crosses a fleet: per object the first node and each
    node's delay; per inv type and node p50/p90/p99 and who announced first.

    \b
      p2pcap export mn1.cap mn2.cap mn3.cap --node mn1 --node mn2 --node mn3 -o fleet/
      p2pcap propagation fleet/ --type MSG_ISDLOCK,MSG_CLSIG
      p2pcap propagation fleet/ --json | jq -c 'select(.delay_ms.mn3 > 500)'
      p2pcap propagation fleet/ --engine spark --master spark://head:7077
    Inputs are captures and/or dataset folders (docs/FLEET.md).  Delays are
    only as good as the nodes' clock synchronisation.
    """
    from p2pcap.analysis.propagation import plot_delays
    from p2pcap.analysis.propagation import propagation as run

    with run(
        inputs,
        nodes=nodes,
        types=tuple(split_commas(types)),
        since=since,
        until=until,
        clock_offsets=clock_offsets,
        engine=engine,
        master=master,
        memory_limit=memory_limit,
        temp_dir=temp_dir,
        filt=_display_only(display_filter),
    ) as result:
        if plot is not None:
            plot_delays(result, plot)
        stdout = click.get_text_stream("stdout")
        if as_json:
            for obj in result.objects():
                stdout.write(json.dumps(obj.as_json(), separators=(",", ":")) + "\n")
        else:
            for line in summary_lines(result):
                stdout.write(line + "\n")
        stdout.flush()
        if as_json:
            from p2pcap.analysis.propagation import CLOCK_NOTE

            warn(f"note: {CLOCK_NOTE}")
        if plot is not None:
            warn(f"plot written to {plot}")
        problems = result.problems
    finish(problems)


def _display_only(display):
    """A ``RecordFilter`` of the display filter alone, or None."""
    if display is None:
        return None
    from p2pcap.analysis.filters import RecordFilter

    return RecordFilter(display=display)


def register(group: click.Group) -> None:
    """Add ``propagation`` to the ``p2pcap`` group."""
    group.add_command(propagation)
