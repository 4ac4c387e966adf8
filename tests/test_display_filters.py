"""Display filters (-Y) against an oracle: plain Python over the decoded JSON.

The capture (tests/display_capture.py) holds every command, at the
protocol versions its fields depend on.  Each expression of ``TABLE``
comes with a predicate over the JSON object ``show --json`` prints for a
message, written from Wireshark's rules and nothing of p2pcap's filter
code: an absent field equals nothing and ``!field`` is true; ``==``, ``<``,
``contains``, ``matches`` and ``in`` hold when any value does, ``!=`` and
``===`` when every value does (and there is one), ``!==`` when any value
differs.  The messages a filter keeps must be exactly those its predicate
keeps; hypothesis then joins the same tests at random with ``&& || ^^ !``
and parentheses.  Last, the shorthands (--type, --peer, --where...) give
what they gave, and what the equivalent -Y gives, and one expression
follows a transaction and a block through the sample session.
"""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from p2pcap.analysis.dfilter import compile_filter
from p2pcap.analysis.filters import RecordFilter, Selection
from p2pcap.cli import main
from p2pcap.formats import CaptureReader
from p2pcap.units import iso

from . import display_capture
from .analysis.captures import ROOT

SAMPLE = ROOT / "samples" / "regtest-session.cap"


@pytest.fixture(scope="module")
def cap(tmp_path_factory):
    return display_capture.write(tmp_path_factory.mktemp("dfilter") / "every.cap")


@pytest.fixture(scope="module")
def objs(cap):
    return display_capture.messages(cap)


# -- the oracle's reading of the JSON ------------------------------------------------
def walk(node, path):
    """Values at ``path`` under ``node``: lists passed through, nulls absent."""
    found = [node]
    for key in path:
        nxt = []
        for item in found:
            for element in item if isinstance(item, list) else [item]:
                if isinstance(element, dict) and key in element:
                    nxt.append(element[key])
        found = nxt
    flat = []
    for value in found:
        flat += (
            [v for v in value if v is not None] if isinstance(value, list) else [value] * (value is not None)
        )
    return flat


def at(o, command, *path):
    if o["command"] != command or not isinstance(o["decoded"], dict):
        return []
    return walk(o["decoded"], path)


def any_(values, test):
    return any(test(v) for v in values)


def all_(values, test):
    return bool(values) and all(test(v) for v in values)


def pairs(o):
    """(type name, hash) of what an inv names, or of the object a message is."""
    d = o["decoded"]
    if not isinstance(d, dict) or d.get("unknown"):
        return []
    if o["command"] in ("inv", "getdata", "notfound"):
        return [(i.get("type_name") or str(i["type"]), i["hash"]) for i in d["inv"]]
    own = {
        "tx": [("MSG_TX", ("txid",))],
        "dstx": [("MSG_DSTX", ("tx", "txid"))],
        "block": [("MSG_BLOCK", ("header", "hash"))],
        "merkleblock": [("MSG_FILTERED_BLOCK", ("header", "hash")), ("MSG_BLOCK", ("header", "hash"))],
        "cmpctblock": [("MSG_CMPCT_BLOCK", ("header", "hash")), ("MSG_BLOCK", ("header", "hash"))],
    }
    named = {
        "spork": "MSG_SPORK",
        "govobj": "MSG_GOVERNANCE_OBJECT",
        "govobjvote": "MSG_GOVERNANCE_OBJECT_VOTE",
        "qfcommit": "MSG_QUORUM_FINAL_COMMITMENT",
        "qcontrib": "MSG_QUORUM_CONTRIB",
        "qcomplaint": "MSG_QUORUM_COMPLAINT",
        "qjustify": "MSG_QUORUM_JUSTIFICATION",
        "qpcommit": "MSG_QUORUM_PREMATURE_COMMITMENT",
        "qsigrec": "MSG_QUORUM_RECOVERED_SIG",
        "clsig": "MSG_CLSIG",
        "islock": "MSG_ISLOCK",
        "isdlock": "MSG_ISDLOCK",
        "dsq": "MSG_DSQ",
    }
    if o["command"] in named:
        return [(named[o["command"]], h) for h in walk(d, ("hash",))]
    return [(t, h) for t, path in own.get(o["command"], []) for h in walk(d, path)]


