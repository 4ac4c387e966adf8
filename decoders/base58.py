"""Base58Check, as Dash addresses use it (dashpay/dash src/base58.cpp).

The payload (a version byte and a 20-byte hash for addresses) is followed
by the first four bytes of its SHA256d, and the whole is written in base
58 with one ``1`` per leading zero byte.

>>> b58check_encode(bytes([76]) + bytes.fromhex("3c3fa3d4adcaf8f52d5b1843975e122548269937"))
'XgBQcYbKff4q7cEs7AaxoPN2CAiBbFc2JT'
"""

from __future__ import annotations

from hashlib import sha256

ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
# two digits at a time: half the big-number divisions (addresses are hot)
_PAIRS = tuple(ALPHABET[i // 58] + ALPHABET[i % 58] for i in range(58 * 58))
_PAIR = 58 * 58


def b58encode(data: bytes) -> str:
    """Plain base58 (``EncodeBase58``): leading zero bytes become ``1``s.

    >>> b58encode(b"\\x00\\x00\\x01"), b58encode(b"")
    ('112', '')
    """
    if len(data) == 25:
        return _encode25(data)
    n = int.from_bytes(data, "big")
    out = []
    while n:
        n, rem = divmod(n, _PAIR)
        out.append(_PAIRS[rem])
    out.reverse()
    # a leading pair may start with a zero digit ("1"), which is not a zero byte
    text = "".join(out).lstrip("1")
    if data[:1] == b"\x00":
        return "1" * (len(data) - len(data.lstrip(b"\x00"))) + text
    return text


def _encode25(data: bytes, P=_PAIRS, dm=divmod) -> str:
    """``b58encode`` of 25 bytes, an address with its checksum.

    The loop written out: 2**200 < 58**36, so 18 pairs always hold the
    number, and the leading zero digits ("1"s) they add are stripped; with
    the loop's per-pair overhead gone this is about a quarter faster.
    """
    n = int.from_bytes(data, "big")
    n, a = dm(n, 3364)
    n, b = dm(n, 3364)
    n, c = dm(n, 3364)
    n, d = dm(n, 3364)
    n, e = dm(n, 3364)
    n, f = dm(n, 3364)
    n, g = dm(n, 3364)
    n, h = dm(n, 3364)
    n, i = dm(n, 3364)
    n, j = dm(n, 3364)
    n, k = dm(n, 3364)
    n, m = dm(n, 3364)
    n, o = dm(n, 3364)
    n, p = dm(n, 3364)
    n, q = dm(n, 3364)
    n, r = dm(n, 3364)
    n, s = dm(n, 3364)
    text = (
        f"{P[n]}{P[s]}{P[r]}{P[q]}{P[p]}{P[o]}{P[m]}{P[k]}{P[j]}"
        f"{P[i]}{P[h]}{P[g]}{P[f]}{P[e]}{P[d]}{P[c]}{P[b]}{P[a]}"
    ).lstrip("1")
    if data[0]:
        return text
    return "1" * (25 - len(data.lstrip(b"\x00"))) + text


def b58check_encode(payload: bytes) -> str:
    """``EncodeBase58Check``: payload + 4 checksum bytes, in base58."""
    return b58encode(payload + sha256(sha256(payload).digest()).digest()[:4])


__all__ = ["ALPHABET", "b58check_encode", "b58encode"]
