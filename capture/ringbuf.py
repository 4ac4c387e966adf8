"""Read the BPF ring buffer: mapped into our memory, or through BCC's callback.

``MappedRing`` maps the ring the way libbpf does (tools/lib/bpf/ringbuf.c:
the consumer page read-write at offset 0, the producer page and the data
pages, mapped twice by the kernel so no record wraps, read-only after it)
and walks the records in Python with ``Assembler.drain``.  Compared
with ``ring_buffer_consume()``, which calls a ctypes callback per record
(~2 µs each here), that is several times cheaper per message, and it is
what lets one Python thread keep up with 100,000 messages/s.

It relies on x86-64's ordering of plain loads and stores (TSO), as the
kernel's smp_load_acquire/smp_store_release compile to plain moves there,
and reads and writes the positions and record headers as whole aligned
words (see ``MappedRing``).
On other machines ``CallbackRing`` drains through libbpf instead; the
environment variable P2PCAP_RINGBUF=callback forces it (tests use it).
"""

from __future__ import annotations

import ctypes
import mmap
import os
import platform
import select


class Waker:
    """Sleep until a deadline, or until the BPF program forces a wakeup.

    The ring's descriptor is watched edge-triggered: level-triggered, it
    would report readiness whenever any record waits, i.e. almost always;
    edge-triggered, only the program's BPF_RB_FORCE_WAKEUP (sent after each
    quarter of the ring's size in large messages) cuts the sleep short.
    """

    def __init__(self, fd: int):
        self._epoll = select.epoll()
        self._epoll.register(fd, select.EPOLLIN | select.EPOLLET)

    def sleep(self, seconds: float) -> bool:
        """True if woken early by the program."""
        if seconds <= 0:
            return False
        try:
            return bool(self._epoll.poll(seconds))
        except InterruptedError:
            return True

    def close(self) -> None:
        self._epoll.close()


def open_ring(bpf, name: str, size: int, assembler):
    """The fastest reader this machine allows for the ring buffer ``name``
    of ``size`` data bytes, feeding ``assembler``."""
    choice = os.environ.get("P2PCAP_RINGBUF", "")
    if choice != "callback" and platform.machine() in ("x86_64", "AMD64"):
        try:
            return MappedRing(bpf[name].map_fd, size, assembler)
        except OSError:
            pass  # no mapping allowed here: libbpf's way still works
    return CallbackRing(bpf, name, assembler)


class MappedRing:
    """The ring buffer of map ``fd`` (``size`` data bytes), read in place."""

    kind = "mapped"

    def __init__(self, fd: int, size: int, assembler):
        self.fd = fd
        page = mmap.PAGESIZE
        self.size = size
        self.mask = size - 1
        self.assembler = assembler
        self._consumer = mmap.mmap(fd, page, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE, offset=0)
        try:
            self._data = mmap.mmap(fd, page + 2 * size, mmap.MAP_SHARED, mmap.PROT_READ, offset=page)
        except BaseException:
            self._consumer.close()
            raise
        # Positions are read and written as whole aligned 8-byte words: a
        # native memoryview item is one load or store, as the kernel's
        # smp_load_acquire/smp_store_release expect.  struct's "<Q" goes a
        # byte at a time here, and a half-written consumer position looks
        # to the kernel like a full ring (spurious reservation failures).
        self._consumer_pos = memoryview(self._consumer).cast("B").cast("Q")
        self._producer_pos = memoryview(self._data)[:8].cast("Q")
        self._heads = memoryview(self._data).cast("I")
        self._pos = self._consumer_pos[0]

    def backlog(self) -> int:
        """Bytes the kernel has written that we have not read yet."""
        return self._producer_pos[0] - self._pos

    def positions(self) -> tuple[int, int]:
        """(read up to, written up to): ring positions, which only grow."""
        return self._pos, self._producer_pos[0]

    def drain(self) -> int:
        """Hand every committed record to the assembler; returns the bytes read."""
        producer = self._producer_pos[0]
        start = self._pos
        if producer == start:
            return 0
        self._pos = self.assembler.drain(
            self._data, self._heads, mmap.PAGESIZE, self.mask, start, producer, commit=self._commit
        )
        self._commit(self._pos)
        return self._pos - start

    def _commit(self, pos: int) -> None:
        self._consumer_pos[0] = pos

    def close(self) -> None:
        self._consumer_pos.release()
        self._producer_pos.release()
        self._heads.release()
        self._data.close()
        self._consumer.close()


class CallbackRing:
    """libbpf's consumer: a ctypes callback copies each record out."""

    kind = "callback"

    def __init__(self, bpf, name: str, assembler):
        self.fd = bpf[name].map_fd
        self.bpf = bpf
        self.assembler = assembler
        self._raw: list[bytes] = []  # at most what the ring held: emptied by every drain
        self.drains = 0
        raw = self._raw
        string_at = ctypes.string_at

        def on_event(_ctx, data, size):
            raw.append(string_at(data, size))
            return 0  # an int: this ctypes callback returning None was ~3x slower per event

        bpf[name].open_ring_buffer(on_event)

    def backlog(self) -> int:
        return 0

    def positions(self) -> tuple[int, int]:
        """(drains done, the next drain): each drain reads all that was written before it."""
        return self.drains, self.drains + 1

    def drain(self) -> int:
        self.drains += 1
        self.bpf.ring_buffer_consume()
        if not self._raw:
            return 0
        batch, self._raw[:] = list(self._raw), []
        self.assembler.feed_many(batch)
        return sum(map(len, batch))

    def close(self) -> None:
        pass
