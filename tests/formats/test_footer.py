"""The footer read back (formats/footer.py): strict JSON, claims held to the
file, and ``check`` naming each difference from the blocks."""

import io
import json

import pytest
from formats_helpers import make_records, write_capture
from hypothesis import given, settings
from hypothesis import strategies as st

from p2pcap.formats import CaptureReader, Counts, FormatError, check_capture
from p2pcap.formats.footer import MAX_DIFFERENCES, check_claims, differences, index_from_json
from p2pcap.formats.limits import footer_allowed
from tests.hostile.findings import footer_json, legit, with_footer, without_footer


def reread(data: bytes) -> CaptureReader:
    return CaptureReader(io.BytesIO(data), skip_damaged=True)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 200), st.integers(1, 50), st.sampled_from([200, 700, 5000]))
def test_every_footer_the_writer_makes_is_taken_and_agrees_with_the_blocks(n, seed, block_size):
    data = write_capture(make_records(n, seed=seed), block_size=block_size)
    reader = reread(data)
    assert reader.footer_error is None and reader.index is not None
    assert differences(reader.index, reader.summarize(scan=True)) == []


def lie(change) -> bytes:
    """``legit()`` with its footer's JSON changed by ``change(index)``."""
    data = legit()
    index = footer_json(data)
    change(index)
    return with_footer(data, json.dumps(index).encode())


IMPOSSIBLE = {
    "4e9 messages": (lambda i: i["commands"]["ping"]["in"].__setitem__(0, 4_000_000_000), "messages"),
    "a block more": (lambda i: i["blocks"].append(dict(i["blocks"][-1])), "blocks"),
    "blocks overlap": (
        lambda i: i["blocks"][1].__setitem__("offset", i["blocks"][0]["offset"] + 3),
        "outside",
    ),
    "a block past the footer": (lambda i: i["blocks"][-1].__setitem__("length", 10**6), "outside"),
    "more records than bytes": (lambda i: i["blocks"][0].__setitem__("records", 10**6), "records"),
    "a huge block": (lambda i: i["blocks"][0].__setitem__("raw_len", 1 << 30), "limit"),
    "peers that do not add up": (lambda i: i["peers"][0]["messages"].__setitem__(0, 10**9), "peer-sessions"),
    "a gap too many": (lambda i: i["losses"][0].__setitem__("records", 2), "gap records"),
    "a command no block holds": (lambda i: i["commands"].__setitem__("tx", {}), "other commands"),
    "a float": (lambda i: i["blocks"][0].__setitem__("ts_min", 1.5), "not an integer"),
    "a count below zero": (lambda i: i["losses"][0].__setitem__("lost_messages", -1), "not an integer"),
    "a list for a name": (lambda i: i["peers"][0].__setitem__("addr", ["x"]), "expected a string"),
    "an address too long": (lambda i: i["peers"][0].__setitem__("addr", "a" * 70_000), "does not fit"),
    "short totals": (lambda i: i["commands"]["ping"].__setitem__("in", [1]), "expected 3 totals"),
}


@pytest.mark.parametrize("case", sorted(IMPOSSIBLE))
def test_a_footer_claiming_the_impossible_is_refused_and_the_blocks_read(case):
    change, words = IMPOSSIBLE[case]
    data = lie(change)
    reader = reread(data)
    assert reader.index is None
    err = reader.footer_error
    assert words in err.what and err.what.startswith("footer: ") and err.offset is not None
    assert len(list(reader)) == 41 and not reader.damaged  # every record, from the blocks
    assert reader.summarize().messages == 40


def test_a_footer_too_big_for_its_file_is_not_decompressed(monkeypatch):
    from p2pcap.formats import footer

    data = legit()
    text = b"{}" + b" " * (footer_allowed(len(without_footer(data))) - 1)  # a byte past the cap
    over, at = with_footer(data, text), with_footer(data, text[:-1])
    calls = []
    real = footer.decompress
    monkeypatch.setattr(footer, "decompress", lambda f, n: calls.append(n) or real(f, n))
    reader = reread(over)
    assert "index would decompress to" in reader.footer_error.what
    assert calls == []
    reader = reread(at)  # at the cap: decompressed (and malformed)
    assert "malformed" in reader.footer_error.what and calls == [len(text) - 1]


def test_index_from_json_takes_unknown_keys_and_clock_steps():
    data = legit()
    index = footer_json(data)
    index["future"] = {"x": [1, 2]}
    index["blocks"][0]["future"] = 3
    index["clock_steps"] = [{"at_ns": 5, "step_ns": 1000}]
    parsed = index_from_json(index)
    assert parsed.clock_steps == [{"at_ns": 5, "step_ns": 1000}]
    check_claims(
        parsed, blocks=len(index["blocks"]), first_block=parsed.blocks[0].offset, footer_offset=len(data)
    )


def test_check_names_each_difference(tmp_path):
    def change(i):
        i["commands"]["ping"]["in"][0] += 1
        i["blocks"][0]["records"] += 1
        i["peers"][0]["messages"][0] += 1

    path = tmp_path / "x.cap"
    path.write_bytes(lie(change))
    report = check_capture(path)
    assert report.footer == "mismatch" and report.verdict == "damaged"
    named = [p.split("footer disagrees with the blocks: ")[1] for p in report.problems]
    assert named[0].startswith("block 0 at offset ") and "records " in named[0]
    assert any(n.startswith("ping in: the footer says") for n in named)
    assert any(n.startswith("peer-session 4242:0 10.0.0.0:19899 inbound:") for n in named)
    assert len(named) == 3


def test_differences_are_counted_past_the_first_few():
    a, b = index_from_json(footer_json(legit(200))), index_from_json(footer_json(legit(200)))
    for x in a.peers:
        x.bytes_in += 1
    for name in range(30):
        a.commands[f"c{name}"] = {"in": Counts(1, 8, 8)}
    out = differences(a, b)
    assert len(out) == MAX_DIFFERENCES + 1 and out[-1].startswith("and ") and "more differences" in out[-1]


def test_names_from_the_file_are_escaped_in_reports():
    a, b = index_from_json(footer_json(legit(3))), index_from_json(footer_json(legit(3)))
    a.peers[0].addr = "evil\x1b]0;title\x07\n" + "x" * 100
    (line,) = [d for d in differences(a, b) if "footer, not in the blocks" in d]
    assert "\x1b" not in line and "\n" not in line and "\\x1b" in line and len(line) < 200


def test_malformed_json_is_one_format_error():
    for bad in ({"blocks": "x"}, {"blocks": [], "commands": [], "peers": [], "losses": []}, []):
        with pytest.raises(FormatError, match="index is malformed"):
            index_from_json(bad)
