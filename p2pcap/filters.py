"""Record predicates for ``show`` (and later ``filter``): library, not CLI.

``commands`` is pushed down to the reader, which then skips blocks that
hold none of them; the rest is tested here per record.
"""

from __future__ import annotations

from dataclasses import dataclass

from p2pcap.formats.records import Message


def split_commas(values) -> tuple[str, ...]:
    """``("inv,tx", "ping")`` -> ``("inv", "tx", "ping")`` (repeatable or comma lists)."""
    return tuple(v.strip() for value in values for v in value.split(",") if v.strip())


@dataclass(frozen=True)
class RecordFilter:
    commands: frozenset[str] | None = None
    peers: tuple[str, ...] = ()  # peer ids or addresses
    direction: str | None = None  # "in" / "out"

    def wants(self, record) -> bool:
        if type(record) is not Message:
            return True  # gaps stay in every view: losses are never hidden
        if self.commands is not None and record.command not in self.commands:
            return False
        if self.direction is not None and record.direction != self.direction:
            return False
        if self.peers and str(record.peer_id) not in self.peers and record.peer_addr not in self.peers:
            return False
        return True
