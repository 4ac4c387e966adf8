"""The footer read back: its JSON parsed strictly, its claims held to the file.

A footer is a file's own account of itself (docs/FORMAT.md, "Footer"), and
``stats`` answers from it without reading a block.  A file from a stranger
may hold any footer, so before its index is used (``parse_footer``):

* the body must fit the footer's cap for a file that size, and its JSON
  nest no deeper than the limits allow (``limits.py``);
* every number must be an integer in its field's range, every name a
  string that fits its field (``index_from_json``);
* what it claims must be possible (``check_claims``): blocks in order
  inside the file, each able to hold its records, totals that add up and
  stay within the expansion budget of a file that size.

What only reading the blocks shows (a count off by one), ``check`` finds
with ``differences``, one line per thing that differs.
"""

from __future__ import annotations

from .compress import decompress
from .errors import CorruptBlock, FormatError
from .index import BlockInfo, CaptureIndex, Counts, Loss, PeerSession
from .layout import GAP_BIT, MAX_BLOCK_BYTES, BlockHeader, commands_mask
from .limits import (
    FOOTER_BYTES_PER_CONTAINER,
    FOOTER_FLOOR,
    FOOTER_PER_BYTE,
    MIN_BLOCK,
    MIN_RECORD,
    footer_allowed,
    load_json,
    raw_allowed,
    records_allowed,
    sessions_allowed,
)
from .records import DIRECTIONS

_U16, _U32, _U64 = 0xFFFF, 0xFFFFFFFF, (1 << 64) - 1
_SUM = (1 << 128) - 1  # totals: fewer than 2^64 records of u64 fields
_I64 = (-(1 << 63), (1 << 63) - 1)


def parse_footer(h: BlockHeader, body: bytes, first_block: int) -> CaptureIndex:
    """The index a (checksum-verified) footer block holds, its claims checked
    against the file (``check_claims``); ``FormatError`` if it is unreadable,
    too big for the file, or claims what cannot be."""
    allowed = footer_allowed(h.offset)
    if h.raw_len > allowed:
        raise CorruptBlock(
            f"index would decompress to {h.raw_len} bytes; a footer at offset {h.offset} may take "
            f"{allowed} ({FOOTER_FLOOR} + {FOOTER_PER_BYTE} x its offset)"
        )
    obj = load_json(decompress(body, h.raw_len), "index", bytes_per_container=FOOTER_BYTES_PER_CONTAINER)
    index = index_from_json(obj)
    check_claims(index, blocks=h.records, first_block=first_block, footer_offset=h.offset)
    return index


def index_from_json(obj) -> CaptureIndex:
    """``CaptureIndex.to_json`` read back; unknown keys (newer minors) are ignored.

    >>> index_from_json({"blocks": [], "commands": {}, "peers": [], "losses": []}).messages
    0
    >>> index_from_json({"blocks": [], "commands": {"inv": {"in": [1.5, 0, 0]}}, "peers": [], "losses": []})
    Traceback (most recent call last):
    p2pcap.formats.errors.FormatError: index is malformed (ValueError: 1.5 is not an integer from 0 to 2^128-1)
    """
    try:
        blocks = []
        for i, b in enumerate(_list(obj["blocks"])):
            cmds = tuple(_text(c, 0xFF) for c in _list(b["commands"]))
            gaps = _int(b.get("gaps", 0), _U32)
            mask = commands_mask(cmds) | (GAP_BIT if gaps else 0)
            blocks.append(
                BlockInfo(
                    i,
                    _int(b["offset"]),
                    _int(b["length"]),
                    _int(b["records"], _U32),
                    _int(b["ts_min"]),
                    _int(b["ts_max"]),
                    _int(b.get("raw_len", 0), _U32),
                    mask,
                    cmds,
                    gaps,
                )
            )
        commands = {}
        for name, dirs in _dict(obj["commands"]).items():
            commands[_text(name, 0xFF)] = {
                d: Counts(*_sums(v, 3)) for d, v in _dict(dirs).items() if d in DIRECTIONS
            }
        peers = [
            PeerSession(
                _int(p["pid"], _U32),
                _int(p["peer_id"], *_I64),
                _text(p["addr"], _U16),
                _text(p["conn_type"], 0xFF),
                _int(p["first"]),
                _int(p["last"]),
                *_sums(p["messages"], 2),
                *_sums(p["bytes"], 2),
            )
            for p in _list(obj["peers"])
        ]
        losses = [
            Loss(
                _int(x["pid"], _U32),
                _int(x["reason"], _U16),
                _int(x["records"], _SUM),
                _int(x["lost_messages"], _SUM),
                _int(x["lost_bytes"], _SUM),
                _int(x["first"]),
                _int(x["last"]),
            )
            for x in _list(obj["losses"])
        ]
        clock_steps = [_dict(step) for step in _list(obj.get("clock_steps", []))]
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as e:
        raise FormatError(f"index is malformed ({type(e).__name__}: {e})") from None
    return CaptureIndex(blocks=blocks, commands=commands, peers=peers, losses=losses, clock_steps=clock_steps)


