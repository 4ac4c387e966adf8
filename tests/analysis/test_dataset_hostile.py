"""A dataset folder from a stranger (issue 22): ``propagation`` and an
append (``export -o DS/``) open only regular files, give DuckDB and Spark
literal paths, run DuckDB under a memory limit, and name a hostile file in
one line (p2pcap/analysis/datasets.py, engines.py; docs/FLEET.md).

Each dataset is made by ``export`` and then edited: a FIFO, a device, a
link, a file named ``*.parquet``, a file of ten million rows in half a
megabyte, damaged pages.  Every command runs in a child under
``RLIMIT_AS`` and a timeout (``limits.py``): a FIFO that blocks fails the
test by its timeout instead of hanging it.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess

import pytest

from ..conftest import p2pcap_cmd
from .limits import inventory_capture, one_line, run_limited, within_limits

TIMEOUT = 60.0


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    """A dataset of two nodes, and a capture to append."""
    folder = tmp_path_factory.mktemp("hostile-datasets")
    caps = [inventory_capture(folder / f"{n}.cap", 30, host=n) for n in ("mn1", "mn2")]
    done = subprocess.run(
        p2pcap_cmd("export", *map(str, caps), "--format", "parquet", "-o", str(folder / "ds")),
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    extra = inventory_capture(folder / "mn3.cap", 10, host="mn3")
    return folder / "ds", extra


@pytest.fixture
def ds(clean, tmp_path):
    root = tmp_path / "ds"
    shutil.copytree(clean[0], root)
    return root


def a_day(ds):
    """A day folder of the inventory table, and its one file."""
    day = next((ds / "inventory" / "node=mn1").iterdir())
    (file,) = day.iterdir()
    return day, file


def both_refuse(ds, extra, tmp_path, *texts):
    """``propagation DS`` and ``export CAP -o DS`` each end in one line naming
    the problem, within the limits, and the dataset gets nothing."""
    before = sorted(str(p) for p in ds.rglob("*"))
    for kind, args in (
        ("propagation", ["propagation", ds]),
        ("export", ["export", extra, "--node", "mn3", "-o", ds]),
    ):
        run = run_limited(kind, args, tmp_path, timeout=TIMEOUT)
        assert run.status == 2, run.describe()
        within_limits(run)
        one_line(run, *texts)
    assert sorted(str(p) for p in ds.rglob("*")) == before


def test_a_fifo_named_parquet(ds, clean, tmp_path):
    day, _ = a_day(ds)
    os.mkfifo(day / "x.parquet")
    both_refuse(ds, clean[1], tmp_path, str(day / "x.parquet"), "a FIFO, not a regular file")


def test_a_fifo_as_the_marker(ds, clean, tmp_path):
    (ds / "_p2pcap_dataset.json").unlink()
    os.mkfifo(ds / "_p2pcap_dataset.json")
    both_refuse(ds, clean[1], tmp_path, "_p2pcap_dataset.json", "a FIFO, not a regular file")


def test_a_socket_and_a_device(ds, clean, tmp_path):
    day, _ = a_day(ds)
    sock = socket.socket(socket.AF_UNIX)
    try:
        sock.bind(str(day / "s.parquet"))
        both_refuse(ds, clean[1], tmp_path, str(day / "s.parquet"), "a socket")
    finally:
        sock.close()
    os.unlink(day / "s.parquet")
    if os.geteuid() == 0:
        os.mknod(day / "zero.parquet", 0o600 | 0o020000, os.makedev(1, 5))  # /dev/zero: endless
        both_refuse(ds, clean[1], tmp_path, str(day / "zero.parquet"), "a character device")


@pytest.mark.parametrize("where", ["file", "folder"])
def test_links_are_not_followed(ds, clean, tmp_path, where):
    day, file = a_day(ds)
    outside = tmp_path / "outside"
    outside.mkdir()
    shutil.copy(file, outside / file.name)
    if where == "file":
        link = day / "linked.parquet"
        link.symlink_to(outside / file.name)
    else:
        link = day.parent / "date=2020-01-01"
        link.symlink_to(outside)
    both_refuse(ds, clean[1], tmp_path, str(link), "a symbolic link")


@pytest.mark.parametrize("name", ["*.parquet", "?.parquet", "[ab].parquet", "x y.parquet"])
def test_a_name_with_glob_characters(ds, clean, tmp_path, name):
    """A copy of a real file under a name DuckDB would expand: refused
    before DuckDB sees it (it would read every file beside it twice)."""
    day, file = a_day(ds)
    shutil.copy(file, day / name)
    both_refuse(ds, clean[1], tmp_path, str(day / name), "p2pcap's names hold only")


def test_glob_characters_above_the_dataset_are_literal(clean, tmp_path):
    """The folder holding the dataset may be called anything: ``fleet[1]``
    with a decoy ``fleet1`` beside it is read as itself, once."""
    parent = tmp_path / "in[1] *?{a,b}\\x"
    parent.mkdir()
    shutil.copytree(clean[0], parent / "ds")
    decoy = tmp_path / "in1 ab"  # what a glob of that name would match too
    decoy.mkdir()
    shutil.copytree(clean[0], decoy / "ds")
    run = run_limited("propagation", ["propagation", parent / "ds", "--json"], tmp_path)
    assert run.status == 0, run.describe()
    within_limits(run)
    objects = [json.loads(line) for line in run.stdout.read_text().splitlines()]
    assert len(objects) == 30  # the 30 items both nodes heard of, each once: not twice
    assert all(sorted(o["delay_ms"]) == ["mn1", "mn2"] for o in objects)


def test_ten_million_rows_in_half_a_megabyte(ds, clean, tmp_path):
    """One of our files grown, by pyarrow, to 10,000,000 copies of its first
    row (with its own schema and footer metadata): once 3 GB of DuckDB."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    _, file = a_day(ds)
    table = pq.read_table(file)
    chunk = pa.concat_tables([table.slice(0, 1)] * 10_000).combine_chunks()
    big = pa.concat_tables([chunk] * 1_000)
    pq.write_table(big.replace_schema_metadata(table.schema.metadata), file, compression="zstd")
    assert file.stat().st_size < 1 << 20
    both_refuse(ds, clean[1], tmp_path, str(file), "10000000 rows in", "a crafted file?")


