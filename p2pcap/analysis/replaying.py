"""``replay``: re-run a capture, offline or against a node.

Offline, records are handed to a callback (the CLI prints JSON lines) in
file order, each when it is due: the capture's own spacing divided by
``speed``, or at once with ``pacing=False``.

Against a node (``replay_to_node``), one peer's inbound messages — what the
node received from that peer — are sent again over a fresh v1 connection
(Dash Core src/protocol.h CMessageHeader: the magic of the capture's
network, SHA256d checksum), to reproduce what that peer made the node do:

1. connect; send our ``version``: the peer's recorded one if its inbound
   stream starts with it, else one made here (our protocol version, no
   services, user agent ``/p2pcap:<version>/``);
2. wait for the node's ``version`` and ``verack``; if we made the version,
   send a ``verack`` too;
3. send the rest of the peer's inbound messages in order, paced as recorded.

What the node sends back is read (so its send buffer never fills) and
counted, never answered: the bytes the node gets are those of the capture.
Every wait has a time limit; every failure is one line saying which step
and how far it got.

>>> import p2pcap
>>> p2pcap.replay("run.cap", print, speed=10)  # doctest: +SKIP
"""

from __future__ import annotations

import collections
import os
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from importlib.metadata import version as package_version

from p2pcap.analysis.errors import AnalysisError, ReplayError
from p2pcap.analysis.filters import RecordFilter
from p2pcap.analysis.pacing import MAX_SLEEP, Pacer
from p2pcap.analysis.pipeline import open_pipeline
from p2pcap.analysis.source import capture_network
from p2pcap.errors import ArgumentError
from p2pcap.formats.peeraddr import split_host_port
from p2pcap.formats.records import Gap
from p2pcap.formats.v1 import HEADER_LEN, MAX_SIZE, checksum, frame_v1, network_magic, parse_header_v1


def replay(
    path,
    callback,
    *,
    speed: float = 1.0,
    pacing: bool = True,
    max_sleep: float | None = MAX_SLEEP,
    filt: RecordFilter | None = None,
    gaps: bool = False,
    decoded: bool = False,
    warn=None,
    with_version: bool = False,
    network: str | None = None,
    clock=time.monotonic,
    sleep=time.sleep,
) -> int:
    """Call ``callback(record)`` for each message of a capture, in file order,
    each when it is due: the recorded spacing divided by ``speed``
    (``pacing=False``: no waiting; ``max_sleep``: cap any single pause, in
    seconds, ``MAX_SLEEP`` unless given; 0 keeps every recorded pause:
    ``pacing.py``).  ``filt`` (a ``RecordFilter``, the options ``show`` takes)
    selects messages; with ``gaps=True`` gap records are passed on too.
    With ``decoded=True`` the callback gets ``(record, decoded, error)``,
    decoded with the version its peer-session negotiated; ``with_version``
    adds a fourth argument, (that version, how it is known), for gaps None;
    ``network`` overrides the capture's (address prefixes), and a capture
    that names none is said so through ``warn`` first.
    Returns how many
    messages were passed on.  Damaged blocks are skipped; ``warn(problem)``
    then hears of each (an ``InputProblem``: damaged block, torn tail, no
    footer) after the last record.

    >>> import p2pcap
    >>> seen = []
    >>> p2pcap.replay("run.cap", seen.append, speed=10)  # doctest: +SKIP
    1204
    """
    pacer = Pacer(speed, pacing, max_sleep, clock, sleep)
    passed = 0
    with open_pipeline(path, filt, decode=decoded, network=network) as selection:
        if decoded and warn is not None:
            selection.say_unknown_network(warn)
        for record in selection:
            is_gap = type(record) is Gap
            if is_gap and not gaps:
                continue
            pacer.wait(record.ts_ns)
            if not decoded:
                callback(record)
            elif is_gap:
                callback(record, None, None, *((None,) if with_version else ()))
            elif with_version:
                callback(record, *selection.decoded(record), selection.version_info(record))
            else:
                callback(record, *selection.decoded(record))
            passed += not is_gap
        if warn is not None:
            for problem in selection.problems():
                warn(problem)
    return passed


# -- against a node ------------------------------------------------------------


@dataclass
class NodeReplaySummary:
    target: str
    peer_id: int
    pid: int
    sent: int = 0
    sent_bytes: int = 0
    own_handshake: bool = False
    received: collections.Counter = field(default_factory=collections.Counter)
    closed_by_node: bool = False
    problems: list = field(default_factory=list)  # InputProblem of the capture

    def line(self) -> str:
        got = sum(self.received.values())
        top = ", ".join(f"{c} {n}" for c, n in self.received.most_common(6))
        made = " (version made by p2pcap)" if self.own_handshake else ""
        text = (
            f"sent {self.sent} messages ({self.sent_bytes} payload bytes) of peer {self.peer_id} "
            f"(pid {self.pid}) to {self.target}{made}; node sent {got}" + (f": {top}" if top else "")
        )
        if self.closed_by_node:
            text += "; then the node closed the connection"
        return text


