"""Record filters for ``show``, ``filter`` and ``diff``: library, not CLI.

A ``RecordFilter`` says which records to keep; a ``Selection`` runs one over
a reader.  What the reader can do cheaply is pushed down to it: ``--type``
and an absolute time range skip whole blocks through the footer index and
the block headers.  Everything else is tested per record, on metadata first;
only ``--where`` and a display filter's decoded fields need a payload
decoded, with the protocol version negotiated on that peer-session.  A
display filter (``-Y``, ``p2pcap.analysis.dfilter``) pushes down what it
can too: the commands it can be true of, and its top-level time bounds.

Gap records pass every filter but the time range and ``--pid``: a filtered
view still reports the losses that may hide what it looks for.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

from p2pcap.analysis.timespec import TimeSpec, parse_time  # noqa: F401  (re-exported for callers)
from p2pcap.errors import ArgumentError
from p2pcap.formats.peeraddr import split_host_port
from p2pcap.formats.records import Gap, Message
from p2pcap.formats.v1 import NETWORKS, canonical_network

_canonical = functools.lru_cache(maxsize=64)(canonical_network)

# -- --where FIELD=VALUE --------------------------------------------------------
_WHERE = re.compile(r"^\s*([A-Za-z0-9_.\-]+?)\s*(!=|>=|<=|==|=|>|<)\s*(.*?)\s*$")


@dataclass(frozen=True)
class Where:
    """One ``--where`` clause: a dotted path into the decoded payload, an operator, a value.

    The path is read from the top of the decoded dict; when its first name
    is not a top-level field, it is looked for in every nested object, so
    ``hash=…`` finds ``inv[].hash`` as well as a ``clsig``'s own ``hash``.
    Lists match if any element matches, and ``type=MSG_CLSIG`` also tries
    the name beside a number (``type_name`` beside ``type``, ``spork_name``
    beside ``spork_id``: the field catalogue, p2pcap.decoders.fields, says
    which).  Numbers compare as numbers, text without regard to case; a
    value ending in ``*`` or ``…`` is a prefix (so a hash cut short in
    ``show``'s table can be pasted back).

    ``hash=H`` alone follows one object: it matches the ``inv``,
    ``getdata`` and ``notfound`` naming H and the object announced under H
    (its txid, block hash, or the hash Core gives a lock, vote, spork...;
    ``p2pcap.decoders.announced``), not an object that merely refers to H
    (a transaction spending an output of H).  For other messages it is
    looked for in every nested object, as any path is.

    >>> w = parse_where("inv.type=MSG_CLSIG")
    >>> w.matches({"inv": [{"type": 1, "type_name": "MSG_TX"}, {"type": 29, "type_name": "MSG_CLSIG"}]})
    True
    >>> parse_where("height>=200").matches({"height": 201}), parse_where("hash=ab*").matches({"hash": "ABCD"})
    (True, True)
    """

    path: tuple[str, ...]
    op: str
    value: str

    def matches(self, decoded, command: str | None = None) -> bool:
        if decoded is None:
            return self.op == "!="
        candidates = None
        if self.path == ("hash",) and command is not None:
            from p2pcap.decoders import announced

            pairs = announced(command, decoded)
            candidates = [h for _type, h in pairs] if pairs or command in _INVENTORIES else None
        if candidates is None:
            candidates = _lookup(decoded, self.path)
        found = any(self._test(v) for v in candidates)
        return not found if self.op == "!=" else found

    def _test(self, candidate) -> bool:
        op = "=" if self.op in ("!=", "==") else self.op
        if op == "=":
            return _equal(candidate, self.value)
        number = _number(self.value)
        if number is None or isinstance(candidate, bool) or not isinstance(candidate, (int, float)):
            return False
        return {
            "<": candidate < number,
            "<=": candidate <= number,
            ">": candidate > number,
            ">=": candidate >= number,
        }[op]

    def __str__(self) -> str:
        return f"{'.'.join(self.path)}{self.op}{self.value}"


def parse_where(text: str) -> Where:
    """``"inv.type=MSG_CLSIG"`` -> ``Where``; a ``P2pcapError`` names a malformed clause."""
    m = _WHERE.match(text)
    if not m or not all(m.group(1).split(".")):
        raise ArgumentError(
            "where", "expected FIELD=VALUE (or !=, <, <=, >, >=), e.g. inv.type=MSG_CLSIG", value=text
        )
    op = m.group(2)
    if op in ("<", "<=", ">", ">=") and _number(m.group(3)) is None:
        raise ArgumentError("where", f"{op} needs a number", value=text)
    return Where(tuple(m.group(1).split(".")), op, m.group(3))


def _number(text: str):
    try:
        return int(text, 0)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return None


def _equal(candidate, value: str) -> bool:
    if isinstance(candidate, bool):
        return value.lower() in (("true", "1", "yes") if candidate else ("false", "0", "no"))
    if isinstance(candidate, (int, float)):
        number = _number(value)
        return number is not None and candidate == number
    if candidate is None:
        return value.lower() in ("null", "none", "")
    if isinstance(candidate, str):
        if value.endswith(("*", "…")):
            return candidate.lower().startswith(value[:-1].lower())
        return candidate.lower() == value.lower()
    return False


_INVENTORIES = frozenset(("inv", "getdata", "notfound"))
# Decoded results kept for repeated payloads: those of at least _MEMO_MIN bytes
# (smaller ones decode faster than they hash), at most _MEMO_LIMIT of them.
# Not for inventories: a node relays one object's bytes to every peer, but
# each peer's inv, getdata and notfound are its own, and keeping thousands of
# their dicts alive only cost time (a third of `show --type inv --json`).
# The results are shared, so nothing downstream may change a decoded dict.
_MEMO_MIN = 64
_MEMO_LIMIT = 8192


def _lookup(decoded, path) -> list:
    """Every value ``path`` reaches (see ``Where``)."""
    out: list = []
    if isinstance(decoded, dict) and path[0] in decoded:
        _walk(decoded, path, 0, out)
        return out
    for node in _containers(decoded):
        if isinstance(node, dict) and path[0] in node:
            _walk(node, path, 0, out)
    return out


def _walk(node, path, i, out) -> None:
    if isinstance(node, list):
        key = path[i]
        if key.isdigit():
            if int(key) < len(node):
                _step(node[int(key)], path, i, out)
            return
        for item in node:
            _walk(item, path, i, out)
        return
    if isinstance(node, dict) and path[i] in node:
        if i == len(path) - 1:
            key = path[i]
            value = node[key]
            out.extend(value if isinstance(value, list) else [value])
            name = node.get(f"{key}_name")
            if name is None:
                label = (_LABELS if _LABELS is not None else _labels()).get(key)
                name = None if label is None else node.get(label)
            if name is not None:
                out.append(name)
        else:
            _walk(node[path[i]], path, i + 1, out)


# Enum keys whose name is not under ``KEY_name`` -> that key (``spork_id`` ->
# ``spork_name``): from the decoder definitions, on first use.
_LABELS: dict | None = None


def _labels() -> dict:
    global _LABELS
    from p2pcap.decoders.fields import catalogue

    found: dict = {}
    for f in catalogue().fields():
        key = f.path.rpartition(".")[2]
        if f.label and f.label != f"{key}_name":
            found.setdefault(key, set()).add(f.label)
    _LABELS = {key: labels.pop() for key, labels in found.items() if len(labels) == 1}
    return _LABELS


def _step(item, path, i, out) -> None:
    if i == len(path) - 1:
        out.extend(item if isinstance(item, list) else [item])
    else:
        _walk(item, path, i + 1, out)


def _containers(node):
    """``node`` and every dict and list nested in it, depth first."""
    stack = [node]
    while stack:
        x = stack.pop()
        if isinstance(x, dict):
            yield x
            stack.extend(v for v in x.values() if isinstance(v, (dict, list)))
        elif isinstance(x, list):
            stack.extend(v for v in x if isinstance(v, (dict, list)))


# -- the filter --------------------------------------------------------------
@dataclass(frozen=True)
class RecordFilter:
    """What to keep.  Empty fields keep everything.

    >>> f = RecordFilter(commands=frozenset({"inv"}), direction="in")
    >>> f.wants(Message(0, 1, 3, "10.0.0.1:9999", "inbound", "in", "inv", 0, b""))
    True
    """

    commands: frozenset | None = None  # --type
    exclude: frozenset = frozenset()  # --not-type
    peers: tuple = ()  # --peer: ids, "pid:id", addresses (with or without port)
    pids: frozenset = frozenset()  # --pid
    direction: str | None = None  # --direction
    conn_types: tuple = ()  # --conn-type (``outbound`` also matches ``outbound-full-relay``)
    since: TimeSpec | None = None
    until: TimeSpec | None = None
    where: tuple = ()  # Where clauses, all must match
    display: object = None  # -Y: a dfilter.DisplayFilter, which must match too
    _peer_keys: frozenset = field(default=frozenset(), init=False, repr=False, compare=False)
    _commands: frozenset | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "_peer_keys", frozenset(_peer_key(p) for p in self.peers))
        commands = self.commands
        shown = None if self.display is None else self.display.commands
        if shown is not None:
            commands = shown if commands is None else commands & shown
        object.__setattr__(self, "_commands", commands)

    @property
    def selected_commands(self) -> frozenset | None:
        """The commands a message may have to pass: ``--type``'s, and those a display
        filter can be true of (None: any)."""
        return self._commands

    @property
    def needs_decode(self) -> bool:
        return bool(self.where) or (self.display is not None and self.display.needs_decode)

    def is_metadata_trivial(self) -> bool:
        """True when ``wants`` keeps every record the reader's command filter passed
        (and a display filter has nothing left to test once its commands are pushed)."""
        return not (self.exclude or self.direction or self.pids or self.conn_types or self._peer_keys) and (
            self.display is None or self.display.residual_free
        )

    def wants(self, record) -> bool:
        """Metadata tests (not time, not ``where``, not a display filter's): cheap, per record."""
        if type(record) is not Message:
            return not self.pids or record.pid == 0 or record.pid in self.pids
        if self._commands is not None and record.command not in self._commands:
            return False
        if record.command in self.exclude:
            return False
        if self.direction is not None and record.direction != self.direction:
            return False
        if self.pids and record.pid not in self.pids:
            return False
        if self.conn_types and not any(
            record.conn_type == c or record.conn_type.startswith(c + "-") for c in self.conn_types
        ):
            return False
        if self._peer_keys and not self._peer_keys.intersection(_record_peer_keys(record)):
            return False
        return True

    def wants_decoded(self, decoded, command: str | None = None) -> bool:
        return all(w.matches(decoded, command) for w in self.where)


def _peer_key(text: str) -> str:
    text = text.strip()
    return text.lower()


def _record_peer_keys(msg: Message) -> tuple:
    addr = msg.peer_addr.lower()
    host = split_host_port(addr)[0]
    return (str(msg.peer_id), f"{msg.pid}:{msg.peer_id}", addr, host)


# -- running a filter over a reader -------------------------------------------
class Selection:
    """The records of ``reader`` that pass ``filt``, in file order.

    ``decode=True`` when the caller will decode what it gets (``show``): the
    negotiated versions must then be right even for a view that starts late,
    so version messages before ``--since`` are read in a first, cheap pass.
    ``decoded(msg)`` decodes a yielded message once (the ``--where`` test
    and the renderer share it).

    >>> import io
    >>> from p2pcap.formats import CaptureReader, CaptureWriter
    >>> buf = io.BytesIO()
    >>> with CaptureWriter(buf) as w:
    ...     w.write(Message(5, 1, 0, "1.2.3.4:9999", "inbound", "in", "ping", 8, bytes(8)))
    >>> sel = Selection(CaptureReader(io.BytesIO(buf.getvalue())), RecordFilter(where=(parse_where("nonce=0"),)))
    >>> [(m.command, sel.decoded(m)[0]) for m in sel]
    [('ping', {'nonce': 0})]
    """

    def __init__(
        self,
        reader,
        filt: RecordFilter,
        *,
        decode: bool = False,
        seekable: bool = True,
        assume: int | None = None,
        share_decoded: bool = False,
        network: str | None = None,
    ):
        self.reader = reader
        self.filt = filt
        self._assume = assume
        # Addresses in decoded scripts take the network's prefixes: ``network``
        # (--network) over the capture's own; None when neither says (then
        # they are mainnet's, and the caller says so: ``network_known``).
        if network is not None and canonical_network(network) is None:
            raise ArgumentError("network", f"expected one of {', '.join(NETWORKS)}", value=network)
        recorded = reader.metadata.get("network") if isinstance(reader.metadata, dict) else None
        self._override = canonical_network(network)
        self.network = self._override or canonical_network(recorded if isinstance(recorded, str) else None)
        # Each process's own network, where the blocks define it (format 1.1:
        # one --exe recording of a -regtest and a -testnet node), wins over
        # the capture's; ``on_unknown_network(pid)`` hears once of a decoded
        # message whose network nothing names (its addresses: mainnet's).
        self._processes = getattr(reader, "processes", {})
        self.on_unknown_network = None
        self._unknown_said = False
        self._decode_wanted = decode or filt.needs_decode
        self._seekable = seekable
        self._cache = (None, (None, None), None)  # (message, (decoded, error), version_info)
        self._decode_record = None
        # (command, version, msg_size, payload) -> (decoded, error), when the
        # caller promises not to change a decoded dict (it is then shared).
        self._memo: dict | None = {} if share_decoded else None
        self.first_ns: int | None = None

    @functools.cached_property
    def versions(self):
        """The peer-sessions' ``VersionTracker``; made on first use, since it
        loads the decoders (not for ``--help``, nor for ``show -n``)."""
        from p2pcap.analysis.negotiation import VersionTracker

        return VersionTracker(assume=self._assume)

    def version_for(self, msg: Message) -> int:
        return self.versions.version_for(msg.pid, msg.peer_id)

    def network_for(self, pid: int) -> str | None:
        """The network ``pid``'s messages decode with: --network, else the one
        its process ran on, else the capture's; None when nothing says."""
        if self._override is not None:
            return self._override
        own = self._processes.get(pid)
        network = _canonical(own) if own is not None else None
        if network is None:
            network = self.network
            if network is None and not self._unknown_said and self.on_unknown_network is not None:
                self._unknown_said = True
                self.on_unknown_network(pid)
        return network

    def version_info(self, msg: Message) -> tuple[int, str]:
        """(version, ``negotiated`` | ``assumed`` | ``given``) ``msg`` is decoded with."""
        cache = self._cache
        if cache[0] is msg:
            return cache[2]
        return self.versions.version_info(msg.pid, msg.peer_id)

    def decoded(self, msg: Message):
        """``(decoded, error)`` for a message this selection yielded (cached for the last one,
        with its ``version_info``)."""
        cache = self._cache
        if cache[0] is not msg:
            decode_record = self._decode_record
            if decode_record is None:  # the decoders load on first use, not for --help
                from p2pcap.analysis.decoding import decode_record

                self._decode_record = decode_record
            info = self.versions.version_info(msg.pid, msg.peer_id)
            version = info[0]
            payload = msg.payload
            network = self.network_for(msg.pid)
            if self._memo is None or len(payload) < _MEMO_MIN or msg.command in _INVENTORIES:
                result = decode_record(msg, version, network)
            else:
                # A node relays one tx, lock or header to many peers: decode those bytes once.
                key = (msg.command, version, msg.msg_size, network, payload)
                result = self._memo.get(key)
                if result is None:
                    result = decode_record(msg, version, network)
                    if len(self._memo) >= _MEMO_LIMIT:
                        self._memo.clear()
                    self._memo[key] = result
            self._cache = cache = (msg, result, info)
        return cache[1]

    def _first_ns(self):
        reader = self.reader
        if reader.index is not None:
            return reader.index.ts_min_ns
        if self._seekable and not reader.follow:
            return min((b.ts_min_ns for b in reader.blocks() if b.records), default=None)
        return None  # learnt from the first record

    def _pushed(self):
        """(commands, since_ns, until_ns, known) the reader is asked for; not
        ``known`` when a relative time waits for the first record."""
        filt = self.filt
        display = filt.display
        times = (
            (filt.since, filt.until)
            if display is None
            else (filt.since, filt.until, *display.since, *display.until)
        )
        relative = any(t is not None and t.kind != "absolute" for t in times) or (
            display is not None and display.needs_first_time
        )
        if relative:
            self.first_ns = self._first_ns()
        since, until = self._bounds(self.first_ns)
        known = not relative or self.first_ns is not None
        commands = filt.selected_commands
        if commands is not None and self._decode_wanted:
            commands = commands | {"version"}
        return commands, since, until, known

    def _bounds(self, first_ns):
        """(since_ns, until_ns): ``--since``/``--until`` and a display filter's time bounds, resolved."""
        filt = self.filt
        lows = [filt.since] + list(filt.display.since if filt.display is not None else ())
        highs = [filt.until] + list(filt.display.until if filt.display is not None else ())
        since = max((_resolve(t, first_ns) for t in lows if t is not None), default=None)
        until = min((_resolve(t, first_ns) for t in highs if t is not None), default=None)
        return since, until

    def plain_bounds(self):
        """``(commands, since_ns, until_ns)`` when the reader applies the whole
        filter by itself, else None (records tested on more than command and
        time, or a relative time still waiting for the first record)."""
        filt = self.filt
        if filt.where or not filt.is_metadata_trivial():
            return None
        commands, since, until, known = self._pushed()
        return (commands, since, until) if known else None

    def blockwise(self, render):
        """The selection a block at a time through ``render`` (``CaptureReader.rendered_blocks``),
        or None when its records must be looked at one by one: when they are
        decoded, or tested on more than command and time."""
        bounds = None if self._decode_wanted else self.plain_bounds()
        return None if bounds is None else self.reader.rendered_blocks(render, *bounds)

    def __iter__(self):
        filt = self.filt
        commands, since, until, known = self._pushed()
        if known and since is not None and self._decode_wanted and self._seekable and not self.reader.follow:
            # Versions negotiated before the view starts still apply inside it.
            for rec in self.reader.records(commands={"version"}, until_ns=since - 1, gaps=False):
                self.versions.see(rec.pid, rec.peer_id, rec.direction, rec.command, rec.payload)
        pushed = dict(commands=commands)
        if known:
            pushed.update(since_ns=since, until_ns=until)
        if known and not filt.where:
            # (with decoding, the reader also passes version messages: wants() drops them)
            yield from self._plain(self.reader.records(**pushed), commands == filt.selected_commands)
            return
        display = filt.display if filt.display is not None and not filt.display.residual_free else None
        for rec in self.reader.records(**pushed):
            if not known:
                self.first_ns = rec.ts_ns
                since, until = self._bounds(rec.ts_ns)
                known = True
            if type(rec) is Message:
                self.versions.see(rec.pid, rec.peer_id, rec.direction, rec.command, rec.payload)
            if since is not None and rec.ts_ns < since:
                continue
            if until is not None and rec.ts_ns > until:
                continue
            if not filt.wants(rec):
                continue
            if display is not None and type(rec) is Message and not display.matches(rec, self):
                continue
            if filt.where and type(rec) is Message:
                decoded, _error = self.decoded(rec)
                if not filt.wants_decoded(decoded, rec.command):
                    continue
            yield rec

    def _plain(self, records, exact_commands: bool):
        """The common case, kept lean: the reader already applied commands and time;
        what is left are the metadata tests, and the versions for decoding."""
        filt = self.filt
        everything = exact_commands and filt.is_metadata_trivial()
        see = self.versions.see if self._decode_wanted else None
        display = filt.display if filt.display is not None and not filt.display.residual_free else None
        if display is None:
            for rec in records:
                if see is not None and type(rec) is Message and rec.command == "version":
                    see(rec.pid, rec.peer_id, rec.direction, rec.command, rec.payload)
                if everything or filt.wants(rec):
                    yield rec
            return
        wants, matches = filt.wants, display.matches
        for rec in records:
            if type(rec) is not Message:
                if wants(rec):
                    yield rec
                continue
            if see is not None and rec.command == "version":
                see(rec.pid, rec.peer_id, rec.direction, rec.command, rec.payload)
            if wants(rec) and matches(rec, self):
                yield rec


def selected_index(records, each_block=None, chunk: int = 4096):
    """The index (``formats.CaptureIndex``) of the records a ``Selection``
    yields, as the writer would keep it for a capture of only those: counts
    per command and direction, peer-sessions, losses, and one entry per
    ``chunk`` records for the time range.  ``each_block(records)`` also gets
    them, ``chunk`` at a time (``stats --biggest`` with a filter).

    >>> idx = selected_index([Message(5, 1, 0, "1.2.3.4:9999", "inbound", "in", "ping", 8, bytes(8))])
    >>> idx.messages, idx.ts_min_ns, idx.peers[0].messages_in
    (1, 5, 1)
    """
    from p2pcap.formats.index import BlockInfo, CaptureIndex, Counts, Loss, PeerSession

    idx = CaptureIndex()
    peers: dict = {}
    losses: dict = {}
    batch: list = []

    def close_batch():
        if batch:
            times = [r.ts_ns for r in batch]
            idx.blocks.append(BlockInfo(len(idx.blocks), 0, 0, len(batch), min(times), max(times)))
            if each_block is not None:
                each_block(batch)

    for rec in records:
        batch.append(rec)
        if type(rec) is Message:
            dirs = idx.commands.setdefault(rec.command, {})
            counts = dirs.get(rec.direction) or dirs.setdefault(rec.direction, Counts())
            counts.messages += 1
            counts.bytes += rec.msg_size
            counts.captured += rec.captured_len
            key = (rec.pid, rec.peer_id, rec.peer_addr, rec.conn_type)
            session = peers.get(key)
            if session is None:
                session = peers[key] = PeerSession(*key, rec.ts_ns, rec.ts_ns)
                idx.peers.append(session)
            session.first_ns, session.last_ns = (
                min(session.first_ns, rec.ts_ns),
                max(session.last_ns, rec.ts_ns),
            )
            if rec.direction == "out":
                session.messages_out += 1
                session.bytes_out += rec.msg_size
            else:
                session.messages_in += 1
                session.bytes_in += rec.msg_size
        else:
            loss = losses.get((rec.pid, rec.reason))
            if loss is None:
                loss = losses[(rec.pid, rec.reason)] = Loss(
                    rec.pid, rec.reason, 0, 0, 0, rec.ts_ns, rec.ts_ns
                )
                idx.losses.append(loss)
            loss.records += 1
            loss.lost_messages += rec.lost_messages
            loss.lost_bytes += rec.lost_bytes
            loss.first_ns, loss.last_ns = min(loss.first_ns, rec.ts_ns), max(loss.last_ns, rec.ts_ns)
        if len(batch) >= chunk:
            close_batch()
            batch = []
    close_batch()
    return idx


def _resolve(spec: TimeSpec | None, first_ns):
    if spec is None:
        return None
    return spec.resolve(first_ns)


__all__ = [
    "Gap",
    "Message",
    "RecordFilter",
    "Selection",
    "Where",
    "parse_time",
    "parse_where",
    "selected_index",
]
