"""The stand-in builds are what they claim (no eBPF: gcc, g++, <sys/sdt.h>).

- every build declares net:inbound_message and net:outbound_message with
  six arguments; the C++ builds pass some as stack slots (N@OFF(%rsp)), as
  dashd's compiler does; the -sema builds carry USDT semaphores, the others
  none (readelf -n, cross-checked with p2pcap's own note reader);
- what the probes pass, read by gdb through the notes' operands, is each
  line of the message file, per thread in file order with --threads;
- a semaphore build fires nothing while its semaphores are 0, and fires
  exactly the messages of a probe whose semaphore a test raised through
  /proc/PID/mem (tests/capture/semaphores.py);
- make_churn.py never reuses a peer id, and the C++ build frees a
  disconnected peer's strings (their memory is handed to a later peer).
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from p2pcap.capture.elfnotes import read_elf_info

from ..capture.live import replayed, start_node, wait_for, write_messages
from ..capture.semaphores import (
    fired_counts,
    load_bias,
    semaphore_addresses,
    semaphore_values,
    write_semaphore,
)
from . import make_churn
from .gdb_probes import have_gdb, pc_hits, probe_hits

BUILDS = ["standin", "standin_sema", "standin_cxx", "standin_cxx_sema"]
SEMA_BUILDS = ["standin_sema", "standin_cxx_sema"]
CXX_BUILDS = ["standin_cxx", "standin_cxx_sema"]
PROBES = {"net:inbound_message", "net:outbound_message"}
LONG_HOST = "a-rather-long-seed-node-host-name.with.many.labels.p2pcap-tests.example.org:19999"
MESSAGES = [
    ("out", 0, "127.0.0.1:19899", "outbound-full-relay", "version", make_churn.version_payload(1, 200)),
    ("in", 0, "127.0.0.1:19899", "outbound-full-relay", "version", make_churn.version_payload(2, 201)),
    ("in", 1, "[2001:db8::1]:51234", "inbound", "ping", bytes(range(8))),
    ("out", 1, "[2001:db8::1]:51234", "inbound", "pong", bytes(range(8))),
    ("out", 7, LONG_HOST, "manual", "sendheaders", b""),
    ("in", 7, LONG_HOST, "manual", "headers", bytes(range(256)) * 3),
    ("in", 0, "127.0.0.1:19899", "outbound-full-relay", "inv", b"\x01" + b"\x02\0\0\0" + b"\xab" * 32),
]

needs_gdb = pytest.mark.skipif(not have_gdb(), reason="gdb not installed (Debian package gdb)")


@pytest.fixture(params=BUILDS)
def build(request) -> tuple[str, Path]:
    return request.param, request.getfixturevalue(request.param)


def readelf_probes(binary: Path) -> list[dict]:
    """Every NT_STAPSDT note as binutils' readelf -n prints it."""
    out = subprocess.run(["readelf", "-n", str(binary)], capture_output=True, text=True, check=True).stdout
    notes = []
    for m in re.finditer(
        r"Provider: (\S+)\s+Name: (\S+)\s+Location: (0x[0-9a-f]+), Base: 0x[0-9a-f]+, "
        r"Semaphore: (0x[0-9a-f]+)\s+Arguments: ([^\n]*)",
        out,
    ):
        notes.append(
            {
                "probe": f"{m[1]}:{m[2]}",
                "pc": int(m[3], 16),
                "semaphore": int(m[4], 16),
                "arguments": m[5].split(),
            }
        )
    return notes


def expected_hits(messages):
    """(probe, peer, addr, conn, command, size, sha256) of each line that fires."""
    return [
        (
            "inbound_message" if d == "in" else "outbound_message",
            peer,
            addr,
            conn,
            cmd,
            len(p),
            hashlib.sha256(p).hexdigest(),
        )
        for d, peer, addr, conn, cmd, p in messages
        if cmd != make_churn.DISCONNECT
    ]


def as_tuple(hit):
    return (hit.probe, hit.peer_id, hit.addr, hit.conn_type, hit.command, hit.size, hit.sha256)


def test_notes_name_both_probes_with_six_arguments(build):
    name, binary = build
    notes = readelf_probes(binary)
    assert {n["probe"] for n in notes} == PROBES
    for note in notes:
        assert len(note["arguments"]) == 6, note
        assert note["arguments"][0].startswith("-8@"), note  # int64 peer id, signed
        assert all(a.startswith("8@") for a in note["arguments"][1:]), note
    ours = {
        (n.provider + ":" + n.name, n.pc, n.semaphore, n.argument_count) for n in read_elf_info(binary).notes
    }
    assert ours == {(n["probe"], n["pc"], n["semaphore"], 6) for n in notes}


