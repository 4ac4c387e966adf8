"""Errors for capture files: what went wrong and where.

Every error a capture file can cause is a ``FormatError``; each message is
one line naming the file, the block and the byte offset when they are known,
e.g. ``run.cap: block 3 at offset 1048684: body checksum mismatch``.  The
reader fills in ``path``; the sans-I/O core knows only offsets.

Like pcapng (``pcapng/exceptions.py``) a cut tail (``TruncatedCapture``) is
kept apart from damage inside the file (``CorruptBlock``): the first is what
``kill -9`` of the recorder leaves and is expected, the second is not.
"""

from __future__ import annotations

from p2pcap.errors import EXIT_NO, EXIT_TROUBLE, P2pcapError


class FormatError(P2pcapError):
    """A capture file could not be read as written."""

    exit_status = EXIT_NO  # damaged input found

    def __init__(
        self, what: str, *, path: str | None = None, offset: int | None = None, block_index: int | None = None
    ):
        super().__init__(what)
        self.what = what
        self.path = path
        self.offset = offset
        self.block_index = block_index

    def where(self) -> str:
        """``block 3 at offset 1048684``, ``offset 12`` or ``""``."""
        if self.block_index is not None and self.offset is not None:
            return f"block {self.block_index} at offset {self.offset}"
        if self.block_index is not None:
            return f"block {self.block_index}"
        if self.offset is not None:
            return f"offset {self.offset}"
        return ""

    def __str__(self) -> str:
        return ": ".join(part for part in (self.path, self.where(), self.what) if part)

    def __reduce__(self):  # keep the keyword attributes through pickling
        return (_rebuild, (type(self), self.what, dict(self.__dict__)))


def _rebuild(cls, what, state):
    err = cls.__new__(cls)
    FormatError.__init__(err, what)
    err.__dict__.update(state)
    return err


class BadMagic(FormatError):
    """The file does not start with the p2pcap magic: not a capture, or mangled."""

    exit_status = EXIT_TROUBLE  # the wrong file was given, as tshark's "not a capture file"


class UnsupportedVersion(FormatError):
    """The file's major format version is not one this reader understands."""

    exit_status = EXIT_TROUBLE


class TruncatedCapture(FormatError):
    """The file ends inside a header, block or trailer (a torn tail).

    Every complete block before ``offset`` is still readable; this is what a
    recorder killed mid-write leaves behind.
    """


class CorruptBlock(FormatError):
    """A checksum or a length inside the file does not match what was written.

    ``records`` is the record count from the block header when that header is
    intact (so the loss can be counted), else ``None``.  ``block_index`` is
    ``None`` for the file header itself.
    """

    def __init__(self, what: str, *, records: int | None = None, **where):
        super().__init__(what, **where)
        self.records = records
