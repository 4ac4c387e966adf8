"""Parquet export a block at a time (issue 27; docs/FLEET.md, "What writing costs").

``BlockExport`` feeds a pipeline's records to a ``ParquetWriter`` or a
``DatasetWriter`` a whole block at once (where ``fast_way`` says it can): the C walker gives each block's
columns (``formats/columns.py``) and the items of its inventory messages,
and only the messages that need a decoder's answer are looked at one by one
here, in order:

* ``version``: the peer-session's protocol version (``VersionTracker``), for
  what is decoded after it;
* with ``decoded``: every message, its JSON written by the C writers of
  ``formats/_payloadjson.c`` where they apply, else decoded (``decode``);
* for the objects table: the object messages, under the hash Core names
  them by (``p2pcap.decoders.announced``): SHA256d of the payload for a
  tx, clsig, isdlock or dsq a C writer reads whole; else from the decoded
  message, its C writer's JSON where there is one;
* for the inventory table: the inventory messages the walker declined
  (a cut payload, an unusual count), decoded;
* with ``pairs`` (the dataset's pairs table): every message, as a record.

The per-record writers stay the reference: a block the walker is unsure
of comes as records and goes through ``writer.write``, and
tests/analysis/test_export_columns.py holds both ways to the same rows.
"""

from __future__ import annotations

import functools
import json

import orjson

from p2pcap.decoders import announced
from p2pcap.decoders.versions import PROTOCOL_VERSION
from p2pcap.formats.columns import available, block_columns
from p2pcap.formats.records import DIRECTIONS, Message

from .dataset import OBJECT_COMMANDS
from .decoding import payload_writers
from .pair_rules import COMMANDS, EMPTY

_FAST_OBJECTS = ("tx", "clsig", "isdlock", "dsq")  # commands whose C writer reads the whole object


def fast_way(p, *, versions: bool):
    """The ``(commands, since_ns, until_ns)`` to read ``p`` with a block at a
    time, or None: no C walker, or a filter that tests more than command and
    time; with ``versions`` (anything decoded) only a view from the start of
    every command, whose ``version`` messages are all read."""
    if not available():
        return None
    bounds = p.selection.plain_bounds()
    if bounds is None or (versions and (bounds[0] is not None or bounds[1] is not None)):
        return None
    return bounds


def inventory_limits() -> dict:
    """{command: items at most} of the inventory messages, for the walker:
    MAX_INV_SZ for inv and getdata (decoders/inventory.py), -1 for notfound
    (as many as its bytes hold)."""
    from p2pcap.decoders.inventory import MAX_INV_SZ

    return {"inv": int(MAX_INV_SZ), "getdata": int(MAX_INV_SZ), "notfound": -1}


def inv_type_name(number: int) -> str:
    """An inventory type as ``announced`` names it: Core's name, else the number."""
    from p2pcap.decoders.inventory import INV_TYPE_NAMES

    return INV_TYPE_NAMES.get(number) or str(number)


