"""The assembler on synthetic ring-buffer bytes: no BPF, no root.

Records are built with the encoders in ``p2pcap.capture.events``, which
write the layouts of ``p2p_messages.bpf.c``; ``Ring`` lays them out the way
the kernel maps a BPF ring buffer (8-byte headers, 8-byte alignment, the
data pages mapped twice so a record never wraps).
"""

from __future__ import annotations

import mmap
import random

import pytest

from p2pcap.capture.events import (
    EV_WAKE,
    PENDING_TIMEOUT_NS,
    RINGBUF_BUSY_BIT,
    RINGBUF_DISCARD_BIT,
    Assembler,
    encode_chunk,
    encode_message,
    encode_peer,
)
from p2pcap.capture.limits import CHUNK_SIZE
from p2pcap.formats.records import (
    FLAG_ADDR_CUT,
    FLAG_ADDR_FAULT,
    FLAG_CONN_FAULT,
    FLAG_PAYLOAD_FAULT,
    FLAG_SNAPLEN,
)

PEER = encode_peer(ref=0x10001, peer_id=7, pid=4242, addr="[2001:db8::1]:19999", conn_type="inbound")


class Ring:
    """A BPF ring buffer's data area, mapped twice, with positions.

    An anonymous mapping, like the real one: its slices are bytes.
    """

    def __init__(self, size: int = 1 << 16):
        self.size = size
        self.mem = mmap.mmap(-1, 2 * size)
        self.producer = 0

    def put(self, record: bytes, *, busy: bool = False, discard: bool = False) -> int:
        pos = self.producer
        head = len(record) | (RINGBUF_BUSY_BIT if busy else 0) | (RINGBUF_DISCARD_BIT if discard else 0)
        data = head.to_bytes(4, "little") + bytes(4) + record
        data += bytes(-len(data) % 8)
        for i, byte in enumerate(data):  # both mappings see the same memory
            off = (pos + i) % self.size
            self.mem[off] = self.mem[off + self.size] = byte
        self.producer += len(data)
        return pos

    def unbusy(self, pos: int) -> None:
        off = pos % self.size
        self.mem[off + 3] &= 0x7F
        self.mem[off + 3 + self.size] &= 0x7F

    def drain(self, assembler: Assembler, consumer: int, **kw) -> int:
        return assembler.drain(
            self.mem, memoryview(self.mem).cast("I"), 0, self.size - 1, consumer, self.producer, **kw
        )


def assembler(offset: int = 0):
    out = []
    return Assembler(offset, out.append), out


def test_small_message_with_its_peer():
    a, out = assembler(offset=1_000)
    a.feed_many(
        [
            PEER,
            encode_message(
                0x10001,
                "inv",
                b"\x01" + bytes(36),
                ts_ns=5,
                tid=9,
                inbound=False,
                flags=FLAG_SNAPLEN,
                msg_size=100,
            ),
        ]
    )
    (m,) = out
    assert (m.ts_ns, m.pid, m.peer_id, m.peer_addr, m.conn_type, m.direction, m.command) == (
        1_005,
        4242,
        7,
        "[2001:db8::1]:19999",
        "inbound",
        "out",
        "inv",
    )
    assert m.payload == b"\x01" + bytes(36) and m.msg_size == 100 and m.flags == FLAG_SNAPLEN
    assert a.pids == {4242}


def test_peer_flags_and_unknown_peers_are_marked_not_hidden():
    a, out = assembler()
    a.feed_many(
        [
            encode_peer(1, 3, 10, "x" * 255, "", flags=FLAG_ADDR_CUT | FLAG_CONN_FAULT),
            encode_message(1, "ping", bytes(8)),
            encode_message(99, "pong", bytes(8)),  # its EV_PEER never came
        ]
    )
    assert out[0].flags == FLAG_ADDR_CUT | FLAG_CONN_FAULT and out[0].peer_addr == "x" * 255
    assert out[1].flags & (FLAG_ADDR_FAULT | FLAG_CONN_FAULT) == FLAG_ADDR_FAULT | FLAG_CONN_FAULT


