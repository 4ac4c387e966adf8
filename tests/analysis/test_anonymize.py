"""``anonymize``: every peer address replaced, consistently, from documented
ranges; every other byte kept."""

from __future__ import annotations

import ipaddress
import json
import struct

import pytest
from click.testing import CliRunner

from p2pcap.analysis.anonymize import AddressMap
from p2pcap.cli import main
from p2pcap.decoders import build, decode
from p2pcap.decoders.addr import address_to_text
from p2pcap.formats import Gap, Message, open_capture
from p2pcap.formats.records import FLAG_SNAPLEN

from ..decoders import test_mnlist
from .captures import recorded, sample_messages, write_capture

PUBLIC4 = "203.0.113.5"
PUBLIC6 = "2a01:4f8::1"
CJDNS = "fc12:3456::9"
ONION = address_to_text(4, bytes(range(32)))
I2P = address_to_text(5, bytes(range(32, 64)))
IV4 = ipaddress.IPv4Network("198.18.0.0/15")
IV6 = ipaddress.IPv6Network("2001:db8::/32")


def version_payload() -> bytes:
    sample = next(m[5] for m in sample_messages() if m[4] == "version")
    d = decode("version", sample)
    d["addr_to"]["ip"], d["addr_from"]["ip"] = PUBLIC4, PUBLIC6
    return build("version", d)


def addr_payload() -> bytes:
    entries = [
        {"time": 1_700_000_000, "services": 1, "ip": ip, "port": 9999}
        for ip in (PUBLIC4, PUBLIC6, "10.1.2.3", "127.0.0.1")
    ]
    return build("addr", {"addr": entries})


def addrv2_payload() -> bytes:
    entries = [
        {"time": 1_700_000_000, "services": 1, "net": net, "addr": addr, "port": 9999}
        for net, addr in ((1, PUBLIC4), (2, PUBLIC6), (4, ONION), (5, I2P), (6, CJDNS), (99, "abcdef"))
    ]
    return build("addrv2", {"addr": entries})


PEERS = {
    0: (f"{PUBLIC4}:9999", "outbound-full-relay"),
    1: (f"[{PUBLIC6}]:51234", "inbound"),
    2: ("node.example.com:9999", "manual"),
    3: ("127.0.0.1:19899", "outbound-full-relay"),
}


def messages() -> list[tuple]:
    mnlist = test_mnlist

    def m(direction, peer, command, payload):
        return (direction, peer, *PEERS[peer], command, payload)

    return [
        m("out", 0, "version", version_payload()),
        m("in", 0, "addr", addr_payload()),
        m("in", 1, "addrv2", addrv2_payload()),
        m("in", 2, "mnlistdiff", bytes.fromhex(mnlist.mnlistdiff_hex(mnlist.NEWEST))),
        m("in", 3, "ping", struct.pack("<Q", 5)),
        m("in", 1, "inv", b"\x01" + struct.pack("<I", 1) + bytes(range(32))),
    ]


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    folder = tmp_path_factory.mktemp("anon")
    src = write_capture(
        folder / "in.cap", messages(), gaps=[(2, 1)], metadata={"target": {"exe": "/x/dashd"}}
    )
    out = folder / "out.cap"
    mapping = folder / "map.json"
    result = CliRunner().invoke(main, ["anonymize", str(src), "-o", str(out), "--mapping", str(mapping)])
    assert result.exit_code == 0, result.output
    with open_capture(src) as r:
        before = list(r.records())
    with open_capture(out) as r:
        after, metadata = list(r.records()), r.metadata
    return before, after, metadata, json.loads(mapping.read_text()), out


def test_metadata_host_dropped_rest_kept(pair):
    _, _, metadata, _, _ = pair
    assert "host" not in metadata
    assert metadata["network"] == "regtest" and metadata["target"] == {"exe": "/x/dashd"}
    assert metadata["edits"][-1]["command"] == "anonymize"


def test_no_original_address_survives(pair):
    _, after, metadata, _, out = pair
    originals = [PUBLIC4, PUBLIC6, "node.example.com", "10.1.2.3", "192.168.0.1", "1.2.3.4", ONION, I2P]
    packed = [ipaddress.ip_address(a).packed for a in (PUBLIC4, PUBLIC6, "10.1.2.3", "192.168.0.1", CJDNS)]
    text = json.dumps(metadata)
    for rec in after:
        if type(rec) is Message:
            text += rec.peer_addr
            assert not any(p in rec.payload for p in packed), rec.command
            decoded = json.dumps(decode(rec.command, rec.payload)) if rec.payload else ""
            assert not any(o in decoded for o in originals), rec.command
    assert not any(o in text for o in originals)


