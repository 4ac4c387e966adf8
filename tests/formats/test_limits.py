"""What reading may cost (formats/limits.py): JSON depth, size caps, the
expansion budget, charged by the sans-I/O decoder and held by the reader."""

import io
import json
from pathlib import Path

import pytest
from formats_helpers import make_records, write_capture
from hypothesis import given, settings
from hypothesis import strategies as st

from p2pcap.errors import ArgumentError
from p2pcap.formats import CaptureReader, CaptureWriter, CorruptBlock, Damaged, Decoder, FormatError, Message
from p2pcap.formats.block import scan_block
from p2pcap.formats.layout import MAGIC, encode_file_header, parse_file_header
from p2pcap.formats.limits import (
    BYTES_PER_RECORD,
    MAX_JSON_DEPTH,
    MAX_METADATA,
    RAW_FLOOR,
    RAW_PER_BYTE,
    RECORDS_FLOOR,
    ExpansionBudget,
    footer_allowed,
    json_shape,
    load_json,
    records_allowed,
)
from tests.hostile import craft

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet='[]{}"\\ab,:'),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(alphabet='[]{}"\\k'), inner, max_size=4)
    ),
    max_leaves=30,
)


def reference_shape(value, depth=0) -> tuple:
    """(deepest nesting, containers) by walking the parsed value."""
    if isinstance(value, list):
        inner = [reference_shape(v, depth + 1) for v in value]
    elif isinstance(value, dict):
        inner = [reference_shape(v, depth + 1) for v in value.values()]
    else:
        return depth, 0
    return max([depth + 1] + [d for d, _ in inner]), 1 + sum(n for _, n in inner)


@settings(max_examples=300, deadline=None)
@given(json_values, st.booleans())
def test_json_shape_counts_what_the_parser_nests(value, indent):
    text = json.dumps(value, indent=1 if indent else None)
    assert json_shape(text) == reference_shape(value)


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 1000, 100_000])
def test_deep_json_is_an_error_with_its_offset_never_a_recursion_error(depth):
    with pytest.raises(CorruptBlock, match=f"nests {depth} levels deep") as info:
        load_json(b"[" * depth + b"]" * depth, "footer", offset=77)
    assert info.value.offset == 77


def test_json_at_the_depth_limit_loads():
    assert json_shape(json.dumps(load_json(b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH, "x")))[0] == (
        MAX_JSON_DEPTH
    )


def test_json_that_is_not_json_or_not_utf8_is_a_format_error():
    for bad in (b"\xff{}", b'{"a": ', b"[1, 2", b"1" * 5000):  # the last: past int's 4300 digits
        with pytest.raises(FormatError, match="metadata is not JSON"):
            load_json(bad, "metadata", offset=16)


def test_footer_json_of_tiny_containers_is_refused():
    text = b"[" + b"{}," * 10_000 + b"{}]"
    with pytest.raises(CorruptBlock, match="arrays and objects"):
        load_json(text, "index", bytes_per_container=16)
    assert len(load_json(text, "metadata")) == 10_001  # no such limit where not asked


