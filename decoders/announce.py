"""Which inventory items a decoded message is, or names: ``announced()``.

An object travels as ``inv`` (type, hash), ``getdata`` (same pair), then the
object's own message; the decoders add each object's hash as Core computes
it (``hash``, ``txid``, a header's ``hash``), and this module says under
which inv type each command is announced, so one object can be followed
through the three messages.

Which type relays which message follows dashpay/dash src/protocol.h
(``GetDataMsg``) and src/net_processing.cpp (``ProcessGetData`` and the
relay helpers); how each hash is computed is said where it is added:

=============  ==============================  ==============================
command        inv type                        hash
=============  ==============================  ==============================
tx             MSG_TX                          txid
dstx           MSG_DSTX                        txid of ``tx``
block          MSG_BLOCK                       header hash (X11)
merkleblock    MSG_FILTERED_BLOCK, MSG_BLOCK   header hash
cmpctblock     MSG_CMPCT_BLOCK, MSG_BLOCK      header hash
spork          MSG_SPORK                       ``hash`` (sporks.py)
govobj         MSG_GOVERNANCE_OBJECT           ``hash`` (governance.py)
govobjvote     MSG_GOVERNANCE_OBJECT_VOTE      ``hash`` (governance.py)
qfcommit       MSG_QUORUM_FINAL_COMMITMENT     ``hash`` (llmq.py)
qcontrib ...   MSG_QUORUM_CONTRIB ... (23-26)  ``hash`` (llmq.py)
qsigrec        MSG_QUORUM_RECOVERED_SIG        ``hash`` (signing.py)
clsig          MSG_CLSIG                       ``hash`` (chainlocks.py)
islock         MSG_ISLOCK                      ``hash`` (instantsend.py)
isdlock        MSG_ISDLOCK                     ``hash`` (instantsend.py)
dsq            MSG_DSQ                         ``hash`` (coinjoin.py)
=============  ==============================  ==============================

``merkleblock`` and ``cmpctblock`` answer a ``getdata`` of type
MSG_FILTERED_BLOCK or MSG_CMPCT_BLOCK for a block announced as MSG_BLOCK,
so both pairs are given.  Messages Core pushes without an inventory
(``mnauth``, ``platformban``, the signing-share messages, ``qdata``) give
``[]``.
"""

from __future__ import annotations

# command -> ((inv type name, path to the hash in the decoded dict), ...)
_OBJECTS: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    "tx": (("MSG_TX", ("txid",)),),
    "dstx": (("MSG_DSTX", ("tx", "txid")),),
    "block": (("MSG_BLOCK", ("header", "hash")),),
    "merkleblock": (
        ("MSG_FILTERED_BLOCK", ("header", "hash")),
        ("MSG_BLOCK", ("header", "hash")),
    ),
    "cmpctblock": (
        ("MSG_CMPCT_BLOCK", ("header", "hash")),
        ("MSG_BLOCK", ("header", "hash")),
    ),
    "spork": (("MSG_SPORK", ("hash",)),),
    "govobj": (("MSG_GOVERNANCE_OBJECT", ("hash",)),),
    "govobjvote": (("MSG_GOVERNANCE_OBJECT_VOTE", ("hash",)),),
    "qfcommit": (("MSG_QUORUM_FINAL_COMMITMENT", ("hash",)),),
    "qcontrib": (("MSG_QUORUM_CONTRIB", ("hash",)),),
    "qcomplaint": (("MSG_QUORUM_COMPLAINT", ("hash",)),),
    "qjustify": (("MSG_QUORUM_JUSTIFICATION", ("hash",)),),
    "qpcommit": (("MSG_QUORUM_PREMATURE_COMMITMENT", ("hash",)),),
    "qsigrec": (("MSG_QUORUM_RECOVERED_SIG", ("hash",)),),
    "clsig": (("MSG_CLSIG", ("hash",)),),
    "islock": (("MSG_ISLOCK", ("hash",)),),
    "isdlock": (("MSG_ISDLOCK", ("hash",)),),
    "dsq": (("MSG_DSQ", ("hash",)),),
}

_INVENTORIES = frozenset(("inv", "getdata", "notfound"))
# The messages that carry an announced object, in the table's order: what a
# getdata is answered with (src/net_processing.cpp ProcessGetData), and what
# a dataset's objects table holds.
OBJECT_COMMANDS = tuple(_OBJECTS)


def _lookup(decoded: dict, path: tuple[str, ...]) -> str | None:
    value = decoded
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value if isinstance(value, str) else None


def announced(command: str, decoded: dict) -> list[tuple[str, str]]:
    """(inv type name, hash in display order) pairs for a decoded message.

    For an object message, the inventory item(s) it is announced or
    requested under; for ``inv``, ``getdata`` and ``notfound``, every
    item, in order, an unknown type number given as its decimal text; for
    any other message ``[]``.  A result of ``decode_partial`` gives what it
    holds: a cut object has no hash yet, so ``[]``; a cut inventory, its
    whole items.

    >>> announced("inv", {"inv": [{"type": 29, "type_name": "MSG_CLSIG", "hash": "ab" * 32}]})
    [('MSG_CLSIG', 'abababababababababababababababababababababababababababababababab')]
    >>> announced("clsig", {"height": 1, "block_hash": "00" * 32, "sig": "", "hash": "cd" * 32})[0][0]
    'MSG_CLSIG'
    >>> announced("ping", {"nonce": 1})
    []
    """
    if not isinstance(decoded, dict) or decoded.get("unknown"):
        return []
    if command in _INVENTORIES:
        items = decoded.get("inv")
        if not isinstance(items, list):
            return []
        return [
            (item.get("type_name") or str(item["type"]), item["hash"])
            for item in items
            if isinstance(item, dict) and "type" in item and "hash" in item
        ]
    pairs = []
    for name, path in _OBJECTS.get(command, ()):
        value = _lookup(decoded, path)
        if value is not None:
            pairs.append((name, value))
    return pairs


__all__ = ["OBJECT_COMMANDS", "announced"]
