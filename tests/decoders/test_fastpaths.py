"""The hand-written parsers of decoders/fastpaths.py give what the constructs give.

The construct of each command is the reference: on every payload a fast
parser accepts, its dict must equal the construct's (keys, order, values);
on anything else it must step aside (None), so the construct decodes or
names the error.  Payloads: random ones, well-formed ones of every size
class, and damaged copies (cut, extended, non-canonical counts).
"""

from __future__ import annotations

import io
import struct

from hypothesis import given, settings
from hypothesis import strategies as st

from p2pcap.decoders import DecodeError, decode
from p2pcap.decoders.decode import _context, _messages, to_plain
from p2pcap.decoders.fastpaths import FAST


def by_construct(command: str, payload: bytes):
    """The construct's answer, or None where it raises (bypassing the fast path)."""
    try:
        return to_plain(
            _messages()[command]._parsereport(io.BytesIO(payload), _context(None, None), "(parsing)")
        )
    except Exception:  # any construct error: the fast path must not accept it either
        return None


def agree(command: str, payload: bytes) -> None:
    fast = FAST[command](payload)
    reference = by_construct(command, payload)
    if fast is not None:
        assert reference is not None, (
            f"{command} fast path accepted what the construct refuses: {payload.hex()}"
        )
        assert list(fast) == list(reference) and fast == reference
        assert [list(e) for e in fast.get("inv", [])] == [list(e) for e in reference.get("inv", [])]
    if reference is None:
        try:
            decode(command, payload)
        except DecodeError:
            pass
        else:
            raise AssertionError(f"decode accepted what the construct refuses: {payload.hex()}")


def inv_payload(entries, *, prefix: bytes | None = None) -> bytes:
    n = len(entries)
    count = prefix if prefix is not None else (bytes([n]) if n < 0xFD else b"\xfd" + struct.pack("<H", n))
    return count + b"".join(struct.pack("<I", t) + h for t, h in entries)


entries = st.lists(
    st.tuples(
        st.sampled_from([1, 2, 4, 14, 29, 31, 32, 99, 0xFFFFFFFF]), st.binary(min_size=32, max_size=32)
    ),
    max_size=300,
)


@settings(max_examples=300, deadline=None)
@given(entries, st.sampled_from(["inv", "getdata", "notfound"]))
def test_inventory_matches_the_construct(items, command):
    payload = inv_payload(items)
    assert FAST[command](payload) is not None  # well-formed: the fast path takes it
    agree(command, payload)
    agree(command, payload[:-1])  # cut
    agree(command, payload + b"\x00")  # one byte too many
    if items:
        agree(command, inv_payload(items, prefix=b"\xfd" + struct.pack("<H", len(items))))  # non-canonical


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200), st.sampled_from(sorted(FAST)))
def test_random_bytes(payload, command):
    agree(command, payload)


def test_the_fast_paths_serve_real_traffic():
    # 253 entries take the fd form; a ping is 8 bytes: both go the fast way.
    big = inv_payload([(1, bytes(32))] * 253)
    assert FAST["inv"](big)["inv"][252] == {"type": 1, "type_name": "MSG_TX", "hash": "00" * 32}
    assert FAST["ping"](bytes(range(8))) == {"nonce": 0x0706050403020100} == decode("ping", bytes(range(8)))
    assert FAST["pong"](bytes(7)) is None
