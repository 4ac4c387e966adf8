"""InstantSend locks: ``isdlock`` and the retired ``islock``.

Follows dashpay/dash src/instantsend/lock.h (``instantsend::InstantSendLock``)
and, for the version-dependent form and the legacy lock, the older
src/llmq/instantsend.h (``CInstantSendLock``) and src/llmq/instantsend.cpp
(``CInstantSendManager::ProcessMessage``).
"""

from __future__ import annotations

from construct import If, Int8ub, Terminated, this

from .primitives import BLSSig, Hash256, Identified, sha256d
from .structs import Struct
from .vectors import OutPointArray
from .versions import ISDLOCK_PROTO_VERSION

# InstantSendLock, the deterministic lock (DIP-0022/0024).  Core before the
# move to instantsend/lock.h read ``version`` and ``cycle_hash`` only when
# the connection's version was >= ISDLOCK_PROTO_VERSION (70220), so below
# it the bytes are laid out as the legacy lock; nodes never send isdlock to
# such peers.  From ISDLOCK_CYCLEHASH_UPDATE_VERSION (70237) ``cycle_hash``
# names the signing quorum's base block instead of the DIP-0024 cycle's
# base block: the meaning changed, the layout did not.  ``hash`` (not on the
# wire) is SHA256d of the payload, the MSG_ISDLOCK (31) inv hash.
IsDLock = Identified(
    Struct(
        "version" / If(this._params.version >= ISDLOCK_PROTO_VERSION, Int8ub),
        "inputs" / OutPointArray,
        "txid" / Hash256,
        "cycle_hash" / If(this._params.version >= ISDLOCK_PROTO_VERSION, Hash256),
        "sig" / BLSSig,
        Terminated,
    ),
    "hash",
    sha256d,
)

# The non-deterministic lock (CInstantSendLock with islock_version 0):
# neither version nor cycle hash.  Dropped with its inv type 30 at
# NO_LEGACY_ISLOCK_PROTO_VERSION (70231); decoded at any version so old
# captures still read.  ``hash`` is the MSG_ISLOCK inv hash.
IsLock = Identified(
    Struct(
        "inputs" / OutPointArray,
        "txid" / Hash256,
        "sig" / BLSSig,
        Terminated,
    ),
    "hash",
    sha256d,
)

MESSAGES = {
    "isdlock": IsDLock,
    "islock": IsLock,
}

# The info column (see control.py SUMMARIES).
SUMMARIES = {
    "isdlock": (("txid", "hash", "txid"), ("inputs", "count", "inputs")),
    "islock": (("txid", "hash", "txid"), ("inputs", "count", "inputs")),
}
