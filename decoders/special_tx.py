"""DIP2 special-transaction payloads (``vExtraPayload``), one Struct per type.

Follows dashpay/dash src/evo/providertx.h (types 1-4), src/evo/netinfo.h
(ExtNetInfo), src/evo/cbtx.h (5), src/llmq/commitment.h (6),
src/evo/mnhftx.h (7) and src/evo/assetlocktx.h (8, 9).

ProTx payload versions: 1 legacy BLS, 2 basic BLS (v19), 3 extended
addresses (``ProTxVersion::ExtAddr``, not active on mainnet).  Version 3
follows the newest Core layout seen (2025): ``netInfo`` becomes an
ExtNetInfo, the payout script a list of shares, and the platform ports move
into ExtNetInfo.  Core stops reading a ProTx payload after an unknown
version; here an unknown version of any payload is a decode error, so the
transaction keeps the raw payload and says why (transaction.py).

>>> payload, error = decode_payload(7, bytes.fromhex("01" "05" + "00" * 32 + "11" * 96))
>>> payload["signal"]["version_bit"], error
(5, None)
"""

from __future__ import annotations

import io

from construct import (
    Computed,
    Construct,
    ConstructError,
    If,
    IfThenElse,
    Int8ub,
    Int16ul,
    Int32sl,
    Int32ul,
    Int64sl,
    Int64ul,
    Terminated,
    TerminatedError,
    this,
)

from .commitment import FinalCommitment, KnownVersion
from .limits import Limit
from .netinfo import ExtNetInfo
from .primitives import (
    BLSPubKey,
    BLSSig,
    CompactSizeMax,
    Hash160,
    Hash256,
    OutPoint,
    Service,
    VarBytes,
)
from .script import key_id_address, script_address
from .structs import Struct, build_plain, parse_plain
from .txparts import TXOUT_MIN_SIZE, TxOut, context_network
from .vectors import VarArray

# consensus/consensus.h: CheckTransaction refuses a longer vExtraPayload
# ("bad-txns-payload-oversize", consensus/tx_check.cpp); 10000 since DIP2.
MAX_TX_EXTRA_PAYLOAD = Limit(10000, "MAX_TX_EXTRA_PAYLOAD", "src/consensus/consensus.h")

# ProTxVersion (evo/providertx.h)
PROTX_LEGACY_BLS = 1
PROTX_BASIC_BLS = 2
PROTX_EXT_ADDR = 3
# MnType (evo/dmn_types.h): platform fields are present for Evo nodes only
MNTYPE_EVO = 1

# netInfo: the legacy 18-byte CService (MnNetInfo) before version 3
NetInfo = IfThenElse(this.version >= PROTX_EXT_ADDR, ExtNetInfo, Service)

# --- what Core's ToJson adds (evo/providertx.cpp): addresses and DASH ---------


def _key_address(field: str):
    """``ownerAddress`` / ``votingAddress``: the key id as a P2PKH address."""

    def address(context):
        key_id = context[field]
        try:
            return key_id_address(bytes.fromhex(key_id), context_network(context))
        except (TypeError, ValueError):
            return None

    address.__qualname__ = f"_key_address({field!r})"
    return Computed(address)


def _script_address(field: str):
    """``payoutAddress`` / ``operatorPayoutAddress``: the script's address, if any."""

    def address(context):
        script = context[field]
        return None if script is None else script_address(script, context_network(context))

    address.__qualname__ = f"_script_address({field!r})"
    return Computed(address)


# MasternodePayoutShare, in a u8-counted list from version 3 on
PayoutShare = Struct(
    "script_payout" / VarBytes(),
    "payout_address" / _script_address("script_payout"),
    "reward" / Int16ul,  # basis points
)
Payouts = VarArray(PayoutShare, min_size=3, prefix=Int8ub)


def _is_evo(ctx) -> bool:
    return ctx.type == MNTYPE_EVO


def _platform(ctx) -> bool:
    return ctx.type == MNTYPE_EVO and ctx.version < PROTX_EXT_ADDR


# --- type 1-4: provider transactions (evo/providertx.h) ---------------------

