"""addr (v1 CAddress) and addrv2 (BIP155), from payloads assembled by hand.

Layouts: dashpay/dash src/protocol.h CAddress, src/netaddress.cpp; BIP155.  The Tor v3 and I2P
addresses are Bitcoin Core's src/test/net_tests.cpp vectors.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from p2pcap.decoders import DecodeError, build, decode

from .vectors import Table, compact

TORV3_KEY = "79bcc625184b05194975c28b66b66b0469f7f6556fb1ac3189a79b40dda32f1f"
TORV3_NAME = "pg6mmjiyjmcrsslvykfwnntlaru7p5svn6y2ymmju6nubxndf4pscryd.onion"
I2P_HASH = "a2894dabaec08c0051a481a6dac88b64f98232ae42d4b6fd2fa81952dfe36a87"
I2P_NAME = "ukeu3k5oycgaauneqgtnvselmt4yemvoilkln7jpvamvfx7dnkdq.b32.i2p"

ADDR = (
    "02"  # addr: CompactSize 2
    "00f15365"  # [0].time: u32 1700000000
    "050c000000000000"  # [0].services: u64 0x0c05
    "00000000000000000000ffff01020304"  # [0].ip: ::ffff:1.2.3.4
    "270f"  # [0].port: u16 BE 9999
    "01000000"  # [1].time: u32 1
    "0100000000000000"  # [1].services: u64 NODE_NETWORK
    "20010db8000000000000000000000001"  # [1].ip: 2001:db8::1
    "4e1f"  # [1].port: u16 BE 19999
)

ADDRV2 = (
    "08"  # addr: CompactSize 8
    # [0] IPv4
    "00f15365"  # time: u32 1700000000
    "fd050c"  # services: CompactSize 0x0c05
    "01"  # net: IPv4
    "04"  # addr length 4
    "01020304"  # 1.2.3.4
    "270f"  # port 9999
    # [1] IPv6
    "00f15365"  # time
    "01"  # services: NODE_NETWORK
    "02"  # net: IPv6
    "10"  # addr length 16
    "20010db8000000000000000000000001"  # 2001:db8::1
    "4e1f"  # port 19999
    # [2] Tor v2: retired, kept raw
    "00000000"  # time 0
    "00"  # services 0
    "03"  # net: Tor v2
    "0a"  # addr length 10
    "f1f2f3f4f5f6f7f8f9fa"  # raw
    "0000"  # port 0
    # [3] Tor v3
    "00f15365"  # time
    "ff0000000001000000"  # services: CompactSize 2^32 (9-byte form)
    "04"  # net: Tor v3
    "20" + TORV3_KEY + "270f"  # addr length 32: ed25519 public key  # port 9999
    # [4] I2P
    "00f15365"  # time
    "00"  # services 0
    "05"  # net: I2P
    "20"  # addr length 32: SHA256 of the destination
     + I2P_HASH + "0000"  # port 0 (I2P SAM 3.1 has no ports)
    # [5] CJDNS
    "00f15365"  # time
    "00"  # services
    "06"  # net: CJDNS
    "10"  # addr length 16
    "fc000001000200030004000500060007"  # fc00:1:2:3:4:5:6:7
    "270f"  # port
    # [6] unknown network id: kept as hex so it builds back
    "00f15365"  # time
    "00"  # services
    "aa"  # net: 0xaa (unknown)
    "02"  # addr length 2
    "0102"  # raw
    "0001"  # port 1
    # [7] Tor v2 with a length Core no longer checks
    "00f15365"  # time
    "00"  # services
    "03"  # net: Tor v2
    "07"  # addr length 7
    "00000000000000"  # raw
    "0001"  # port 1
)


def v2(time, services, net, name, addr, port):
    return {
        "time": time,
        "services": services,
        "net": net,
        "net_name": name,
        "addr": addr,
        "port": port,
    }


CASES = [
    (
        "addr",
        ADDR,
        {
            "addr": [
                {"time": 1700000000, "services": 0x0C05, "ip": "1.2.3.4", "port": 9999},
                {"time": 1, "services": 1, "ip": "2001:db8::1", "port": 19999},
            ]
        },
    ),
    ("addr", "00", {"addr": []}),  # empty vector
    (
        "addrv2",
        ADDRV2,
        {
            "addr": [
                v2(1700000000, 0x0C05, 1, "IPV4", "1.2.3.4", 9999),
                v2(1700000000, 1, 2, "IPV6", "2001:db8::1", 19999),
                v2(0, 0, 3, "TORV2", "f1f2f3f4f5f6f7f8f9fa", 0),
                v2(1700000000, 2**32, 4, "TORV3", TORV3_NAME, 9999),
                v2(1700000000, 0, 5, "I2P", I2P_NAME, 0),
                v2(1700000000, 0, 6, "CJDNS", "fc00:1:2:3:4:5:6:7", 9999),
                v2(1700000000, 0, 0xAA, None, "0102", 1),
                v2(1700000000, 0, 3, "TORV2", "00000000000000", 1),
            ]
        },
    ),
]

TABLE = Table(CASES)  # driven by test_tables.py
VECTORS = [(command, payload) for command, payload, _ in CASES]


ENTRY = "00f1536500"  # time, services: the start of every v2 entry below
BAD, LEN = "BIP155", "address with length"  # Core's message: "BIP155 IPv4 address with length ..."


@pytest.mark.parametrize(
    "payload, reason, offset",
    [
        # a known network with the wrong length fails the whole message
        # ("01" = one entry; ENTRY; net id; length; address; port)
        ("01" + ENTRY + "0105" + "00" * 5 + "0000", f"{BAD} IPV4 {LEN} 5 (should be 4)", 8),
        ("01" + ENTRY + "0204" + "00" * 4 + "0000", f"{BAD} IPV6 {LEN} 4 (should be 16)", 8),
        ("01" + ENTRY + "041f" + "00" * 31 + "0000", f"{BAD} TORV3 {LEN} 31 (should be 32)", 8),
        ("01" + ENTRY + "0521" + "00" * 33 + "0000", f"{BAD} I2P {LEN} 33 (should be 32)", 8),
        ("01" + ENTRY + "060f" + "00" * 15 + "0000", f"{BAD} CJDNS {LEN} 15 (should be 16)", 8),
        # MAX_ADDRV2_SIZE is 512, for any network id
        ("01" + ENTRY + "aafd0102" + "00" * 513 + "0000", "address too long: 513 > 512", 10),
        # Bitcoin's "extreme length" vector: CompactSize MAX_SIZE, no data
        ("01" + ENTRY + "aafe0000000201020304050607", "address too long: 33554432 > 512", 12),
    ],
)
def test_addrv2_errors(payload, reason, offset):
    with pytest.raises(DecodeError) as info:
        decode("addrv2", bytes.fromhex(payload))
    assert info.value.reason == reason
    assert info.value.path == "(parsing) -> addr -> [0] -> addr"  # entry 0
    assert info.value.offset == offset


def test_addr_count_beyond_payload_fails_fast():
    # two entries announced, one present: refused before parsing any entry
    with pytest.raises(DecodeError) as info:
        decode("addr", bytes.fromhex(ADDR[:2] + ADDR[2:62]))
    assert info.value.reason == "count 2 needs at least 60 bytes, 30 left"
    assert info.value.path == "(parsing) -> addr"
    assert info.value.offset == 1


def test_addr_count_2_pow_32_fails_fast():
    with pytest.raises(DecodeError) as info:
        decode("addr", bytes.fromhex("ff0000000001000000"))  # CompactSize 2^32
    assert "is above MAX_ADDR_TO_SEND" in info.value.reason
    assert info.value.offset == 9


def test_more_than_1000_entries_is_out_of_protocol():
    # net_processing.cpp: an addr of more than MAX_ADDR_TO_SEND entries is Misbehaving
    raw = bytes.fromhex("fde803" + ADDR[2:62] * 1000)  # CompactSize 1000
    assert len(decode("addr", raw)["addr"]) == 1000
    with pytest.raises(DecodeError, match="count 1001 is above MAX_ADDR_TO_SEND") as info:
        decode("addr", bytes.fromhex("fde903" + ADDR[2:62] * 1001))
    assert info.value.path == "(parsing) -> addr" and info.value.offset == 3


def test_bad_onion_checksum_refused_on_build():
    entry = v2(0, 0, 4, "TORV3", "a" + TORV3_NAME[1:], 0)
    with pytest.raises(DecodeError):
        build("addrv2", {"addr": [entry]})


# --- hypothesis: valid byte strings assembled from the layout ---------------

LENGTHS = {1: 4, 2: 16, 4: 32, 5: 32, 6: 16}


@st.composite
def addrv2_entry(draw):
    net = draw(st.one_of(st.sampled_from(sorted(LENGTHS)), st.integers(0, 255)))
    size = LENGTHS.get(net) or draw(st.integers(0, 40))
    return (
        draw(st.binary(min_size=4, max_size=4))  # time
        + compact(draw(st.integers(0, 2**64 - 1)))  # services
        + bytes([net])
        + compact(size)
        + draw(st.binary(min_size=size, max_size=size))
        + draw(st.binary(min_size=2, max_size=2))  # port
    )


@settings(max_examples=150, deadline=None)
@given(st.lists(addrv2_entry(), max_size=6))
def test_addrv2_round_trip(entries):
    raw = compact(len(entries)) + b"".join(entries)
    assert build("addrv2", decode("addrv2", raw)) == raw


@settings(max_examples=150, deadline=None)
@given(st.lists(st.binary(min_size=30, max_size=30), max_size=6))
def test_addr_round_trip(entries):
    raw = compact(len(entries)) + b"".join(entries)
    assert build("addr", decode("addr", raw)) == raw