def test_metadata_caps_on_write_and_on_read():
    with pytest.raises(ArgumentError, match="format allows"):
        encode_file_header({"x": "a" * MAX_METADATA})
    with pytest.raises(ArgumentError, match="nests deeper"):
        encode_file_header({"x": json.loads("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH)})
    deep = craft.file_header(b'{"a":' + b"[" * 300 + b"]" * 300 + b"}")
    with pytest.raises(CorruptBlock, match="nests 301 levels") as info:
        parse_file_header(deep)
    assert info.value.offset == 16
    too_long = craft.file_header(b"{}", length=MAX_METADATA + 1)
    with pytest.raises(CorruptBlock, match="metadata"):
        CaptureReader(io.BytesIO(too_long))


def test_metadata_with_bytes_that_are_not_utf8_round_trips():
    host = b"node-\xe9\xff".decode("utf-8", "surrogateescape")
    head = encode_file_header({"host": host, "note": "ünïcode"})
    assert head.isascii() is False  # plain text stays UTF-8
    assert parse_file_header(head).metadata == {"host": host, "note": "ünïcode"}


def test_the_budget_charges_and_refuses():
    b = ExpansionBudget()
    assert b.charge(RAW_FLOOR, 1, read=0) is None
    assert "expansion budget" in b.charge(RAW_PER_BYTE * 100 + 1, 1, read=100)
    assert b.charge(RAW_PER_BYTE * 100, 1, read=100) is None  # what was refused was not charged
    assert "records" in b.charge(0, records_allowed(100), read=100)
    assert (b.raw, b.records) == (RAW_FLOOR + RAW_PER_BYTE * 100, 2)


def expanding(blocks: int, raw: int) -> bytes:
    entries = [craft.peer(0), craft.command(0, b"blob")]
    payload = bytes(raw - sum(map(len, entries)) - 28)
    cap = craft.Capture(b"{}")
    for _ in range(blocks):
        cap.block(craft.body([*entries, craft.message(0, 0, payload)]))
    return cap.bytes()


def events(data: bytes, skip=lambda info: False) -> list:
    dec = Decoder()
    dec.receive_data(data)
    dec.receive_data(b"")
    out = []
    while (event := dec.next_event()) is not None and repr(event) != "END":
        if type(event).__name__ == "BlockStart" and skip(event.info):
            dec.skip_body()
        out.append(event)
    return out


def test_the_decoder_refuses_blocks_past_the_budget_naming_offset_and_budget():
    data = expanding(5, RAW_FLOOR * 3 // 4)  # zeros: ~200 bytes a block on disk
    got = events(data)
    blocks = [e for e in got if type(e).__name__ == "Block"]
    damaged = [e.error for e in got if type(e) is Damaged]
    assert len(blocks) == 1  # the floor holds one of them
    assert len(damaged) == 4
    starts = [e.header.offset for e in got if type(e).__name__ == "BlockStart"]
    for i, err in enumerate(damaged, start=1):
        assert (err.block_index, err.offset, err.records) == (i, starts[i], 1)
        assert f"{RAW_FLOOR} + {RAW_PER_BYTE} x" in err.what and "expansion budget" in err.what


def test_skipped_blocks_cost_nothing():
    data = expanding(5, RAW_FLOOR * 3 // 4)
    got = events(data, skip=lambda info: info.index != 3)
    assert not any(type(e) is Damaged for e in got)
    assert [e.index for e in got if type(e).__name__ == "Block"] == [3]


def test_a_reader_reads_past_refused_blocks_and_names_each():
    data = (
        expanding(3, RAW_FLOOR * 3 // 4)
        + craft.Capture(b"{}")
        .block(craft.body([craft.peer(0), craft.command(0, b"ping"), craft.message(0, 0, bytes(8))]))
        .bytes()[len(craft.file_header(b"{}")) :]
    )
    reader = CaptureReader(io.BytesIO(data), skip_damaged=True)
    assert [m.command for m in reader] == ["blob", "ping"]
    assert [e.block_index for e in reader.damaged] == [1, 2]
    with pytest.raises(CorruptBlock, match="expansion budget"):
        list(CaptureReader(io.BytesIO(data)))


def test_the_records_budget():
    n = RECORDS_FLOOR + 1000
    entries = [craft.peer(0), craft.command(0, b"verack")] + [craft.message(0, 0)] * n
    data = craft.Capture(b"{}").block(craft.body(entries)).bytes()
    assert len(data) // BYTES_PER_RECORD < 1000  # the block compresses to almost nothing
    reader = CaptureReader(io.BytesIO(data), skip_damaged=True)
    assert list(reader) == []
    assert "records" in reader.damaged[0].what and reader.damaged[0].records == n


def test_a_block_cannot_claim_more_records_than_its_bytes_hold():
    b = craft.body([craft.peer(0), craft.command(0, b"verack"), craft.message(0, 0)])
    data = craft.Capture(b"{}").block(b, records=10_000).bytes()
    reader = CaptureReader(io.BytesIO(data), skip_damaged=True)
    assert list(reader) == []
    assert "a record takes at least 28" in reader.damaged[0].what


def test_unused_definitions_do_not_reach_the_index():
    entries = [craft.command(0, b"ping"), craft.command(1, b"unused")]
    entries += [craft.peer(i, peer_id=i) for i in range(1000)]
    entries += [craft.message(7, 0, bytes(8)), craft.message(3, 0, bytes(8), direction=1)]
    b = craft.body(entries)
    content = scan_block(b.raw, b.records)
    assert [p[1] for p in content.peers] == [3, 7] and content.commands == ["ping"]
    data = craft.Capture(b"{}").block(b).bytes()
    index = CaptureReader(io.BytesIO(data)).summarize()
    assert [(p.peer_id, p.messages_in, p.messages_out) for p in index.peers] == [(3, 0, 1), (7, 1, 0)]
    assert list(index.commands) == ["ping"]


def test_the_writers_own_files_stay_far_inside_every_limit(tmp_path):
    """Addresses and connection types as long as the recorder lets them be
    (capture/limits.py), many peer-sessions, bulk and live-sized blocks."""
    from p2pcap.capture.limits import ADDR_MAX, CONN_MAX

    records = make_records(3000, max_payload=300)
    for i, r in enumerate(records):
        if type(r) is Message:
            r.peer_addr = f"{'h' * (ADDR_MAX - 12)}{i:06d}:9999"[:ADDR_MAX]
            r.conn_type = "c" * CONN_MAX
            r.peer_id = i
    for block_size in (300, 1 << 20):
        data = write_capture(records, block_size=block_size)
        reader = CaptureReader(io.BytesIO(data))
        assert reader.footer_error is None and reader.index is not None
        assert list(reader) == records and not reader.damaged
        # measured: 1.6-2.6x expansion, ~2x the footer, one record per 180-300 bytes
        raw = sum(b.raw_len for b in reader.index.blocks)
        assert raw <= RAW_PER_BYTE / 2 * len(data)
        assert sum(b.records for b in reader.index.blocks) * 4 < records_allowed(len(data)) - RECORDS_FLOOR
        footer = len(json.dumps(reader.index.to_json()))
        assert footer * 2 < footer_allowed(len(data))


def test_a_file_with_a_closed_writer_has_a_footer_the_reader_takes(tmp_path):
    path = tmp_path / "x.cap"
    with CaptureWriter(path, {"network": "regtest"}) as w:
        w.write(Message(1, 2, 3, "1.2.3.4:9999", "inbound", "in", "ping", 8, bytes(8)))
    assert path.read_bytes()[:8] == MAGIC
    reader = CaptureReader(path)
    assert reader.index is not None and reader.footer_error is None


SAMPLES = sorted((Path(__file__).parent.parent.parent / "samples").glob("*.cap"))


@pytest.mark.parametrize("sample", SAMPLES, ids=[p.name for p in SAMPLES])
def test_real_captures_stay_far_inside_the_budgets(sample):
    """The repository's samples, real dashd regtest runs among them (they
    expand 7-9x, far more than synthetic traffic): read whole, footer taken,
    at most half of each budget past its floor."""
    size = sample.stat().st_size
    with CaptureReader(sample) as reader:
        assert reader.footer_error is None and reader.index is not None
        raw = records = 0
        for block in reader.read_blocks():
            h = block.header
            raw += h.raw_len
            records += h.records
            read = h.offset + h.length
            assert raw <= RAW_FLOOR / 2 + RAW_PER_BYTE / 2 * read
            assert records <= RECORDS_FLOOR / 2 + read / BYTES_PER_RECORD / 2
        assert not reader.damaged and reader.index.messages + reader.index.gap_records == records
    assert raw / size > 1  # they do expand: the budget is what holds them
