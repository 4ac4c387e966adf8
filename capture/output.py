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
A file also ends when its index nears the limits the recorder's memory
allows it (``formats/index.py`` IndexLimits: 18 hours of a quiet node, or
thousands of peers come and gone), even with no rotation asked for.
"""

from __future__ import annotations

import collections
import sys
import time

from p2pcap.errors import ArgumentError, P2pcapError, PathError
from p2pcap.formats import CaptureWriter

from .compression import AdaptiveCompressor


class Output:
    """Records in; one capture file or a rotating series of them out.

    ``write`` is the current writer's own ``write`` (rebound on rotation),
    so the recorder's hot path pays no extra call; ``tick()`` flushes and
    rotates, between drains.  ``opener(path, flags)`` creates each file
    (``capture.files.create``: as the invoking user, never through a link).
    """

    def __init__(
        self,
        target,
        metadata: dict,
        *,
        rotate_size: int | None = None,
        rotate_time: float | None = None,
        opener=None,
        clock=time.monotonic,
        writer_factory=None,
        as_user: str | None = None,
        on_block=None,
    ):
        self.target = str(target)
        self.to_stdout = self.target == "-"
        if self.to_stdout and (rotate_size or rotate_time):
            raise ArgumentError("output", "cannot rotate files when writing to standard output ({arg} -)")
        self.metadata = metadata
        self.rotate_size = rotate_size
        self.rotate_time = rotate_time
        self.opener = opener
        self.as_user = as_user  # who creates the files, named in errors
        # on_block(content, stored_bytes): each block as it is sealed (record --metrics counts them)
        self.on_block = on_block
        # pid -> network of each process recorded (the recorder keeps it
        # current): every file's blocks define them (format 1.1)
        self.processes: dict[int, str] = {}
        self._clock = clock
        self._factory = writer_factory or _recording_writer
        self.files = FileList()  # the files started, in order (the first and the latest kept)
        self._names: dict[str, None] = {}  # the latest names used, oldest first (NAMES_KEPT)
        self.clock_steps: list[dict] = []  # steps of the wall clock so far (clocksync.ClockStep)
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
        if self.clock_steps:
            meta["clock_steps"] = list(self.clock_steps)  # the capture's times vs the wall clock
        try:
            self.writer = self._factory(stream if stream is not None else dest, meta, self.opener)
            self.writer.processes = self.processes
            if self.on_block is not None:
                self.writer.on_block = self.on_block
        except PathError as e:
            who = f" (files are created as {self.as_user}, who ran sudo)" if self.as_user else ""
            raise PathError(f"{e}{who}", name) from None
        except OSError as e:
            who = f" (files are created as {self.as_user}, who ran sudo)" if self.as_user else ""
            raise P2pcapError(f"{name}: cannot create: {e.strerror}{who}") from None
        self.files.append(name)
        self._names[name] = None
        if len(self._names) > NAMES_KEPT:
            del self._names[next(iter(self._names))]
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

    # -- between drains ----------------------------------------------------------
    def tick(self, now: float | None = None) -> bool:
        """Flush a block that is old enough; rotate when due.  True if rotated."""
        now = self._clock() if now is None else now
        w = self.writer
        try:
            w.maybe_flush()
        except OSError as e:
            raise PathError.of(self.files[-1], "cannot write", e) from None
        due = (
            (self.rotate_size is not None and w.bytes_written >= self.rotate_size)
            or (self.rotate_time is not None and now - self._started >= self.rotate_time)
            or (getattr(w, "index_full", False) and not self.to_stdout)  # formats/index.py IndexLimits
        )
        if due and (w.messages or w.gaps):
            self._close_current()
            self._open()
            return True
        return False

    def clock_step(self, step) -> None:
        """The wall clock stepped (``clocksync.ClockStep``): in this file's
        footer, and in the metadata of every file started after it."""
        self.clock_steps.append(step.to_json())
        del self.clock_steps[:-MAX_CLOCK_STEPS]
        note = getattr(self.writer, "note_clock_step", None)
        if note is not None:
            note(step.to_json())

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


# Rotation must not make the recorder grow with the files it has made
# (issue 29: a week at --rotate-size 20M makes ~170,000).  Names of the
# latest NAMES_KEPT files are remembered so a strftime name that comes
# round again gets a suffix instead of overwriting one of them; a pattern
# that repeats only after more files than that reuses names, as a ring
# buffer of files would.  FileList keeps the first and the latest names.
NAMES_KEPT = 4096
MAX_CLOCK_STEPS = 64


class FileList:
    """The names of the files started: a count, the first name and the latest ``keep``.

    >>> f = FileList(keep=2)
    >>> for n in ("a", "b", "c", "d"):
    ...     f.append(n)
    >>> len(f), f[0], f[-1], list(f)
    (4, 'a', 'd', ['a', 'c', 'd'])
    """

    def __init__(self, keep: int = NAMES_KEPT):
        self._keep = keep
        self._first: str | None = None
        self._latest: collections.deque = collections.deque(maxlen=keep)
        self._count = 0

    def append(self, name: str) -> None:
        if self._count == 0:
            self._first = name
        else:
            self._latest.append(name)
        self._count += 1

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, i):
        """By position: the first file and the latest ``keep`` can be named."""
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(self._count))]
        if i < 0:
            i += self._count
        if not 0 <= i < self._count:
            raise IndexError("no such file")
        if i == 0:
            return self._first
        j = i - (self._count - len(self._latest))
        if j < 0:
            raise IndexError(f"file {i}'s name is no longer kept (the latest {self._keep} are)")
        return self._latest[j]

    def __iter__(self):
        """The names kept: the first, then the latest (all of them up to ``keep`` + 1 files)."""
        if self._count:
            yield self._first
        yield from self._latest

    def __eq__(self, other) -> bool:
        return list(self) == list(other) and len(self) == len(other)


def _recording_writer(dest, metadata: dict, opener=None) -> CaptureWriter:
    """A threaded CaptureWriter whose compression level follows the load."""
    return CaptureWriter(
        dest, metadata, threaded=True, compressor=AdaptiveCompressor, stream=True, opener=opener
    )
