#!/usr/bin/env python3
"""What recording costs a real dashd: nothing, p2pcap record, -capturemessages.

    sudo DASHD=/path/to/dashd .venv/bin/python benchmarks/bench_realnode.py [--rounds 9] [--pings 20000]

Five regtest nodes of the same binary (each its own copy: its own inode,
so a uprobe on one touches no other, nor does any ``--exe`` recorder
elsewhere on the machine), started alike and flooded in turn, round after
round, in a rotating order:

* ``nothing`` and ``nothing-2``: no recorder, no capture (the second is
  the control: its ratio to the first is the benchmark's resolution);
* ``noop-bpf``: an empty BPF program on both probes (what any USDT tool
  costs: the uprobe's trap into the kernel and back);
* ``p2pcap``: ``p2pcap record --pid`` attached for the whole run;
* ``capture``: Core's own ``-capturemessages``.

The workload is where the message path dominates: a flood of ``ping``
messages over one v1 connection, each answered with a ``pong`` (two
messages through the probes per ping, and nothing else for the node to
do: no validation, no disk but Core's capture files).  Measured: the
node's CPU time (every thread's, from ``/proc/PID/task/*/schedstat``,
kernel time included, which is where a uprobe and its BPF program run)
per ping, and the median over rounds of each round's ratio to
``nothing``.  Resolution: the spread (min..max over rounds) of
``nothing-2`` / ``nothing``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from p2pcap.analysis.replaying import synthesized_version  # noqa: E402
from p2pcap.formats.v1 import HEADER_LEN, frame_v1, network_magic, parse_header_v1  # noqa: E402

MAGIC = network_magic("regtest")
CONDITIONS = ("nothing", "nothing-2", "noop-bpf", "p2pcap", "capture")
NOOP_PROGRAM = """
int trace_inbound(struct pt_regs *ctx) { return 0; }
int trace_outbound(struct pt_regs *ctx) { return 0; }
"""
WINDOW = 2000  # pings in flight: below Core's -maxreceivebuffer (5 MB) by far


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_ns(pid: int) -> int:
    """CPU time of every thread of ``pid`` so far, ns (schedstat's first field)."""
    total = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/schedstat") as f:
                total += int(f.read().split()[0])
        except (OSError, ValueError):
            pass  # a thread that just ended
    return total


class Node:
    def __init__(self, dashd: Path, root: Path, name: str, *flags: str):
        self.name, self.datadir, self.port = name, root / name, free_port()
        self.datadir.mkdir()
        self.proc = subprocess.Popen(
            [str(dashd), "-regtest", f"-datadir={self.datadir}", f"-bind=127.0.0.1:{self.port}",
             f"-port={self.port}", "-listen=1", "-listenonion=0", "-dnsseed=0", "-fixedseeds=0",
             "-server=0", "-printtoconsole=0", "-v2transport=0", *flags],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(60)


class Peer:
    """A v1 connection that does the handshake, then floods pings and counts pongs."""

    def __init__(self, port: int, timeout: float = 60):
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        self.pongs, self.cond = 0, threading.Condition()
        self.sock.sendall(frame_v1(MAGIC, "version", synthesized_version("127.0.0.1", port)))
        self.commands: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        self._wait(lambda: "verack" in self.commands and "version" in self.commands, timeout)
        self.sock.sendall(frame_v1(MAGIC, "verack", b""))

    def _read(self) -> None:
        buf = b""
        while True:
            data = self.sock.recv(1 << 16)
            if not data:
                return
            buf += data
            while len(buf) >= HEADER_LEN:
                _, command, length, _ = parse_header_v1(buf[:HEADER_LEN])
                size = HEADER_LEN + length
                if len(buf) < size:
                    break
                payload, buf = buf[HEADER_LEN:size], buf[size:]
                with self.cond:
                    self.commands.append(command)
                    self.pongs += command == "pong"
                    self.cond.notify_all()
                if command == "ping":  # the node's own keep-alive
                    self.sock.sendall(frame_v1(MAGIC, "pong", payload))

    def _wait(self, predicate, timeout: float) -> None:
        with self.cond:
            if not self.cond.wait_for(predicate, timeout):
                raise TimeoutError(f"the node did not answer: {self.commands[-5:]}")

    def flood(self, count: int) -> None:
        start = self.pongs
        frames = [frame_v1(MAGIC, "ping", struct.pack("<Q", i)) for i in range(count)]
        for sent in range(0, count, 100):
            self._wait(lambda s=sent: s - (self.pongs - start) < WINDOW, 60)
            self.sock.sendall(b"".join(frames[sent : sent + 100]))
        self._wait(lambda: self.pongs - start >= count, 120)


def measure(args) -> dict:
    work = Path(tempfile.mkdtemp(prefix="p2pcap-bench-realnode-"))
    binaries = {name: work / f"dashd-{name}" for name in CONDITIONS}
    for binary in binaries.values():
        shutil.copy2(args.dashd, binary)
    nodes = {
        name: Node(binaries[name], work, name, *(["-capturemessages"] if name == "capture" else []))
        for name in CONDITIONS
    }
    recorder = None
    try:
        peers = {name: Peer(node.port) for name, node in nodes.items()}
        import bcc  # Debian's python3-bpfcc: the no-op program on the noop-bpf node's own copy

        usdt = bcc.USDT(path=str(binaries["noop-bpf"]))
        usdt.enable_probe(probe="net:inbound_message", fn_name="trace_inbound")
        usdt.enable_probe(probe="net:outbound_message", fn_name="trace_outbound")
        noop = bcc.BPF(text=NOOP_PROGRAM, usdt_contexts=[usdt])  # noqa: F841 (kept attached)
        recorder = subprocess.Popen(
            [sys.executable, "-m", "p2pcap", "record", "-o", str(work / "bench.cap"), "--pid",
             str(nodes["p2pcap"].proc.pid)],
            stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        first = recorder.stderr.readline()
        if not first.startswith("listening on"):
            raise SystemExit(f"p2pcap record did not start: {first}{recorder.stderr.read()}")
        for peer in peers.values():
            peer.flood(args.pings // 10)  # warm-up: caches, allocator, the node's first pongs
        per_ping: dict[str, list[float]] = {name: [] for name in CONDITIONS}
        for round_ in range(args.rounds):
            shift = round_ % len(CONDITIONS)
            order = CONDITIONS[shift:] + CONDITIONS[:shift]
            for name in order:
                pid = nodes[name].proc.pid
                before = cpu_ns(pid)
                peers[name].flood(args.pings)
                time.sleep(0.05)  # the last pong's send finishes on the node's socket thread
                per_ping[name].append((cpu_ns(pid) - before) / args.pings)
            print(
                f"round {round_ + 1}: "
                + ", ".join(f"{n} {per_ping[n][-1] / 1000:.2f} µs" for n in CONDITIONS),
                flush=True,
            )
        recorder.send_signal(signal.SIGINT)
        summary = recorder.communicate(timeout=120)[1].strip().splitlines()[-1]
    finally:
        if recorder is not None and recorder.poll() is None:
            recorder.kill()
        for node in nodes.values():
            node.stop()
        shutil.rmtree(work, ignore_errors=True)
    ratios = {
        n: [a / b for a, b in zip(per_ping[n], per_ping["nothing"])] for n in CONDITIONS if n != "nothing"
    }
    return {"per_ping_ns": per_ping, "ratios": ratios, "recorder": summary}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--dashd", default=os.environ.get("DASHD"), help="a dashd with USDT probes (default: $DASHD)"
    )
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--pings", type=int, default=20000, help="pings per node per round")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not args.dashd:
        print("bench_realnode: needs DASHD=PATH (a dashd built with USDT probes); not run")
        return 0
    if os.geteuid() != 0:
        print("bench_realnode: recording needs root; not run")
        return 0
    result = measure(args)
    if args.json:
        print(json.dumps(result))
        return 0
    print(
        f"\nping flood, {args.pings} pings per node per round, {args.rounds} rounds alternated; recorder: {result['recorder']}"
    )
    print(
        f"{'condition':<12}{'CPU per ping (median)':>24}{'ratio to nothing (median)':>28}{'min..max':>16}"
        f"{'more per message':>20}"
    )
    nothing = result["per_ping_ns"]["nothing"]
    for name in CONDITIONS:
        median = statistics.median(result["per_ping_ns"][name]) / 1000
        if name == "nothing":
            print(f"{name:<12}{median:>21.2f} µs{'1':>28}")
            continue
        ratios = result["ratios"][name]
        # a ping is two messages through the probes: the ping in, the pong out
        more = statistics.median(a - b for a, b in zip(result["per_ping_ns"][name], nothing)) / 2000
        print(
            f"{name:<12}{median:>21.2f} µs{statistics.median(ratios):>28.3f}"
            f"{f'{min(ratios):.3f}..{max(ratios):.3f}':>16}{more:>17.2f} µs"
        )
    control = result["ratios"]["nothing-2"]
    print(f"resolution: nothing-2 / nothing spans {min(control):.3f}..{max(control):.3f} over the rounds")
    return 0


if __name__ == "__main__":
    sys.exit(main())
