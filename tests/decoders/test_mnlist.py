"""Masternode-list sync messages (decoders/mnlist.py).

Payloads are assembled by hand from Dash Core's src/evo/smldiff.h,
src/evo/simplifiedmns.h, src/evo/netinfo.h and src/llmq/snapshot.h, field
by field.  ``mnlistdiff`` is checked at every
protocol version that changes its layout.

``large_mnlistdiff_payload(n)`` builds a realistic big diff for the
benchmark.
"""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from p2pcap.decoders import DecodeError, build, decode

from .vectors import VERSIONED, Table, assert_subset, compact

NEWEST = 70238

BASE_HASH = "00" + "d1" * 30 + "ff"  # wire order
BASE_HASH_DISPLAY = "ff" + "d1" * 30 + "00"
BLOCK_HASH = "d2" * 32

# The coinbase: a DIP2 special transaction of type 5 with a CCbTx v3 payload.
CBTX = (
    "0300"
    + "0500"  # nVersion 3, nType 5 (TRANSACTION_COINBASE)
    + "01"  # vin: 1
    + "00" * 32
    + "ffffffff"  # null prevout
    + "02"
    + "5101"  # scriptSig, 2 bytes
    + "ffffffff"  # nSequence
    + "01"  # vout: 1
    + "00e1f50500000000"  # 100000000 duffs
    + "19"
    + "76a914"
    + "33" * 20
    + "88ac"  # P2PKH scriptPubKey
    + "00000000"  # nLockTime
    + "af"  # vExtraPayload: 175 bytes
    + "0300"  # CCbTx nVersion 3
    + "e8030000"  # nHeight 1000
    + "44" * 32  # merkleRootMNList
    + "55" * 32  # merkleRootQuorums
    + "00"  # bestCLHeightDiff 0
    + "66" * 96  # bestCLSignature
    + "00e40b5402000000"  # creditPoolBalance 10000000000
)

# CPartialMerkleTree of a block holding only the coinbase
MERKLE_TREE = (
    "01000000"  # nTransactions 1
    + "01"
    + "77" * 32  # vHash: 1 hash
    + "01"
    + "01"  # vBits: 1 byte, bit 0 set
)

LEGACY_SERVICE = "00000000000000000000ffff" + "c0a80001" + "270f"  # 192.168.0.1:9999, port BE


def sml_entry(proto: int, version: int, mn_type: int = 0) -> str:
    """One CSimplifiedMNListEntry as src/evo/simplifiedmns.h lays it out at ``proto``."""
    h = ""
    if proto >= 70228:
        h += f"{version:02x}00"  # nVersion (u16), on the wire from 70228
    h += "a1" * 32  # proRegTxHash
    h += "a2" * 32  # confirmedHash
    if proto >= 70228 and version >= 3:
        h += (
            "01"  # ExtNetInfo version 1
            + "01"  # map: 1 purpose
            + "00"  # purpose CORE_P2P
            + "01"  # 1 entry
            + "01"  # NetInfoEntry type Service
            + "01"
            + "04"
            + "01020304"  # ADDRv2: network IPv4, 4 bytes
            + "270f"  # port 9999, BE
        )
    else:
        h += LEGACY_SERVICE  # netInfo as a legacy CService
    h += "b1" * 48  # pubKeyOperator
    h += "b2" * 20  # keyIDVoting
    h += "01"  # isValid
    if proto >= 70228 and version >= 2:
        h += f"{mn_type:02x}00"  # nType
        if mn_type == 1:
            h += "bb01"  # platformHTTPPort 443, LE
            h += "c1" * 20  # platformNodeID
    return h


COMMITMENT = (
    "0400"  # nVersion 4 (basic BLS, indexed)
    + "67"  # llmqType 103
    + "f2" * 32  # quorumHash
    + "0100"  # quorumIndex 1
    + "04"
    + "0f"  # signers: 4 bits set
    + "04"
    + "0f"  # validMembers: 4 bits set
    + "f3" * 48  # quorumPublicKey
    + "f4" * 32  # quorumVvecHash
    + "f5" * 96  # quorumSig
    + "f6" * 96  # membersSig
)