class BlockExport:
    """One pipeline's records into ``writer`` (see the module doc).

    ``decode(msg) -> (decoded, error)`` and ``items(msg, decoded) ->
    (inventory pairs, object pairs)`` are the reference functions the
    per-record writers take (None: that column or those tables are not
    written); ``pairs`` a ``PairFeed`` of ``view`` (a ``DecodedView`` of
    ``p``) and ``add_pair`` where its rows go.
    """

    def __init__(self, p, writer, *, decode=None, items=None, pairs=None, add_pair=None, view=None):
        self.p = p
        self.writer = writer
        self.decode = decode
        self.items = items
        self.pairs, self.add_pair, self.view = pairs, add_pair, view
        decoding = decode is not None or items is not None or pairs is not None
        self.versions = p.selection.versions if decoding else None
        self.network_for = p.selection.network_for if decoding else None
        self.assumed = PROTOCOL_VERSION
        from p2pcap.formats.accelerators import payloadjson

        module = payloadjson()
        self.sha256d = None if module is None else module.sha256d
        self._session_versions: dict = {}  # (pid, peer id) -> what _version says, until its next version

    def run(self, bounds) -> None:
        """Every record of the pipeline, read with ``bounds`` (``fast_way``)."""
        inventory = inventory_limits() if self.items is not None else None
        render = functools.partial(_render, inventory=inventory)
        for made in self.p.reader.rendered_blocks(render, *bounds):
            if type(made) is list:
                self._records(made)
            else:
                self._block(made)

    # -- the general way: a block's records, one by one ------------------------------
    def _records(self, records) -> None:
        see = None if self.versions is None else self.versions.see
        write, pairs = self.writer.write, self.pairs
        for record in records:
            if see is not None and type(record) is Message and record.command == "version":
                see(record.pid, record.peer_id, record.direction, record.command, record.payload)
            write(record)
            if pairs is not None:
                pairs.feed(record, self.add_pair)

    # -- a block at a time -----------------------------------------------------------
    def _visited(self, block) -> range | list[int]:
        """The rows to look at one by one, in order."""
        if self.decode is not None or self.pairs is not None:
            return range(block.rows)
        wanted = {"version"} | (OBJECT_COMMANDS if self.items is not None else set())
        rows = block.rows_of({ref for ref, name in enumerate(block.names) if name in wanted})
        if block.declined:
            rows = sorted(set(rows).union(block.declined))
        return rows

    def _version(self, pid: int, peer_id: int):
        """The version a C writer takes for the session, as ``decode`` reads it; None: decode."""
        number = self.versions.version_info(pid, peer_id)[0]
        if not number:
            return self.assumed
        return number if type(number) is int else None

    def _kinds(self, names, pid: int) -> list[tuple]:
        """Per command ref of a block, for process ``pid``'s messages:
        (command, its C writer or None, is it ``version``, what it is to the
        loop: ``_FAST`` an object hashed from its payload, ``_OBJECT``
        another object, ``_PAIRED`` a message the pairs decode, or 0).  The
        writers are those of the network the process ran on
        (``Selection.network_for``): addresses differ between networks."""
        writers = payload_writers(self.network_for(pid))[0] if self.network_for is not None else {}
        kinds = []
        for command in names:
            if command in _FAST_OBJECTS and self.sha256d is not None:
                role = _FAST
            elif command in OBJECT_COMMANDS:
                role = _OBJECT
            else:
                role = _PAIRED if command in _PAIRED_COMMANDS else 0
            kinds.append((command, writers.get(command), command == "version", role))
        return kinds

    def _block(self, block) -> None:
        _ts, pid, peer_id, _peer_ref, command_ref, direction, msg_size, _flags, offsets, data = block.views()
        decode, items, pairs, view = self.decode, self.items, self.pairs, self.view
        versions, session_versions = self.versions, self._session_versions
        kinds_of = {}  # pid -> self._kinds(...): a block may hold several processes
        texts = [None] * block.rows if decode is not None else None
        errors = [None] * block.rows if decode is not None else None
        declined = set(block.declined)
        objects, extra = ([], [], []), ([], [], [])
        gaps = block.gaps
        for row in self._visited(block):
            if gaps and block.is_gap(row):
                continue
            kinds = kinds_of.get(pid[row])
            if kinds is None:
                kinds = kinds_of[pid[row]] = self._kinds(block.names, pid[row])
            command, write, is_version, role = kinds[command_ref[row]]
            payload = data[offsets[row] : offsets[row + 1]]
            if is_version and versions is not None:
                versions.see(pid[row], peer_id[row], DIRECTIONS[direction[row]], command, bytes(payload))
                session_versions.pop((pid[row], peer_id[row]), None)
            msg = text = obj = parsed = None
            if (
                write is not None
                and (decode is not None or (role and (role != _PAIRED or pairs is not None)))
                and len(payload) >= msg_size[row]
            ):
                session = (pid[row], peer_id[row])
                version = session_versions.get(session, _UNKNOWN)
                if version is _UNKNOWN:
                    version = session_versions[session] = self._version(*session)
                if version is not None:
                    text = write(payload, version)
                    if text is not None and (not text.isascii() or "\x7f" in text):
                        text = None  # the writers write as orjson does; json.dumps escapes non-ASCII and DEL
            if decode is not None:
                if text is None:
                    msg = block.message(row)
                    obj, errors[row] = decode(msg)
                    texts[row] = None if obj is None else json.dumps(obj, separators=(",", ":"))
                else:
                    texts[row] = text
            if items is not None and (role == _FAST or role == _OBJECT or row in declined):
                if text is not None and role == _FAST:
                    found = ((), ((_OBJECT_TYPES[command], self.sha256d(payload)[::-1].hex()),))
                elif text is not None and role == _OBJECT:
                    parsed = orjson.loads(text)  # the decoded message (formats/_payloadjson.c)
                    found = ((), announced(command, parsed))
                else:
                    msg = msg or block.message(row)
                    found = items(msg, obj)
                for out, pairs_ in ((extra, found[0]), (objects, found[1])):
                    for inv_type, hash_ in pairs_:
                        out[0].append(row)
                        out[1].append(inv_type)
                        out[2].append(hash_)
            if pairs is not None:
                msg = msg or block.message(row)
                if text is not None and command in _PAIRED_COMMANDS:
                    # the decoded message, not decoded again
                    view.given(msg, orjson.loads(text) if parsed is None else parsed)
                pairs.feed(msg, self.add_pair)
        if items is None:
            self.writer.write_block(block, texts, errors)
        else:
            self.writer.write_block(
                block, texts, errors, type_name=inv_type_name, declined=extra, objects=objects
            )


class DecodedView:
    """A pipeline as ``conversations.PairFeed`` reads it (``metadata``,
    ``index``, ``decoded(msg)``), given the decoded message ``BlockExport``
    already has for the record fed next: the dict of its C writer's JSON,
    which is the decoded dict (formats/_payloadjson.c), so a message is not
    decoded twice."""

    def __init__(self, p):
        self._p = p
        self.metadata = p.metadata
        self._msg = self._decoded = None

    @property
    def index(self):
        return self._p.index

    def given(self, msg, decoded) -> None:
        self._msg, self._decoded = msg, decoded

    def decoded(self, msg):
        if msg is self._msg:
            return self._decoded, None
        return self._p.decoded(msg)


_UNKNOWN = object()
_PAIRED_COMMANDS = COMMANDS - EMPTY  # the messages PairFeed decodes
_FAST, _OBJECT, _PAIRED = 1, 2, 3  # a command's role in BlockExport._block
# The inventory type each fast object is announced under (decoders/announce.py).
_OBJECT_TYPES = {"tx": "MSG_TX", "clsig": "MSG_CLSIG", "isdlock": "MSG_ISDLOCK", "dsq": "MSG_DSQ"}


def _render(raw, records, commands, since_ns, until_ns, gaps, *, inventory):
    return block_columns(raw, records, commands, since_ns, until_ns, gaps, inventory)


__all__ = [
    "BlockExport",
    "DecodedView",
    "fast_way",
    "inv_type_name",
    "inventory_limits",
]
