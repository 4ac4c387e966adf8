"""show's fast paths print what the general path prints, byte for byte.

The fast paths: the C listing of a block (formats/_blockwalk.c, ``show -n``),
the JSON lines put together from parts (``render.MessageLines``) and the
decoders' struct parsers (``decoders/fastpaths.py``, compared with the
constructs in tests/decoders/test_fastpaths.py).  ``P2PCAP_GENERAL=1``
sets them aside; every command line here runs both ways on the same
capture and the outputs must be equal.  The captures hold what a fast path
could get wrong: malformed and snapped payloads, gaps of every reason,
peers and commands with odd names, rows longer than 80 columns, several
blocks, and a capture recorded from the stand-in node through real uprobes.
"""

from __future__ import annotations

import os
import random
import struct
import subprocess

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from p2pcap.cli import main
from p2pcap.cli.render import MessageLines, Renderer, json_line, set_page_width
from p2pcap.formats import CaptureWriter, Gap, Message, _blockwalk
from p2pcap.formats.accelerators import GENERAL_ENV
from p2pcap.formats.block import BlockBuilder, decode_block
from p2pcap.formats.jsonl import NOT_DECODED, message_object
from p2pcap.formats.records import GAP_REASONS
from p2pcap.units import iso

from ..conftest import p2pcap_cmd
from .captures import T0, recorded

# The ordinary install builds the C listing (setup.py): a missing one fails here, not skips.
listing = _blockwalk.listing

PEERS = [
    (4242, 0, "10.0.0.1:9999", "inbound"),
    (4242, 1, "[2001:db8::7]:9999", "outbound-full-relay"),
    (4242, 2, "10.0.0.3:19999", "block-relay-only"),
    (4242, -3, 'a"b\\c:1', "manual"),  # quotes and backslashes for the JSON lines
    (4243, 7, "café.example:9999", "inbound"),  # non-ASCII address
    (4243, 123456789, "10.0.0.9:9999", "feeler"),
]


def _inv(n: int, rng: random.Random) -> bytes:
    return bytes([n]) + b"".join(
        struct.pack("<I", rng.choice((1, 2, 20, 29, 99))) + rng.randbytes(32) for _ in range(n)
    )


def _tx(rng: random.Random) -> bytes:
    """A well-formed transaction: a <sig> <pubkey> spend, a P2PKH and a P2SH output."""
    sig = b"\x30\x44\x02\x20" + rng.randbytes(32) + b"\x02\x20" + rng.randbytes(32) + b"\x01"
    sig = sig[:4] + bytes([sig[4] & 0x7F]) + sig[5:38] + bytes([sig[38] & 0x7F]) + sig[39:]  # strict DER
    script_sig = bytes([len(sig)]) + sig + b"\x21\x02" + rng.randbytes(32)
    p2pkh = b"\x76\xa9\x14" + rng.randbytes(20) + b"\x88\xac"
    p2sh = b"\xa9\x14" + rng.randbytes(20) + b"\x87"
    return (
        struct.pack("<hHB", 2, 0, 1)
        + rng.randbytes(32)
        + struct.pack("<IB", rng.randrange(4), len(script_sig))
        + script_sig
        + b"\xff\xff\xff\xff\x02"
        + struct.pack("<qB", rng.randrange(10**10), len(p2pkh))
        + p2pkh
        + struct.pack("<qB", rng.randrange(10**10), len(p2sh))
        + p2sh
        + bytes(4)
    )


