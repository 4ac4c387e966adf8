"""The words a filter may use, checked before anything is read.

A misspelt filter used to be answered with an empty result: ``--type
invv``, ``--conn-type banana``, ``--where nosuchfield=1`` or ``--peer abc``
matched nothing, and ``diff`` compared nothing with nothing and said
"same".  Every value is now checked against what can occur, and a word
that cannot is an ``ArgumentError`` naming it, with the nearest known word
when there is one:

>>> check_command("invv")
Traceback (most recent call last):
p2pcap.errors.ArgumentError: commands 'invv': unknown command; did you mean 'inv'?

What can occur: the commands the decoders define and every one Dash Core
knows (``CORE_COMMANDS``); Core's connection types (``CONN_TYPES``); a peer
as an id, ``pid:id`` or an address; the decoded fields of the catalogue
(``p2pcap.decoders.fields``) and the values each can hold.  A filter of
known words that matches nothing is still an empty result.
"""

from __future__ import annotations

import difflib
import ipaddress
import re

from p2pcap.analysis.filters import RecordFilter, Where
from p2pcap.errors import ArgumentError
from p2pcap.formats.capturemessages import UNKNOWN_CONN_TYPE
from p2pcap.formats.peeraddr import split_host_port
from p2pcap.formats.v1 import COMMAND_LEN

# Every message type Dash Core v23 knows (src/protocol.cpp allNetMessageTypes),
# so a real command the decoders leave undecoded can be filtered on.
CORE_COMMANDS = frozenset(
    "version verack addr addrv2 sendaddrv2 inv getdata merkleblock getblocks getheaders tx "
    "headers block getaddr mempool ping pong notfound filterload filteradd filterclear "
    "sendheaders sendcmpct cmpctblock getblocktxn blocktxn getcfilters cfilter getcfheaders "
    "cfheaders getcfcheckpt cfcheckpt sendtxrcncl spork getsporks senddsq dsa dsi dsf dss dsc "
    "dssu dstx dsq ssc govsync govobj govobjvote getmnlistd mnlistdiff qsendrecsigs qfcommit "
    "qcontrib qcomplaint qjustify qpcommit qwatch qsigsesann qsigsinv qgetsigs qbsigs qsigrec "
    "qsigshare qgetdata qdata clsig isdlock mnauth getheaders2 sendheaders2 headers2 getqrinfo "
    "qrinfo platformban".split()
)

DIRECTIONS = ("in", "out")

# Dash Core's ConnectionTypeAsString (src/node/connection_types.cpp, in
# src/net.cpp before v21), which the tracepoints pass; and what ``import``
# gives messages of Core's -capturemessages files, which do not say.
CONN_TYPES = (
    "inbound",
    "outbound-full-relay",
    "manual",
    "feeler",
    "block-relay-only",
    "addr-fetch",
    UNKNOWN_CONN_TYPE,
)
# ``--conn-type outbound`` keeps every ``outbound-*`` (RecordFilter.wants).
_CONN_PREFIXES = frozenset(t[:i] for t in CONN_TYPES for i, c in enumerate(t) if c == "-")

# A host name: labels of letters, digits, '-' (and '_', which container
# names use).  Alone it needs a dot, so that a word such as ``abc`` is not
# taken for one; with a port, one label will do (``node1:9999``).
_LABEL = r"[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?"
_DOTTED = re.compile(rf"^(?:{_LABEL}\.)+{_LABEL}\.?$|^localhost$", re.IGNORECASE)
_SINGLE = re.compile(rf"^{_LABEL}$")
_PEER_FORMS = (
    "expected a peer id (3), PID:ID (4242:3) or an address "
    "(10.0.0.1, 10.0.0.1:9999, [2001:db8::1]:9999, seed.example.org:9999)"
)


def nearest(word: str, words) -> str | None:
    """The known word closest to ``word`` (case aside), or None when none is close.

    >>> nearest("getdatta", ["getdata", "qgetdata", "inv"]), nearest("xyz", ["inv"])
    ('getdata', None)
    """
    folded = {w.lower(): w for w in words}
    close = difflib.get_close_matches(word.lower(), folded, n=1, cutoff=0.5)
    return folded[close[0]] if close else None


