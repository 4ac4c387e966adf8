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


def b58encode(data: bytes) -> str:
    """Plain base58 (``EncodeBase58``): leading zero bytes become ``1``s."""
    zeros = len(data) - len(data.lstrip(b"\x00"))
    n = int.from_bytes(data, "big")
    out = []
    while n:
        n, rem = divmod(n, 58)
        out.append(ALPHABET[rem])
    return "1" * zeros + "".join(reversed(out))


def b58check_encode(payload: bytes) -> str:
    """``EncodeBase58Check``: payload + 4 checksum bytes, in base58."""
    check = hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4]
    return b58encode(payload + check)


__all__ = ["ALPHABET", "b58check_encode", "b58encode"]