def chunks_of(payload: bytes, tid: int, ref: int = 0x10001, command: str = "block"):
    first = encode_message(ref, command, payload[:CHUNK_SIZE], tid=tid, captured_len=len(payload))
    rest = [
        encode_chunk(tid, off, payload[off : off + CHUNK_SIZE])
        for off in range(CHUNK_SIZE, len(payload), CHUNK_SIZE)
    ]
    return [first, *rest]


def test_large_messages_reassemble_byte_exact_across_interleaved_threads():
    rng = random.Random(1)
    big1, big2 = rng.randbytes(3 * 1024 * 1024), rng.randbytes(100_000)
    one, two = chunks_of(big1, tid=1), chunks_of(big2, tid=2, command="headers")
    records = [PEER]
    while one or two:  # two threads on two CPUs: their records interleave
        for queue in (one, two):
            if queue:
                records.append(queue.pop(0))
    records.insert(5, encode_message(0x10001, "ping", bytes(8), tid=3))
    a, out = assembler()
    a.feed_many(records)
    assert [m.command for m in out] == ["ping", "headers", "block"]
    assert out[1].payload == big2 and out[2].payload == big1
    assert out[2].captured_len == out[2].msg_size == len(big1)
    assert a.take_incomplete() == []


def test_missing_chunks_make_the_message_incomplete_not_wrong():
    payload = random.Random(2).randbytes(100_000)
    first, *rest = chunks_of(payload, tid=1)
    a, out = assembler()
    # Chunk 2 of 3 found no room; the thread's next message starts.
    a.feed_many([PEER, first, rest[0], encode_message(0x10001, "ping", bytes(8), tid=1), rest[2]])
    assert [m.command for m in out] == ["ping"]
    (lost,) = a.take_incomplete()
    assert lost.command == "block" and lost.msg_size == 100_000


def test_a_message_whose_chunks_stop_coming_expires():
    first, second, _ = chunks_of(bytes(80_000), tid=1)[:3]
    a, out = assembler()
    a.now_ns = 1_000
    a.feed_many([PEER, first, second])
    a.expire(1_000 + PENDING_TIMEOUT_NS - 1)
    assert a.take_incomplete() == []
    a.expire(1_000 + PENDING_TIMEOUT_NS)
    assert [m.msg_size for m in a.take_incomplete()] == [80_000] and out == []


def test_a_failed_read_keeps_the_bytes_read_and_flags_them():
    payload = bytes(range(256)) * 400  # 102,400 bytes: 4 pieces
    first, second, third, _ = chunks_of(payload, tid=4)
    failed = encode_chunk(4, 2 * CHUNK_SIZE, b"")  # bpf_probe_read_user failed here
    a, out = assembler()
    a.feed_many([PEER, first, second, failed])
    (m,) = out
    assert m.flags & FLAG_PAYLOAD_FAULT and m.payload == payload[: 2 * CHUNK_SIZE]
    assert m.captured_len < m.msg_size


def test_a_fault_in_the_first_piece_is_flagged_with_an_empty_payload():
    a, out = assembler()
    a.feed_many([PEER, encode_message(0x10001, "tx", b"", captured_len=250, flags=FLAG_PAYLOAD_FAULT)])
    assert out[0].payload == b"" and out[0].msg_size == 250 and out[0].flags & FLAG_PAYLOAD_FAULT


def test_malformed_and_wake_records():
    a, out = assembler()
    a.feed_many([b"\x09" + bytes(80), EV_WAKE.to_bytes(8, "little"), b"\x01" + bytes(10)])
    assert a.malformed == 2 and out == []


def test_drain_stops_at_a_busy_record_and_skips_discarded_ones():
    ring, (a, out) = Ring(), assembler()
    ring.put(PEER)
    ring.put(encode_message(0x10001, "ping", bytes(8)), discard=True)
    ring.put(encode_message(0x10001, "inv", bytes(37)))
    busy = ring.put(encode_message(0x10001, "tx", bytes(200)), busy=True)
    ring.put(encode_message(0x10001, "pong", bytes(8)))
    consumer = ring.drain(a, 0)
    assert consumer == busy and [m.command for m in out] == ["inv"]
    ring.unbusy(busy)
    assert ring.drain(a, consumer) == ring.producer
    assert [m.command for m in out] == ["inv", "tx", "pong"]


