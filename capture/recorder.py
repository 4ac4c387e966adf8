"""The recording loop: drain the ring buffer on a timer, assemble, write.

Records are submitted with BPF_RB_NO_WAKEUP, so nothing wakes us per
message; every DRAIN_INTERVAL we walk what the ring holds (``ringbuf``),
turn it into Messages (``events.Assembler``) and hand them to the output,
whose writer compresses on its own thread.  After each drain the kernel's
loss counters are read (one syscall) and any new loss becomes a gap record
right there, stamped with the time the loss began; so do messages whose
chunks went missing.  Nothing on this path decodes a payload or makes a
system call per message.
"""

from __future__ import annotations

import ctypes
import signal
import sys
import time
from dataclasses import dataclass, field

from p2pcap.formats.records import GAP_REASONS, GAP_REASSEMBLY, GAP_RINGBUF_FULL, GAP_USERSPACE, Gap

from . import clocksync, program, targets
from .events import Assembler
from .ringbuf import Waker, open_ring

# s between drains: at 100,000 small messages/s that is 5,000 per drain, a
# few MB of the ring; bursts of large messages wake us sooner (Waker).
DRAIN_INTERVAL = 0.05
# s a thread may hold the GIL while another waits (Python's default: 5 ms).
# The writer's thread needs it back after each zstd/crc/write call; at the
# default it waited up to 5 ms each time behind this busy loop, and blocks
# of 4 KiB messages piled up at ~150 MB/s.  0.5 ms lets it keep up.
GIL_SWITCH_INTERVAL = 0.0005
TARGET_POLL_INTERVAL = 0.5  # s between looks at the traced processes
STATUS_INTERVAL = 1.0  # s between status lines
TRIM_INTERVAL = 30.0  # s between handing freed heap pages back (tune_allocator)


@dataclass
class Summary:
    messages: int = 0
    payload_bytes: int = 0
    lost_messages: int = 0
    lost_bytes: int = 0
    lost_chunks: int = 0  # chunks the kernel could not reserve (their messages are in lost_messages)
    reasons: dict = field(default_factory=dict)  # reason name -> lost messages
    reason_bytes: dict = field(default_factory=dict)  # reason name -> lost payload bytes (record --metrics)
    bytes_written: int = 0
    files: list = field(default_factory=list)
    ring: str = ""
    clock_steps: list = field(default_factory=list)  # clocksync.ClockStep, the last MAX_STEPS_KEPT
    signal: int | None = None  # the signal that ended the recording, if one did

    def line(self) -> str:
        """``"1200 messages, 345678 payload bytes, 0 lost"``; losses by reason."""
        loss = f"{self.lost_messages} lost"
        if self.lost_messages:
            detail = ", ".join(f"{n} {why}" for why, n in sorted(self.reasons.items()))
            loss += f" ({detail}; {self.lost_bytes} bytes)"
        return f"{self.messages} messages, {self.payload_bytes} payload bytes, {loss}"


