"""Address gossip: addr (v1 CAddress) and addrv2 (BIP155).

Follows dashpay/dash src/protocol.h (``CAddress``: nTime u32 always on the
network, nServices u64 in v1 and CompactSize in v2) and src/netaddress.h /
netaddress.cpp (``CNetAddr`` BIP155 form: network id, CompactSize length,
address, then the CService port big-endian), as backported from Bitcoin
Core; the ADDR/ADDRV2 handler in src/net_processing.cpp.

BIP155 rules enforced here, as ``CNetAddr::UnserializeV2Stream`` does: an
address longer than 512 bytes (``MAX_ADDRV2_SIZE``) or a known network with
the wrong length fails the whole message.  Unknown network ids are kept as
raw hex (Core skips them and reads on).  Tor v2 (id 3) is no longer
supported by Core and is treated like an unknown id.  More than 1000
entries (``MAX_ADDR_TO_SEND``) is misbehaviour in Core's ADDR/ADDRV2
handler, after parsing: a peer sending more is out of protocol, so the
count is refused here before an entry is read.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress

from construct import (
    Construct,
    ConstructError,
    Int8ub,
    Int16ub,
    Int32ul,
    Int64ul,
    Terminated,
    this,
)
from construct.core import evaluate, stream_read, stream_write

from .limits import Limit
from .primitives import CompactSize, Service
from .structs import Named, Struct
from .vectors import VarArray

# netaddress.h
MAX_ADDRV2_SIZE = 512

# net_processing.cpp: an addr or addrv2 of more entries is Misbehaving (and
# the most Core sends); 1000 in every release.
MAX_ADDR_TO_SEND = Limit(1000, "MAX_ADDR_TO_SEND", "src/net_processing.cpp")

# BIP155 network ids -> (name, address length); None = not checked.
BIP155_NETWORKS: dict[int, tuple[str, int | None]] = {
    1: ("IPV4", 4),
    2: ("IPV6", 16),
    3: ("TORV2", None),  # retired: Core ignores it like an unknown id
    4: ("TORV3", 32),
    5: ("I2P", 32),
    6: ("CJDNS", 16),
}
BIP155_NAMES = {net: name for net, (name, _) in BIP155_NETWORKS.items()}

# Tor rend-spec-v3: onion address = base32(pubkey | checksum[:2] | version).
_TORV3_VERSION = b"\x03"
_I2P_SUFFIX = ".b32.i2p"
_ONION_SUFFIX = ".onion"


def _torv3_checksum(pubkey: bytes) -> bytes:
    return hashlib.sha3_256(b".onion checksum" + pubkey + _TORV3_VERSION).digest()[:2]


def address_to_text(net: int, raw: bytes) -> str:
    """The text form of a BIP155 address; raw hex for ids without one.

    >>> address_to_text(1, bytes([10, 0, 0, 1]))
    '10.0.0.1'
    >>> address_to_text(99, b"\\x01\\x02")
    '0102'
    """
    if net == 1:
        return str(ipaddress.IPv4Address(raw))
    if net in (2, 6):
        return str(ipaddress.IPv6Address(raw))
    if net == 4:
        body = raw + _torv3_checksum(raw) + _TORV3_VERSION
        return base64.b32encode(body).decode().lower() + _ONION_SUFFIX
    if net == 5:
        return base64.b32encode(raw).decode().lower().rstrip("=") + _I2P_SUFFIX
    return raw.hex()


def text_to_address(net: int, text: str) -> bytes:
    """Inverse of :func:`address_to_text`; raises ValueError on bad text.

    >>> text_to_address(1, "10.0.0.1").hex()
    '0a000001'
    """
    if net == 1:
        return ipaddress.IPv4Address(text).packed
    if net in (2, 6):
        return ipaddress.IPv6Address(text).packed
    if net == 4:
        if not text.endswith(_ONION_SUFFIX):
            raise ValueError(f"not a .onion name: {text!r}")
        body = base64.b32decode(text[: -len(_ONION_SUFFIX)].upper())
        pubkey, checksum, version = body[:32], body[32:34], body[34:]
        if len(body) != 35 or version != _TORV3_VERSION or checksum != _torv3_checksum(pubkey):
            raise ValueError(f"not a valid Tor v3 name: {text!r}")
        return pubkey
    if net == 5:
        if not text.endswith(_I2P_SUFFIX):
            raise ValueError(f"not a .b32.i2p name: {text!r}")
        stem = text[: -len(_I2P_SUFFIX)].upper()
        return base64.b32decode(stem + "=" * (-len(stem) % 8))
    return bytes.fromhex(text)


class AddressV2(Construct):
    """CompactSize length + address bytes, checked against the network id.

    Shown as text (dotted quad, RFC 5952 IPv6, ``.onion``, ``.b32.i2p``)
    for known networks and as hex otherwise.  ``net`` is an expression for
    the BIP155 network id read just before.
    """

    def __init__(self, net):
        super().__init__()
        self.net = net

    def _parse(self, stream, context, path):
        net = evaluate(self.net, context)
        size = CompactSize._parsereport(stream, context, path)
        _check_size(net, size, path)
        return address_to_text(net, stream_read(stream, size, path))

    def _build(self, obj, stream, context, path):
        net = evaluate(self.net, context)
        try:
            raw = text_to_address(net, obj)
        except (ValueError, TypeError) as exc:  # binascii.Error is a ValueError
            raise ConstructError(f"bad address for network {net}: {exc}", path=path) from None
        _check_size(net, len(raw), path)
        CompactSize._build(len(raw), stream, context, path)
        stream_write(stream, raw, len(raw), path)
        return obj


def _check_size(net: int, size: int, path) -> None:
    if size > MAX_ADDRV2_SIZE:
        raise ConstructError(f"address too long: {size} > {MAX_ADDRV2_SIZE}", path=path)
    name, expected = BIP155_NETWORKS.get(net, (None, None))
    if expected is not None and size != expected:
        raise ConstructError(f"BIP155 {name} address with length {size} (should be {expected})", path=path)


# CAddress in v1 network form: nTime, nServices u64, CService (18 bytes).
AddressV1Entry = Struct(
    "time" / Int32ul,
    "services" / Int64ul,
    *Service.subcons,
)

# CAddress in v2 network form (ADDRV2_FORMAT): nServices as CompactSize,
# then CNetAddr v2 (``net`` = BIP155 network id, ``addr`` = m_addr), port.
AddressV2Entry = Struct(
    "time" / Int32ul,
    "services" / CompactSize,
    "net" / Int8ub,
    "net_name" / Named(BIP155_NAMES, "net"),
    "addr" / AddressV2(this.net),
    "port" / Int16ub,
)

# Both: std::vector<CAddress> vAddr.
Addr = Struct(
    "addr" / VarArray(AddressV1Entry, min_size=30, max_count=MAX_ADDR_TO_SEND),
    Terminated,
)

# Smallest v2 entry: time 4 + services 1 + net 1 + length 1 + port 2.
AddrV2 = Struct(
    "addr" / VarArray(AddressV2Entry, min_size=9, max_count=MAX_ADDR_TO_SEND),
    Terminated,
)

MESSAGES = {
    "addr": Addr,
    "addrv2": AddrV2,
}

# The info column (see control.py SUMMARIES).
SUMMARIES = {
    "addr": (("addr", "count", "address|addresses"), ("addr", "endpoints")),
    "addrv2": (("addr", "count", "address|addresses"), ("addr", "endpoints")),
}
