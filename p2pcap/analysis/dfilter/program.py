"""A compiled display filter: what the reader can do, and the test for the rest.

``DisplayFilter`` is made once per expression.  Before any reading it
works out what can be pushed down, as ``--type`` and ``--since`` are:

* ``commands``: the commands a message must have to pass -- every command
  for which the expression is not false by the command alone (``inv.type
  == MSG_TX`` can only be true of an inv); None when any command may pass.
  The reader then skips blocks, and ``show -n`` keeps its C listing when
  nothing is left to test (``command == "inv"``);
* ``since``/``until``: the time bounds of the conjuncts ``time >= T``,
  ``reltime < 5``..., which the reader applies exactly (those conjuncts are
  then not tested again);
* ``kernel_terms()``: for ``record``, the commands, peer ids and direction
  the kernel can filter on, or an error naming the part it cannot.

``matches(record, env)`` tests one message with the closure of its command
(compiler.py), made on first use and kept.

>>> f = compile_filter('command == "inv" && time >= "2026-12-01 10:00"')
>>> sorted(f.commands), [t.text for t in f.since], f.residual_free
(['inv'], ['2026-12-01 10:00'], True)
"""

from __future__ import annotations

from p2pcap.analysis.timespec import TimeSpec
from p2pcap.errors import ArgumentError
from p2pcap.units import NS

from .checker import check
from .compiler import OTHER, build, specialize
from .nodes import And, Compare, Exists, FieldRef, Literal, Member, Or, Range, operand_field, unparse, walk
from .parser import parse

_CACHE_LIMIT = 4096  # commands' closures kept (a capture's commands are few; a hostile one's, not)
_KERNEL = {"command": "commands", "peer.id": "peer ids", "dir": "direction"}


class DisplayFilter:
    """A checked, compiled expression (see the module doc); ``text`` as typed."""

    def __init__(self, text: str):
        self.text = text
        self.tree = check(parse(text), text)
        self.since, self.until, self._rest = _time_bounds(self.tree)
        fields = [n.spec for n in walk(self.tree) if isinstance(n, FieldRef) and n.spec is not None]
        self.needs_decode = any(
            s.source in ("decoded", "helper") or s.key in ("error", "protocol_version") for s in fields
        )
        self.needs_first_time = any(s.key == "reltime" for s in fields) or any(
            isinstance(n, Literal) and getattr(n.value, "kind", None) in ("offset", "clock")
            for n in walk(self._rest)
        ) or any(t.kind != "absolute" for t in (*self.since, *self.until))  # fmt: skip
        self._tests: dict = {}
        self.commands = self._commands()
        passing = self.commands if self.commands is not None else (*_candidates(self._rest), OTHER)
        self.residual_free = all(specialize(self._rest, c) is True for c in passing)

    def __repr__(self) -> str:
        return f"DisplayFilter({self.text!r})"

    def __str__(self) -> str:
        return self.text

    def _commands(self) -> frozenset | None:
        if specialize(self._rest, OTHER) is not False:
            return None
        return frozenset(c for c in _candidates(self._rest) if specialize(self._rest, c) is not False)

    def test_for(self, command: str):
        """``test(record, env) -> bool`` for messages of ``command``."""
        test = self._tests.get(command)
        if test is None:
            test = build(specialize(self._rest, command))
            if len(self._tests) < _CACHE_LIMIT:
                self._tests[command] = test
        return test

    def matches(self, record, env) -> bool:
        """Whether ``record`` (a Message) passes; ``env`` decodes (``filters.Selection``)."""
        test = self._tests.get(record.command) or self.test_for(record.command)
        return test(record, env)

    def kernel_terms(self) -> tuple[frozenset | None, frozenset | None, str | None]:
        """(commands, peer ids, direction) for ``record``'s kernel-side filters, each
        None when the expression does not restrict it; an ``ArgumentError`` names
        the first part that needs user space."""
        found: dict = {}
        for part in _conjuncts(self.tree):
            kind, values = _kernel_clause(part)
            if kind is None:
                column = next((n.column for n in walk(part) if getattr(n, "column", 0)), 1)
                raise ArgumentError(
                    "display_filter",
                    f"{unparse(part)!r} (at column {column}) needs user space: while recording, "
                    "only commands, peer.id and dir are filtered (in the kernel), joined by && and ||; "
                    "record them, then select with show -Y or filter -Y",
                    value=self.text,
                )
            found[kind] = values if kind not in found else found[kind] & values
        for kind, values in found.items():
            if not values:
                problem = f"no message can pass: the {_KERNEL[kind]} exclude each other"
                raise ArgumentError("display_filter", problem, value=self.text)
        directions = found.get("dir")
        return (
            found.get("command"),
            found.get("peer.id"),
            None if directions is None or len(directions) > 1 else next(iter(directions)),
        )


