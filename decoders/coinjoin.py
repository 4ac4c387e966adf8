"""CoinJoin mixing (formerly PrivateSend): ``senddsq``, ``dsa``, ``dsi``,
``dsf``, ``dss``, ``dsc``, ``dssu``, ``dstx`` and ``dsq``.

Follows dashpay/dash src/coinjoin/coinjoin.h (``CCoinJoinStatusUpdate``,
``CCoinJoinAccept``, ``CCoinJoinEntry``, ``CCoinJoinQueue``,
``CCoinJoinBroadcastTx``, ``PoolMessage``, ``PoolState``), how
src/coinjoin/server.cpp, src/coinjoin/client.cpp and src/net_processing.cpp
read the rest, and for the version-dependent layouts the constants in
src/version.h (COINJOIN_SU_PROTO_VERSION, COINJOIN_PROTX_HASH_PROTO_VERSION).
The command strings kept their Darksend-era names.

A client's entry has at most COINJOIN_ENTRY_MAX_SIZE inputs and as many
outputs (the masternode refuses more, src/coinjoin/server.cpp AddEntry and
coinjoin.cpp IsValidInOuts), and the inputs a client signs belong to the
session's final transaction; those counts are refused above Core's limits
before an element is read.  The transactions are transaction.py's, bounded
by their size.
"""

from __future__ import annotations

from construct import If, Int32sl, Int64sl, Terminated, this

from .limits import Limit
from .primitives import Bool, Hash256, Identified, OutPoint, VarBytes, sha256d
from .structs import Named, Struct
from .transaction import TXIN_MIN_SIZE, TXOUT_MIN_SIZE, Transaction, TxIn, TxOut
from .vectors import VarArray
from .versions import COINJOIN_PROTX_HASH_PROTO_VERSION, COINJOIN_SU_PROTO_VERSION

# coinjoin.h: the most inputs of one entry (CCoinJoinServer::AddEntry answers
# more with ERR_MAXIMUM and takes the collateral); 9 since PrivateSend.
COINJOIN_ENTRY_MAX_SIZE = Limit(9, "COINJOIN_ENTRY_MAX_SIZE", "src/coinjoin/coinjoin.h")
# The inputs of a final transaction: nPoolMaxParticipants (20 on every chain,
# chainparams.cpp) entries of COINJOIN_ENTRY_MAX_SIZE each, the most
# CCoinJoinBroadcastTx::IsValidStructure (coinjoin.cpp) accepts.
COINJOIN_MAX_FINAL_INPUTS = Limit(
    20 * 9, "PoolMaxParticipants() * COINJOIN_ENTRY_MAX_SIZE", "src/coinjoin/coinjoin.cpp"
)

# PoolState, PoolStatusUpdate and PoolMessage (coinjoin.h), all i32.
POOL_STATES = {0: "IDLE", 1: "QUEUE", 2: "ACCEPTING_ENTRIES", 3: "SIGNING", 4: "ERROR"}
STATUS_UPDATES = {0: "REJECTED", 1: "ACCEPTED"}
POOL_MESSAGES = {
    0: "ERR_ALREADY_HAVE",
    1: "ERR_DENOM",
    2: "ERR_ENTRIES_FULL",
    3: "ERR_EXISTING_TX",
    4: "ERR_FEES",
    5: "ERR_INVALID_COLLATERAL",
    6: "ERR_INVALID_INPUT",
    7: "ERR_INVALID_SCRIPT",
    8: "ERR_INVALID_TX",
    9: "ERR_MAXIMUM",
    10: "ERR_MN_LIST",
    11: "ERR_MODE",
    12: "ERR_NON_STANDARD_PUBKEY",
    13: "ERR_NOT_A_MN",
    14: "ERR_QUEUE_FULL",
    15: "ERR_RECENT",
    16: "ERR_SESSION",
    17: "ERR_MISSING_TX",
    18: "ERR_VERSION",
    19: "MSG_NOERR",
    20: "MSG_SUCCESS",
    21: "MSG_ENTRIES_ADDED",
    22: "ERR_SIZE_MISMATCH",
}

# Whether the peer wants ``dsq`` messages (pushed directly or, from
# DSQ_INV_VERSION, announced by MSG_DSQ invs).
SendDsq = Struct(
    "send_ds_queue" / Bool,
    Terminated,
)

# CCoinJoinAccept: a client asks to join a session of one denomination
# (bit flags: 1 = 10.0001, 2 = 1.00001, 4 = 0.100001, 8 = 0.0100001,
# 16 = 0.00100001 DASH), paying with a collateral transaction.
Dsa = Struct(
    "denom" / Int32sl,
    "tx_collateral" / Transaction,
    Terminated,
)

