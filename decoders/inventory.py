"""Inventory and locator messages: inv, getdata, notfound, getblocks,
getheaders and Dash's getheaders2.

Follows dashpay/dash src/protocol.h (``CInv``, ``GetDataMsg``),
src/primitives/block.h (``CBlockLocator``) and src/net_processing.cpp
(the INV, GETDATA, GETBLOCKS and GETHEADERS/GETHEADERS2 handlers).

Count limits: Core reads the vector whole, then punishes an ``inv`` or
``getdata`` of more than MAX_INV_SZ entries (Misbehaving) and disconnects
a peer whose locator has more than MAX_LOCATOR_SZ hashes.  A peer sending
more is out of protocol, so those counts are decode errors here, refused
before an entry is read.  ``notfound`` has no such rule: Core ignores a
long one, and its own answers one or several queued ``getdata`` requests,
so it is bounded by the message length alone (87381 entries in 3 MiB).
"""

from __future__ import annotations

from construct import Int32sl, Int32ul, Terminated

from .limits import Limit
from .primitives import Hash256
from .structs import Named, Struct
from .vectors import HashArray, SlicedArray

# net.h: the most entries Core accepts in an inv or getdata (net_processing.cpp
# ProcessMessage: Misbehaving above it); the same 50000 since Dash 0.12.
MAX_INV_SZ = Limit(50000, "MAX_INV_SZ", "src/net.h")

# net_processing.cpp: a getblocks/getheaders(2) locator longer than this
# disconnects the peer.  Older releases had no such check, but Core's own
# CChain::GetLocator never writes more than about 10 + log2(height) hashes.
MAX_LOCATOR_SZ = Limit(101, "MAX_LOCATOR_SZ", "src/net_processing.cpp")

# GetDataMsg (protocol.h).  Core keeps the retired numbers as comments
# ("we must keep this enum consistent and backwards compatible"); they are
# named here too so old captures stay readable.  7-15 are from the Dash
# 0.12-era protocol.h (masternode payments, budgets, announce/ping).
INV_TYPE_NAMES: dict[int, str] = {
    0: "UNDEFINED",
    1: "MSG_TX",
    2: "MSG_BLOCK",
    3: "MSG_FILTERED_BLOCK",
    4: "MSG_LEGACY_TXLOCK_REQUEST",  # retired (legacy InstantSend)
    5: "MSG_TXLOCK_VOTE",  # retired (legacy InstantSend)
    6: "MSG_SPORK",
    7: "MSG_MASTERNODE_PAYMENT_VOTE",  # retired
    8: "MSG_MASTERNODE_PAYMENT_BLOCK",  # retired
    9: "MSG_BUDGET_VOTE",  # retired
    10: "MSG_BUDGET_PROPOSAL",  # retired
    11: "MSG_BUDGET_FINALIZED",  # retired
    12: "MSG_BUDGET_FINALIZED_VOTE",  # retired
    13: "MSG_MASTERNODE_QUORUM",  # retired
    14: "MSG_MASTERNODE_ANNOUNCE",  # retired
    15: "MSG_MASTERNODE_PING",  # retired
    16: "MSG_DSTX",
    17: "MSG_GOVERNANCE_OBJECT",
    18: "MSG_GOVERNANCE_OBJECT_VOTE",
    19: "MSG_MASTERNODE_VERIFY",  # retired
    20: "MSG_CMPCT_BLOCK",
    21: "MSG_QUORUM_FINAL_COMMITMENT",
    22: "MSG_QUORUM_DUMMY_COMMITMENT",  # retired (test networks only)
    23: "MSG_QUORUM_CONTRIB",
    24: "MSG_QUORUM_COMPLAINT",
    25: "MSG_QUORUM_JUSTIFICATION",
    26: "MSG_QUORUM_PREMATURE_COMMITMENT",
    27: "MSG_QUORUM_DEBUG_STATUS",  # retired (test networks only)
    28: "MSG_QUORUM_RECOVERED_SIG",
    29: "MSG_CLSIG",
    30: "MSG_ISLOCK",  # retired at protocol 70231
    31: "MSG_ISDLOCK",
    32: "MSG_DSQ",  # protocol >= 70234 (DSQ_INV_VERSION)
}


def inv_type_name(number: int) -> str | None:
    """Core's name for an inventory type number, or None when unknown.

    >>> inv_type_name(29)
    'MSG_CLSIG'
    >>> inv_type_name(99) is None
    True
    """
    return INV_TYPE_NAMES.get(number)


# CInv: 36 bytes.  ``type_name`` is Computed, so it is shown but never built.
Inv = Struct(
    "type" / Int32ul,
    "type_name" / Named(INV_TYPE_NAMES, "type"),
    "hash" / Hash256,
)


def _invs(rows) -> list:
    # What Inv parses to, made straight from each entry's 36 bytes.
    names = INV_TYPE_NAMES
    return [{"type": n, "type_name": names.get(n), "hash": h[::-1].hex()} for n, h in rows]


# std::vector<CInv>: the commonest payload, up to 50000 entries, so the
# vector is read in one slice (Inv above is its layout and builds it).
InvVector = SlicedArray(Inv, "I32s", _invs, MAX_INV_SZ)

# CBlockLocator: Core writes the stream version (ignored on read; the
# Python test framework writes 0), then vHave, newest block first.
BlockLocator = Struct(
    "version" / Int32sl,
    "have" / HashArray(MAX_LOCATOR_SZ),
)

# inv / getdata / notfound all carry std::vector<CInv> vInv.
InvMessage = Struct(
    "inv" / InvVector,
    Terminated,
)

# notfound: the same vector, with no count limit but the message's.
NotFound = Struct(
    "inv" / SlicedArray(Inv, "I32s", _invs),
    Terminated,
)

# getblocks / getheaders / getheaders2: ``vRecv >> locator >> hashStop``.
LocatorMessage = Struct(
    "locator" / BlockLocator,
    "stop" / Hash256,
    Terminated,
)

MESSAGES = {
    "inv": InvMessage,
    "getdata": InvMessage,
    "notfound": NotFound,
    "getblocks": LocatorMessage,
    "getheaders": LocatorMessage,
    "getheaders2": LocatorMessage,
}

# The info column (see control.py SUMMARIES): inventory by type, then the
# first hash; a locator by its length and where it stops.
_INVENTORY = (("inv.type", "tally"), ("inv.hash", "hash", ""))
_LOCATOR = (("locator.have", "count", "locator {} hashes"), ("stop", "hash", "stop"))
SUMMARIES = {
    "inv": _INVENTORY,
    "getdata": _INVENTORY,
    "notfound": _INVENTORY,
    "getblocks": _LOCATOR,
    "getheaders": _LOCATOR,
    "getheaders2": _LOCATOR,
}
