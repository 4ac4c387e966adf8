"""Filters are checked before any reading: a misspelt word is a usage error.

Every command that selects messages (show, filter, diff, replay, record)
gets a table of misspelt filters -- exit status 2, one stderr line naming
the flag and the word, the nearest known word when there is one, nothing
written -- and a table of filters of known words that match nothing in
the capture, which stay an empty result with exit status 0.
"""

from __future__ import annotations

import json
import shutil
import subprocess

import click
import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from p2pcap.analysis.filters import RecordFilter, parse_time, parse_where
from p2pcap.analysis.vocabulary import (
    CONN_TYPES,
    check_command,
    check_conn_type,
    check_filter,
    check_peer,
    check_where,
    known_commands,
)
from p2pcap.cli import main
from p2pcap.errors import ArgumentError
from p2pcap.formats import CaptureReader

from .analysis.captures import sample_messages, write_capture
from .capture.live import read_capture, record_standin, write_messages
from .conftest import p2pcap_cmd

# (filter arguments, what the one line must say: the flag and word, then the hint)
MISSPELT = [
    (("--type", "invv"), "--type 'invv': unknown command", "did you mean 'inv'?"),
    (("--type", "inv,getdatta"), "--type 'getdatta': unknown command", "did you mean 'getdata'?"),
    (("--type", "TX"), "--type 'TX': unknown command", "did you mean 'tx'?"),
    (("--not-type", "pingg"), "--not-type 'pingg': unknown command", "did you mean 'ping'?"),
    (("--conn-type", "banana"), "--conn-type 'banana': unknown connection type", "did you mean 'manual'?"),
    (("--conn-type", "outbund"), "--conn-type 'outbund'", "did you mean 'outbound'?"),
    (("--where", "nosuchfield=1"), "--where 'nosuchfield=1': unknown field nosuchfield", ""),
    (("--where", "inv.typ=1"), "--where 'inv.typ=1': unknown field inv.typ", "did you mean 'inv.type'?"),
    (
        ("--where", "inv.type=MSG_NOPE"),
        "--where 'inv.type=MSG_NOPE': no inv.type is 'MSG_NOPE'",
        "did you mean",
    ),
    (("--where", "inv.type=MSG_CLSG"), "no inv.type is 'MSG_CLSG'", "did you mean 'MSG_CLSIG'?"),
    (
        ("--where", "inv.hash=xyz"),
        "--where 'inv.hash=xyz': no inv.hash is 'xyz' (inv.hash holds hex digits)",
        "",
    ),
    (("--where", "vin.0.prevout.hassh=00"), "unknown field vin.0.prevout.hassh", "'vin.0.prevout.hash'"),
    (("--peer", "abc"), "--peer 'abc': expected a peer id (3), PID:ID (4242:3) or an address", ""),
    (("--peer", "10.0.0.1:99999"), "--peer '10.0.0.1:99999': expected a peer id", ""),
    (("--direction", "inn"), "--direction 'inn': expected in or out", "did you mean 'in'?"),
    (("--since", "+10x"), "--since '+10x': expected an offset from the first message", ""),
    (("--until", "yesterday"), "--until 'yesterday': expected", ""),
]

# Known words that match nothing in the sample session.
VALID_EMPTY = [
    ("--type", "getsporks"),  # Dash Core's, not in the capture
    ("--type", "islock"),  # decoded, retired
    ("--conn-type", "feeler"),
    ("--conn-type", "block"),  # every block-relay-only
    ("--where", "inv.type=MSG_GOVERNANCE_OBJECT"),
    ("--where", "spork_id=SPORK_2_INSTANTSEND_ENABLED"),
    ("--where", "vin.0.prevout.n=77"),
    ("--peer", "99"),
    ("--peer", "4242:99"),
    ("--peer", "10.9.9.9:9999"),
    ("--peer", "node1:9999"),
    ("--since", "+1h"),
]


@pytest.fixture(scope="module")
def cap(tmp_path_factory):
    return write_capture(tmp_path_factory.mktemp("checks") / "s.cap", sample_messages())


def messages_in(path) -> int:
    with open(path, "rb") as f:
        return sum(1 for r in CaptureReader(f).records() if getattr(r, "command", None))


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


