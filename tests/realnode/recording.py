"""``p2pcap record`` beside real dashd processes, and which process is which node.

A recorder is the real CLI in a subprocess, started and awaited like a
user would (``listening on``, then SIGINT, then the summary line).  With
``--exe`` it records every dashd process, nodes restarted or started later
included; :class:`NodeWatcher` learns which process ran which data
directory, from ``/proc/PID/cmdline`` (``-datadir=``), while they run, so
each recorded message can be given to its node's oracle.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

from p2pcap.formats import Gap, Message, open_capture

_SUMMARY = re.compile(r"^(\d+) messages, (\d+) payload bytes, (\d+) lost")


class Recorder:
    """One ``p2pcap record -o OUTPUT ARGS`` process, started once it listens.

    >>> # with Recorder(out, "--exe", dashd) as rec: ...; rec.summary
    """

    def __init__(self, output: Path, *args: str, timeout: float = 60):
        self.output = Path(output)
        self.args = args
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "p2pcap", "record", "-o", str(output), *args],
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            text=True,
        )
        self.first = _read_line(self.proc, timeout)
        if not self.first.startswith("listening on"):
            self.proc.kill()
            raise AssertionError(
                f"p2pcap record {' '.join(args)} did not start: {self.first}{self.proc.stderr.read()}"
            )
        self.stderr = ""
        self.interrupted = False

    def stop(self, timeout: float = 120) -> str:
        """SIGINT (a no-op when it already ended with its --pid); the last stderr line."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            self.interrupted = True
        rest = self.proc.communicate(timeout=timeout)[1]
        self.stderr = self.first + rest
        return self.summary

    def wait(self, timeout: float = 120) -> str:
        """Wait for it to end by itself (its --pid exited)."""
        rest = self.proc.communicate(timeout=timeout)[1]
        self.stderr = self.first + rest
        return self.summary

    @property
    def summary(self) -> str:
        lines = self.stderr.strip().splitlines()
        return lines[-1] if lines else ""

    def counts(self) -> tuple[int, int]:
        """(messages, lost) from the summary line, e.g. ``37 messages, 2901 payload bytes, 0 lost``."""
        found = _SUMMARY.match(self.summary)
        # 130: stopped by Ctrl-C (SIGINT), which is how stop() ends a recording
        if not found or self.proc.returncode not in ((0, 130) if self.interrupted else (0,)):
            raise AssertionError(f"recorder exited {self.proc.returncode}: {self.stderr}")
        return int(found[1]), int(found[3])

    def records(self) -> tuple[list[Message], list[Gap]]:
        with open_capture(self.output) as reader:
            records = list(reader.records())
        return [r for r in records if type(r) is Message], [r for r in records if type(r) is Gap]

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *exc) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def _read_line(proc: subprocess.Popen, timeout: float) -> str:
    result: list[str] = []
    reader = threading.Thread(target=lambda: result.append(proc.stderr.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    return result[0] if result else f"(nothing on stderr in {timeout} s)\n"


class NodeWatcher(threading.Thread):
    """Polls /proc for processes of ``exe``: pid -> the ``-datadir=`` they run.

    Functional-test nodes live for seconds at least, so a look every 50 ms
    sees every one; a pid the watcher never saw is reported by the caller
    as unattributed rather than guessed.
    """

    def __init__(self, exe: Path, interval: float = 0.05):
        super().__init__(daemon=True)
        self.inode = os.stat(exe).st_ino, os.stat(exe).st_dev
        self.interval = interval
        self.datadirs: dict[int, Path] = {}
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.is_set():
            self.look()
            self._halt.wait(self.interval)

    def look(self) -> None:
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit() or int(entry.name) in self.datadirs:
                continue
            try:
                st = os.stat(f"/proc/{entry.name}/exe")
                if (st.st_ino, st.st_dev) != self.inode:
                    continue
                args = Path(f"/proc/{entry.name}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            for arg in args:
                if arg.startswith(b"-datadir="):
                    self.datadirs[int(entry.name)] = Path(os.fsdecode(arg[len(b"-datadir=") :]))

    def stop(self) -> dict[int, Path]:
        self._halt.set()
        self.join(5)
        self.look()
        return self.datadirs


def pids_by_datadir(datadirs: dict[int, Path]) -> dict[Path, list[int]]:
    """Invert pid -> datadir: a restarted node has several pids."""
    nodes: dict[Path, list[int]] = {}
    for pid, datadir in datadirs.items():
        nodes.setdefault(datadir, []).append(pid)
    return nodes


def wait_for(predicate, timeout: float, what: str, interval: float = 0.1):
    """Poll until ``predicate()`` is truthy; its value, or AssertionError naming ``what``."""
    end = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def decoded_commands(capture: Path) -> tuple[Counter, list[str]]:
    """Commands as ``p2pcap show --json`` decodes them, and a line per message that did not.

    A message that does not decode has an ``error``, or decodes as an
    unknown command (``{"unknown": true, ...}``); a gap record is a problem too.
    """
    proc = subprocess.run(
        [sys.executable, "-m", "p2pcap", "show", str(capture), "--json"], capture_output=True, text=True
    )
    if proc.returncode != 0:
        raise AssertionError(f"p2pcap show {capture} exited {proc.returncode}: {proc.stderr}")
    commands, problems = Counter(), []
    for number, line in enumerate(proc.stdout.splitlines()):
        shown = json.loads(line)
        if shown.get("gap"):
            problems.append(f"#{number}: a gap of {shown['lost_messages']} messages")
            continue
        commands[shown["command"]] += 1
        decoded = shown["decoded"]
        if shown["error"] or not isinstance(decoded, dict) or decoded.get("unknown"):
            problems.append(
                f"#{number} {shown['command']} (pid {shown['pid']}): {shown['error'] or 'not decoded'}"
            )
    return commands, problems
