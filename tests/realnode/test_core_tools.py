"""Core's own tools as p2pcap's clients and sources, on the regtest network's run.

* ``p2pcap import`` of a node's message_capture folder gives the messages
  the recording holds;
* ``p2pcap export --format capturemessages``, read by Core's
  contrib/message-capture/message-capture-parser.py, gives what
  ``p2pcap show`` gives (command, size, payload);
* ``p2pcap replay --to`` into a fresh regtest dashd is taken as a peer:
  getpeerinfo shows it, debug.log the messages, and nothing is banned;
* ``p2pcap doctor --exe dashd`` passes on the real binary and names the
  operands ``readelf -n`` shows.
"""

from __future__ import annotations

import json
import re
import shutil
import struct
import subprocess
import sys
import threading
from pathlib import Path

from p2pcap.formats import Message, open_capture

from .nodes import Node
from .oracle import compare, folder_of, recorded_streams

# Core's parser cannot decode these two, which the regtest network sends:
# test_framework/p2p.py MESSAGEMAP maps them to None ("Unhandled message
# type"); it still gives their bytes, as hex.  p2pcap decodes both.
CORE_PARSER_UNHANDLED = {"getsporks", "senddsq"}
# What a copied data directory must leave behind: Core's capture, the log,
# the lock, the wallet, and what the node knew of peers.
NOT_THE_CHAIN = shutil.ignore_patterns(
    "message_capture", "debug.log", ".lock", "w", "peers.dat", "banlist*", "anchors.dat"
)


