"""The costliest payloads of every command within Dash Core's limits, and their cost.

Issue 22 ("small files, large costs"): a 670-byte capture held one
``qbsigs`` of 3,000,000 empty batches and ``show`` took 817 MB.  Every
decoder is now bounded by Core's own limits (the ``limits.Limit``
constants of decoders/*.py), so each command has a most expensive payload
Core would let through: a 3 MiB message (MAX_PROTOCOL_MESSAGE_LENGTH) of
the smallest elements its layout allows, each count at its limit.  This
module builds those payloads, ``CASES``, one list per command of the
registry, and measures one ``decode()`` of each in a fresh interpreter
(peak RSS and time)::

    .venv/bin/python -m tests.decoders.worstcase              # every case
    .venv/bin/python -m tests.decoders.worstcase qbsigs tx    # some commands

docs/DECODERS.md ("Limits") keeps the table it prints; test_limits.py
decodes every case under a memory limit and a timeout, so a regression
fails instead of swapping.  Commands of fixed size take their table's
payload (tests/decoders/tables.py).  The name does not start with
``test_``: pytest does not collect it.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from p2pcap.decoders import known_commands
from p2pcap.decoders.limits import MAX_PROTOCOL_MESSAGE_LENGTH
from p2pcap.decoders.primitives import compact_bytes as compact

M = int(MAX_PROTOCOL_MESSAGE_LENGTH)
ROOT = Path(__file__).resolve().parents[2]

# --- pieces, each the smallest its layout allows ------------------------------

HASH = bytes(range(32))  # not all zero: a null prevout would be a coinbase input
HEADER = (1).to_bytes(4, "little") + HASH + HASH + bytes(12)  # CBlockHeader, 80 bytes
TX_EMPTY = bytes.fromhex("01000000000000000000")  # no input, no output: 10 bytes
# one input with an empty scriptSig, one output with an empty script: 60 bytes,
# the smallest transaction CheckTransaction accepts
TX_60 = bytes.fromhex("0100000001") + HASH + bytes(4) + b"\x00" + b"\xff" * 4 + b"\x01" + bytes(9) + bytes(4)
INPUT = HASH + bytes(4) + b"\x00" + b"\xff" * 4  # 41 bytes
OUTPUT = bytes(9)  # value 0, empty script
BLS_PUB, BLS_SIG = b"\x11" * 48, b"\x22" * 96


def vec(items: list[bytes]) -> bytes:
    """std::vector: CompactSize count, then the elements."""
    return compact(len(items)) + b"".join(items)


def var_bytes(data: bytes) -> bytes:
    return compact(len(data)) + data


def fit(size: int, room: int, limit: int | None = None) -> int:
    """How many elements of ``size`` bytes fit in ``room`` bytes with their
    CompactSize count (at most ``limit``)."""
    n = (room - 9) // size
    return n if limit is None else min(n, limit)


def tx_of(items: bytes, count: int, inputs: bool) -> bytes:
    """A version-1 transaction with ``count`` inputs or outputs ``items``."""
    if inputs:
        return b"\x01\x00\x00\x00" + compact(count) + items + b"\x01" + OUTPUT + bytes(4)
    return b"\x01\x00\x00\x00" + b"\x00" + compact(count) + items + bytes(4)


def tx_filling(size: int, inputs: bool = False) -> bytes:
    """The transaction of at most ``size`` bytes with the most inputs (or outputs)."""
    element = INPUT if inputs else OUTPUT
    count = fit(len(element), size - 10 - len(OUTPUT) * inputs)
    return tx_of(element * count, count, inputs)


def tx_script(size: int, script_sig: bool) -> bytes:
    """One input (or output) whose script is ``size`` one-byte opcodes (OP_1):
    the asm text is made an opcode at a time."""
    script = var_bytes(b"\x51" * size)
    if script_sig:
        return b"\x01\x00\x00\x00\x01" + HASH + bytes(4) + script + b"\xff" * 4 + b"\x01" + OUTPUT + bytes(4)
    return b"\x01\x00\x00\x00\x00\x01" + bytes(8) + script + bytes(4)


# The size of each of two transactions filling a block's 2,000,000 bytes.
BLOCK_TX = (2_000_000 - 80 - 1) // 2


def commitment(bits: int = 400) -> bytes:
    """CFinalCommitment version 2 (indexed) with two bitsets of ``bits`` bits."""
    bitset = compact(bits) + b"\xff" * (bits // 8)
    return b"\x02\x00" + b"\x67" + HASH + b"\x01\x00" + bitset + bitset + BLS_PUB + HASH + BLS_SIG + BLS_SIG


def sml_entry(net_info: bytes = b"\x00") -> bytes:
    """CSimplifiedMNListEntry version 3 (>= 70228): ExtNetInfo ``net_info``, type 0."""
    return b"\x03\x00" + HASH + HASH + net_info + BLS_PUB + bytes(20) + b"\x01" + b"\x00\x00"


# ExtNetInfo v1 at Core's limits: three purposes of four entries, each entry
# the smallest NetInfoEntry (a type byte without data).
FULL_NET_INFO = b"\x01\x03" + b"".join(bytes([purpose]) + b"\x04" + b"\x00" * 4 for purpose in range(3))


def mnlistdiff(*, deleted_mns=b"", mn_list=b"", deleted_quorums=b"", new_quorums=b"", cl_sigs=b"", tree=b""):
    """CSimplifiedMNListDiff at the newest version: each part a whole vector
    (count included), empty unless given."""
    return (
        b"\x01\x00"  # nVersion, first from MNLISTDIFF_VERSION_ORDER
        + HASH
        + HASH
        + (tree or b"\x01\x00\x00\x00" + b"\x00" + b"\x00")  # cbTxMerkleTree
        + TX_EMPTY  # cbTx
        + (deleted_mns or b"\x00")
        + (mn_list or b"\x00")
        + (deleted_quorums or b"\x00")
        + (new_quorums or b"\x00")
        + (cl_sigs or b"\x00")
    )


EMPTY_DIFF = mnlistdiff()
DIFF_ROOM = M - len(EMPTY_DIFF) - 16  # what one diff's vectors may take of a message


def filled(element: bytes, room: int = DIFF_ROOM, limit: int | None = None) -> bytes:
    """A vector of ``element`` as long as ``room`` (and ``limit``) allow."""
    count = fit(len(element), room, limit)
    return compact(count) + element * count


SNAPSHOT = b"\x00\x00\x00\x00" + b"\x00" + b"\x00"  # mode, no members, no skip list


def qrinfo(snapshots=(SNAPSHOT,) * 3, diffs=(EMPTY_DIFF,) * 5, commitments=b"\x00", lists=b"\x00\x00"):
    return b"".join(snapshots) + b"".join(diffs) + b"\x00" + commitments + lists


# --- the cases -------------------------------------------------------------------


# Commands of one size: their payload, all zero bytes (each decodes).
FIXED = {
    **dict.fromkeys("verack getaddr mempool sendheaders sendheaders2 sendaddrv2 getsporks".split(), 0),
    **dict.fromkeys("qwatch filterclear".split(), 0),
    **{"ping": 8, "pong": 8, "feefilter": 8, "sendcmpct": 9, "sendtxrcncl": 12, "mnauth": 128},
    **{"platformban": 164, "clsig": 132, "qsigrec": 193, "qgetdata": 68, "qsendrecsigs": 1},
    **{"getmnlistd": 64, "senddsq": 1, "dsc": 8, "dssu": 16, "ssc": 8, "getcfilters": 37},
    **{"getcfheaders": 37, "getcfcheckpt": 33},
}


def _cases() -> dict[str, dict[str, Callable[[], bytes]]]:
    locator = lambda: b"\x01\x00\x00\x00" + vec([HASH] * 101) + HASH  # noqa: E731 (a table of builders)
    room_bits = M - 600
    cases: dict[str, dict[str, Callable[[], bytes]]] = {
        "version": {
            "256-byte user agent and every group": lambda: (
                bytes.fromhex("7f1101000500000000000000")
                + bytes(8)
                + bytes(26)
                + bytes(26)
                + bytes(8)
                + var_bytes(b"a" * 256)
                + bytes(4)
                + b"\x01"
                + HASH
                + b"\x01"
            )
        },
        "addr": {"1000 entries": lambda: vec([bytes(30)] * 1000)},
        "addrv2": {
            "1000 smallest entries": lambda: vec([bytes(4) + b"\x00" + b"\x63" + b"\x00" + bytes(2)] * 1000),
            "1000 entries of 512-byte addresses": lambda: vec(
                [bytes(4) + b"\x00" + b"\x63" + compact(512) + b"\x5a" * 512 + bytes(2)] * 1000
            ),
        },
        "inv": {"50000 entries": lambda: vec([bytes(4) + HASH] * 50000)},
        "getdata": {"50000 entries": lambda: vec([bytes(4) + HASH] * 50000)},
        "notfound": {"3 MiB of entries": lambda: filled(bytes(4) + HASH, M)},
        "getblocks": {"101 hashes": locator},
        "getheaders": {"101 hashes": locator},
        "getheaders2": {"101 hashes": locator},
        "headers": {"2000 headers": lambda: vec([HEADER + b"\x00"] * 2000)},
        "headers2": {
            "8000 headers": lambda: (
                compact(8000) + b"\x38" + HEADER + (b"\x01" + HASH + b"\x01\x00" + bytes(4)) * 7999
            )
        },
        "block": {
            "33333 empty transactions": lambda: HEADER + vec([TX_EMPTY] * 33333),
            "33331 transactions of 60 bytes": lambda: HEADER + vec([TX_60] * 33331),
            "2 MB of outputs": lambda: HEADER + vec([tx_filling(BLOCK_TX)] * 2),
            "2 MB of inputs": lambda: HEADER + vec([tx_filling(BLOCK_TX, inputs=True)] * 2),
        },
        "merkleblock": {
            "33333 hashes and 3 MiB of flag bits": lambda: (
                HEADER
                + (33333).to_bytes(4, "little")
                + vec([HASH] * 33333)
                + var_bytes(b"\xff" * (M - 200 - 33333 * 32))
            )
        },
        "cmpctblock": {
            "65535 short ids": lambda: HEADER + bytes(8) + compact(65535) + bytes(6 * 65535) + b"\x00",
            "65535 prefilled empty transactions": lambda: (
                HEADER + bytes(8) + b"\x00" + vec([b"\x00" + TX_EMPTY] * 65535)
            ),
            "2 MB of prefilled outputs": lambda: (
                HEADER + bytes(8) + b"\x00" + vec([b"\x00" + tx_filling(BLOCK_TX)] * 2)
            ),
        },
        "getblocktxn": {"65536 indexes": lambda: HASH + vec([b"\x00"] * 65536)},
        "blocktxn": {
            "33333 empty transactions": lambda: HASH + vec([TX_EMPTY] * 33333),
            "2 MB of outputs": lambda: HASH + vec([tx_filling(BLOCK_TX)] * 2),
        },
        "tx": {
            "1 MB of outputs": lambda: tx_filling(1_000_000),
            "1 MB of inputs": lambda: tx_filling(1_000_000, inputs=True),
            "1 MB output script of one-byte opcodes": lambda: tx_script(1_000_000 - 23, script_sig=False),
            "1 MB scriptSig of one-byte opcodes": lambda: tx_script(1_000_000 - 64, script_sig=True),
        },
        "dsa": {"1 MB collateral of outputs": lambda: bytes(4) + tx_filling(1_000_000)},
        "dsi": {
            "9 inputs, 1 MB collateral, 9 outputs": lambda: (
                vec([INPUT] * 9) + tx_filling(1_000_000) + vec([OUTPUT] * 9)
            )
        },
        "dsf": {"1 MB final transaction of outputs": lambda: bytes(4) + tx_filling(1_000_000)},
        "dss": {
            "180 inputs of 17 KB scriptSigs": lambda: vec(
                [HASH + bytes(4) + var_bytes(b"\x51" * 17000) + b"\xff" * 4] * 180
            )
        },
        "dstx": {
            "1 MB of outputs, 2 MB signature": lambda: (
                tx_filling(1_000_000) + HASH + var_bytes(bytes(2_000_000)) + bytes(8)
            )
        },
        "dsq": {"3 MiB signature": lambda: bytes(4) + HASH + bytes(8) + b"\x01" + var_bytes(bytes(M - 60))},
        "spork": {"3 MiB signature": lambda: bytes(20) + var_bytes(bytes(M - 30))},
        "govobj": {
            "3 MiB of data": lambda: (
                HASH + bytes(12) + HASH + var_bytes(b"{" * (M - 200)) + bytes(4) + HASH + bytes(4) + b"\x00"
            )
        },
        "govobjvote": {
            "3 MiB signature": lambda: HASH + bytes(4) + HASH + bytes(16) + var_bytes(bytes(M - 100))
        },
        "govsync": {"3 MiB bloom filter": lambda: HASH + var_bytes(bytes(M - 60)) + bytes(9)},
        "filterload": {"3 MiB bloom filter": lambda: var_bytes(bytes(M - 20)) + bytes(9)},
        "filteradd": {"3 MiB of data": lambda: var_bytes(bytes(M - 10))},
        "cfilter": {"3 MiB filter": lambda: b"\x00" + HASH + var_bytes(bytes(M - 50))},
        "cfheaders": {"3 MiB of hashes": lambda: b"\x00" + HASH + HASH + filled(HASH, M - 70)},
        "cfcheckpt": {"3 MiB of hashes": lambda: b"\x00" + HASH + filled(HASH, M - 40)},
        "isdlock": {
            "3 MiB of inputs": lambda: b"\x01" + filled(HASH + bytes(4), M - 170) + HASH + HASH + BLS_SIG
        },
        "islock": {"3 MiB of inputs": lambda: filled(HASH + bytes(4), M - 170) + HASH + BLS_SIG},
        "qsigsesann": {
            "100 announcements": lambda: vec([b"\x8e\xfe\xfe\xfe\x7f" + b"\x64" + HASH * 3] * 100)
        },
        "qsigsinv": {
            "200 invs of 400 members": lambda: vec([b"\x01" + compact(400) + b"\x00" + b"\xff" * 50] * 200)
        },
        "qgetsigs": {
            "200 invs of 400 members, as VarInts": lambda: vec(
                [b"\x01" + compact(400) + b"\x01" + b"\x01" * 400 + b"\x00"] * 200
            )
        },
        "qbsigs": {
            "issue 22: 3,000,000 empty batches": lambda: compact(3_000_000) + b"\x00\x00" * 3_000_000,
            "3 MiB of empty batches": lambda: filled(b"\x00\x00", M),
            "400 batches of one share": lambda: vec([b"\x01" + vec([b"\x01\x00" + BLS_SIG])] * 400),
            "one batch of 400 shares": lambda: vec([b"\x01" + vec([b"\x01\x00" + BLS_SIG] * 400)]),
        },
        "qsigshare": {"32 shares": lambda: vec([b"\x64" + HASH + b"\x01\x00" + HASH + HASH + BLS_SIG] * 32)},
        "qcontrib": {
            "400 keys, 400 blobs filling 3 MiB": lambda: (
                b"\x64"
                + HASH
                + HASH
                + vec([BLS_PUB] * 400)
                + BLS_PUB
                + HASH
                + vec([var_bytes(bytes((M - 20000 - 400 * 48) // 400 - 3))] * 400)
                + BLS_SIG
            )
        },
        "qcomplaint": {
            "two 400-member bitsets": lambda: b"\x64" + HASH + HASH + (compact(400) + bytes(50)) * 2 + BLS_SIG
        },
        "qjustify": {
            "400 contributions": lambda: b"\x64" + HASH + HASH + vec([bytes(4) + HASH] * 400) + BLS_SIG
        },
        "qpcommit": {
            "400-member bitset": lambda: (
                b"\x64" + HASH + HASH + compact(400) + bytes(50) + BLS_PUB + HASH + BLS_SIG * 2
            )
        },
        "qfcommit": {"400-member bitsets": commitment},
        "qdata": {
            "400 keys and 400 contributions filling 3 MiB": lambda: (
                b"\x64"
                + HASH
                + b"\x03\x00"
                + HASH
                + b"\x00"
                + vec([BLS_PUB] * 400)
                + vec([BLS_PUB + HASH + var_bytes(bytes((M - 20000 - 400 * 48) // 400 - 90))] * 400)
            )
        },
        "getqrinfo": {"3 MiB of base hashes": lambda: filled(HASH, M - 40) + HASH + b"\x00"},
        "mnlistdiff": {
            "smallest list entries": lambda: mnlistdiff(mn_list=filled(sml_entry())),
            "entries with full ExtNetInfo": lambda: mnlistdiff(mn_list=filled(sml_entry(FULL_NET_INFO))),
            "deleted quorums": lambda: mnlistdiff(deleted_quorums=filled(b"\x64" + HASH)),
            "deleted masternodes": lambda: mnlistdiff(deleted_mns=filled(HASH)),
            "commitments of 400-member bitsets": lambda: mnlistdiff(new_quorums=filled(commitment())),
            "commitments without members": lambda: mnlistdiff(new_quorums=filled(commitment(0))),
            "ChainLock signatures without quorums": lambda: mnlistdiff(cl_sigs=filled(BLS_SIG + b"\x00")),
            "ChainLock signatures of 65536 indexes": lambda: mnlistdiff(
                cl_sigs=filled(
                    BLS_SIG + compact(65536) + b"".join(i.to_bytes(2, "little") for i in range(65536))
                )
            ),
            "3 MiB of merkle flag bits": lambda: mnlistdiff(
                tree=b"\x01\x00\x00\x00" + b"\x00" + var_bytes(b"\xff" * DIFF_ROOM)
            ),
        },
        "qrinfo": {
            "3 MiB of snapshot member bits": lambda: qrinfo(
                snapshots=[bytes(4) + compact(8 * (room_bits // 3)) + b"\xff" * (room_bits // 3) + b"\x00"]
                * 3
            ),
            "3 MiB of skip list": lambda: qrinfo(
                snapshots=[bytes(4) + b"\x00" + filled(b"\xff\xff\xff\x7f", room_bits // 3)] * 3
            ),
            "32 commitments, 96 snapshots and diffs": lambda: qrinfo(
                commitments=vec([commitment()] * 32),
                lists=vec([SNAPSHOT] * 96) + vec([EMPTY_DIFF] * 96),
            ),
            "3 MiB of listed snapshots": lambda: qrinfo(lists=filled(SNAPSHOT, M - 600) + b"\x00"),
            "diffs of smallest list entries": lambda: qrinfo(
                diffs=[mnlistdiff(mn_list=filled(sml_entry(), (M - 2000) // 5))] * 5
            ),
        },
    }
    for command, size in FIXED.items():
        cases[command] = {"fixed size": lambda size=size: bytes(size)}
    return cases


CASES = _cases()

# The cases Core's limits refuse, and what the DecodeError says.
REFUSED = {
    ("qbsigs", "issue 22: 3,000,000 empty batches"): "is above MAX_PROTOCOL_MESSAGE_LENGTH",
    ("qbsigs", "3 MiB of empty batches"): "is above MAX_MSGS_TOTAL_BATCHED_SIGS",
    ("qrinfo", "3 MiB of listed snapshots"): "is above 3 * signingActiveQuorumCount",
}


def _high_water_mb() -> float:
    """This process's peak resident set (VmHWM; ru_maxrss would count the
    parent's before exec)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def run_one(command: str, payload: bytes, runs: int = 1) -> dict:
    """decode() one payload ``runs`` times in this process: the peak RSS
    before and after (MB) and the fastest run's CPU and wall seconds (the
    machine is shared: CPU time is the steadier figure).  Each result is
    dropped before the next run, and the peak must not grow with the runs
    (a decoded message freed with its last reference; test_limits.py
    checks it).  What a child runs (``--one``)."""
    from p2pcap.decoders import DecodeError, decode

    known_commands()  # the registry's first use imports every family: not the decode's cost
    before = _high_water_mb()
    cpu = wall = float("inf")
    error = None
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        result = None
        try:
            result = decode(command, payload)
        except DecodeError as exc:
            error = str(exc)
        cpu = min(cpu, time.process_time() - start_cpu)
        wall = min(wall, time.perf_counter() - start)
        del result  # freed before the next run, as show frees each message's
    return {
        "base_mb": round(before, 1),
        "peak_mb": round(_high_water_mb(), 1),
        "cpu": round(cpu, 3),
        "seconds": round(wall, 3),
        "error": error,
    }


