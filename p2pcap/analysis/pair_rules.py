"""What a message asks or answers, read from its decoded content (docs/CONVERSATIONS.md).

``ask_or_answer(command, decoded)`` turns one decoded message into the
facts the pairing needs: the request it makes (and what names it), or the
answer it gives (and what it names), or the items it announces.  Every key
is taken from the payload, never from timing: a ``pong`` names its ``ping``
by nonce, an object names its ``getdata`` by hash, a ``headers`` names its
``getheaders`` by the block its first header builds on, which must be in
the request's locator.  Only the few answers that carry nothing naming their
request (``spork`` after ``getsporks``, ``inv`` after ``mempool``, an empty
``headers``) are paired by Dash Core's order of processing, and the
documentation says so rule by rule.

The Core source each rule follows is cited where the rule is written, in
``RULES`` below; ``pairs.py`` keeps the outstanding requests.

>>> ask_or_answer("ping", {"nonce": 7})
[Fact(kind='ask', rule='ping', key=7, extra=None)]
>>> ask_or_answer("getmnlistd", {"base_block_hash": "00" * 32, "block_hash": "11" * 32})[0].rule
'getmnlistd'
"""

from __future__ import annotations

from typing import NamedTuple

from p2pcap.decoders.announce import OBJECT_COMMANDS

# rule -> (request commands, answer commands, the Core source that answers it).
RULES: dict[str, tuple[tuple[str, ...], tuple[str, ...], str]] = {
    # ProcessMessage, PING branch: PushMessage(PONG, nonce) at once, the nonce echoed.
    "ping": (("ping",), ("pong",), "src/net_processing.cpp ProcessMessage (PING)"),
    # GETDATA branch -> ProcessGetData: the object's own message, or one
    # NOTFOUND naming every non-block item it could not serve; blocks via
    # ProcessGetBlockData (block, merkleblock or cmpctblock; no notfound).
    "getdata": (
        ("getdata",),
        (*OBJECT_COMMANDS, "notfound"),  # every object message (decoders/announce.py)
        "src/net_processing.cpp ProcessGetData, ProcessGetBlockData",
    ),
    # GETHEADERS/GETHEADERS2 branch: FindForkInGlobalIndex(locator), then the
    # headers after the fork; or the hashStop block for an empty locator; an
    # empty message when there is nothing newer or too little chain work.
    "getheaders": (
        ("getheaders", "getheaders2"),
        ("headers", "headers2"),
        "src/net_processing.cpp ProcessMessage (GETHEADERS, GETHEADERS2)",
    ),
    # GETBLOCKTXN branch -> SendBlockTransactions (BLOCKTXN of req.blockhash),
    # or the whole block through the getdata queue when it is deeper than
    # MAX_BLOCKTXN_DEPTH.
    "getblocktxn": (
        ("getblocktxn",),
        ("blocktxn", "block"),
        "src/net_processing.cpp ProcessMessage (GETBLOCKTXN), SendBlockTransactions",
    ),
    # GETMNLISTDIFF branch -> BuildSimplifiedMNListDiff, which returns the
    # request's baseBlockHash as given ("the other peer ... won't be able to
    # recognize the response" otherwise) and blockHash's diff.
    "getmnlistd": (
        ("getmnlistd",),
        ("mnlistdiff",),
        "src/net_processing.cpp ProcessMessage (GETMNLISTDIFF), src/evo/smldiff.cpp BuildSimplifiedMNListDiff",
    ),
    # GETQUORUMROTATIONINFO branch -> BuildQuorumRotationInfo: extraShare
    # copied; every diff built on the last of the request's base blocks below
    # it (GetLastBaseBlockHash, the genesis when none is), or on a block of
    # another diff of the same answer.
    "getqrinfo": (
        ("getqrinfo",),
        ("qrinfo",),
        "src/net_processing.cpp ProcessMessage (GETQUORUMROTATIONINFO), src/llmq/snapshot.cpp",
    ),
    # CQuorumManager::ProcessMessage, QGETDATA: sendQDATA echoes the request
    # (type, quorum hash, data mask, proTxHash) with its error set.
    "qgetdata": (
        ("qgetdata",),
        ("qdata",),
        "src/llmq/quorumsman.cpp CQuorumManager::ProcessMessage (QGETDATA)",
    ),
    # CSporkManager::ProcessGetSporks: one SPORK per active spork, pushed in
    # one loop; the message names nothing.
    "getsporks": (("getsporks",), ("spork",), "src/spork.cpp CSporkManager::ProcessGetSporks"),
    # MEMPOOL sets m_send_mempool; SendMessages then queues an inv of every
    # mempool tx (MSG_TX/MSG_DSTX), its islock and the best chainlock.
    "mempool": (("mempool",), ("inv",), "src/net_processing.cpp ProcessMessage (MEMPOOL), SendMessages"),
}

