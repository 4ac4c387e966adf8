"""What reading a capture may cost: size caps, JSON nesting, the expansion budget.

A capture may come from a stranger (it is made to be attached to bug
reports), so a reader lets a file cost memory and time in proportion to
its own size, never in proportion to what its headers claim
(docs/FORMAT.md, "Limits").  Three kinds of limit live here, each with the
reason for its number:

* fixed caps on what is parsed whole: metadata, JSON nesting;
* the footer's cap, which grows with the file (its index describes the
  file's blocks, so it is about as big as they are many);
* the expansion budget: what a file's blocks may decompress to, and how
  many records and peer-sessions they may hold, grows with the compressed
  bytes read so far.  zstd can turn 3 bytes into 128 KiB (an RLE block,
  RFC 8878 section 3.1.1.2), so without it a 1 MB file can ask for 30 GB.

Nothing here touches a file: the sans-I/O ``Decoder`` charges every block it
delivers to an ``ExpansionBudget``, the reader asks ``sessions_allowed``
while building an index, and ``index.check_claims`` holds a footer's
numbers to the same budget.
"""

from __future__ import annotations

import json
import re
from itertools import accumulate

from .errors import CorruptBlock, FormatError

# -- fixed caps ---------------------------------------------------------------
# The recorder writes about 2 KB of metadata (tool, host, target, clock,
# filters, command line); `merge` nests each input's under `merged_from`, so
# 1 MiB holds hundreds of merged captures.  Parsed, JSON costs up to ~25x its
# text in Python objects (`[{},{},...]`), so 1 MiB stays under ~25 MB.
MAX_METADATA = 1 << 20
# Nesting: the recorder's metadata is 3 levels deep, each `merge` adds 2, the
# footer is 4.  Python's json recurses once per level and fails with
# RecursionError near 1000; 64 is far from both.
MAX_JSON_DEPTH = 64
# The smallest record a block can hold: a message with no payload (the 28
# bytes of docs/FORMAT.md, "Message"); a gap takes 35.
MIN_RECORD = 28
# The smallest block on disk: its 52-byte header and the smallest zstd frame
# (magic 4, descriptor 1, a 1-byte content size, one 3-byte block header).
MIN_BLOCK = 52 + 9

# -- the footer ---------------------------------------------------------------
# A footer lists every block (~150 bytes of JSON each) and every peer-session
# (~170 bytes and its address).  The smallest block a writer makes (one
# ping) is ~150 bytes on disk, so even a file of one-message blocks, each
# with a new peer, has a footer about 2.2x the size of its blocks; a peer
# reconnecting thousands of times under a 256-byte host name (capture/
# limits.py ADDR_MAX) ~4.5x.  p2pcap's own files measure 0.001-0.4x
# (docs/FORMAT.md, "Limits").  Parsed, JSON costs up to ~12x its text once
# containers are limited (below): a 1 MB file's footer stays under ~110 MB.
FOOTER_FLOOR = 1 << 20
FOOTER_PER_BYTE = 8
# A footer holds two containers per block and three per peer-session, each
# ~75 bytes of text; refusing more than one per 16 bytes keeps hostile JSON
# (`[{},{},...]`, 64 bytes of objects per 3 bytes) from costing 20x its size.
FOOTER_BYTES_PER_CONTAINER = 16

# -- the expansion budget -----------------------------------------------------
# Raw (decompressed) bytes.  Synthetic mainnet-like traffic expands 1.5-1.8x
# (benchmarks/bench_format.py), a real mainnet mix 2.5x, but a real dashd's
# regtest runs far more: samples/realnode-*.cap 7-9x, the functional tests'
# captures (tests/realnode) 4-15x over a whole file, up to 23x over a first
# part and 35x in one block (quorum messages repeat).  32x leaves twice the
# whole-file ratio; the floor covers a small file's first parts, and any
# small file holding one message of Dash's 3 MiB maximum (src/net.h
# MAX_PROTOCOL_MESSAGE_LENGTH) however well it compresses.
RAW_FLOOR = 8 << 20
RAW_PER_BYTE = 32
# Records (messages and gaps) and distinct peer-sessions: real regtest
# captures hold one record per 20-70 bytes, mainnet-like ones one per
# 140-160; a record whose payload repeats the one before still costs ~1
# byte compressed.  One per 8 bytes read keeps a 1 MB file under ~160,000
# records, 2.5x what real ones hold.
RECORDS_FLOOR = 32768
BYTES_PER_RECORD = 8

