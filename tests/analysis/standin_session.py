"""One session recorded from the stand-in node, shared by the export,
import and replay tests (recording costs a BPF compile: do it once).

The messages are assembled by hand from Dash Core's serializers
(src/protocol.h, src/net_processing.cpp PushNodeVersion); three
peers cover an IPv4 address, an IPv6 address and a host name, and one
message is larger than Wireshark's 256 KiB packet limit.
"""

from __future__ import annotations

import json
import random
import subprocess
from dataclasses import dataclass
from pathlib import Path

from p2pcap.formats import open_capture
from p2pcap.formats.v1 import NETWORK_MAGICS, canonical_network

from ..capture.live import record_standin, write_messages
from ..conftest import p2pcap_cmd

PEER0 = (0, "127.0.0.1:19899", "outbound-full-relay")
PEER1 = (1, "[2001:db8::1]:51234", "inbound")
PEER7 = (7, "seed.example.org:19999", "manual")


def version_payload(height: int, agent: str) -> bytes:
    return (
        bytes.fromhex(
            "5e120100"  # version: i32 70238
            "0500000000000000"  # services: NODE_NETWORK | NODE_BLOOM
            "00f1536500000000"  # time: i64 1700000000
            "0000000000000000"  # addr_recv.services
            "00000000000000000000ffff7f000001"  # addr_recv.ip ::ffff:127.0.0.1
            "4abb"  # addr_recv.port: u16 BE 19899
            "0000000000000000" + "00" * 16 + "0000"  # addr_from: services, [::], port 0
            "0123456789abcdef"  # nonce
        )
        + bytes([len(agent)])
        + agent.encode()
        + height.to_bytes(4, "little")
        + b"\x01"
        + bytes(32)
        + b"\x00"
    )


def inv_payload(inv_type: int, seed: int) -> bytes:
    # CompactSize count 1, then CInv: type u32 LE, hash 32 bytes
    return b"\x01" + inv_type.to_bytes(4, "little") + random.Random(seed).randbytes(32)


def nonce(n: int) -> bytes:
    return n.to_bytes(8, "little")


BIG = random.Random(5).randbytes(400_000)  # an unknown command: raw bytes, no decoder involved


def session_messages() -> list[tuple]:
    """(direction, peer_id, addr, conn_type, command, payload), in order."""

    def m(direction, peer, command, payload=b""):
        return (direction, *peer, command, payload)

    return [
        m("out", PEER0, "version", version_payload(100, "/Dash Core:22.0.0/")),
        m("in", PEER0, "version", version_payload(120, "/Dash Core:21.1.0/")),
        m("in", PEER1, "ping", nonce(11)),
        m("in", PEER0, "verack"),
        m("out", PEER0, "verack"),
        m("out", PEER1, "pong", nonce(11)),
        m("in", PEER0, "sendheaders"),
        m("out", PEER7, "ping", nonce(7)),
        m("in", PEER0, "inv", inv_payload(1, 1)),
        m("in", PEER7, "pong", nonce(7)),
        m("out", PEER0, "getdata", inv_payload(1, 1)),
        m("in", PEER1, "inv", inv_payload(2, 2)),
        m("in", PEER0, "bigmsg", BIG),
        m("in", PEER1, "getdata", inv_payload(2, 3)),
        m("out", PEER0, "ping", nonce(99)),
        m("in", PEER0, "pong", nonce(99)),
    ]


@dataclass
class Session:
    messages: list
    capture: Path
    folder: Path

    @property
    def network(self) -> str:
        """The recorder's guess for the stand-in (no -regtest flag: mainnet
        by default), or regtest when it recorded "unknown"."""
        with open_capture(self.capture) as reader:
            return canonical_network(reader.metadata.get("network")) or "regtest"

    @property
    def network_args(self) -> list[str]:
        """``--network`` when the capture does not say (so magics are known)."""
        with open_capture(self.capture) as reader:
            known = canonical_network(reader.metadata.get("network"))
        return [] if known else ["--network", "regtest"]

    @property
    def magic(self) -> bytes:
        return NETWORK_MAGICS[self.network]

    def shown(self) -> list[dict]:
        """``p2pcap show --json --hex``, parsed (run once)."""
        if "shown" not in _cached:
            out = subprocess.run(
                p2pcap_cmd("show", str(self.capture), "--json", "--hex"),
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            _cached["shown"] = [json.loads(line) for line in out.splitlines()]
        return [dict(m) for m in _cached["shown"]]


_cached: dict = {}


def recorded_session(tmp_path_factory, standin: Path) -> Session:
    """Record the session once per test run (needs the ``ebpf`` fixture)."""
    if "session" not in _cached:
        folder = tmp_path_factory.mktemp("analysis-session")
        messages = session_messages()
        msgs = folder / "session.msgs"
        write_messages(msgs, messages)
        capture = folder / "run.cap"
        recorder, _ = record_standin(standin, msgs, capture)
        assert recorder.returncode == 0, recorder.stderr
        assert recorder.stderr.strip().endswith(", 0 lost"), recorder.stderr
        _cached["session"] = Session(messages, capture, folder)
    return _cached["session"]
