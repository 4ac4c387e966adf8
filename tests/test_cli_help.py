"""``--help`` works for the group and every command, and shows an example."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from p2pcap.cli import main

COMMANDS = sorted(main.commands)


def test_the_analysis_commands_are_registered():
    assert {"show", "stats", "diff", "filter", "merge", "anonymize"} <= set(COMMANDS)


def test_the_recording_commands_are_registered():
    assert {"record", "doctor"} <= set(COMMANDS)


def test_group_help():
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    for name in COMMANDS:
        assert name in result.stdout


@pytest.mark.parametrize("name", COMMANDS)
def test_command_help_has_an_example(name):
    result = CliRunner().invoke(main, [name, "--help"])
    assert result.exit_code == 0, result.output
    assert f"p2pcap {name} " in result.stdout  # an example line
    assert "Traceback" not in result.output
