"""The analysis API used directly, without the CLI: results and errors are values.

The CLI tests beside this one check what a user sees; these check what a
program using ``p2pcap.analysis`` gets: the pipeline, results with their
``problems``, errors that name API arguments (not flags), and the protocol
version each message was decoded with.
"""

from __future__ import annotations

import struct

import pytest

from p2pcap.analysis.diff import diff_captures
from p2pcap.analysis.editing import filter_capture, merge_captures
from p2pcap.analysis.errors import AnalysisError
from p2pcap.analysis.filters import RecordFilter, parse_where
from p2pcap.analysis.pipeline import open_pipeline
from p2pcap.analysis.source import InputProblem
from p2pcap.analysis.stats import capture_stats
from p2pcap.errors import ArgumentError, P2pcapError, PathError
from p2pcap.formats import CaptureReader, CaptureWriter, Message

from .captures import T0, sample_messages, write_capture

MESSAGES = sample_messages()


@pytest.fixture
def cap(tmp_path):
    return write_capture(tmp_path / "s.cap", MESSAGES)


def test_the_pipeline_selects_and_decodes(cap):
    filt = RecordFilter(commands=frozenset({"inv"}), where=(parse_where("inv.type=MSG_TX"),))
    with open_pipeline(cap, filt, decode=True) as p:
        rows = [(m.command, p.decoded(m)[0]) for m in p]
        assert p.problems() == []
    expected = [m for m in MESSAGES if m[4] == "inv" and m[5][1:5] == (1).to_bytes(4, "little")]
    assert len(rows) == len(expected) > 0
    assert all(c == "inv" and any(i["type_name"] == "MSG_TX" for i in d["inv"]) for c, d in rows)


def test_the_pipeline_reports_the_version_and_where_it_came_from(cap):
    with open_pipeline(cap, decode=True) as p:
        seen = {m.command: p.version_info(m) for m in p if m.command in ("version", "ping")}
    # The sample's handshakes are recorded: every later message has a negotiated version.
    assert seen["ping"][1] == "negotiated" and seen["ping"][0] >= 70216


# A dsq as a v18 node (protocol 70225) sends it, hand-assembled from Dash Core
# v18 src/coinjoin/coinjoin.h CCoinJoinQueue: nDenom, masternodeOutpoint
# (hash, n), nTime, fReady, vchSig.  From 70226 the outpoint became the
# 32-byte proTxHash, so at the newest version these bytes do not parse.
DSQ_70225 = (
    struct.pack("<i", 16)
    + bytes(range(32))
    + struct.pack("<I", 1)
    + struct.pack("<q", 1_600_000_000)
    + b"\x01"
    + b"\x60"
    + bytes(96)
)


def mid_session(tmp_path):
    """A capture that starts after the handshake: no version message for the peer."""
    path = tmp_path / "mid.cap"
    with CaptureWriter(path, {"network": "testnet"}) as w:
        w.write(
            Message(T0, 7, 3, "1.2.3.4:19999", "outbound-full-relay", "in", "dsq", len(DSQ_70225), DSQ_70225)
        )
    return path


def test_a_capture_without_the_handshake_is_decoded_with_an_assumed_version(tmp_path):
    path = mid_session(tmp_path)
    with open_pipeline(path, decode=True) as p:
        (msg,) = list(p)
        decoded, error = p.decoded(msg)
        version, source = p.version_info(msg)
    assert source == "assumed" and version >= 70238
    assert decoded is None and error  # the newest layout has no room for these bytes
    with open_pipeline(path, decode=True, assume=70225) as p:
        (msg,) = list(p)
        decoded, error = p.decoded(msg)
        assert p.version_info(msg) == (70225, "given")
    assert error is None
    assert decoded["masternode_outpoint"] == {"hash": bytes(range(32))[::-1].hex(), "n": 1}


def test_results_carry_the_problems_of_their_inputs(tmp_path):
    unclosed = write_capture(tmp_path / "killed.cap", MESSAGES, close=False)
    report = filter_capture(unclosed, tmp_path / "out.cap", RecordFilter())
    assert report.messages_out == len(MESSAGES)
    assert [type(p) for p in report.problems] == [InputProblem]
    assert "did not end cleanly (no footer)" in str(report.problems[0])
    assert capture_stats(unclosed).problems == report.problems
    whole = write_capture(tmp_path / "whole.cap", MESSAGES)
    res = diff_captures(whole, unclosed)
    try:
        assert res.a.problems == [] and res.b.problems == report.problems and not res.different
    finally:
        res.close()


def test_a_bad_argument_is_named_by_its_api_name(cap, tmp_path):
    with pytest.raises(ArgumentError) as exc:
        parse_where("nonsense")
    assert exc.value.argument == "where" and str(exc.value).startswith(
        "where 'nonsense': expected FIELD=VALUE"
    )
    with pytest.raises(ArgumentError) as exc:
        merge_captures(["-", "-"], tmp_path / "m.cap")
    assert exc.value.argument == "sources"
    assert isinstance(exc.value, P2pcapError) and isinstance(exc.value, ValueError)


def test_an_unreadable_input_is_a_path_error(tmp_path):
    with pytest.raises(PathError) as exc:
        open_pipeline(tmp_path / "none.cap")
    assert exc.value.path == tmp_path / "none.cap" and isinstance(exc.value, OSError)


def test_replaying_a_peer_that_is_not_there_is_an_analysis_error(cap):
    from p2pcap.analysis.replaying import choose_session

    with CaptureReader(cap) as reader, pytest.raises(AnalysisError, match="no peer 99"):
        choose_session(reader, 99, None)
