"""SQL engines over a dataset's tables: DuckDB in-process, Apache Spark beyond one machine.

Both take the same SQL (``propagation.py`` writes it once, in the subset
both dialects share: window functions, ``CASE``, ``UNION ALL``, integer
arithmetic) over two views, ``inventory`` and ``objects``, of the dataset
files given.  Each engine is imported only when it is chosen: recording and
``show`` need neither.

The partition columns are read as text in both (``node`` could look like a
number, ``date`` like a date): DuckDB's ``hive_types``, Spark's
``spark.sql.sources.partitionColumnTypeInference.enabled=false``.

Files are given as a list, never a pattern, and each path is one the
engine takes literally (``datasets.py`` accepts only names without glob
characters).  The folder above them is the user's and may hold anything:
DuckDB reads it through ``/proc/self/fd/N`` of the folder opened here, so
no character of its name reaches DuckDB's glob; for Spark (whose
executors may be other machines) its glob characters are escaped as
Hadoop's glob reads them.

DuckDB runs with a memory limit (``memory_limit``, default
``DEFAULT_MEMORY_LIMIT``) and spills what does not fit into a temporary
folder of its own, removed at ``close``; it installs and loads no
extension.  A failure of either engine -- a damaged file, the memory limit
-- is one ``DatasetError`` line, with the dataset's own paths in it.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile

from p2pcap.analysis.datasets import DatasetError
from p2pcap.analysis.errors import AnalysisError
from p2pcap.errors import ArgumentError

ENGINES = ("duckdb", "spark")
DEFAULT_MEMORY_LIMIT = "100MB"  # with the interpreter, pyarrow and DuckDB itself: under 256 MB
_MEMORY = re.compile(r"^\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)$", re.IGNORECASE)

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


def check_memory_limit(text: str) -> str:
    """A DuckDB memory size (``256MB``, ``1.5GB``, ``2GiB``), as given.

    >>> check_memory_limit("512MB")
    '512MB'
    """
    if not isinstance(text, str) or not _MEMORY.match(text.strip()):
        raise ArgumentError("memory_limit", "expected a size such as 256MB, 2GB or 1.5GiB", value=text)
    return text.strip()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return (text.splitlines() or [type(exc).__name__])[0][:300]


class DuckDBEngine:
    name = "duckdb"

    def __init__(self, tables: dict, *, memory_limit: str | None = None, temp_dir=None):
        try:
            import duckdb
        except ImportError:
            raise AnalysisError("the duckdb engine needs duckdb: pip install duckdb") from None
        self._duckdb = duckdb
        self.memory_limit = check_memory_limit(memory_limit or DEFAULT_MEMORY_LIMIT)
        self._fds: dict = {}  # folder -> descriptor its files are read through
        self._spill = tempfile.mkdtemp(prefix="p2pcap-duckdb-", dir=temp_dir)
        try:
            self.con = duckdb.connect(
                config={
                    "memory_limit": self.memory_limit,
                    "temp_directory": self._spill,
                    "autoinstall_known_extensions": False,
                    "autoload_known_extensions": False,
                }
            )
            self.con.execute("SET preserve_insertion_order = false")
            for table, files in tables.items():
                if files:
                    listed = ", ".join(_quote(self._literal(root, rel)) for root, rel in files)
                    source = (
                        f"SELECT * FROM read_parquet([{listed}], hive_partitioning = true, "
                        f"hive_types = {{'node': 'VARCHAR', 'date': 'VARCHAR'}}, union_by_name = false)"
                    )
                else:
                    source = _empty_view(table)
                self._run(f"CREATE VIEW {table} AS {source}")
        except BaseException:
            self.close()
            raise

    def _literal(self, root, relative: str) -> str:
        """The path DuckDB reads ``root/relative`` by: through the folder's descriptor."""
        root = str(root)
        fd = self._fds.get(root)
        if fd is None:
            try:
                fd = self._fds[root] = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            except OSError as exc:
                raise DatasetError(f"{root}: cannot read: {exc.strerror}") from None
        return f"/proc/self/fd/{fd}/{relative}"

    def _named(self, text: str) -> str:
        """An engine message with the dataset's own paths in it (the datasets
        read, when it names no file of theirs)."""
        named = False
        for root, fd in self._fds.items():
            prefix = f"/proc/self/fd/{fd}/"
            if prefix in text:
                text = text.replace(prefix, root.rstrip("/") + "/")
                named = True
        if not named and self._fds:
            text += f" (reading {', '.join(self._fds)})"
        return text

    def _run(self, sql: str):
        try:
            return self.con.execute(sql)
        except self._duckdb.Error as exc:
            raise self._error(exc) from None

    def _error(self, exc) -> DatasetError:
        if isinstance(exc, self._duckdb.OutOfMemoryException):
            return DatasetError(
                f"duckdb: out of its memory limit ({self.memory_limit}; --memory-limit raises it): "
                f"{self._named(_first_line(exc))}"
            )
        return DatasetError(f"duckdb: {self._named(_first_line(exc))}")

    def materialize(self, name: str, sql: str) -> None:
        self._run(f"CREATE TEMP TABLE {name} AS {sql}")

    def rows(self, sql: str) -> list[tuple]:
        cur = self._run(sql)
        try:
            return [tuple(r) for r in cur.fetchall()]
        except self._duckdb.Error as exc:
            raise self._error(exc) from None

    def stream(self, sql: str, batch: int = 10_000):
        cur = self._run(sql)
        while True:
            try:
                chunk = cur.fetchmany(batch)
            except self._duckdb.Error as exc:
                raise self._error(exc) from None
            if not chunk:
                return
            for r in chunk:
                yield tuple(r)

    def percents(self) -> str:
        """A one-column table ``q(p)`` of 1..100."""
        return "(SELECT range AS p FROM range(1, 101)) q"

    def close(self) -> None:
        try:
            con = getattr(self, "con", None)
            if con is not None:
                con.close()
        finally:
            while self._fds:
                os.close(self._fds.popitem()[1])
            shutil.rmtree(self._spill, ignore_errors=True)  # ours: made by mkdtemp above


