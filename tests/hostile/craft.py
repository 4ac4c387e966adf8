"""Capture bytes of any shape: the format's pieces, each field settable.

The project's writer only writes what is valid; a hostile file is anything
the format's checksums accept.  So each piece here is encoded from the
layout in docs/FORMAT.md with every field given by the caller, and every
checksum computed as a writer would: a reader gets past the CRCs and meets
the claims themselves.

>>> data = Capture(b'{"network":"regtest"}').block(body([peer(0), command(0, b"ping"), message(0, 0)])).bytes()
>>> from p2pcap.formats import CaptureReader
>>> import io
>>> [m.command for m in CaptureReader(io.BytesIO(data))]
['ping']
"""

from __future__ import annotations

import functools
import struct
from dataclasses import dataclass, field

import zstandard
from zlib_ng.zlib_ng import crc32

from p2pcap.formats.block import COMMAND, GAP, KIND_COMMAND, KIND_GAP, KIND_MESSAGE, KIND_PEER, MESSAGE, PEER
from p2pcap.formats.layout import (
    FILE_HEADER,
    GAP_BIT,
    MAGIC,
    TYPE_FOOTER,
    TYPE_RECORDS,
    command_bit,
    encode_block_header,
    encode_trailer,
)

TS = 1_700_000_000_000_000_000  # a plausible time (2023-11-14), ns


def file_header(metadata: bytes, major: int = 1, minor: int = 0, *, length: int | None = None) -> bytes:
    """Magic, version, ``metadata`` as given (any bytes), a correct CRC;
    ``length`` overrides the stated metadata length."""
    head = FILE_HEADER.pack(MAGIC, major, minor, len(metadata) if length is None else length) + metadata
    return head + struct.pack("<I", crc32(head))


def peer(
    ref: int, pid: int = 4242, peer_id: int = 1, addr: bytes = b"10.0.0.1:9999", conn: bytes = b"inbound"
) -> bytes:
    """A peer definition (kind 2); address and connection type as raw bytes."""
    return (
        PEER.pack(KIND_PEER, 17 + len(addr) + len(conn), ref, pid, peer_id, len(addr), len(conn))
        + addr
        + conn
    )


def command(ref: int, name: bytes) -> bytes:
    """A command definition (kind 3)."""
    return COMMAND.pack(KIND_COMMAND, 3 + len(name), ref, len(name)) + name


def message(
    peer_ref: int,
    command_ref: int,
    payload: bytes = b"",
    *,
    ts: int = TS,
    direction: int = 0,
    flags: int = 0,
    msg_size: int | None = None,
) -> bytes:
    """A message record (kind 1); ``msg_size`` defaults to the payload's length."""
    size = len(payload) if msg_size is None else msg_size
    return (
        MESSAGE.pack(
            KIND_MESSAGE, 23 + len(payload), ts, peer_ref, command_ref, direction, flags, size, len(payload)
        )
        + payload
    )


def gap(ts: int = TS, pid: int = 0, reason: int = 1, lost: int = 1, lost_bytes: int = 0) -> bytes:
    """A gap record (kind 4)."""
    return GAP.pack(KIND_GAP, GAP.size - 5, ts, pid, reason, lost, lost_bytes)


@dataclass
class Body:
    """A block body before compression, with what its header should say."""

    raw: bytes
    records: int
    mask: int = (1 << 64) - 1


def body(entries: list) -> Body:
    """Join entries; count message and gap records and set the mask from
    the command definitions, as a writer would."""
    records = mask = 0
    for e in entries:
        kind = e[0]
        if kind in (KIND_MESSAGE, KIND_GAP):
            records += 1
        if kind == KIND_GAP:
            mask |= GAP_BIT
        if kind == KIND_COMMAND:
            mask |= command_bit(e[COMMAND.size :])
    return Body(b"".join(entries), records, mask)


@functools.lru_cache(maxsize=4)
def compressed(raw: bytes, level: int = 3) -> bytes:
    """One zstd frame stating its content size (the last few kept: a hostile
    file repeats one body hundreds of times)."""
    return zstandard.ZstdCompressor(level=level, write_content_size=True).compress(raw)


@dataclass
class Capture:
    """A capture assembled piece by piece; ``bytes()`` gives the file.

    ``block`` appends a record block (any body, any claims), ``footer`` a
    footer of any JSON (or the true index of the blocks so far), ``raw``
    any bytes at all.
    """

    metadata: bytes = b"{}"
    pieces: list = field(default_factory=list)
    index: list = field(default_factory=list)  # footer entries of the record blocks
    ts_range: list = field(default_factory=lambda: [0, 0])

    def __post_init__(self):
        self.pieces.append(file_header(self.metadata))

    @property
    def offset(self) -> int:
        return sum(map(len, self.pieces))

    def block(
        self,
        b: Body,
        *,
        records: int | None = None,
        raw_len: int | None = None,
        ts: tuple = (TS, TS),
        btype: int = TYPE_RECORDS,
        level: int = 3,
        commands: tuple = (),
    ) -> Capture:
        frame = compressed(b.raw, level)
        n = b.records if records is None else records
        raw_len = len(b.raw) if raw_len is None else raw_len
        head = encode_block_header(btype, frame, raw_len, n, ts[0], ts[1], b.mask)
        self.index.append(
            {
                "offset": self.offset,
                "length": len(head) + len(frame),
                "raw_len": raw_len,
                "records": n,
                "gaps": 0,
                "ts_min": ts[0],
                "ts_max": ts[1],
                "commands": list(commands),
            }
        )
        self.pieces += [head, frame]
        return self

    def raw(self, data: bytes) -> Capture:
        self.pieces.append(data)
        return self

    def footer(self, json_text: bytes | None = None, *, blocks: int | None = None, level: int = 3) -> Capture:
        """A footer block of ``json_text`` (default: the blocks' entries with
        empty totals) and the trailer pointing at it."""
        if json_text is None:
            import json

            json_text = json.dumps({"blocks": self.index, "commands": {}, "peers": [], "losses": []}).encode()
        frame = compressed(json_text, level)
        offset = self.offset
        n = len(self.index) if blocks is None else blocks
        head = encode_block_header(TYPE_FOOTER, frame, len(json_text), n, TS, TS, 0)
        self.pieces += [head, frame, encode_trailer(offset)]
        return self

    def bytes(self) -> bytes:
        return b"".join(self.pieces)
