"""``pairs``: requests paired with answers by content (docs/CONVERSATIONS.md).

Hand-made conversations exercise every rule (ping, getdata with inv and
notfound, getheaders, getblocktxn, getmnlistd, getqrinfo, qgetdata,
getsporks, mempool), repeats, answers out of order, two peers asking for one
object, answers that never come; the sample capture's pairs are checked
against hashes computed here from the raw payloads.
"""

from __future__ import annotations

import json
import struct

import pytest
from click.testing import CliRunner

from p2pcap.analysis.conversations import capture_pairs
from p2pcap.analysis.filters import RecordFilter
from p2pcap.analysis.pairs import CLOSED_AFTER_NS, PairTracker
from p2pcap.cli import main
from p2pcap.formats import open_capture

from ..decoders.test_mnlist import BASE_HASH, BLOCK_HASH, mnlistdiff_hex, qrinfo_hex
from . import conversation as c
from .captures import ROOT

NEWEST = 70238


def pairs_of(path, filt=None):
    got = []
    result = capture_pairs(path, filt, on_pair=got.append)
    return got, result


def find(pairs, **want):
    return [p for p in pairs if all(getattr(p, k) == v for k, v in want.items())]


@pytest.fixture(scope="module")
def every_rule(tmp_path_factory):
    """One conversation per rule, on peers 1 (outbound: we mostly ask) and 2 (inbound)."""
    t1, t1id = c.tx(1)
    t2, t2id = c.tx(2)
    t3, t3id = c.tx(3)
    tip = c.h(100)
    h1, h1id = c.header(tip, 101)
    h2, h2id = c.header(h1id, 102)
    blk, blk_id = c.block(h2id, 103)
    quorum, pro_tx = c.h(200), c.h(201)
    base, blockh = bytes.fromhex(BASE_HASH), bytes.fromhex(BLOCK_HASH)
    qrinfo_request = c.cs(1) + base + c.h(300) + b"\x00"
    m = c.message
    records = [
        m(0, "out", 1, "ping", c.nonce(7)),
        m(3, "in", 1, "pong", c.nonce(7)),  # ping: 3 ms
        m(10, "in", 1, "inv", c.inv((c.MSG_TX, t1id), (c.MSG_TX, t2id), (c.MSG_TX, t3id))),
        m(12, "out", 1, "getdata", c.inv((c.MSG_TX, t1id), (c.MSG_TX, t2id))),  # t3 never requested
        m(20, "in", 1, "tx", t2),  # out of order: t2 first
        m(25, "in", 1, "tx", t1),
        m(30, "out", 1, "getdata", c.inv((c.MSG_TX, c.h(9)))),
        m(31, "in", 1, "notfound", c.inv((c.MSG_TX, c.h(9)))),  # notfound: 1 ms
        m(40, "out", 1, "getheaders", c.getheaders([tip, c.h(99)])),
        m(45, "in", 1, "headers", c.headers(h1, h2)),  # first header builds on the locator's tip
        m(50, "in", 1, "headers", c.headers(c.header(h2id, 104)[0])),  # an announcement: unrequested
        m(60, "out", 1, "getblocktxn", c.getblocktxn(blk_id, (0,))),
        m(64, "in", 1, "blocktxn", c.blocktxn(blk_id, t3)),
        m(70, "out", 1, "getmnlistd", c.getmnlistd(base, blockh)),
        m(77, "in", 1, "mnlistdiff", bytes.fromhex(mnlistdiff_hex(NEWEST))),
        m(80, "out", 1, "getqrinfo", qrinfo_request),
        m(90, "in", 1, "qrinfo", bytes.fromhex(qrinfo_hex(NEWEST, False))),
        m(100, "out", 1, "qgetdata", c.qrequest(4, quorum, 1, pro_tx)),
        m(101, "out", 1, "qgetdata", c.qrequest(4, quorum, 2, pro_tx)),
        m(108, "in", 1, "qdata", c.qrequest(4, quorum, 2, pro_tx, error=6)),  # the second first, an error
        m(109, "out", 1, "getsporks"),
        m(110, "in", 1, "spork", c.spork(10001, 0)),
        m(111, "in", 1, "spork", c.spork(10002, 4070908800)),
        m(112, "in", 1, "ping", c.nonce(8)),  # ends the run of sporks; the peer asks
        m(113, "out", 1, "pong", c.nonce(8)),
        m(120, "in", 2, "mempool"),
        m(126, "out", 2, "inv", c.inv((c.MSG_TX, t1id))),  # the mempool's answer (and an announcement)
        m(130, "in", 2, "getdata", c.inv((c.MSG_TX, t1id))),
        m(133, "out", 2, "tx", t1),
        m(140, "in", 2, "getdata", c.inv((c.MSG_BLOCK, blk_id))),
        m(148, "out", 2, "block", blk),
    ]
    path = c.write(tmp_path_factory.mktemp("pairs") / "every.cap", records)
    ids = {"t1": t1id, "t2": t2id, "t3": t3id, "tip": tip, "h2": h2id, "blk": blk_id}
    return path, ids


