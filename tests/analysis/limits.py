"""Captures and datasets built to cost too much, and running p2pcap on them
under limits (issue 22): the fleet commands (export to a dataset,
``propagation``), ``diff``, ``replay`` and ``import``.

Every hostile input is made by the project's own writer (``CaptureWriter``,
``DatasetWriter``, an export) or by editing what it wrote.  A command runs
in a child process (``tests/hostile/limited.py``) with ``RLIMIT_AS`` set to
its own baseline -- the address space the same command takes on a small,
legitimate input: pyarrow's and DuckDB's threads reserve a gigabyte they
never touch -- plus ``BUDGET``, and a wall-clock timeout, so a regression
fails instead of swapping the machine.  The tests also check the peak
resident memory and the CPU time the kernel counted.
"""

from __future__ import annotations

import shutil
import struct
from pathlib import Path

from p2pcap.formats import CaptureWriter, Message

from ..hostile.limited import MB, Run, run_p2pcap

BUDGET = 256 * MB  # issue 22: no input under 1 MB makes a command use more
CPU_SECONDS = 10.0  # ... or take more CPU than this
DAY_NS = 86_400 * 10**9
T0 = 1_700_000_000_000_000_000  # 2023-11-14 22:13:20 UTC


def ping(ts: int, peer: int = 0, addr: str = "10.0.0.1:9999") -> Message:
    return Message(ts, 4242, peer, addr, "inbound", "in", "ping", 8, struct.pack("<Q", ts & 0xFFFF))


def inv(ts: int, item: bytes, peer: int = 0, addr: str = "10.0.0.1:9999") -> Message:
    payload = b"\x01" + struct.pack("<I", 1) + item  # one item: count, MSG_TX, hash
    return Message(ts, 4242, peer, addr, "inbound", "in", "inv", len(payload), payload)


def write(path: Path, records, *, host: str = "builder.example") -> Path:
    with CaptureWriter(path, {"network": "regtest", "host": host}) as w:
        for record in records:
            w.write(record)
    return path


def days_capture(path: Path, days: int) -> Path:
    """One ping a day for ``days`` days (issue 22: 5,000 of them in 23 KB)."""
    return write(path, (ping(T0 + i * DAY_NS) for i in range(days)))


def inventory_capture(
    path: Path, items: int, *, host: str = "builder.example", spread_ns: int = 10**9
) -> Path:
    """``items`` inv messages of distinct hashes from two peers, ``spread_ns`` apart."""
    return write(
        path,
        (
            inv(T0 + i * spread_ns, struct.pack("<Q", i) * 4, peer=i % 2, addr=f"10.0.0.{i % 2}:9999")
            for i in range(items)
        ),
        host=host,
    )


_baselines: dict = {}


def baseline(kind: str, workdir: Path) -> int:
    """The address space of a legitimate run of ``kind`` (export, propagation,
    diff), measured once: a small input, a few days and a few files."""
    if kind not in _baselines:
        work = workdir / f"baseline-{kind}"
        work.mkdir()
        cap = inventory_capture(work / "small.cap", 40, spread_ns=DAY_NS // 4)  # ten days
        if kind == "export":
            args = ["export", str(cap), "--format", "parquet", "-o", str(work / "ds")]
        elif kind == "propagation":
            run_p2pcap(["export", str(cap), "--format", "parquet", "-o", str(work / "ds")], workdir=work)
            args = ["propagation", str(work / "ds")]
        else:
            args = [kind, str(cap), str(cap)]
        run = run_p2pcap(args, workdir=work)
        assert run.status == 0 and run.peak_as, run.describe()
        _baselines[kind] = run.peak_as
        shutil.rmtree(work)
    return _baselines[kind]


def run_limited(kind: str, args: list, workdir: Path, *, timeout: float = 120.0) -> Run:
    """``p2pcap ARGS`` under ``RLIMIT_AS`` = the baseline of ``kind`` + ``BUDGET``."""
    limit = baseline(kind, workdir) + BUDGET
    return run_p2pcap([str(a) for a in args], workdir=workdir, address_space=limit, timeout=timeout)


def within_limits(run: Run) -> None:
    """The run stayed within the issue's limits and said what it said in whole lines."""
    assert not run.timed_out, run.describe()
    assert "Traceback" not in run.stderr and "MemoryError" not in run.stderr, run.stderr
    assert run.max_rss <= BUDGET, run.describe()
    assert run.cpu_s <= CPU_SECONDS, run.describe()


def one_line(run: Run, *texts: str) -> str:
    """The single stderr line of a refused run, holding every one of ``texts``."""
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    for text in texts:
        assert text in lines[0], lines[0]
    return lines[0]


def tree(root: Path) -> dict:
    """Every path under ``root`` and its bytes (None for a folder), to compare before and after."""
    out = {}
    for p in sorted(root.rglob("*")):
        out[str(p.relative_to(root))] = None if p.is_dir() else p.read_bytes()
    return out
