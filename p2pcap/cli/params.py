"""The filter options ``show`` and ``filter`` share, and what they build.

Kept apart from the commands so both take exactly the same flags with the
same meaning (``filter`` writes what ``show`` would list).
"""

from __future__ import annotations

import functools

import click

from p2pcap.analysis.filters import RecordFilter, parse_time, parse_where, split_commas

_OPTIONS = [
    click.option("--type", "types", multiple=True, metavar="CMD",
                 help="Only these commands (repeatable or comma list)."),
    click.option("--not-type", "not_types", multiple=True, metavar="CMD",
                 help="Leave out these commands (repeatable or comma list)."),
    click.option("--peer", "peers", multiple=True, metavar="PEER",
                 help="Only this peer: id, pid:id, or address with or without port (repeatable)."),
    click.option("--pid", "pids", type=int, multiple=True, help="Only this node process (repeatable)."),
    click.option("--direction", type=click.Choice(["in", "out"]), help="Only inbound or outbound messages."),
    click.option("--conn-type", "conn_types", multiple=True, metavar="TYPE",
                 help="Only this connection type, e.g. inbound, manual, outbound (repeatable)."),
    click.option("--since", metavar="TIME",
                 help="From this time: +10s (after the first message), 12:00:05, 2024-05-01T12:00:05Z, @EPOCH."),
    click.option("--until", metavar="TIME", help="Up to this time (same forms as --since)."),
    click.option("--where", "wheres", multiple=True, metavar="FIELD=VALUE",
                 help="Decoded field match, e.g. inv.type=MSG_CLSIG, hash=ab12*, height>=200 "
                      "(repeatable, all must hold)."),
]

FILTER_KEYS = ("types", "not_types", "peers", "pids", "direction", "conn_types", "since", "until", "wheres")


def filter_options(fn):
    """Add the shared filter options to a click command."""
    for option in reversed(_OPTIONS):
        fn = option(fn)
    return fn


def build_filter(types=(), not_types=(), peers=(), pids=(), direction=None, conn_types=(), since=None,
                 until=None, wheres=()) -> RecordFilter:
    """A ``RecordFilter`` from option values; malformed values raise ``P2pcapError``."""
    commands = frozenset(split_commas(types)) or None
    return RecordFilter(
        commands=commands,
        exclude=frozenset(split_commas(not_types)),
        peers=split_commas(peers),
        pids=frozenset(pids),
        direction=direction,
        conn_types=split_commas(conn_types),
        since=parse_time(since) if since else None,
        until=parse_time(until) if until else None,
        where=tuple(parse_where(w) for w in wheres),
    )


def pop_filter(kwargs: dict) -> RecordFilter:
    """Take the filter options out of a command's ``kwargs`` and build the filter."""
    return build_filter(**{k: kwargs.pop(k) for k in FILTER_KEYS})


def with_filter(fn):
    """Decorator: the command gets ``filt=RecordFilter`` instead of the nine options."""

    @filter_options
    @functools.wraps(fn)
    def wrapper(**kwargs):
        return fn(filt=pop_filter(kwargs), **kwargs)

    return wrapper