def generated_messages(seed: int, count: int = 3000) -> list:
    """A mix over six peer-sessions, with what a fast path could get wrong."""
    rng = random.Random(seed)
    version = struct.pack("<iQq", 70238, 5, 1_700_000_000) + bytes(60)
    out = []
    ts = T0
    for pid, peer, addr, conn in PEERS:
        for direction in ("in", "out"):
            out.append(Message(ts, pid, peer, addr, conn, direction, "version", len(version), version))
            ts += 1000
    for _ in range(count):
        ts += rng.choice((1, 999, 250_000, 400_000_000))  # several per second, and seconds apart
        pid, peer, addr, conn = rng.choice(PEERS)
        direction = rng.choice(("in", "out"))
        kind = rng.random()
        if kind < 0.40:
            command, payload = "inv", _inv(rng.randint(1, 5), rng)
        elif kind < 0.50:
            command, payload = "getdata", _inv(1, rng)
        elif kind < 0.58:
            command, payload = "ping", rng.randbytes(8)
        elif kind < 0.62:
            command, payload = "pong", rng.randbytes(rng.choice((7, 8, 9)))  # some malformed
        elif kind < 0.66:
            command, payload = "tx", rng.randbytes(rng.randint(0, 300))  # malformed, mostly
        elif kind < 0.70:
            command, payload = "tx", _tx(rng)
        elif kind < 0.74:
            command, payload = "inv", _inv(3, rng)[: rng.randint(0, 100)]  # cut: malformed
        elif kind < 0.78:
            command, payload = "clsig", rng.randbytes(132)
        elif kind < 0.81:
            command, payload = "averyveryverylongcommandname" * 3, rng.randbytes(5)  # a row past 80 columns
        elif kind < 0.83:
            command, payload = "zählen", b"\x01"  # a non-ASCII command: the C listing declines the block
        elif kind < 0.86:
            command, payload = "nosuchcmd", rng.randbytes(3)
        elif kind < 0.88:
            command, payload = "headers", b"\x00"
        elif kind < 0.91:  # an isdlock of one input: version, count, outpoint, txid, cycleHash, sig
            command, payload = "isdlock", b"\x01\x01" + rng.randbytes(36 + 160)
        elif kind < 0.94:
            command, payload = "qsigshare", b"\x01" + rng.randbytes(195)
        elif kind < 0.97:  # nDenom, proTxHash, nTime, fReady, vchSig
            command, payload = "dsq", rng.randbytes(45) + b"\x60" + rng.randbytes(96)
        else:  # one announcement: a one-byte VarInt session id, then 97 bytes
            command, payload = "qsigsesann", b"\x01" + bytes([rng.randrange(128)]) + rng.randbytes(97)
        msg_size = len(payload)
        if rng.random() < 0.05:  # snapped: fewer bytes kept than the node sent
            msg_size += rng.randint(1, 70_000)
        out.append(
            Message(ts, pid, peer, addr, conn, direction, command, msg_size, payload, rng.choice((0, 0, 1)))
        )
        if rng.random() < 0.01:
            reason = rng.choice((*GAP_REASONS, 99))
            out.append(Gap(ts, rng.choice((0, 4242)), reason, rng.randint(1, 1000), rng.randint(0, 1 << 40)))
    return out


def over_limit_messages(ts: int) -> list:
    """Messages just past Dash Core's limits (decoders/*.py, limits.Limit):
    the general way names the error, a fast path must decline, never write
    them.  A notfound past MAX_INV_SZ decodes (it has no such limit) though
    the C writer, which keeps one bound for the three inventories, declines."""
    rng = random.Random(22)
    entries = 50_001
    inventory = b"\xfd" + struct.pack("<H", entries) + rng.randbytes(36 * entries)
    scripts = [62_000] * 16 + [7_804]  # a transaction of 1,000,001 bytes (MAX_LEGACY_BLOCK_SIZE + 1)
    outputs = b"".join(bytes(8) + b"\xfd" + struct.pack("<H", n) + rng.randbytes(n) for n in scripts)
    payloads = [
        ("inv", inventory),
        ("notfound", inventory),
        ("tx", b"\x01\x00\x00\x00\x00\x11" + outputs + bytes(4)),
        ("qsigshare", bytes([33]) + rng.randbytes(195 * 33)),  # MAX_MSGS_SIG_SHARES + 1
        ("qsigsesann", bytes([101]) + (b"\x01" + rng.randbytes(97)) * 101),  # MAX_MSGS_CNT_QSIGSESANN + 1
    ]
    pid, peer, addr, conn = PEERS[0]
    return [
        Message(ts + i, pid, peer, addr, conn, "in", command, len(payload), payload)
        for i, (command, payload) in enumerate(payloads)
    ]


def write(path, records, *, block_size: int = 64 << 10):
    with CaptureWriter(path, {"network": "mainnet"}, block_size=block_size) as w:
        for r in records:
            w.write(r)
    return path


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("fast")
    records = generated_messages(1)
    mixed = write(tmp / "mixed.cap", records + over_limit_messages(records[-1].ts_ns + 1))
    # A capture whose blocks hold only ASCII names: the C listing renders every block.
    ascii_only = [
        r for r in generated_messages(2) if type(r) is Gap or (r.command.isascii() and r.peer_addr.isascii())
    ]
    ascii_only += over_limit_messages(ascii_only[-1].ts_ns + 1)
    return {"mixed": mixed, "ascii": write(tmp / "ascii.cap", ascii_only)}