# CCoinJoinEntry: a client's inputs, collateral and outputs.  CTxDSIn's
# extra fields are memory-only, so the inputs are plain CTxIn.
Dsi = Struct(
    "tx_ds_in" / VarArray(TxIn, min_size=TXIN_MIN_SIZE, max_count=COINJOIN_ENTRY_MAX_SIZE),
    "tx_collateral" / Transaction,
    # IsValidInOuts: as many outputs as inputs
    "tx_out" / VarArray(TxOut, min_size=TXOUT_MIN_SIZE, max_count=COINJOIN_ENTRY_MAX_SIZE),
    Terminated,
)

# The merged transaction the masternode asks every client to sign.
Dsf = Struct(
    "session_id" / Int32sl,
    "tx_final" / Transaction,
    Terminated,
)

# The client's inputs with their signatures filled in: inputs of the final
# transaction.
Dss = Struct(
    "tx_in" / VarArray(TxIn, min_size=TXIN_MIN_SIZE, max_count=COINJOIN_MAX_FINAL_INPUTS),
    Terminated,
)

# Session finished, with the pool message saying how.
Dsc = Struct(
    "session_id" / Int32sl,
    "message_id" / Int32sl,
    "message_name" / Named(POOL_MESSAGES, "message_id"),
    Terminated,
)

# CCoinJoinStatusUpdate.  ``entries_count`` was always written while its
# guard compared against a mistyped 702015; COINJOIN_SU_PROTO_VERSION
# (70224) made it "version <= 70224", and current Core never writes it.
Dssu = Struct(
    "session_id" / Int32sl,
    "state" / Int32sl,
    "state_name" / Named(POOL_STATES, "state"),
    "entries_count" / If(this._params.version <= COINJOIN_SU_PROTO_VERSION, Int32sl),
    "status_update" / Int32sl,
    "status_update_name" / Named(STATUS_UPDATES, "status_update"),
    "message_id" / Int32sl,
    "message_name" / Named(POOL_MESSAGES, "message_id"),
    Terminated,
)

# CCoinJoinBroadcastTx: a finished mixing transaction, signed by the
# masternode's operator key (BLS, 96 bytes).  Announced as MSG_DSTX (16)
# under the txid of ``tx``.  From COINJOIN_PROTX_HASH_PROTO_VERSION (70226)
# ``dstx`` and ``dsq`` name the masternode by its ProRegTx hash, before by
# its collateral outpoint (Dash Core Group's dashj reads them the same way).
Dstx = Struct(
    "tx" / Transaction,
    "protx_hash" / If(this._params.version >= COINJOIN_PROTX_HASH_PROTO_VERSION, Hash256),
    "masternode_outpoint" / If(this._params.version < COINJOIN_PROTX_HASH_PROTO_VERSION, OutPoint),
    "sig" / VarBytes(),
    "sig_time" / Int64sl,
    Terminated,
)

# CCoinJoinQueue: a masternode's open (or ready) session.  ``hash`` (not on
# the wire) is SHA256d of the payload, the MSG_DSQ (32) inv hash used from
# DSQ_INV_VERSION (70234).
Dsq = Identified(
    Struct(
        "denom" / Int32sl,
        "protx_hash" / If(this._params.version >= COINJOIN_PROTX_HASH_PROTO_VERSION, Hash256),
        "masternode_outpoint" / If(this._params.version < COINJOIN_PROTX_HASH_PROTO_VERSION, OutPoint),
        "time" / Int64sl,
        "ready" / Bool,
        "sig" / VarBytes(),
        Terminated,
    ),
    "hash",
    sha256d,
)

MESSAGES = {
    "senddsq": SendDsq,
    "dsa": Dsa,
    "dsi": Dsi,
    "dsf": Dsf,
    "dss": Dss,
    "dsc": Dsc,
    "dssu": Dssu,
    "dstx": Dstx,
    "dsq": Dsq,
}

# The info column (see control.py SUMMARIES).
SUMMARIES = {
    "senddsq": (("send_ds_queue", "plain", "wants dsq"),),
    "dsa": (("denom", "plain"), ("tx_collateral.txid", "hash", "collateral")),
    "dsi": (("tx_ds_in", "count", "input|inputs"), ("tx_out", "count", "output|outputs"),
            ("tx_collateral.txid", "hash", "collateral")),
    "dsf": (("session_id", "plain", "session"), ("tx_final.txid", "hash", "txid")),
    "dss": (("tx_in", "count", "signed input|signed inputs"),),
    "dsc": (("message_id", "name"), ("session_id", "plain", "session")),
    "dssu": (("status_update", "name"), ("message_id", "name"), ("state", "name"),
             ("session_id", "plain", "session")),
    "dstx": (("tx.txid", "hash", "txid"), ("tx.vin", "count", "in"), ("tx.vout", "count", "out"),
             ("protx_hash", "hash", "mn")),
    "dsq": (("denom", "plain"), ("ready", "plain"), ("protx_hash", "hash", "mn"),
            ("masternode_outpoint.hash", "hash", "mn")),
}  # fmt: skip
