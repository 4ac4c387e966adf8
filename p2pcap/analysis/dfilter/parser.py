"""Tokens -> a syntax tree (nodes.py), by recursive descent.

The grammar is Wireshark's (wireshark-filter(4)), from the loosest operator
to the tightest::

    expr     := xor (("||" | "or") xor)*
    xor      := and (("^^" | "xor") and)*
    and      := unary (("&&" | "and") unary)*
    unary    := ("!" | "not") unary | "(" expr ")" | test
    test     := ["any" | "all"] operand [relation]
    relation := cmp operand | "contains" operand | ("matches" | "~") operand | "in" set
    cmp      := == != === !== ~= < <= > >= eq ne any_eq all_ne all_eq any_ne gt ge lt le
    operand  := FUNCTION "(" operand ")" [slice] | WORD [slice] | STRING
    set      := "{" (value | value ".." value) ([","] ...)* "}"
    slice    := "[" range ("," range)* "]"      i:j  i-j  i  :j  i:

A test without a relation asks whether its field exists (``clsig``,
``inv.hash``).  ``not`` binds tighter than ``and``, ``and`` than ``xor``,
``xor`` than ``or``; each groups from the left.  Errors name the column and
what was expected there.

>>> parse("a || b && !c")
Or(left=Exists(operand=FieldRef(name='a', column=1), column=1), right=And(left=Exists(operand=FieldRef(name='b', column=6), column=6), right=Not(operand=Exists(operand=FieldRef(name='c', column=12), column=12), column=11)))
"""

from __future__ import annotations

import re

from .lexer import FilterSyntaxError, Token, tokenize
from .nodes import And, Call, Compare, Exists, FieldRef, Literal, Member, Not, Or, Range, Slice, Xor

# operator -> (the comparison, its own quantifier)
COMPARISONS = {
    "==": "==",
    "eq": "==",
    "any_eq": "==",
    "!=": "!=",
    "ne": "!=",
    "all_ne": "!=",
    "===": "===",
    "all_eq": "===",
    "!==": "!==",
    "any_ne": "!==",
    "~=": "!==",  # Wireshark 3.6's spelling of any_ne, deprecated in 4.0 for !==
    "<": "<",
    "lt": "<",
    "<=": "<=",
    "le": "<=",
    ">": ">",
    "gt": ">",
    ">=": ">=",
    "ge": ">=",
}
FUNCTIONS = ("len", "count", "lower", "upper")
_EXPECTED_RELATION = "; expected ==, !=, <, >, contains, matches, in, &&, || or the end"
_SLICE_RANGES = (
    (re.compile(r"^(-?\d+):(\d+)$"), lambda a, b: _length(a, b)),
    (re.compile(r"^:(\d+)$"), lambda b: (0, int(b))),
    (re.compile(r"^(-?\d+):$"), lambda a: (int(a), None)),
    (re.compile(r"^(-?\d+)-(-?\d+)$"), lambda a, b: _through(int(a), int(b))),
    (re.compile(r"^(-?\d+)$"), lambda a: _through(int(a), int(a))),
)


def _length(start: str, length: str):
    a, n = int(start), int(length)
    if n == 0:
        raise ValueError("a slice of no bytes")
    stop = a + n
    if a < 0 and stop > 0:
        raise ValueError("the slice runs past the end")
    return (a, None if a < 0 and stop == 0 else stop)


def _through(a: int, b: int):
    if (a >= 0) == (b >= 0) and b < a:
        raise ValueError("the slice ends before it starts")
    return (a, None if b == -1 else b + 1)


