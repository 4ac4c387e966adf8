"""headers and Dash's compressed headers2, from payloads assembled by hand.

Layouts: dashpay/dash src/primitives/block.h, block.cpp.  The mainnet genesis
header is from dashpay/dash src/chainparams.cpp:
CreateGenesisBlock(1390095618, 28917698, 0x1e0ffff0, 1, 50 * COIN), hash
00000ffd...07ab6, merkle root e0028eb9...a662c7.
"""

from __future__ import annotations

import struct

import dash_hash
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from p2pcap.decoders import build, decode
from p2pcap.decoders.decode import to_plain
from p2pcap.decoders.headers import BlockHeader

from .vectors import Table, decode_error, shown

GENESIS_HASH = "00000ffd590b1485b3caadc19b22e6379c733355108f107a430458cdf3407ab6"
GENESIS_MERKLE = "e0028eb9648db56b1ac77cf090b99048a8007e2bb64b68f092c03c7f56a662c7"
GENESIS = (
    "01000000"  # version: i32 1
    + "00" * 32  # prev_block: none
    + bytes.fromhex(GENESIS_MERKLE)[::-1].hex()  # merkle_root, wire order
    + "022ddb52"  # time: u32 1390095618
    + "f0ff0f1e"  # bits: u32 0x1e0ffff0
    + "c23fb901"  # nonce: u32 28917698
)
GENESIS_DECODED = {
    "version": 1,
    "prev_block": "00" * 32,
    "merkle_root": GENESIS_MERKLE,
    "time": 1390095618,
    "bits": 0x1E0FFFF0,
    "nonce": 28917698,
    "hash": GENESIS_HASH,
}


def header80(version, prev, merkle, time, bits, nonce) -> bytes:
    """The 80-byte header from display-order hashes (independent of the decoder)."""
    return struct.pack(
        "<i32s32sIII",
        version,
        bytes.fromhex(prev)[::-1],
        bytes.fromhex(merkle)[::-1],
        time,
        bits,
        nonce,
    )


def x11(raw: bytes) -> str:
    return shown(dash_hash.getPoWHash(raw))


def full(version, prev, merkle, time, bits, nonce) -> dict:
    return {
        "version": version,
        "prev_block": prev,
        "merkle_root": merkle,
        "time": time,
        "bits": bits,
        "nonce": nonce,
        "hash": x11(header80(version, prev, merkle, time, bits, nonce)),
    }


M2, M3, M4 = (bytes([b]) * 32 for b in (0x22, 0x33, 0x44))  # merkle roots, wire order

# headers: a second header on top of genesis
H2 = full(0x20000000, GENESIS_HASH, shown(M2), 1390095700, 0x1E0FFFF0, 7)
HEADERS = (
    "02"  # headers: CompactSize 2
    + GENESIS  # [0] the 80-byte header
    + "00"  # [0].tx_count: always 0 from Core
    + "00000020"  # [1].version: i32 0x20000000
    + bytes.fromhex(GENESIS_HASH)[::-1].hex()  # [1].prev_block: genesis
    + M2.hex()  # [1].merkle_root
    + "542ddb52"  # [1].time: 1390095700
    + "f0ff0f1e"  # [1].bits
    + "07000000"  # [1].nonce: 7
    + "00"  # [1].tx_count
)

# headers2: genesis sent whole, then three compressed headers
C1 = {**GENESIS_DECODED, "bit_field": 0x38, "time_offset": None}
C2 = {
    **full(1, GENESIS_HASH, shown(M2), 1390095618 + 150, 0x1E0FFFF0, 7),
    "bit_field": 0x01,
    "time_offset": 150,
}
C3 = {
    **full(0x20000000, C2["hash"], shown(M3), 1390095900, 0x1D00FFFF, 9),
    "bit_field": 0x30,
    "time_offset": None,
}
C4 = {
    **full(1, C3["hash"], shown(M4), 1390095900 - 5, 0x1D00FFFF, 10),
    "bit_field": 0x02,
    "time_offset": -5,
}
HEADERS2 = (
    "04"  # headers: CompactSize 4
    # [0] first header of a message: everything on the wire
    "38"  # bit_field: prev hash (0x08), time (0x10), bits (0x20); version sent (offset 0)
    + GENESIS  # version, prev_block, merkle_root, time, bits, nonce
    # [1] MRU back-reference 1 -> version 1; prev = X11(genesis); time offset; bits as before
    + "01"  # bit_field: version offset 1
    + M2.hex()  # merkle_root
    + "9600"  # time_offset: i16 150
    + "07000000"  # nonce
    # [2] a new version, full time and bits, prev hash still omitted
    + "30"  # bit_field: time (0x10), bits (0x20), version sent
    + "00000020"  # version: 0x20000000 (now MRU front: [0x20000000, 1])
    + M3.hex()  # merkle_root
    + "1c2edb52"  # time: u32 1390095900
    + "ffff001d"  # bits: 0x1d00ffff
    + "09000000"  # nonce
    # [3] back-reference 2 -> version 1; negative time offset
    + "02"  # bit_field: version offset 2
    + M4.hex()  # merkle_root
    + "fbff"  # time_offset: i16 -5
    + "0a000000"  # nonce
)