# Inventory types answered by one family of messages: a getdata for a tx
# may be served as a dstx and the reverse (ProcessGetData, IsGenTxMsg), one
# for a block as block, merkleblock or cmpctblock (ProcessGetBlockData).
_FAMILY = {
    "MSG_TX": "tx",
    "MSG_DSTX": "tx",
    "MSG_BLOCK": "block",
    "MSG_FILTERED_BLOCK": "block",
    "MSG_CMPCT_BLOCK": "block",
}
# What Core's answer to ``mempool`` announces (SendMessages).
MEMPOOL_ITEMS = frozenset(("MSG_TX", "MSG_DSTX", "MSG_CLSIG", "MSG_ISDLOCK"))

REQUESTS = {c: rule for rule, (asks, _answers, _src) in RULES.items() for c in asks}
OBJECTS = frozenset(RULES["getdata"][1]) - {"notfound"}
# Every command the pairing reads; the rest are only counted as activity.
COMMANDS = frozenset(REQUESTS) | frozenset(c for _a, answers, _s in RULES.values() for c in answers) | {"inv"}
# Requests that carry no payload worth decoding.
EMPTY = frozenset(("getsporks", "mempool"))


class Fact(NamedTuple):
    """One thing a message does: ``kind`` is ``ask``, ``answer``, ``announce``
    or ``notfound``; ``key`` what pairs it; ``extra`` what else a rule needs."""

    kind: str
    rule: str
    key: object
    extra: object = None


def family(inv_type: str) -> str:
    """The family of an inventory type: requests and objects pair within one.

    >>> family("MSG_DSTX"), family("MSG_CMPCT_BLOCK"), family("MSG_CLSIG")
    ('tx', 'block', 'MSG_CLSIG')
    """
    return _FAMILY.get(inv_type, inv_type)


def _items(decoded) -> list[tuple[str, str]]:
    from p2pcap.decoders import announced

    return announced("inv", decoded)  # inv, getdata and notfound share their vector


def _header_fields(command: str, decoded: dict):
    """(prev_block, hash) of the first header, or None for an empty message."""
    headers = decoded.get("headers")
    if not isinstance(headers, list) or not headers:
        return None
    first = headers[0]
    if command == "headers":
        first = first.get("header") if isinstance(first, dict) else None
    if not isinstance(first, dict):
        return None
    return first.get("prev_block"), first.get("hash")


def _qkey(request: dict):
    return (
        request.get("llmq_type"),
        request.get("quorum_hash"),
        request.get("data_mask"),
        request.get("pro_tx_hash"),
    )


_DIFFS = (
    "mn_list_diff_tip",
    "mn_list_diff_h",
    "mn_list_diff_at_h_minus_c",
    "mn_list_diff_at_h_minus_2c",
    "mn_list_diff_at_h_minus_3c",
    "mn_list_diff_at_h_minus_4c",
)


def qrinfo_bases(decoded: dict) -> frozenset:
    """The base blocks of a qrinfo's diffs that are not the block of another
    of its diffs: the request's base blocks (or the genesis) it was built on."""
    diffs = [decoded.get(name) for name in _DIFFS]
    diffs += list(decoded.get("mn_list_diff_list") or ())
    diffs = [d for d in diffs if isinstance(d, dict)]
    own = {d.get("block_hash") for d in diffs}
    return frozenset(d.get("base_block_hash") for d in diffs) - own