def txids(o):
    c, d = o["command"], o["decoded"]
    if not isinstance(d, dict):
        return []
    if c in ("inv", "getdata", "notfound"):
        return [i["hash"] for i in d["inv"] if i["type"] in (1, 16)]
    paths = {"tx": ("txid",), "dstx": ("tx", "txid"), "islock": ("txid",), "isdlock": ("txid",)}
    paths |= {
        "block": ("vtx", "txid"),
        "blocktxn": ("txn", "txid"),
        "cmpctblock": ("prefilledtxn", "tx", "txid"),
    }
    return walk(d, paths[c]) if c in paths else []


def blocks(o):
    c, d = o["command"], o["decoded"]
    if not isinstance(d, dict):
        return []
    if c in ("inv", "getdata", "notfound"):
        return [i["hash"] for i in d["inv"] if i["type"] in (2, 3, 20)]
    paths = {
        "block": ("header", "hash"),
        "merkleblock": ("header", "hash"),
        "cmpctblock": ("header", "hash"),
        "headers": ("headers", "header", "hash"),
        "headers2": ("headers", "hash"),
        "clsig": ("block_hash",),
        "getblocktxn": ("blockhash",),
        "blocktxn": ("blockhash",),
    }
    return walk(d, paths[c]) if c in paths else []


def host(addr: str) -> str:
    return addr[1 : addr.index("]")] if addr.startswith("[") else addr.rpartition(":")[0]


# -- values the table takes from the capture itself --------------------------------
@pytest.fixture(scope="module")
def v(objs):
    first = next(o for o in objs if o["command"] == "inv" and len(o["decoded"]["inv"]) > 1)
    tx = next(o for o in objs if o["command"] == "tx" and not o["error"])
    block = next(o for o in objs if o["command"] == "block")
    return {
        "first_ns": objs[0]["ts_ns"],
        "inv_hash": first["decoded"]["inv"][1]["hash"],
        "txid": tx["decoded"]["txid"],
        "block": block["decoded"]["header"]["hash"],
        "vtx": block["decoded"]["vtx"][-1]["txid"],
        "t20": iso(objs[20]["ts_ns"]),
        "t30": iso(objs[30]["ts_ns"]),
        "sub_ver": next(o["decoded"]["sub_ver"] for o in objs if o["command"] == "version"),
        "pid": objs[0]["pid"],
    }


def rel(o, v):
    return (o["ts_ns"] - v["first_ns"]) / 1e9


def hexbytes(h: str) -> str:
    return ":".join(h[i : i + 2] for i in range(0, len(h), 2))


