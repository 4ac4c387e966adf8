"""Byte literals of a capture, assembled by hand from docs/FORMAT.md.

Like python-pcapng's ``tests/test_parse_enhanced_packet.py``: every field is
written out and commented.  The one record block below is wrapped in a zstd
frame of the "Raw" block type (RFC 8878 §3.1.1.2), so the whole file is
hand-made and any zstd decoder reads it; the writer's output must match it
wherever compression does not enter.
"""

import io
import struct
import zlib

import pytest

from p2pcap.formats import (
    BadMagic,
    CaptureReader,
    CaptureWriter,
    CorruptBlock,
    Gap,
    Message,
    TruncatedCapture,
    UnsupportedVersion,
)
from p2pcap.formats.block import BlockBuilder, decode_block
from p2pcap.formats.layout import encode_file_header, encode_trailer, parse_block_header

TS = 1_700_000_000_000_000_000  # 0x17979cfe362a0000

FILE_HEADER = (
    b"\x89P2P\r\n\x1a\n"  # magic
    b"\x01\x00"  # major version 1
    b"\x01\x00"  # minor version 1
    b"\x15\x00\x00\x00"  # metadata length: 21
    b'{"network":"regtest"}'  # metadata, JSON UTF-8
    b"\xa1\x82\xd3\x3b"  # CRC32 of the 37 bytes above
)

BODY = (
    # peer definition
    b"\x02"  # kind 2: peer
    b"\x27\x00\x00\x00"  # size of what follows: 39
    b"\x00\x00"  # ref 0
    b"\x34\x12\x00\x00"  # pid 0x1234
    b"\x05\x00\x00\x00\x00\x00\x00\x00"  # peer_id 5 (i64)
    b"\x0f\x00"  # addr length 15
    b"\x07"  # conn_type length 7
    b"127.0.0.1:19899"  # addr
    b"inbound"  # conn_type
    # command definition
    b"\x03"  # kind 3: command
    b"\x07\x00\x00\x00"  # size 7
    b"\x00\x00"  # ref 0
    b"\x04"  # name length 4
    b"ping"  # name
    # message
    b"\x01"  # kind 1: message
    b"\x1f\x00\x00\x00"  # size 31 = 23 + captured_len
    b"\x00\x00\x2a\x36\xfe\x9c\x97\x17"  # ts_ns
    b"\x00\x00"  # peer ref 0
    b"\x00\x00"  # command ref 0 ("ping")
    b"\x00"  # direction 0: in
    b"\x00\x00"  # flags
    b"\x08\x00\x00\x00"  # msg_size 8
    b"\x08\x00\x00\x00"  # captured_len 8
    b"\x01\x02\x03\x04\x05\x06\x07\x08"  # payload (the ping nonce)
    # gap
    b"\x04"  # kind 4: gap
    b"\x1e\x00\x00\x00"  # size 30
    b"\xe8\x03\x2a\x36\xfe\x9c\x97\x17"  # ts_ns = TS + 1000
    b"\x34\x12\x00\x00"  # pid 0x1234
    b"\x01\x00"  # reason 1: ringbuf-full
    b"\x03\x00\x00\x00\x00\x00\x00\x00"  # lost_messages 3
    b"\x2c\x01\x00\x00\x00\x00\x00\x00"  # lost_bytes 300
    # a second command, then a message cut by a snap length
    b"\x03"
    b"\x05\x00\x00\x00"
    b"\x01\x00"
    b"\x02"
    b"tx"  # command ref 1: "tx"
    b"\x01"  # kind 1: message
    b"\x1b\x00\x00\x00"  # size 27 = 23 + 4
    b"\xd0\x07\x2a\x36\xfe\x9c\x97\x17"  # ts_ns = TS + 2000
    b"\x00\x00"  # peer ref 0 (same peer-session, not repeated)
    b"\x01\x00"  # command ref 1 ("tx")
    b"\x01"  # direction 1: out
    b"\x01\x00"  # flags: FLAG_SNAPLEN
    b"\x64\x00\x00\x00"  # msg_size 100
    b"\x04\x00\x00\x00"  # captured_len 4
    b"\x01\x00\x00\x00"  # payload: the first 4 of 100 bytes
)

