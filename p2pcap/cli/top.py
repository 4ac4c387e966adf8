"""``p2pcap top``: a live view of a node's peers, one row each (like top(1)).

It reads a capture stream as it is written: ``record -o -`` run as a
subprocess (``--pid``, ``--exe``, a COMMAND to start, or nothing: the one
running dashd), or a pipe (``top -``), or a capture file still being
written.  A reader thread feeds ``p2pcap.analysis.toptable.TopTable``; the
main thread draws it with Rich twice a second and reads keys from the
terminal (``/dev/tty``, so that standard input can be the pipe).  ``-b``
prints plain tables instead, as ``top -b`` does, for scripts and logs.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from pathlib import Path

import click

from p2pcap.analysis.toptable import SORT_KEYS, TopTable
from p2pcap.errors import ArgumentError, P2pcapError
from p2pcap.terminal import printable

SORTS = list(SORT_KEYS)
HELP_KEYS = "up/down select  enter detail  s/S sort  r reverse  q quit"


class _Pipe:
    """The recorder's stdout as the reader wants a pipe: ``read`` returns what is there."""

    name = "<record -o ->"

    def __init__(self, stream):
        self._stream = stream

    def read(self, n: int = -1) -> bytes:
        return self._stream.read1(n) if n > 0 else self._stream.read()

    def seekable(self) -> bool:
        return False

    def close(self) -> None:
        pass


class Feed:
    """Records from a source into a ``TopTable``, on a thread of its own."""

    def __init__(self, table: TopTable, reader, label: str):
        self.table, self.reader, self.label = table, reader, label
        self.lock = threading.Lock()
        self.ended = False
        self.error: str | None = None
        self.thread = threading.Thread(target=self._run, name="p2pcap-top-reader", daemon=True)

    def _run(self) -> None:
        add, lock = self.table.add_block, self.lock
        try:
            # A block at a time (records() would take the lock per record).
            for records in self.reader.rendered_blocks(lambda *_args: None):
                with lock:
                    add(records)
        except P2pcapError as exc:
            self.error = str(exc)
        except (OSError, ValueError) as exc:  # the pipe closed under us at exit
            self.error = str(exc)
        finally:
            self.ended = True


def _open_source(words, pids, exe, stderr_lines, echo=None):
    """(reader, label, recorder process or None) for the source the options name."""
    from p2pcap.analysis.source import open_input

    if not pids and not exe and len(words) == 1 and (words[0] == "-" or Path(words[0]).is_file()):
        path = words[0]
        if path == "-":
            reader, _seekable = open_input("-")
            return reader, "<stdin>", None
        reader, _seekable = open_input(path, follow=True)
        return reader, path, None
    cmd = [sys.executable, "-m", "p2pcap", "record", "-o", "-"]
    for pid in pids:
        cmd += ["--pid", str(pid)]
    if exe:
        cmd += ["--exe", exe]
    if words:
        cmd += ["--", *words]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)

    def pump():
        for line in proc.stderr:
            text = line.decode("utf-8", "replace").rstrip()
            stderr_lines.append(text)
            if echo is not None:
                echo(text)

    proc.pump = threading.Thread(target=pump, name="p2pcap-top-recorder-stderr", daemon=True)
    proc.pump.start()
    from p2pcap.formats import open_capture

    try:
        reader = open_capture(_Pipe(proc.stdout), skip_damaged=True)
    except P2pcapError:
        proc.wait(30)
        time.sleep(0.1)
        raise ArgumentError(
            None, "the recorder stopped: " + (stderr_lines[-1] if stderr_lines else "no output")
        ) from None
    label = "record " + " ".join(cmd[cmd.index("-") + 1 :])
    return reader, label, proc


def _stop(proc) -> None:
    if proc is None:
        return
    if proc.poll() is not None:
        proc.pump.join(5)
        return
    proc.send_signal(signal.SIGINT)  # the recorder closes its stream whole
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    proc.pump.join(5)  # its last lines (the summary) are read before they are printed


def _rate(x: float) -> str:
    return f"{x:.0f}" if x >= 100 else f"{x:.1f}"


def _bytes(x: float) -> str:
    for unit in ("", "k", "M", "G"):
        if x < 1000:
            return f"{x:.0f}{unit}" if not unit else f"{x:.1f}{unit}"
        x /= 1000
    return f"{x:.1f}T"


COLUMNS = (
    "peer",
    "address",
    "type",
    "in/s",
    "out/s",
    "inB/s",
    "outB/s",
    "last",
    "ping_ms",
    "lost",
    "version",
)


def row_cells(row, several: bool) -> list[str]:
    ping = "-" if row.ping_ns is None else f"{row.ping_ns / 1e6:.1f}"
    return [
        f"{row.pid}:{row.peer_id}" if several else str(row.peer_id),
        printable(row.addr),
        printable(row.conn_type),
        _rate(row.rate_in),
        _rate(row.rate_out),
        _bytes(row.byte_rate_in),
        _bytes(row.byte_rate_out),
        printable(row.last_command),
        ping,
        str(row.losses),
        printable(row.version) or "-",
    ]


