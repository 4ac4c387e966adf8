"""Every registered ``CASES`` table, decoded, built back and with a byte
too many.

Like h11's tests/test_io.py SIMPLE_CASES, one table serves both directions:
each module's hand-assembled rows (tables.CASES, ids ``module-case``) are
decoded to what the row states, built back to the very same bytes, and
refused with one trailing byte.  The modules keep only the tests that are
their own.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from p2pcap.decoders import build, decode

from . import tables
from .vectors import check_trailing_rejected

HERE = Path(__file__).parent
IDS = [case.id for case in tables.CASES]
# Modules whose CASES are not rows of commands: test_bitsets.py's are
# constructs' (name, construct, payload, expected), driven by its own tests.
OWN_DRIVERS = {"test_bitsets"}


def test_ids_are_unique():
    assert len(set(IDS)) == len(IDS)


def test_every_cases_table_is_registered():
    defining = {
        path.stem
        for path in HERE.glob("test_*.py")
        if re.search(r"^(CASES|TABLE)\b", path.read_text(), re.MULTILINE)
    }
    registered = {module.__name__.rpartition(".")[2] for module in tables.MODULES if hasattr(module, "TABLE")}
    assert defining - OWN_DRIVERS == registered


@pytest.mark.parametrize("case", tables.CASES, ids=IDS)
def test_decode(case):
    table = case.table
    decoded = decode(case.command, bytes.fromhex(case.payload), case.version)
    table.match(table.expect(case.command, case.payload, case.expected), table.view(case.command, decoded))


@pytest.mark.parametrize("case", tables.CASES, ids=IDS)
def test_build_round_trip(case):
    raw = bytes.fromhex(case.payload)
    assert build(case.command, decode(case.command, raw, case.version), case.version) == raw


@pytest.mark.parametrize("case", tables.CASES, ids=IDS)
def test_trailing_byte_rejected(case):
    table = case.table
    error = check_trailing_rejected(
        case.command,
        case.payload,
        case.version,
        extra=table.extra,
        reason=table.trailing_reason(case.command, case.payload),
    )
    # offset is where reading stopped: never before the end of the good payload
    assert error.offset >= len(case.payload) // 2