# (id, expression(v), predicate(o, v))
TABLE = [
    ("command", lambda v: 'command == "inv"', lambda o, v: o["command"] == "inv"),
    ("command unquoted", lambda v: "command == inv", lambda o, v: o["command"] == "inv"),
    ("protocol", lambda v: "clsig", lambda o, v: o["command"] == "clsig"),
    ("not protocol", lambda v: "!clsig && !tx", lambda o, v: o["command"] not in ("clsig", "tx")),
    ("enum name", lambda v: "inv.type == MSG_TX", lambda o, v: any_(at(o, "inv", "inv", "type"), lambda t: t == 1)),
    ("enum number", lambda v: "inv.type == 0x1d", lambda o, v: 29 in at(o, "inv", "inv", "type")),
    ("!= is all", lambda v: "inv.type != MSG_TX", lambda o, v: all_(at(o, "inv", "inv", "type"), lambda t: t != 1)),
    ("!== is any", lambda v: "inv.type !== MSG_TX", lambda o, v: any_(at(o, "inv", "inv", "type"), lambda t: t != 1)),
    ("~= is any_ne", lambda v: "inv.type ~= 1", lambda o, v: any_(at(o, "inv", "inv", "type"), lambda t: t != 1)),
    ("=== is all", lambda v: "inv.type === 1", lambda o, v: all_(at(o, "inv", "inv", "type"), lambda t: t == 1)),
    ("all modifier", lambda v: "all inv.type > 1", lambda o, v: all_(at(o, "inv", "inv", "type"), lambda t: t > 1)),
    ("any modifier", lambda v: "any inv.type != 1", lambda o, v: any_(at(o, "inv", "inv", "type"), lambda t: t != 1)),
    ("negated ==", lambda v: "!(inv.type == MSG_TX)", lambda o, v: 1 not in at(o, "inv", "inv", "type")),
    ("not word", lambda v: "not inv.type eq 1", lambda o, v: 1 not in at(o, "inv", "inv", "type")),
    (
        "and before or",
        lambda v: 'dir == "in" && command == "tx" || command == "ping"',
        lambda o, v: o["direction"] == "in" and o["command"] == "tx" or o["command"] == "ping",
    ),
    (
        "parentheses",
        lambda v: 'dir == "in" && (command == "tx" || command == "ping")',
        lambda o, v: o["direction"] == "in" and o["command"] in ("tx", "ping"),
    ),
    (
        "not before and",
        lambda v: '!dir == "in" and size > 100',
        lambda o, v: o["direction"] != "in" and o["msg_size"] > 100,
    ),
    (
        "xor between and and or",
        lambda v: 'tx ^^ dir == "in" && size < 50 || ping',
        lambda o, v: (o["command"] == "tx") != (o["direction"] == "in" and o["msg_size"] < 50)
        or o["command"] == "ping",
    ),
    ("missing is not true", lambda v: "!version.relay", lambda o, v: not at(o, "version", "relay")),
    ("exists", lambda v: "version.relay", lambda o, v: bool(at(o, "version", "relay"))),
    ("missing != nothing", lambda v: "version.relay != 0", lambda o, v: all_(at(o, "version", "relay"), lambda x: x != 0)),
    ("version field new", lambda v: "dsq.protx_hash", lambda o, v: bool(at(o, "dsq", "protx_hash"))),
    ("version field old", lambda v: "dsq.masternode_outpoint.n >= 0", lambda o, v: bool(at(o, "dsq", "masternode_outpoint", "n"))),
    ("protocol_version", lambda v: "protocol_version < 70220 && isdlock", lambda o, v: o["command"] == "isdlock" and o["protocol_version"] < 70220),
    ("size unit", lambda v: "size > 1K", lambda o, v: o["msg_size"] > 1024),
    ("size hex", lambda v: "size >= 0x100 && size <= 300", lambda o, v: 256 <= o["msg_size"] <= 300),
    ("field vs field", lambda v: "captured_len < size", lambda o, v: o["captured_len"] < o["msg_size"]),
    ("set", lambda v: "peer.id in {0 2 12}", lambda o, v: o["peer_id"] in (0, 2, 12)),
    ("set range", lambda v: "peer.id in {1, 11..13}", lambda o, v: o["peer_id"] == 1 or 11 <= o["peer_id"] <= 13),
    ("commands set", lambda v: "command in {inv tx clsig}", lambda o, v: o["command"] in ("inv", "tx", "clsig")),
    (
        "byte slice",
        lambda v: f"inv.hash[0:4] == {hexbytes(v['inv_hash'][:8])}",
        lambda o, v: any_(at(o, "inv", "inv", "hash"), lambda h: h[:8] == v["inv_hash"][:8]),
    ),
    (
        "byte slice from the end",
        lambda v: f"tx.txid[-2:] == {v['txid'][-4:]}",
        lambda o, v: any_(at(o, "tx", "txid"), lambda h: h[-4:] == v["txid"][-4:]),
    ),
    (
        "byte slice i-j",
        lambda v: f"inv.hash[1-2] == {hexbytes(v['inv_hash'][2:6])}",
        lambda o, v: any_(at(o, "inv", "inv", "hash"), lambda h: h[2:6] == v["inv_hash"][2:6]),
    ),
    ("payload slice", lambda v: "payload[0] == 0x02", lambda o, v: o["msg_size"] and o["captured_len"] > 0 and _payload(o)[:2] == "02"),
    ("hash", lambda v: f"inv.hash == {v['inv_hash']}", lambda o, v: v["inv_hash"] in at(o, "inv", "inv", "hash")),
    ("quoted hash", lambda v: f'tx.txid == "{v["txid"]}"', lambda o, v: v["txid"] in at(o, "tx", "txid")),
    ("contains text", lambda v: 'version.sub_ver contains "21."', lambda o, v: any_(at(o, "version", "sub_ver"), lambda s: "21." in s)),
    ("contains enum", lambda v: 'inv.type contains "BLOCK"', lambda o, v: any_(at(o, "inv", "inv", "type_name"), lambda s: "BLOCK" in (s or ""))),
    ("contains bytes", lambda v: "clsig.sig contains 99:99", lambda o, v: any_(at(o, "clsig", "sig"), lambda s: _aligned("9999", s))),
    ("matches", lambda v: 'version.sub_ver matches "^/dash core:2[12]"', lambda o, v: any_(at(o, "version", "sub_ver"), lambda s: re.search("^/dash core:2[12]", s, re.I))),
    ("matches case", lambda v: 'version.sub_ver matches "(?-i)Core:21"', lambda o, v: any_(at(o, "version", "sub_ver"), lambda s: "Core:21" in s)),
    ("matches command", lambda v: 'command matches "^q.*s"', lambda o, v: re.search("^q.*s", o["command"], re.I)),
    ("conn type", lambda v: 'conn_type matches "^outbound-"', lambda o, v: o["conn_type"].startswith("outbound-")),
    ("peer host", lambda v: 'peer.host == "2001:db8::7"', lambda o, v: host(o["peer_addr"]) == "2001:db8::7"),
    ("time", lambda v: f'time >= "{v["t20"]}"', lambda o, v: o["ts_ns"] >= objs_ts(v["t20"])),
    ("time range", lambda v: f'time > "{v["t20"]}" && time <= "{v["t30"]}"', lambda o, v: objs_ts(v["t20"]) < o["ts_ns"] <= objs_ts(v["t30"])),
    ("reltime", lambda v: "reltime < 1.5", lambda o, v: rel(o, v) < 1.5),
    ("reltime unit", lambda v: "reltime >= 2s && reltime <= 3000ms", lambda o, v: 2 <= rel(o, v) <= 3),
    ("reltime in or", lambda v: '(reltime < 1 || reltime > 15) && dir == "out"', lambda o, v: (rel(o, v) < 1 or rel(o, v) > 15) and o["direction"] == "out"),
    ("time offset", lambda v: 'time <= "+1s" || tx', lambda o, v: rel(o, v) <= 1 or o["command"] == "tx"),
    ("object.hash", lambda v: f"object.hash == {v['inv_hash']}", lambda o, v: any_(pairs(o), lambda p: p[1] == v["inv_hash"])),
    ("object.type", lambda v: "object.type == MSG_CLSIG", lambda o, v: any_(pairs(o), lambda p: p[0] == "MSG_CLSIG")),
    ("object.txid", lambda v: f"object.txid == {v['vtx']}", lambda o, v: v["vtx"] in txids(o)),
    ("object.block", lambda v: f"object.block == {v['block']}", lambda o, v: v["block"] in blocks(o)),
    ("count", lambda v: "count(inv.hash) >= 2", lambda o, v: len(at(o, "inv", "inv", "hash")) >= 2),
    ("len", lambda v: "len(version.sub_ver) > 17", lambda o, v: any_(at(o, "version", "sub_ver"), lambda s: len(s) > 17)),
    ("lower", lambda v: 'lower(version.sub_ver) contains "dash core"', lambda o, v: any_(at(o, "version", "sub_ver"), lambda s: "dash core" in s.lower())),
    ("unknown command", lambda v: "unknown", lambda o, v: isinstance(o["decoded"], dict) and o["decoded"].get("unknown") is True),
    ("decode error", lambda v: "error && !partial", lambda o, v: o["error"] is not None and o["captured_len"] == o["msg_size"]),
    ("partial", lambda v: "partial", lambda o, v: o["captured_len"] < o["msg_size"]),
    ("network", lambda v: "network == regtest", lambda o, v: True),
    ("pid", lambda v: f"pid != {v['pid']}", lambda o, v: o["pid"] != v["pid"]),
    ("spork names", lambda v: "spork.spork_id == SPORK_2_INSTANTSEND_ENABLED", lambda o, v: 10001 in at(o, "spork", "spork_id")),
    ("collapsed name", lambda v: "qsigshare.quorum_hash", lambda o, v: bool(at(o, "qsigshare", "sig_shares", "quorum_hash"))),
    ("json path name", lambda v: "qsigshare.sig_shares.llmq_type < 200", lambda o, v: any_(at(o, "qsigshare", "sig_shares", "llmq_type"), lambda t: t < 200)),
    ("bits", lambda v: 'qfcommit.commitment.signers contains "01"', lambda o, v: any_(at(o, "qfcommit", "commitment", "signers"), lambda s: "01" in s)),
    ("bool", lambda v: "qsigsinv.inv.is_var_ints == false || mnauth", lambda o, v: False in at(o, "qsigsinv", "invs", "inv", "is_var_ints") or o["command"] == "mnauth"),
]  # fmt: skip


