"""End to end through real uprobes: stand-in node -> p2pcap record -> show.

Every message comes back in order, byte-exact, with its metadata, and the
recorder reports zero losses.  Needs root and BCC (see conftest.ebpf).
"""

from __future__ import annotations

import os
import random

import pytest

from .live import record_standin, show_json, write_messages

pytestmark = pytest.mark.ebpf

SKELETON_COMMANDS = [
    "version",
    "verack",
    "ping",
    "pong",
    "inv",
    "getdata",
    "notfound",
    "addr",
    "addrv2",
    "sendaddrv2",
    "getheaders",
    "headers",
    "sendheaders",
    "sendcmpct",
    "feefilter",
    "tx",
    "block",
]
PEERS = [
    (0, "127.0.0.1:19899", "outbound-full-relay"),
    (1, "[2001:db8::1]:51234", "inbound"),
    (7, "a-rather-long-seed-node-host-name.with.many.labels.p2pcap-tests.example.org:19999", "manual"),
]


def known_good_payloads() -> dict[str, bytes]:
    """One hand-assembled payload per command, from the decoder test tables."""
    from ..decoders.tables import VECTORS

    found: dict[str, bytes] = {}
    for command, payload in VECTORS:
        found.setdefault(command, payload)
    return found


@pytest.fixture(scope="module")
def session(tmp_path_factory, ebpf, standin):
    rng = random.Random(7)
    payloads = known_good_payloads()
    messages = []
    for i, command in enumerate(SKELETON_COMMANDS):
        peer, addr, conn = PEERS[i % len(PEERS)]
        messages.append(("in" if i % 2 else "out", peer, addr, conn, command, payloads[command]))
    # Large messages: cut at 32 KiB by the stock scripts; whole here.
    for size, peer in ((40_000, 0), (2 * 1024 * 1024, 1), (3 * 1024 * 1024, 7)):
        peer_id, addr, conn = next(p for p in PEERS if p[0] == peer)
        messages.append(("in", peer_id, addr, conn, "block", rng.randbytes(size)))
    messages.append(("out", 0, PEERS[0][1], PEERS[0][2], "ping", bytes(8)))
    tmp = tmp_path_factory.mktemp("e2e")
    msgs = tmp / "session.msgs"
    write_messages(msgs, messages)
    capture = tmp / "run.cap"
    recorder, node_out = record_standin(standin, msgs, capture)
    return messages, capture, recorder, node_out


def test_recorder_exits_cleanly_and_reports_no_loss(session):
    messages, _, recorder, node_out = session
    assert recorder.returncode == 0, recorder.stderr
    assert node_out.startswith(f"replayed {len(messages)} messages")
    summary = recorder.stderr.strip().splitlines()[-1]
    assert summary.startswith(f"{len(messages)} messages, ")
    assert summary.endswith(", 0 lost")


def test_every_message_back_in_order_byte_exact(session):
    messages, capture, recorder, _ = session
    shown = show_json(capture)
    assert len(shown) == len(messages)
    pids = {obj["pid"] for obj in shown}
    assert len(pids) == 1 and pids != {0}
    for sent, got in zip(messages, shown):
        direction, peer, addr, conn, command, payload = sent
        assert (got["direction"], got["peer_id"], got["peer_addr"], got["conn_type"], got["command"]) == (
            direction,
            peer,
            addr,
            conn,
            command,
        )
        assert got["msg_size"] == got["captured_len"] == len(payload)
        assert got["payload_hex"] == payload.hex()
        assert got["flags"] == 0
    stamps = [obj["ts_ns"] for obj in shown]
    assert stamps == sorted(stamps)


def test_known_commands_decode(session):
    messages, capture, _, _ = session
    for got in show_json(capture, "--type", ",".join(SKELETON_COMMANDS[:-1]) + ",tx"):
        assert got["error"] is None, got
        assert isinstance(got["decoded"], dict)


def test_type_filter_and_direction(session):
    messages, capture, _, _ = session
    inbound_blocks = show_json(capture, "--type", "block", "--direction", "in")
    expected = [m for m in messages if m[4] == "block" and m[0] == "in"]
    assert [o["msg_size"] for o in inbound_blocks] == [len(m[5]) for m in expected]


def test_wall_clock_timestamps(session):
    _, capture, _, _ = session
    stamps = [obj["ts_ns"] for obj in show_json(capture)]
    now = os.stat(capture).st_mtime_ns
    assert all(now - 600 * 10**9 < ts <= now for ts in stamps)
