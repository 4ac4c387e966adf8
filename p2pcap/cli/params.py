"""Option values at the edge: click parameter types, and the filter options.

Sizes, durations, times and ``--where`` clauses are parsed here, once, by
the parsers in ``p2pcap.units`` and ``p2pcap.analysis``; a malformed value
is one line naming the flag and the value, exit status 2, like every other
usage mistake (click's own usage errors take three lines).  Filter words
are checked here too, before any file is opened (``p2pcap.analysis.
vocabulary``): a command, connection type, peer, direction or decoded
field that cannot occur is refused with the nearest known word, instead of
matching nothing.  The filter options are shared so that ``show``,
``stats``, ``filter``, ``diff``, ``export`` and ``replay`` take the same
flags with the same meaning (``filter`` writes what ``show`` lists); ``-Y``
takes a display filter (``p2pcap.analysis.dfilter``), compiled here once,
and the shorthands (``--type``, ``--peer``, ``--where``...) still hold
beside it.  The types complete in the shell (click's completion): commands
for ``--type``, field names for ``-Y`` and ``--where``.
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
    """A click type around one of our parsers (which raise ``ArgumentError``);
    ``complete(text)`` gives the shell's completions of a partial value."""

    def __init__(self, name: str, parse, complete=None):
        self.name = name
        self._parse = parse
        self._complete = complete

    def shell_complete(self, ctx, param, incomplete):
        from click.shell_completion import CompletionItem

        if self._complete is None:
            return []
        return [CompletionItem(text) for text in self._complete(incomplete)]

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


def _complete_commands(incomplete: str) -> list[str]:
    """``inv,get`` -> ``inv,getdata``, ``inv,getheaders``...: the last of a comma list."""
    from p2pcap.analysis.vocabulary import known_commands

    head, _, last = incomplete.rpartition(",")
    start = head + "," if head else ""
    return [start + c for c in sorted(known_commands()) if c.startswith(last)]


def _complete_filter(incomplete: str) -> list[str]:
    """A display filter's last word completed to the field names it starts."""
    from p2pcap.analysis.dfilter import every_name

    cut = max(incomplete.rfind(c) for c in " (!&|{,")
    head, word = incomplete[: cut + 1], incomplete[cut + 1 :]
    names = [n for n in every_name() if n.startswith(word)]
    if len(names) > 200:  # the next part, not 2,000 names: "inv." before "inv.type"
        names = sorted(
            {n[: len(word) + n[len(word) :].find(".") + 1] if "." in n[len(word) :] else n for n in names}
        )
    return [head + n for n in names]


def _complete_where(incomplete: str) -> list[str]:
    """``--where``'s paths (as the decoded JSON has them), then an enum's names after ``=``."""
    from p2pcap.decoders.fields import catalogue

    path, equals, value = incomplete.partition("=")
    if equals:
        names = {n for f in catalogue().lookup(path) if f.names for n in f.names.values() if n}
        return [f"{path}={n}" for n in sorted(names) if n.lower().startswith(value.lower())]
    return sorted({f.path for f in catalogue().fields() if f.path.startswith(path)})


SIZE = _Parsed("size", parse_size)
DURATION = _Parsed("duration", parse_duration)
TIME = _Parsed("time", parse_time)
WHERE = _Parsed("field=value", lambda text: check_where(parse_where(text)), _complete_where)


def compile_filter(text: str):
    """``dfilter.compile_filter``, imported when a filter is given (not for ``--help``)."""
    from p2pcap.analysis.dfilter import compile_filter as compile_it

    return compile_it(text)


DISPLAY_FILTER = _Parsed("filter", compile_filter, _complete_filter)
COMMANDS = _Parsed("cmd", _each(check_command), _complete_commands)
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
    click.option(
        "-Y",
        "--filter",
        "--display-filter",
        "display_filter",
        type=DISPLAY_FILTER,
        metavar="EXPR",
        help="A display filter as in Wireshark, e.g. 'inv.type == MSG_TX && dir == \"in\"' "
        "(fields: p2pcap fields; with the options above, all must hold).",
    ),
]

FILTER_KEYS = (
    "types",
    "not_types",
    "peers",
    "pids",
    "direction",
    "conn_types",
    "since",
    "until",
    "wheres",
    "display_filter",
)


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
    display_filter=None,
) -> RecordFilter:
    """A ``RecordFilter`` from option values (times, clauses and the display filter
    parsed or as text)."""
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
        display=DISPLAY_FILTER.convert(display_filter, None, None) if display_filter else None,
    )


def kernel_filter(display, types=(), peers=(), direction=None) -> tuple[tuple, tuple, str | None]:
    """``record``'s (types, peers, direction) with a display filter's kernel part
    and-ed in (``DisplayFilter.kernel_terms``, which refuses what needs user space).

    >>> kernel_filter(compile_filter('command in {inv tx} && dir == "in"'), ("tx,ping",))
    (('tx',), (), 'in')
    """
    if display is None:
        return tuple(types), tuple(peers), direction
    commands, ids, way = display.kernel_terms()
    if commands is not None:
        given = set(split_commas(types))
        commands = commands & given if given else commands
        if not commands:
            raise ArgumentError("display_filter", "{arg} and --type keep no command in common")
        types = (",".join(sorted(commands)),)
    if ids is not None:
        ids = ids & set(peers) if peers else ids
        if not ids:
            raise ArgumentError("display_filter", "{arg} and --peer keep no peer in common")
        peers = tuple(sorted(ids))
    if way is not None:
        if direction is not None and direction != way:
            raise ArgumentError("display_filter", "{arg} and --direction keep no direction in common")
        direction = way
    return tuple(types), tuple(peers), direction


def pop_filter(kwargs: dict) -> RecordFilter:
    """Take the filter options out of a command's ``kwargs`` and build the filter."""
    return build_filter(**{k: kwargs.pop(k) for k in FILTER_KEYS})


def with_filter(fn):
    """Decorator: the command gets ``filt=RecordFilter`` instead of the ten options."""

    @filter_options
    @functools.wraps(fn)
    def wrapper(**kwargs):
        return fn(filt=pop_filter(kwargs), **kwargs)

    return wrapper
