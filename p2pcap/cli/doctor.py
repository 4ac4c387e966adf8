"""CLI command ``doctor``: a thin click layer over ``p2pcap.capture.preflight``
(registered by ``p2pcap.cli``)."""

from __future__ import annotations

import json
import sys

import click

from p2pcap.terminal import printable


@click.command()
@click.option("--pid", "pids", type=int, multiple=True, help="Check this process's probes (repeatable).")
@click.option("--exe", type=click.Path(dir_okay=False), help="Check this binary's probes.")
@click.option(
    "--json", "as_json", is_flag=True, help="One JSON object: {ok, checks: [{check, status, text}]}."
)
def doctor(pids, exe, as_json):
    """Check that this machine can record, and the target's probes, one line each.

    Privileges, kernel (ring buffer), BCC, kernel headers, tracefs, then
    the net:* probes of --pid / --exe (or of the one running dashd).
    Exit status 0 when nothing FAILs, 1 otherwise.

    \b
      sudo p2pcap doctor
      sudo p2pcap doctor --pid $(pidof dashd)
      p2pcap doctor --exe /usr/bin/dashd --json | jq .ok
    """
    from p2pcap.capture.preflight import FAIL, run_all

    checks = run_all(list(pids), exe)
    ok = all(check.status != FAIL for check in checks)
    if as_json:
        click.echo(json.dumps({"ok": ok, "checks": [check.as_dict() for check in checks]}))
    else:
        for check in checks:
            click.echo(printable(check.line(), backslash=False))  # names from the target's ELF notes
    sys.exit(0 if ok else 1)


def register(main: click.Group) -> None:
    main.add_command(doctor)
