"""``p2pcap check`` and ``p2pcap repair`` as library functions.

``check_capture`` reads every block (checksums, decompression, every record
header) and compares what it found with the footer; it never raises on a bad
file, it reports.  ``repair_capture`` copies every intact block unchanged,
puts a gap record (reason ``damaged-block``) where a damaged block was
dropped, and writes a fresh footer.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from p2pcap.errors import ArgumentError

from .errors import CorruptBlock, FormatError, UnsupportedVersion
from .footer import differences
from .index import CaptureIndex
from .layout import FORMAT_MAJOR, FORMAT_MINOR, TYPE_RECORDS, encode_block_header
from .reader import CaptureReader
from .records import GAP_DAMAGED, Gap
from .writer import CaptureWriter

OK, NO_FOOTER, TORN_TAIL = "ok", "no footer", "torn tail"
DAMAGED, UNREADABLE = "damaged", "unreadable"


@dataclass
class CheckReport:
    """What ``check_capture`` found.  ``verdict`` is the worst finding."""

    path: str
    version: tuple | None = None
    metadata: dict | None = None
    index: CaptureIndex | None = None  # built by scanning the blocks
    footer: str = "missing"  # "ok", "missing", "damaged" or "mismatch"
    torn_tail: FormatError | None = None
    damaged: list = field(default_factory=list)
    fatal: FormatError | None = None
    problems: list = field(default_factory=list)

    @property
    def verdict(self) -> str:
        if self.fatal is not None:
            return UNREADABLE
        if self.damaged or self.footer in ("damaged", "mismatch"):
            return DAMAGED
        if self.torn_tail is not None:
            return TORN_TAIL
        if self.footer != "ok":
            return NO_FOOTER
        return OK

    @property
    def ok(self) -> bool:
        return self.verdict == OK

    def lines(self) -> list:
        """The report as short lines for a terminal, verdict last.

        >>> CheckReport("x.cap", fatal=FormatError("not a capture", path="x.cap")).lines()
        ['x.cap: not a capture', 'verdict: unreadable']
        """
        out = []
        if self.fatal is not None:
            return [str(self.fatal), f"verdict: {self.verdict}"]
        idx = self.index
        major, minor = self.version
        out.append(
            f"{self.path}: format {major}.{minor}, {len(idx.blocks)} intact blocks, "
            f"{idx.messages} messages, {idx.gap_records} gap records "
            f"({idx.lost_messages} messages lost)"
        )
        out.append(f"footer: {self.footer}")
        out.extend(self.problems)
        out.append(f"verdict: {self.verdict}")
        return out

    def __str__(self) -> str:
        return "\n".join(self.lines())


def check_capture(path) -> CheckReport:
    """Verify every byte of a capture that has a checksum; report, never raise.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "empty.cap"
    >>> CaptureWriter(p, {}).close()
    >>> check_capture(p).verdict
    'ok'
    """
    report = CheckReport(os.fspath(path))
    try:
        reader = CaptureReader(path, skip_damaged=True)
    except FormatError as e:
        report.fatal = e
        return report
    with reader:
        report.version, report.metadata = reader.version, reader.metadata
        footer = reader.index
        try:
            report.index = reader.summarize(scan=True)
        except FormatError as e:  # not expected with skip_damaged, but never raise
            report.fatal = e
            return report
        report.damaged = list(reader.damaged)
        report.torn_tail = reader.torn_tail
        if reader.footer_error is not None:
            report.footer = "damaged"
            if not any(e.offset == reader.footer_error.offset for e in report.damaged):
                report.problems.append(str(reader.footer_error))
        elif footer is not None:
            report.footer = "ok"
            mismatch = differences(footer, report.index)
            if mismatch and not report.damaged:
                report.footer = "mismatch"
                report.problems += [f"{report.path}: footer disagrees with the blocks: {d}" for d in mismatch]
        elif any(e.what.startswith("footer") for e in report.damaged):
            report.footer = "damaged"
    report.problems.extend(str(e) for e in report.damaged)
    if report.torn_tail is not None:
        report.problems.append(str(report.torn_tail))
    elif report.footer == "missing" and not report.damaged:
        report.problems.append(
            f"{report.path}: no footer (the recorder did not close the file); "
            "every block is intact; `p2pcap repair` adds one"
        )
    return report


@dataclass
class RepairReport:
    blocks: int = 0  # intact blocks copied
    messages: int = 0
    damaged: list = field(default_factory=list)
    torn_tail: FormatError | None = None
    had_footer: bool = False

    def lines(self) -> list:
        lost = sum(e.records or 0 for e in self.damaged)
        out = [
            f"copied {self.blocks} intact blocks ({self.messages} messages); "
            f"dropped {len(self.damaged)} damaged blocks ({lost} records)"
        ]
        if self.torn_tail is not None:
            out.append(f"dropped the torn tail: {self.torn_tail}")
        return out

    def __str__(self) -> str:
        return "\n".join(self.lines())


def repair_capture(in_path, out_path) -> RepairReport:
    """Write the intact blocks of ``in_path`` and a fresh footer to ``out_path``
    (a path, or a binary file object).

    The header (metadata) must be intact: without it there is nothing to
    repair.  Raises ``FormatError`` for that, ``P2pcapError`` if both paths
    are the same file.
    """
    if (
        isinstance(out_path, (str, os.PathLike))
        and os.path.exists(out_path)
        and os.path.samefile(in_path, out_path)
    ):
        raise ArgumentError("output", "repair would overwrite its input", value=os.fspath(out_path))
    report = RepairReport()
    with CaptureReader(in_path, skip_damaged=True) as reader:
        if reader.version > (FORMAT_MAJOR, FORMAT_MINOR):
            # Blocks of a newer minor may hold what this version cannot rewrite faithfully.
            raise UnsupportedVersion(
                f"capture format {reader.version[0]}.{reader.version[1]} is newer than this "
                f"p2pcap's {FORMAT_MAJOR}.{FORMAT_MINOR}; repair it with a newer p2pcap",
                path=reader.path,
                offset=8,
            )
        with CaptureWriter(out_path, reader.metadata) as writer:
            _copy_blocks(reader, writer, report)
    return report


def _copy_blocks(reader, writer, report: RepairReport) -> None:
    """Intact blocks unchanged (not recompressed), a gap record per damaged one."""
    report.had_footer = reader.index is not None
    known = {b.offset: b.records for b in reader.index.blocks} if reader.index else {}
    last_ts = 0
    noted = 0
    for block in reader.read_blocks():
        noted = _note_damage(reader, writer, noted, last_ts, known)
        try:
            content = block.content()
        except CorruptBlock as e:
            reader._damage(e)
            continue
        h = block.header
        head = encode_block_header(
            TYPE_RECORDS, block.body, h.raw_len, h.records, h.ts_min_ns, h.ts_max_ns, h.mask
        )
        writer.append_block(head, block.body, h.raw_len, content)
        report.blocks += 1
        last_ts = max(last_ts, h.ts_max_ns)
    _note_damage(reader, writer, noted, last_ts, known)
    report.messages = writer.messages
    report.damaged = list(reader.damaged)
    report.torn_tail = reader.torn_tail


def _note_damage(reader, writer, noted: int, ts: int, known: dict) -> int:
    """A gap record for each newly found damaged record block.

    Its ``lost_messages`` is the block's record count, from its header if that
    is intact, else from the footer's index if there was one, else 0.
    """
    for err in reader.damaged[noted:]:
        if err.block_index is not None:
            lost = err.records if err.records is not None else known.get(err.offset, 0)
            writer.write(Gap(ts, 0, GAP_DAMAGED, lost, 0))
    return len(reader.damaged)