def _int(v, lo_or_hi: int = _U64, hi: int | None = None) -> int:
    """``v`` if it is a JSON integer within the field's range (``0..lo_or_hi``,
    or ``lo_or_hi..hi``), else ValueError."""
    lo, hi = (0, lo_or_hi) if hi is None else (lo_or_hi, hi)
    if type(v) is not int or not lo <= v <= hi:
        top = f"2^{hi.bit_length()}-1" if hi > _U32 and not hi & (hi + 1) else str(hi)
        raise ValueError(f"{v!r:.24} is not an integer from {lo} to {top}")
    return v


def _sums(v, n: int) -> list:
    """The first ``n`` totals of a list (a newer minor may append more)."""
    if len(_list(v)) < n:
        raise ValueError(f"expected {n} totals, found {len(v)}")
    return [_int(x, _SUM) for x in v[:n]]


def _text(v, limit: int) -> str:
    """``v`` if it is a string whose bytes fit a field of ``limit`` bytes."""
    if type(v) is not str:
        raise TypeError(f"expected a string, not {type(v).__name__}")
    if len(v) > limit // 4 and len(v.encode("utf-8", "surrogateescape")) > limit:
        raise ValueError(f"a string of {len(v)} characters does not fit a {limit}-byte field")
    return v


def _list(v) -> list:
    if type(v) is not list:
        raise TypeError(f"expected a list, not {type(v).__name__}")
    return v


def _dict(v) -> dict:
    if type(v) is not dict:
        raise TypeError(f"expected an object, not {type(v).__name__}")
    return v


def check_claims(index: CaptureIndex, *, blocks: int, first_block: int, footer_offset: int) -> None:
    """``FormatError`` naming the first claim of a footer's index that the
    file cannot hold: its blocks must lie in order between the file header
    (``first_block``) and the footer, each able to hold what it claims; the
    totals must add up and stay within the expansion budget of a file that
    size (``limits.py``).  No block is read.

    >>> check_claims(CaptureIndex(), blocks=0, first_block=38, footer_offset=38)
    >>> check_claims(CaptureIndex(), blocks=2, first_block=38, footer_offset=38)
    Traceback (most recent call last):
    p2pcap.formats.errors.FormatError: index lists 0 blocks; the footer's header says 2
    """
    if len(index.blocks) != blocks:
        raise FormatError(f"index lists {len(index.blocks)} blocks; the footer's header says {blocks}")
    end = first_block
    raw = records = gaps = 0
    names = set()
    for b in index.blocks:
        if b.offset < end or b.length < MIN_BLOCK or b.offset + b.length > footer_offset:
            raise FormatError(
                f"index puts block {b.index} at offset {b.offset} ({b.length} bytes), outside "
                f"{end}..{footer_offset}, the room after the block before it"
            )
        if b.length > 52 + MAX_BLOCK_BYTES + (MAX_BLOCK_BYTES >> 4) or b.raw_len > MAX_BLOCK_BYTES:
            raise FormatError(f"index gives block {b.index} a size past the format's limit")
        if b.records * MIN_RECORD > b.raw_len or b.gaps > b.records or len(b.commands) > b.records - b.gaps:
            raise FormatError(
                f"index claims {b.records} records ({b.gaps} gaps, {len(b.commands)} commands) "
                f"for block {b.index}, which holds {b.raw_len} bytes"
            )
        end = b.offset + b.length
        raw += b.raw_len
        records += b.records
        gaps += b.gaps
        names.update(b.commands)
    if (
        raw > raw_allowed(footer_offset)
        or records > records_allowed(footer_offset)
        or len(index.peers) > sessions_allowed(footer_offset)
    ):
        raise FormatError(
            f"index claims {records} records and {len(index.peers)} peer-sessions in {raw} "
            f"decompressed bytes, past the expansion budget of a file of {footer_offset} bytes"
        )
    _check_totals(index, records - gaps, gaps, raw, names)


