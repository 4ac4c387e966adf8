"""CLI command ``fields``: what a display filter can name (like ``tshark -G fields``).

Every field with its type, the commands that carry it and the protocol
versions where it exists, from ``p2pcap.analysis.dfilter.names.field_rows``
(the record's own fields, the ``object.*`` helpers, each command and the
field catalogue the decoders' definitions give).  Registered by ``p2pcap.cli``.
"""

from __future__ import annotations

import json
import sys

import click

from p2pcap.cli.params import COMMANDS
from p2pcap.terminal import printable


def versions_text(ranges) -> str:
    """``[[70226, None]]`` -> ``70226-``; every version -> ``all``.

    >>> versions_text([[None, None]]), versions_text([[70226, None]]), versions_text([[None, 70225], [70230, 70231]])
    ('all', '70226-', '-70225, 70230-70231')
    """
    parts = []
    for low, high in ranges:
        if low is None and high is None:
            return "all"
        parts.append(f"{'' if low is None else low}-{'' if high is None else high}")
    return ", ".join(parts)


def field_lines(rows) -> list[str]:
    """The text table: name, type, commands (the first few), versions, and what it is."""
    width = min(40, max([5, *(len(r["name"]) for r in rows)]))
    kinds = max([4, *(len(r["type"]) for r in rows)])
    lines = [f"{'field':{width}}  {'type':{kinds}}  {'commands':16} {'versions':13} about"]
    for r in rows:
        commands = _commands_text(r["commands"])
        versions = versions_text(r["versions"])
        line = f"{r['name']:{width}}  {r['type']:{kinds}}  {commands:16} {versions:13} {r['doc']}"
        lines.append(line.rstrip())
    return lines


def _commands_text(commands) -> str:
    if commands is None:
        return "every message"
    if len(commands) <= 2:
        return ",".join(commands)
    return f"{len(commands)} commands"


@click.command()
@click.argument("command", required=False, type=COMMANDS, metavar="[COMMAND]")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per field (with an enum's names).")
def fields(command, as_json):
    """List the fields a display filter (-Y) can name, with their types, the
    commands that carry them and the protocol versions where they exist.

    \b
      p2pcap fields                 # every field of every command
      p2pcap fields clsig           # a clsig's, and those every message has
      p2pcap fields --json | jq -r 'select(.type == "enum") | .name'
    """
    from p2pcap.analysis.dfilter.names import field_rows

    rows = field_rows(command)
    out = sys.stdout
    if as_json:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n")
    else:
        for line in field_lines(rows):
            out.write(printable(line, backslash=False) + "\n")
    out.flush()


def register(group: click.Group) -> None:
    """Add ``fields`` to the ``p2pcap`` group."""
    group.add_command(fields)
