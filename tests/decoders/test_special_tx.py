"""DIP2 special-transaction payloads, every type and version, assembled by hand.

Layouts: dashpay/dash src/evo/providertx.h, src/evo/netinfo.h,
src/evo/cbtx.h, src/llmq/commitment.h, src/evo/mnhftx.h,
src/evo/assetlocktx.h.  Each payload rides in a ``tx`` whose special part
is built by ``special()`` below: version 3, the type, no inputs or outputs
unless given, lock_time 0, then the payload with its CompactSize length.
"""

from __future__ import annotations

import base64
import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from p2pcap.decoders import build, decode
from p2pcap.decoders.special_tx import SPECIAL_PAYLOADS, build_payload, decode_payload

from .vectors import sha256d_shown as txid
from .vectors import shown, without_derived


def special(tx_type: int, payload: str, vin: str = "00", vout: str = "00") -> str:
    n = len(payload) // 2
    size = f"{n:02x}" if n < 0xFD else "fd" + n.to_bytes(2, "little").hex()
    return (
        "0300"  # version 3
        + tx_type.to_bytes(2, "little").hex()  # type
        + vin  # vin (count and inputs)
        + vout  # vout
        + "00000000"  # lock_time
        + size  # vExtraPayload length
        + payload
    )


COLLATERAL_HASH = "c1" * 31 + "c2"
PRO_TX_HASH = "a1" * 31 + "a2"
INPUTS_HASH = "d1" * 31 + "d2"
QUORUM_HASH = "e1" * 31 + "e2"
OWNER = "0a" * 20
OPERATOR = "0b" * 48
VOTING = "0c" * 20
PLATFORM_ID = "0e" * 20
BLS_SIG = "f1" * 96
ECDSA_SIG = "1f" + "ab" * 64  # compact signature, 65 bytes
PKH = "76a914" + "33" * 20 + "88ac"  # P2PKH, 25 bytes
P2SH = "a914" + "44" * 20 + "87"  # P2SH, 23 bytes
SERVICE = "00000000000000000000ffffc0000233270f"  # ::ffff:192.0.2.51, port 9999 (BE)
SERVICE_OBJ = {"ip": "192.0.2.51", "port": 9999}

# ExtNetInfo (netinfo.h), ProTx version 3
EXT_NET_INFO = (
    "01"  # version 1
    "02"  # map: 2 purposes
    "00"  # purpose 0: CORE_P2P
    "01"  # 1 entry
    "01"  # NetInfoEntry type: service
    "01"  # BIP155 network 1: IPv4
    "04"  # 4 address bytes
    "c0000233"  # 192.0.2.51
    "270f"  # port 9999, big-endian
    "01"  # purpose 1: PLATFORM_P2P
    "02"  # 2 entries
    "01"  # type: service
    "02"  # network 2: IPv6
    "10"  # 16 bytes
    "20010db8000000000000000000000001"  # 2001:db8::1
    "6820"  # port 26656
    "ff"  # type 0xff: invalid, nothing follows
)
EXT_NET_INFO_OBJ = {
    "version": 1,
    "entries": [
        {
            "purpose": 0,
            "entries": [
                {"type": 1, "service": {"network": 1, "addr": "192.0.2.51", "port": 9999}, "domain": None}
            ],
        },
        {
            "purpose": 1,
            "entries": [
                {"type": 1, "service": {"network": 2, "addr": "2001:db8::1", "port": 26656}, "domain": None},
                {"type": 255, "service": None, "domain": None},
            ],
        },
    ],
}


def onion(pubkey_hex: str) -> str:
    """Tor rend-spec-v3: base32(pubkey | checksum[:2] | version 3) + ".onion"."""
    pubkey = bytes.fromhex(pubkey_hex)
    checksum = hashlib.sha3_256(b".onion checksum" + pubkey + b"\x03").digest()[:2]
    return base64.b32encode(pubkey + checksum + b"\x03").decode().lower() + ".onion"


EXT_NET_INFO_TOR = (
    "01"  # version 1
    "01"  # 1 purpose
    "00"  # CORE_P2P
    "01"  # 1 entry
    "01"  # service
    "04"  # network 4: TorV3
    "20"  # 32 bytes
    + "5a" * 32  # onion key
    + "270f"  # port 9999
)

