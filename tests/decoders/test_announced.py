"""announced(): the inventory items a decoded message is or names.

Hashes Core computed, from other implementations' tests (their bytes, their
expected hashes):

* dashpay/dashj core/src/test/java/org/bitcoinj/quorums/InstantSendLockTest.java:
  an ``islock`` and an ``isdlock`` with the hashes dashj asserts
  (``Sha256Hash.wrap`` takes the display order);
* dashpay/dashsync-iOS Example/Tests/DSGovernanceTests.m
  (testGovernanceTestnetHash): a testnet ``govobj`` and its object hash,
  stored there in wire (little-endian) order, so reversed here;
* Dash mainnet's genesis block, whose hash every explorer gives;
* a mainnet transaction (NBitcoin-derived Dash test suite,
  ReadWrite_DeserializeOldNormal) with its explorer txid.

Where no other implementation asserts the inv hash (``dsq``, ``spork``,
``govobjvote``, the LLMQ messages), the hash is computed in the test from
the payload bytes, following the Core ``GetHash`` named there.
"""

from __future__ import annotations

import hashlib

import pytest

from p2pcap.decoders import announced, build, decode, decode_partial
from p2pcap.decoders.announce import _OBJECTS
from p2pcap.decoders.inventory import INV_TYPE_NAMES

from .vectors import compact, sha256d_shown, shown

ISLOCK = (
    "011dbbda5861b12d7523f20aa5e0d42f52de3dcd2d5c2fe919ba67b59f050d206e00000000babb35d229d6bf5897"
    "a9fc3770755868d9730e022dc04c8a7a7e9df9f1caccbe8967c46529a967b3822e1ba8a173066296d02593f0f59b"
    "3a78a30a7eef9c8a120847729e62e4a32954339286b79fe7590221331cd28d576887a263f45b595d499272f656c3"
    "f5176987c976239cac16f972d796ad82931d532102a4f95eec7d80"
)
ISLOCK_HASH = "4001b2c5acff9fc94e60d5adda9f70c3f0f829d0cc08434844c31b0410dfaca0"
ISDLOCK = (
    "0101a13402f343c05e8a6cd1255dc10446f9af507d02a366fbb1df4ef7130633c6b501000000f2a984e019605164"
    "b62b08a559789ac15e8d93ff6b041ffeef3457fb689413fc1c7c0b2ac5ebca64f80c0151a152612b23396193880b"
    "8f6856e9cbcc0501000082432a71e87357d9609c659d32cbf3bfb65ccce2337d08ab1485c32799491112509cd7c8"
    "e1cd40bdc814bf1eff868dc80f3fac74e37754eb19a5883d5721875a98dd3ea3112c3c52091852348351479b4d32"
    "a98d41200080532ed233a0aa355e"
)
ISDLOCK_HASH = "fc3f6eec219419b2cedb83e9eefd348b005766a0ea0ebf6bf4339ded8e087614"

GOVOBJ_TESTNET = (
    "00000000000000000000000000000000000000000000000000000000000000000100000066bf155b00000000d522"
    "6a58c7a6edc67d1a2e45ef3f322839de56c3fb1d48f54d57f24b4055cc10d15b5b2270726f706f73616c222c7b22"
    "656e645f65706f6368223a313539333638323334362c226e616d65223a22736f6d655f6e65775f70726f706f7361"
    "6c222c227061796d656e745f61646472657373223a227954794274445a703136487453316a704e64317644313179"
    "364c5379766d31587a58222c227061796d656e745f616d6f756e74223a322c2273746172745f65706f6368223a31"
    "3532383135313931302c2274797065223a312c2275726c223a22687474703a2f2f736f6d656e657770726f706f73"
    "616c2e636f6d227d5d5d010000000000000000000000000000000000000000000000000000000000000000000000"
    "ffffffff00"
)
GOVOBJ_TESTNET_HASH = shown("0fc23ad0a78b1bfd6776a3631395524719d4667d96d89cbb9fae7b42ac4d47d6")

# Dash mainnet genesis block (chainparams.cpp CreateGenesisBlock): header,
# one transaction.
GENESIS_BLOCK = (
    "01000000"
    + "00" * 32  # version 1, no previous block
    + "c762a6567f3cc092f0684bb62b7e00a84890b990f07cc71a6bb58d64b98e02e0"  # merkle root, wire order
    + "022ddb52"
    + "f0ff0f1e"
    + "c23fb901"  # time, bits, nonce
    + "01"  # one transaction: the coinbase
    + "01000000"
    "01" + "00" * 32 + "ffffffff" + "62"
    "04ffff001d0104"
    "4c59"
    + b"Wired 09/Jan/2014 The Grand Experiment Goes Live: Overstock.com Is Now Accepting Bitcoins".hex()
    + "ffffffff"
    "01"
    "00f2052a01000000"
    "43"
    "41"
    "040184710fa689ad5023690c80f3a49c8f13f8d45b8c857fbcbc8bc4a8e4d3eb4b"
    "10f4d4604fa08dce601aaf0f470216fe1b51850b4acf21b179c45070ac7b03a9"
    "ac"
    "00000000"
)
GENESIS_HASH = "00000ffd590b1485b3caadc19b22e6379c733355108f107a430458cdf3407ab6"

