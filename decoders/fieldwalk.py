"""The walk behind the field catalogue (fields.py): a message's construct -> a tree.

Each construct becomes a ``Node`` saying what it parses to (its kind, its
keys, its elements) and at which protocol versions: an ``If`` or
``IfThenElse`` is tried at every version around the constants of
versions.py, in a parse context where only ``_params.version`` is known,
so a condition on the version gives exact bounds and a condition on the
payload (``this.version``, a tx type) is "either way".

The constructs of this package are known by what they return: scalars by
``_SCALARS``, the rest by ``Walker.special``; a construct that holds a
``subcon`` and is not an Adapter is taken to return what it wraps (a
bound, a fast twin of its layout).  A ``Computed`` helper's kind is not in
its definition: ``_COMPUTED`` gives it, ``structs.Named`` gives a name
(and makes its number an enum), ``Computed(this.x)`` repeats ``x``.
Anything else is ``any`` and named in ``Walker.unknown``, which the tests
require to be empty; the tests also decode every test vector and find
each of its paths here, which is what holds the assumptions above.
"""

from __future__ import annotations

import functools
import inspect

import construct
from construct import Computed, FormatField, IfThenElse, Pass, Renamed, Switch, Terminated

from . import versions as _versions
from .addr import AddressV2
from .bitsets import AutoBitSet, DynBitSet, FixedBitSet, VarIntsBitSet
from .blocks import _DiffIndexes, _FlagBits, _Prefilled, _ShortIds
from .commitment import KnownVersion
from .headers import CompressedHeaders
from .primitives import (
    CompactSize,
    CompactSizeMax,
    Hex,
    Identified,
    Trailing,
    VarBytes,
    VarInt,
    VarStr,
    _IPv6Text,
)
from .special_tx import SPECIAL_PAYLOADS
from .structs import FocusedSeq, Struct
from .transaction import Transaction, _ExtraPayload, _FromContext, _WithTxid
from .vectors import Vector

# The protocol versions a condition is tried at: each constant of
# versions.py and its neighbours, so ``>=``, ``<`` and ``<=`` all show.
_CONSTANTS = sorted({v for k, v in vars(_versions).items() if k.isupper() and isinstance(v, int)})
PROBES = tuple(sorted({1, *(c + d for c in _CONSTANTS for d in (-1, 0, 1))}))
EVERY = frozenset(PROBES)


class Node:
    """What one construct parses to, at one place in one message: ``kind``
    (fields.KINDS), ``children`` (a struct's key -> Node), ``item`` (a
    list's elements), ``names`` (an enum's table), ``label`` (an enum's
    key of its name), ``at`` (the PROBES where it exists) and ``optional``
    (it may be None there)."""

    __slots__ = ("kind", "children", "item", "names", "label", "at", "optional")

    def __init__(self, kind, at, *, children=None, item=None, names=None, optional=False):
        self.kind = kind
        self.children = children
        self.item = item
        self.names = names
        self.label = None
        self.at = at
        self.optional = optional


def merge(a: Node | None, b: Node | None) -> Node | None:
    """Two alternatives for one place (IfThenElse branches, a key written twice);
    None is an alternative that gives None."""
    if a is None or b is None:
        one = a or b
        if one is not None:
            one.optional = True
        return one
    if {a.kind, b.kind} == {"int", "enum"}:
        a.kind = "enum"
    elif a.kind != b.kind:
        a.kind, a.children, a.item = "any", None, None
    elif a.kind == "struct":
        for key in [*a.children, *(k for k in b.children if k not in a.children)]:
            a.children[key] = merge(a.children.get(key), b.children.get(key))
    elif a.kind == "list":
        a.item = merge(a.item, b.item)
    a.names = a.names or b.names
    a.label = a.label or b.label
    a.at = a.at | b.at
    a.optional = a.optional or b.optional
    return a


# -- conditions, tried at each protocol version ----------------------------------------
class _Unknown:
    """A value read from the payload, unknown to a probe: every operation on
    it gives it back, and asking whether it is true stops the probe."""

    def __bool__(self):
        raise LookupError("read from the payload")

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return self

    def _same(self, *other):
        return self

    __getitem__ = __call__ = __eq__ = __ne__ = __lt__ = __le__ = __gt__ = __ge__ = _same
    __add__ = __radd__ = __sub__ = __rsub__ = __invert__ = __neg__ = __or__ = __ror__ = _same
    __hash__ = object.__hash__

    def __and__(self, other):
        return other if other is False or other == 0 else self  # false & anything is false

    __rand__ = __and__