def show(args, monkeypatch, *, general: bool, input=None) -> tuple[int, bytes, bytes]:
    if general:
        monkeypatch.setenv(GENERAL_ENV, "1")
    else:
        monkeypatch.delenv(GENERAL_ENV, raising=False)
    result = CliRunner().invoke(main, ["show", *map(str, args)], input=input)
    return result.exit_code, result.stdout_bytes, result.stderr_bytes


ARGS = [
    ["-n"],
    ["--type", "inv", "-n"],
    ["--type", "inv,ping,getsporks", "-n"],  # getsporks: known, never sent ("zählen" is refused)
    ["--since", "+1s", "--until", "+30s", "-n"],
    ["--since", iso(T0 + 2_000_000_000), "-n"],
    ["--not-type", "inv", "-n"],  # tested per record: the general loop, with the fast JSON/rows beside
    ["--json"],
    ["-n", "--json"],
    ["--type", "inv", "--json"],
    ["--json", "-x"],
    ["--direction", "in", "--json"],
    [],
    ["-c", "50", "-n"],
]


@pytest.mark.parametrize("name", ["mixed", "ascii"])
@pytest.mark.parametrize("args", ARGS, ids=" ".join)
def test_fast_and_general_paths_print_the_same(generated, monkeypatch, name, args):
    path = generated[name]
    fast = show([path, *args], monkeypatch, general=False)
    general = show([path, *args], monkeypatch, general=True)
    assert fast[0] == general[0] == 0
    assert fast[1] == general[1]
    assert fast[1].count(b"\n") > 20  # the command printed something to compare


def test_through_a_pipe_too(generated, monkeypatch):
    data = generated["mixed"].read_bytes()
    for args in (["-", "-n"], ["-", "--type", "inv", "--json"]):
        fast = show(args, monkeypatch, general=False, input=data)
        general = show(args, monkeypatch, general=True, input=data)
        assert fast == general and fast[0] == 0