def mnlistdiff_hex(proto: int) -> str:
    """A diff with 3-4 entries, one deleted MN and quorum, one new quorum."""
    entries = [sml_entry(proto, 1), sml_entry(proto, 2, 0), sml_entry(proto, 2, 1)]
    if proto >= 70228:
        entries.append(sml_entry(proto, 3, 0))
    h = ""
    if proto >= 70229:
        h += "0100"  # nVersion 1, first from MNLISTDIFF_VERSION_ORDER
    h += BASE_HASH  # baseBlockHash
    h += BLOCK_HASH  # blockHash
    h += MERKLE_TREE  # cbTxMerkleTree
    h += CBTX  # cbTx
    if 70225 <= proto < 70229:
        h += "0100"  # nVersion 1, old position
    h += "01" + "e1" * 32  # deletedMNs: 1
    h += f"{len(entries):02x}" + "".join(entries)  # mnList
    h += "01" + "64" + "f1" * 32  # deletedQuorums: (llmq_test, hash)
    h += "01" + COMMITMENT  # newQuorums: 1
    if proto >= 70230:
        h += "01"  # quorumsCLSigs: 1 signature
        h += "f7" * 96  # ChainLock signature
        h += "01" + "0000"  # set<u16>: index 0
    return h


def empty_diff_hex(proto: int) -> str:
    """The smallest diff: a coinbase-only block and no changes."""
    h = "0100" if proto >= 70229 else ""
    h += "00" * 32 + BLOCK_HASH + MERKLE_TREE + CBTX
    h += "0100" if 70225 <= proto < 70229 else ""
    h += "00" + "00" + "00" + "00"  # deletedMNs, mnList, deletedQuorums, newQuorums
    h += "00" if proto >= 70230 else ""  # quorumsCLSigs
    return h


SNAPSHOT_A = (
    "00000000"  # mnSkipListMode 0 (no skipping)
    + "04"
    + "0f"  # activeQuorumMembers: 4 bits, all set
    + "00"  # mnSkipList: empty
)
SNAPSHOT_B = (
    "01000000"  # mnSkipListMode 1 (skipping entries)
    + "0a"
    + "0502"  # activeQuorumMembers: 10 bits; 0, 2, 9
    + "02"
    + "01000000"
    + "fdffffff"  # mnSkipList: [1, -3]
)


def qrinfo_hex(proto: int, extra_share: bool) -> str:
    h = SNAPSHOT_A + SNAPSHOT_B + SNAPSHOT_A  # quorumSnapshotAtHMinusC, 2C, 3C
    h += mnlistdiff_hex(proto)  # mnListDiffTip
    h += empty_diff_hex(proto) * 4  # mnListDiffH, AtHMinusC, 2C, 3C
    h += "01" if extra_share else "00"  # extraShare
    if extra_share:
        h += SNAPSHOT_B  # quorumSnapshotAtHMinus4C
        h += empty_diff_hex(proto)  # mnListDiffAtHMinus4C
    h += "01" + COMMITMENT  # lastCommitmentPerIndex
    h += "01" + SNAPSHOT_A  # quorumSnapshotList
    h += "01" + empty_diff_hex(proto)  # mnListDiffList
    return h


GETMNLISTD = BASE_HASH + BLOCK_HASH  # baseBlockHash, blockHash

GETQRINFO = (
    "02"  # baseBlockHashes: 2
    + BASE_HASH
    + "d3" * 32
    + BLOCK_HASH  # blockRequestHash
    + "01"  # extraShare
)

CB_TX_EXPECTED = {
    "version": 3,
    "type": 5,
    "lock_time": 0,
    "extra_payload": {"version": 3, "height": 1000, "credit_pool_balance": 10_000_000_000},
    "extra_payload_error": None,
}

ENTRY_V1 = {
    "version": 1,
    "pro_reg_tx_hash": "a1" * 32,
    "net_info": {"ip": "192.168.0.1", "port": 9999},
    "pub_key_operator": "b1" * 48,
    "key_id_voting": "b2" * 20,
    "is_valid": 1,
    "type": None,
    "platform_http_port": None,
}
ENTRY_EVO = {"version": 2, "type": 1, "platform_http_port": 443, "platform_node_id": "c1" * 20}
ENTRY_EXT = {
    "version": 3,
    "net_info": {
        "version": 1,
        "entries": [
            {
                "purpose": 0,
                "entries": [
                    {"type": 1, "service": {"network": 1, "addr": "1.2.3.4", "port": 9999}, "domain": None}
                ],
            }
        ],
    },
    "type": 0,
}
DELETED_QUORUMS = [{"llmq_type": 100, "llmq_type_name": "llmq_test", "quorum_hash": "f1" * 32}]


