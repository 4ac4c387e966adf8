"""A checked filter -> a Python closure, one per command, with what is known folded away.

``specialize(tree, command)`` evaluates what the command alone decides: a
field of another command is absent (so every comparison of it is false and
``!field`` true), ``command == "inv"`` is a constant, and so is ``clsig``.
What is left needs the record; ``build`` turns it into ``test(record,
env) -> bool``, where ``env`` (a ``filters.Selection``) gives the decoded
payload (``env.decoded(record)``, decoded once and only when a test
reaches a decoded field), the first record's time, the network and the
protocol version.  Nothing the user typed is ever evaluated as code.

>>> from p2pcap.analysis.dfilter import compile_filter
>>> tree = compile_filter('command == "inv" && dir == "in"').tree
>>> specialize(tree, "ping"), type(specialize(tree, "inv")).__name__
(False, 'Compare')

Comparisons follow Wireshark: a field with several values (every
``inv.hash`` of an inv) passes ``==``, ``<``, ``contains``, ``matches``
and ``in`` when any value does, ``!=`` and ``===`` when every value does
(and there is one); an absent field passes none of them.
"""

from __future__ import annotations

import operator

from .access import decoded_getter, helper_getter, record_getter
from .checker import node_spec
from .nodes import (
    And,
    Call,
    Compare,
    Exists,
    FieldRef,
    Literal,
    Member,
    Not,
    Or,
    Range,
    Slice,
    Xor,
    operand_field,
)

OTHER = None  # ``specialize``'s command for "one the filter does not name"


class _Stub:
    """A record with only a command, to evaluate tests of ``command`` alone."""

    __slots__ = ("command",)

    def __init__(self, command):
        self.command = command


def presence(spec, command) -> bool | None:
    """Whether a message of ``command`` has the field: True, False, or None (it depends)."""
    if spec.source == "record":
        return None if spec.optional else True
    if spec.source == "proto":
        return command == spec.key
    if spec.commands is None:
        return None
    return None if command in spec.commands else False


def _fields(node):
    if isinstance(node, Member):
        return [operand_field(node.operand)]
    return [f for f in (operand_field(node.left), operand_field(node.right)) if f is not None]


def specialize(node, command):
    """``node`` for messages of ``command`` (a name, or ``OTHER``): True, False or a smaller tree."""
    if isinstance(node, bool):
        return node
    if isinstance(node, (And, Or, Xor)):
        left = specialize(node.left, command)
        if isinstance(node, And) and left is False or isinstance(node, Or) and left is True:
            return left
        right = specialize(node.right, command)
        if isinstance(node, Xor):
            if isinstance(left, bool) and isinstance(right, bool):
                return left != right
            if isinstance(left, bool) or isinstance(right, bool):
                known, other = (left, right) if isinstance(left, bool) else (right, left)
                return Not(other, 0) if known else other
            return Xor(left, right)
        if isinstance(right, bool):
            return left if right == isinstance(node, And) else right
        if isinstance(left, bool):
            return right
        return type(node)(left, right)
    if isinstance(node, Not):
        inner = specialize(node.operand, command)
        return (not inner) if isinstance(inner, bool) else Not(inner, node.column)
    if isinstance(node, Exists):
        found = presence(operand_field(node.operand).spec, command)
        return False if found is False else True if found and isinstance(node.operand, FieldRef) else node
    fields = _fields(node)
    if any(presence(f.spec, command) is False for f in fields):
        return False
    if all(f.spec.name == "command" and f.spec.source == "record" for f in fields) and _literal_only(node):
        if command is not OTHER:
            return bool(build(node)(_Stub(command), None))
        if isinstance(node, Member) or node.op in ("==", "!="):
            # OTHER is none of the names the filter compares ``command`` with
            return isinstance(node, Compare) and node.op == "!="
    return node


def _literal_only(node) -> bool:
    if isinstance(node, Member):
        return isinstance(node.operand, FieldRef)
    return isinstance(node.left, FieldRef) and isinstance(node.right, Literal)


# -- closures ---------------------------------------------------------------
def _always(r, e):
    return True


def _never(r, e):
    return False


def build(node):
    """``test(record, env) -> bool`` for a specialized tree (or True/False)."""
    if node is True:
        return _always
    if node is False:
        return _never
    if isinstance(node, And):
        a, b = build(node.left), build(node.right)
        return lambda r, e: a(r, e) and b(r, e)
    if isinstance(node, Or):
        a, b = build(node.left), build(node.right)
        return lambda r, e: a(r, e) or b(r, e)
    if isinstance(node, Xor):
        a, b = build(node.left), build(node.right)
        return lambda r, e: a(r, e) != b(r, e)
    if isinstance(node, Not):
        a = build(node.operand)
        return lambda r, e: not a(r, e)
    if isinstance(node, Exists):
        get = getter(node.operand)
        return lambda r, e: bool(get(r, e))
    if isinstance(node, Member):
        return _member(node)
    return _compare(node)


