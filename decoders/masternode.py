"""Masternode connection messages: ``mnauth`` and ``platformban``.

Follows dashpay/dash src/evo/mnauth.h (``CMNAuth``) and
src/masternode/meta.h (``PlatformBanMessage``, DIP-0031).
"""

from __future__ import annotations

from construct import Int32sl, Terminated

from .primitives import BLSSig, Hash256
from .structs import Struct

# CMNAuth, 128 bytes, sent right after verack by a masternode.  The signed
# hash (operator key, the peer's version-message challenge, the inbound
# flag, and from MNAUTH_NODE_VER_VERSION the sender's protocol version) is
# not on the wire, so the layout never changed.
MnAuth = Struct(
    "pro_reg_tx_hash" / Hash256,
    "sig" / BLSSig,
    Terminated,
)

# PlatformBanMessage, 164 bytes, from PLATFORM_BAN_VERSION (70238) on.
# The signature is a recovered signature of the platform LLMQ, always in
# the basic BLS scheme (CBLSSignatureVersionWrapper with legacy=false); the
# object's hash excludes it.
PlatformBan = Struct(
    "protx_hash" / Hash256,
    "requested_height" / Int32sl,
    "quorum_hash" / Hash256,
    "signature" / BLSSig,
    Terminated,
)

MESSAGES = {
    "mnauth": MnAuth,
    "platformban": PlatformBan,
}

# The info column (see control.py SUMMARIES).
SUMMARIES = {
    "mnauth": (("pro_reg_tx_hash", "hash", "protx"),),
    "platformban": (("protx_hash", "hash", "protx"), ("requested_height", "plain", "height"),
                    ("quorum_hash", "hash", "quorum")),
}  # fmt: skip
