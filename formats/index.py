"""The index: what a capture holds, per block, command, peer-session and loss.

The writer builds it as blocks are written and stores it in the footer on a
clean close; a reader without a footer builds the same thing by scanning
(``CaptureReader.summarize``).  ``stats`` answers from it without touching a
payload; ``show --type`` and time ranges use its per-block entries to skip
blocks.  Stored as JSON (docs/FORMAT.md, "Footer").
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field

from .block import BlockContent
from .layout import GAP_BIT
from .records import DIRECTIONS


@dataclass(frozen=True, slots=True)
class BlockInfo:
    """One record block: where it is and what it covers.

    ``ts_min_ns``/``ts_max_ns`` are the smallest and largest record times in
    the block (records are in write order, which is not always time order).
    ``commands`` and ``gaps`` are known from the footer, ``None`` from a bare
    block header (which has ``mask``, a 64-bit summary of the same).
    """

    index: int
    offset: int
    length: int
    records: int
    ts_min_ns: int
    ts_max_ns: int
    raw_len: int = 0
    mask: int = (1 << 64) - 1  # unknown: may hold anything
    commands: tuple | None = None
    gaps: int | None = None

    def may_hold(self, commands=None, *, want_mask: int = 0, gaps: bool = False) -> bool:
        """False when this block surely holds none of ``commands`` (nor gaps, if asked)."""
        if self.commands is not None:
            if gaps and self.gaps:
                return True
            return commands is None or any(c in commands for c in self.commands)
        if commands is None:
            return True
        return bool(self.mask & (want_mask | (GAP_BIT if gaps else 0)))

    def overlaps(self, since_ns=None, until_ns=None) -> bool:
        if since_ns is not None and self.ts_max_ns < since_ns:
            return False
        return until_ns is None or self.ts_min_ns <= until_ns


@dataclass(slots=True)
class Counts:
    messages: int = 0
    bytes: int = 0  # sum of msg_size
    captured: int = 0  # sum of captured_len


@dataclass(slots=True)
class PeerSession:
    """One peer of one process: (pid, peer_id, addr, conn_type), stored once."""

    pid: int
    peer_id: int
    addr: str
    conn_type: str
    first_ns: int
    last_ns: int
    messages_in: int = 0
    messages_out: int = 0
    bytes_in: int = 0
    bytes_out: int = 0


@dataclass(slots=True)
class Loss:
    """Gap records of one (pid, reason), summed."""

    pid: int
    reason: int
    records: int
    lost_messages: int
    lost_bytes: int
    first_ns: int
    last_ns: int


@dataclass(slots=True)
class CaptureIndex:
    """Per-block entries plus totals per command/direction, peer-session and loss.

    >>> idx = CaptureIndex()
    >>> idx.messages, idx.lost_messages
    (0, 0)
    """

    blocks: list = field(default_factory=list)  # BlockInfo, in file order
    commands: dict = field(default_factory=dict)  # command -> {"in"/"out": Counts}
    peers: list = field(default_factory=list)  # PeerSession, in first-seen order
    losses: list = field(default_factory=list)  # Loss
    # Steps of the recording host's wall clock (capture/clocksync.py
    # ClockStep.to_json), written in the footer when there are any.
    clock_steps: list = field(default_factory=list)

    @property
    def messages(self) -> int:
        return sum(c.messages for d in self.commands.values() for c in d.values())

    @property
    def msg_bytes(self) -> int:
        return sum(c.bytes for d in self.commands.values() for c in d.values())

    @property
    def captured_bytes(self) -> int:
        return sum(c.captured for d in self.commands.values() for c in d.values())

    @property
    def gap_records(self) -> int:
        return sum(x.records for x in self.losses)

    @property
    def lost_messages(self) -> int:
        return sum(x.lost_messages for x in self.losses)

    @property
    def lost_bytes(self) -> int:
        return sum(x.lost_bytes for x in self.losses)

    @property
    def ts_min_ns(self) -> int | None:
        return min((b.ts_min_ns for b in self.blocks if b.records), default=None)

    @property
    def ts_max_ns(self) -> int | None:
        return max((b.ts_max_ns for b in self.blocks if b.records), default=None)

    def to_json(self) -> dict:
        steps = {"clock_steps": list(self.clock_steps)} if self.clock_steps else {}
        return {
            **steps,
            "blocks": [
                {
                    "offset": b.offset,
                    "length": b.length,
                    "raw_len": b.raw_len,
                    "records": b.records,
                    "gaps": b.gaps or 0,
                    "ts_min": b.ts_min_ns,
                    "ts_max": b.ts_max_ns,
                    "commands": list(b.commands or ()),
                }
                for b in self.blocks
            ],
            "commands": {
                name: {d: [c.messages, c.bytes, c.captured] for d, c in dirs.items()}
                for name, dirs in self.commands.items()
            },
            "peers": [
                {
                    "pid": p.pid,
                    "peer_id": p.peer_id,
                    "addr": p.addr,
                    "conn_type": p.conn_type,
                    "first": p.first_ns,
                    "last": p.last_ns,
                    "messages": [p.messages_in, p.messages_out],
                    "bytes": [p.bytes_in, p.bytes_out],
                }
                for p in self.peers
            ],
            "losses": [
                {
                    "pid": x.pid,
                    "reason": x.reason,
                    "records": x.records,
                    "lost_messages": x.lost_messages,
                    "lost_bytes": x.lost_bytes,
                    "first": x.first_ns,
                    "last": x.last_ns,
                }
                for x in self.losses
            ],
        }


# How much one file's index may hold while the recorder writes it: the
# recorder's memory must not grow with the length of a recording
# (docs/DESIGN.md, "Bounds of a long recording").  A block ends at 1 MiB or
# after 1 s, so 2^16 blocks are 18 hours of a quiet node and about 64 GiB
# of a busy one; 2^13 peer-sessions are days of a node's churn (Dash
# Core keeps ~125 connections, most of them for hours); commands and (pid, loss reason) pairs are a
# few dozen in any real recording, and a peer sending made-up command
# names gets no further than 2^10.  Past 7/8 of any of these the index is
# ``full`` and the recorder starts a new file, which begins an index of its
# own; a writer that cannot (standard output) goes on until the limit and
# then stops indexing: the file ends without a footer, which readers
# replace by walking the block headers (docs/FORMAT.md).  Measured: ~60
# bytes per block (packed, below), ~410 per peer-session with its strings:
# at most ~4 MB and ~3.3 MB.
@dataclass(frozen=True)
class IndexLimits:
    blocks: int = 1 << 16
    sessions: int = 1 << 13
    commands: int = 1 << 10
    losses: int = 1 << 10
    clock_steps: int = 64


WRITER_LIMITS = IndexLimits()


class BlockTable(Sequence):
    """``BlockInfo`` entries stored as packed 64-bit rows: ~60 bytes a block
    where the objects take ~350.  A sequence of BlockInfo, built on access.

    >>> t = BlockTable()
    >>> t.append(BlockInfo(0, 38, 200, 3, 5, 9, 250, 0, ("inv",), 1))
    >>> t[-1].offset, t[-1].commands, len(t)
    (38, ('inv',), 1)
    """

    _FIELDS = 7  # offset, length, records, ts_min_ns, ts_max_ns, raw_len, gaps

    def __init__(self):
        self._rows = array("q")
        self._sets = array("I")  # per block: its command tuple, in _tuples
        self._tuples: list[tuple] = []
        self._masks: list[int] = []
        self._ids: dict[tuple, int] = {}

    def append(self, info: BlockInfo) -> None:
        commands = info.commands or ()
        k = self._ids.get(commands)
        if k is None:
            k = self._ids[commands] = len(self._tuples)
            self._tuples.append(commands)
            self._masks.append(info.mask & ~GAP_BIT)
        self._rows.extend(
            (
                info.offset,
                info.length,
                info.records,
                info.ts_min_ns,
                info.ts_max_ns,
                info.raw_len,
                info.gaps or 0,
            )
        )
        self._sets.append(k)

    def __len__(self) -> int:
        return len(self._sets)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        n = len(self._sets)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError("block index out of range")
        offset, length, records, ts_min, ts_max, raw_len, gaps = self._rows[7 * i : 7 * i + 7]
        k = self._sets[i]
        mask = self._masks[k] | (GAP_BIT if gaps else 0)
        return BlockInfo(i, offset, length, records, ts_min, ts_max, raw_len, mask, self._tuples[k], gaps)


class IndexBuilder:
    """Accumulates ``BlockContent`` of each block written (or scanned) into an index.

    ``limits`` (the writer's: ``WRITER_LIMITS``) caps what it holds: ``full``
    says a new file is due, and past a limit the builder lets everything go
    and says ``overflowed`` (the writer then ends the file without a footer).

    >>> b = IndexBuilder(IndexLimits(blocks=8))
    >>> for i in range(7):
    ...     _ = b.add_block(100 * i, 100, 200, BlockContent(records=1))
    >>> b.full, b.overflowed, len(b.index.blocks)
    (True, False, 7)
    """

    def __init__(self, limits: IndexLimits | None = None):
        self.index = CaptureIndex()
        self._peers: dict = {}  # (pid, peer_id, addr, conn_type) -> PeerSession
        self._losses: dict = {}  # (pid, reason) -> Loss
        self.limits = limits
        self.overflowed = False
        if limits is not None:
            self.index.blocks = BlockTable()

    @property
    def full(self) -> bool:
        """Past 7/8 of a limit: time for a new file."""
        lim, idx = self.limits, self.index
        if lim is None:
            return False
        return self.overflowed or any(
            8 * n >= 7 * cap
            for n, cap in (
                (len(idx.blocks), lim.blocks),
                (len(idx.peers), lim.sessions),
                (len(idx.commands), lim.commands),
                (len(idx.losses), lim.losses),
            )
        )

    def _over(self) -> bool:
        """Whether a limit is passed; if so, let the index go (once)."""
        lim, idx = self.limits, self.index
        if self.overflowed:
            return True
        if lim is None or (
            len(idx.blocks) <= lim.blocks
            and len(idx.peers) <= lim.sessions
            and len(idx.commands) <= lim.commands
            and len(idx.losses) <= lim.losses
        ):
            return False
        self.overflowed = True
        self.index = CaptureIndex(blocks=BlockTable())
        self._peers, self._losses = {}, {}
        return True

    def add_clock_step(self, step: dict) -> None:
        """A step of the wall clock during the file (kept in the footer; the last ``limits.clock_steps``)."""
        steps = self.index.clock_steps
        steps.append(step)
        if self.limits is not None:
            del steps[: -self.limits.clock_steps]

    def add_block(self, offset: int, length: int, raw_len: int, content: BlockContent) -> BlockInfo:
        idx = self.index
        info = BlockInfo(
            len(idx.blocks),
            offset,
            length,
            content.records,
            content.ts_min_ns,
            content.ts_max_ns,
            raw_len,
            content.mask,
            tuple(content.commands),
            len(content.gaps),
        )
        if self.overflowed:
            return info  # the file will have no footer: nothing to keep
        idx.blocks.append(info)
        sessions = []
        for ref, key in enumerate(content.peers):
            s = self._peers.get(key)
            first, last = content.peer_first[ref], content.peer_last[ref]
            if s is None:
                s = self._peers[key] = PeerSession(*key, first, last)
                idx.peers.append(s)
            else:
                s.first_ns = min(s.first_ns, first)
                s.last_ns = max(s.last_ns, last)
            sessions.append(s)
        names = content.commands
        for key, (n, nbytes, captured) in content.counts.items():
            s = sessions[key >> 18]
            d = key & 1
            dirs = idx.commands.setdefault(names[(key >> 1) & 0xFFFF], {})
            c = dirs.get(DIRECTIONS[d])
            if c is None:
                c = dirs[DIRECTIONS[d]] = Counts()
            c.messages += n
            c.bytes += nbytes
            c.captured += captured
            if d:
                s.messages_out += n
                s.bytes_out += nbytes
            else:
                s.messages_in += n
                s.bytes_in += nbytes
        for g in content.gaps:
            self.add_gap(g)
        self._over()
        return info

    def add_gap(self, g) -> None:
        if self.overflowed:
            return
        x = self._losses.get((g.pid, g.reason))
        if x is None:
            x = self._losses[(g.pid, g.reason)] = Loss(g.pid, g.reason, 0, 0, 0, g.ts_ns, g.ts_ns)
            self.index.losses.append(x)
        x.records += 1
        x.lost_messages += g.lost_messages
        x.lost_bytes += g.lost_bytes
        x.first_ns = min(x.first_ns, g.ts_ns)
        x.last_ns = max(x.last_ns, g.ts_ns)