def parse_target(target: str) -> tuple[str, int]:
    """``HOST:PORT`` or ``[IPv6]:PORT`` -> (host, port).

    >>> parse_target("[::1]:19899"), parse_target("127.0.0.1:9999")
    (('::1', 19899), ('127.0.0.1', 9999))
    """
    host, port, _bracketed = split_host_port(target)
    if port is None or not port.isdigit() or not 0 < int(port) <= 0xFFFF or not host:
        raise ArgumentError("target", "expected HOST:PORT (IPv6 as [addr]:port)", value=target)
    return host, int(port)


def choose_session(reader, peer_id: int, pid: int | None) -> int:
    """The pid of the peer-session to replay; errors list what is there."""
    sessions = reader.summarize().peers
    pids = sorted({s.pid for s in sessions if s.peer_id == peer_id and (pid is None or s.pid == pid)})
    if not pids:
        known = (
            ", ".join(
                sorted({f"{s.peer_id}" + (f" (pid {s.pid})" if pid is not None else "") for s in sessions})
            )
            or "none"
        )
        raise AnalysisError(
            f"{reader.path}: no peer {peer_id}"
            + (f" in pid {pid}" if pid is not None else "")
            + f" in this capture (peers: {known})"
        )
    if len(pids) > 1:
        raise ArgumentError(
            "pid", f"{reader.path}: peer {peer_id} exists in pids {', '.join(map(str, pids))}: give {{arg}}"
        )
    return pids[0]


def synthesized_version(host: str, port: int, nonce: int | None = None) -> bytes:
    """A ``version`` payload (Dash Core src/net_processing.cpp PushNodeVersion), Dash's
    optional mnauth challenge and masternode flag included."""
    from p2pcap.decoders import PROTOCOL_VERSION

    def service(ip: str | None, p: int) -> bytes:
        raw = bytes(16)
        if ip is not None:
            try:
                packed = (
                    socket.inet_pton(socket.AF_INET6, ip)
                    if ":" in ip
                    else b"\0" * 10 + b"\xff\xff" + socket.inet_aton(ip)
                )
                raw = packed
            except OSError:
                pass  # a host name: send the all-zero address, as Core does for names
        return struct.pack("<Q", 0) + raw + struct.pack(">H", p)

    agent = f"/p2pcap:{package_version('p2pcap')}/".encode()
    return b"".join(
        (
            struct.pack("<iQq", PROTOCOL_VERSION, 0, int(time.time())),  # version, services, time
            service(host, port),  # addr_recv
            service(None, 0),  # addr_from: all zero, like Dash
            struct.pack("<Q", nonce if nonce is not None else int.from_bytes(os.urandom(8), "little")),
            bytes([len(agent)]) + agent,  # CompactSize length < 0xFD
            struct.pack("<i?", 0, True),  # start height, relay
            os.urandom(32),
            b"\0",  # mnauth challenge, not a masternode connection
        )
    )