def test_dense_rows_stay_within_the_memory_limit(ds, tmp_path):
    """As many rows as a file may hold (two bytes each): DuckDB works under
    its memory limit and the command stays within the issue's limits."""
    import random

    import pyarrow as pa
    import pyarrow.parquet as pq

    _, file = a_day(ds)
    table = pq.read_table(file)
    n = 300_000
    rnd = random.Random(7)
    columns = {
        name: pa.array([table.column(name)[0].as_py()] * n, type=table.schema.field(name).type)
        for name in table.column_names
    }
    columns["ts_ns"] = pa.array(
        [table.column("ts_ns")[0].as_py() + rnd.randrange(1 << 16) for _ in range(n)], pa.int64()
    )
    dense = pa.table(columns, schema=table.schema)
    pq.write_table(dense, file, compression="zstd")
    assert file.stat().st_size < 1 << 20 and file.stat().st_size >= 2 * n
    run = run_limited("propagation", ["propagation", ds], tmp_path)
    assert run.status == 0, run.describe()
    within_limits(run)


def test_damaged_pages_are_one_line(ds, clean, tmp_path):
    """A footer that reads well over pages that do not: DuckDB's error, as one
    line naming the dataset (the file when DuckDB does), never /proc/self/fd."""
    _, file = a_day(ds)
    raw = bytearray(file.read_bytes())
    footer = int.from_bytes(raw[-8:-4], "little") + 8
    for i in range(4, len(raw) - footer, 7):
        raw[i] ^= 0x5A
    file.write_bytes(bytes(raw))
    run = run_limited("propagation", ["propagation", ds], tmp_path)
    assert run.status == 2, run.describe()
    within_limits(run)
    one_line(run, "duckdb: ", str(ds))
    assert "/proc/self/fd" not in run.stderr


def test_memory_limit_flag(ds, tmp_path):
    run = run_limited("propagation", ["propagation", ds, "--memory-limit", "lots"], tmp_path)
    assert run.status == 2
    one_line(run, "--memory-limit 'lots': expected a size such as 256MB")
    run = run_limited("propagation", ["propagation", ds, "--memory-limit", "1MB"], tmp_path)
    assert run.status in (0, 2), run.describe()  # tiny: DuckDB spills, or says it is out of memory
    if run.status == 2:
        one_line(run, "out of its memory limit (1MB; --memory-limit raises it)")
    run = run_limited("propagation", ["propagation", ds, "--memory-limit", "512MB", "--json"], tmp_path)
    assert run.status == 0 and len(run.stdout.read_text().splitlines()) == 30, run.describe()


def test_duckdb_spills_into_its_own_folder_and_removes_it(ds, tmp_path):
    spill = tmp_path / "spill"
    spill.mkdir()
    run = run_limited("propagation", ["propagation", ds, "--temp-dir", spill], tmp_path)
    assert run.status == 0, run.describe()
    assert list(spill.iterdir()) == []


def test_a_deep_marker_is_one_line(ds, clean, tmp_path):
    (ds / "_p2pcap_dataset.json").write_text("[" * 2000 + "]" * 2000)  # under its size cap: too deep for json
    both_refuse(ds, clean[1], tmp_path, "_p2pcap_dataset.json", "unreadable")
