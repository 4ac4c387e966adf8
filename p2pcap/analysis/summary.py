"""One-line summaries of decoded payloads, for ``show``'s table.

Presentation only: the decoders give data, this turns it into a short line
like tshark's Info column.  Hashes are cut to 16 hex digits here; JSON
output keeps them whole.
"""

from __future__ import annotations


def short(h: str | None, n: int = 16) -> str:
    return "-" if h is None else (h if len(h) <= n else h[:n] + "…")


def _inventory(d: dict) -> str:
    items = d.get("inventory") or d.get("inv") or []
    kinds: dict[str, int] = {}
    for item in items:
        name = item.get("type_name") or str(item.get("type"))
        kinds[name] = kinds.get(name, 0) + 1
    head = ", ".join(f"{n} {k}" for k, n in kinds.items())
    if len(items) == 1:
        return f"{head} {short(items[0].get('hash'))}"
    return f"{len(items)} items: {head}" if items else "0 items"


def _version(d: dict) -> str:
    return (
        f"v{d.get('version')} {d.get('sub_ver') or ''} height {d.get('starting_height')} "
        f"services 0x{d.get('services', 0):x}"
    ).replace("  ", " ")


def _tx(d: dict) -> str:
    kind = f" type {d['type']}" if d.get("type") else ""
    return f"txid {short(d.get('txid'))}{kind} {len(d.get('vin', []))} in, {len(d.get('vout', []))} out"


def _block(d: dict) -> str:
    header = d.get("header", {})
    return f"hash {short(header.get('hash'))} {len(d.get('vtx', []))} txs"


def _headers(d: dict) -> str:
    headers = d.get("headers", [])
    if not headers:
        return "0 headers"
    first = headers[0].get("header", headers[0])
    last = headers[-1].get("header", headers[-1])
    if len(headers) == 1:
        return f"1 header {short(first.get('hash'))}"
    return f"{len(headers)} headers {short(first.get('hash'), 12)} to {short(last.get('hash'), 12)}"


def _mnlistdiff(d: dict) -> str:
    return (
        f"block {short(d.get('block_hash'))} {len(d.get('mn_list') or [])} MNs, "
        f"{len(d.get('deleted_mns') or [])} deleted, {len(d.get('new_quorums') or [])} quorums"
    )


def _addr(d: dict) -> str:
    entries = d.get("addr", [])
    shown = ", ".join(f"{e.get('ip', e.get('addr'))}:{e.get('port')}" for e in entries[:2])
    more = f" +{len(entries) - 2}" if len(entries) > 2 else ""
    return f"{len(entries)} addresses {shown}{more}"


def _locator(d: dict) -> str:
    have = d.get("locator", {}).get("have", [])
    return f"locator {len(have)} hashes, stop {short(d.get('stop'))}"


SUMMARIES = {
    "version": _version,
    "inv": _inventory,
    "getdata": _inventory,
    "notfound": _inventory,
    "tx": _tx,
    "block": _block,
    "headers": _headers,
    "headers2": _headers,
    "addr": _addr,
    "addrv2": _addr,
    "getheaders": _locator,
    "getheaders2": _locator,
    "getblocks": _locator,
    "ping": lambda d: f"nonce {d.get('nonce')}",
    "pong": lambda d: f"nonce {d.get('nonce')}",
    "clsig": lambda d: f"height {d.get('height')} block {short(d.get('block_hash'))}",
    "isdlock": lambda d: f"txid {short(d.get('txid'))} {len(d.get('inputs', []))} inputs",
    "dstx": lambda d: _tx(d.get("tx", {})),
    "mnlistdiff": _mnlistdiff,
    "getmnlistd": lambda d: f"base {short(d.get('base_block_hash'))} block {short(d.get('block_hash'))}",
    "qrinfo": lambda d: _mnlistdiff(d.get("mn_list_diff_tip") or {}),
    "sendcmpct": lambda d: f"high bandwidth {d.get('high_bandwidth')} version {d.get('version')}",
    "feefilter": lambda d: f"{d.get('fee_rate', d.get('feerate'))} duffs/kB",
}


def summarize(command: str, decoded: dict | None) -> str:
    """A short text for the table; generic fields when we know no better.

    >>> summarize("ping", {"nonce": 7})
    'nonce 7'
    """
    if decoded is None:
        return ""
    if decoded.get("unknown"):
        return f"unknown command, {len(decoded.get('raw', '')) // 2} bytes"
    fn = SUMMARIES.get(command)
    if fn is not None:
        try:
            return fn(decoded)
        except (AttributeError, TypeError, KeyError, IndexError):
            pass  # an odd shape still gets the generic line below
    parts = []
    for key, value in decoded.items():
        if isinstance(value, (int, str)) and not key.endswith("_name"):
            text = short(value) if isinstance(value, str) else str(value)
            parts.append(f"{key}={text}")
        elif isinstance(value, list):
            parts.append(f"{key}[{len(value)}]")
        if len(parts) == 4:
            break
    return " ".join(parts)