ProRegTx = Struct(
    "version" / KnownVersion(2, 1, PROTX_EXT_ADDR, "CProRegTx"),
    "type" / Int16ul,  # MnType: 0 regular, 1 evo
    "mode" / Int16ul,
    "collateral_outpoint" / OutPoint,
    "net_info" / NetInfo,
    "key_id_owner" / Hash160,
    "owner_address" / _key_address("key_id_owner"),
    "pub_key_operator" / BLSPubKey,
    "key_id_voting" / Hash160,
    "voting_address" / _key_address("key_id_voting"),
    "operator_reward" / Int16ul,
    "script_payout" / If(this.version < PROTX_EXT_ADDR, VarBytes()),
    "payout_address" / _script_address("script_payout"),
    "payouts" / If(this.version >= PROTX_EXT_ADDR, Payouts),
    "inputs_hash" / Hash256,
    "platform_node_id" / If(_is_evo, Hash160),
    "platform_p2p_port" / If(_platform, Int16ul),
    "platform_http_port" / If(_platform, Int16ul),
    "sig" / VarBytes(),
    Terminated,
)

ProUpServTx = Struct(
    "version" / KnownVersion(2, 1, PROTX_EXT_ADDR, "CProUpServTx"),
    "type" / If(this.version >= PROTX_BASIC_BLS, Int16ul),
    "pro_tx_hash" / Hash256,
    "net_info" / NetInfo,
    "script_operator_payout" / VarBytes(),
    "operator_payout_address" / _script_address("script_operator_payout"),
    "inputs_hash" / Hash256,
    "platform_node_id" / If(_is_evo, Hash160),
    "platform_p2p_port" / If(_platform, Int16ul),
    "platform_http_port" / If(_platform, Int16ul),
    "sig" / BLSSig,
    Terminated,
)

ProUpRegTx = Struct(
    "version" / KnownVersion(2, 1, PROTX_EXT_ADDR, "CProUpRegTx"),
    "pro_tx_hash" / Hash256,
    "mode" / Int16ul,
    "pub_key_operator" / BLSPubKey,
    "key_id_voting" / Hash160,
    "voting_address" / _key_address("key_id_voting"),
    "script_payout" / If(this.version < PROTX_EXT_ADDR, VarBytes()),
    "payout_address" / _script_address("script_payout"),
    "payouts" / If(this.version >= PROTX_EXT_ADDR, Payouts),
    "inputs_hash" / Hash256,
    "sig" / VarBytes(),
    Terminated,
)

ProUpRevTx = Struct(
    "version" / KnownVersion(2, 1, PROTX_EXT_ADDR, "CProUpRevTx"),
    "pro_tx_hash" / Hash256,
    "reason" / Int16ul,  # 0 not specified, 1 termination, 2 compromised keys, 3 change of keys
    "inputs_hash" / Hash256,
    "sig" / BLSSig,
    Terminated,
)

# --- type 5: coinbase (evo/cbtx.h, CCbTx::Version) --------------------------

CbTx = Struct(
    "version" / KnownVersion(2, 1, 3, "CCbTx"),
    "height" / Int32sl,
    "merkle_root_mn_list" / Hash256,
    "merkle_root_quorums" / If(this.version >= 2, Hash256),
    "best_cl_height_diff" / If(this.version >= 3, CompactSizeMax),
    "best_cl_signature" / If(this.version >= 3, BLSSig),
    "credit_pool_balance" / If(this.version >= 3, Int64sl),
    Terminated,
)

# --- type 6: quorum commitment (llmq/commitment.h) ---------------------------

FinalCommitmentTxPayload = Struct(
    "version" / KnownVersion(2, 1, 1, "CFinalCommitmentTxPayload"),
    "height" / Int32ul,
    "commitment" / FinalCommitment,
    Terminated,
)

# --- type 7: hard-fork signal (evo/mnhftx.h) ---------------------------------

MnhfTxPayload = Struct(
    "version" / KnownVersion(1, 1, 1, "MNHFTxPayload"),
    "signal"
    / Struct(
        "version_bit" / Int8ub,
        "quorum_hash" / Hash256,
        "sig" / BLSSig,  # always the basic scheme
    ),
    Terminated,
)

# --- types 8 and 9: asset lock / unlock (evo/assetlocktx.h) ------------------

AssetLockPayload = Struct(
    "version" / KnownVersion(1, 1, 2, "CAssetLockPayload"),
    "credit_outputs" / VarArray(TxOut, min_size=TXOUT_MIN_SIZE),
    Terminated,
)