def compile_filter(text: str) -> DisplayFilter:
    """``text`` checked and compiled; a ``FilterSyntaxError`` (an ``ArgumentError``)
    names the column and what was expected there.

    >>> compile_filter("inv.type == MSG_TX").commands
    frozenset({'inv'})
    """
    return DisplayFilter(text)


def _candidates(tree) -> list:
    """The commands the filter names or reads fields of: any other is decided
    as ``OTHER`` is (a command no word of the filter names)."""
    named = set()
    for node in walk(tree):
        if isinstance(node, FieldRef) and node.spec is not None and node.spec.commands is not None:
            named.update(node.spec.commands)
        if isinstance(node, (Compare, Member)) and any(
            f is not None and f.spec.name == "command" for f in _operand_fields(node)
        ):
            named.update(n.value for n in walk(node) if isinstance(n, Literal) and isinstance(n.value, str))
    return sorted(named)


def _operand_fields(node):
    if isinstance(node, Member):
        return [operand_field(node.operand)]
    return [operand_field(node.left), operand_field(node.right)]


def _conjuncts(node) -> list:
    if isinstance(node, And):
        return _conjuncts(node.left) + _conjuncts(node.right)
    return [node]


def _time_bounds(tree):
    """(since, until, the tree without them): the top-level ``time``/``reltime``
    comparisons with a value, as TimeSpecs the reader applies."""
    since, until, kept = [], [], []
    for part in _conjuncts(tree):
        bounds = _bound(part)
        if bounds is None:
            kept.append(part)
            continue
        low, high = bounds
        since += [low] if low is not None else []
        until += [high] if high is not None else []
    rest = True
    for part in kept:
        rest = part if rest is True else And(rest, part)
    return tuple(since), tuple(until), rest


def _bound(node):
    if not (
        isinstance(node, Compare) and isinstance(node.left, FieldRef) and isinstance(node.right, Literal)
    ):
        return None
    name, op, value = node.left.spec.name, node.op, node.right.value
    if name not in ("time", "reltime") or op not in ("==", "<", "<=", ">", ">="):
        return None
    spec = value if name == "time" else TimeSpec("offset", round(value * NS), f"+{value}s")
    step = {"<": -1, ">": 1}.get(op, 0)
    moved = TimeSpec(spec.kind, spec.ns + step, spec.text) if step else spec
    return {
        "==": (spec, spec),
        "<": (None, moved),
        "<=": (None, spec),
        ">": (moved, None),
        ">=": (spec, None),
    }[op]


def _kernel_clause(node):
    """(field name, values) when the kernel can test ``node``, else (None, None)."""
    if isinstance(node, Or):
        left, right = _kernel_clause(node.left), _kernel_clause(node.right)
        if left[0] is not None and left[0] == right[0]:
            return left[0], left[1] | right[1]
        return None, None
    if isinstance(node, Exists) and isinstance(node.operand, FieldRef) and node.operand.spec.kind == "proto":
        return "command", frozenset((node.operand.spec.key,))
    if isinstance(node, Compare) and node.op == "==" and isinstance(node.right, Literal):
        items = [node.right]
        operand = node.left
    elif isinstance(node, Member) and not any(isinstance(i, Range) for i in node.items):
        items, operand = node.items, node.operand
    else:
        return None, None
    if not isinstance(operand, FieldRef) or operand.spec.name not in _KERNEL:
        return None, None
    values = frozenset(i.value for i in items)
    if operand.spec.name == "peer.id" and not all(isinstance(v, int) and v >= 0 for v in values):
        return None, None
    return operand.spec.name, values


__all__ = ["DisplayFilter", "compile_filter"]
