"""version, verack, ping, pong and the send* messages, from payloads
assembled by hand.

Layouts: dashpay/dash src/net_processing.cpp, PushNodeVersion and the
VERSION handler, which reads every group after the first two addresses only
while bytes remain.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from p2pcap.decoders import DecodeError, build, decode

from .vectors import END_OF_STREAM, Table

UA = "/Dash Core:22.0.0/"  # 18 characters
CHALLENGE_WIRE = bytes(range(32)).hex()  # 00 01 .. 1f as sent
CHALLENGE = bytes(range(32))[::-1].hex()  # shown byte-reversed like any uint256

VERSION_HEAD = (
    "5e120100"  # version: i32 70238
    "050c000000000000"  # services: u64 0x0c05 (NETWORK|BLOOM|NETWORK_LIMITED|HEADERS_COMPRESSED)
    "00f1536500000000"  # time: i64 1700000000
    "050c000000000000"  # addr_to.services: u64 0x0c05
    "00000000000000000000ffffcb007105"  # addr_to.ip: ::ffff:203.0.113.5
    "270f"  # addr_to.port: u16 BE 9999
)
VERSION_FROM_NONCE = (
    "050c000000000000"  # addr_from.services: u64 0x0c05
    "00000000000000000000000000000000"  # addr_from.ip: [::] (Dash always sends zeros)
    "0000"  # addr_from.port: 0
    "efcdab8967452301"  # nonce: u64 0x0123456789abcdef
)
VERSION_UA_TO_RELAY = (
    "12"
    + UA.encode().hex()  # sub_ver: CompactSize 18 + UTF-8
    + "c0912100"  # starting_height: i32 2200000
    + "01"  # relay: true
)
VERSION_DASH_TAIL = (
    CHALLENGE_WIRE  # mnauth_challenge: 32 bytes
    + "00"  # masternode_connection: false
)
VERSION_FULL = VERSION_HEAD + VERSION_FROM_NONCE + VERSION_UA_TO_RELAY + VERSION_DASH_TAIL

ADDR_TO = {"services": 0x0C05, "ip": "203.0.113.5", "port": 9999}
ADDR_FROM = {"services": 0x0C05, "ip": "::", "port": 0}
VERSION_HEAD_DECODED = {
    "version": 70238,
    "services": 0x0C05,
    "time": 1700000000,
    "addr_to": ADDR_TO,
}
ABSENT = {
    "addr_from": None,
    "nonce": None,
    "sub_ver": None,
    "starting_height": None,
    "relay": None,
    "mnauth_challenge": None,
    "masternode_connection": None,
}

# (command, payload hex, expected)
CASES = [
    (
        "version",  # what a Dash node sends: every field, 137 bytes
        VERSION_FULL,
        {
            **VERSION_HEAD_DECODED,
            "addr_from": ADDR_FROM,
            "nonce": 0x0123456789ABCDEF,
            "sub_ver": UA,
            "starting_height": 2200000,
            "relay": 1,
            "mnauth_challenge": CHALLENGE,
            "masternode_connection": 0,
        },
    ),
    (
        "version",  # a Bitcoin-style peer (or Dash's Python test node): stops after relay
        VERSION_HEAD + VERSION_FROM_NONCE + VERSION_UA_TO_RELAY,
        {
            **VERSION_HEAD_DECODED,
            **ABSENT,
            "addr_from": ADDR_FROM,
            "nonce": 0x0123456789ABCDEF,
            "sub_ver": UA,
            "starting_height": 2200000,
            "relay": 1,
        },
    ),
    (
        "version",  # the minimum Core accepts: up to addr_to
        VERSION_HEAD,
        {**VERSION_HEAD_DECODED, **ABSENT},
    ),
    (
        "version",  # up to the nonce group, nothing more
        VERSION_HEAD + VERSION_FROM_NONCE,
        {**VERSION_HEAD_DECODED, **ABSENT, "addr_from": ADDR_FROM, "nonce": 0x0123456789ABCDEF},
    ),
    ("verack", "", {}),
    ("getaddr", "", {}),
    ("mempool", "", {}),
    ("sendheaders", "", {}),
    ("sendheaders2", "", {}),
    ("sendaddrv2", "", {}),
    ("ping", "0807060504030201", {"nonce": 0x0102030405060708}),  # nonce: u64
    ("pong", "0000000000000000", {"nonce": 0}),  # nonce 0 cancels the ping
    (
        "sendcmpct",
        "00"  # high_bandwidth: false
        "0100000000000000",  # version: u64 1 (Dash's only compact-block version)
        {"high_bandwidth": 0, "version": 1},
    ),
    (
        "feefilter",
        "e803000000000000",  # feerate: i64 1000 duffs/kB (Bitcoin captures only)
        {"feerate": 1000},
    ),
    (
        "sendtxrcncl",
        "01000000"  # version: u32 1
        "8877665544332211",  # salt: u64
        {"version": 1, "salt": 0x1122334455667788},
    ),
]


def trailing_reason(command, payload):
    """A short version reads the stray byte as the start of its next group:
    only a full one says "expected end of stream"."""
    return END_OF_STREAM if command != "version" or payload == VERSION_FULL else None


TABLE = Table(CASES, extra="ff", reason=trailing_reason)  # driven by test_tables.py
VECTORS = [(command, payload) for command, payload, _ in CASES]


def test_dash_version_is_137_bytes():
    # PushNodeVersion (src/net_processing.cpp): 85 + (1 + UA length) + 33 bytes
    assert len(bytes.fromhex(VERSION_FULL)) == 85 + 1 + len(UA) + 33 == 137


@pytest.mark.parametrize(
    "payload, path, offset",
    [
        # cut inside addr_to: the first four fields are mandatory
        (VERSION_HEAD[:80], "(parsing) -> addr_to -> ip", 40),
        # the nonce group starts but stops inside the sender's address
        (VERSION_HEAD + "050c0000", "(parsing) -> addr_from -> services", 50),
        # sender's address complete, nonce cut short (Core reads both)
        (VERSION_HEAD + VERSION_FROM_NONCE[:-4], "(parsing) -> nonce", 78),
        # user agent longer than MAX_SUBVERSION_LENGTH (fd 0101 = 257)
        (VERSION_HEAD + VERSION_FROM_NONCE + "fd0101" + "41" * 257, "(parsing) -> sub_ver", 83),
        # non-canonical user-agent length (fd 1200 for 18)
        (
            VERSION_HEAD + VERSION_FROM_NONCE + "fd1200" + UA.encode().hex(),
            "(parsing) -> sub_ver",
            83,
        ),
        # challenge cut after 31 bytes (a short read stops at the end)
        (
            VERSION_HEAD + VERSION_FROM_NONCE + VERSION_UA_TO_RELAY + CHALLENGE_WIRE[:-2],
            "(parsing) -> mnauth_challenge",
            135,
        ),
    ],
)
def test_version_errors(payload, path, offset):
    with pytest.raises(DecodeError) as info:
        decode("version", bytes.fromhex(payload))
    assert info.value.command == "version"
    assert info.value.path == path
    assert info.value.offset == offset


def test_ping_short():
    with pytest.raises(DecodeError) as info:
        decode("ping", bytes.fromhex("01020304"))
    assert info.value.path == "(parsing) -> nonce"
    assert info.value.offset == 4


u32 = st.integers(0, 2**32 - 1)
u64 = st.integers(0, 2**64 - 1)
i32 = st.integers(-(2**31), 2**31 - 1)
i64 = st.integers(-(2**63), 2**63 - 1)
address = st.fixed_dictionaries(
    {
        "services": u64,
        "ip": st.one_of(
            st.ip_addresses(v=4).map(str),
            st.ip_addresses(v=6).filter(lambda a: a.ipv4_mapped is None).map(str),
        ),
        "port": st.integers(0, 0xFFFF),
    }
)
# the optional tail, in wire order; a version message stops after any group
TAIL = [
    ("addr_from", address),
    ("sub_ver", st.text(max_size=40).filter(lambda s: len(s.encode()) <= 256)),
    ("starting_height", i32),
    ("relay", st.integers(0, 255)),
    ("mnauth_challenge", st.binary(min_size=32, max_size=32).map(bytes.hex)),
    ("masternode_connection", st.integers(0, 255)),
]


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_version_round_trip(data):
    obj = {
        "version": data.draw(i32),
        "services": data.draw(u64),
        "time": data.draw(i64),
        "addr_to": data.draw(address),
    }
    present = data.draw(st.integers(0, len(TAIL)))
    for index, (name, strategy) in enumerate(TAIL):
        obj[name] = data.draw(strategy) if index < present else None
        if name == "addr_from":
            obj["nonce"] = data.draw(u64) if index < present else None
    raw = build("version", obj)
    assert decode("version", raw) == obj
    assert build("version", decode("version", raw)) == raw


@settings(max_examples=100, deadline=None)
@given(
    command=st.sampled_from(["ping", "pong", "sendcmpct", "feefilter", "sendtxrcncl"]),
    payload=st.data(),
)
def test_fixed_size_round_trip(command, payload):
    size = {"ping": 8, "pong": 8, "sendcmpct": 9, "feefilter": 8, "sendtxrcncl": 12}[command]
    raw = payload.draw(st.binary(min_size=size, max_size=size))
    assert build(command, decode(command, raw)) == raw
