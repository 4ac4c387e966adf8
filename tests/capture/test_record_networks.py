"""Each process's own network, recorded with its messages (format 1.1).

One ``--exe`` recording of three nodes of one binary, run with
``-regtest``, ``-testnet`` and no network option (mainnet), each started
while the recorder listens: every message is decoded with the network of
the process that sent or received it -- the transaction's addresses with
``y`` (testnet, regtest) or ``X`` (mainnet) -- and ``-Y network == ...``
selects exactly one node's messages.  ``--network`` overrides them all.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time

import pytest

from ..analysis.captures import sample_messages
from ..conftest import p2pcap_cmd
from .live import finish, start_node, start_recorder, write_messages
from .test_record_targets import private_copy

pytestmark = pytest.mark.ebpf

NODES = {"regtest": ("-regtest",), "testnet": ("-testnet",), "mainnet": ()}


def shown(capture, *args) -> list[dict]:
    done = subprocess.run(
        p2pcap_cmd("show", str(capture), "--json", *args), capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "no network is recorded" not in done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def addresses(obj: dict) -> list[str]:
    return [o["address"] for o in obj["decoded"]["vout"] if o.get("address")]


def test_each_process_is_decoded_in_its_own_network(tmp_path, ebpf, standin):
    exe = private_copy(standin, tmp_path, "node")
    session = tmp_path / "session.msgs"
    write_messages(session, [m for m in sample_messages() if m[4] in ("version", "verack", "tx")])
    capture = tmp_path / "three.cap"
    rec, listening = start_recorder("-o", str(capture), "--exe", str(exe))
    nodes = {}
    try:
        for network, args in NODES.items():  # all started while recording
            # --linger: alive a moment after its session, as a node is (the
            # recorder reads a process's command line when it first meets it)
            nodes[network] = start_node(exe, session, "--linger", "1.5", *args)
            nodes[network].send_signal(signal.SIGUSR1)
            nodes[network].wait(30)
        time.sleep(1.2)  # the recorder looks at its targets twice a second
        rec.send_signal(signal.SIGTERM)
        done = finish(rec, listening, timeout=60)
    finally:
        for p in (*nodes.values(), rec):
            if p.poll() is None:
                p.kill()
    assert done.returncode == 0, done.stderr
    pids = {network: node.pid for network, node in nodes.items()}
    txs = shown(capture, "--type", "tx")
    assert {o["pid"] for o in txs} == set(pids.values())
    for obj in txs:
        prefix = "X" if obj["pid"] == pids["mainnet"] else "y"
        assert addresses(obj) and all(a.startswith(prefix) for a in addresses(obj)), obj
    for network, pid in pids.items():
        picked = shown(capture, "-Y", f'network == "{network}"')
        assert picked and {o["pid"] for o in picked} == {pid}
    forced = shown(capture, "--type", "tx", "--network", "mainnet")
    assert all(a.startswith("X") for o in forced for a in addresses(o))
    # the edited copies carry each process's network too
    for command in (["filter", "--type", "tx"], ["anonymize"], ["merge"]):
        out = tmp_path / f"{command[0]}.cap"
        args = [command[0], str(capture), *command[1:], "-o", str(out)]
        done = subprocess.run(p2pcap_cmd(*args), capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert [addresses(o) for o in shown(out, "--type", "tx")] == [addresses(o) for o in txs]
    # Parquet export a block at a time (the C walker steps over the process
    # definitions: the reader takes them all the same) decodes each in its own
    parquet = tmp_path / "three.parquet"
    done = subprocess.run(
        p2pcap_cmd("export", str(capture), "--format", "parquet", "-o", str(parquet)),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    import pyarrow.parquet as pq

    rows = [
        r
        for r in pq.read_table(parquet, columns=["command", "pid", "decoded"]).to_pylist()
        if r["command"] == "tx"
    ]
    assert len(rows) == len(txs)
    for row in rows:
        prefix = "X" if row["pid"] == pids["mainnet"] else "y"
        exported = addresses({"decoded": json.loads(row["decoded"])})
        assert exported and all(a.startswith(prefix) for a in exported), row["pid"]
