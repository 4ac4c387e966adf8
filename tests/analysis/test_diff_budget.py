"""``diff``'s alignment has one budget for the whole diff, in proportion to
the inputs (p2pcap/analysis/align.py ``Budget``), and says once when it
falls back to a coarser alignment (issue 22: two hostile 88 KB captures
took 13 s, a 1 MB pair about 145 s).

The hostile pair: long pieces of two alternating ``inv`` messages between
unique anchors, which make each piece a quadratic difflib run; written by
``CaptureWriter``, each diff in a child under ``RLIMIT_AS`` and a timeout.
"""

from __future__ import annotations

import random
import struct

from hypothesis import given, settings
from hypothesis import strategies as st

from p2pcap.analysis.align import FLOOR, PER_ELEMENT, Budget, matching_blocks, opcodes

from .limits import T0, inv, run_limited, within_limits, write


def hostile_pair(folder, messages: int, piece: int = 1400):
    """Two captures of ``messages`` inv messages: pieces of ``piece`` messages
    of two kinds in random order, each piece ended by an anchor both share."""
    paths = []
    for seed in (1, 2):
        rnd = random.Random(seed)
        x, y = b"\x11" * 32, b"\x22" * 32
        records = []
        for i in range(messages):
            if i % (piece + 1) == piece:
                item = struct.pack("<Q", i) + bytes(24)  # unique: an anchor
            else:
                item = x if rnd.random() < 0.5 else y
            # times with some entropy, as a real capture's: a record costs the file its bytes
            records.append(inv(T0 + i * (1 << 40) + rnd.randrange(1 << 40), item))
        paths.append(write(folder / f"hostile-{seed}.cap", records))
    return paths


def check_blocks(a, b, blocks) -> None:
    """What ``matching_blocks`` promises, whatever the budget."""
    assert blocks[-1] == (len(a), len(b), 0)
    i = j = 0
    for ai, bj, n in blocks[:-1]:
        assert ai >= i and bj >= j and n > 0
        assert list(a[ai : ai + n]) == list(b[bj : bj + n])
        i, j = ai + n, bj + n


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(0, 5), max_size=60),
    st.lists(st.integers(0, 5), max_size=60),
    st.integers(0, 400),
)
def test_any_budget_gives_true_blocks(a, b, steps):
    budget = Budget(steps)
    check_blocks(a, b, matching_blocks(a, b, budget))
    assert budget.left >= 0
    if not budget.spent:
        assert matching_blocks(a, b, Budget(steps)) == matching_blocks(a, b, Budget(10**9))


def test_the_budget_is_spent_once_and_then_pieces_are_coarse():
    rnd = random.Random(3)
    a, b = [], []
    for k in range(6):  # pieces of 1,400 two-valued elements between anchors
        a += [rnd.randrange(2) for _ in range(1400)] + [100 + k]
        b += [rnd.randrange(2) for _ in range(1400)] + [100 + k]
    budget = Budget.for_sizes(len(a), len(b))
    assert budget.steps == FLOOR + PER_ELEMENT * (len(a) + len(b))
    codes = opcodes(a, b, budget)
    assert budget.spent and budget.coarse >= 1 and budget.left == 0
    # the anchors are still found: every anchor is an equal stretch
    equal = {a[i] for tag, i1, i2, _j1, _j2 in codes if tag == "equal" for i in range(i1, i2)}
    assert {100 + k for k in range(6)} <= equal


def test_an_ordinary_pair_stays_within_its_budget():
    rnd = random.Random(4)
    a = [rnd.getrandbits(40) for _ in range(50_000)]
    b = [x for x in a if rnd.random() > 0.01]  # 1% missing
    b[1000:1000] = [rnd.getrandbits(40) for _ in range(30)]
    budget = Budget.for_sizes(len(a), len(b))
    opcodes(a, b, budget)
    assert not budget.spent
    assert budget.steps - budget.left < 8 * (len(a) + len(b))  # a few steps a message


def test_hostile_88k_pair(tmp_path):
    a, b = hostile_pair(tmp_path, 12_000)
    assert a.stat().st_size < 120 << 10
    run = run_limited("diff", ["diff", a, b], tmp_path)
    assert run.status == 1, run.describe()  # different, and said so
    within_limits(run)
    notes = [line for line in run.stderr.splitlines() if "alignment used its whole budget" in line]
    assert len(notes) == 1 and notes[0].startswith("p2pcap: note: "), run.stderr


def test_hostile_1mb_pair(tmp_path):
    a, b = hostile_pair(tmp_path, 125_000)
    assert a.stat().st_size < 1200 << 10
    run = run_limited("diff", ["diff", a, b, "--json"], tmp_path)
    assert run.status == 1, run.describe()
    within_limits(run)
    assert run.stderr.count("alignment used its whole budget") == 1, run.stderr


def test_a_spent_budget_leaves_equal_sequences_equal():
    """The verdict does not depend on the budget: after it is spent, a
    session the same in both captures still compares equal."""
    rnd = random.Random(5)
    hostile_a = [rnd.randrange(2) for _ in range(3000)]
    hostile_b = [rnd.randrange(2) for _ in range(3000)]
    same = [rnd.getrandbits(40) for _ in range(5000)]
    budget = Budget(10)
    opcodes(hostile_a, hostile_b, budget)
    assert budget.spent
    assert opcodes(same, list(same), budget) == [("equal", 0, 5000, 0, 5000)]
    near = list(same)
    near[2500] = -1
    codes = opcodes(same, near, budget)
    assert [c for c in codes if c[0] != "equal"] == [("replace", 2500, 2501, 2500, 2501)]
