"""The ``p2pcap`` command line: a thin click layer over the library.

Every user mistake surfaces as a ``P2pcapError`` and leaves as one line on
stderr with exit status 1; a traceback means a bug.  This package is the
only one that imports click: ``p2pcap.analysis`` answers in values and
raises errors that name API arguments, which ``Group`` names as flags.
"""

from __future__ import annotations

import gc
import os
import sys
from pathlib import Path

import click

from p2pcap.errors import ArgumentError, P2pcapError

from .common import finish, skip_damaged_option
from .params import DURATION, SIZE

FILE = click.Path(dir_okay=False, path_type=Path)
EXISTING = click.Path(exists=True, dir_okay=False, path_type=Path)


# The collector runs every 700 new containers by default; a command reading a
# capture makes millions (records, decoded dicts), almost none in a cycle, and
# went through its whole heap again and again: a sixth of `show --json`.
GC_THRESHOLDS = (50_000, 20, 20)


class Group(click.Group):
    def invoke(self, ctx):
        gc.set_threshold(*GC_THRESHOLDS)
        try:
            return super().invoke(ctx)
        except ArgumentError as exc:
            raise click.ClickException(exc.named(_flag(ctx, exc.argument))) from None
        except P2pcapError as exc:
            raise click.ClickException(str(exc)) from None
        except BrokenPipeError:
            # `p2pcap show run.cap | head`: the reader left; that is fine.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            ctx.exit(0)


def _flag(ctx, argument: str | None) -> str | None:
    """The option of the running command that sets ``argument`` (``--network``)."""
    if argument is None:
        return None
    sub = ctx.invoked_subcommand
    command = ctx.command.get_command(ctx, sub) if sub else None
    for param in getattr(command, "params", ()):
        if isinstance(param, click.Option) and param.name in (argument, argument + "s"):
            return param.opts[0]  # as declared: -o, --network
    return "--" + argument.replace("_", "-")


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="p2pcap")
def main():
    """Record and inspect the P2P messages of a Dash Core node.

    \b
      p2pcap record -o run.cap --pid $(pidof dashd)
      p2pcap show run.cap --type inv
    """


@main.command()
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False, allow_dash=True),
    help="Capture file to write; '-' for stdout; a strftime pattern with rotation.",
)
@click.option("--pid", "pids", type=int, multiple=True, help="Record this process (repeatable).")
@click.option(
    "--exe",
    type=click.Path(dir_okay=False),
    help="Record every process of this binary, also ones started later.",
)
@click.option("--duration", type=DURATION, metavar="TIME", help="Stop after this long (30, 30s, 10m, 1h).")
@click.option("--count", type=click.IntRange(min=1), help="Stop after this many messages.")
@click.option(
    "--snaplen", type=click.IntRange(min=0), help="Keep at most this many payload bytes per message."
)
@click.option(
    "--type", "types", multiple=True, help="Only these commands (kernel-side; repeatable or comma list)."
)
@click.option("--peer", "peers", type=int, multiple=True, help="Only this peer id (kernel-side; repeatable).")
@click.option(
    "--direction", type=click.Choice(["in", "out"]), help="Only inbound or outbound messages (kernel-side)."
)
@click.option(
    "--rotate-size", type=SIZE, metavar="SIZE", help="Start a new file after this many bytes (100M, 1G)."
)
@click.option(
    "--rotate-time", type=DURATION, metavar="TIME", help="Start a new file after this long (10m, 1h)."
)
@click.option(
    "--buffer-size", type=SIZE, metavar="SIZE", help="Ring buffer size, a power of two (default 64M)."
)
def record(
    output,
    pids,
    exe,
    duration,
    count,
    snaplen,
    types,
    peers,
    direction,
    rotate_size,
    rotate_time,
    buffer_size,
):
    """Record messages from a running node's net:* tracepoints (needs root).

    Without --pid or --exe, records the one running dashd.  Files rotate
    as run.cap, run.cap.1, ... or by a strftime pattern.

    \b
      sudo p2pcap record -o run.cap --pid $(pidof dashd)      # Ctrl-C to stop
      sudo p2pcap record -o run.cap --exe /usr/bin/dashd --duration 1h
      sudo p2pcap record -o 'run-%Y%m%dT%H%M%S.cap' --rotate-time 1h
      sudo p2pcap record -o - --type inv,tx | p2pcap show -
    """
    from p2pcap.capture import record_to_file

    status = _StatusLine() if sys.stderr.isatty() else None
    summary = record_to_file(
        output,
        pids=list(pids),
        exe=exe,
        count=count,
        snaplen=snaplen,
        types=types,
        peers=peers,
        direction=direction,
        duration=duration,
        buffer_size=buffer_size,
        rotate_size=rotate_size,
        rotate_time=rotate_time,
        on_listening=lambda text: click.echo(text, err=True),
        on_status=status.show if status else None,
        on_note=status.note if status else lambda text: click.echo(f"p2pcap: {text}", err=True),
    )
    if status:
        status.end()
    if len(summary.files) > 1:
        click.echo(f"wrote {len(summary.files)} files: {summary.files[0]} ... {summary.files[-1]}", err=True)
    click.echo(summary.line(), err=True)


