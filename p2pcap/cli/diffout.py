"""Print a ``DiffResult``: text like ``diff -u``, or JSON lines.

Text: a header per capture, the count table with deltas, a line on how
peer-sessions paired up, then per session that differs a ``---``/``+++``
header and ``@@ -i,n +j,m @@`` hunks whose lines are ``direction command
{normalized fields}``.  When one message replaced another of the same
command, ``#`` lines under it name the fields that changed.

JSON lines, in order: one ``summary``, then per differing session one
``session`` followed by its ``hunk`` objects, then one ``result``.
"""

from __future__ import annotations

import json

from p2pcap.analysis.diff import DiffResult, SessionDiff
from p2pcap.cli.render import fit
from p2pcap.terminal import printable

MAX_CHANGES = 8  # field changes listed under one replaced message


def diff_text(res: DiffResult, name_a: str, name_b: str):
    """The text lines of ``res``, one at a time."""
    for tag, side, name in (("---", res.a, name_a), ("+++", res.b, name_b)):
        d = side.describe()
        yield (
            f"{tag} {name}\t{d['messages']} messages, {d['sessions']} peer-sessions, "
            f"{d['duration_s']:.3f} s"
            + (f", {d['lost_messages']} lost in {d['gap_records']} gaps" if d["gap_records"] else "")
        )
    yield ""
    yield f"{'command':15} {'dir':3} {'A':>10} {'B':>10} {'delta':>9}"
    ta = tb = 0
    for command, direction, x, y in res.count_rows():
        ta, tb = ta + x, tb + y
        yield f"{printable(command):15} {direction:3} {x:>10} {y:>10} {_delta(x, y):>9}".rstrip()
    yield f"{'total':19} {ta:>10} {tb:>10} {_delta(ta, tb):>9}".rstrip()
    yield ""
    yield _pairing(res.sessions)
    for sd in res.sessions:
        if sd.same:
            continue
        yield ""
        if sd.b is None:
            yield f"Only in {name_a}: {_who(sd.a)}"
            continue
        if sd.a is None:
            yield f"Only in {name_b}: {_who(sd.b)}"
            continue
        yield f"--- {name_a} {_who(sd.a)}"
        yield f"+++ {name_b} {_who(sd.b)}"
        for group in sd.hunks:
            yield from _hunk_text(res, sd, group)


def _delta(x: int, y: int) -> str:
    return "" if x == y else f"{y - x:+d}"


def _who(s) -> str:
    return (
        f"peer {s.peer_id} (pid {s.pid}) {printable(s.addr)} {printable(s.conn_type)}, {len(s.fps)} messages"
    )


def _pairing(sessions) -> str:
    matched = [s for s in sessions if s.a is not None and s.b is not None]
    hows: dict = {}
    for s in matched:
        hows[s.how] = hows.get(s.how, 0) + 1
    by = ", ".join(f"{n} by {how}" for how, n in hows.items())
    only_a = sum(1 for s in sessions if s.b is None)
    only_b = sum(1 for s in sessions if s.a is None)
    differ = sum(1 for s in matched if s.hunks)
    return (
        f"peer-sessions: {len(matched)} matched{f' ({by})' if by else ''}, {differ} differ, "
        f"{only_a} only in A, {only_b} only in B"
    )


def _hunk_text(res: DiffResult, sd: SessionDiff, group):
    i1, i2, j1, j2 = group[0][1], group[-1][2], group[0][3], group[-1][4]
    yield f"@@ -{_range(i1, i2)} +{_range(j1, j2)} @@"
    for tag, a1, a2, b1, b2 in group:
        if tag == "equal":
            for i in range(a1, a2):
                yield _line(" ", res.lines_a.get(sd.a.ords[i]))
            continue
        old = [res.lines_a.get(sd.a.ords[i]) for i in range(a1, a2)]
        new = [res.lines_b.get(sd.b.ords[j]) for j in range(b1, b2)]
        for line in old:
            yield _line("-", line)
        for k, line in enumerate(new):
            yield _line("+", line)
            if k < len(old) and _comparable(old[k], line):
                for path, x, y in changes(json.loads(old[k][3]), json.loads(line[3])):
                    yield fit(
                        f"#   {printable(path)}: {_short(x)} -> {_short(y)}" if path else f"#   {_short(x)}"
                    )


def _comparable(old, new) -> bool:
    """Same direction and command, both decoded: worth listing field changes."""
    return old[:2] == new[:2] and not old[2].startswith("!") and not new[2].startswith("!")