def header_line(table: TopTable, feed: Feed, rows, sort: str, reverse: bool) -> str:
    rin = sum(r.rate_in for r in rows)
    rout = sum(r.rate_out for r in rows)
    lag = table.lag_s()
    state = " (stream ended)" if feed.ended else ""
    lag_text = "-" if lag is None else f"{lag:.2f} s"
    return (
        f"p2pcap top: {len(rows)} peers, in {_rate(rin)} msg/s, out {_rate(rout)} msg/s, lag {lag_text}, "
        f"lost {table.totals.lost}, read {table.totals.messages}, sort {sort}{' desc' if reverse else ''}{state}"
    )


def batch_lines(table: TopTable, feed: Feed, sort: str, reverse: bool) -> list[str]:
    """One screen as plain text (``-b``): a header line, then a row per peer."""
    with feed.lock:
        rows = table.rows(table.now_ns(), sort, reverse)
        several = len({r.pid for r in rows}) > 1
        cells = [row_cells(r, several) for r in rows]
        head = header_line(table, feed, rows, sort, reverse)
    widths = [max([len(c[i]) for c in cells] + [len(COLUMNS[i])]) for i in range(len(COLUMNS))]
    fmt = lambda cs: "  ".join(
        c.ljust(w) if i in (1, 2, 7, 10) else c.rjust(w) for i, (c, w) in enumerate(zip(cs, widths))
    )
    return [head, fmt(COLUMNS).rstrip(), *(fmt(c).rstrip() for c in cells)]


@click.command(context_settings={"ignore_unknown_options": True})
@click.argument("words", nargs=-1, type=click.UNPROCESSED, metavar="[- | FILE | -- COMMAND [ARG]...]")
@click.option("--pid", "pids", type=int, multiple=True, help="Record this process (repeatable; needs root).")
@click.option(
    "--exe", type=click.Path(dir_okay=False), help="Record every process of this binary (needs root)."
)
@click.option(
    "-b", "--batch", is_flag=True, help="Plain text tables, one every --delay seconds (like top -b)."
)
@click.option("-n", "--iterations", type=click.IntRange(min=1), help="Stop after this many tables (with -b).")
@click.option(
    "-d",
    "--delay",
    type=click.FloatRange(min=0.1),
    default=1.0,
    show_default=True,
    help="Seconds between tables.",
)
@click.option(
    "--sort", type=click.Choice(SORTS), default="rate", show_default=True, help="Sort the peers by this."
)
@click.option(
    "--forget",
    type=click.FloatRange(min=1),
    default=60,
    show_default=True,
    metavar="SECONDS",
    help="A peer silent this long leaves the table.",
)
def top(words, pids, exe, batch, iterations, delay, sort, forget):
    """A live view of a node's peers: rates in and out, last command, ping, losses.

    Records the node (--pid, --exe, a COMMAND after --, or the one running
    dashd) through `p2pcap record -o -`, or reads a capture stream on
    standard input (-) or a capture file still being written.  Keys: up/down
    select a peer, enter shows its latest messages, s/S change the sort
    column, r reverses it, q quits.

    \b
      sudo p2pcap top --pid $(pidof dashd)
      sudo p2pcap record -o - --pid $(pidof dashd) | p2pcap top -
      sudo p2pcap top -b -n 5 -- build/p2p-standin --rate 1000 samples/regtest-session.msgs
    """
    stderr_lines: deque = deque(maxlen=50)
    # -b: the recorder's lines (and its COMMAND's output) go to stderr as they come;
    # on the screen, the latest is in the footer and all are printed at exit.
    echo = (lambda text: click.echo(f"recorder: {printable(text)}", err=True)) if batch else None
    reader, label, proc = _open_source(list(words), pids, exe, stderr_lines, echo)
    table = TopTable(gone_after_ns=int(forget * 1e9))
    feed = Feed(table, reader, label)
    feed.thread.start()
    try:
        if batch:
            shown = 0
            while True:
                time.sleep(delay)
                out = sys.stdout
                out.write("\n".join(batch_lines(table, feed, sort, True)) + "\n\n")
                out.flush()
                shown += 1
                if (iterations and shown >= iterations) or (feed.ended and shown > 1):
                    break
        else:
            from p2pcap.cli.topview import run_interactive

            run_interactive(table, feed, label, sort, delay, stderr_lines)
    finally:
        _stop(proc)
        with contextlib.suppress(OSError):
            reader.close()
    if not batch:
        for text in stderr_lines:
            click.echo(f"recorder: {printable(text)}", err=True)
    if feed.error and not feed.error.startswith("read of closed file"):
        click.echo(f"p2pcap: {printable(feed.error)}", err=True)
    if proc is not None and proc.returncode not in (0, None, -signal.SIGINT, 130) and stderr_lines:
        click.echo(f"p2pcap: the recorder: {printable(stderr_lines[-1])}", err=True)


def register(group: click.Group) -> None:
    group.add_command(top)
