"""Reading a dataset folder that may come from a stranger (docs/FLEET.md).

``open_dataset`` walks the folder itself and hands the engines a list of
files, never a pattern: DuckDB, Spark and Hadoop expand ``*``, ``?`` and
``[`` in any path they are given, so a file named ``*.parquet`` would be
read as every file beside it.  Only the names p2pcap writes are accepted
(``formats/dataset.py``: ``node=NAME``, ``date=YYYY-MM-DD``,
``<capture>[.<part>].parquet``, none of them holding a glob character).

Only regular files are opened, and never through a link: a FIFO named
``x.parquet`` would block every reader forever, a device or a link could
point anywhere.  Each file is opened with ``O_NOFOLLOW | O_NONBLOCK`` and
checked with ``fstat`` before its footer is read.

A file's rows must be in proportion to its bytes: p2pcap's files hold
several bytes per row (a time, a peer, a hash per row, compressed), so a
file of fewer than ``BYTES_PER_ROW`` bytes per row -- ten million identical
rows in half a megabyte -- is refused before an engine spends gigabytes
and minutes on it.

>>> open_dataset("fleet/").nodes  # doctest: +SKIP
['mn1', 'mn2']
"""

from __future__ import annotations

import json
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

from p2pcap.analysis.errors import AnalysisError

BYTES_PER_ROW = 2  # a file has at least this many bytes per row (p2pcap's hold 13 or more)
MARKER_BYTES = 4096  # the marker is one short JSON line
# A name an engine takes literally (no glob character, no separator); what a
# file of ours is called exactly is checked against its footer.
_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,250}\.parquet")


class DatasetError(AnalysisError):
    """A folder is not a p2pcap dataset, or holds a file that is not ours."""


@dataclass
class Dataset:
    """A checked dataset folder: its files per table, and the nodes in it."""

    root: Path
    files: dict  # table -> [path, ...]
    nodes: list
    metadata: dict  # node -> [capture metadata, ...]
    captures: dict = field(default_factory=dict)  # capture name -> its first file
    rows: int = 0  # in every file, as their footers say
    bytes: int = 0  # of every file


def is_dataset(path) -> bool:
    from p2pcap.formats.dataset import MARKER

    return Path(path).is_dir() and os.path.lexists(Path(path) / MARKER)


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISLNK, "a symbolic link"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISREG, "a file"),
    ):
        if test(mode):
            return name
    return "not a file"


def open_regular(path):
    """A binary file object on ``path``, which must be a regular file reached
    without a link (``O_NOFOLLOW``; ``O_NONBLOCK`` so that a FIFO swapped in
    cannot block the open); a ``DatasetError`` naming it otherwise."""
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        try:
            kind = _kind(os.lstat(path).st_mode)
        except OSError:
            raise DatasetError(f"{path}: cannot read: {exc.strerror}") from None
        raise DatasetError(f"{path}: not part of a p2pcap dataset: {kind}, not a regular file") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise DatasetError(f"{path}: not part of a p2pcap dataset: {_kind(mode)}, not a regular file")
    return os.fdopen(fd, "rb")


def _read_marker(root: Path):
    from p2pcap.formats.dataset import MARKER, SCHEMA_VERSION

    marker = root / MARKER
    if not os.path.lexists(marker):
        raise DatasetError(
            f"{root}: not a p2pcap dataset (no {MARKER}; make one with `p2pcap export CAP... -o {root}/`)"
        )
    with open_regular(marker) as f:
        raw = f.read(MARKER_BYTES + 1)
    try:
        if len(raw) > MARKER_BYTES:
            raise ValueError(f"more than {MARKER_BYTES} bytes")
        info = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError) as exc:
        raise DatasetError(f"{marker}: unreadable: {str(exc)[:200]}") from None
    if not isinstance(info, dict) or info.get("format") != "p2pcap-dataset":
        raise DatasetError(f"{marker}: not a p2pcap dataset marker")
    if info.get("schema_version") != SCHEMA_VERSION:
        raise DatasetError(
            f"{marker}: schema version {info.get('schema_version')!r}; this p2pcap reads version {SCHEMA_VERSION}"
        )


def _entries(folder: Path, what: str):
    """``(name, path)`` of the folders in ``folder`` that are not skipped; anything
    else not skipped is one line naming it."""
    try:
        listing = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as exc:
        raise DatasetError(f"{folder}: cannot read: {exc.strerror}") from None
    for entry in listing:
        if entry.name.startswith((".", "_")):
            continue  # Spark and Hive skip these too (_SUCCESS, .crc); so do our temporary names
        if not entry.is_dir(follow_symlinks=False):
            kind = _kind(entry.stat(follow_symlinks=False).st_mode)
            raise DatasetError(f"{entry.path}: not part of a p2pcap dataset ({kind}; expected {what})")
        yield entry.name, Path(entry.path)


