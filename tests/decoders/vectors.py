"""Checks shared by the decoder test modules.

Each ``test_*.py`` keeps its own hand-assembled ``CASES`` table and its
module-specific tests; those tests call the checks here
(``from .vectors import ...``: tests/decoders is a package).  The name does
not start with ``test_``, so pytest does not collect it as a test module.
"""

from __future__ import annotations

import hashlib

import pytest

from p2pcap.decoders import DecodeError, build, decode

END_OF_STREAM = "expected end of stream"


def compact(n: int) -> bytes:
    """A CompactSize, hand-assembled (Core's src/serialize.h):
    one byte below 0xFD, else a 0xFD/0xFE/0xFF marker and 2/4/8 little-endian bytes."""
    if n < 0xFD:
        return bytes([n])
    if n <= 0xFFFF:
        return b"\xfd" + n.to_bytes(2, "little")
    if n <= 0xFFFFFFFF:
        return b"\xfe" + n.to_bytes(4, "little")
    return b"\xff" + n.to_bytes(8, "little")


def shown(wire: bytes | str) -> str:
    """A uint256 as displayed (byte-reversed) from its wire bytes (or their hex)."""
    raw = bytes.fromhex(wire) if isinstance(wire, str) else wire
    return raw[::-1].hex()


def sha256d_shown(data: bytes | str) -> str:
    """SHA256d of the bytes (or their hex), displayed: an inv hash or txid."""
    raw = bytes.fromhex(data) if isinstance(data, str) else data
    return shown(hashlib.sha256(hashlib.sha256(raw).digest()).digest())


def assert_subset(expected, actual, where="payload"):
    """Every key and list element of ``expected`` matches ``actual``."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), where
        for key, value in expected.items():
            assert key in actual, f"{where}.{key} missing"
            assert_subset(value, actual[key], f"{where}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), where
        for i, (e, a) in enumerate(zip(expected, actual)):
            assert_subset(e, a, f"{where}[{i}]")
    else:
        assert actual == expected, f"{where}: {actual!r} != {expected!r}"


def check_decode(command: str, payload: str, expected, version: int | None = None) -> dict:
    """decode() of the hex payload equals ``expected`` exactly; returns it."""
    decoded = decode(command, bytes.fromhex(payload), version)
    assert decoded == expected
    return decoded


def check_round_trip(command: str, payload: str, version: int | None = None) -> None:
    """build(decode(b)) == b at the given connection version."""
    raw = bytes.fromhex(payload)
    assert build(command, decode(command, raw, version), version) == raw


def check_decode_subset_and_round_trip(
    command: str, payload: str, expected, version: int | None = None
) -> None:
    """decode() has at least what ``expected`` lists, and builds back to b."""
    raw = bytes.fromhex(payload)
    decoded = decode(command, raw, version)
    assert_subset(expected, decoded)
    assert build(command, decoded, version) == raw


def decode_error(command: str, payload: str, version: int | None = None) -> DecodeError:
    """The DecodeError that decoding the hex payload must raise."""
    with pytest.raises(DecodeError) as info:
        decode(command, bytes.fromhex(payload), version)
    return info.value


def check_trailing_rejected(
    command: str,
    payload: str,
    version: int | None = None,
    *,
    extra: str = "00",
    reason: str | None = END_OF_STREAM,
) -> DecodeError:
    """The payload with ``extra`` hex bytes appended is refused, with
    ``reason`` (any reason when None); returns the error."""
    error = decode_error(command, payload + extra, version)
    if reason is not None:
        assert error.reason == reason
    return error



def check_built_object(command: str, obj: dict, version: int | None = None) -> bytes:
    """build() of an object decodes to at least that object and builds back
    to the same bytes; returns them."""
    raw = build(command, obj, version)
    decoded = decode(command, raw, version)
    assert_subset(obj, decoded)
    assert build(command, decoded, version) == raw
    return raw
