"""Strings that are not UTF-8 (peer address, connection type, command,
metadata host) come out of every writing command byte for byte: in
captures as the bytes they were, in JSON as escapes that read back as the
same string, in pcapng as the command's own bytes and ``\\xNN`` in
comments (issue 22: `repair` and `filter` died writing the footer)."""

from __future__ import annotations

import json

import pytest

from p2pcap.formats import CaptureReader, Message, check_capture

from .findings import ODD_ADDR, ODD_COMMAND, ODD_CONN, ODD_HOST, non_utf8_strings
from .limited import run_p2pcap


def raw(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape")


@pytest.fixture
def odd(tmp_path):
    path = tmp_path / "odd.cap"
    path.write_bytes(non_utf8_strings())
    return path


def p2pcap(tmp_path, *args):
    run = run_p2pcap([str(a) for a in args], workdir=tmp_path)
    assert run.status == 0 and "Traceback" not in run.stderr, run.describe()
    return run


@pytest.mark.parametrize(
    "args",
    [
        ["filter", "@", "-o", "{out}", "--direction", "in"],
        ["repair", "@", "-o", "{out}"],
        ["merge", "@", "@", "-o", "{out}"],
    ],
    ids=["filter", "repair", "merge"],
)
def test_captures_written_keep_the_bytes(tmp_path, odd, args):
    out = tmp_path / "out.cap"
    p2pcap(tmp_path, *[str(odd) if a == "@" else str(out) if a == "{out}" else a for a in args])
    reader = CaptureReader(out)
    assert reader.index is not None and check_capture(out).verdict == "ok"  # a footer, and a true one
    messages = [r for r in reader if type(r) is Message]
    assert messages and all(
        (raw(m.peer_addr), raw(m.conn_type), raw(m.command))
        == (raw(ODD_ADDR), raw(ODD_CONN), raw(ODD_COMMAND))
        for m in messages
    )
    hosts = [reader.metadata.get("host")] + [m.get("host") for m in reader.metadata.get("merged_from", [])]
    assert raw(ODD_HOST) in [raw(h) for h in hosts if isinstance(h, str)]
    assert {raw(p.addr) for p in reader.index.peers} == {raw(ODD_ADDR)}


def test_anonymize_keeps_the_bytes_it_does_not_replace(tmp_path, odd):
    out = tmp_path / "anon.cap"
    p2pcap(tmp_path, "anonymize", odd, "-o", out)
    messages = [r for r in CaptureReader(out) if type(r) is Message]
    assert {(raw(m.conn_type), raw(m.command)) for m in messages} == {(raw(ODD_CONN), raw(ODD_COMMAND))}
    assert all(not raw(m.peer_addr).startswith(b"10.0.0.7") for m in messages)


def test_json_lines_escape_what_round_trips(tmp_path, odd):
    out = tmp_path / "x.jsonl"
    p2pcap(tmp_path, "export", odd, "-o", out)
    rows = [json.loads(line) for line in out.read_text(encoding="ascii").splitlines()]
    messages = [r for r in rows if r["kind"] == "message"]
    assert len(messages) == 12
    for row in messages:
        assert (raw(row["peer_addr"]), raw(row["conn_type"]), raw(row["command"])) == (
            raw(ODD_ADDR),
            raw(ODD_CONN),
            raw(ODD_COMMAND),
        )


def test_pcapng_keeps_the_command_bytes_and_escapes_comments(tmp_path, odd):
    out = tmp_path / "x.pcapng"
    p2pcap(tmp_path, "export", odd, "-o", out)
    data = out.read_bytes()
    assert data.count(b"in\xc3v\0\0\0\0\0\0\0\0") == 12  # the v1 header's command field, as sent
    assert data.count(b"addr=10.0.0.7:\\xff\\xfe9999") == 12
    assert data.count(b"conn_type=in\\x80bound") == 12
    assert b"recorded on node-\\xe9\\xff" in data  # the section's comment


def test_framing_for_a_node_refuses_what_export_keeps():
    """``replay --to`` frames commands strictly: bytes that are not printable
    ASCII are refused, not sent as '?' (they were, before)."""
    from p2pcap.formats import FormatError
    from p2pcap.formats.v1 import encode_command

    with pytest.raises(FormatError, match="cannot be framed"):
        encode_command(ODD_COMMAND)
    assert encode_command(ODD_COMMAND, strict=False) == raw(ODD_COMMAND).ljust(12, b"\0")
    assert encode_command("x\0y", strict=False) == b"x?y".ljust(12, b"\0")  # a NUL would end the name


def test_pcapng_takes_the_largest_sizes_a_record_can_state():
    import io

    from p2pcap.formats.pcapng import PcapngWriter

    out = io.BytesIO()
    w = PcapngWriter(out, magic=bytes(4))
    w.write(Message((1 << 64) - 1, 0, 0, ODD_ADDR, ODD_CONN, "in", ODD_COMMAND, 0xFFFFFFFF, b"x"))
    assert w.messages == 1 and w.partial == 1
