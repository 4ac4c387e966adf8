"""``top``'s interactive screen: a Rich table redrawn in place, keys from the terminal.

Keys are read from ``/dev/tty`` in cbreak mode (standard input may be the
capture's pipe, as ``less`` does it); the screen is the terminal's
alternate screen, given back on exit, Ctrl-C included.
"""

from __future__ import annotations

import contextlib
import os
import select
import termios
import time
import tty

from rich import box
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from p2pcap.analysis.toptable import SORT_KEYS
from p2pcap.cli.top import COLUMNS, HELP_KEYS, header_line, row_cells
from p2pcap.errors import ArgumentError
from p2pcap.terminal import printable
from p2pcap.units import iso

_SORTS = list(SORT_KEYS)
_TEXT_WIDTHS = {"address": 28, "type": 19, "last": 14, "version": 26}
_KEYS = {
    b"\x1b[A": "up",
    b"\x1bOA": "up",
    b"k": "up",
    b"\x1b[B": "down",
    b"\x1bOB": "down",
    b"j": "down",
    b"\r": "enter",
    b"\n": "enter",
    b"\x1b": "back",
    b"\x7f": "back",
    b"h": "back",
    b"q": "quit",
    b"s": "sort",
    b"S": "sort-back",
    b"r": "reverse",
}


@contextlib.contextmanager
def _keyboard():
    """The terminal in cbreak mode (keys one by one, Ctrl-C still a signal)."""
    try:
        fd = os.open("/dev/tty", os.O_RDONLY)
    except OSError:
        raise ArgumentError(None, "top needs a terminal for its keys; use -b for plain tables") from None
    old = termios.tcgetattr(fd)
    try:
        tty.setcbreak(fd)
        yield fd
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, old)
        os.close(fd)


def _read_key(fd: int, timeout: float) -> str | None:
    ready, _, _ = select.select([fd], [], [], timeout)
    if not ready:
        return None
    data = os.read(fd, 16)
    return _KEYS.get(data) or _KEYS.get(data[:1])


class View:
    """What the screen shows: the table (a selected row) or one peer's messages."""

    def __init__(self, table, feed, label, sort, stderr_lines):
        self.table, self.feed, self.label = table, feed, label
        self.sort, self.reverse = sort, True
        self.selected = 0
        self.detail = None  # (pid, peer_id) in the detail view
        self.stderr_lines = stderr_lines
        self.keys: list = []

    def key(self, name: str) -> bool:
        """Act on a key; False to quit."""
        if name == "quit":
            return False
        if name == "up":
            self.selected = max(0, self.selected - 1)
        elif name == "down":
            self.selected += 1
        elif name == "sort":
            self.sort = _SORTS[(_SORTS.index(self.sort) + 1) % len(_SORTS)]
        elif name == "sort-back":
            self.sort = _SORTS[(_SORTS.index(self.sort) - 1) % len(_SORTS)]
        elif name == "reverse":
            self.reverse = not self.reverse
        elif name == "enter" and self.detail is None and self.keys:
            self.detail = self.keys[min(self.selected, len(self.keys) - 1)]
        elif name in ("back", "enter"):
            self.detail = None
        return True

    def render(self, height: int):
        with self.feed.lock:
            rows = self.table.rows(self.table.now_ns(), self.sort, self.reverse)
            head = header_line(self.table, self.feed, rows, self.sort, self.reverse)
            recent = self.table.recent(self.detail) if self.detail is not None else None
        footer = Text(f"{HELP_KEYS}   source: {printable(self.label)}", style="dim")
        if self.stderr_lines:
            footer.append(f"\nrecorder: {printable(self.stderr_lines[-1])}", style="dim")
        if self.detail is not None:
            return Group(Text(head, style="bold"), self._detail(recent, height - 5), footer)
        self.keys = [r.key for r in rows]
        self.selected = min(self.selected, max(len(rows) - 1, 0))
        several = len({r.pid for r in rows}) > 1
        t = Table(box=box.SIMPLE_HEAD, pad_edge=False, expand=False)
        for name in COLUMNS:
            text = name in ("address", "type", "last", "version")
            # Figures are never cut; long addresses and versions are (-b prints them whole).
            t.add_column(
                name,
                justify="left" if text else "right",
                no_wrap=True,
                min_width=None if text else len(name) + 1,
                max_width=_TEXT_WIDTHS.get(name),
                overflow="ellipsis",
            )
        for i, r in enumerate(rows[: max(height - 7, 1)]):
            t.add_row(
                *(Text(c) for c in row_cells(r, several)), style="reverse" if i == self.selected else None
            )
        return Group(Text(head, style="bold"), t, footer)

    def _detail(self, recent, lines: int):
        from p2pcap.analysis.summary import summarize
        from p2pcap.decoders import DecodeError, decode

        pid, peer_id = self.detail
        t = Table(box=box.SIMPLE_HEAD, pad_edge=False, title=f"peer {peer_id} (pid {pid}): latest messages")
        for name in ("time (UTC)", "dir", "command", "size", "summary"):
            t.add_column(name, no_wrap=True, justify="right" if name == "size" else "left")
        for ts, direction, command, size, payload in (recent or [])[-max(lines - 4, 1) :]:
            summary = "(payload not kept)"
            if payload is not None:
                try:
                    summary = summarize(command, decode(command, payload))
                except DecodeError as exc:
                    summary = f"undecodable: {exc}"
            t.add_row(
                iso(ts)[11:26], direction, Text(printable(command)), str(size), Text(printable(summary))
            )
        return t


def run_interactive(table, feed, label, sort, delay, stderr_lines) -> None:
    """Draw until q (or Ctrl-C, which the command turns into exit status 130)."""
    console = Console()
    view = View(table, feed, label, sort, stderr_lines)
    refresh = min(delay, 0.5)
    with _keyboard() as fd, Live(console=console, screen=True, auto_refresh=False, transient=True) as live:
        next_draw = 0.0
        while True:
            now = time.monotonic()
            if now >= next_draw:
                # The terminal's own size, asked each time (it may be resized): not
                # $COLUMNS/$LINES, which a parent may have set for itself.
                with contextlib.suppress(OSError):
                    console.size = os.get_terminal_size(console.file.fileno())
                live.update(view.render(console.size.height), refresh=True)
                next_draw = now + refresh
            name = _read_key(fd, max(next_draw - time.monotonic(), 0.01))
            if name is None:
                continue
            if not view.key(name):
                return
            next_draw = 0.0  # redraw at once after a key
