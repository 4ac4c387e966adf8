"""The hostile captures of issue 22, one function each, built small.

Each returns the file's bytes.  Where the issue measured a case, the
docstring gives what it cost before the limits (``/usr/bin/time -v``);
``test_findings.py`` runs every reader command on each.
"""

from __future__ import annotations

import io
import json
import struct

from p2pcap.formats import CaptureWriter, Gap, Message
from p2pcap.formats.layout import TRAILER_LEN

from .craft import TS, Capture, body, command, compressed, message, peer

NETWORK = b'{"network":"regtest"}'


def legit(n: int = 40, metadata: dict | None = None, **peer) -> bytes:
    """A small capture the project's writer made: pings and pongs, a gap."""
    out = io.BytesIO()
    with CaptureWriter(out, metadata or {"network": "regtest"}, block_size=600) as w:
        for i in range(n):
            w.write(
                Message(
                    TS + i * 1_000_000,
                    peer.get("pid", 4242),
                    i % 3,
                    peer.get("addr", f"10.0.0.{i % 3}:19899"),
                    peer.get("conn_type", "inbound"),
                    ("in", "out")[i % 2],
                    peer.get("command", ("ping", "pong")[i % 2]),
                    8,
                    struct.pack("<Q", i),
                )
            )
        w.write(Gap(TS + n * 1_000_000, 4242, 1, 3, 300))
    return out.getvalue()


def without_footer(data: bytes) -> bytes:
    """A writer's file cut back to its last record block (footer and trailer gone)."""
    (offset,) = struct.unpack_from("<Q", data, len(data) - TRAILER_LEN)
    return data[:offset]


def footer_json(data: bytes) -> dict:
    from p2pcap.formats import CaptureReader

    return CaptureReader(io.BytesIO(data)).index.to_json()


def with_footer(data: bytes, text: bytes, *, blocks: int | None = None) -> bytes:
    """``data``'s blocks, then a footer holding ``text`` and its trailer."""
    base = without_footer(data)
    cap = Capture.__new__(Capture)
    cap.pieces, cap.index, cap.metadata = [base], [], b""
    n = len(footer_json(data)["blocks"]) if blocks is None else blocks
    return cap.footer(text, blocks=n).bytes()


