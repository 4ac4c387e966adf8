"""Align two sequences of message fingerprints (ints) for ``diff``.

Patience diff (Bram Cohen; as in git ``--patience``): elements that occur
once in each side anchor the alignment, the longest increasing run of
anchors is kept, and the pieces between anchors are aligned the same way.
A P2P session is full of such anchors (every ``inv``, ``tx``, ``headers``
names its own hashes), and anchored alignments read well: a missing
message shows as one ``-`` line, not as a cascade.  Pieces with no anchor
(runs of pings) go to ``difflib`` when small, and are shown as replaced
when they are too big for its quadratic worst case.

Time is bounded by a ``Budget`` for the whole diff, in proportion to the
sizes of the inputs (``Budget.for_sizes``): every step (a comparison of two
elements in difflib, an element looked at in the search for anchors) is
counted, and a piece met after the budget is spent is left as a
replacement once its common head and tail are taken off (a linear scan:
equal sequences stay equal whatever the budget) -- a coarser alignment,
which the budget records (``coarse``) so that ``diff`` can say so.  Two sequences built to make difflib quadratic (long pieces of
two values between unique anchors) cost what their length allows, not
seconds per piece.

Memory is linear in the sequence lengths; nothing here knows what a
message is.
"""

from __future__ import annotations

import bisect
import difflib
from array import array

SMALL = 2_000_000  # len(a) * len(b) of a piece difflib may align
SAMPLE = 32_768  # about how many elements a long piece's anchor search looks at
# The budget: steps for any diff, and steps more per element of the inputs.
# A step is about half a microsecond (a difflib comparison); an element
# looked at in the search for anchors costs ANCHOR_STEPS (dictionary work).
# An ordinary capture pair spends a few tens of steps per element; the
# floor lets any pair with pieces up to SMALL be aligned as finely as
# before, and the worst case costs about (FLOOR + PER_ELEMENT * n) steps.
FLOOR = 2 * SMALL
PER_ELEMENT = 24
ANCHOR_STEPS = 4
MAX_HUNK = 10_000  # elements of both sides in one hunk (``hunks``)


class Budget:
    """Steps the alignments of one diff may take in all; ``coarse`` counts
    the pieces left unaligned once it was spent.

    >>> b = Budget(10)
    >>> b.take(8), b.take(8), b.coarse, b.spent
    (True, False, 1, True)
    """

    def __init__(self, steps: int):
        self.steps = steps
        self.left = steps
        self.coarse = 0

    @classmethod
    def for_sizes(cls, *lengths: int) -> Budget:
        """The budget of a diff over sequences of these lengths."""
        return cls(FLOOR + PER_ELEMENT * sum(lengths))

    @property
    def spent(self) -> bool:
        return self.coarse > 0

    def take(self, steps: int) -> bool:
        """Spend ``steps`` if they are left; else count a coarse piece."""
        if steps <= self.left:
            self.left -= steps
            return True
        self.left = 0  # from here on every piece is coarse: no half-aligned leftovers
        self.coarse += 1
        return False


