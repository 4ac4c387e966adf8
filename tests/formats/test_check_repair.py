"""check_capture verdicts and repair_capture output."""

import subprocess
import sys

import pytest

from p2pcap.errors import P2pcapError
from p2pcap.formats import CaptureReader, check_capture, repair_capture


def path_or(data, tmp_path):
    p = tmp_path / "src.cap"
    p.write_bytes(data)
    return p


def test_verdicts(tmp_path, small_capture):
    last = CaptureReader(path_or(small_capture, tmp_path)).index.blocks[-1]
    path = tmp_path / "a.cap"
    cases = {
        "ok": small_capture,
        "no footer": small_capture[: last.offset + last.length],  # killed between blocks
        "torn tail": small_capture[:-30],
        "unreadable": b"GIF89a" + small_capture[6:],
    }
    for verdict, data in cases.items():
        path.write_bytes(data)
        report = check_capture(path)
        assert report.verdict == verdict, (verdict, report.lines())
        assert report.ok == (verdict == "ok")
        assert report.lines()[-1] == f"verdict: {verdict}"
        assert all("\n" not in line for line in report.lines())


def test_trailing_garbage_is_damage(tmp_path, small_capture):
    path = path_or(small_capture + b"junk", tmp_path)
    assert check_capture(path).verdict == "damaged"


def test_repair_a_torn_file(tmp_path, small_capture, small_records):
    src = path_or(small_capture[:-200], tmp_path)
    out = tmp_path / "fixed.cap"
    report = repair_capture(src, out)
    assert report.torn_tail is not None and not report.damaged and not report.had_footer
    fixed = CaptureReader(out)
    got = list(fixed)
    assert got == small_records[: len(got)] and len(got) == report.messages + sum(
        type(r).__name__ == "Gap" for r in got
    )
    assert fixed.metadata == CaptureReader(src).metadata
    assert check_capture(out).verdict == "ok"


def test_repair_refuses_to_overwrite_its_input(tmp_path, small_capture):
    src = path_or(small_capture, tmp_path)
    with pytest.raises(P2pcapError, match="overwrite"):
        repair_capture(src, src)


def test_formats_imports_no_decoders_capture_or_cli():
    """Data flows one way (docs/DESIGN.md): formats knows bytes, not payloads or BPF."""
    code = (
        "import sys, p2pcap.formats; "
        "bad = [m for m in sys.modules if m.split('.')[0] in ('bcc', 'construct', 'click') "
        "or m.startswith(('p2pcap.decoders', 'p2pcap.capture', 'p2pcap.cli'))]; "
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_only_compress_imports_zstandard():
    from pathlib import Path

    import p2pcap.formats as formats

    users = [
        p.name for p in Path(formats.__file__).parent.glob("*.py") if "import zstandard" in p.read_text()
    ]
    assert users == ["compress.py"]


def test_doctests():
    import doctest
    import importlib

    for name in ("block", "check", "compress", "decoder", "index", "layout", "reader", "writer"):
        module = importlib.import_module(f"p2pcap.formats.{name}")
        result = doctest.testmod(module)
        assert result.failed == 0, name


def test_repair_counts_a_block_whose_header_is_damaged_from_the_footer(tmp_path, small_capture):
    from p2pcap.formats.records import GAP_DAMAGED

    reader = CaptureReader(path_or(small_capture, tmp_path))
    b = reader.index.blocks[3]
    data = bytearray(small_capture)
    data[b.offset + 10] ^= 0xFF  # inside the block header: its record count is lost with it
    src = tmp_path / "bad-header.cap"
    src.write_bytes(bytes(data))
    out = tmp_path / "out.cap"
    report = repair_capture(src, out)
    assert report.damaged[0].records is None and report.damaged[0].block_index == 3
    gaps = [r for r in CaptureReader(out) if type(r).__name__ == "Gap" and r.reason == GAP_DAMAGED]
    assert [g.lost_messages for g in gaps] == [b.records]


def test_repair_refuses_a_newer_minor(tmp_path):
    from test_layout_bytes import FILE

    from p2pcap.formats import UnsupportedVersion

    newer = FILE[:10] + b"\x02\x00" + FILE[12:]  # minor 2: newer than this p2pcap's 1.1
    import struct
    import zlib

    head_len = 41
    crc = struct.pack("<I", zlib.crc32(newer[: head_len - 4]))
    newer = newer[: head_len - 4] + crc + newer[head_len:]
    src = path_or(newer, tmp_path)
    assert CaptureReader(src).version == (1, 2)
    with pytest.raises(UnsupportedVersion, match="newer p2pcap"):
        repair_capture(src, tmp_path / "out.cap")
