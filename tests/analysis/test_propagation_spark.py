"""The same propagation on Apache Spark (local mode), against DuckDB's answer
and the plain-Python one, on the fleet of test_propagation.py.

One SparkSession for the module (a JVM start costs seconds).  Needs pyspark
(the ``test`` extra) and Java (scripts/hostsetup.py TEST); skipped without
them, except in CI (``P2PCAP_REQUIRE_EBPF=1``: the full test set-up), where
that is a failure.  Select with ``-m spark``, leave out with ``-m "not spark"``.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from ..conftest import p2pcap_cmd
from .test_dataset import INVENTORY_COLUMNS, pyarrow_rows
from .test_propagation import (
    check_against_design,
    expected_lines,
    python_answer,
)

pytestmark = pytest.mark.spark


def _spark_missing() -> str | None:
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return "pyspark not installed (pip install -e '.[test]')"
    if not shutil.which("java") and not os.environ.get("JAVA_HOME"):
        return "no Java (scripts/setup-host.sh --test installs it)"
    return None


@pytest.fixture(scope="module")
def spark():
    missing = _spark_missing()
    if missing:
        if os.environ.get("P2PCAP_REQUIRE_EBPF") == "1":
            pytest.fail(f"Spark tests must run here but cannot: {missing}")
        pytest.skip(missing)
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .appName("p2pcap tests")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.sources.partitionColumnTypeInference.enabled", "false")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def answer(dataset, **options):
    from p2pcap.analysis.propagation import propagation

    with propagation([dataset], **options) as result:
        return ([o.as_json() for o in result.objects()], result.stats, result.types, result.cdf())


def test_spark_and_duckdb_give_the_same_answer(spark, dataset, caps):
    on_spark = answer(dataset, engine="spark", spark_session=spark)
    on_duckdb = answer(dataset, engine="duckdb")
    assert on_spark == on_duckdb
    assert on_spark[0] == expected_lines(python_answer(caps, ("a", "b", "c")))
    check_against_design(on_spark[0], ("a", "b", "c"))
    # one row per (type, node): c missed one MSG_TX and one MSG_ISDLOCK, not a whole type
    assert [(s.inv_type, s.node) for s in on_spark[1]] == [
        (t, n) for t in ("MSG_BLOCK", "MSG_CLSIG", "MSG_ISDLOCK", "MSG_TX") for n in "abc"
    ]


def test_filters_and_offsets_agree(spark, dataset):
    options = dict(types=("MSG_TX", "MSG_CLSIG"), clock_offsets={"c": -75_000_000})
    assert answer(dataset, engine="spark", spark_session=spark, **options) == answer(dataset, **options)


def test_spark_reads_the_same_rows(spark, dataset):
    frame = spark.read.option("basePath", str(dataset / "inventory")).parquet(str(dataset / "inventory"))
    names = [c.strip() for c in INVENTORY_COLUMNS.split(",")]
    rows = sorted(tuple(r) for r in frame.select(*names).collect())
    assert rows == pyarrow_rows(dataset, "inventory", INVENTORY_COLUMNS)
    assert len(rows) == 47


def test_the_cli_on_spark(spark, dataset):
    # In-process, so that the engine finds the module's session (as under spark-submit) and leaves it running.
    from click.testing import CliRunner

    from p2pcap.cli import main

    args = ["propagation", str(dataset), "--json", "--type", "MSG_ISDLOCK"]
    on_spark = CliRunner().invoke(main, [*args, "--engine", "spark"])
    assert on_spark.exit_code == 0, on_spark.output
    assert not spark.sparkContext._jsc.sc().isStopped()
    duck = subprocess.run(p2pcap_cmd(*args), capture_output=True, text=True)
    lines = [line for line in on_spark.stdout.splitlines() if line.startswith("{")]
    assert "\n".join(lines) + "\n" == duck.stdout and len(lines) == 2


def test_glob_characters_above_the_dataset_are_literal_on_spark(spark, dataset, tmp_path):
    """Hadoop expands ``[``, ``*``, ``?``, ``{`` and ``\\`` in the paths Spark is
    given: the folder holding the dataset is escaped, and a decoy that a
    glob of its name would match is not read."""
    import shutil

    odd = tmp_path / "in[1] *?{a,b}\\x" / "fleet"
    shutil.copytree(dataset, odd)
    shutil.copytree(dataset, tmp_path / "in1 ab" / "fleet")
    assert answer(odd, engine="spark", spark_session=spark) == answer(dataset)


def test_spark_errors_are_one_line(spark, dataset, tmp_path):
    from p2pcap.analysis.datasets import DatasetError

    broken = tmp_path / "fleet"
    shutil.copytree(dataset, broken)
    day = next((broken / "inventory" / "node=a").iterdir())
    (file,) = day.iterdir()
    raw = bytearray(file.read_bytes())
    footer = int.from_bytes(raw[-8:-4], "little") + 8
    for i in range(4, len(raw) - footer, 7):
        raw[i] ^= 0x5A
    file.write_bytes(bytes(raw))
    with pytest.raises(DatasetError) as caught:
        answer(broken, engine="spark", spark_session=spark)
    assert str(caught.value).startswith("spark: ") and "\n" not in str(caught.value)
