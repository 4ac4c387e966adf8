"""One way through a capture: source -> select -> decode -> compute.

Every command reads its captures through ``open_pipeline``::

    with open_pipeline("run.cap", RecordFilter(commands=frozenset({"inv"})), decode=True) as p:
        for record in p:                      # Messages and Gaps that pass the filter
            decoded, error = p.decoded(record)   # with its peer-session's protocol version
            ...
        problems = p.problems()               # damaged blocks, torn tail, no footer

* source: a path or ``-`` (``source.open_input``); damaged blocks are skipped;
* select: the ``RecordFilter`` (``filters.Selection``), pushed down into the
  reader (commands, time) as far as it goes;
* decode: on demand, once per record, with the version the peer-session
  negotiated (or the one assumed or given: ``version_info``);
* compute: the caller's loop.  It returns values; printing is the CLI's.
"""

from __future__ import annotations

from p2pcap.analysis.filters import RecordFilter, Selection
from p2pcap.analysis.source import input_name, input_problems, open_input


class Pipeline:
    """One capture opened for analysis (see the module doc); a context manager."""

    def __init__(
        self,
        path,
        filt: RecordFilter | None = None,
        *,
        decode: bool = False,
        follow: bool = False,
        assume: int | None = None,
        share_decoded: bool = False,
        network: str | None = None,
    ):
        self.name = input_name(path)
        self.reader, self.seekable = open_input(path, follow=follow)
        self.selection = Selection(
            self.reader,
            filt or RecordFilter(),
            decode=decode,
            seekable=self.seekable,
            assume=assume,
            share_decoded=share_decoded,
            network=network,
        )

    def say_unknown_network(self, note) -> None:
        """Have ``note(text)`` hear, once, that a decoded message's network is
        named by nothing (the capture, its process, --network): its addresses
        are then shown with mainnet's prefixes, never without a word."""

        def unknown(pid: int) -> None:
            note(
                f"{self.name}: no network is recorded for pid {pid}; addresses are shown "
                f"with mainnet's prefixes (give --network)"
            )

        self.selection.on_unknown_network = unknown

    @property
    def metadata(self):
        return self.reader.metadata

    @property
    def index(self):
        """The footer's index, or None (no footer, or not read yet from a pipe)."""
        return self.reader.index

    def __iter__(self):
        return iter(self.selection)

    def blockwise(self, render):
        """The records a block at a time, through ``render`` where it can
        (``Selection.blockwise``); None when they must come one by one."""
        return self.selection.blockwise(render)

    def decoded(self, msg):
        """(decoded, error) for a message this pipeline yielded; decoded once."""
        return self.selection.decoded(msg)

    def version_for(self, msg) -> int:
        return self.selection.version_for(msg)

    def version_info(self, msg) -> tuple[int, str]:
        """(protocol version, ``negotiated`` | ``assumed`` | ``given``) of ``msg``."""
        return self.selection.version_info(msg)

    def problems(self) -> list:
        """What was wrong with the capture in the pass made (``source.InputProblem``)."""
        return input_problems(self.reader, self.name)

    def close(self) -> None:
        self.reader.close()

    def __enter__(self) -> Pipeline:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_pipeline(path, filt: RecordFilter | None = None, **options) -> Pipeline:
    """``Pipeline(path, filt, decode=, follow=, assume=, share_decoded=)``; a ``PathError`` names an unreadable path.

    ``share_decoded=True``: messages with the same payload get the same
    decoded dict (decoded once), for callers that never change one.

    >>> open_pipeline("/nonexistent.cap")
    Traceback (most recent call last):
    p2pcap.errors.PathError: /nonexistent.cap: cannot read: No such file or directory
    """
    return Pipeline(path, filt, **options)