def test_damaged_and_unclosed_captures(generated, tmp_path, monkeypatch):
    data = bytearray(generated["ascii"].read_bytes())
    data[len(data) // 3] ^= 0xFF  # a block's checksum no longer matches
    damaged = tmp_path / "damaged.cap"
    damaged.write_bytes(bytes(data))
    unclosed = tmp_path / "unclosed.cap"
    unclosed.write_bytes(bytes(generated["ascii"].read_bytes()[: len(data) * 2 // 3]))
    for path in (damaged, unclosed):
        for args in (["-n"], ["--type", "inv", "-n"], ["--json"]):
            fast = show([path, *args], monkeypatch, general=False)
            general = show([path, *args], monkeypatch, general=True)
            assert fast == general
            assert fast[0] == 1 and b"p2pcap: " in fast[2]


def test_a_recorded_capture(tmp_path_factory, ebpf, standin, monkeypatch):
    rec = recorded(tmp_path_factory, standin)["base"]
    for args in (["-n"], ["--json"], ["-n", "--json"], ["--type", "inv", "-n"]):
        fast = show([rec, *args], monkeypatch, general=False)
        general = show([rec, *args], monkeypatch, general=True)
        assert fast == general and fast[0] == 0


def test_a_separate_process_too(generated):
    """``python -m p2pcap``, as a user runs it, not only the in-process CLI."""
    command = p2pcap_cmd("show", str(generated["ascii"]), "-n")
    fast = subprocess.run(command, capture_output=True, check=True).stdout
    general = subprocess.run(command, capture_output=True, check=True, env={**os.environ, GENERAL_ENV: "1"})
    assert fast == general.stdout and fast.count(b"\n") > 1000


# -- the C listing, block by block -------------------------------------------------------------
@pytest.fixture(autouse=True)
def eighty_columns():
    """The renderer's rows and the C listing's both cut to 80 columns here
    (a CLI test run before, in this process, may have left another page width)."""
    set_page_width(80)
    yield
    set_page_width(80)


def rows(records) -> str:
    r = Renderer()
    return "\n".join(r.render(rec) for rec in records)


def body(records) -> tuple[bytes, int]:
    b = BlockBuilder()
    for rec in records:
        b.add(rec)
    content = b.finish()
    return bytes(content.raw), content.records


def test_listing_renders_a_block_as_the_renderer_does():
    records = [r for r in generated_messages(3, 400) if type(r) is Gap or r.command.isascii()]
    raw, count = body(records)
    text, shown = listing(raw, count, None, None, None, True, GAP_REASONS, 80)
    assert text == rows(records)
    assert shown == sum(type(r) is Message for r in records)
    for commands, since, until, gaps in (
        ({"inv"}, None, None, True),
        ({"ping", "tx"}, T0 + 10**9, None, False),
        (None, -5, 1 << 70, True),
        (None, 1 << 70, None, True),
        (None, None, -1, True),
        (set(), None, None, True),
    ):
        kept = decode_block(raw, count, commands=commands, since_ns=since, until_ns=until, gaps=gaps)
        assert listing(raw, count, commands, since, until, gaps, GAP_REASONS, 80)[0] == rows(kept)


def test_listing_declines_what_it_would_have_to_decode():
    msg = Message(T0, 1, 2, "x:1", "inbound", "in", "zählen", 1, b"\x01")
    raw, count = body([msg])
    assert listing(raw, count, None, None, None, True, GAP_REASONS, 80) is None
    raw, count = body([Message(T0, 1, 2, "x:1", "inbound", "in", "a\x00b", 1, b"\x01")])
    assert listing(raw, count, None, None, None, True, GAP_REASONS, 80) is None


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32),
    edits=st.lists(st.tuples(st.integers(0, 1 << 16), st.integers(0, 255)), max_size=4),
    cut=st.integers(0, 1 << 16),
    count_delta=st.sampled_from((0, 0, 0, 1, -1)),
    commands=st.sampled_from((None, {"inv"}, {"ping", "tx"})),
)
def test_listing_on_damaged_bodies_agrees_or_declines(seed, edits, cut, count_delta, commands):
    """Random bytes flipped, a body cut short, a wrong record count: the C
    listing gives the rows decode_block's records render to, or None; never
    rows where decode_block raises."""
    records = [r for r in generated_messages(seed, 30) if type(r) is Gap or r.command.isascii()]
    raw, count = body(records)
    data = bytearray(raw)
    for pos, value in edits:
        if data:
            data[pos % len(data)] = value
    data = bytes(data[: len(data) - cut % (len(data) + 1)] if cut % 3 == 0 else data)
    count += count_delta
    made = listing(data, count, commands, None, None, True, GAP_REASONS, 80)
    try:
        kept = decode_block(data, count, commands=commands)
    except Exception:  # CorruptBlock: the general path names it
        assert made is None
        return
    if made is not None:
        assert made[0] == rows(kept)


# -- the JSON lines, put together from parts ----------------------------------------------------
names = st.text(
    st.characters(blacklist_categories=()), max_size=12
)  # any code point, lone surrogates included
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(1 << 70), 1 << 70) | st.text(max_size=8) | names,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=400, deadline=None)
@given(
    ts=st.integers(0, (1 << 64) - 1),
    pid=st.integers(0, (1 << 32) - 1),
    peer=st.integers(-(1 << 63), (1 << 63) - 1),
    addr=names,
    conn=names,
    direction=st.sampled_from(("in", "out")),
    command=names,
    payload=st.binary(max_size=20),
    extra=st.integers(0, 10),
    flags=st.integers(0, 0xFFFF),
    decoded=st.just(NOT_DECODED) | json_values,
    error=st.none() | names,
    version=st.none()
    | st.tuples(st.integers(-(1 << 31), 1 << 31), st.sampled_from(("negotiated", "assumed", "given"))),
    payload_hex=st.booleans(),
)
def test_message_lines_are_the_general_json(
    ts, pid, peer, addr, conn, direction, command, payload, extra, flags, decoded, error, version, payload_hex
):
    msg = Message(ts, pid, peer, addr, conn, direction, command, len(payload) + extra, payload, flags)
    line = MessageLines(payload_hex).line(msg, decoded, error, version)
    try:
        expected = json_line(
            message_object(
                msg,
                iso(ts),
                decoded=decoded,
                error=error,
                version=version,
                payload_hex=payload_hex,
                kind=False,
            )
        )
    except (TypeError, ValueError):  # beyond what either path can print (e.g. surrogates in a key)
        assert line is None
        return
    assert line is None or line == expected