_UNKNOWN = _Unknown()


class _ProbeContext(dict):
    """A parse context in which only the protocol version is known."""

    def __missing__(self, key):
        return _UNKNOWN

    def __getattr__(self, name):
        return self[name]

    def get(self, key, default=None):
        return self[key]


@functools.cache
def _truth(cond) -> tuple[frozenset, frozenset]:
    """(PROBES where ``cond`` may hold, PROBES where it may not)."""
    yes, no = set(), set()
    for version in PROBES:
        ctx = _ProbeContext(_params=_ProbeContext(version=version))
        try:
            holds = bool(construct.evaluate(cond.value, ctx))
        except Exception:  # it depends on the payload: either way
            yes.add(version)
            no.add(version)
            continue
        (yes if holds else no).add(version)
    return frozenset(yes), frozenset(no)


class _Cond:
    """A condition as a cache key, by identity (construct expressions override ==)."""

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value

    def __hash__(self):
        return id(self.value)

    def __eq__(self, other):
        return other.value is self.value


# -- what each construct parses to -----------------------------------------------------
_SCALARS = (
    ((Hex, VarBytes, construct.Bytes, type(construct.GreedyBytes)), "hex"),
    ((type(CompactSize), type(CompactSizeMax), type(VarInt), KnownVersion), "int"),
    ((VarStr, AddressV2, _IPv6Text), "text"),
    ((FixedBitSet, VarIntsBitSet, type(DynBitSet), _FlagBits), "bits"),
)

# The kind each Computed helper gives, by module and function name (None is
# always possible: a Computed is optional).
_COMPUTED = {
    "blocks._differences": ("list", "int"),
    "commitment._count": "int",
    "commitment._hex": "hex",
    "governance._data_text": "text",
    "mnlist._entry_version": "int",
    "txparts._address": "text",
    "txparts._asm": "text",
    "txparts._script_sig_asm": "text",
    "txparts._type": "text",
    "txparts._value_dash": "text",
    "special_tx._key_address": "text",
    "special_tx._script_address": "text",
}