MAINNET_TX = (
    "01000000012dd09102d8edec210d0574e89f8367055c40afd90ba061ea3733480b684a02b4010000006b48304502"
    "2100d965ebacd14143307c28fcc2b4b630f138bbc50256f689f5554e805497688d0102202ccd9d87e098ef3d0dfe"
    "508c6c41b00368c2eb562b877af805efe566b9d691bd012102611eef2d8b790712b1de7b29fdc51e7eed24bf6f8f"
    "052a2c747e53d3b2958b9a0000000002a1274b00000000001976a91468bc0bc35993f640c308b176fd9760b8c798"
    "d94588aca6dc0200000000001976a9148847b2b26aa95075219d8982d8731d3022e0b3d588ac00000000"
)
MAINNET_TXID = "a9b8ebadbaf5f77b1ed1421e142c24e694dfe6cee54ca46c2af4c8db15accce1"

# dashpay/dashj core/src/test/java/org/bitcoinj/coinjoin/CoinJoinQueueTest.java:
# a dsq in the pre-70226 form (masternode outpoint, not ProRegTx hash).
DSQ_OUTPOINT_FORM = (
    "10000000ba877ac598e7bf07e10a4d7ca4ccb157d476c53c815665eab47f63b02278d17e06000000f82290630000"
    "0000006011a3ff601dfb9435756c531617e0ae28d0849cbfe8c9949d69d8d5240429576acba82a90e324d5ca35c9"
    "983b7e15dca40347f23022cbfb699d94c0d91582c7b7ca4ccfdf0c5b0917eb9a064b071ef438515d65834f8d7c33"
    "526c4c2a43baf686"
)

# Hand-assembled objects, their hashes computed here from Core's GetHash.
SPORK = "11270000" + "00" * 8 + "80a0c86500000000" + "41" + "1c" + "5a" * 64
VOTE = (
    "40" * 32
    + "07000000"  # masternode_outpoint
    + "01" * 32  # parent_hash
    + "01000000"  # vote_outcome YES
    + "02000000"  # vote_signal VALID
    + "8051010000000000"  # time 86400
    + "00"  # sig: empty
)
# CGovernanceVote::UpdateHash (src/governance/vote.cpp): outpoint as a CTxIn,
# parent, signal, outcome, time; no signature.
VOTE_HASH = sha256d_shown(
    "40" * 32 + "07000000" + "00" + "ffffffff" + "01" * 32 + "02000000" + "01000000" + "8051010000000000"
)
CLSIG = "a0860100" + "11" * 32 + "97" * 96
QSIGREC = "64" + "22" * 32 + "33" * 32 + "44" * 32 + "99" * 96
QFCOMMIT = (
    "0100"
    + "01"
    + "55" * 32  # version 1, llmqType 1, quorumHash
    + "00"
    + "00"  # signers, validMembers: empty DYNBITSETs
    + "00" * 48
    + "00" * 32
    + "00" * 96
    + "00" * 96
)


def test_islock_dashj():
    decoded = decode("islock", bytes.fromhex(ISLOCK))
    assert announced("islock", decoded) == [("MSG_ISLOCK", ISLOCK_HASH)]


def test_isdlock_dashj():
    decoded = decode("isdlock", bytes.fromhex(ISDLOCK))
    assert announced("isdlock", decoded) == [("MSG_ISDLOCK", ISDLOCK_HASH)]


def test_govobj_dashsync():
    decoded = decode("govobj", bytes.fromhex(GOVOBJ_TESTNET))
    assert announced("govobj", decoded) == [("MSG_GOVERNANCE_OBJECT", GOVOBJ_TESTNET_HASH)]
    assert build("govobj", decoded) == bytes.fromhex(GOVOBJ_TESTNET)


def test_genesis_block():
    decoded = decode("block", bytes.fromhex(GENESIS_BLOCK))
    assert announced("block", decoded) == [("MSG_BLOCK", GENESIS_HASH)]


def test_transaction():
    decoded = decode("tx", bytes.fromhex(MAINNET_TX))
    assert announced("tx", decoded) == [("MSG_TX", MAINNET_TXID)]


def test_dsq_dashj():
    # CCoinJoinQueue::GetHash (src/coinjoin/coinjoin.cpp) serialises with
    # SER_NETWORK, so the signature is hashed too: SHA256d of the payload.
    decoded = decode("dsq", bytes.fromhex(DSQ_OUTPOINT_FORM), version=70225)
    assert decoded["denom"] == 16 and decoded["time"] == 1670390520  # dashj's asserts
    assert announced("dsq", decoded) == [("MSG_DSQ", sha256d_shown(DSQ_OUTPOINT_FORM))]


