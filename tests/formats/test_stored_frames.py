"""Stored frames (zstd raw blocks, RFC 8878 section 3.1.1), hand-assembled.

The recorder falls back to them when compression cannot keep up; they must
be ordinary zstd frames that any decoder reads, built without copying the
data.
"""

import zstandard

from p2pcap.formats.compress import decompress, stored_frame


def test_one_raw_block_byte_for_byte():
    frame = stored_frame(b"hello")
    assert (
        b"".join(frame)
        == bytes.fromhex(
            "28b52ffd"  # magic 0xFD2FB528, little-endian
            "a0"  # descriptor: Frame_Content_Size 4 bytes (flag 2), Single_Segment, no checksum
            "05000000"  # content size 5
            "290000"  # block header: size 5 << 3 | Raw_Block (0) << 1 | Last_Block
        )
        + b"hello"
    )
    assert zstandard.ZstdDecompressor().decompress(b"".join(frame)) == b"hello"


def test_blocks_of_128_kib_and_the_last_one_flagged():
    data = bytes(range(256)) * 513  # 131,328 bytes: one full raw block and 256 bytes
    frame = stored_frame(data)
    assert [bytes(p) for p in frame[:2]] == [
        bytes.fromhex("28b52ffda0") + len(data).to_bytes(4, "little"),
        bytes.fromhex("000010"),
    ]  # 131072 << 3, not last
    assert bytes(frame[3]) == bytes.fromhex("010800")  # 256 << 3 | 1
    assert zstandard.ZstdDecompressor().decompress(b"".join(frame)) == data


def test_empty_body_is_one_empty_last_block():
    assert b"".join(stored_frame(b"")) == bytes.fromhex("28b52ffda000000000010000")
    assert decompress(b"".join(stored_frame(b"")), 0) == b""


def test_the_data_is_not_copied():
    data = bytearray(300_000)
    frame = stored_frame(memoryview(data))
    data[0] = 1
    data[-1] = 2
    whole = b"".join(frame)
    assert whole[12] == 1 and whole[-1] == 2  # the pieces are views of data
    for piece in frame:
        if type(piece) is memoryview:
            piece.release()