PROREG_V1 = (
    "0100"  # version 1: legacy BLS
    "0000"  # type 0: regular masternode
    "0000"  # mode 0
    + COLLATERAL_HASH  # collateralOutpoint.hash
    + "01000000"  # collateralOutpoint.n: 1
    + SERVICE  # netInfo: legacy CService
    + OWNER  # keyIDOwner
    + OPERATOR  # pubKeyOperator (legacy encoding)
    + VOTING  # keyIDVoting
    + "f401"  # operatorReward: 500 (5%)
    "19"
    + PKH  # scriptPayout: 25 bytes
    + INPUTS_HASH  # inputsHash
    + "00"  # vchSig: empty (collateral in this tx)
)
PROREG_V2_EVO = (
    "0200"  # version 2: basic BLS
    "0100"  # type 1: evo node
    "0000"  # mode
    + COLLATERAL_HASH
    + "00000000"  # collateral n: 0
    + SERVICE
    + OWNER
    + OPERATOR
    + VOTING
    + "0000"  # operatorReward 0
    "19"
    + PKH  # scriptPayout
    + INPUTS_HASH
    + PLATFORM_ID  # platformNodeID (evo only)
    + "2068"  # platformP2PPort: u16 LE 26656
    "bb01"  # platformHTTPPort: 443
    "41" + ECDSA_SIG  # vchSig: 65 bytes
)
PROREG_V3_EVO = (
    "0300"  # version 3: extended addresses
    "0100"  # type 1: evo
    "0000"  # mode
    + COLLATERAL_HASH
    + "02000000"  # collateral n: 2
    + EXT_NET_INFO  # netInfo: ExtNetInfo
    + OWNER
    + OPERATOR
    + VOTING
    + "0000"  # operatorReward
    "02"  # payouts: u8 count 2
    "19" + PKH + "7017"  # share 1: script, reward 6000
    "17"
    + P2SH
    + "a00f"  # share 2: script, reward 4000
    + INPUTS_HASH
    + PLATFORM_ID  # platformNodeID; the ports live in ExtNetInfo now
    + "00"  # vchSig: empty
)
PROUPSERV_V1 = (
    "0100"  # version 1 (no type field)
    + PRO_TX_HASH  # proTxHash
    + SERVICE  # netInfo
    + "00"  # scriptOperatorPayout: empty
    + INPUTS_HASH
    + BLS_SIG  # sig: 96 bytes
)
PROUPSERV_V2_EVO = (
    "0200"  # version 2
    "0100"  # type 1: evo
    + PRO_TX_HASH
    + SERVICE
    + "19"
    + PKH  # scriptOperatorPayout
    + INPUTS_HASH
    + PLATFORM_ID  # platformNodeID
    + "2068"  # platformP2PPort 26656
    "bb01"  # platformHTTPPort 443
     + BLS_SIG
)
PROUPSERV_V3 = (
    "0300"  # version 3
    "0000"  # type 0: regular, no platform fields
    + PRO_TX_HASH
    + EXT_NET_INFO_TOR  # netInfo: ExtNetInfo with a Tor address
    + "00"  # scriptOperatorPayout
    + INPUTS_HASH
    + BLS_SIG
)
PROUPSERV_V3_UNKNOWN_NETINFO = (
    "0300"  # version 3
    "0000"  # type 0
    + PRO_TX_HASH
    + "07"  # ExtNetInfo version 7: unknown, Core reads nothing more of it
    + "00"  # scriptOperatorPayout
    + INPUTS_HASH
    + BLS_SIG
)
PROUPREG_V1 = (
    "0100"  # version 1
    + PRO_TX_HASH
    + "0000"  # mode
    + OPERATOR  # pubKeyOperator
    + VOTING  # keyIDVoting
    + "19"
    + PKH  # scriptPayout
    + INPUTS_HASH
    + "41"
    + ECDSA_SIG  # vchSig
)
PROUPREG_V2 = (
    "0200"  # version 2
    + PRO_TX_HASH
    + "0000"  # mode
    + OPERATOR
    + VOTING
    + "17"
    + P2SH  # scriptPayout: P2SH
    + INPUTS_HASH
    + "41"
    + ECDSA_SIG
)
PROUPREG_V3 = (
    "0300"  # version 3
    + PRO_TX_HASH
    + "0000"  # mode
    + OPERATOR
    + VOTING
    + "01"  # payouts: 1 share
    "19"
    + PKH
    + "1027"  # script, reward 10000
    + INPUTS_HASH
    + "41"
    + ECDSA_SIG
)
PROUPREV_V1 = (
    "0100"  # version 1
    + PRO_TX_HASH
    + "0100"  # reason 1: termination of service
    + INPUTS_HASH
    + BLS_SIG
)
PROUPREV_V2 = (
    "0200"  # version 2
    + PRO_TX_HASH
    + "0300"  # reason 3: change of keys
    + INPUTS_HASH
    + BLS_SIG
)
MN_ROOT = "9a" * 31 + "9b"
Q_ROOT = "8a" * 31 + "8b"
CBTX_V1 = (
    "0100"  # version 1: MERKLE_ROOT_MNLIST
    "e8030000" + MN_ROOT  # height 1000  # merkleRootMNList
)
CBTX_V2 = (
    "0200"  # version 2: MERKLE_ROOT_QUORUMS
    "e9030000" + MN_ROOT + Q_ROOT  # height 1001  # merkleRootQuorums
)
CBTX_V3 = (
    "0300"  # version 3: CLSIG_AND_BALANCE
    "ea030000"  # height 1002
    + MN_ROOT
    + Q_ROOT
    + "fd0001"  # bestCLHeightDiff: CompactSize 256
    + BLS_SIG  # bestCLSignature
    + "00e40b5402000000"  # creditPoolBalance: 10000000000 duffs
)
COMMITMENT = (
    "0200"  # CFinalCommitment version 2: legacy, indexed
    "67" + QUORUM_HASH + "0200"  # llmqType 103  # quorumIndex 2
    "0a"  # signers: 10 bits
    "0000"  # none set: a null commitment
    "0a"  # validMembers: 10 bits
    "0000"
    + "00" * 48  # quorumPublicKey
    + "00" * 32  # quorumVvecHash
    + "00" * 96  # quorumSig
    + "00" * 96  # membersSig
)
QC_V1 = (
    "0100"  # CFinalCommitmentTxPayload version 1
    "40e20100" + COMMITMENT  # height 123456
)
MNHF_V1 = (
    "01"  # version 1
    "0a"  # signal.versionBit 10
    + QUORUM_HASH  # signal.quorumHash
    + BLS_SIG  # signal.sig
)
ASSETLOCK_V1 = (
    "01"  # version 1
    "02"  # creditOutputs: 2
    "00e1f50500000000"  # value 100000000
    "19"
    + PKH  # script
    + "0065cd1d00000000"  # value 500000000
    "17" + P2SH
)
ASSETLOCK_V2 = (
    "02"  # version 2, same layout
    "01"  # creditOutputs: 1
    "00e1f50500000000"  # value 100000000
    "19" + PKH
)
ASSETUNLOCK_V1 = (
    "01"  # version 1
    "6500000000000000"  # index 101
    "70110100"  # fee 70000
    "db040000" + QUORUM_HASH + BLS_SIG  # requestedHeight 1243  # quorumSig
)

