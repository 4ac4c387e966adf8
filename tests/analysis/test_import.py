"""``p2pcap import``: Core's -capturemessages folders into captures.

Folders are written here byte by byte from the layout of Bitcoin Core's
src/net.cpp CaptureMessageToFile (formats/capturemessages.py), and by ``export --format capturemessages`` from a
session recorded from the stand-in node (a round trip)."""

from __future__ import annotations

import json
import os
import shutil
import stat
import struct
import subprocess

import pytest

from p2pcap.formats import open_capture
from p2pcap.formats.capturemessages import read_capture_dir

from ..conftest import p2pcap_cmd
from .standin_session import recorded_session

T0_US = 1_700_000_000_000_000  # µs since the epoch


def record(ts_us: int, command: str, payload: bytes) -> bytes:
    return (
        struct.pack("<Q", ts_us)  # timestamp, u64 LE, µs
        + command.encode().ljust(12, b"\0")  # command, NUL-padded
        + struct.pack("<I", len(payload))  # payload length, u32 LE
        + payload
    )  # payload: no magic, no checksum


def write_folder(root, peers: dict) -> None:
    """peers: folder name -> {"recv": [(ts_us, command, payload)], "sent": [...]}."""
    for name, files in peers.items():
        (root / name).mkdir(parents=True)
        for kind, records in files.items():
            (root / name / f"msgs_{kind}.dat").write_bytes(b"".join(record(*r) for r in records))


