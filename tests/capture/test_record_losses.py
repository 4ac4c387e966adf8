"""Nothing is lost silently: losses forced with a tiny ring buffer.

A 64 KiB ring (16 pages) holds a 40,000-byte message's two pieces (32 KiB
+ 7 KiB plus headers) only when it is nearly empty, which with small
messages sent flat out it seldom is: such a message mostly loses a piece
and comes back as a reassembly gap (or inside a ringbuf-full gap when its
first piece found no room), and the small messages overflow the ring
between drains and come back as ringbuf-full gaps.  A slow guest (a
kernel under qemu's TCG) drains often enough to keep some big messages
whole, and those must be whole to the byte.  Every message sent is either
in the capture or counted in exactly one gap.  Needs root and BCC (see
conftest.ebpf).
"""

from __future__ import annotations

import random
import subprocess

import pytest

from ..conftest import p2pcap_cmd
from .live import (
    gaps_of,
    messages_of,
    read_capture,
    record_standin,
    replayed,
    show_json,
    summary_line,
    write_messages,
)

pytestmark = pytest.mark.ebpf


@pytest.fixture(scope="module")
def lossy(tmp_path_factory, ebpf, standin):
    rng = random.Random(11)
    messages = []
    for i in range(400):
        size = 40_000 if i % 40 == 0 else 100
        messages.append(
            (
                "in" if i % 2 else "out",
                i % 5,
                f"10.0.0.{i % 5}:9999",
                "inbound",
                "block" if size > 100 else "inv",
                rng.randbytes(size),
            )
        )
    tmp = tmp_path_factory.mktemp("losses")
    msgs = tmp / "lossy.msgs"
    write_messages(msgs, messages)
    capture = tmp / "lossy.cap"
    recorder, node_out = record_standin(
        standin, msgs, capture, "--buffer-size", "64K", node_args=("--repeat", "50")
    )
    records, _ = read_capture(capture)
    return messages, capture, recorder, node_out, records


def test_every_message_is_recorded_or_counted_once(lossy):
    _, _, recorder, node_out, records = lossy
    assert recorder.returncode == 0, recorder.stderr
    sent, sent_bytes = replayed(node_out), int(node_out.split()[3])
    kept = messages_of(records)
    gaps = gaps_of(records)
    lost = sum(g.lost_messages for g in gaps)
    assert sent == 20_000 and lost > 0
    assert len(kept) + lost == sent
    assert sum(m.msg_size for m in kept) + sum(g.lost_bytes for g in gaps) == sent_bytes


def test_gap_reasons_and_counts(lossy):
    messages, _, _, _, records = lossy
    gaps = gaps_of(records)
    by_reason = {}
    for g in gaps:
        by_reason[g.reason_name] = by_reason.get(g.reason_name, 0) + g.lost_messages
    # A 40,000-byte message is kept only when the ring had room for both
    # pieces; the others lost their first piece (ringbuf-full) or their second
    # (reassembly), one gap message each.
    big_sent = 50 * sum(1 for m in messages if len(m[5]) > 100)
    big_kept = sum(1 for m in messages_of(records) if m.command == "block")
    assert 0 < by_reason.get("reassembly", 0) <= big_sent - big_kept
    assert by_reason.get("ringbuf-full", 0) > 0
    for g in gaps:
        if g.reason_name == "reassembly":
            assert g.lost_messages == 1 and g.lost_bytes == 40_000
        else:
            assert (g.lost_bytes - 100 * g.lost_messages) % (40_000 - 100) == 0
    stamps = [g.ts_ns for g in gaps]
    first, last = records[0].ts_ns, records[-1].ts_ns
    assert all(first - 10**9 <= ts <= last + 10**9 for ts in stamps)


def test_what_was_kept_is_byte_exact(lossy):
    messages, _, _, _, records = lossy
    payloads = {m[5]: m[4] for m in messages}
    kept = messages_of(records)
    assert kept and all(payloads.get(m.payload) == m.command for m in kept)
    assert all(m.captured_len == m.msg_size == len(m.payload) for m in kept)


def test_the_summary_repeats_the_losses(lossy):
    _, _, recorder, node_out, records = lossy
    line = summary_line(recorder)
    kept = len(messages_of(records))
    lost = sum(g.lost_messages for g in gaps_of(records))
    reassembly = sum(g.lost_messages for g in gaps_of(records) if g.reason_name == "reassembly")
    assert line.startswith(f"{kept} messages, ")
    assert f", {lost} lost (" in line and f"{reassembly} reassembly" in line and "ringbuf-full" in line


def test_show_marks_gaps_inline(lossy):
    _, capture, _, _, records = lossy
    shown = show_json(capture)
    gaps = [o for o in shown if o.get("gap")]
    assert len(gaps) == len(gaps_of(records))
    assert sum(o["lost_messages"] for o in gaps) == sum(g.lost_messages for g in gaps_of(records))
    table = subprocess.run(
        p2pcap_cmd("show", str(capture)), capture_output=True, text=True, check=True
    ).stdout
    assert table.count("--- GAP:") == len(gaps)


def test_a_recorder_that_lost_nothing_says_0_lost(tmp_path, ebpf, standin):
    msgs = tmp_path / "few.msgs"
    write_messages(msgs, [("in", 1, "127.0.0.1:1", "inbound", "ping", bytes(8))] * 20)
    recorder, _ = record_standin(standin, msgs, tmp_path / "few.cap")
    assert summary_line(recorder) == "20 messages, 160 payload bytes, 0 lost"
