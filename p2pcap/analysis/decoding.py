"""Decoding a capture's messages, each with the protocol version of its peer-session.

The decoders take the version as ``version=``; which one applies comes from
the ``version`` messages seen so far (``negotiation.VersionTracker``).  A
capture that begins mid-session has none for some peers: their messages are
decoded with an assumed version, which ``version_info`` reports as such, and
which the caller may give instead (``show --protocol-version``).
"""

from __future__ import annotations

from p2pcap.formats.records import Message


def decode_record(msg: Message, version: int) -> tuple[dict | None, str | None]:
    """(decoded, error) for one message; never raises for bad payloads.

    A payload cut by a snap length decodes as far as its kept bytes go, and
    the error says how much was kept, so a partial result is never taken
    for a whole one.
    """
    from p2pcap.decoders import DecodeError, decode, decode_partial

    if msg.partial:
        note = f"partial payload: {msg.captured_len} of {msg.msg_size} bytes captured"
        try:
            return decode_partial(msg.command, msg.payload, version=version), note
        except DecodeError as exc:
            return None, f"{note}; {exc}"
    try:
        return decode(msg.command, msg.payload, version=version), None
    except DecodeError as exc:
        return None, str(exc)


class RecordDecoder:
    """``decoder(msg) -> (decoded, error)`` for messages fed in file order.

    ``assume`` is the version for peer-sessions whose ``version`` messages
    were not captured (default: the newest the decoders know).
    """

    def __init__(self, assume: int | None = None):
        from p2pcap.analysis.negotiation import VersionTracker

        self.versions = VersionTracker(assume=assume)

    def see(self, msg: Message) -> None:
        self.versions.see(msg.pid, msg.peer_id, msg.direction, msg.command, msg.payload)

    def version_info(self, msg: Message) -> tuple[int, str]:
        """(version, ``negotiated`` | ``assumed`` | ``given``) for ``msg``'s peer-session."""
        return self.versions.version_info(msg.pid, msg.peer_id)

    def decode(self, msg: Message) -> tuple[dict | None, str | None]:
        return decode_record(msg, self.versions.version_for(msg.pid, msg.peer_id))

    def __call__(self, msg: Message):
        """See and decode: the exporters' ``decode`` callback."""
        self.see(msg)
        decoded, error = self.decode(msg)
        if decoded is not None and decoded.get("unknown") is True:
            decoded = {"unknown": True}  # its raw bytes are the payload, already in the row
        return decoded, error