# -- diff: the C walker's first pass against the per-record one --------------------------------
def diff(args, monkeypatch, *, general: bool) -> tuple[int, bytes]:
    if general:
        monkeypatch.setenv(GENERAL_ENV, "1")
    else:
        monkeypatch.delenv(GENERAL_ENV, raising=False)
    result = CliRunner().invoke(main, ["diff", *map(str, args)])
    return result.exit_code, result.stdout_bytes


@pytest.fixture(scope="module")
def changed(generated, tmp_path_factory):
    """The mixed capture with messages dropped, payloads changed and a ping's nonce changed."""
    records = generated_messages(1)
    rng = random.Random(5)
    for i in sorted(rng.sample(range(100, len(records) - 100), 4), reverse=True):
        del records[i]
    for i in rng.sample([i for i, r in enumerate(records) if type(r) is Message and r.command == "inv"], 3):
        r = records[i]
        records[i] = Message(
            *(getattr(r, f) for f in ("ts_ns", "pid", "peer_id", "peer_addr", "conn_type")),
            r.direction,
            r.command,
            r.msg_size,
            r.payload[:-1] + b"\x00",
            r.flags,
        )
    return write(tmp_path_factory.mktemp("changed") / "changed.cap", records, block_size=32 << 10)


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["--json"],
        ["--since", "+1s", "--until", "+200s"],
        ["--type", "inv"],
        ["--direction", "in"],
        ["-U", "0"],
    ],
    ids=" ".join,
)
def test_diff_fast_and_general_print_the_same(generated, changed, monkeypatch, args):
    for a, b in ((generated["mixed"], changed), (changed, generated["mixed"]), (generated["ascii"], changed)):
        fast = diff([a, b, *args], monkeypatch, general=False)
        general = diff([a, b, *args], monkeypatch, general=True)
        assert fast == general
        assert fast[0] == 1 and fast[1].count(b"\n") > 5  # the captures differ, and diff says how


def test_diff_of_a_damaged_capture(generated, tmp_path, monkeypatch):
    data = bytearray(generated["mixed"].read_bytes())
    data[len(data) // 2] ^= 0xFF
    damaged = tmp_path / "damaged.cap"
    damaged.write_bytes(bytes(data))
    fast = diff([generated["mixed"], damaged], monkeypatch, general=False)
    general = diff([generated["mixed"], damaged], monkeypatch, general=True)
    assert fast == general and fast[0] == 2


def scan_by_records(raw: bytes, count: int, since=None, until=None) -> tuple:
    """What ``fingerprints`` gives for a block, from decode_block's records (all commands raw)."""
    from p2pcap.analysis.diff import raw_fingerprint

    sessions: dict = {}
    keys = []
    kept = 0
    for rec in decode_block(raw, count, since_ns=since, until_ns=until):
        if type(rec) is not Message:
            continue
        key = (rec.pid, rec.peer_id, rec.peer_addr, rec.conn_type)
        if key not in sessions:
            sessions[key] = []
            keys.append(key)
        sessions[key].append((raw_fingerprint(rec), 1000 + kept))
        kept += 1
    return keys, sessions, kept


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32),
    edits=st.lists(st.tuples(st.integers(0, 1 << 16), st.integers(0, 255)), max_size=3),
    since=st.none() | st.integers(T0, T0 + 5 * 10**9),
)
def test_fingerprints_agree_with_the_records_or_decline(seed, edits, since):
    from array import array

    records = generated_messages(seed, 30)
    raw, count = body(records)
    data = bytearray(raw)
    for pos, value in edits:
        data[pos % len(data)] = value
    data = bytes(data)
    made = _blockwalk.fingerprints(data, count, lambda name: True, since, None, 1000)
    try:
        keys, expected, kept = scan_by_records(data, count, since)
    except Exception:  # CorruptBlock: the general path names it
        assert made is None
        return
    if made is None:
        return
    peers, names, sessions, pending, counts, ts_min, ts_max, gaps, messages = made
    assert pending == [] and messages == kept
    assert [peers[pref] for pref in sessions] == keys
    for pref, (_first, fps, ords) in sessions.items():
        got = list(zip(array("Q", fps), array("Q", ords)))
        assert got == expected[peers[pref]]
