"""A flipped byte anywhere is detected, named, and (with skip_damaged) skipped.

Every byte of a capture is covered by the magic, a CRC32 or a cross-check
(trailer -> footer), so no single flipped byte goes unnoticed.
"""

import io

import pytest

from p2pcap.formats import (
    BadMagic,
    CaptureReader,
    CorruptBlock,
    FormatError,
    TruncatedCapture,
    UnsupportedVersion,
    check_capture,
    repair_capture,
)
from p2pcap.formats.records import GAP_DAMAGED, Gap


def blocks_of(data: bytes):
    return list(CaptureReader(io.BytesIO(data)).blocks())


def flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x40]) + data[at + 1 :]


def region(data: bytes, at: int, header_len: int, blocks) -> tuple:
    """('header'|'block header'|'body'|'footer'|'trailer', block index or None)."""
    if at < header_len:
        return "header", None
    for b in blocks:
        if b.offset <= at < b.offset + b.length:
            return ("block header" if at < b.offset + 52 else "body"), b.index
    return ("trailer" if at >= len(data) - 16 else "footer"), None


def read_all(data: bytes, **options):
    reader = CaptureReader(io.BytesIO(data), **options)
    return reader, list(reader)


def test_flip_every_byte(small_capture, small_records):
    data = small_capture
    blocks = blocks_of(data)
    header_len = CaptureReader(io.BytesIO(data)).header_length
    starts = [sum(b.records for b in blocks[:i]) for i in range(len(blocks) + 1)]
    seen = set()
    for at in range(len(data)):
        where, index = region(data, at, header_len, blocks)
        if where == "body" and at % 3:
            continue  # bodies are only CRC-covered bytes: a third of them is plenty
        bad = flip(data, at)
        seen.add(where)
        if where == "header":
            # a flipped metadata length may claim more bytes than the file has
            with pytest.raises((BadMagic, UnsupportedVersion, CorruptBlock, TruncatedCapture)) as info:
                read_all(bad)
            assert info.value.offset in (0, 8, 12)
            continue
        # By default: everything before the damage, then CorruptBlock.
        reader = CaptureReader(io.BytesIO(bad))
        got = []
        with pytest.raises(CorruptBlock) as info:
            for record in reader:
                got.append(record)
        err = info.value
        if index is not None:
            assert got == small_records[: starts[index]], at
            assert (err.block_index, err.offset) == (index, blocks[index].offset), at
        else:
            assert got == small_records, at
        # With skip_damaged: every other block, and the damage listed.
        reader, got = read_all(bad, skip_damaged=True)
        if index is not None:
            assert got == small_records[: starts[index]] + small_records[starts[index + 1] :], at
            assert reader.damaged[0].block_index == index
        else:
            assert got == small_records, at
        assert reader.damaged and reader.torn_tail is None, at
    assert seen == {"header", "block header", "body", "footer", "trailer"}


def test_damage_message_names_file_block_and_offset(tmp_path, small_capture):
    b = blocks_of(small_capture)[2]
    path = tmp_path / "run.cap"
    path.write_bytes(flip(small_capture, b.offset + 52 + 5))
    with pytest.raises(CorruptBlock) as info:
        list(CaptureReader(path))
    assert str(info.value) == (
        f"{path}: block 2 at offset {b.offset}: body checksum mismatch "
        f"(stored {info.value.what.split('stored ')[1]}"
    )
    assert info.value.path == str(path) and info.value.records == b.records


def test_check_and_repair_a_damaged_file(tmp_path, small_capture, small_records):
    blocks = blocks_of(small_capture)
    damaged = tmp_path / "damaged.cap"
    damaged.write_bytes(flip(small_capture, blocks[1].offset + 60))
    report = check_capture(damaged)
    assert report.verdict == "damaged" and not report.ok
    assert report.damaged[0].block_index == 1
    assert any("block 1" in line for line in report.lines())

    fixed = tmp_path / "fixed.cap"
    result = repair_capture(damaged, fixed)
    assert len(result.damaged) == 1 and result.blocks == len(blocks) - 1
    assert check_capture(fixed).verdict == "ok"
    got = list(CaptureReader(fixed))
    lost = blocks[1].records
    start = blocks[0].records
    gap = got[start]
    assert type(gap) is Gap and gap.reason == GAP_DAMAGED and gap.lost_messages == lost
    assert got[:start] + got[start + 1 :] == small_records[:start] + small_records[start + lost :]


def test_damaged_footer_falls_back_to_scanning(small_capture, small_records):
    footer_at = len(small_capture) - 16 - 10
    reader = CaptureReader(io.BytesIO(flip(small_capture, footer_at)), skip_damaged=True)
    assert reader.index is None and isinstance(reader.footer_error, CorruptBlock)
    assert list(reader.records(commands={"inv"})) == [
        r for r in small_records if type(r) is Gap or r.command == "inv"
    ]
    assert reader.damaged and reader.damaged[0].what.startswith("footer")


def test_hostile_lengths_are_refused():
    """A block header (with a valid CRC) claiming 1 GiB is refused, not allocated."""
    from p2pcap.formats.layout import encode_block_header, encode_file_header

    head = encode_file_header({})
    block = encode_block_header(1, b"", 1 << 30, 1, 0, 0, 0)
    reader, got = read_all(head + block + bytes(100), skip_damaged=True)
    assert got == [] and "limit" in reader.damaged[0].what


def test_any_error_is_a_format_error(small_capture):
    """Random garbage gives our errors only (h11's fuzz rule)."""
    import random

    rng = random.Random(5)
    for _ in range(300):
        data = bytearray(small_capture)
        for _ in range(rng.randint(1, 20)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        cut = rng.randint(0, len(data))
        try:
            reader, _ = read_all(bytes(data[:cut]), skip_damaged=rng.random() < 0.5)
        except FormatError:
            pass