def matching_blocks(a, b, budget: Budget | None = None) -> list[tuple[int, int, int]]:
    """``(i, j, n)``: ``a[i:i+n] == b[j:j+n]``, increasing, not touching; ends with ``(len(a), len(b), 0)``.

    ``budget`` (default: ``Budget.for_sizes`` of the two) bounds the work.

    >>> matching_blocks([1, 2, 3, 4], [1, 3, 4, 5])
    [(0, 0, 1), (2, 1, 2), (4, 4, 0)]
    """
    if budget is None:
        budget = Budget.for_sizes(len(a), len(b))
    found: list[tuple[int, int, int]] = []
    stack = [(0, len(a), 0, len(b))]
    while stack:
        alo, ahi, blo, bhi = stack.pop()
        # common head and tail: always, even on a spent budget (linear in all,
        # since no piece is cut further then), so that equal stays equal
        n = 0
        while alo + n < ahi and blo + n < bhi and a[alo + n] == b[blo + n]:
            n += 1
        if n:
            found.append((alo, blo, n))
            alo, blo = alo + n, blo + n
        n = 0
        while alo < ahi - n and blo < bhi - n and a[ahi - n - 1] == b[bhi - n - 1]:
            n += 1
        if n:
            ahi, bhi = ahi - n, bhi - n
            found.append((ahi, bhi, n))
        if alo == ahi or blo == bhi:
            continue
        if not budget.take(ANCHOR_STEPS * (ahi - alo + bhi - blo)):
            continue  # left as it is: a replacement, not looked into
        ia, jb = _anchors(a, alo, ahi, b, blo, bhi)
        if ia:
            pi, pj = alo, blo
            run_i = run_j = -1
            run_n = 0
            for i, j in zip(ia, jb):
                if i > pi and j > pj:
                    stack.append((pi, i, pj, j))
                if run_n and i == run_i + run_n and j == run_j + run_n:
                    run_n += 1  # consecutive anchors: one block
                else:
                    if run_n:
                        found.append((run_i, run_j, run_n))
                    run_i, run_j, run_n = i, j, 1
                pi, pj = i + 1, j + 1
            found.append((run_i, run_j, run_n))
            if pi < ahi and pj < bhi:
                stack.append((pi, ahi, pj, bhi))
        elif (ahi - alo) * (bhi - blo) <= SMALL and budget.take((ahi - alo) * (bhi - blo)):
            sm = difflib.SequenceMatcher(None, a[alo:ahi], b[blo:bhi], autojunk=False)
            found.extend((alo + i, blo + j, n) for i, j, n in sm.get_matching_blocks() if n)
        # else: too big and nothing to anchor on; left as a replacement
    return _merged(found, len(a), len(b))


