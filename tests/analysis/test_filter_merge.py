"""``filter`` (like editcap) and ``merge`` (like mergecap): records copied exactly,
gaps and metadata kept."""

from __future__ import annotations

import io

import pytest
from click.testing import CliRunner

from p2pcap.cli import main
from p2pcap.formats import CaptureReader, Gap, Message, open_capture

from .captures import STEP, T0, recorded, sample_messages, write_capture


def run(*args, input=None):
    return CliRunner().invoke(main, [str(a) for a in args], input=input)


def records(path) -> list:
    with open_capture(path) as r:
        return list(r.records())


@pytest.fixture(scope="module")
def cap(tmp_path_factory):
    return write_capture(
        tmp_path_factory.mktemp("edit") / "s.cap",
        sample_messages(),
        gaps=[(20, 3)],
        metadata={"target": {"pids": [4242]}},
    )


@pytest.fixture(scope="module")
def rec(tmp_path_factory, ebpf, standin):
    return recorded(tmp_path_factory, standin)


def test_filter_keeps_records_exactly_and_gaps(cap, tmp_path):
    out = tmp_path / "inv.cap"
    result = run("filter", cap, "-o", out, "--type", "inv", "--direction", "out")
    assert result.exit_code == 0, result.output
    assert "3 of 37 messages written, 1 gap records" in result.stderr
    original = records(cap)
    kept = records(out)
    assert kept == [r for r in original if type(r) is Gap or (r.command == "inv" and r.direction == "out")]


def test_filter_metadata_notes_the_edit(cap, tmp_path):
    out = tmp_path / "f.cap"
    run("filter", cap, "-o", out, "--peer", "1", "--where", "inv.type=MSG_TX")
    with open_capture(out) as r:
        md = r.metadata
    assert md["network"] == "regtest" and md["target"] == {"pids": [4242]}
    assert md["edits"][-1]["command"] == "filter"
    assert md["edits"][-1]["args"] == ["--peer", "1", "--where", "inv.type=MSG_TX"]
    assert [m.command for m in records(out) if type(m) is Message] == ["inv", "getdata"]


def test_filter_time_range_and_limit(cap, tmp_path):
    out = tmp_path / "t.cap"
    run("filter", cap, "-o", out, "--since", "+1s", "-c", "4")
    got = records(out)
    assert [(r.ts_ns - T0) // STEP for r in got] == [10, 11, 12, 13]


def test_filter_to_stdout_and_from_stdin(cap):
    result = run("filter", "-", "-o", "-", "--type", "clsig", input=cap.read_bytes())
    assert result.exit_code == 0
    got = list(CaptureReader(io.BytesIO(result.stdout_bytes)).records())
    assert [type(r).__name__ for r in got] == ["Gap", "Message"] and got[1].command == "clsig"


def test_filter_refuses_to_overwrite_its_input(cap):
    result = run("filter", cap, "-o", cap)
    assert result.exit_code == 2 and "must not be the input" in result.output


def test_merge_by_time(tmp_path):
    msgs = sample_messages()
    a = write_capture(tmp_path / "a.cap", msgs[:20], pid=1, gaps=[(5, 1)], metadata={"host": "n1"})
    b = write_capture(tmp_path / "b.cap", msgs[20:], pid=2, t0=T0 + STEP // 2, metadata={"host": "n2"})
    out = tmp_path / "m.cap"
    result = run("merge", a, b, "-o", out)
    assert result.exit_code == 0, result.output
    got = records(out)
    assert len(got) == len(msgs) + 1
    stamps = [r.ts_ns for r in got]
    assert stamps == sorted(stamps)
    assert sorted(got, key=lambda r: (r.ts_ns, type(r) is Message)) == got
    assert {r.pid for r in got} == {1, 2} and sum(type(r) is Gap for r in got) == 1
    with open_capture(out) as r:
        md = r.metadata
    assert md["network"] == "regtest" and "host" not in md
    assert [x["metadata"]["host"] for x in md["merged_from"]] == ["n1", "n2"]
    assert md["edits"][-1] == {
        "command": "merge",
        "tool_version": md["edits"][-1]["tool_version"],
        "inputs": ["a.cap", "b.cap"],
    }


def test_recorded_filter_and_merge(rec, tmp_path):
    """End to end on stand-in recordings: filter one, merge the two recordings."""
    inv = tmp_path / "inv.cap"
    assert run("filter", rec["base"], "-o", inv, "--type", "inv").exit_code == 0
    assert [m.payload for m in records(inv)] == [m[5] for m in rec["messages"] if m[4] == "inv"]
    both = tmp_path / "both.cap"
    assert run("merge", rec["base"], rec["variant"], "-o", both).exit_code == 0
    got = records(both)
    assert len(got) == len(rec["messages"]) + len(rec["variant_messages"])
    assert [r.ts_ns for r in got] == sorted(r.ts_ns for r in got)
    stats = run("stats", both, "--json")
    assert f'"messages":{len(got)}' in stats.stdout
