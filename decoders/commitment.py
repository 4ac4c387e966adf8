"""The LLMQ final commitment, ``CFinalCommitment`` (dashpay/dash src/llmq/commitment.h).

One structure, four versions: the body of ``qfcommit``, of the quorum
commitment special transaction (type 6, see special_tx.py) and of the
commitments listed in ``mnlistdiff`` and ``qrinfo``.

=========  =============  =======================================
version    BLS encoding   quorumIndex present
=========  =============  =======================================
1          legacy         no
2          legacy         yes (rotating quorum)
3          basic          no
4          basic          yes (rotating quorum)
=========  =============  =======================================

The BLS scheme only changes how the 48/96-byte values are interpreted, not
their size; they are kept as opaque hex here.  ``signers`` and
``valid_members`` are DYNBITSETs (bitsets.py), one bit per quorum member,
shown as bit strings; ``signers_count``/``signers_hex`` and
``valid_members_count``/``valid_members_hex`` give them as Core's RPC does.
A "null" commitment (mined when no quorum formed) has the same layout with
clear bits and zero key, hash and signatures.  Both bitsets have one bit
per member of the quorum (CFinalCommitment::VerifySizes refuses another
size), so at most the largest quorum's (llmq_types.MAX_QUORUM_MEMBERS).
"""

from __future__ import annotations

from construct import Computed, Construct, ConstructError, If, Int8ub, Int16sl, this
from construct.core import stream_read, stream_write

from .llmq_types import LLMQTypeName, MemberBitSet
from .primitives import BLSPubKey, BLSSig, Hash256
from .structs import Struct

LEGACY_BLS_NON_INDEXED_QUORUM_VERSION = 1
LEGACY_BLS_INDEXED_QUORUM_VERSION = 2
BASIC_BLS_NON_INDEXED_QUORUM_VERSION = 3
BASIC_BLS_INDEXED_QUORUM_VERSION = 4


class KnownVersion(Construct):
    """A little-endian unsigned version field that must lie in ``low..high``.

    Core reads on after an unknown version (or stops, for ProTx payloads);
    a decoder that guessed a layout would show wrong fields, so an unknown
    version is an error naming the structure.

    >>> KnownVersion(2, 1, 4, "CFinalCommitment").parse(b"\\x03\\x00")
    3
    """

    def __init__(self, width: int, low: int, high: int, what: str):
        super().__init__()
        self.width = width
        self.low = low
        self.high = high
        self.what = what

    def _parse(self, stream, context, path):
        value = int.from_bytes(stream_read(stream, self.width, path), "little")
        if not self.low <= value <= self.high:
            raise ConstructError(
                f"{self.what} version {value} is not known ({self.low}..{self.high})", path=path
            )
        return value

    def _build(self, obj, stream, context, path):
        if not isinstance(obj, int) or not self.low <= obj <= self.high:
            raise ConstructError(f"{self.what} version {obj!r} is not known", path=path)
        stream_write(stream, obj.to_bytes(self.width, "little"), self.width, path)
        return obj

    def _sizeof(self, context, path):
        return self.width


def bits_hex(bits) -> str | None:
    """A bitset as Core's RPC prints it (``BitsVectorToHexStr``,
    src/llmq/commitment.h): bit *i* in byte ``i // 8`` at ``1 << (i % 8)``,
    the bytes as hex.  None for anything that is not a bit string.

    >>> bits_hex("1010000001")
    '0502'
    """
    if not isinstance(bits, str) or bits.strip("01"):
        return None
    # bit i is the i-th lowest bit of a little-endian number: one conversion,
    # not a loop over the bits (a mnlistdiff may hold thousands of bitsets)
    value = int(bits[::-1], 2) if bits else 0
    return value.to_bytes((len(bits) + 7) // 8, "little").hex()


def _count(field: str):
    def count(context):
        bits = context[field]
        return bits.count("1") if isinstance(bits, str) else None

    return Computed(count)


def _hex(field: str):
    return Computed(lambda context: bits_hex(context[field]))


FinalCommitment = Struct(
    "version" / KnownVersion(2, 1, 4, "CFinalCommitment"),
    "llmq_type" / Int8ub,
    "llmq_type_name" / LLMQTypeName,
    "quorum_hash" / Hash256,
    # only the indexed (rotating-quorum) versions carry quorumIndex
    "quorum_index"
    / If(
        (this.version == LEGACY_BLS_INDEXED_QUORUM_VERSION)
        | (this.version == BASIC_BLS_INDEXED_QUORUM_VERSION),
        Int16sl,
    ),
    "signers" / MemberBitSet,
    # CFinalCommitment::ToJson's signersCount / signers (hex), likewise for
    # validMembers: not on the wire, shown so a capture reads like dash-cli
    "signers_count" / _count("signers"),
    "signers_hex" / _hex("signers"),
    "valid_members" / MemberBitSet,
    "valid_members_count" / _count("valid_members"),
    "valid_members_hex" / _hex("valid_members"),
    "quorum_public_key" / BLSPubKey,
    "quorum_vvec_hash" / Hash256,
    "quorum_sig" / BLSSig,
    "members_sig" / BLSSig,
)

# The smallest commitment (version 1, two empty bitsets): a bound for
# callers that check a count of commitments against the bytes left.
FINAL_COMMITMENT_MIN_SIZE = 2 + 1 + 32 + 1 + 1 + 48 + 32 + 96 + 96

__all__ = [
    "FINAL_COMMITMENT_MIN_SIZE",
    "bits_hex",
    "FinalCommitment",
    "KnownVersion",
    "LEGACY_BLS_NON_INDEXED_QUORUM_VERSION",
    "LEGACY_BLS_INDEXED_QUORUM_VERSION",
    "BASIC_BLS_NON_INDEXED_QUORUM_VERSION",
    "BASIC_BLS_INDEXED_QUORUM_VERSION",
]
