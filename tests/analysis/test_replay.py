"""``p2pcap replay``: offline with pacing (JSON lines, the Python callback),
and against a node, here a small listener that checks every frame: magic,
command field, length and SHA256d checksum (Dash Core src/protocol.h
CMessageHeader)."""

from __future__ import annotations

import hashlib
import json
import socket
import struct
import subprocess
import threading
import time

import pytest

import p2pcap
from p2pcap.analysis.replaying import synthesized_version
from p2pcap.formats import CaptureWriter, Gap, Message

from ..conftest import p2pcap_cmd
from .standin_session import PEER0, PEER1, recorded_session

REGTEST = bytes.fromhex("fcc1b7dc")
T0 = 1_700_000_000_000_000_000


@pytest.fixture(scope="module")
def session(tmp_path_factory, ebpf, standin):
    return recorded_session(tmp_path_factory, standin)


def run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(p2pcap_cmd(*args), capture_output=True, text=True, timeout=timeout)


def frame(magic: bytes, command: str, payload: bytes) -> bytes:
    check = hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4]
    return magic + command.encode().ljust(12, b"\0") + struct.pack("<I", len(payload)) + check + payload


class Listener:
    """A pretend node on 127.0.0.1: accepts one connection, checks every
    frame, answers ``version`` with ``version`` + ``verack`` (unless told to
    stay silent), and keeps what it got."""

    def __init__(self, magic: bytes, *, answer: bool = True, reply_magic: bytes | None = None):
        self.magic, self.answer = magic, answer
        self.reply_magic = reply_magic or magic
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.received: list[tuple[str, bytes]] = []
        self.errors: list[str] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _read(self, conn, n: int) -> bytes | None:
        data = b""
        while len(data) < n:
            chunk = conn.recv(n - len(data))
            if not chunk:
                return None
            data += chunk
        return data

    def _serve(self) -> None:
        self.server.settimeout(20)
        try:
            conn, _ = self.server.accept()
        except OSError:
            return
        with conn:
            conn.settimeout(20)
            while True:
                head = self._read(conn, 24)
                if head is None:
                    return
                magic, raw, length, check = struct.unpack("<4s12sI4s", head)
                name, _, pad = raw.partition(b"\0")
                if magic != self.magic:
                    self.errors.append(f"magic {magic.hex()}")
                if pad.strip(b"\0") or not name or not all(0x20 <= b <= 0x7E for b in name):
                    self.errors.append(f"command field {raw!r}")
                payload = self._read(conn, length) or b""
                if hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4] != check:
                    self.errors.append(f"checksum of {name!r}")
                self.received.append((name.decode(), payload))
                if name == b"version" and self.answer:
                    node_version = synthesized_version("127.0.0.1", 1, nonce=42)
                    conn.sendall(
                        frame(self.reply_magic, "version", node_version)
                        + frame(self.reply_magic, "verack", b"")
                        + frame(self.reply_magic, "ping", bytes(8))
                    )

    def close(self) -> None:
        self.server.close()
        self.thread.join(5)


def inbound_of(session, peer_id: int) -> list[tuple[str, bytes]]:
    return [(m[4], m[5]) for m in session.messages if m[0] == "in" and m[1] == peer_id]


# -- against a node ------------------------------------------------------------


@pytest.mark.ebpf
def test_replays_a_peer_with_its_own_version(session):
    listener = Listener(session.magic)
    done = run(
        "replay",
        str(session.capture),
        "--to",
        listener.target,
        "--peer",
        str(PEER0[0]),
        "--no-pacing",
        "--linger",
        "0.2",
        *session.network_args,
    )
    listener.close()
    assert done.returncode == 0, done.stderr
    assert listener.errors == []
    assert listener.received == inbound_of(session, PEER0[0])  # byte for byte, version first
    line = done.stderr.strip()
    sent = inbound_of(session, PEER0[0])
    assert line.startswith(
        f"sent {len(sent)} messages ({sum(len(p) for _, p in sent)} payload bytes) of peer 0 (pid "
    )
    assert f"to {listener.target}; node sent 3: version 1, verack 1, ping 1" in line


@pytest.mark.ebpf
def test_replays_a_peer_recorded_mid_connection_after_our_handshake(session):
    listener = Listener(session.magic)
    done = run(
        "replay",
        str(session.capture),
        "--to",
        listener.target,
        "--peer",
        str(PEER1[0]),
        "--no-pacing",
        "--linger",
        "0",
        *session.network_args,
    )
    listener.close()
    assert done.returncode == 0, done.stderr
    assert listener.errors == []
    commands = [c for c, _ in listener.received]
    assert commands[:2] == ["version", "verack"]
    assert listener.received[2:] == inbound_of(session, PEER1[0])
    version = listener.received[0][1]
    assert struct.unpack_from("<i", version)[0] == 70238
    assert b"/p2pcap:" in version
    assert "(version made by p2pcap)" in done.stderr


