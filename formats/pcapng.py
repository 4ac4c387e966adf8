"""pcapng export: one Wireshark "exported PDU" packet per message.

Wireshark opens the result with no set-up: each packet uses link type 252
(``LINKTYPE_WIRESHARK_UPPER_PDU``), whose packet data starts with a list of
TLVs naming the dissector to run (``bitcoin``; Dash keeps Bitcoin's v1
framing) and, where the peer address is an ``ip:port``, its address and
port; then the message as it went over a v1 connection: the real 24-byte
header (the capture's network magic, a correct checksum) and the payload.

TLVs, from Wireshark's ``wsutil/exported_pdu_tlvs.h`` (facts only): 2-byte
big-endian type, 2-byte big-endian length, value; strings may carry NUL
padding, counted in the length; integers are big-endian; the list ends with
type 0, length 0.  Wireshark itself pads strings to 4 bytes; so do we.

pcapng (draft-ietf-opsawg-pcapng) blocks are written little-endian: one
Section Header, one Interface Description (nanosecond timestamps), then an
Enhanced Packet Block per record, whose ``opt_comment`` says who the peer
was (``peer_id``, ``conn_type``, ``direction``, ``pid``, ``addr``).

Strings are kept exactly: a command goes into the v1 header as the bytes
the node gave (when they fit its 12 bytes), and text in an option, which
pcapng requires to be UTF-8, shows a byte that is not UTF-8 (a surrogate
escape, as the reader keeps it) as ``\\xNN`` (``utf8``).

Two choices, documented in docs/ANALYSIS.md:

* Wireshark refuses packets over 256 KiB (``WTAP_MAX_PACKET_SIZE_STANDARD``;
  tshark 4.0 calls the file corrupt), so larger messages are cut there, like
  a capture with a snap length: the original length and the header's length
  and checksum stay those of the whole message, and the comment says so.
* A gap record (messages the recorder lost) becomes a marker packet: no
  Bitcoin message, protocol column ``P2PCAP`` (TLV 33), one text line
  "p2pcap gap: N messages (B bytes) lost, reason" as its data (dissector
  ``data-text-lines``) and as its comment.  Losses stay visible, in time
  order, in Wireshark's packet list.
"""

from __future__ import annotations

import ipaddress
import struct

from .peeraddr import split_host_port
from .records import Gap, Message
from .v1 import checksum, header_v1

LINKTYPE_WIRESHARK_UPPER_PDU = 252
MAX_PACKET = 262_144  # Wireshark's WTAP_MAX_PACKET_SIZE_STANDARD

# Exported-PDU TLV types (wsutil/exported_pdu_tlvs.h).
TAG_END_OF_OPT = 0
TAG_DISSECTOR_NAME = 12
TAG_IPV4_SRC = 20
TAG_IPV4_DST = 21
TAG_IPV6_SRC = 22
TAG_IPV6_DST = 23
TAG_PORT_TYPE = 24
TAG_SRC_PORT = 25
TAG_DST_PORT = 26
TAG_COL_PROT_TEXT = 33
TAG_P2P_DIRECTION = 35
PT_TCP = 2  # EXP_PDU_PT_TCP
P2P_DIR_SENT, P2P_DIR_RECV = 0, 1

# pcapng block types and option codes.
BT_SHB = 0x0A0D0D0A
BT_IDB = 0x00000001
BT_EPB = 0x00000006
BYTE_ORDER_MAGIC = 0x1A2B3C4D
OPT_ENDOFOPT = 0
OPT_COMMENT = 1
SHB_USERAPPL = 4
IF_NAME = 2
IF_DESCRIPTION = 3
IF_TSRESOL = 9


def utf8(text: str) -> bytes:
    """``text`` as UTF-8 for an option: bytes that were not UTF-8 (surrogate
    escapes) as ``\\xNN``, other lone surrogates as ``\\udNNN``.

    >>> utf8("addr=1.2.3.4:9999"), utf8(b"h\\xff".decode("utf-8", "surrogateescape"))
    (b'addr=1.2.3.4:9999', b'h\\\\xff')
    """
    try:
        raw = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace")
    return raw.decode("utf-8", "backslashreplace").encode("utf-8")


def _pad4(data: bytes) -> bytes:
    return data + b"\0" * (-len(data) % 4)


def _option(code: int, value: bytes) -> bytes:
    return struct.pack("<HH", code, len(value)) + _pad4(value)


def _options(*pairs: tuple[int, bytes]) -> bytes:
    return b"".join(_option(c, v) for c, v in pairs) + _option(OPT_ENDOFOPT, b"")


def _block(block_type: int, body: bytes) -> bytes:
    total = 12 + len(body)
    return struct.pack("<II", block_type, total) + body + struct.pack("<I", total)


def section_header(application: str, comment: str | None = None) -> bytes:
    """SHB: byte-order magic, version 1.0, section length unknown (-1)."""
    opts = [(SHB_USERAPPL, utf8(application))]
    if comment:
        opts.insert(0, (OPT_COMMENT, utf8(comment)))
    return _block(BT_SHB, struct.pack("<IHHq", BYTE_ORDER_MAGIC, 1, 0, -1) + _options(*opts))


def interface_description(name: str, description: str, snaplen: int = MAX_PACKET) -> bytes:
    """IDB for link type 252 with nanosecond timestamps (if_tsresol = 9)."""
    body = struct.pack("<HHI", LINKTYPE_WIRESHARK_UPPER_PDU, 0, snaplen)
    return _block(
        BT_IDB,
        body + _options((IF_NAME, utf8(name)), (IF_DESCRIPTION, utf8(description)), (IF_TSRESOL, bytes([9]))),
    )


