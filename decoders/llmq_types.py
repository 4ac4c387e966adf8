"""LLMQ type numbers and names (dashpay/dash src/llmq/params.h, ``Consensus::LLMQType``).

Its own module because both commitment.py (CFinalCommitment) and the
message families (llmq.py, signing.py, mnlist.py) name the type, and
llmq.py imports commitment.py.

Only the names are needed: every bitset and vector carries its own length
on the wire, and regtest/devnet sizes can be overridden from the command
line, so no layout depends on the size/threshold table.

>>> LLMQ_TYPE_NAMES[5]
'llmq_60_75'
"""

from __future__ import annotations

from .structs import Named

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

__all__ = ["LLMQ_TYPE_NAMES", "LLMQTypeName"]
