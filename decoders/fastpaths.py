"""Hand-written parsers for the commonest payloads, beside their constructs.

``decode`` spends ~3 µs setting up construct's context and stream before it
reads a byte, which is most of the cost of an ``inv`` of one entry (45% of
a node's messages) or a ``ping``, and the constructs' field-by-field
parse is most of the rest of a ``clsig``, an ``isdlock`` or a signing
message.  A function here parses a well-formed payload of its command with
``struct`` and returns exactly the dict the construct gives (same keys,
same order, same values); for anything it is not sure of -- a short or
long payload, a CompactSize that is not the one-byte or ``fd`` form, a
count over its Core limit (the constant the construct's module names) --
it returns None and ``decode`` runs the construct, which stays the
reference and the only one that names errors.  ``decode`` has refused a
payload above MAX_PROTOCOL_MESSAGE_LENGTH before any of these runs.

Each is called as ``fast(payload, version, network)``: ``version`` is the
connection's protocol version (never None: ``decode`` fills in
PROTOCOL_VERSION, as its context does), ``network`` None or a name of
script.NETWORKS.  Layouts that depend on the version (``isdlock``, ``dsq``)
read it as their construct does.  ``tests/decoders/test_fastpaths.py``
compares each with its construct on the decoder tables' payloads, random
and damaged ones.
"""

from __future__ import annotations

import struct
from hashlib import sha256

from .headers import MAX_HEADERS_UNCOMPRESSED_RESULT
from .inventory import INV_TYPE_NAMES, MAX_INV_SZ
from .limits import MAX_PROTOCOL_MESSAGE_LENGTH
from .llmq_types import LLMQ_TYPE_NAMES
from .signing import MAX_MSGS_CNT_QSIGSESANN, MAX_MSGS_SIG_SHARES
from .sporks import SPORK_NAMES
from .versions import COINJOIN_PROTX_HASH_PROTO_VERSION, ISDLOCK_PROTO_VERSION

_INV = struct.Struct("<I32s")
_U64 = struct.Struct("<Q")
_U16 = struct.Struct("<H")


def _count(payload, pos: int, n: int) -> tuple[int, int] | tuple[None, None]:
    """A CompactSize count at ``pos``: (count, position after it), or (None, None)
    if it is not the one-byte or canonical ``fd`` form (the construct judges the rest)."""
    if pos >= n:
        return None, None
    first = payload[pos]
    if first < 0xFD:
        return first, pos + 1
    if first == 0xFD and pos + 3 <= n:
        (count,) = _U16.unpack_from(payload, pos + 1)
        if count >= 0xFD:  # non-canonical below: the construct says so
            return count, pos + 3
    return None, None


def inventory(payload: bytes, version: int, network: str | None, max_count: int = MAX_INV_SZ):
    """``inv`` / ``getdata``: std::vector<CInv> (src/protocol.h CInv), at
    most MAX_INV_SZ entries (inventory.InvMessage)."""
    n = len(payload)
    count, start = _count(payload, 0, n)
    if count is None or count > max_count or n != start + 36 * count:
        return None
    names = INV_TYPE_NAMES
    return {
        "inv": [
            {"type": t, "type_name": names.get(t), "hash": h[::-1].hex()}
            for t, h in _INV.iter_unpack(payload[start:])
        ]
    }


def notfound(payload: bytes, version: int, network: str | None):
    """``notfound``: the same vector, with no count limit but the message's
    (inventory.NotFound)."""
    if len(payload) > MAX_PROTOCOL_MESSAGE_LENGTH:
        return None
    return inventory(payload, version, network, len(payload))


def nonce(payload: bytes, version: int, network: str | None):
    """``ping`` / ``pong``: a u64 nonce (src/net_processing.cpp)."""
    if len(payload) != 8:
        return None
    return {"nonce": _U64.unpack(payload)[0]}


def _hash(payload) -> str:
    """SHA256d of the whole payload, shown as Hash256 shows it (primitives.Identified)."""
    return sha256(sha256(payload).digest()).digest()[::-1].hex()


_CLSIG = struct.Struct("<i32s96s")


def clsig(payload: bytes, version: int, network: str | None):
    """``clsig``: ChainLockSig, 132 bytes (src/chainlock/clsig.h; chainlocks.ClSig)."""
    if len(payload) != 132:
        return None
    height, block_hash, sig = _CLSIG.unpack(payload)
    return {"height": height, "block_hash": block_hash[::-1].hex(), "sig": sig.hex(), "hash": _hash(payload)}


_OUTPOINT = struct.Struct("<32sI")
_LOCK_TAIL = struct.Struct("<32s32s96s")  # txid, cycleHash, sig
_LEGACY_TAIL = struct.Struct("<32s96s")  # txid, sig


