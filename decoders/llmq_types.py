"""LLMQ type numbers and names (dashpay/dash src/llmq/params.h, ``Consensus::LLMQType``).

Its own module because both commitment.py (CFinalCommitment) and the
message families (llmq.py, signing.py, mnlist.py) name the type, and
llmq.py imports commitment.py.

Only the names are needed: every bitset and vector carries its own length
on the wire, and regtest/devnet sizes can be overridden from the command
line, so no layout depends on the size/threshold table.  What bounds them
is the largest quorum, MAX_QUORUM_MEMBERS: a bitset with a bit per member,
or a vector with an entry per member (or per threshold member), is never
longer in a message Core accepts (each DKG message's PreVerifyMessage
bans a size other than the quorum's, src/llmq/dkgsession.cpp).

>>> LLMQ_TYPE_NAMES[5]
'llmq_60_75'
"""

from __future__ import annotations

from .bitsets import DynamicBitSet
from .limits import Limit
from .structs import Named

# llmq/signing_shares.h: "400 is the maximum quorum size" (the comment on
# MAX_MSGS_TOTAL_BATCHED_SIGS); llmq_400_60 and llmq_400_85 are the largest
# types of every release (llmq/params.h).
MAX_QUORUM_MEMBERS = Limit(400, "the largest quorum size", "src/llmq/params.h llmq_400_60")

# DYNBITSET of one bit per quorum member (CFinalCommitment signers and
# validMembers, a complaint's members, a premature commitment's members).
MemberBitSet = DynamicBitSet(MAX_QUORUM_MEMBERS)

# Consensus::LLMQType (dashpay/dash src/llmq/params.h); 255 is LLMQ_NONE.
LLMQ_TYPE_NAMES = {
    1: "llmq_50_60",
    2: "llmq_400_60",
    3: "llmq_400_85",
    4: "llmq_100_67",
    5: "llmq_60_75",
    6: "llmq_25_67",
    100: "llmq_test",
    101: "llmq_devnet",
    102: "llmq_test_v17",
    103: "llmq_test_dip0024",
    104: "llmq_test_instantsend",
    105: "llmq_devnet_dip0024",
    106: "llmq_test_platform",
    107: "llmq_devnet_platform",
    255: "llmq_none",
}

# Put right after an ``llmq_type`` field: its name, or None when unknown.
LLMQTypeName = Named(LLMQ_TYPE_NAMES, "llmq_type")

__all__ = ["LLMQ_TYPE_NAMES", "LLMQTypeName", "MAX_QUORUM_MEMBERS", "MemberBitSet"]