def _diff_expected(proto: int) -> dict:
    old_entry = {**ENTRY_V1}
    if proto >= 70228:
        mn_list = [ENTRY_V1, {"version": 2, "type": 0, "platform_http_port": None}, ENTRY_EVO, ENTRY_EXT]
    else:
        # no entry version on the wire: each entry has the diff's nVersion
        # (1 here; LegacyBLS below 70225)
        mn_list = [old_entry, old_entry, {**old_entry, "platform_node_id": None}]
    return {
        "version": None if proto < 70225 else 1,
        "base_block_hash": BASE_HASH_DISPLAY,
        "block_hash": BLOCK_HASH,
        # vBits byte 0x01: bit 0 set, then 7 clear (least significant first)
        "cb_tx_merkle_tree": {"transactions": 1, "hash": ["77" * 32], "bits": "10000000"},
        "cb_tx": CB_TX_EXPECTED,
        "deleted_mns": ["e1" * 32],
        "mn_list": mn_list,
        "deleted_quorums": DELETED_QUORUMS,
        "new_quorums": [
            {
                "version": 4,
                "llmq_type": 103,
                "llmq_type_name": "llmq_test_dip0024",
                "quorum_index": 1,
                "signers": "1111",
            }
        ],
        "quorums_cl_sigs": [{"signature": "f7" * 96, "indexes": [0]}] if proto >= 70230 else None,
    }


SNAPSHOT_A_EXPECTED = {"mn_skip_list_mode": 0, "active_quorum_members": "1111", "mn_skip_list": []}
SNAPSHOT_B_EXPECTED = {"mn_skip_list_mode": 1, "active_quorum_members": "1010000001", "mn_skip_list": [1, -3]}


def _qrinfo_expected(proto: int, extra: bool) -> dict:
    return {
        "quorum_snapshot_at_h_minus_c": SNAPSHOT_A_EXPECTED,
        "quorum_snapshot_at_h_minus_2c": SNAPSHOT_B_EXPECTED,
        "mn_list_diff_tip": _diff_expected(proto),
        "mn_list_diff_at_h_minus_3c": {"mn_list": [], "base_block_hash": "00" * 32},
        "extra_share": int(extra),
        "quorum_snapshot_at_h_minus_4c": SNAPSHOT_B_EXPECTED if extra else None,
        "mn_list_diff_at_h_minus_4c": {"mn_list": []} if extra else None,
        "last_commitment_per_index": [
            {"version": 4, "llmq_type_name": "llmq_test_dip0024", "quorum_hash": "f2" * 32}
        ],
        "quorum_snapshot_list": [SNAPSHOT_A_EXPECTED],
        "mn_list_diff_list": [{"deleted_mns": []}],
    }


PROTOCOLS = [70218, 70224, 70225, 70226, 70227, 70228, 70229, 70230, NEWEST]

# (command, protocol version, payload hex, expected subset)
CASES = [("getmnlistd", NEWEST, GETMNLISTD, {"base_block_hash": BASE_HASH_DISPLAY, "block_hash": BLOCK_HASH})]
CASES += [("mnlistdiff", v, mnlistdiff_hex(v), _diff_expected(v)) for v in PROTOCOLS]
CASES += [("mnlistdiff", NEWEST, empty_diff_hex(NEWEST), {"mn_list": [], "quorums_cl_sigs": []})]
CASES += [
    (
        "getqrinfo",
        NEWEST,
        GETQRINFO,
        {
            "base_block_hashes": [BASE_HASH_DISPLAY, "d3" * 32],
            "block_request_hash": BLOCK_HASH,
            "extra_share": 1,
        },
    ),
    ("qrinfo", NEWEST, qrinfo_hex(NEWEST, False), _qrinfo_expected(NEWEST, False)),
    ("qrinfo", NEWEST, qrinfo_hex(NEWEST, True), _qrinfo_expected(NEWEST, True)),
    ("qrinfo", 70228, qrinfo_hex(70228, True), _qrinfo_expected(70228, True)),
    ("qrinfo", 70230, qrinfo_hex(70230, False), _qrinfo_expected(70230, False)),
]

