"""The C++ stand-in shaped like dashd: std::string / std::vector arguments,
stack-slot operands (``8@256(%rsp)``), several threads firing both probes
at once with 2-3 MiB messages interleaved, and peers that come and go with
ids never reused while their freed strings' memory is reused.

Thread t of ``--threads N`` replays the firing lines t, t+N, t+2N ... in
file order (tests/standin/README.md), so per-thread order is checkable.
Needs root and BCC.
"""

from __future__ import annotations

import random

import pytest

from p2pcap.capture.elfnotes import read_elf_info

from ..standin.make_churn import DISCONNECT, churn
from .live import messages_of, read_capture, record_standin, replayed, write_messages

pytestmark = pytest.mark.ebpf


def test_its_probes_read_stack_slots(standin_cxx):
    """What makes this build dashd-like for the argument reader, checked first."""
    notes = [n for n in read_elf_info(standin_cxx).notes if n.provider == "net"]
    assert notes and all(any("(%rsp)" in a for a in n.argument_list) for n in notes)


@pytest.mark.parametrize("build", ["standin_cxx", "standin_cxx_sema"])
def test_threads_with_big_messages_come_back_whole_and_in_order(tmp_path, ebpf, build, request):
    exe = request.getfixturevalue(build)
    rng = random.Random(3)
    threads = 3
    sent = []
    for i in range(60):
        size = rng.choice([2 << 20, 3 << 20]) if i % 6 == 0 else rng.choice([0, 8, 300, 5000, 40_000])
        peer = i % 5
        command = "block" if size >= 2 << 20 else rng.choice(["inv", "tx", "ping", "headers"])
        # A unique payload per line, so each recorded message names its line.
        payload = i.to_bytes(4, "little") + rng.randbytes(max(size - 4, 0)) if size else b""
        sent.append(
            (
                "in" if i % 2 else "out",
                peer,
                f"[2001:db8::{peer}]:9999",
                "outbound-full-relay",
                command,
                payload,
            )
        )
    msgs = tmp_path / "t.msgs"
    write_messages(msgs, sent)
    recorder, node_out = record_standin(exe, msgs, tmp_path / "t.cap", node_args=("--threads", str(threads)))
    assert recorder.returncode == 0, recorder.stderr
    assert recorder.stderr.strip().endswith(", 0 lost")
    assert replayed(node_out) == len(sent)
    records, _ = read_capture(tmp_path / "t.cap")
    got = messages_of(records)
    line_of = {}
    for index, line in enumerate(sent):
        line_of.setdefault((line[0], line[1], line[4], line[5]), index)
    indexes = [line_of[(m.direction, m.peer_id, m.command, m.payload)] for m in got]
    assert sorted(indexes) == list(range(len(sent)))  # each line once, byte-exact (empty payloads aside)
    for t in range(threads):
        mine = [i for i in indexes if i % threads == t]
        assert mine == sorted(mine), f"thread {t} out of order"
    assert all(m.peer_addr == sent[i][2] and m.conn_type == sent[i][3] for m, i in zip(got, indexes))
    assert {m.captured_len for m in got if m.command == "block"} >= {2 << 20, 3 << 20}


def test_peers_coming_and_going_keep_their_names(tmp_path, ebpf, standin_cxx):
    """Freed CNode strings are reused by later peers: every message still names its own."""
    lines = churn(peers=120, live=6, messages=6, big=40, seed=9)
    msgs = tmp_path / "c.msgs"
    write_messages(msgs, lines)
    recorder, node_out = record_standin(standin_cxx, msgs, tmp_path / "c.cap")
    assert recorder.returncode == 0, recorder.stderr
    assert recorder.stderr.strip().endswith(", 0 lost")
    fired = [line for line in lines if line[4] != DISCONNECT]
    records, _ = read_capture(tmp_path / "c.cap")
    got = messages_of(records)
    assert [(m.direction, m.peer_id, m.peer_addr, m.conn_type, m.command, m.payload) for m in got] == fired
    ids = [m.peer_id for m in got]
    first_seen = sorted(set(ids), key=ids.index)
    assert first_seen == sorted(first_seen)  # new peers get new, larger ids