def _hint(guess: str | None) -> str:
    return f"; did you mean {guess!r}?" if guess else ""


def known_commands() -> frozenset[str]:
    """Every command a filter may name: Dash Core's and the decoders'.

    >>> {"inv", "getsporks", "islock", "feefilter"} <= known_commands()
    True
    """
    from p2pcap.decoders import known_commands as decodable

    return CORE_COMMANDS | decodable()


def check_command(name: str, argument: str = "commands") -> str:
    """``name`` if a capture can hold it, else an ArgumentError with the nearest command.

    Commands are compared exactly, as the records hold them (``TX`` is not ``tx``).
    The decoders are loaded only for a name Dash Core does not know.

    >>> check_command("averyverylongcommand")
    Traceback (most recent call last):
    p2pcap.errors.ArgumentError: commands 'averyverylongcommand': a command is at most 12 printable ASCII characters
    """
    if name in CORE_COMMANDS or name in known_commands():
        return name
    if len(name) > COMMAND_LEN or not all(" " <= c <= "~" for c in name):  # CMessageHeader::COMMAND_SIZE
        # the words of capture/session.py, which refuses the same for record
        problem = f"a command is at most {COMMAND_LEN} printable ASCII characters"
        raise ArgumentError(argument, problem, value=name)
    raise ArgumentError(argument, "unknown command" + _hint(nearest(name, known_commands())), value=name)


def check_inv_type(value: str, argument: str = "types") -> str:
    """An inventory type as ``propagation`` takes it: Core's name (``MSG_ISDLOCK``,
    from the decoders' table) or its number.

    >>> check_inv_type("MSG_CLSIG"), check_inv_type("29")
    ('MSG_CLSIG', '29')
    """
    from p2pcap.decoders.inventory import INV_TYPE_NAMES

    if value.isdigit() or value in INV_TYPE_NAMES.values():
        return value
    guess = nearest(value, INV_TYPE_NAMES.values())
    raise ArgumentError(argument, "unknown inventory type" + _hint(guess), value=value)


def check_direction(value: str, argument: str = "direction") -> str:
    """``in`` or ``out`` (as records hold them), else the nearest.

    >>> check_direction("out")
    'out'
    """
    if value in DIRECTIONS:
        return value
    raise ArgumentError(argument, "expected in or out" + _hint(nearest(value, DIRECTIONS)), value=value)


def check_conn_type(value: str, argument: str = "conn_types") -> str:
    """``value`` if it is a connection type or the part of one before a '-'.

    >>> check_conn_type("outbound"), check_conn_type("block-relay-only")
    ('outbound', 'block-relay-only')
    """
    if value in CONN_TYPES or value in _CONN_PREFIXES:
        return value
    guess = nearest(value, (*CONN_TYPES, *_CONN_PREFIXES))
    known = "" if guess else f" (one of {', '.join(CONN_TYPES)}; outbound is every outbound-*)"
    raise ArgumentError(argument, f"unknown connection type{known}{_hint(guess)}", value=value)


def check_peer(value: str, argument: str = "peers") -> str:
    """``value`` if it has a peer's form: an id, ``pid:id``, an IP address or a
    host name (with a dot, or with a port), each with or without a port.

    >>> [check_peer(p) for p in ("3", "4242:3", "[2001:db8::7]:51234", "seed.example.org")]
    ['3', '4242:3', '[2001:db8::7]:51234', 'seed.example.org']
    """
    text = value.strip()
    if re.fullmatch(r"\d+(?::\d+)?", text):
        return value
    host, port, bracketed = split_host_port(text)
    if port is not None and not (port.isdigit() and int(port) <= 0xFFFF):
        raise ArgumentError(argument, _PEER_FORMS, value=value)
    try:
        ipaddress.ip_address(host)
        return value
    except ValueError:
        pass
    if not bracketed and (_DOTTED.match(host) or (port is not None and _SINGLE.match(host))):
        return value
    raise ArgumentError(argument, _PEER_FORMS, value=value)


