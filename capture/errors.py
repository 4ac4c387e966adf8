"""The recorder's errors (the whole tree is drawn in ``p2pcap.errors``)."""

from __future__ import annotations

from p2pcap.errors import P2pcapError


class RecordError(P2pcapError):
    """Recording cannot start or went wrong: privileges, kernel set-up, the target."""


class ProbeError(RecordError):
    """A probe site p2pcap cannot read or attach to."""


class NotAnElf(RecordError):
    """A target binary is not an ELF file (or is cut short)."""
