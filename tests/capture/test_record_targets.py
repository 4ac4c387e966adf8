"""Targets, privileges and the header, through real uprobes.

--exe records every process of a binary, also ones started after the
recorder; with neither --pid nor --exe the one running dashd is recorded;
under sudo everything after attaching runs as the invoking user; the file
header says what was recorded and how.  Needs root and BCC.
"""

from __future__ import annotations

import os
import platform
import shutil
import signal
import subprocess
import time

import pytest

from p2pcap.capture import targets

from ..conftest import p2pcap_cmd
from .live import (
    children_of,
    environ,
    finish,
    messages_of,
    read_capture,
    record_standin,
    start_node,
    start_recorder,
    status_of,
    summary_line,
    write_messages,
)

pytestmark = pytest.mark.ebpf


def messages_for(peer: int, n: int):
    return [("in", peer, f"10.2.0.{peer}:9999", "inbound", "inv", bytes([peer, i]) * 20) for i in range(n)]


def private_copy(standin, tmp_path, name):
    """Uprobes are per inode: a copy keeps other tests' stand-ins out of --exe."""
    path = tmp_path / name
    shutil.copy(standin, path)
    return path


def test_exe_catches_a_node_started_later(tmp_path, ebpf, standin):
    exe = private_copy(standin, tmp_path, "node")
    early, late = tmp_path / "early.msgs", tmp_path / "late.msgs"
    write_messages(early, messages_for(1, 30))
    write_messages(late, messages_for(2, 40))
    capture = tmp_path / "exe.cap"
    first = start_node(exe, early, "-regtest")
    rec, listening = start_recorder("-o", str(capture), "--exe", str(exe))
    try:
        assert "every process" in listening and "network regtest" in listening
        first.send_signal(signal.SIGUSR1)
        first.wait(30)
        second = start_node(exe, late)  # started while recording
        second.send_signal(signal.SIGUSR1)
        second.wait(30)
        time.sleep(1.2)  # the recorder looks at its targets twice a second
        rec.send_signal(signal.SIGINT)
        done = finish(rec, listening, timeout=60)
    finally:
        for p in (first, rec):
            if p.poll() is None:
                p.kill()
    assert done.returncode == 130, done.stderr  # Ctrl-C: interrupted, the capture closed
    records, metadata = read_capture(capture)
    got = messages_of(records)
    assert [(m.pid, m.peer_id, m.payload) for m in got] == (
        [(first.pid, 1, m[5]) for m in messages_for(1, 30)]
        + [(second.pid, 2, m[5]) for m in messages_for(2, 40)]
    )
    assert f"pid {second.pid} appeared: recording it too" in done.stderr
    assert f"pid {first.pid} exited" in done.stderr  # noted, the recording goes on
    assert summary_line(done) == "70 messages, 2800 payload bytes, 0 lost"
    assert metadata["target"]["exe"] == str(exe) and metadata["target"]["pids"] == []


def test_pid_exit_ends_the_recording_and_is_noted(tmp_path, ebpf, standin):
    msgs = tmp_path / "m.msgs"
    write_messages(msgs, messages_for(3, 5))
    recorder, _ = record_standin(standin, msgs, tmp_path / "pid.cap")
    assert recorder.returncode == 0
    assert "exited" in recorder.stderr and summary_line(recorder).startswith("5 messages")


def test_without_a_target_the_running_dashd_is_recorded(tmp_path, ebpf, standin):
    if targets.find_daemons():
        pytest.skip("a dashd already runs here")
    exe = private_copy(standin, tmp_path, "dashd")
    msgs = tmp_path / "m.msgs"
    write_messages(msgs, messages_for(4, 10))
    node = start_node(exe, msgs, "-testnet", "--linger", "0.3")
    try:
        rec, listening = start_recorder("-o", str(tmp_path / "auto.cap"))
        node.send_signal(signal.SIGUSR1)
        node.wait(30)
        done = finish(rec, listening)
    finally:
        node.kill()
    assert f"pid {node.pid}" in listening and "network testnet" in listening
    assert summary_line(done) == "10 messages, 400 payload bytes, 0 lost"
    _, metadata = read_capture(tmp_path / "auto.cap")
    assert metadata["target"]["found_by"] == "the only running dashd"


