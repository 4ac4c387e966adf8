"""Datasets: many captures, many nodes, one set of Parquet tables (docs/FLEET.md).

``export_dataset`` streams captures into a hive-partitioned folder
(``formats/dataset.py`` ``DatasetWriter``: ``messages``, ``inventory``,
``objects``, each ``node=<name>/date=<UTC day>/<capture>.parquet``).  The
export is all or nothing: a new dataset is made under a temporary name and
renamed into place at the end (``p2pcap.outputs.atomic_folder``); files
added to an existing one are written under temporary names and renamed into
place only when every capture is written (``StagedFiles``).  A failure
-- a full disk, no more file descriptors, a damaged capture -- leaves the
dataset as it was.  ``datasets.open_dataset`` checks a folder before
anything is added to it or an engine is pointed at it.

>>> export_dataset(["a.cap", "b.cap"], "fleet/", nodes=["a", "b"]).line()  # doctest: +SKIP
'fleet/: 2 captures, 2 nodes, 1204 messages, 310 inventory items, 95 objects'
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

from p2pcap.analysis.conversations import PairFeed
from p2pcap.analysis.datasets import Dataset, DatasetError, is_dataset, open_dataset
from p2pcap.analysis.pipeline import open_pipeline
from p2pcap.analysis.source import writing
from p2pcap.decoders import announce
from p2pcap.errors import ArgumentError
from p2pcap.formats.errors import FormatError

# The messages ``p2pcap.decoders.announced`` can give pairs for
# (decoders/announce.py: the inventory messages and its table of object
# messages); only these are decoded when the message table is written
# without ``decoded``.
INVENTORY_COMMANDS = frozenset(("inv", "getdata", "notfound"))
OBJECT_COMMANDS = frozenset(announce.OBJECT_COMMANDS)

_NODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def check_node(name: str, argument: str = "node") -> str:
    """A node name usable as a ``node=`` partition (letters, digits, ``.``, ``_``, ``-``)."""
    if not isinstance(name, str) or not _NODE.match(name):
        raise ArgumentError(
            argument,
            "a node name is 1-64 letters, digits, '.', '_' or '-' (it becomes a folder name: node=NAME)",
            value=name,
        )
    return name


def node_of(metadata: dict, path) -> str:
    """The node name a capture's header gives: ``node`` if recorded, else the host name."""
    md = metadata if isinstance(metadata, dict) else {}
    name = md.get("node") or md.get("host")
    if not name:
        raise ArgumentError("node", f"{path}: the capture's header names no node or host: give {{arg}}")
    cleaned = re.sub(r"[^A-Za-z0-9._-]", "_", str(name))[:64].lstrip("._-") or "node"
    return check_node(cleaned)


def capture_id(path) -> str:
    """The name of a capture's files in a dataset: its stem and a digest of its
    first MiB and size, so that adding the same capture twice is refused."""
    p = Path(path)
    digest = hashlib.sha256()
    with open(p, "rb") as f:
        digest.update(f.read(1 << 20))
        size = os.fstat(f.fileno()).st_size
    digest.update(str(size).encode())
    stem = re.sub(r"[^A-Za-z0-9._-]", "_", p.stem)[:48] or "capture"
    return f"{stem}-{digest.hexdigest()[:16]}"


@dataclass
class DatasetSummary:
    output: str
    captures: int = 0
    nodes: list = field(default_factory=list)
    messages: int = 0
    gaps: int = 0
    inventory: int = 0
    objects: int = 0
    files: int = 0  # Parquet files written
    problems: list = field(default_factory=list)  # InputProblem of the inputs

    def line(self) -> str:
        gaps = f", {self.gaps} gaps" if self.gaps else ""
        return (
            f"{self.output}: {self.captures} capture{'s' if self.captures != 1 else ''}, "
            f"{len(self.nodes)} node{'s' if len(self.nodes) != 1 else ''} ({', '.join(self.nodes)}), "
            f"{self.messages} messages{gaps}, {self.inventory} inventory items, {self.objects} objects"
        )


def resolve_nodes(paths, nodes) -> list[str | None]:
    """One node name (or None: from the header) per path, from ``nodes`` as given.

    ``nodes`` is empty (every name from its header), one name (for one
    capture), or one name per capture, in order.
    """
    nodes = list(nodes or ())
    for name in nodes:
        check_node(name)
    if not nodes:
        return [None] * len(paths)
    if len(nodes) != len(paths):
        raise ArgumentError(
            "node",
            f"{len(nodes)} names for {len(paths)} captures: give {{arg}} once per "
            f"capture, in the same order, or not at all (names from the headers)",
        )
    return nodes


