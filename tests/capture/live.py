"""Drive a stand-in node and a real ``p2pcap record`` together."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

from ..conftest import p2pcap_cmd


def write_messages(path: Path, messages) -> None:
    """messages: (direction, peer_id, addr, conn_type, command, payload bytes)."""
    with open(path, "w") as f:
        for direction, peer, addr, conn, command, payload in messages:
            f.write(f"{direction}\t{peer}\t{addr}\t{conn}\t{command}\t{payload.hex()}\n")


def record_standin(standin: Path, messages_file: Path, capture: Path, *record_args: str,
                   node_args=(), timeout: float = 120) -> tuple[subprocess.CompletedProcess, str]:
    """Start the node waiting, record it until it exits; return (recorder, node stdout)."""
    node = subprocess.Popen([str(standin), "--wait-signal", "--linger", "0.3", *node_args, str(messages_file)],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert node.stdout.readline().startswith("waiting for SIGUSR1")
        rec = subprocess.Popen(p2pcap_cmd("record", "-o", str(capture), "--pid", str(node.pid), *record_args),
                               stderr=subprocess.PIPE, text=True)
        first = rec.stderr.readline()
        if not first.startswith("listening on"):
            rec.kill()
            raise AssertionError(f"recorder did not start: {first}{rec.stderr.read()}")
        node.send_signal(signal.SIGUSR1)
        node_out = node.stdout.read()
        node.wait(timeout)
        rest = rec.communicate(timeout=timeout)[1]
        return subprocess.CompletedProcess(rec.args, rec.returncode, "", first + rest), node_out
    finally:
        if node.poll() is None:
            node.kill()


def show_json(capture: Path, *args: str) -> list[dict]:
    out = subprocess.run(p2pcap_cmd("show", str(capture), "--json", "--hex", *args),
                         capture_output=True, text=True, check=True).stdout
    return [json.loads(line) for line in out.splitlines()]


def wait_for(predicate, timeout: float = 30.0, interval: float = 0.05) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(interval)
    return False
