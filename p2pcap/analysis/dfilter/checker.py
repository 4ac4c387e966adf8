"""The parsed filter against the names it uses: fields resolved, values typed.

Every name on the left of a test must be a known field (names.py);
an unquoted word on the right is a field when it names one (``peer.id ==
pid``) and a value otherwise, a command name always a value (``command ==
inv``).  Each value is read as its field holds it (values.py), each
operator checked against the field's kind, and a test written value first
(``1 == inv.type``) turned round.  The first mistake is a
``FilterSyntaxError`` pointing at its column, with the nearest known word:

>>> from p2pcap.analysis.dfilter.parser import parse
>>> check(parse("inv.typ == 1"), "inv.typ == 1")
Traceback (most recent call last):
p2pcap.analysis.dfilter.lexer.FilterSyntaxError: filter 'inv.typ == 1': unknown field 'inv.typ' at column 1; did you mean 'inv.type'?

Wireshark's operators keep their meaning: ``==`` any value equal, ``!=``
all values not equal (Wireshark 3.6 and later), ``===`` all equal,
``!==`` (and the older ``~=``) any not equal; ``any``/``all`` before a test
choose for any operator.  Checked comparisons come out with ``op`` one of
``== != < <= > >= contains matches`` and ``quantifier`` ``any`` or ``all``.
"""

from __future__ import annotations

from p2pcap.analysis.vocabulary import CORE_COMMANDS, known_commands

from . import names as N
from .lexer import FilterSyntaxError
from .nodes import And, Call, Compare, Exists, FieldRef, Literal, Member, Not, Or, Range, Slice, Xor
from .values import HOLDS, BadValue, regex, to_value

# The comparison as checked, and its quantifier when the test names none.
_OPS = {"==": ("==", "any"), "!=": ("!=", "all"), "===": ("==", "all"), "!==": ("!=", "any")}
_MIRROR = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}
_ORDERED = frozenset(("int", "enum", "reltime", "time", "bytes", "text", "bits"))
_FAMILY = {"int": "number", "enum": "number", "reltime": "number", "bytes": "bytes", "bits": "text"}
_SIZED = frozenset(("size", "captured_len"))


def check(tree, text: str):
    """``tree`` (parser.parse) with every name resolved and every value typed."""
    return _Checker(text).test(tree)