AssetUnlockPayload = Struct(
    # version 2 (PR #7639) keeps the layout and changes only how the txid is hashed
    "version" / KnownVersion(1, 1, 2, "CAssetUnlockPayload"),
    "index" / Int64ul,
    "fee" / Int32ul,
    "requested_height" / Int32ul,
    "quorum_hash" / Hash256,
    "quorum_sig" / BLSSig,
    Terminated,
)

# nType -> payload layout (primitives/transaction.h TRANSACTION_*)
SPECIAL_PAYLOADS: dict[int, Construct] = {
    1: ProRegTx,
    2: ProUpServTx,
    3: ProUpRegTx,
    4: ProUpRevTx,
    5: CbTx,
    6: FinalCommitmentTxPayload,
    7: MnhfTxPayload,
    8: AssetLockPayload,
    9: AssetUnlockPayload,
}

# nType -> name, for the info column (src/primitives/transaction.h
# TRANSACTION_*, the prefix left out).  decode() keeps the number only.
TX_TYPE_NAMES = {
    0: "NORMAL",
    1: "PROVIDER_REGISTER",
    2: "PROVIDER_UPDATE_SERVICE",
    3: "PROVIDER_UPDATE_REGISTRAR",
    4: "PROVIDER_UPDATE_REVOKE",
    5: "COINBASE",
    6: "QUORUM_COMMITMENT",
    7: "MNHF_SIGNAL",
    8: "ASSET_LOCK",
    9: "ASSET_UNLOCK",
}


def decode_payload(tx_type: int, raw: bytes, network: str | None = None):
    """Decode one ``vExtraPayload``: ``(payload, None)`` or ``(None, reason)``.

    Never raises for bad payload bytes: the reason names the field and the
    offset inside the payload.  ``network`` picks the address prefixes
    (script.py; None: mainnet).

    >>> decode_payload(42, b"\\x01")
    (None, 'no payload layout for special transaction type 42')
    >>> decode_payload(8, bytes(10001))[1]
    'payload of 10001 bytes is above MAX_TX_EXTRA_PAYLOAD (10000, src/consensus/consensus.h)'
    """
    struct = SPECIAL_PAYLOADS.get(tx_type)
    if struct is None:
        return None, f"no payload layout for special transaction type {tx_type}"
    if len(raw) > MAX_TX_EXTRA_PAYLOAD:
        return None, f"payload of {len(raw)} bytes is above {MAX_TX_EXTRA_PAYLOAD}"
    stream = io.BytesIO(raw)
    try:
        payload = parse_plain(struct, stream, network=network)
        rebuilt = build_plain(struct, payload)
    except TerminatedError:  # Terminated read the first extra byte
        return None, f"trailing bytes at payload offset {stream.tell() - 1}"
    except ConstructError as exc:
        text = str(exc).splitlines()[-1] if str(exc) else type(exc).__name__
        where = f" in {exc.path}" if exc.path else ""
        return None, f"{text}{where} at payload offset {stream.tell()}"
    except (ValueError, KeyError, IndexError, OverflowError) as exc:  # leaks from construct
        return None, f"{type(exc).__name__}: {exc} at payload offset {stream.tell()}"
    if rebuilt != raw:  # a layout that does not round trip would mislead
        return None, "payload does not build back to the same bytes"
    return payload, None


def build_payload(tx_type: int, payload, path=None) -> bytes:
    """Serialise a decoded payload of special transaction type ``tx_type``.

    >>> signal = {"version_bit": 1, "quorum_hash": "00" * 32, "sig": "00" * 96}
    >>> build_payload(7, {"version": 1, "signal": signal})[:2].hex()
    '0101'
    """
    struct = SPECIAL_PAYLOADS.get(tx_type)
    if struct is None:
        raise ConstructError(f"no payload layout for special transaction type {tx_type}", path=path)
    try:
        return build_plain(struct, payload)
    except (KeyError, TypeError, ValueError) as exc:  # an incomplete or mistyped dict
        raise ConstructError(
            f"cannot build the type {tx_type} payload: {type(exc).__name__} {exc}", path=path
        ) from None


__all__ = [
    "MAX_TX_EXTRA_PAYLOAD",
    "SPECIAL_PAYLOADS",
    "TX_TYPE_NAMES",
    "AssetLockPayload",
    "AssetUnlockPayload",
    "CbTx",
    "FinalCommitmentTxPayload",
    "MnhfTxPayload",
    "PayoutShare",
    "ProRegTx",
    "ProUpRegTx",
    "ProUpRevTx",
    "ProUpServTx",
    "build_payload",
    "decode_payload",
]
