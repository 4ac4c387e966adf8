"""Values as typed in a filter -> values as a field holds them.

Wireshark reads an unquoted value by the field it is compared with, and so
does this: ``inv.type == MSG_TX`` is the number 1, ``inv.hash == ab:cd``
two bytes, ``size > 1M`` 1,048,576, ``time >= "2026-12-01 10:00"`` a time.
What each kind takes (docs/ANALYSIS.md, "Display filters"):

========  ===================================================================
int       decimal, ``0x`` hex, ``0o``, ``0b``; ``size`` and ``captured_len``
          also K, M, G (powers of 1024, as ``--rotate-size``)
enum      a number, or one of its names in any case (``MSG_TX``, ``msg_tx``)
bool      true, false, 1, 0
bytes     hex digits, whole bytes, optionally split by ``:``, ``-`` or ``.``
          (``ab:cd:ef:01``, ``abcdef01``); a quoted value the same, or when
          it is not hex, its UTF-8 bytes (``payload contains "Dash Core"``);
          ``0xff`` is one byte, as in Wireshark
text      a quoted string, or a word; names of an enum's text in any case
time      ``--since``'s forms: ``"2026-12-01 10:00"`` (UTC), ``+10s``,
          ``12:00:05``, ``@1764583200``
reltime   seconds (``5``, ``1.5``), or with a unit (``250ms``, ``2m``)
========  ===================================================================

Hashes are compared as they are shown: hex in RPC display order, so
``inv.hash[0:2]`` is the first two bytes of the hash as printed.

>>> to_value("ab:CD-ef", "bytes"), to_value("1M", "int", sized=True), to_value("msg_tx", "enum", {1: "MSG_TX"})
('abcdef', 1048576, 1)
"""

from __future__ import annotations

import re

from p2pcap.analysis.timespec import parse_time
from p2pcap.errors import ArgumentError
from p2pcap.units import NS, parse_duration_ns, parse_size

_HEX_BYTES = re.compile(r"^[0-9a-fA-F]{2}(?:[:.\-]?[0-9a-fA-F]{2})*$")
_SEPARATED = re.compile(r"^[0-9a-fA-F]{1,2}(?:([:.\-])[0-9a-fA-F]{1,2})+$")
# What each kind holds, said when a value cannot be one.
HOLDS = {
    "int": "a number (decimal or 0x hex)",
    "enum": "a number or one of its names",
    "bool": "true or false",
    "bytes": "bytes in hex (ab:cd:ef or abcdef)",
    "proto": "bytes in hex (ab:cd:ef or abcdef), or a quoted string",
    "text": "text",
    "bits": "bits (0 and 1)",
    "time": 'a time ("2026-12-01 10:00", +10s, 12:00:05, @EPOCH)',
    "reltime": "seconds (5, 1.5) or a duration (250ms, 2m)",
}


class BadValue(ValueError):
    """``text`` cannot be a value of the kind; ``guess`` is a name it may have meant."""

    def __init__(self, problem: str, guess: str | None = None):
        super().__init__(problem)
        self.guess = guess


def to_value(text: str, kind: str, names: dict | None = None, *, quoted: bool = False, sized: bool = False):
    """``text`` as a field of ``kind`` holds it (see the module doc); ``BadValue`` says why not.

    ``names`` is an enum's (or a named text's) number -> name table;
    ``sized`` takes K/M/G units (``size``).
    """
    if kind in ("bytes", "proto"):
        return _bytes(text, quoted)
    if kind == "int":
        number = _number(text) if not sized else _size(text)
        if number is None:
            raise BadValue(f"not {HOLDS[kind]}")
        return number
    if kind == "enum":
        number = _number(text)
        if number is not None:
            return number
        return _name(text, names, number_of=True)
    if kind == "bool":
        word = text.strip().lower()
        if word in ("true", "1"):
            return True
        if word in ("false", "0"):
            return False
        raise BadValue("not true or false")
    if kind == "bits":
        if not text or text.strip("01"):
            raise BadValue(f"not {HOLDS[kind]}")
        return text
    if kind == "time":
        try:
            return parse_time(text)
        except ArgumentError:
            raise BadValue(f"not {HOLDS[kind]}") from None
    if kind == "reltime":
        try:
            return parse_duration_ns(text.removeprefix("+"), allow_zero=True) / NS
        except ArgumentError:
            raise BadValue(f"not {HOLDS[kind]}") from None
    if kind == "text" and names:
        number = _number(text)
        if isinstance(number, int):
            return names.get(number) or str(number)  # a number without a name is shown as one
        return _name(text, names, number_of=False)
    return text


def _number(text: str):
    t = text.strip().replace("_", "")
    if t.lstrip("+-")[:2].lower() in ("0x", "0o", "0b"):
        try:
            return int(t, 0)
        except ValueError:
            return None
    try:
        return int(t, 10)  # a leading 0 is still decimal here (Wireshark reads 012 as octal)
    except ValueError:
        pass
    try:
        number = float(t)
    except ValueError:
        return None
    return number if number == number and abs(number) != float("inf") else None


def _size(text: str):
    number = _number(text)
    if number is not None:
        return number
    try:
        return parse_size(text)
    except ArgumentError:
        return None


def _name(text: str, names: dict | None, *, number_of: bool):
    folded = {str(n).lower(): (number, n) for number, n in (names or {}).items() if n}
    hit = folded.get(text.strip().lower())
    if hit is not None:
        return hit[0] if number_of else hit[1]
    from p2pcap.analysis.vocabulary import nearest

    raise BadValue("no such name", nearest(text, [n for _k, n in folded.values()]))


def _bytes(text: str, quoted: bool) -> str:
    t = text.strip()
    if t[:2].lower() == "0x" and len(t) <= 4 and not quoted:
        try:
            value = int(t, 16)
        except ValueError:
            value = -1
        if 0 <= value <= 0xFF:  # Wireshark: a hex integer that fits one byte is that byte
            return f"{value:02x}"
        raise BadValue("a hex number of more than one byte: write its bytes (ab:cd)")
    if _HEX_BYTES.match(t):
        return re.sub(r"[:.\-]", "", t).lower()
    m = _SEPARATED.match(t)
    if m and all(len(part) in (1, 2) for part in t.split(m.group(1))):
        return "".join(part.rjust(2, "0") for part in t.split(m.group(1))).lower()  # 0.1.0.d
    if quoted:
        return t.encode("utf-8", "surrogateescape").hex()
    raise BadValue(f"not {HOLDS['bytes']}")


def regex(text: str):
    """A ``matches`` pattern, compiled: case-insensitive unless it starts with
    ``(?-i)`` (PCRE's way, which Python's ``re`` spells as a missing flag)."""
    flags = re.IGNORECASE
    if text.startswith("(?-i)"):
        text, flags = text[5:], 0
    try:
        return re.compile(text, flags)
    except re.error as exc:
        raise BadValue(f"is not a regular expression ({exc})") from None


__all__ = ["HOLDS", "BadValue", "regex", "to_value"]
