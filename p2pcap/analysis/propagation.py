"""``propagation``: how fast objects cross a fleet of nodes (docs/FLEET.md).

For every object (inv type, hash): when each node first heard of it (its
first inbound ``inv`` item, or the object message itself if no inv came
first), which node was first, and each node's delay after the first; then
per inv type and node the count, nearest-rank p50/p90/p99 of the delays,
and the peers that told that node first most often.

The computation is SQL, written once (``_SQL_*`` below) and run by DuckDB or
Spark (``engines.py``) over a dataset's ``inventory`` and ``objects``
tables; captures given directly are first exported to a temporary dataset.
Percentiles are nearest-rank (the smallest delay whose rank r in the sorted
group of n has r * 100 >= p * n), integer arithmetic only, so both engines
give the same numbers to the nanosecond.

Delays are only as good as the nodes' clocks: each capture records how its
host's clock was synchronised (``capture/clocksync.py``), and a known
offset is corrected with ``clock_offsets`` ({node: ns the node's clock runs
ahead}).
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from p2pcap.analysis import plotting
from p2pcap.analysis.dataset import (
    export_dataset,
    open_dataset,
    resolve_nodes,
)
from p2pcap.analysis.engines import _quote, check_memory_limit, open_engine
from p2pcap.errors import ArgumentError
from p2pcap.units import NS

READ_TABLES = ("inventory", "objects")  # the dataset's tables propagation reads
PERCENTILES = (50, 90, 99)
TOP_PEERS = 3
_MS = NS // 1000
_OFFSET = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]{0,63})=([+-]?\d+(?:\.\d+)?)(?:ms)?$")
_TYPE = re.compile(r"^(MSG_[A-Z0-9_]+|\d+)$")

CLOCK_NOTE = (
    "delays are only as good as the nodes' clock synchronisation (see each node's clock "
    "below; --clock-offset NODE=+MS corrects a known offset)"
)


def parse_clock_offset(text: str) -> tuple[str, int]:
    """``NODE=+MS`` (the node's clock runs MS ms ahead) -> (node, ns).

    >>> parse_clock_offset("mn1=+2.5"), parse_clock_offset("mn2=-3ms")
    (('mn1', 2500000), ('mn2', -3000000))
    """
    m = _OFFSET.match(text.strip())
    if not m:
        raise ArgumentError(
            "clock_offset",
            "expected NODE=+MS or NODE=-MS (the node's clock runs that many milliseconds ahead or behind)",
            value=text,
        )
    return m.group(1), round(float(m.group(2)) * _MS)


def _since_until_sql(since_ns, until_ns) -> str:
    parts = []
    if since_ns is not None:
        parts.append(f"t >= {int(since_ns)}")
    if until_ns is not None:
        parts.append(f"t <= {int(until_ns)}")
    return " AND ".join(parts) or "1 = 1"


def _events_sql(types, offsets: dict) -> str:
    """Every inbound announcement or object, with the node's clock corrected."""
    offset = "0"
    if offsets:
        whens = " ".join(f"WHEN {_quote(n)} THEN {int(ns)}" for n, ns in sorted(offsets.items()))
        offset = f"CASE node {whens} ELSE 0 END"
    where_type = ""
    if types:
        where_type = " AND inv_type IN (" + ", ".join(_quote(t) for t in sorted(types)) + ")"
    cols = f"node, COALESCE(peer_addr, '') AS peer_addr, inv_type, hash, ts_ns - {offset} AS t"
    return (
        f"SELECT {cols} FROM inventory WHERE direction = 'in' AND command = 'inv'{where_type} "
        f"UNION ALL SELECT {cols} FROM objects WHERE direction = 'in'{where_type}"
    )


# (node, object) -> when the node first heard of it, from which peer; its
# delay after the first node and its rank among the nodes.  Ties: the
# earlier peer address, the earlier node name (both engines compare text
# byte by byte).
_SQL_HEARD = """
SELECT node, inv_type, hash, t, first_peer,
       t - MIN(t) OVER (PARTITION BY inv_type, hash) AS delay_ns,
       ROW_NUMBER() OVER (PARTITION BY inv_type, hash ORDER BY t, node) AS node_rank,
       MIN(t) OVER (PARTITION BY inv_type, hash) AS t0
FROM (
  SELECT node, inv_type, hash, t, peer_addr AS first_peer,
         ROW_NUMBER() OVER (PARTITION BY node, inv_type, hash ORDER BY t, peer_addr) AS rn
  FROM ({events}) ev WHERE {window}
) firsts
WHERE rn = 1
"""

_SQL_OBJECTS = """
SELECT inv_type, hash, node, t, first_peer, delay_ns, node_rank FROM heard
ORDER BY t0, inv_type, hash, node_rank
"""

_SQL_STATS = """
SELECT inv_type, node, MAX(n) AS heard,
       SUM(CASE WHEN node_rank = 1 THEN 1 ELSE 0 END) AS first,
       {percentiles},
       MAX(delay_ns) AS max_ns
FROM (
  SELECT inv_type, node, delay_ns, node_rank,
         ROW_NUMBER() OVER (PARTITION BY inv_type, node ORDER BY delay_ns) AS r,
         COUNT(*) OVER (PARTITION BY inv_type, node) AS n
  FROM heard
) ranked
GROUP BY inv_type, node
ORDER BY inv_type, node
"""

_SQL_TYPES = """
SELECT inv_type, COUNT(*) AS objects FROM heard WHERE node_rank = 1 GROUP BY inv_type ORDER BY inv_type
"""

_SQL_PEERS = """
SELECT inv_type, node, first_peer, times FROM (
  SELECT inv_type, node, first_peer, COUNT(*) AS times,
         ROW_NUMBER() OVER (PARTITION BY inv_type, node ORDER BY COUNT(*) DESC, first_peer) AS k
  FROM heard GROUP BY inv_type, node, first_peer
) top
WHERE k <= {top}
ORDER BY inv_type, node, k
"""

# The delay CDF of the nodes that were not first, per type: the nearest-rank
# percentile for p = 1..100.
_SQL_CDF = """
SELECT inv_type, p, MIN(CASE WHEN r * 100 >= p * n THEN delay_ns END) AS delay_ns
FROM (
  SELECT inv_type, delay_ns,
         ROW_NUMBER() OVER (PARTITION BY inv_type ORDER BY delay_ns) AS r,
         COUNT(*) OVER (PARTITION BY inv_type) AS n
  FROM heard WHERE node_rank > 1
) ranked CROSS JOIN {percents}
GROUP BY inv_type, p
ORDER BY inv_type, p
"""


def _percentile_sql() -> str:
    return ",\n       ".join(
        f"MIN(CASE WHEN r * 100 >= {p} * n THEN delay_ns END) AS p{p}" for p in PERCENTILES
    )


@dataclass
class NodeStats:
    inv_type: str
    node: str
    heard: int  # objects of this type the node heard of
    first: int  # ... of which it was the first node
    missing: int  # objects of this type other nodes heard of and it did not
    percentiles_ns: dict  # {50: ns, 90: ns, 99: ns}
    max_ns: int
    top_peers: list = field(default_factory=list)  # [(peer address, times it told this node first)]


@dataclass
class ObjectSeen:
    """One object: who heard of it when (``delay_ns`` {node: ns after the first})."""

    inv_type: str
    hash: str
    first_node: str
    first_ns: int
    delay_ns: dict  # node -> ns
    first_peer: dict  # node -> the peer address that told it first

    def as_json(self) -> dict:
        return {
            "hash": self.hash,
            "inv_type": self.inv_type,
            "first_node": self.first_node,
            "first_ns": self.first_ns,
            "delay_ms": {n: ns / _MS for n, ns in self.delay_ns.items()},
            "first_peer": self.first_peer,
        }


@dataclass
class Propagation:
    """The answer, with the engine still open for ``objects()`` and ``cdf()``; a context manager."""

    engine: str
    nodes: list
    types: dict  # inv type -> objects seen by any node
    stats: list  # NodeStats, by type then node
    clocks: dict  # node -> [clock entry of each capture (capture/clocksync.py), or None]
    offsets_ns: dict
    problems: list = field(default_factory=list)
    _engine: object = None
    _temp: object = None

    def objects(self):
        """Every object with each node's delay, earliest first (streamed from the engine)."""
        current = None
        for inv_type, hash_, node, t, peer, delay, _rank in self._engine.stream(_SQL_OBJECTS):
            if current is None or (current.inv_type, current.hash) != (inv_type, hash_):
                if current is not None:
                    yield current
                current = ObjectSeen(inv_type, hash_, node, int(t), {}, {})
            current.delay_ns[node] = int(delay)
            current.first_peer[node] = peer
        if current is not None:
            yield current

    def cdf(self) -> dict:
        """inv type -> [(percent, delay ns)] over the nodes that were not first."""
        out: dict = {}
        for inv_type, p, delay in self._engine.rows(_SQL_CDF.format(percents=self._engine.percents())):
            if delay is not None:
                out.setdefault(inv_type, []).append((int(p), int(delay)))
        return out

    def close(self) -> None:
        try:
            if self._engine is not None:
                self._engine.close()
        finally:
            if self._temp is not None:
                self._temp.cleanup()

    def __enter__(self) -> Propagation:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _entries(ds, table: str) -> list[tuple[str, str]]:
    """``(dataset folder, path in it)`` of each of ``ds``'s files of ``table``."""
    root = str(ds.root)
    return [(root, os.path.relpath(f, root)) for f in ds.files[table]]


def gather_inputs(inputs, nodes=(), temp_dir=None, filt=None):
    """(tables {table: [(folder, path in it)]}, clocks {node: [...]}, node names,
    problems, temp folder or None).

    A folder must be a dataset; a file is a capture, exported (inventory and
    objects only) to a temporary dataset; ``nodes`` names the captures, in
    order (``dataset.resolve_nodes``).  ``filt`` (a ``RecordFilter``) selects
    the messages of captures; a dataset's were chosen when it was exported.
    """
    tables: dict = {t: [] for t in READ_TABLES}
    clocks: dict = {}
    names: list = []
    problems: list = []
    captures = [Path(i) for i in inputs if not Path(i).is_dir()]
    folders = [Path(i) for i in inputs if Path(i).is_dir()]
    if nodes and not captures:
        raise ArgumentError("node", "{arg} names captures given as files; a dataset's nodes are in it")
    if filt is not None and folders:
        raise ArgumentError(
            "display_filter",
            f"{{arg}} selects messages of captures given as files; {folders[0]} is a dataset, "
            "whose messages were chosen when it was exported (p2pcap export -Y ...)",
        )
    for folder in folders:
        ds = open_dataset(folder)
        for t in tables:
            tables[t] += _entries(ds, t)
        for node in ds.nodes:
            if node not in names:
                names.append(node)
            clocks.setdefault(node, []).extend(md.get("clock") for md in ds.metadata.get(node, []))
    temp = None
    if captures:
        from p2pcap.analysis.pipeline import open_pipeline

        given = resolve_nodes(captures, nodes)
        temp = tempfile.TemporaryDirectory(prefix="p2pcap-propagation-", dir=temp_dir)
        root = Path(temp.name) / "dataset"
        try:
            for path, name in zip(captures, given):
                summary = export_dataset(
                    [path],
                    root,
                    nodes=[name] if name else (),
                    decode=False,
                    tables=READ_TABLES,
                    filt=filt,
                )
                problems += summary.problems
                node = summary.nodes[0]
                if node not in names:
                    names.append(node)
                with open_pipeline(path) as p:
                    clocks.setdefault(node, []).append(p.metadata.get("clock"))
            ds = open_dataset(root)
        except BaseException:
            temp.cleanup()
            raise
        for t in tables:
            tables[t] += _entries(ds, t)
    return tables, clocks, names, problems, temp


def propagation(
    inputs,
    *,
    nodes=(),
    types=(),
    since=None,
    until=None,
    clock_offsets=None,
    engine: str = "duckdb",
    master: str | None = None,
    spark_session=None,
    memory_limit: str | None = None,
    temp_dir=None,
    filt=None,
) -> Propagation:
    """Propagation across the nodes of ``inputs`` (captures and/or dataset folders).

    ``types``: inv type names (``MSG_ISDLOCK``) to keep; ``since``/``until``:
    ``TimeSpec`` (an offset is from the first event of all nodes);
    ``clock_offsets``: {node: ns its clock runs ahead}; ``engine``:
    ``duckdb`` or ``spark`` (``master``, or an existing ``spark_session``);
    ``memory_limit``: DuckDB's (``engines.DEFAULT_MEMORY_LIMIT`` if None);
    ``temp_dir``: where the temporary dataset of captures and DuckDB's
    spill go (the system's temporary folder if None); ``filt``: a
    ``RecordFilter`` of the messages of captures given as files (-Y).

    >>> with propagation(["fleet/"], types=("MSG_ISDLOCK",)) as result:  # doctest: +SKIP
    ...     result.types
    {'MSG_ISDLOCK': 12}
    """
    if memory_limit is not None:
        check_memory_limit(memory_limit)
    for t in types:
        if not _TYPE.match(t):
            raise ArgumentError(
                "types",
                "expected inv type names such as MSG_TX, MSG_ISDLOCK, MSG_CLSIG (or a type number)",
                value=t,
            )
    tables, clocks, names, problems, temp = gather_inputs(inputs, nodes, temp_dir, filt)
    offsets = dict(clock_offsets or {})
    for node in offsets:
        if node not in names:
            temp and temp.cleanup()
            raise ArgumentError(
                "clock_offset", f"no node {node!r} in the inputs ({', '.join(names) or 'none'})"
            )
    try:
        eng = open_engine(
            engine,
            tables,
            master=master,
            spark_session=spark_session,
            memory_limit=memory_limit,
            temp_dir=temp_dir,
        )
    except BaseException:
        temp and temp.cleanup()
        raise
    result = Propagation(engine, names, {}, [], clocks, offsets, problems, eng, temp)
    try:
        events = _events_sql(types, offsets)
        since_ns = until_ns = None
        if since is not None or until is not None:
            first = None
            if any(x is not None and x.kind != "absolute" for x in (since, until)):
                first = eng.rows(f"SELECT MIN(t) FROM ({events}) ev")[0][0]
            since_ns = since.resolve(first) if since is not None else None
            until_ns = until.resolve(first) if until is not None else None
        eng.materialize(
            "heard", _SQL_HEARD.format(events=events, window=_since_until_sql(since_ns, until_ns))
        )
        result.types = {t: int(n) for t, n in eng.rows(_SQL_TYPES)}
        peers: dict = {}
        for inv_type, node, peer, times in eng.rows(_SQL_PEERS.format(top=TOP_PEERS)):
            peers.setdefault((inv_type, node), []).append((peer, int(times)))
        for row in eng.rows(_SQL_STATS.format(percentiles=_percentile_sql())):
            inv_type, node, heard, first = row[:4]
            pct = {p: int(v) for p, v in zip(PERCENTILES, row[4 : 4 + len(PERCENTILES)])}
            result.stats.append(
                NodeStats(
                    inv_type,
                    node,
                    int(heard),
                    int(first),
                    result.types[inv_type] - int(heard),
                    pct,
                    int(row[-1]),
                    peers.get((inv_type, node), []),
                )
            )
    except BaseException:
        result.close()
        raise
    return result


def plot_delays(result: Propagation, out_path) -> None:
    """The delay CDF of the nodes that were not first, one line per inv type, as a PNG."""
    plt = plotting.pyplot()
    fig, ax = plt.subplots(figsize=(9, 5))
    for inv_type, points in sorted(result.cdf().items()):
        ax.plot(
            [ns / _MS for _, ns in points],
            [p / 100 for p, _ in points],
            label=inv_type,
            drawstyle="steps-post",
        )
    if ax.get_lines():
        ax.legend(loc="lower right", fontsize="small")
    ax.set_xlabel("delay after the first node (ms)")
    ax.set_ylabel("fraction of (object, node) pairs")
    ax.set_title(
        f"propagation over {len(result.nodes)} nodes ({result.engine}); as good as the nodes' clock sync"
    )
    ax.grid(True, alpha=0.3)
    plotting.save(plt, fig, out_path)
