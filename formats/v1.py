"""v1 (plaintext) P2P framing: network magics, the 24-byte header, checksums.

Our captures hold command + payload only (the tracepoints fire above the
transport); exporting to pcapng and replaying to a node put the header back.
Layout, from dashpay/dash src/protocol.h ``CMessageHeader``::

    offset size field
         0    4 magic (pchMessageStart, per network: NETWORK_MAGICS)
         4   12 command, ASCII, NUL-padded on the right
        16    4 payload length, u32 LE
        20    4 checksum: SHA256(SHA256(payload))[0:4]
        24    n payload

>>> frame_v1(network_magic("regtest"), "verack", b"").hex()
'fcc1b7dc76657261636b000000000000000000005df6e0e2'
"""

from __future__ import annotations

import struct

from p2pcap.errors import ArgumentError

from .errors import FormatError

HEADER_LEN = 24
COMMAND_LEN = 12
MAX_SIZE = 0x02000000  # serialize.h MAX_SIZE: no length above it is ever valid

# Wire order (dashpay/dash src/chainparams.cpp, pchMessageStart).
NETWORK_MAGICS = {
    "mainnet": bytes.fromhex("bf0c6bbd"),
    "testnet": bytes.fromhex("cee2caff"),
    "devnet": bytes.fromhex("e2caffce"),
    "regtest": bytes.fromhex("fcc1b7dc"),
}
DEFAULT_PORTS = {"mainnet": 9999, "testnet": 19999, "devnet": 19799, "regtest": 19899}
# Spellings other tools use for the same chains (Core's -chain= values).
_ALIASES = {"main": "mainnet", "test": "testnet", "testnet3": "testnet"}
NETWORKS = tuple(NETWORK_MAGICS)

_HEADER = struct.Struct("<4s12sI4s")


def canonical_network(name: str | None) -> str | None:
    """``"main"`` -> ``"mainnet"``; None for names we have no magic for."""
    if not name:
        return None
    name = _ALIASES.get(name.lower(), name.lower())
    if name.startswith("devnet"):  # devnet names vary; every devnet shares one magic
        return "devnet"
    return name if name in NETWORK_MAGICS else None


def network_magic(name: str) -> bytes:
    """The 4 magic bytes of a network, or P2pcapError naming the known ones."""
    canonical = canonical_network(name)
    if canonical is None:
        raise ArgumentError("network", f"expected one of {', '.join(NETWORKS)}", value=name)
    return NETWORK_MAGICS[canonical]


def checksum(payload: bytes) -> bytes:
    """SHA256d(payload)[0:4]; b'' gives 5d f6 e0 e2 (dashpay/dash src/net.cpp,
    ``V1TransportSerializer::prepareForTransport``)."""
    import hashlib  # not at import: OpenSSL's load is a share of a reader's start-up

    return hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4]


def encode_command(command: str, *, strict: bool = True) -> bytes:
    """12 bytes, NUL-padded.  What no node would accept (non-printable, too
    long: a record whose command the recorder could not read) raises
    P2pcapError; with ``strict=False`` (an export, which keeps what the node
    gave) it is the command's own bytes when they fit (at most 12, no NUL;
    bytes that were not UTF-8 are kept as the reader's surrogate escapes
    hold them), else '?' for each byte that is not printable, cut to 12.

    >>> encode_command(b"in\\xc3v".decode("utf-8", "surrogateescape"), strict=False)
    b'in\\xc3v\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00'
    """
    try:
        exact = command.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a lone surrogate that stands for no byte
        exact = None
    if exact is not None and len(exact) <= COMMAND_LEN and all(0x20 <= b <= 0x7E for b in exact):
        return exact.ljust(COMMAND_LEN, b"\0")
    if strict:
        raise FormatError(
            f"command {command!r} cannot be framed: at most {COMMAND_LEN} printable ASCII bytes"
        )
    if exact is not None and len(exact) <= COMMAND_LEN and b"\0" not in exact:
        return exact.ljust(COMMAND_LEN, b"\0")
    raw = command.encode("ascii", "replace")
    return bytes(b if 0x20 <= b <= 0x7E else 0x3F for b in raw[:COMMAND_LEN]).ljust(COMMAND_LEN, b"\0")


def header_v1(
    magic: bytes, command: str, msg_size: int, payload_checksum: bytes, *, strict: bool = True
) -> bytes:
    """The 24-byte header alone (``msg_size`` may exceed what a caller keeps)."""
    return _HEADER.pack(magic, encode_command(command, strict=strict), msg_size, payload_checksum)


def frame_v1(magic: bytes, command: str, payload: bytes) -> bytes:
    """Header + payload, as a node puts it on a v1 connection."""
    return header_v1(magic, command, len(payload), checksum(payload)) + payload


def parse_header_v1(header: bytes) -> tuple[bytes, str, int, bytes]:
    """(magic, command, length, checksum) of 24 header bytes; ValueError if
    the command field is not valid (dashpay/dash src/protocol.cpp
    ``IsCommandValid``)."""
    magic, raw, length, check = _HEADER.unpack(header)
    name, _, rest = raw.partition(b"\0")
    if rest.strip(b"\0") or not all(0x20 <= b <= 0x7E for b in name):
        raise ValueError(f"invalid command field {raw!r}")
    return magic, name.decode("ascii"), length, check