def test_drain_wraps_around_and_commits_as_it_goes():
    ring, (a, out) = Ring(size=4096), assembler()
    commits, consumer = [], 0
    sent = []
    ring.put(PEER)
    for i in range(200):  # ~14 laps of the ring
        payload = bytes([i]) * (i % 90)
        ring.put(encode_message(0x10001, f"c{i % 7}", payload, ts_ns=i))
        sent.append(payload)
        if i % 5 == 4:
            consumer = ring.drain(a, consumer, commit=commits.append, commit_every=2)
    assert [m.payload for m in out] == sent
    assert commits == sorted(commits) and commits[-1] <= consumer == ring.producer


def test_pending_pieces_survive_the_ring_being_reused():
    """A message split across drains is copied out before its space is released."""
    payload = random.Random(3).randbytes(70_000)
    first, second, third = chunks_of(payload, tid=1)
    ring, (a, out) = Ring(size=1 << 17), assembler()
    ring.put(PEER)
    ring.put(first)
    consumer = ring.drain(a, 0)
    ring.mem[:] = bytes(len(ring.mem))  # the kernel writes over the space we gave back
    ring.producer = consumer
    ring.put(second)
    ring.put(third)
    ring.drain(a, consumer)
    assert out[0].payload == payload


@pytest.mark.parametrize("command", ["version", "qsendrecsigs", "mnauth"])
def test_commands_are_interned(command):
    a, out = assembler()
    a.feed_many([PEER] + [encode_message(0x10001, command, b"") for _ in range(3)])
    assert len({id(m.command) for m in out}) == 1 and out[0].command == command


def test_forget_pid_drops_its_peers():
    a, out = assembler()
    a.feed_many([PEER, encode_peer(5, 1, 77, "1.2.3.4:9999", "manual")])
    a.forget_pid(4242)
    assert a.pids == {77} and set(a.peers) == {5}


class Kernel:
    """Stands for the producer: space handed back with commit() is written over at once."""

    def __init__(self, ring: Ring):
        self.ring, self.given_back = ring, 0

    def commit(self, pos: int) -> None:
        for p in range(self.given_back, pos):
            self.ring.mem[p % self.ring.size] = self.ring.mem[p % self.ring.size + self.ring.size] = 0xEE
        self.given_back = pos


@pytest.mark.parametrize("every", [1, 2, 3])
def test_drain_never_gives_back_a_record_it_has_not_read(every):
    ring, (a, out) = Ring(size=1 << 16), assembler()
    kernel = Kernel(ring)
    ring.put(PEER)
    sent = [bytes([i]) * (10 + i) for i in range(40)]
    for i, payload in enumerate(sent):
        ring.put(encode_message(0x10001, "tx", payload, ts_ns=i))
    consumer = ring.drain(a, 0, commit=kernel.commit, commit_every=every)
    assert consumer == ring.producer and kernel.given_back <= consumer
    assert [m.payload for m in out] == sent and a.malformed == 0


def test_borrowed_payloads_are_views_valid_until_emit_returns():
    rng = random.Random(4)
    big, small = rng.randbytes(100_000), rng.randbytes(300)
    kept, seen = [], []

    def emit(m):
        p = m.payload
        seen.append(p)
        kept.append((m.command, b"".join(p) if type(p) is list else bytes(p)))

    a = Assembler(0, emit, borrow=True)
    ring = Ring(size=1 << 18)
    for record in [PEER, encode_message(0x10001, "tx", small), *chunks_of(big, tid=1)]:
        ring.put(record)
    ring.drain(a, 0)
    assert kept == [("tx", small), ("block", big)]
    assert type(seen[0]) is memoryview and type(seen[1]) is list and len(seen[1]) == 4
    with pytest.raises(ValueError):  # the pieces were let go: nothing keeps the ring busy
        bytes(seen[1][0])
