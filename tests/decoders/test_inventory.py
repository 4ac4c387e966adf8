"""inv, getdata, notfound and the locator requests (getblocks, getheaders,
getheaders2), from payloads assembled by hand.

Layouts: dashpay/dash src/protocol.h CInv and GetDataMsg;
src/primitives/block.h CBlockLocator.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from p2pcap.decoders import build, decode
from p2pcap.decoders.inventory import INV_TYPE_NAMES

from .vectors import Table, compact, decode_error, shown

GENESIS = "00000ffd590b1485b3caadc19b22e6379c733355108f107a430458cdf3407ab6"  # mainnet
GENESIS_WIRE = bytes.fromhex(GENESIS)[::-1].hex()
H1 = bytes(range(32)).hex()  # wire bytes 00..1f
H2 = bytes(range(32, 64)).hex()


def inv(number, name, wire_hash):
    return {"type": number, "type_name": name, "hash": shown(wire_hash)}


CASES = [
    (
        "inv",
        "07"  # inv: CompactSize 7
        "01000000"
        + H1  # MSG_TX
        + "02000000"
        + GENESIS_WIRE  # MSG_BLOCK
        + "1d000000"
        + H2  # 29 MSG_CLSIG
        + "1f000000"
        + H1  # 31 MSG_ISDLOCK
        + "20000000"
        + H2  # 32 MSG_DSQ
        + "11000000"
        + H1  # 17 MSG_GOVERNANCE_OBJECT
        + "63000000"
        + H2,  # 99: unknown, Core logs and skips it
        {
            "inv": [
                inv(1, "MSG_TX", H1),
                inv(2, "MSG_BLOCK", GENESIS_WIRE),
                inv(29, "MSG_CLSIG", H2),
                inv(31, "MSG_ISDLOCK", H1),
                inv(32, "MSG_DSQ", H2),
                inv(17, "MSG_GOVERNANCE_OBJECT", H1),
                inv(99, None, H2),
            ]
        },
    ),
    (
        "getdata",
        "03"  # inv: CompactSize 3
        "1c000000"
        + H1  # 28 MSG_QUORUM_RECOVERED_SIG
        + "14000000"
        + GENESIS_WIRE  # 20 MSG_CMPCT_BLOCK
        + "10000000"
        + H2,  # 16 MSG_DSTX
        {
            "inv": [
                inv(28, "MSG_QUORUM_RECOVERED_SIG", H1),
                inv(20, "MSG_CMPCT_BLOCK", GENESIS_WIRE),
                inv(16, "MSG_DSTX", H2),
            ]
        },
    ),
    ("notfound", "00", {"inv": []}),  # empty vector
    (
        "getheaders",
        "5e120100"  # locator.version: i32 70238 (the stream version Core writes)
        "02"  # locator.have: CompactSize 2
        + H1  # have[0]: newest
        + GENESIS_WIRE  # have[1]: genesis
        + "00" * 32,  # stop: zero = as many as allowed
        {
            "locator": {"version": 70238, "have": [shown(H1), GENESIS]},
            "stop": "00" * 32,
        },
    ),
    (
        "getblocks",
        "00000000"  # locator.version: 0 (as the Python test framework writes)
        "01" + GENESIS_WIRE + H2,  # locator.have: CompactSize 1  # stop
        {"locator": {"version": 0, "have": [GENESIS]}, "stop": shown(H2)},
    ),
    (
        "getheaders2",
        "5e120100"  # locator.version: 70238
        "00" + H1,  # locator.have: empty  # stop
        {"locator": {"version": 70238, "have": []}, "stop": shown(H1)},
    ),
]

TABLE = Table(CASES)  # driven by test_tables.py
VECTORS = [(command, payload) for command, payload, _ in CASES]


INV, HAVE = "(parsing) -> inv", "(parsing) -> locator -> have"


@pytest.mark.parametrize(
    "command, payload, reason, path, offset",
    [
        # non-canonical CompactSize: fd 0100 encodes 1, which fits one byte
        ("inv", "fd010001000000" + H1, "non-canonical CompactSize 1", INV, 3),
        # a count of 2^32 fails before anything is allocated
        ("inv", "ff0000000001000000", f"count {2**32} is above MAX_INV_SZ (50000, src/net.h)", INV, 9),
        # a count the remaining bytes cannot hold fails at once
        ("getdata", "0201000000" + H1, "count 2 needs at least 72 bytes, 36 left", INV, 1),
        # an entry cut inside its hash: 36-byte entries, so caught by the count
        ("notfound", "0101000000" + H1[:40], "count 1 needs at least 36 bytes, 24 left", INV, 1),
        # locator cut inside its hash list
        ("getheaders", "5e12010002" + H1, "count 2 needs at least 64 bytes, 32 left", HAVE, 5),
        # stop hash missing
        ("getblocks", "0000000000", None, "(parsing) -> stop", 5),
    ],
)
def test_errors(command, payload, reason, path, offset):
    error = decode_error(command, payload)
    if reason is not None:
        assert error.reason == reason
    assert error.path == path
    assert error.offset == offset


def test_every_live_dash_inventory_type_is_named():
    # dashpay/dash src/protocol.h GetDataMsg
    live = {
        0: "UNDEFINED", 1: "MSG_TX", 2: "MSG_BLOCK", 3: "MSG_FILTERED_BLOCK",
        6: "MSG_SPORK", 16: "MSG_DSTX", 17: "MSG_GOVERNANCE_OBJECT",
        18: "MSG_GOVERNANCE_OBJECT_VOTE", 20: "MSG_CMPCT_BLOCK",
        21: "MSG_QUORUM_FINAL_COMMITMENT", 23: "MSG_QUORUM_CONTRIB",
        24: "MSG_QUORUM_COMPLAINT", 25: "MSG_QUORUM_JUSTIFICATION",
        26: "MSG_QUORUM_PREMATURE_COMMITMENT", 28: "MSG_QUORUM_RECOVERED_SIG",
        29: "MSG_CLSIG", 31: "MSG_ISDLOCK", 32: "MSG_DSQ",
    }  # fmt: skip
    assert {k: INV_TYPE_NAMES[k] for k in live} == live


@settings(max_examples=150, deadline=None)
@given(
    command=st.sampled_from(["inv", "getdata", "notfound"]),
    entries=st.lists(st.binary(min_size=36, max_size=36), max_size=300),
)
def test_inv_round_trip(command, entries):
    raw = compact(len(entries)) + b"".join(entries)
    decoded = decode(command, raw)
    assert [e["type"] for e in decoded["inv"]] == [int.from_bytes(e[:4], "little") for e in entries]
    assert build(command, decoded) == raw


@settings(max_examples=150, deadline=None)
@given(
    command=st.sampled_from(["getblocks", "getheaders", "getheaders2"]),
    version=st.binary(min_size=4, max_size=4),
    have=st.lists(st.binary(min_size=32, max_size=32), max_size=120),
    stop=st.binary(min_size=32, max_size=32),
)
def test_locator_round_trip(command, version, have, stop):
    raw = version + compact(len(have)) + b"".join(have) + stop
    assert build(command, decode(command, raw)) == raw