ONE_INPUT = "01" + "77" * 32 + "00000000" + "00" + "ffffffff"  # one input, empty scriptSig
ONE_OUTPUT = "01" + "0000000000000000" + "00"  # one zero-value output, empty script

PAYLOADS = [
    # (name, type, payload hex, tx vin, tx vout, expected payload)
    (
        "ProRegTx v1",
        1,
        PROREG_V1,
        ONE_INPUT,
        ONE_OUTPUT,
        {
            "version": 1,
            "type": 0,
            "mode": 0,
            "collateral_outpoint": {"hash": shown(COLLATERAL_HASH), "n": 1},
            "net_info": SERVICE_OBJ,
            "key_id_owner": OWNER,
            "pub_key_operator": OPERATOR,
            "key_id_voting": VOTING,
            "operator_reward": 500,
            "script_payout": PKH,
            "payouts": None,
            "inputs_hash": shown(INPUTS_HASH),
            "platform_node_id": None,
            "platform_p2p_port": None,
            "platform_http_port": None,
            "sig": "",
        },
    ),
    (
        "ProRegTx v2 evo",
        1,
        PROREG_V2_EVO,
        ONE_INPUT,
        ONE_OUTPUT,
        {
            "version": 2,
            "type": 1,
            "mode": 0,
            "collateral_outpoint": {"hash": shown(COLLATERAL_HASH), "n": 0},
            "net_info": SERVICE_OBJ,
            "key_id_owner": OWNER,
            "pub_key_operator": OPERATOR,
            "key_id_voting": VOTING,
            "operator_reward": 0,
            "script_payout": PKH,
            "payouts": None,
            "inputs_hash": shown(INPUTS_HASH),
            "platform_node_id": PLATFORM_ID,
            "platform_p2p_port": 26656,
            "platform_http_port": 443,
            "sig": ECDSA_SIG,
        },
    ),
    (
        "ProRegTx v3 evo",
        1,
        PROREG_V3_EVO,
        ONE_INPUT,
        ONE_OUTPUT,
        {
            "version": 3,
            "type": 1,
            "mode": 0,
            "collateral_outpoint": {"hash": shown(COLLATERAL_HASH), "n": 2},
            "net_info": EXT_NET_INFO_OBJ,
            "key_id_owner": OWNER,
            "pub_key_operator": OPERATOR,
            "key_id_voting": VOTING,
            "operator_reward": 0,
            "script_payout": None,
            "payouts": [{"script_payout": PKH, "reward": 6000}, {"script_payout": P2SH, "reward": 4000}],
            "inputs_hash": shown(INPUTS_HASH),
            "platform_node_id": PLATFORM_ID,
            "platform_p2p_port": None,
            "platform_http_port": None,
            "sig": "",
        },
    ),
    (
        "ProUpServTx v1",
        2,
        PROUPSERV_V1,
        ONE_INPUT,
        ONE_OUTPUT,
        {
            "version": 1,
            "type": None,
            "pro_tx_hash": shown(PRO_TX_HASH),
            "net_info": SERVICE_OBJ,
            "script_operator_payout": "",
            "inputs_hash": shown(INPUTS_HASH),
            "platform_node_id": None,
            "platform_p2p_port": None,
            "platform_http_port": None,
            "sig": BLS_SIG,
        },
    ),
    (
        "ProUpServTx v2 evo",
        2,
        PROUPSERV_V2_EVO,
        ONE_INPUT,
        ONE_OUTPUT,
        {
            "version": 2,
            "type": 1,
            "pro_tx_hash": shown(PRO_TX_HASH),
            "net_info": SERVICE_OBJ,
            "script_operator_payout": PKH,
            "inputs_hash": shown(INPUTS_HASH),
            "platform_node_id": PLATFORM_ID,
            "platform_p2p_port": 26656,
            "platform_http_port": 443,
            "sig": BLS_SIG,
        },
    ),
    (
        "ProUpServTx v3",
        2,
        PROUPSERV_V3,
        ONE_INPUT,
        ONE_OUTPUT,
        {
            "version": 3,
            "type": 0,
            "pro_tx_hash": shown(PRO_TX_HASH),
            "net_info": {
                "version": 1,
                "entries": [
                    {
                        "purpose": 0,
                        "entries": [
                            {
                                "type": 1,
                                "service": {"network": 4, "addr": onion("5a" * 32), "port": 9999},
                                "domain": None,
                            }
                        ],
                    }
                ],
            },
            "script_operator_payout": "",
            "inputs_hash": shown(INPUTS_HASH),
            "platform_node_id": None,
            "platform_p2p_port": None,
            "platform_http_port": None,
            "sig": BLS_SIG,
        },
    ),
    (
        "ProUpServTx v3, unknown ExtNetInfo",
        2,
        PROUPSERV_V3_UNKNOWN_NETINFO,
        ONE_INPUT,
        ONE_OUTPUT,
        {
            "version": 3,
            "type": 0,
            "pro_tx_hash": shown(PRO_TX_HASH),
            "net_info": {"version": 7, "entries": None},
            "script_operator_payout": "",
            "inputs_hash": shown(INPUTS_HASH),
            "platform_node_id": None,
            "platform_p2p_port": None,
            "platform_http_port": None,
            "sig": BLS_SIG,
        },
    ),
    (
        "ProUpRegTx v1",
        3,
        PROUPREG_V1,
        ONE_INPUT,
        ONE_OUTPUT,
        {
            "version": 1,
            "pro_tx_hash": shown(PRO_TX_HASH),
            "mode": 0,
            "pub_key_operator": OPERATOR,
            "key_id_voting": VOTING,
            "script_payout": PKH,
            "payouts": None,
            "inputs_hash": shown(INPUTS_HASH),
            "sig": ECDSA_SIG,
        },
    ),
    (
        "ProUpRegTx v2",
        3,
        PROUPREG_V2,
        ONE_INPUT,
        ONE_OUTPUT,
        {
            "version": 2,
            "pro_tx_hash": shown(PRO_TX_HASH),
            "mode": 0,
            "pub_key_operator": OPERATOR,
            "key_id_voting": VOTING,
            "script_payout": P2SH,
            "payouts": None,
            "inputs_hash": shown(INPUTS_HASH),
            "sig": ECDSA_SIG,
        },
    ),
    (
        "ProUpRegTx v3",
        3,
        PROUPREG_V3,
        ONE_INPUT,
        ONE_OUTPUT,
        {
            "version": 3,
            "pro_tx_hash": shown(PRO_TX_HASH),
            "mode": 0,
            "pub_key_operator": OPERATOR,
            "key_id_voting": VOTING,
            "script_payout": None,
            "payouts": [{"script_payout": PKH, "reward": 10000}],
            "inputs_hash": shown(INPUTS_HASH),
            "sig": ECDSA_SIG,
        },
    ),
    (
        "ProUpRevTx v1",
        4,
        PROUPREV_V1,
        ONE_INPUT,
        ONE_OUTPUT,
        {
            "version": 1,
            "pro_tx_hash": shown(PRO_TX_HASH),
            "reason": 1,
            "inputs_hash": shown(INPUTS_HASH),
            "sig": BLS_SIG,
        },
    ),
    (
        "ProUpRevTx v2",
        4,
        PROUPREV_V2,
        ONE_INPUT,
        ONE_OUTPUT,
        {
            "version": 2,
            "pro_tx_hash": shown(PRO_TX_HASH),
            "reason": 3,
            "inputs_hash": shown(INPUTS_HASH),
            "sig": BLS_SIG,
        },
    ),
    (
        "CbTx v1",
        5,
        CBTX_V1,
        ONE_INPUT,
        ONE_OUTPUT,
        {
            "version": 1,
            "height": 1000,
            "merkle_root_mn_list": shown(MN_ROOT),
            "merkle_root_quorums": None,
            "best_cl_height_diff": None,
            "best_cl_signature": None,
            "credit_pool_balance": None,
        },
    ),
    (
        "CbTx v2",
        5,
        CBTX_V2,
        ONE_INPUT,
        ONE_OUTPUT,
        {
            "version": 2,
            "height": 1001,
            "merkle_root_mn_list": shown(MN_ROOT),
            "merkle_root_quorums": shown(Q_ROOT),
            "best_cl_height_diff": None,
            "best_cl_signature": None,
            "credit_pool_balance": None,
        },
    ),
    (
        "CbTx v3",
        5,
        CBTX_V3,
        ONE_INPUT,
        ONE_OUTPUT,
        {
            "version": 3,
            "height": 1002,
            "merkle_root_mn_list": shown(MN_ROOT),
            "merkle_root_quorums": shown(Q_ROOT),
            "best_cl_height_diff": 256,
            "best_cl_signature": BLS_SIG,
            "credit_pool_balance": 10000000000,
        },
    ),
    (
        "quorum commitment, no inputs or outputs",
        6,
        QC_V1,
        "00",
        "00",
        {
            "version": 1,
            "height": 123456,
            "commitment": {
                "version": 2,
                "llmq_type": 103,
                "llmq_type_name": "llmq_test_dip0024",  # src/llmq/params.h
                "quorum_hash": shown(QUORUM_HASH),
                "quorum_index": 2,
                "signers": "0" * 10,
                "signers_count": 0,
                "signers_hex": "0000",
                "valid_members": "0" * 10,
                "valid_members_count": 0,
                "valid_members_hex": "0000",
                "quorum_public_key": "00" * 48,
                "quorum_vvec_hash": "00" * 32,
                "quorum_sig": "00" * 96,
                "members_sig": "00" * 96,
            },
        },
    ),
    (
        "MNHF signal",
        7,
        MNHF_V1,
        "00",
        "00",
        {"version": 1, "signal": {"version_bit": 10, "quorum_hash": shown(QUORUM_HASH), "sig": BLS_SIG}},
    ),
    (
        "asset lock v1",
        8,
        ASSETLOCK_V1,
        ONE_INPUT,
        ONE_OUTPUT,
        {
            "version": 1,
            "credit_outputs": [
                {"value": 100000000, "script_pub_key": PKH},
                {"value": 500000000, "script_pub_key": P2SH},
            ],
        },
    ),
    (
        "asset lock v2",
        8,
        ASSETLOCK_V2,
        ONE_INPUT,
        ONE_OUTPUT,
        {"version": 2, "credit_outputs": [{"value": 100000000, "script_pub_key": PKH}]},
    ),
    (
        "asset unlock v1",
        9,
        ASSETUNLOCK_V1,
        "00",
        ONE_OUTPUT,
        {
            "version": 1,
            "index": 101,
            "fee": 70000,
            "requested_height": 1243,
            "quorum_hash": shown(QUORUM_HASH),
            "quorum_sig": BLS_SIG,
        },
    ),
]

