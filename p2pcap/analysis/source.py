"""Where captures come from and go to: a path, or ``-`` for stdin/stdout.

Every analysis reads its inputs through ``open_input`` and asks
``input_problems`` afterwards what was wrong with them.  A damaged block is
skipped and reading goes on (as ``tar`` and ``gzip`` read what can be
read); each damaged block, a torn tail and a missing footer become one
``InputProblem`` that the command reports on stderr before exiting 1.

``p2pcap record -o - | p2pcap show --type inv`` is a live view, as with
``tcpdump -w - | tcpdump -r -``.  For that the reader must take whatever
bytes the pipe has instead of waiting for a full buffer, so a pipe is read
with ``read1`` (one system call, returns what is there).
"""

from __future__ import annotations

import contextlib
import sys
from dataclasses import dataclass

from p2pcap.errors import ArgumentError, PathError
from p2pcap.formats import open_capture
from p2pcap.formats.v1 import NETWORKS, canonical_network
from p2pcap.outputs import atomic_file, is_stdio, refuse_overwriting
from p2pcap.units import iso


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
    footer index included; a pipe is read as it comes.  Damaged blocks are
    skipped and noted (``input_problems``).
    """
    options["skip_damaged"] = True
    if not is_stdio(path):
        try:
            return open_capture(path, **options), True
        except OSError as exc:
            raise PathError.of(path, "cannot read", exc) from None
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


@contextlib.contextmanager
def open_writer(path, metadata: dict, **options):
    """A capture writer on a path, or on stdout for ``-``, closed at the end.

    A path is written beside itself and renamed into place when the writer
    has closed (``p2pcap.outputs.atomic_file``): a failure leaves whatever
    was there as it was.
    """
    from p2pcap.formats import CaptureWriter  # writers load only where one is opened

    if is_stdio(path):
        with CaptureWriter(sys.stdout.buffer, metadata, **options) as writer:
            yield writer
        return
    with atomic_file(path) as f, writing(path), CaptureWriter(f, metadata, **options) as writer:
        yield writer


def capture_network(metadata: dict, override: str | None, path) -> str:
    """The network whose magic frames the messages: ``override`` (a flag)
    wins; else the capture's metadata; else a one-line error asking for it."""
    if override:
        name = canonical_network(override)
        if name is None:
            raise ArgumentError("network", f"expected one of {', '.join(NETWORKS)}", value=override)
        return name
    recorded = metadata.get("network")
    name = canonical_network(recorded if isinstance(recorded, str) else None)
    if name is None:
        raise ArgumentError(
            "network",
            f"{path}: the capture's network is {recorded or 'not recorded'!s}: "
            f"give {{arg}} ({', '.join(NETWORKS)}) to pick the message magic",
        )
    return name


def check_output(inputs, output) -> None:
    """A one-line error when writing ``output`` would overwrite one of ``inputs``
    under any name (``p2pcap.outputs.refuse_overwriting``)."""
    refuse_overwriting(inputs, output)


@contextlib.contextmanager
def writing(path):
    """Turn an OSError while creating or writing ``path`` into one line naming it.

    Standard output (``-``) is left to the command line, which knows a
    reader that left (quiet) from a full disk (one line).
    """
    if is_stdio(path):
        yield
        return
    try:
        yield
    except PathError:
        raise
    except OSError as exc:
        raise PathError.of(path, "cannot write", exc) from None


@dataclass(frozen=True)
class InputProblem:
    """Something wrong with an input, found while reading it: one line.

    Every kind makes the command exit non-zero: records were lost (a
    damaged block, a torn tail) or the recording did not end cleanly (no
    footer), so the output is not the whole recording.
    """

    path: str
    text: str

    def __str__(self) -> str:
        return self.text


def input_problems(reader, name: str | None = None) -> list[InputProblem]:
    """What ``reader`` found wrong in the pass just made, one problem per damaged part.

    A missing footer is said only when the pass reached the end of the file
    (a view cut short by ``--limit`` proves nothing) and the reader is not
    following a file still being written.
    """
    name = name or reader.path or "<stdin>"
    out = []
    for err in reader.damaged:
        lost = f"; {err.records} records lost" if err.records else ""
        out.append(InputProblem(name, f"{err}: block skipped{lost}"))
    if reader.footer_error is not None:
        out.append(InputProblem(name, f"{reader.footer_error}: footer not used, every block read instead"))
    unclosed = reader.torn_tail is not None or (
        reader.finished and not reader.follow and reader.index is None and reader.footer_error is None
    )
    if unclosed:
        until = reader.intact_until_ns
        upto = f"complete up to {iso(until)}" if until is not None else "no complete block"
        how = (
            f"cut short ({reader.torn_tail.where() or 'torn tail'})"
            if reader.torn_tail is not None
            else "no footer"
        )
        out.append(InputProblem(name, f"{name}: the recording did not end cleanly ({how}): {upto}"))
    return out


__all__ = [
    "InputProblem",
    "capture_network",
    "check_output",
    "input_name",
    "input_problems",
    "is_stdio",
    "open_input",
    "open_writer",
    "writing",
]
