"""The probe's per-CPU peer cache, through real uprobes on the stand-in.

A peer's strings are read and announced once per CPU, then referred to;
two live peers sharing a cache slot are still named right; after
``forget_peers`` (a traced process exited) every peer is named anew.
"""

from __future__ import annotations

import signal
import time

import pytest

from p2pcap.capture import limits, program
from p2pcap.capture.events import Assembler
from p2pcap.capture.ringbuf import open_ring

from .live import start_node, write_messages

SLOTS = limits.PEER_SLOTS


class Probe:
    """The program attached to one stand-in process, drained by hand."""

    def __init__(self, node):
        self.bpf = program.load(program.Options(ringbuf_bytes=1 << 22), pids=[node.pid])
        self.messages = []
        self.assembler = Assembler(0, self.messages.append)
        self.ring = open_ring(self.bpf, "events", 1 << 22, self.assembler)

    def drain(self) -> None:
        self.ring.drain()

    def close(self) -> None:
        self.ring.close()
        self.bpf.cleanup()


@pytest.fixture
def probe_node(ebpf, standin, tmp_path):
    """Three peers, two of them in the same cache slot (ids SLOTS apart)."""
    msgs = tmp_path / "peers.msgs"
    peers = [(1, "10.1.0.1:9999"), (1 + SLOTS, "10.1.0.2:9999"), (7, "[2001:db8::7]:9999")]
    write_messages(
        msgs,
        [
            ("in", peer, addr, "inbound", "ping", i.to_bytes(8, "little"))
            for i in range(30)
            for peer, addr in peers
        ],
    )
    node = start_node(standin, msgs, "--rate", "300", "--repeat", "0", "--duration", "3")
    probe = Probe(node)
    try:
        yield node, probe, dict(peers)
    finally:
        probe.close()
        node.kill()
        node.wait()


def test_peers_named_right_once_per_cpu_and_again_after_forget(probe_node):
    node, probe, addrs = probe_node
    node.send_signal(signal.SIGUSR1)
    time.sleep(1.0)
    probe.drain()
    first = len(probe.messages)
    # The slot shared by peers 1 and 1+SLOTS changes hands at each of their
    # messages, so they are named again and again; peer 7 once per CPU.
    named_7 = [r for r, p in probe.assembler.peers.items() if p[1] == 7]
    named_1 = [r for r, p in probe.assembler.peers.items() if p[1] == 1]
    sent_1 = sum(m.peer_id == 1 for m in probe.messages)
    assert first > 100 and 1 <= len(named_7) <= 2
    assert len(named_1) >= sent_1 // 2
    probe.drain()
    program.forget_peers(probe.bpf)
    time.sleep(0.5)
    probe.drain()
    assert len(probe.messages) > first + 50
    assert len([r for r, p in probe.assembler.peers.items() if p[1] == 7]) > len(named_7)
    for m in probe.messages:  # every message carries its own peer's address
        assert m.peer_addr == addrs[m.peer_id] and m.flags == 0 and m.pid == node.pid
