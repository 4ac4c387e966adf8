"""``record --metrics HOST:PORT``: the recorder's own counters as Prometheus metrics.

Nothing here runs per message.  The counters are the ones the recorder
keeps anyway: messages and bytes by command and direction are summed per
block (``BlockTally``, fed each block's ``BlockContent.counts`` as the
writer seals it, formats/block.py), losses come from the recorder's
``Summary`` as it writes each gap record, peers from the peer table, the
ring's fill from its two positions.  A scrape reads them through a
custom collector (prometheus_client's ``Collector`` protocol: ``collect()``
yields metric families), on the HTTP server's own daemon thread: it reads
ints and copies dictionaries before iterating, so the recording loop never
waits for it.  docs/METRICS.md lists every metric and where it is taken.

Only ``parse_listen`` is used before a recording starts; prometheus_client
is imported when the server starts.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
from importlib.metadata import version as package_version

from p2pcap.errors import ArgumentError
from p2pcap.formats.records import DIRECTIONS, GAP_REASONS

from .errors import RecordError

# Distinct command names a tally keeps apart.  Dash Core traces whatever
# command a peer sends (net_processing.cpp ProcessMessages fires
# inbound_message before looking at it), so names are unbounded; past this
# many, new ones are summed under OTHER_COMMAND: a label per made-up name
# would make the scrape, and Prometheus, grow without end.
MAX_COMMANDS = 256
OTHER_COMMAND = "(other)"


def parse_listen(text: str) -> tuple[str, int]:
    """``HOST:PORT`` as (host, port); ``:PORT`` is every IPv4 interface
    (as in a Prometheus exporter's listen address), ``[V6]:PORT`` an IPv6 one.

    >>> parse_listen("127.0.0.1:9435"), parse_listen("[::1]:9435"), parse_listen(":9435")
    (('127.0.0.1', 9435), ('::1', 9435), ('', 9435))
    """
    host, sep, port = text.rpartition(":")
    if not sep:
        raise ArgumentError("metrics", "expected HOST:PORT (127.0.0.1:9435, [::1]:9435, :9435)", value=text)
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise ArgumentError("metrics", "not an IPv6 address between [ ]", value=text) from None
    elif ":" in host:
        raise ArgumentError("metrics", "an IPv6 address goes between [ ]: [::1]:9435", value=text)
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ArgumentError("metrics", "the port must be a number from 1 to 65535", value=text)
    return host, int(port)


class BlockTally:
    """Messages and message bytes by (command, direction), summed per block.

    ``add(content)`` runs on the writer's compressing thread once per
    block; ``totals()`` on the scraping thread.  Each total is a list the
    one writing thread updates in place, so a reader sees whole ints.

    >>> from p2pcap.formats.block import BlockBuilder
    >>> from p2pcap.formats.records import Message
    >>> b = BlockBuilder()
    >>> b.add(Message(1, 2, 3, "1.2.3.4:9999", "inbound", "in", "ping", 8, bytes(8)))
    >>> t = BlockTally()
    >>> t.add(b.finish())
    >>> t.totals()
    {('ping', 'in'): (1, 8)}
    """

    def __init__(self, max_commands: int = MAX_COMMANDS):
        self.max_commands = max_commands
        self._totals: dict[tuple[str, str], list] = {}
        self._commands: set[str] = set()
        self.bytes_written = 0  # compressed, headers included: what the files receive

    def add(self, content, stored_bytes: int = 0) -> None:
        """One block's ``BlockContent``, and its size as stored."""
        self.bytes_written += stored_bytes
        names = content.commands
        totals = self._totals
        for key, (n, nbytes, _captured) in content.counts.items():
            name = names[(key >> 1) & 0xFFFF]  # BlockContent.counts' key: peer, command, direction
            if name not in self._commands:
                if len(self._commands) >= self.max_commands:
                    name = OTHER_COMMAND
                else:
                    self._commands.add(name)
            entry = totals.get((name, DIRECTIONS[key & 1]))
            if entry is None:
                totals[(name, DIRECTIONS[key & 1])] = [n, nbytes]
            else:
                entry[0] += n
                entry[1] += nbytes

    def totals(self) -> dict:
        """(command, direction) -> (messages, bytes), a copy."""
        return {k: (v[0], v[1]) for k, v in list(self._totals.items())}


class RecorderCollector:
    """A prometheus_client collector over one recording's counters.

    ``recorder`` (a ``recorder.Recorder``) is set once the recording is
    set up; until then only ``p2pcap_build_info`` is served.
    """

    def __init__(self, tally: BlockTally):
        self.tally = tally
        self.recorder = None
        self.version = package_version("p2pcap")

    def describe(self):
        return []  # families depend on what was seen; the registry then calls collect() when scraped

    def collect(self):
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        info = GaugeMetricFamily("p2pcap_build_info", "p2pcap's version; always 1.", labels=["version"])
        info.add_metric([self.version], 1)
        yield info
        rec = self.recorder
        if rec is None:
            return
        messages = CounterMetricFamily(
            "p2pcap_messages", "Messages written to the capture.", labels=["command", "direction"]
        )
        nbytes = CounterMetricFamily(
            "p2pcap_message_bytes",
            "Payload bytes of the messages written, as sent (before --snaplen).",
            labels=["command", "direction"],
        )
        for (command, direction), (n, b) in sorted(self.tally.totals().items()):
            messages.add_metric([command, direction], n)
            nbytes.add_metric([command, direction], b)
        yield messages
        yield nbytes
        yield from self._losses(rec, CounterMetricFamily)
        yield from self._gauges(rec, GaugeMetricFamily)
        out = rec.output
        files = CounterMetricFamily("p2pcap_files", "Capture files started (rotation makes more).")
        files.add_metric([], len(out.files))
        yield files
        written = CounterMetricFamily(
            "p2pcap_written_bytes",
            "Compressed block bytes handed to the capture files (footers not counted).",
        )
        written.add_metric([], self.tally.bytes_written)
        yield written

    def _losses(self, rec, Counter):
        s = rec.summary
        reasons, reason_bytes = dict(s.reasons), dict(s.reason_bytes)
        lost = Counter(
            "p2pcap_lost_messages", "Messages lost, by the capture's gap reason.", labels=["reason"]
        )
        lost_b = Counter(
            "p2pcap_lost_bytes", "Payload bytes of the messages lost, where known.", labels=["reason"]
        )
        for reason in sorted(set(GAP_REASONS.values()) | set(reasons)):
            lost.add_metric([reason], reasons.get(reason, 0))
            lost_b.add_metric([reason], reason_bytes.get(reason, 0))
        yield lost
        yield lost_b

    def _gauges(self, rec, Gauge):
        assembler = getattr(rec, "assembler", None)
        peers = Gauge(
            "p2pcap_peers",
            "Peers the recorder's peer table holds (kept up to two table turns after they leave).",
            labels=["connection_type"],
        )
        processes = Gauge("p2pcap_processes", "Processes being recorded whose peers were announced.")
        if assembler is not None:
            table = assembler.table
            names = {}
            for generation in (table.older.copy(), table.current.copy()):
                for pid, peer_id, _addr, conn, _flags in generation.values():
                    names[(pid, peer_id)] = conn
            by_type: dict[str, int] = {}
            for conn in names.values():
                by_type[conn] = by_type.get(conn, 0) + 1
            for conn, n in sorted(by_type.items()):
                peers.add_metric([conn], n)
            processes.add_metric([], len(assembler.pids.copy()))
        yield peers
        yield processes
        size = Gauge("p2pcap_ring_buffer_size_bytes", "Data bytes of the BPF ring buffer.")
        size.add_metric([], rec.opts.ringbuf_bytes)
        yield size
        used = Gauge(
            "p2pcap_ring_buffer_used_bytes",
            "Bytes written to the ring buffer and not yet read, at the scrape (0 when read through libbpf).",
        )
        ring = getattr(rec, "ring", None)
        if ring is not None:
            try:
                consumed, produced = ring.positions()
                used.add_metric([], max(0, produced - consumed) if ring.kind == "mapped" else 0)
            except ValueError:  # the ring closed under us: the recording is over
                pass
        yield used


# The text exposition format's content type (prometheus_client.exposition
# CONTENT_TYPE_PLAIN_0_0_4; newer releases make CONTENT_TYPE_LATEST 1.0.0).
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
SERIES_CACHE_MAX = 4096  # series whose text is kept between scrapes (MAX_COMMANDS x 4, and the rest)


class Exposition:
    """The text exposition of metric families, as prometheus_client's
    ``generate_latest`` writes it, with each series' ``name{labels}`` text
    kept between scrapes.

    A scrape is paid for by the recorder's process.  ``generate_latest``
    takes ~20 µs a sample here (it checks and escapes every name and label
    each time; prometheus_client 0.26): with ~30 commands both ways that is
    2 ms a scrape, 3% of the recorder's CPU at 10,000 msg/s if scraped
    every second.  The same series come back at every scrape, so their
    text is made once; a sample then costs one lookup and one format.

    >>> from prometheus_client.core import CounterMetricFamily
    >>> m = CounterMetricFamily("x", "An x.", labels=["command"])
    >>> m.add_metric(['a"b'], 3)
    >>> print(Exposition().render([m]).decode(), end="")
    # HELP x_total An x.
    # TYPE x_total counter
    x_total{command="a\\"b"} 3
    """

    def __init__(self):
        self._series: dict[tuple, str] = {}

    def render(self, families) -> bytes:
        out = []
        series = self._series
        if len(series) > SERIES_CACHE_MAX:
            series.clear()
        for family in families:
            name, kind = family.name, family.type
            if kind == "counter":
                name += "_total"
            elif kind == "unknown":
                kind = "untyped"
            doc = family.documentation.replace("\\", r"\\").replace("\n", r"\n")
            out.append(f"# HELP {name} {doc}\n# TYPE {name} {kind}\n")
            for sample in family.samples:
                key = (sample.name, *sample.labels.items())
                head = series.get(key)
                if head is None:
                    head = series[key] = _series_text(sample.name, sample.labels)
                value = sample.value
                out.append(f"{head} {value}\n" if type(value) is int else f"{head} {_go_float(value)}\n")
        return "".join(out).encode("utf-8")


def _series_text(name: str, labels: dict) -> str:
    if not labels:
        return name
    pairs = ",".join(f'{k}="{_label_value(v)}"' for k, v in sorted(labels.items()))
    return f"{name}{{{pairs}}}"


def _label_value(v: str) -> str:
    # Names come from the traced node as bytes (a peer's made-up command
    # included) and are held with surrogateescape: bytes that are not
    # UTF-8 are shown as \xNN, so the exposition is always UTF-8.
    v = v.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return v.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


def _go_float(value) -> str:
    from prometheus_client.utils import floatToGoString

    return floatToGoString(value)


class MetricsServer:
    """The HTTP server of ``/metrics``: bound at once, serving on a daemon thread.

    A failure to bind is a ``RecordError`` here, before anything is
    attached; connections wait in the socket's backlog until
    ``attach(recorder)`` starts serving that recorder's counters.
    ``close()`` stops the server.

    >>> server = MetricsServer("127.0.0.1", 0)  # doctest: +SKIP
    >>> server.attach(recorder); ...; server.close()  # doctest: +SKIP
    """

    def __init__(self, host: str, port: int):
        from http.server import BaseHTTPRequestHandler, HTTPServer

        from prometheus_client import CollectorRegistry

        self.tally = BlockTally()
        self.collector = RecorderCollector(self.tally)
        self.registry = registry = CollectorRegistry(auto_describe=False)
        registry.register(self.collector)
        exposition = Exposition()
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        where = f"[{host}]:{port}" if family == socket.AF_INET6 else f"{host}:{port}"
        lock = threading.Lock()  # one render at a time: the series cache is not shared

        class Handler(BaseHTTPRequestHandler):
            timeout = 10  # s: a client that stops sending cannot hold the server

            def do_GET(self):
                if self.path.split("?", 1)[0] not in ("/metrics", "/"):
                    self.send_error(404, "only /metrics is here")
                    return
                with lock:
                    body = exposition.render(registry.collect())
                self.send_response(200)
                self.send_header("Content-Type", CONTENT_TYPE)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args):
                pass  # stderr is the recorder's status and notes

        # One request at a time, on the one serving thread: a thread per
        # scrape would cost the recorder more than the scrape itself.
        class Server(HTTPServer):
            address_family = family

        try:
            self.httpd = Server((host, port), Handler)
        except (OSError, OverflowError) as e:
            raise RecordError(
                f"--metrics {where}: cannot listen: {getattr(e, 'strerror', None) or e}"
            ) from None
        self.port = self.httpd.server_address[1]
        self.where = (
            f"[{host}]:{self.port}" if family == socket.AF_INET6 else f"{host or '0.0.0.0'}:{self.port}"
        )
        self._thread = None

    def attach(self, recorder) -> None:
        """Serve ``recorder``'s counters from now on.  The thread starts
        here, after the probes are attached: under sudo that forks a root
        helper (``privileges.RootHelper``), and a fork should not copy a
        running server."""
        self.collector.recorder = recorder
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.5}, name="p2pcap-metrics", daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        if self._thread is not None:
            self.httpd.shutdown()
            self._thread.join(5)
        self.httpd.server_close()