def _payload(o):
    return o["payload_hex"]


def _aligned(part, value):
    return any(value.startswith(part, i) for i in range(0, len(value), 2))


def objs_ts(text):
    from p2pcap.analysis.timespec import parse_time

    return parse_time(text).ns


def kept(cap, expression) -> list[int]:
    """The ts_ns of the messages ``-Y expression`` keeps (through ``Selection``)."""
    filt = RecordFilter(display=compile_filter(expression))
    with CaptureReader(cap) as reader:
        return [r.ts_ns for r in Selection(reader, filt) if hasattr(r, "command")]


@pytest.fixture(scope="module")
def with_payload(cap, objs):
    """The JSON objects with ``payload_hex`` (for the payload tests)."""
    from p2pcap.cli.show import show_capture

    lines: list = []
    show_capture(cap, json_lines=True, hex_payload=True, out=lines.append, warn=lambda _p: None)
    return [json.loads(line) for line in lines if '"gap"' not in line[:12]]


@pytest.mark.parametrize("name, expression, predicate", TABLE, ids=[t[0] for t in TABLE])
def test_a_filter_keeps_what_its_oracle_keeps(cap, with_payload, v, name, expression, predicate):
    text = expression(v)
    expected = [o["ts_ns"] for o in with_payload if predicate(o, v)]
    assert kept(cap, text) == expected, text


