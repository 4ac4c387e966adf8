"""The ``p2pcap`` command line: a thin click layer over the library.

Every user mistake surfaces as a ``P2pcapError`` and leaves as one line on
stderr with exit status 1 (STYLE.md §4-5); a traceback means a bug.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from .errors import P2pcapError

FILE = click.Path(dir_okay=False, path_type=Path)
EXISTING = click.Path(exists=True, dir_okay=False, path_type=Path)


class Group(click.Group):
    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except P2pcapError as exc:
            raise click.ClickException(str(exc)) from None
        except BrokenPipeError:
            # `p2pcap show run.cap | head`: the reader left; that is fine.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            ctx.exit(0)


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="p2pcap")
def main():
    """Record and inspect the P2P messages of a Dash Core node.

    \b
      p2pcap record -o run.cap --pid $(pidof dashd)
      p2pcap show run.cap --type inv
    """


@main.command()
@click.option("-o", "--output", type=FILE, required=True, help="Capture file to write.")
@click.option("--pid", "pids", type=int, multiple=True, help="Record this process (repeatable).")
@click.option("--exe", type=click.Path(dir_okay=False), help="Record every process of this binary.")
@click.option("--duration", type=float, help="Stop after this many seconds.")
@click.option("--count", type=int, help="Stop after this many messages.")
@click.option("--snaplen", type=click.IntRange(min=0), help="Keep at most this many payload bytes per message.")
@click.option("--type", "types", multiple=True, help="Only these commands (kernel-side; repeatable or comma list).")
@click.option("--peer", "peers", type=int, multiple=True, help="Only this peer id (kernel-side; repeatable).")
@click.option("--direction", type=click.Choice(["in", "out"]), help="Only inbound or outbound messages.")
@click.option("--buffer-size", type=click.IntRange(min=4096), help="Ring buffer bytes (power of two pages).")
def record(output, pids, exe, duration, count, snaplen, types, peers, direction, buffer_size):
    """Record messages from a running node's net:* tracepoints (needs root).

    \b
      p2pcap record -o run.cap --pid $(pidof dashd)      # Ctrl-C to stop
      p2pcap record -o run.cap --exe /usr/bin/dashd --duration 60
    """
    from .recording import record_to_file

    summary = record_to_file(
        output, pids=list(pids), exe=exe, duration=duration, count=count, snaplen=snaplen,
        types=types, peers=peers, direction=direction, buffer_size=buffer_size,
        on_listening=lambda text: click.echo(text, err=True),
    )
    click.echo(summary.line(), err=True)


@main.command()
@click.argument("file", type=EXISTING)
@click.option("--type", "types", multiple=True, help="Only these commands (repeatable or comma list).")
@click.option("--peer", "peers", multiple=True, help="Only this peer id or address (repeatable).")
@click.option("--direction", type=click.Choice(["in", "out"]), help="Only inbound or outbound messages.")
@click.option("--limit", type=click.IntRange(min=0), help="Stop after this many messages.")
@click.option("--json", "json_lines", is_flag=True, help="One JSON object per line.")
@click.option("--hex", "hex_payload", is_flag=True, help="Add the payload as hex (payload_hex in JSON).")
@click.option("--skip-damaged", is_flag=True, help="Skip blocks that fail their checksum and go on.")
def show(file, types, peers, direction, limit, json_lines, hex_payload, skip_damaged):
    """List and decode the messages of a capture.

    \b
      p2pcap show run.cap
      p2pcap show run.cap --type inv,getdata --direction in
      p2pcap show run.cap --type inv --json | jq .decoded
    """
    from .showing import show_capture

    color = sys.stdout.isatty() and "NO_COLOR" not in os.environ
    show_capture(
        file, types=types, peers=peers, direction=direction, limit=limit, json_lines=json_lines,
        hex_payload=hex_payload, skip_damaged=skip_damaged, color=color,
        out=lambda line: click.echo(line), warn=lambda line: click.echo(f"p2pcap: {line}", err=True),
    )


@main.command()
@click.argument("file", type=EXISTING)
def check(file):
    """Verify every block of a capture and print a verdict.

    \b
      p2pcap check run.cap
    Exit status 0 when the file is whole, 1 when it is damaged or cut short.
    """
    from .formats import check_capture

    report = check_capture(file)
    click.echo(report.verdict() if hasattr(report, "verdict") else str(report))
    if not report.ok:
        sys.exit(1)


@main.command()
@click.argument("file", type=EXISTING)
@click.option("-o", "--output", type=FILE, required=True, help="Repaired capture to write.")
def repair(file, output):
    """Write the intact blocks of a damaged or cut capture, with a fresh footer.

    \b
      p2pcap repair broken.cap -o fixed.cap
    """
    from .formats import repair_capture

    if Path(output).resolve() == Path(file).resolve():
        raise P2pcapError(f"{output}: the output must not be the input")
    report = repair_capture(file, output)
    click.echo(str(report))
