"""``propagation`` on DuckDB against a fleet recorded for real: four stand-in
nodes replaying the same inventory with known per-node delays (docs/FLEET.md).

Each node replays its own message file at ``RATE`` messages a second, so
message i goes out i / RATE seconds after the node starts; the four start
together (one SIGUSR1 each, back to back) under four recorders.  Item k is
announced to node n at slot ``base(k) + DELAYS[n][k]`` (``None``: never), a
second time by the other peer one slot later, and relayed outbound after
that (neither may count).  Node c hears of the chainlock only through the
``clsig`` message itself, no inv first.  So the designed delays are
multiples of ``SLOT_MS``, give or take the nodes' start skew (a few ms);
the tests check the engines' answer exactly against a plain-Python
computation from the captures, and that answer against the design.

The recording is shared with test_dataset.py and test_propagation_spark.py.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess

import pytest

import p2pcap
from p2pcap.formats import open_capture

from ..capture.live import finish, start_node, start_recorder, write_messages
from ..conftest import p2pcap_cmd

RATE = 20  # messages per second: one slot = 50 ms
SLOT_MS = 1000 // RATE
SLOTS_PER_ITEM = 8
NODES = ("a", "b", "c", "d")  # d is added to the dataset later
PEER1 = (1, "10.0.0.1:9999", "outbound-full-relay")
PEER2 = (2, "10.0.0.2:51234", "inbound")
TYPES = {"MSG_TX": 1, "MSG_BLOCK": 2, "MSG_CLSIG": 29, "MSG_ISDLOCK": 31}
ITEM_TYPES = ("MSG_TX", "MSG_TX", "MSG_ISDLOCK", "MSG_ISDLOCK", "MSG_CLSIG", "MSG_BLOCK")
# Slots after the item's base slot at which each node first hears of it.
DELAYS = {
    "a": (0, 2, 0, 1, 2, 0),
    "b": (2, 0, 1, 0, 0, 3),
    "c": (4, None, 3, None, 1, 2),  # misses items 1 and 3; item 4 (the clsig) as the object itself
    "d": (1, 1, 1, 1, 1, 1),
}
CLSIG_ITEM = 4
SKEW_MS = 20  # allowed start skew between the stand-ins


def _clsig_payload() -> bytes:
    # CChainLockSig (dashpay/dash src/chainlock/clsig.h): nHeight i32, blockHash, BLS sig (96 bytes)
    return (1234).to_bytes(4, "little") + random.Random(77).randbytes(32) + random.Random(78).randbytes(96)


def item_hashes() -> list[str]:
    """Each item's hash as displayed (the clsig's as the decoder computes it)."""
    rng = random.Random(2024)
    hashes = [rng.randbytes(32)[::-1].hex() for _ in ITEM_TYPES]
    hashes[CLSIG_ITEM] = p2pcap.decode("clsig", _clsig_payload())["hash"]
    return hashes


def _inv(type_name: str, display_hash: str) -> bytes:
    return b"\x01" + TYPES[type_name].to_bytes(4, "little") + bytes.fromhex(display_hash)[::-1]


def first_peer_of(node: str, k: int):
    """Who announces item k to the node first: alternate, and the other way round for b."""
    return (PEER1, PEER2)[(k + (node == "b")) % 2]


def node_messages(node: str) -> list[tuple]:
    hashes = item_hashes()
    total = 2 + SLOTS_PER_ITEM * len(ITEM_TYPES) + 2
    slots: list = [None] * total
    for k, (type_name, h) in enumerate(zip(ITEM_TYPES, hashes)):
        d = DELAYS[node][k]
        if d is None:
            continue
        base = 2 + SLOTS_PER_ITEM * k
        first, second = first_peer_of(node, k), (PEER2 if first_peer_of(node, k) is PEER1 else PEER1)
        if node == "c" and k == CLSIG_ITEM:
            slots[base + d] = ("in", *first, "clsig", _clsig_payload())
        else:
            slots[base + d] = ("in", *first, "inv", _inv(type_name, h))
        slots[base + d + 1] = ("in", *second, "inv", _inv(type_name, h))
        slots[base + 6] = ("out", *second, "inv", _inv(type_name, h))  # relayed on: not "heard"
    for i, slot in enumerate(slots):
        if slot is None:
            slots[i] = ("in", *PEER1, "ping", i.to_bytes(8, "little"))
    return slots


_cached: dict = {}


def fleet(tmp_path_factory, standin) -> dict:
    """{node: capture path}, the four recorded at once (once per test run)."""
    if "fleet" in _cached:
        return _cached["fleet"]
    folder = tmp_path_factory.mktemp("fleet")
    nodes, recorders = {}, {}
    try:
        for name in NODES:
            msgs = folder / f"{name}.msgs"
            write_messages(msgs, node_messages(name))
            nodes[name] = start_node(standin, msgs, "--rate", str(RATE), "--linger", "0.3")
        for name in NODES:
            recorders[name] = start_recorder("-o", str(folder / f"{name}.cap"), "--pid", str(nodes[name].pid))
        for name in NODES:
            nodes[name].send_signal(signal.SIGUSR1)
        for name in NODES:
            nodes[name].stdout.read()
            nodes[name].wait(60)
        for name in NODES:
            rec = finish(*recorders[name], timeout=60)
            assert rec.returncode == 0, rec.stderr
            assert rec.stderr.strip().endswith(", 0 lost"), rec.stderr
    finally:
        for proc in nodes.values():
            if proc.poll() is None:
                proc.kill()
    _cached["fleet"] = {name: folder / f"{name}.cap" for name in NODES}
    return _cached["fleet"]


def dataset_of(tmp_path_factory, caps, nodes=("a", "b", "c")):
    """A dataset of the first three nodes, exported once."""
    if "dataset" not in _cached:
        out = tmp_path_factory.mktemp("fleet-dataset") / "ds"
        run = subprocess.run(
            p2pcap_cmd(
                "export",
                *(str(caps[n]) for n in nodes),
                *(a for n in nodes for a in ("--node", n)),
                "-o",
                str(out),
            ),
            capture_output=True,
            text=True,
        )
        assert run.returncode == 0, run.stderr
        _cached["dataset"] = out
    return _cached["dataset"]


def python_answer(caps: dict, nodes, offsets_ns=None) -> dict:
    """The propagation computed in plain Python from the captures:
    {(inv_type, hash): {node: (first heard ns, first peer)}}."""
    offsets_ns = offsets_ns or {}
    heard: dict = {}
    for node in nodes:
        with open_capture(caps[node]) as reader:
            for m in reader.records(gaps=False):
                if m.direction != "in" or m.command not in ("inv", "clsig"):
                    continue
                pairs = p2pcap.decoders.announced(m.command, p2pcap.decode(m.command, m.payload))
                for pair in pairs:
                    t = m.ts_ns - offsets_ns.get(node, 0)
                    seen = heard.setdefault(pair, {})
                    if node not in seen or (t, m.peer_addr) < seen[node]:
                        seen[node] = (t, m.peer_addr)
    return heard


def expected_lines(heard: dict) -> list[dict]:
    out = []
    for (inv_type, h), seen in heard.items():
        t0 = min(t for t, _ in seen.values())
        first = min(seen, key=lambda n: (seen[n][0], n))
        out.append(
            {
                "hash": h,
                "inv_type": inv_type,
                "first_node": first,
                "first_ns": t0,
                "delay_ms": {n: (t - t0) / 1e6 for n, (t, _) in seen.items()},
                "first_peer": {n: p for n, (_, p) in seen.items()},
            }
        )
    return sorted(out, key=lambda o: (o["first_ns"], o["inv_type"], o["hash"]))


def nearest_rank(values, p):
    values = sorted(values)
    n = len(values)
    return values[next(r for r in range(1, n + 1) if r * 100 >= p * n) - 1]


def check_against_design(lines: list[dict], nodes) -> None:
    """First nodes exact, delays the designed slots apart within the start skew, misses missing."""
    hashes = item_hashes()
    assert {o["hash"] for o in lines} == set(hashes)
    for o in lines:
        k = hashes.index(o["hash"])
        assert o["inv_type"] == ITEM_TYPES[k]
        design = {n: DELAYS[n][k] for n in nodes if DELAYS[n][k] is not None}
        assert set(o["delay_ms"]) == set(design), (k, o)
        low = min(design.values())
        firsts = sorted(n for n, d in design.items() if d == low)
        assert len(firsts) == 1, f"the design gives item {k} one first node"
        assert o["first_node"] == firsts[0], (k, o)
        for n, d in design.items():
            assert abs(o["delay_ms"][n] - (d - low) * SLOT_MS) <= SKEW_MS, (k, n, o["delay_ms"])
            assert o["first_peer"][n] == first_peer_of(n, k)[1], (k, n)


def propagation_json(*args) -> list[dict]:
    run = subprocess.run(p2pcap_cmd("propagation", *args, "--json"), capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "clock synchronisation" in run.stderr  # the caveat is always said
    return [json.loads(line) for line in run.stdout.splitlines()]


def test_the_design_is_what_the_test_says():
    # items 0..5 each have exactly one first node among a, b, c and among a..d
    for nodes in (("a", "b", "c"), NODES):
        for k in range(len(ITEM_TYPES)):
            ds = [DELAYS[n][k] for n in nodes if DELAYS[n][k] is not None]
            assert ds.count(min(ds)) == 1


def test_propagation_reports_the_delays_and_first_nodes(caps, dataset):
    lines = propagation_json(str(dataset))
    heard = python_answer(caps, ("a", "b", "c"))
    assert lines == expected_lines(heard)  # exact, to the nanosecond
    check_against_design(lines, ("a", "b", "c"))


def test_captures_given_directly_give_the_same_answer(caps, dataset):
    direct = propagation_json(*(str(caps[n]) for n in "abc"), "--node", "a", "--node", "b", "--node", "c")
    assert direct == propagation_json(str(dataset))


def test_summary_per_type_and_node(caps, dataset):
    from p2pcap.analysis.propagation import propagation

    lines = expected_lines(python_answer(caps, ("a", "b", "c")))
    with propagation([dataset]) as result:
        stats = {(s.inv_type, s.node): s for s in result.stats}
        assert result.types == {"MSG_BLOCK": 1, "MSG_CLSIG": 1, "MSG_ISDLOCK": 2, "MSG_TX": 2}
    for (inv_type, node), s in stats.items():
        mine = [o for o in lines if o["inv_type"] == inv_type]
        delays = [round(o["delay_ms"][node] * 1e6) for o in mine if node in o["delay_ms"]]
        assert s.heard == len(delays)
        assert s.missing == len(mine) - len(delays)
        assert s.first == sum(o["first_node"] == node for o in mine)
        assert s.percentiles_ns == {p: nearest_rank(delays, p) for p in (50, 90, 99)}
        peers: dict = {}
        for o in mine:
            if node in o["first_peer"]:
                peers[o["first_peer"][node]] = peers.get(o["first_peer"][node], 0) + 1
        assert s.top_peers == sorted(peers.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
    assert stats[("MSG_ISDLOCK", "c")].missing == 1 and stats[("MSG_TX", "c")].missing == 1
    assert ("MSG_ISDLOCK", "c") in stats and stats[("MSG_CLSIG", "c")].heard == 1


def test_type_filter_and_clock_offset(caps, dataset):
    only = propagation_json(str(dataset), "--type", "MSG_ISDLOCK,MSG_CLSIG")
    assert {o["inv_type"] for o in only} == {"MSG_ISDLOCK", "MSG_CLSIG"} and len(only) == 3
    shifted = propagation_json(str(dataset), "--clock-offset", "b=+150")
    heard = python_answer(caps, ("a", "b", "c"), {"b": 150_000_000})
    assert shifted == expected_lines(heard)
    plain = {o["hash"]: o for o in propagation_json(str(dataset))}
    # item 1: b was first by 2 slots (100 ms); 150 ms back makes it first by more
    h = item_hashes()[1]
    assert shifted[[o["hash"] for o in shifted].index(h)]["delay_ms"]["a"] == pytest.approx(
        plain[h]["delay_ms"]["a"] + 150, abs=1e-6
    )


def test_since_until_cut_the_events(caps, dataset):
    lines = propagation_json(str(dataset))
    t0 = lines[0]["first_ns"]
    since = t0 + 1
    late = propagation_json(str(dataset), "--since", f"@{since // 10**9}.{since % 10**9:09d}")
    # the first node's first inv is cut: it now first heard from the other peer, one slot later
    again = next(o for o in late if o["hash"] == lines[0]["hash"])
    first = lines[0]["first_node"]
    assert again["first_peer"][first] != lines[0]["first_peer"][first]
    assert abs((again["first_ns"] - t0) / 1e6 - SLOT_MS) <= SKEW_MS
    assert len(late) == len(lines) and min(o["first_ns"] for o in late) >= since
    early = propagation_json(str(dataset), "--until", "+0s")
    assert [o["hash"] for o in early] == [lines[0]["hash"]]


def test_table_and_plot(dataset, tmp_path):
    png = tmp_path / "cdf.png"
    run = subprocess.run(
        p2pcap_cmd("propagation", str(dataset), "--plot", str(png)), capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    out = run.stdout
    assert "3 nodes (a, b, c), engine duckdb; 6 objects" in out
    assert "clock synchronisation" in out and "clocks:" in out
    assert "MSG_ISDLOCK: 2 objects" in out
    # each capture recorded its host's clock state (capture/clocksync.py)
    assert out.count("synchronised") >= 3


def test_bad_offset_and_unknown_node_are_one_line(dataset):
    for args, text in (
        (["--clock-offset", "b=fast"], "--clock-offset 'b=fast': expected NODE=+MS"),
        (["--clock-offset", "zz=+1"], "--clock-offset: no node 'zz' in the inputs"),
        (["--type", "tx"], "--type 'tx': unknown inventory type"),
    ):
        run = subprocess.run(p2pcap_cmd("propagation", str(dataset), *args), capture_output=True, text=True)
        assert run.returncode == 2
        assert len(run.stderr.strip().splitlines()) == 1 and text in run.stderr, run.stderr


def test_each_capture_records_its_clock_and_stats_shows_it(caps):
    from p2pcap.analysis.stats import clock_text

    with open_capture(caps["a"]) as reader:
        clock = reader.metadata["clock"]
    # adjtimex always answers on Linux (capture/clocksync.py)
    assert isinstance(clock["kernel"]["maxerror_us"], int) and clock["synchronized"] in (True, False)
    assert clock["source"] in ("chrony", "systemd-timesyncd", "timedatectl", "kernel")
    out = subprocess.run(
        p2pcap_cmd("stats", str(caps["a"])), capture_output=True, text=True, check=True
    ).stdout
    (line,) = [x for x in out.splitlines() if x.startswith("clock sync")]
    assert line.removeprefix("clock sync").strip().rstrip("…") in clock_text(clock)
    shown = json.loads(
        subprocess.run(
            p2pcap_cmd("stats", str(caps["a"]), "--json"), capture_output=True, text=True, check=True
        ).stdout
    )
    assert shown["metadata"]["clock"] == clock