FRAME = (  # BODY as one zstd frame without compression
    b"\x28\xb5\x2f\xfd"  # zstd magic
    b"\x20"  # frame header descriptor: single segment, 1-byte content size
    b"\xa9"  # content size 169
    b"\x49\x05\x00" + BODY  # block header: last block, type Raw, size 169 (169 << 3 | 1)
)

BLOCK_HEADER = (
    b"P2PB"  # sync
    b"\x01"  # type 1: records
    b"\x00"  # flags
    b"\x34\x00"  # header length 52
    b"\xb2\x00\x00\x00"  # body length 178 (the zstd frame)
    b"\xa9\x00\x00\x00"  # raw length 169
    b"\x03\x00\x00\x00"  # records 3 (messages and gaps; definitions do not count)
    b"\x00\x00\x2a\x36\xfe\x9c\x97\x17"  # ts_min = TS
    b"\xd0\x07\x2a\x36\xfe\x9c\x97\x17"  # ts_max = TS + 2000
    b"\x00\x80\x00\x00\x10\x00\x00\x80"  # mask: bit crc32("ping")%63, crc32("tx")%63, 63 (gaps)
    b"\x20\x33\x53\x02"  # CRC32 of the body
    b"\x10\x88\xd4\x01"  # CRC32 of the 48 bytes above
)

RECORDS = [
    Message(TS, 0x1234, 5, "127.0.0.1:19899", "inbound", "in", "ping", 8, bytes.fromhex("0102030405060708")),
    Gap(TS + 1000, 0x1234, 1, 3, 300),
    Message(
        TS + 2000,
        0x1234,
        5,
        "127.0.0.1:19899",
        "inbound",
        "out",
        "tx",
        100,
        bytes.fromhex("01000000"),
        flags=1,
    ),
]


def test_file_header_bytes():
    assert encode_file_header({"network": "regtest"}) == FILE_HEADER
    assert zlib.crc32(FILE_HEADER[:-4]) == struct.unpack("<I", FILE_HEADER[-4:])[0]


def test_block_body_bytes():
    builder = BlockBuilder()
    for record in RECORDS:
        builder.add(record)
    content = builder.finish()
    assert content.raw == BODY
    assert content.mask == struct.unpack("<Q", BLOCK_HEADER[36:44])[0]
    assert decode_block(BODY, 3) == RECORDS


def test_block_header_bytes():
    h = parse_block_header(BLOCK_HEADER)
    assert (h.type, h.header_len, h.body_len, h.raw_len, h.records) == (1, 52, 178, 169, 3)
    assert (h.ts_min_ns, h.ts_max_ns, h.body_crc) == (TS, TS + 2000, zlib.crc32(FRAME))
    assert len(FRAME) == 178


def test_hand_made_file_reads():
    reader = CaptureReader(io.BytesIO(FILE_HEADER + BLOCK_HEADER + FRAME))
    assert reader.metadata == {"network": "regtest"}
    assert reader.version == (1, 1)
    assert list(reader) == RECORDS
    assert reader.torn_tail is None and reader.index is None  # no footer: still valid


def test_writer_matches_hand_made_file():
    """Same header; same block header except the compressed length and CRC."""
    out = io.BytesIO()
    with CaptureWriter(out, {"network": "regtest"}) as w:
        for record in RECORDS:
            w.write(record)
    data = out.getvalue()
    assert data.startswith(FILE_HEADER)
    written = data[len(FILE_HEADER) : len(FILE_HEADER) + 52]
    same = list(range(0, 8)) + list(range(12, 44))  # all but body length and the CRCs
    assert [written[i] for i in same] == [BLOCK_HEADER[i] for i in same]
    assert data[-16:] == encode_trailer(w.index.blocks[-1].offset + w.index.blocks[-1].length)
    assert data[-8:] == b"P2PINDEX"


def test_trailer_bytes():
    assert encode_trailer(0x0102) == (
        b"\x02\x01\x00\x00\x00\x00\x00\x00"  # footer block offset (u64)
        b"P2PINDEX"  # end magic
    )


