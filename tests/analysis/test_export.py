"""``p2pcap export``: pcapng read back by a real tshark, JSON lines and
Parquet read back by json and pyarrow, on a session recorded from the
stand-in node through real uprobes, and on captures written directly."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import struct
import subprocess

import pytest
from click.testing import CliRunner

from p2pcap.cli import main
from p2pcap.formats import CaptureWriter, Gap, Message, open_capture

from ..conftest import p2pcap_cmd
from .standin_session import recorded_session

REGTEST = "fcc1b7dc"  # Dash Core src/chainparams.cpp regtest pchMessageStart, wire order
T0 = 1_700_000_000_000_000_000


@pytest.fixture(scope="module")
def session(tmp_path_factory, ebpf, standin):
    return recorded_session(tmp_path_factory, standin)


def export(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(p2pcap_cmd("export", *args), capture_output=True, text=True)


def sha256d4(payload: bytes) -> bytes:
    return hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4]


def pcapng_packets(data: bytes) -> list[dict]:
    """A small pcapng reader for the test: every EPB's data, lengths, comment."""
    packets, offset = [], 0
    while offset < len(data):
        block_type, total = struct.unpack_from("<II", data, offset)
        assert struct.unpack_from("<I", data, offset + total - 4)[0] == total
        if block_type == 1:  # IDB: link type 252 (exported PDU)
            assert struct.unpack_from("<H", data, offset + 8)[0] == 252
        if block_type == 6:
            _, hi, lo, cap, orig = struct.unpack_from("<IIIII", data, offset + 8)
            body = data[offset + 28 : offset + 28 + cap]
            opts = offset + 28 + cap + (-cap % 4)
            comment = None
            while True:
                code, length = struct.unpack_from("<HH", data, opts)
                if code == 0:
                    break
                if code == 1:
                    comment = data[opts + 4 : opts + 4 + length].decode()
                opts += 4 + length + (-length % 4)
            packets.append({"ts_ns": hi << 32 | lo, "data": body, "orig": orig, "comment": comment})
        offset += total
    return packets


def split_pdu(data: bytes) -> tuple[dict, bytes]:
    """Exported-PDU TLVs (big-endian type, length) -> ({tag: value}, rest)."""
    tags, offset = {}, 0
    while True:
        tag, length = struct.unpack_from(">HH", data, offset)
        offset += 4
        if tag == 0:
            return tags, data[offset:]
        tags[tag] = data[offset : offset + length]
        offset += length


def tshark_fields(path, *fields: str, display_filter: str | None = None) -> list[list[str]]:
    cmd = ["tshark", "-r", str(path), "-T", "fields", "-E", "separator=\t"]
    if display_filter:
        cmd += ["-Y", display_filter]
    for field in fields:
        cmd += ["-e", field]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return [line.split("\t") for line in out.splitlines()]


def needs_tshark():
    """tshark is installed by scripts/setup-host.sh; in CI its absence fails."""
    if shutil.which("tshark") is None:
        why = "tshark is not installed (run 'sudo make setup')"
        if os.environ.get("P2PCAP_REQUIRE_EBPF") == "1":
            pytest.fail(why)
        pytest.skip(why)


# -- pcapng --------------------------------------------------------------------


@pytest.mark.ebpf
def test_tshark_reads_the_pcapng_and_agrees_on_the_commands(session, tmp_path):
    needs_tshark()
    out = tmp_path / "run.pcapng"
    done = export(str(session.capture), "-o", str(out), *session.network_args)
    assert done.returncode == 0, done.stderr
    assert f"16 messages (pcapng, {session.network} magic)" in done.stderr
    assert "1 message over 256 KiB cut to fit Wireshark" in done.stderr
    shown = session.shown()
    rows = tshark_fields(
        out, "bitcoin.command", "bitcoin.magic", "bitcoin.length", "exported_pdu.prot_name", "frame.comment"
    )
    assert [r[0] for r in rows] == [m["command"] for m in shown]
    assert {r[1] for r in rows} == {"0x" + session.magic.hex()}
    assert [int(r[2]) for r in rows] == [m["msg_size"] for m in shown]
    assert {r[3] for r in rows} == {"bitcoin"}
    for row, msg in zip(rows, shown):
        assert row[4] == (
            f"peer_id={msg['peer_id']} conn_type={msg['conn_type']} direction={msg['direction']} "
            f"pid={msg['pid']} addr={msg['peer_addr']}"
            + (" cut=262072/400000 (Wireshark packet limit 262144)" if msg["msg_size"] > 262144 else "")
        )