_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


def raw_allowed(read: int) -> int:
    """Decompressed bytes a file may have given once ``read`` bytes of it were read.

    >>> raw_allowed(1_000_000) // 1_000_000
    40
    """
    return RAW_FLOOR + RAW_PER_BYTE * read


def records_allowed(read: int) -> int:
    """Records (and distinct peer-sessions) a file may hold in its first ``read`` bytes.

    >>> records_allowed(0), records_allowed(800)
    (32768, 32868)
    """
    return RECORDS_FLOOR + read // BYTES_PER_RECORD


sessions_allowed = records_allowed  # every peer-session carries a message


def footer_allowed(footer_offset: int) -> int:
    """Decompressed bytes of a footer that starts at ``footer_offset``.

    >>> footer_allowed(0) == FOOTER_FLOOR
    True
    """
    return FOOTER_FLOOR + FOOTER_PER_BYTE * footer_offset


class ExpansionBudget:
    """What the blocks delivered so far decompress to, against what the
    bytes read allow; one per pass over a file.

    >>> b = ExpansionBudget()
    >>> b.charge(1000, 10, read=200) is None
    True
    >>> print(b.charge(50 << 20, 1, read=400))
    block would decompress to 52428800 bytes, past the expansion budget: 1000 decompressed so far + 52428800 > 8388608 + 32 x 400 bytes read
    """

    __slots__ = ("raw", "records")

    def __init__(self):
        self.raw = 0
        self.records = 0

    def charge(self, raw_len: int, records: int, *, read: int) -> str | None:
        """Add one block, or say why it is refused (and add nothing)."""
        if self.raw + raw_len > raw_allowed(read):
            return (
                f"block would decompress to {raw_len} bytes, past the expansion budget: "
                f"{self.raw} decompressed so far + {raw_len} > "
                f"{RAW_FLOOR} + {RAW_PER_BYTE} x {read} bytes read"
            )
        if self.records + records > records_allowed(read):
            return (
                f"block claims {records} records, past the budget: {self.records} so far + "
                f"{records} > {RECORDS_FLOOR} + {read} bytes read / {BYTES_PER_RECORD}"
            )
        self.raw += raw_len
        self.records += records
        return None


def json_shape(text: str) -> tuple[int, int]:
    """(deepest nesting, number of arrays and objects) of JSON text, in linear time.

    Strings are taken out first so brackets inside them do not count; text
    that is not JSON gives some answer, and ``json.loads`` refuses it after.

    >>> json_shape('{"a": [1, {"b": "]]]["}], "c": []}')
    (3, 4)
    """
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    opened = brackets.count("[") + brackets.count("{")
    if opened <= 1:
        return opened, opened
    return max(accumulate(_STEP[c] for c in brackets)), opened


def load_json(data, what: str, *, offset: int | None = None, bytes_per_container: int | None = None):
    """Parse UTF-8 JSON from a capture, nesting checked first.

    ``FormatError`` (naming ``what`` and ``offset``) for text that is not
    UTF-8 or not JSON, nests deeper than ``MAX_JSON_DEPTH``, or holds more
    than one array or object per ``bytes_per_container`` bytes: never
    RecursionError.

    >>> load_json(b'{"network": "main"}', "metadata")
    {'network': 'main'}
    >>> load_json(b"[" * 100 + b"]" * 100, "footer", offset=40)
    Traceback (most recent call last):
    p2pcap.formats.errors.CorruptBlock: offset 40: footer nests 100 levels deep (limit 64)
    """
    try:
        text = bytes(data).decode("utf-8")
    except UnicodeDecodeError as e:
        raise FormatError(f"{what} is not JSON ({e})", offset=offset) from None
    depth, containers = json_shape(text)
    if depth > MAX_JSON_DEPTH:
        raise CorruptBlock(f"{what} nests {depth} levels deep (limit {MAX_JSON_DEPTH})", offset=offset)
    if bytes_per_container and containers > 64 + len(text) // bytes_per_container:
        raise CorruptBlock(
            f"{what} holds {containers} arrays and objects in {len(text)} bytes "
            f"(limit one per {bytes_per_container})",
            offset=offset,
        )
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as e:
        raise FormatError(f"{what} is not JSON ({e})", offset=offset) from None
