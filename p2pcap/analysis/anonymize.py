"""``anonymize``: a capture you can attach to a public bug report.

Peer addresses are replaced, consistently (one address, one placeholder,
everywhere), by addresses from ranges reserved for documentation and tests:

============ ========================== ====================================
IPv4         198.18.0.0/15              RFC 2544 (benchmarking), never routed
IPv6         2001:db8::/32              RFC 3849 (documentation)
CJDNS        fc00::/8, counting up      the CJDNS range itself
Tor v3, I2P  all-zero keys, counting up valid names that belong to no one
host names   ``peerN.invalid``          RFC 2606 (``.invalid`` never resolves)
============ ========================== ====================================

Loopback and unspecified addresses (127.0.0.0/8, ::1, 0.0.0.0, ::) are
kept: they say nothing about anyone.  Ports are kept.

Where: each record's peer address, and the payloads of ``version``
(addr_to, addr_from), ``addr``, ``addrv2``, ``mnlistdiff`` and ``qrinfo``
(masternode service addresses).  Those payloads are decoded, the addresses
replaced, and built again; the result must decode to exactly the replaced
dict with the same length, else (and for payloads cut by a snap length or
that do not decode) the payload is dropped: captured length 0, flagged
``FLAG_SNAPLEN``, ``msg_size`` kept.  Every other byte -- timestamps, other
payloads, gap records -- is copied unchanged.  The header's ``host`` is
dropped.
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass, field

from p2pcap.analysis.editing import edited, tool_version
from p2pcap.analysis.errors import AnalysisError
from p2pcap.analysis.pipeline import open_pipeline
from p2pcap.analysis.source import check_output, open_writer
from p2pcap.decoders import DecodeError, build, decode
from p2pcap.decoders.addr import address_to_text, text_to_address
from p2pcap.formats.peeraddr import join_host_port, split_host_port
from p2pcap.formats.records import FLAG_SNAPLEN, Message
from p2pcap.outputs import atomic_file

COMMANDS = frozenset({"version", "addr", "addrv2", "mnlistdiff", "qrinfo"})
IPV4_BASE = int(ipaddress.IPv4Address("198.18.0.0"))
IPV4_SIZE = 1 << 17  # /15
IPV6_BASE = int(ipaddress.IPv6Address("2001:db8::"))
CJDNS_BASE = int(ipaddress.IPv6Address("fc00::"))
PLACEHOLDERS = {
    "ipv4": "198.18.0.0/15",
    "ipv6": "2001:db8::/32",
    "cjdns": "fc00::/8",
    "torv3": "zero keys",
    "i2p": "zero keys",
    "host": "peerN.invalid",
}
# BIP155 network ids (decoders/addr.py)
_NET_KIND = {1: "ipv4", 2: "ipv6", 4: "torv3", 5: "i2p", 6: "cjdns"}


@dataclass
class AddressMap:
    """Original address -> placeholder, numbered in order of first sight per kind.

    >>> m = AddressMap()
    >>> m.ip("203.0.113.9"), m.ip("203.0.113.9"), m.ip("2a01::1"), m.ip("127.0.0.1")
    ('198.18.0.1', '198.18.0.1', '2001:db8::1', '127.0.0.1')
    >>> m.peer_addr("[2a01::1]:9999"), m.peer_addr("seed.example.org:9999")
    ('[2001:db8::1]:9999', 'peer1.invalid:9999')
    """

    table: dict = field(default_factory=dict)  # (kind, original) -> placeholder
    counts: dict = field(default_factory=dict)  # kind -> how many so far

    def _next(self, kind: str) -> int:
        n = self.counts.get(kind, 0) + 1
        self.counts[kind] = n
        return n

    def _mapped(self, kind: str, original, make):
        key = (kind, original)
        out = self.table.get(key)
        if out is None:
            out = self.table[key] = make(self._next(kind))
        return out

    def ip(self, text: str) -> str:
        """An IPv4 or IPv6 address in text form."""
        addr = ipaddress.ip_address(text)
        if addr.is_loopback or addr.is_unspecified:
            return text
        if addr.version == 4:

            def make(n):
                if n >= IPV4_SIZE - 1:
                    raise AnalysisError("more than 131070 distinct IPv4 addresses: 198.18.0.0/15 is full")
                return str(ipaddress.IPv4Address(IPV4_BASE + n))

            return self._mapped("ipv4", str(addr), make)
        if addr.ipv4_mapped is not None:
            return "::ffff:" + self.ip(str(addr.ipv4_mapped))
        if addr.packed[0] == 0xFC:
            return self._mapped("cjdns", str(addr), lambda n: str(ipaddress.IPv6Address(CJDNS_BASE + n)))
        return self._mapped("ipv6", str(addr), lambda n: str(ipaddress.IPv6Address(IPV6_BASE + n)))

    def raw(self, net: int, data: bytes) -> bytes:
        """Address bytes of BIP155 network ``net``, same length out."""
        kind = _NET_KIND.get(net, f"net{net}")
        if kind in ("ipv4", "ipv6", "cjdns"):
            text = self.ip(str(ipaddress.ip_address(data)))
            return ipaddress.ip_address(text).packed
        return self._mapped(kind, data.hex(), lambda n: n.to_bytes(len(data), "big") if data else b"")

    def text(self, net: int, text: str) -> str:
        """An ``addrv2`` address in the decoder's text form for network ``net``."""
        return address_to_text(net, self.raw(net, text_to_address(net, text)))

    def peer_addr(self, addr: str) -> str:
        """A record's peer address: ``ip:port``, ``[ipv6]:port``, ``name:port`` or bare."""
        host, port, bracketed = split_host_port(addr)
        return join_host_port(self._host(host), port, bracketed)

    def _host(self, host: str) -> str:
        try:
            return self.ip(host)
        except ValueError:
            pass
        for net in (4, 5):
            try:
                return self.text(net, host)
            except ValueError:
                pass
        if not host:
            return host
        return self._mapped("host", host.lower(), lambda n: f"peer{n}.invalid")

    def to_json(self) -> dict:
        out: dict = {}
        for (kind, original), placeholder in self.table.items():
            value = placeholder.hex() if isinstance(placeholder, bytes) else placeholder
            out.setdefault(kind, {})[original] = value
        return out


