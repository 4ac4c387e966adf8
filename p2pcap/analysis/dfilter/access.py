"""Reading a field's values out of a record and its decoded payload.

A field may occur several times in one message (every ``inv.hash`` of an
inv, every input of a tx): a getter gives all of its values, in order,
and nothing when the field is absent -- a missing key, a null, a message
of another command, a payload that did not decode.  The comparisons
(compiler.py) then ask whether any or all of them pass.

The ``object.*`` helpers read the hashes an object is known by:

==============  ===========================================================
object.hash     what ``p2pcap.decoders.announced`` gives: the hash each item
                of an inv/getdata/notfound names, or the one an inv would
                name the message by (a txid, a block hash, a lock's hash)
object.type     the inventory type beside each of those (``MSG_TX``...)
object.txid     tx and dstx: their txid; islock/isdlock: the txid locked;
                block, blocktxn, cmpctblock: the txids they carry (a
                compact block: those sent whole); inv/getdata/notfound: the
                hashes of MSG_TX and MSG_DSTX items
object.block    block, merkleblock, cmpctblock: the header's hash;
                headers/headers2: each header's; clsig: the block it locks;
                getblocktxn/blocktxn: the block they are about;
                inv/getdata/notfound: MSG_BLOCK, MSG_FILTERED_BLOCK and
                MSG_CMPCT_BLOCK items
==============  ===========================================================

>>> values_at({"inv": [{"type": 1, "hash": "ab"}, {"type": 2, "hash": "cd"}]}, ("inv", "hash"))
['ab', 'cd']
>>> helper_values("block", "clsig", {"height": 5, "block_hash": "ee", "hash": "ff"})
['ee']
"""

from __future__ import annotations

import functools
import struct

from p2pcap.formats.peeraddr import split_host_port
from p2pcap.units import NS

_MAX_PAYLOAD = 3 * 1024 * 1024  # src/net.h MAX_PROTOCOL_MESSAGE_LENGTH: decode() refuses more

# Inventory types whose hash is a transaction's, or a block's (src/protocol.h).
_TX_TYPES = frozenset((1, 16))  # MSG_TX, MSG_DSTX
_BLOCK_TYPES = frozenset((2, 3, 20))  # MSG_BLOCK, MSG_FILTERED_BLOCK, MSG_CMPCT_BLOCK
_TXIDS = {
    "tx": (("txid",),),
    "dstx": (("tx", "txid"),),
    "islock": (("txid",),),
    "isdlock": (("txid",),),
    "block": (("vtx", "txid"),),
    "blocktxn": (("txn", "txid"),),
    "cmpctblock": (("prefilledtxn", "tx", "txid"),),
}
_BLOCKS = {
    "block": (("header", "hash"),),
    "merkleblock": (("header", "hash"),),
    "cmpctblock": (("header", "hash"),),
    "headers": (("headers", "header", "hash"),),
    "headers2": (("headers", "hash"),),
    "clsig": (("block_hash",),),
    "getblocktxn": (("blockhash",),),
    "blocktxn": (("blockhash",),),
}
_INVENTORIES = frozenset(("inv", "getdata", "notfound"))


def values_at(node, parts: tuple) -> list:
    """Every value ``parts`` reaches in a decoded dict: lists passed through
    (and a list at the end given element by element), nulls left out."""
    level = [node]
    for key in parts:
        found = []
        for item in level:
            if type(item) is list:
                for element in item:
                    if type(element) is dict and key in element:
                        found.append(element[key])
            elif type(item) is dict and key in item:
                found.append(item[key])
        level = found
        if not level:
            return level
    out = []
    for value in level:
        if type(value) is list:
            out.extend(v for v in value if v is not None)
        elif value is not None:
            out.append(value)
    return out


def helper_values(helper: str, command: str, decoded) -> list:
    """The values of ``object.<helper>`` for a decoded message of ``command``."""
    if type(decoded) is not dict or decoded.get("unknown") is True:
        return []
    if helper in ("hash", "type"):
        from p2pcap.decoders import announced

        pairs = announced(command, decoded)
        return [p[1] for p in pairs] if helper == "hash" else [p[0] for p in pairs]
    if command in _INVENTORIES:
        wanted = _TX_TYPES if helper == "txid" else _BLOCK_TYPES
        return [
            item["hash"]
            for item in decoded.get("inv") or ()
            if type(item) is dict and item.get("type") in wanted and "hash" in item
        ]
    table = _TXIDS if helper == "txid" else _BLOCKS
    out: list = []
    for parts in table.get(command, ()):
        out += values_at(decoded, parts)
    return out