@contextlib.contextmanager
def _dataset_output(root: Path):
    """``place(relative path) -> path`` for the files of this export, all
    renamed into place when the block ends normally, all dropped on error."""
    from p2pcap.formats.dataset import write_marker
    from p2pcap.outputs import StagedFiles, atomic_folder

    try:
        st = os.lstat(root)
    except FileNotFoundError:
        st = None
    if st is not None and stat.S_ISLNK(st.st_mode):
        st = os.stat(root)  # a link the user named as the output: its folder is meant
    if st is not None and not stat.S_ISDIR(st.st_mode):
        raise ArgumentError("output", f"{root}: exists and is not a folder (a dataset is a folder)")
    if st is None or not any(os.scandir(root)):
        with atomic_folder(root) as temp:
            write_marker(temp)

            def place(relative: str) -> str:
                path = temp / relative
                path.parent.mkdir(parents=True, exist_ok=True)
                return str(path)

            yield place
        return
    with StagedFiles(root) as staged:
        yield lambda relative: str(staged.path(relative))


def export_dataset(paths, output, *, nodes=(), decode: bool = True, tables=None, filt=None) -> DatasetSummary:
    """Add each capture of ``paths`` to the dataset folder ``output`` (made if new).

    ``nodes``: see ``resolve_nodes``.  ``decode=False`` leaves the message
    table's ``decoded`` empty (the inventory and object tables are always
    filled: those messages are decoded anyway).  ``tables`` limits the
    tables written (``propagation`` needs only inventory and objects); ``filt``
    (a ``RecordFilter``) the records.
    All or nothing: on any error the dataset is left as it was.
    """
    from p2pcap.analysis.exporting import BlockExport, DecodedView, fast_way
    from p2pcap.decoders import announced
    from p2pcap.formats.dataset import TABLES, DatasetWriter

    paths = list(paths)
    root = Path(output)
    if root.is_dir() and is_dataset(root):
        known = open_dataset(root).captures  # appending: it must be one of ours, of this schema
    elif root.is_dir() and any(root.iterdir()):
        open_dataset(root)  # says why it is not one
        known = {}
    else:
        known = {}
    names = resolve_nodes(paths, nodes)
    ids = []
    for path in paths:
        with writing(path):
            cid = capture_id(path)
        if cid in known:
            raise DatasetError(f"{known[cid]}: already in the dataset ({path} was exported to it before)")
        if cid in ids:
            raise ArgumentError("captures", f"{path}: given twice (the same capture)")
        ids.append(cid)
    summary = DatasetSummary(str(output))
    with writing(root), _dataset_output(root) as place:
        for path, name, cid in zip(paths, names, ids):
            with open_pipeline(path, filt, decode=True) as p:
                node = name or node_of(p.metadata, path)

                def items(msg, decoded, p=p):
                    command = msg.command
                    is_inventory = command in INVENTORY_COMMANDS
                    if not is_inventory and command not in OBJECT_COMMANDS:
                        return (), ()
                    if decoded is None:
                        decoded = p.decoded(msg)[0]
                    if decoded is None:
                        return (), ()
                    pairs = announced(command, decoded)
                    return (pairs, ()) if is_inventory else ((), pairs)

                decoder = None
                if decode:

                    def decoder(msg, p=p):
                        decoded, error = p.decoded(msg)
                        if decoded is not None and decoded.get("unknown") is True:
                            decoded = {"unknown": True}  # its raw bytes are the payload, already in the row
                        return decoded, error

                w = DatasetWriter(
                    root,
                    node,
                    cid,
                    p.metadata,
                    decode=decoder,
                    items=items,
                    tables=tables or TABLES,
                    place=place,
                )
                fast = fast_way(p, versions=True)  # a block at a time (exporting.py)
                view = DecodedView(p) if fast is not None else p
                pairs = PairFeed(view) if "pairs" in (tables or TABLES) else None  # docs/CONVERSATIONS.md
                try:
                    with w:
                        if fast is not None:
                            messages = "messages" in (tables or TABLES)  # else nothing needs decoded text
                            BlockExport(
                                p,
                                w,
                                decode=decoder if messages else None,
                                items=items,
                                pairs=pairs,
                                add_pair=w.add_pair,
                                view=view,
                            ).run(fast)
                        else:
                            for record in p:
                                w.write(record)
                                if pairs is not None:
                                    pairs.feed(record, w.add_pair)
                        if pairs is not None:
                            pairs.finish(w.add_pair)
                except FormatError as exc:
                    if exc.path is None:
                        exc.path = str(path)
                    raise
                summary.problems += p.problems()
            summary.captures += 1
            if node not in summary.nodes:
                summary.nodes.append(node)
            summary.messages += w.messages
            summary.gaps += w.gaps
            summary.inventory += w.rows["inventory"]
            summary.objects += w.rows["objects"]
            summary.files += len(w.paths)
    return summary


__all__ = [
    "Dataset",
    "DatasetError",
    "DatasetSummary",
    "capture_id",
    "check_node",
    "export_dataset",
    "is_dataset",
    "node_of",
    "open_dataset",
    "resolve_nodes",
]