class Walker:
    """Builds Node trees; ``unknown`` collects the constructs it could not describe."""

    def __init__(self):
        self.unknown: set[str] = set()

    def node(self, c, at: frozenset, siblings: dict | None = None) -> Node | None:
        """The Node of ``c`` where it exists at ``at`` (None: it gives None).
        ``siblings``: the keys before it in its Struct, which a Computed may name."""
        if isinstance(c, Renamed):
            return self.node(c.subcon, at, siblings)
        if isinstance(c, Struct):
            return self.struct(c.subcons, at)
        if isinstance(c, Computed):
            return self.computed(c.func, siblings or {}, at)
        if isinstance(c, FocusedSeq):  # the one field it returns (``tx``)
            (focus,) = [sc for sc in c.subcons if sc.name == c.parsebuildfrom]
            return self.node(focus, at)
        if isinstance(c, IfThenElse):  # also If: IfThenElse(cond, subcon, Pass)
            yes, no = _truth(_Cond(c.condfunc))
            then = self.node(c.thensubcon, at & yes, siblings) if at & yes else None
            other = self.node(c.elsesubcon, at & no, siblings) if at & no else None
            return merge(then, other)
        if isinstance(c, Switch):
            options = [self.node(sc, at, siblings) for sc in (*c.cases.values(), c.default)]
            return functools.reduce(merge, options)
        if isinstance(c, Trailing):  # read only when bytes remain
            return merge(self.node(c.subcon, at, siblings), None)
        if isinstance(c, (type(Pass), type(Terminated))):
            return None
        return self.special(c, at, siblings)

    def special(self, c, at, siblings=None) -> Node:
        for classes, kind in _SCALARS:
            if isinstance(c, classes):
                return Node(kind, at)
        if isinstance(c, FormatField):
            return Node("int" if c.fmtstr[-1] not in "efd" else "any", at)
        if isinstance(c, (Identified, _WithTxid)):  # the struct, and the hash of its bytes
            node = self.node(c.subcon, at)
            keys = ("txid", "instance_hash") if isinstance(c, _WithTxid) else (c.key,)
            for key in keys:
                node.children[key] = Node("hex", at, optional=key == "instance_hash")
            return node
        if isinstance(c, CompressedHeaders):
            header = self.node(c.element, at)
            for key in ("version", "prev_block", "time", "bits"):  # filled in: headers._uncompress
                header.children[key].optional = False
            header.children["hash"] = Node("hex", at)
            return Node("list", at, item=header)
        if isinstance(c, Vector):
            return Node("list", at, item=self.node(c.element, at))
        if isinstance(c, (_DiffIndexes, _ShortIds)):
            return Node("list", at, item=Node("int", at))
        if isinstance(c, _Prefilled):
            pair = {"index": Node("int", at), "index_difference": Node("int", at)}
            pair["tx"] = self.node(Transaction, at)
            return Node("list", at, item=Node("struct", at, children=pair))
        if isinstance(c, AutoBitSet):
            form = {"is_var_ints": Node("bool", at), "bits": Node("bits", at)}
            return Node("struct", at, children=form)
        if isinstance(c, _ExtraPayload):
            return Node("hex", at, optional=True)
        if isinstance(c, _FromContext) and c.key == "_payload":  # decoded by the tx's type
            payloads = (self.node(sc, at) for sc in SPECIAL_PAYLOADS.values())
            return merge(functools.reduce(merge, payloads), None)
        if isinstance(c, _FromContext) and c.key == "_payload_error":
            return Node("text", at, optional=True)
        inner = getattr(c, "subcon", None)
        if isinstance(inner, construct.Construct) and not isinstance(c, construct.Adapter):
            # A wrapper that returns what it wraps: a check (limits.Bounded)
            # or the fast twin of a layout, which gives what the layout gives
            # or lets it parse (transaction._FastTransaction; docs/DESIGN.md).
            return self.node(inner, at, siblings)
        self.unknown.add(f"{type(c).__module__}.{type(c).__qualname__}")
        return Node("any", at)

    def struct(self, subcons, at) -> Node:
        children: dict = {}
        for sc in subcons:
            if sc.name is None:
                continue
            node = self.node(sc, at, children)
            if node is None:
                continue
            children[sc.name] = merge(children[sc.name], node) if sc.name in children else node
            named = _named(getattr(sc.subcon, "func", None)) if isinstance(sc, Renamed) else None
            if named is not None and named[1] in children:
                children[named[1]].label = sc.name  # the number's name is under this key
        return Node("struct", at, children=children)

    def computed(self, func, siblings: dict, at) -> Node:
        if isinstance(func, construct.expr.Path):  # Computed(this.version): the sibling again
            source = siblings.get(vars(func).get("_Path__field"))
            if source is None:
                self.unknown.add(f"Computed({func!r})")
                return Node("any", at, optional=True)
            return Node(source.kind, at & source.at, names=source.names, optional=source.optional)
        named = _named(func)
        if named is not None:
            table, number = named
            if number in siblings:
                siblings[number].kind, siblings[number].names = "enum", table
            return Node("text", at, names=table, optional=True)
        module = (getattr(func, "__module__", None) or "").rpartition(".")[2]
        base = getattr(func, "__qualname__", "?").split("(")[0].split(".<locals>")[0]
        kind = _COMPUTED.get(f"{module}.{base}")
        if kind is None:
            self.unknown.add(f"Computed {module}.{base}")
            return Node("any", at, optional=True)
        if isinstance(kind, tuple):
            return Node(kind[0], at, item=Node(kind[1], at), optional=True)
        return Node(kind, at, optional=True)


def _named(func) -> tuple[dict, str] | None:
    """(table, number field) of a ``structs.Named`` helper, else None."""
    if not callable(func) or isinstance(func, construct.expr.ExprMixin):
        return None  # a constant, or ``this.x`` (whose every attribute is an expression)
    if not getattr(func, "__qualname__", "").startswith("Named("):
        return None
    closure = inspect.getclosurevars(func).nonlocals
    return closure.get("table"), closure.get("field")


__all__ = ["EVERY", "PROBES", "Node", "Walker", "merge"]
