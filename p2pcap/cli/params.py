"""Option values at the edge: click parameter types, and the filter options.

Sizes, durations, times and ``--where`` clauses are parsed here, once, by
the parsers in ``p2pcap.units`` and ``p2pcap.analysis``; a malformed value
is one line naming the flag and the value, exit status 2, like every other
usage mistake (click's own usage errors take three lines).  Filter words
are checked here too, before any file is opened (``p2pcap.analysis.
vocabulary``): a command, connection type, peer, direction or decoded
field that cannot occur is refused with the nearest known word, instead of
matching nothing.  The filter options are shared so that ``show``,
``filter``, ``diff`` and ``replay`` take the same flags with the same
meaning (``filter`` writes what ``show`` lists).
"""

from __future__ import annotations

import functools

import click

from p2pcap.analysis.filters import RecordFilter, parse_time, parse_where
from p2pcap.analysis.vocabulary import (
    check_command,
    check_conn_type,
    check_direction,
    check_inv_type,
    check_peer,
    check_peer_id,
    check_where,
)
from p2pcap.cli.common import UsageProblem
from p2pcap.errors import ArgumentError
from p2pcap.units import parse_duration, parse_size, split_commas


class _Parsed(click.ParamType):
    """A click type around one of our parsers (which raise ``ArgumentError``)."""

    def __init__(self, name: str, parse):
        self.name = name
        self._parse = parse

    def convert(self, value, param, ctx):
        if not isinstance(value, str):
            return value  # a default, or already converted
        try:
            return self._parse(value)
        except ArgumentError as exc:
            raise UsageProblem(exc.named(param.opts[0] if param else None)) from None


def _each(check):
    """A parser of a comma list that checks every element and keeps the text as typed."""

    def parse(text: str) -> str:
        for part in split_commas((text,)):
            check(part)
        return text

    return parse


SIZE = _Parsed("size", parse_size)
DURATION = _Parsed("duration", parse_duration)
TIME = _Parsed("time", parse_time)
WHERE = _Parsed("field=value", lambda text: check_where(parse_where(text)))
COMMANDS = _Parsed("cmd", _each(check_command))
PEERS = _Parsed("peer", _each(check_peer))
CONN_TYPES = _Parsed("type", _each(check_conn_type))
DIRECTION = _Parsed("direction", check_direction)
INV_TYPES = _Parsed("msg_type", _each(check_inv_type))
PEER_ID = _Parsed("id", check_peer_id)

_OPTIONS = [
    click.option(
        "--type",
        "types",
        type=COMMANDS,
        multiple=True,
        metavar="CMD",
        help="Only these commands (repeatable or comma list).",
    ),
    click.option(
        "--not-type",
        "not_types",
        type=COMMANDS,
        multiple=True,
        metavar="CMD",
        help="Leave out these commands (repeatable or comma list).",
    ),
    click.option(
        "--peer",
        "peers",
        type=PEERS,
        multiple=True,
        metavar="PEER",
        help="Only this peer: id, pid:id, or address with or without port (repeatable).",
    ),
    click.option("--pid", "pids", type=int, multiple=True, help="Only this node process (repeatable)."),
    click.option("--direction", type=DIRECTION, metavar="in|out", help="Only inbound or outbound messages."),
    click.option(
        "--conn-type",
        "conn_types",
        type=CONN_TYPES,
        multiple=True,
        metavar="TYPE",
        help="Only this connection type, e.g. inbound, manual, outbound (repeatable).",
    ),
    click.option(
        "--since",
        type=TIME,
        metavar="TIME",
        help="From this time: +10s (after the first message), 12:00:05, 2024-05-01T12:00:05Z, @EPOCH.",
    ),
    click.option("--until", type=TIME, metavar="TIME", help="Up to this time (same forms as --since)."),
    click.option(
        "--where",
        "wheres",
        type=WHERE,
        multiple=True,
        metavar="FIELD=VALUE",
        help="Decoded field match, e.g. inv.type=MSG_CLSIG, hash=ab12*, height>=200 "
        "(repeatable, all must hold).",
    ),
]

FILTER_KEYS = ("types", "not_types", "peers", "pids", "direction", "conn_types", "since", "until", "wheres")


def filter_options(fn):
    """Add the shared filter options to a click command."""
    for option in reversed(_OPTIONS):
        fn = option(fn)
    return fn


def build_filter(
    types=(),
    not_types=(),
    peers=(),
    pids=(),
    direction=None,
    conn_types=(),
    since=None,
    until=None,
    wheres=(),
) -> RecordFilter:
    """A ``RecordFilter`` from option values (times and clauses parsed or as text)."""
    commands = frozenset(split_commas(types)) or None
    return RecordFilter(
        commands=commands,
        exclude=frozenset(split_commas(not_types)),
        peers=split_commas(peers),
        pids=frozenset(pids),
        direction=direction,
        conn_types=split_commas(conn_types),
        since=TIME.convert(since, None, None) if since else None,
        until=TIME.convert(until, None, None) if until else None,
        where=tuple(WHERE.convert(w, None, None) for w in wheres),
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