def test_the_table_is_not_trivial(with_payload, v):
    # Each predicate keeps something and leaves something (but the network, which all share).
    for name, _expression, predicate in TABLE:
        n = sum(bool(predicate(o, v)) for o in with_payload)
        assert 0 < n or name == "network", name
        assert n < len(with_payload) or name == "network", name


def test_the_capture_has_every_command(objs):
    from p2pcap.decoders.registry import MESSAGES

    assert set(MESSAGES) <= {o["command"] for o in objs}


# -- random expressions over the same tests ----------------------------------------
_PRECEDENCE = {"||": 1, "^^": 2, "&&": 3}
_ATOMS = [t for t in TABLE if t[0] not in ("network",)]


def _render(tree, parent=0, right=False) -> str:
    if tree[0] == "atom":
        return f"({tree[1]})"
    if tree[0] == "not":
        return "!" + _render(tree[1], 4)
    op, left, rhs, paren = tree
    level = _PRECEDENCE[op]
    text = f"{_render(left, level)} {op} {_render(rhs, level, True)}"
    # parentheses only where they are needed, or where hypothesis asked for them
    needed = level < parent or (level == parent and right)
    return f"({text})" if needed or paren else text


def _evaluate(tree, o, v) -> bool:
    if tree[0] == "atom":
        return bool(tree[2](o, v))
    if tree[0] == "not":
        return not _evaluate(tree[1], o, v)
    op, left, rhs, _paren = tree
    a, b = _evaluate(left, o, v), _evaluate(rhs, o, v)
    return {"&&": a and b, "||": a or b, "^^": a != b}[op]