@pytest.mark.ebpf
def test_tshark_sees_peer_addresses_on_the_right_side(session, tmp_path):
    needs_tshark()
    out = tmp_path / "run.pcapng"
    assert export(str(session.capture), "-o", str(out), *session.network_args).returncode == 0
    rows = tshark_fields(
        out,
        "bitcoin.command",
        "exported_pdu.ipv4_src",
        "exported_pdu.ipv4_dst",
        "exported_pdu.ipv6_src",
        "exported_pdu.ipv6_dst",
        "exported_pdu.src_port",
        "exported_pdu.dst_port",
    )
    shown = session.shown()
    for row, msg in zip(rows, shown):
        inbound = msg["direction"] == "in"
        if msg["peer_addr"] == "127.0.0.1:19899":
            assert row[1:3] == (["127.0.0.1", ""] if inbound else ["", "127.0.0.1"])
            assert row[5:7] == (["19899", ""] if inbound else ["", "19899"])
        elif msg["peer_addr"].startswith("[2001:db8::1]"):
            assert row[3:5] == (["2001:db8::1", ""] if inbound else ["", "2001:db8::1"])
            assert row[5:7] == (["51234", ""] if inbound else ["", "51234"])
        else:  # a host name: no address tags at all
            assert row[1:] == ["", "", "", "", "", ""]


@pytest.mark.ebpf
def test_every_packet_has_the_real_header_and_checksum(session, tmp_path):
    out = tmp_path / "run.pcapng"
    assert export(str(session.capture), "-o", str(out), *session.network_args).returncode == 0
    packets = pcapng_packets(out.read_bytes())
    shown = session.shown()
    assert len(packets) == len(shown)
    for packet, msg in zip(packets, shown):
        tags, wire = split_pdu(packet["data"])
        assert tags[12].rstrip(b"\0") == b"bitcoin"  # EXP_PDU_TAG_DISSECTOR_NAME
        payload = bytes.fromhex(msg["payload_hex"])
        assert wire[:4] == session.magic
        assert wire[4:16] == msg["command"].encode().ljust(12, b"\0")
        assert struct.unpack("<I", wire[16:20])[0] == len(payload)
        assert wire[20:24] == sha256d4(payload)  # of the whole payload, even when cut
        assert payload.startswith(wire[24:])
        assert packet["orig"] == len(packet["data"]) - len(wire) + 24 + len(payload)
        assert len(packet["data"]) <= 262144
        assert packet["ts_ns"] == msg["ts_ns"]


def write_capture(path, records, network="regtest"):
    with CaptureWriter(path, {"network": network}) as w:
        for record in records:
            w.write(record)


def test_gaps_become_marker_packets_that_tshark_shows(tmp_path):
    needs_tshark()
    cap = tmp_path / "gap.cap"
    write_capture(
        cap,
        [
            Message(T0, 5, 0, "10.0.0.1:19899", "inbound", "in", "ping", 8, bytes(8)),
            Gap(T0 + 1000, 5, 1, 3, 300),
            Message(T0 + 2000, 5, 0, "10.0.0.1:19899", "inbound", "out", "pong", 8, bytes(8)),
        ],
    )
    out = tmp_path / "gap.pcapng"
    done = export(str(cap), "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert "2 messages, 1 gap (pcapng, regtest magic)" in done.stderr
    rows = tshark_fields(out, "_ws.col.Protocol", "bitcoin.command", "bitcoin.magic", "frame.comment")
    assert rows[0][:3] == ["Bitcoin", "ping", "0x" + REGTEST]
    assert rows[1] == ["P2PCAP", "", "", "p2pcap gap: 3 messages (300 bytes) lost, ringbuf-full, pid=5"]
    assert rows[2][:2] == ["Bitcoin", "pong"]


def test_unknown_network_asks_for_network_in_one_line(tmp_path):
    cap = tmp_path / "u.cap"
    write_capture(
        cap, [Message(T0, 5, 0, "10.0.0.1:9999", "inbound", "in", "verack", 0, b"")], network="unknown"
    )
    done = export(str(cap), "-o", str(tmp_path / "u.pcapng"))
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"Error: {cap}: the capture's network is unknown: give --network "
        f"(mainnet, testnet, devnet, regtest) to pick the message magic"
    ]
    assert not (tmp_path / "u.pcapng").exists()
    done = export(str(cap), "-o", str(tmp_path / "u.pcapng"), "--network", "testnet")
    assert done.returncode == 0, done.stderr
    data = (tmp_path / "u.pcapng").read_bytes()
    tags, wire = split_pdu(pcapng_packets(data)[0]["data"])
    assert wire.hex() == "cee2caff" + b"verack".ljust(12, b"\0").hex() + "00000000" + "5df6e0e2"


def test_partial_messages_keep_their_length_and_say_so(tmp_path):
    cap = tmp_path / "p.cap"
    write_capture(cap, [Message(T0, 5, 0, "10.0.0.1:19899", "inbound", "in", "block", 1000, bytes(100), 1)])
    done = export(str(cap), "-o", str(tmp_path / "p.pcapng"))
    assert "1 message captured only in part" in done.stderr
    packet = pcapng_packets((tmp_path / "p.pcapng").read_bytes())[0]
    tags, wire = split_pdu(packet["data"])
    assert struct.unpack("<I", wire[16:20])[0] == 1000 and len(wire) == 124
    assert packet["orig"] == len(packet["data"]) + 900
    assert "partial=100/1000 checksum=unknown" in packet["comment"]


# -- JSON lines and Parquet ----------------------------------------------------------


