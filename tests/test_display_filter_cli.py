"""Display filters at the edges: errors, what is pushed down, record, fields, completion.

A mistake in an expression is one line naming the column and what was
expected there, with the nearest known word, exit status 2, before any
file is read.  What the reader (or the kernel) can do is taken from the
expression; ``p2pcap fields`` lists the names; the shell completes them.
"""

from __future__ import annotations

import doctest
import importlib
import json
import pkgutil
import subprocess

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

import p2pcap.analysis.dfilter
from p2pcap.analysis.dfilter import compile_filter
from p2pcap.analysis.dfilter.parser import parse
from p2pcap.cli import main
from p2pcap.cli.params import kernel_filter
from p2pcap.decoders.fields import catalogue
from p2pcap.errors import ArgumentError

from .analysis.captures import ROOT
from .conftest import p2pcap_cmd

SAMPLE = ROOT / "samples" / "regtest-session.cap"

# (expression, the line must say, with the column, then the hint)
ERRORS = [
    ("inv.typ == 1", "unknown field 'inv.typ' at column 1", "; did you mean 'inv.type'?"),
    ("dir == in && inv.hassh", "unknown field 'inv.hassh' at column 14", "did you mean 'inv.hash'?"),
    ("direction == in", "unknown field 'direction' at column 1", "did you mean 'dir'?"),
    ("clsgi", "unknown field 'clsgi' at column 1", "did you mean 'clsig'?"),
    ("inv.type == MSG_CLSG", "no inv.type is named 'MSG_CLSG' at column 13", "did you mean 'MSG_CLSIG'?"),
    ("inv.hash == xyz", "inv.hash holds bytes in hex (ab:cd:ef or abcdef), not 'xyz' at column 13", ""),
    ("command == invv", "unknown command 'invv' at column 12", "did you mean 'inv'?"),
    ('dir == "inn"', "no dir is 'inn' at column 8", "did you mean 'in'?"),
    ("conn_type == outbound", "no conn_type is 'outbound' at column 14", 'conn_type matches "^outbound-"'),
    ("size > lots", "size holds a number (decimal or 0x hex), not 'lots' at column 8", ""),
    ('time >= "yesterday"', "time holds a time", "at column 9"),
    ("(inv || tx", "the filter ends at column 11", "expected ')'"),
    ("inv ==", "the filter ends at column 7", "expected a field or a value"),
    ("inv.type == 1 tx", "unexpected 'tx' at column 15", "expected ==, !=, <, >, contains, matches, in, &&"),
    ("inv.type = 1", "unexpected '=' at column 10", "expected a field, a value or an operator"),
    ('version.sub_ver == "Dash', "a string without its closing quote at column 20", "expected '\"'"),
    (
        "tx.vin == 1",
        "tx.vin is a structure or a list of them, not a value at column 1",
        "e.g. tx.vin.prevout.hash",
    ),
    (
        "inv.type contains 1 && size contains 2",
        "'contains' needs bytes or text; size holds a number",
        "column 24",
    ),
    ('size matches "1"', "'matches' needs text; size holds a number", "at column 1"),
    ("version.sub_ver matches Dash", "'matches' takes a quoted regular expression at column 25", ""),
    (
        'version.sub_ver matches "("',
        "'(' is not a regular expression (missing ), unterminated subpattern",
        "at column 25",
    ),
    ("inv.hash[0:0] == 00", "a slice of no bytes ('0:0') at column 10", ""),
    ("peer.id in {}", "an empty set at column 13", ""),
    ('"inv" == "tx"', "a value alone is not a test at column 1", ""),
    ("", "an empty filter at column 1", 'e.g. command == "inv"'),
]


@pytest.mark.parametrize("expression, says, hint", ERRORS, ids=[e[0] or "empty" for e in ERRORS])
def test_a_mistake_names_its_column_and_what_was_expected(tmp_path, expression, says, hint):
    not_a_capture = tmp_path / "notes.txt"
    not_a_capture.write_text("not a capture\n")  # read first, it would be "not a capture"
    result = CliRunner().invoke(main, ["show", str(not_a_capture), "-Y", expression])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.output, result.output
    assert f"-Y {expression!r}: " in lines[0] and says in lines[0] and hint in lines[0], lines[0]


def test_the_first_example_of_the_issue_word_for_word():
    with pytest.raises(ArgumentError) as caught:
        compile_filter("inv.typ == 1")
    assert (
        caught.value.named("-Y")
        == "-Y 'inv.typ == 1': unknown field 'inv.typ' at column 1; did you mean 'inv.type'?"
    )