# Real transactions of every type, with the txids Dash Core reports, from
# the "Special transactions" examples of the Dash developer documentation
# (CbTx v3 is mainnet block 1989850, the others testnet).
CHAIN = [
    (
        "b43dadbd485e4d1e1d202ea5180f0ad4e8e7f05e97a7e566a764ed714356bd1f",  # ProRegTx v1
        "03000100013ea08d68bd3038b8ea3d92d43fa38047522896724b04f246827d74b703bd3f28010000006a47304402201fe4"
        "58e3dc2c6072848418fedd48fe79081be3c818301ce0a97de4c1dd5ee2da02206f601d0de9540ac53ef7f9c59c92ef5942"
        "37f8b23dad3b04b1005ff85fb61a5d0121022dce9621ff449fe1a12648da526b93e0c2f8e43d14f8c1650f95272569d932"
        "a6feffffff011ec89a3b000000001976a914955410003527bf2b360a7a390b9ff14b9106c63288ac00000000fd12010100"
        "000000005c71e5f46d35196e33b45c5d59d3fd2dc84381942064cae21744fb717412c1ac0100000000000000000000000000"
        "ffff2f6fb5cf4e2199e9dff4cd5a0abc61b5287a0ba48c0553d6358890c0e9ec9dc5f08b1d4d0211920fe5d96a225c555a4b"
        "a7dd7f6cb14e271c925f2fc72316a01282973f9ad9cf1e39e03829dcf16f7a66b832d3b84dbab400a1e9eb7f30ac000019"
        "76a914955410003527bf2b360a7a390b9ff14b9106c63288ac835b69acdba709707c5cccdfcc342eacc87d6db0cc676896"
        "a01fe433a0620ae4411f5da2e5444c6a1556c3d45798b9f95567b1625b3f0cbe69936a70e35ca76b381f0a5506de07274e"
        "5e24db8be77234ad8fa023938f750a283b39b1bff17b2ad11f",
        {
            "collateral_outpoint": {
                "hash": "acc1127471fb4417e2ca6420948143c82dfdd3595d5cb4336e19356df4e5715c",
                "n": 1,
            },
            "net_info": {"ip": "47.111.181.207", "port": 20001},
            "inputs_hash": "e40a62a033e41fa0966867ccb06d7dc8ac2e34ccdfcc5c7c7009a7dbac695b83",
        },
    ),
    (
        "f1d23a149955d48ef7bf81ce0a58d4f47ae28399ed3e4ef3c1f90a55a6a9e082",  # ProUpServTx v2
        "0300020001f88750ccc24410679d87ee63df5c8dfd901329aa1fe60a74c183d560eee5218d010000006a47304402202909"
        "0e49ba2e387e7b39df51fdd6ec1becdd568cdd0de79f5dca6084bee677380220583bb62418aa986d927b4487d6a7f0469c"
        "4bc54a0e7baa0c484e8c140c37b3d301210345184cc81d6cd98eef548206f23a1467c27fea65582d519daa0f7a88a6c456"
        "66feffffff01e7edd23b000000001976a9147f95c0f808aff27883260bfaf9cfe2b84519a6b288ac00000000b702000000"
        "ff92ce2d64657cc3d4d9d82547efca2206ec1d9f5dcf2776624bc0a58b12ed3b00000000000000000000ffffae22e9734e"
        "1f0026ad5ada35511fc5b9d762b14b22510325ef8b82d21d59567f8e1c3c9e0c955ab99a62829e6317b1943d97f66191b1"
        "c6714146540788e2d26a1007498dce455603f55aebacf1a38131048abf7d5a05d00e9e93c1e91cc8cad239b4301b328f5f"
        "e1bcbae829ccd6a3f461e712873a188224829fc4b5fc01fa0fb29014b947d8f7",
        {
            "version": 2,
            "type": 0,
            "pro_tx_hash": "3bed128ba5c04b627627cf5d9f1dec0622caef4725d8d9d4c37c65642dce92ff",
            "net_info": {"ip": "174.34.233.115", "port": 19999},
            "inputs_hash": "5a950c9e3c1c8e7f56591dd2828bef250351224bb162d7b9c51f5135da5aad26",
        },
    ),
    (
        "ff5782f5537ef18b919b5ad0a2c605a72d83b4092434dcc8273e2d53ac0d0113",  # ProUpRegTx v2
        "0300030001f9485c88c87c282dc4de6b826afbba91c49aaa5bc75a0c0110465988573b5fd5010000006a4730440220085e"
        "a9929647b789429fa07bc83cf2a1c457628bc686be1e3014fdc5c2f9cc2202203747c39ad3a09a58a4b6f4ab6e8a08529c"
        "c9bdca86fe74689b1013b72ec6f92f012102ea1bcf94f4a787a3a94f15ce0a954ea4131be49d0f545531c7df1720045b85"
        "fffeffffff0133edd23b000000001976a914dc82946c9cee9ab3e8fef5a5d641a57bdf1523c088ac00000000e4020099bf"
        "316f8cb867be68dc9bd89bf2b8b984eae2fa9fa6ac19e862459cb7cf79390000a73d8c1e640d29e2257042a39bbbac8d86"
        "7f69ae252e146884816b98ab0d0526ed4992d9cff22ef04878423f66583382f00e43355184a124cf6a371433e3fb1d792b"
        "d5421976a914dc82946c9cee9ab3e8fef5a5d641a57bdf1523c088acbe428d911be87c670640d3cf73f1490b327be4b33a"
        "4fac8bcb70ca934199b4774120dc2d1ce8ea4188f04953528e112fd1402ab7434cdc5cc9f245468d952e1fa6d83701f90f"
        "c8e74c10bc32fec5c7e2beda675ce8a3cb859d25d8aa2cff5962ece6",
        {
            "pro_tx_hash": "3979cfb79c4562e819aca69ffae2ea84b9b8f29bd89bdc68be67b88c6f31bf99",
            "pub_key_operator": "a73d8c1e640d29e2257042a39bbbac8d867f69ae252e146884816b98ab0d0526ed4992d9cff22ef04878423f66583382",
            "inputs_hash": "77b4994193ca70cb8bac4f3ab3e47b320b49f173cfd34006677ce81b918d42be",
        },
    ),
    (
        "6926d964bccfd4418e373f08cf41d3302f9616ee5d9bc40b18aa99fc18a3d4ea",  # ProUpRevTx v1
        "03000400016f8a813df204873df003d6efc44e1906eaf6180a762513b1c91252826ce05916000000006b48304502210"
        "09b50474beacd48b37340eb5715a5ebd92239e54595147b5c55018bc29f26bde302203f312cdd8009f3f03b9bb9a0007"
        "4361974a40f5f5fafaf16ba4378cb72adcc4201210250a5b41488dec3d4116ae5733d18d03326050aebc3958118d64773"
        "9ad1a5de24feffffff01b974ed6d000000001976a914f0ae84a7ea8a0efd48c155eeeaaed6eb64c2812188ac00000000a4"
        "01006f8a813df204873df003d6efc44e1906eaf6180a762513b1c91252826ce05916010082cf248cf6b8ac6a3cdc826eda"
        "e582ead20421659ed891f9d4953a540616fb4f05279584b3339ed2ba95711ad28b18ee2878c4a904f76ea4d103e1d739f2"
        "2ff7e3b9b3db7d0c4a7e120abb4952c3574a18de34fa29828f9fe3f52bd0b1fac17acd04f7751967d782045ab655053653"
        "438f1dd1e14ba6adeb8351b78c9eb59bf4",
        {
            "pro_tx_hash": "1659e06c825212c9b11325760a18f6ea06194ec4efd603f03d8704f23d818a6f",
            "reason": 1,
            "inputs_hash": "4ffb1606543a95d4f991d89e652104d2ea82e5da6e82dc3c6aacb8f68c24cf82",
        },
    ),
    (
        "c550cae3f65d396a2f517a7220c7851cc3dc065e20141dadf9f19676348730f2",  # CbTx v3, mainnet
        "03000500010000000000000000000000000000000000000000000000000000000000000000ffffffff2703da5c1e04d045"
        "80650800007588782d01000fe4b883e5bda9e7a59ee4bb99e9b1bc04f09f909f88f581b80253640f03000000001976a914"
        "7c086eada12bdb10a265c16c08a7ae87366bd48188acf82c2e09000000001976a91453dc8bffae84a3851ab9fe296417da"
        "85d5e7185888aca0f04c20af0300da5c1e0054e04067fa61cef61f1e91b0d52c21b28cdc69cc9d0383f0bb88ba0129b973"
        "e2f67e47d5580e70c7e77af8b1a6670669c7424b896ab3d44d349a4988e9a8328d00b22fef542f5c630e4f2a67ad56d30c"
        "f2a3dac55848abcd2bac30bf780318792bcdf32f7729443846c9fdc57050a131cd12c0e54a16f6265e900f459e3b9dd434"
        "21a0bc3f61efd49ce752e440e5131a8d2758a280ad883b8eb902c49ee5b878b30000000000000000",
        {
            "version": 3,
            "height": 1989850,
            "merkle_root_mn_list": "e273b92901ba88bbf083039dcc69dc8cb2212cd5b0911e1ff6ce61fa6740e054",
            "merkle_root_quorums": "8d32a8e988499a344dd4b36a894b42c7690667a6b1f87ae7c7700e58d5477ef6",
            "best_cl_height_diff": 0,
            "credit_pool_balance": 0,
        },
    ),
    (
        "82600f79f0f58299995775382af1e813bdbe593b270e4e891baec064307f2a54",  # quorum commitment
        "03000600000000000000fd49010100d3710b000100016deffc783c55e385653fe687fb5ec59446e4c3a2146898ca297e02"
        "013300000032ffffffffffff0332ffffffffffff031636185ce73608e3077536f0621bea1fbc78449f96e40b1f67ca7b50"
        "a7638562c716bc9d4fdaa7002be06e6e54c49369d91c78768678912d3ec71d2d11d92e42488772bd3cdcaa2ce15a016e9e"
        "b998048af4e3ce1100e5188d30c2769e811691f75e94b20fe4c3867b918483319b7f4c7b924599a621b876fbfa943cd380"
        "17bb1226e55beb1df752ddc74470e04f38e8e644d5a74c2783f939b72728bcc6c5b22b21ed8caf3bcfb90212a8ee6517af"
        "eb04ec5a9af7064c7df1f92b01b7cc71e7f76f6dbc8e53cdd5d5f274566eece977e9431cc9bedf76a241ac95faea018e16"
        "0bdf89270808acef4f631fcd8a551d896581455a37a33f8ef6202145bc1561a404798dffd339b105b5716937e4086f04",
        {"version": 1, "height": 750035},
    ),
    (
        "5acff2cce2486b897258746202017649c5bdd873ece9e6d0298e5cccf0f23275",  # MNHF signal
        "0300070000000000000082010a27b679cb0c70b6d93f22d1a690c1e99f72fb9fdb4be9987c1000000000000000a12bc6a3"
        "d43e76fd6ab5d48dff11998811747bf51ffe722d9fda93ae892e4b18a716f58045c86459d0dafd38ae1f7f520519002983"
        "fc307e92fa606c3eb5ac8cf6ca03a102889866d58c9207b483e0b975baee63c1202209293ff7393222f812",
        {
            "signal": {
                "version_bit": 10,
                "quorum_hash": "00000000000000107c98e94bdb9ffb729fe9c190a6d1223fd9b6700ccb79b627",
                "sig": "a12bc6a3d43e76fd6ab5d48dff11998811747bf51ffe722d9fda93ae892e4b18a716f58045c86459d0dafd38ae1f7f52"
                "0519002983fc307e92fa606c3eb5ac8cf6ca03a102889866d58c9207b483e0b975baee63c1202209293ff7393222f812",
            }
        },
    ),
    (
        "fdb0e981c3febc6c2c032e6f51e6f063bfc6aaa9bd238985a442c93bd376fd57",  # asset lock
        "0300080001eecf4e8f1ffd3a3a4e5033d618231fd05e5f08c1a727aac420f9a26db9bf39eb010000006a47304402202"
        "6f169570532332f857cb64a0b7d9c0837d6f031633e1d6c395d7c03b799460302207eba4c4575a66803cecf50b61ff5f2"
        "efc2bd4e61dff00d9d4847aa3d8b1a5e550121036cd0b73d304bacc80fa747d254fbc5f0bf944dd8c8b925cd161bb499b7"
        "90d08d0000000002317dd0be030000002321022ca85dba11c4e5a6da3a00e73a08765319a5d66c2f6434b288494337b0c9"
        "ed2dac6df29c3b00000000026a000000000046010200e1f505000000001976a9147c75beb097957cc09537b615dde9ea68"
        "07719cdf88ac6d11a735000000001976a9147c75beb097957cc09537b615dde9ea6807719cdf88ac",
        {
            "version": 1,
            "credit_outputs": [
                {"value": 100000000, "script_pub_key": "76a9147c75beb097957cc09537b615dde9ea6807719cdf88ac"},
                {"value": 900141421, "script_pub_key": "76a9147c75beb097957cc09537b615dde9ea6807719cdf88ac"},
            ],
        },
    ),
    (
        "fb1b419b2b909f2ddb7fabee91d8e1aa7bb8e7114c83712ff20ba1859ec57b30",  # asset unlock
        "03000900000190cff40500000000232103d2c317552f5617f534065b9693fd4d7a8925daacdb9d44e908f9ffb0d285ea61"
        "ac000000009101650000000000000070110100db0400006f0f4a04d9a37a8c7791e90428d596d0caf5dc85292537ff92ff"
        "d361300c3101a533b35ae1d7685c6c795b7344963d48589d536a1c2b22e6a580b46439adaaf851b4243b48be81d508ef3f"
        "f622bcba26030b5bf8aa404dd3b5876727f4112a9daf99f27d250059679ae5abd30bc3029deeeb7267c1fa6204f6976a3a"
        "7a2512ea",
        {"version": 1, "index": 101, "fee": 70000, "requested_height": 1243},
    ),
]

