"""Every count is bounded by Dash Core's own limit for its field (issue 22).

A count is checked as soon as it is read, before anything is allocated for
its elements: right at the limit a payload decodes (and builds back to the
same bytes), one above it is a DecodeError naming the limit, the field and
the offset just past the count.  ``ROWS`` lists each limited field with a
payload of ``n`` elements; the limits are the decoders' ``limits.Limit``
constants, whose Core sources their modules cite.  The worst case of every
command within those limits (tests/decoders/worstcase.py) is decoded in a
child process under a 256 MB address-space limit and a timeout, so a
regression fails instead of swapping; so is the 670-byte capture's
``qbsigs`` of the issue.
"""

from __future__ import annotations

import gc
import json
import re
import resource
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from p2pcap.decoders import DecodeError, build, decode, decode_partial, known_commands
from p2pcap.decoders.addr import MAX_ADDR_TO_SEND
from p2pcap.decoders.blocks import (
    MAX_BLOCK_TRANSACTIONS,
    MAX_COMPACT_TRANSACTIONS,
    MAX_DIP0001_BLOCK_SIZE,
    MAX_REQUESTED_INDEXES,
)
from p2pcap.decoders.coinjoin import COINJOIN_ENTRY_MAX_SIZE, COINJOIN_MAX_FINAL_INPUTS
from p2pcap.decoders.headers import MAX_HEADERS_COMPRESSED_RESULT, MAX_HEADERS_UNCOMPRESSED_RESULT
from p2pcap.decoders.inventory import MAX_INV_SZ, MAX_LOCATOR_SZ
from p2pcap.decoders.limits import MAX_PROTOCOL_MESSAGE_LENGTH, Limit
from p2pcap.decoders.llmq_types import MAX_QUORUM_MEMBERS
from p2pcap.decoders.mnlist import MAX_QRINFO_CYCLES, MAX_QUORUM_INDEXES, MAX_QUORUM_INDEXES_PER_TYPE
from p2pcap.decoders.netinfo import MAX_ENTRIES_EXTNETINFO, NETINFO_PURPOSES
from p2pcap.decoders.signing import (
    MAX_MSGS_CNT_QGETSIGSHARES,
    MAX_MSGS_CNT_QSIGSESANN,
    MAX_MSGS_CNT_QSIGSHARESINV,
    MAX_MSGS_SIG_SHARES,
    MAX_MSGS_TOTAL_BATCHED_SIGS,
)
from p2pcap.decoders.special_tx import MAX_TX_EXTRA_PAYLOAD
from p2pcap.decoders.transaction import MAX_LEGACY_BLOCK_SIZE
from p2pcap.decoders.versions import INCREASE_MAX_HEADERS2_VERSION

from . import tables, worstcase
from .vectors import compact
from .worstcase import BLS_PUB, BLS_SIG, HASH, HEADER, INPUT, OUTPUT, TX_EMPTY, commitment, mnlistdiff, qrinfo

SHARE = b"\x01\x00" + BLS_SIG  # one pair<quorumMember, CBLSLazySignature> of a batch
DKG = b"\x64" + HASH + HASH  # llmqType, quorumHash, proTxHash
REQUEST = b"\x64" + HASH + b"\x01\x00" + HASH + b"\x00"  # CQuorumDataRequest, nError NONE


@dataclass(frozen=True)
class Row:
    """A limited field: ``make(n)`` is a payload with ``n`` there (``n`` at
    least ``base``) and the offset just past its count, where a count above
    the limit is refused; ``path`` the error's field path.  For a size in
    bytes (``size``), the offset is the end of the part, where a part one
    byte too long is refused.  ``count_last``: the count is the last thing
    before its elements, so ``make(base)`` ends it with no element after."""

    name: str
    command: str
    limit: Limit
    make: Callable[[int], tuple[bytes, int]]
    path: str
    version: int | None = None
    base: int = 0
    size: bool = False
    count_last: bool = True