# Each command that filters: (arguments before the filter, how to read an empty result).
def _show(cap, tmp):
    return ["show", cap, "--json"], lambda result: result.stdout == ""


def _filter(cap, tmp):
    out = tmp / "out.cap"
    return ["filter", cap, "-o", out], lambda result: messages_in(out) == 0


def _diff(cap, tmp):
    other = tmp / "other.cap"
    shutil.copyfile(cap, other)

    def empty(result) -> bool:  # nothing compared with nothing: the same
        lines = [json.loads(line) for line in result.stdout.splitlines()]
        summary, verdict = lines[0], lines[-1]
        assert verdict == {"type": "result", "different": False, "exit": 0}
        return summary["a"]["messages"] == summary["b"]["messages"] == 0

    return ["diff", cap, other, "--json"], empty


def _replay(cap, tmp):
    return ["replay", cap, "--no-pacing"], lambda result: result.stdout == ""


def _stats(cap, tmp):
    return ["stats", cap, "--json"], lambda result: json.loads(result.stdout)["messages"] == 0


def _export(cap, tmp):
    out = tmp / "out.jsonl"
    return ["export", cap, "-o", out], lambda result: out.read_text() == ""


def _pairs(cap, tmp):  # docs/CONVERSATIONS.md: the filters choose pairs by their request
    def empty(result) -> bool:  # only the summary line, of no pair
        return json.loads(result.stdout.splitlines()[-1])["summary"]["rules"] == []

    return ["pairs", cap, "--json"], empty


def _flow(cap, tmp):
    return ["flow", cap, "--format", "svg"], lambda result: 'class="msg"' not in result.stdout


COMMANDS = {
    "pairs": _pairs,
    "flow": _flow,
    "show": _show,
    "filter": _filter,
    "diff": _diff,
    "replay": _replay,
    "stats": _stats,
    "export": _export,
}


def test_the_table_covers_every_command_that_filters():
    # A command that gains --type/--where must join the tables (record is below).
    filtering = {
        name
        for name, command in main.commands.items()
        if {"types", "wheres"} & {p.name for p in command.params if isinstance(p, click.Option)}
    }
    assert filtering == {*COMMANDS, "record", "propagation"}


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize("args, says, hint", MISSPELT, ids=[" ".join(m[0]) for m in MISSPELT])
def test_a_misspelt_filter_is_one_line_and_exit_2(cap, tmp_path, command, args, says, hint):
    before, _empty = COMMANDS[command](cap, tmp_path)
    result = invoke(*before, *args)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.output, result.stderr
    assert says in lines[0] and hint in lines[0], lines[0]
    assert result.stdout == ""
    assert not (tmp_path / "out.cap").exists()  # filter wrote nothing


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize("args", VALID_EMPTY, ids=[" ".join(a) for a in VALID_EMPTY])
def test_known_words_that_match_nothing_are_an_empty_result(cap, tmp_path, command, args):
    before, empty = COMMANDS[command](cap, tmp_path)
    result = invoke(*before, *args)
    assert result.exit_code == 0, result.output
    assert empty(result), result.stdout


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_the_same_filters_in_known_words_still_select(cap, tmp_path, command):
    # The checks refuse only what cannot occur: these keep what they kept.
    before, empty = COMMANDS[command](cap, tmp_path)
    for args in (
        ("--type", "inv,getdata", "--where", "inv.type=MSG_TX"),
        ("--peer", "[2001:db8::7]:51234", "--conn-type", "inbound"),
        ("--where", "type_name=msg_clsig"),
        ("--conn-type", "outbound", "--direction", "out"),
    ):
        result = invoke(*before, *args)
        assert result.exit_code in (0, 1) and not empty(result), (args, result.output)