def measure(
    command: str, payload: bytes, *, address_space: int | None = None, timeout: float = 120, runs: int = 1
) -> dict:
    """``run_one`` in a fresh interpreter, optionally under RLIMIT_AS
    (bytes) and a timeout: {"base_mb", "peak_mb", "cpu", "seconds",
    "error"}, or {"failed": reason} when the child died or ran out of time."""

    def limit():
        if address_space is not None:
            resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))

    child = [sys.executable, "-m", "tests.decoders.worstcase", "--one", command, str(runs)]
    try:
        done = subprocess.run(
            child,
            input=payload,
            capture_output=True,
            timeout=timeout,
            cwd=ROOT,
            preexec_fn=limit,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return {"failed": f"no answer in {timeout} s"}
    if done.returncode:
        tail = done.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
        return {"failed": f"exit {done.returncode}: {tail[0]}"}
    return json.loads(done.stdout)


def run_all() -> None:
    """Every case in this process, one JSON line each (``--all``, for
    test_limits.py, which runs it under RLIMIT_AS): the peak is reset before
    each decode (/proc/self/clear_refs), so each line's is its own case's."""
    from p2pcap.decoders import DecodeError, decode

    known_commands()
    for command, cases in sorted(CASES.items()):
        for case, make in cases.items():
            payload = make()
            with open("/proc/self/clear_refs", "w") as refs:
                refs.write("5")  # reset VmHWM to the current RSS
            before = _high_water_mb()
            start = time.process_time()
            result = error = None
            try:
                result = decode(command, payload)
            except DecodeError as exc:
                error = str(exc)
            cpu = time.process_time() - start
            peak = _high_water_mb()
            del result, payload
            row = {
                "command": command,
                "case": case,
                "base_mb": before,
                "peak_mb": peak,
                "cpu": cpu,
                "error": error,
            }
            print(json.dumps(row), flush=True)


def main(argv: list[str]) -> int:
    if argv[:1] == ["--one"]:
        payload = sys.stdin.buffer.read()
        print(json.dumps(run_one(argv[1], payload, int(argv[2]))))
        return 0
    if argv[:1] == ["--all"]:
        run_all()
        return 0
    commands = argv or sorted(CASES)
    missing = set(known_commands()) - set(CASES)
    if missing:
        print(f"no worst case for: {', '.join(sorted(missing))}", file=sys.stderr)
    print("| command | worst case | payload bytes | peak RSS MB (before decode) | CPU s | wall s |")
    print("|---|---|---:|---:|---:|---:|")
    for command in commands:
        for case, make in CASES[command].items():
            payload = make()
            result = measure(command, payload)
            if "failed" in result:
                cells = f"{result['failed']} | | |"
            else:
                note = "" if result["error"] is None else f" (refused: {result['error'][:60]})"
                rss = f"{result['peak_mb']:.0f} ({result['base_mb']:.0f}){note}"
                cells = f"{rss} | {result['cpu']:.2f} | {result['seconds']:.2f}"
            print(f"| {command} | {case} | {len(payload)} | {cells} |", flush=True)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main(sys.argv[1:]))