def test_a_mistake_in_a_real_process_is_one_line(tmp_path):
    out = tmp_path / "o.cap"
    proc = subprocess.run(
        p2pcap_cmd("filter", str(SAMPLE), "-o", str(out), "-Y", "inv.type == MSG_NOPE"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2 and proc.stdout == "" and not out.exists()
    assert proc.stderr.count("\n") == 1 and "no inv.type is named 'MSG_NOPE' at column 13" in proc.stderr


@pytest.mark.parametrize("command", ["show", "stats", "filter", "export", "diff", "replay"])
def test_every_command_that_selects_takes_y(tmp_path, command):
    args = {
        "show": ["show", SAMPLE],
        "stats": ["stats", SAMPLE],
        "filter": ["filter", SAMPLE, "-o", tmp_path / "f.cap"],
        "export": ["export", SAMPLE, "-o", tmp_path / "x.jsonl"],
        "diff": ["diff", SAMPLE, SAMPLE],
        "replay": ["replay", SAMPLE, "--no-pacing"],
    }[command]
    bad = CliRunner().invoke(main, [*map(str, args), "-Y", "inv.typ == 1"])
    assert bad.exit_code == 2 and "did you mean 'inv.type'?" in bad.stderr
    good = CliRunner().invoke(main, [*map(str, args), "--filter", "clsig || block"])
    assert good.exit_code == 0, good.output


# -- what is pushed down ---------------------------------------------------------------
@pytest.mark.parametrize(
    "expression, commands, residual_free",
    [
        ('command == "inv"', {"inv"}, True),
        ("inv || getdata", {"inv", "getdata"}, True),
        ("inv.type == MSG_TX", {"inv"}, False),
        ('command == "inv" && inv.type == MSG_TX', {"inv"}, False),
        ("object.type == MSG_ISDLOCK", None, False),  # commands of it: the inventories and isdlock...
        ('dir == "in"', None, False),
        ("!inv.type", None, False),
        ("command != inv", None, False),
        ('command matches "^q"', None, False),
        ("inv && !inv", set(), True),
        ('time >= "2026-12-01 10:00" && reltime < 5', None, True),
    ],
)
def test_what_the_reader_is_given(expression, commands, residual_free):
    f = compile_filter(expression)
    if expression.startswith("object.type"):
        assert {"inv", "getdata", "notfound", "isdlock", "tx", "block"} <= f.commands
        assert not {"ping", "version", "headers"} & f.commands
    else:
        assert f.commands == (None if commands is None else frozenset(commands))
    assert f.residual_free == residual_free


def test_time_bounds_are_pushed_down_exactly():
    f = compile_filter('time > "2026-12-01 10:00" && reltime <= 2 && (reltime < 1 || inv)')
    (since,) = f.since
    assert since.kind == "absolute" and since.text == "2026-12-01 10:00"
    assert [(t.kind, t.ns) for t in f.until] == [("offset", 2_000_000_000)]
    assert not f.residual_free  # the disjunction stays a test


def test_a_field_is_decoded_only_where_the_expression_needs_it(monkeypatch):
    import p2pcap.analysis.decoding as decoding
    from p2pcap.analysis.filters import RecordFilter, Selection
    from p2pcap.formats import CaptureReader

    decoded = []
    real = decoding.decode_record

    def counting(msg, version, network=None):
        decoded.append(msg.command)
        return real(msg, version, network)

    monkeypatch.setattr(decoding, "decode_record", counting)
    for expression, allowed in [
        ('dir == "in" || clsig.height > 1', {"clsig"}),
        ('command == "inv" && dir == "out"', set()),
        ("peer.id == 1 && inv.type == MSG_TX", {"inv"}),
    ]:
        decoded.clear()
        with CaptureReader(SAMPLE) as reader:
            kept = list(Selection(reader, RecordFilter(display=compile_filter(expression))))
        assert kept and set(decoded) <= allowed, (expression, decoded)


# -- record: the kernel's part, or a refusal ---------------------------------------------
@pytest.mark.parametrize(
    "expression, given, expected",
    [
        ('command in {inv tx} && dir == "in"', ((), (), None), (("inv,tx",), (), "in")),
        ("inv || tx || getdata", ((), (), None), (("getdata,inv,tx",), (), None)),
        ("peer.id == 3 && clsig", ((), (), None), (("clsig",), (3,), None)),
        ("peer.id in {1 2} || peer.id == 7", ((), (), None), ((), (1, 2, 7), None)),
        ('dir == "in" || dir == "out"', ((), (), None), ((), (), None)),
        ("command in {inv tx}", (("tx,ping",), (), None), (("tx",), (), None)),
        ("peer.id in {1 2}", ((), (2, 5), None), ((), (2,), None)),
    ],
)
def test_record_takes_what_the_kernel_can_do(expression, given, expected):
    assert kernel_filter(compile_filter(expression), *given) == expected


@pytest.mark.parametrize(
    "expression, part",
    [
        ("inv.type == MSG_TX", "'inv.type == MSG_TX' (at column 1) needs user space"),
        ('command == "inv" && size > 100', "'size > 100' (at column 21) needs user space"),
        ('inv || dir == "in"', "'inv || dir == \"in\"' (at column 1) needs user space"),
        ("!ping", "'!ping' (at column 1) needs user space"),
        ("command != ping", "'command != ping' (at column 1) needs user space"),
    ],
)
def test_record_refuses_what_needs_user_space_before_attaching(tmp_path, expression, part):
    out = tmp_path / "r.cap"
    result = CliRunner().invoke(main, ["record", "-o", str(out), "--pid", "1", "-Y", expression])
    assert result.exit_code == 2, result.output
    (line,) = result.stderr.strip().splitlines()
    assert part in line and "show -Y or filter -Y" in line and line.startswith("Error: -Y "), line
    assert not out.exists()


def test_record_refuses_a_filter_and_a_shorthand_that_exclude_each_other(tmp_path):
    result = CliRunner().invoke(
        main, ["record", "-o", str(tmp_path / "r.cap"), "--pid", "1", "-Y", "inv", "--type", "tx"]
    )
    assert result.exit_code == 2 and "-Y and --type keep no command in common" in result.stderr


# -- fields ------------------------------------------------------------------------------
def test_fields_lists_every_field_of_the_catalogue():
    result = CliRunner().invoke(main, ["fields", "--json"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    names = {r["name"] for r in rows}
    expected = {f.name for f in catalogue().fields() if f.command is not None and "." in f.name}
    assert expected <= names
    assert {"command", "peer.id", "peer.addr", "conn_type", "dir", "size", "time", "reltime", "pid"} <= names
    assert {"protocol_version", "network", "object.hash", "object.txid", "object.block", "clsig"} <= names
    by_name = {r["name"]: r for r in rows}
    assert by_name["inv.type"]["type"] == "enum" and by_name["inv.type"]["names"]["29"] == "MSG_CLSIG"
    assert by_name["dsq.protx_hash"]["versions"] == [[70226, None]]
    assert by_name["dsq.protx_hash"]["commands"] == ["dsq"]
    assert by_name["command"]["commands"] is None
    for row in rows:  # every name it lists, a filter takes
        compile_filter(row["name"])


def test_fields_of_one_command():
    result = CliRunner().invoke(main, ["fields", "clsig"])
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].split()[:4] == ["field", "type", "commands", "versions"]
    named = {line.split()[0] for line in lines[1:]}
    assert {"clsig", "clsig.height", "clsig.block_hash", "command", "object.hash", "object.block"} <= named
    assert not any(n.startswith(("inv.", "tx.")) for n in named) and "object.txid" not in named
    misspelt = CliRunner().invoke(main, ["fields", "clsgi"])
    assert misspelt.exit_code == 2 and "did you mean 'clsig'?" in misspelt.stderr


# -- completion ----------------------------------------------------------------------------
def _complete(words: str) -> list[str]:
    result = CliRunner().invoke(
        main,
        [],
        prog_name="p2pcap",
        env={
            "_P2PCAP_COMPLETE": "bash_complete",
            "COMP_WORDS": words,
            "COMP_CWORD": str(len(words.split()) - 1),
        },
    )
    return [line.split(",", 1)[1] for line in result.stdout.splitlines() if "," in line]


def test_the_shell_completes_commands_and_fields():
    assert "inv.type" in _complete(f"p2pcap show {SAMPLE} -Y inv.ty")
    assert "inv,getdata" in _complete(f"p2pcap show {SAMPLE} --type inv,getd")
    assert "inv.type=MSG_CLSIG" in _complete(f"p2pcap show {SAMPLE} --where inv.type=MSG_CL")
    assert "clsig" in _complete("p2pcap fields cls")
    assert "dir==in&&inv.hash" in _complete(f"p2pcap stats {SAMPLE} -Y dir==in&&inv.h")


# -- the language's own modules -----------------------------------------------------------
DFILTER = sorted(
    info.name for info in pkgutil.iter_modules(p2pcap.analysis.dfilter.__path__, "p2pcap.analysis.dfilter.")
)


@pytest.mark.parametrize("name", DFILTER)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0


def test_the_same_filter_prints_as_it_parses():
    from p2pcap.analysis.dfilter.nodes import unparse

    for text in ("a == 1 && !(b || c[0:2] in {1 2..3})", "(a ^^ b) && c || d", 'x matches "\\\\d"'):
        assert unparse(parse(unparse(parse(text)))) == unparse(parse(text))


def test_matches_is_case_insensitive_unless_asked():
    from p2pcap.analysis.filters import RecordFilter, Selection
    from p2pcap.formats import CaptureReader

    def count(expression):
        with CaptureReader(SAMPLE) as reader:
            return sum(1 for _ in Selection(reader, RecordFilter(display=compile_filter(expression))))

    assert count('version.sub_ver matches "dash core"') == 6
    assert count('version.sub_ver matches "(?-i)dash core"') == 0


# -- an inventory's fields straight from its bytes ------------------------------------------
def _inventory(items) -> bytes:
    count = len(items)
    head = bytes([count]) if count < 0xFD else b"\xfd" + count.to_bytes(2, "little")
    return head + b"".join(t.to_bytes(4, "little") + h for t, h in items)


_ITEMS = st.lists(
    st.tuples(st.integers(0, 40) | st.integers(0, 2**32 - 1), st.binary(min_size=32, max_size=32)),
    max_size=300,
)


@settings(max_examples=300, deadline=None)
@given(
    command=st.sampled_from(["inv", "getdata", "notfound"]),
    payload=st.one_of(
        _ITEMS.map(_inventory), st.binary(max_size=120), _ITEMS.map(_inventory).map(lambda p: p[:-1])
    ),
)
def test_an_inventory_read_from_its_bytes_is_what_decode_gives(command, payload):
    from p2pcap.analysis.dfilter.access import inventory_items
    from p2pcap.decoders import DecodeError, decode

    items = inventory_items(command, payload)
    if items is None:
        return  # decode() judges it, as before
    try:
        decoded = decode(command, payload)
    except DecodeError as exc:
        raise AssertionError(f"read an inventory decode() refuses: {exc}") from None
    assert [(i["type"], i["hash"]) for i in decoded["inv"]] == [(t, h[::-1].hex()) for t, h in items]


def test_an_inventory_over_the_limit_is_left_to_decode():
    from p2pcap.analysis.dfilter.access import inventory_items

    over = _inventory([(1, bytes(32))] * 50_001)
    assert len(inventory_items("getdata", _inventory([(1, bytes(32))] * 300))) == 300
    assert inventory_items("inv", over) is None and inventory_items("notfound", over) is not None
    assert inventory_items("inv", b"\xfd\x05\x00" + bytes(180)) is None  # a count written long


# -- any text: a filter, or one line saying why not ----------------------------------------
_PIECES = st.sampled_from(
    [
        "inv", "inv.type", "inv.hash", "tx.vin", "size", "time", "reltime", "dir", "object.txid", "peer.id",
        "clsig", "MSG_TX", "1", "0x1f", "-2", "1M", "ab:cd", '"in"', '"x', "r\"\\d\"", "==", "!=", "===", "!==",
        "~=", "<", ">=", "&&", "||", "^^", "!", "not", "and", "or", "in", "{", "}", "..", "(", ")", "[", "]",
        "0:2", "-1", ",", "contains", "matches", "~", "any", "all", "len(", "count(", "$", "@", "#",
    ]
)  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(pieces=st.lists(_PIECES, max_size=9), text=st.text(max_size=30))
def test_any_text_compiles_or_is_one_usage_error(pieces, text):
    for expression in (" ".join(pieces), "".join(pieces), text):
        try:
            f = compile_filter(expression)
        except ArgumentError as exc:
            message = exc.named("-Y")
            assert "\n" not in message.replace(repr(expression), "") and " at column " in message, message
            assert exc.exit_status == 2
        else:
            assert f.commands is None or isinstance(f.commands, frozenset)


def test_propagation_takes_y_for_captures_not_for_datasets(tmp_path):
    folder = tmp_path / "fleet"
    folder.mkdir()
    result = CliRunner().invoke(main, ["propagation", str(folder), "-Y", "dir == in"])
    assert result.exit_code == 2, result.output
    assert "a dataset, whose messages were chosen when it was exported" in result.stderr