def getter(operand):
    """``get(record, env) -> [values]`` of an operand."""
    if isinstance(operand, FieldRef):
        spec = operand.spec
        if spec.source == "record":
            return record_getter(spec.key)
        if spec.source == "decoded":
            return decoded_getter(spec.key, next(iter(spec.commands)) if spec.commands else None)
        if spec.source == "helper":
            return helper_getter(spec.key)
        return lambda r, e: [bytes(r.payload).hex()]  # a command's name: its payload
    inner = getter(operand.operand)
    if isinstance(operand, Slice):
        spec = operand_field(operand).spec
        unit = 2 if spec.kind in ("bytes", "proto") or spec.item == "bytes" else 1
        cut = _slicer(operand.ranges, unit)
        return lambda r, e: [s for s in map(cut, inner(r, e)) if s is not None]
    function = operand.function
    if function == "count":
        return lambda r, e: [n] if (n := len(inner(r, e))) else []
    if function == "len":
        spec = node_spec(operand.operand) or operand_field(operand).spec
        unit = 2 if "bytes" in (spec.kind, spec.item) or spec.kind == "proto" else 1
        return lambda r, e: [len(v) // unit for v in inner(r, e)]
    change = str.lower if function == "lower" else str.upper
    return lambda r, e: [change(v) for v in inner(r, e)]


def _slicer(ranges, unit: int):
    """value -> its slices joined (Wireshark's ``[1,3-5]``), None when one falls outside it."""

    def cut(value):
        n = len(value) // unit
        parts = []
        for start, stop in ranges:
            a = start if start >= 0 else n + start
            b = n if stop is None else (stop if stop >= 0 else n + stop)
            if a < 0 or b > n or a >= b:
                return None
            parts.append(value[a * unit : b * unit])
        return "".join(parts)

    return cut


def _ordered(op):
    def test(value, limit):
        try:
            return op(value, limit)
        except TypeError:  # a value of another kind than the catalogue says: it does not compare
            return False

    return test


def _contains_bytes(value, part) -> bool:
    """``part`` in ``value``, both hex text, at a byte boundary."""
    i = value.find(part)
    while i >= 0:
        if not i % 2:
            return True
        i = value.find(part, i + 1)
    return False


def _predicate(op: str, kind: str, names):
    """``test(value, literal) -> bool`` for one value."""
    if op in ("contains", "matches") and kind == "enum":
        show = (names or {}).get
        if op == "contains":
            return lambda v, lit: lit in show(v, str(v))
        return lambda v, lit: lit.search(show(v, str(v))) is not None
    if op == "contains":
        return _contains_bytes if kind == "bytes" else lambda v, lit: lit in v
    if op == "matches":
        return lambda v, lit: type(v) is str and lit.search(v) is not None
    return {
        "==": operator.eq,
        "!=": operator.ne,
        "<": _ordered(operator.lt),
        "<=": _ordered(operator.le),
        ">": _ordered(operator.gt),
        ">=": _ordered(operator.ge),
    }[op]


def _kind(operand) -> str:
    if isinstance(operand, Call):
        return "int" if operand.function in ("len", "count") else "text"
    spec = operand_field(operand).spec
    kind = spec.scalar if spec.kind != "proto" else "bytes"
    return "bytes" if kind == "proto" else kind


def _literal_value(lit):
    """(value, dynamic): a time relative to the first record is resolved per capture."""
    value = lit.value
    if getattr(value, "kind", None) in ("offset", "clock"):
        return value, True
    if getattr(value, "kind", None) == "absolute":
        return value.ns, False
    return value, False


def _compare(node: Compare):
    get = getter(node.left)
    kind = _kind(node.left)
    spec = operand_field(node.left).spec
    test = _predicate(node.op, kind, spec.names if isinstance(node.left, FieldRef) else None)
    every = node.quantifier == "all"
    if not isinstance(node.right, Literal):
        other = getter(node.right)
        if every:
            return lambda r, e: _all_pairs(get(r, e), other(r, e), test)
        return lambda r, e: any(test(a, b) for a in get(r, e) for b in other(r, e))
    lit, dynamic = _literal_value(node.right)
    if dynamic:
        spec_time = lit
        one = lambda r, e: _quantified(get(r, e), test, spec_time.resolve(e.first_ns), every)  # noqa: E731
        return one
    if isinstance(node.left, FieldRef) and spec.source == "record" and not spec.optional and _plain(spec.key):
        attr = operator.attrgetter(spec.key)  # one value, always there: no list
        if node.op == "==":
            return lambda r, e: attr(r) == lit
        return lambda r, e: test(attr(r), lit)
    if node.op == "==" and not every and kind != "bool" and not isinstance(lit, bool):
        return lambda r, e: lit in get(r, e)
    return lambda r, e: _quantified(get(r, e), test, lit, every)


def _plain(key: str) -> bool:
    return key not in ("peer_host", "reltime", "protocol_version", "network", "payload", "error", "partial")


def _quantified(values, test, lit, every: bool) -> bool:
    if every:
        if not values:
            return False
        for v in values:
            if not test(v, lit):
                return False
        return True
    for v in values:
        if test(v, lit):
            return True
    return False


def _all_pairs(a, b, test) -> bool:
    return bool(a and b) and all(test(x, y) for x in a for y in b)


def _member(node: Member):
    get = getter(node.operand)
    singles, ranges, dynamic = [], [], False
    for item in node.items:
        if isinstance(item, Range):
            low, d1 = _literal_value(item.low)
            high, d2 = _literal_value(item.high)
            ranges.append((low, high))
            dynamic = dynamic or d1 or d2
        else:
            value, d = _literal_value(item)
            singles.append(value)
            dynamic = dynamic or d
    if dynamic:

        def resolved(e, v):
            return v.resolve(e.first_ns) if hasattr(v, "resolve") else v

        def member_time(r, e):
            ones = {resolved(e, s) for s in singles}
            spans = [(resolved(e, lo), resolved(e, hi)) for lo, hi in ranges]
            return _quantified(get(r, e), lambda v, _l: v in ones or any(lo <= v <= hi for lo, hi in spans),
                               None, node.quantifier == "all")  # fmt: skip

        return member_time
    ones = frozenset(singles)
    order = _ordered(operator.le)

    def inside(v, _lit) -> bool:
        return v in ones or any(order(lo, v) and order(v, hi) for lo, hi in ranges)

    every = node.quantifier == "all"
    return lambda r, e: _quantified(get(r, e), inside, None, every)


__all__ = ["OTHER", "build", "presence", "specialize"]