def vector(prefix: bytes, element: bytes, suffix: bytes = b"") -> Callable[[int], tuple[bytes, int]]:
    """``prefix``, a vector of ``n`` ``element``s, ``suffix``."""

    def make(n: int) -> tuple[bytes, int]:
        count = compact(n)
        return prefix + count + element * n + suffix, len(prefix) + len(count)

    return make


def bitset(prefix: bytes, suffix: bytes) -> Callable[[int], tuple[bytes, int]]:
    """``prefix``, a DYNBITSET of ``n`` bits (all set), ``suffix``."""

    def make(n: int) -> tuple[bytes, int]:
        count = compact(n)
        bits = (1 << n) - 1
        return prefix + count + bits.to_bytes((n + 7) // 8, "little") + suffix, len(prefix) + len(count)

    return make


def headers2(n: int) -> tuple[bytes, int]:
    """A whole first header, then ``n - 1`` compressed to 39 bytes."""
    rest = (b"\x01" + HASH + b"\x01\x00" + bytes(4)) * (n - 1)
    return compact(n) + (b"\x38" + HEADER if n else b"") + rest, len(compact(n))


def quorum_indexes(n: int) -> tuple[bytes, int]:
    """A mnlistdiff whose one ChainLock signature names ``n`` distinct quorum indexes."""
    before = mnlistdiff()[:-1] + b"\x01" + BLS_SIG
    count = compact(n)
    body = b"".join((i % 0x10000).to_bytes(2, "little") for i in range(n))  # one repeated above
    return before + count + body, len(before) + len(count)


def net_info_entries(n: int) -> tuple[bytes, int]:
    """A mnlistdiff of one list entry whose ExtNetInfo has ``n`` entries for one purpose."""
    head = mnlistdiff()[:-4] + b"\x01" + b"\x03\x00" + HASH + HASH + b"\x01\x01\x00"
    count = compact(n)
    tail = b"\x00" * n + BLS_PUB + bytes(20) + b"\x01" + b"\x00\x00" + b"\x00\x00\x00"
    return head + count + tail, len(head) + len(count)


def net_info_purposes(n: int) -> tuple[bytes, int]:
    head = mnlistdiff()[:-4] + b"\x01" + b"\x03\x00" + HASH + HASH + b"\x01"
    count = compact(n)
    tail = b"".join(bytes([p]) + b"\x01\x00" for p in range(n)) + BLS_PUB + bytes(20) + b"\x01\x00\x00"
    return head + count + tail + b"\x00\x00\x00", len(head) + len(count)


def shares_in_two_batches(n: int) -> tuple[bytes, int]:
    """200 shares in a first batch, ``n - 200`` in a second."""
    first = b"\x01" + compact(200) + SHARE * 200
    head = b"\x02" + first + b"\x02"
    count = compact(n - 200)
    return head + count + SHARE * (n - 200), len(head) + len(count)


def prefilled_after_short_ids(n: int) -> tuple[bytes, int]:
    """A compact block of 1000 short ids and ``n - 1000`` prefilled transactions."""
    head = HEADER + bytes(8) + compact(1000) + bytes(6 * 1000)
    count = compact(n - 1000)
    return head + count + (b"\x00" + TX_EMPTY) * (n - 1000), len(head) + len(count)


def transaction_of(size: int) -> bytes:
    """A transaction of exactly ``size`` bytes (at least 23): one output, whose script fills it."""
    script = size - 18 - len(compact(size))  # version, counts, value, script length, lock time
    assert len(compact(script)) == len(compact(size))
    return b"\x01\x00\x00\x00\x00\x01" + bytes(8) + compact(script) + b"\x51" * script + bytes(4)


def tx_bytes(n: int) -> tuple[bytes, int]:
    """A ``tx`` of ``n`` bytes."""
    return transaction_of(n), n


def block_bytes(n: int) -> tuple[bytes, int]:
    """A block of ``n`` bytes: two transactions, the second's script filling it."""
    head = HEADER + b"\x02" + transaction_of(1_000_000)
    return head + transaction_of(n - len(head)), n


DIFF_ENTRY = "(parsing) -> mn_list -> [0] -> net_info -> entries"
ROWS = [
    Row("inv", "inv", MAX_INV_SZ, vector(b"", bytes(4) + HASH), "(parsing) -> inv"),
    Row("getdata", "getdata", MAX_INV_SZ, vector(b"", bytes(4) + HASH), "(parsing) -> inv"),
    *(
        Row(command, command, MAX_LOCATOR_SZ, vector(bytes(4), HASH, HASH), "(parsing) -> locator -> have")
        for command in ("getblocks", "getheaders", "getheaders2")
    ),
    Row(
        "headers",
        "headers",
        MAX_HEADERS_UNCOMPRESSED_RESULT,
        vector(b"", HEADER + b"\x00"),
        "(parsing) -> headers",
    ),
    Row("headers2", "headers2", MAX_HEADERS_COMPRESSED_RESULT, headers2, "(parsing) -> headers"),
    Row(
        "headers2 before 70235",
        "headers2",
        MAX_HEADERS_UNCOMPRESSED_RESULT,
        headers2,
        "(parsing) -> headers",
        INCREASE_MAX_HEADERS2_VERSION - 1,
    ),
    Row("addr", "addr", MAX_ADDR_TO_SEND, vector(b"", bytes(30)), "(parsing) -> addr"),
    Row(
        "addrv2",
        "addrv2",
        MAX_ADDR_TO_SEND,
        vector(b"", bytes(5) + b"\x63\x00" + bytes(2)),
        "(parsing) -> addr",
    ),
    Row("block transactions", "block", MAX_BLOCK_TRANSACTIONS, vector(HEADER, TX_EMPTY), "(parsing) -> vtx"),
    Row("block bytes", "block", MAX_DIP0001_BLOCK_SIZE, block_bytes, "(parsing)", size=True),
    Row(
        "merkleblock hashes",
        "merkleblock",
        MAX_BLOCK_TRANSACTIONS,
        vector(HEADER + bytes(4), HASH, b"\x00"),
        "(parsing) -> txn -> hash",
    ),
    Row(
        "cmpctblock short ids",
        "cmpctblock",
        MAX_COMPACT_TRANSACTIONS,
        vector(HEADER + bytes(8), bytes(6), b"\x00"),
        "(parsing) -> shorttxids",
    ),
    Row(
        "cmpctblock prefilled",
        "cmpctblock",
        MAX_COMPACT_TRANSACTIONS,
        vector(HEADER + bytes(8) + b"\x00", b"\x00" + TX_EMPTY),
        "(parsing) -> prefilledtxn",
    ),
    Row(
        "cmpctblock short ids and prefilled",
        "cmpctblock",
        MAX_COMPACT_TRANSACTIONS,
        prefilled_after_short_ids,
        "(parsing) -> prefilledtxn",
        base=1000,
    ),
    Row("getblocktxn", "getblocktxn", MAX_REQUESTED_INDEXES, vector(HASH, b"\x00"), "(parsing) -> indexes"),
    Row("blocktxn", "blocktxn", MAX_BLOCK_TRANSACTIONS, vector(HASH, TX_EMPTY), "(parsing) -> txn"),
    Row("tx bytes", "tx", MAX_LEGACY_BLOCK_SIZE, tx_bytes, "(parsing) -> tx", size=True),
    Row(
        "dsi inputs",
        "dsi",
        COINJOIN_ENTRY_MAX_SIZE,
        vector(b"", INPUT, TX_EMPTY + b"\x00"),
        "(parsing) -> tx_ds_in",
    ),
    Row(
        "dsi outputs",
        "dsi",
        COINJOIN_ENTRY_MAX_SIZE,
        vector(b"\x00" + TX_EMPTY, OUTPUT),
        "(parsing) -> tx_out",
    ),
    Row("dss", "dss", COINJOIN_MAX_FINAL_INPUTS, vector(b"", INPUT), "(parsing) -> tx_in"),
    Row(
        "qsigsesann",
        "qsigsesann",
        MAX_MSGS_CNT_QSIGSESANN,
        vector(b"", b"\x01\x64" + HASH * 3),
        "(parsing) -> anns",
    ),
    Row(
        "qsigsinv", "qsigsinv", MAX_MSGS_CNT_QSIGSHARESINV, vector(b"", b"\x01\x00\x00"), "(parsing) -> invs"
    ),
    Row(
        "qgetsigs", "qgetsigs", MAX_MSGS_CNT_QGETSIGSHARES, vector(b"", b"\x01\x00\x00"), "(parsing) -> invs"
    ),
    Row(
        "qsigsinv members",
        "qsigsinv",
        MAX_QUORUM_MEMBERS,
        lambda n: (b"\x01\x01" + compact(n) + b"\x00" + bytes((n + 7) // 8), 3 + len(compact(n))),
        "(parsing) -> invs -> [0] -> inv",
        count_last=False,  # the form byte comes between
    ),
    Row(
        "qsigshare",
        "qsigshare",
        MAX_MSGS_SIG_SHARES,
        vector(b"", b"\x64" + HASH + b"\x01\x00" + HASH + HASH + BLS_SIG),
        "(parsing) -> sig_shares",
    ),
    Row(
        "qbsigs batches",
        "qbsigs",
        MAX_MSGS_TOTAL_BATCHED_SIGS,
        vector(b"", b"\x01\x01" + SHARE),
        "(parsing) -> batches",
    ),
    Row(
        "qbsigs shares",
        "qbsigs",
        MAX_MSGS_TOTAL_BATCHED_SIGS,
        vector(b"\x01\x01", SHARE),
        "(parsing) -> batches -> [0] -> sig_shares",
    ),
    Row(
        "qbsigs shares of all batches",
        "qbsigs",
        MAX_MSGS_TOTAL_BATCHED_SIGS,
        shares_in_two_batches,
        "(parsing) -> batches -> [1] -> sig_shares",
        base=200,
    ),
    Row(
        "qcontrib vvec",
        "qcontrib",
        MAX_QUORUM_MEMBERS,
        vector(DKG, BLS_PUB, BLS_PUB + HASH + b"\x00" + BLS_SIG),
        "(parsing) -> vvec",
    ),
    Row(
        "qcontrib blobs",
        "qcontrib",
        MAX_QUORUM_MEMBERS,
        vector(DKG + b"\x00" + BLS_PUB + HASH, b"\x00", BLS_SIG),
        "(parsing) -> contributions -> blobs",
    ),
    Row(
        "qcomplaint bad members",
        "qcomplaint",
        MAX_QUORUM_MEMBERS,
        bitset(DKG, b"\x00" + BLS_SIG),
        "(parsing) -> bad_members",
    ),
    Row(
        "qcomplaint complaints",
        "qcomplaint",
        MAX_QUORUM_MEMBERS,
        bitset(DKG + b"\x00", BLS_SIG),
        "(parsing) -> complain_for_members",
    ),
    Row(
        "qjustify",
        "qjustify",
        MAX_QUORUM_MEMBERS,
        vector(DKG, bytes(4) + HASH, BLS_SIG),
        "(parsing) -> contributions",
    ),
    Row(
        "qpcommit",
        "qpcommit",
        MAX_QUORUM_MEMBERS,
        bitset(DKG, BLS_PUB + HASH + BLS_SIG * 2),
        "(parsing) -> valid_members",
    ),
    Row(
        "qfcommit signers",
        "qfcommit",
        MAX_QUORUM_MEMBERS,
        bitset(commitment(0)[:37], commitment(0)[38:]),
        "(parsing) -> commitment -> signers",
    ),
    Row(
        "qfcommit valid members",
        "qfcommit",
        MAX_QUORUM_MEMBERS,
        bitset(commitment(0)[:38], commitment(0)[39:]),
        "(parsing) -> commitment -> valid_members",
    ),
    Row("qdata vvec", "qdata", MAX_QUORUM_MEMBERS, vector(REQUEST, BLS_PUB), "(parsing) -> quorum_vvec"),
    Row(
        "qdata contributions",
        "qdata",
        MAX_QUORUM_MEMBERS,
        vector(b"\x64" + HASH + b"\x02\x00" + HASH + b"\x00", BLS_PUB + HASH + b"\x00"),
        "(parsing) -> enc_contributions",
    ),
    Row(
        "mnlistdiff quorum indexes",
        "mnlistdiff",
        MAX_QUORUM_INDEXES,
        quorum_indexes,
        "(parsing) -> quorums_cl_sigs -> [0] -> indexes",
    ),
    Row(
        "mnlistdiff ExtNetInfo entries",
        "mnlistdiff",
        MAX_ENTRIES_EXTNETINFO,
        net_info_entries,
        DIFF_ENTRY + " -> [0] -> entries",
    ),
    Row("mnlistdiff ExtNetInfo purposes", "mnlistdiff", NETINFO_PURPOSES, net_info_purposes, DIFF_ENTRY),
    Row(
        "qrinfo commitments",
        "qrinfo",
        MAX_QUORUM_INDEXES_PER_TYPE,
        lambda n: (
            qrinfo(commitments=compact(n) + commitment(0) * n),
            len(qrinfo()) - 3 + len(compact(n)),
        ),
        "(parsing) -> last_commitment_per_index",
    ),
    Row(
        "qrinfo snapshots",
        "qrinfo",
        MAX_QRINFO_CYCLES,
        vector(qrinfo()[:-2], worstcase.SNAPSHOT, b"\x00"),
        "(parsing) -> quorum_snapshot_list",
    ),
    Row(
        "qrinfo diffs",
        "qrinfo",
        MAX_QRINFO_CYCLES,
        vector(qrinfo()[:-1], worstcase.EMPTY_DIFF),
        "(parsing) -> mn_list_diff_list",
    ),
]


@pytest.mark.parametrize("row", ROWS, ids=lambda row: row.name)
def test_at_the_limit_decodes_and_builds_back(row):
    payload, _ = row.make(int(row.limit))
    decoded = decode(row.command, payload, row.version)
    assert build(row.command, decoded, row.version) == payload


@pytest.mark.parametrize("row", ROWS, ids=lambda row: row.name)
def test_one_above_the_limit_is_refused_at_the_count(row):
    payload, offset = row.make(int(row.limit) + 1)
    with pytest.raises(DecodeError) as info:
        decode(row.command, payload, row.version)
    error = info.value
    assert row.limit.name in error.reason and row.limit.source in error.reason, error.reason
    assert (error.path, error.offset) == (row.path, offset), str(error)
    # decode_partial reads the same fields: the limit is a layout error there too
    with pytest.raises(DecodeError, match=re.escape(row.limit.name)):
        decode_partial(row.command, payload, row.version)


# Counts only: with no element bytes after the count, any count above the
# limit must be refused right there, before a byte of elements is read.
COUNT_ROWS = [row for row in ROWS if not row.size and row.count_last]


@settings(max_examples=300, deadline=None)
@given(row=st.sampled_from(COUNT_ROWS), excess=st.integers(1, 2**32) | st.integers(1, 3))
def test_any_count_above_the_limit_is_refused_before_its_elements(row, excess):
    payload, offset = row.make(row.base)  # the count there is 0: one byte
    count = int(row.limit) - row.base + excess
    head, tail = payload[: offset - 1], payload[offset:]
    hostile = head + compact(count) + tail
    with pytest.raises(DecodeError) as info:
        decode(row.command, hostile, row.version)
    assert row.limit.name in info.value.reason
    assert info.value.offset == len(head) + len(compact(count))


@settings(max_examples=60, deadline=None)
@given(
    row=st.sampled_from([row for row in ROWS if row.limit <= 1000]),
    delta=st.integers(-3, 3),
)
def test_counts_around_the_limit(row, delta):
    n = max(row.base, int(row.limit) + delta)
    payload, _ = row.make(n)
    if n <= row.limit:
        assert build(row.command, decode(row.command, payload, row.version), row.version) == payload
    else:
        with pytest.raises(DecodeError, match=re.escape(row.limit.name)):
            decode(row.command, payload, row.version)


# -- the message, and sizes ---------------------------------------------------------------------


@pytest.mark.parametrize("command", ["qbsigs", "ping", "nosuchcmd"])
def test_a_payload_above_3_mib_is_refused_whatever_the_command(command):
    payload = bytes(int(MAX_PROTOCOL_MESSAGE_LENGTH) + 1)
    for entry in (decode, decode_partial):
        with pytest.raises(DecodeError) as info:
            entry(command, payload)
        assert info.value.command == command
        assert info.value.reason == (
            "payload of 3145729 bytes is above MAX_PROTOCOL_MESSAGE_LENGTH (3145728, src/net.h)"
        )
        assert info.value.offset == 3145728


def test_build_refuses_a_result_above_3_mib():
    raw = bytes(int(MAX_PROTOCOL_MESSAGE_LENGTH) + 1).hex()
    with pytest.raises(DecodeError, match="MAX_PROTOCOL_MESSAGE_LENGTH"):
        build("nosuchcmd", {"unknown": True, "raw": raw})
    sig = "00" * int(MAX_PROTOCOL_MESSAGE_LENGTH)
    with pytest.raises(DecodeError, match="MAX_PROTOCOL_MESSAGE_LENGTH"):
        build("spork", {"spork_id": 1, "value": 0, "time_signed": 0, "sig": sig})


def test_build_refuses_counts_above_their_limits():
    share = {"quorum_member": 1, "sig_share": "00" * 96}
    with pytest.raises(DecodeError, match="MAX_MSGS_TOTAL_BATCHED_SIGS"):
        build("qbsigs", {"batches": [{"session_id": 1, "sig_shares": [share] * 201}] * 2})
    with pytest.raises(DecodeError, match="MAX_INV_SZ"):
        build("inv", {"inv": [{"type": 1, "hash": "00" * 32}] * 50001})
    tx = decode("tx", transaction_of(1_000_000))
    tx["vout"][0]["script_pub_key"] += "51"
    with pytest.raises(DecodeError, match="transaction of 1000001 bytes is above MAX_LEGACY_BLOCK_SIZE"):
        build("tx", tx)


def test_a_count_past_the_transaction_limit_is_refused_at_the_count():
    """A script length that fits the payload but not the transaction's
    MAX_LEGACY_BLOCK_SIZE is refused before the script is read."""
    payload = transaction_of(1_000_100)
    with pytest.raises(DecodeError) as info:
        decode("tx", payload)
    assert info.value.reason == (
        "count 1000077 needs at least 1000077 bytes, more than the 999981 left of the "
        "transaction's MAX_LEGACY_BLOCK_SIZE (1000000, src/consensus/consensus.h)"
    )
    assert info.value.path == "(parsing) -> tx -> vout -> [0] -> script_pub_key"
    assert info.value.offset == 19


def test_notfound_has_no_count_limit_but_the_message():
    # Core ignores a long notfound, and its own may answer several getdata
    payload, _ = vector(b"", bytes(4) + HASH)(int(MAX_INV_SZ) + 1)
    assert len(decode("notfound", payload)["inv"]) == 50001


def test_an_extra_payload_above_its_limit_is_kept_raw():
    """CheckTransaction refuses a larger vExtraPayload; the transaction still
    decodes, the payload stays raw and says why (transaction.py)."""

    def asset_lock(size: int) -> bytes:
        script = size - 13  # version 1, one output: value, 3-byte script length, script
        payload = b"\x01\x01" + bytes(8) + compact(script) + b"\x51" * script
        assert len(payload) == size
        return b"\x03\x00\x08\x00" + b"\x01" + INPUT + b"\x00" + bytes(4) + compact(size) + payload

    at_limit = decode("tx", asset_lock(int(MAX_TX_EXTRA_PAYLOAD)))
    assert at_limit["extra_payload"] is not None and at_limit["extra_payload_error"] is None
    above = decode("tx", asset_lock(int(MAX_TX_EXTRA_PAYLOAD) + 1))
    assert above["extra_payload"] is None
    assert above["extra_payload_error"] == (
        "payload of 10001 bytes is above MAX_TX_EXTRA_PAYLOAD (10000, src/consensus/consensus.h)"
    )
    assert len(above["extra_payload_raw"]) == 2 * 10001


# -- the cost of the worst cases, in a child with a memory limit ---------------------------------

ADDRESS_SPACE = 256 << 20  # RLIMIT_AS of the child: a regression fails here instead of swapping


def test_the_worst_cases_cover_every_command():
    assert set(worstcase.CASES) == set(known_commands())


def test_the_issue_qbsigs_fails_fast_under_a_memory_limit():
    """Issue 22: 3,000,000 two-byte batches took 817 MB and 12.5 s to show."""
    for case in ("issue 22: 3,000,000 empty batches", "3 MiB of empty batches"):
        payload = worstcase.CASES["qbsigs"][case]()
        result = worstcase.measure("qbsigs", payload, address_space=ADDRESS_SPACE, timeout=60)
        assert "failed" not in result, result
        assert result["error"] is not None and result["cpu"] < 0.5, result
    assert (
        "MAX_PROTOCOL_MESSAGE_LENGTH"
        in worstcase.measure("qbsigs", worstcase.CASES["qbsigs"]["issue 22: 3,000,000 empty batches"]())[
            "error"
        ]
    )


def test_every_worst_case_decodes_in_bounded_memory_and_time():
    """Every case of every command in one child under RLIMIT_AS, each case's
    peak measured on its own (/proc/self/clear_refs): within ~100 MB of the
    interpreter's and a few seconds of CPU, or refused as worstcase.REFUSED
    says; and a decoded message is freed with its last reference (the peak
    does not grow from case to case)."""

    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))

    done = subprocess.run(
        [sys.executable, "-m", "tests.decoders.worstcase", "--all"],
        capture_output=True,
        timeout=900,
        cwd=worstcase.ROOT,
        preexec_fn=limit,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-2000:]
    rows = [json.loads(line) for line in done.stdout.decode().splitlines()]
    seen = {(row["command"], row["case"]) for row in rows}
    assert seen == {(command, case) for command, cases in worstcase.CASES.items() for case in cases}
    for row in rows:
        refused = worstcase.REFUSED.get((row["command"], row["case"]))
        if refused is None:
            assert row["error"] is None, row
        else:
            assert refused in row["error"], row
        assert row["peak_mb"] - row["base_mb"] < 120, row
        assert row["cpu"] < 10, row


def test_decoding_and_building_leave_no_reference_cycles():
    """A decoded message is freed with its last reference, not at the cycle
    collector's next pass: before, the message's own Struct context was its
    own ``_root`` and held every field (a 2 MB block's dict outlived it, and
    three in a row peaked at 250 MB), and each built Struct was a cycle
    with its parent's context."""
    payloads = list(tables.VECTORS) + [("block", worstcase.CASES["block"]["33333 empty transactions"]())]
    gc.collect()
    gc.disable()
    try:
        for command, payload in payloads:
            try:
                built = build(command, decode(command, payload))
            except DecodeError:
                built = None
            del built
            assert gc.collect() == 0, command
    finally:
        gc.enable()