def _range(lo: int, hi: int) -> str:
    """``diff -u`` numbering: 1-based start, count; an empty range starts before it."""
    n = hi - lo
    return f"{lo + 1 if n else lo},{n}"


def _line(op: str, line) -> str:
    direction, command, info, _fields = line
    return fit(f"{op}{direction:3} {printable(command):12} {printable(info)}".rstrip())


def _short(value) -> str:
    return printable(json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value)


def changes(old, new, limit: int = MAX_CHANGES) -> list[tuple[str, object, object]]:
    """Leaf fields that differ: ``(path, old, new)``; a missing side is None.

    >>> changes({"height": 1, "inv": [{"hash": "a"}]}, {"height": 2, "inv": [{"hash": "a"}, {"hash": "b"}]})
    [('height', 1, 2), ('inv[1].hash', None, 'b')]
    """
    fa, fb = _flat(old), _flat(new)
    out = []
    for path in list(fa) + [p for p in fb if p not in fa]:
        x, y = fa.get(path), fb.get(path)
        if x != y or (path in fa) != (path in fb):
            out.append((path, x, y))
    if len(out) > limit:
        out = out[:limit] + [("", f"… {len(out) - limit} more", None)]
    return out


def _flat(obj, prefix: str = "", out=None) -> dict:
    out = {} if out is None else out
    if isinstance(obj, dict) and obj:
        for k, v in obj.items():
            _flat(v, f"{prefix}.{k}" if prefix else k, out)
    elif isinstance(obj, list) and obj:
        for i, v in enumerate(obj):
            _flat(v, f"{prefix}[{i}]", out)
    else:
        out[prefix] = obj
    return out


# -- JSON lines -------------------------------------------------------------------
def diff_json(res: DiffResult):
    """The JSON objects of ``res``, one per output line."""
    rows = res.count_rows()
    matched = sum(1 for s in res.sessions if s.a is not None and s.b is not None)
    yield {
        "type": "summary",
        "a": res.a.describe(),
        "b": res.b.describe(),
        "commands": [{"command": c, "direction": d, "a": x, "b": y, "delta": y - x} for c, d, x, y in rows],
        "sessions": {
            "matched": matched,
            "differ": sum(1 for s in res.sessions if s.a and s.b and s.hunks),
            "only_a": sum(1 for s in res.sessions if s.b is None),
            "only_b": sum(1 for s in res.sessions if s.a is None),
        },
        "warnings": {"a": [str(p) for p in res.a.problems], "b": [str(p) for p in res.b.problems]},
    }
    for n, sd in enumerate(res.sessions):
        if sd.same:
            continue
        yield {
            "type": "session",
            "session": n,
            "how": sd.how,
            "a": sd.a.describe() if sd.a else None,
            "b": sd.b.describe() if sd.b else None,
            "hunks": len(sd.hunks),
        }
        for group in sd.hunks:
            yield _hunk_json(res, sd, n, group)
    trouble = res.a.problems or res.b.problems  # a damaged input: diff(1)'s "trouble"
    yield {"type": "result", "different": res.different, "exit": 2 if trouble else int(res.different)}


def _hunk_json(res: DiffResult, sd: SessionDiff, n: int, group) -> dict:
    lines = []
    for tag, a1, a2, b1, b2 in group:
        if tag == "equal":
            for i, j in zip(range(a1, a2), range(b1, b2)):
                lines.append(_json_line(" ", res.lines_a.get(sd.a.ords[i]), a=i + 1, b=j + 1))
            continue
        old = [(i, res.lines_a.get(sd.a.ords[i])) for i in range(a1, a2)]
        lines += [_json_line("-", line, a=i + 1) for i, line in old]
        for k, j in enumerate(range(b1, b2)):
            line = res.lines_b.get(sd.b.ords[j])
            obj = _json_line("+", line, b=j + 1)
            if k < len(old) and _comparable(old[k][1], line):
                obj["changes"] = [
                    {"path": p, "a": x, "b": y}
                    for p, x, y in changes(json.loads(old[k][1][3]), json.loads(line[3]), limit=1 << 30)
                ]
            lines.append(obj)
    return {
        "type": "hunk",
        "session": n,
        "a_start": group[0][1] + 1,
        "a_count": group[-1][2] - group[0][1],
        "b_start": group[0][3] + 1,
        "b_count": group[-1][4] - group[0][3],
        "lines": lines,
    }


def _json_line(op: str, line, **where) -> dict:
    direction, command, info, text = line
    return {
        "op": op,
        **where,
        "direction": direction,
        "command": command,
        "summary": info,
        "fields": json.loads(text),
    }