def test_consistent_and_in_documented_ranges(pair):
    _, after, _, mapping, _ = pair
    peer = {r.peer_id: r.peer_addr for r in after if type(r) is Message}
    p4 = mapping["ipv4"][PUBLIC4]
    p6 = mapping["ipv6"][PUBLIC6]
    assert ipaddress.ip_address(p4) in IV4 and ipaddress.ip_address(p6) in IV6
    assert peer == {0: f"{p4}:9999", 1: f"[{p6}]:51234", 2: "peer1.invalid:9999", 3: "127.0.0.1:19899"}
    by_command = {r.command: decode(r.command, r.payload) for r in after if type(r) is Message and r.payload}
    version = by_command["version"]
    assert (version["addr_to"]["ip"], version["addr_from"]["ip"]) == (p4, p6)
    assert [e["ip"] for e in by_command["addr"]["addr"]] == [p4, p6, mapping["ipv4"]["10.1.2.3"], "127.0.0.1"]
    v2 = [e["addr"] for e in by_command["addrv2"]["addr"]]
    assert v2[:2] == [p4, p6]
    assert v2[2].endswith(".onion") and v2[3].endswith(".b32.i2p") and v2[2] != ONION
    assert ipaddress.ip_address(v2[4]) in ipaddress.IPv6Network("fc00::/8") and v2[4] != CJDNS
    assert v2[5] == "000001"
    entries = by_command["mnlistdiff"]["mn_list"]
    assert ipaddress.ip_address(entries[0]["net_info"]["ip"]) in IV4
    service = entries[-1]["net_info"]["entries"][0]["entries"][0]["service"]
    assert ipaddress.ip_address(service["addr"]) in IV4


def _without_addresses(obj):
    if isinstance(obj, dict):
        return {
            k: _without_addresses(v)
            for k, v in obj.items()
            if k not in ("ip", "addr") or not isinstance(v, str)
        }
    if isinstance(obj, list):
        return [_without_addresses(v) for v in obj]
    return obj


def test_everything_else_identical(pair):
    before, after, _, _, _ = pair
    assert len(before) == len(after)
    for old, new in zip(before, after):
        if type(old) is Gap:
            assert old == new
            continue
        assert (
            old.ts_ns,
            old.pid,
            old.peer_id,
            old.conn_type,
            old.direction,
            old.command,
            old.msg_size,
            old.flags,
        ) == (
            new.ts_ns,
            new.pid,
            new.peer_id,
            new.conn_type,
            new.direction,
            new.command,
            new.msg_size,
            new.flags,
        )
        assert len(old.payload) == len(new.payload)
        if old.command in ("ping", "inv"):
            assert old.payload == new.payload
        else:
            assert old.payload != new.payload
            assert _without_addresses(decode(old.command, old.payload)) == _without_addresses(
                decode(new.command, new.payload)
            )


def test_cut_payloads_are_dropped(tmp_path):
    src = tmp_path / "cut.cap"
    payload = addr_payload()
    msgs = [("in", 0, *PEERS[0], "addr", payload)]
    write_capture(src, msgs)
    # rewrite with a snap length: msg_size larger than what was kept
    from p2pcap.formats import CaptureWriter

    with CaptureWriter(src, {}) as w:
        w.write(
            Message(1, 1, 0, PEERS[0][0], PEERS[0][1], "in", "addr", len(payload), payload[:20], FLAG_SNAPLEN)
        )
    out = tmp_path / "out.cap"
    result = CliRunner().invoke(main, ["anonymize", str(src), "-o", str(out)])
    assert result.exit_code == 0 and "1 dropped" in result.stderr
    with open_capture(out) as r:
        (rec,) = list(r.records())
    assert rec.payload == b"" and rec.msg_size == len(payload) and rec.flags & FLAG_SNAPLEN


def test_address_map_numbering():
    m = AddressMap()
    assert [m.ip(a) for a in ("8.8.8.8", "1.1.1.1", "8.8.8.8", "0.0.0.0", "::")] == [
        "198.18.0.1",
        "198.18.0.2",
        "198.18.0.1",
        "0.0.0.0",
        "::",
    ]
    assert m.ip("::ffff:8.8.8.8") == "::ffff:198.18.0.1"
    assert m.peer_addr("seed.dash.org") == "peer1.invalid"
    assert m.peer_addr(f"{ONION}:9999").endswith(".onion:9999")


def test_recorded_session(tmp_path_factory, ebpf, standin, tmp_path):
    rec = recorded(tmp_path_factory, standin)
    out = tmp_path / "shared.cap"
    result = CliRunner().invoke(main, ["anonymize", str(rec["base"]), "-o", str(out)])
    assert result.exit_code == 0, result.output
    stats = json.loads(CliRunner().invoke(main, ["stats", str(out), "--json"]).stdout)
    assert sorted(p["addr"] for p in stats["peers"]) == [
        "127.0.0.1:19899",
        "[2001:db8::1]:51234",
        "peer1.invalid:19899",
    ]
    assert "host" not in stats["metadata"]
    shown = CliRunner().invoke(main, ["show", str(out), "--json", "--hex"]).stdout.splitlines()
    shown = [json.loads(line) for line in shown]
    for sent, got in zip(rec["messages"], shown):
        if sent[4] == "addrv2":
            assert [e["addr"] for e in got["decoded"]["addr"]] == ["198.18.0.1", "2001:db8::1"]
        elif sent[4] != "version":
            assert got["payload_hex"] == sent[5].hex()
