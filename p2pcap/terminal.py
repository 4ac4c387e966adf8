"""Text from a capture, made safe for a terminal; streams that cannot carry it.

A capture may come from a stranger, and its strings -- peer addresses,
connection types, commands, user agents, the metadata's host -- are
whatever the file says.  Printed raw, an ESC starts a control sequence (a
new window title, colours, on some terminals worse), a CR or LF forges a
line, a U+202E turns the rest of the row around.  So every string from a
capture goes through ``printable`` before a table shows it, as Wireshark
and tcpdump (``-v``'s ``\\x`` forms) escape what they print: control
characters as ``\\x1b``, ``\\r``, ``\\n``, ``\\t``; a backslash as ``\\\\`` so
the escapes stay unambiguous; bytes that were not UTF-8 (kept as
surrogate escapes) as ``\\xNN``; Unicode's invisible format characters
(bidirectional overrides, zero-width joiners) as ``\\uNNNN``.  JSON output
stays exact: JSON has its own escapes.

``ascii_fallback`` is the codec error handler the CLI puts on stdout and
stderr: where the terminal's encoding cannot carry a character (an ``…``
under ``PYTHONIOENCODING=ascii`` or the C locale), it writes ``...``
instead, or a ``\\uNNNN`` escape, never a traceback.
"""

from __future__ import annotations

import codecs
import re
import shutil
import unicodedata

# C0 controls, DEL, C1 controls, the backslash, lone surrogates, and the
# invisible format characters (Unicode category Cf) and line separators.
_UNSAFE = re.compile(
    r"[\x00-\x1f\x7f-\x9f\\\ud800-\udfff\u061c\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]"
)
_UNSAFE_KEEP_BACKSLASH = re.compile(_UNSAFE.pattern.replace("\\\\", ""))
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\\": "\\\\"}


def _escape(match: re.Match) -> str:
    ch = match.group()
    named = _NAMED.get(ch)
    if named is not None:
        return named
    code = ord(ch)
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8, kept by surrogateescape
        return f"\\x{code - 0xDC00:02x}"
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}"


def printable(text, *, backslash: bool = True) -> str:
    """``text`` with everything a terminal would act on escaped.

    ``backslash=False`` leaves backslashes as they are: for our own lines
    (errors), whose ``repr()`` of bytes already holds escapes.

    >>> printable("1.2.3.4:9999")
    '1.2.3.4:9999'
    >>> printable("evil\\x1b]0;owned\\x07\\r\\nforged")
    'evil\\\\x1b]0;owned\\\\x07\\\\r\\\\nforged'
    >>> printable(b"caf\\xe9".decode("utf-8", "surrogateescape")), printable("a\\u202eb"), printable("ü")
    ('caf\\\\xe9', 'a\\\\u202eb', 'ü')
    """
    if not isinstance(text, str):
        text = str(text)
    if text.isascii() and text.isprintable() and (not backslash or "\\" not in text):
        return text  # the common case, without the regular expression
    text = (_UNSAFE if backslash else _UNSAFE_KEEP_BACKSLASH).sub(_escape, text)
    if not text.isprintable():  # anything else Unicode calls unprintable (unassigned, private use)
        text = "".join(c if c.isprintable() else _escape_char(c) for c in text)
    return text


def _escape_char(ch: str) -> str:
    code = ord(ch)
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


# What a stream that cannot carry a character gets instead of it.
_ASCII = {"…": "...", "→": "->", "←": "<-", "×": "x", "≥": ">=", "≤": "<=", "—": "--", "–": "-", "µ": "u"}


def _ascii_fallback(error: UnicodeEncodeError):
    if not isinstance(error, UnicodeEncodeError):
        raise error
    out = []
    for ch in error.object[error.start : error.end]:
        replacement = _ASCII.get(ch)
        if replacement is None:
            name = unicodedata.category(ch)
            replacement = "?" if name == "Cs" else _escape_char(ch)
        out.append(replacement)
    return "".join(out), error.end


ERRORS = "p2pcap-ascii"
codecs.register_error(ERRORS, _ascii_fallback)


def fallback_streams(*streams) -> None:
    """Make text ``streams`` write ``...`` (or an escape) for what their encoding cannot carry.

    >>> import io
    >>> s = io.TextIOWrapper(io.BytesIO(), encoding="ascii")
    >>> fallback_streams(s); _ = s.write("cut…"); s.flush(); s.buffer.getvalue()
    b'cut...'
    """
    for stream in streams:
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            try:
                reconfigure(errors=ERRORS)
            except (ValueError, OSError):  # a closed or detached stream: nothing to protect
                pass


# -- the page: how wide a table row may be in this run ----------------------------
DEFAULT_WIDTH = 80  # the page when nothing says otherwise
_page_width: list = [DEFAULT_WIDTH]


def set_page_width(width: int | None) -> None:
    """The columns every table row is cut to in this run; None: never cut."""
    _page_width[0] = width


def page_width_now() -> int | None:
    """The width ``set_page_width`` chose for this run."""
    return _page_width[0]


def page_width(stream, *, wide: bool = False) -> int | None:
    """The terminal's width when ``stream`` is one; None (never cut) when it
    is piped or redirected, or with ``wide`` (``-w``), as ``ps -w`` does.

    >>> import io; page_width(io.StringIO()) is None
    True
    """
    isatty = getattr(stream, "isatty", None)
    if wide or not (isatty and isatty()):
        return None
    return max(shutil.get_terminal_size((DEFAULT_WIDTH, 24)).columns, 40)


__all__ = [
    "ERRORS",
    "fallback_streams",
    "page_width",
    "page_width_now",
    "printable",
    "set_page_width",
]
