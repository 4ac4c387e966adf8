"""One-line summaries of decoded payloads, for ``show``'s info column.

Presentation only.  What a line says is declared beside each message's
definition: every decoder family module exports ``SUMMARIES`` next to
``MESSAGES`` (merged in p2pcap.decoders.registry), naming in order of
importance the fields to show -- paths into the decoded dict as the JSON
output and ``p2pcap fields`` name them -- and how to show each.  This
module renders those declarations, most useful part first, so a line cut
at the table's width (p2pcap/cli/render.py ``fit``) keeps the key object,
like the Info column of Wireshark.  Hashes are cut to 16 hex digits here;
JSON output keeps them whole.  Strings from captures are not escaped here:
the table's renderer escapes the whole line.

An item is ``(path, how)`` or ``(path, how, label)``; ``how`` is one of
``HOWS`` or a number -> name table (None: say nothing), ``label`` a word put before the value
(after it for counts; "one|many" for a count's singular and plural), a
template holding ``{}``, or "" for none.  A bare string item is said as
it is (for messages without fields: verack, getaddr...).
"""

from __future__ import annotations

import json

from p2pcap.decoders.registry import SUMMARIES as DECLARED

# What a declaration may say about a field.
HOWS = frozenset({
    "plain",  # the value as it is (numbers, flags)
    "hex",  # a number in hexadecimal (service bits)
    "hash",  # hex cut to 16 digits; over a list, the first and "+N more"
    "count",  # the length of a list (summed over a list of lists)
    "name",  # an enum by its name (the ``*_name`` decode() puts beside it)
    "tally",  # names over a list, counted: "3 MSG_TX, 1 MSG_BLOCK"
    "range",  # hashes over a list: the first and the last
    "text",  # a string from the capture, cut to TEXT_WIDTH
    "endpoints",  # address entries as ip:port, the first two and "+N"
})  # fmt: skip
# "json:KEY": a JSON text field's KEY (a governance object's name).
JSON_PREFIX = "json:"
HASH_WIDTH = 16
TEXT_WIDTH = 40
_MISSING = object()
_KEYS: dict = {}  # path -> its keys, split once


def short(h: str | None, n: int = HASH_WIDTH) -> str:
    """A hash cut to ``n`` hex digits.

    >>> short("00112233445566778899aabb", 8)
    '00112233…'
    """
    return "-" if h is None else (h if len(h) <= n else h[:n] + "…")


def values(decoded: dict, path: str) -> list:
    """Every value at a dotted ``path``; lists on the way are passed through
    (``anns.llmq_type`` is each announcement's type), missing or null ones left out.

    >>> values({"anns": [{"id": "a"}, {"id": "b"}]}, "anns.id")
    ['a', 'b']
    """
    keys = _KEYS.get(path)
    if keys is None:
        keys = _KEYS[path] = tuple(path.split("."))
    if len(keys) == 1:  # most items: one field of the message itself
        value = decoded.get(path, None) if isinstance(decoded, dict) else None
        return [] if value is None else [value]
    found = [decoded]
    for key in keys:
        step = []
        for item in found:
            for one in item if isinstance(item, list) else (item,):
                value = one.get(key, _MISSING) if isinstance(one, dict) else _MISSING
                if value is not _MISSING and value is not None:
                    step.append(value)
        found = step
    return found


def _name_key(leaf: str) -> tuple[str, ...]:
    # decode() puts an enum's name beside its number: type -> type_name,
    # spork_id -> spork_name (decoders/structs.py Named).
    return (f"{leaf}_name", f"{leaf.removesuffix('_id')}_name")