VECTORS = [("tx", special(t, p, vin, vout)) for _, t, p, vin, vout, _ in PAYLOADS] + [
    ("tx", payload) for _, payload, _ in CHAIN
]


@pytest.mark.parametrize(
    "name, tx_type, payload, vin, vout, expected", PAYLOADS, ids=[p[0] for p in PAYLOADS]
)
def test_decode(name, tx_type, payload, vin, vout, expected):
    wire = special(tx_type, payload, vin, vout)
    decoded = decode("tx", bytes.fromhex(wire))
    assert decoded["type"] == tx_type
    assert decoded["extra_payload_error"] is None
    assert without_derived(decoded["extra_payload"]) == expected
    assert decoded["extra_payload_raw"] == payload
    assert decoded["txid"] == txid(wire)
    assert build("tx", decoded) == bytes.fromhex(wire)


@pytest.mark.parametrize("expected_txid, wire, fields", CHAIN, ids=[c[0][:8] for c in CHAIN])
def test_chain(expected_txid, wire, fields):
    decoded = decode("tx", bytes.fromhex(wire))
    assert decoded["txid"] == expected_txid
    assert decoded["extra_payload_error"] is None
    for key, value in fields.items():
        assert without_derived(decoded["extra_payload"][key]) == value
    assert build("tx", decoded) == bytes.fromhex(wire)


