"""Every name a display filter may use, and what each holds.

Four families, looked up in this order:

* the record's own fields (``RECORD``): ``command``, ``peer.id``,
  ``peer.addr``, ``dir``, ``size``, ``time``, ``reltime``... -- what the
  capture stores beside the payload, and the protocol version and network
  the payload is decoded with;
* helpers every object message has (``HELPERS``): ``object.hash`` (the hash
  an ``inv`` would name, ``p2pcap.decoders.announced``), ``object.type``
  (its inventory type), ``object.txid`` and ``object.block`` (the
  transactions and blocks a message is, carries, locks or names);
* a command alone (``clsig``): the message is one, like Wireshark's
  protocol names; compared, it is the payload's bytes;
* the decoded fields of the field catalogue (``p2pcap.decoders.fields``),
  by their display name (``inv.type``, ``qsigshare.quorum_hash``) or as
  the command and the JSON path (``qsigshare.sig_shares.quorum_hash``), and
  decode()'s own ``unknown`` and ``raw``.

>>> resolve("inv.type").kind, resolve("inv.type").commands, resolve("peer.id").kind
('enum', frozenset({'inv'}), 'int')
>>> resolve("qsigshare.sig_shares.quorum_hash").name, resolve("clsig").kind
('qsigshare.quorum_hash', 'proto')
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field, replace

from p2pcap.analysis.vocabulary import CONN_TYPES, CORE_COMMANDS, DIRECTIONS, known_commands, nearest
from p2pcap.formats.v1 import NETWORKS

EVERY = None  # ``FieldSpec.commands`` of a field every message may have


@dataclass(frozen=True)
class FieldSpec:
    """One name: ``kind`` (int, enum, bool, bytes, text, bits, time, reltime,
    proto, list, struct), ``item`` (a list's elements' kind), ``source``
    (record, decoded, helper, proto), ``key`` (what the source reads: a
    record attribute, a path in the decoded dict, a helper's or a command's
    name), ``commands`` (the messages that may carry it; None: any),
    ``names`` (an enum's number -> name), ``words`` (the only values a text
    may hold, when they are known), ``versions`` (protocol version ranges),
    ``optional``, ``repeated`` and a one-line ``doc``."""

    name: str
    kind: str
    source: str
    key: object
    commands: frozenset | None = EVERY
    item: str | None = None
    names: dict | None = field(default=None, compare=False, repr=False)
    words: tuple | None = None
    versions: tuple = ((None, None),)
    optional: bool = False
    repeated: bool = False
    doc: str = ""

    @property
    def scalar(self) -> str | None:
        """The kind of each value compared: a list's elements', None for structures."""
        kind = self.item if self.kind == "list" else self.kind
        return None if kind in ("struct", "list", None) else kind


def _record(name, kind, key, doc, **extra) -> FieldSpec:
    return FieldSpec(name, kind, "record", key, doc=doc, **extra)


RECORD = {
    f.name: f
    for f in (
        _record("command", "text", "command", "the message's command (inv, tx, clsig...)"),
        _record("peer.id", "int", "peer_id", "the node's id for the peer"),
        _record("peer.addr", "text", "peer_addr", "the peer's address as the node gave it (host:port)"),
        _record("peer.host", "text", "peer_host", "the peer's address without the port"),
        _record("conn_type", "text", "conn_type", "the connection type", words=CONN_TYPES),
        _record("dir", "text", "direction", "in (received) or out (sent)", words=DIRECTIONS),
        _record("size", "int", "msg_size", "the payload's size as sent, in bytes (1K, 1M: powers of 1024)"),
        _record(
            "captured_len", "int", "captured_len", "the payload bytes kept (less than size with --snaplen)"
        ),
        _record("time", "time", "ts_ns", 'when the message was traced ("2026-12-01 10:00", +10s, 12:00:05)'),
        _record("reltime", "reltime", "reltime", "seconds since the capture's first record (5, 1.5, 250ms)"),
        _record("pid", "int", "pid", "the node's process id"),
        _record("protocol_version", "int", "protocol_version", "the version the payload is decoded with"),
        _record("network", "text", "network", "the network the capture names", words=NETWORKS, optional=True),
        _record("payload", "bytes", "payload", "the payload's bytes"),
        _record(
            "partial",
            "bool",
            "partial",
            "there (and true) only when fewer payload bytes were kept than sent",
            optional=True,
        ),
        _record(
            "error", "text", "error", "why the payload did not decode (absent when it did)", optional=True
        ),
    )
}
# Names people reach for first (the JSON's keys), for "did you mean".
ALIASES = {
    "direction": "dir",
    "peer_id": "peer.id",
    "peer_addr": "peer.addr",
    "msg_size": "size",
    "ts_ns": "time",
    "frame.len": "size",
    "frame.time": "time",
    "frame.time_relative": "reltime",
}

# The commands each helper reads, and from where (helpers.py does the reading).
INVENTORIES = frozenset(("inv", "getdata", "notfound"))
TX_CARRIERS = frozenset(("tx", "dstx", "islock", "isdlock", "block", "blocktxn", "cmpctblock"))
BLOCK_CARRIERS = frozenset(
    ("block", "merkleblock", "cmpctblock", "headers", "headers2", "clsig", "getblocktxn", "blocktxn")
)


@functools.cache
def _helpers() -> dict:
    from p2pcap.decoders.announce import _OBJECTS
    from p2pcap.decoders.inventory import INV_TYPE_NAMES

    objects = INVENTORIES | frozenset(_OBJECTS)
    types = {name: name for name in INV_TYPE_NAMES.values()}
    return {
        f.name: f
        for f in (
            FieldSpec(
                "object.hash", "bytes", "helper", "hash", objects, repeated=True,
                doc="the hash an inv names the message (or each item of an inv, getdata, notfound) by",
            ),
            FieldSpec(
                "object.type", "text", "helper", "type", objects, names=types, repeated=True,
                doc="the inventory type of object.hash (MSG_TX, MSG_CLSIG...)",
            ),
            FieldSpec(
                "object.txid", "bytes", "helper", "txid", INVENTORIES | TX_CARRIERS, repeated=True,
                doc="the transactions the message is, carries, locks, or names in an inventory",
            ),
            FieldSpec(
                "object.block", "bytes", "helper", "block", INVENTORIES | BLOCK_CARRIERS, repeated=True,
                doc="the blocks the message is, announces, signs, or names in an inventory",
            ),
        )
    }  # fmt: skip


def helpers() -> dict:
    """``object.*``: name -> FieldSpec."""
    return _helpers()


def protocol(command: str) -> FieldSpec:
    return FieldSpec(
        command, "proto", "proto", command, frozenset((command,)), doc=f"the message's command is {command}"
    )


@functools.cache
def _decoded(name: str) -> FieldSpec | None:
    from p2pcap.decoders.fields import catalogue

    table = catalogue()
    f = table.field(name)
    if f is None:
        command, _, path = name.partition(".")
        if path and command in table.commands:
            f = next((x for x in table.fields(command) if x.command == command and x.path == path), None)
    if f is None:
        return None
    kind = {"hex": "bytes", "any": "text"}.get(f.kind, f.kind)
    item = {"hex": "bytes", "any": "text"}.get(f.item, f.item)
    commands = frozenset((f.command,)) if f.command else EVERY
    return FieldSpec(
        f.name, kind, "decoded", tuple(f.path.split(".")), commands, item=item, names=f.names,
        versions=f.versions, optional=f.optional, repeated=f.repeated,
    )  # fmt: skip


def resolve(name: str) -> FieldSpec | None:
    """The FieldSpec of ``name`` (see the module doc), or None."""
    spec = RECORD.get(name) or (helpers().get(name) if name.startswith("object.") else None)
    if spec is not None:
        return spec
    if name in CORE_COMMANDS or name in known_commands():  # Core's first: the decoders load later
        return protocol(name)
    if "." not in name and name not in ("unknown", "raw"):
        return None
    return _decoded(name)


@functools.cache
def every_name() -> tuple[str, ...]:
    """Every name, record fields first (for completion and suggestions)."""
    from p2pcap.decoders.fields import catalogue

    decoded = [f.name for f in catalogue().fields() if "." in f.name and f.command is not None]
    return (*RECORD, *helpers(), *sorted(known_commands()), *decoded, "unknown", "raw")


def suggest(name: str) -> str | None:
    """The known name nearest a misspelt one: among the names under the same
    first part (``inv.typ`` -> ``inv.type``), else among the first parts."""
    if name in ALIASES:
        return ALIASES[name]
    head, dot, _rest = name.partition(".")
    names = every_name()
    if dot:
        under = [n for n in names if n.startswith(head + ".")]
        if under:
            return nearest(name, under)
        guess = nearest(head, {n.partition(".")[0] for n in names})
        if guess is not None:
            return (
                nearest(guess + name[len(head) :], [n for n in names if n.startswith(guess + ".")]) or guess
            )
        return None
    return nearest(name, [n for n in names if "." not in n] + [n for n in RECORD if "." in n])


def field_rows(command: str | None = None) -> list[dict]:
    """What ``p2pcap fields`` lists: every name with its type, the commands
    that carry it (None: every message) and the protocol versions where it
    exists; of one ``command`` only (and the fields every message has).

    >>> [r for r in field_rows("clsig") if r["name"] == "clsig.height"][0]["type"]
    'int'
    """
    from p2pcap.decoders.fields import catalogue

    table = catalogue()
    specs = [*RECORD.values(), *helpers().values()]
    commands = (command,) if command is not None else sorted(known_commands())
    for name in commands:
        specs.append(protocol(name))
        specs += [_decoded(f.name) for f in table.fields(name) if f.command == name and "." in f.name]
    specs += [
        replace(_decoded("unknown"), doc="true for a command without a definition: its payload is in raw"),
        replace(_decoded("raw"), doc="the payload of a command without a definition"),
    ]
    rows = []
    for spec in specs:
        if command is not None and spec.commands is not None and command not in spec.commands:
            continue
        rows.append(
            {
                "name": spec.name,
                "type": _TYPE_NAMES.get(spec.kind, spec.kind) + (f" of {spec.item}" if spec.item else ""),
                "commands": None if spec.commands is None else sorted(spec.commands),
                "versions": [list(r) for r in spec.versions],
                "optional": spec.optional,
                "repeated": spec.repeated,
                "names": {str(k): v for k, v in spec.names.items()} if spec.names else None,
                "doc": spec.doc,
            }
        )
    return rows


_TYPE_NAMES = {"reltime": "seconds", "proto": "protocol"}

__all__ = [
    "ALIASES",
    "EVERY",
    "RECORD",
    "FieldSpec",
    "every_name",
    "field_rows",
    "helpers",
    "protocol",
    "resolve",
    "suggest",
]
