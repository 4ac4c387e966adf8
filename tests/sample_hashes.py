"""The hashes Dash Core gives the objects in samples/, computed from bytes, not by the decoders.

tests/test_samples.py checks every hash a decoder reports against these,
and follows the names messages use with them, so each is computed here the
way Core computes it (the Dash Core path is given with each) and from the
wire bytes wherever the message carries them.  Hashes are shown as RPC
shows them: the 32 wire bytes reversed, in hex.

>>> x11(bytes(80))[:16], clsig_request_id(1)[:16]
('a33e7ae4978d4c85', 'ab1ab41bb209c7d7')
"""

from __future__ import annotations

import hashlib
import struct

import dash_hash

NULL = "00" * 32
BLS_SIG_SIZE = 96  # src/bls/bls.h CBLSSignature::SerSize


def sha256d(data: bytes) -> bytes:
    return hashlib.sha256(hashlib.sha256(data).digest()).digest()


def shown(wire_bytes: bytes) -> str:
    """A hash as RPC shows it: the wire bytes reversed, in hex."""
    return wire_bytes[::-1].hex()


def wire(shown_hash: str) -> bytes:
    """The wire bytes of a hash shown as RPC shows it."""
    return bytes.fromhex(shown_hash)[::-1]


def x11(header: bytes) -> str:
    """A block's hash: X11 of its 80-byte header (src/primitives/block.cpp CBlockHeader::GetHash)."""
    return shown(dash_hash.getPoWHash(header))


def header_bytes(header: dict) -> bytes:
    """The 80 bytes of a decoded header (src/primitives/block.h CBlockHeader), from its fields.

    A ``headers2`` entry travels compressed (parent, version and time may be
    left out), so its hash can only be checked on the header rebuilt.
    """
    return struct.pack(
        "<I32s32sIII",
        header["version"] & 0xFFFFFFFF,
        wire(header["prev_block"]),
        wire(header["merkle_root"]),
        header["time"],
        header["bits"],
        header["nonce"],
    )


def meets_target(block_hash: str, bits: int) -> bool:
    """src/pow.cpp CheckProofOfWork: the hash as a number at most the compact target."""
    return int(block_hash, 16) <= (bits & 0xFFFFFF) << (8 * ((bits >> 24) - 3))


def merkle_root(txids: list[str]) -> str:
    """src/consensus/merkle.cpp ComputeMerkleRoot: pairs hashed, an odd last one doubled."""
    level = [wire(t) for t in txids]
    while len(level) > 1:
        if len(level) % 2:
            level.append(level[-1])
        level = [sha256d(level[i] + level[i + 1]) for i in range(0, len(level), 2)]
    return shown(level[0]) if level else NULL


def compact_size(data: bytes, at: int) -> tuple[int, int]:
    """(value, offset after it) of a CompactSize (src/serialize.h ReadCompactSize)."""
    first = data[at]
    width = {0xFD: 2, 0xFE: 4, 0xFF: 8}.get(first, 0)
    return (int.from_bytes(data[at + 1 : at + 1 + width], "little") if width else first), at + 1 + width


def compact_bytes(n: int) -> bytes:
    if n < 0xFD:
        return bytes([n])
    return b"\xfd" + struct.pack("<H", n) if n <= 0xFFFF else b"\xfe" + struct.pack("<I", n)


def var_str(text: str) -> bytes:
    """A std::string or std::string_view as serialised (src/serialize.h): length, then bytes."""
    return compact_bytes(len(text)) + text.encode()


# -- transactions, cut from the bytes of the message carrying them -----------------
def transaction_end(data: bytes, at: int) -> int:
    """Where the transaction starting at ``at`` ends (src/primitives/transaction.h).

    A Dash transaction has no witness; a special one (version 3 and a type
    other than 0, ``HasExtraPayloadField``) ends with its extra payload.
    """
    (version_type,) = struct.unpack_from("<I", data, at)
    at += 4
    count, at = compact_size(data, at)
    for _ in range(count):  # prevout (36), scriptSig, nSequence
        length, at = compact_size(data, at + 36)
        at += length + 4
    count, at = compact_size(data, at)
    for _ in range(count):  # nValue, scriptPubKey
        length, at = compact_size(data, at + 8)
        at += length
    at += 4  # nLockTime
    if version_type & 0xFFFF >= 3 and version_type >> 16:
        length, at = compact_size(data, at)
        at += length
    return at


def transactions(data: bytes, at: int, count: int) -> tuple[list[bytes], int]:
    out = []
    for _ in range(count):
        end = transaction_end(data, at)
        out.append(data[at:end])
        at = end
    return out, at