def test_real_commitment_bits():
    """The docs' commitment: 50 members, all signed (``ffffffffffff03``)."""
    decoded = decode("tx", bytes.fromhex(CHAIN[5][1]))
    commitment = decoded["extra_payload"]["commitment"]
    assert commitment["signers"] == commitment["valid_members"] == "1" * 50
    # as Core's RPC prints them (CFinalCommitment::ToJson): the bytes on the wire
    assert commitment["signers_hex"] == commitment["valid_members_hex"] == "ffffffffffff03"
    assert commitment["signers_count"] == commitment["valid_members_count"] == 50
    assert commitment["quorum_hash"] == "0000003301027e29ca986814a2c3e44694c55efb87e63f6585e3553c78fcef6d"


REPORTED = [
    # (name, type, payload, reason): the tx decodes; the payload error is reported
    ("ProRegTx version 4", 1, "0400" + PROREG_V1[4:], "CProRegTx version 4 is not known"),
    ("ProUpRevTx version 0", 4, "0000" + PROUPREV_V1[4:], "CProUpRevTx version 0 is not known"),
    ("CbTx version 4", 5, "0400" + CBTX_V3[4:], "CCbTx version 4 is not known"),
    ("CbTx trailing byte", 5, CBTX_V2 + "00", "trailing bytes at payload offset 70"),
    # bestCLHeightDiff 0x02000001: COMPACTSIZE() range-checks against MAX_SIZE
    ("CbTx height diff", 5, CBTX_V3[: 2 * 70] + "fe01000002" + CBTX_V3[2 * 73 :], "above MAX_SIZE"),
    ("MNHF version 2", 7, "02" + MNHF_V1[2:], "MNHFTxPayload version 2 is not known"),
    ("asset unlock short", 9, ASSETUNLOCK_V1[:-2], "stream read less"),
    # ExtNetInfo: IPv4 (network 1) written with 16 address bytes
    (
        "bad address length",
        2,
        "0300"
        "0000"
        + PRO_TX_HASH  # version 3, type 0, proTxHash
        + "01"
        "01"
        "00"
        "01"
        "01"  # ExtNetInfo v1, 1 purpose, CORE_P2P, 1 entry, service
         + "01"
        "10"
        + "00" * 16
        + "270f"  # IPv4 (network 1) with 16 address bytes, port
        + "00"
        + INPUTS_HASH
        + BLS_SIG,  # payout script, inputsHash, sig
        "BIP155 IPV4 address with length 16 (should be 4)",
    ),
]


