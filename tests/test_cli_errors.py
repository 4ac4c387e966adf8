"""User mistakes end in one clear line and a non-zero exit, never a traceback."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from p2pcap.formats import CaptureWriter, Message

from .conftest import p2pcap_cmd


def run(*args, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(p2pcap_cmd(*args), capture_output=True, text=True, timeout=60, **kw)


def assert_one_line_error(proc: subprocess.CompletedProcess, *needles: str) -> None:
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


@pytest.fixture
def capture(tmp_path) -> Path:
    path = tmp_path / "ok.cap"
    with CaptureWriter(path, {"network": "regtest"}, flush_interval=0) as writer:
        for i in range(50):
            writer.write(
                Message(
                    1_700_000_000_000_000_000 + i,
                    42,
                    i % 3,
                    "127.0.0.1:19899",
                    "inbound",
                    "in",
                    "ping",
                    8,
                    i.to_bytes(8, "little"),
                )
            )
            writer.flush()
    return path


def test_not_a_capture(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("these are my notes, not a capture\n")
    assert_one_line_error(run("show", str(path)), str(path))


def test_empty_file(tmp_path):
    path = tmp_path / "empty.cap"
    path.write_bytes(b"")
    assert_one_line_error(run("show", str(path)), str(path))


def test_missing_file(tmp_path):
    proc = run("show", str(tmp_path / "nope.cap"))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "does not exist" in proc.stderr


def test_cut_inside_the_header(capture, tmp_path):
    cut = tmp_path / "cut.cap"
    cut.write_bytes(capture.read_bytes()[:10])
    assert_one_line_error(run("show", str(cut)), str(cut))


def test_cut_inside_a_block_shows_what_came_before_and_warns(capture, tmp_path):
    data = capture.read_bytes()
    cut = tmp_path / "cut.cap"
    cut.write_bytes(data[: len(data) // 2])
    proc = run("show", str(cut), "--json")
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    shown = proc.stdout.splitlines()
    assert 0 < len(shown) < 50
    assert "did not end cleanly (cut short" in proc.stderr, proc.stderr


def test_record_against_a_binary_without_probes(ebpf):
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        proc = run("record", "-o", os.devnull, "--pid", str(sleeper.pid))
    finally:
        sleeper.kill()
    assert_one_line_error(proc, "no net:inbound_message probe", "USDT")


def test_record_without_root(tmp_path, standin):
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("needs root to drop to an unprivileged user")
    # nobody (uid 65534), keeping one capability: CAP_DAC_READ_SEARCH, to read
    # the clone and its .venv, which may sit in a folder only root can read
    # (none of the capabilities recording needs, and no way to regain them:
    # the bounding set holds only that one).
    keep = "+dac_read_search"
    proc = subprocess.run(
        [
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            f"--inh-caps={keep}",
            f"--ambient-caps={keep}",
            f"--bounding-set=-all,{keep}",
            *p2pcap_cmd("record", "-o", str(tmp_path / "x.cap"), "--pid", str(os.getpid())),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "HOME": "/tmp"},
    )
    assert_one_line_error(proc, "needs root")


def test_record_unknown_pid():
    proc = run("record", "-o", os.devnull, "--pid", "999999999")
    assert proc.returncode != 0 and "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["export", "{cap}", "-o", "{missing}/x.pcapng"],
        ["export", "{cap}", "-o", "{missing}/x.jsonl"],
        ["export", "{cap}", "-o", "{missing}/x.parquet"],
        ["repair", "{cap}", "-o", "{missing}/x.cap"],
        ["filter", "{cap}", "-o", "{missing}/x.cap"],
        ["merge", "{cap}", "-o", "{missing}/x.cap"],
        ["anonymize", "{cap}", "-o", "{missing}/x.cap"],
        ["anonymize", "{cap}", "-o", "{tmp}/a.cap", "--mapping", "{missing}/map.json"],
        ["stats", "{cap}", "--plot", "{missing}/rates.png"],
    ],
)
def test_an_output_in_a_missing_folder_is_one_line_naming_it(capture, tmp_path, args):
    missing = tmp_path / "no" / "such" / "dir"
    argv = [a.format(cap=capture, missing=missing, tmp=tmp_path) for a in args]
    proc = run(*argv)
    named = next(a for a in argv if a.startswith(str(missing)))
    action = {".png": "cannot write the plot", ".json": "cannot write the mapping"}.get(
        Path(named).suffix, "cannot write"
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"Error: {named}: {action}: "), proc.stderr
    # pyarrow words it its own way; everything else is the system's message.
    assert lines[0].endswith("No such file or directory"), proc.stderr
    assert not missing.exists()
