"""Transaction parts shared by transaction.py and special_tx.py.

``CTxIn`` and ``CTxOut`` (dashpay/dash src/primitives/transaction.h), the
special-transaction constants and the smallest wire sizes.  A leaf module:
transaction.py decodes extra payloads with special_tx.py, whose asset-lock
payload holds ``CTxOut``s, so both import these from here and neither
imports the other at call time.
"""

from __future__ import annotations

from construct import Int32ul, Int64sl

from .primitives import OutPoint, VarBytes
from .structs import Struct

# CTransaction::SPECIAL_VERSION and the special types transaction.py needs.
SPECIAL_VERSION = 3
TRANSACTION_NORMAL = 0
TRANSACTION_ASSET_UNLOCK = 9

# Smallest wire sizes, used to reject hostile counts before parsing.
TXIN_MIN_SIZE = 32 + 4 + 1 + 4
TXOUT_MIN_SIZE = 8 + 1
TX_MIN_SIZE = 4 + 1 + 1 + 4

TxIn = Struct(
    "prevout" / OutPoint,
    "script_sig" / VarBytes(),
    "sequence" / Int32ul,
)

TxOut = Struct(
    "value" / Int64sl,  # duffs
    "script_pub_key" / VarBytes(),
)

__all__ = [
    "SPECIAL_VERSION",
    "TRANSACTION_ASSET_UNLOCK",
    "TRANSACTION_NORMAL",
    "TXIN_MIN_SIZE",
    "TXOUT_MIN_SIZE",
    "TX_MIN_SIZE",
    "TxIn",
    "TxOut",
]
