"""The ``p2pcap`` command line: a thin click layer over the library.

Every user mistake surfaces as a ``P2pcapError`` and leaves as one line on
stderr, with the exit status of its kind; a traceback means a bug.  The
statuses are one table for every command (``p2pcap.errors``): 0 success
(and "same"), 1 a "no" (different, damaged input), 2 usage errors and
trouble, 130 interrupted.  This package is the only one that imports click:
``p2pcap.analysis`` answers in values and raises errors that name API
arguments, which ``Group`` names as flags.
"""

from __future__ import annotations

import contextlib
import errno
import gc
import os
import signal
import sys
from pathlib import Path

import click

from p2pcap.errors import EXIT_INTERRUPTED, EXIT_NO, EXIT_TROUBLE, ArgumentError, P2pcapError
from p2pcap.terminal import fallback_streams, page_width, printable, set_page_width

from .common import STATUS_KEY, UsageProblem, finish, skip_damaged_option, warn, wide_option
from .params import COMMANDS, DIRECTION, DISPLAY_FILTER, DURATION, PEER_ID, SIZE, kernel_filter

FILE = click.Path(dir_okay=False, path_type=Path)
EXISTING = click.Path(exists=True, dir_okay=False, path_type=Path)


# The collector runs every 700 new containers by default; a command reading a
# capture makes millions (records, decoded dicts), almost none in a cycle, and
# went through its whole heap again and again: a sixth of `show --json`.
GC_THRESHOLDS = (50_000, 20, 20)


class Failure(click.ClickException):
    """A ``P2pcapError`` on its way out: its one line, its kind's exit status."""

    def __init__(self, message: str, exit_code: int):
        super().__init__(message)
        self.exit_code = exit_code


class Group(click.Group):
    def main(self, *args, **kwargs):
        # A terminal (or PYTHONIOENCODING) that cannot carry "…" gets "...", never a traceback.
        fallback_streams(sys.stdout, sys.stderr)
        return super().main(*args, **kwargs)

    def invoke(self, ctx):
        gc.set_threshold(*GC_THRESHOLDS)
        set_page_width(page_width(sys.stdout))  # every command's tables; -w widens show, stats, diff
        try:
            result = super().invoke(ctx)
            sys.stdout.flush()  # a full disk shows here, not after the exit status is decided
            return result
        except ArgumentError as exc:
            raise Failure(
                printable(exc.named(_flag(ctx, exc.argument)), backslash=False), exc.exit_status
            ) from None
        except P2pcapError as exc:
            raise Failure(printable(str(exc), backslash=False), exc.exit_status) from None
        except click.exceptions.Exit as exc:
            _flush_stdout(ctx, exc.exit_code)
            raise
        except KeyboardInterrupt:
            # Ctrl-C: what was printed stays printed; files being written were
            # left as they were (p2pcap.outputs); the status says "interrupted".
            with contextlib.suppress(OSError):
                sys.stdout.flush()
            ctx.exit(EXIT_INTERRUPTED)
        except OSError as exc:
            _stdout_failed(ctx, exc, ctx.meta.get(STATUS_KEY, 0))
            raise


def _flush_stdout(ctx, status: int) -> None:
    try:
        sys.stdout.flush()
    except OSError as exc:
        _stdout_failed(ctx, exc, status)