class _Connection:
    """One v1 connection: send frames; a reader thread takes the node's."""

    def __init__(self, sock: socket.socket, magic: bytes, network: str, target: str):
        self.sock, self.magic, self.network, self.target = sock, magic, network, target
        self.received: collections.Counter = collections.Counter()
        self.seen = threading.Condition()
        self.closed = False
        self.error: str | None = None
        self._thread = threading.Thread(target=self._read_loop, name="p2pcap-replay-reader", daemon=True)
        self._thread.start()

    def send(self, command: str, payload: bytes, done: int) -> None:
        if self.error:
            raise ReplayError(f"{self.target}: stopped after {done} messages: {self.error}")
        try:
            self.sock.sendall(frame_v1(self.magic, command, payload))
        except TimeoutError:
            raise ReplayError(
                f"{self.target}: sending {command!r} timed out after {done} messages "
                f"(the node stopped reading)"
            ) from None
        except OSError as exc:
            raise ReplayError(
                f"{self.target}: connection lost while sending {command!r} after {done} "
                f"messages: {exc.strerror or exc}{self._why()}"
            ) from None

    def wait_for(self, commands, timeout: float) -> None:
        end = time.monotonic() + timeout
        with self.seen:
            while not all(self.received[c] for c in commands):
                if self.error:
                    raise ReplayError(f"{self.target}: handshake failed: {self.error}")
                if self.closed:
                    missing = [c for c in commands if not self.received[c]]
                    raise ReplayError(
                        f"{self.target}: handshake failed: the node closed the connection "
                        f"before sending {', '.join(missing)}"
                    )
                left = end - time.monotonic()
                if left <= 0:
                    missing = [c for c in commands if not self.received[c]]
                    raise ReplayError(
                        f"{self.target}: handshake timed out after {timeout:g} s "
                        f"waiting for {', '.join(missing)}"
                    )
                self.seen.wait(left)

    def _why(self) -> str:
        return f" ({self.error})" if self.error else ""

    def _read_exact(self, n: int) -> bytes | None:
        chunks, got = [], 0
        while got < n:
            try:
                data = self.sock.recv(min(n - got, 1 << 16))
            except TimeoutError:
                continue  # the node is quiet; keep listening
            except OSError:
                return None
            if not data:
                return None
            chunks.append(data)
            got += len(data)
        return b"".join(chunks)

    def _read_loop(self) -> None:
        try:
            while True:
                head = self._read_exact(HEADER_LEN)
                if head is None:
                    return
                try:
                    magic, command, length, check = parse_header_v1(head)
                except ValueError as exc:
                    self.error = f"node sent a bad header: {exc}"
                    return
                if magic != self.magic:
                    self.error = (
                        f"node's network magic is {magic.hex()}, not {self.magic.hex()} "
                        f"({self.network}): give --network"
                    )
                    return
                if length > MAX_SIZE:
                    self.error = f"node sent a {command!r} header claiming {length} bytes"
                    return
                payload = self._read_exact(length)
                if payload is None:
                    return
                if checksum(payload) != check:
                    self.error = f"node sent {command!r} with a bad checksum"
                    return
                with self.seen:
                    self.received[command] += 1
                    self.seen.notify_all()
        finally:
            with self.seen:
                self.closed = True
                self.seen.notify_all()

    def close(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        self._thread.join(2)


def replay_to_node(
    path,
    target: str,
    peer_id: int,
    *,
    pid: int | None = None,
    network: str | None = None,
    speed: float = 1.0,
    pacing: bool = True,
    max_sleep: float | None = MAX_SLEEP,
    timeout: float = 10.0,
    linger: float = 1.0,
    clock=time.monotonic,
    sleep=time.sleep,
) -> NodeReplaySummary:
    """Send peer ``peer_id``'s inbound messages to the node at ``target``
    (``HOST:PORT``) over a new v1 connection; see the module doc for the
    steps.  ``timeout`` bounds the connect, the handshake and every send;
    ``linger`` seconds are spent reading the node's replies at the end.
    """
    host, port = parse_target(target)
    pacer = Pacer(speed, pacing, max_sleep, clock, sleep)
    with open_pipeline(path) as p:
        reader = p.reader
        net = capture_network(reader.metadata, network, path)
        magic = network_magic(net)
        pid = choose_session(reader, peer_id, pid)
        summary = NodeReplaySummary(target, peer_id, pid)
        inbound = (
            m
            for m in reader.records(gaps=False)
            if m.pid == pid and m.peer_id == peer_id and m.direction == "in"
        )
        first = next(inbound, None)
        if first is None:
            raise AnalysisError(
                f"{path}: peer {peer_id} (pid {pid}) sent the node no messages: nothing to replay"
            )
        try:
            sock = socket.create_connection((host, port), timeout=timeout)
        except OSError as exc:
            raise ReplayError(f"{target}: cannot connect: {exc.strerror or exc}") from None
        sock.settimeout(timeout)
        conn = _Connection(sock, magic, net, target)
        try:
            if first.command == "version" and not first.partial:
                conn.send("version", first.payload, 0)
                summary.sent, summary.sent_bytes = 1, len(first.payload)
                pacer.wait(first.ts_ns)
                pending = None
            else:
                conn.send("version", synthesized_version(host, port), 0)
                summary.own_handshake = True
                pending = first
            conn.wait_for(("version", "verack"), timeout)
            if summary.own_handshake:
                conn.send("verack", b"", 0)
            rest = inbound if pending is None else _chain(pending, inbound)
            for msg in rest:
                pacer.wait(msg.ts_ns)
                if msg.partial:
                    raise ReplayError(
                        f"{path}: peer {peer_id}'s {msg.command!r} at {msg.ts_ns} ns was "
                        f"captured only in part ({msg.captured_len} of {msg.msg_size} bytes): "
                        f"cannot send it (after {summary.sent} messages)"
                    )
                conn.send(msg.command, msg.payload, summary.sent)
                summary.sent += 1
                summary.sent_bytes += len(msg.payload)
            _linger(conn, linger)
            summary.closed_by_node = conn.closed
        finally:
            conn.close()
        summary.received = conn.received
        summary.problems = p.problems()
    return summary


def _chain(first, rest):
    yield first
    yield from rest


def _linger(conn: _Connection, seconds: float) -> None:
    """Read the node's replies a little longer, unless it hung up."""
    end = time.monotonic() + seconds
    with conn.seen:
        while not conn.closed and (left := end - time.monotonic()) > 0:
            conn.seen.wait(left)
