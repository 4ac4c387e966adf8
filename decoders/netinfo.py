"""ExtNetInfo, a masternode's extended addresses (dashpay/dash src/evo/netinfo.h).

ProTx payloads of version 3 (``ProTxVersion::ExtAddr``, special_tx.py) and
masternode list entries of version 3 (mnlist.py) carry it instead of one
legacy CService: a version byte, then (version 1) a map from purpose to a
list of entries, each a type byte and, for the Service type, a CService in
ADDRv2 form.  Core's limits apply: at most MAX_ENTRIES_EXTNETINFO entries
per purpose and one list per NetInfoPurpose.

``ExtNetInfoLayout`` is the definition; ``ExtNetInfo`` reads the same with
plain indexing (a masternode list holds thousands) and leaves anything
unusual to it, as transaction.Transaction does.

>>> ExtNetInfo.parse(bytes.fromhex("01" "01" "00" "01" "01" "01" "04" "0a000001" "270f"))["entries"][0]
{'purpose': 0, 'entries': [{'type': 1, 'service': {'network': 1, 'addr': '10.0.0.1', 'port': 9999}, 'domain': None}]}
"""

from __future__ import annotations

from construct import Construct, If, Int8ub, Int16ub, this

from .addr import BIP155_NETWORKS, AddressV2, address_to_text
from .limits import Limit
from .primitives import VarStr
from .structs import Struct
from .vectors import VarArray

# netinfo.h: ExtNetInfo CURRENT_VERSION and the NetInfoEntry type with data
EXTNETINFO_VERSION = 1
NETINFO_SERVICE = 0x01
NETINFO_DOMAIN = 0x02  # netinfo.h NetInfoType::Domain: a DomainPort (string, big-endian port)
# netinfo.h: the most entries one purpose may hold (ExtNetInfo::ProcessCandidate
# refuses a fifth, so Core never writes more), and NetInfoPurpose's three
# values (CORE_P2P, PLATFORM_P2P, PLATFORM_HTTPS: a map keyed by them has at
# most three pairs; ExtNetInfo::Validate refuses any other purpose).
MAX_ENTRIES_EXTNETINFO = Limit(4, "MAX_ENTRIES_EXTNETINFO", "src/evo/netinfo.h")
NETINFO_PURPOSES = Limit(3, "NetInfoPurpose values", "src/evo/netinfo.h")

# CService in ADDRv2 form (netaddress.h SerializeV2Stream + BE port); the
# address is checked and shown as in ``addrv2`` (addr.py).
ServiceV2 = Struct(
    "network" / Int8ub,
    "addr" / AddressV2(this.network),
    "port" / Int16ub,
)

# netinfo.h DomainPort: the name as Core reads a std::string (a longer or
# malformed one is read, then marked invalid), the port big-endian.
DomainPort = Struct(
    "addr" / VarStr(),
    "port" / Int16ub,
)

# NetInfoEntry: a type byte; the Service type carries a CService, the
# Domain type a DomainPort, any other nothing (Core marks it invalid)
NetInfoEntry = Struct(
    "type" / Int8ub,
    "service" / If(this.type == NETINFO_SERVICE, ServiceV2),
    "domain" / If(this.type == NETINFO_DOMAIN, DomainPort),
)

# std::map<uint8_t purpose, std::vector<NetInfoEntry>>, kept as a list of
# pairs in wire order (so duplicates and order survive a round trip).
# Purposes: 0 CORE_P2P, 1 PLATFORM_P2P, 2 PLATFORM_HTTPS.
ExtNetInfoLayout = Struct(
    "version" / Int8ub,
    # netinfo.h: "Don't bother with unknown versions" - nothing follows
    "entries"
    / If(
        this.version == EXTNETINFO_VERSION,
        VarArray(
            Struct(
                "purpose" / Int8ub,
                "entries" / VarArray(NetInfoEntry, min_size=1, max_count=MAX_ENTRIES_EXTNETINFO),
            ),
            min_size=2,
            max_count=NETINFO_PURPOSES,
        ),
    ),
)