def carried_transactions(command: str, payload: bytes) -> list[bytes]:
    """The raw transactions a tx, block, blocktxn or cmpctblock (its prefilled ones) carries.

    >>> carried_transactions("blocktxn", bytes(32) + b"\\x00")
    []
    """
    if command == "tx":
        return [payload]
    if command == "block":
        count, at = compact_size(payload, 80)
        return transactions(payload, at, count)[0]
    if command == "blocktxn":
        count, at = compact_size(payload, 32)
        return transactions(payload, at, count)[0]
    # cmpctblock (src/blockencodings.h): header, nonce, short ids, then (index, tx) pairs
    shorts, at = compact_size(payload, 88)
    count, at = compact_size(payload, at + 6 * shorts)
    out = []
    for _ in range(count):
        _, at = compact_size(payload, at)
        raw, at = transactions(payload, at, 1)
        out += raw
    return out


def inputs_hash(vin: list[dict]) -> str:
    """A ProTx's inputsHash: the tx's prevouts hashed (src/evo/specialtx.cpp CalcTxInputsHash)."""
    return shown(
        sha256d(b"".join(wire(i["prevout"]["hash"]) + struct.pack("<I", i["prevout"]["n"]) for i in vin))
    )


# -- BIP152 short transaction ids (src/blockencodings.cpp) ---------------------------
_M64 = 0xFFFFFFFFFFFFFFFF


def _rotl(x: int, b: int) -> int:
    return ((x << b) | (x >> (64 - b))) & _M64


def siphash24(k0: int, k1: int, data: bytes) -> int:
    """SipHash-2-4 (src/crypto/siphash.cpp; SipHashUint256 is it on the 32 bytes of a uint256).

    >>> hex(siphash24(0x0706050403020100, 0x0F0E0D0C0B0A0908, bytes(range(15))))
    '0xa129ca6149be45e5'
    """
    v0, v1 = k0 ^ 0x736F6D6570736575, k1 ^ 0x646F72616E646F6D
    v2, v3 = k0 ^ 0x6C7967656E657261, k1 ^ 0x7465646279746573
    whole = len(data) - len(data) % 8
    tail = data[whole:] + bytes(7 - len(data) % 8) + bytes([len(data) & 0xFF])
    words = [int.from_bytes(data[i : i + 8], "little") for i in range(0, whole, 8)]
    words.append(int.from_bytes(tail, "little"))

    def rounds(n: int) -> None:
        nonlocal v0, v1, v2, v3
        for _ in range(n):
            v0 = (v0 + v1) & _M64
            v1 = _rotl(v1, 13) ^ v0
            v0 = _rotl(v0, 32)
            v2 = (v2 + v3) & _M64
            v3 = _rotl(v3, 16) ^ v2
            v0 = (v0 + v3) & _M64
            v3 = _rotl(v3, 21) ^ v0
            v2 = (v2 + v1) & _M64
            v1 = _rotl(v1, 17) ^ v2
            v2 = _rotl(v2, 32)

    for m in words:
        v3 ^= m
        rounds(2)
        v0 ^= m
    v2 ^= 0xFF
    rounds(4)
    return v0 ^ v1 ^ v2 ^ v3


def short_id_keys(cmpctblock: bytes) -> tuple[int, int]:
    """FillShortTxIDSelector: the first two u64 of SHA256(header and nonce), one SHA256."""
    digest = hashlib.sha256(cmpctblock[:88]).digest()
    return struct.unpack_from("<QQ", digest)


def short_id(keys: tuple[int, int], txid: str) -> int:
    """GetShortID: SipHash of the txid (Dash has no wtxid), cut to 6 bytes."""
    return siphash24(keys[0], keys[1], wire(txid)) & 0xFFFFFFFFFFFF


# -- the request ids of LLMQ signatures ------------------------------------------------
def clsig_request_id(height: int) -> str:
    """src/chainlock/clsig.cpp GenSigRequestId: SerializeHash(pair("clsig", int32 height))."""
    return shown(sha256d(var_str("clsig") + struct.pack("<i", height)))


def islock_request_id(inputs: list[dict]) -> str:
    """src/instantsend/lock.cpp GetRequestId: "islock", then the inputs as a vector of outpoints."""
    outpoints = b"".join(wire(o["hash"]) + struct.pack("<I", o["n"]) for o in inputs)
    return shown(sha256d(var_str("islock") + compact_bytes(len(inputs)) + outpoints))


def mnhf_request_id(version_bit: int) -> str:
    """src/evo/mnhftx.cpp MNHFTxPayload::GetRequestId: SerializeHash(pair("mnhf", int64 bit))."""
    return shown(sha256d(var_str("mnhf") + struct.pack("<q", version_bit)))


def mnhf_message_hash(raw_tx: bytes) -> str:
    """src/evo/mnhftx.cpp CheckMNHFTx: the txid with the signal's signature null.

    The signature ends the payload, which ends the transaction; a null
    CBLSSignature serialises as zeros (src/bls/bls.h ToBytes).
    """
    return shown(sha256d(raw_tx[:-BLS_SIG_SIZE] + bytes(BLS_SIG_SIZE)))


def headers_hashes(payload: bytes) -> list[str]:
    """X11 of each 80-byte header of a ``headers`` payload, read from its bytes."""
    count, at = compact_size(payload, 0)
    out = []
    for _ in range(count):
        out.append(x11(payload[at : at + 80]))
        _, at = compact_size(payload, at + 80)  # tx_count, always 0
    return out