def replace_addresses(obj, amap: AddressMap):
    """A copy of a decoded payload with every address in it replaced."""
    if isinstance(obj, list):
        return [replace_addresses(v, amap) for v in obj]
    if not isinstance(obj, dict):
        return obj
    out = {k: replace_addresses(v, amap) for k, v in obj.items()}
    if isinstance(out.get("ip"), str):  # CService, v1 form
        out["ip"] = amap.ip(out["ip"])
    if isinstance(out.get("net"), int) and isinstance(out.get("addr"), str):  # addrv2 entry
        out["addr"] = amap.text(out["net"], out["addr"])
    if isinstance(out.get("network"), int) and isinstance(out.get("addr"), str):  # ExtNetInfo service
        net = out["network"]
        out["addr"] = (
            amap.ip(out["addr"]) if net in (1, 2) else amap.raw(net, bytes.fromhex(out["addr"])).hex()
        )
    return out


@dataclass
class AnonymizeReport:
    messages: int = 0
    payloads_rewritten: int = 0
    payloads_dropped: int = 0
    addresses: dict = field(default_factory=dict)  # kind -> distinct addresses replaced
    problems: list = field(default_factory=list)  # InputProblem of the input

    def line(self) -> str:
        kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(self.addresses.items())) or "none"
        return (
            f"{self.messages} messages, {self.payloads_rewritten} payloads rewritten, "
            f"{self.payloads_dropped} dropped; addresses replaced: {kinds}"
        )


def anonymize_payload(msg: Message, version: int, amap: AddressMap):
    """New payload bytes, or None when it cannot be rewritten safely."""
    if msg.partial:
        return None
    try:
        decoded = decode(msg.command, msg.payload, version=version)
        if build(msg.command, decoded, version=version) != msg.payload:
            return None
        mapped = replace_addresses(decoded, amap)
        payload = build(msg.command, mapped, version=version)
        if len(payload) != len(msg.payload) or decode(msg.command, payload, version=version) != mapped:
            return None
    except (DecodeError, ValueError):
        return None
    return payload


def _scrub(metadata):
    if isinstance(metadata, dict):
        return {k: _scrub(v) for k, v in metadata.items() if k != "host"}
    if isinstance(metadata, list):
        return [_scrub(v) for v in metadata]
    return metadata


def anonymize_capture(src, dst, *, mapping_path=None) -> AnonymizeReport:
    """Copy ``src`` to ``dst`` with peer addresses replaced (see the module doc)."""
    check_output([src], dst)
    report = AnonymizeReport()
    amap = AddressMap()
    with open_pipeline(src) as p:
        if p.index is not None:  # peers first: they get the low numbers
            for peer in p.index.peers:
                amap.peer_addr(peer.addr)
        edit = {"command": "anonymize", "tool_version": tool_version(), "placeholders": PLACEHOLDERS}
        # each process's network goes along, as the blocks read define it
        with open_writer(dst, edited(_scrub(p.metadata), edit), processes=p.reader.processes) as writer:
            for rec in p:
                if type(rec) is Message:
                    rec = _anonymized(rec, p.version_for(rec), amap, report)
                    report.messages += 1
                writer.write(rec)
        report.problems += p.problems()
    report.addresses = dict(amap.counts)
    if mapping_path is not None:
        with atomic_file(mapping_path, "w", action="cannot write the mapping") as f:
            json.dump(amap.to_json(), f, indent=1, sort_keys=True)
    return report


def _anonymized(msg: Message, version: int, amap: AddressMap, report: AnonymizeReport) -> Message:
    payload, flags = msg.payload, msg.flags
    if msg.command in COMMANDS:
        payload = anonymize_payload(msg, version, amap)
        if payload is None:
            payload, flags = b"", flags | FLAG_SNAPLEN
            report.payloads_dropped += 1
        elif payload != msg.payload:
            report.payloads_rewritten += 1
    return Message(
        msg.ts_ns,
        msg.pid,
        msg.peer_id,
        amap.peer_addr(msg.peer_addr),
        msg.conn_type,
        msg.direction,
        msg.command,
        msg.msg_size,
        payload,
        flags,
    )
