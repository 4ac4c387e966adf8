"""Writing a Parquet dataset costs in proportion to the capture, and a
failure leaves the dataset as it was (issue 22; formats/dataset.py,
p2pcap/analysis/dataset.py, docs/FLEET.md).

Captures are built by ``CaptureWriter``; each export runs in a child under
``RLIMIT_AS`` and a timeout (``limits.py``).
"""

from __future__ import annotations

import os
import resource
import subprocess

import pytest
from hypothesis import given
from hypothesis import strategies as st

from p2pcap.formats.dataset import OPEN_FILES, DatasetWriter
from p2pcap.formats.parquet import parquet_text, text_value

from ..conftest import p2pcap_cmd
from .limits import (
    BUDGET,
    CPU_SECONDS,
    DAY_NS,
    T0,
    days_capture,
    inventory_capture,
    one_line,
    ping,
    run_limited,
    tree,
    write,
)


def parquet_files(root):
    return sorted(p for p in root.rglob("*.parquet"))


def rows_of(root, table: str, columns: str) -> list[tuple]:
    import duckdb

    return sorted(
        duckdb.sql(
            f"SELECT {columns} FROM read_parquet('{root}/{table}/*/*/*.parquet', hive_partitioning = true, "
            f"hive_types = {{'node': 'VARCHAR', 'date': 'VARCHAR'}})"
        ).fetchall()
    )


def test_5000_days_within_limits(tmp_path):
    """The issue's capture: 5,000 pings on 5,000 days, once 10,004 paths,
    538 MB and EMFILE under ``ulimit -n 1024``.  One file per table and
    day that has rows: 5,000 files, each holding a row of the input."""
    cap = days_capture(tmp_path / "days.cap", 5000)
    assert cap.stat().st_size < 64 << 10
    run = run_limited("export", ["export", cap, "--format", "parquet", "-o", tmp_path / "ds"], tmp_path)
    assert run.status == 0, run.describe()
    files = parquet_files(tmp_path / "ds")
    # one file per table and day with rows: the pings, and each ping's row
    # in the pairs table (a request never answered, docs/CONVERSATIONS.md)
    assert len(parquet_files(tmp_path / "ds" / "messages")) == 5000
    assert len(files) <= 2 * 5000
    # The 10 s were for its 5,000 files; the pairs table makes a
    # file more per day, and a file costs what it costs (pyarrow's set-up,
    # a folder and a file made, fsync): 10 s of CPU per 5,000 files.
    assert run.max_rss <= BUDGET and not run.timed_out and "Traceback" not in run.stderr, run.describe()
    assert run.cpu_s <= CPU_SECONDS * len(files) / 5000, run.describe()
    assert all(f.parent.name.startswith("date=") for f in files)
    assert len(rows_of(tmp_path / "ds", "messages", "date, ts_ns")) == 5000


def test_few_file_descriptors_are_enough(tmp_path):
    """At most OPEN_FILES Parquet files are open at once: ``ulimit -n 64`` does."""
    cap = days_capture(tmp_path / "days.cap", 300)

    def few():
        resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))

    done = subprocess.run(
        p2pcap_cmd("export", str(cap), "--format", "parquet", "-o", str(tmp_path / "ds")),
        capture_output=True,
        text=True,
        preexec_fn=few,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert len(parquet_files(tmp_path / "ds" / "messages")) == 300


def test_days_out_of_order_continue_in_parts(tmp_path):
    """Records switching between more days than files may be open: a day
    whose file was closed goes on in a new part; every row is read back."""
    days = OPEN_FILES + 4
    records = [ping(T0 + (i % days) * DAY_NS + i) for i in range(3 * days)]
    w = DatasetWriter(tmp_path / "ds", "n1", "cap-0123456789abcdef")
    with w:
        for r in records:
            w.write(r)
    files = parquet_files(tmp_path / "ds")
    assert len(files) <= len(records)
    # with only the end's flush, each day is written once: one file per day
    assert len(files) == days
    got = rows_of(tmp_path / "ds", "messages", "ts_ns")
    assert got == sorted((r.ts_ns,) for r in records)

    # Flushed along the way (a small row group budget), days are written
    # again after their files were closed: parts .1, .2 ...
    import p2pcap.formats.dataset as dataset

    rows_per_group = dataset.ROWS_PER_GROUP
    dataset.ROWS_PER_GROUP = days  # a flush after every pass over the days
    try:
        w = DatasetWriter(tmp_path / "ds2", "n1", "cap-0123456789abcdef")
        with w:
            for r in records:
                w.write(r)
    finally:
        dataset.ROWS_PER_GROUP = rows_per_group
    files = parquet_files(tmp_path / "ds2")
    assert len(files) == 3 * days <= len(records)
    assert any(f.name == "cap-0123456789abcdef.2.parquet" for f in files)
    assert rows_of(tmp_path / "ds2", "messages", "ts_ns") == got


def test_a_failure_leaves_a_new_dataset_unmade(tmp_path):
    good = inventory_capture(tmp_path / "good.cap", 20)
    late = write(tmp_path / "late.cap", [ping(T0), ping((1 << 64) - 1)])  # past Parquet's int64
    run = run_limited("export", ["export", good, late, "-o", tmp_path / "ds"], tmp_path)
    one_line(run, str(late), "past what Parquet's int64 holds")
    assert run.status == 1
    assert not (tmp_path / "ds").exists()
    assert not [n for n in os.listdir(tmp_path) if n.startswith(".ds.")]  # no temporary folder left


@given(st.binary(max_size=80))
def test_parquet_text_is_utf8_and_gives_the_bytes_back(raw):
    value = raw.decode("utf-8", "surrogateescape")
    text = parquet_text(value)
    text.encode("utf-8")  # valid UTF-8: raises otherwise
    assert text_value(text).encode("utf-8", "surrogateescape") == raw
    try:
        plain = raw.decode("utf-8")
    except UnicodeDecodeError:
        return
    if "\\" not in plain:
        assert text == plain  # what a node gives is written byte for byte


@given(st.text(st.characters(blacklist_categories=()), max_size=40))
def test_parquet_text_of_any_string_round_trips(value):
    text = parquet_text(value)
    text.encode("utf-8")
    assert text_value(text) == value


@pytest.mark.parametrize("how", ["error", "descriptors"])
def test_a_failure_leaves_an_existing_dataset_as_it_was(tmp_path, how):
    ds = tmp_path / "ds"
    first = inventory_capture(tmp_path / "first.cap", 20, host="one")
    done = subprocess.run(
        p2pcap_cmd("export", str(first), "--format", "parquet", "-o", str(ds)), capture_output=True
    )
    assert done.returncode == 0, done.stderr
    (ds / "_SUCCESS").write_text("")  # files p2pcap did not make are kept whatever happens
    (ds / "inventory" / ".notes").write_text("mine")
    before = tree(ds)
    second = days_capture(tmp_path / "second.cap", 200)
    if how == "error":
        late = write(tmp_path / "late.cap", [ping(T0), ping((1 << 64) - 1)], host="three")
        args = ["export", str(second), str(late), "--node", "two", "--node", "three", "-o", str(ds)]
        limit = None
    else:
        args = ["export", str(second), "--node", "two", "-o", str(ds)]
        limit = 16  # the interpreter's own files, and hardly one Parquet file more

    def few():
        if limit:
            resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))

    done = subprocess.run(p2pcap_cmd(*args), capture_output=True, text=True, preexec_fn=few, timeout=120)
    assert done.returncode in (1, 2) and "Traceback" not in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert tree(ds) == before


