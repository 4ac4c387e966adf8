"""Where captures come from and go to: a path, or ``-`` for stdin/stdout.

``p2pcap record -o - | p2pcap show --type inv`` is a live view, as with
``tcpdump -w - | tcpdump -r -``.  For that the reader must take whatever
bytes the pipe has instead of waiting for a full buffer, so a pipe is read
with ``read1`` (one system call, returns what is there).
"""

from __future__ import annotations

import sys
from pathlib import Path

from p2pcap.formats import CaptureWriter, open_capture

from p2pcap.errors import P2pcapError


def is_stdio(path) -> bool:
    return path is None or str(path) == "-"


class _Pipe:
    """A non-seekable binary stream whose ``read(n)`` returns as soon as bytes arrive."""

    name = "<stdin>"

    def __init__(self, stream):
        self._stream = stream

    def read(self, n: int = -1) -> bytes:
        read1 = getattr(self._stream, "read1", None)
        return read1(n) if read1 is not None and n > 0 else self._stream.read(n)

    def seekable(self) -> bool:
        return False

    def close(self) -> None:
        pass


def _stdin():
    return sys.stdin.buffer


def open_input(path, **options):
    """``(reader, seekable)`` for a path or ``-``/None (stdin).

    A regular file on stdin (``p2pcap show < run.cap``) is used as a file,
    footer index included; a pipe is read as it comes.
    """
    if not is_stdio(path):
        try:
            return open_capture(path, **options), True
        except OSError as exc:
            raise P2pcapError(f"{path}: cannot read: {exc.strerror or exc}") from None
    stream = _stdin()
    try:
        seekable = stream.seekable()
    except (AttributeError, OSError, ValueError):
        seekable = False
    if not seekable:
        options.pop("follow", None)  # a pipe is followed by nature
        return open_capture(_Pipe(stream), **options), False
    return open_capture(stream, **options), True


def input_name(path) -> str:
    return "<stdin>" if is_stdio(path) else str(path)


def open_writer(path, metadata: dict, **options) -> CaptureWriter:
    """A writer on a path, or on stdout for ``-``."""
    if is_stdio(path):
        return CaptureWriter(sys.stdout.buffer, metadata, **options)
    try:
        return CaptureWriter(path, metadata, **options)
    except OSError as exc:
        raise P2pcapError(f"{path}: cannot write: {exc.strerror or exc}") from None


def same_file(a, b) -> bool:
    """True when output ``b`` would overwrite input ``a``."""
    if is_stdio(a) or is_stdio(b):
        return False
    try:
        return Path(a).resolve() == Path(b).resolve()
    except OSError:
        return False


__all__ = ["input_name", "is_stdio", "open_input", "open_writer", "same_file"]
