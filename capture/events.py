"""Turn raw ring-buffer records into Messages: a pure function of the bytes.

Layouts (``p2p_messages.bpf.c``, little-endian, no padding):

    EV_MESSAGE  u8 kind, u8 inbound, u8 command_len, u8 flags, u32 data_len,
                u64 peer_ref, u64 ts_ns, u64 msg_size, u32 captured_len,
                u32 tid, char command[CMD_MAX], u8 data[data_len]
    EV_CHUNK    u8 kind, u8 pad[3], u32 data_len, u32 offset, u32 tid,
                u8 data[data_len]
    EV_PEER     u8 kind, u8 flags, u16 addr_len, u32 conn_len, u64 peer_ref,
                s64 peer_id, u32 pid, u32 pad, char addr[ADDR_MAX],
                char conn_type[CONN_MAX]
    EV_WAKE     u64 kind (sent only to wake the consumer during a burst)

A peer is named once by an EV_PEER record, before its first message in the
ring; messages refer to it by ``peer_ref``.  The names live in a
``peertable.PeerTable``, which forgets old refs so that a recording of
weeks holds no more of them than a recording of minutes.  A message larger
than one chunk arrives as an EV_MESSAGE record followed by EV_CHUNK records from
the same thread: one probe hit runs to completion before that thread can
hit another, so per thread the chunks are in order, while threads on other
CPUs interleave theirs (dashd pushes messages from several threads).  The
assembler keeps one pending message per thread id; a new EV_MESSAGE from a
thread whose message is still incomplete means chunks went missing (a
reservation failed), and that is counted, as is a message whose chunks
stop coming (``expire``).

``Assembler.drain`` walks the records of a BPF ring buffer laid out as the
kernel maps it (kernel/bpf/ringbuf.c: an 8-byte header per record, ``len``
with a busy and a discard bit, records 8-byte aligned, the data pages
mapped twice so no record wraps); ``ringbuf.MappedRing`` runs it over the
live mapping, the tests over synthetic bytes (``feed_many``).
"""

from __future__ import annotations

import struct

from p2pcap.formats.records import FLAG_ADDR_FAULT, FLAG_CONN_FAULT, FLAG_PAYLOAD_FAULT, Message

from .limits import ADDR_MAX, CMD_MAX, CONN_MAX
from .peertable import PeerTable

EV_MESSAGE = 1
EV_CHUNK = 2
EV_PEER = 3
EV_WAKE = 4  # an 8-byte record that only woke us up

EVENT = struct.Struct(f"<BBBBIQQQII{CMD_MAX}s")
EVENT_HEAD = struct.Struct("<BBBBIQQQII")  # without the command
CHUNK = struct.Struct("<BxxxIII")
PEER = struct.Struct(f"<BBHIQqII{ADDR_MAX}s{CONN_MAX}s")
PEER_HEAD = struct.Struct("<BBHIQqII")

EVENT_DATA = EVENT.size  # 72: where the payload starts in an EV_MESSAGE
CHUNK_DATA = CHUNK.size  # 16

# Ring-buffer record header (include/uapi/linux/bpf.h).
RINGBUF_BUSY_BIT = 1 << 31
RINGBUF_DISCARD_BIT = 1 << 30
RINGBUF_HDR_SZ = 8
_LEN_MASK = RINGBUF_DISCARD_BIT - 1

DIRECTION = ("out", "in")  # indexed by the inbound byte
UNKNOWN_PEER = (0, -1, "", "", FLAG_ADDR_FAULT | FLAG_CONN_FAULT)
PENDING_TIMEOUT_NS = 100_000_000  # a message's chunks follow within microseconds
# Command names met, kept so each is decoded once.  Dash Core traces every
# message a peer sends, unknown commands included (net_processing.cpp
# ProcessMessages fires inbound_message before looking at the command), so
# a peer can send any number of names: past this many the cache starts over.
COMMAND_CACHE_MAX = 4096


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