# Known-good payloads at the default (newest) protocol version, for the
# decoder-wide fuzz test.
VECTORS = [(command, payload) for command, version, payload, _ in CASES if version == NEWEST]


# driven by test_tables.py: the rows list some fields
TABLE = Table(CASES, fields=VERSIONED, match=assert_subset)


def test_entry_sizes():
    # src/evo/simplifiedmns.h: 153 (v1) / 155 (v2 regular) / 177 (v2 evo) bytes from 70228,
    # 151 bytes before it
    assert [len(sml_entry(NEWEST, v, t)) // 2 for v, t in ((1, 0), (2, 0), (2, 1))] == [153, 155, 177]
    assert len(sml_entry(70227, 2, 1)) // 2 == 151


def test_wrong_version_misreads():
    # the version-dependent layouts really differ: a 70228 diff is not a 70230 one
    with pytest.raises(DecodeError):
        decode("mnlistdiff", bytes.fromhex(mnlistdiff_hex(70228)), version=70230)


def test_cb_tx_has_txid():
    decoded = decode("mnlistdiff", bytes.fromhex(mnlistdiff_hex(NEWEST)))
    assert len(decoded["cb_tx"]["txid"]) == 64


def test_truncated_entry_says_where():
    raw = bytes.fromhex(mnlistdiff_hex(NEWEST))
    # inside the last entry's pubKeyOperator (a cut in an earlier entry is
    # caught sooner, by the count check on the bytes left)
    cut = raw.rindex(bytes.fromhex("b1" * 48)) + 10
    with pytest.raises(DecodeError) as info:
        decode("mnlistdiff", raw[:cut])
    assert "mn_list" in info.value.path and "pub_key_operator" in info.value.path
    assert info.value.offset == cut


def test_snapshot_pad_bits_rejected():
    bad = SNAPSHOT_A.replace("04" + "0f", "04" + "1f", 1)  # bit 4 of a 4-bit set
    payload = qrinfo_hex(NEWEST, False).replace(SNAPSHOT_A, bad, 1)
    with pytest.raises(DecodeError) as info:
        decode("qrinfo", bytes.fromhex(payload))
    assert "active_quorum_members" in info.value.path


def test_hostile_entry_count_fails_fast():
    raw = bytes.fromhex(mnlistdiff_hex(NEWEST))
    head = raw.index(bytes.fromhex("01" + "e1" * 32)) + 33  # the mnList count follows deletedMNs
    hostile = raw[:head] + bytes.fromhex("fe00000001") + raw[head + 1 :]  # 16M entries
    start = time.perf_counter()
    with pytest.raises(DecodeError) as info:
        decode("mnlistdiff", hostile)
    assert time.perf_counter() - start < 0.1
    assert "mn_list" in info.value.path


def large_mnlistdiff_payload(n_entries: int = 3000, n_quorums: int = 24) -> bytes:
    """A mainnet-like mnlistdiff at the newest protocol version, as bytes.

    ``n_entries`` SML entries (a mix of v1, v2 regular and v2 evonodes, as
    on mainnet), ``n_quorums`` 400-member commitments and one ChainLock
    signature covering them.  Assembled from the byte layout, not by the
    decoder's builder.
    """
    kinds = [(1, 0), (2, 0), (2, 0), (2, 1)]
    entries = []
    for i in range(n_entries):
        version, mn_type = kinds[i % len(kinds)]
        entry = bytearray(bytes.fromhex(sml_entry(NEWEST, version, mn_type)))
        entry[2:6] = i.to_bytes(4, "little")  # distinct proRegTxHash
        entries.append(bytes(entry))
    signers = (400).to_bytes(2, "little")  # CompactSize 400 = fd 90 01
    bitset = b"\xfd" + signers + b"\xff" * 50  # 400 bits, all set
    commitment = (
        bytes.fromhex("0300" + "02")  # nVersion 3, llmqType 2 (llmq_400_60)
        + bytes(32)  # quorumHash
        + bitset  # signers
        + bitset  # validMembers
        + bytes(48 + 32 + 96 + 96)  # key, vvec hash, two signatures
    )

    return b"".join(
        [
            bytes.fromhex("0100"),  # nVersion
            bytes.fromhex(BASE_HASH + BLOCK_HASH + MERKLE_TREE + CBTX),
            compact(3) + bytes.fromhex("e1" * 96),  # deletedMNs
            compact(n_entries) + b"".join(entries),  # mnList
            compact(2) + bytes.fromhex(("02" + "f1" * 32) * 2),  # deletedQuorums
            compact(n_quorums) + commitment * n_quorums,  # newQuorums
            compact(1)
            + bytes(96)
            + compact(n_quorums)  # quorumsCLSigs: one sig ...
            + b"".join(i.to_bytes(2, "little") for i in range(n_quorums)),  # ... all indexes
        ]
    )


def test_large_mnlistdiff():
    raw = large_mnlistdiff_payload(300, 4)
    decoded = decode("mnlistdiff", raw)
    assert len(decoded["mn_list"]) == 300
    assert decoded["mn_list"][3]["platform_http_port"] == 443
    assert decoded["new_quorums"][0]["signers"] == "1" * 400
    assert decoded["quorums_cl_sigs"][0]["indexes"] == [0, 1, 2, 3]
    assert build("mnlistdiff", decoded) == raw


# --- hypothesis: build a random message, decode it, build it again --------------


def _hex(n):
    return st.binary(min_size=n, max_size=n).map(bytes.hex)


# The coinbase is not this module's subject: reuse the decoded example.
_CB_TX = decode("mnlistdiff", bytes.fromhex(empty_diff_hex(NEWEST)))["cb_tx"]

_legacy_service = st.fixed_dictionaries({"ip": st.ip_addresses(v=4).map(str), "port": st.integers(0, 0xFFFF)})
_ext_net_info = st.fixed_dictionaries(
    {
        "version": st.just(1),
        "entries": st.lists(
            st.fixed_dictionaries(
                {
                    "purpose": st.integers(0, 2),
                    "entries": st.lists(
                        st.one_of(
                            st.fixed_dictionaries(
                                {
                                    "type": st.just(1),
                                    "service": st.fixed_dictionaries(
                                        {
                                            "network": st.just(1),
                                            "addr": st.ip_addresses(v=4).map(str),
                                            "port": st.integers(0, 0xFFFF),
                                        }
                                    ),
                                    "domain": st.none(),
                                }
                            ),
                            st.fixed_dictionaries(  # v23's Domain entries (netinfo.h DomainPort)
                                {
                                    "type": st.just(2),
                                    "service": st.none(),
                                    "domain": st.fixed_dictionaries(
                                        {
                                            "addr": st.from_regex(r"[a-z]{1,20}\.org", fullmatch=True),
                                            "port": st.integers(0, 0xFFFF),
                                        }
                                    ),
                                }
                            ),
                        ),
                        min_size=1,
                        max_size=2,
                    ),
                }
            ),
            max_size=2,
        ),
    }
)


@st.composite
def _entry(draw, proto, diff_version):
    if proto >= 70228:
        version = draw(st.integers(1, 3))
    else:
        # no version on the wire: the diff's (70225..70227) or LegacyBLS
        version = 1 if diff_version is None else diff_version
    has_type = (proto >= 70228 and version >= 2) or (proto == 70227 and version == 2)
    mn_type = draw(st.integers(0, 1)) if has_type else None
    return {
        "version": version,
        "pro_reg_tx_hash": draw(_hex(32)),
        "confirmed_hash": draw(_hex(32)),
        "net_info": draw(_ext_net_info if proto >= 70228 and version >= 3 else _legacy_service),
        "pub_key_operator": draw(_hex(48)),
        "key_id_voting": draw(_hex(20)),
        "is_valid": draw(st.integers(0, 1)),
        "type": mn_type,
        "platform_http_port": draw(st.integers(0, 0xFFFF)) if mn_type == 1 else None,
        "platform_node_id": draw(_hex(20)) if mn_type == 1 else None,
    }


@st.composite
def _commitment(draw):
    version = draw(st.integers(1, 4))
    return {
        "version": version,
        "llmq_type": draw(st.integers(0, 255)),
        "quorum_hash": draw(_hex(32)),
        "quorum_index": draw(st.integers(0, 31)) if version in (2, 4) else None,
        "signers": draw(st.text("01", max_size=20)),
        "valid_members": draw(st.text("01", max_size=20)),
        "quorum_public_key": draw(_hex(48)),
        "quorum_vvec_hash": draw(_hex(32)),
        "quorum_sig": draw(_hex(96)),
        "members_sig": draw(_hex(96)),
    }


@st.composite
def _diff(draw, proto):
    if proto < 70225:
        version = None
    else:
        version = draw(st.one_of(st.integers(1, 2), st.integers(0, 0xFFFF)))
    return {
        "version": version,
        "base_block_hash": draw(_hex(32)),
        "block_hash": draw(_hex(32)),
        "cb_tx_merkle_tree": {
            "transactions": draw(st.integers(0, 0xFFFFFFFF)),
            "hash": draw(st.lists(_hex(32), max_size=2)),
            # vBits: whole bytes, each shown as its 8 bits, least significant first
            "bits": "".join(format(b, "08b")[::-1] for b in draw(st.binary(max_size=2))),
        },
        "cb_tx": _CB_TX,
        "deleted_mns": draw(st.lists(_hex(32), max_size=2)),
        "mn_list": draw(st.lists(_entry(proto, version), max_size=3)),
        "deleted_quorums": draw(
            st.lists(
                st.fixed_dictionaries({"llmq_type": st.integers(0, 255), "quorum_hash": _hex(32)}), max_size=2
            )
        ),
        "new_quorums": draw(st.lists(_commitment(), max_size=2)),
        "quorums_cl_sigs": draw(
            st.lists(
                st.fixed_dictionaries(
                    {"signature": _hex(96), "indexes": st.lists(st.integers(0, 0xFFFF), max_size=3)}
                ),
                max_size=2,
            )
        )
        if proto >= 70230
        else None,
    }


_snapshot = st.fixed_dictionaries(
    {
        "mn_skip_list_mode": st.integers(0, 3),
        "active_quorum_members": st.text("01", max_size=20),
        "mn_skip_list": st.lists(st.integers(-(2**31), 2**31 - 1), max_size=3),
    }
)


@st.composite
def _qrinfo(draw, proto):
    extra = draw(st.booleans())
    empty = _diff(proto)
    return {
        "quorum_snapshot_at_h_minus_c": draw(_snapshot),
        "quorum_snapshot_at_h_minus_2c": draw(_snapshot),
        "quorum_snapshot_at_h_minus_3c": draw(_snapshot),
        "mn_list_diff_tip": draw(empty),
        "mn_list_diff_h": draw(empty),
        "mn_list_diff_at_h_minus_c": draw(empty),
        "mn_list_diff_at_h_minus_2c": draw(empty),
        "mn_list_diff_at_h_minus_3c": draw(empty),
        "extra_share": int(extra),
        "quorum_snapshot_at_h_minus_4c": draw(_snapshot) if extra else None,
        "mn_list_diff_at_h_minus_4c": draw(empty) if extra else None,
        "last_commitment_per_index": draw(st.lists(_commitment(), max_size=2)),
        "quorum_snapshot_list": draw(st.lists(_snapshot, max_size=2)),
        "mn_list_diff_list": draw(st.lists(empty, max_size=1)),
    }


@st.composite
def _message(draw):
    proto = draw(st.sampled_from(PROTOCOLS))
    command = draw(st.sampled_from(["mnlistdiff", "mnlistdiff", "qrinfo", "getqrinfo"]))
    if command == "mnlistdiff":
        obj = draw(_diff(proto))
    elif command == "qrinfo":
        obj = draw(_qrinfo(proto))
    else:
        obj = {
            "base_block_hashes": draw(st.lists(_hex(32), max_size=3)),
            "block_request_hash": draw(_hex(32)),
            "extra_share": draw(st.integers(0, 1)),
        }
    return command, proto, obj


@settings(max_examples=100, deadline=None)
@given(_message())
def test_round_trip_property(message):
    command, proto, obj = message
    raw = build(command, obj, version=proto)
    decoded = decode(command, raw, version=proto)
    assert_subset(obj, decoded)
    assert build(command, decoded, version=proto) == raw
