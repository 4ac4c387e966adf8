"""Where the recorder's records go: one capture file, a rotating set, or stdout.

Files rotate by size (``--rotate-size``, compressed bytes on disk) or age
(``--rotate-time``), like tcpdump's ``-C`` and ``-G``.  Names are either
numbered -- ``run.cap``, ``run.cap.1``, ``run.cap.2`` ... -- or, when the
name holds a ``%``, a strftime pattern expanded with the local time each
file starts (``run-%Y%m%dT%H%M%S.cap``), with ``.1``, ``.2`` ... added if
two files would get the same name.  Every file is a whole capture with its
own header and footer, so each one opens alone.  Rotation happens between
two records: nothing is lost or written twice.  The size is what the file
holds on disk; blocks still being compressed when it passes the limit go
with it, so a file may end a few MiB (the writer's queue) past it.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from p2pcap.errors import ArgumentError, P2pcapError, PathError
from p2pcap.formats import CaptureWriter

from .compression import AdaptiveCompressor


class Output:
    """Records in; one capture file or a rotating series of them out.

    ``write`` is the current writer's own ``write`` (rebound on rotation),
    so the recorder's hot path pays no extra call; ``tick()`` flushes and
    rotates, between drains.  ``on_file(path)`` is called with each file
    once it is closed (the recorder uses it to hand files to the invoking
    user under sudo).
    """

    def __init__(
        self,
        target,
        metadata: dict,
        *,
        rotate_size: int | None = None,
        rotate_time: float | None = None,
        on_file=None,
        clock=time.monotonic,
        writer_factory=None,
        as_user: str | None = None,
    ):
        self.target = str(target)
        self.to_stdout = self.target == "-"
        if self.to_stdout and (rotate_size or rotate_time):
            raise ArgumentError("output", "cannot rotate files when writing to standard output ({arg} -)")
        self.metadata = metadata
        self.rotate_size = rotate_size
        self.rotate_time = rotate_time
        self.on_file = on_file
        self.as_user = as_user  # who creates the files, named in errors
        self._clock = clock
        self._factory = writer_factory or _recording_writer
        self.files: list[str] = []  # every file started, in order
        self._names: set[str] = set()
        self._closed_bytes = 0
        self._closed_payload = 0
        self._closed_messages = 0
        self.lowest_level: int | None = None  # the lowest zstd level any file was written with
        self.writer = None
        self._open()

    # -- the current file ------------------------------------------------------
    def _next_name(self) -> str:
        n = len(self.files)
        if "%" in self.target:
            name = time.strftime(self.target)
            base, k = name, 0
            while name in self._names:
                k += 1
                name = f"{base}.{k}"
            return name
        return self.target if n == 0 else f"{self.target}.{n}"

    def _open(self) -> None:
        if self.to_stdout:
            dest = name = "-"
            stream = sys.stdout.buffer
        else:
            name = self._next_name()
            dest = name
            stream = None
        meta = dict(self.metadata)
        meta["file_index"] = len(self.files)
        meta["file_start_time_ns"] = time.time_ns()
        if self.rotate_size or self.rotate_time:
            meta["rotation"] = {"size": self.rotate_size, "time": self.rotate_time}
        try:
            self.writer = self._factory(stream if stream is not None else dest, meta)
        except OSError as e:
            who = f" (files are written as {self.as_user}, who ran sudo)" if self.as_user else ""
            raise P2pcapError(f"{name}: cannot create: {e.strerror}{who}") from None
        self.files.append(name)
        self._names.add(name)
        self._started = self._clock()
        self.write = self.writer.write

    def _close_current(self) -> None:
        w = self.writer
        try:
            w.close()
        except OSError as e:
            raise PathError.of(self.files[-1], "cannot write", e) from None
        level = getattr(getattr(w, "_compress", None), "lowest_level", None)
        if level is not None:
            self.lowest_level = level if self.lowest_level is None else min(level, self.lowest_level)
        self._closed_bytes += w.bytes_written
        self._closed_payload += w.payload_bytes
        self._closed_messages += w.messages
        if self.on_file and not self.to_stdout:
            self.on_file(self.files[-1])

    # -- between drains ----------------------------------------------------------
    def tick(self, now: float | None = None) -> bool:
        """Flush a block that is old enough; rotate when due.  True if rotated."""
        now = self._clock() if now is None else now
        w = self.writer
        try:
            w.maybe_flush()
        except OSError as e:
            raise PathError.of(self.files[-1], "cannot write", e) from None
        due = (self.rotate_size is not None and w.bytes_written >= self.rotate_size) or (
            self.rotate_time is not None and now - self._started >= self.rotate_time
        )
        if due and (w.messages or w.gaps):
            self._close_current()
            self._open()
            return True
        return False

    def close(self) -> None:
        if self.writer is not None:
            self._close_current()
            self.writer = None

    # -- figures for the status line ------------------------------------------------
    @property
    def bytes_written(self) -> int:
        return self._closed_bytes + (self.writer.bytes_written if self.writer else 0)

    @property
    def messages(self) -> int:
        return self._closed_messages + (self.writer.messages if self.writer else 0)

    @property
    def payload_bytes(self) -> int:
        return self._closed_payload + (self.writer.payload_bytes if self.writer else 0)


def _recording_writer(dest, metadata: dict) -> CaptureWriter:
    """A threaded CaptureWriter whose compression level follows the load."""
    return CaptureWriter(dest, metadata, threaded=True, compressor=AdaptiveCompressor, stream=True)


def give_to(path: str, uid: int, gid: int) -> None:
    """Hand a file we created to the user who ran sudo (never devices, never '-')."""
    try:
        if path != "-" and Path(path).is_file():
            os.chown(path, uid, gid)
    except OSError:
        pass  # e.g. a file system without ownership; the capture is intact
