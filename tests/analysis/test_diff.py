"""``diff``: pairs with known differences, text and JSON, exit status like diff(1)."""

from __future__ import annotations

import json
import random
import struct
import tracemalloc

import pytest
from click.testing import CliRunner

from p2pcap.analysis.diff import DEFAULT_IGNORE, Normalizer, diff_captures
from p2pcap.cli import main
from p2pcap.decoders import build, decode
from p2pcap.formats import CaptureWriter, Message

from .captures import (
    T0,
    clsig_height,
    ping_nonces,
    readdressed,
    recorded,
    renumbered,
    sample_messages,
    swapped,
    without,
    write_capture,
)


def diff(a, b, *args):
    return CliRunner().invoke(main, ["diff", str(a), str(b), *map(str, args)])


def diff_json(a, b, *args) -> list[dict]:
    result = diff(a, b, "--json", *args)
    assert result.exit_code in (0, 1), result.output
    objs = [json.loads(line) for line in result.stdout.splitlines()]
    assert objs[0]["type"] == "summary" and objs[-1]["type"] == "result"
    assert objs[-1]["exit"] == result.exit_code
    return objs


def changed_lines(text: str) -> list[str]:
    return [
        line
        for line in text.splitlines()
        if line[:1] in ("-", "+", "#") and not line.startswith(("---", "+++"))
    ]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("diff")


@pytest.fixture(scope="module")
def base(folder):
    return write_capture(folder / "a.cap", sample_messages())


def variant(folder, name, messages, **options):
    # another node, another day: pid and times differ, nonces too
    return write_capture(
        folder / f"{name}.cap", ping_nonces(messages, 12345), pid=777, t0=T0 + 86_400 * 10**9, **options
    )


def test_same_messages_exit_0(folder, base):
    same = variant(folder, "same", sample_messages())
    result = diff(base, same)
    assert result.exit_code == 0, result.output
    assert "peer-sessions: 3 matched (3 by address), 0 differ, 0 only in A, 0 only in B" in result.stdout
    assert changed_lines(result.stdout) == []


def test_one_message_missing(folder, base):
    b = variant(folder, "missing", without(sample_messages(), "isdlock"))
    result = diff(base, b)
    assert result.exit_code == 1
    assert changed_lines(result.stdout) == ["-in  isdlock      txid 7b1d8ef86da5aa31… 1 inputs"]
    assert "isdlock         in           1          0        -1" in result.stdout
    objs = diff_json(base, b)
    row = next(r for r in objs[0]["commands"] if r["command"] == "isdlock")
    assert (row["a"], row["b"], row["delta"]) == (1, 0, -1)
    hunk = next(o for o in objs if o["type"] == "hunk")
    assert [(line["op"], line["command"]) for line in hunk["lines"] if line["op"] != " "] == [
        ("-", "isdlock")
    ]
    assert hunk["lines"][0]["op"] == " " and "fields" in hunk["lines"][0]


def test_one_field_changed(folder, base):
    b = variant(folder, "changed", clsig_height(sample_messages(), 202))
    result = diff(base, b)
    assert result.exit_code == 1
    lines = changed_lines(result.stdout)
    assert lines[:3] == [
        "-in  clsig        height 201 block 4bc7948a44d6b44e…",
        "+in  clsig        height 202 block 4bc7948a44d6b44e…",
        "#   height: 201 -> 202",
    ]
    hunk = next(o for o in diff_json(base, b) if o["type"] == "hunk")
    plus = next(line for line in hunk["lines"] if line["op"] == "+")
    assert {"path": "height", "a": 201, "b": 202} in plus["changes"]


def test_reordered_messages(folder, base):
    b = variant(folder, "reordered", swapped(sample_messages(), "tx"))
    result = diff(base, b)
    assert result.exit_code == 1
    lines = changed_lines(result.stdout)
    assert len(lines) == 2 and lines[0][0] != lines[1][0]
    assert lines[0][1:] == lines[1][1:]  # the same message, moved
    objs = diff_json(base, b)
    assert all(r["delta"] == 0 for r in objs[0]["commands"])  # counts alike, order not


def test_renumbered_peer_is_the_same_peer(folder, base):
    b = variant(folder, "renumbered", renumbered(sample_messages(), 2, 9))
    assert diff(base, b).exit_code == 0


def test_readdressed_peer_needs_a_peer_map(folder, base):
    b = variant(
        folder, "readdressed", readdressed(renumbered(sample_messages(), 2, 5), 5, "seed.example.org:9999")
    )
    result = diff(base, b)
    assert result.exit_code == 1
    assert "Only in" in result.stdout and "1 only in A, 1 only in B" in result.stdout
    assert diff(base, b, "--peer-map", "2=5").exit_code == 0
    assert diff(base, b, "--peer-map", "4242:2=777:5").exit_code == 0
    objs = diff_json(base, b)
    sessions = [o for o in objs if o["type"] == "session"]
    assert {(s["a"] is None, s["b"] is None) for s in sessions} == {(False, True), (True, False)}


def test_ignore_adds_fields(folder, base):
    def taller(messages):
        out = []
        for m in messages:
            if m[4] == "version":
                d = decode("version", m[5])
                d["starting_height"] += 1
                m = (*m[:5], build("version", d))
            out.append(m)
        return out

    b = variant(folder, "taller", taller(sample_messages()))
    assert diff(base, b).exit_code == 1
    assert diff(base, b, "--ignore", "starting_height").exit_code == 0
    assert diff(base, b, "--not-type", "version").exit_code == 0


