"""``diff A B``: the capture you attach next to the one from a working node.

Three parts: counts per command and direction in A and B with deltas; per
matched peer-session, an aligned sequence diff of normalized messages,
printed like ``diff -u``; and the same as JSON lines.

Normalizing drops what always differs between two runs: the peer id and the
time of each message, and payload fields named in ``ignore`` (nonces and
timestamps by default).  Peer-sessions pair up by address and connection
type (then by host without the port, for inbound peers' ephemeral ports),
or as ``--peer-map A=B`` says.

Bounded memory, for captures of millions of messages: the first pass keeps
one 64-bit fingerprint (a hash of direction, command and normalized fields)
and one ordinal per message, per session; the alignment (``align``) works
on those.  Only the messages that end up printed are decoded again, in a
second pass, into a temporary file.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import struct
import tempfile
from array import array
from dataclasses import dataclass, field

import orjson

from p2pcap.analysis.align import Budget, hunks, opcodes
from p2pcap.analysis.errors import AnalysisError
from p2pcap.analysis.filters import RecordFilter
from p2pcap.analysis.pipeline import open_pipeline
from p2pcap.analysis.source import is_stdio
from p2pcap.analysis.summary import summarize
from p2pcap.errors import ArgumentError
from p2pcap.formats import accelerators
from p2pcap.formats.peeraddr import split_host_port
from p2pcap.formats.records import DIRECTIONS, Message

DEFAULT_IGNORE = ("nonce", "time", "timestamp", "mnauth_challenge")
_CACHE_LIMIT = 32_768  # fingerprints of recent identical payloads (verack, relayed invs), ~5 MB


@dataclass
class Session:
    """One peer-session of one capture, as a sequence of fingerprints."""

    pid: int
    peer_id: int
    addr: str
    conn_type: str
    first_ns: int
    fps: array = field(default_factory=lambda: array("Q"))
    ords: array = field(default_factory=lambda: array("Q"))  # message ordinal in the capture

    @property
    def host(self) -> str:
        return split_host_port(self.addr)[0]

    def describe(self) -> dict:
        return {
            "pid": self.pid,
            "peer_id": self.peer_id,
            "addr": self.addr,
            "conn_type": self.conn_type,
            "messages": len(self.fps),
        }


@dataclass
class Side:
    """What the first pass learns of one capture."""

    path: str
    sessions: list = field(default_factory=list)
    counts: dict = field(default_factory=dict)  # (command, direction) -> messages
    messages: int = 0
    gap_records: int = 0
    lost_messages: int = 0
    first_ns: int | None = None
    last_ns: int | None = None
    problems: list = field(default_factory=list)  # InputProblem of this capture

    def describe(self) -> dict:
        span = (self.last_ns - self.first_ns) / 1e9 if self.first_ns is not None else 0.0
        return {
            "file": self.path,
            "messages": self.messages,
            "sessions": len(self.sessions),
            "duration_s": span,
            "gap_records": self.gap_records,
            "lost_messages": self.lost_messages,
        }


class Normalizer:
    """Decoded payload -> canonical JSON without the ignored fields.

    A name (``nonce``) is dropped at any depth; a dotted path
    (``version.starting_height`` is not valid, ``addr_from.ip`` is) only
    from the top of the payload.

    >>> Normalizer(("nonce",)).text(Message(0, 1, 2, "a", "b", "out", "ping", 8, bytes(8)), {"nonce": 7}, None)
    '{}'
    """

    def __init__(self, ignore=DEFAULT_IGNORE):
        self.names = frozenset(x for x in ignore if "." not in x)
        self.paths = frozenset(tuple(x.split(".")) for x in ignore if "." in x)
        self._raw: dict[str, tuple[bool, bool]] = {}  # command -> (raw_comparable, nothing_compared)

    def strip(self, obj, prefix=()):
        names, paths = self.names, self.paths
        if type(obj) is dict:
            out = {}
            for k, v in obj.items():
                if k in names:
                    continue
                p = None
                if paths:
                    p = prefix + (k,)
                    if p in paths:
                        continue
                out[k] = self.strip(v, p) if type(v) in (dict, list) else v
            return out
        if type(obj) is list:
            return [self.strip(v, prefix) if type(v) in (dict, list) else v for v in obj]
        return obj

    def raw_comparable(self, command: str) -> bool:
        """True when two ``command`` messages normalise alike exactly when their
        bytes are alike.

        So it is when its decoded form can hold no ignored field, or holds
        them only inside bytes it also shows a hash of (``Identified``: a
        dsq's ``hash``, each header's X11 ``hash``; equal hashes, equal
        bytes): the decoders accept one encoding per value, so the bytes
        are fingerprinted and the payload is not decoded at all.  Most of a
        capture (inv, getdata, tx, locks, signatures, headers, dsq) takes
        this path.  The field names are read from the command's construct.
        """
        return self._fields(command)[0]

    def nothing_compared(self, command: str) -> bool:
        """True when every field ``command``'s decoded form can hold is ignored
        (ping and pong: a nonce): whatever decodes normalises to ``{}``."""
        return self._fields(command)[1]

    def _fields(self, command: str) -> tuple[bool, bool]:
        known = self._raw.get(command)
        if known is None:
            from p2pcap.decoders import definition

            con = definition(command)
            names = set() if con is None else field_names(con, unhashed_by=self.names)
            compared = names - self.names
            raw = not (names & self.names) and not any(p[0] in names for p in self.paths)
            known = self._raw[command] = (raw, con is not None and not compared and not self.paths)
        return known

    def comparable(self, msg: Message, decoded, error):
        """The decoded payload without the ignored fields (what two messages are compared by)."""
        if decoded is None:  # undecodable or cut: compare the bytes we have
            decoded = {
                "undecoded": error or "",
                "payload_sha256": hashlib.sha256(msg.payload).hexdigest(),
                "msg_size": msg.msg_size,
            }
        return self.strip(decoded)

    def text(self, msg: Message, decoded, error) -> str:
        # Key order is the decoder's (wire order): the same for one command
        # and version in both captures, so it need not be sorted.
        return json.dumps(self.comparable(msg, decoded, error), separators=(",", ":"), ensure_ascii=False)

    def key(self, msg: Message, decoded, error) -> bytes:
        """``text`` as bytes for fingerprinting: by orjson (alike exactly when
        the texts are alike), by the stdlib for what orjson refuses."""
        value = self.comparable(msg, decoded, error)
        try:
            return orjson.dumps(value)
        except orjson.JSONEncodeError:
            return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode(
                "utf-8", "surrogatepass"
            )


def field_names(con, unhashed_by: frozenset = frozenset()) -> set[str]:
    """Every field name a construct can put in a decoded dict.

    Walks the construct tree (``Struct`` fields, wrappers' ``subcon``,
    ``If``/``Switch`` branches, ``Identified``'s hash key, any construct
    held as an attribute).  A class that builds a dict in code hides those
    keys from the walk: the decoders' own (the fast transaction parser, the
    BIP152 index lists) build only keys that are also declared in their
    layouts, or none that diff ignores by default.

    ``unhashed_by``: the ignored names; an ``Identified`` that hashes the
    wire bytes of its part under a key not among them gives that key and
    not the names inside (two values differing there differ in the hash).
    """
    from p2pcap.decoders.primitives import Identified

    names: set[str] = set()
    seen: set[int] = set()
    stack = [con]
    while stack:
        node = stack.pop()
        if id(node) in seen or not hasattr(node, "_parse"):
            continue
        seen.add(id(node))
        if isinstance(node, Identified) and not node.from_fields and node.key not in unhashed_by:
            names.add(node.key)
            continue
        for attr, value in vars(node).items():
            if attr == "name" or attr == "key":
                if isinstance(value, str):
                    names.add(value)
            elif hasattr(value, "_parse"):
                stack.append(value)
            elif isinstance(value, (list, tuple)):
                stack.extend(v for v in value if hasattr(v, "_parse"))
            elif isinstance(value, dict):
                stack.extend(v for v in value.values() if hasattr(v, "_parse"))
    return names


_U64 = (1 << 64) - 1


def fingerprint(msg: Message, key: bytes) -> int:
    """The fingerprint of a message compared by its normalised form (``Normalizer.key``)."""
    return hash(f"{msg.direction} {msg.command} ".encode("utf-8", "surrogateescape") + key) & _U64


def raw_fingerprint(msg: Message) -> int:
    """The fingerprint of a message compared by its bytes (``Normalizer.raw_comparable``).

    Python's own hash of the bytes: keyed per process (PYTHONHASHSEED), so
    two messages cannot be made to collide ahead of time, and the very value
    the C walker gives (formats/_blockwalk.c, ``fingerprints``).
    """
    head = f"{msg.direction} {msg.command} {msg.msg_size} ".encode("utf-8", "surrogateescape")
    return hash(head + msg.payload) & _U64


def scan(path, filt: RecordFilter, norm: Normalizer) -> Side:
    """First pass: every message's fingerprint, per peer-session."""
    if is_stdio(path):
        raise ArgumentError("path", "diff reads each capture twice: give files, not -")
    side = Side(str(path))
    with open_pipeline(path, filt, decode=True, share_decoded=True) as sel:
        state = _Scan(side, sel.selection, norm)
        blocks = _walked_blocks(sel.selection, norm, side, filt)
        if blocks is None:
            for rec in sel:
                state.add(rec)
        else:
            for made in blocks:
                if type(made) is tuple:
                    state.merge(made)
                else:  # a block the walker left to the general way
                    for rec in made:
                        state.add(rec, follow_versions=True)
        side.problems = sel.problems()
    return side


