"""Records inside a block body: encode (``BlockBuilder``) and decode.

A block body (before compression) is a run of entries, each
``kind u8, size u32, <size bytes>`` so a reader can skip kinds it does not
know (docs/FORMAT.md, "Records").  Peer-sessions and command names are
defined once per block, before their first use, and message records refer to
them by a small number: strings are not repeated per record, yet every block
decodes alone.

Decoding is the hot path of ``show`` and ``stats``: one ``unpack_from`` per
record on the decompressed body, and a ``commands=`` filter that compares a
per-block table entry before anything is built.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from .errors import CorruptBlock
from .layout import GAP_BIT, command_bit
from .records import DIRECTIONS, Gap, Message

KIND_MESSAGE = 0x01
KIND_PEER = 0x02
KIND_COMMAND = 0x03
KIND_GAP = 0x04
KIND_PROCESS = 0x05  # format 1.1: a process's network, before the first peer of that pid in a block

# kind, size, ts_ns, peer ref, command ref, direction, flags, msg_size, captured_len
MESSAGE = struct.Struct("<BIQHHBHII")  # 28 bytes, then the payload
# kind, size, ref, pid, peer_id, addr length, conn_type length
PEER = struct.Struct("<BIHIqHB")  # 22 bytes, then addr, conn_type
# kind, size, ref, name length
COMMAND = struct.Struct("<BIHB")  # 8 bytes, then the name
# kind, size, ts_ns, pid, reason, lost_messages, lost_bytes
GAP = struct.Struct("<BIQIHQQ")  # 35 bytes
# kind, size, pid, network length
PROCESS = struct.Struct("<BIIB")  # 10 bytes, then the network's name
ENTRY = struct.Struct("<BI")  # the part every entry shares
_MESSAGE_HEAD = struct.Struct("<xI10xH")  # size and command ref of a message

INITIAL_BUFFER = 64 << 10  # bytes; a builder's own buffer doubles as needed
MAX_REFS = 0xFFFF  # refs are u16; a builder that fills a table ends the block
MAX_PROCESSES = 4096  # pid -> network a reader keeps (processes come and go; the latest win)
_DIRECTION = {"in": 0, "out": 1}
_TEXT = ("utf-8", "surrogateescape")  # strings are UTF-8; stray bytes round-trip


def payload_len(payload) -> int:
    """Bytes in a payload: bytes-like, or a list of bytes-like pieces.

    A list is one message in pieces, as the recorder hands over a message
    still lying in the ring buffer in several records (``capture/events.py``);
    the builder copies the pieces into the block one after the other.
    """
    if type(payload) is bytes:
        return len(payload)
    if type(payload) is memoryview:
        return payload.nbytes
    if type(payload) is list:
        return sum(memoryview(p).nbytes for p in payload)
    return memoryview(payload).nbytes  # TypeError for what is not bytes-like


def _encode(text: str, limit: int, what: str) -> bytes:
    data = text.encode(*_TEXT)
    if len(data) > limit:
        raise ValueError(f"{what} is {len(data)} bytes; the format allows {limit}")
    return data


@dataclass(slots=True)
class BlockContent:
    """What one block holds, without payloads: enough to build the index.

    ``counts`` maps ``peer_ref << 18 | command_ref << 1 | direction`` to
    ``[messages, msg_bytes, captured_bytes]``.
    """

    records: int = 0
    ts_min_ns: int = 0
    ts_max_ns: int = 0
    commands: list = field(default_factory=list)  # ref -> name
    peers: list = field(default_factory=list)  # ref -> (pid, peer_id, addr, conn_type)
    peer_first: list = field(default_factory=list)  # ref -> first ts_ns in this block
    peer_last: list = field(default_factory=list)
    counts: dict = field(default_factory=dict)
    gaps: list = field(default_factory=list)  # Gap records, in order
    raw: bytes = b""  # the uncompressed body (builder side only; a memoryview of its buffer)

    @property
    def mask(self) -> int:
        mask = GAP_BIT if self.gaps else 0
        for name in self.commands:
            mask |= command_bit(name.encode(*_TEXT))
        return mask


class BlockBuilder:
    """Appends records to one block body, defining peers and commands as met.

    >>> b = BlockBuilder()
    >>> b.add(Message(1, 2, 3, "1.2.3.4:9999", "inbound", "in", "ping", 8, bytes(8)))
    >>> b.records, len(b)
    (1, 89)

    The body is written into one buffer, ``buffer`` if given (the writer
    hands back buffers of blocks already compressed), grown when a record
    does not fit.  Each payload is copied once, straight into place:
    appending to a bytearray instead reallocates and copies the body again
    and again as it grows (at 500 MB/s of 64 KiB messages that took a fifth
    of the recorder's time), and allocating a zeroed buffer per block costs
    another pass over it.
    """

    def __init__(self, buffer: bytearray | None = None, processes: dict | None = None):
        self._buf = buffer if buffer is not None else bytearray(INITIAL_BUFFER)
        # pid -> network (the recorder's, or the reader's the records came
        # from): each pid's is defined before its first peer in the block
        self._processes = processes
        self._processes_defined: set = set()
        self.nbytes = 0  # bytes of the body so far (public: the writer checks it per record)
        self.records = 0
        self._peer_refs: dict = {}
        self._command_refs: dict = {}
        self._content = BlockContent(ts_min_ns=1 << 64, ts_max_ns=-1)
        self.full = False  # a peer or command table is full: the block must end

    def __len__(self) -> int:
        return self.nbytes

    def _room(self, n: int) -> bytearray:
        """The buffer, grown if need be to take ``n`` more bytes."""
        buf = self._buf
        if self.nbytes + n > len(buf):
            grown = bytearray(max(2 * len(buf), self.nbytes + n))
            grown[: self.nbytes] = memoryview(buf)[: self.nbytes]
            buf = self._buf = grown
        return buf

    def _append(self, data: bytes) -> None:
        pos = self.nbytes
        end = pos + len(data)
        self._room(len(data))[pos:end] = data
        self.nbytes = end

    def add(self, record) -> None:
        if type(record) is Message:
            self.add_message(record)
        elif type(record) is Gap:
            self.add_gap(record)
        else:
            raise TypeError(f"cannot write a {type(record).__name__}; expected Message or Gap")

    def add_message(self, m: Message, clen: int | None = None) -> None:
        """Add one message; ``m.payload`` may be bytes-like or a list of pieces
        (``payload_len``, which ``clen`` is when the caller knows it), and is
        copied before this returns."""
        ts = m.ts_ns
        payload = m.payload
        if clen is None:
            clen = payload_len(payload)
        pref = self._peer_refs.get((m.pid, m.peer_id, m.peer_addr, m.conn_type))
        cref = self._command_refs.get(m.command)
        direction = _DIRECTION.get(m.direction)
        if pref is None or cref is None or direction is None:
            self._define(m)
            return self.add_message(m)
        pos = self.nbytes
        start = pos + 28  # MESSAGE.size
        end = start + clen
        buf = self._buf
        if end > len(buf):
            buf = self._room(28 + clen)
        try:
            MESSAGE.pack_into(
                buf, pos, KIND_MESSAGE, 23 + clen, ts, pref, cref, direction, m.flags, m.msg_size, clen
            )
        except struct.error as e:
            raise ValueError(f"cannot store message: {e}") from None
        if type(payload) is list:
            for piece in payload:
                n = start + memoryview(piece).nbytes
                buf[start:n] = piece
                start = n
        else:
            buf[start:end] = payload  # any bytes-like object: its bytes
        self.nbytes = end
        self.records += 1
        c = self._content
        first = c.peer_first
        if ts < first[pref]:
            first[pref] = ts
        last = c.peer_last
        if ts > last[pref]:
            last[pref] = ts
        if ts < c.ts_min_ns:
            c.ts_min_ns = ts
        if ts > c.ts_max_ns:
            c.ts_max_ns = ts
        ckey = pref << 18 | cref << 1 | direction
        counts = c.counts.get(ckey)
        if counts is None:
            c.counts[ckey] = [1, m.msg_size, clen]
        else:
            counts[0] += 1
            counts[1] += m.msg_size
            counts[2] += clen

    def _define(self, m: Message) -> None:
        """Check a message can be stored, then define its peer and command."""
        if m.direction not in _DIRECTION:
            raise ValueError(f"cannot store message: direction must be 'in' or 'out', not {m.direction!r}")
        try:
            clen = payload_len(m.payload)  # TypeError for what is not bytes
            MESSAGE.pack(KIND_MESSAGE, 23 + clen, m.ts_ns, 0, 0, 0, m.flags, m.msg_size, clen)
            key = (m.pid, m.peer_id, m.peer_addr, m.conn_type)
            name = None
            if m.command not in self._command_refs:
                name = _encode(m.command, 0xFF, "command")
            if key not in self._peer_refs:
                self._define_peer(key)
        except struct.error as e:
            raise ValueError(f"cannot store message: {e}") from None
        if name is not None:
            self._define_command(m.command, name)

    def add_gap(self, g: Gap) -> None:
        try:
            self._append(
                GAP.pack(KIND_GAP, GAP.size - 5, g.ts_ns, g.pid, g.reason, g.lost_messages, g.lost_bytes)
            )
        except struct.error as e:
            raise ValueError(f"gap field out of range for the format: {e}") from None
        c = self._content
        c.gaps.append(g)
        self.records += 1
        c.ts_min_ns = min(c.ts_min_ns, g.ts_ns)
        c.ts_max_ns = max(c.ts_max_ns, g.ts_ns)

    def _define_peer(self, key) -> int:
        pid, peer_id, addr, conn_type = key
        processes = self._processes
        if processes and pid not in self._processes_defined:
            network = processes.get(pid)
            if network is not None:
                self._define_process(pid, network)
        ref = len(self._content.peers)
        a = _encode(addr, 0xFFFF, "peer address")
        t = _encode(conn_type, 0xFF, "connection type")
        try:
            head = PEER.pack(KIND_PEER, PEER.size - 5 + len(a) + len(t), ref, pid, peer_id, len(a), len(t))
        except struct.error as e:
            raise ValueError(f"peer field out of range for the format: {e}") from None
        self._append(head + a + t)
        self._peer_refs[key] = ref
        c = self._content
        c.peers.append(key)
        c.peer_first.append(1 << 64)
        c.peer_last.append(-1)
        if ref + 1 >= MAX_REFS:
            self.full = True
        return ref

    def _define_process(self, pid: int, network: str) -> None:
        name = _encode(network, 0xFF, "network")
        try:
            self._append(PROCESS.pack(KIND_PROCESS, PROCESS.size - 5 + len(name), pid, len(name)) + name)
        except struct.error as e:
            raise ValueError(f"process field out of range for the format: {e}") from None
        self._processes_defined.add(pid)

    def _define_command(self, command: str, name: bytes) -> int:
        ref = len(self._content.commands)
        if ref + 1 >= MAX_REFS:
            self.full = True
        self._append(COMMAND.pack(KIND_COMMAND, COMMAND.size - 5 + len(name), ref, len(name)) + name)
        self._command_refs[command] = ref
        self._content.commands.append(command)
        return ref

    def finish(self) -> BlockContent:
        """The block's content; the builder is spent.

        ``raw``, the body, is a memoryview of the builder's buffer (its
        ``obj``): whoever compresses it may release it and reuse the buffer.
        """
        c = self._content
        c.records = self.records
        c.raw = memoryview(self._buf)[: self.nbytes]
        if not self.records:
            c.ts_min_ns = c.ts_max_ns = 0
        return c


def _bad(what: str, pos: int) -> CorruptBlock:
    return CorruptBlock(f"{what} at byte {pos} of the decompressed body")


def decode_block(
    raw: bytes,
    records: int,
    *,
    commands=None,
    since_ns=None,
    until_ns=None,
    gaps: bool = True,
    processes: dict | None = None,
) -> list:
    """The records of one decompressed block body, in write order.

    ``processes`` (a dict), when given, gets each process's network the
    block defines (pid -> name, format 1.1).

    ``commands`` (a set of names) keeps only those messages: a message of
    another command is skipped after reading its size and command ref,
    before any object is built.  ``since_ns``/``until_ns`` keep records with ``since <= ts <=
    until``; ``gaps=False`` drops gap records.  ``records`` is the count from
    the block header and is checked.
    """
    out = []
    append = out.append
    unpack_message = MESSAGE.unpack_from
    unpack_head = _MESSAGE_HEAD.unpack_from
    every = commands is None
    peers = []
    names = []
    wanted = []
    lo = 0 if since_ns is None else since_ns
    hi = (1 << 64) if until_ns is None else until_ns
    timed = since_ns is not None or until_ns is not None
    directions = DIRECTIONS
    n = len(raw)
    pos = 0
    seen = 0
    try:
        while pos < n:
            kind = raw[pos]
            if kind == KIND_MESSAGE:
                if not every:  # look at the command first: most records are dropped here
                    size, cref = unpack_head(raw, pos)
                    if not wanted[cref]:
                        seen += 1
                        pos += 5 + size
                        continue
                _, size, ts, pref, cref, d, flags, msg_size, clen = unpack_message(raw, pos)
                end = pos + 5 + size
                if end > n or size < 23 + clen:
                    raise _bad(f"message record of {size} bytes overruns", pos)
                seen += 1
                if not timed or lo <= ts <= hi:
                    pid, peer_id, addr, conn_type = peers[pref]
                    start = pos + 28
                    append(
                        Message(
                            ts,
                            pid,
                            peer_id,
                            addr,
                            conn_type,
                            directions[d],
                            names[cref],
                            msg_size,
                            raw[start : start + clen],
                            flags,
                        )
                    )
                pos = end
            elif kind == KIND_COMMAND:
                _, size, ref, length = COMMAND.unpack_from(raw, pos)
                if ref != len(names) or size < 3 + length or pos + 5 + size > n:
                    raise _bad("bad command definition", pos)
                name = raw[pos + 8 : pos + 8 + length].decode(*_TEXT)
                names.append(name)
                wanted.append(commands is None or name in commands)
                pos += 5 + size
            elif kind == KIND_PEER:
                pos = _peer(raw, pos, n, peers)
            elif kind == KIND_GAP:
                gap, pos = _gap_at(raw, pos, n)
                seen += 1
                if gaps and (not timed or lo <= gap.ts_ns <= hi):
                    append(gap)
            elif kind == KIND_PROCESS and processes is not None:
                pos = _process(raw, pos, n, processes)
            else:
                pos = _skip(raw, pos, n, kind)
    except (struct.error, IndexError, ValueError) as e:
        if isinstance(e, CorruptBlock):
            raise
        raise _bad(f"malformed record ({e})", pos) from None
    if pos != n:
        raise _bad("last record overruns the body", pos)
    if seen != records:
        raise CorruptBlock(f"block holds {seen} records, its header says {records}")
    return out


def _peer(raw, pos: int, n: int, peers: list) -> int:
    _, size, ref, pid, peer_id, alen, tlen = PEER.unpack_from(raw, pos)
    if ref != len(peers) or size < 17 + alen + tlen or pos + 5 + size > n:
        raise _bad("bad peer definition", pos)
    a = pos + 22
    peers.append(
        (pid, peer_id, raw[a : a + alen].decode(*_TEXT), raw[a + alen : a + alen + tlen].decode(*_TEXT))
    )
    return pos + 5 + size


def _process(raw, pos: int, n: int, processes: dict) -> int:
    _, size, pid, length = PROCESS.unpack_from(raw, pos)
    if size < 5 + length or pos + 5 + size > n:
        raise _bad("bad process definition", pos)
    remember_process(processes, pid, raw[pos + 10 : pos + 10 + length])
    return pos + 5 + size


def remember_process(processes: dict, pid: int, network: bytes) -> None:
    """``processes[pid]``, a network as a block defines it, kept bounded.

    >>> known = {}
    >>> remember_process(known, 7, b"regtest"); known
    {7: 'regtest'}
    """
    if len(processes) >= MAX_PROCESSES and pid not in processes:
        processes.clear()  # a forged file naming process after process: bounded all the same
    processes[pid] = bytes(network).decode(*_TEXT)


def _gap_at(raw, pos: int, n: int) -> tuple[Gap, int]:
    """The gap record at ``pos`` and the position after it (both parsing loops)."""
    _, size, ts, pid, reason, lost, lost_bytes = GAP.unpack_from(raw, pos)
    if size < GAP.size - 5 or pos + 5 + size > n:
        raise _bad("bad gap record", pos)
    return Gap(ts, pid, reason, lost, lost_bytes), pos + 5 + size


def _skip(raw, pos: int, n: int, kind: int) -> int:
    """Step over an entry of a kind this reader does not know (newer minor)."""
    if kind == 0:
        raise _bad("record kind 0", pos)
    _, size = ENTRY.unpack_from(raw, pos)
    if pos + 5 + size > n:
        raise _bad(f"record of kind {kind} overruns", pos)
    return pos + 5 + size


def scan_block(raw: bytes, records: int) -> BlockContent:
    """Count what a block holds without building records (``stats``, ``check``)."""
    c = BlockContent()
    counts = c.counts
    peer_first, peer_last = c.peer_first, c.peer_last
    unpack_message = MESSAGE.unpack_from
    ts_min, ts_max = 1 << 64, -1
    n = len(raw)
    pos = 0
    seen = 0
    try:
        while pos < n:
            kind = raw[pos]
            if kind == KIND_MESSAGE:
                _, size, ts, pref, cref, d, _, msg_size, clen = unpack_message(raw, pos)
                if pos + 5 + size > n or size < 23 + clen or d > 1 or cref >= len(c.commands):
                    raise _bad("bad message record", pos)
                seen += 1
                if ts < peer_first[pref]:
                    peer_first[pref] = ts
                if ts > peer_last[pref]:
                    peer_last[pref] = ts
                if ts < ts_min:
                    ts_min = ts
                if ts > ts_max:
                    ts_max = ts
                key = pref << 18 | cref << 1 | d
                cnt = counts.get(key)
                if cnt is None:
                    counts[key] = [1, msg_size, clen]
                else:
                    cnt[0] += 1
                    cnt[1] += msg_size
                    cnt[2] += clen
                pos += 5 + size
            elif kind == KIND_COMMAND:
                _, size, ref, length = COMMAND.unpack_from(raw, pos)
                if ref != len(c.commands) or size < 3 + length or pos + 5 + size > n:
                    raise _bad("bad command definition", pos)
                c.commands.append(raw[pos + 8 : pos + 8 + length].decode(*_TEXT))
                pos += 5 + size
            elif kind == KIND_PEER:
                pos = _peer(raw, pos, n, c.peers)
                peer_first.append(1 << 64)
                peer_last.append(-1)
            elif kind == KIND_GAP:
                gap, pos = _gap_at(raw, pos, n)
                seen += 1
                c.gaps.append(gap)
                ts_min, ts_max = min(ts_min, gap.ts_ns), max(ts_max, gap.ts_ns)
            else:
                pos = _skip(raw, pos, n, kind)
    except (struct.error, IndexError, ValueError) as e:
        if isinstance(e, CorruptBlock):
            raise
        raise _bad(f"malformed record ({e})", pos) from None
    if seen != records:
        raise CorruptBlock(f"block holds {seen} records, its header says {records}")
    c.records = seen
    c.ts_min_ns, c.ts_max_ns = (ts_min, ts_max) if seen else (0, 0)
    if len(c.peers) + len(c.commands) > 2 * len(counts):
        _drop_unused(c)
    return c


def _drop_unused(c: BlockContent) -> None:
    """Keep only the peers and commands some message of the block uses.

    A writer defines one only for a message that uses it, so this changes
    nothing for p2pcap's blocks; a forged block can define 65,535 peers
    for one message, and every peer-session the index keeps costs it a few
    hundred bytes: kept to the ones used, they are no more than the
    block's records, which the expansion budget bounds (limits.py).
    """
    peer_refs = sorted({key >> 18 for key in c.counts})
    command_refs = sorted({(key >> 1) & 0xFFFF for key in c.counts})
    peer_new = {old: new for new, old in enumerate(peer_refs)}
    command_new = {old: new for new, old in enumerate(command_refs)}
    c.peers = [c.peers[r] for r in peer_refs]
    c.peer_first = [c.peer_first[r] for r in peer_refs]
    c.peer_last = [c.peer_last[r] for r in peer_refs]
    c.commands = [c.commands[r] for r in command_refs]
    c.counts = {
        peer_new[key >> 18] << 18 | command_new[(key >> 1) & 0xFFFF] << 1 | key & 1: n
        for key, n in c.counts.items()
    }
