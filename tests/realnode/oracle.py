"""Dash Core as its own oracle: its ``-capturemessages`` files against a recording.

Dash Core v23.1.2 writes every message it processes or pushes into
``<datadir>/<chain>/message_capture/<addr>_<port>/msgs_recv.dat`` and
``msgs_sent.dat`` (src/net.cpp ``CaptureMessageToFile``) from the same two
functions that fire ``net:inbound_message`` and ``net:outbound_message``,
one line apart (src/net_processing.cpp ``ProcessMessages``, src/net.cpp
``CConnman::PushMessage``).  So for every node, peer folder and direction,
a recording must hold exactly Core's messages, in Core's order.

Core's files are read here by a parser of their own, written from the
layout in ``CaptureMessageToFile`` and independent of p2pcap's importer
(which the tests check separately), so that a bug in p2pcap cannot hide
itself on both sides of the comparison.  Times are not compared: Core
stamps with its mockable clock (the functional tests move it), and p2pcap
with the kernel's.
"""

from __future__ import annotations

import struct
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

# src/net.cpp CaptureMessageToFile: u64 LE time (µs), the command NUL-padded
# to CMessageHeader::COMMAND_SIZE (12), u32 LE payload size, the payload.
_HEADER = struct.Struct("<Q12sI")
DIRECTIONS = (("msgs_recv.dat", "in"), ("msgs_sent.dat", "out"))
MAX_PROBLEMS = 12  # lines kept per comparison; the counts say the rest
# Outbound order: src/net.cpp CConnman::PushMessage writes the capture file
# and then fires net:outbound_message, with no lock around the two, and it
# is called from several threads (the message handler, the LLMQ
# signing-shares worker that pushes qsigsinv/qbsigs/qgetsigs, the thread
# that pushes recovered signatures ...).  When two threads push to one peer
# at once, Core's file and the tracepoint can see the two in opposite
# orders: both are true orders of different events.  The comparison
# accepts exactly that and counts it: within a run of at most
# REORDER_WINDOW consecutive outbound messages, the same messages in
# another order; and at most one such run per REORDERS_PER messages.
REORDER_WINDOW = 3
REORDERS_PER = 1000


@dataclass(frozen=True)
class Wire:
    """One message as both sides hold it: its command and payload bytes."""

    command: str
    payload: bytes

    def __str__(self) -> str:
        return f"{self.command} ({len(self.payload)} bytes)"


Stream = tuple[str, str]  # (peer folder, "in" or "out")


def folder_of(addr: str) -> str:
    """Core's folder name for a peer address: every ':' becomes '_'.

    src/net.cpp CaptureMessageToFile: ``std::replace(clean_addr.begin(),
    clean_addr.end(), ':', '_')`` on ``CAddress::ToStringAddrPort()``.

    >>> folder_of("127.0.0.1:19899"), folder_of("[::1]:19899")
    ('127.0.0.1_19899', '[__1]_19899')
    """
    return addr.replace(":", "_")


def read_core_file(path: Path) -> list[Wire]:
    """Every record of one ``msgs_*.dat`` file, in file order.

    >>> import tempfile, os
    >>> f = Path(tempfile.mkdtemp()) / "msgs_recv.dat"
    >>> _ = f.write_bytes(struct.pack("<Q12sI", 1, b"ping", 8) + bytes(8))
    >>> read_core_file(f)
    [Wire(command='ping', payload=b'\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00')]
    """
    data = path.read_bytes()
    messages, offset = [], 0
    while offset < len(data):
        if offset + _HEADER.size > len(data):
            raise ValueError(f"{path}: a record header cut at offset {offset}")
        _, command, size = _HEADER.unpack_from(data, offset)
        offset += _HEADER.size
        if offset + size > len(data):
            raise ValueError(f"{path}: a {size}-byte payload cut at offset {offset}")
        messages.append(Wire(command.rstrip(b"\0").decode("ascii"), data[offset : offset + size]))
        offset += size
    return messages


def core_streams(datadir: Path, chain: str = "regtest") -> dict[Stream, list[Wire]]:
    """(peer folder, direction) -> Core's messages, from a node's data directory."""
    root = Path(datadir) / chain / "message_capture"
    streams: dict[Stream, list[Wire]] = {}
    if not root.is_dir():
        return streams
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        for name, direction in DIRECTIONS:
            if (folder / name).exists():
                streams[(folder.name, direction)] = read_core_file(folder / name)
    return streams


