"""Display filters: Wireshark's filter language over p2pcap's messages (``-Y``).

``compile_filter(text)`` checks an expression against the names it may use
(the record's fields, the ``object.*`` helpers, command names and every
decoded field of the catalogue) and compiles it, once, to a closure per
command; ``RecordFilter(display=...)`` and ``filters.Selection`` run it.

    lexer.py     text -> tokens with their columns
    parser.py    tokens -> syntax tree (nodes.py), Wireshark's grammar
    names.py     the names: record fields, helpers, commands, the catalogue
    values.py    a value as typed -> as its field holds it
    checker.py   the tree against the names and kinds; errors with a column
    compiler.py  the tree for one command, folded, -> a closure
    access.py    reading values from a record and its decoded payload
    program.py   DisplayFilter: what the reader can skip, and the test

>>> f = compile_filter('inv.type == MSG_TX && dir == "in"')
>>> sorted(f.commands), f.needs_decode
(['inv'], True)
"""

from __future__ import annotations

from .lexer import FilterSyntaxError
from .names import RECORD, FieldSpec, every_name, helpers, resolve
from .program import DisplayFilter, compile_filter

__all__ = [
    "RECORD",
    "DisplayFilter",
    "FieldSpec",
    "FilterSyntaxError",
    "compile_filter",
    "every_name",
    "helpers",
    "resolve",
]