def _check_totals(index: CaptureIndex, messages: int, gaps: int, raw: int, names: set) -> None:
    """The per-command, per-peer and per-loss totals against the blocks' own."""
    counted = [c for dirs in index.commands.values() for c in dirs.values()]
    claimed = sum(c.messages for c in counted)
    msg_bytes = sum(c.bytes for c in counted)
    if claimed != messages or sum(c.captured for c in counted) > raw or msg_bytes > claimed * _U32:
        raise FormatError(
            f"index claims {claimed} messages of {msg_bytes} bytes; its blocks hold {messages} "
            f"messages in {raw} bytes"
        )
    if set(index.commands) != names:
        raise FormatError("index counts other commands than its blocks list")
    peers = index.peers
    if len(peers) > messages or (
        sum(p.messages_in + p.messages_out for p in peers) != messages
        or sum(p.bytes_in + p.bytes_out for p in peers) != msg_bytes
    ):
        raise FormatError(
            f"index lists {len(peers)} peer-sessions whose counts do not add up to its messages'"
        )
    lost = sum(x.records for x in index.losses)
    if lost != gaps:
        raise FormatError(f"index sums {lost} gap records; its blocks hold {gaps}")


MAX_DIFFERENCES = 20  # lines `check` prints for one footer; the rest are counted


def differences(footer: CaptureIndex, scanned: CaptureIndex) -> list:
    """What a footer's index says that the blocks do not: one line per block,
    command and direction, peer-session or loss that differs (at most
    ``MAX_DIFFERENCES``, then how many more).

    >>> a, b = CaptureIndex(), CaptureIndex()
    >>> a.commands["inv"] = {"in": Counts(2, 74, 74)}
    >>> b.commands["inv"] = {"in": Counts(1, 37, 37)}
    >>> differences(a, b)
    ['inv in: the footer says 2 messages, 74 bytes (74 captured); the blocks hold 1, 37 (37)']
    """
    out = []
    found = {b.offset: b for b in scanned.blocks}
    listed = {b.offset: b for b in footer.blocks}
    for offset in sorted(listed.keys() | found.keys()):
        a, b = listed.get(offset), found.get(offset)
        if b is None:
            out.append(f"block at offset {offset}: listed in the footer, not found")
        elif a is None:
            out.append(f"block {b.index} at offset {offset}: found, not listed in the footer")
        elif _block_facts(a) != _block_facts(b):
            said, held = _block_facts(a), _block_facts(b)
            what = ", ".join(f"{k} {said[k]} (block: {held[k]})" for k in said if said[k] != held[k])
            out.append(f"block {b.index} at offset {offset}: the footer says {what}")
    for name in sorted(footer.commands.keys() | scanned.commands.keys()):
        said, held = footer.commands.get(name, {}), scanned.commands.get(name, {})
        for d in DIRECTIONS:
            a, b = said.get(d, Counts()), held.get(d, Counts())
            if a != b:
                out.append(
                    f"{_name(name)} {d}: the footer says {a.messages} messages, {a.bytes} bytes "
                    f"({a.captured} captured); the blocks hold {b.messages}, {b.bytes} ({b.captured})"
                )
    out += _keyed(
        "peer-session",
        {(p.pid, p.peer_id, p.addr, p.conn_type): p for p in footer.peers},
        {(p.pid, p.peer_id, p.addr, p.conn_type): p for p in scanned.peers},
        lambda k: f"{k[0]}:{k[1]} {_name(k[2])} {_name(k[3])}",
    )
    out += _keyed(
        "loss",
        {(x.pid, x.reason): x for x in footer.losses},
        {(x.pid, x.reason): x for x in scanned.losses},
        lambda k: f"pid {k[0]} reason {k[1]}",
    )
    if len(out) > MAX_DIFFERENCES:
        out[MAX_DIFFERENCES:] = [f"and {len(out) - MAX_DIFFERENCES} more differences"]
    return out


def _block_facts(b: BlockInfo) -> dict:
    return {
        "length": b.length,
        "raw length": b.raw_len,
        "records": b.records,
        "gaps": b.gaps or 0,
        "time range": (b.ts_min_ns, b.ts_max_ns),
        "commands": sorted(b.commands or ()),
    }


def _keyed(kind: str, said: dict, held: dict, label) -> list:
    out = []
    for key in said.keys() | held.keys():
        a, b = said.get(key), held.get(key)
        if a == b:
            continue
        if b is None:
            out.append(f"{kind} {label(key)}: in the footer, not in the blocks")
        elif a is None:
            out.append(f"{kind} {label(key)}: in the blocks, not in the footer")
        else:
            out.append(f"{kind} {label(key)}: the footer says {_fields(a)}; the blocks hold {_fields(b)}")
    return sorted(out)


def _fields(x) -> str:
    return ", ".join(
        f"{k} {getattr(x, k)}"
        for k in x.__slots__
        if k not in ("pid", "peer_id", "addr", "conn_type", "reason")
    )


def _name(text: str) -> str:
    """A name from the file for a report line: control characters escaped, cut to 60."""
    shown = text if text.isprintable() else repr(text)[1:-1]
    return shown if len(shown) <= 60 else shown[:59] + "…"
