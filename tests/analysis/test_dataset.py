"""``export CAP... -o DIR``: the Parquet dataset (docs/FLEET.md), on the fleet
recorded by test_propagation.py: its layout, read back by pyarrow and
DuckDB (Spark: test_propagation_spark.py), appending, and foreign files."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from p2pcap.analysis.dataset import INVENTORY_COMMANDS, OBJECT_COMMANDS
from p2pcap.formats import open_capture

from ..conftest import p2pcap_cmd
from .test_propagation import expected_lines, propagation_json, python_answer

INVENTORY_COLUMNS = (
    "node, date, schema_version, capture, ts_ns, peer_id, peer_addr, conn_type, direction, "
    "command, inv_type, hash"
)


def pyarrow_rows(root, table: str, columns: str) -> list[tuple]:
    import pyarrow as pa
    import pyarrow.dataset as pads

    part = pads.partitioning(pa.schema([("node", pa.string()), ("date", pa.string())]), flavor="hive")
    tab = pads.dataset(str(root / table), format="parquet", partitioning=part).to_table()
    names = [c.strip() for c in columns.split(",")]
    return sorted(zip(*(tab.column(n).to_pylist() for n in names)))


def duckdb_rows(root, table: str, columns: str) -> list[tuple]:
    import duckdb

    return sorted(
        duckdb.sql(
            f"SELECT {columns} FROM read_parquet('{root}/{table}/*/*/*.parquet', hive_partitioning = true, "
            f"hive_types = {{'node': 'VARCHAR', 'date': 'VARCHAR'}})"
        ).fetchall()
    )


def test_the_commands_decoded_for_items_are_announces(tmp_path):
    from p2pcap.decoders import announce

    assert OBJECT_COMMANDS == frozenset(announce._OBJECTS)
    assert INVENTORY_COMMANDS == announce._INVENTORIES


def test_layout_and_schema(dataset, caps):
    assert json.loads((dataset / "_p2pcap_dataset.json").read_text())["schema_version"] == 1
    for table in ("messages", "inventory", "objects"):
        nodes = sorted(p.name for p in (dataset / table).iterdir())
        # a node with no rows in a table has no files there: only c heard an object message
        assert nodes == (["node=c"] if table == "objects" else ["node=a", "node=b", "node=c"])
        for node in nodes:
            (day,) = (dataset / table / node).iterdir()
            assert day.name.startswith("date=20") and len(day.name) == len("date=2025-01-01")
    rows = pyarrow_rows(dataset, "messages", "node, command, direction, ts_ns, schema_version")
    with open_capture(caps["a"]) as reader:
        want = sorted(("a", m.command, m.direction, m.ts_ns, 1) for m in reader.records(gaps=False))
    assert [r for r in rows if r[0] == "a"] == want
    objects = pyarrow_rows(dataset, "objects", "node, command, inv_type, direction")
    assert objects == [("c", "clsig", "MSG_CLSIG", "in")]


def test_pyarrow_and_duckdb_read_the_same_rows(dataset):
    a = pyarrow_rows(dataset, "inventory", INVENTORY_COLUMNS)
    b = duckdb_rows(dataset, "inventory", INVENTORY_COLUMNS)
    assert a == b
    # every inv item of the three captures: 2 in + 1 out per item a node heard (a 6, b 6, c 4),
    # less c's first clsig announcement, which was the object itself
    assert len(a) == 3 * (6 + 6 + 4) - 1
    cols = "node, date, capture, ts_ns, peer_addr, command, inv_type, hash, msg_size"
    assert pyarrow_rows(dataset, "objects", cols) == duckdb_rows(dataset, "objects", cols)
    cols = "node, date, kind, ts_ns, command, msg_size, payload, decoded"
    assert pyarrow_rows(dataset, "messages", cols) == duckdb_rows(dataset, "messages", cols)


def test_appending_a_fourth_capture(dataset, caps, tmp_path):
    grown = tmp_path / "ds"
    shutil.copytree(dataset, grown)
    run = subprocess.run(
        p2pcap_cmd("export", str(caps["d"]), "--node", "d", "--format", "parquet", "-o", str(grown)),
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    assert "1 capture, 1 node (d)" in run.stderr
    assert sorted(p.name for p in (grown / "inventory").iterdir()) == ["node=a", "node=b", "node=c", "node=d"]
    assert propagation_json(str(grown)) == expected_lines(python_answer(caps, "abcd"))
    before = pyarrow_rows(dataset, "inventory", INVENTORY_COLUMNS)
    after = pyarrow_rows(grown, "inventory", INVENTORY_COLUMNS)
    assert [r for r in after if r[0] != "d"] == before
    again = subprocess.run(
        p2pcap_cmd("export", str(caps["d"]), "--node", "d", "-o", str(grown)), capture_output=True, text=True
    )
    assert again.returncode == 2
    assert len(again.stderr.strip().splitlines()) == 1 and "already in the dataset" in again.stderr
    assert pyarrow_rows(grown, "inventory", INVENTORY_COLUMNS) == after


def test_one_capture_to_a_parquet_file_stays_one_file(caps, tmp_path):
    out = tmp_path / "run.parquet"
    run = subprocess.run(p2pcap_cmd("export", str(caps["a"]), "-o", str(out)), capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert out.is_file()
    import pyarrow.parquet as pq

    assert "schema_version" not in pq.read_schema(out).names  # today's single-file schema


@pytest.mark.parametrize("what", ["foreign", "garbage", "stray", "renamed"])
def test_a_foreign_or_malformed_file_is_one_line(dataset, caps, tmp_path, what):
    import pyarrow as pa
    import pyarrow.parquet as pq

    bad = tmp_path / "ds"
    shutil.copytree(dataset, bad)
    day = next((bad / "inventory" / "node=a").iterdir())
    if what == "foreign":
        target = day / "other.parquet"
        pq.write_table(pa.table({"x": [1, 2]}), target)
        text = "a Parquet file p2pcap did not write"
    elif what == "garbage":
        target = day / "broken.parquet"
        target.write_bytes(b"PAR1 not really")
        text = "not a readable Parquet file"
    elif what == "stray":
        target = day / "notes.txt"
        target.write_text("hello")
        text = "not part of a p2pcap dataset"
    else:  # one of ours, in the wrong table
        (src,) = next((bad / "objects" / "node=c").iterdir()).iterdir()
        target = day / "moved.parquet"
        shutil.copy(src, target)
        text = "written for table 'objects' of node 'c', found in inventory/node=a"
    for cmd in (["propagation", str(bad)], ["export", str(caps["d"]), "--node", "d", "-o", str(bad)]):
        run = subprocess.run(p2pcap_cmd(*cmd), capture_output=True, text=True)
        assert run.returncode == 2
        lines = run.stderr.strip().splitlines()
        assert len(lines) == 1 and str(target) in lines[0] and text in lines[0], run.stderr
    assert not (bad / "inventory" / "node=d").exists()  # nothing added to a dataset in doubt


def test_a_folder_that_is_no_dataset(tmp_path, caps):
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "f.txt").write_text("")
    for cmd in (
        ["propagation", str(tmp_path / "x")],
        ["export", str(caps["a"]), "--format", "parquet", "-o", str(tmp_path / "x")],
    ):
        run = subprocess.run(p2pcap_cmd(*cmd), capture_output=True, text=True)
        assert run.returncode == 2
        assert len(run.stderr.strip().splitlines()) == 1 and "not a p2pcap dataset" in run.stderr


def test_node_names_must_match_the_captures(caps, tmp_path):
    for args, text in (
        (["--node", "a", "--node", "b"], "2 names for 3 captures: give --node once per capture"),
        (["--node", "a/b", "--node", "x", "--node", "y"], "--node 'a/b': a node name is"),
    ):
        run = subprocess.run(
            p2pcap_cmd("export", *(str(caps[n]) for n in "abc"), *args, "-o", str(tmp_path / "ds")),
            capture_output=True,
            text=True,
        )
        assert run.returncode == 2
        assert len(run.stderr.strip().splitlines()) == 1 and text in run.stderr, run.stderr
    run = subprocess.run(
        p2pcap_cmd("export", str(caps["a"]), str(caps["b"]), "-o", str(tmp_path / "x.jsonl")),
        capture_output=True,
        text=True,
    )
    assert run.returncode == 2 and "several captures go only into a Parquet dataset" in run.stderr
