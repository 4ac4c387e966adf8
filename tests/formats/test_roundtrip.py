"""Records come back byte-exact and in write order, however they are read."""

import io

from formats_helpers import make_records, write_capture
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from p2pcap.formats import END, NEED_DATA, Block, CaptureReader, Decoder, FileHeader, Footer, Gap, Message

u = lambda bits: st.integers(0, (1 << bits) - 1)  # noqa: E731
text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)
messages = st.builds(
    Message,
    ts_ns=u(64),
    pid=u(32),
    peer_id=st.integers(-(1 << 63), (1 << 63) - 1),
    peer_addr=st.one_of(text, st.sampled_from(["1.2.3.4:9999", "[2001:db8::1]:9999", "seed.dash.org"])),
    conn_type=st.sampled_from(["inbound", "outbound-full-relay", "manual", ""]) | text,
    direction=st.sampled_from(["in", "out"]),
    command=st.sampled_from(["inv", "tx", "ping", "qsigshare", ""]) | text,
    msg_size=u(32),
    payload=st.binary(max_size=300),
    flags=u(16),
)
gaps = st.builds(Gap, ts_ns=u(64), pid=u(32), reason=u(16), lost_messages=u(64), lost_bytes=u(64))
records = st.lists(st.one_of(messages, messages, gaps), max_size=40)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records, st.integers(1, 2000), st.booleans())
def test_round_trip(recs, block_size, threaded):
    data = write_capture(recs, block_size=block_size, threaded=threaded)
    reader = CaptureReader(io.BytesIO(data))
    assert list(reader) == recs
    assert reader.torn_tail is None and reader.damaged == []
    assert reader.index.messages == sum(type(r) is Message for r in recs)
    assert reader.summarize(scan=True).to_json() == reader.index.to_json()


@settings(max_examples=60, deadline=None)
@given(records, st.sets(st.sampled_from(["inv", "tx", "ping", "qsigshare", ""])), st.booleans(), u(64), u(64))
def test_filters_match_a_plain_filter(recs, commands, gaps, a, b):
    since, until = min(a, b), max(a, b)
    data = write_capture(recs, block_size=300)
    for source in (data, data[:-16]):  # with the footer index, and without (scanning)
        reader = CaptureReader(io.BytesIO(source))
        got = list(reader.records(commands=commands, since_ns=since, until_ns=until, gaps=gaps))
        want = [
            r
            for r in recs
            if since <= r.ts_ns <= until and (r.command in commands if type(r) is Message else gaps)
        ]
        assert got == want


def events(data: bytes, step: int | None):
    """Feed whole or ``step`` bytes at a time (h11's ``tr()``); collect events."""
    dec = Decoder()
    out = []
    chunks = [data] if step is None else [data[i : i + step] for i in range(0, len(data), step)]
    chunks.append(b"")
    for chunk in chunks:
        dec.receive_data(chunk)
        while (event := dec.next_event()) not in (NEED_DATA, END):
            out.append(event)
    assert dec.next_event() is END
    return out


def test_decoder_whole_and_byte_by_byte():
    recs = make_records(40)
    data = write_capture(recs, block_size=400)
    whole = events(data, None)
    for step in (1, 7, 52, 4096):
        assert events(data, step) == whole
    assert type(whole[0]) is FileHeader and type(whole[-1]) is Footer
    got = [r for e in whole if type(e) is Block for r in e.records()]
    assert got == recs


def test_decoder_buffers_at_most_one_block():
    recs = make_records(400)
    data = write_capture(recs, block_size=1000)
    dec = Decoder()
    blocks = list(CaptureReader(io.BytesIO(data)).blocks())
    footer = len(data) - 16 - (blocks[-1].offset + blocks[-1].length)
    biggest = max([b.length for b in blocks] + [footer])
    pos = 0
    while True:
        event = dec.next_event()
        if event is END:
            break
        if event is NEED_DATA:
            chunk = data[pos : pos + max(dec.need, 64)]
            pos += len(chunk)
            dec.receive_data(chunk)
            assert len(dec._buf) - dec._start <= biggest + 64
    assert pos == len(data)


def test_large_message_makes_one_bigger_block():
    big = Message(1, 1, 1, "a:1", "inbound", "in", "block", 3 << 20, bytes(range(256)) * (3 << 12))
    recs = make_records(10) + [big] + make_records(10, seed=2)
    data = write_capture(recs, block_size=1 << 20)
    reader = CaptureReader(io.BytesIO(data))
    assert list(reader) == recs
    assert max(b.raw_len for b in reader.blocks()) > 3 << 20


def test_snaplen_and_flags_round_trip():
    m = Message(5, 6, 7, "h:1", "manual", "out", "headers", 162_003, b"\x07" * 1000, flags=0x21)
    (got,) = CaptureReader(io.BytesIO(write_capture([m]))).records()
    assert got == m and got.partial and got.captured_len == 1000 and got.flags == 0x21
