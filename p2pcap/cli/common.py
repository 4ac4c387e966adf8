"""What every command shares: warnings on stderr, and the verdict on its inputs.

A reader command prints everything intact in its inputs, then names each
problem the analysis found (``p2pcap.analysis.source.InputProblem``: a
damaged block, a torn tail, no footer) on its own stderr line, and exits 1:
the output is not the whole recording.  ``tar`` and ``gzip`` do the same.
"""

from __future__ import annotations

import click


def warn(line) -> None:
    """One line on stderr, ``p2pcap: `` first."""
    click.echo(f"p2pcap: {line}", err=True)


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