def hadoop_literal(path: str) -> str:
    """``path`` with Hadoop's glob characters escaped, so Spark reads it as it is.

    >>> hadoop_literal("/data/fleet[1]/x.parquet")
    '/data/fleet\\\\[1\\\\]/x.parquet'
    """
    return re.sub(r"([\\{}\[\]*?])", r"\\\1", path)


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
        try:
            for table, files in tables.items():
                frame = None
                for root, relatives in _by_root(files):
                    # basePath is compared with the files' real folders, never globbed
                    base = os.path.join(os.path.abspath(root), relatives[0].split("/")[0])
                    paths = [hadoop_literal(os.path.join(os.path.abspath(root), r)) for r in relatives]
                    part = session.read.option("basePath", base).parquet(*paths)
                    frame = part if frame is None else frame.unionByName(part)
                if frame is None:
                    frame = session.sql(_empty_view(table))
                frame.createOrReplaceTempView(table)
                self._views.append(table)
        except AnalysisError:
            raise
        except Exception as exc:  # noqa: BLE001  py4j's errors: one line, ours
            self.close()
            raise DatasetError(f"spark: {_spark_line(exc)}") from None

    def materialize(self, name: str, sql: str) -> None:
        try:
            frame = self.spark.sql(sql).cache()
        except Exception as exc:  # noqa: BLE001
            raise DatasetError(f"spark: {_spark_line(exc)}") from None
        frame.createOrReplaceTempView(name)
        self._views.append(name)
        self._cached.append(frame)

    def rows(self, sql: str) -> list[tuple]:
        try:
            return [tuple(r) for r in self.spark.sql(sql).collect()]
        except Exception as exc:  # noqa: BLE001
            raise DatasetError(f"spark: {_spark_line(exc)}") from None

    def stream(self, sql: str):
        try:
            for r in self.spark.sql(sql).toLocalIterator():
                yield tuple(r)
        except Exception as exc:  # noqa: BLE001
            raise DatasetError(f"spark: {_spark_line(exc)}") from None

    def percents(self) -> str:
        return "(SELECT CAST(id AS BIGINT) AS p FROM range(1, 101)) q"

    def close(self) -> None:
        for frame in self._cached:
            frame.unpersist()
        for name in self._views:
            self.spark.catalog.dropTempView(name)
        if self._own:
            self.spark.stop()


def _spark_line(exc: BaseException) -> str:
    """The line of a JVM error that says what went wrong (its first, not the stack)."""
    for line in str(exc).strip().splitlines():
        line = line.strip()
        if line and not line.startswith(("at ", "JVM stacktrace", "Traceback")):
            return line[:300]
    return type(exc).__name__


def _by_root(files):
    """``[(root, [relative path, ...])]``, in the order the roots come."""
    groups: dict = {}
    for root, relative in files:
        groups.setdefault(str(root), []).append(relative)
    return list(groups.items())


def open_engine(
    name: str,
    tables: dict,
    *,
    master: str | None = None,
    spark_session=None,
    memory_limit: str | None = None,
    temp_dir=None,
):
    """An engine over ``tables`` ({table: [(dataset folder, path in it), ...]});
    ``master`` is Spark's (``local[2]``, ``spark://h:7077``); ``memory_limit``
    and ``temp_dir`` (where it spills) DuckDB's."""
    if name == "duckdb":
        if master:
            raise ArgumentError("master", "applies to the spark engine only")
        return DuckDBEngine(tables, memory_limit=memory_limit, temp_dir=temp_dir)
    if name == "spark":
        if memory_limit:
            raise ArgumentError(
                "memory_limit", "applies to the duckdb engine only (Spark's is spark.driver.memory)"
            )
        return SparkEngine(tables, master=master, session=spark_session)
    raise ArgumentError("engine", f"expected one of {', '.join(ENGINES)}", value=name)