def test_a_misspelt_filter_in_a_real_process(cap, tmp_path):
    out = tmp_path / "o.cap"
    proc = subprocess.run(
        p2pcap_cmd("filter", str(cap), "-o", str(out), "--type", "inv", "--where", "inv.type=MSG_NOPE"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2 and proc.stdout == "" and not out.exists()
    assert proc.stderr.count("\n") == 1 and "no inv.type is 'MSG_NOPE'" in proc.stderr


# -- record: checked before anything is attached ------------------------------------
@pytest.mark.parametrize(
    "args, says",
    [
        (("--type", "invv"), "--type 'invv': unknown command; did you mean 'inv'?"),
        (("--type", "inv,getdatta"), "--type 'getdatta': unknown command; did you mean 'getdata'?"),
        (("--peer", "abc"), "--peer 'abc': expected a peer id, a number (the recorder filters by id only)"),
        (("--direction", "inn"), "--direction 'inn': expected in or out; did you mean 'in'?"),
    ],
)
def test_record_refuses_a_misspelt_type_before_attaching(tmp_path, args, says):
    out = tmp_path / "r.cap"
    # pid 1 is no node: had the check come after attaching, the error would name it
    proc = subprocess.run(
        p2pcap_cmd("record", "-o", str(out), "--pid", "1", "--duration", "3", *args),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines() == [f"Error: {says}"]
    assert not out.exists()


@pytest.mark.ebpf
def test_record_of_a_known_command_that_never_comes_is_empty(tmp_path, ebpf, standin):
    msgs = tmp_path / "s.msgs"
    write_messages(msgs, sample_messages())
    capture = tmp_path / "none.cap"
    recorder, _ = record_standin(standin, msgs, capture, "--type", "getsporks")
    assert recorder.returncode == 0, recorder.stderr
    records, metadata = read_capture(capture)
    assert records == [] and metadata["filters"]["types"] == ["getsporks"]


# -- propagation: inventory types --------------------------------------------------
@pytest.mark.parametrize(
    "args, says",
    [
        (
            ("--type", "MSG_ISDLOK"),
            "--type 'MSG_ISDLOK': unknown inventory type; did you mean 'MSG_ISDLOCK'?",
        ),
        (
            ("--type", "MSG_TX,isdlock"),
            "--type 'isdlock': unknown inventory type; did you mean 'MSG_ISDLOCK'?",
        ),
        (("--since", "+10x"), "--since '+10x': expected an offset"),
    ],
)
def test_propagation_refuses_a_misspelt_filter(cap, args, says):
    result = invoke("propagation", cap, *args)
    assert result.exit_code == 2 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and says in lines[0], result.stderr


def test_propagation_of_a_known_type_that_never_comes_is_empty(cap):
    result = invoke("propagation", cap, "--type", "MSG_SPORK,32", "--json")
    assert result.exit_code == 0 and result.stdout == "", result.output


# -- the library checks --------------------------------------------------------------
def test_check_filter_names_the_attribute():
    with pytest.raises(ArgumentError) as exc:
        check_filter(RecordFilter(commands=frozenset({"inv", "getdatta"})))
    assert (exc.value.argument, exc.value.value) == ("commands", "getdatta")
    with pytest.raises(ArgumentError) as exc:
        check_filter(RecordFilter(where=(parse_where("inv.type=MSG_NOPE"),)))
    assert exc.value.argument == "where"
    assert check_filter(RecordFilter(commands=frozenset({"getsporks"}), conn_types=("addr",)))


def test_the_vocabulary_follows_dash_core():
    # Every command the decoders define is accepted, and Core's undecoded ones
    assert {"inv", "qsigshare", "islock", "feefilter", "getsporks", "platformban"} <= known_commands()
    for conn_type in CONN_TYPES:
        assert check_conn_type(conn_type) == conn_type
    for peer in (
        "0",
        "4242:1",
        "127.0.0.1",
        "127.0.0.1:19899",
        "2001:db8::7",
        "[2001:db8::7]:51234",
        "localhost",
    ):
        assert check_peer(peer) == peer
    long_name = "regtest-seed-node-number-two.long-hostname.p2pcap-tests.example.org:19899"
    assert check_peer(long_name) == long_name


@given(st.text(max_size=40))
def test_any_word_is_known_or_one_argument_error(text):
    for check in (check_command, check_conn_type, check_peer):
        try:
            assert check(text) == text
        except ArgumentError as exc:
            assert "\n" not in str(exc)
    for parse in (lambda t: check_where(parse_where(t)), parse_time):
        try:
            parse(text)
        except ArgumentError as exc:
            assert "\n" not in str(exc).strip()


@given(st.from_regex(r"[+@]?[0-9.:eE +TZ-]{0,24}[a-z]{0,2}", fullmatch=True))
def test_any_time_is_parsed_or_one_argument_error(text):
    try:
        parse_time(text)
    except ArgumentError as exc:
        assert "\n" not in str(exc)
