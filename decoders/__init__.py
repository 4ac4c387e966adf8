"""Decoders for Dash P2P payloads: ``decode(command, payload) -> dict``.

>>> decode("ping", bytes.fromhex("0102030405060708"))
{'nonce': 578437695752307201}

Results are JSON-serialisable: integers stay integers, hashes are hex in
RPC display order, other byte strings hex.  Malformed payloads raise
``DecodeError``; unknown commands give ``{"unknown": True, "raw": hex}``.
A payload cut by a snap length decodes with ``decode_partial`` as far as
its bytes go.
This package imports neither ``p2pcap.capture`` nor ``p2pcap.formats``.
"""

from __future__ import annotations

from .decode import build, decode, decode_partial, definition, known_commands
from .errors import DecodeError
from .versions import PROTOCOL_VERSION

__all__ = [
    "DecodeError",
    "PROTOCOL_VERSION",
    "build",
    "decode",
    "decode_partial",
    "definition",
    "known_commands",
]
