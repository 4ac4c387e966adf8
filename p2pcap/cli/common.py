"""What every command shares: warnings on stderr, and the verdict on its inputs.

A reader command prints everything intact in its inputs, then names each
problem the analysis found (``p2pcap.analysis.source.InputProblem``: a
damaged block, a torn tail, no footer) on its own stderr line, and exits 1:
the output is not the whole recording.  ``tar`` and ``gzip`` do the same.
"""

from __future__ import annotations

import click

from p2pcap.errors import EXIT_TROUBLE
from p2pcap.terminal import printable

# What a command has decided its exit status will be, for when standard
# output closes under it (diff knows "different" before it prints).
STATUS_KEY = "p2pcap.status"


class UsageProblem(click.ClickException):
    """A value the user typed cannot be used: one line, exit status 2 (click's
    own usage errors, which take three lines, exit 2 as well)."""

    exit_code = EXIT_TROUBLE


def warn(line) -> None:
    """One line on stderr, ``p2pcap: `` first (escaped: it may quote a capture's strings)."""
    click.echo(f"p2pcap: {printable(str(line), backslash=False)}", err=True)


def finish(problems, *, status: int = 1) -> None:
    """Print each input problem on stderr and, if there were any, end the command with ``status``."""
    for problem in problems:
        warn(problem)
    if problems:
        click.get_current_context().exit(status)


# Damaged blocks are always skipped and named now; the flag stays so that
# scripts written for it keep working.
skip_damaged_option = click.option(
    "--skip-damaged",
    is_flag=True,
    hidden=True,
    expose_value=False,
    help="No effect: damaged blocks are always skipped, named on stderr, and make the exit status 1.",
)


# Tables fit the terminal; piped, or with -w, nothing is cut (ps -w).
wide_option = click.option(
    "-w", "--wide", is_flag=True, help="Never cut a row to the terminal's width (piped output never is)."
)