@pytest.mark.parametrize(
    "command, payload, inv_type, expected",
    [
        # CSporkMessage::GetHash (src/spork.cpp): SerializeHash(*this)
        ("spork", SPORK, "MSG_SPORK", sha256d_shown(SPORK)),
        ("govobjvote", VOTE, "MSG_GOVERNANCE_OBJECT_VOTE", VOTE_HASH),
        # chainlock handler: ::SerializeHash(clsig)
        ("clsig", CLSIG, "MSG_CLSIG", sha256d_shown(CLSIG)),
        # src/llmq/signing.h CRecoveredSig::UpdateHash: ::SerializeHash(*this)
        ("qsigrec", QSIGREC, "MSG_QUORUM_RECOVERED_SIG", sha256d_shown(QSIGREC)),
        # src/llmq/blockprocessor.cpp: ::SerializeHash(qc)
        ("qfcommit", QFCOMMIT, "MSG_QUORUM_FINAL_COMMITMENT", sha256d_shown(QFCOMMIT)),
    ],
)
def test_hand_assembled(command, payload, inv_type, expected):
    decoded = decode(command, bytes.fromhex(payload))
    assert announced(command, decoded) == [(inv_type, expected)]


def test_dstx_is_its_txid():
    # net_processing.cpp relays a CoinJoin broadcast tx as MSG_DSTX under
    # the transaction's own hash.
    payload = MAINNET_TX + "ab" * 32 + "60" + "11" * 96 + "0000000000000000"
    decoded = decode("dstx", bytes.fromhex(payload))
    assert announced("dstx", decoded) == [("MSG_DSTX", MAINNET_TXID)]


def test_block_requests():
    header = bytes.fromhex(GENESIS_BLOCK)[:80]
    merkle = header + (1).to_bytes(4, "little") + compact(1) + bytes(32) + compact(1) + b"\x01"
    decoded = decode("merkleblock", merkle)
    assert announced("merkleblock", decoded) == [
        ("MSG_FILTERED_BLOCK", GENESIS_HASH),
        ("MSG_BLOCK", GENESIS_HASH),
    ]


def test_inventory_items():
    payload = (
        compact(3)
        + (1).to_bytes(4, "little")
        + bytes.fromhex(MAINNET_TXID)[::-1]
        + (31).to_bytes(4, "little")
        + bytes.fromhex(ISDLOCK_HASH)[::-1]
        + (99).to_bytes(4, "little")
        + bytes(32)
    )
    for command in ("inv", "getdata", "notfound"):
        decoded = decode(command, payload)
        assert announced(command, decoded) == [
            ("MSG_TX", MAINNET_TXID),
            ("MSG_ISDLOCK", ISDLOCK_HASH),
            ("99", "00" * 32),
        ]


def test_inv_then_object_match():
    inv = compact(1) + (30).to_bytes(4, "little") + bytes.fromhex(ISLOCK_HASH)[::-1]
    (item,) = announced("inv", decode("inv", inv))
    assert item in announced("islock", decode("islock", bytes.fromhex(ISLOCK)))


def test_not_objects():
    assert announced("ping", decode("ping", bytes(8))) == []
    assert announced("mnauth", decode("mnauth", bytes(128))) == []
    assert announced("nosuch", decode("nosuch", b"\x01")) == []


def test_partial_object_has_no_hash():
    cut = decode_partial("clsig", bytes.fromhex(CLSIG)[:40])
    assert announced("clsig", cut) == []


# The inventory types Core relays objects under today (src/protocol.h
# GetDataMsg; MSG_ISLOCK was retired at 70231 and stays for old captures).
# MSG_FILTERED_BLOCK and MSG_CMPCT_BLOCK are only ever asked for (getdata).
RELAYED_TODAY = frozenset({
    "MSG_TX", "MSG_BLOCK", "MSG_FILTERED_BLOCK", "MSG_CMPCT_BLOCK", "MSG_SPORK", "MSG_DSTX",
    "MSG_GOVERNANCE_OBJECT", "MSG_GOVERNANCE_OBJECT_VOTE", "MSG_QUORUM_FINAL_COMMITMENT",
    "MSG_QUORUM_CONTRIB", "MSG_QUORUM_COMPLAINT", "MSG_QUORUM_JUSTIFICATION",
    "MSG_QUORUM_PREMATURE_COMMITMENT", "MSG_QUORUM_RECOVERED_SIG", "MSG_CLSIG", "MSG_ISDLOCK", "MSG_DSQ",
})  # fmt: skip


def test_names_are_cores():
    names = set(INV_TYPE_NAMES.values())
    for pairs in _OBJECTS.values():
        for name, _ in pairs:
            assert name in names


def test_every_relayed_inv_type_has_a_message():
    relayed = RELAYED_TODAY
    covered = {name for pairs in _OBJECTS.values() for name, _ in pairs}
    assert relayed <= covered


def test_sha256d_helper_is_independent():
    # the helper the expectations use is plain hashlib
    assert sha256d_shown("") == hashlib.sha256(hashlib.sha256(b"").digest()).digest()[::-1].hex()


VECTORS = [
    ("islock", ISLOCK),
    ("isdlock", ISDLOCK),
    ("govobj", GOVOBJ_TESTNET),
    ("block", GENESIS_BLOCK),
    ("tx", MAINNET_TX),
]
