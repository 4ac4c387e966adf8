"""Hand-written parsers for the commonest payloads, beside their constructs.

``decode`` spends ~3 µs setting up construct's context and stream before it
reads a byte, which is most of the cost of an ``inv`` of one entry (45% of
a node's messages) or a ``ping``.  A function here parses a well-formed
payload of its command with ``struct`` and returns exactly the dict the
construct gives (same keys, same order, same values); for anything it is not
sure of -- a short or long payload, a CompactSize that is not the one-byte
or ``fd`` form, a count over the limit -- it returns None and ``decode``
runs the construct, which stays the reference and the only one that names
errors.  ``tests/decoders/test_fastpaths.py`` compares the two on random
and damaged payloads.
"""

from __future__ import annotations

import struct

from .inventory import INV_TYPE_NAMES
from .primitives import MAX_SIZE

_INV = struct.Struct("<I32s")
_U64 = struct.Struct("<Q")
_U16 = struct.Struct("<H")


def inventory(payload: bytes):
    """``inv`` / ``getdata`` / ``notfound``: std::vector<CInv> (src/protocol.h CInv)."""
    n = len(payload)
    if not n:
        return None
    first = payload[0]
    if first < 0xFD:
        count, start = first, 1
    elif first == 0xFD and n >= 3:
        (count,) = _U16.unpack_from(payload, 1)
        if count < 0xFD:  # non-canonical: the construct says so
            return None
        start = 3
    else:
        return None
    if n != start + 36 * count or 36 * count > MAX_SIZE:
        return None
    names = INV_TYPE_NAMES
    return {
        "inv": [
            {"type": t, "type_name": names.get(t), "hash": h[::-1].hex()}
            for t, h in _INV.iter_unpack(payload[start:])
        ]
    }


def nonce(payload: bytes):
    """``ping`` / ``pong``: a u64 nonce (src/net_processing.cpp)."""
    if len(payload) != 8:
        return None
    return {"nonce": _U64.unpack(payload)[0]}


FAST = {"inv": inventory, "getdata": inventory, "notfound": inventory, "ping": nonce, "pong": nonce}
