"""Drive a stand-in node and a real ``p2pcap record`` together."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

from p2pcap.formats import Gap, Message, open_capture

from ..conftest import p2pcap_cmd


def write_messages(path: Path, messages) -> None:
    """messages: (direction, peer_id, addr, conn_type, command, payload bytes)."""
    with open(path, "w") as f:
        for direction, peer, addr, conn, command, payload in messages:
            f.write(f"{direction}\t{peer}\t{addr}\t{conn}\t{command}\t{payload.hex()}\n")


def start_node(standin: Path, messages_file: Path, *node_args: str) -> subprocess.Popen:
    """A stand-in node waiting for SIGUSR1 (so a recorder can attach first)."""
    node = subprocess.Popen(
        [str(standin), "--wait-signal", *node_args, str(messages_file)], stdout=subprocess.PIPE, text=True
    )
    line = node.stdout.readline()
    if not line.startswith("waiting for SIGUSR1"):
        node.kill()
        raise AssertionError(f"the stand-in did not start: {line!r}")
    return node


def start_recorder(*record_args: str, env=None, stdout=None) -> tuple[subprocess.Popen, str]:
    """``p2pcap record ARGS`` once it listens; returns (process, its first stderr line)."""
    rec = subprocess.Popen(
        p2pcap_cmd("record", *record_args), stderr=subprocess.PIPE, stdout=stdout, text=True, env=env
    )
    first = rec.stderr.readline()
    if not first.startswith("listening on"):
        rec.kill()
        raise AssertionError(f"recorder did not start: {first}{rec.stderr.read()}")
    return rec, first


def finish(rec: subprocess.Popen, first: str, timeout: float = 120) -> subprocess.CompletedProcess:
    out, rest = rec.communicate(timeout=timeout)
    return subprocess.CompletedProcess(rec.args, rec.returncode, out, first + rest)


def record_standin(
    standin: Path,
    messages_file: Path,
    capture: Path,
    *record_args: str,
    node_args=(),
    timeout: float = 120,
    env=None,
) -> tuple[subprocess.CompletedProcess, str]:
    """Start the node waiting, record it until it exits; return (recorder, node stdout)."""
    node = start_node(standin, messages_file, "--linger", "0.3", *node_args)
    try:
        rec, first = start_recorder("-o", str(capture), "--pid", str(node.pid), *record_args, env=env)
        node.send_signal(signal.SIGUSR1)
        node_out = node.stdout.read()
        node.wait(timeout)
        return finish(rec, first, timeout), node_out
    finally:
        if node.poll() is None:
            node.kill()


def replayed(node_out: str) -> int:
    """N from the stand-in's "replayed N messages, ..." line."""
    return int(node_out.split()[1])


def summary_line(recorder: subprocess.CompletedProcess) -> str:
    return recorder.stderr.strip().splitlines()[-1]


def read_capture(*paths) -> tuple[list, dict]:
    """Every record of the files, in order, and the first file's metadata."""
    records, metadata = [], None
    for path in paths:
        with open_capture(path) as reader:
            metadata = reader.metadata if metadata is None else metadata
            records.extend(reader.records())
    return records, metadata


def messages_of(records) -> list[Message]:
    return [r for r in records if type(r) is Message]


def gaps_of(records) -> list[Gap]:
    return [r for r in records if type(r) is Gap]


def show_json(capture: Path, *args: str) -> list[dict]:
    out = subprocess.run(
        p2pcap_cmd("show", str(capture), "--json", "--hex", *args), capture_output=True, text=True, check=True
    ).stdout
    return [json.loads(line) for line in out.splitlines()]


def status_of(pid: int) -> dict:
    """/proc/PID/status as a dict of its fields."""
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            fields[key] = value.split()
    return fields


def children_of(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


def wait_for(predicate, timeout: float = 30.0, interval: float = 0.05) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(interval)
    return False


def environ(**extra: str) -> dict:
    env = dict(os.environ)
    env.update(extra)
    return env