def _trees():
    atom = st.sampled_from(_ATOMS).map(lambda t: ("atom", t[1], t[2]))
    return st.recursive(
        atom,
        lambda inner: st.one_of(
            st.tuples(st.just("not"), inner),
            st.tuples(st.sampled_from(list(_PRECEDENCE)), inner, inner, st.booleans()),
        ),
        max_leaves=6,
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tree=_trees())
def test_random_expressions_keep_what_the_oracle_keeps(cap, with_payload, v, tree):
    tree = _bind(tree, v)
    text = _render(tree)
    expected = [o["ts_ns"] for o in with_payload if _evaluate(tree, o, v)]
    assert kept(cap, text) == expected, text


def _bind(tree, v):
    if tree[0] == "atom":
        return ("atom", tree[1](v), tree[2])
    if tree[0] == "not":
        return ("not", _bind(tree[1], v))
    return (tree[0], _bind(tree[1], v), _bind(tree[2], v), tree[3])


# -- the shorthands: what they gave, and what -Y gives -----------------------------
SHORTHANDS = [
    (["--type", "inv"], 'command == "inv"'),
    (["--type", "inv,tx"], "command in {inv tx}"),
    (["--not-type", "ping,pong"], "!ping && !pong"),
    (["--direction", "in"], 'dir == "in"'),
    (["--peer", "1"], "peer.id == 1"),
    (["--peer", "127.0.0.1:19899"], 'peer.addr == "127.0.0.1:19899"'),
    (["--peer", "2001:db8::7"], 'peer.host == "2001:db8::7"'),
    (["--conn-type", "outbound"], 'conn_type matches "^outbound-"'),
    (["--conn-type", "inbound"], 'conn_type == "inbound"'),
    (["--since", "+0.05", "--until", "+0.1"], "reltime >= 0.05 && reltime <= 0.1"),
    (["--where", "inv.type=MSG_TX"], "inv.type == MSG_TX || getdata.type == MSG_TX || notfound.type == MSG_TX"),
    (["--where", "inv.type=MSG_TX", "--type", "inv"], "inv.type == MSG_TX"),
    (["--where", "height>=201", "--type", "clsig"], "clsig.height >= 201"),
    (["--where", "txid=" + "7b1d8ef86da5aa31de88aeac3d91a27f846d8b493cae9478304ab48499744c29"], "tx.txid == 7b1d8ef86da5aa31de88aeac3d91a27f846d8b493cae9478304ab48499744c29 || isdlock.txid == 7b1d8ef86da5aa31de88aeac3d91a27f846d8b493cae9478304ab48499744c29 || block.vtx.txid == 7b1d8ef86da5aa31de88aeac3d91a27f846d8b493cae9478304ab48499744c29"),
]  # fmt: skip


def _show(*args) -> list[str]:
    result = CliRunner().invoke(main, ["show", *map(str, args), "--json"])
    assert result.exit_code == 0, result.output
    return result.stdout.splitlines()


@pytest.mark.parametrize("shorthand, expression", SHORTHANDS, ids=[" ".join(s) for s, _e in SHORTHANDS])
@pytest.mark.parametrize("which", ["sample", "every"])
def test_a_shorthand_and_its_expression_select_the_same(cap, which, shorthand, expression):
    path = SAMPLE if which == "sample" else cap
    plain = _show(path, *shorthand)
    assert plain == _show(path, "-Y", expression)
    messages = [line for line in plain if '"gap"' not in line[:12]]
    assert messages or which == "every", shorthand  # the sample has each of them


