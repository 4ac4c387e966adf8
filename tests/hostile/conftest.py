"""Fixtures for the hostile-capture tests: the captures, written once, and
each reader command run on one under its limits."""

from __future__ import annotations

import pytest

from .findings import FINDINGS, legit
from .limited import BUDGET, COMMANDS, SECONDS, arguments, baseline, problems, run_p2pcap

COMMAND_NAMES = [name for name, _ in COMMANDS]


@pytest.fixture(scope="session")
def hostile_files(tmp_path_factory):
    """``path(name)``: the finding's capture, built on first use."""
    folder = tmp_path_factory.mktemp("hostile")
    made: dict = {}

    def path(name: str):
        if name not in made:
            made[name] = folder / f"{name}.cap"
            made[name].write_bytes(FINDINGS[name]())
        return made[name]

    return path


@pytest.fixture(scope="session")
def address_space(tmp_path_factory):
    """``limit(command)``: 256 MB plus what the command reaches on a small,
    legitimate capture (its interpreter, libraries, thread stacks)."""
    folder = tmp_path_factory.mktemp("baseline")
    sample = folder / "legit.cap"
    sample.write_bytes(legit())
    known: dict = {}

    def limit(command: str) -> int:
        if command not in known:
            known[command] = BUDGET + baseline(dict(COMMANDS)[command], sample, folder)
        return known[command]

    return limit


@pytest.fixture
def run_limited(tmp_path, address_space):
    """``run(capture, command)``: the command on the capture in a child
    process under its limits; fails the test on any of ``problems``."""

    def run(capture, command: str, *, seconds: float = SECONDS):
        run = run_p2pcap(
            arguments(dict(COMMANDS)[command], capture, tmp_path),
            workdir=tmp_path,
            address_space=address_space(command),
        )
        bad = problems(run, tmp_path, seconds=seconds)
        assert not bad, f"{'; '.join(bad)}: {run.describe()}"
        return run

    return run