def isdlock(payload: bytes, version: int, network: str | None):
    """``isdlock``: InstantSendLock (src/instantsend/lock.h; instantsend.IsDLock).

    Below ISDLOCK_PROTO_VERSION the construct reads neither the version
    byte nor cycleHash (the legacy layout, src/llmq/instantsend.cpp), so
    neither is read here and both are None.
    """
    n = len(payload)
    if n > MAX_PROTOCOL_MESSAGE_LENGTH:  # no count limit but the message's
        return None
    deterministic = version >= ISDLOCK_PROTO_VERSION
    if deterministic:
        if not n:
            return None
        lock_version = payload[0]
        count, start = _count(payload, 1, n)
        if count is None:
            return None
        tail = _LOCK_TAIL
    else:
        lock_version = None
        count, start = _count(payload, 0, n)
        if count is None:
            return None
        tail = _LEGACY_TAIL
    inputs_end = start + 36 * count
    if n != inputs_end + tail.size:
        return None
    if deterministic:
        txid, cycle_hash, sig = tail.unpack_from(payload, inputs_end)
        cycle_hash = cycle_hash[::-1].hex()
    else:
        (txid, sig), cycle_hash = tail.unpack_from(payload, inputs_end), None
    return {
        "version": lock_version,
        "inputs": [
            {"hash": h[::-1].hex(), "n": i} for h, i in _OUTPOINT.iter_unpack(payload[start:inputs_end])
        ],
        "txid": txid[::-1].hex(),
        "cycle_hash": cycle_hash,
        "sig": sig.hex(),
        "hash": _hash(payload),
    }


_SIG_SHARE = struct.Struct("<B32sH32s32s96s")  # CSigShare, 195 bytes


def qsigshare(payload: bytes, version: int, network: str | None):
    """``qsigshare``: std::vector<CSigShare> (src/llmq/signing_shares.h; signing.QSigShare)."""
    n = len(payload)
    count, start = _count(payload, 0, n)
    if count is None or count > MAX_MSGS_SIG_SHARES or n != start + 195 * count:
        return None
    names = LLMQ_TYPE_NAMES
    return {
        "sig_shares": [
            {
                "llmq_type": llmq_type,
                "llmq_type_name": names.get(llmq_type),
                "quorum_hash": quorum_hash[::-1].hex(),
                "quorum_member": member,
                "id": id_[::-1].hex(),
                "msg_hash": msg_hash[::-1].hex(),
                "sig_share": sig.hex(),
            }
            for llmq_type, quorum_hash, member, id_, msg_hash, sig in _SIG_SHARE.iter_unpack(payload[start:])
        ]
    }


_SES_ANN = struct.Struct("<B32s32s32s")  # CSigSesAnn after its session id


def qsigsesann(payload: bytes, version: int, network: str | None):
    """``qsigsesann``: std::vector<CSigSesAnn> (src/llmq/signing_shares.h; signing.QSigSesAnn)."""
    n = len(payload)
    count, pos = _count(payload, 0, n)
    if count is None or count > MAX_MSGS_CNT_QSIGSESANN:
        return None
    names = LLMQ_TYPE_NAMES
    anns = []
    for _ in range(count):
        # primitives.VarInt (serialize.h ReadVarInt), u32 at most
        session = 0
        while True:
            if pos >= n:
                return None
            b = payload[pos]
            pos += 1
            session = (session << 7) | (b & 0x7F)
            if session > 0xFFFFFFFF:
                return None
            if not b & 0x80:
                break
            session += 1
        if pos + 97 > n:
            return None
        llmq_type, quorum_hash, id_, msg_hash = _SES_ANN.unpack_from(payload, pos)
        pos += 97
        anns.append(
            {
                "session_id": session,
                "llmq_type": llmq_type,
                "llmq_type_name": names.get(llmq_type),
                "quorum_hash": quorum_hash[::-1].hex(),
                "id": id_[::-1].hex(),
                "msg_hash": msg_hash[::-1].hex(),
            }
        )
    # every element took at least 98 bytes, so the count passed check_count
    if pos != n:
        return None
    return {"anns": anns}


_DSQ = struct.Struct("<i32sqBB")  # nDenom, proTxHash, nTime, fReady, first byte of vchSig's size
_DSQ_OLD = struct.Struct("<i32sIqBB")  # nDenom, masternodeOutpoint, nTime, fReady, ...


