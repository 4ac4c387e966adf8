"""SQL engines over a dataset's tables: DuckDB in-process, Apache Spark beyond one machine.

Both take the same SQL (``propagation.py`` writes it once, in the subset
both dialects share: window functions, ``CASE``, ``UNION ALL``, integer
arithmetic) over two views, ``inventory`` and ``objects``, of the dataset
files given.  Each engine is imported only when it is chosen: recording and
``show`` need neither.

The partition columns are read as text in both (``node`` could look like a
number, ``date`` like a date): DuckDB's ``hive_types``, Spark's
``spark.sql.sources.partitionColumnTypeInference.enabled=false``.
"""

from __future__ import annotations

from p2pcap.analysis.errors import AnalysisError
from p2pcap.errors import ArgumentError

ENGINES = ("duckdb", "spark")

# The columns propagation reads, and their types in an empty view: the same
# in the inventory and the objects table.
_READ = (
    ("node", "STRING"),
    ("peer_addr", "STRING"),
    ("direction", "STRING"),
    ("command", "STRING"),
    ("inv_type", "STRING"),
    ("hash", "STRING"),
    ("ts_ns", "BIGINT"),
)
COLUMNS = {"inventory": _READ, "objects": _READ}


def _quote(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def _empty_view(table: str) -> str:
    cols = ", ".join(f"CAST(NULL AS {t}) AS {name}" for name, t in COLUMNS[table])
    return f"SELECT {cols} WHERE 1 = 0"


class DuckDBEngine:
    name = "duckdb"

    def __init__(self, tables: dict, *, memory_limit: str | None = None):
        try:
            import duckdb
        except ImportError:
            raise AnalysisError("the duckdb engine needs duckdb: pip install duckdb") from None
        self._duckdb = duckdb
        self.con = duckdb.connect()
        if memory_limit:
            self.con.execute(f"SET memory_limit = {_quote(memory_limit)}")
        self.con.execute("SET preserve_insertion_order = false")
        for table, files in tables.items():
            if files:
                listed = ", ".join(_quote(f) for f in files)
                source = (
                    f"SELECT * FROM read_parquet([{listed}], hive_partitioning = true, "
                    f"hive_types = {{'node': 'VARCHAR', 'date': 'VARCHAR'}}, union_by_name = false)"
                )
            else:
                source = _empty_view(table)
            self.con.execute(f"CREATE VIEW {table} AS {source}")

    def materialize(self, name: str, sql: str) -> None:
        self.con.execute(f"CREATE TEMP TABLE {name} AS {sql}")

    def rows(self, sql: str) -> list[tuple]:
        return [tuple(r) for r in self.con.execute(sql).fetchall()]

    def stream(self, sql: str, batch: int = 10_000):
        cur = self.con.execute(sql)
        while True:
            chunk = cur.fetchmany(batch)
            if not chunk:
                return
            for r in chunk:
                yield tuple(r)

    def percents(self) -> str:
        """A one-column table ``q(p)`` of 1..100."""
        return "(SELECT range AS p FROM range(1, 101)) q"

    def close(self) -> None:
        self.con.close()


class SparkEngine:
    name = "spark"

    def __init__(self, tables: dict, *, master: str | None = None, session=None):
        self._own = False
        if session is None:
            try:
                from pyspark.sql import SparkSession
            except ImportError:
                raise AnalysisError(
                    "the spark engine needs pyspark (and Java): pip install pyspark; see README.md, Spark"
                ) from None
            # Under spark-submit (or in a notebook) a session exists: use it, leave it running.
            session = SparkSession.getActiveSession()
        if session is None:
            builder = SparkSession.builder.appName("p2pcap propagation")
            if master:
                builder = builder.master(master)
            builder = (
                builder.config("spark.sql.session.timeZone", "UTC")
                .config("spark.ui.enabled", "false")
                .config("spark.ui.showConsoleProgress", "false")
            )
            try:
                session = builder.getOrCreate()
            except Exception as exc:  # py4j and the JVM raise many kinds: one line, ours
                raise AnalysisError(
                    f"cannot start Spark ({master or 'local'}): "
                    f"{str(exc).strip().splitlines()[-1] if str(exc).strip() else exc!r}"
                ) from None
            session.sparkContext.setLogLevel("ERROR")
            if session.sparkContext.master.startswith("local"):
                # One machine: a few shuffle partitions, not the cluster default of 200
                # (under spark-submit its own --master and --conf hold).
                session.conf.set("spark.sql.shuffle.partitions", "4")
            self._own = True
        session.conf.set("spark.sql.sources.partitionColumnTypeInference.enabled", "false")
        self.spark = session
        self._views = []
        self._cached = []
        for table, roots in tables.items():
            frame = None
            for base, files in _by_base(roots):
                part = session.read.option("basePath", base).parquet(*files)
                frame = part if frame is None else frame.unionByName(part)
            if frame is None:
                frame = session.sql(_empty_view(table))
            name = table
            frame.createOrReplaceTempView(name)
            self._views.append(name)

    def materialize(self, name: str, sql: str) -> None:
        frame = self.spark.sql(sql).cache()
        frame.createOrReplaceTempView(name)
        self._views.append(name)
        self._cached.append(frame)

    def rows(self, sql: str) -> list[tuple]:
        return [tuple(r) for r in self.spark.sql(sql).collect()]

    def stream(self, sql: str):
        for r in self.spark.sql(sql).toLocalIterator():
            yield tuple(r)

    def percents(self) -> str:
        return "(SELECT CAST(id AS BIGINT) AS p FROM range(1, 101)) q"

    def close(self) -> None:
        for frame in self._cached:
            frame.unpersist()
        for name in self._views:
            self.spark.catalog.dropTempView(name)
        if self._own:
            self.spark.stop()


def _by_base(files):
    """Files grouped by the table folder they sit in (``.../TABLE/node=/date=/f``)."""
    import os

    groups: dict = {}
    for f in files:
        base = os.path.dirname(os.path.dirname(os.path.dirname(f)))
        groups.setdefault(base, []).append(f)
    return list(groups.items())


def open_engine(name: str, tables: dict, *, master: str | None = None, spark_session=None):
    """An engine over ``tables`` (table -> files); ``master`` is Spark's (``local[2]``, ``spark://h:7077``)."""
    if name == "duckdb":
        if master:
            raise ArgumentError("master", "applies to the spark engine only")
        return DuckDBEngine(tables)
    if name == "spark":
        return SparkEngine(tables, master=master, session=spark_session)
    raise ArgumentError("engine", f"expected one of {', '.join(ENGINES)}", value=name)