def mru_chain() -> tuple[str, list[dict]]:
    """Eight distinct versions push version 1 out of the 7-entry list."""
    payload, decoded = "0a" + "38" + GENESIS, [C1]  # headers: CompactSize 10
    prev = C1
    for version in range(2, 9):  # versions 2..8 sent in full, bits kept
        payload += "10" + struct.pack("<i", version).hex() + M2.hex() + "00000000" + "00000000"
        item = full(version, prev["hash"], shown(M2), 0, 0x1E0FFFF0, 0)
        decoded.append({**item, "bit_field": 0x10, "time_offset": None})
        prev = decoded[-1]
    # list is now [8, 7, 6, 5, 4, 3, 2]; offset 7 -> 2, then offset 7 -> 3
    for version in (2, 3):
        payload += "07" + M3.hex() + "0100" + "00000000"  # time_offset +1
        item = full(version, prev["hash"], shown(M3), prev["time"] + 1, 0x1E0FFFF0, 0)
        decoded.append({**item, "bit_field": 0x07, "time_offset": 1})
        prev = decoded[-1]
    return payload, decoded


MRU_PAYLOAD, MRU_DECODED = mru_chain()

CASES = [
    (
        "headers",
        HEADERS,
        {"headers": [{"header": GENESIS_DECODED, "tx_count": 0}, {"header": H2, "tx_count": 0}]},
    ),
    ("headers", "00", {"headers": []}),
    ("headers2", HEADERS2, {"headers": [C1, C2, C3, C4]}),
    ("headers2", MRU_PAYLOAD, {"headers": MRU_DECODED}),
    ("headers2", "00", {"headers": []}),
]

TABLE = Table(CASES)  # driven by test_tables.py
VECTORS = [(command, payload) for command, payload, _ in CASES]


def test_genesis_hash_is_x11():
    assert to_plain(BlockHeader.parse(bytes.fromhex(GENESIS))) == GENESIS_DECODED
    assert x11(bytes.fromhex(GENESIS)) == GENESIS_HASH


FIRST = "38" + GENESIS  # a valid first headers2 entry, 81 bytes
HDR = "(parsing) -> headers"
TXC = "(parsing) -> headers -> [0] -> tx_count"  # in entry 0


@pytest.mark.parametrize(
    "command, payload, reason, path, offset",
    [
        # Core ignores the tx count but still range-checks it (MAX_SIZE)
        ("headers", "01" + GENESIS + "fe01000002", "CompactSize 33554433 is above MAX_SIZE", TXC, 86),
        # non-canonical tx count
        ("headers", "01" + GENESIS + "fd0000", "non-canonical CompactSize 0", TXC, 84),
        (
            "headers",
            "ff0000000001000000",
            f"count {2**32} is above MAX_HEADERS_UNCOMPRESSED_RESULT (2000, src/validation.h)",
            HDR,
            9,
        ),
        (
            "headers2",
            "ff0000000001000000",
            f"count {2**32} is above MAX_HEADERS_COMPRESSED_RESULT (8000, src/validation.h)",
            HDR,
            9,
        ),
        ("headers2", "03" + FIRST, "count 3 needs at least 117 bytes, 81 left", HDR, 1),
        # the first header must not refer back: there is nothing before it
        (
            "headers2",
            "0100" + GENESIS,  # bit_field 0: reads 42 bytes as a compressed header
            "first header of the message is compressed (bit_field 0x00)",
            f"{HDR} -> [0]",
            44,
        ),
        # back-reference 2 with one version known
        (
            "headers2",
            "02" + FIRST + "02" + M2.hex() + "0000" + "00000000",
            "version back-reference 2 but only 1 known",
            f"{HDR} -> [1]",
            121,
        ),
        # second header cut inside its merkle root
        ("headers2", "02" + FIRST + "01" + M2.hex()[:40], None, f"{HDR} -> [1] -> merkle_root", 103),
    ],
)
def test_errors(command, payload, reason, path, offset):
    error = decode_error(command, payload)
    if reason is not None:
        assert error.reason == reason
    assert error.path == path
    assert error.offset == offset


# --- hypothesis: valid byte strings assembled from the layout ---------------

i32 = st.integers(-(2**31), 2**31 - 1)
u32 = st.integers(0, 2**32 - 1)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.binary(min_size=80, max_size=80), st.integers(0, 0xFFFF)), max_size=5))
def test_headers_round_trip(entries):
    raw = bytes([len(entries)])
    for header, tx_count in entries:
        count = bytes([tx_count]) if tx_count < 0xFD else b"\xfd" + tx_count.to_bytes(2, "little")
        raw += header + count
    decoded = decode("headers", raw)
    assert [h["header"]["hash"] for h in decoded["headers"]] == [x11(h) for h, _ in entries]
    assert build("headers", decoded) == raw


@st.composite
def headers2_payload(draw):
    count = draw(st.integers(0, 12))
    out, known = bytearray([count]), 0  # known = length of Core's version list
    for index in range(count):
        if index == 0:
            bit_field = 0x38 | (draw(st.integers(0, 3)) << 6)  # bits 6-7 are unused
        else:
            bit_field = draw(st.integers(0, 255)) & ~0x07
            if known and draw(st.booleans()):
                bit_field |= draw(st.integers(1, known))
        out.append(bit_field)
        if bit_field & 0x07 == 0:
            out += struct.pack("<i", draw(i32))
            known = min(known + 1, 7)
        if bit_field & 0x08:
            out += draw(st.binary(min_size=32, max_size=32))
        out += draw(st.binary(min_size=32, max_size=32))  # merkle_root
        if bit_field & 0x10:
            out += struct.pack("<I", draw(u32))
        else:
            out += struct.pack("<h", draw(st.integers(-(2**15), 2**15 - 1)))
        if bit_field & 0x20:
            out += struct.pack("<I", draw(u32))
        out += struct.pack("<I", draw(u32))  # nonce
    return bytes(out)


@settings(max_examples=150, deadline=None)
@given(headers2_payload())
def test_headers2_round_trip(raw):
    decoded = decode("headers2", raw)
    for before, after in zip(decoded["headers"], decoded["headers"][1:]):
        if not after["bit_field"] & 0x08:
            assert after["prev_block"] == before["hash"]
    assert build("headers2", decoded) == raw