def p2pcap(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", "p2pcap", *args], capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"p2pcap {' '.join(args)} exited {proc.returncode}: {proc.stderr}")
    return proc


def messages_in(capture: Path) -> list[Message]:
    with open_capture(capture) as reader:
        return [r for r in reader.records() if type(r) is Message]


def test_import_of_each_node_folder_equals_the_recording(network, tmp_path):
    recorded = messages_in(network.recorders["all"].output)
    for node in network.nodes.values():
        imported = tmp_path / f"{node.name}.cap"
        p2pcap("import", str(node.datadir / "regtest" / "message_capture"), "-o", str(imported))
        messages = messages_in(imported)
        result = compare(node.name, recorded_streams(messages, {0}), recorded_streams(recorded, node.pids))
        assert result.exact, result.summary()
        assert result.core == len(messages) > 0


def core_parser(dash_functional: Path) -> Path:
    return dash_functional.parent.parent / "contrib" / "message-capture" / "message-capture-parser.py"


def parse_with_core(parser: Path, path: Path) -> list[dict]:
    """Core's parser on one msgs_*.dat file: its JSON list (sorted by time, as it sorts)."""
    proc = subprocess.run([sys.executable, str(parser), "-n", str(path)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def write_core_file(path: Path, shown: list[dict]) -> None:
    """``p2pcap show --json --hex`` lines written back in Core's layout
    (src/net.cpp CaptureMessageToFile: u64 µs, command[12], u32 size, payload)."""
    with open(path, "wb") as f:
        for m in shown:
            payload = bytes.fromhex(m["payload_hex"])
            f.write(struct.pack("<Q12sI", m["ts_ns"] // 1000, m["command"].encode(), len(payload)) + payload)


def test_export_read_by_cores_parser_gives_what_show_gives(network, dash_functional, tmp_path):
    parser = core_parser(dash_functional)
    assert parser.is_file(), f"Core's parser is not at {parser}"
    n0 = network.nodes["n0"]
    node_cap, folder = tmp_path / "n0.cap", tmp_path / "message_capture"
    p2pcap("filter", str(network.recorders["all"].output), "-o", str(node_cap), "--pid", str(n0.proc.pid))
    p2pcap("export", str(node_cap), "--format", "capturemessages", "-o", str(folder))
    shown = [
        json.loads(line) for line in p2pcap("show", str(node_cap), "--json", "--hex").stdout.splitlines()
    ]
    streams: dict[tuple[str, str], list[dict]] = {}
    for m in shown:
        streams.setdefault((folder_of(m["peer_addr"]), m["direction"]), []).append(m)
    assert {f"{p.parent.name}/{p.name}" for p in folder.glob("*/msgs_*.dat")} == {
        f"{name}/msgs_{'recv' if direction == 'in' else 'sent'}.dat" for name, direction in streams
    }
    unhandled, compared = set(), 0
    for (name, direction), messages in sorted(streams.items()):
        exported = folder / name / f"msgs_{'recv' if direction == 'in' else 'sent'}.dat"
        from_export = parse_with_core(parser, exported)
        # the same parser on the bytes show printed: equal output = equal bytes, as Core reads them
        mine = tmp_path / "shown" / name / exported.name  # Core's parser takes the direction from the name
        mine.parent.mkdir(parents=True, exist_ok=True)
        write_core_file(mine, messages)
        assert from_export == parse_with_core(parser, mine), f"{name} {direction}"
        for parsed, m in zip(from_export, sorted(messages, key=lambda m: m["ts_ns"] // 1000)):
            assert (parsed["msgtype"], parsed["size"]) == (m["command"], m["msg_size"])
            assert parsed.get("error") != "Unable to deserialize message.", parsed
            if parsed.get("error"):
                unhandled.add(parsed["msgtype"])
                assert parsed["body"] == m["payload_hex"]
            compared += 1
    assert compared == len(shown) > 0
    assert unhandled == CORE_PARSER_UNHANDLED
    assert all(m["error"] is None and m["decoded"] is not None for m in shown if m["command"] in unhandled)


def test_replay_into_a_real_node_is_accepted(network, dashd, tmp_path):
    n0 = network.nodes["n0"]
    # n0's peer 0 is n3's connection: what n3 sent n0 (handshake, getheaders2, getdata, pings ...)
    peer = f"{n0.proc.pid}:0"
    sent = [
        m
        for m in messages_in(network.recorders["all"].output)
        if (m.pid, m.peer_id, m.direction) == (n0.proc.pid, 0, "in")
    ]
    user_agent = next(m for m in sent if m.command == "version").payload
    # The target starts from n0's chain (its blocks and chain state, no wallet,
    # no peers): what n3 announced is known to it, as it was to n0.  On a
    # bare genesis node the same bytes are headers that connect to nothing,
    # which Core rightly scores as misbehaviour (10 non-connecting headers).
    target = Node(dashd, tmp_path / "target", "-v2transport=1")
    shutil.copytree(n0.datadir / "regtest", target.datadir / "regtest", ignore=NOT_THE_CHAIN)
    target.start()
    seen: list[dict] = []
    try:
        watching = threading.Event()

        def watch():
            while not watching.is_set():
                seen.extend(p for p in target.rpc("getpeerinfo") if p["connection_type"] == "inbound")
                watching.wait(0.2)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        replay = p2pcap(
            "replay", str(network.recorders["all"].output), "--to", target.address, "--peer", peer,
            "--network", "regtest", "--speed", "20", "--max-sleep", "0.2", "--linger", "2",
        )  # fmt: skip
        watching.set()
        watcher.join(5)
        banned = target.rpc("listbanned")
    finally:
        target.stop()
    assert seen, f"getpeerinfo never showed the replayed peer: {replay.stderr}"
    assert any(p["subver"].encode() in user_agent for p in seen), {p["subver"] for p in seen}
    assert banned == []
    log = target.debug_log.read_text(errors="replace")
    assert "Misbehaving" not in log
    received = set(re.findall(r"received: (\w+) \(\d+ bytes\)", log))
    assert {m.command for m in sent} <= received, {m.command for m in sent} - received


def test_doctor_passes_on_the_real_binary_and_names_its_operands(dashd):
    proc = p2pcap("doctor", "--exe", str(dashd), check=False)
    assert proc.returncode == 0, proc.stdout
    notes = subprocess.run(["readelf", "-n", str(dashd)], capture_output=True, text=True, check=True).stdout
    for name in ("inbound_message", "outbound_message"):
        found = re.search(rf"Name: {name}\n.*\n\s+Arguments: (.*)\n", notes)
        assert found, f"readelf -n shows no net:{name}"
        (line,) = [line for line in proc.stdout.splitlines() if f"net:{name} " in line]
        assert line.startswith("ok ") and f"({found[1].strip()})" in line, line
