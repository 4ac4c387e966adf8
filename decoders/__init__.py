"""Decoders for Dash P2P payloads: ``decode(command, payload) -> dict``.

>>> decode("ping", bytes.fromhex("0102030405060708"))
{'nonce': 578437695752307201}

Results are JSON-serialisable: integers stay integers, hashes are hex in
RPC display order, other byte strings hex.  Malformed payloads raise
``DecodeError``; unknown commands give ``{"unknown": True, "raw": hex}``.
A payload above Dash's 3 MiB message limit, of any command, or a count
above the limit Dash Core sets for its field raises ``DecodeError`` too
(limits.py, docs/DECODERS.md "Limits"): what a decode costs is bounded by
Core's rules, whatever the bytes claim.
A payload cut by a snap length decodes with ``decode_partial`` as far as
its bytes go.  ``announced(command, decoded)`` gives the inventory items
(type name, hash) a decoded message is or names, to follow one object from
``inv`` to ``getdata`` to its own message.
This package imports neither ``p2pcap.capture`` nor ``p2pcap.formats``.
"""

from __future__ import annotations

from p2pcap.folders import require_name

# From the repository root the bare name ``decoders`` would load a second
# copy of this package (p2pcap/folders.py); refuse it.
require_name(__name__, "p2pcap.decoders")

from .announce import announced  # noqa: E402
from .decode import build, decode, decode_partial, definition, known_commands  # noqa: E402
from .errors import DecodeError  # noqa: E402
from .versions import PROTOCOL_VERSION  # noqa: E402

__all__ = [
    "DecodeError",
    "PROTOCOL_VERSION",
    "announced",
    "build",
    "decode",
    "decode_partial",
    "definition",
    "known_commands",
]
