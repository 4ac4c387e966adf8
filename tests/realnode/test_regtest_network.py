"""A regtest network of real nodes: p2pcap's recordings against Core's own.

One scenario (tests/realnode/scenario.py: v1 and v2 connections, blocks,
wallet transactions, a reorg, a disconnect and reconnect, a node restarted
while ``--exe`` records) is recorded by four recorders at once; each test
checks one of them against what the nodes' ``-capturemessages`` wrote:
for every node, peer folder and direction, the same messages byte for
byte and in the same order, none lost, none extra, every one decoded.
"""

from __future__ import annotations

from .oracle import compare, core_streams, recorded_streams
from .recording import decoded_commands
from .scenario import FILTER_TYPES, LATE_TRANSACTIONS, TRANSACTIONS


def exact_per_node(network, recorder: str, nodes=None, keep=lambda stream, wire: True):
    """Compare one recorder's capture with Core's files of ``nodes`` (default: all)."""
    messages, gaps = network.recorders[recorder].records()
    results = []
    for node in nodes or network.nodes.values():
        core = {
            stream: [w for w in wires if keep(stream, w)]
            for stream, wires in core_streams(node.datadir).items()
        }
        core = {stream: wires for stream, wires in core.items() if wires}
        results.append(compare(node.name, core, recorded_streams(messages, node.pids)))
    return messages, gaps, results


def assert_exact(results, gaps, recorder):
    assert gaps == [], f"gap records in a capture of a quiet network: {gaps}"
    assert recorder.counts()[1] == 0, recorder.summary
    for result in results:
        assert result.exact, result.summary()
        assert result.core > 0, f"{result.node}: Core wrote no messages"


def test_the_scenario_covers_what_it_claims(network):
    # v1 and v2 connections, the reorg, the restart: what the comparisons are worth
    assert set(network.transports.values()) == {"v1", "v2"}, network.transports
    assert network.transports["n1->n0"] == "v2" and network.transports["n2->n0"] == "v1"
    assert network.reorged, "n1 did not leave a fork of its own"
    assert len(network.restarted) == 2, network.restarted


def test_every_node_equals_its_own_capture_with_exe(network):
    messages, gaps, results = exact_per_node(network, "all")
    assert_exact(results, gaps, network.recorders["all"])
    # nothing from a process that is not one of the nodes, and nothing beside Core's
    node_pids = {pid for node in network.nodes.values() for pid in node.pids}
    assert {m.pid for m in messages} == node_pids  # the restarted n1's two processes included
    assert len(messages) == sum(r.core for r in results) == network.recorders["all"].counts()[0]
    # the scenario's traffic is there: 20 + 5 wallet transactions relayed, blocks, both restarts' handshakes
    n0 = next(r for r in results if r.node == "n0")
    assert n0.commands["tx"] >= TRANSACTIONS + LATE_TRANSACTIONS
    n1 = next(r for r in results if r.node == "n1")
    assert n1.commands["version"] >= 3  # its first run, the reconnection after the reorg, the restart


def test_every_recorded_message_decodes(network):
    commands, problems = decoded_commands(network.recorders["all"].output)
    assert problems == [], problems[:10]
    assert sum(commands.values()) == network.recorders["all"].counts()[0]


def test_pid_records_one_node_of_several(network):
    n3 = network.nodes["n3"]
    messages, gaps, results = exact_per_node(network, "pid", [n3])
    assert_exact(results, gaps, network.recorders["pid"])
    assert {m.pid for m in messages} == {n3.proc.pid}
    assert len(messages) == results[0].core


def test_kernel_side_command_and_direction_filters(network):
    keep = lambda stream, wire: stream[1] == "in" and wire.command in FILTER_TYPES
    messages, gaps, results = exact_per_node(network, "types", keep=keep)
    assert_exact(results, gaps, network.recorders["types"])
    assert {m.command for m in messages} >= {"inv", "getdata", "tx"}
    assert {m.direction for m in messages} == {"in"}
    # the filter left out most of the traffic: it was applied, not just passed
    assert len(messages) < network.recorders["all"].counts()[0] / 2


def test_kernel_side_peer_filter(network):
    n3 = network.nodes["n3"]
    keep = lambda stream, wire: stream == (network.peer0_folder, "out")
    messages, gaps, results = exact_per_node(network, "peer", [n3], keep=keep)
    assert_exact(results, gaps, network.recorders["peer"])
    assert {(m.peer_id, m.direction) for m in messages} == {(0, "out")}
