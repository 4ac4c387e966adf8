"""``record`` mistakes end in one precise line, exit status 2 (usage and trouble), no traceback."""

from __future__ import annotations

import os
import subprocess

import pytest

from ..conftest import p2pcap_cmd


def record(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(p2pcap_cmd("record", *args), capture_output=True, text=True, timeout=60)


def one_line(proc: subprocess.CompletedProcess, expected: str) -> None:
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0] == f"Error: {expected}", proc.stderr


@pytest.mark.parametrize(
    "args,expected",
    [
        (
            ("--type", "averyverylongcommand"),
            "--type 'averyverylongcommand': a command is at most 12 printable ASCII characters",
        ),
        (("--rotate-size", "lots"), "--rotate-size 'lots': not a size (e.g. 100M, 1G, 65536)"),
        (("--rotate-time", "soon"), "--rotate-time 'soon': not a duration (e.g. 30s, 250ms, 10m, 1h, 2d)"),
        (("--duration", "0"), "--duration '0': a duration must be positive"),
    ],
)
def test_bad_options(args, expected):
    one_line(record("-o", os.devnull, "--pid", "1", *args), expected)


def test_stdout_cannot_rotate():
    one_line(
        record("-o", "-", "--pid", "1", "--rotate-size", "1M"),
        "cannot rotate files when writing to standard output (-o -)",
    )


def test_a_ring_that_is_not_a_power_of_two(ebpf):
    one_line(
        record("-o", os.devnull, "--pid", str(os.getpid()), "--buffer-size", "12K"),
        "ring buffer size must be a power-of-two number of pages, got 12288 bytes",
    )
