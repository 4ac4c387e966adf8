"""Hand-made conversations for the pairs and flow tests.

Payloads are assembled here with ``struct`` from the wire layouts (Dash Core
src/protocol.h CInv, src/primitives/block.h, src/primitives/transaction.h,
src/llmq/quorums.h CQuorumDataRequest, src/spork.h CSporkMessage,
src/blockencodings.h), independently of p2pcap's decoders; each builder
also returns the hash it names, in display order, computed here.
"""

from __future__ import annotations

import hashlib
import struct
from pathlib import Path

import dash_hash

from p2pcap.formats import CaptureWriter, Gap, Message

T0 = 1_700_000_000_000_000_000
MS = 1_000_000
PID = 4242
PEERS = {
    1: ("10.0.0.1:9999", "outbound-full-relay"),
    2: ("10.0.0.2:51000", "inbound"),
    3: ("10.0.0.3:9999", "manual"),
}
MSG_TX, MSG_BLOCK, MSG_CMPCT_BLOCK, MSG_DSTX = 1, 2, 20, 16


def cs(n: int) -> bytes:
    if n < 0xFD:
        return bytes([n])
    if n <= 0xFFFF:
        return b"\xfd" + struct.pack("<H", n)
    return b"\xfe" + struct.pack("<I", n)


def sha256d(b: bytes) -> bytes:
    return hashlib.sha256(hashlib.sha256(b).digest()).digest()


def shown(wire: bytes) -> str:
    """A hash in RPC display order (wire bytes reversed)."""
    return wire[::-1].hex()


def h(seed: int) -> bytes:
    return hashlib.sha256(b"conv" + seed.to_bytes(4, "little")).digest()


def nonce(n: int) -> bytes:
    return struct.pack("<Q", n)


def inv(*items) -> bytes:
    """inv/getdata/notfound: (type, wire hash) items."""
    return cs(len(items)) + b"".join(struct.pack("<I", t) + x for t, x in items)


def tx(seed: int) -> tuple[bytes, bytes]:
    """(payload, txid wire): one input, one output, empty scripts."""
    payload = (
        struct.pack("<i", 2)
        + cs(1)
        + h(seed)
        + struct.pack("<I", 0)
        + cs(0)
        + struct.pack("<I", 0xFFFFFFFF)
        + cs(1)
        + struct.pack("<q", 1000 + seed)
        + cs(0)
        + struct.pack("<I", 0)
    )
    return payload, sha256d(payload)


def header(prev: bytes, seed: int) -> tuple[bytes, bytes]:
    """(80-byte header, its X11 hash wire)."""
    raw = (
        struct.pack("<i", 0x20000000)
        + prev
        + h(seed)
        + struct.pack("<III", 1_700_000_000 + seed, 0x207FFFFF, seed)
    )
    return raw, dash_hash.getPoWHash(raw)


def block(prev: bytes, seed: int) -> tuple[bytes, bytes]:
    """(block payload with one tx, block hash wire)."""
    raw, block_hash = header(prev, seed)
    return raw + cs(1) + tx(seed)[0], block_hash


def getheaders(locator, stop: bytes = bytes(32)) -> bytes:
    return struct.pack("<I", 70238) + cs(len(locator)) + b"".join(locator) + stop


def headers(*raws) -> bytes:
    return cs(len(raws)) + b"".join(r + b"\x00" for r in raws)


def getblocktxn(block_hash: bytes, indexes=(0,)) -> bytes:
    diffs, last = [], -1
    for i in indexes:
        diffs.append(i - last - 1)
        last = i
    return block_hash + cs(len(diffs)) + b"".join(cs(d) for d in diffs)


def blocktxn(block_hash: bytes, *txs) -> bytes:
    return block_hash + cs(len(txs)) + b"".join(txs)


def getmnlistd(base: bytes, block_hash: bytes) -> bytes:
    return base + block_hash


def qrequest(llmq_type: int, quorum: bytes, mask: int, pro_tx: bytes, error: int | None = None) -> bytes:
    """CQuorumDataRequest; nError only when set (Core leaves UNDEFINED out)."""
    body = struct.pack("<B", llmq_type) + quorum + struct.pack("<H", mask) + pro_tx
    return body if error is None else body + bytes([error])


def spork(spork_id: int, value: int) -> bytes:
    return struct.pack("<iqq", spork_id, value, 1_700_000_000) + cs(65) + bytes(65)


def message(
    t_ms: float, direction: str, peer: int, command: str, payload: bytes = b"", pid: int = PID
) -> Message:
    addr, conn = PEERS.get(peer, (f"10.0.9.{peer}:9999", "inbound"))
    return Message(T0 + int(t_ms * MS), pid, peer, addr, conn, direction, command, len(payload), payload)


def write(path: Path, records, metadata=None) -> Path:
    """Records (Messages, Gaps) in time order into a capture."""
    with CaptureWriter(path, {"network": "regtest", "host": "conv.example", **(metadata or {})}) as w:
        for rec in sorted(records, key=lambda r: r.ts_ns):
            w.write(rec)
    return path


def gap(t_ms: float, lost: int) -> Gap:
    return Gap(T0 + int(t_ms * MS), PID, 1, lost, 100 * lost)