class _FastExtNetInfo(Construct):
    """ExtNetInfoLayout's result, read from the buffer with plain indexing.

    A masternode list (mnlistdiff, qrinfo) may hold twenty thousand
    entries of up to sixteen structures each here; read by the layout's
    nested Structs that is seconds.  For a well-formed ExtNetInfo this
    returns exactly what the layout does; for anything else (a short
    buffer, a long CompactSize, a count over its limit, an address the
    layout refuses) it reads nothing and the layout, which stays the
    definition, parses the bytes and names the error.  Building is the
    layout's.
    """

    def __init__(self, layout):
        super().__init__()
        self.subcon = layout

    def _parse(self, stream, context, path):
        getbuffer = getattr(stream, "getbuffer", None)
        if getbuffer is not None:
            start = stream.tell()
            with getbuffer() as view:
                found = _ext_net_info(view, start)
            if found is not None:
                obj, end = found
                stream.seek(end)
                return obj
        return self.subcon._parsereport(stream, context, path)

    def _build(self, obj, stream, context, path):
        return self.subcon._build(obj, stream, context, path)


def _ext_net_info(view, pos: int) -> tuple[dict, int] | None:
    """(ExtNetInfoLayout's dict, end) of a well-formed ExtNetInfo at ``pos``,
    with one-byte counts within Core's limits; else None."""
    end = len(view)
    if pos >= end:
        return None
    version = view[pos]
    pos += 1
    if version != EXTNETINFO_VERSION:
        return {"version": version, "entries": None}, pos
    if pos >= end or view[pos] > NETINFO_PURPOSES:
        return None
    npurposes = view[pos]
    pos += 1
    purposes = []
    for _ in range(npurposes):
        if pos + 2 > end or view[pos + 1] > MAX_ENTRIES_EXTNETINFO:
            return None
        purpose, count = view[pos], view[pos + 1]
        pos += 2
        entries = []
        for _ in range(count):
            if pos >= end:
                return None
            kind = view[pos]
            pos += 1
            service = None
            if kind == NETINFO_DOMAIN:
                return None  # rare: the layout reads it
            if kind == NETINFO_SERVICE:
                if pos + 2 > end:
                    return None
                network, size = view[pos], view[pos + 1]
                expected = BIP155_NETWORKS.get(network, (None, None))[1]
                start, stop = pos + 2, pos + 2 + size
                if size >= 0xFD or (expected is not None and size != expected) or stop + 2 > end:
                    return None  # the layout names the rule (addr.AddressV2)
                text = address_to_text(network, bytes(view[start:stop]))
                service = {"network": network, "addr": text, "port": view[stop] << 8 | view[stop + 1]}
                pos = stop + 2
            entries.append({"type": kind, "service": service, "domain": None})
        purposes.append({"purpose": purpose, "entries": entries})
    return {"version": version, "entries": purposes}, pos


ExtNetInfo = _FastExtNetInfo(ExtNetInfoLayout)
"""An entry of the Domain type (v23's DomainPort) is read by the layout:

>>> ExtNetInfo.parse(bytes.fromhex("01" "01" "00" "01" "02" "0b" + b"example.org".hex() + "270f"))["entries"][0]
{'purpose': 0, 'entries': [{'type': 2, 'service': None, 'domain': {'addr': 'example.org', 'port': 9999}}]}
"""


__all__ = [
    "EXTNETINFO_VERSION",
    "MAX_ENTRIES_EXTNETINFO",
    "NETINFO_PURPOSES",
    "NETINFO_DOMAIN",
    "NETINFO_SERVICE",
    "DomainPort",
    "ExtNetInfo",
    "ExtNetInfoLayout",
    "NetInfoEntry",
    "ServiceV2",
]
