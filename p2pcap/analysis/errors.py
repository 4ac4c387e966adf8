"""The analysis layer's errors (the whole tree is drawn in ``p2pcap.errors``)."""

from __future__ import annotations

from p2pcap.errors import P2pcapError


class AnalysisError(P2pcapError):
    """A capture cannot answer the question asked of it (no such peer, changed while read)."""


class ReplayError(AnalysisError):
    """A replay against a node failed: connection, handshake or sending."""