def test_context(folder, base):
    b = variant(folder, "ctx", without(sample_messages(), "isdlock"))
    for n in (0, 1, 5):
        text = diff(base, b, "-U", n).stdout
        body = text[text.index("@@") :].splitlines()[1:]
        assert sum(1 for line in body if line.startswith(" ")) == 2 * n


def test_trouble_exits_2(folder, base, tmp_path):
    junk = tmp_path / "junk.cap"
    junk.write_bytes(b"not a capture at all")
    result = diff(base, junk)
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert diff(base, tmp_path / "missing.cap").exit_code == 2
    assert diff(base, base, "--peer-map", "x").exit_code == 2


def test_recorded_pair(tmp_path_factory, ebpf, standin):
    """Recorded from the stand-in node: the isdlock missing, the clsig changed,
    peer 2 renumbered 9, other ping nonces; only the first two show."""
    rec = recorded(tmp_path_factory, standin)
    result = diff(rec["base"], rec["variant"])
    assert result.exit_code == 1, result.output
    lines = changed_lines(result.stdout)
    assert lines[0].startswith("-in  isdlock")
    assert "#   height: 201 -> 202" in lines
    assert "3 matched (3 by address)" in result.stdout
    objs = diff_json(rec["base"], rec["variant"])
    assert [o["a"]["peer_id"] for o in objs if o["type"] == "session"] == [0]
    assert diff(rec["base"], rec["base"]).exit_code == 0


def test_bounded_memory(tmp_path):
    """Memory follows the message count (16 bytes each), not the payload bytes."""
    n = 5_000
    paths = []
    for name, drop in (("big-a", None), ("big-b", 3_777)):
        path = tmp_path / f"{name}.cap"
        with CaptureWriter(path, {}) as w:
            for i in range(n):
                if i != drop:  # 4 kB payloads of a command no decoder knows: 20 MB in all
                    # (a quarter of each random: within the reader's expansion budget, docs/FORMAT.md)
                    payload = random.Random(i).randbytes(1024) + bytes(3072)
                    w.write(
                        Message(
                            T0 + i,
                            1,
                            i % 4,
                            f"10.0.0.{i % 4}:9999",
                            "inbound",
                            "in",
                            "xblob",
                            len(payload),
                            payload,
                        )
                    )
        paths.append(path)
    tracemalloc.start()
    try:
        res = diff_captures(*paths)
        peak = tracemalloc.get_traced_memory()[1]
        assert res.different and sum(len(s.hunks) for s in res.sessions) == 1
        res.close()
    finally:
        tracemalloc.stop()
    assert peak < 8 * 1024 * 1024, peak


def _dsq(time: int) -> bytes:
    return struct.pack("<i32sqBB", 16, bytes(range(32)), time, 1, 96) + bytes(96)


def _headers(time: int) -> bytes:
    return (
        b"\x01"
        + struct.pack("<i32s32sIII", 0x20000000, bytes(32), bytes(range(32)), time, 0x1E0FFFF0, 7)
        + b"\x00"
    )


def test_an_ignored_time_under_a_shown_hash_still_tells_messages_apart(folder):
    """A dsq's nTime and a header's are ignored fields, but each lies in bytes the
    decoded form shows a hash of: a message with another time is another message
    (and such commands are compared by their bytes, undecoded)."""
    peer = ("in", 1, "10.0.0.1:9999", "inbound")
    a = write_capture(folder / "timed-a.cap", [(*peer, "dsq", _dsq(5)), (*peer, "headers", _headers(1))])
    b = write_capture(folder / "timed-b.cap", [(*peer, "dsq", _dsq(6)), (*peer, "headers", _headers(2))])
    result = diff(a, b)
    assert result.exit_code == 1
    assert sum(line.startswith("-in  dsq") for line in changed_lines(result.stdout)) == 1
    assert sum(line.startswith("-in  headers") for line in changed_lines(result.stdout)) == 1
    norm = Normalizer()
    assert norm.raw_comparable("dsq") and norm.raw_comparable("headers")
    assert not Normalizer((*DEFAULT_IGNORE, "hash")).raw_comparable("dsq")  # the hash ignored too
    assert not norm.raw_comparable("version")  # its timestamp and nonce are under no hash


def test_pings_compare_by_whether_they_decode(folder):
    """A ping holds only its (ignored) nonce: any two that decode are alike,
    and one that does not decode is compared by its bytes."""
    peer = ("out", 1, "10.0.0.1:9999", "inbound")
    a = write_capture(
        folder / "pings-a.cap",
        [(*peer, "ping", bytes(8)), (*peer, "ping", b"\x01" * 7), (*peer, "pong", bytes(8))],
    )
    b = write_capture(
        folder / "pings-b.cap",
        [(*peer, "ping", b"\xff" * 8), (*peer, "ping", b"\x02" * 7), (*peer, "pong", b"\x05" * 8)],
    )
    result = diff(a, b)
    assert result.exit_code == 1
    lines = changed_lines(result.stdout)
    assert [line[:9] for line in lines if line[0] in "-+"] == ["-out ping", "+out ping"], lines
    assert Normalizer().nothing_compared("ping") and not Normalizer().nothing_compared("clsig")
    same = write_capture(folder / "pings-c.cap", [(*peer, "ping", b"\x07" * 8), (*peer, "ping", b"\x01" * 7)])
    assert (
        diff(
            write_capture(folder / "pings-d.cap", [(*peer, "ping", bytes(8)), (*peer, "ping", b"\x01" * 7)]),
            same,
        ).exit_code
        == 0
    )
