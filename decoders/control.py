"""Connection control: version, verack, ping, pong and the send*/feature
negotiation messages.

Follows dashpay/dash src/net_processing.cpp (``PushNodeVersion`` and the
VERSION, VERACK, SENDHEADERS(2), SENDCMPCT, SENDADDRV2, SENDTXRCNCL, PING
and PONG handlers) and src/protocol.h.  ``version`` field names follow the
Dash functional-test ``msg_version`` (nVersion, nServices, nTime, addrTo,
addrFrom, nNonce, strSubVer, nStartingHeight, relay) plus Core's
mnauthChallenge and m_masternode_connection.

``feefilter`` does not exist in Dash (v2 short ID 5 is left blank); it is
decoded for Bitcoin captures (BIP133).
"""

from __future__ import annotations

from construct import (
    If,
    Int32sl,
    Int32ul,
    Int64sl,
    Int64ul,
    Terminated,
    this,
)

from .primitives import Bool, Hash256, Service, Trailing, VarStr
from .structs import Struct

# net_processing.h MAX_SUBVERSION_LENGTH: Core reads the user agent with
# LIMITED_STRING(strSubVer, 256) and throws on anything longer.
MAX_SUBVERSION_LENGTH = 256


# A CAddress without nTime (the pre-31402 form kept inside ``version``):
# services u64 + v1 CService.
VersionAddress = Struct(
    "services" / Int64ul,
    *Service.subcons,
)

# Core always serialises ``version`` with INIT_PROTO_VERSION, so the layout
# does not depend on the negotiated version.
Version = Struct(
    "version" / Int32sl,
    "services" / Int64ul,
    "time" / Int64sl,
    "addr_to" / VersionAddress,
    # Core: ``if (!vRecv.empty()) { vRecv.ignore(26); vRecv >> nNonce; }``
    # -- the sender's address and the nonce form one optional group.
    "addr_from" / Trailing(VersionAddress),
    "nonce" / If(this.addr_from != None, Int64ul),  # noqa: E711 (construct expression)
    "sub_ver" / Trailing(VarStr(MAX_SUBVERSION_LENGTH)),
    "starting_height" / Trailing(Int32sl),
    "relay" / Trailing(Bool),
    # Dash: random challenge the peer answers with ``mnauth``.
    "mnauth_challenge" / Trailing(Hash256),
    # Dash: the sender opened a masternode (quorum) connection.
    "masternode_connection" / Trailing(Bool),
    Terminated,
)

Empty = Struct(Terminated)

# ping / pong: u64 nonce; a pong echoes it (0 in a pong cancels the ping).
Nonce = Struct(
    "nonce" / Int64ul,
    Terminated,
)

# BIP152: PushMessage(SENDCMPCT, /*high_bandwidth=*/..., /*version=*/...).
# Dash only knows version 1 (txid short IDs).
SendCmpct = Struct(
    "high_bandwidth" / Bool,
    "version" / Int64ul,
    Terminated,
)

# BIP133 (Bitcoin only): Core reads a CAmount, which is signed.
FeeFilter = Struct(
    "feerate" / Int64sl,
    Terminated,
)

# BIP330: TXRECONCILIATION_VERSION u32 + recon_salt u64.
SendTxRcncl = Struct(
    "version" / Int32ul,
    "salt" / Int64ul,
    Terminated,
)

MESSAGES = {
    "version": Version,
    "verack": Empty,
    "ping": Nonce,
    "pong": Nonce,
    "getaddr": Empty,
    "mempool": Empty,
    "sendheaders": Empty,
    "sendheaders2": Empty,
    "sendaddrv2": Empty,
    "sendcmpct": SendCmpct,
    "feefilter": FeeFilter,
    "sendtxrcncl": SendTxRcncl,
}

# The info column of ``show`` (p2pcap/analysis/summary.py renders these):
# per command, the fields a reader looks for first, most useful first, as
# (path in the decoded dict, how it is shown[, label]); a bare string is
# said as it is (a message without fields).
SUMMARIES = {
    "version": (("version", "plain", "v{}"), ("sub_ver", "text", ""), ("starting_height", "plain", "height"),
                ("services", "hex", "services")),
    "verack": ("version handshake done",),
    "ping": (("nonce", "plain"),),
    "pong": (("nonce", "plain"),),
    "getaddr": ("asks for addresses",),
    "mempool": ("asks for the mempool's txids",),
    "sendheaders": ("announce blocks by headers",),
    "sendheaders2": ("announce blocks by compressed headers",),
    "sendaddrv2": ("wants addrv2 (BIP155)",),
    "sendcmpct": (("high_bandwidth", "plain", "high bandwidth"), ("version", "plain")),
    "feefilter": (("feerate", "plain", "{} duffs/kB"),),
    "sendtxrcncl": (("version", "plain"), ("salt", "plain")),
}  # fmt: skip