def enhanced_packet(ts_ns: int, data: bytes, original_len: int, comment: str) -> bytes:
    """EPB on interface 0; ``data`` is what is kept, ``original_len`` what was."""
    head = struct.pack("<IIIII", 0, ts_ns >> 32, ts_ns & 0xFFFFFFFF, len(data), original_len)
    return _block(BT_EPB, head + _pad4(data) + _options((OPT_COMMENT, utf8(comment))))


def _tlv(tag: int, value: bytes) -> bytes:
    return struct.pack(">HH", tag, len(value)) + value


def maybe_parse_address(addr: str) -> tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, int] | None:
    """(ip, port) of ``1.2.3.4:9999`` or ``[2001:db8::1]:9999``; None for
    anything else (host names, onion/i2p names, a missing port).

    >>> maybe_parse_address("[2001:db8::1]:9999")
    (IPv6Address('2001:db8::1'), 9999)
    >>> maybe_parse_address("seed.example.org:9999") is None
    True
    """
    host, port, _bracketed = split_host_port(addr)
    if port is None or not port.isdigit() or int(port) > 0xFFFF:
        return None
    try:
        return ipaddress.ip_address(host), int(port)
    except ValueError:
        return None


def pdu_tags(peer_addr: str, direction: str) -> bytes:
    """Exported-PDU TLVs for a message: dissector, then the peer's address
    as source (inbound) or destination (outbound) when it parses.  The local
    side is not known to the tracepoints, so it is left out."""
    tags = [_tlv(TAG_DISSECTOR_NAME, _pad4(b"bitcoin"))]
    parsed = maybe_parse_address(peer_addr)
    inbound = direction == "in"
    if parsed is not None:
        ip, port = parsed
        if ip.version == 4:
            tags.append(_tlv(TAG_IPV4_SRC if inbound else TAG_IPV4_DST, ip.packed))
        else:
            tags.append(_tlv(TAG_IPV6_SRC if inbound else TAG_IPV6_DST, ip.packed))
        tags.append(_tlv(TAG_PORT_TYPE, struct.pack(">I", PT_TCP)))
        tags.append(_tlv(TAG_SRC_PORT if inbound else TAG_DST_PORT, struct.pack(">I", port)))
    tags.append(_tlv(TAG_P2P_DIRECTION, struct.pack(">I", P2P_DIR_RECV if inbound else P2P_DIR_SENT)))
    tags.append(_tlv(TAG_END_OF_OPT, b""))
    return b"".join(tags)


def message_comment(msg: Message) -> str:
    """``peer_id=3 conn_type=inbound direction=in pid=812 addr=1.2.3.4:9999``."""
    return (
        f"peer_id={msg.peer_id} conn_type={msg.conn_type or '-'} direction={msg.direction} "
        f"pid={msg.pid} addr={msg.peer_addr or '-'}"
    )


def gap_text(gap: Gap) -> str:
    return (
        f"p2pcap gap: {gap.lost_messages} messages ({gap.lost_bytes} bytes) lost, "
        f"{gap.reason_name}, pid={gap.pid}"
    )


class PcapngWriter:
    """Write records to a binary file object as pcapng (see the module doc).

    >>> import io
    >>> out = io.BytesIO()
    >>> w = PcapngWriter(out, magic=bytes.fromhex("fcc1b7dc"))
    >>> w.write(Message(10**18, 7, 0, "127.0.0.1:19899", "inbound", "in", "verack", 0, b""))
    >>> w.messages, out.getvalue()[:4].hex()
    (1, '0a0d0d0a')
    """

    def __init__(
        self,
        file,
        *,
        magic: bytes,
        comment: str | None = None,
        application: str = "p2pcap",
        snaplen: int = MAX_PACKET,
    ):
        self._file = file
        self.magic = magic
        self.snaplen = snaplen
        self.messages = 0
        self.gaps = 0
        self.cut = 0  # messages cut to fit Wireshark's packet size limit
        self.partial = 0  # messages the capture itself kept only in part
        file.write(section_header(application, comment))
        file.write(interface_description("p2pcap", "Dash P2P messages (net:* tracepoints)", snaplen))

    def write(self, record) -> None:
        if type(record) is Gap:
            self.write_gap(record)
        else:
            self.write_message(record)

    def write_message(self, msg: Message) -> None:
        comment = message_comment(msg)
        if msg.partial:
            # The rest of the payload was never captured: its checksum is unknown.
            check = b"\0\0\0\0"
            comment += f" partial={msg.captured_len}/{msg.msg_size} checksum=unknown"
            self.partial += 1
        else:
            check = checksum(msg.payload)
        header = header_v1(self.magic, msg.command, msg.msg_size, check, strict=False)
        head = pdu_tags(msg.peer_addr, msg.direction) + header
        # a u32 field: a msg_size near 4 GiB (only a forged record has one) stops there
        original = min(len(head) + msg.msg_size, 0xFFFFFFFF)
        keep = max(0, min(len(msg.payload), self.snaplen - len(head)))
        if keep < len(msg.payload):
            comment += f" cut={keep}/{msg.msg_size} (Wireshark packet limit {self.snaplen})"
            self.cut += 1
        self._file.write(enhanced_packet(msg.ts_ns, head + msg.payload[:keep], original, comment))
        self.messages += 1

    def write_gap(self, gap: Gap) -> None:
        text = gap_text(gap)
        data = b"".join(
            (
                _tlv(TAG_DISSECTOR_NAME, _pad4(b"data-text-lines")),
                _tlv(TAG_COL_PROT_TEXT, _pad4(b"P2PCAP")),
                _tlv(TAG_END_OF_OPT, b""),
                text.encode() + b"\n",
            )
        )
        self._file.write(enhanced_packet(gap.ts_ns, data, len(data), text))
        self.gaps += 1