def dsq(payload: bytes, version: int, network: str | None):
    """``dsq``: CCoinJoinQueue (src/coinjoin/coinjoin.h; coinjoin.Dsq).

    From COINJOIN_PROTX_HASH_PROTO_VERSION the masternode is named by its
    proTxHash, before by its collateral outpoint, as the construct reads it.
    """
    n = len(payload)
    if version >= COINJOIN_PROTX_HASH_PROTO_VERSION:
        if n < _DSQ.size:
            return None
        denom, protx_hash, time, ready, size = _DSQ.unpack_from(payload)
        start, protx_hash, outpoint = _DSQ.size, protx_hash[::-1].hex(), None
    else:
        if n < _DSQ_OLD.size:
            return None
        denom, outpoint_hash, index, time, ready, size = _DSQ_OLD.unpack_from(payload)
        start, protx_hash = _DSQ_OLD.size, None
        outpoint = {"hash": outpoint_hash[::-1].hex(), "n": index}
    if size >= 0xFD or n != start + size:  # a one-byte length and nothing after vchSig
        return None
    return {
        "denom": denom,
        "protx_hash": protx_hash,
        "masternode_outpoint": outpoint,
        "time": time,
        "ready": ready,
        "sig": payload[start:].hex(),
        "hash": _hash(payload),
    }


_SPORK = struct.Struct("<iqqB")  # nSporkID, nValue, nTimeSigned, first byte of vchSig's size


def spork(payload: bytes, version: int, network: str | None):
    """``spork``: CSporkMessage (src/spork.h; sporks.Spork)."""
    n = len(payload)
    if n < 21:
        return None
    spork_id, value, time_signed, size = _SPORK.unpack_from(payload)
    if size >= 0xFD or n != 21 + size:
        return None
    return {
        "spork_id": spork_id,
        "spork_name": SPORK_NAMES.get(spork_id),
        "value": value,
        "time_signed": time_signed,
        "sig": payload[21:].hex(),
        "hash": _hash(payload),
    }


_HEADER = struct.Struct("<i32s32sIIIB")  # CBlockHeader, then the first byte of the tx count
_pow_hash = None


def headers(payload: bytes, version: int, network: str | None):
    """``headers``: each CBlockHeader with a CompactSize tx count (headers.Headers).

    Core writes the count as 0 (src/net_processing.cpp); only a one-byte
    count is read here.  ``hash`` is X11 of the 80 header bytes, from
    dash_hash as primitives.x11 computes it.
    """
    global _pow_hash
    if type(payload) is not bytes:
        payload = bytes(payload)  # getPoWHash takes bytes only; the construct reads bytes
    n = len(payload)
    count, start = _count(payload, 0, n)
    if count is None or count > MAX_HEADERS_UNCOMPRESSED_RESULT or n != start + 81 * count:
        return None
    if _pow_hash is None:
        import dash_hash  # imported on first use, as primitives.x11 does

        _pow_hash = dash_hash.getPoWHash
    out = []
    pos = start
    for version_, prev_block, merkle_root, time, bits, nonce_, tx_count in _HEADER.iter_unpack(
        payload[start:]
    ):
        if tx_count >= 0xFD:
            return None
        out.append(
            {
                "header": {
                    "version": version_,
                    "prev_block": prev_block[::-1].hex(),
                    "merkle_root": merkle_root[::-1].hex(),
                    "time": time,
                    "bits": bits,
                    "nonce": nonce_,
                    "hash": _pow_hash(payload[pos : pos + 80])[::-1].hex(),
                },
                "tx_count": tx_count,
            }
        )
        pos += 81
    return {"headers": out}


_tx_parser = None


def transaction(payload: bytes, version: int, network: str | None):
    """``tx``: transaction._fast_tx over the whole payload (blocks.TxMessage).

    The message's construct reads the same function through
    transaction.Transaction; this leaves out construct's context and the
    FocusedSeq around it.  A payload above MAX_LEGACY_BLOCK_SIZE ends past
    where _fast_tx stops, so it is the construct's to refuse.
    """
    global _tx_parser
    if _tx_parser is None:
        # not at import: transaction.py pulls in every special payload's layout
        from .transaction import _fast_tx, _Unusual

        _tx_parser = _fast_tx, _Unusual
    parse, unusual = _tx_parser
    try:
        obj, end = parse(payload, 0, network)
    except unusual:
        return None
    return obj if end == len(payload) else None


FAST = {
    "inv": inventory,
    "getdata": inventory,
    "notfound": notfound,
    "ping": nonce,
    "pong": nonce,
    "clsig": clsig,
    "isdlock": isdlock,
    "qsigshare": qsigshare,
    "qsigsesann": qsigsesann,
    "dsq": dsq,
    "spork": spork,
    "headers": headers,
    "tx": transaction,
}