def test_semaphores_only_in_the_sema_builds(build):
    name, binary = build
    semaphores = {n["probe"]: n["semaphore"] for n in readelf_probes(binary)}
    if name in SEMA_BUILDS:
        assert all(semaphores.values()) and len(set(semaphores.values())) == 2, semaphores
    else:
        assert set(semaphores.values()) == {0}, semaphores


@pytest.mark.parametrize("name", CXX_BUILDS)
def test_cxx_builds_pass_stack_slot_operands(request, name):
    """As dashd's readelf -n shows (e.g. 8@192(%rsp)): an argument read from memory."""
    notes = readelf_probes(request.getfixturevalue(name))
    stack_slot = re.compile(r"^-?\d+@-?\d+\(%(rsp|rbp)\)$")
    for note in notes:
        assert any(stack_slot.match(a) for a in note["arguments"]), note


@needs_gdb
def test_probes_pass_each_line_as_gdb_reads_them(build, tmp_path):
    name, binary = build
    msgs = tmp_path / "m.msgs"
    write_messages(msgs, MESSAGES)
    hits, line = probe_hits(binary, str(msgs))
    assert [as_tuple(h) for h in hits] == expected_hits(MESSAGES)
    assert replayed(line) == len(MESSAGES)
    if name in SEMA_BUILDS:  # gdb raised the semaphores, as a tracer does
        inbound = sum(m[0] == "in" for m in MESSAGES)
        assert fired_counts(line) == (inbound, len(MESSAGES) - inbound, 0)


