"""BIP37 bloom-filter and BIP157 compact-filter messages, from payloads
assembled by hand.

Layouts: dashpay/dash src/common/bloom.h CBloomFilter, src/blockfilter.h
BlockFilter, src/net_processing.cpp ProcessGetCFilters /
ProcessGetCFHeaders / ProcessGetCFCheckPt.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from p2pcap.decoders import build, decode

from .vectors import Table, compact, decode_error, shown

GENESIS = "00000ffd590b1485b3caadc19b22e6379c733355108f107a430458cdf3407ab6"
GENESIS_WIRE = bytes.fromhex(GENESIS)[::-1].hex()
A = bytes(range(32)).hex()  # wire bytes 00..1f
B = bytes(range(32, 64)).hex()


CASES = [
    (
        "filterload",
        "03"  # data: CompactSize 3
        "b50f01"  # filter bits
        "0b000000"  # hash_funcs: u32 11
        "44332211"  # tweak: u32 0x11223344
        "02",  # flags: BLOOM_UPDATE_P2PUBKEY_ONLY
        {
            "data": "b50f01",
            "hash_funcs": 11,
            "tweak": 0x11223344,
            "flags": 2,
            "flags_name": "BLOOM_UPDATE_P2PUBKEY_ONLY",
        },
    ),
    (
        "filterload",
        "00"  # data: empty
        "00000000"  # hash_funcs: 0
        "00000000"  # tweak: 0
        "07",  # flags: 7, no name
        {"data": "", "hash_funcs": 0, "tweak": 0, "flags": 7, "flags_name": None},
    ),
    (
        "filteradd",
        "14" + "ab" * 20,  # data: CompactSize 20 + a key hash
        {"data": "ab" * 20},
    ),
    ("filterclear", "", {}),
    (
        "getcfilters",
        "00"  # filter_type: BASIC
        "e8030000" + GENESIS_WIRE,  # start_height: u32 1000  # stop_hash
        {"filter_type": 0, "filter_type_name": "BASIC", "start_height": 1000, "stop_hash": GENESIS},
    ),
    (
        "getcfheaders",
        "01"  # filter_type: 1, unknown
        "00000000" + A,  # start_height: 0  # stop_hash
        {"filter_type": 1, "filter_type_name": None, "start_height": 0, "stop_hash": shown(A)},
    ),
    (
        "cfilter",
        "00"  # filter_type: BASIC
        + GENESIS_WIRE  # block_hash
        + "04"  # filter: CompactSize 4
        + "019dfca8",  # Golomb-coded set bytes (N=1 + data)
        {
            "filter_type": 0,
            "filter_type_name": "BASIC",
            "block_hash": GENESIS,
            "filter": "019dfca8",
        },
    ),
    (
        "cfheaders",
        "00"  # filter_type: BASIC
        + A  # stop_hash
        + "00" * 32  # prev_header: zero (start height 0)
        + "02"  # filter_hashes: CompactSize 2
        + A
        + B,
        {
            "filter_type": 0,
            "filter_type_name": "BASIC",
            "stop_hash": shown(A),
            "prev_header": "00" * 32,
            "filter_hashes": [shown(A), shown(B)],
        },
    ),
    (
        "getcfcheckpt",
        "00"  # filter_type: BASIC
        + B,  # stop_hash
        {"filter_type": 0, "filter_type_name": "BASIC", "stop_hash": shown(B)},
    ),
    (
        "cfcheckpt",
        "00"  # filter_type: BASIC
        + B  # stop_hash
        + "01"  # headers: CompactSize 1 (one per 1000 blocks)
        + A,
        {
            "filter_type": 0,
            "filter_type_name": "BASIC",
            "stop_hash": shown(B),
            "headers": [shown(A)],
        },
    ),
]

TABLE = Table(CASES)  # driven by test_tables.py
VECTORS = [(command, payload) for command, payload, _ in CASES]


@pytest.mark.parametrize(
    "command, payload, path, offset",
    [
        ("filterload", "050102", "(parsing) -> data", 1),  # 5 bytes announced, 2 left
        ("filterload", "000b00000000000000", "(parsing) -> flags", 9),  # flags missing
        ("filteradd", "fd0300010203", "(parsing) -> data", 3),  # non-canonical length
        ("getcfilters", "00e803", "(parsing) -> start_height", 3),
        ("cfheaders", "00" + A + "00" * 32 + "03" + A, "(parsing) -> filter_hashes", 66),
        ("cfcheckpt", "00" + B + "ff0000000001000000", "(parsing) -> headers", 42),  # 2^32
    ],
)
def test_errors(command, payload, path, offset):
    error = decode_error(command, payload)
    assert error.path == path
    assert error.offset == offset


def test_oversize_filter_is_not_a_layout_error():
    # MAX_BLOOM_FILTER_SIZE (36000) is a misbehaviour rule applied after parsing
    raw = bytes.fromhex("fdb18c" + "00" * 36017 + "320000000000000000")
    assert len(decode("filterload", raw)["data"]) == 2 * 36017


hash32 = st.binary(min_size=32, max_size=32)
COMMANDS = [
    "filterload",
    "filteradd",
    "getcfilters",
    "getcfheaders",
    "cfilter",
    "cfheaders",
    "getcfcheckpt",
    "cfcheckpt",
]


@st.composite
def payloads(draw):
    command = draw(st.sampled_from(COMMANDS))
    blob = draw(st.binary(max_size=300))
    hashes = draw(st.lists(hash32, max_size=20))
    head = draw(st.binary(min_size=1, max_size=1)) + draw(hash32)  # filter_type + a hash
    raw = {
        "filterload": compact(len(blob)) + blob + draw(st.binary(min_size=9, max_size=9)),
        "filteradd": compact(len(blob)) + blob,
        "getcfilters": head[:1] + draw(st.binary(min_size=4, max_size=4)) + head[1:],
        "getcfheaders": head[:1] + draw(st.binary(min_size=4, max_size=4)) + head[1:],
        "cfilter": head + compact(len(blob)) + blob,
        "cfheaders": head + draw(hash32) + compact(len(hashes)) + b"".join(hashes),
        "getcfcheckpt": head,
        "cfcheckpt": head + compact(len(hashes)) + b"".join(hashes),
    }[command]
    return command, raw


@settings(max_examples=200, deadline=None)
@given(payloads())
def test_round_trip(case):
    command, raw = case
    assert build(command, decode(command, raw)) == raw
