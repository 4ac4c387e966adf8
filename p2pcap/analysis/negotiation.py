"""The protocol version each peer-session negotiated, from its ``version``s.

Dash serialises every message after the handshake with the lower of the two
sides' versions (spec dash-p2p-dash.md §1.6); the decoders take it as
``version=``.  A peer-session is (pid, peer id): ids restart per process.
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

    def __init__(self):
        self._sides: dict[tuple[int, int], dict[str, int]] = {}

    def see(self, pid: int, peer_id: int, direction: str, command: str, payload: bytes) -> None:
        if command != "version" or len(payload) < 4:
            return
        (version,) = struct.unpack_from("<i", payload)
        self._sides.setdefault((pid, peer_id), {})[direction] = version

    def version_for(self, pid: int, peer_id: int) -> int:
        sides = self._sides.get((pid, peer_id))
        if not sides:
            return PROTOCOL_VERSION
        return min(sides.values())
