"""A stranger's capture cannot drive the terminal (issue: "Safe as root, safe with a stranger's capture").

Every string a capture carries -- peer address, connection type, command,
a version message's user agent, the metadata's host -- is planted with an
OSC title sequence, colours, BEL, CR LF (a forged line), a bidirectional
override and bytes that are not UTF-8.  No table, tree, summary or error
line of show, stats, diff, check or filter may pass one of them through
raw; JSON keeps them exactly.
"""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from p2pcap.formats import CaptureWriter, Message

from .analysis.captures import sample_messages
from .conftest import p2pcap_cmd

EVIL = "\x1b]0;owned\x07\x1b[31m\r\nforged line\u202e" + b"\xff\xfe".decode("utf-8", "surrogateescape")
AGENT = EVIL  # a sub_ver is any bytes on the wire (Core reads a std::string)
RAW = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202e\udc80-\udcff]")  # all but \t and \n


def evil_version() -> bytes:
    payload = next(p for d, _, _, _, c, p in sample_messages() if c == "version")
    agent = b"/Dash Core:22.1.0/"
    start = payload.index(bytes([len(agent)]) + agent)
    evil = AGENT.encode("utf-8", "surrogateescape")
    return payload[:start] + bytes([len(evil)]) + evil + payload[start + 1 + len(agent) :]


@pytest.fixture(scope="module")
def captures(tmp_path_factory):
    folder = tmp_path_factory.mktemp("evil")
    evil, clean = folder / "evil.cap", folder / "clean.cap"
    for path, text in ((evil, EVIL), (clean, "")):
        with CaptureWriter(path, {"network": "regtest", "host": "host" + text}) as w:
            w.write(Message(1, 7, 3, "10.0.0.1:9999" + text, "inbound" + text, "in", "version", 0, b""))
            w.write(
                Message(2, 7, 3, "10.0.0.1:9999" + text, "inbound" + text, "in", "ping" + text, 8, bytes(8))
            )
            payload = (
                evil_version()
                if text
                else evil_version().replace(AGENT.encode("utf-8", "surrogateescape"), b"x")
            )
            w.write(
                Message(
                    3, 7, 4, "1.2.3.4:1" + text, "outbound" + text, "out", "version", len(payload), payload
                )
            )
    return evil, clean


def run(*args) -> subprocess.CompletedProcess:
    return subprocess.run(p2pcap_cmd(*map(str, args)), capture_output=True, timeout=120)


@pytest.mark.parametrize(
    "args",
    [
        ("show", "{evil}"),
        ("show", "{evil}", "-n"),
        ("show", "{evil}", "-v", "-x"),
        ("show", "{evil}", "-t", "r"),
        ("stats", "{evil}"),
        ("stats", "{evil}", "--scan", "--biggest", "3"),
        ("diff", "{evil}", "{clean}"),
        ("check", "{evil}"),
        ("filter", "{evil}", "-o", "{out}", "--type", "version"),
    ],
    ids=lambda a: " ".join(a).replace("{", "").replace("}", ""),
)
def test_no_control_character_reaches_the_terminal(captures, tmp_path, args):
    evil, clean = captures
    done = run(*(a.format(evil=evil, clean=clean, out=tmp_path / "o.cap") for a in args))
    assert done.returncode in (0, 1), done.stderr
    for stream in (done.stdout, done.stderr):
        text = stream.decode("utf-8", "surrogateescape")
        assert not RAW.search(text), RAW.search(text)
        assert "Traceback" not in text
    shown = done.stdout.decode() + done.stderr.decode()
    if args[0] in ("show", "stats", "diff"):
        assert "\\x1b]0;owned\\x07" in shown  # escaped, so the reader sees what was there


def test_json_keeps_the_strings_exact(captures):
    evil, _ = captures
    done = run("show", evil, "--json")
    assert done.returncode == 0
    objs = [json.loads(line) for line in done.stdout.decode().splitlines()]
    assert objs[0]["peer_addr"] == "10.0.0.1:9999" + EVIL.replace(EVIL[-2:], "\udcff\udcfe")
    assert objs[2]["decoded"]["sub_ver"] == AGENT