def _anchors(a, alo, ahi, b, blo, bhi) -> tuple[array, array]:
    """Positions ``(i, j)`` of elements unique in both pieces, as two arrays:
    the longest run increasing in both (patience sorting).

    A long piece looks only at the elements whose value is a multiple of
    ``rate`` (values are hashes, so that is a fair sample, and every copy of
    a value is in or out together: uniqueness stays exact).  The anchors
    found cut the piece into short ones, looked at in full later; the
    dictionaries stay around ``SAMPLE`` entries whatever the length.
    """
    rate = max(1, (ahi - alo + bhi - blo) // SAMPLE)
    ia, jb = _unique_pairs(a, alo, ahi, b, blo, bhi, rate)
    if not ia and rate > 1:
        ia, jb = _unique_pairs(a, alo, ahi, b, blo, bhi, 1)
    if not ia:
        return ia, jb
    # longest increasing subsequence of jb
    tails = array("q")  # smallest j ending a run of each length
    tail_at = array("q")  # its index in ia/jb
    back = array("q", bytes(8 * len(jb)))
    for k, j in enumerate(jb):
        pos = bisect.bisect_left(tails, j)
        if pos == len(tails):
            tails.append(j)
            tail_at.append(k)
        else:
            tails[pos] = j
            tail_at[pos] = k
        back[k] = tail_at[pos - 1] if pos else -1
    keep = array("q")
    k = tail_at[-1]
    while k >= 0:
        keep.append(k)
        k = back[k]
    keep.reverse()
    return array("q", (ia[k] for k in keep)), array("q", (jb[k] for k in keep))


def _unique_pairs(a, alo, ahi, b, blo, bhi, rate: int) -> tuple[array, array]:
    seen_a: dict = {}
    for i in range(alo, ahi):
        x = a[i]
        if x % rate == 0:
            seen_a[x] = -1 if x in seen_a else i
    seen_b: dict = {}
    for j in range(blo, bhi):
        x = b[j]
        if x % rate == 0 and seen_a.get(x, -1) >= 0:
            seen_b[x] = -1 if x in seen_b else j
    ia, jb = array("q"), array("q")  # candidate pairs, in order of i
    for i in range(alo, ahi):
        x = a[i]
        if x % rate == 0 and seen_a[x] == i:
            j = seen_b.get(x, -1)
            if j >= 0:
                ia.append(i)
                jb.append(j)
    return ia, jb


def _merged(found, n: int, m: int) -> list[tuple[int, int, int]]:
    found.sort()
    out: list[tuple[int, int, int]] = []
    for i, j, size in found:
        if out and out[-1][0] + out[-1][2] == i and out[-1][1] + out[-1][2] == j:
            pi, pj, ps = out[-1]
            out[-1] = (pi, pj, ps + size)
        else:
            out.append((i, j, size))
    out.append((n, m, 0))
    return out


def opcodes(a, b, budget: Budget | None = None) -> list[tuple[str, int, int, int, int]]:
    """``difflib``-style ``(tag, i1, i2, j1, j2)``: equal, replace, delete, insert.

    >>> opcodes([1, 2, 3], [1, 3, 4])
    [('equal', 0, 1, 0, 1), ('delete', 1, 2, 1, 1), ('equal', 2, 3, 1, 2), ('insert', 3, 3, 2, 3)]
    """
    codes = []
    i = j = 0
    for ai, bj, size in matching_blocks(a, b, budget):
        tag = ""
        if i < ai and j < bj:
            tag = "replace"
        elif i < ai:
            tag = "delete"
        elif j < bj:
            tag = "insert"
        if tag:
            codes.append((tag, i, ai, j, bj))
        i, j = ai + size, bj + size
        if size:
            codes.append(("equal", ai, i, bj, j))
    return codes


def hunks(codes, context: int = 3, max_lines: int = MAX_HUNK):
    """Group opcodes into hunks with ``context`` equal elements around changes
    (as ``difflib.SequenceMatcher.get_grouped_opcodes``); no hunk when all equal.

    A hunk holds at most about ``max_lines`` elements of both sides: a longer
    change is cut into hunks that follow each other (a stretch replaced
    whole by a coarse alignment may be a whole capture, and ``--json``
    writes one object per hunk).

    >>> [h for h in hunks(opcodes([1, 2, 3, 4, 5], [1, 2, 0, 4, 5]), 1)]
    [[('equal', 1, 2, 1, 2), ('replace', 2, 3, 2, 3), ('equal', 3, 4, 3, 4)]]
    >>> [len(h) for h in hunks([("replace", 0, 10, 0, 10)], max_lines=8)]
    [1, 1, 1]
    """
    codes = list(_cut(codes, max(2, max_lines // 2)))
    if not codes or all(c[0] == "equal" for c in codes):
        return
    if codes[0][0] == "equal":
        tag, i1, i2, j1, j2 = codes[0]
        codes[0] = (tag, max(i1, i2 - context), i2, max(j1, j2 - context), j2)
    if codes[-1][0] == "equal":
        tag, i1, i2, j1, j2 = codes[-1]
        codes[-1] = (tag, i1, min(i2, i1 + context), j1, min(j2, j1 + context))
    group = []
    size = 0
    for tag, i1, i2, j1, j2 in codes:
        if tag == "equal" and i2 - i1 > 2 * context:
            group.append((tag, i1, min(i2, i1 + context), j1, min(j2, j1 + context)))
            yield group
            group, size = [], 0
            i1, j1 = max(i1, i2 - context), max(j1, j2 - context)
        elif size and size + (i2 - i1) + (j2 - j1) > max_lines:
            yield group
            group, size = [], 0
        group.append((tag, i1, i2, j1, j2))
        size += (i2 - i1) + (j2 - j1)
    if group and not (len(group) == 1 and group[0][0] == "equal"):
        yield group


def _cut(codes, most: int):
    """Opcodes with no change longer than ``most`` elements on either side."""
    for tag, i1, i2, j1, j2 in codes:
        if tag == "equal" or max(i2 - i1, j2 - j1) <= most:
            yield tag, i1, i2, j1, j2
            continue
        while i1 < i2 or j1 < j2:
            ni, nj = min(i2, i1 + most), min(j2, j1 + most)
            piece = "replace" if ni > i1 and nj > j1 else "delete" if ni > i1 else "insert"
            yield piece, i1, ni, j1, nj
            i1, j1 = ni, nj
