"""Base58Check, as Dash addresses use it (dashpay/dash src/base58.cpp).

The payload (a version byte and a 20-byte hash for addresses) is followed
by the first four bytes of its SHA256d, and the whole is written in base
58 with one ``1`` per leading zero byte.

>>> b58check_encode(bytes([76]) + bytes.fromhex("3c3fa3d4adcaf8f52d5b1843975e122548269937"))
'XgBQcYbKff4q7cEs7AaxoPN2CAiBbFc2JT'
"""

from __future__ import annotations

import hashlib

ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
# two digits at a time: half the big-number divisions (addresses are hot)
_PAIRS = tuple(ALPHABET[i // 58] + ALPHABET[i % 58] for i in range(58 * 58))


def b58encode(data: bytes) -> str:
    """Plain base58 (``EncodeBase58``): leading zero bytes become ``1``s.

    >>> b58encode(b"\\x00\\x00\\x01"), b58encode(b"")
    ('112', '')
    """
    zeros = len(data) - len(data.lstrip(b"\x00"))
    n = int.from_bytes(data, "big")
    out = []
    while n:
        n, rem = divmod(n, 58 * 58)
        out.append(_PAIRS[rem])
    # a leading pair may start with a zero digit ("1"), which is not a zero byte
    return "1" * zeros + "".join(reversed(out)).lstrip("1")


def b58check_encode(payload: bytes) -> str:
    """``EncodeBase58Check``: payload + 4 checksum bytes, in base58."""
    check = hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4]
    return b58encode(payload + check)


__all__ = ["ALPHABET", "b58check_encode", "b58encode"]
