"""Every reader command on a damaged or unclosed capture, tried as a user would.

As ``tar`` and ``gzip`` do: everything intact is read and written out, each
damaged block is named on stderr (file, block, offset, what failed, records
lost), a capture without a footer is said not to have ended cleanly and up to
which time it is whole, and the exit status is not 0.  The damage is made the
way it happens: one flipped byte inside a block, and a writer that never
closed its file (the recorder killed).
"""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

from p2pcap.cli import main
from p2pcap.formats import CaptureReader

from .captures import STEP, T0, sample_messages, write_capture

MESSAGES = sample_messages()


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture(scope="module")
def damaged(tmp_path_factory):
    """(path, block 0's offset, records lost, intact message count): the sample in
    several small blocks, one byte of block 0's compressed body flipped."""
    folder = tmp_path_factory.mktemp("damaged")
    whole = write_capture(folder / "whole.cap", MESSAGES, block_size=512)
    with CaptureReader(whole) as reader:
        blocks = list(reader.blocks())
    assert len(blocks) >= 3, "the sample must span several blocks for this test"
    first = blocks[0]
    data = bytearray(whole.read_bytes())
    data[first.offset + first.length - 8] ^= 0x40  # inside the body, before its checksum
    path = folder / "flipped.cap"
    path.write_bytes(bytes(data))
    return path, first.offset, first.records, len(MESSAGES) - first.records


@pytest.fixture(scope="module")
def unclosed(tmp_path_factory):
    """The sample written and flushed but never closed: blocks, no footer."""
    return write_capture(
        tmp_path_factory.mktemp("unclosed") / "killed.cap", MESSAGES, close=False, block_size=512
    )


def damage_line(path, offset, lost) -> re.Pattern:
    return re.compile(
        rf"^p2pcap: {re.escape(str(path))}: block 0 at offset {offset}: [^\n]+: "
        rf"block skipped; {lost} records lost$",
        re.M,
    )


UNCLOSED_TAIL = ": the recording did not end cleanly (no footer): complete up to "
LAST = "2023-11-14T22:13:23.600000000Z"  # the 37th message, T0 + 36 * STEP


def test_the_fixture_times_are_what_the_assertions_say():
    assert T0 + (len(MESSAGES) - 1) * STEP == 1_700_000_003_600_000_000 and len(MESSAGES) == 37


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


def messages_in(path) -> int:
    with CaptureReader(path) as reader:
        return sum(1 for r in reader.records(gaps=False))


# -- show and replay: the intact records on stdout -----------------------------------
@pytest.mark.parametrize("command", [["show", "--json"], ["replay", "--no-pacing"]])
def test_viewers_show_every_intact_message_and_name_the_damage(damaged, command):
    path, offset, lost, intact = damaged
    result = run(command[0], path, *command[1:])
    assert result.exit_code == 1
    rows = [r for r in json_lines(result.stdout) if not r.get("gap")]
    assert len(rows) == intact and rows[-1]["command"] == MESSAGES[-1][4]
    assert damage_line(path, offset, lost).search(result.stderr), result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize("command", [["show", "--json"], ["replay", "--no-pacing"]])
def test_viewers_say_an_unclosed_capture_did_not_end_cleanly(unclosed, command):
    result = run(command[0], unclosed, *command[1:])
    assert result.exit_code == 1
    assert len([r for r in json_lines(result.stdout) if not r.get("gap")]) == len(MESSAGES)
    assert result.stderr == f"p2pcap: {unclosed}{UNCLOSED_TAIL}{LAST}\n"


def test_a_limited_view_does_not_claim_a_missing_footer(unclosed):
    # -c 3 stops before the end: whether the file has a footer is not known.
    result = run("show", unclosed, "-c", "3")
    assert result.exit_code == 0 and result.stderr == ""


# -- writers: the intact records in the output file -----------------------------------
@pytest.mark.parametrize(
    "command, out_name, count",
    [
        (["filter"], "out.cap", messages_in),
        (["anonymize"], "out.cap", messages_in),
        (["merge"], "out.cap", messages_in),
        (
            ["export", "--format", "jsonl"],
            "out.jsonl",
            lambda p: sum(1 for r in json_lines(p.read_text()) if r["kind"] == "message"),
        ),
    ],
)
def test_writers_keep_every_intact_message_and_name_the_damage(damaged, tmp_path, command, out_name, count):
    path, offset, lost, intact = damaged
    out = tmp_path / out_name
    result = run(command[0], path, "-o", out, *command[1:])
    assert result.exit_code == 1, result.output
    assert count(out) == intact
    assert damage_line(path, offset, lost).search(result.stderr), result.stderr


def test_pcapng_export_of_a_damaged_capture(damaged, tmp_path):
    path, offset, lost, intact = damaged
    out = tmp_path / "out.pcapng"
    result = run("export", path, "-o", out)
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0].startswith(f"{out}: {intact} messages")
    assert damage_line(path, offset, lost).search(result.stderr), result.stderr


@pytest.mark.parametrize("command", [["filter"], ["anonymize"], ["merge"], ["export", "--format", "jsonl"]])
def test_writers_say_an_unclosed_input_did_not_end_cleanly(unclosed, tmp_path, command):
    out = tmp_path / ("out.jsonl" if command[0] == "export" else "out.cap")
    result = run(command[0], unclosed, "-o", out, *command[1:])
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == f"p2pcap: {unclosed}{UNCLOSED_TAIL}{LAST}"


# -- stats and diff --------------------------------------------------------------------
def test_stats_counts_the_intact_blocks_and_names_the_damage(damaged):
    path, offset, lost, intact = damaged
    result = run("stats", path, "--json", "--scan")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["messages"] == intact
    assert damage_line(path, offset, lost).search(result.stderr), result.stderr


def test_stats_of_an_unclosed_capture(unclosed):
    result = run("stats", unclosed, "--json")
    assert result.exit_code == 1 and json.loads(result.stdout)["messages"] == len(MESSAGES)
    assert result.stderr == f"p2pcap: {unclosed}{UNCLOSED_TAIL}{LAST}\n"


def test_diff_against_a_damaged_capture_is_trouble(damaged, tmp_path):
    path, offset, lost, intact = damaged
    whole = write_capture(tmp_path / "whole.cap", MESSAGES, block_size=512)
    result = run("diff", whole, path, "--json")
    assert result.exit_code == 2  # diff(1): trouble, though the difference is printed
    rows = json_lines(result.stdout)
    assert rows[0]["a"]["messages"] == len(MESSAGES) and rows[0]["b"]["messages"] == intact
    assert rows[-1] == {"type": "result", "different": True, "exit": 2}
    assert damage_line(path, offset, lost).search(result.stderr), result.stderr


def test_diff_of_two_whole_captures_says_nothing_on_stderr(tmp_path):
    a = write_capture(tmp_path / "a.cap", MESSAGES)
    b = write_capture(tmp_path / "b.cap", MESSAGES)
    result = run("diff", a, b)
    assert result.exit_code == 0 and result.stderr == ""


def test_skip_damaged_is_still_accepted(damaged):
    path, offset, lost, intact = damaged
    result = run("show", path, "--skip-damaged", "-n")
    assert result.exit_code == 1 and damage_line(path, offset, lost).search(result.stderr)