def open_dataset(path) -> Dataset:
    """Check the folder ``path`` is a p2pcap dataset of a schema we read; one
    ``DatasetError`` line names the first file that is not ours."""
    from p2pcap.formats.dataset import DATE_NAME, NODE_NAME, TABLES
    from p2pcap.formats.parquet import _pyarrow

    root = Path(path)
    _read_marker(root)
    pa, pq = _pyarrow()
    ds = Dataset(root, {t: [] for t in TABLES}, [], {})
    for name, _ in _entries(root, ", ".join(TABLES)):
        if name not in TABLES:
            raise DatasetError(
                f"{root / name}: not part of a p2pcap dataset (expected only {', '.join(TABLES)})"
            )
    for table in TABLES:
        folder = root / table
        if not os.path.lexists(folder):
            continue
        if not folder.is_dir() or folder.is_symlink():
            raise DatasetError(f"{folder}: not part of a p2pcap dataset (not a folder)")
        layout = f"{table}/node=NAME/date=YYYY-MM-DD/*.parquet"
        for node_dir, node_path in _entries(folder, layout):
            node = node_dir.removeprefix("node=")
            if not node_dir.startswith("node=") or not NODE_NAME.fullmatch(node):
                raise DatasetError(f"{node_path}: not part of a p2pcap dataset (expected {layout})")
            for date_dir, date_path in _entries(node_path, layout):
                if not date_dir.startswith("date=") or not DATE_NAME.fullmatch(date_dir[5:]):
                    raise DatasetError(f"{date_path}: not part of a p2pcap dataset (expected {layout})")
                for file in _files(date_path, layout):
                    _check_file(pa, pq, ds, file, table, node)
                    ds.files[table].append(str(file))
                    if node not in ds.nodes:
                        ds.nodes.append(node)
    return ds


def _files(folder: Path, layout: str):
    try:
        listing = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as exc:
        raise DatasetError(f"{folder}: cannot read: {exc.strerror}") from None
    for entry in listing:
        if entry.name.startswith((".", "_")):
            continue
        path = Path(entry.path)
        if not _SAFE_NAME.fullmatch(entry.name):
            raise DatasetError(
                f"{path}: not part of a p2pcap dataset (expected {layout}; "
                f"p2pcap's names hold only letters, digits, '.', '_' and '-')"
            )
        yield path


def _check_file(pa, pq, ds: Dataset, file: Path, table: str, node: str) -> None:
    from p2pcap.formats.dataset import DATASET_KEY, FILE_NAME, SCHEMA_VERSION, table_schema
    from p2pcap.formats.parquet import METADATA_KEY

    with open_regular(file) as f:
        size = os.fstat(f.fileno()).st_size
        try:
            meta = pq.ParquetFile(f).metadata
            found = meta.schema.to_arrow_schema()
        except (OSError, pa.ArrowException) as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
            raise DatasetError(f"{file}: not a readable Parquet file ({first})") from None
    if meta.num_rows * BYTES_PER_ROW > size:
        raise DatasetError(
            f"{file}: {meta.num_rows} rows in {size} bytes: more than p2pcap writes "
            f"(at least {BYTES_PER_ROW} bytes a row); a crafted file?"
        )
    kv = found.metadata or {}
    info = _json(kv.get(DATASET_KEY))
    if not isinstance(info, dict):
        raise DatasetError(f"{file}: a Parquet file p2pcap did not write (no p2pcap.dataset metadata)")
    if info.get("schema_version") != SCHEMA_VERSION:
        raise DatasetError(
            f"{file}: schema version {info.get('schema_version')!r}; this p2pcap reads version {SCHEMA_VERSION}"
        )
    if info.get("table") != table or info.get("node") != node:
        raise DatasetError(
            f"{file}: written for table {info.get('table')!r} of node {info.get('node')!r}, "
            f"found in {table}/node={node}"
        )
    named = FILE_NAME.fullmatch(file.name)
    capture = info.get("capture")
    if named is None or named["capture"] != capture:
        raise DatasetError(f"{file}: written as a file of capture {capture!r}, found under another name")
    if not found.remove_metadata().equals(table_schema(pa, table)):
        raise DatasetError(f"{file}: its columns differ from the {table} table's (docs/FLEET.md)")
    ds.captures.setdefault(capture, str(file))
    ds.rows += meta.num_rows
    ds.bytes += size
    if table == "messages":
        md = _json(kv.get(METADATA_KEY))
        ds.metadata.setdefault(node, []).append(md if isinstance(md, dict) else {})


def _json(raw):
    """A footer's JSON value, or None when it is missing or not JSON (at any depth)."""
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        return None