def test_no_dashd_is_one_line(tmp_path, ebpf):
    if targets.find_daemons():
        pytest.skip("a dashd runs here")
    proc = subprocess.run(
        p2pcap_cmd("record", "-o", str(tmp_path / "x.cap")), capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == "Error: no running dashd found: give --pid PID or --exe PATH"


def test_the_header_says_what_was_recorded(tmp_path, ebpf, standin):
    msgs = tmp_path / "m.msgs"
    write_messages(msgs, messages_for(5, 3))
    before = time.time_ns()
    recorder, _ = record_standin(
        standin, msgs, tmp_path / "meta.cap", "--type", "inv", node_args=("-devnet=p2pcap-test",)
    )
    _, meta = read_capture(tmp_path / "meta.cap")
    target = meta["target"]
    assert target["exe"] == str(standin) and len(target["pids"]) == 1
    assert target["build_id"] and all(c in "0123456789abcdef" for c in target["build_id"])
    assert {"net:inbound_message", "net:outbound_message"} <= set(target["probes"])
    assert meta["kernel"] == platform.release() and meta["tool"] == "p2pcap" and meta["tool_version"]
    assert meta["command_line"][1:3] == ["record", "-o"] and "--type" in meta["command_line"]
    assert before <= meta["start_time_ns"] <= time.time_ns()
    assert meta["network"] == target["network"] == "devnet"
    assert target["devnet_name"] == "p2pcap-test"
    assert meta["network_source"] == "command line: -devnet=p2pcap-test"
    assert meta["filters"]["types"] == ["inv"]


def test_under_sudo_the_recording_runs_and_writes_as_the_user(tmp_path, public_dir, ebpf, standin):
    out_dir = public_dir
    msgs = tmp_path / "m.msgs"
    write_messages(msgs, messages_for(6, 200))
    node = start_node(standin, msgs, "--rate", "200", "--linger", "0.3")
    env = environ(SUDO_UID="65534", SUDO_GID="65534", SUDO_USER="nobody")
    try:
        rec, listening = start_recorder(
            "-o", str(out_dir / "run.cap"), "--pid", str(node.pid), "--rotate-time", "0.5", env=env
        )
        node.send_signal(signal.SIGUSR1)
        time.sleep(0.5)
        recording = status_of(rec.pid)
        helpers = children_of(rec.pid)
        helper = status_of(helpers[0]) if helpers else None
        node.wait(30)
        done = finish(rec, listening)
    finally:
        node.kill()
    assert done.returncode == 0, done.stderr
    assert recording["Uid"] == ["65534"] * 4 and recording["Gid"] == ["65534"] * 4
    assert recording["CapEff"] == ["0000000000000000"]
    assert helper is not None and helper["Uid"][0] == "0"  # holds the probes, detaches at the end
    files = sorted(out_dir.iterdir())
    assert len(files) >= 2
    assert all((f.stat().st_uid, f.stat().st_gid) == (65534, 65534) for f in files)
    assert sum(len(messages_of(read_capture(f)[0])) for f in files) == 200
    assert not children_of(rec.pid)  # the helper is gone
    _, meta = read_capture(files[0])
    assert meta["recorded_as_uid"] == 65534


def test_under_sudo_a_place_only_root_can_write_is_one_line(tmp_path, ebpf, standin):
    msgs = tmp_path / "m.msgs"
    write_messages(msgs, messages_for(6, 1))
    node = start_node(standin, msgs)
    try:
        proc = subprocess.run(
            p2pcap_cmd("record", "-o", str(tmp_path / "x.cap"), "--pid", str(node.pid)),
            capture_output=True,
            text=True,
            timeout=60,
            env=environ(SUDO_UID="65534", SUDO_GID="65534"),
        )
    finally:
        node.kill()
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().endswith(
        "x.cap: cannot create: Permission denied (files are created as nobody, who ran sudo)"
    )


def test_the_fallback_reader_gives_the_same_bytes(tmp_path, ebpf, standin):
    """libbpf's callback path (other machines than x86-64) is a complete reader too."""
    messages = [("out", 0, "127.0.0.1:1", "manual", "block", os.urandom(n)) for n in (10, 70_000, 8)]
    msgs = tmp_path / "m.msgs"
    write_messages(msgs, messages)
    recorder, _ = record_standin(standin, msgs, tmp_path / "cb.cap", env=environ(P2PCAP_RINGBUF="callback"))
    assert recorder.returncode == 0, recorder.stderr
    got = messages_of(read_capture(tmp_path / "cb.cap")[0])
    assert [m.payload for m in got] == [m[5] for m in messages]
