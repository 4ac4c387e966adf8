"""Display-filter text -> tokens, each with the column it starts at.

The tokens of Wireshark's display-filter language (wireshark-filter(4)) that
p2pcap takes: punctuation ``( ) { } [ ] ,``, the operators ``== != ===
!== ~= < <= > >= && || ^^ ! ~``, double-quoted strings (with C escapes, or
raw as ``r"..."``) and *words*: runs of letters, digits and ``_ . : - + /``
that are field names, keywords (``and``, ``contains``, ``in``...) or
unquoted values (``MSG_TX``, ``0x1f``, ``1M``, ``ab:cd:ef``, ``1..5``).
Which a word is, the parser decides from where it stands.

>>> [(t.kind, t.text, t.column) for t in tokenize('inv.type == MSG_TX && !clsig')]
[('word', 'inv.type', 1), ('op', '==', 10), ('word', 'MSG_TX', 13), ('op', '&&', 20), ('op', '!', 23), ('word', 'clsig', 24), ('end', '', 29)]
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from p2pcap.errors import ArgumentError

# Longest first, so that "===" is not read as "==" "=".
OPERATORS = ("===", "!==", "==", "!=", "~=", "<=", ">=", "&&", "||", "^^", "<", ">", "!", "~")
PUNCTUATION = "(){}[],"
_WORD = re.compile(r"[A-Za-z0-9_.:\-+/]+")
_SPACE = re.compile(r"\s+")
# wireshark-filter(4), "Strings": the escapes a quoted string takes.
_ESCAPES = {
    "'": "'",
    '"': '"',
    "\\": "\\",
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
}
_HEX = "0123456789abcdefABCDEF"
MAX_LENGTH = 10_000  # an expression longer than this is not typed by hand


@dataclass(frozen=True)
class Token:
    """``kind`` is ``word``, ``string``, ``op``, ``punct`` or ``end``; ``text``
    the word or operator as typed, or a string's value; ``column`` 1-based."""

    kind: str
    text: str
    column: int


class FilterSyntaxError(ArgumentError):
    """A display filter that cannot be read or checked: the problem, its column,
    and what was expected there."""

    def __init__(self, expression: str, problem: str, column: int, hint: str = ""):
        self.column = column
        self.expression = expression
        super().__init__("filter", f"{problem} at column {column}{hint}", value=expression)


def tokenize(text: str) -> list[Token]:
    """The tokens of ``text``, ending with an ``end`` token; a
    ``FilterSyntaxError`` at the first character that starts none."""
    if len(text) > MAX_LENGTH:
        raise FilterSyntaxError(text[:40] + "…", f"an expression of at most {MAX_LENGTH} characters", 1)
    out: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        space = _SPACE.match(text, i)
        if space:
            i = space.end()
            continue
        c = text[i]
        if c == '"' or (c == "r" and text.startswith('r"', i)):
            raw = c == "r"
            value, end = _string(text, i + raw, raw)
            out.append(Token("string", value, i + 1))
            i = end
            continue
        op = next((o for o in OPERATORS if text.startswith(o, i)), None)
        if op is not None:
            out.append(Token("op", op, i + 1))
            i += len(op)
            continue
        if c in PUNCTUATION:
            out.append(Token("punct", c, i + 1))
            i += 1
            continue
        word = _WORD.match(text, i)
        if word:
            out.append(Token("word", word.group(), i + 1))
            i = word.end()
            continue
        raise FilterSyntaxError(
            text, f"unexpected {c!r}", i + 1, "; expected a field, a value or an operator"
        )
    out.append(Token("end", "", n + 1))
    return out


def _string(text: str, start: int, raw: bool) -> tuple[str, int]:
    """(value, index after the closing quote) of the string opening at ``start``."""
    out: list[str] = []
    i = start + 1
    while i < len(text):
        c = text[i]
        if c == '"':
            return "".join(out), i + 1
        if c != "\\":
            out.append(c)
            i += 1
            continue
        if i + 1 >= len(text):
            break
        nxt = text[i + 1]
        if raw:  # a raw string keeps its backslashes; \" still does not end it
            out.append(c + nxt)
            i += 2
            continue
        value, i = _escape(text, i)
        out.append(value)
    raise FilterSyntaxError(text, "a string without its closing quote", start + 1, "; expected '\"'")


def _escape(text: str, i: int) -> tuple[str, int]:
    """The character of the escape at ``text[i]`` (a backslash), and where it ends."""
    nxt = text[i + 1]
    if nxt in _ESCAPES:
        return _ESCAPES[nxt], i + 2
    digits = {"x": 2, "u": 4, "U": 8}.get(nxt)
    if digits is not None:
        code = text[i + 2 : i + 2 + digits]
        if len(code) == digits and all(d in _HEX for d in code):
            return chr(int(code, 16)), i + 2 + digits
    elif nxt in "01234567":
        code = re.match(r"[0-7]{1,3}", text[i + 1 : i + 4]).group()
        return chr(int(code, 8)), i + 1 + len(code)
    raise FilterSyntaxError(text, f"unknown escape '\\{nxt}'", i + 1, r"; expected \" \\ \n \t \xNN \NNN ...")


__all__ = ["FilterSyntaxError", "Token", "tokenize"]
