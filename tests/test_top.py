"""``top``: the live per-peer view, its model on made-up records, and the real
command driven in tmux (send-keys, capture-pane) against a recording stand-in.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections import Counter

import pytest

from p2pcap.analysis.toptable import TopTable
from p2pcap.formats.records import Gap, Message

from .analysis.captures import SAMPLE, sample_messages
from .conftest import ROOT

NS = 1_000_000_000


def msg(t_s, peer, direction, command, payload=b"\x00" * 8, pid=7):
    return Message(
        int(t_s * NS), pid, peer, f"10.0.0.{peer}:9999", "inbound", direction, command, len(payload), payload
    )


def test_rates_ping_version_losses_and_forgetting():
    table = TopTable(window_s=5, gone_after_ns=10 * NS)
    for i in range(1000):  # peer 1: 100 msg/s in for 10 s, peer 2: 20 msg/s out
        table.add(msg(i / 100, 1, "in", "inv", bytes(37)))
        if i % 5 == 0:
            table.add(msg(i / 100, 2, "out", "tx", bytes(250)))
    table.add(msg(9.995, 2, "out", "ping", (42).to_bytes(8, "little")))
    table.add(msg(9.999, 2, "in", "pong", (42).to_bytes(8, "little")))
    table.add(Gap(int(9.5 * NS), 7, 1, 12, 1200))
    rows = {r.peer_id: r for r in table.rows()}
    assert abs(rows[1].rate_in - 100) < 1 and rows[1].rate_out == 0
    assert abs(rows[2].rate_out - 20) < 1 and abs(rows[2].byte_rate_out - 20 * 250) < 300
    assert rows[2].ping_ns == 4_000_000 and rows[2].last_command == "< pong"
    assert rows[1].losses == rows[2].losses == 12
    assert [r.peer_id for r in table.rows(sort="out")] == [2, 1]
    assert [c for _t, _d, c, _s, _p in table.recent((7, 2))][-2:] == ["ping", "pong"]
    table.add(
        msg(
            30,
            3,
            "in",
            "version",
            bytes.fromhex(dict((m[4], m[5].hex()) for m in sample_messages())["version"]),
        )
    )
    assert [r.peer_id for r in table.rows()] == [3]  # 1 and 2 silent for 20 s: gone
    assert table.rows()[0].version.startswith("/Dash Core:")


# -- the real command in tmux -------------------------------------------------------------
def _tmux():
    found = shutil.which("tmux")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("tmux is not installed (scripts/hostsetup.py TEST installs it)")
        pytest.skip("tmux is not installed")
    return found


class Tmux:
    def __init__(self, name: str, command: str, width: int = 200, height: int = 40):
        self.tmux, self.name = _tmux(), name
        subprocess.run([self.tmux, "kill-session", "-t", name], capture_output=True)
        subprocess.run(
            [self.tmux, "new-session", "-d", "-s", name, "-x", str(width), "-y", str(height), command],
            check=True,
        )
        # Detached, a window takes tmux's default size unless told otherwise.
        subprocess.run(
            [self.tmux, "resize-window", "-t", name, "-x", str(width), "-y", str(height)], check=True
        )

    def keys(self, *keys: str) -> None:
        subprocess.run([self.tmux, "send-keys", "-t", self.name, *keys], check=True)

    def screen(self) -> str:
        return subprocess.run(
            [self.tmux, "capture-pane", "-p", "-t", self.name], capture_output=True, text=True, check=True
        ).stdout

    def wait_for(self, pattern: str, timeout: float = 60) -> str:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            text = self.screen()
            if re.search(pattern, text):
                return text
            time.sleep(0.25)
        raise AssertionError(f"{pattern!r} never showed; the screen:\n{self.screen()}")

    def close(self) -> None:
        subprocess.run([self.tmux, "kill-session", "-t", self.name], capture_output=True)


ROW = re.compile(r"^\s*(\d+)\s+(\S+)\s+(\S+)\s+([\d.]+)\s+([\d.]+)\s+", re.M)


def _rows(screen: str) -> dict:
    return {int(m.group(1)): (m.group(2), float(m.group(4)), float(m.group(5))) for m in ROW.finditer(screen)}


def test_top_in_tmux_against_a_recording_standin(ebpf, standin, tmp_path):
    rate, seconds = 1500, 30
    err = tmp_path / "err.txt"
    done = tmp_path / "status"
    command = " ".join(
        shlex.quote(x)
        for x in (
            sys.executable,
            "-m",
            "p2pcap",
            "top",
            "--forget",
            "5",
            "--",
            str(standin),
            "--rate",
            str(rate),
        )
    )
    command += (
        f" --repeat 0 --duration {seconds} {shlex.quote(str(SAMPLE))} 2> {err}; echo $? > {done}; sleep 60"
    )
    tmux = Tmux("p2pcap-top-test", f"cd {shlex.quote(str(ROOT))} && {command}")
    try:
        tmux.wait_for(r"p2pcap top: 3 peers", timeout=90)
        time.sleep(7)  # a whole rate window of steady traffic
        end = time.monotonic() + 20
        screen = tmux.screen()
        while len(_rows(screen)) < 3 and time.monotonic() < end:  # a screen caught mid-draw
            time.sleep(0.3)
            screen = tmux.screen()
        rows = _rows(screen)
        shares = Counter((m[1], m[0]) for m in sample_messages())
        total = sum(shares.values())
        assert set(rows) == {0, 1, 2}, screen
        addresses = {m[1]: m[2] for m in sample_messages()}
        for peer, (addr, rate_in, rate_out) in rows.items():
            assert addresses[peer].startswith(addr.rstrip("…")), screen
            rows[peer] = (
                rate_in,
                rate_out,
                rate * shares[(peer, "in")] / total,
                rate * shares[(peer, "out")] / total,
            )
        # The detail view of the selected row, then back, then another sort column.
        tmux.keys("Down")
        tmux.keys("Enter")
        detail = tmux.wait_for(r"latest messages")
        assert re.search(r"\b(in|out)\s+(version|verack|inv|getdata|tx|ping|pong|headers)\b", detail)
        tmux.keys("Escape")
        tmux.wait_for(r"sort rate desc")
        tmux.keys("s")
        tmux.wait_for(r"sort bytes desc")
        tmux.keys("q")
        end = time.monotonic() + 30
        while not done.exists() and time.monotonic() < end:
            time.sleep(0.2)
        assert done.read_text().strip() == "0", err.read_text()
    finally:
        tmux.close()
    # The stand-in's own count ("replayed N messages, ... in T s") for the rate it kept.
    own = re.search(r"replayed (\d+) messages, \d+ payload bytes in ([\d.]+) s", err.read_text())
    if own is not None:  # q may stop it before it says so; then the configured rate stands
        rate = int(own.group(1)) / float(own.group(2))
    for peer, (rate_in, rate_out, want_in, want_out) in rows.items():
        want_in, want_out = want_in * rate / 1500, want_out * rate / 1500
        assert abs(rate_in - want_in) <= 0.1 * want_in, (peer, rate_in, want_in)
        assert abs(rate_out - want_out) <= 0.1 * want_out, (peer, rate_out, want_out)


def test_top_batch_with_peers_coming_and_going(ebpf, standin, tmp_path):
    sys.path.insert(0, str(ROOT / "tests" / "standin"))
    from make_churn import churn

    from .capture.live import write_messages

    lines = churn(peers=40, live=3, messages=40, seed=3)
    msgs = tmp_path / "churn.msgs"
    write_messages(msgs, lines)
    sessions = {peer: (addr, conn) for _d, peer, addr, conn, command, _p in lines if command != "-"}
    per_peer = Counter(peer for _d, peer, _a, _c, command, _p in lines if command != "-")
    rate, forget = 100, 1.5
    out = subprocess.run(
        [sys.executable, "-m", "p2pcap", "top", "-b", "-d", "1", "--forget", str(forget), "--", str(standin)]
        + ["--rate", str(rate), str(msgs)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stderr
    tables = [t for t in out.stdout.split("\n\n") if t.startswith("p2pcap top:")]
    # At most the live peers, and those that left within --forget seconds (and a
    # second of block delay): each peer sends at least min(per_peer) messages.
    most = 3 + int(rate * (forget + 2) / min(per_peer.values())) + 1
    seen = set()
    for t in tables:
        shown = {int(m.group(1)): (m.group(2), m.group(3)) for m in ROW.finditer(t)}
        for peer, (addr, conn) in shown.items():
            assert sessions[peer] == (addr, conn), t  # a reconnection is a new id, never an old row
        assert len(shown) <= most, t
        seen |= set(shown)
    assert len(seen) >= len(sessions) // 2  # peers came and went through the table
    assert "replayed" in out.stderr  # the stand-in's own line, passed through