class Recorder:
    """Drain ``bpf``'s ring buffer into ``output`` until stopped.

    ``pids``: the processes named with --pid (the recording ends when all of
    them have exited); empty with --exe, where processes come and go and
    ``on_note`` hears about it.  ``on_status(text)`` gets a status line every
    second when given.
    """

    def __init__(
        self,
        bpf,
        output,
        opts: program.Options,
        *,
        pids=(),
        max_count: int | None = None,
        duration: float | None = None,
        on_status=None,
        on_note=None,
    ):
        self.bpf = bpf
        self.output = output
        self.opts = opts
        self.pids = list(pids)
        self.max_count = max_count
        self.duration = duration
        self.on_status = on_status
        self.on_note = on_note or (lambda text: None)
        self.summary = Summary()
        self._stop = False
        self._kernel = [0, 0, 0]  # messages, bytes, chunks reported so far
        self._last_loss_poll_ns = 0
        self._live: set[int] = set(self.pids)  # processes we know to be running
        self._dead: list[int] = []  # found gone at the last look; forgotten at the next
        self.clock_watch: clocksync.StepWatch | None = None
        self.ring = None  # the ring buffer's reader while recording (record --metrics reads its fill)

    def stop(self, signum=None, _frame=None) -> None:
        self._stop = True
        if signum is not None:
            self.summary.signal = signum  # SIGINT makes `record` exit 130, as every command does

    # -- the loop ----------------------------------------------------------------
    def run(self, on_listening=None) -> Summary:
        trim = tune_allocator()
        # bpf_ktime_get_ns is CLOCK_MONOTONIC: every ts_ns is it plus this
        # one offset, so a step of the wall clock (NTP, an operator) cannot
        # reorder messages; StepWatch notices one and the capture records it.
        self.clock_watch = clocksync.StepWatch(clock=time)
        offset = self.clock_watch.offset_ns
        self.offset_ns = offset
        self.assembler = assembler = Assembler(offset, self.output.write, borrow=True)
        assembler.on_pid = self._new_process
        self._bind_emit()
        ring = open_ring(self.bpf, "events", self.opts.ringbuf_bytes, assembler)
        waker = Waker(ring.fd)
        self.ring = ring
        self.summary.ring = ring.kind
        losses = program.LossCounters(self.bpf)
        old = [signal.signal(s, self.stop) for s in (signal.SIGINT, signal.SIGTERM)]
        old_switch = sys.getswitchinterval()
        sys.setswitchinterval(GIL_SWITCH_INTERVAL)
        self._last_loss_poll_ns = time.monotonic_ns()
        if on_listening:
            on_listening()
        start = time.monotonic()
        next_drain = start
        next_targets = start + TARGET_POLL_INTERVAL
        next_status = start + STATUS_INTERVAL
        next_trim = start + TRIM_INTERVAL
        status_from = (start, 0)
        try:
            while not self._stop:
                next_drain += DRAIN_INTERVAL
                delay = next_drain - time.monotonic()
                if delay <= 0 or waker.sleep(delay):
                    next_drain = time.monotonic()  # behind, or woken: drain now
                now_ns = time.monotonic_ns()
                assembler.now_ns = now_ns
                ring.drain()
                self._account(losses, now_ns)
                now = time.monotonic()
                assembler.table.tick(now, *ring.positions(), self._forget_peers)
                if now >= next_targets:
                    self._check_targets()
                    self._check_clock()
                    next_targets = now + TARGET_POLL_INTERVAL
                if self.max_count is not None and self.output.messages >= self.max_count:
                    self._stop = True
                if self.duration is not None and now - start >= self.duration:
                    self._stop = True
                if self.output.tick(now):
                    self._bind_emit()
                if now >= next_trim:
                    trim()
                    next_trim = now + TRIM_INTERVAL
                if self.on_status and now >= next_status:
                    status_from = self._status(now, status_from)
                    next_status = now + STATUS_INTERVAL
            # Drain what is left -- a probe may be halfway through a message
            # (its records still busy): give it a moment -- then account for
            # everything still missing.
            for _ in range(20):
                assembler.now_ns = time.monotonic_ns()
                ring.drain()
                if ring.backlog() == 0:
                    break
                time.sleep(0.005)
            self._account(losses, time.monotonic_ns(), final=True)
        except OSError as e:  # the writer's: disk full, a closed pipe ...
            raise program.RecordError(f"{self.output.files[-1]}: cannot write: {e.strerror or e}") from None
        finally:
            sys.setswitchinterval(old_switch)
            signal.signal(signal.SIGINT, old[0])
            signal.signal(signal.SIGTERM, old[1])
            self.ring = None
            ring.close()
            waker.close()
        s = self.summary
        s.messages = self.output.messages
        s.payload_bytes = self.output.payload_bytes
        return s

    def _bind_emit(self) -> None:
        """Point the assembler at the current file's writer (after a rotation too)."""
        write = self.output.write
        if self.max_count is None:
            self.assembler.emit = write
            return
        output, limit = self.output, self.max_count

        def emit_until_count(msg):
            # Past --count the recording is over; what still drains is not kept.
            if output.messages < limit:
                write(msg)

        self.assembler.emit = emit_until_count

    # -- losses ------------------------------------------------------------------
    def _account(self, losses, now_ns: int, final: bool = False) -> None:
        """Turn new kernel losses and abandoned messages into gap records."""
        a = self.assembler
        if final:
            a.finish()
        else:
            a.expire(now_ns)
        for msg in a.take_incomplete():
            self._gap(GAP_REASSEMBLY, 1, msg.msg_size, ts_ns=msg.ts_ns, pid=msg.pid)
        if a.malformed:
            self._gap(GAP_USERSPACE, a.malformed, 0, ts_ns=self.offset_ns + now_ns)
            a.malformed = 0
        per_cpu = losses.read()
        if not per_cpu:
            return
        totals = [sum(c[i] for c in per_cpu) for i in range(3)]
        lost = totals[0] - self._kernel[0]
        lost_bytes = totals[1] - self._kernel[1]
        self.summary.lost_chunks += totals[2] - self._kernel[2]
        self._kernel = totals
        if lost:
            # When the run of losses began, not earlier than the last look.
            starts = [c[4] for c in per_cpu if c[3] >= self._last_loss_poll_ns]
            began = max(min(starts), self._last_loss_poll_ns) if starts else now_ns
            pid = self.pids[0] if len(self.pids) == 1 else 0
            self._gap(GAP_RINGBUF_FULL, lost, lost_bytes, ts_ns=self.offset_ns + began, pid=pid)
        self._last_loss_poll_ns = now_ns

    def _gap(self, reason: int, count: int, nbytes: int, *, ts_ns: int, pid: int = 0) -> None:
        self.output.write(Gap(ts_ns=ts_ns, pid=pid, reason=reason, lost_messages=count, lost_bytes=nbytes))
        s = self.summary
        s.lost_messages += count
        s.lost_bytes += nbytes
        name = GAP_REASONS[reason]
        s.reasons[name] = s.reasons.get(name, 0) + count
        s.reason_bytes[name] = s.reason_bytes.get(name, 0) + nbytes

    # -- targets and status ----------------------------------------------------------
    def _check_targets(self) -> None:
        # Peers of processes found dead at the previous look: their last
        # messages have been drained since, so their names can go (the pid
        # may be reused; a new process must announce its peers anew).
        for pid in self._dead:
            self.assembler.forget_pid(pid)
            if self.output is not None:
                self.output.processes.pop(pid, None)
        if self._dead:
            self._forget_peers()
        self._dead = []
        for pid in self.assembler.pids - self._live:
            self._live.add(pid)
            if pid not in self.pids:
                self.on_note(f"pid {pid} appeared: recording it too")
        for pid in [p for p in self._live if not alive(p)]:
            self._live.discard(pid)
            self._dead.append(pid)
            self.on_note(f"pid {pid} exited")
        if self.pids and not any(pid in self._live for pid in self.pids):
            self._stop = True  # --pid: the node is gone, the recording is over

    def _new_process(self, pid: int) -> None:
        """A process named for the first time (--pid's, or one --exe found,
        started later included): the network it runs on, from its command
        line and configuration (``targets.infer_network``), goes with every
        block of its messages.  Once per process, before its first message."""
        network, _how, _devnet = targets.infer_network(pid)
        if network != "unknown":  # gone already (its command line unreadable): the capture's applies
            self.output.processes[pid] = network

    def _forget_peers(self) -> None:
        """Make the BPF program name every peer afresh (``program.forget_peers``)."""
        program.forget_peers(self.bpf)

    def _check_clock(self) -> None:
        """Record a step of the wall clock: in the capture, and in a note."""
        step = self.clock_watch.check()
        if step is None:
            return
        steps = self.summary.clock_steps
        steps.append(step)
        del steps[: -clocksync.MAX_STEPS_KEPT]
        self.output.clock_step(step)
        self.on_note(step.describe())

    def _status(self, now: float, since: tuple) -> tuple:
        t0, n0 = since
        n = self.output.messages
        rate = (n - n0) / max(now - t0, 1e-9)
        out = self.output
        written = out.bytes_written
        ratio = out.payload_bytes / written if written else 0.0
        self.on_status(
            f"{n} messages, {rate:,.0f}/s, {written / 1e6:.1f} MB written, "
            f"ratio {ratio:.1f}x, {self.summary.lost_messages} lost"
        )
        return (now, n)