def _walked_blocks(selection, norm: Normalizer, side: Side, filt: RecordFilter):
    """The blocks through the C walker (``fingerprints``), or None when it
    cannot serve: not built, or a filter it does not apply (``--type`` keeps
    the version messages out of the count, the metadata tests are per record)."""
    walk = accelerators.blockwalk()
    bounds = selection.plain_bounds() if walk is not None and filt.selected_commands is None else None
    if bounds is None:
        return None
    fingerprints, is_raw = walk.fingerprints, norm.raw_comparable

    def render(raw, records, _commands, since_ns, until_ns, _gaps):
        return fingerprints(raw, records, is_raw, since_ns, until_ns, side.messages)

    return selection.reader.rendered_blocks(render, *bounds)


class _Scan:
    """One capture's first pass: messages in, ``Side`` filled."""

    def __init__(self, side: Side, selection, norm: Normalizer):
        self.side = side
        self.selection = selection
        self.norm = norm
        self.by_key: dict = {}
        self.cache: dict = {}  # normalised fingerprints of recent identical payloads
        self.nothing: dict = {}  # (direction, command) -> the fingerprint of {}
        from p2pcap.decoders import DecodeError, decode  # not at import: `diff --help` needs none

        self._decode, self._decode_error = decode, DecodeError

    def _session(self, key, first_ns: int) -> Session:
        s = self.by_key.get(key)
        if s is None:
            s = self.by_key[key] = Session(*key, first_ns)
            self.side.sessions.append(s)
        return s

    def _span(self, lo: int, hi: int) -> None:
        side = self.side
        side.first_ns = lo if side.first_ns is None else min(side.first_ns, lo)
        side.last_ns = hi if side.last_ns is None else max(side.last_ns, hi)

    def _count(self, command: str, direction: str, n: int) -> None:
        counts = self.side.counts
        counts[(command, direction)] = counts.get((command, direction), 0) + n

    def decoded_fingerprint(self, rec: Message) -> int:
        """The fingerprint of a message compared by its normalised decoded form."""
        sel = self.selection
        if not rec.partial and self.norm.nothing_compared(rec.command):
            # A ping's nonce and nothing else: a payload that decodes compares as
            # {} (Normalizer.strip), and only whether it decodes is left to learn.
            try:
                self._decode(rec.command, rec.payload, sel.version_for(rec), sel.network)
            except self._decode_error:
                pass
            else:
                return self._nothing_fingerprint(rec)
        ck = (
            rec.direction,
            rec.command,
            sel.version_for(rec),
            rec.payload if len(rec.payload) <= 64 else hashlib.blake2b(rec.payload, digest_size=16).digest(),
        )
        fp = self.cache.get(ck)
        if fp is None:
            decoded, error = sel.decoded(rec)
            fp = fingerprint(rec, self.norm.key(rec, decoded, error))
            if len(self.cache) >= _CACHE_LIMIT:
                self.cache.clear()
            self.cache[ck] = fp
        return fp

    def _nothing_fingerprint(self, rec: Message) -> int:
        """``fingerprint`` of a message whose normalised form is ``{}``."""
        key = (rec.direction, rec.command)
        fp = self.nothing.get(key)
        if fp is None:
            fp = self.nothing[key] = fingerprint(rec, orjson.dumps({}))
        return fp

    def add(self, rec, *, follow_versions: bool = False) -> None:
        """One record, in file order; ``follow_versions`` when it did not come
        through the selection (which follows the versions of what it yields)."""
        side = self.side
        self._span(rec.ts_ns, rec.ts_ns)
        if type(rec) is not Message:
            side.gap_records += 1
            side.lost_messages += rec.lost_messages
            return
        if follow_versions and rec.command == "version":
            self.selection.versions.see(rec.pid, rec.peer_id, rec.direction, rec.command, rec.payload)
        s = self._session((rec.pid, rec.peer_id, rec.peer_addr, rec.conn_type), rec.ts_ns)
        if self.norm.raw_comparable(rec.command):
            fp = raw_fingerprint(rec)
        else:
            fp = self.decoded_fingerprint(rec)
        s.fps.append(fp)
        s.ords.append(side.messages)
        side.messages += 1
        self._count(rec.command, rec.direction, 1)

    def merge(self, made: tuple) -> None:
        """What the C walker made of one block (formats/_blockwalk.c, ``fingerprints``)."""
        peers, names, sessions, pending, counts, ts_min, ts_max, gaps, kept = made
        side = self.side
        if ts_min is not None:
            self._span(ts_min, ts_max)
        starts = {}
        for pref, (first_ns, fps, ords) in sessions.items():
            s = self._session(peers[pref], first_ns)
            starts[pref] = (s, len(s.fps))
            s.fps.frombytes(fps)
            s.ords.frombytes(ords)
        see = self.selection.versions.see
        for pref, index, cref, d, ts, flags, msg_size, payload in pending:
            pid, peer_id, addr, conn_type = peers[pref]
            rec = Message(
                ts, pid, peer_id, addr, conn_type, DIRECTIONS[d], names[cref], msg_size, payload, flags
            )
            if rec.command == "version":
                see(pid, peer_id, rec.direction, rec.command, payload)
            s, start = starts[pref]
            s.fps[start + index] = self.decoded_fingerprint(rec)
        for key, n in counts.items():
            self._count(names[key >> 1], DIRECTIONS[key & 1], n)
        for _ts, _pid, _reason, lost, _lost_bytes in gaps:
            side.gap_records += 1
            side.lost_messages += lost
        side.messages += kept


