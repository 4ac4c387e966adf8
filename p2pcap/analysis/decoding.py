"""Decoding one captured message, whole or cut by a snap length.

The version to decode with comes from the pipeline (``filters.Selection``,
``negotiation.VersionTracker``): the one the peer-session negotiated, or for
a capture that begins mid-session an assumed one (``show --protocol-version``).
"""

from __future__ import annotations

from p2pcap.decoders import DecodeError, decode, decode_partial
from p2pcap.formats.records import Message


def decode_record(msg: Message, version: int, network: str | None = None) -> tuple[dict | None, str | None]:
    """(decoded, error) for one message; never raises for bad payloads.

    A payload cut by a snap length decodes as far as its kept bytes go, and
    the error says how much was kept, so a partial result is never taken
    for a whole one.  ``network`` (the capture's) picks the address prefixes.
    """
    if msg.partial:
        note = f"partial payload: {msg.captured_len} of {msg.msg_size} bytes captured"
        try:
            return decode_partial(msg.command, msg.payload, version=version, network=network), note
        except DecodeError as exc:
            return None, f"{note}; {exc}"
    try:
        return decode(msg.command, msg.payload, version=version, network=network), None
    except DecodeError as exc:
        return None, str(exc)