@pytest.mark.ebpf
def test_wrong_network_is_named(session):
    listener = Listener(session.magic, reply_magic=b"\xde\xad\xbe\xef")
    done = run(
        "replay",
        str(session.capture),
        "--to",
        listener.target,
        "--peer",
        "0",
        "--timeout",
        "5",
        *session.network_args,
    )
    listener.close()
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"Error: {listener.target}: handshake failed: node's network magic is deadbeef, not "
        f"{session.magic.hex()} ({session.network}): give --network"
    ]


@pytest.mark.ebpf
def test_silent_node_times_out(session):
    listener = Listener(session.magic, answer=False)
    start = time.monotonic()
    done = run(
        "replay",
        str(session.capture),
        "--to",
        listener.target,
        "--peer",
        "0",
        "--timeout",
        "0.5",
        *session.network_args,
    )
    listener.close()
    assert time.monotonic() - start < 15
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"Error: {listener.target}: handshake timed out after 0.5 s waiting for version, verack"
    ]


@pytest.mark.ebpf
def test_refused_connection_and_unknown_peer(session):
    with socket.create_server(("127.0.0.1", 0)) as s:
        port = s.getsockname()[1]
    done = run(
        "replay", str(session.capture), "--to", f"127.0.0.1:{port}", "--peer", "0", *session.network_args
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"Error: 127.0.0.1:{port}: cannot connect: Connection refused"
    ]
    done = run("replay", str(session.capture), "--to", "127.0.0.1:1", "--peer", "5", *session.network_args)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"Error: {session.capture}: no peer 5 in this capture (peers: 0, 1, 7)"
    ]


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["--peer", "0", "--peer", "1"],
            "--to needs exactly one --peer N (a peer id, or PID:N; see `p2pcap show`)",
        ),
        (
            ["--peer", "0", "--type", "inv"],
            "--to replays one peer's inbound messages as recorded: --type do not apply",
        ),
        (
            ["--peer", "0"],
            "{cap}: the capture's network is unknown: give --network "
            "(mainnet, testnet, devnet, regtest) to pick the message magic",
        ),
    ],
)
def test_to_mistakes_are_one_line(tmp_path, args, message):
    cap = tmp_path / "u.cap"
    with CaptureWriter(cap, {"network": "unknown"}) as w:
        w.write(Message(T0, 5, 0, "10.0.0.1:9999", "inbound", "in", "verack", 0, b""))
    done = run("replay", str(cap), "--to", "127.0.0.1:1", *args)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [f"Error: {message.format(cap=cap)}"]


def test_to_with_network_override_and_pid_form(tmp_path):
    cap = tmp_path / "r.cap"
    with CaptureWriter(cap, {"network": "unknown"}) as w:
        w.write(Message(T0, 5, 3, "10.0.0.1:9999", "inbound", "in", "ping", 8, bytes(8)))
        w.write(Message(T0, 6, 3, "10.0.0.2:9999", "inbound", "in", "pong", 8, bytes(8)))
    done = run("replay", str(cap), "--to", "127.0.0.1:1", "--peer", "3", "--network", "regtest")
    assert done.returncode == 2 and "peer 3 exists in pids 5, 6: give --pid" in done.stderr
    listener = Listener(REGTEST)
    done = run(
        "replay", str(cap), "--to", listener.target, "--peer", "6:3", "--network", "regtest", "--linger", "0"
    )
    listener.close()
    assert done.returncode == 0, done.stderr
    assert listener.errors == []
    assert [c for c, _ in listener.received] == ["version", "verack", "pong"]


# -- offline ---------------------------------------------------------------------


@pytest.mark.ebpf
def test_offline_json_lines_match_show(session):
    done = run("replay", str(session.capture), "--no-pacing", "--hex")
    assert done.returncode == 0, done.stderr
    assert [json.loads(line) for line in done.stdout.splitlines()] == session.shown()
    done = run("replay", str(session.capture), "--no-pacing", "--type", "ping,pong", "--peer", "7")
    assert [json.loads(line)["command"] for line in done.stdout.splitlines()] == ["ping", "pong"]


def paced_capture(path) -> None:
    with CaptureWriter(path, {"network": "regtest"}) as w:
        for i, command in enumerate(("ping", "pong", "ping", "pong")):
            w.write(
                Message(T0 + i * 400_000_000, 5, 0, "10.0.0.1:19899", "inbound", "in", command, 8, bytes(8))
            )
        w.write(Gap(T0 + 4 * 400_000_000, 5, 1, 2, 16))


def test_cli_keeps_the_pacing_divided_by_speed(tmp_path):
    cap = tmp_path / "paced.cap"
    paced_capture(cap)
    start = time.monotonic()
    done = run("replay", str(cap), "--speed", "4")
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert done.returncode == 0, done.stderr
    assert [line.get("command") for line in lines] == ["ping", "pong", "ping", "pong", None]
    assert lines[-1]["gap"] is True
    # 1.6 s of capture at speed 4 is 0.4 s; the interpreter's start-up adds some.
    assert 0.4 <= time.monotonic() - start < 5