# -- pairing sessions -----------------------------------------------------------
def parse_peer_map(values) -> list[tuple[tuple, tuple]]:
    """``["3=5", "4242:1=77:1"]`` -> ``[((None, 3), (None, 5)), ((4242, 1), (77, 1))]``."""
    out = []
    for value in values:
        for item in value.split(","):
            if not item.strip():
                continue
            try:
                left, right = item.split("=")
                out.append((_peer_spec(left), _peer_spec(right)))
            except ValueError:
                raise ArgumentError(
                    "peer_map", "expected A_PEER=B_PEER, e.g. 3=5 or 4242:3=5151:5", value=item
                ) from None
    return out


def _peer_spec(text: str) -> tuple:
    pid, _, peer = text.strip().rpartition(":")
    return (int(pid) if pid else None, int(peer))


def _is(s: Session, spec: tuple) -> bool:
    return s.peer_id == spec[1] and (spec[0] is None or s.pid == spec[0])


def pair_sessions(a: list, b: list, peer_map=()) -> list[tuple]:
    """``(session A | None, session B | None, how)`` in A's order, then B's leftovers.

    ``how`` is ``peer-map``, ``address``, ``host`` or ``unmatched``.  Several
    sessions with the same key (reconnections) pair in order of appearance.
    """
    partner: dict = {}  # id(session A) -> (session B, how)
    taken: set = set()  # id(session B)

    def take(key_a, key_b, how):
        waiting: dict = {}
        for sb in b:
            if id(sb) not in taken:
                waiting.setdefault(key_b(sb), []).append(sb)
        for sa in a:
            if id(sa) in partner:
                continue
            ka = key_a(sa)
            found = waiting.get(ka) if ka is not None else None
            if found:
                sb = found.pop(0)
                partner[id(sa)] = (sb, how)
                taken.add(id(sb))

    for spec_a, spec_b in peer_map:
        take(
            lambda s, x=spec_a: x if _is(s, x) else None,
            lambda s, x=spec_a, y=spec_b: x if _is(s, y) else False,
            "peer-map",
        )
    take(lambda s: (s.addr, s.conn_type), lambda s: (s.addr, s.conn_type), "address")
    take(lambda s: (s.host, s.conn_type), lambda s: (s.host, s.conn_type), "host")
    pairs = [(sa, *partner.get(id(sa), (None, "unmatched"))) for sa in a]
    return pairs + [(None, sb, "unmatched") for sb in b if id(sb) not in taken]


