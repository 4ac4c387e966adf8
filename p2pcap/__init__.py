"""p2pcap: record, store and decode the P2P messages of a Dash Core node.

>>> import p2pcap
>>> with p2pcap.open("samples/regtest-session.cap") as capture:  # doctest: +SKIP
...     for record in capture.records(commands={"inv"}):
...         print(record.command, p2pcap.decode(record.command, record.payload))

The names below are loaded on first use, so ``import p2pcap.decoders``
does not pull in the capture format, and nothing here imports BCC.
"""

from __future__ import annotations

from p2pcap.errors import P2pcapError

__all__ = ["DecodeError", "Gap", "Message", "P2pcapError", "decode", "open", "replay"]


def __getattr__(name):
    if name == "open":
        from p2pcap.formats import open_capture

        return open_capture
    if name in ("Message", "Gap"):
        from p2pcap.formats import records

        return getattr(records, name)
    if name in ("decode", "DecodeError"):
        from p2pcap import decoders

        return getattr(decoders, name)
    if name == "replay":
        from p2pcap.analysis.replaying import replay

        return replay
    raise AttributeError(f"module 'p2pcap' has no attribute {name!r}")