def parse(text: str):
    """The syntax tree of ``text``; a ``FilterSyntaxError`` names the column and what was expected."""
    return _Parser(text).whole()


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0

    # -- tokens -------------------------------------------------------------
    @property
    def token(self) -> Token:
        return self.tokens[self.i]

    def take(self) -> Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def at(self, *texts: str) -> bool:
        t = self.token
        return t.kind in ("op", "punct", "word") and t.text in texts

    def fail(self, problem: str, hint: str = "", token: Token | None = None):
        token = token or self.token
        raise FilterSyntaxError(self.text, problem, token.column, hint)

    def unexpected(self, hint: str):
        t = self.token
        self.fail("the filter ends" if t.kind == "end" else f"unexpected {t.text!r}", hint)

    def expect(self, text: str) -> Token:
        if not self.at(text):
            self.unexpected(f"; expected {text!r}")
        return self.take()

    # -- grammar ------------------------------------------------------------
    def whole(self):
        if self.token.kind == "end":
            self.fail("an empty filter", '; expected a field, e.g. command == "inv"')
        node = self.expr()
        if self.token.kind != "end":
            self.unexpected(
                _EXPECTED_RELATION if self.token.kind != "punct" else "; expected && || or the end"
            )
        return node

    def expr(self):
        node = self.xor()
        while self.at("||", "or"):
            self.take()
            node = Or(node, self.xor())
        return node

    def xor(self):
        node = self.conjunction()
        while self.at("^^", "xor"):
            self.take()
            node = Xor(node, self.conjunction())
        return node

    def conjunction(self):
        node = self.unary()
        while self.at("&&", "and"):
            self.take()
            node = And(node, self.unary())
        return node

    def unary(self):
        if self.at("!", "not"):
            column = self.take().column
            return Not(self.unary(), column)
        if self.at("("):
            self.take()
            node = self.expr()
            self.expect(")")
            return node
        return self.test()

    def test(self):
        quantifier = None
        nxt = self.tokens[min(self.i + 1, len(self.tokens) - 1)]
        if self.token.kind == "word" and self.token.text in ("any", "all") and nxt.kind in ("word", "string"):
            quantifier = self.take().text
        start = self.token
        left = self.operand()
        t = self.token
        if t.kind in ("op", "word") and t.text in COMPARISONS:
            self.take()
            return Compare(COMPARISONS[t.text], left, self.operand(), start.column, quantifier)
        if self.at("contains"):
            self.take()
            return Compare("contains", left, self.operand(), start.column, quantifier)
        if self.at("matches", "~"):
            self.take()
            return Compare("matches", left, self.operand(), start.column, quantifier)
        if self.at("in"):
            self.take()
            return Member(left, self.members(), start.column, quantifier)
        if quantifier is not None:
            self.unexpected("; expected a comparison after " + quantifier)
        return Exists(left, start.column)

    def operand(self):
        t = self.token
        if t.kind == "string":
            self.take()
            return Literal(t.text, t.column, quoted=True)
        if t.kind != "word":
            self.unexpected("; expected a field or a value")
        self.take()
        if t.text in FUNCTIONS and self.at("("):
            self.take()
            node = Call(t.text, self.operand(), t.column)
            self.expect(")")
        else:
            node = FieldRef(t.text, t.column)
        if self.at("["):
            column = self.token.column
            node = Slice(node, self.slice_ranges(), column)
        return node

    def slice_ranges(self) -> tuple:
        # The words inside the brackets: "0:4" is one word, "0 : 4" three.
        opening = self.token
        self.take()  # "["
        parts: list[list[Token]] = [[]]
        while not self.at("]"):
            t = self.token
            if t.kind == "end":
                self.fail("a slice without its ']'", "; expected ']'", opening)
            if self.at(","):
                parts.append([])
            else:
                parts[-1].append(t)
            self.take()
        self.take()  # "]"
        ranges = []
        for tokens in parts:
            text = "".join(t.text for t in tokens)
            column = tokens[0].column if tokens else opening.column
            ranges.append(self.slice_range(text, column))
        return tuple(ranges)

    def slice_range(self, text: str, column: int):
        for pattern, make in _SLICE_RANGES:
            m = pattern.match(text)
            if m:
                try:
                    return make(*m.groups())
                except ValueError as exc:
                    raise FilterSyntaxError(self.text, f"{exc} ({text!r})", column) from None
        raise FilterSyntaxError(
            self.text, f"not a slice range ({text!r})", column, "; expected i:j, i-j, i, :j or i:"
        )

    def members(self) -> list:
        self.expect("{")
        items: list = []
        while not self.at("}"):
            t = self.token
            if self.at(","):
                self.take()
                continue
            if t.kind not in ("word", "string"):
                self.unexpected("; expected a value or '}'")
            self.take()
            if t.kind == "word" and ".." in t.text.strip("."):
                low, _, high = t.text.partition("..")
                items.append(Range(Literal(low, t.column), Literal(high, t.column + len(low) + 2)))
            elif self.at(".."):
                self.take()
                high = self.token
                if high.kind not in ("word", "string"):
                    self.unexpected("; expected the end of the range")
                self.take()
                items.append(Range(_literal(t), _literal(high)))
            else:
                items.append(_literal(t))
        if not items:
            self.fail("an empty set", "; expected values between '{' and '}'")
        self.take()
        return items


def _literal(t: Token) -> Literal:
    return Literal(t.text, t.column, quoted=t.kind == "string")


__all__ = ["COMPARISONS", "FUNCTIONS", "parse"]
