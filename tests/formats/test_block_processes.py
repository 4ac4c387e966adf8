"""Each process's network (format 1.1) reaches the reader whichever way a block is read.

The C walkers (formats/_blockwalk.c: ``show -n``'s listing, export's
columns, diff's fingerprints) step over process definitions; the reader
then takes them with the walker's ``processes`` (``CaptureReader.
_note_processes``).  Held here to ``decode_block``, the reference: on
blocks the builder makes, on any bytes (never a crash, never more than
the block defines), and through a reader whose render makes every block.
"""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from p2pcap.formats import CaptureReader, CaptureWriter, Message
from p2pcap.formats.accelerators import blockwalk
from p2pcap.formats.block import BlockBuilder, decode_block

walker = blockwalk()
pytestmark = pytest.mark.skipif(walker is None, reason="the C walker is not built (setup.py build_ext)")

NETWORKS = st.sampled_from(["mainnet", "testnet", "regtest", "devnet-x", "caf\udce9"])


def message(pid: int, peer_id: int, n: int) -> Message:
    return Message(
        1_000 + n, pid, peer_id, f"10.0.0.{peer_id % 250}:9999", "inbound", "in", "ping", 8, bytes(8)
    )


@st.composite
def blocks(draw):
    networks = draw(st.dictionaries(st.integers(0, 2**32 - 1), NETWORKS, max_size=6))
    pids = sorted(networks) + draw(st.lists(st.integers(0, 2**32 - 1), max_size=3))  # some undefined
    if not pids:
        pids = [1]
    order = draw(st.lists(st.sampled_from(pids), min_size=1, max_size=40))
    builder = BlockBuilder(processes=networks)
    for n, pid in enumerate(order):
        builder.add(message(pid, n % 3, n))
    content = builder.finish()
    return bytes(content.raw), content.records


@settings(max_examples=200, deadline=None)
@given(blocks())
def test_the_walker_finds_what_decode_block_finds(block):
    raw, records = block
    expected: dict = {}
    decode_block(raw, records, processes=expected)
    found = {pid: network.decode("utf-8", "surrogateescape") for pid, network in walker.processes(raw)}
    assert found == expected


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=400), blocks())
def test_any_bytes_give_at_most_the_definitions_they_hold(junk, block):
    raw, _records = block
    for body in (junk, raw + junk, junk + raw, raw[: len(raw) // 2]):
        for pid, network in walker.processes(body):  # never raises, never reads past the body
            assert 0 <= pid < 2**32 and len(network) <= 255
            assert network in body


def test_a_reader_whose_render_makes_every_block_knows_every_process():
    out = io.BytesIO()
    processes = {11: "regtest", 22: "testnet"}
    with CaptureWriter(out, {"network": "unknown"}, block_size=4096, processes=processes) as w:
        for n in range(600):  # several blocks, each defining the processes it holds
            w.write(message(11 if n % 3 else 22, n % 5, n))
    reference = CaptureReader(io.BytesIO(out.getvalue()))
    list(reference.records())
    made = CaptureReader(io.BytesIO(out.getvalue()))
    blocks_made = list(made.rendered_blocks(lambda raw, *filters: "made"))
    assert len(blocks_made) > 2 and set(blocks_made) == {"made"}
    assert made.processes == reference.processes == processes
