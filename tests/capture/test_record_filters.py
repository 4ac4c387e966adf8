"""Kernel-side filters and the snap length, through real uprobes.

The BPF program drops unwanted messages before copying anything, so the
capture must hold exactly the selected messages -- no more, no fewer --
and the recorder must not count the others as lost.  Needs root and BCC.
"""

from __future__ import annotations

import random

import pytest

from p2pcap.formats.records import FLAG_SNAPLEN

from .live import gaps_of, messages_of, read_capture, record_standin, summary_line, write_messages

pytestmark = pytest.mark.ebpf

COMMANDS = ["inv", "tx", "ping", "pong", "getdata", "headers", "qsendrecsigs"]


@pytest.fixture(scope="module")
def session(tmp_path_factory, ebpf, standin):
    rng = random.Random(5)
    messages = []
    for i in range(140):
        peer = i % 4
        messages.append(
            (
                "in" if rng.random() < 0.5 else "out",
                peer,
                f"10.1.0.{peer}:9999",
                "outbound-full-relay",
                COMMANDS[i % len(COMMANDS)],
                rng.randbytes(rng.choice([0, 8, 37, 300, 5000, 40_000])),
            )
        )
    tmp = tmp_path_factory.mktemp("filters")
    msgs = tmp / "mixed.msgs"
    write_messages(msgs, messages)
    return messages, msgs, tmp


@pytest.mark.parametrize(
    "args,keep",
    [
        (("--type", "inv,tx", "--type", "qsendrecsigs"), lambda m: m[4] in ("inv", "tx", "qsendrecsigs")),
        (("--peer", "1", "--peer", "3"), lambda m: m[1] in (1, 3)),
        (("--direction", "out"), lambda m: m[0] == "out"),
        (
            ("--type", "ping", "--direction", "in", "--peer", "2"),
            lambda m: m[4] == "ping" and m[0] == "in" and m[1] == 2,
        ),
    ],
    ids=["type", "peer", "direction", "all-three"],
)
def test_kernel_filters_keep_exactly_the_selected_messages(session, standin, args, keep):
    messages, msgs, tmp = session
    capture = tmp / f"filtered-{'-'.join(args)}.cap"
    recorder, _ = record_standin(standin, msgs, capture, *args)
    assert recorder.returncode == 0, recorder.stderr
    records, metadata = read_capture(capture)
    expected = [m for m in messages if keep(m)]
    got = [(m.direction, m.peer_id, m.command, m.payload) for m in messages_of(records)]
    assert got == [(m[0], m[1], m[4], m[5]) for m in expected]
    assert gaps_of(records) == []
    assert summary_line(recorder).endswith(", 0 lost")


def test_filters_are_in_the_header(session, standin):
    _, msgs, tmp = session
    capture = tmp / "header.cap"
    record_standin(
        standin, msgs, capture, "--type", "inv", "--peer", "2", "--direction", "in", "--snaplen", "512"
    )
    _, metadata = read_capture(capture)
    assert metadata["filters"] == {"snaplen": 512, "types": ["inv"], "peers": [2], "direction": "in"}


def test_snaplen_keeps_the_first_n_bytes_and_says_so(tmp_path, ebpf, standin):
    rng = random.Random(9)
    sizes = [0, 50, 100, 101, 40_000, 3 * 1024 * 1024]
    messages = [("in", 0, "127.0.0.1:1", "inbound", "block", rng.randbytes(n)) for n in sizes]
    msgs = tmp_path / "sizes.msgs"
    write_messages(msgs, messages)
    capture = tmp_path / "snap.cap"
    recorder, _ = record_standin(standin, msgs, capture, "--snaplen", "100")
    assert recorder.returncode == 0, recorder.stderr
    records, _ = read_capture(capture)
    got = messages_of(records)
    assert [m.msg_size for m in got] == sizes
    for m, sent in zip(got, messages):
        assert m.payload == sent[5][:100]
        assert m.captured_len == min(len(sent[5]), 100)
        assert bool(m.flags & FLAG_SNAPLEN) == (len(sent[5]) > 100)
        assert m.partial == (len(sent[5]) > 100)