@pytest.mark.ebpf
def test_jsonl_rows_match_show(session, tmp_path):
    out = tmp_path / "run.jsonl"
    done = export(str(session.capture), "-o", str(out))
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    shown = session.shown()
    assert len(rows) == len(shown) == len(session.messages)
    for row, msg in zip(rows, shown):
        assert row["kind"] == "message"
        for key in (
            "ts_ns",
            "pid",
            "peer_id",
            "peer_addr",
            "conn_type",
            "direction",
            "command",
            "msg_size",
            "captured_len",
            "flags",
            "payload_hex",
            "error",
        ):
            assert row[key] == msg[key], key
        if msg["decoded"] and msg["decoded"].get("unknown"):
            assert row["decoded"] == {"unknown": True}  # the payload is not repeated
        else:
            assert row["decoded"] == msg["decoded"]


@pytest.mark.ebpf
def test_jsonl_to_stdout_without_decoding(session):
    done = subprocess.run(
        p2pcap_cmd("export", str(session.capture), "-o", "-", "--format", "jsonl", "--no-decode"),
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["command"] for r in rows] == [m[4] for m in session.messages]
    assert all("decoded" not in r for r in rows)


@pytest.mark.ebpf
def test_parquet_read_back_by_pyarrow(session, tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    out = tmp_path / "run.parquet"
    done = export(str(session.capture), "-o", str(out))
    assert done.returncode == 0, done.stderr
    table = pq.read_table(out)
    meta = json.loads(table.schema.metadata[b"p2pcap.metadata"])
    with open_capture(session.capture) as reader:
        assert meta == json.loads(json.dumps(reader.metadata))
    assert str(table.schema.field("time").type) == "timestamp[ns, tz=UTC]"
    times = table.column("time").cast("int64").to_pylist()  # ns: no datetime round
    rows = table.drop_columns(["time"]).to_pylist()
    shown = session.shown()
    assert len(rows) == len(shown)
    assert times == [m["ts_ns"] for m in shown]
    for row, msg in zip(rows, shown):
        assert row["kind"] == "message"
        assert row["payload"] == bytes.fromhex(msg["payload_hex"])
        for key in ("ts_ns", "pid", "peer_id", "peer_addr", "conn_type", "direction", "command", "msg_size"):
            assert row[key] == msg[key], key
        if msg["command"] == "bigmsg":
            assert json.loads(row["decoded"]) == {"unknown": True}
        else:
            assert json.loads(row["decoded"]) == msg["decoded"]
    # Query it like a fleet of captures would be: group by command, in Arrow.
    counts = table.group_by("command").aggregate([("msg_size", "sum")]).to_pylist()
    assert {c["command"]: c["msg_size_sum"] for c in counts}["bigmsg"] == 400_000


def test_parquet_keeps_gaps_as_rows(tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    cap = tmp_path / "g.cap"
    write_capture(
        cap,
        [
            Message(T0, 5, 0, "10.0.0.1:19899", "inbound", "in", "ping", 8, bytes(8)),
            Gap(T0 + 1000, 5, 2, 4, 4000),
        ],
    )
    assert export(str(cap), "-o", str(tmp_path / "g.parquet")).returncode == 0
    rows = pq.read_table(tmp_path / "g.parquet").drop_columns(["time"]).to_pylist()
    assert [r["kind"] for r in rows] == ["message", "gap"]
    assert (rows[1]["gap_reason"], rows[1]["lost_messages"], rows[1]["lost_bytes"]) == ("reassembly", 4, 4000)
    assert rows[1]["command"] is None and rows[1]["payload"] is None
    assert json.loads(rows[0]["decoded"]) == {"nonce": 0}
    jsonl = tmp_path / "g.jsonl"
    assert export(str(cap), "-o", str(jsonl)).returncode == 0
    gap = json.loads(jsonl.read_text().splitlines()[1])
    assert gap == {
        "kind": "gap",
        "ts_ns": T0 + 1000,
        "time": "2023-11-14T22:13:20.000001000Z",
        "pid": 5,
        "reason": "reassembly",
        "lost_messages": 4,
        "lost_bytes": 4000,
    }


# -- mistakes -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["-o", "{tmp}/x.txt"],
            "{tmp}/x.txt: cannot tell the format from the name: give --format "
            "(pcapng, jsonl, parquet, capturemessages)",
        ),
        (
            ["-o", "-", "--format", "parquet"],
            "parquet cannot be written to standard output: give a path with -o",
        ),
        (["-o", "{cap}", "--format", "jsonl"], "{cap}: the output must not be the input"),
    ],
)
def test_mistakes_are_one_line(tmp_path, args, message):
    cap = tmp_path / "m.cap"
    write_capture(cap, [Message(T0, 5, 0, "10.0.0.1:9999", "inbound", "in", "verack", 0, b"")])
    fill = {"tmp": str(tmp_path), "cap": str(cap)}
    result = CliRunner().invoke(main, ["export", str(cap), *[a.format(**fill) for a in args]])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [f"Error: {message.format(**fill)}"]


def test_help_shows_examples():
    for command in ("export", "import", "replay"):
        result = CliRunner().invoke(main, [command, "--help"])
        assert result.exit_code == 0
        assert f"p2pcap {command} " in result.output