# -- the result -------------------------------------------------------------------
@dataclass
class SessionDiff:
    a: Session | None
    b: Session | None
    how: str
    hunks: list  # lists of opcodes, positions within the sessions

    @property
    def same(self) -> bool:
        return self.a is not None and self.b is not None and not self.hunks


@dataclass
class DiffResult:
    a: Side
    b: Side
    sessions: list  # SessionDiff
    lines_a: LineStore
    lines_b: LineStore
    notes: list = field(default_factory=list)  # what the reader should know of how it was compared

    def count_rows(self) -> list[tuple[str, str, int, int]]:
        keys = sorted(set(self.a.counts) | set(self.b.counts))
        return [(c, d, self.a.counts.get((c, d), 0), self.b.counts.get((c, d), 0)) for c, d in keys]

    @property
    def different(self) -> bool:
        return any(x != y for *_, x, y in self.count_rows()) or any(not s.same for s in self.sessions)

    def close(self) -> None:
        self.lines_a.close()
        self.lines_b.close()


class LineStore:
    """Normalized JSON of the messages a diff prints, kept on disk by ordinal.

    Each entry is four length-prefixed fields (direction, command, summary,
    normalized JSON): a capture's command may hold any character, a tab or
    a line feed included.  Strings keep their surrogates (bytes that were
    not UTF-8) through ``surrogatepass``.  Messages met again with the same
    bytes (a relayed ``inv``, a run of ``ping``) are decoded once.
    """

    _HEAD = struct.Struct("<IIII")

    def __init__(self, needed):
        self.needed = array("Q", sorted(set(needed)))
        self.offsets = array("Q")
        self._file = tempfile.TemporaryFile()

    def fill(self, path, filt, norm) -> None:
        if not self.needed:
            return
        k, ordinal = 0, -1
        made: dict = {}  # (direction, command, version, payload or its digest) -> entry
        with open_pipeline(path, filt, decode=True, share_decoded=True) as sel:
            for rec in sel:
                if type(rec) is not Message:
                    continue
                ordinal += 1
                if ordinal != self.needed[k]:
                    continue
                key = (
                    rec.direction,
                    rec.command,
                    sel.version_for(rec),
                    rec.msg_size,
                    rec.payload
                    if len(rec.payload) <= 64
                    else hashlib.blake2b(rec.payload, digest_size=16).digest(),
                )
                entry = made.get(key)
                if entry is None:
                    entry = self._entry(rec, *sel.decoded(rec), norm)
                    if len(made) >= _CACHE_LIMIT:
                        made.clear()
                    made[key] = entry
                self.offsets.append(self._file.tell())
                self._file.write(entry)
                k += 1
                if k == len(self.needed):
                    break
        if k != len(self.needed):
            raise AnalysisError(f"{path}: the capture changed while diff read it")

    def _entry(self, rec, decoded, error, norm) -> bytes:
        info = f"! {error}" if error else summarize(rec.command, decoded)
        fields = [
            f.encode("utf-8", "surrogatepass")
            for f in (rec.direction, rec.command, " ".join(info.split()), norm.text(rec, decoded, error))
        ]
        return self._HEAD.pack(*map(len, fields)) + b"".join(fields)

    def get(self, ordinal: int) -> tuple[str, str, str, str]:
        """``(direction, command, summary, normalized JSON)``."""
        k = bisect.bisect_left(self.needed, ordinal)
        self._file.seek(self.offsets[k])
        sizes = self._HEAD.unpack(self._file.read(self._HEAD.size))
        raw = self._file.read(sum(sizes))
        out, at = [], 0
        for n in sizes:
            out.append(raw[at : at + n].decode("utf-8", "surrogatepass"))
            at += n
        return tuple(out)

    def close(self) -> None:
        self._file.close()


