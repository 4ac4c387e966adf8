"""A capture with every command for the display-filter tests, and its decoded JSON.

Every known-good payload of the decoder tests (tests/decoders/tables.py:
each module's table, at the protocol version it is decoded at, and the
vectors at the newest) is written once, each on the peer-session whose
``version`` handshake gave that version, so version-dependent fields are
there and missing by turns.  Around them: the sample session, a command
no definition knows, a payload that does not decode, one cut by a snap
length and a gap record.  ``messages(path)`` lists the JSON objects
``show --json`` prints for it, unfiltered: what the oracle predicates of
the tests read.
"""

from __future__ import annotations

import json
from pathlib import Path

from p2pcap.analysis.vocabulary import CONN_TYPES
from p2pcap.decoders.versions import PROTOCOL_VERSION
from p2pcap.formats import CaptureWriter, Gap, Message

from .analysis.captures import sample_messages
from .decoders.tables import CASES, VECTORS

T0 = 1_800_000_000_000_000_000  # 2027-01-15 08:00:00 UTC
STEP = 50_000_000  # 0.05 s between records
PID = 7000


def _version_payload(version: int) -> bytes:
    sample = next(p for d, _i, _a, _c, command, p in sample_messages() if command == "version")
    return version.to_bytes(4, "little") + sample[4:]


def _peer(version: int, order: list) -> int:
    if version not in order:
        order.append(version)
    return order.index(version) + 10


def records() -> list:
    """The records, in file order (see the module doc)."""
    payloads = [(c.command, bytes.fromhex(c.payload), c.version or PROTOCOL_VERSION) for c in CASES]
    payloads += [(command, payload, PROTOCOL_VERSION) for command, payload in VECTORS]
    out: list = []
    ts = T0

    def add(peer, addr, conn, direction, command, payload, msg_size=None, pid=PID):
        nonlocal ts
        size = len(payload) if msg_size is None else msg_size
        out.append(Message(ts, pid, peer, addr, conn, direction, command, size, payload))
        ts += STEP

    for direction, peer, addr, conn, command, payload in sample_messages():
        add(peer, addr, conn, direction, command, payload)
    order: list = []
    for version in sorted({v for _c, _p, v in payloads}):
        peer = _peer(version, order)
        for direction in ("out", "in"):
            add(peer, _address(peer), _conn(peer), direction, "version", _version_payload(version))
    for i, (command, payload, version) in enumerate(payloads):
        peer = _peer(version, order)
        add(peer, _address(peer), _conn(peer), "in" if i % 3 else "out", command, payload)
        if i == 40:
            out.append(Gap(ts, PID, 1, 3, 300))
            ts += STEP
    peer = _peer(PROTOCOL_VERSION, order)
    add(peer, _address(peer), _conn(peer), "in", "foobar", b"\x01\x02\x03")  # no definition
    add(peer, _address(peer), _conn(peer), "in", "clsig", b"\x01\x02")  # does not decode
    tx = next(p for c, p, _v in payloads if c == "tx")
    add(peer, _address(peer), _conn(peer), "out", "tx", tx[:20], msg_size=len(tx))  # --snaplen 20
    add(3, "10.9.9.9:9999", "inbound", "in", "ping", bytes(8), pid=PID + 1)  # another process
    return out


def _address(peer: int) -> str:
    if peer % 3 == 1:
        return f"[2001:db8::{peer}]:9999"
    if peer % 3 == 2:
        return f"node{peer}.example.org:9999"
    return f"10.0.0.{peer}:9999"


def _conn(peer: int) -> str:
    return CONN_TYPES[peer % (len(CONN_TYPES) - 1)]


def write(path: Path) -> Path:
    with CaptureWriter(path, {"network": "regtest", "host": "dfilter.example"}, block_size=4096) as w:
        for record in records():
            w.write(record)
    return path


def messages(path: Path) -> list[dict]:
    """The JSON objects of ``show --json`` of every message (gaps left out), in order."""
    from p2pcap.cli.show import show_capture

    lines: list[str] = []
    show_capture(path, json_lines=True, out=lines.append, warn=lambda _p: None)
    objects = [json.loads(line) for line in lines]
    return [o for o in objects if not o.get("gap")]