class _Checker:
    def __init__(self, text: str):
        self.text = text

    def fail(self, problem: str, column: int, hint: str = ""):
        raise FilterSyntaxError(self.text, problem, column, hint)

    # -- tests --------------------------------------------------------------
    def test(self, node):
        if isinstance(node, (And, Or, Xor)):
            node.left, node.right = self.test(node.left), self.test(node.right)
            return node
        if isinstance(node, Not):
            node.operand = self.test(node.operand)
            return node
        if isinstance(node, Exists):
            node.operand, _kind = self.operand(node.operand, exists=True)
            return node
        if isinstance(node, Member):
            return self.member(node)
        return self.compare(node)

    def compare(self, node: Compare):
        left, right = node.left, node.right
        if self.is_value(left, right_side=False) and not self.is_value(right):
            left, right = right, left
            node.op = _MIRROR.get(node.op, node.op)
            if node.op in ("contains", "matches"):
                self.fail(f"'{node.op}' needs the field on its left", node.column)
        op, quantifier = _OPS.get(node.op, (node.op, "any"))
        node.op, node.quantifier = op, node.quantifier or quantifier
        node.left, kind = self.operand(left)
        self.allowed(op, kind, node.left, node.column)
        if not self.is_value(right):
            node.right, other = self.operand(right)
            if _FAMILY.get(other, other) != _FAMILY.get(kind, kind) or op == "matches":
                self.fail(f"{_name_of(node.left)} and {_name_of(node.right)} cannot be compared", node.column)
            return node
        node.right = self.literal(right, kind, node.left, op)
        return node

    def member(self, node: Member):
        node.operand, kind = self.operand(node.operand)
        self.allowed("==", kind, node.operand, node.column)
        items = []
        for item in node.items:
            if isinstance(item, Range):
                self.allowed("<", kind, node.operand, item.low.column)
                items.append(Range(self.literal(item.low, kind, node.operand, "<="),
                                   self.literal(item.high, kind, node.operand, "<=")))  # fmt: skip
            else:
                items.append(self.literal(_as_literal(item), kind, node.operand, "=="))
        node.items = items
        node.quantifier = node.quantifier or "any"
        return node

    def allowed(self, op: str, kind: str | None, operand, column: int) -> None:
        name = _name_of(operand)
        if kind is None:
            example = next(
                (
                    n
                    for n in N.every_name()
                    if n.startswith(name + ".") and (N.resolve(n) or N.RECORD["pid"]).scalar
                ),
                None,
            )
            hint = f"; compare one of its fields, e.g. {example}" if example else ""
            self.fail(f"{name} is a structure or a list of them, not a value", column, hint)
        if op in ("<", "<=", ">", ">=") and kind not in _ORDERED:
            self.fail(f"'{op}' cannot order {name} ({HOLDS.get(kind, kind)})", column)
        if op == "contains" and kind not in ("bytes", "text", "bits", "enum"):
            self.fail(f"'contains' needs bytes or text; {name} holds {HOLDS.get(kind, kind)}", column)
        if op == "matches" and kind not in ("bytes", "text", "bits", "enum"):
            self.fail(f"'matches' needs text; {name} holds {HOLDS.get(kind, kind)}", column)

    # -- operands -----------------------------------------------------------
    def is_value(self, node, *, right_side: bool = True) -> bool:
        """A literal, or a word that names no field; on the right, a command's
        name is a value too (``command == inv``)."""
        if isinstance(node, Literal):
            return True
        if not isinstance(node, FieldRef):
            return False
        spec = N.resolve(node.name)
        return spec is None or (right_side and spec.kind == "proto")

    def operand(self, node, *, exists: bool = False):
        """(node resolved, the kind of each value it gives)."""
        if isinstance(node, Literal):
            self.fail("a value alone is not a test", node.column, '; expected a field, e.g. command == "inv"')
        if isinstance(node, FieldRef):
            spec = N.resolve(node.name)
            if spec is None:
                self.fail(f"unknown field {node.name!r}", node.column, self.hint(node))
            node.spec = spec
            if spec.kind == "proto":
                return node, "bytes"
            return node, spec.scalar if not exists else (spec.scalar or spec.kind)
        if isinstance(node, Slice):
            node.operand, kind = self.operand(node.operand)
            if kind not in ("bytes", "text", "bits"):
                self.fail(
                    f"a slice needs bytes or text; {_name_of(node)} holds {HOLDS.get(kind, kind)}",
                    node.column,
                )
            return node, kind
        return self.call(node)

    def call(self, node: Call):
        if node.function == "count":
            if not isinstance(node.operand, FieldRef):
                self.fail("count() takes a field", node.column)
            node.operand, _kind = self.operand(node.operand, exists=True)
            return node, "int"
        node.operand, kind = self.operand(node.operand)
        if node.function == "len":
            if kind not in ("bytes", "text", "bits"):
                self.fail(
                    f"len() needs bytes or text; {_name_of(node)} holds {HOLDS.get(kind, kind)}", node.column
                )
            return node, "int"
        if kind not in ("text", "bits"):
            self.fail(
                f"{node.function}() needs text; {_name_of(node)} holds {HOLDS.get(kind, kind)}", node.column
            )
        return node, "text"

    def hint(self, node) -> str:
        guess = N.suggest(_name_of(node))
        return f"; did you mean {guess!r}?" if guess else ""

    # -- values -------------------------------------------------------------
    def literal(self, node, kind: str, operand, op: str) -> Literal:
        lit = _as_literal(node)
        field = node_spec(operand)
        name = _name_of(operand)
        if op == "matches":
            if not lit.quoted:
                self.fail(
                    "'matches' takes a quoted regular expression", lit.column, f' (matches "{lit.text}")'
                )
            lit.value = self.read(lambda: regex(lit.text), name, lit)
            return lit
        if op == "contains" and kind in ("enum", "text", "bits"):
            lit.value = lit.text  # an enum's names are searched (Wireshark's value strings)
            return lit
        if field is not None and field.kind == "proto":
            kind = "proto"
        plain = isinstance(operand, FieldRef) and field is not None
        names = field.names if plain and kind in ("enum", "text") else None
        sized = plain and field.source == "record" and field.name in _SIZED
        lit.value = self.read(
            lambda: to_value(lit.text, kind, names, quoted=lit.quoted, sized=sized), name, lit
        )
        if plain and op in ("==", "!=", "<=") and kind == "text":
            self.vocabulary(field, lit)
        return lit

    def read(self, convert, name: str, lit: Literal):
        try:
            return convert()
        except BadValue as exc:
            hint = f"; did you mean {exc.guess!r}?" if exc.guess else ""
            problem = str(exc)
            if problem == "no such name":
                self.fail(f"no {name} is named {lit.text!r}", lit.column, hint)
            if problem.startswith("is "):
                self.fail(f"{lit.text!r} {problem}", lit.column, hint)
            if problem.startswith("not "):
                self.fail(f"{name} holds {problem[4:]}, not {lit.text!r}", lit.column, hint)
            self.fail(f"{name} {lit.text!r}: {problem}", lit.column, hint)

    def vocabulary(self, field, lit: Literal) -> None:
        """Words only some values of a text field can be: a command, a direction..."""
        value = lit.value
        if field.name == "command":
            if value not in CORE_COMMANDS and value not in known_commands():
                guess = N.nearest(value, known_commands())
                self.fail(
                    f"unknown command {value!r}", lit.column, f"; did you mean {guess!r}?" if guess else ""
                )
        elif field.words is not None and value not in field.words:
            guess = N.nearest(value, field.words)
            hint = f"; did you mean {guess!r}?" if guess else f" (one of {', '.join(field.words)})"
            prefix = [w for w in field.words if w.startswith(value + "-")]
            if prefix:
                hint = f'; for every {value}-*, {field.name} matches "^{value}-"'
            self.fail(f"no {field.name} is {value!r}", lit.column, hint)


def _as_literal(node) -> Literal:
    if isinstance(node, Literal):
        return node
    return Literal(node.name, node.column, quoted=False)


def node_spec(operand):
    while isinstance(operand, (Slice, Call)):
        if isinstance(operand, Call):
            return None
        operand = operand.operand
    return operand.spec if isinstance(operand, FieldRef) else None


def _name_of(node) -> str:
    if isinstance(node, FieldRef):
        return node.name
    if isinstance(node, Literal):
        return node.text
    if isinstance(node, Slice):
        return _name_of(node.operand) + "[…]"
    if isinstance(node, Call):
        return f"{node.function}({_name_of(node.operand)})"
    return "?"


__all__ = ["check", "node_spec"]