def _names(decoded: dict, path: str, table: dict | None) -> list[str]:
    head, _, leaf = path.rpartition(".")
    own, short_form = _name_key(leaf)  # once: an inventory has up to 50,000 items
    out = []
    append = out.append
    for parent in values(decoded, head) if head else [decoded]:
        for one in parent if isinstance(parent, list) else (parent,):
            if not isinstance(one, dict):
                continue
            number = one.get(leaf)
            if number is None:
                continue
            if table is not None:
                name = table.get(number, _MISSING)
                if name is None:
                    continue  # the table says this number needs no words (a normal tx)
                name = None if name is _MISSING else name
            else:
                name = one.get(own)
                if name is None:
                    name = one.get(short_form)
            append(str(name) if name is not None else f"{leaf} {number}")
    return out


def _distinct(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _json_key(text: str, key: str):
    # Proposals are {"name": ...}; before Dash Core 0.14 [["proposal", {...}]].
    try:
        data = json.loads(text)
    except ValueError:
        return None
    while isinstance(data, list) and data:
        data = data[0] if not isinstance(data[0], str) else (data[1] if len(data) > 1 else None)
    return data.get(key) if isinstance(data, dict) else None


def _labelled(text: str, label: str | None, leaf: str, after: bool = False) -> str:
    if label is None:
        label = leaf
    if "{}" in label:
        return label.replace("{}", text)
    if not label:
        return text
    return f"{text} {label}" if after else f"{label} {text}"


def render_item(decoded: dict, item) -> str | None:
    """One declared item's text, or None when the message lacks the field.

    >>> render_item({"spork_id": 10001, "spork_name": "SPORK_2_INSTANTSEND_ENABLED"}, ("spork_id", "name"))
    'SPORK_2_INSTANTSEND_ENABLED'
    >>> render_item({"anns": [{}, {}]}, ("anns", "count", "sessions"))
    '2 sessions'
    """
    render, path, how, label, leaf = _prepared(item)
    return render(decoded, path, how, label, leaf)


def _prepared(item) -> tuple:
    """(render, path, how, label, leaf) of a declared item: the dispatch on
    ``how``, done once per command's declaration (``_declared``), not per message."""
    if isinstance(item, str):  # a message without fields says what it is
        return (_said, item, None, None, None)
    path, how, *rest = item
    label = rest[0] if rest else None
    leaf = path.rpartition(".")[2]
    if isinstance(how, dict) or how == "name":
        render = _named
    elif how.startswith(JSON_PREFIX):
        render = _text
    else:
        render = _RENDERERS[how]
    return (render, path, how, label, leaf)


def _declared(command: str) -> list[tuple]:
    """The command's declaration, each item ``_prepared`` (once per command)."""
    known = _PREPARED.get(command)
    if known is None:
        known = _PREPARED[command] = [_prepared(item) for item in DECLARED[command]]
    return known


def _said(decoded, text, how, label, leaf):
    return text


def _named(decoded, path, how, label, leaf):
    names = _names(decoded, path, how if isinstance(how, dict) else None)
    return _labelled(",".join(_distinct(names)), label, "") if names else None


def _tally(decoded, path, how, label, leaf):
    names = _names(decoded, path, None)
    counts: dict = {}
    for n in names:
        counts[n] = counts.get(n, 0) + 1
    text = ", ".join(f"{c} {n}" for n, c in counts.items()) if names else "0 items"
    return _labelled(text, label, "", after=True)


def _count(decoded, path, how, label, leaf):
    lists = [v for v in values(decoded, path) if isinstance(v, list)]
    if not lists:
        return None
    count = sum(map(len, lists))
    if label is not None and "|" in label:  # "one|many": the label for 1, for any other count
        one, _, many = label.partition("|")
        label = one if count == 1 else many
    return _labelled(str(count), label, leaf, after=True)


def _elements(decoded, path) -> list:
    return [e for v in values(decoded, path) for e in (v if isinstance(v, list) else (v,))]


def _range(decoded, path, how, label, leaf):
    found = _elements(decoded, path)
    if not found:
        return None
    text = short(str(found[0])) + ("" if len(found) == 1 else f" to {short(str(found[-1]))}")
    return _labelled(text, label, "")


def _endpoints(decoded, path, how, label, leaf):
    found = _elements(decoded, path)
    if not found:
        return None
    shown = [_endpoint(e) for e in found[:2]]
    more = f" +{len(found) - 2}" if len(found) > 2 else ""
    return _labelled(", ".join(shown) + more, label, "")


def _hash(decoded, path, how, label, leaf):
    found = values(decoded, path)
    if not found:
        return None
    more = f" +{len(found) - 1}" if len(found) > 1 else ""
    return _labelled(short(str(found[0])) + more, label, leaf)


def _hex(decoded, path, how, label, leaf):
    found = values(decoded, path)
    return _labelled(f"0x{found[0]:x}", label, leaf) if found else None


def _text(decoded, path, how, label, leaf):
    found = values(decoded, path)
    if not found:
        return None
    text = found[0] if how == "text" else _json_key(str(found[0]), how[len(JSON_PREFIX) :])
    if text is None:
        return None
    text = str(text)
    return _labelled(text if len(text) <= TEXT_WIDTH else text[: TEXT_WIDTH - 1] + "…", label, leaf)


def _plain(decoded, path, how, label, leaf):
    found = values(decoded, path)
    if not found:
        return None
    shown = _distinct([str(v) for v in found])
    more = f" +{len(shown) - 3}" if len(shown) > 3 else ""
    return _labelled(",".join(shown[:3]) + more, label, leaf)


_RENDERERS = {
    "plain": _plain,
    "hex": _hex,
    "hash": _hash,
    "count": _count,
    "tally": _tally,
    "range": _range,
    "text": _text,
    "endpoints": _endpoints,
}
_PREPARED: dict = {}  # command -> _declared's answer


def _endpoint(entry) -> str:
    host = str(entry.get("ip", entry.get("addr"))) if isinstance(entry, dict) else str(entry)
    host = f"[{host}]" if ":" in host else host
    return f"{host}:{entry.get('port')}" if isinstance(entry, dict) else host


def parts(command: str, decoded: dict) -> list[str]:
    """The summary's parts, most useful first, from the command's declaration.

    >>> parts("clsig", {"height": 163, "block_hash": "32b0c8c77b5478680000", "sig": "", "hash": ""})
    ['height 163', 'block 32b0c8c77b547868…']
    """
    out = []
    for render, path, how, label, leaf in _declared(command):
        text = render(decoded, path, how, label, leaf)
        if text:
            out.append(text)
    return out


def cut(pieces: list[str], width: int | None) -> str:
    """The parts joined, cut at whole parts to fit ``width`` (None: whole);
    a first part wider than ``width`` is cut itself, ending in ``…``.

    >>> cut(["SPORK_2_INSTANTSEND_ENABLED", "value 0"], 30)
    'SPORK_2_INSTANTSEND_ENABLED …'
    """
    text = " ".join(pieces)
    if width is None or len(text) <= width:
        return text
    if width <= 1:
        return "…"[:width]
    kept = pieces[0]
    for piece in pieces[1:]:
        if len(kept) + 1 + len(piece) + 2 > width:
            break
        kept += " " + piece
    if len(kept) + 2 <= width:
        return kept + " …"
    return kept[: width - 1] + "…"


def summarize(command: str, decoded: dict | None, width: int | None = None) -> str:
    """A short text for the table's info column, at most ``width`` characters.

    >>> summarize("ping", {"nonce": 7})
    'nonce 7'
    >>> summarize("spork", {"spork_id": 10001, "spork_name": "SPORK_2_INSTANTSEND_ENABLED", "value": 0})
    'SPORK_2_INSTANTSEND_ENABLED value 0'
    """
    if decoded is None:
        return ""
    if decoded.get("unknown"):
        return cut([f"unknown command, {len(decoded.get('raw', '')) // 2} bytes"], width)
    if command not in DECLARED:
        return ""
    try:
        return cut(parts(command, decoded), width)
    except (AttributeError, TypeError, ValueError):
        return ""  # an odd shape (a hand-built dict) gets no line rather than a traceback
