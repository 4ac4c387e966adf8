"""The protocol version each peer-session negotiated, from its ``version``s.

Dash serialises every message after the handshake with the lower of the two
sides' versions (Dash Core src/net_processing.cpp, ProcessMessage "version":
``pfrom.SetCommonVersion(std::min(nVersion, PROTOCOL_VERSION))``); the
decoders take it as ``version=``.  A peer-session is (pid, peer id): ids
restart per process.  A session whose ``version`` messages were not captured
is decoded with an assumed version: the newest known, or the caller's.
"""

from __future__ import annotations

import struct

from p2pcap.decoders.versions import PROTOCOL_VERSION


class VersionTracker:
    """Feed it every message in order; ask for the version to decode with.

    >>> t = VersionTracker()
    >>> t.see(1, 0, "out", "version", (70238).to_bytes(4, "little"))
    >>> t.see(1, 0, "in", "version", (70230).to_bytes(4, "little"))
    >>> t.version_for(1, 0)
    70230
    """

    def __init__(self, assume: int | None = None):
        self._sides: dict[tuple[int, int], dict[str, int]] = {}
        self._agreed: dict[tuple[int, int], int] = {}  # the lower of the sides seen
        self.assume = assume

    def see(self, pid: int, peer_id: int, direction: str, command: str, payload: bytes) -> None:
        if command != "version" or len(payload) < 4:
            return
        (version,) = struct.unpack_from("<i", payload)
        sides = self._sides.setdefault((pid, peer_id), {})
        sides[direction] = version
        self._agreed[(pid, peer_id)] = min(sides.values())

    def version_for(self, pid: int, peer_id: int) -> int:
        agreed = self._agreed.get((pid, peer_id))
        if agreed is None:
            return PROTOCOL_VERSION if self.assume is None else self.assume
        return agreed

    def version_info(self, pid: int, peer_id: int) -> tuple[int, str]:
        """(version, how it is known): ``negotiated``, ``assumed`` or ``given`` (``assume``).

        >>> VersionTracker().version_info(1, 0)[1], VersionTracker(assume=70227).version_info(1, 0)
        ('assumed', (70227, 'given'))
        """
        if self._sides.get((pid, peer_id)):
            return self.version_for(pid, peer_id), "negotiated"
        return self.version_for(pid, peer_id), "assumed" if self.assume is None else "given"