def _join(parts: list) -> bytes:
    """The pieces as one bytes object: the one copy out of the ring."""
    whole = parts[0] if len(parts) == 1 and type(parts[0]) is bytes else b"".join(parts)
    _release(parts)
    return whole


def _release(parts: list) -> None:
    for p in parts:
        if type(p) is memoryview:
            p.release()


class Assembler:
    """Feeds on raw records; hands finished Messages to ``emit``; counts losses.

    ``clock_offset_ns`` turns the kernel's CLOCK_MONOTONIC stamps into wall
    clock: one offset taken when recording starts.

    >>> out = []
    >>> a = Assembler(0, out.append)
    >>> a.feed(encode_peer(1, 7, 3, "127.0.0.1:19899", "inbound"))
    >>> a.feed(encode_message(1, "ping", bytes(8), ts_ns=5, tid=3))
    >>> (out[0].command, out[0].peer_addr, out[0].payload)
    ('ping', '127.0.0.1:19899', b'\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00')
    """

    def __init__(self, clock_offset_ns: int, emit, *, borrow: bool = False):
        self.clock_offset_ns = clock_offset_ns
        self.emit = emit
        # borrow: hand ``emit`` payloads still lying in the ring -- a
        # memoryview, or a list of them for a message in several records --
        # valid only until ``emit`` returns.  The recorder's writer copies
        # them straight into its block, sparing a copy per message.
        self.borrow = borrow
        self.table = PeerTable()  # ref -> (pid, peer_id, addr, conn_type, flags), bounded
        self.pids: set[int] = set()  # processes whose peers were announced
        self.on_pid = None  # on_pid(pid): a process named for the first time
        self._commands: dict[bytes, str] = {}
        self._conn_types: dict[bytes, str] = {}
        # tid -> [Message, pieces so far, bytes so far, captured_len, last progress (ns)]
        self._pending: dict[int, list] = {}
        self.incomplete: list[Message] = []  # abandoned with chunks missing, not yet reported
        self.malformed = 0  # records user space could not make sense of
        self.now_ns = 0  # set by the caller before each drain: "arrival" time

    # -- records -----------------------------------------------------------------
    def drain(
        self,
        buf,
        heads,
        base: int,
        mask: int,
        consumer: int,
        producer: int,
        commit=None,
        commit_every: int = 256,
    ) -> int:
        """Take every committed record of a ring buffer in ``[consumer, producer)``.

        The ring is laid out as the kernel maps it: the header of the record
        at ring position ``pos`` is at ``buf[base + (pos & mask)]`` (``buf``
        is an ``mmap`` or ``bytes``: its slices are bytes), and
        ``heads`` is the same memory seen as native 32-bit words, so a header
        is read with one load (the kernel flips its busy bit with one atomic
        store).  Stops at the first record still being written.  Returns the
        new consumer position; ``commit(pos)`` is called every
        ``commit_every`` records so the kernel can reuse the space during a
        long drain.

        This loop is the recorder's hot path, so the common case -- a whole
        message in one record -- is handled inline, with everything it
        touches in local variables: no call but the emit per message.
        """
        view = memoryview(buf)  # large pieces are sliced from it without a copy
        try:
            return self._drain(buf, view, heads, base, mask, consumer, producer, commit, commit_every)
        finally:
            self._materialize()
            view.release()

    def _drain(self, buf, view, heads, base, mask, consumer, producer, commit, commit_every):
        unpack = EVENT_HEAD.unpack_from
        commands = self._commands
        if len(commands) > COMMAND_CACHE_MAX:
            commands.clear()
        peers = self.table.current
        older = self.table.older
        pending = self._pending
        emit = self.emit
        offset_ns = self.clock_offset_ns
        payloads = view if self.borrow else buf  # views, or bytes (mmap slices copy)
        direction = DIRECTION
        unknown = UNKNOWN_PEER
        left = commit_every if commit is not None else -1
        while consumer < producer:
            off = base + (consumer & mask)
            head = heads[off >> 2]
            if head & RINGBUF_BUSY_BIT:
                break
            left -= 1
            if left == 0:
                # Hand back what is behind this record (not the record
                # itself: the kernel may write there as soon as it is ours).
                if pending:
                    self._materialize()  # the kernel may reuse what we point into
                commit(consumer)
                left = commit_every
            size = head & _LEN_MASK
            consumer += (size + RINGBUF_HDR_SZ + 7) & ~7
            if head & RINGBUF_DISCARD_BIT:
                continue
            off += RINGBUF_HDR_SZ
            if view[off] != EV_MESSAGE or size < EVENT_DATA:
                self._other(buf, view, off, size)
                continue
            # Fields through the memoryview (cheaper than an mmap's buffer
            # export per call); byte strings by slicing the mapping itself.
            (_, inbound, command_len, flags, data_len, ref, ts, msg_size, captured, tid) = unpack(view, off)
            raw = buf[off + 40 : off + 40 + command_len]
            command = commands.get(raw)
            if command is None:
                command = commands[raw] = _text(raw)
            name = peers.get(ref)
            pid, peer_id, addr, conn, peer_flags = older.get(ref, unknown) if name is None else name
            if data_len > size - EVENT_DATA or data_len > captured:
                self.malformed += 1
                continue
            off += EVENT_DATA
            if pending and tid in pending:
                self._abandon(tid)
            if data_len == captured or flags & FLAG_PAYLOAD_FAULT:
                emit(
                    Message(
                        ts + offset_ns,
                        pid,
                        peer_id,
                        addr,
                        conn,
                        direction[inbound & 1],
                        command,
                        msg_size,
                        payloads[off : off + data_len],
                        flags | peer_flags,
                    )
                )
            else:
                # The first piece of a message whose chunks follow: keep views
                # into the ring and copy once, when the message is whole.
                msg = Message(
                    ts + offset_ns,
                    pid,
                    peer_id,
                    addr,
                    conn,
                    direction[inbound & 1],
                    command,
                    msg_size,
                    b"",
                    flags | peer_flags,
                )
                pending[tid] = [msg, [view[off : off + data_len]], data_len, captured, self.now_ns]
        return consumer

    def _materialize(self) -> None:
        """Copy the pieces of pending messages out of the ring."""
        for entry in self._pending.values():
            parts = entry[1]
            if parts and type(parts[-1]) is memoryview:
                whole = b"".join(parts)
                for p in parts:
                    if type(p) is memoryview:
                        p.release()
                entry[1] = [whole]

    def feed(self, raw: bytes) -> None:
        """One record (the bytes after its ring-buffer header), e.g. from libbpf's callback."""
        self.feed_many([raw])

    def feed_many(self, raws) -> None:
        """Several records, in ring order: laid out as a ring and drained."""
        ring = bytearray()
        for raw in raws:
            ring += len(raw).to_bytes(4, "little") + bytes(4) + raw
            ring += bytes(-len(ring) % 8)
        if ring:
            ring = bytes(ring)
            self.drain(ring, memoryview(ring).cast("I"), 0, (1 << 62) - 1, 0, len(ring))

    def _other(self, buf, view, off: int, size: int) -> None:
        kind = buf[off]
        if kind == EV_CHUNK and size >= CHUNK_DATA:
            self._chunk(buf, view, off, size)
        elif kind == EV_PEER and size >= PEER.size:
            self._peer(buf, off)
        elif kind != EV_WAKE:
            self.malformed += 1

    def _chunk(self, buf, view, off: int, size: int) -> None:
        _, data_len, offset, tid = CHUNK.unpack_from(buf, off)
        entry = self._pending.get(tid)
        if entry is None:
            return  # its message was abandoned (and counted) already
        msg, parts, have, captured, _ = entry
        if offset != have or data_len > size - CHUNK_DATA or offset + data_len > captured:
            self._abandon(tid)  # out of order: the message cannot be whole
            return
        if data_len == 0:
            # Reading the traced process's memory failed: keep what we have,
            # flagged, and say so (captured_len < msg_size).
            del self._pending[tid]
            msg.flags |= FLAG_PAYLOAD_FAULT
            self._complete(msg, parts)
            return
        start = off + CHUNK_DATA
        parts.append(view[start : start + data_len])
        have += data_len
        if have == captured:
            del self._pending[tid]
            self._complete(msg, parts)
        else:
            entry[2] = have
            entry[4] = self.now_ns

    def _complete(self, msg: Message, parts: list) -> None:
        if self.borrow:
            msg.payload = parts
            try:
                self.emit(msg)
            finally:
                _release(parts)
        else:
            msg.payload = _join(parts)
            self.emit(msg)

    def _peer(self, buf, off: int) -> None:
        _, flags, addr_len, conn_len, ref, peer_id, pid, _ = PEER_HEAD.unpack_from(buf, off)
        a = off + PEER_HEAD.size
        c = a + ADDR_MAX
        addr = _text(buf[a : a + min(addr_len, ADDR_MAX - 1)])
        raw = buf[c : c + min(conn_len, CONN_MAX - 1)]
        conn = self._conn_types.get(raw)  # a handful of names, shared by every peer
        if conn is None:
            if len(self._conn_types) > COMMAND_CACHE_MAX:  # made-up names: start over
                self._conn_types.clear()
            conn = self._conn_types[raw] = _text(raw)
        self.table.add(ref, (pid, peer_id, addr, conn, flags))
        if pid not in self.pids:
            self.pids.add(pid)
            if self.on_pid is not None:
                self.on_pid(pid)  # before its first message is emitted

    def _abandon(self, tid: int) -> None:
        msg, parts = self._pending.pop(tid)[:2]
        _release(parts)
        self.incomplete.append(msg)

    # -- housekeeping ------------------------------------------------------------
    def expire(self, now_ns: int, timeout_ns: int = PENDING_TIMEOUT_NS) -> None:
        """Give up on messages whose chunks stopped coming ``timeout_ns`` ago.

        A probe hit copies all of a message's chunks before it returns, so
        a message still pending long after its last piece arrived lost the
        rest to a full ring buffer.
        """
        for tid in [t for t, e in self._pending.items() if now_ns - e[4] >= timeout_ns]:
            self._abandon(tid)

    def take_incomplete(self) -> list[Message]:
        """Messages abandoned since the last call (each one is a loss to report)."""
        out, self.incomplete = self.incomplete, []
        return out

    @property
    def peers(self) -> dict:
        """The peers named since the peer table last turned (``peertable.py``)."""
        return self.table.current

    def forget_pid(self, pid: int) -> None:
        """The process is gone: drop its peers (its pid may be reused)."""
        self.table.forget_pid(pid)
        self.pids.discard(pid)

    def finish(self) -> None:
        """End of recording: whatever is still pending is incomplete."""
        for tid in list(self._pending):
            self._abandon(tid)


# -- encoders, for tests and the benchmark's synthetic load ---------------------
def encode_message(
    ref: int,
    command: str,
    payload: bytes,
    *,
    ts_ns: int = 0,
    tid: int = 1,
    inbound: bool = True,
    msg_size: int | None = None,
    captured_len: int | None = None,
    flags: int = 0,
) -> bytes:
    """An EV_MESSAGE record as the BPF program writes it."""
    raw = command.encode()
    captured = len(payload) if captured_len is None else captured_len
    size = captured if msg_size is None else msg_size
    return (
        EVENT.pack(
            EV_MESSAGE, int(inbound), len(raw), flags, len(payload), ref, ts_ns, size, captured, tid, raw
        )
        + payload
    )


def encode_chunk(tid: int, offset: int, data: bytes) -> bytes:
    return CHUNK.pack(EV_CHUNK, len(data), offset, tid) + data


def encode_peer(ref: int, peer_id: int, pid: int, addr: str, conn_type: str, flags: int = 0) -> bytes:
    a, c = addr.encode(), conn_type.encode()
    return PEER.pack(EV_PEER, flags, len(a), len(c), ref, peer_id, pid, 0, a, c)