def big_session(n=30, big_every=5):
    """n messages of 4 peers; every big_every-th one a 2-3 MiB block."""
    out = []
    for i in range(n):
        peer = i % 4
        size = (2 << 20) + i * 20011 if i % big_every == 0 else 10 + i
        payload = hashlib.sha256(bytes([i])).digest() * (size // 32) + bytes(size % 32)
        out.append(
            (
                "in" if i % 3 else "out",
                peer,
                f"10.0.0.{peer}:9999",
                "inbound",
                "block" if size > 1 << 20 else "tx",
                payload,
            )
        )
    return out


@pytest.mark.parametrize("name", CXX_BUILDS)
def test_threads_replay_every_line(request, name, tmp_path):
    binary = request.getfixturevalue(name)
    messages = big_session()
    msgs = tmp_path / "big.msgs"
    write_messages(msgs, messages)
    out = subprocess.run(
        [str(binary), "--threads", "3", "--repeat", "2", str(msgs)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert replayed(out) == 2 * len(messages)
    assert int(out.split()[3]) == 2 * sum(len(m[5]) for m in messages)


@needs_gdb
def test_each_thread_replays_its_share_in_file_order(standin_cxx, tmp_path):
    messages = big_session()
    msgs = tmp_path / "big.msgs"
    write_messages(msgs, messages)
    hits, line = probe_hits(standin_cxx, "--threads", "3", str(msgs))
    assert replayed(line) == len(messages)
    by_thread: dict[str, list] = {}
    for hit in hits:
        by_thread.setdefault(hit.thread, []).append(as_tuple(hit))
    expected = expected_hits(messages)
    assert by_thread == {f"replay.{t}": expected[t::3] for t in range(3)}


def test_threads_run_at_once(standin_cxx, tmp_path):
    msgs = tmp_path / "slow.msgs"
    write_messages(msgs, big_session(12, big_every=4))
    node = start_node(standin_cxx, msgs, "--threads", "3", "--rate", "6")
    try:
        node.send_signal(signal.SIGUSR1)

        def names():
            tasks = os.listdir(f"/proc/{node.pid}/task")
            return sorted(Path(f"/proc/{node.pid}/task/{t}/comm").read_text().strip() for t in tasks)

        assert wait_for(lambda: names().count("replay.0") == 1 and len(names()) == 4, timeout=10), names()
        assert names()[1:] == ["replay.0", "replay.1", "replay.2"]
        assert replayed(node.stdout.read()) == 12
    finally:
        node.kill()
        node.wait()


# --- semaphores -----------------------------------------------------------------


@pytest.mark.parametrize("name", SEMA_BUILDS)
def test_nothing_fires_while_the_semaphores_are_0(request, name, tmp_path):
    msgs = tmp_path / "m.msgs"
    write_messages(msgs, MESSAGES)
    out = subprocess.run(
        [str(request.getfixturevalue(name)), str(msgs)], capture_output=True, text=True, check=True
    ).stdout
    assert replayed(out) == len(MESSAGES)
    assert fired_counts(out) == (0, 0, len(MESSAGES))


@pytest.mark.parametrize("name", SEMA_BUILDS)
def test_a_raised_semaphore_makes_its_probe_fire(request, name, tmp_path):
    """Raise only inbound's semaphore while the node waits: exactly the inbound lines fire."""
    msgs = tmp_path / "m.msgs"
    write_messages(msgs, MESSAGES * 10)
    node = start_node(request.getfixturevalue(name), msgs, "--hold")
    try:
        assert semaphore_values(node.pid) == {"net:inbound_message": 0, "net:outbound_message": 0}
        assert write_semaphore(node.pid, "net:inbound_message", 1) == 0
        assert semaphore_values(node.pid) == {"net:inbound_message": 1, "net:outbound_message": 0}
        node.send_signal(signal.SIGUSR1)
        line = node.stdout.readline()  # printed before --hold waits
        inbound = 10 * sum(m[0] == "in" for m in MESSAGES)
        assert replayed(line) == 10 * len(MESSAGES)
        assert fired_counts(line) == (inbound, 0, 10 * len(MESSAGES) - inbound)
        # Held: still alive, its semaphores still readable (and restorable).
        assert node.poll() is None
        assert semaphore_values(node.pid)["net:inbound_message"] == 1
        assert write_semaphore(node.pid, "net:inbound_message", 0) == 1
        assert semaphore_values(node.pid) == {"net:inbound_message": 0, "net:outbound_message": 0}
        node.send_signal(signal.SIGUSR2)
        assert node.wait(10) == 0
    finally:
        if node.poll() is None:
            node.kill()
            node.wait()


def test_semaphores_of_a_deleted_binary(standin_sema, tmp_path):
    """Read through /proc/PID/exe: the file may be gone (a node upgraded under its feet)."""
    copy = tmp_path / "dashd"
    shutil.copy(standin_sema, copy)
    msgs = tmp_path / "m.msgs"
    write_messages(msgs, MESSAGES)
    node = start_node(copy, msgs)
    try:
        copy.unlink()
        write_semaphore(node.pid, "net:outbound_message", 3)
        assert semaphore_values(node.pid) == {"net:inbound_message": 0, "net:outbound_message": 3}
        node.send_signal(signal.SIGUSR1)
        outbound = sum(m[0] == "out" for m in MESSAGES)
        assert fired_counts(node.stdout.read()) == (0, outbound, len(MESSAGES) - outbound)
    finally:
        node.kill()
        node.wait()


def test_semaphore_addresses_are_the_link_time_ones_plus_the_load_bias(standin_sema, tmp_path):
    msgs = tmp_path / "m.msgs"
    write_messages(msgs, MESSAGES)
    node = start_node(standin_sema, msgs)
    try:
        link = {f"{n.provider}:{n.name}": n.semaphore for n in read_elf_info(standin_sema).notes}
        bias = load_bias(node.pid)
        assert bias and bias % os.sysconf("SC_PAGE_SIZE") == 0  # a PIE, loaded somewhere
        assert semaphore_addresses(node.pid) == {p: bias + a for p, a in link.items()}
        # The address is inside a writable mapping of the executable.
        address = semaphore_addresses(node.pid)["net:inbound_message"]
        inode = os.stat(standin_sema).st_ino
        spans = [line.split() for line in Path(f"/proc/{node.pid}/maps").read_text().splitlines()]
        assert any(
            int(s[4]) == inode
            and "w" in s[1]
            and int(s[0].split("-")[0], 16) <= address < int(s[0].split("-")[1], 16)
            for s in spans
        )
    finally:
        node.kill()
        node.wait()


def test_plain_builds_have_no_semaphores_to_read(standin_cxx, tmp_path):
    msgs = tmp_path / "m.msgs"
    write_messages(msgs, MESSAGES)
    node = start_node(standin_cxx, msgs)
    try:
        assert semaphore_values(node.pid) == {}
    finally:
        node.kill()
        node.wait()


# --- peers that come and go -------------------------------------------------


def test_churn_never_reuses_an_id():
    lines = make_churn.churn(peers=60, live=5, messages=6, seed=3)
    gone, first_seen = set(), []
    for _direction, peer, _addr, _conn, command, _payload in lines:
        assert peer not in gone, f"peer {peer} back after its disconnection"
        if peer not in first_seen:
            first_seen.append(peer)
        if command == make_churn.DISCONNECT:
            gone.add(peer)
    assert first_seen == list(range(60))  # new ids count up
    assert gone == set(range(60))  # and every peer leaves
    assert min(Counter(line[1] for line in lines).values()) >= 5  # handshake (4) and disconnection
    sessions = {}
    for _d, peer, addr, conn, command, _p in lines:
        sessions.setdefault(peer, []).append(command)
        assert (addr, conn) == sessions.setdefault(("who", peer), (addr, conn))
    for peer in range(60):
        assert sorted(sessions[peer][:4]) == ["verack", "verack", "version", "version"]
        assert sessions[peer][-1] == make_churn.DISCONNECT
    # Addresses come back under new ids.
    ids_per_addr = Counter(addr for _d, peer, addr, _c, command, _p in lines if command == "-")
    assert max(ids_per_addr.values()) >= 2
    # Several peers connected at a time, never more than --live.
    connected, most = set(), 0
    for _d, peer, _a, _c, command, _p in lines:
        if command == make_churn.DISCONNECT:
            connected.discard(peer)
        else:
            connected.add(peer)
        most = max(most, len(connected))
    assert 2 <= most <= 5


def test_churn_script_writes_the_same_lines(tmp_path):
    out = tmp_path / "churn.msgs"
    subprocess.run(
        ["python3", str(Path(make_churn.__file__)), str(out), "--peers", "12", "--seed", "5"],
        check=True,
        capture_output=True,
    )
    expected = tmp_path / "expected.msgs"
    make_churn.write(expected, make_churn.churn(peers=12, seed=5))
    assert out.read_text() == expected.read_text() and out.read_text().count("\t-\t") == 12


@pytest.mark.parametrize("name", ["standin", "standin_cxx"])
def test_disconnection_lines_fire_nothing(request, name, tmp_path):
    lines = make_churn.churn(peers=30, seed=4)
    msgs = tmp_path / "churn.msgs"
    make_churn.write(msgs, lines)
    out = subprocess.run(
        [str(request.getfixturevalue(name)), "--threads", "2", str(msgs)]
        if name == "standin_cxx"
        else [str(request.getfixturevalue(name)), str(msgs)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert replayed(out) == sum(1 for line in lines if line[4] != "-")


@needs_gdb
def test_cxx_frees_a_disconnected_peers_strings(standin_cxx, tmp_path):
    """Every hit names its own line's peer, and a later peer's address lives
    where an earlier, disconnected peer's did: the memory was freed and reused,
    so a reader that cached strings by pointer would name the wrong peer."""
    lines = make_churn.churn(peers=40, live=3, messages=4, seed=2)
    msgs = tmp_path / "churn.msgs"
    make_churn.write(msgs, lines)
    hits, line = probe_hits(standin_cxx, str(msgs))
    assert [as_tuple(h) for h in hits] == expected_hits(lines)
    owners: dict[int, set[int]] = {}
    for hit in hits:
        owners.setdefault(hit.addr_ptr, set()).add(hit.peer_id)
    assert max(len(peers) for peers in owners.values()) >= 2
    assert len(owners) < 40  # fewer address blocks than peers


@needs_gdb
@pytest.mark.parametrize("name", SEMA_BUILDS)
def test_the_guard_skips_the_probe_instruction(request, name, tmp_path):
    """Breakpoints on the probe sites' own addresses (no semaphore raised by
    them): never reached while the semaphores are 0; with inbound's set to 1
    (by address, before the replay), reached once per inbound line."""
    binary = request.getfixturevalue(name)
    msgs = tmp_path / "m.msgs"
    write_messages(msgs, MESSAGES)
    notes = read_elf_info(binary).notes
    pcs = [n.pc for n in notes]
    inbound_sema = {n.semaphore for n in notes if n.name == "inbound_message"}
    assert pc_hits(binary, pcs, [], str(msgs))[0] == 0
    inbound = sum(m[0] == "in" for m in MESSAGES)
    hits, out = pc_hits(binary, pcs, inbound_sema, str(msgs))
    assert hits == inbound and fired_counts(out) == (inbound, 0, len(MESSAGES) - inbound)
