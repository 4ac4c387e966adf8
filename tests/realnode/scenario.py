"""A regtest network of four real nodes, recorded four ways at once.

The network (every node with ``-capturemessages``)::

    n1 ──v2──▶ n0 ◀──v1── n2          n0 mines and holds the wallet that pays
                ▲          ▲          n1 holds a wallet too
                └──v2── n3 ──v1──┘    n2 speaks v1 only (-v2transport=0)

What happens, in order: handshakes (v1 and BIP324 v2), 110 blocks, 20
wallet transactions relayed and mined, n1 cut off from n0 and reconnected
with a shorter chain of its own (a 2-block reorg), n1 stopped and started
again (a new process on the same data directory, reconnected over v1),
5 more transactions from n1's wallet, a last block.

The recorders, all started before the first connection and all running
through the whole scenario:

* ``--exe dashd``: every node, the restarted n1 included;
* ``--pid n3``: one node of several (it ends by itself when n3 exits);
* ``--exe dashd --type ... --direction in``: kernel-side command and
  direction filters;
* ``--pid n3 --peer 0 --direction out``: a kernel-side peer filter (n3's
  peer 0 is its connection to n0, kept the whole run).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .nodes import Node, sync_blocks, sync_mempools
from .recording import Recorder

FILTER_TYPES = ("inv", "getdata", "tx", "cmpctblock", "headers2", "block")
WALLET = "w"
TRANSACTIONS, LATE_TRANSACTIONS = 20, 5


@dataclass
class NetworkRun:
    """What the scenario left behind for the tests to check."""

    nodes: dict[str, Node]
    recorders: dict[str, Recorder]
    peer0_folder: str = ""  # Core's folder of n3's peer 0 (its connection to n0)
    transports: dict[str, str] = field(default_factory=dict)  # "n1->n0" -> "v2"
    reorged: bool = False  # n1 left a fork of its own for n0's chain
    restarted: list[int] = field(default_factory=list)  # n1's pids, first run then second


def create_wallet(node: Node) -> str:
    # Descriptor (SQLite) wallets only in this build: createwallet(name,
    # disable_private_keys, blank, passphrase, avoid_reuse, descriptors,
    # load_on_startup).
    node.rpc("createwallet", WALLET, False, False, "", False, True, False)
    return node.rpc("getnewaddress", wallet=WALLET)


def start_network(dashd: Path, workdir: Path) -> dict[str, Node]:
    nodes = {
        "n0": Node(dashd, workdir / "n0", "-v2transport=1"),
        "n1": Node(dashd, workdir / "n1", "-v2transport=1"),
        "n2": Node(dashd, workdir / "n2", "-v2transport=0"),
        "n3": Node(dashd, workdir / "n3", "-v2transport=1"),
    }
    for node in nodes.values():
        node.start()
    return nodes


def start_recorders(dashd: Path, workdir: Path, n3: Node) -> dict[str, Recorder]:
    exe, pid = ("--exe", str(dashd)), ("--pid", str(n3.proc.pid))
    return {
        "all": Recorder(workdir / "all.cap", *exe),
        "pid": Recorder(workdir / "pid.cap", *pid),
        "types": Recorder(workdir / "types.cap", *exe, "--type", ",".join(FILTER_TYPES), "--direction", "in"),
        "peer": Recorder(workdir / "peer.cap", *pid, "--peer", "0", "--direction", "out"),
    }


def run_network(dashd: Path, workdir: Path) -> NetworkRun:
    """Start the network and the recorders, play the scenario, stop everything."""
    nodes = start_network(dashd, workdir)
    run = NetworkRun(nodes, {})
    try:
        run.recorders = start_recorders(dashd, workdir, nodes["n3"])
        play(run)
    finally:
        for node in nodes.values():
            node.stop()
        for name, recorder in run.recorders.items():
            recorder.wait() if name in ("pid", "peer") else recorder.stop()
        for node in nodes.values():
            node.kill()
    return run


def play(run: NetworkRun) -> None:
    n0, n1, n2, n3 = run.nodes.values()
    # n3's first connection is its peer 0: the --peer recorder's.
    n3.connect(n0, v2=True)
    run.peer0_folder = n0.address.replace(":", "_")
    n1.connect(n0, v2=True)
    n2.connect(n0, v2=False)
    n3.connect(n2, v2=False)
    for a, b in ((n1, n0), (n2, n0), (n3, n0), (n3, n2)):
        run.transports[f"{a.name}->{b.name}"] = a.peer(b)["transport_protocol_type"]

    mine_to = create_wallet(n0)
    n0.rpc("generatetoaddress", 110, mine_to)
    sync_blocks(run.nodes.values())
    pay_to = create_wallet(n1)
    for _ in range(TRANSACTIONS):
        n0.rpc("sendtoaddress", pay_to, 1.5, wallet=WALLET)
    sync_mempools(run.nodes.values())
    n0.rpc("generatetoaddress", 1, mine_to)
    sync_blocks(run.nodes.values())

    # A reorg: n1 alone mines 2 blocks, the rest 3; n1 follows the longer chain.
    n1.disconnect(n0)
    n1.rpc("generatetoaddress", 2, pay_to)
    n0.rpc("generatetoaddress", 3, mine_to)
    n1.connect(n0, v2=True)
    sync_blocks(run.nodes.values())
    run.reorged = any(tip["status"] == "valid-fork" for tip in n1.rpc("getchaintips"))

    # A restart while --exe records: a new process on the same data directory.
    n1.stop()
    n1.start()
    run.restarted = list(n1.pids)
    n1.rpc("loadwallet", WALLET)
    n1.connect(n0, v2=False)
    run.transports["n1->n0 after the restart"] = n1.peer(n0)["transport_protocol_type"]
    sync_blocks(run.nodes.values())
    for _ in range(LATE_TRANSACTIONS):
        n1.rpc("sendtoaddress", mine_to, 0.25, wallet=WALLET)
    sync_mempools(run.nodes.values())
    n0.rpc("generatetoaddress", 1, mine_to)
    sync_blocks(run.nodes.values())