def ask_or_answer(command: str, decoded) -> list[Fact]:
    """The facts of one message for the pairing (``[]`` when it takes no part).

    ``decoded`` is the decoded payload (None for the two empty requests is
    fine).  An object message gives one ``answer`` per family it is served
    under; ``inv`` gives its items as ``announce`` facts and, when it holds
    what Core sends after ``mempool``, a ``mempool`` answer.

    >>> ask_or_answer("pong", {"nonce": 7})
    [Fact(kind='answer', rule='ping', key=7, extra=None)]
    >>> ask_or_answer("headers", {"headers": []})
    [Fact(kind='answer', rule='getheaders', key=None, extra=None)]
    """
    if command in EMPTY:
        return [Fact("ask", command, None)]
    if not isinstance(decoded, dict) or decoded.get("unknown"):
        return []
    if command in ("ping", "pong"):
        nonce = decoded.get("nonce")
        return [Fact("ask" if command == "ping" else "answer", "ping", nonce)] if nonce is not None else []
    if command == "inv":
        items = _items(decoded)
        facts = [Fact("announce", "getdata", (family(t), h), t) for t, h in items]
        if any(t in MEMPOOL_ITEMS for t, _h in items):
            facts.append(Fact("answer", "mempool", None))
        return facts
    if command == "getdata":
        return [Fact("ask", "getdata", (family(t), h), t) for t, h in _items(decoded)]
    if command == "notfound":
        return [Fact("notfound", "getdata", (family(t), h), t) for t, h in _items(decoded)]
    if command in ("getheaders", "getheaders2"):
        locator = decoded.get("locator")
        have = locator.get("have") if isinstance(locator, dict) else None
        have = list(have or ())
        return [Fact("ask", "getheaders", frozenset(have), (decoded.get("stop"), have[0] if have else None))]
    if command in ("headers", "headers2"):
        fields = _header_fields(command, decoded)
        count = len(decoded.get("headers") or ())
        return [Fact("answer", "getheaders", fields, count or None)]
    if command == "getblocktxn":
        return [Fact("ask", "getblocktxn", decoded.get("blockhash"))]
    if command == "blocktxn":
        return [Fact("answer", "getblocktxn", decoded.get("blockhash"))]
    if command == "getmnlistd":
        return [Fact("ask", "getmnlistd", (decoded.get("base_block_hash"), decoded.get("block_hash")))]
    if command == "mnlistdiff":
        return [Fact("answer", "getmnlistd", (decoded.get("base_block_hash"), decoded.get("block_hash")))]
    if command == "getqrinfo":
        bases = frozenset(decoded.get("base_block_hashes") or ())
        return [
            Fact(
                "ask",
                "getqrinfo",
                (bases, bool(decoded.get("extra_share"))),
                decoded.get("block_request_hash"),
            )
        ]
    if command == "qrinfo":
        return [Fact("answer", "getqrinfo", (qrinfo_bases(decoded), bool(decoded.get("extra_share"))))]
    if command == "qgetdata":
        return [Fact("ask", "qgetdata", _qkey(decoded))]
    if command == "qdata":
        request = decoded.get("request") if isinstance(decoded.get("request"), dict) else {}
        return [Fact("answer", "qgetdata", _qkey(request), (request.get("error"), request.get("error_name")))]
    if command in OBJECTS:
        from p2pcap.decoders import announced

        seen = []
        for t, h in announced(command, decoded):
            key = (family(t), h)
            if key not in seen:
                seen.append(key)
        facts = [Fact("answer", "getdata", key) for key in seen]
        # Tried only when no getdata is waiting for it (``pairs.py``).
        if command == "block" and seen:
            facts.append(Fact("answer", "getblocktxn", seen[0][1]))
        if command == "spork":
            facts.append(Fact("answer", "getsporks", None))
        return facts
    return []


def object_hash_only(command: str, payload: bytes, msg_size: int) -> dict | None:
    """What ``ask_or_answer`` reads of a whole ``tx`` or ``block``, without
    decoding the rest: the txid is SHA256d of the transaction's bytes, a
    block's hash X11 of its 80-byte header (src/primitives/transaction.cpp,
    src/primitives/block.cpp; the decoders compute them the same way).
    None for anything else, or a payload cut short: then decode.

    >>> object_hash_only("tx", b"x", 1)["txid"][:16], object_hash_only("tx", b"x", 2)
    ('8d482646c9fa9e8c', None)
    """
    if len(payload) != msg_size:
        return None
    if command == "tx":
        from p2pcap.decoders.primitives import sha256d

        return {"txid": sha256d(payload)[::-1].hex()}
    if command == "block" and len(payload) > 80:
        from p2pcap.decoders.primitives import x11

        return {"header": {"hash": x11(payload[:80])[::-1].hex()}}
    return None


def headers_answer(locator: frozenset, stop, fields) -> bool:
    """Does a non-empty headers message with first header ``fields`` = (prev,
    hash) answer a request with this locator and stop hash?

    The answer starts after the fork point FindForkInGlobalIndex found, the
    first locator block on the responder's chain, so its first header builds
    on a locator block; an empty locator asks for the hashStop header alone.

    >>> headers_answer(frozenset({"aa"}), "00", ("aa", "bb")), headers_answer(frozenset(), "bb", ("aa", "bb"))
    (True, True)
    """
    prev, first = fields
    if locator:
        return prev in locator
    return first == stop


def qrinfo_answer(asked_bases: frozenset, asked_extra: bool, answer_key) -> bool:
    """Does a qrinfo whose outside bases and extra_share are ``answer_key`` answer this getqrinfo?

    Each outside base is one of the request's base blocks, except one that
    may be the genesis (GetLastBaseBlockHash's default, and the only base
    of a request that gave none).

    >>> qrinfo_answer(frozenset({"aa"}), False, (frozenset({"aa"}), False))
    True
    >>> qrinfo_answer(frozenset({"aa"}), True, (frozenset({"aa"}), False))
    False
    """
    bases, extra = answer_key
    return extra == asked_extra and len(bases - asked_bases) <= 1
