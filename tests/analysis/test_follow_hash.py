"""``show --where hash=H`` follows one object: its announcement, its request, the object.

For every command an ``inv`` can announce (``p2pcap.decoders.announced``),
a known-good payload from the decoder tests (real bytes where other
implementations published them, else hand-assembled from Core's
serializer) is put in a capture between an ``inv`` and a ``getdata``
naming its hash, among messages that name other hashes.  The filter must
give exactly those three messages, in order.
"""

from __future__ import annotations

import struct

import pytest

from p2pcap.analysis.filters import RecordFilter, parse_where
from p2pcap.analysis.pipeline import open_pipeline
from p2pcap.decoders import announced, decode
from p2pcap.decoders.inventory import INV_TYPE_NAMES
from p2pcap.formats import CaptureWriter, Message

from ..decoders.tables import VECTORS
from ..decoders.test_announced import RELAYED_TODAY
from .captures import T0

NUMBER = {name: number for number, name in INV_TYPE_NAMES.items()}


def objects() -> dict[str, tuple[str, bytes, str]]:
    """inv type -> (command, payload, hash): one decodable object per type."""
    out = {}
    for command, payload in VECTORS:
        if command in ("inv", "getdata", "notfound"):
            continue
        try:
            decoded = decode(command, payload)
        except Exception:  # a vector for another protocol version: not this test's
            continue
        for inv_type, h in announced(command, decoded):
            out.setdefault(inv_type, (command, payload, h))
    return out


OBJECTS = objects()


def test_every_type_core_relays_has_an_object_here():
    assert RELAYED_TODAY - set(OBJECTS) == set()


def inventory(inv_type: str, h: str) -> bytes:
    return b"\x01" + struct.pack("<I", NUMBER[inv_type]) + bytes.fromhex(h)[::-1]


@pytest.mark.parametrize("inv_type", sorted(RELAYED_TODAY))
def test_hash_finds_the_announcement_the_request_and_the_object(tmp_path, inv_type):
    command, payload, h = OBJECTS[inv_type]
    other = "ab" * 32
    records = [
        ("in", "inv", inventory(inv_type, other)),
        ("in", "inv", inventory(inv_type, h)),
        ("out", "getdata", inventory("MSG_TX", other)),
        ("out", "getdata", inventory(inv_type, h)),
        ("in", "notfound", inventory("MSG_TX", other)),
        ("in", command, payload),
        ("in", "ping", bytes(8)),
    ]
    path = tmp_path / "follow.cap"
    with CaptureWriter(path, {"network": "mainnet"}) as w:
        for i, (direction, cmd, body) in enumerate(records):
            w.write(
                Message(T0 + i, 1, 0, "1.2.3.4:9999", "outbound-full-relay", direction, cmd, len(body), body)
            )
    for text in (h, h.upper(), h[:16] + "*"):
        with open_pipeline(path, RecordFilter(where=(parse_where(f"hash={text}"),)), decode=True) as p:
            found = [(m.direction, m.command) for m in p]
        assert found == [("in", "inv"), ("out", "getdata"), ("in", command)], text