def record_getter(key: str):
    """``get(record, env) -> [value]`` (``[]`` when absent) for a record field."""
    if key == "peer_host":
        return lambda r, e: [split_host_port(r.peer_addr)[0]]
    if key == "reltime":
        return lambda r, e: [(r.ts_ns - (e.first_ns if e.first_ns is not None else r.ts_ns)) / NS]
    if key == "protocol_version":
        return lambda r, e: [e.version_for(r)]
    if key == "network":
        return lambda r, e: [] if (n := e.network_for(r.pid)) is None else [n]
    if key == "partial":  # there only when true, as Wireshark's expert fields
        return lambda r, e: [True] if r.partial else []
    if key == "payload":
        return lambda r, e: [bytes(r.payload).hex()]
    if key == "error":

        def error(r, e):
            text = e.decoded(r)[1]
            return [] if text is None else [text]

        return error

    def plain(r, e, key=key):
        return [getattr(r, key)]

    return plain


def decoded_getter(parts: tuple, command: str | None = None):
    """``get(record, env) -> values`` of a decoded field (of ``command``'s messages).

    An inventory's ``type``, ``type_name`` and ``hash`` are read from the
    payload's bytes when it is one decode() takes whole (``inventory_items``),
    without building its dicts: the most common message, and the most
    common test."""
    if command in _INVENTORIES and len(parts) == 2 and parts[0] == "inv" and parts[1] in _ITEM:
        item = _ITEM[parts[1]]

        def get_item(r, e):
            items = inventory_items(r.command, r.payload) if not r.partial else None
            if items is None:
                decoded = e.decoded(r)[0]
                return [] if decoded is None else values_at(decoded, parts)
            return [v for v in map(item, items) if v is not None]

        return get_item

    def get(r, e):
        decoded = e.decoded(r)[0]
        return [] if decoded is None else values_at(decoded, parts)

    return get


def helper_getter(helper: str):
    def get(r, e):
        if r.command in _INVENTORIES and not r.partial:
            items = inventory_items(r.command, r.payload)
            if items is not None:
                return _inventory_helper(helper, items)
        decoded = e.decoded(r)[0]
        return [] if decoded is None else helper_values(helper, r.command, decoded)

    return get


# -- inventories from their bytes -------------------------------------------------
_INV_ITEM = struct.Struct("<I32s")


def inventory_items(command: str, payload) -> list[tuple[int, bytes]] | None:
    """(type, hash as sent) of each item of an inv, getdata or notfound whose
    payload decode() takes whole, by the rules of its fast path
    (decoders/fastpaths.py ``inventory``: a canonical count, at most
    MAX_INV_SZ items but for notfound, exactly 36 bytes each); None for any
    other payload, which decode() then judges.

    >>> inventory_items("inv", bytes([1, 2, 0, 0, 0]) + bytes(range(32)))[0][0]
    2
    """
    n = len(payload)
    if not n or n > _MAX_PAYLOAD:
        return None
    first = payload[0]
    if first < 0xFD:
        count, start = first, 1
    elif first == 0xFD and n >= 3 and (count := payload[1] | payload[2] << 8) >= 0xFD:
        start = 3
    else:
        return None
    if (command != "notfound" and count > _max_items()) or n != start + 36 * count:
        return None
    return list(_INV_ITEM.iter_unpack(payload[start:]))


@functools.cache
def _max_items() -> int:
    from p2pcap.decoders.inventory import MAX_INV_SZ  # the decoders load with the first inventory

    return int(MAX_INV_SZ)


def _type_name(item):
    from p2pcap.decoders.inventory import INV_TYPE_NAMES

    return INV_TYPE_NAMES.get(item[0])


_ITEM = {"type": lambda item: item[0], "hash": lambda item: item[1][::-1].hex(), "type_name": _type_name}


def _inventory_helper(helper: str, items) -> list:
    from p2pcap.decoders.inventory import INV_TYPE_NAMES

    if helper == "hash":
        return [h[::-1].hex() for _t, h in items]
    if helper == "type":
        return [INV_TYPE_NAMES.get(t) or str(t) for t, _h in items]
    wanted = _TX_TYPES if helper == "txid" else _BLOCK_TYPES
    return [h[::-1].hex() for t, h in items if t in wanted]


__all__ = [
    "inventory_items",
    "decoded_getter",
    "helper_getter",
    "helper_values",
    "record_getter",
    "values_at",
]
