"""Checks shared by the decoder test modules.

Each ``test_*.py`` keeps its own hand-assembled ``CASES`` table and its
module-specific tests; those tests call the checks here
(``from .vectors import ...``: tests/decoders is a package).  A module's
``TABLE = Table(CASES, ...)`` says how to read its table; test_tables.py
decodes, builds back and trailing-checks every registered table's rows.
The name does not start with ``test_``, so pytest does not collect it as a
test module.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

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


def assert_equal(expected, actual, where="payload"):
    """The decoded value is exactly the expected one."""
    assert actual == expected, where


# The columns of a table with a connection version (None: the newest).
VERSIONED = ("command", "version", "payload", "expected")


@dataclass(frozen=True)
class Table:
    """How test_tables.py reads a module's ``CASES``.

    ``fields`` names each column of a row: ``command``, ``payload`` (hex) and
    ``expected`` are read, ``version`` (the connection version, None for the
    newest) when present, and ``name`` names the case in the test ids.
    ``command`` is the command of every row, for a table without that column;
    ``ids`` a name per row, else the ``name`` column, else
    ``command[-version]-index``.

    Decoding: ``match(expect(command, payload, expected), view(command,
    decoded))`` must not raise.  By default the decoded dict equals the
    row's ``expected``; ``match=assert_subset`` for tables that list only
    some fields, ``view`` for the part (or summary) of the decoded dict
    the rows state, ``expect`` for fields computed from the payload.

    Trailing bytes: the payload with ``extra`` hex appended is refused with
    ``reason`` (None: any; or a function of command and payload).
    """

    rows: Sequence[tuple]
    fields: tuple[str, ...] = ("command", "payload", "expected")
    command: str | None = None
    ids: Sequence[str] | None = None
    match: Callable[[object, object], None] = assert_equal
    view: Callable[[str, dict], object] = lambda command, decoded: decoded
    expect: Callable[[str, str, object], object] = lambda command, payload, expected: expected
    extra: str = "00"
    reason: str | None | Callable[[str, str], str | None] = END_OF_STREAM

    def cases(self) -> list[Case]:
        """The rows as ``Case``s, named but not yet by their module."""
        if self.ids is not None:
            assert len(self.ids) == len(self.rows), "one id per row"
        out = []
        for index, row in enumerate(self.rows):
            assert len(row) == len(self.fields), f"row {index}: {len(row)} columns, {self.fields}"
            column = dict(zip(self.fields, row))
            command = column.get("command", self.command)
            version = column.get("version")
            if self.ids is not None:
                name = self.ids[index]
            elif "name" in column:
                name = column["name"]
            else:
                name = f"{command}-{index}" if version is None else f"{command}-{version}-{index}"
            out.append(Case(name, command, column["payload"], column["expected"], version, self))
        return out

    def trailing_reason(self, command: str, payload: str) -> str | None:
        return self.reason(command, payload) if callable(self.reason) else self.reason


@dataclass(frozen=True)
class Case:
    """One row of a ``Table``: decoded, built back and trailing-checked by test_tables.py."""

    id: str
    command: str
    payload: str
    expected: object
    version: int | None
    table: Table


# Keys decode() derives from the bytes rather than reads (scripts as asm,
# type and address, amounts in DASH, ProTx key and payout addresses).  The
# layout tests here compare what is on the wire; test_script.py and
# test_core_json.py check the derived keys against other implementations.
DERIVED = frozenset({
    "script_sig_asm", "value_dash", "script_pub_key_asm", "script_pub_key_type", "address",
    "owner_address", "voting_address", "payout_address", "operator_payout_address",
})  # fmt: skip


def without_derived(obj):
    if isinstance(obj, dict):
        return {k: without_derived(v) for k, v in obj.items() if k not in DERIVED}
    if isinstance(obj, list):
        return [without_derived(v) for v in obj]
    return obj