def test_the_listing_of_a_pushed_down_filter_is_the_c_listing(cap):
    # `-Y 'command == "inv"'` is --type inv for the reader: the same rows, from the same walker.
    runner = CliRunner()
    plain = runner.invoke(main, ["show", str(cap), "--type", "inv", "-n"])
    display = runner.invoke(main, ["show", str(cap), "-Y", "inv", "-n"])
    assert plain.exit_code == display.exit_code == 0
    assert plain.stdout == display.stdout and plain.stdout.count("\n") > 5


@pytest.mark.parametrize("expression", ["inv || tx", 'dir == "in" && size > 100', "object.type == MSG_TX"])
def test_every_command_selects_what_show_selects(cap, tmp_path, expression):
    from p2pcap.formats import CaptureReader as Reader

    shown = [json.loads(line)["ts_ns"] for line in _show(cap, "-Y", expression) if '"gap"' not in line[:12]]
    runner = CliRunner()
    out = tmp_path / "f.cap"
    assert runner.invoke(main, ["filter", str(cap), "-o", str(out), "-Y", expression]).exit_code == 0
    with Reader(out) as r:
        assert [m.ts_ns for m in r.records() if hasattr(m, "command")] == shown
    stats = runner.invoke(main, ["stats", str(cap), "--json", "-Y", expression])
    assert json.loads(stats.stdout)["messages"] == len(shown)
    exported = tmp_path / "x.jsonl"
    assert runner.invoke(main, ["export", str(cap), "-o", str(exported), "-Y", expression]).exit_code == 0
    rows = [json.loads(line) for line in exported.read_text().splitlines()]
    assert [r["ts_ns"] for r in rows if "command" in r] == shown
    replayed = runner.invoke(main, ["replay", str(cap), "--no-pacing", "-Y", expression])
    assert [
        json.loads(line)["ts_ns"] for line in replayed.stdout.splitlines() if '"gap"' not in line[:12]
    ] == shown
    diff = runner.invoke(main, ["diff", str(cap), str(out), "-Y", expression, "--json"])
    assert diff.exit_code == 0, diff.output  # the filtered capture is the capture, filtered


# -- following one object through the sample session -------------------------------
def _commands(expression) -> list[tuple[str, str]]:
    return [(o["command"], o["direction"]) for o in map(json.loads, _show(SAMPLE, "-Y", expression))]


def test_one_expression_follows_a_transaction_from_inv_to_block():
    objs = [json.loads(line) for line in _show(SAMPLE)]
    block = next(o for o in objs if o["command"] == "block")
    locked = next(o for o in objs if o["command"] == "isdlock")["decoded"]["txid"]
    assert locked in [t["txid"] for t in block["decoded"]["vtx"]]  # the sample is consistent
    seen = _commands(f"object.txid == {locked}")
    order = [c for c, _d in seen]
    assert order == ["inv", "getdata", "tx", "inv", "isdlock", "block"], seen
    # each of them does name it, in the decoded JSON
    for o in map(json.loads, _show(SAMPLE, "-Y", f"object.txid == {locked}")):
        assert locked in json.dumps(o["decoded"])


def test_one_expression_follows_a_block_from_inv_to_clsig():
    objs = [json.loads(line) for line in _show(SAMPLE)]
    chained = next(o for o in objs if o["command"] == "clsig")["decoded"]["block_hash"]
    seen = _commands(f"object.block == {chained}")
    assert [c for c, _d in seen] == ["inv", "getdata", "block", "clsig"], seen
    headers = next(o for o in objs if o["command"] == "headers")["decoded"]["headers"][-1]["header"]["hash"]
    assert [c for c, _d in _commands(f"object.block == {headers}")] == ["headers"]
    assert ("inv", "out") in _commands(f"object.hash == {chained} || object.type == MSG_CLSIG")
