"""The index: what a capture holds, per block, command, peer-session and loss.

The writer builds it as blocks are written and stores it in the footer on a
clean close; a reader without a footer builds the same thing by scanning
(``CaptureReader.summarize``).  ``stats`` answers from it without touching a
payload; ``show --type`` and time ranges use its per-block entries to skip
blocks.  Stored as JSON (docs/FORMAT.md, "Footer").
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .block import BlockContent
from .errors import FormatError
from .layout import GAP_BIT, commands_mask
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
        return {
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

    @classmethod
    def from_json(cls, obj) -> CaptureIndex:
        """Rebuild from the footer's JSON; unknown keys (newer minors) are ignored."""
        try:
            blocks = []
            for i, b in enumerate(obj["blocks"]):
                cmds = tuple(b["commands"])
                gaps = int(b.get("gaps", 0))
                mask = commands_mask(cmds) | (GAP_BIT if gaps else 0)
                blocks.append(
                    BlockInfo(
                        i,
                        int(b["offset"]),
                        int(b["length"]),
                        int(b["records"]),
                        int(b["ts_min"]),
                        int(b["ts_max"]),
                        int(b.get("raw_len", 0)),
                        mask,
                        cmds,
                        gaps,
                    )
                )
            commands = {}
            for name, dirs in obj["commands"].items():
                commands[str(name)] = {d: Counts(*map(int, v)) for d, v in dirs.items() if d in DIRECTIONS}
            peers = [
                PeerSession(
                    int(p["pid"]),
                    int(p["peer_id"]),
                    str(p["addr"]),
                    str(p["conn_type"]),
                    int(p["first"]),
                    int(p["last"]),
                    int(p["messages"][0]),
                    int(p["messages"][1]),
                    int(p["bytes"][0]),
                    int(p["bytes"][1]),
                )
                for p in obj["peers"]
            ]
            losses = [
                Loss(
                    int(x["pid"]),
                    int(x["reason"]),
                    int(x["records"]),
                    int(x["lost_messages"]),
                    int(x["lost_bytes"]),
                    int(x["first"]),
                    int(x["last"]),
                )
                for x in obj["losses"]
            ]
        except (KeyError, TypeError, ValueError, IndexError, AttributeError) as e:
            raise FormatError(f"footer index is malformed ({type(e).__name__}: {e})") from None
        return cls(blocks, commands, peers, losses)


class IndexBuilder:
    """Accumulates ``BlockContent`` of each block written (or scanned) into an index."""

    def __init__(self):
        self.index = CaptureIndex()
        self._peers: dict = {}  # (pid, peer_id, addr, conn_type) -> PeerSession
        self._losses: dict = {}  # (pid, reason) -> Loss

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
        return info

    def add_gap(self, g) -> None:
        x = self._losses.get((g.pid, g.reason))
        if x is None:
            x = self._losses[(g.pid, g.reason)] = Loss(g.pid, g.reason, 0, 0, 0, g.ts_ns, g.ts_ns)
            self.index.losses.append(x)
        x.records += 1
        x.lost_messages += g.lost_messages
        x.lost_bytes += g.lost_bytes
        x.first_ns = min(x.first_ns, g.ts_ns)
        x.last_ns = max(x.last_ns, g.ts_ns)