def check_peer_id(value: str, argument: str = "peers") -> int:
    """A peer id alone, as the recorder's kernel-side filter takes it.

    >>> check_peer_id("3")
    3
    """
    if value.strip().isdigit():
        return int(value)
    raise ArgumentError(
        argument, "expected a peer id, a number (the recorder filters by id only)", value=value
    )


# What each kind of field holds, said when a value cannot be one.
_HOLDS = {
    "int": "numbers",
    "enum": "numbers or names",
    "hex": "hex digits",
    "bits": "bits (0 and 1)",
    "bool": "true or false",
    "text": "names",
}


def check_where(where: Where, argument: str = "where") -> Where:
    """``where`` if its path is a decoded field and its value one that field can hold.

    The path is looked up as ``Where`` reads it (from the top, else at any
    depth; numbers pick list elements); ``=``/``!=`` values are checked
    against the fields' kinds and enum names (``<``, ``>``... already need a
    number).

    >>> from p2pcap.analysis.filters import parse_where
    >>> check_where(parse_where("inv.type=MSG_CLSIG")).value
    'MSG_CLSIG'
    >>> check_where(parse_where("inv.typ=1"))
    Traceback (most recent call last):
    p2pcap.errors.ArgumentError: where 'inv.typ=1': unknown field inv.typ; did you mean 'inv.type'?
    """
    from p2pcap.decoders.fields import catalogue

    table = catalogue()
    path = ".".join(where.path)
    fields = table.lookup(path)
    if not fields:
        guess = _nearest_path(table, where.path)
        raise ArgumentError(argument, f"unknown field {path}{_hint(guess)}", value=str(where))
    if where.op in ("=", "==", "!=") and not any(f.accepts(where.value) for f in fields):
        kinds = {f.item if f.kind == "list" else f.kind for f in fields}
        holds = " or ".join(sorted({_HOLDS[k] for k in kinds if k in _HOLDS}))
        names = {name for f in fields if f.names for name in f.names.values() if name}
        guess = nearest(where.value.rstrip("*…"), names) if names else None
        problem = f"no {path} is {where.value!r} ({path} holds {holds})"
        raise ArgumentError(argument, problem + _hint(guess), value=str(where))
    return where


def _nearest_path(table, parts) -> str | None:
    """The path nearest a misspelt one: the longest known start, then the
    nearest name after it (``inv.typ`` -> ``inv.type``)."""
    for known in range(len(parts) - 1, -1, -1):
        start = ".".join(parts[:known])
        after = table.children(start)
        if not after:
            continue
        guess = nearest(parts[known], after)
        if guess is None:
            return None
        candidate = ".".join((*parts[:known], guess, *parts[known + 1 :]))
        return candidate if table.lookup(candidate) else ".".join((*parts[:known], guess))
    return None


def check_filter(filt: RecordFilter) -> RecordFilter:
    """``filt`` if every word in it is known (see the module doc), else the first
    ArgumentError, named by the filter's attribute (``commands``, ``peers``...).

    >>> check_filter(RecordFilter(conn_types=("outbund",)))
    Traceback (most recent call last):
    p2pcap.errors.ArgumentError: conn_types 'outbund': unknown connection type; did you mean 'outbound'?
    """
    for name in sorted(filt.commands or ()):
        check_command(name, "commands")
    for name in sorted(filt.exclude):
        check_command(name, "exclude")
    for value in filt.peers:
        check_peer(value)
    for value in filt.conn_types:
        check_conn_type(value)
    for where in filt.where:
        check_where(where)
    return filt


__all__ = [
    "CONN_TYPES",
    "CORE_COMMANDS",
    "DIRECTIONS",
    "check_command",
    "check_conn_type",
    "check_direction",
    "check_filter",
    "check_inv_type",
    "check_peer",
    "check_peer_id",
    "check_where",
    "known_commands",
    "nearest",
]
