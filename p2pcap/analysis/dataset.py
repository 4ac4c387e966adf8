"""Datasets: many captures, many nodes, one set of Parquet tables (docs/FLEET.md).

``export_dataset`` streams captures into a hive-partitioned folder
(``formats/parquet.py`` ``DatasetWriter``: ``messages``, ``inventory``,
``objects``, each ``node=<name>/date=<UTC day>/<capture>.parquet``);
``open_dataset`` checks a folder is one of ours, file by file (only the
footers are read), before an engine is pointed at it.

>>> export_dataset(["a.cap", "b.cap"], "fleet/", nodes=["a", "b"]).line()  # doctest: +SKIP
'fleet/: 2 captures, 2 nodes, 1204 messages, 310 inventory items, 95 objects'
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from p2pcap.analysis.errors import AnalysisError
from p2pcap.analysis.pipeline import open_pipeline
from p2pcap.analysis.source import writing
from p2pcap.errors import ArgumentError

# The messages ``p2pcap.decoders.announced`` can give pairs for
# (decoders/announce.py: the inventory messages and its table of object
# messages); only these are decoded when the message table is written
# without ``decoded`` (tests/analysis/test_dataset.py keeps the two in step).
INVENTORY_COMMANDS = frozenset(("inv", "getdata", "notfound"))
OBJECT_COMMANDS = frozenset(
    (
        "tx",
        "dstx",
        "block",
        "merkleblock",
        "cmpctblock",
        "spork",
        "govobj",
        "govobjvote",
        "qfcommit",
        "qcontrib",
        "qcomplaint",
        "qjustify",
        "qpcommit",
        "qsigrec",
        "clsig",
        "islock",
        "isdlock",
        "dsq",
    )
)

_NODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class DatasetError(AnalysisError):
    """A folder is not a p2pcap dataset, or holds a file that is not ours."""


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
    digest.update(str(p.stat().st_size).encode())
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


def export_dataset(paths, output, *, nodes=(), decode: bool = True, tables=None) -> DatasetSummary:
    """Add each capture of ``paths`` to the dataset folder ``output`` (made if new).

    ``nodes``: see ``resolve_nodes``.  ``decode=False`` leaves the message
    table's ``decoded`` empty (the inventory and object tables are always
    filled: those messages are decoded anyway).  ``tables`` limits the
    tables written (``propagation`` needs only inventory and objects).
    """
    from p2pcap.decoders import announced
    from p2pcap.formats.parquet import TABLES, DatasetWriter

    paths = list(paths)
    root = Path(output)
    if root.exists() and not root.is_dir():
        raise ArgumentError("output", f"{root}: exists and is not a folder (a dataset is a folder)")
    if root.is_dir() and any(root.iterdir()):
        open_dataset(root)  # appending: it must be one of ours, of this schema
    names = resolve_nodes(paths, nodes)
    summary = DatasetSummary(str(output))
    for path, name in zip(paths, names):
        with open_pipeline(path, decode=True) as p:
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

            with (
                writing(root),
                DatasetWriter(
                    root,
                    node,
                    capture_id(path),
                    p.metadata,
                    decode=decoder,
                    items=items,
                    tables=tables or TABLES,
                ) as w,
            ):
                for record in p:
                    w.write(record)
            summary.problems += p.problems()
        summary.captures += 1
        if node not in summary.nodes:
            summary.nodes.append(node)
        summary.messages += w.messages
        summary.gaps += w.gaps
        summary.inventory += w.rows["inventory"]
        summary.objects += w.rows["objects"]
    return summary


# -- reading ---------------------------------------------------------------------


@dataclass
class Dataset:
    """A checked dataset folder: its files per table, and the nodes in it."""

    root: Path
    files: dict  # table -> [path, ...]
    nodes: list
    metadata: dict  # node -> [capture metadata, ...]

    def table_glob(self, table: str) -> str:
        return str(self.root / table / "node=*" / "date=*" / "*.parquet")


def is_dataset(path) -> bool:
    from p2pcap.formats.parquet import MARKER

    return Path(path).is_dir() and (Path(path) / MARKER).is_file()


def open_dataset(path) -> Dataset:
    """Check the folder ``path`` is a p2pcap dataset of a schema we read; one
    ``DatasetError`` line names the first file that is not ours."""
    from p2pcap.formats.parquet import DATASET_KEY, MARKER, METADATA_KEY, SCHEMA_VERSION, TABLES, _pyarrow

    root = Path(path)
    marker = root / MARKER
    try:
        info = json.loads(marker.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DatasetError(
            f"{root}: not a p2pcap dataset (no {MARKER}; make one with `p2pcap export CAP... -o {root}/`)"
        ) from None
    except (OSError, ValueError) as exc:
        raise DatasetError(f"{marker}: unreadable: {exc}") from None
    if not isinstance(info, dict) or info.get("format") != "p2pcap-dataset":
        raise DatasetError(f"{marker}: not a p2pcap dataset marker")
    if info.get("schema_version") != SCHEMA_VERSION:
        raise DatasetError(
            f"{marker}: schema version {info.get('schema_version')!r}; this p2pcap reads "
            f"version {SCHEMA_VERSION}"
        )
    pa, pq = _pyarrow()
    files: dict = {t: [] for t in TABLES}
    nodes: list = []
    metadata: dict = {}
    for entry in sorted(root.iterdir()):
        if entry.name.startswith((".", "_")):
            continue  # Spark and Hive skip these too (_SUCCESS, .crc)
        if entry.name not in TABLES or not entry.is_dir():
            raise DatasetError(f"{entry}: not part of a p2pcap dataset (expected only {', '.join(TABLES)})")
    for table in TABLES:
        folder = root / table
        if not folder.is_dir():
            continue
        for dirpath, dirnames, filenames in os.walk(folder):
            dirnames.sort()
            dirnames[:] = [d for d in dirnames if not d.startswith((".", "_"))]
            rel = Path(dirpath).relative_to(folder).parts
            for d in dirnames:
                want = "node=" if not rel else "date=" if len(rel) == 1 else None
                if want is None or not d.startswith(want):
                    raise DatasetError(
                        f"{Path(dirpath) / d}: not part of a p2pcap dataset "
                        f"(expected {table}/node=NAME/date=YYYY-MM-DD/)"
                    )
            for name in sorted(filenames):
                if name.startswith((".", "_")):
                    continue
                file = Path(dirpath) / name
                if len(rel) != 2 or not name.endswith(".parquet"):
                    raise DatasetError(
                        f"{file}: not part of a p2pcap dataset "
                        f"(expected {table}/node=NAME/date=YYYY-MM-DD/*.parquet)"
                    )
                node = rel[0].removeprefix("node=")
                _check_file(pa, pq, file, table, node, DATASET_KEY, SCHEMA_VERSION)
                files[table].append(str(file))
                if node not in nodes:
                    nodes.append(node)
                if table == "messages":
                    with_md = pq.read_schema(file).metadata or {}
                    try:
                        md = json.loads(with_md.get(METADATA_KEY, b"{}"))
                    except ValueError:
                        md = {}
                    metadata.setdefault(node, []).append(md)
    return Dataset(root, files, nodes, metadata)


def _check_file(pa, pq, file: Path, table: str, node: str, key: bytes, version: int) -> None:
    from p2pcap.formats.parquet import table_schema

    try:
        found = pq.read_schema(file)
    except (OSError, pa.ArrowException) as exc:
        raise DatasetError(f"{file}: not a readable Parquet file ({str(exc).splitlines()[0]})") from None
    try:
        info = json.loads((found.metadata or {}).get(key, b"null"))
    except ValueError:
        info = None
    if not isinstance(info, dict):
        raise DatasetError(f"{file}: a Parquet file p2pcap did not write (no p2pcap.dataset metadata)")
    if info.get("schema_version") != version:
        raise DatasetError(
            f"{file}: schema version {info.get('schema_version')!r}; this p2pcap reads version {version}"
        )
    if info.get("table") != table or info.get("node") != node:
        raise DatasetError(
            f"{file}: written for table {info.get('table')!r} of node {info.get('node')!r}, "
            f"found in {table}/node={node}"
        )
    expected = table_schema(pa, table)
    if not found.remove_metadata().equals(expected):
        raise DatasetError(f"{file}: its columns differ from the {table} table's (docs/FLEET.md)")
