"""A cut at every offset: every complete block comes back, then a torn tail.

What ``kill -9`` of the recorder, a full disk or an interrupted copy leaves.
A cut inside the file header is the one case with nothing to read: opening
raises TruncatedCapture.
"""

import io

import pytest

from p2pcap.formats import (
    END,
    NEED_DATA,
    Block,
    CaptureReader,
    Decoder,
    Truncated,
    TruncatedCapture,
    check_capture,
)


def layout(data: bytes):
    """(header length, [(block end, records so far)], footer offset) of a whole capture."""
    reader = CaptureReader(io.BytesIO(data))
    ends, total = [], 0
    for b in reader.blocks():
        total += b.records
        ends.append((b.offset + b.length, total))
    return reader.header_length, ends, ends[-1][0]


def expected(data: bytes, cut: int, records: list, _layouts={}):  # noqa: B006 (a cache on purpose)
    """The records a cut at ``cut`` keeps, and whether the tail is torn."""
    if data not in _layouts:
        _layouts[data] = layout(data)
    header_len, ends, footer = _layouts[data]
    kept = max([n for end, n in ends if end <= cut], default=0)
    clean = cut == len(data) or cut == header_len or any(end == cut for end, _ in ends)
    return records[:kept], not clean


def test_cut_at_every_offset(small_capture, small_records):
    data = small_capture
    header_len, ends, _ = layout(data)
    assert len(ends) >= 4
    for cut in range(len(data) + 1):
        piece = data[:cut]
        if cut < header_len:
            with pytest.raises(TruncatedCapture) as info:
                CaptureReader(io.BytesIO(piece))
            assert info.value.offset == 0
            continue
        reader = CaptureReader(io.BytesIO(piece))
        want, torn = expected(data, cut, small_records)
        assert list(reader) == want, cut
        assert reader.damaged == []
        if torn:
            assert isinstance(reader.torn_tail, TruncatedCapture), cut
            assert reader.torn_tail.offset <= cut
        else:
            assert reader.torn_tail is None, cut


def test_cut_reports_where(small_capture):
    header_len, ends, _ = layout(small_capture)
    cut = ends[1][0] + 60  # 8 bytes into block 2's body
    reader = CaptureReader(io.BytesIO(small_capture[:cut]))
    list(reader)
    err = reader.torn_tail
    assert (err.block_index, err.offset) == (2, ends[1][0])
    assert str(err).startswith(f"block 2 at offset {ends[1][0]}: file ends 60 bytes into a block")


def test_decoder_cut_at_every_offset(small_capture, small_records):
    """The sans-I/O core alone: events for each prefix, byte by byte at the end."""
    header_len, _, _ = layout(small_capture)
    for cut in range(header_len, len(small_capture) + 1, 3):
        dec = Decoder()
        dec.receive_data(small_capture[:cut])
        dec.receive_data(b"")
        got, torn = [], False
        while (event := dec.next_event()) is not END:
            assert event is not NEED_DATA
            if type(event) is Block:
                got.extend(event.records())
            torn |= type(event) is Truncated
        want, want_torn = expected(small_capture, cut, small_records)
        assert (got, torn) == (want, want_torn), cut


def test_filtered_read_of_a_torn_file_still_reports_the_tail(small_capture):
    """Skipping a block by its header must not hide that its body is cut."""
    _, ends, _ = layout(small_capture)
    piece = small_capture[: ends[2][0] + 60]
    reader = CaptureReader(io.BytesIO(piece))
    list(reader.records(commands={"no-such-command"}))
    assert isinstance(reader.torn_tail, TruncatedCapture)


def test_check_on_a_torn_file(tmp_path, small_capture):
    _, ends, _ = layout(small_capture)
    path = tmp_path / "torn.cap"
    path.write_bytes(small_capture[: ends[3][0] - 5])
    report = check_capture(path)
    assert report.verdict == "torn tail"
    assert len(report.index.blocks) == 3
    path.write_bytes(small_capture[: ends[3][0]])
    assert check_capture(path).verdict == "no footer"
