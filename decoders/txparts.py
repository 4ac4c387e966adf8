"""Transaction parts shared by transaction.py and special_tx.py.

``CTxIn`` and ``CTxOut`` (dashpay/dash src/primitives/transaction.h), the
special-transaction constants and the smallest wire sizes.  A leaf module:
transaction.py decodes extra payloads with special_tx.py, whose asset-lock
payload holds ``CTxOut``s, so both import these from here and neither
imports the other at call time.
"""

from __future__ import annotations

from construct import Computed, Int32ul, Int64sl

from .primitives import OutPoint, VarBytes
from .script import dash_amount, describe_output, sig_asm
from .structs import Struct

# CTransaction::SPECIAL_VERSION and the special types transaction.py needs.
SPECIAL_VERSION = 3
TRANSACTION_NORMAL = 0
TRANSACTION_ASSET_UNLOCK = 9

# Smallest wire sizes, used to reject hostile counts before parsing.
TXIN_MIN_SIZE = 32 + 4 + 1 + 4
TXOUT_MIN_SIZE = 8 + 1
TX_MIN_SIZE = 4 + 1 + 1 + 4

NULL_HASH = "00" * 32
NULL_INDEX = 0xFFFFFFFF


def context_network(context) -> str | None:
    """The network ``decode()`` was given, from any context below it."""
    params = context.get("_params")
    return params.get("network") if params is not None else None


def is_coinbase_prevout(prevout) -> bool:
    """COutPoint::IsNull: the prevout of a coinbase input."""
    return isinstance(prevout, dict) and prevout.get("hash") == NULL_HASH and prevout.get("n") == NULL_INDEX


def _script_sig_asm(context) -> str | None:
    # Core shows a coinbase input's script as "coinbase" hex, with no asm
    if is_coinbase_prevout(context["prevout"]):
        return None
    return sig_asm(context["script_sig"])


def _output_info(context) -> tuple:
    info = context.get("_output_info")
    if info is None:
        info = describe_output(context["script_pub_key"], context_network(context))
        context["_output_info"] = info
    return info


def _value_dash(context):
    return dash_amount(context["value"])


def _asm(context):
    return _output_info(context)[0]


def _type(context):
    return _output_info(context)[1]


def _address(context):
    return _output_info(context)[2]


# CTxIn.  ``script_sig_asm`` (not on the wire) is the scriptSig as
# decoderawtransaction shows it (script.py), None for a coinbase input.
TxIn = Struct(
    "prevout" / OutPoint,
    "script_sig" / VarBytes(),
    "script_sig_asm" / Computed(_script_sig_asm),
    "sequence" / Int32ul,
)

# CTxOut.  Not on the wire: ``value_dash``, the value as Core's RPC prints
# it (DASH, eight decimals, as text); the scriptPubKey's asm, type and
# address on the network decode() was given (script.py).
TxOut = Struct(
    "value" / Int64sl,  # duffs
    "value_dash" / Computed(_value_dash),
    "script_pub_key" / VarBytes(),
    "script_pub_key_asm" / Computed(_asm),
    "script_pub_key_type" / Computed(_type),
    "address" / Computed(_address),
)

__all__ = [
    "NULL_HASH",
    "NULL_INDEX",
    "SPECIAL_VERSION",
    "TRANSACTION_ASSET_UNLOCK",
    "TRANSACTION_NORMAL",
    "TXIN_MIN_SIZE",
    "TXOUT_MIN_SIZE",
    "TX_MIN_SIZE",
    "TxIn",
    "TxOut",
    "context_network",
    "is_coinbase_prevout",
]
