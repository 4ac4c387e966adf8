"""The comparison with Core's files, on made-up streams: it must catch what it claims.

No dashd needed: these check the oracle itself (tests/realnode/oracle.py),
so that "equal" in the other tests means what it says.
"""

from __future__ import annotations

import doctest
import struct

from . import oracle
from .oracle import REORDER_WINDOW, Wire, compare, core_streams, read_core_file

PING, PONG, INV, TX = (
    Wire("ping", b"\1" * 8),
    Wire("pong", b"\1" * 8),
    Wire("inv", b"\2" * 37),
    Wire("tx", b"\3" * 9),
)


def test_the_docstring_examples():
    failures, tried = doctest.testmod(oracle, optionflags=doctest.ELLIPSIS)
    assert tried > 0 and failures == 0


def test_a_changed_byte_lost_and_extra_messages_are_each_caught():
    core = {("a_1", "in"): [PING, INV, TX]}
    assert compare("n", core, {("a_1", "in"): [PING, INV, TX]}).exact
    flipped = Wire("inv", b"\2" * 36 + b"\3")
    result = compare("n", core, {("a_1", "in"): [PING, flipped, TX]})
    assert not result.exact and "#1: Core has inv (37 bytes)" in result.problems[0]
    lost = compare("n", core, {("a_1", "in"): [PING, INV]})
    assert not lost.exact and lost.missing == 1 and lost.extra == 0
    extra = compare("n", core, {("a_1", "in"): [PING, INV, TX, TX]})
    assert not extra.exact and extra.extra == 1
    elsewhere = compare("n", core, {("a_1", "in"): [PING, INV, TX], ("b_2", "out"): [PONG]})
    assert not elsewhere.exact and elsewhere.extra == 1


def test_only_short_outbound_runs_may_be_reordered():
    # outbound, neighbours swapped: two threads pushing to one peer at once
    swapped = compare("n", {("a_1", "out"): [PING, INV, TX]}, {("a_1", "out"): [INV, PING, TX]})
    assert swapped.exact and len(swapped.reordered) == 1
    # inbound is one thread (ProcessMessages): no reordering is accepted
    assert not compare("n", {("a_1", "in"): [PING, INV]}, {("a_1", "in"): [INV, PING]}).exact
    # a message moved further than the window is a difference
    far = [PING, PONG, INV, TX][: REORDER_WINDOW + 1]
    moved = far[1:] + far[:1]
    assert not compare("n", {("a_1", "out"): far}, {("a_1", "out"): moved}).exact


def test_reorderings_are_bounded_by_the_number_of_messages():
    pairs = 5
    core = [m for _ in range(pairs) for m in (PING, INV)]
    ours = [m for _ in range(pairs) for m in (INV, PING)]
    result = compare("n", {("a_1", "out"): core}, {("a_1", "out"): ours})
    assert len(result.reordered) == pairs and not result.exact  # a run of swaps is not a race


def test_cores_files_are_read_record_by_record(tmp_path):
    folder = tmp_path / "regtest" / "message_capture" / "127.0.0.1_19899"
    folder.mkdir(parents=True)
    (folder / "msgs_recv.dat").write_bytes(
        struct.pack("<Q12sI", 1, b"ping", 8) + b"\1" * 8 + struct.pack("<Q12sI", 2, b"inv", 37) + b"\2" * 37
    )
    (folder / "msgs_sent.dat").write_bytes(struct.pack("<Q12sI", 3, b"pong", 8) + b"\1" * 8)
    assert core_streams(tmp_path) == {
        ("127.0.0.1_19899", "in"): [PING, INV],
        ("127.0.0.1_19899", "out"): [PONG],
    }
    (folder / "msgs_sent.dat").write_bytes(struct.pack("<Q12sI", 3, b"pong", 8) + b"\1" * 7)
    try:
        read_core_file(folder / "msgs_sent.dat")
    except ValueError as exc:
        assert "cut at offset 24" in str(exc)
    else:
        raise AssertionError("a cut payload was read")