def test_every_rule(every_rule):
    path, ids = every_rule
    pairs, result = pairs_of(path)
    answered = {
        (p.rule, p.asked_by, p.request, p.answer, p.wait_ns // c.MS) for p in find(pairs, status="answered")
    }
    assert answered == {
        ("ping", "us", "ping", "pong", 3),
        ("getdata", "us", "getdata", "tx", 8),  # t2: 20 - 12
        ("getdata", "us", "getdata", "tx", 13),  # t1: 25 - 12
        ("getheaders", "us", "getheaders", "headers", 5),
        ("getblocktxn", "us", "getblocktxn", "blocktxn", 4),
        ("getmnlistd", "us", "getmnlistd", "mnlistdiff", 7),
        ("getqrinfo", "us", "getqrinfo", "qrinfo", 10),
        ("getsporks", "us", "getsporks", "spork", 1),
        ("ping", "peer", "ping", "pong", 1),
        ("mempool", "peer", "mempool", "inv", 6),
        ("getdata", "peer", "getdata", "tx", 3),
        ("getdata", "peer", "getdata", "block", 8),
    }
    # the items name their objects: each tx answers the getdata item of its own txid
    for p in find(pairs, rule="getdata", status="answered", asked_by="us"):
        assert p.key.endswith(c.shown(ids["t1"] if p.answer_ns == c.T0 + 25 * c.MS else ids["t2"]))
        assert p.to_request_ns == 2 * c.MS  # inv at 10, getdata at 12
    (notfound,) = find(pairs, status="notfound")
    assert (notfound.answer, notfound.wait_ns) == ("notfound", c.MS)
    (rejected,) = find(pairs, status="rejected")
    assert rejected.detail == "ENCRYPTED_CONTRIBUTIONS_MISSING" and rejected.key.endswith(
        "mask 2 protx " + c.shown(c.h(201))
    )
    (sporks,) = find(pairs, rule="getsporks")
    assert sporks.answers == 2 and len(sporks.answer_seqs) == 2
    (waiting,) = find(pairs, status="unanswered")  # the qgetdata of mask 1
    assert waiting.request == "qgetdata" and waiting.until == "capture-end"
    assert waiting.wait_ns == 48 * c.MS  # from 100 to the capture's last message at 148
    never = {p.key for p in find(pairs, status="not-requested")}
    assert f"MSG_TX {c.shown(ids['t3'])}" in never
    (announcement,) = find(pairs, rule="getheaders", status="unrequested")
    assert announcement.key == f"after {c.shown(ids['h2'])}" and announcement.answer == "headers"
    counts = {(r.rule, r.asked_by): r.requests for r in result.rules.values() if r.requests}
    assert counts[("getdata", "us")] == 3 and counts[("qgetdata", "us")] == 2
    assert result.rtt[(c.PID, 1)].rtt.count == 1 and result.rtt[(c.PID, 1)].last_rtt_ns == 3 * c.MS


def test_repeats_and_out_of_order(tmp_path):
    m = c.message
    records = [
        m(0, "out", 1, "ping", c.nonce(5)),
        m(1, "out", 1, "ping", c.nonce(6)),
        m(2, "out", 1, "ping", c.nonce(5)),  # the same nonce again
        m(10, "in", 1, "pong", c.nonce(6)),
        m(11, "in", 1, "pong", c.nonce(5)),  # answers the older ping of nonce 5
        m(13, "in", 1, "pong", c.nonce(5)),
        m(14, "in", 1, "pong", c.nonce(77)),  # nothing asked for it
    ]
    pairs, _ = pairs_of(c.write(tmp_path / "r.cap", records))
    got = sorted(
        (p.key, p.request_ns and (p.request_ns - c.T0) // c.MS, p.wait_ns // c.MS)
        for p in find(pairs, status="answered")
    )
    assert got == [("5", 0, 11), ("5", 2, 11), ("6", 1, 9)]
    (stray,) = find(pairs, status="unrequested")
    assert stray.key == "77" and stray.answer == "pong"


def test_two_peers_ask_for_the_same_object(tmp_path):
    t1, t1id = c.tx(1)
    m = c.message
    records = [
        m(0, "out", 2, "inv", c.inv((c.MSG_TX, t1id))),
        m(0, "out", 3, "inv", c.inv((c.MSG_TX, t1id))),
        m(4, "in", 3, "getdata", c.inv((c.MSG_TX, t1id))),
        m(5, "in", 2, "getdata", c.inv((c.MSG_TX, t1id))),
        m(9, "out", 2, "tx", t1),  # peer 2 first, though it asked second
        m(12, "out", 3, "tx", t1),
    ]
    pairs, _ = pairs_of(c.write(tmp_path / "two.cap", records))
    served = {p.peer_id: (p.to_request_ns // c.MS, p.wait_ns // c.MS) for p in find(pairs, status="answered")}
    assert served == {2: (5, 4), 3: (4, 8)}
    assert all(p.asked_by == "peer" for p in pairs)


def test_unanswered_until_closed_or_capture_end(tmp_path):
    m = c.message
    quiet = CLOSED_AFTER_NS // c.MS + 60_000  # peer 1 falls silent for longer than two ping intervals
    records = [
        m(0, "out", 1, "getdata", c.inv((c.MSG_TX, c.h(1)))),
        m(500, "in", 1, "inv", c.inv((c.MSG_TX, c.h(2)))),  # its last message
        m(0, "out", 2, "ping", c.nonce(1)),
        m(quiet, "in", 2, "inv", c.inv((c.MSG_TX, c.h(3)))),
    ]
    pairs, result = pairs_of(c.write(tmp_path / "u.cap", records))
    (closed,) = find(pairs, status="unanswered", peer_id=1)
    assert (closed.until, closed.wait_ns) == ("closed", 500 * c.MS)
    (open_,) = find(pairs, status="unanswered", peer_id=2)
    assert (open_.until, open_.wait_ns) == ("capture-end", quiet * c.MS)
    assert result.rtt[(c.PID, 2)].unanswered == 1
    # Without pings in the recording nothing tells a closed connection: waits run to the end.
    path = c.write(tmp_path / "typed.cap", records, {"filters": {"types": ["getdata", "inv"]}})
    pairs, result = pairs_of(path)
    assert not result.closes_inferred
    assert find(pairs, status="unanswered", peer_id=1)[0].until == "capture-end"


def test_headers_rules():
    """Tracker level, with decoded messages: headers2, an empty answer, a stop hash."""
    t = PairTracker()
    msg = lambda ms, d, cmd: c.message(ms, d, 1, cmd)
    out = []
    out += t.feed(msg(0, "out", "getheaders2"), 0, {"locator": {"have": ["aa", "bb"]}, "stop": "00"})
    out += t.feed(msg(5, "in", "headers2"), 1, {"headers": [{"prev_block": "bb", "hash": "cc"}]})
    out += t.feed(msg(10, "out", "getheaders"), 2, {"locator": {"have": ["cc"]}, "stop": "00"})
    out += t.feed(msg(12, "in", "headers"), 3, {"headers": []})  # empty: the one waiting
    out += t.feed(msg(20, "in", "getheaders"), 4, {"locator": {"have": []}, "stop": "dd"})
    out += t.feed(msg(21, "out", "headers"), 5, {"headers": [{"header": {"prev_block": "cc", "hash": "dd"}}]})
    out += t.feed(msg(30, "out", "getheaders"), 6, {"locator": {"have": ["x"]}, "stop": "00"})
    out += t.feed(msg(31, "out", "getheaders"), 7, {"locator": {"have": ["y"]}, "stop": "00"})
    out += t.feed(msg(32, "in", "headers"), 8, {"headers": []})  # two waiting: cannot tell which
    out += t.finish()
    got = [(p.request_seq, p.answer_seq, p.status) for p in out if p.rule == "getheaders"]
    assert (0, 1, "answered") in got and (2, 3, "answered") in got and (4, 5, "answered") in got
    assert (None, 8, "unrequested") in got
    assert {(6, None, "unanswered"), (7, None, "unanswered")} <= set(got)


def test_block_families_and_the_cap():
    """A getdata for a compact block is served by the cmpctblock of that hash; past
    the cap the oldest request is given up."""
    t = PairTracker(max_outstanding=2)
    msg = lambda ms, d, cmd: c.message(ms, d, 1, cmd)
    item = lambda t_, name, hash_: {"type": t_, "type_name": name, "hash": hash_}
    out = t.feed(msg(0, "out", "getdata"), 0, {"inv": [item(20, "MSG_CMPCT_BLOCK", "b1")]})
    out += t.feed(msg(1, "in", "cmpctblock"), 1, {"header": {"hash": "b1"}})
    out += t.feed(msg(2, "out", "getdata"), 2, {"inv": [item(1, "MSG_TX", h) for h in ("t1", "t2", "t3")]})
    out += t.feed(msg(3, "in", "dstx"), 3, {"tx": {"txid": "t3"}})  # a tx asked as MSG_TX, served as dstx
    assert [(p.status, p.answer) for p in out] == [
        ("answered", "cmpctblock"),
        ("dropped", None),
        ("answered", "dstx"),
    ]
    assert out[1].key == "MSG_TX t1"


def test_filters_choose_pairs_not_what_is_read(every_rule):
    path, _ = every_rule
    pairs, _ = pairs_of(path, RecordFilter(commands=frozenset({"ping"})))
    assert {(p.rule, p.status) for p in pairs} == {("ping", "answered")} and len(pairs) == 2
    pairs, _ = pairs_of(path, RecordFilter(direction="in"))  # requests the peers made
    assert {p.asked_by for p in pairs if p.request} == {"peer"}
    pairs, _ = pairs_of(path, RecordFilter(peers=("2",)))
    assert {p.peer_id for p in pairs} == {2}


def test_cli(every_rule):
    path, _ = every_rule
    result = CliRunner().invoke(main, ["pairs", str(path), "--json"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    summary = lines[-1]["summary"]
    assert {x["rule"] for x in summary["rules"]} >= {"ping", "getdata", "getheaders", "qgetdata", "mempool"}
    assert all("status" in x for x in lines[:-1]) and len(lines) > 15
    table = CliRunner().invoke(main, ["pairs", str(path)])
    assert table.exit_code == 0 and "unanswered requests (1)" in table.stdout and "qgetdata" in table.stdout
    listing = CliRunner().invoke(main, ["pairs", str(path), "--list", "--status", "notfound"])
    assert listing.exit_code == 0 and listing.stdout.count("getdata -> notfound") == 1
    bad = CliRunner().invoke(main, ["pairs", str(path), "--status", "answerd"])
    assert bad.exit_code == 2 and "answerd" in bad.output


# The sample session, and the real-node captures when samples/ holds them.
CAPTURES = [p for p in sorted((ROOT / "samples").glob("*.cap"))]
_BLOCKS = frozenset(("block", "cmpctblock", "merkleblock"))


def _items(payload: bytes) -> list[bytes]:
    """The (type, hash) items of a raw inv/getdata/notfound (counts under 253)."""
    assert payload[0] < 0xFD
    return [payload[1 + 36 * i : 37 + 36 * i] for i in range(payload[0])]


def _object_hash(answer) -> bytes:
    """Core's inventory hash of an object, from its raw bytes: X11 of a block's
    header; SerializeHash (SHA256d of the whole message) of the others
    (src/primitives/block.cpp, transaction.cpp, spork.cpp, llmq/, chainlock/)."""
    import dash_hash

    if answer.command in _BLOCKS:
        return dash_hash.getPoWHash(answer.payload[:80])
    return c.sha256d(answer.payload)


@pytest.mark.parametrize("path", CAPTURES, ids=[p.name for p in CAPTURES])
def test_every_answered_pair_against_the_raw_bytes(path):
    """Every answered pair (and notfound) of a recorded capture, checked from
    the raw payloads, independently of the decoders."""
    with open_capture(path) as reader:
        messages = [r for r in reader.records() if hasattr(r, "command")]
    pairs, _ = pairs_of(path)
    checked = set()
    for p in pairs:
        if p.status not in ("answered", "notfound", "rejected"):
            continue
        request, answer = messages[p.request_seq], messages[p.answer_seq]
        assert (request.command, answer.command) == (p.request, p.answer)
        assert (request.pid, request.peer_id) == (answer.pid, answer.peer_id) == (p.pid, p.peer_id)
        assert request.direction != answer.direction and request.ts_ns <= answer.ts_ns
        assert p.asked_by == ("us" if request.direction == "out" else "peer")
        if p.rule == "ping":
            assert request.payload == answer.payload == struct.pack("<Q", int(p.key))
        elif p.rule == "getdata" and p.status == "notfound":
            assert set(_items(answer.payload)) & set(_items(request.payload))
        elif p.rule == "getdata" and answer.command != "dstx":
            object_hash = _object_hash(answer)
            assert object_hash in {item[4:] for item in _items(request.payload)}
            assert p.key.endswith(c.shown(object_hash))
        elif p.rule == "getheaders" and answer.command == "headers":
            locator = [request.payload[5 + 32 * i : 37 + 32 * i] for i in range(request.payload[4])]
            assert answer.payload[0] == 0 or answer.payload[1 + 4 : 1 + 36] in locator  # the first prev_block
        elif p.rule == "getblocktxn":
            want = request.payload[:32]
            assert (_object_hash(answer) if answer.command == "block" else answer.payload[:32]) == want
        elif p.rule == "getmnlistd":
            assert request.payload in (
                answer.payload[:64],
                answer.payload[2:66],
            )  # after nVersion, from 70229
        elif p.rule == "qgetdata":
            assert answer.payload[:67] == request.payload[:67]
        checked.add((p.rule, answer.command))
    assert checked  # the capture has pairs to check
    if path.name == "regtest-session.cap":
        assert len([p for p in pairs if p.status == "answered"]) == 6  # getheaders2, 3 getdata items, 2 pings


def test_stats_and_the_dataset_carry_the_same_pairs(every_rule, tmp_path):
    path, _ = every_rule
    pairs, result = pairs_of(path)
    stats = CliRunner().invoke(main, ["stats", str(path), "--json", "--pairs"])
    assert stats.exit_code == 0, stats.output
    assert json.loads(stats.stdout)["pairs"] == json.loads(json.dumps(result.as_json()))
    import pyarrow.dataset as pads

    from p2pcap.analysis.dataset import export_dataset

    export_dataset([path], tmp_path / "fleet", nodes=["n1"])
    table = pads.dataset(tmp_path / "fleet" / "pairs", partitioning="hive").to_table().to_pylist()
    want = sorted((p.rule, p.status, p.key, p.wait_ns) for p in pairs if p.status != "not-requested")
    assert sorted((r["rule"], r["status"], r["key"], r["wait_ns"]) for r in table) == want
    assert {r["peer_addr"] for r in table} == {c.PEERS[1][0], c.PEERS[2][0]}