@pytest.mark.parametrize("name, tx_type, payload, reason", REPORTED, ids=[r[0] for r in REPORTED])
def test_payload_errors_are_reported(name, tx_type, payload, reason):
    wire = special(tx_type, payload)
    decoded = decode("tx", bytes.fromhex(wire))
    assert decoded["extra_payload"] is None
    assert reason in decoded["extra_payload_error"]
    assert decoded["extra_payload_raw"] == payload
    assert build("tx", decoded) == bytes.fromhex(wire)


def test_every_type_has_a_layout():
    assert sorted(SPECIAL_PAYLOADS) == list(range(1, 10))


# --- properties ----------------------------------------------------------------

h32 = st.binary(min_size=32, max_size=32).map(bytes.hex)
h20 = st.binary(min_size=20, max_size=20).map(bytes.hex)
sig96 = st.binary(min_size=96, max_size=96).map(bytes.hex)
script = st.binary(max_size=40).map(bytes.hex)
u16 = st.integers(0, 2**16 - 1)
u32 = st.integers(0, 2**32 - 1)
service = st.builds(lambda ip, port: {"ip": ip, "port": port}, st.ip_addresses(v=4).map(str), u16)


@st.composite
def cbtx(draw):
    version = draw(st.integers(1, 3))
    return 5, {
        "version": version,
        "height": draw(st.integers(-(2**31), 2**31 - 1)),
        "merkle_root_mn_list": draw(h32),
        "merkle_root_quorums": draw(h32) if version >= 2 else None,
        "best_cl_height_diff": draw(st.integers(0, 0x02000000)) if version >= 3 else None,
        "best_cl_signature": draw(sig96) if version >= 3 else None,
        "credit_pool_balance": draw(st.integers(-(2**63), 2**63 - 1)) if version >= 3 else None,
    }