def diff_captures(
    path_a, path_b, *, filt: RecordFilter | None = None, ignore=(), context: int = 3, peer_map=()
) -> DiffResult:
    """Compare two captures; the caller prints the result (``diff_text``/``diff_json``)."""
    filt = filt or RecordFilter()
    norm = Normalizer((*DEFAULT_IGNORE, *ignore))
    a = scan(path_a, filt, norm)
    b = scan(path_b, filt, norm)
    sessions, need_a, need_b = [], [], []
    budget = Budget.for_sizes(a.messages, b.messages)  # one for the whole diff (align.py)
    for sa, sb, how in pair_sessions(a.sessions, b.sessions, parse_peer_map(peer_map)):
        if sa is None or sb is None:
            sessions.append(SessionDiff(sa, sb, how, []))
            continue
        groups = list(hunks(opcodes(sa.fps, sb.fps, budget), context))
        for group in groups:
            for _tag, i1, i2, j1, j2 in group:
                need_a.extend(sa.ords[i1:i2])
                need_b.extend(sb.ords[j1:j2])
        sessions.append(SessionDiff(sa, sb, how, groups))
    lines_a, lines_b = LineStore(need_a), LineStore(need_b)
    del need_a, need_b
    try:
        lines_a.fill(path_a, filt, norm)
        lines_b.fill(path_b, filt, norm)
    except BaseException:
        lines_a.close()
        lines_b.close()
        raise
    notes = []
    if budget.spent:
        notes.append(
            f"the alignment used its whole budget ({budget.steps:,} steps for "
            f"{a.messages + b.messages:,} messages): {budget.coarse:,} stretches are shown as "
            f"replaced, not aligned message by message (--type or --peer narrow the comparison)"
        )
    return DiffResult(a, b, sessions, lines_a, lines_b, notes)
