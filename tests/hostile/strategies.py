"""Hypothesis strategies over the capture format's fields (docs/FORMAT.md).

Every field a reader takes from a file is drawn here, near its edges more
often than not: the file header (version, metadata bytes, JSON, nesting),
block headers (type, record count, raw length, time range), the entries of
a body (peer and command definitions with their lengths and refs, messages
with their sizes, gaps, kinds from a newer minor, garbage), payloads that
compress to nothing, the footer's JSON (true, mutated, nested, bloated),
the trailer, and where the file is cut.  ``captures()`` puts them together
with ``craft.Capture`` and gives the file's bytes, kept under 1 MB.
"""

from __future__ import annotations

import json

from hypothesis import strategies as st

from . import craft

U16, U32, U64 = (1 << 16) - 1, (1 << 32) - 1, (1 << 64) - 1


def mostly(usual, other: st.SearchStrategy, odds: int = 4) -> st.SearchStrategy:
    """``usual`` ``odds`` times in ``odds + 1``, else a value of ``other``
    (``a | b`` draws each side half the time, and a repeated side counts once)."""
    return st.integers(0, odds).flatmap(lambda k: st.just(usual) if k else other)


def edges(top: int) -> st.SearchStrategy:
    """Integers from 0 to ``top``, with 0, 1, the top and its neighbours often."""
    return st.sampled_from([0, 1, 2, top - 1, top]) | st.integers(0, top)


names = st.sampled_from(
    [b"inv", b"ping", b"tx", b"verack", b"version", b"qbsigs", b"headers", b""]
) | st.binary(max_size=16)
addresses = (
    st.sampled_from([b"10.0.0.1:9999", b"[2001:db8::1]:9999", b"x.onion:9999", b"", b"\xff\xfe:1"])
    | st.binary(max_size=80)
    | st.builds(lambda n, c: c * n, st.integers(0, U16), st.sampled_from([b"a", b"\xff", b"\x1b"]))
)
conn_types = st.sampled_from([b"inbound", b"outbound-full-relay", b"\x80", b""]) | st.binary(max_size=255)
# Payloads: random bytes, or zeros (they compress to nothing, so they cost
# a file nothing and a reader much; ``bodies`` adds the big ones).
payloads = st.binary(max_size=64) | st.builds(bytes, st.sampled_from([0, 9, 1 << 16]))
BIG = [3 << 20, (3 << 20) + 1, 8 << 20]  # Dash's 3 MiB message limit, and past it


@st.composite
def entries(draw, peers: int, commands: int) -> bytes:
    """One entry of a block body; refs point at definitions so far, or anywhere."""
    kind = draw(
        st.sampled_from(["peer", "command", "message", "message", "message", "gap", "unknown", "junk"])
    )
    if kind == "peer":
        ref = draw(st.sampled_from([peers, peers]) | edges(U16))
        return craft.peer(
            ref,
            draw(edges(U32)),
            draw(st.integers(-(1 << 63), (1 << 63) - 1)),
            draw(addresses),
            draw(conn_types),
        )
    if kind == "command":
        return craft.command(draw(st.sampled_from([commands]) | edges(U16)), draw(names)[:255])
    if kind == "message":
        pref = draw(st.integers(0, max(peers - 1, 0)) | st.integers(0, max(peers - 1, 0)) | edges(U16))
        cref = draw(st.integers(0, max(commands - 1, 0)) | st.integers(0, max(commands - 1, 0)) | edges(U16))
        return craft.message(
            pref,
            cref,
            draw(payloads),
            ts=draw(st.just(craft.TS) | edges(U64)),
            direction=draw(st.sampled_from([0, 1]) | edges(255)),
            flags=draw(edges(U16)),
            msg_size=draw(st.none() | edges(U32)),
        )
    if kind == "gap":
        return craft.gap(
            draw(edges(U64)), draw(edges(U32)), draw(edges(U16)), draw(edges(U64)), draw(edges(U64))
        )
    if kind == "unknown":  # a kind from a newer minor, stepped over by its size
        data = draw(st.binary(max_size=32))
        size = draw(st.sampled_from([len(data)]) | edges(U32))
        return bytes([draw(st.integers(5, 255))]) + size.to_bytes(4, "little") + data
    return draw(st.binary(min_size=1, max_size=40))


@st.composite
def well_formed(draw) -> list:
    """Entries a writer could have made, with hostile values: definitions
    first, then messages and gaps whose refs hold."""
    out = [
        craft.peer(
            i,
            draw(edges(U32)),
            draw(st.integers(-(1 << 63), (1 << 63) - 1)),
            draw(addresses),
            draw(conn_types),
        )
        for i in range(draw(st.integers(1, 3)))
    ]
    peers = len(out)
    commands = draw(st.lists(names.map(lambda n: n[:255]), min_size=1, max_size=3))
    out += [craft.command(i, name) for i, name in enumerate(commands)]
    for _ in range(draw(st.integers(1, 8))):
        if draw(st.integers(0, 5)):
            out.append(
                craft.message(
                    draw(st.integers(0, peers - 1)),
                    draw(st.integers(0, len(commands) - 1)),
                    draw(payloads),
                    ts=draw(mostly(craft.TS, edges(U64))),
                    direction=draw(st.integers(0, 1)),
                    flags=draw(mostly(0, edges(U16))),
                    msg_size=draw(mostly(None, edges(U32))),
                )
            )
        else:
            out.append(
                craft.gap(
                    draw(edges(U64)), draw(edges(U32)), draw(edges(U16)), draw(edges(U64)), draw(edges(U64))
                )
            )
    return out


