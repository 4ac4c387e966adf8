"""``record --metrics``: Prometheus metrics scraped during a real recording.

The stand-in replays a known session (three peers of three connection
types, commands both ways) a known number of times and then lingers, so
the recording is still on when every message it sent has been written:
the test polls the metrics until their message count reaches what the
stand-in sent, scrapes once more, stops the recorder, and compares that
scrape with the capture's own counts (``p2pcap stats --json`` and the
reader's gap records).  The option's validation and a port that cannot be
bound are checked too: one line, exit status 2, nothing attached.
"""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import pytest
from prometheus_client.parser import text_string_to_metric_families

from p2pcap.capture.metrics import OTHER_COMMAND, BlockTally, Exposition, parse_listen
from p2pcap.errors import ArgumentError
from p2pcap.formats.block import BlockBuilder
from p2pcap.formats.records import GAP_REASONS, Message

from ..conftest import p2pcap_cmd
from .live import gaps_of, read_capture, start_node, start_recorder, wait_for, write_messages

REPEAT = 40
PEERS = [
    (0, "127.0.0.1:19899", "outbound-full-relay"),
    (1, "10.0.0.2:9999", "inbound"),
    (2, "10.0.0.3:9999", "block-relay-only"),
]
# (direction, peer index, command, payload size): a session's worth of shapes.
SESSION = [
    ("out", 0, "version", 100),
    ("in", 0, "version", 102),
    ("in", 0, "verack", 0),
    ("out", 0, "verack", 0),
    ("out", 1, "ping", 8),
    ("in", 1, "pong", 8),
    ("in", 1, "inv", 37),
    ("out", 1, "getdata", 37),
    ("in", 1, "tx", 250),
    ("in", 2, "headers", 162),
    ("out", 2, "getheaders", 69),
    ("in", 2, "block", 40_000),  # larger than one chunk: reassembled
    ("in", 2, "inv", 73),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def scrape(port: int) -> dict:
    """``{(sample name, frozenset of labels): value}`` from /metrics."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        text = r.read().decode()
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def by_label(samples: dict, name: str, label: str) -> dict:
    return {dict(labels)[label]: v for (n, labels), v in samples.items() if n == name}


def by_command(samples: dict, name: str) -> dict:
    return {
        (dict(labels)["command"], dict(labels)["direction"]): v
        for (n, labels), v in samples.items()
        if n == name
    }


@pytest.fixture(scope="module")
def metered(tmp_path_factory, ebpf, standin):
    """Record the stand-in with --metrics: (scrape before, scrapes during, last scrape, capture)."""
    tmp = tmp_path_factory.mktemp("metrics")
    msgs = tmp / "session.msgs"
    write_messages(
        msgs,
        [
            (d, PEERS[p][0], PEERS[p][1], PEERS[p][2], c, bytes(range(256)) * (n // 256) + bytes(n % 256))
            for d, p, c, n in SESSION
        ],
    )
    capture = tmp / "run.cap"
    port = free_port()
    node = start_node(standin, msgs, "--repeat", str(REPEAT), "--rate", "5000", "--linger", "60")
    rec = None
    try:
        rec, first = start_recorder(
            "-o", str(capture), "--pid", str(node.pid), "--metrics", f"127.0.0.1:{port}"
        )
        assert f"metrics at http://127.0.0.1:{port}/metrics" in first
        before = scrape(port)
        node.send_signal(signal.SIGUSR1)
        sent = len(SESSION) * REPEAT
        during = []

        def all_counted():
            during.append(scrape(port))
            return sum(by_command(during[-1], "p2pcap_messages_total").values()) >= sent

        assert wait_for(all_counted, timeout=30, interval=0.2), during[-1]
        last = scrape(port)
        rec.send_signal(signal.SIGTERM)
        _, err = rec.communicate(timeout=60)
        assert rec.returncode == 0, err
        return before, during, last, capture
    finally:
        for p in (rec, node):
            if p is not None and p.poll() is None:
                p.kill()
                p.wait()


@pytest.mark.ebpf
def test_messages_and_bytes_equal_the_captures_counts(metered):
    _, _, last, capture = metered
    stats = json.loads(
        subprocess.run(
            p2pcap_cmd("stats", str(capture), "--json"), capture_output=True, text=True, check=True
        ).stdout
    )
    want_messages, want_bytes = {}, {}
    for command, dirs in stats["commands"].items():
        for direction in ("in", "out"):
            if direction in dirs:
                want_messages[(command, direction)] = dirs[direction]["messages"]
                want_bytes[(command, direction)] = dirs[direction]["bytes"]
    assert by_command(last, "p2pcap_messages_total") == want_messages
    assert by_command(last, "p2pcap_message_bytes_total") == want_bytes
    # and both are what the stand-in sent
    sent = {}
    for d, _p, c, _n in SESSION:
        sent[(c, d)] = sent.get((c, d), 0) + REPEAT
    assert want_messages == sent


@pytest.mark.ebpf
def test_losses_equal_the_captures_gap_records(metered):
    _, _, last, capture = metered
    records, _ = read_capture(capture)
    lost, lost_bytes = {r: 0 for r in GAP_REASONS.values()}, {r: 0 for r in GAP_REASONS.values()}
    for g in gaps_of(records):
        lost[GAP_REASONS[g.reason]] += g.lost_messages
        lost_bytes[GAP_REASONS[g.reason]] += g.lost_bytes
    assert by_label(last, "p2pcap_lost_messages_total", "reason") == lost
    assert by_label(last, "p2pcap_lost_bytes_total", "reason") == lost_bytes


@pytest.mark.ebpf
def test_gauges_during_the_recording(metered):
    before, during, last, _ = metered
    assert before[("p2pcap_build_info", frozenset({("version", _version())}))] == 1
    assert sum(by_command(before, "p2pcap_messages_total").values()) == 0
    assert len(during) >= 1
    # every peer of the session, by its connection type
    want = {}
    for _id, _addr, conn in PEERS:
        want[conn] = want.get(conn, 0) + 1
    assert by_label(last, "p2pcap_peers", "connection_type") == want
    assert last[("p2pcap_processes", frozenset())] == 1
    assert last[("p2pcap_files_total", frozenset())] == 1
    assert last[("p2pcap_written_bytes_total", frozenset())] > 0
    size = last[("p2pcap_ring_buffer_size_bytes", frozenset())]
    assert size == 64 << 20
    assert 0 <= last[("p2pcap_ring_buffer_used_bytes", frozenset())] <= size
    # counters only grow from one scrape to the next
    totals = [sum(by_command(s, "p2pcap_messages_total").values()) for s in [before, *during, last]]
    assert totals == sorted(totals)


def _version() -> str:
    from importlib.metadata import version

    return version("p2pcap")


@pytest.mark.ebpf
@pytest.mark.parametrize("where", ["in-use", "not-local"])
def test_a_port_that_cannot_be_bound_is_one_line_before_attaching(tmp_path, ebpf, standin, where):
    msgs = tmp_path / "one.msgs"
    write_messages(msgs, [("in", 0, "10.0.0.1:9999", "inbound", "ping", bytes(8))])
    node = start_node(standin, msgs)
    try:
        with socket.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen()
            address = f"127.0.0.1:{busy.getsockname()[1]}" if where == "in-use" else "192.0.2.1:9435"
            run = subprocess.run(
                p2pcap_cmd(
                    "record", "-o", str(tmp_path / "x.cap"), "--pid", str(node.pid), "--metrics", address
                ),
                capture_output=True,
                text=True,
                timeout=60,
            )
        assert run.returncode == 2, run.stderr
        lines = run.stderr.strip().splitlines()
        assert len(lines) == 1 and f"--metrics {address}: cannot listen:" in lines[0], run.stderr
        assert not (tmp_path / "x.cap").exists()  # nothing was set up: no probe, no file
        assert node.poll() is None  # the node was left alone
    finally:
        node.kill()
        node.wait()


@pytest.mark.parametrize(
    "value", ["9435", "127.0.0.1", "::1:9435", "[nothost]:9435", "127.0.0.1:0", "127.0.0.1:65536", "h:x"]
)
def test_bad_metrics_values_are_refused_in_one_line(tmp_path, value):
    run = subprocess.run(
        p2pcap_cmd("record", "-o", str(tmp_path / "x.cap"), "--pid", "1", "--metrics", value),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 2
    lines = run.stderr.strip().splitlines()
    assert lines == [lines[0]] and lines[0].startswith(f"Error: --metrics {value!r}: "), run.stderr
    assert not (tmp_path / "x.cap").exists()


def test_parse_listen():
    assert parse_listen("127.0.0.1:9435") == ("127.0.0.1", 9435)
    assert parse_listen("[::1]:80") == ("::1", 80)
    assert parse_listen(":9435") == ("", 9435)
    assert parse_listen("localhost:1") == ("localhost", 1)
    for bad in ("9435", "::1:9435", "[x]:1", "a:0", "a:65536", "a:-1"):
        with pytest.raises(ArgumentError):
            parse_listen(bad)


def test_tally_sums_blocks_and_bounds_command_names():
    tally = BlockTally(max_commands=2)
    for commands in (["ping", "pong"], ["ping", "x1", "x2"]):
        b = BlockBuilder()
        for i, command in enumerate(commands):
            b.add(
                Message(i, 7, i, f"10.0.0.{i}:9999", "inbound", "in" if i % 2 else "out", command, 3, b"abc")
            )
        tally.add(b.finish(), 100)
    assert tally.totals() == {
        ("ping", "out"): (2, 6),
        ("pong", "in"): (1, 3),
        (OTHER_COMMAND, "in"): (1, 3),
        (OTHER_COMMAND, "out"): (1, 3),
    }
    assert tally.bytes_written == 200


def test_the_exposition_says_what_generate_latest_says():
    from prometheus_client import CollectorRegistry, generate_latest
    from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

    class Families:
        def collect(self):
            c = CounterMetricFamily("p2pcap_messages", 'Messages "a\\b"\nc.', labels=["command", "direction"])
            c.add_metric(["inv", "in"], 3)
            c.add_metric(['we"ird\\\n', "out"], 2**60)
            yield c
            g = GaugeMetricFamily("p2pcap_fill", "A fraction.")
            g.add_metric([], 0.125)
            yield g

    registry = CollectorRegistry(auto_describe=False)
    registry.register(Families())
    exposition = Exposition()
    for _ in range(2):  # the second time from the series cache
        ours = exposition.render(registry.collect()).decode()
        assert parsed(ours) == parsed(generate_latest(registry).decode())
    assert "# TYPE p2pcap_messages_total counter" in ours


def parsed(text: str) -> list:
    return [
        (f.name, f.type, f.documentation, [(s.name, s.labels, s.value) for s in f.samples])
        for f in text_string_to_metric_families(text)
    ]


ROOT = Path(__file__).resolve().parents[2]


def served_names() -> set[str]:
    """The sample names the collector serves for a recorder in mid-recording (a stand-in object)."""
    from p2pcap.capture.metrics import RecorderCollector
    from p2pcap.capture.output import FileList
    from p2pcap.capture.peertable import PeerTable
    from p2pcap.capture.recorder import Summary

    table = PeerTable()
    table.add(1, (7, 0, "10.0.0.1:9999", "inbound", 0))
    tally = BlockTally()
    b = BlockBuilder()
    b.add(Message(1, 7, 0, "10.0.0.1:9999", "inbound", "in", "ping", 8, bytes(8)))
    tally.add(b.finish(), 50)
    recorder = SimpleNamespace(
        summary=Summary(),
        opts=SimpleNamespace(ringbuf_bytes=1 << 20),
        ring=SimpleNamespace(kind="mapped", positions=lambda: (100, 164)),
        output=SimpleNamespace(files=FileList()),
        assembler=SimpleNamespace(table=table, pids={7}),
    )
    collector = RecorderCollector(tally)
    collector.recorder = recorder
    text = Exposition().render(collector.collect()).decode()
    return {s.name for f in text_string_to_metric_families(text) for s in f.samples}


def test_every_metric_served_is_documented_and_the_dashboard_uses_only_those():
    served = served_names()
    documented = set(re.findall(r"^\| `(p2pcap_\w+)` \|", (ROOT / "docs" / "METRICS.md").read_text(), re.M))
    assert served == documented
    dashboard = json.loads((ROOT / "docs" / "grafana-p2pcap.json").read_text())
    assert [i["name"] for i in dashboard["__inputs"]] == ["DS_PROMETHEUS"]
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    used = set(re.findall(r"\bp2pcap_\w+", " ".join(exprs)))
    assert used and used <= served
    for panel in dashboard["panels"]:
        assert panel["datasource"]["uid"] == "${DS_PROMETHEUS}"
        assert all(t["datasource"]["uid"] == "${DS_PROMETHEUS}" for t in panel["targets"])
    titles = " ".join(p["title"] for p in dashboard["panels"]).lower()
    for what in ("by command", "by direction", "losses", "connection type", "ring-buffer fill"):
        assert what in titles


def test_the_modules_examples():
    import doctest

    import p2pcap.capture.metrics

    result = doctest.testmod(p2pcap.capture.metrics, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 8 and result.failed == 0


def test_names_that_are_not_utf8_are_served_escaped():
    tally = BlockTally()
    b = BlockBuilder()
    odd = b"inv\xff".decode("utf-8", "surrogateescape")  # as the recorder holds a command it cannot decode
    b.add(Message(1, 7, 0, "10.0.0.1:9999", "inbound", "in", odd, 3, b"abc"))
    tally.add(b.finish())
    from p2pcap.capture.metrics import RecorderCollector

    collector = RecorderCollector(tally)
    collector.recorder = SimpleNamespace(
        summary=SimpleNamespace(reasons={}, reason_bytes={}),
        opts=SimpleNamespace(ringbuf_bytes=1 << 20),
        output=SimpleNamespace(files=[]),
    )
    text = Exposition().render(collector.collect()).decode("utf-8")
    samples = [
        s
        for f in text_string_to_metric_families(text)
        for s in f.samples
        if s.name == "p2pcap_messages_total"
    ]
    assert [(s.labels["command"], s.value) for s in samples] == [("inv\\xff", 1)]
