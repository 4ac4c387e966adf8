"""``stats``: from the footer index without decompressing, else by a scan; table, JSON, plot."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from click.testing import CliRunner

import p2pcap.formats.decoder as decoder_module
from p2pcap.cli import main

from ..conftest import run_in_terminal
from .captures import STEP, recorded, sample_messages, write_capture


def stats_json(*args) -> dict:
    result = CliRunner().invoke(main, ["stats", *map(str, args), "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def expected_counts(messages) -> dict:
    return dict(Counter((m[4], m[0]) for m in messages))


def got_counts(obj) -> dict:
    return {
        (name, d): v["messages"]
        for name, dirs in obj["commands"].items()
        for d, v in dirs.items()
        if d in ("in", "out")
    }


@pytest.fixture(scope="module")
def cap(tmp_path_factory):
    return write_capture(
        tmp_path_factory.mktemp("stats") / "s.cap", sample_messages(), gaps=[(5, 2), (30, 4)]
    )


@pytest.fixture(scope="module")
def rec(tmp_path_factory, ebpf, standin):
    return recorded(tmp_path_factory, standin)


def test_recorded_session(rec):
    messages = rec["messages"]
    obj = stats_json(rec["base"])
    assert obj["source"] == "footer"
    assert obj["messages"] == len(messages) and obj["lost_messages"] == 0
    assert obj["bytes"] == sum(len(m[5]) for m in messages)
    assert got_counts(obj) == expected_counts(messages)
    peers = {(p["peer_id"], p["addr"], p["conn_type"]) for p in obj["peers"]}
    assert peers == {(m[1], m[2], m[3]) for m in messages}
    assert obj["directions"]["in"]["messages"] == sum(1 for m in messages if m[0] == "in")
    status, table = run_in_terminal(["stats", rec["base"]], columns=80)
    assert status == 0 and all(len(line) <= 80 for line in table.splitlines())


def test_answers_from_the_footer_without_decompressing(cap, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("stats decompressed a block")

    monkeypatch.setattr(decoder_module.Block, "raw", refuse)  # every record block goes through it
    obj = stats_json(cap)
    assert obj["source"] == "footer"
    assert obj["messages"] == len(sample_messages())
    assert obj["lost_messages"] == 6 and obj["gap_records"] == 2
    assert obj["losses"][0]["reason"] == "ringbuf-full"
    scanning = CliRunner().invoke(main, ["stats", str(cap), "--scan"])
    assert isinstance(scanning.exception, AssertionError)  # the patch does catch a scan


def test_scan_agrees_with_the_footer(cap, tmp_path):
    footer = stats_json(cap)
    scanned = stats_json(cap, "--scan")
    assert scanned["source"] == "scan"
    for key in ("messages", "bytes", "commands", "peers", "lost_messages", "first_ns", "last_ns"):
        assert scanned[key] == footer[key], key
    unclosed = write_capture(tmp_path / "killed.cap", sample_messages(), gaps=[(5, 2), (30, 4)], close=False)
    result = CliRunner().invoke(main, ["stats", str(unclosed), "--json"])
    assert result.exit_code == 1  # counted from every block, but not the whole recording
    assert result.stderr.strip() == (
        f"p2pcap: {unclosed}: the recording did not end cleanly (no footer): "
        f"complete up to 2023-11-14T22:13:23.600000000Z"
    )
    no_footer = json.loads(result.stdout)
    assert no_footer["source"] == "scan"
    assert no_footer["commands"] == footer["commands"] and no_footer["peers"] == footer["peers"]


def test_duration_rates_and_directions(cap):
    obj = stats_json(cap)
    n = len(sample_messages())
    assert obj["duration_s"] == pytest.approx((n - 1) * STEP / 1e9)
    assert obj["rates"]["messages_per_s"] == pytest.approx(n / obj["duration_s"])
    d = obj["directions"]
    assert d["in"]["messages"] + d["out"]["messages"] == n
    assert obj["commands"]["version"]["in"]["messages"] == 3


def test_biggest_messages(cap):
    obj = stats_json(cap, "--biggest", "3")
    sizes = sorted((len(m[5]) for m in sample_messages()), reverse=True)[:3]
    assert [b["msg_size"] for b in obj["biggest"]] == sizes
    assert obj["biggest"][0]["command"] == "block"


def test_table(cap):
    result = CliRunner().invoke(main, ["stats", str(cap), "--biggest", "2"])
    assert result.exit_code == 0
    text = result.stdout
    assert "lost        6 messages" in text and "ringbuf-full" in text
    assert "127.0.0.1:19899" in text and "outbound-full-relay" in text
    longest = max((m[2] for m in sample_messages()), key=len)
    assert longest in text  # not a terminal: nothing is cut
    assert "biggest" in text
    status, seen = run_in_terminal(["stats", cap, "--biggest", "2"], columns=80)
    assert status == 0 and all(len(line) <= 80 for line in seen.splitlines())
    assert longest not in seen and longest[:20] in seen  # a terminal of 80 columns: cut to fit


def test_plot(cap, tmp_path):
    png = tmp_path / "rates.png"
    result = CliRunner().invoke(main, ["stats", str(cap), "--plot", str(png)])
    assert result.exit_code == 0, result.output
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_not_a_capture_is_one_line(tmp_path):
    bad = tmp_path / "x.cap"
    bad.write_bytes(b"\x00" * 100)
    result = CliRunner().invoke(main, ["stats", str(bad)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1