def _with(data: bytes, at: int, new: bytes) -> bytes:
    return data[:at] + new + data[at + len(new) :]


FILE = FILE_HEADER + BLOCK_HEADER + FRAME

# (what, file bytes, error when opening or reading, where the error points)
BAD = [
    ("empty file", b"", TruncatedCapture, 0),
    ("cut in magic", FILE[:5], TruncatedCapture, 0),
    ("cut in metadata", FILE[:30], TruncatedCapture, 0),
    ("text-mode CR LF -> LF", FILE[:4] + b"\n" + FILE[6:], BadMagic, 0),
    ("pcapng file", bytes.fromhex("0a0d0d0a") + FILE[4:], BadMagic, 0),
    ("major version 2", _with(FILE, 8, b"\x02\x00"), UnsupportedVersion, 8),
    ("metadata byte flipped", _with(FILE, 20, b"N"), CorruptBlock, 0),
    ("header CRC flipped", _with(FILE, 37, b"\xe1"), CorruptBlock, 0),
    ("block sync flipped", _with(FILE, 41, b"Q"), CorruptBlock, 41),
    ("block record count flipped", _with(FILE, 41 + 16, b"\x04"), CorruptBlock, 41),
    ("block body byte flipped", _with(FILE, 41 + 52 + 100, b"\xff"), CorruptBlock, 41),
    ("cut in block header", FILE[: 41 + 20], TruncatedCapture, 41),
    ("cut in block body", FILE[:-1], TruncatedCapture, 41),
]


@pytest.mark.parametrize("what,data,error,offset", BAD, ids=[b[0] for b in BAD])
def test_bad_bytes(what, data, error, offset):
    def read():
        reader = CaptureReader(io.BytesIO(data))
        records = list(reader)
        if reader.torn_tail is not None:
            raise reader.torn_tail
        return records

    with pytest.raises(error) as info:
        read()
    assert info.value.offset == offset
    assert "\n" not in str(info.value)


def test_minor_version_and_unknown_kinds_are_accepted():
    """A newer minor may add record kinds and header fields; 1.0 readers skip them."""
    extra = b"\x09\x03\x00\x00\x00new"  # kind 9, 3 bytes: unknown here
    body = extra + BODY
    frame = b"\x28\xb5\x2f\xfd\x20" + bytes([len(body)]) + ((len(body) << 3) | 1).to_bytes(3, "little") + body
    head = bytearray(BLOCK_HEADER[:48])
    head[6:8] = struct.pack("<H", 56)  # a 56-byte header: 4 bytes of a newer field
    head[8:16] = struct.pack("<II", len(frame), len(body))
    head[44:48] = struct.pack("<I", zlib.crc32(frame))
    head += b"NEW!"
    head += struct.pack("<I", zlib.crc32(head))
    meta = b'{"network":"regtest"}'
    file_head = (
        b"\x89P2P\r\n\x1a\n"
        + b"\x01\x00"
        + b"\x07\x00"  # version 1.7
        + struct.pack("<I", len(meta))
        + meta
    )
    file_head += struct.pack("<I", zlib.crc32(file_head))
    reader = CaptureReader(io.BytesIO(file_head + bytes(head) + frame))
    assert reader.version == (1, 7)
    assert list(reader) == RECORDS


def test_process_definition_bytes():
    """Format 1.1: a process's network, defined before its first peer in the block."""
    builder = BlockBuilder(processes={0x1234: "regtest"})
    builder.add(RECORDS[0])
    raw = bytes(builder.finish().raw)
    assert raw[:17] == (
        b"\x05"  # kind 5: process definition
        b"\x0c\x00\x00\x00"  # size: 12 bytes follow
        b"\x34\x12\x00\x00"  # pid 0x1234
        b"\x07"  # network name length: 7
        b"regtest"  # the name
    )
    assert raw[17] == 2  # then the peer definition (kind 2)
    found = {}
    assert decode_block(raw, 1, processes=found) == RECORDS[:1]
    assert found == {0x1234: "regtest"}
    assert decode_block(raw, 1) == RECORDS[:1]  # a reader that does not ask steps over it
