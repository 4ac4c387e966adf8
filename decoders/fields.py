"""The field catalogue: every field a decoded message can hold, from the definitions.

Nothing here is a list of fields written by hand.  ``catalogue()`` walks
the construct of every command in the registry (registry.py) -- Structs,
vectors, ``If``/``IfThenElse`` on the protocol version, ``Trailing``
groups, the hash a message gets (``Identified``, a transaction's txid) and
the names ``Named`` gives numbers -- and yields each field under the path
``decode()`` puts it at, with its kind, the commands that carry it and the
protocol versions where it exists.  Filters check ``--where`` against it
before reading anything; ``p2pcap fields`` and display filters name fields
with it.

>>> f = catalogue().field("inv.type")
>>> f.command, f.path, f.kind, f.names[29], f.repeated
('inv', 'inv.type', 'enum', 'MSG_CLSIG', True)
>>> catalogue().field("tx.vin.prevout.hash").kind, catalogue().field("qsigshare.quorum_hash").path
('hex', 'sig_shares.quorum_hash')
>>> catalogue().field("dsq.protx_hash").versions
((70226, None),)

Kinds: ``int``, ``bool``, ``hex`` (bytes and hashes, as decode shows them),
``text``, ``bits`` (a bitset as a '0'/'1' string), ``enum`` (a number with
names), ``list`` (``item`` gives its elements' kind), ``struct`` and
``any`` (a value whose kind the definition does not say).  How constructs
are read is fieldwalk.py's; tests/decoders/test_fields.py checks that
every construct in the registry is known there and that the catalogue
holds every path of the decoded test vectors, with its kind and version.
The catalogue is built on first use (about 0.1 s), not at import.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

KINDS = ("int", "bool", "hex", "text", "bits", "enum", "list", "struct", "any")


@dataclass(frozen=True)
class Field:
    """One field of one command, as ``decode()`` gives it.

    ``path`` is its dotted path in the decoded dict (``--where`` takes it;
    lists are passed through: ``vin.prevout.hash`` is every input's).
    ``name`` is the command and the path, the display-filter name; for a
    message that is one vector of structures (inv, headers, qsigshare...)
    the vector's key is left out: ``inv.type``, ``qsigshare.quorum_hash``.
    ``versions`` are inclusive (low, high) ranges of protocol versions,
    None for an open end; ``optional``: the field may be null or missing in
    them; ``repeated``: it lies in a list; ``names``: an enum's number ->
    name table (given on the number and on its name's text); ``label``: the
    key of an enum's name beside it (``type_name``, ``spork_name``);
    ``item``: a list's elements' kind.  ``command`` is None for decode()'s
    own keys.
    """

    command: str | None
    path: str
    name: str
    kind: str
    item: str | None = None
    names: dict | None = field(default=None, compare=False, repr=False)
    versions: tuple = ((None, None),)
    optional: bool = False
    repeated: bool = False
    label: str | None = None

    def accepts(self, value: str) -> bool:
        """Whether ``value`` (``--where`` text) could equal this field: a
        number for numbers, a name for enums, hex digits for bytes...  A
        trailing ``*`` or ``…`` makes a prefix, and null/none matches a
        missing value.

        >>> f = catalogue().field("inv.type")
        >>> f.accepts("29"), f.accepts("msg_clsig"), f.accepts("MSG_CL*"), f.accepts("MSG_NOPE")
        (True, True, True, False)
        """
        return _accepts(self.item if self.kind == "list" else self.kind, self.names, value)


def _accepts(kind, names, value: str) -> bool:
    text = value.strip()
    if text.lower() in ("null", "none", ""):
        return True
    prefix = text.endswith(("*", "…"))
    stem = text[:-1].lower() if prefix else text.lower()
    if kind in ("int", "enum") and _is_number(text):
        return True
    if kind == "enum" or (kind == "text" and names):
        return any(n.lower().startswith(stem) if prefix else n.lower() == stem for n in names.values())
    if kind == "int":
        return False
    if kind == "bool":
        return stem in ("true", "false", "1", "0", "yes", "no")
    if kind == "hex":
        return all(c in "0123456789abcdef" for c in stem)
    if kind == "bits":
        return not stem.strip("01")
    return True  # text, any, struct: anything may be typed


def _is_number(text: str) -> bool:
    try:
        int(text, 0)
    except ValueError:
        try:
            float(text)
        except ValueError:
            return False
    return True


# -- the catalogue -------------------------------------------------------------------
# Keys decode() adds itself: a payload cut by a snap length (decode_partial)
# and a command without a definition.
_ENVELOPE = (
    Field(None, "partial", "partial", "bool", optional=True),
    Field(None, "error", "error", "text", optional=True),
    Field(None, "unknown", "unknown", "bool", optional=True),
    Field(None, "raw", "raw", "hex", optional=True),
)


class Catalogue:
    """The fields of every command in ``messages`` (registry.MESSAGES; see the module doc)."""

    def __init__(self, messages: dict):
        from .fieldwalk import EVERY, Walker

        walker = Walker()
        self._roots = {command: walker.node(c, EVERY) for command, c in messages.items()}
        self.unknown = frozenset(walker.unknown)  # constructs the walker did not know
        self._fields: dict[str, list[Field]] = {}
        self._by_path: dict[str, dict[str, Field]] = {}
        self._starts: dict[str, dict[str, list]] = {}  # command -> key -> (path, struct) holding it
        self._by_name: dict[str, Field] = {}
        for command, root in self._roots.items():
            out = self._fields[command] = []
            _flatten(command, root, (), _collapsed(root), False, out)
            self._by_name.update((f.name, f) for f in out)
            self._by_path[command] = {f.path: f for f in out}
            starts = self._starts[command] = {}
            for prefix, node in _structs(root, ()):
                for key in node.children:
                    starts.setdefault(key, []).append((prefix, node))

    @property
    def commands(self) -> tuple[str, ...]:
        """The commands with a definition, in registry order."""
        return tuple(self._roots)

    def fields(self, command: str | None = None) -> list[Field]:
        """Every field of ``command`` (of every command when None) in wire order;
        decode()'s own keys (``partial``, ``error``, ``unknown``, ``raw``) last."""
        commands = self._roots if command is None else (command,)
        own = [f for c in commands for f in self._fields.get(c, ())]
        defined = {f.path for f in own} if command is not None else set()
        return own + [f for f in _ENVELOPE if f.path not in defined]  # qgetdata has its own error

    def field(self, name: str) -> Field | None:
        """A field by its display name (``inv.type``), or None."""
        return self._by_name.get(name) or next((f for f in _ENVELOPE if f.name == name), None)

    def lookup(self, path: str, commands=None) -> list[Field]:
        """The fields a ``--where`` path reaches, in ``commands`` (default all).

        A path is read from the top of the decoded dict; when its first name
        is not a top-level key it is looked for in every nested structure (as
        ``p2pcap.analysis.filters.Where`` matches).  Lists are passed through,
        and a number picks one element (``vin.0.prevout.hash``).

        >>> sorted({f.command for f in catalogue().lookup("prevout.hash")})[:3]
        ['block', 'blocktxn', 'cmpctblock']
        """
        parts = tuple(path.split("."))
        found: list[Field] = []
        for command in self._roots if commands is None else commands:
            if command not in self._roots:
                continue
            by_path = self._by_path[command]
            for prefix, node in self._start(command, parts[0]):
                for reached in _reach(node, parts, 0, prefix):
                    found.append(by_path[".".join(reached)])
        found.extend(f for f in _ENVELOPE if f.path == path)
        return found

    def children(self, path: str, commands=None) -> set[str]:
        """The names that may follow ``path`` (all top-level and nested names for "")."""
        names: set[str] = set()
        for command in self._roots if commands is None else commands:
            root = self._roots.get(command)
            if root is None:
                continue
            if not path:
                names.update(key for _p, node in _structs(root, ()) for key in node.children)
                continue
            parts = tuple(path.split("."))
            for prefix, node in self._start(command, parts[0]):
                for reached in _reach(node, parts, 0, prefix, nodes=True):
                    names.update(_keys_below(reached))
        if not path:
            names.update(f.path for f in _ENVELOPE)
        return names

    def _start(self, command: str, first: str) -> list:
        """Where a path starting with ``first`` is read: the top, else every nested structure."""
        root = self._roots[command]
        if root.kind == "struct" and first in root.children:
            return [((), root)]
        return self._starts[command].get(first, [])


def _collapsed(root) -> bool:
    """A message that is one vector of structures names its fields without the vector's key."""
    if root is None or root.kind != "struct" or len(root.children) != 1:
        return False
    (only,) = root.children.values()
    return only.kind == "list" and only.item is not None and only.item.kind == "struct"


def _flatten(command, node, parts, collapse, repeated, out) -> None:
    if node is None:
        return
    if parts:
        shown = parts[1:] if collapse else parts
        out.append(
            Field(
                command,
                ".".join(parts),
                ".".join((command, *shown)),
                node.kind,
                item=node.item.kind if node.kind == "list" and node.item is not None else None,
                names=node.names or (node.item.names if node.kind == "list" and node.item else None),
                versions=_ranges(node.at),
                optional=node.optional,
                repeated=repeated,
                label=node.label,
            )
        )
    inner, repeated = (node.item, True) if node.kind == "list" else (node, repeated)
    while inner is not None and inner.kind == "list":
        inner = inner.item
    if inner is not None and inner.kind == "struct":
        for key, child in inner.children.items():
            _flatten(command, child, (*parts, key), collapse, repeated, out)


@functools.cache
def _ranges(at: frozenset) -> tuple:
    """PROBES where a field exists -> inclusive (low, high) ranges, None for an open end."""
    from .fieldwalk import PROBES

    out, start, last = [], None, None
    for version in PROBES:
        if version in at:
            start, last = (version if start is None else start), version
        elif start is not None:
            out.append((start, last))
            start = None
    if start is not None:
        out.append((start, last))
    lo, hi = PROBES[0], PROBES[-1]
    return tuple((None if a == lo else a, None if b == hi else b) for a, b in out)


def _structs(node, prefix):
    """(path, struct node) of every structure in ``node``, depth first."""
    while node is not None and node.kind == "list":
        node = node.item
    if node is None or node.kind != "struct":
        return
    yield prefix, node
    for key, child in node.children.items():
        if child is not None:
            yield from _structs(child, (*prefix, key))


def _reach(node, parts, i, prefix, nodes=False):
    """The paths (or nodes) ``parts[i:]`` reaches from ``node`` (filters.py ``_walk``)."""
    while node is not None and node.kind == "list":
        if parts[i].isdigit():
            if i == len(parts) - 1:
                return [node.item if nodes else prefix]
            i += 1
        node = node.item
    if node is None or node.kind != "struct" or parts[i] not in node.children:
        return []
    child, here = node.children[parts[i]], (*prefix, parts[i])
    if i == len(parts) - 1:
        return [child if nodes else here]
    return _reach(child, parts, i + 1, here, nodes)


def _keys_below(node) -> set:
    while node is not None and node.kind == "list":
        node = node.item
    return set(node.children) if node is not None and node.kind == "struct" else set()


@functools.cache
def catalogue() -> Catalogue:
    """The catalogue of the registry, built on first use (about 0.1 s)."""
    from .registry import MESSAGES

    return Catalogue(MESSAGES)


__all__ = ["KINDS", "Catalogue", "Field", "catalogue"]
