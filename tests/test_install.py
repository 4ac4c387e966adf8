"""``make install`` for real: install -> record -> show -> uninstall.

The install goes to a temporary PREFIX (the machine's /usr/local is left
alone) through the same Makefile recipe as ``sudo make install``.  The
installed binary runs from / with a clean environment, so it cannot fall
back on this clone's sources; it records the stand-in node and shows the
capture, then ``make uninstall`` removes every file it made.
"""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import pytest

from .capture.live import start_node, write_messages
from .conftest import ROOT

pytestmark = pytest.mark.ebpf

CLEAN_ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}
MESSAGES = [
    ("out", 0, "127.0.0.1:19899", "outbound-full-relay", "ping", (7).to_bytes(8, "little")),
    ("in", 0, "127.0.0.1:19899", "outbound-full-relay", "pong", (7).to_bytes(8, "little")),
    ("in", 3, "[2001:db8::1]:51234", "inbound", "sendheaders", b""),
    ("out", 3, "[2001:db8::1]:51234", "inbound", "feefilter", (1000).to_bytes(8, "little")),
]


def make(target: str, prefix: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["make", "--no-print-directory", "-C", str(ROOT), target, f"PREFIX={prefix}"],
        capture_output=True,
        text=True,
        timeout=900,
    )


def installed(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(
        list(args), capture_output=True, text=True, timeout=120, cwd="/", env=CLEAN_ENV, **kw
    )


def test_install_record_show_uninstall(tmp_path, ebpf, standin):
    prefix = tmp_path / "prefix"
    libdir, binary = prefix / "lib" / "p2pcap", prefix / "bin" / "p2pcap"
    try:
        proc = make("install", prefix)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert binary.is_symlink() and binary.resolve() == (libdir / "bin" / "p2pcap").resolve()

        # the installed tool, not the clone: from /, with nothing of ours on the path
        assert installed(str(binary), "--version").stdout.strip() == "p2pcap, version 0.1.0"
        assert "record" in installed(str(binary), "--help").stdout
        where = installed(
            str(libdir / "bin" / "python"), "-c", "import p2pcap, p2pcap.capture, bcc; print(p2pcap.__file__)"
        ).stdout.strip()
        assert Path(where).is_relative_to(libdir), where
        for pth in libdir.glob("lib/python3*/site-packages/*.pth"):  # no editable hook into the clone
            assert str(ROOT) not in pth.read_text(), pth

        # record the stand-in node with the installed binary
        messages_file, capture = tmp_path / "session.msgs", tmp_path / "run.cap"
        write_messages(messages_file, MESSAGES)
        node = start_node(standin, messages_file, "--linger", "0.3")
        try:
            rec = subprocess.Popen(
                [str(binary), "record", "-o", str(capture), "--pid", str(node.pid)],
                stderr=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                cwd="/",
                env=CLEAN_ENV,
            )
            first = rec.stderr.readline()
            if not first.startswith("listening on"):
                rec.kill()
                pytest.fail(f"the installed recorder did not start: {first}{rec.stderr.read()}")
            node.send_signal(signal.SIGUSR1)
            node.stdout.read()
            node.wait(60)
            _, rest = rec.communicate(timeout=120)
        finally:
            if node.poll() is None:
                node.kill()
        assert rec.returncode == 0, first + rest
        assert rest.strip().splitlines()[-1].startswith(f"{len(MESSAGES)} messages"), rest

        shown = installed(str(binary), "show", str(capture), "--json", "--hex")
        assert shown.returncode == 0, shown.stderr
        records = [json.loads(line) for line in shown.stdout.splitlines()]
        assert [(r["direction"], r["peer_id"], r["command"], r["payload_hex"]) for r in records] == [
            (d, peer, command, payload.hex()) for d, peer, _, _, command, payload in MESSAGES
        ]
        assert all(r["pid"] == node.pid for r in records)

        proc = make("uninstall", prefix)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert not binary.exists() and not binary.is_symlink()
        assert not libdir.exists()
    finally:
        if libdir.exists():
            make("uninstall", prefix)