@st.composite
def proupserv(draw):
    version = draw(st.integers(1, 2))
    mn_type = draw(st.integers(0, 2)) if version >= 2 else None
    evo = mn_type == 1
    return 2, {
        "version": version,
        "type": mn_type,
        "pro_tx_hash": draw(h32),
        "net_info": draw(service),
        "script_operator_payout": draw(script),
        "inputs_hash": draw(h32),
        "platform_node_id": draw(h20) if evo else None,
        "platform_p2p_port": draw(u16) if evo else None,
        "platform_http_port": draw(u16) if evo else None,
        "sig": draw(sig96),
    }


@st.composite
def unlock(draw):
    return 9, {
        "version": draw(st.integers(1, 2)),
        "index": draw(st.integers(0, 2**64 - 1)),
        "fee": draw(u32),
        "requested_height": draw(u32),
        "quorum_hash": draw(h32),
        "quorum_sig": draw(sig96),
    }


@st.composite
def asset_lock(draw):
    outputs = st.builds(
        lambda v, s: {"value": v, "script_pub_key": s}, st.integers(-(2**63), 2**63 - 1), script
    )
    return 8, {"version": draw(st.integers(1, 2)), "credit_outputs": draw(st.lists(outputs, max_size=4))}


@settings(max_examples=100, deadline=None)
@given(case=st.one_of(cbtx(), proupserv(), unlock(), asset_lock()))
def test_round_trip(case):
    tx_type, payload = case
    raw = build_payload(tx_type, payload)
    decoded, error = decode_payload(tx_type, raw)
    assert error is None
    assert build_payload(tx_type, decoded) == raw
    wire = special(tx_type, raw.hex())
    assert build("tx", decode("tx", bytes.fromhex(wire))) == bytes.fromhex(wire)