def tune_allocator():
    """Keep glibc from mapping and unmapping every large buffer; return ``trim()``.

    Message payloads, blocks (1 MiB) and their compressed frames are
    allocated and freed thousands of times a second.  By default glibc
    serves such sizes with fresh mmap()s or trims the heap under them, so
    every one is page-faulted in and zeroed again: copying 1 MiB took 1.5 ms
    here instead of 0.1 ms.  mallopt() keeps them on the heap (M_MMAP_THRESHOLD
    above the largest message, M_TRIM_THRESHOLD above the working set).

    The heap then keeps, as its size, the most the recording ever used: a
    minute of a starved consumer (every write-behind buffer in flight, the
    compressor's levels, big drains) left the recorder ~35 MB larger for
    good (issue 29).  ``trim()``, malloc_trim(0), hands the pages of freed
    chunks back to the kernel (MADV_DONTNEED, holes included), ~3 ms for a
    fragmented 50 MB heap; the recorder calls it every TRIM_INTERVAL, so
    the buffers in use keep their pages between calls and the resident size
    follows what is in use.  And a new thread gets an arena of its own (up
    to 8 per core), each file's writer has two, so M_ARENA_MAX 2: the main
    thread's arena and one that the writer threads of every file share.
    """
    try:
        libc = ctypes.CDLL(None)
        libc.mallopt(-3, 32 << 20)  # M_MMAP_THRESHOLD
        libc.mallopt(-1, 128 << 20)  # M_TRIM_THRESHOLD
        libc.mallopt(-8, 2)  # M_ARENA_MAX
        malloc_trim = libc.malloc_trim
    except (OSError, AttributeError):
        return lambda: None  # not glibc: nothing to tune
    malloc_trim.argtypes = (ctypes.c_size_t,)
    return lambda: malloc_trim(0)


def alive(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie is not)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return False