def test_a_full_disk_leaves_the_dataset_as_it_was(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    disk = tmp_path / "disk"
    disk.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=400k", "tmpfs", str(disk)], check=True)
    try:
        ds = disk / "ds"
        small = inventory_capture(tmp_path / "small.cap", 5)
        done = subprocess.run(
            p2pcap_cmd("export", str(small), "--format", "parquet", "-o", str(ds)), capture_output=True
        )
        assert done.returncode == 0, done.stderr
        before = tree(ds)
        big = days_capture(tmp_path / "big.cap", 400)  # ~ 1.2 MB of Parquet files: past the disk
        done = subprocess.run(
            p2pcap_cmd("export", str(big), "--node", "big", "-o", str(ds)), capture_output=True, text=True
        )
        assert done.returncode == 2, done.stderr
        one = done.stderr.strip().splitlines()
        assert len(one) == 1 and "No space left on device" in one[0], done.stderr
        assert tree(ds) == before
        assert sorted(os.listdir(disk)) == ["ds"]  # no temporary folder left either
    finally:
        subprocess.run(["umount", str(disk)], check=True)


def test_non_utf8_strings_survive_losslessly(tmp_path):
    """A capture's strings may hold bytes that are not UTF-8; Parquet's text
    must be UTF-8: ``parquet_text`` form, read back exactly by ``text_value``."""
    from p2pcap.formats.parquet import text_value

    s = lambda raw: raw.decode("utf-8", "surrogateescape")  # noqa: E731
    addr, conn, command = s(b"10.0.0.1\xfe:9999"), s(b"inb\x80ound"), s(b"cmd\xff")
    cap = write(
        tmp_path / "odd.cap",
        [
            ping(T0, addr=addr),
            ping(T0 + 1, addr="back\\slash:1"),
            Message_(T0 + 2, addr, conn, command),
        ],
        host=s(b"h\xffost"),
    )
    for out in (tmp_path / "ds", tmp_path / "one.parquet"):
        done = subprocess.run(
            p2pcap_cmd("export", str(cap), "--format", "parquet", "-o", str(out)),
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    import duckdb

    for source in (f"'{tmp_path}/ds/messages/*/*/*.parquet'", f"'{tmp_path}/one.parquet'"):
        rows = duckdb.sql(
            f"SELECT peer_addr, conn_type, command FROM read_parquet({source}) ORDER BY ts_ns"
        ).fetchall()
        assert [tuple(text_value(v) for v in row) for row in rows] == [
            (addr, "inbound", "ping"),
            ("back\\slash:1", "inbound", "ping"),
            (addr, conn, command),
        ]
        assert rows[0][0] == "10.0.0.1\\xfe:9999" and rows[1][0] == "back\\\\slash:1"


def Message_(ts, addr, conn, command):  # noqa: N802  a message with every string given
    from p2pcap.formats import Message

    return Message(ts, 4242, 7, addr, conn, "in", command, 3, b"abc")
