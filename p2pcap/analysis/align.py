"""Align two sequences of message fingerprints (ints) for ``diff``.

Patience diff (Bram Cohen; as in git ``--patience``): elements that occur
once in each side anchor the alignment, the longest increasing run of
anchors is kept, and the pieces between anchors are aligned the same way.
A P2P session is full of such anchors (every ``inv``, ``tx``, ``headers``
names its own hashes), and anchored alignments read well: a missing
message shows as one ``-`` line, not as a cascade.  Pieces with no anchor
(runs of pings) go to ``difflib`` when small, and are shown as replaced
when they are too big for its quadratic worst case.

Memory is linear in the sequence lengths; nothing here knows what a
message is.
"""

from __future__ import annotations

import bisect
import difflib
from array import array

SMALL = 2_000_000  # len(a) * len(b) of a piece difflib may align
SAMPLE = 32_768  # about how many elements a long piece's anchor search looks at


def matching_blocks(a, b) -> list[tuple[int, int, int]]:
    """``(i, j, n)``: ``a[i:i+n] == b[j:j+n]``, increasing, not touching; ends with ``(len(a), len(b), 0)``.

    >>> matching_blocks([1, 2, 3, 4], [1, 3, 4, 5])
    [(0, 0, 1), (2, 1, 2), (4, 4, 0)]
    """
    found: list[tuple[int, int, int]] = []
    stack = [(0, len(a), 0, len(b))]
    while stack:
        alo, ahi, blo, bhi = stack.pop()
        # common head and tail
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
        elif (ahi - alo) * (bhi - blo) <= SMALL:
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


def opcodes(a, b) -> list[tuple[str, int, int, int, int]]:
    """``difflib``-style ``(tag, i1, i2, j1, j2)``: equal, replace, delete, insert.

    >>> opcodes([1, 2, 3], [1, 3, 4])
    [('equal', 0, 1, 0, 1), ('delete', 1, 2, 1, 1), ('equal', 2, 3, 1, 2), ('insert', 3, 3, 2, 3)]
    """
    codes = []
    i = j = 0
    for ai, bj, size in matching_blocks(a, b):
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


def hunks(codes, context: int = 3):
    """Group opcodes into hunks with ``context`` equal elements around changes
    (as ``difflib.SequenceMatcher.get_grouped_opcodes``); no hunk when all equal.

    >>> [h for h in hunks(opcodes([1, 2, 3, 4, 5], [1, 2, 0, 4, 5]), 1)]
    [[('equal', 1, 2, 1, 2), ('replace', 2, 3, 2, 3), ('equal', 3, 4, 3, 4)]]
    """
    codes = list(codes)
    if not codes or all(c[0] == "equal" for c in codes):
        return
    if codes[0][0] == "equal":
        tag, i1, i2, j1, j2 = codes[0]
        codes[0] = (tag, max(i1, i2 - context), i2, max(j1, j2 - context), j2)
    if codes[-1][0] == "equal":
        tag, i1, i2, j1, j2 = codes[-1]
        codes[-1] = (tag, i1, min(i2, i1 + context), j1, min(j2, j1 + context))
    group = []
    for tag, i1, i2, j1, j2 in codes:
        if tag == "equal" and i2 - i1 > 2 * context:
            group.append((tag, i1, min(i2, i1 + context), j1, min(j2, j1 + context)))
            yield group
            group = []
            i1, j1 = max(i1, i2 - context), max(j1, j2 - context)
        group.append((tag, i1, i2, j1, j2))
    if group and not (len(group) == 1 and group[0][0] == "equal"):
        yield group