def run(*args: str, timeout: float | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(p2pcap_cmd(*args), capture_output=True, text=True, timeout=timeout)


def show(capture) -> list[dict]:
    out = run("show", str(capture), "--json", "--hex")
    assert out.returncode == 0, out.stderr
    return [json.loads(line) for line in out.stdout.splitlines()]


def test_import_merges_peers_by_time(tmp_path):
    root = tmp_path / "datadir" / "regtest" / "message_capture"
    write_folder(
        root,
        {
            "127.0.0.1_19899": {
                "recv": [(T0_US + 1, "version", b"\x01" * 10), (T0_US + 4, "ping", bytes(8))],
                "sent": [(T0_US + 2, "verack", b""), (T0_US + 5, "pong", bytes(8))],
            },
            "[2001_db8__1]_51234": {
                "recv": [(T0_US + 3, "inv", b"\x00")],
            },
        },
    )
    done = run("import", str(root.parent), "-o", str(tmp_path / "run.cap"))  # the chain folder works too
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == f"{tmp_path / 'run.cap'}: 5 messages (p2pcap); 2 peers, network regtest"
    got = show(tmp_path / "run.cap")
    assert [
        (m["ts_ns"], m["peer_id"], m["peer_addr"], m["direction"], m["command"], m["payload_hex"])
        for m in got
    ] == [
        ((T0_US + 1) * 1000, 0, "127.0.0.1:19899", "in", "version", "01" * 10),
        ((T0_US + 2) * 1000, 0, "127.0.0.1:19899", "out", "verack", ""),
        ((T0_US + 3) * 1000, 1, "[2001:db8::1]:51234", "in", "inv", "00"),
        ((T0_US + 4) * 1000, 0, "127.0.0.1:19899", "in", "ping", "00" * 8),
        ((T0_US + 5) * 1000, 0, "127.0.0.1:19899", "out", "pong", "00" * 8),
    ]
    assert {(m["pid"], m["conn_type"], m["flags"]) for m in got} == {(0, "unknown", 0)}
    with open_capture(tmp_path / "run.cap") as reader:
        meta = reader.metadata
    assert meta["network"] == "regtest" and meta["source"] == "capturemessages"
    assert meta["peers"] == {"0": "127.0.0.1:19899", "1": "[2001:db8::1]:51234"}


def test_network_unknown_unless_given(tmp_path):
    root = tmp_path / "message_capture"
    write_folder(root, {"1.2.3.4_9999": {"recv": [(T0_US, "verack", b"")]}})
    done = run("import", str(root), "-o", str(tmp_path / "a.cap"))
    assert done.returncode == 0 and done.stderr.strip().endswith(
        "network unknown; give --network to record it"
    )
    done = run("import", str(root), "-o", str(tmp_path / "b.cap"), "--network", "mainnet")
    assert done.returncode == 0, done.stderr
    with open_capture(tmp_path / "b.cap") as reader:
        assert reader.metadata["network"] == "mainnet"


def test_torn_last_record_is_a_warning(tmp_path):
    root = tmp_path / "message_capture"
    write_folder(root, {"1.2.3.4_9999": {"recv": [(T0_US, "ping", bytes(8)), (T0_US + 1, "pong", bytes(8))]}})
    dat = root / "1.2.3.4_9999" / "msgs_recv.dat"
    dat.write_bytes(dat.read_bytes()[:-3])  # a node killed mid-write
    done = run("import", str(root), "-o", str(tmp_path / "t.cap"))
    assert done.returncode == 1  # a record was lost: the capture is not the whole folder
    assert done.stderr.splitlines()[1] == (
        f"p2pcap: {dat}: offset 56: payload of 'pong' cut short "
        f"(5 of 8 bytes) (records before it were imported)"
    )
    assert [m["command"] for m in show(tmp_path / "t.cap")] == ["ping"]


@pytest.mark.parametrize(
    "damage, where, what",
    [
        (
            lambda b: b[:8] + b"ping\x01" + b[13:],
            "offset 8",
            "command: b'ping\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00' is not a NUL-padded ASCII command; "
            "not a -capturemessages file?",
        ),
        (
            lambda b: b[:20] + struct.pack("<I", 0x7FFFFFFF) + b[24:],
            "offset 20",
            "payload length: 2147483647 bytes is more than any message (limit 33554432); "
            "not a -capturemessages file?",
        ),
    ],
)
def test_damaged_records_fail_in_one_line(tmp_path, damage, where, what):
    root = tmp_path / "message_capture"
    write_folder(root, {"1.2.3.4_9999": {"sent": [(T0_US, "ping", bytes(8))]}})
    dat = root / "1.2.3.4_9999" / "msgs_sent.dat"
    dat.write_bytes(damage(dat.read_bytes()))
    done = run("import", str(root), "-o", str(tmp_path / "d.cap"))
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [f"Error: {dat}: {where}: {what}"]
    assert not (tmp_path / "d.cap").exists()


def test_a_folder_without_captures_is_refused(tmp_path):
    (tmp_path / "empty" / "somepeer").mkdir(parents=True)
    done = run("import", str(tmp_path / "empty"), "-o", str(tmp_path / "e.cap"))
    assert done.returncode == 1
    assert done.stderr.strip() == (
        f"Error: {tmp_path / 'empty'}: no <addr_port>/msgs_recv.dat or msgs_sent.dat "
        f"found: not a -capturemessages folder"
    )


def test_many_peers_with_few_open_files(tmp_path):
    """A week-old node leaves a folder per inbound connection: the merge
    keeps at most ``max_open`` files open and still orders by time."""
    root = tmp_path / "message_capture"
    peers = {
        f"10.0.0.{i}_{40000 + i}": {
            "recv": [(T0_US + i + 10 * k, "ping", bytes([i, k]) * 4) for k in range(5)],
            "sent": [(T0_US + i + 10 * k + 5, "pong", bytes([i, k]) * 4) for k in range(5)],
        }
        for i in range(8)
    }
    write_folder(root, peers)
    got = list(read_capture_dir(root, max_open=3))
    assert len(got) == 80
    assert [m.ts_ns for m in got] == sorted(m.ts_ns for m in got)
    assert {m.peer_addr for m in got} == {f"10.0.0.{i}:{40000 + i}" for i in range(8)}
    for m in got:
        i = int(m.peer_addr.split(".")[3].split(":")[0])
        assert m.payload[0] == i


@pytest.mark.ebpf
def test_round_trip_through_core_layout(tmp_path_factory, ebpf, standin, tmp_path):
    session = recorded_session(tmp_path_factory, standin)
    folder = tmp_path / "message_capture"
    done = run("export", str(session.capture), "--format", "capturemessages", "-o", str(folder))
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in folder.iterdir()) == [
        "127.0.0.1_19899",
        "[2001_db8__1]_51234",
        "seed.example.org_19999",
    ]
    again = run("export", str(session.capture), "--format", "capturemessages", "-o", str(folder))
    assert again.returncode == 2 and "exists and is not an empty folder" in again.stderr
    done = run("import", str(folder), "-o", str(tmp_path / "back.cap"))
    assert done.returncode == 0, done.stderr
    original = session.shown()
    back = show(tmp_path / "back.cap")
    ids = {"127.0.0.1:19899": 0, "[2001:db8::1]:51234": 1, "seed.example.org:19999": 2}

    def key(m, peer_id):
        return (m["ts_ns"] // 1000, peer_id, m["peer_addr"], m["direction"], m["command"], m["payload_hex"])

    assert sorted(key(m, ids[m["peer_addr"]]) for m in original) == sorted(key(m, m["peer_id"]) for m in back)
    assert [m["ts_ns"] for m in back] == sorted(m["ts_ns"] for m in back)


# -- the folder it was given, and only regular files (issue 22) ----------------------


def planted(tmp_path, how: str):
    """A -capturemessages folder with something Core never makes in it; the
    path it is at, and the file outside the folder it would let import read."""
    outside = tmp_path / "outside"
    write_folder(outside, {"6.6.6.6_1": {"recv": [(T0_US, "secret", b"not yours")]}})
    datadir = tmp_path / "regtest"
    root = datadir / "message_capture"
    write_folder(root, {"1.2.3.4_9999": {"recv": [(T0_US, "ping", bytes(8))]}})
    if how == "peer folder":
        path = root / "6.6.6.6_1"
        path.symlink_to(outside / "6.6.6.6_1")
    elif how == "file":
        path = root / "1.2.3.4_9999" / "msgs_sent.dat"
        path.symlink_to(outside / "6.6.6.6_1" / "msgs_recv.dat")
    elif how == "message_capture":
        shutil.rmtree(root)
        path = root
        path.symlink_to(outside)
    elif how == "fifo":
        path = root / "1.2.3.4_9999" / "msgs_sent.dat"
        os.mkfifo(path)
    else:  # a device without end
        path = root / "1.2.3.4_9999" / "msgs_sent.dat"
        os.mknod(path, 0o600 | stat.S_IFCHR, os.makedev(1, 5))
    return datadir, path


@pytest.mark.parametrize("how", ["peer folder", "file", "message_capture", "fifo", "device"])
def test_import_stays_in_its_folder(tmp_path, how):
    if how == "device" and os.geteuid() != 0:
        pytest.skip("mknod needs root")
    datadir, path = planted(tmp_path, how)
    done = run(
        "import", str(datadir), "-o", str(tmp_path / "x.cap"), timeout=30
    )  # a FIFO would block: the timeout
    assert done.returncode == 1, done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith(f"Error: {path}: ")
    assert (
        ("a symbolic link (to " in line) if how not in ("fifo", "device") else ("not a regular file" in line)
    )
    assert not (tmp_path / "x.cap").exists()


def test_a_file_swapped_while_reading_is_refused(tmp_path):
    """Files reopened by the pool (more peers than it keeps open) must be
    the same file as at first: one swapped for a FIFO is named, not read."""
    from p2pcap.errors import P2pcapError

    root = tmp_path / "message_capture"
    write_folder(
        root,
        {
            f"10.0.0.{i}_1": {"recv": [(T0_US + i + 10 * k, "ping", bytes(8)) for k in range(3)]}
            for i in range(4)
        },
    )
    merged = read_capture_dir(root, max_open=1)
    next(merged)
    target = root / "10.0.0.3_1" / "msgs_recv.dat"
    target.unlink()
    os.mkfifo(target)
    with pytest.raises(P2pcapError, match="not a regular file|replaced while it was read"):
        list(merged)