def _stdout_failed(ctx, exc: OSError, status: int) -> None:
    """A write to standard output failed: quiet for a closed pipe, one line
    and exit 2 for a full disk or an I/O error.  Returns only for an OSError
    that is not about standard output (a bug, or a path's, which keeps its
    traceback)."""
    if exc.filename is not None:
        return
    # Later flushes (at exit) go nowhere instead of failing again.
    with contextlib.suppress(OSError, ValueError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    if exc.errno == errno.EPIPE:
        # `p2pcap show run.cap | head`: the reader left; that is fine.
        ctx.exit(status)
    raise Failure(f"standard output: cannot write: {exc.strerror or exc}", EXIT_TROUBLE) from None


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
@click.argument("command", nargs=-1, type=click.UNPROCESSED, metavar="[-- COMMAND [ARG]...]")
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
    "--type",
    "types",
    type=COMMANDS,
    multiple=True,
    help="Only these commands (kernel-side; repeatable or comma list).",
)
@click.option(
    "--peer", "peers", type=PEER_ID, multiple=True, help="Only this peer id (kernel-side; repeatable)."
)
@click.option(
    "--direction", type=DIRECTION, metavar="in|out", help="Only inbound or outbound messages (kernel-side)."
)
@click.option(
    "-Y",
    "--filter",
    "--display-filter",
    "display_filter",
    type=DISPLAY_FILTER,
    metavar="EXPR",
    help="A display filter of command, peer.id and dir (kernel-side), e.g. "
    "'command in {inv tx} && dir == \"in\"'.",
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
@click.option(
    "--user",
    metavar="NAME",
    help="Create files (and run COMMAND) as this user (default: who ran sudo; 'root' keeps root).",
)
@click.option(
    "--metrics",
    metavar="HOST:PORT",
    callback=lambda ctx, param, value: _listen_address(param, value),
    help="Serve Prometheus metrics at http://HOST:PORT/metrics while recording "
    "(127.0.0.1:9435, [::1]:9435; :9435 is every interface).",
)
def record(
    output,
    command,
    user,
    pids,
    exe,
    duration,
    count,
    snaplen,
    types,
    peers,
    direction,
    display_filter,
    rotate_size,
    rotate_time,
    buffer_size,
    metrics,
):
    """Record messages from a node's net:* tracepoints (needs root).

    Without --pid, --exe or a COMMAND, records the one running dashd.
    After --, starts COMMAND once its probes are attached and records it
    until it exits.  Files rotate as run.cap, run.cap.1, ... or by a
    strftime pattern.  Under sudo every file is created by the user who
    ran sudo, never through a symbolic link.

    \b
      sudo p2pcap record -o run.cap --pid $(pidof dashd)      # Ctrl-C to stop
      sudo p2pcap record -o run.cap -- dashd -regtest -datadir=/tmp/n0
      sudo p2pcap record -o run.cap --exe /usr/bin/dashd --duration 1h
      sudo p2pcap record -o 'run-%Y%m%dT%H%M%S.cap' --rotate-time 1h
      sudo p2pcap record -o - --type inv,tx | p2pcap show -
      sudo p2pcap record -o run.cap -Y 'command in {inv getdata tx} && peer.id == 3'
      sudo p2pcap record -o run.cap --metrics 127.0.0.1:9435   # docs/METRICS.md
    """
    types, peers, direction = kernel_filter(display_filter, types, peers, direction)
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
        user=user,
        command=command,
        metrics=metrics,
        on_listening=lambda text: click.echo(text, err=True),
        on_status=status.show if status else None,
        on_note=status.note if status else lambda text: click.echo(f"p2pcap: {text}", err=True),
    )
    if status:
        status.end()
    if len(summary.files) > 1:
        click.echo(f"wrote {len(summary.files)} files: {summary.files[0]} ... {summary.files[-1]}", err=True)
    click.echo(summary.line(), err=True)
    if summary.signal == signal.SIGINT:
        # Ctrl-C: the capture is closed and whole; the status says it was interrupted.
        click.get_current_context().exit(EXIT_INTERRUPTED)


def _listen_address(param, value):
    """``--metrics``'s HOST:PORT as (host, port); a bad one is one line, exit 2."""
    if value is None:
        return None
    from p2pcap.capture.metrics import parse_listen

    try:
        return parse_listen(value)
    except ArgumentError as exc:
        raise UsageProblem(exc.named(param.opts[0])) from None


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
@click.option(
    "-t",
    "--time-format",
    "times",
    type=click.Choice(["u", "ud", "a", "ad", "r", "d"]),
    default="u",
    help="As tshark -t: u UTC (default), ud UTC with date, a/ad local, r since the first, d since the previous.",
)
@click.option(
    "--network",
    type=click.Choice(["mainnet", "testnet", "devnet", "regtest"]),
    help="Decode as this network's (address prefixes); default: the capture's own.",
)
@wide_option
def show(
    file,
    limit,
    json_lines,
    hex_payload,
    verbose,
    follow,
    no_decode,
    protocol_version,
    times,
    network,
    wide,
    **filters,
):
    """List and decode the messages of a capture (FILE, or - / nothing for stdin).

    \b
      p2pcap show run.cap
      p2pcap show run.cap --type inv,getdata --direction in --since +30s
      p2pcap show run.cap --where inv.type=MSG_CLSIG -v
      p2pcap show run.cap -Y 'object.type == MSG_ISDLOCK && dir == "in"'
      p2pcap show run.cap --type inv --json | jq .decoded
      p2pcap record -o - --pid $(pidof dashd) | p2pcap show --type inv
    """
    from p2pcap.cli.render import page_width, set_page_width
    from p2pcap.cli.show import show_capture, want_color

    stdout = sys.stdout
    color = want_color(stdout)
    set_page_width(page_width(stdout, wide=wide))
    problems = []
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
        times=times,
        network=network,
        out=lambda text: stdout.write(text + "\n"),
        flush=stdout.flush,
        warn=problems.append,
        note=warn,
    )
    stdout.flush()
    finish(problems)


@main.command()
@click.argument("file", type=EXISTING)
def check(file):
    """Verify every block of a capture and print a verdict.

    \b
      p2pcap check run.cap
    Exit status 0 when the file is whole, 1 when it is damaged or cut
    short, 2 when it is not a capture.
    """
    from p2pcap.formats import check_capture

    report = check_capture(file)
    for line in report.lines():
        click.echo(printable(line, backslash=False))
    if report.fatal is not None:
        sys.exit(report.fatal.exit_status)  # not a capture at all: trouble (2); a broken header: 1
    if not report.ok:
        sys.exit(EXIT_NO)


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
    from p2pcap.outputs import atomic_file

    check_output([file], output)
    with atomic_file(output) as f, writing(output):
        report = repair_capture(file, f)
    click.echo(str(report))


# The commands of the other modules, added after the group exists (they
# import nothing heavy: each command imports what it runs when it runs).
from p2pcap.cli import analyze, conversations, convert, doctor, fields, fleet, top  # noqa: E402

for _module in (convert, analyze, doctor, fleet, conversations, fields, top):
    _module.register(main)