def test_api_callback_with_pacing(tmp_path):
    cap = tmp_path / "paced.cap"
    paced_capture(cap)
    now = [100.0]
    sleeps = []

    def sleep(seconds):
        sleeps.append(round(seconds, 6))
        now[0] += seconds

    seen = []
    count = p2pcap.replay(cap, seen.append, speed=2, clock=lambda: now[0], sleep=sleep)
    assert count == 4
    assert [m.command for m in seen] == ["ping", "pong", "ping", "pong"]
    assert sleeps == [0.2, 0.2, 0.2]
    sleeps.clear()
    p2pcap.replay(cap, seen.append, max_sleep=0.1, gaps=True, clock=lambda: now[0], sleep=sleep)
    assert sleeps == [0.1, 0.1, 0.1, 0.1]
    sleeps.clear()
    assert p2pcap.replay(cap, lambda r: None, pacing=False, sleep=sleep) == 4 and sleeps == []


# -- pauses from a stranger's capture (issue 22; p2pcap/analysis/pacing.py) --------


class Clock:
    """A clock that ``sleep`` moves on; ``limit`` sleeps at most, then it stops the replay."""

    def __init__(self, limit: int = 10_000):
        self.now, self.sleeps, self.limit = 100.0, [], limit

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert 0 <= seconds <= 86_400  # no negative pause, no NaN, nothing time.sleep would refuse
        self.sleeps.append(seconds)
        self.now += seconds
        if len(self.sleeps) >= self.limit:
            raise StopIteration("enough")


def gap_capture(path, gap_ns: int):
    with CaptureWriter(path, {"network": "regtest"}) as w:
        for ts in (T0, T0 + 1_000_000, T0 + gap_ns, T0 + gap_ns + 500_000_000):
            w.write(Message(ts, 5, 0, "10.0.0.1:19899", "inbound", "in", "ping", 8, bytes(8)))
    return path


def test_a_huge_gap_is_capped_by_default(tmp_path):
    cap = gap_capture(tmp_path / "gap.cap", (1 << 63) - T0 - 10**9)  # to the end of int64 time
    clock = Clock()
    assert p2pcap.replay(cap, lambda r: None, clock=clock, sleep=clock.sleep) == 4
    assert [round(s, 6) for s in clock.sleeps] == [0.001, 10.0, 0.5]  # MAX_SLEEP, then the spacing goes on


def test_max_sleep_0_waits_a_huge_gap_in_pieces_without_overflow(tmp_path):
    from p2pcap.analysis.pacing import SLEEP_PIECE

    cap = gap_capture(tmp_path / "gap.cap", (1 << 63) - T0 - 10**9)  # 200 years: past what time.sleep takes
    clock = Clock(limit=50)
    with pytest.raises(StopIteration):  # still waiting after 50 pieces: it would go on, not raise
        p2pcap.replay(cap, lambda r: None, max_sleep=0, clock=clock, sleep=clock.sleep)
    assert clock.sleeps[0] == pytest.approx(0.001)
    assert clock.sleeps[1:] == [SLEEP_PIECE] * 49


def test_pacer_takes_any_gap_and_speed():
    from p2pcap.analysis.pacing import Pacer

    for speed in (1e-300, 1.0, 1e300):
        clock = Clock(limit=5)
        pacer = Pacer(speed, True, 10.0, clock, clock.sleep)
        for ts in (0, (1 << 64) - 1, 0, (1 << 64) - 1, 5):
            pacer.wait(ts)  # forward 584 years, back, forward: never NaN, never more than 10 s
        assert all(0 <= s <= 10.0 for s in clock.sleeps)
    with pytest.raises(p2pcap.errors.ArgumentError):
        Pacer(float("inf"), True, 10.0)
    with pytest.raises(p2pcap.errors.ArgumentError):
        Pacer(1.0, True, float("nan"))


def test_cli_max_sleep(tmp_path):
    """``--max-sleep`` caps a pause (default 10 s); with 0 a 100-year gap is
    waited for, without a traceback, until the process is stopped."""
    cap = gap_capture(tmp_path / "gap.cap", 100 * 365 * 86_400 * 10**9)
    start = time.monotonic()
    done = run("replay", str(cap), "--max-sleep", "0.2")
    assert done.returncode == 0, done.stderr
    assert len(done.stdout.splitlines()) == 4 and time.monotonic() - start < 30
    with pytest.raises(subprocess.TimeoutExpired) as waited:
        run("replay", str(cap), "--max-sleep", "0", timeout=8)
    out = waited.value.stdout or b""
    err = waited.value.stderr or b""
    assert len(out.splitlines()) == 2 and b"Traceback" not in err, err  # the two before the gap
    help_text = " ".join(run("replay", "--help").stdout.split())
    assert "--max-sleep SECONDS" in help_text and "[default: 10.0" in help_text
