"""The recording loop: drain the ring buffer on a timer, assemble, write.

Events are submitted with BPF_RB_NO_WAKEUP, so nothing wakes us per event;
a timer calls ``ring_buffer_consume()`` (ENV-BPF.md: ``poll`` would not see
such events).  The per-event callback only copies the bytes out and returns
0; assembling and writing happen after each drain, and the writer
compresses on its own thread.
"""

from __future__ import annotations

import ctypes
import os
import signal
import time
from dataclasses import dataclass, field

from p2pcap.formats.records import GAP_REASSEMBLY, GAP_RINGBUF_FULL, Gap

from . import program
from .events import Assembler

DRAIN_INTERVAL = 0.02  # s between drains; the ring buffer absorbs bursts
LOSS_POLL_INTERVAL = 0.25  # s between reads of the kernel's loss counters
TARGET_POLL_INTERVAL = 0.5  # s between checks that --pid targets still live


@dataclass
class Summary:
    messages: int = 0
    payload_bytes: int = 0
    lost_messages: int = 0
    lost_bytes: int = 0
    lost_chunks: int = 0
    reasons: dict = field(default_factory=dict)

    def line(self) -> str:
        loss = f"{self.lost_messages} lost"
        if self.lost_messages:
            detail = ", ".join(f"{n} {why}" for why, n in sorted(self.reasons.items()))
            loss += f" ({detail})"
        return f"{self.messages} messages, {self.payload_bytes} payload bytes, {loss}"


class Recorder:
    """Attach, then feed every traced message into ``writer`` until stopped."""

    def __init__(self, writer, opts: program.Options, *, pids=None, exe=None,
                 max_count: int | None = None, duration: float | None = None):
        self.writer = writer
        self.opts = opts
        self.pids = pids or []
        self.exe = exe
        self.max_count = max_count
        self.duration = duration
        self.summary = Summary()
        self._stop = False
        self._raw: list[bytes] = []
        self._kernel_losses = [0, 0, 0]

    def stop(self, *_args) -> None:
        self._stop = True

    def run(self, on_listening=None) -> Summary:
        bpf = program.load(self.opts, pids=self.pids, exe=self.exe)
        offset = time.time_ns() - time.monotonic_ns()  # bpf_ktime_get_ns is CLOCK_MONOTONIC
        assembler = Assembler(offset)
        raw = self._raw
        string_at = ctypes.string_at

        def on_event(_ctx, data, size):
            raw.append(string_at(data, size))
            return 0  # returning None costs ~3x per event (ENV-BPF.md)

        bpf["events"].open_ring_buffer(on_event)
        losses = bpf["losses"]
        old_handlers = [signal.signal(s, self.stop) for s in (signal.SIGINT, signal.SIGTERM)]
        if on_listening:
            on_listening()
        start = time.monotonic()
        next_loss_poll = next_target_poll = start
        try:
            while not self._stop:
                time.sleep(DRAIN_INTERVAL)
                bpf.ring_buffer_consume()
                self._process(assembler)
                now = time.monotonic()
                if now >= next_loss_poll:
                    self._poll_losses(losses)
                    next_loss_poll = now + LOSS_POLL_INTERVAL
                if self.pids and now >= next_target_poll:
                    if not any(_alive(pid) for pid in self.pids):
                        self._stop = True
                    next_target_poll = now + TARGET_POLL_INTERVAL
                if self.duration is not None and now - start >= self.duration:
                    self._stop = True
                self.writer.maybe_flush()
            # Drain what is left, then account for everything still missing.
            bpf.ring_buffer_consume()
            self._process(assembler)
            assembler.finish()
            self._note_incomplete(assembler)
            self._poll_losses(losses)
        finally:
            signal.signal(signal.SIGINT, old_handlers[0])
            signal.signal(signal.SIGTERM, old_handlers[1])
            bpf.cleanup()
        return self.summary

    def _process(self, assembler: Assembler) -> None:
        if not self._raw:
            return
        batch, self._raw[:] = list(self._raw), []
        write = self.writer.write
        feed = assembler.feed
        summary = self.summary
        for raw in batch:
            msg = feed(raw)
            if msg is None:
                continue
            if self.max_count is not None and summary.messages >= self.max_count:
                self._stop = True
                break
            write(msg)
            summary.messages += 1
            summary.payload_bytes += len(msg.payload)
        self._note_incomplete(assembler)

    def _note_incomplete(self, assembler: Assembler) -> None:
        if assembler.incomplete:
            self._gap(GAP_REASSEMBLY, assembler.incomplete, assembler.incomplete_bytes)
            assembler.incomplete = assembler.incomplete_bytes = 0

    def _poll_losses(self, table) -> None:
        totals = [sum(table[ctypes.c_int(i)]) for i in range(3)]
        lost, lost_bytes = totals[0] - self._kernel_losses[0], totals[1] - self._kernel_losses[1]
        self.summary.lost_chunks += totals[2] - self._kernel_losses[2]
        self._kernel_losses = totals
        if lost:
            self._gap(GAP_RINGBUF_FULL, lost, lost_bytes)

    def _gap(self, reason: int, count: int, nbytes: int) -> None:
        gap = Gap(ts_ns=time.time_ns(), pid=0, reason=reason, lost_messages=count, lost_bytes=nbytes)
        self.writer.write(gap)
        self.summary.lost_messages += count
        self.summary.lost_bytes += nbytes
        name = gap.reason_name
        self.summary.reasons[name] = self.summary.reasons.get(name, 0) + count


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie still answers kill(0); treat it as gone.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