def huge_footer() -> bytes:
    """A 6 KB footer that decompresses to 64 MiB of JSON objects: `stats` and
    `check` took 1.73 GB loading it on open."""
    index = footer_json(legit())
    head = json.dumps(index)[:-1].encode() + b',"pad":['
    pad = (64 << 20) - len(head) - 4  # MAX_BLOCK_BYTES: the most a block header may state
    return with_footer(legit(), head + b"{}," * (pad // 3) + b"{}" + b" " * (pad % 3) + b"]}")


def impossible_footer() -> bytes:
    """A footer that claims 4,000,000,000 messages and 100 TB for a file of a
    few KB: `stats` printed them without a word."""
    data = legit()
    index = footer_json(data)
    index["commands"]["ping"]["in"] = [4_000_000_000, 100 * 10**12, 100 * 10**12]
    return with_footer(data, json.dumps(index).encode())


def off_by_one_footer() -> bytes:
    """A footer whose counts could be true but are not: one ping more, and a
    peer-session the blocks never saw.  Only reading the blocks shows it."""
    data = legit()
    index = footer_json(data)
    index["commands"]["ping"]["in"][0] += 1
    index["blocks"][0]["records"] += 1
    index["peers"][0]["messages"][0] += 1
    index["peers"].append({**index["peers"][0], "peer_id": 99, "messages": [0, 0], "bytes": [0, 0]})
    return with_footer(data, json.dumps(index).encode())


def deep_footer() -> bytes:
    """A footer of 100,000 nested arrays (~300 bytes compressed): every
    command died with a RecursionError traceback."""
    return with_footer(legit(4), b"[" * 100_000 + b"]" * 100_000)


def deep_metadata() -> bytes:
    """Metadata nested 5,000 deep: every command, `check` too, died with a
    RecursionError traceback before reading a block."""
    return (
        Capture(b'{"a":' + b"[" * 5000 + b"]" * 5000 + b"}").bytes()
        + without_footer(legit(4))[len(Capture(b"{}").bytes()) :]
    )


def many_peer_sessions(blocks: int = 245, per_block: int = 64, addr_len: int = 64_000) -> bytes:
    """15,680 peer-sessions with 64,000-byte addresses in ~280 KB: `check`
    and `stats` took 1.07 GB, keeping every one in the index."""
    cap = Capture(NETWORK)
    for b in range(blocks):
        entries = [command(0, b"ping")]
        for i in range(per_block):
            addr = b"a" * (addr_len - 12) + b"%05d:%06d" % (b, i)
            entries.append(peer(i, pid=1000 + b, peer_id=i, addr=addr))
            entries.append(message(i, 0, bytes(8), ts=TS + b))
        cap.block(body(entries), ts=(TS + b, TS + b), level=1)
    return cap.bytes()


def many_short_sessions(blocks: int = 4, per_block: int = 65_000) -> bytes:
    """Peer-sessions that cost more in the index than on disk: 65,000 short
    definitions a block, distinct peer ids, one message each."""
    cap = Capture(NETWORK)
    for b in range(blocks):
        entries = [command(0, b"ping")]
        for i in range(per_block):
            entries.append(peer(i, pid=1000 + b, peer_id=i))
        entries.append(message(0, 0, bytes(8)))
        cap.block(body(entries), level=3)
    return cap.bytes()


def expanding_blocks(blocks: int = 460, raw: int = (64 << 20) - 100) -> bytes:
    """460 blocks of ~2 KB that each decompress to 64 MiB (one message of
    zeros): `check` took 24 s and `show` ~75 s (a limit per block, none per file)."""
    entries = [peer(0), command(0, b"blob")]
    overhead = sum(map(len, entries)) + 28
    b = body([*entries, message(0, 0, bytes(raw - overhead))])
    cap = Capture(NETWORK)
    for _ in range(blocks):
        cap.block(b)
    return cap.bytes()


def expanding_records(blocks: int = 40, records: int = 2_000_000) -> bytes:
    """Blocks of two million identical empty messages each (56 MB raw, ~5 KB
    compressed): each record costs a reader far more than its byte."""
    b = body([peer(0), command(0, b"verack"), *[message(0, 0)] * records])
    cap = Capture(NETWORK)
    for _ in range(blocks):
        cap.block(b)
    return cap.bytes()


# Strings that are not UTF-8: the bytes a node (or a forger) could put in
# the tracepoints' arguments, as the reader keeps them (surrogate escapes).
ODD_ADDR = b"10.0.0.7:\xff\xfe9999".decode("utf-8", "surrogateescape")
ODD_CONN = b"in\x80bound".decode("utf-8", "surrogateescape")
ODD_COMMAND = b"in\xc3v".decode("utf-8", "surrogateescape")
ODD_HOST = b"node-\xe9\xff".decode("utf-8", "surrogateescape")


def non_utf8_strings() -> bytes:
    """Peer address, connection type, command and metadata host that are not
    UTF-8: `repair` and `filter` died with UnicodeEncodeError writing the
    footer, and `repair` left a file without one behind."""
    return legit(
        12,
        {"network": "regtest", "host": ODD_HOST},
        addr=ODD_ADDR,
        conn_type=ODD_CONN,
        command=ODD_COMMAND,
    )


def qbsigs_flood(elements: int = 1_500_000) -> bytes:
    """Decoder-level (another part of issue 22): one `qbsigs` of 1,500,000
    two-byte batches (3 MB, inside Dash's 3 MiB message limit and the
    expansion budget's floor, so it reaches the decoder), in ~370 bytes.
    The issue's 3,000,000 took `show` 817 MB and 12.5 s.  Here because the
    command-level limit is this suite's."""
    # A CompactSize count, then `elements` 2-byte entries (zeros compress away).
    count = b"\xfe" + struct.pack("<I", elements)
    payload = count + bytes(2 * elements)
    cap = Capture(NETWORK)
    cap.block(body([peer(0), command(0, b"qbsigs"), message(0, 0, payload)]))
    return cap.bytes()


FINDINGS = {
    "huge_footer": huge_footer,
    "impossible_footer": impossible_footer,
    "off_by_one_footer": off_by_one_footer,
    "deep_footer": deep_footer,
    "deep_metadata": deep_metadata,
    "many_peer_sessions": many_peer_sessions,
    "many_short_sessions": many_short_sessions,
    "expanding_blocks": expanding_blocks,
    "expanding_records": expanding_records,
    "non_utf8_strings": non_utf8_strings,
    "qbsigs_flood": qbsigs_flood,
}


def compressed_size(raw: bytes) -> int:
    return len(compressed(raw))


def records_at_budget(size: int = 1_000_000, chunk: int = 64_000) -> bytes:
    """As many records as the budget lets a file of ``size`` bytes hold, all
    of the kind a reader spends most on per byte (empty `verack`s), beside
    random filler that makes up the size: the worst a file that size may
    cost per record."""
    import random

    from p2pcap.formats.limits import BYTES_PER_RECORD, RECORDS_FLOOR

    rng = random.Random(7)
    cap = Capture(NETWORK)
    first = True
    while cap.offset + chunk < size:
        n = chunk // BYTES_PER_RECORD - 2 + (RECORDS_FLOOR if first else 0)
        first = False
        entries = [peer(0), command(0, b"verack"), command(1, b"filler")]
        entries += [message(0, 0, ts=TS + i) for i in range(n)]
        entries.append(message(0, 1, rng.randbytes(chunk)))
        cap.block(body(entries))
    return cap.bytes()


def raw_at_budget(size: int = 1_000_000, chunk: int = 100_000) -> bytes:
    """As many decompressed bytes as the budget lets a file of ``size``
    bytes have, as `tx` messages of zero-value outputs (among the costliest
    payloads to decode per byte), beside random filler."""
    import random

    from p2pcap.formats.limits import RAW_FLOOR, RAW_PER_BYTE

    rng = random.Random(8)
    cap = Capture(NETWORK)
    first = True
    while cap.offset + chunk < size:
        room = RAW_PER_BYTE * (chunk + 200) - chunk - 200 + (RAW_FLOOR if first else 0)
        first = False
        outputs = min(room, 3_000_000) // 9
        tx = struct.pack("<I", 1) + b"\x01" + bytes(36) + b"\x00" + b"\xff" * 4
        tx += b"\xfe" + struct.pack("<I", outputs) + bytes(9 * outputs) + bytes(4)
        entries = [peer(0), command(0, b"tx"), command(1, b"filler"), message(0, 0, tx)]
        entries.append(message(0, 1, rng.randbytes(chunk)))
        cap.block(body(entries))
    return cap.bytes()


FINDINGS["records_at_budget"] = records_at_budget
FINDINGS["raw_at_budget"] = raw_at_budget


def decode_heavy_at_budget(size: int = 1_000_000, chunk: int = 100_000) -> bytes:
    """As many decompressed bytes as the budget allows, as `headers`
    messages of 2,000 identical headers each (the most a `headers` may
    hold, src/net_processing.cpp MAX_HEADERS_RESULTS): payloads that decode
    without error and cost the decoders the most per byte."""
    import random

    from p2pcap.formats.limits import RAW_FLOOR, RAW_PER_BYTE

    rng = random.Random(9)
    header = (
        struct.pack("<I", 0x20000000) + rng.randbytes(64) + struct.pack("<III", TS // 10**9, 0x207FFFFF, 7)
    )
    payload = b"\xfd" + struct.pack("<H", 2000) + (header + b"\x00") * 2000
    cap = Capture(NETWORK)
    first = True
    while cap.offset + chunk < size:
        room = RAW_PER_BYTE * (chunk + 200) - chunk + (RAW_FLOOR if first else 0)
        first = False
        n = max(1, room // (len(payload) + 28))
        entries = [peer(0), command(0, b"headers"), command(1, b"filler")]
        entries += [message(0, 0, payload)] * n
        entries.append(message(0, 1, rng.randbytes(chunk)))
        cap.block(body(entries))
    return cap.bytes()


FINDINGS["decode_heavy_at_budget"] = decode_heavy_at_budget
