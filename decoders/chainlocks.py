"""ChainLocks: ``clsig``.

Follows dashpay/dash src/chainlock/clsig.h (``chainlock::ChainLockSig``;
older releases: src/llmq/clsig.h, src/llmq/quorums_chainlocks.h
``CChainLockSig``).
"""

from __future__ import annotations

from construct import Int32sl, Terminated

from .primitives import BLSSig, Hash256, Identified, sha256d
from .structs import Struct

# ChainLockSig, 132 bytes.  ``hash`` (not on the wire) is SHA256d of the
# payload: the hash a MSG_CLSIG (29) inv announces it under.
ClSig = Identified(
    Struct(
        "height" / Int32sl,
        "block_hash" / Hash256,
        "sig" / BLSSig,
        Terminated,
    ),
    "hash",
    sha256d,
)

MESSAGES = {
    "clsig": ClSig,
}

# The info column (see control.py SUMMARIES).
SUMMARIES = {
    "clsig": (("height", "plain"), ("block_hash", "hash", "block")),
}