def recorded_streams(messages: Iterable, pids: Iterable[int]) -> dict[Stream, list[Wire]]:
    """(peer folder, direction) -> the recorded messages of these processes.

    ``messages``: p2pcap ``Message`` records in capture order.  The
    processes are one node's successive runs (a restart appends to Core's
    files), taken in the order they first appear; within one process the
    capture's order is kept.
    """
    wanted = set(pids)
    by_pid: dict[int, list] = defaultdict(list)
    for message in messages:
        if message.pid in wanted:
            by_pid[message.pid].append(message)
    streams: dict[Stream, list[Wire]] = defaultdict(list)
    for pid in sorted(by_pid, key=lambda p: by_pid[p][0].ts_ns):
        for m in by_pid[pid]:
            streams[(folder_of(m.peer_addr), m.direction)].append(Wire(m.command, m.payload))
    return dict(streams)


@dataclass
class Comparison:
    """How one node's recording compares with Core's files."""

    node: str
    core: int = 0  # messages in Core's files
    matched: int = 0  # equal, in order
    missing: int = 0  # in Core's files, not recorded
    extra: int = 0  # recorded, not in Core's files
    reordered: list[str] = field(default_factory=list)  # outbound runs pushed concurrently, one line each
    commands: Counter = field(default_factory=Counter)  # Core's messages by command
    problems: list[str] = field(default_factory=list)

    @property
    def exact(self) -> bool:
        return (
            not self.problems
            and self.matched == self.core
            and not self.extra
            and len(self.reordered) <= 1 + self.core // REORDERS_PER
        )

    def summary(self) -> str:
        """One line, then the first problems, for an assertion message."""
        head = (
            f"{self.node}: {self.matched} of {self.core} messages equal and in order, "
            f"{self.missing} missing, {self.extra} extra, {len(self.reordered)} outbound runs reordered"
        )
        return "\n  ".join([head, *self.problems[:MAX_PROBLEMS], *self.reordered[:MAX_PROBLEMS]])

    def _problem(self, line: str) -> None:
        self.problems.append(f"{self.node} {line}")


def compare(node: str, core: dict[Stream, list[Wire]], recorded: dict[Stream, list[Wire]]) -> Comparison:
    """Compare stream by stream: equal lists of (command, payload), in order.

    >>> ping, pong, inv = Wire("ping", bytes(8)), Wire("pong", bytes(8)), Wire("inv", bytes(1))
    >>> compare("n0", {("a_1", "in"): [ping]}, {("a_1", "in"): [ping]}).exact
    True
    >>> c = compare("n0", {("a_1", "in"): [ping, pong]}, {("a_1", "in"): [pong, ping]})
    >>> c.exact, c.problems[0]
    (False, 'n0 a_1 in #0: Core has ping (8 bytes), the recording pong (8 bytes)')
    >>> c = compare("n0", {("a_1", "out"): [ping, pong, inv]}, {("a_1", "out"): [pong, ping, inv]})
    >>> c.exact, c.matched, c.reordered
    (True, 3, ['n0 a_1 out #0..#1: pushed concurrently: Core wrote ping, pong; the probe fired for pong, ping'])
    """
    result = Comparison(node)
    for stream in sorted(set(core) | set(recorded)):
        theirs, ours = core.get(stream, []), recorded.get(stream, [])
        result.core += len(theirs)
        result.commands.update(w.command for w in theirs)
        where = f"{stream[0]} {stream[1]}"
        same = _aligned(theirs, ours, result, where if stream[1] == "out" else None)
        result.matched += same
        if same < min(len(theirs), len(ours)):
            result._problem(f"{where} #{same}: Core has {theirs[same]}, the recording {ours[same]}")
            # count the rest as a multiset: tells "reordered" from "lost"
            rest_core, rest_ours = Counter(theirs[same:]), Counter(ours[same:])
            result.missing += sum((rest_core - rest_ours).values())
            result.extra += sum((rest_ours - rest_core).values())
            result.matched += sum((rest_core & rest_ours).values())
            continue
        if len(theirs) > same:
            result.missing += len(theirs) - same
            result._problem(
                f"{where}: {len(theirs) - same} of Core's messages not recorded from #{same} ({theirs[same]})"
            )
        if len(ours) > same:
            result.extra += len(ours) - same
            result._problem(
                f"{where}: {len(ours) - same} recorded messages Core does not have from #{same} ({ours[same]})"
            )
    return result


def _aligned(theirs: list[Wire], ours: list[Wire], result: Comparison, outbound: str | None) -> int:
    """How many leading messages agree, outbound runs pushed concurrently included."""
    i, end = 0, min(len(theirs), len(ours))
    while i < end:
        if theirs[i] == ours[i]:
            i += 1
            continue
        if outbound is None:
            return i
        for width in range(2, REORDER_WINDOW + 1):
            if i + width <= end and Counter(theirs[i : i + width]) == Counter(ours[i : i + width]):
                result.reordered.append(
                    f"{result.node} {outbound} #{i}..#{i + width - 1}: pushed concurrently: Core wrote "
                    f"{', '.join(w.command for w in theirs[i : i + width])}; the probe fired for "
                    f"{', '.join(w.command for w in ours[i : i + width])}"
                )
                i += width
                break
        else:
            return i
    return i