class _StatusLine:
    """``record``'s live line on a terminal, rewritten in place (``\\r``)."""

    def __init__(self):
        self.shown = False

    def show(self, text: str) -> None:
        click.echo(f"\r{text}\x1b[K", err=True, nl=False)
        self.shown = True

    def note(self, text: str) -> None:
        self.end()
        click.echo(f"p2pcap: {text}", err=True)

    def end(self) -> None:
        if self.shown:
            click.echo("\r\x1b[K", err=True, nl=False)
            self.shown = False


from p2pcap.cli.params import filter_options as _filter_options  # noqa: E402
from p2pcap.cli.params import pop_filter as _pop_filter


@main.command()
@click.argument(
    "file", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path, allow_dash=True)
)
@_filter_options
@click.option("-c", "--limit", type=click.IntRange(min=0), help="Stop after this many messages.")
@click.option("--json", "json_lines", is_flag=True, help="One JSON object per line.")
@click.option("-x", "--hex", "hex_payload", is_flag=True, help="Add a hex dump (payload_hex in JSON).")
@click.option("-v", "--verbose", is_flag=True, help="Print the whole decoded tree under each row.")
@click.option("-f", "--follow", is_flag=True, help="Keep reading a capture that is still being written.")
@skip_damaged_option
@click.option("-n", "--no-decode", is_flag=True, help="Metadata only: leave payloads undecoded (fast).")
@click.option(
    "--protocol-version",
    type=click.IntRange(min=1),
    metavar="N",
    help="Decode peers whose version handshake is not in the capture with this protocol "
    "version (default: the newest known).",
)
def show(file, limit, json_lines, hex_payload, verbose, follow, no_decode, protocol_version, **filters):
    """List and decode the messages of a capture (FILE, or - / nothing for stdin).

    \b
      p2pcap show run.cap
      p2pcap show run.cap --type inv,getdata --direction in --since +30s
      p2pcap show run.cap --where inv.type=MSG_CLSIG -v
      p2pcap show run.cap --type inv --json | jq .decoded
      p2pcap record -o - --pid $(pidof dashd) | p2pcap show --type inv
    """
    from p2pcap.cli.show import show_capture, want_color

    stdout = sys.stdout
    color = want_color(stdout)
    problems = []
    try:
        show_capture(
            file,
            _pop_filter(filters),
            limit=limit,
            json_lines=json_lines,
            hex_payload=hex_payload,
            verbose=verbose,
            follow=follow,
            color=color,
            decode=not no_decode,
            protocol_version=protocol_version,
            out=lambda text: stdout.write(text + "\n"),
            flush=stdout.flush,
            warn=problems.append,
        )
    except KeyboardInterrupt:
        if not follow:
            raise
    stdout.flush()
    finish(problems)


@main.command()
@click.argument("file", type=EXISTING)
def check(file):
    """Verify every block of a capture and print a verdict.

    \b
      p2pcap check run.cap
    Exit status 0 when the file is whole, 1 when it is damaged or cut short.
    """
    from p2pcap.formats import check_capture

    report = check_capture(file)
    click.echo(str(report))
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
    from p2pcap.analysis.source import check_output, writing
    from p2pcap.formats import repair_capture

    check_output([file], output)
    with writing(output):
        report = repair_capture(file, output)
    click.echo(str(report))


# The commands of the other modules, added after the group exists (they
# import nothing heavy: each command imports what it runs when it runs).
from p2pcap.cli import analyze, convert, doctor, fleet  # noqa: E402

for _module in (convert, analyze, doctor, fleet):
    _module.register(main)
