"""The syntax tree of a display filter: what the parser builds, the checker
types and the compiler turns into a closure.

Operands are ``FieldRef`` (a name; ``spec`` is filled by the checker),
``Slice`` (``inv.hash[0:4]``), ``Call`` (``len(tx.vin)``, ``count(inv)``,
``lower(...)``, ``upper(...)``) and ``Literal`` (a word or a string as
typed; ``value`` is filled by the checker once it knows what the field
holds).  Tests are ``Exists``, ``Compare`` (with ``any``/``all`` from the
operator or a modifier), ``Member`` (``in {...}``); logic is ``Not``,
``And``, ``Or``, ``Xor``.  Every node keeps the column it starts at, so a
checker's error can point at it.

>>> from p2pcap.analysis.dfilter.parser import parse
>>> parse('!(dir == "in")')
Not(operand=Compare(op='==', left=FieldRef(name='dir', column=3), right=Literal(text='in', column=10, quoted=True), column=3, quantifier=None), column=1)
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class FieldRef:
    name: str
    column: int
    spec: object = field(default=None, repr=False, compare=False)  # names.FieldSpec


@dataclass
class Literal:
    text: str
    column: int
    quoted: bool = False
    value: object = field(default=None, repr=False, compare=False)  # as the field holds it


@dataclass
class Slice:
    """``operand[ranges]``: ranges are (start, stop) in Python's terms, on bytes
    for a byte field and on characters for text; ``stop`` None is the end."""

    operand: object
    ranges: tuple
    column: int


@dataclass
class Call:
    function: str
    operand: object
    column: int


@dataclass
class Range:
    """``low..high`` inside a set, both ends included."""

    low: Literal
    high: Literal


@dataclass
class Exists:
    operand: object
    column: int


@dataclass
class Compare:
    """``op`` is ``== != === !== < <= > >= contains matches``; ``quantifier``
    is ``any``, ``all`` or None (the operator's own: ``==`` any, ``!=`` all)."""

    op: str
    left: object
    right: object
    column: int
    quantifier: str | None = None


@dataclass
class Member:
    operand: object
    items: list  # Literal | Range
    column: int
    quantifier: str | None = None


@dataclass
class Not:
    operand: object
    column: int


@dataclass
class And:
    left: object
    right: object


@dataclass
class Or:
    left: object
    right: object


@dataclass
class Xor:
    left: object
    right: object


def unparse(node) -> str:
    """The filter text of a node (its operators as checked: ``!==`` is ``any x != v``).

    >>> from p2pcap.analysis.dfilter.parser import parse
    >>> unparse(parse('a == 1 && !(b || c[0:2] in {1 2..3})'))
    'a == 1 && !(b || c[0:2] in {1 2..3})'
    """
    if isinstance(node, FieldRef):
        return node.name
    if isinstance(node, Literal):
        if not node.quoted:
            return node.text
        return '"' + node.text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(node, Slice):
        parts = [
            f"{a}:{'' if b is None else b - a}" if b is None or b - a > 0 else f"{a}" for a, b in node.ranges
        ]
        return f"{unparse(node.operand)}[{','.join(parts)}]"
    if isinstance(node, Call):
        return f"{node.function}({unparse(node.operand)})"
    if isinstance(node, Range):
        return f"{unparse(node.low)}..{unparse(node.high)}"
    if isinstance(node, Exists):
        return unparse(node.operand)
    if isinstance(node, Compare):
        head = (
            f"{node.quantifier} " if node.quantifier and node.quantifier != _OWN.get(node.op, "any") else ""
        )
        return f"{head}{unparse(node.left)} {node.op} {unparse(node.right)}"
    if isinstance(node, Member):
        head = "all " if node.quantifier == "all" else ""
        return f"{head}{unparse(node.operand)} in {{{' '.join(unparse(i) for i in node.items)}}}"
    if isinstance(node, Not):
        inner = unparse(node.operand)
        return f"!({inner})" if isinstance(node.operand, (And, Or, Xor)) else f"!{inner}"
    word = {And: "&&", Or: "||", Xor: "^^"}[type(node)]
    sides = []
    for side in (node.left, node.right):
        text = unparse(side)
        looser = (
            isinstance(side, (Or, Xor))
            and not isinstance(node, Or)
            or isinstance(side, Or)
            and isinstance(node, Xor)
        )
        sides.append(f"({text})" if looser else text)
    return f" {word} ".join(sides)


_OWN = {"==": "any", "!=": "all"}


def operand_field(node) -> FieldRef | None:
    """The field under a slice or a function, or None for a literal."""
    while isinstance(node, (Slice, Call)):
        node = node.operand
    return node if isinstance(node, FieldRef) else None


def walk(node):
    """``node`` and every node below it, depth first."""
    yield node
    for child in _children(node):
        yield from walk(child)


def _children(node):
    if isinstance(node, (And, Or, Xor)):
        return (node.left, node.right)
    if isinstance(node, (Not, Exists, Slice, Call)):
        return (node.operand,)
    if isinstance(node, Compare):
        return (node.left, node.right)
    if isinstance(node, Member):
        return (node.operand, *node.items)
    if isinstance(node, Range):
        return (node.low, node.high)
    return ()


__all__ = [
    "And",
    "Call",
    "Compare",
    "Exists",
    "FieldRef",
    "Literal",
    "Member",
    "Not",
    "Or",
    "Range",
    "Slice",
    "Xor",
    "operand_field",
    "unparse",
    "walk",
]
