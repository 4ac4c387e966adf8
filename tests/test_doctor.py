"""``p2pcap doctor``: one line per check, exit 1 on any FAIL, never a traceback."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import pytest

from .capture.live import start_node, write_messages
from .conftest import p2pcap_cmd

LINE_LABELS = ("ok    ", "warn  ", "FAIL  ")


def doctor(*args: str, prefix=(), **kw) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*prefix, *p2pcap_cmd("doctor", *args)], capture_output=True, text=True, timeout=60, **kw
    )


def lines_of(proc: subprocess.CompletedProcess) -> list[str]:
    assert "Traceback" not in proc.stderr + proc.stdout, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert lines and all(line.startswith(LINE_LABELS) for line in lines), proc.stdout
    return lines


def test_help_shows_an_example():
    proc = subprocess.run(p2pcap_cmd("doctor", "--help"), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0
    assert "p2pcap doctor --pid " in proc.stdout


def test_a_binary_without_probes_fails():
    proc = doctor("--exe", "/bin/true")
    lines = lines_of(proc)
    assert proc.returncode == 1
    assert any(line.startswith("FAIL  ") and "has no net:inbound_message probe" in line for line in lines)


def test_no_such_binary():
    proc = doctor("--exe", "/nonexistent/dashd")
    assert proc.returncode == 1
    assert "FAIL  /nonexistent/dashd: no such file" in lines_of(proc)


def test_without_privileges_fails():
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("needs root to drop to an unprivileged user")
    # nobody, keeping only CAP_DAC_READ_SEARCH to read a clone that may sit in
    # a folder only root can read (as test_cli_errors.test_record_without_root).
    keep = "+dac_read_search"
    prefix = (
        "setpriv",
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        f"--inh-caps={keep}",
        f"--ambient-caps={keep}",
        f"--bounding-set=-all,{keep}",
    )
    proc = doctor("--exe", "/bin/true", prefix=prefix, env={**os.environ, "HOME": "/tmp"})
    assert proc.returncode == 1
    assert lines_of(proc)[0].startswith("FAIL  recording needs root, or CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN")


@pytest.fixture
def node(standin, tmp_path):
    messages = tmp_path / "messages.tsv"
    write_messages(messages, [("in", 1, "127.0.0.1:19899", "inbound", "ping", b"\0" * 8)])
    proc = start_node(standin, messages)
    yield proc
    proc.kill()
    proc.wait()


def test_doctor_on_the_standin(ebpf, node, standin):
    proc = doctor("--pid", str(node.pid))
    lines = lines_of(proc)
    assert proc.returncode == 0, proc.stdout
    assert lines[0] == "ok    privileges: root"
    assert lines[1].startswith(("ok    kernel ", "warn  kernel "))
    assert any(line.startswith("ok    BCC ") for line in lines)
    assert any(line.startswith("ok    kernel headers at ") for line in lines)
    assert any(line.startswith("ok    tracefs mounted at ") for line in lines)
    exe = os.path.realpath(standin)
    assert f"ok    target {exe} (pid {node.pid}, --pid)" in lines
    for name in ("inbound_message", "outbound_message"):  # the operands between the brackets
        (line,) = [line for line in lines if f" net:{name} in " in line]
        assert line.startswith(f"ok    net:{name} in {exe}: 6 arguments (") and line.endswith(
            "), no semaphore"
        )


def test_json(ebpf, node):
    proc = doctor("--pid", str(node.pid), "--json")
    report = json.loads(proc.stdout)
    assert proc.returncode == 0 and report["ok"] is True
    assert [c["check"] for c in report["checks"]][:5] == ["privileges", "kernel", "bcc", "headers", "tracefs"]
    assert {c["status"] for c in report["checks"]} <= {"ok", "warn"}