@st.composite
def bodies(draw) -> craft.Body:
    """A block body: well-formed (most often), or any entries at all."""
    if draw(st.integers(0, 2)):
        out = draw(well_formed())
    else:
        out, peers, commands = [], 0, 0
        for _ in range(draw(st.integers(0, 12))):
            e = draw(entries(peers, commands))
            peers += e[0] == 2
            commands += e[0] == 3
            out.append(e)
    extra = draw(st.integers(0, 7))
    if extra == 0:  # many copies of one record: tiny on disk, a lot to read
        out += [craft.message(0, 0)] * draw(st.sampled_from([1000, 50_000, 200_000]))
    elif extra == 1:  # one payload as big as a message may be, or bigger
        out.append(craft.message(0, 0, bytes(draw(st.sampled_from(BIG)))))
    return craft.body(out)


json_junk = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=6), inner, max_size=5),
    max_leaves=20,
)


def _mutate(index: dict, path: list, value) -> dict:
    """``index`` with the item at the path (taken modulo what is there) set to ``value``."""
    node = index
    for step in path[:-1]:
        if isinstance(node, dict) and node:
            node = node[sorted(node)[step % len(node)]]
        elif isinstance(node, list) and node:
            node = node[step % len(node)]
    if isinstance(node, dict) and node:
        node[sorted(node)[path[-1] % len(node)]] = value
    elif isinstance(node, list) and node:
        node[path[-1] % len(node)] = value
    return index


def true_index(data: bytes) -> dict:
    """The index of a file's intact blocks, as the writer would have made it."""
    import io

    from p2pcap.formats import CaptureReader, FormatError

    try:
        return CaptureReader(io.BytesIO(data), skip_damaged=True).summarize(scan=True).to_json()
    except FormatError:
        return {"blocks": [], "commands": {}, "peers": [], "losses": []}


@st.composite
def footers(draw, cap: craft.Capture):
    """(footer JSON, its count of blocks) for the blocks of ``cap``: none,
    true, mutated, nested or bloated."""
    kind = draw(
        st.sampled_from(["none", "true", "true", "mutated", "mutated", "mutated", "junk", "deep", "bloated"])
    )
    if kind == "none":
        return None, 0
    index = true_index(cap.bytes())
    n = len(index["blocks"])
    if kind == "true":
        return json.dumps(index).encode(), n
    if kind == "mutated":
        path = draw(st.lists(st.integers(0, 50), min_size=1, max_size=4))
        value = draw(json_junk | edges(U64) | st.sampled_from([-1, 4_000_000_000, 10**30, "x" * 70_000]))
        return json.dumps(_mutate(index, path, value)).encode(), n
    if kind == "junk":
        return json.dumps(draw(json_junk)).encode(), n
    if kind == "deep":
        depth = draw(st.sampled_from([65, 1000, 200_000]))
        return b"[" * depth + b"]" * depth, n
    pad = b"{}," * draw(st.sampled_from([10, 10**6]))
    return json.dumps(index)[:-1].encode() + b',"pad":[' + pad + b"{}]}", n


_BAD_METADATA = [b"{}", b"[]", b"", b"\xff", b'{"a":' + b"[" * 3000 + b"]" * 3000 + b"}"]
# Mostly metadata a reader takes (or nothing past the header is read).
metadata = st.integers(0, 9).flatmap(
    lambda k: (
        st.just(b'{"network":"regtest"}')
        if k < 6
        else st.builds(lambda v: json.dumps({"network": "regtest", "x": v}).encode(), json_junk)
        if k < 8
        else st.sampled_from(_BAD_METADATA)
        if k < 9
        else st.binary(max_size=30)
    )
)


@st.composite
def captures(draw) -> bytes:
    """A whole file: header, blocks with any claims, a footer or none, a trailer, a cut."""
    cap = craft.Capture(draw(metadata))
    for _ in range(draw(st.integers(1, 4))):
        b = draw(bodies())
        cap.block(
            b,
            records=draw(mostly(None, edges(U32), 6)),
            raw_len=draw(mostly(None, edges(U32), 6)),
            ts=draw(mostly((craft.TS, craft.TS), st.tuples(edges(U64), edges(U64)))),
            btype=draw(mostly(1, st.sampled_from([2, 7]), 6)),
            level=1,
        )
        if draw(st.integers(0, 9)) == 0:
            cap.raw(draw(st.binary(min_size=1, max_size=60)))
    text, blocks = draw(footers(cap))
    if text is not None:
        cap.footer(text, blocks=draw(mostly(blocks, edges(U32))), level=1)
    data = cap.bytes()
    if draw(st.integers(0, 3)) == 0:  # cut anywhere
        data = data[: draw(st.integers(0, len(data)))]
    if draw(st.integers(0, 9)) == 0:
        data += draw(st.binary(min_size=1, max_size=40))
    return data[: 1_000_000 - 1]
