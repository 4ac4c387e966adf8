"""The README's code blocks that claim to work are run as typed.

A block opts in with a marker on the line just before its opening fence::

    <!-- test: run [root] [timeout=SECONDS] [NAME[,NAME...]=PATH ...] -->

- ``root``: the block records (root, BCC, kernel headers, tracefs); where
  that is missing it skips, saying why, and fails under
  P2PCAP_REQUIRE_EBPF=1, like the live tests (tests/conftest.py ``ebpf``);
- ``timeout=``: seconds before the block and everything it started are
  killed (default 60);
- ``NAME=PATH``: the block's file NAME (``run.cap``) is a copy of PATH, a
  file of the repository (``samples/regtest-session.cap``).

Each block runs in a folder of its own, as from a fresh clone after
``make setup``: copies of samples/ and of build/ (the stand-in nodes,
built first), the given files, ``HOME`` an empty folder there, the
interpreter's ``bin`` (where ``p2pcap`` is) first on ``PATH``, and as
root a ``sudo`` that runs its command as it is (this machine may have
none).  A fence with no language, ``sh``, ``bash`` or ``shell`` runs
in ``bash -Eeuo pipefail``; ``python`` with this interpreter.  A failure
names the README line of the block's opening fence, and for a shell
block the line that failed.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from .conftest import ROOT, STANDIN_BUILDS, build_standin

README = ROOT / "README.md"
MARKER = re.compile(r"^<!-- test: (?P<words>.*?) -->\s*$")
FENCE = re.compile(r"^(?P<fence>```+|~~~+)\s*(?P<language>\S*)")
SHELLS = ("", "sh", "bash", "shell")
DEFAULT_TIMEOUT = 60.0
FAILED = "test_readme: failed at line"  # what a shell block's ERR trap prints
# What a block starts from: a clone's data.  The code is the installed
# p2pcap's, as for a user (a copy of the sources on sys.path would shadow it).
CONTEXT = ("samples", "build")


class MarkerError(ValueError):
    """A marker that does not say what this file can run: names the line."""


@dataclass
class Block:
    """One marked fenced block: where it is, what it says, how to run it."""

    path: str
    line: int  # 1-based line of the opening fence
    language: str
    code: str
    root: bool = False
    timeout: float = DEFAULT_TIMEOUT
    given: dict[str, str] = field(default_factory=dict)

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"


def marked_blocks(text: str, path: str = "README.md") -> list[Block]:
    """Every block of Markdown ``text`` with a ``<!-- test: ... -->`` marker before it.

    >>> [(b.line, b.code) for b in marked_blocks("<!-- test: run -->\\n```\\necho hi\\n```\\n")]
    [(2, 'echo hi\\n')]
    """
    lines = text.splitlines()
    blocks = []
    for index, line in enumerate(lines):
        marker = MARKER.match(line)
        if not marker:
            if line.startswith("<!-- test"):
                raise MarkerError(f"{path}:{index + 1}: not a marker: {line!r}")
            continue
        opening = FENCE.match(lines[index + 1]) if index + 1 < len(lines) else None
        if not opening:
            raise MarkerError(f"{path}:{index + 1}: the marker is not on the line before a fenced block")
        end = next(
            (k for k in range(index + 2, len(lines)) if lines[k].startswith(opening["fence"])),
            None,
        )
        if end is None:
            raise MarkerError(f"{path}:{index + 2}: the block is never closed")
        block = Block(path, index + 2, opening["language"], "".join(f"{x}\n" for x in lines[index + 2 : end]))
        _options(block, marker["words"].split(), path, index + 1)
        blocks.append(block)
    return blocks


def _options(block: Block, words: list[str], path: str, line: int) -> None:
    if not words or words[0] != "run":
        raise MarkerError(f"{path}:{line}: a marker starts with 'run'")
    if block.language not in (*SHELLS, "python"):
        raise MarkerError(f"{path}:{line}: cannot run a {block.language!r} block")
    for word in words[1:]:
        name, _, value = word.partition("=")
        if word == "root":
            block.root = True
        elif name == "timeout" and value.replace(".", "", 1).isdigit():
            block.timeout = float(value)
        elif value and name and not name.startswith("timeout"):
            for given in name.split(","):
                if not given or given.startswith("/") or ".." in Path(given).parts:
                    raise MarkerError(f"{path}:{line}: {given!r} is not a name inside the block's folder")
                block.given[given] = value
        else:
            raise MarkerError(f"{path}:{line}: {word!r} is not an option (root, timeout=S, NAME=PATH)")


def make_context(block: Block, folder: Path, source: Path = ROOT) -> dict[str, str]:
    """Fill ``folder`` for ``block``; return the environment it runs with."""
    for name in CONTEXT:
        if (source / name).exists():
            shutil.copytree(source / name, folder / name, symlinks=True)
    for name, origin in block.given.items():
        if not (source / origin).is_file():
            raise MarkerError(f"{block.where}: {origin} is not a file of the repository")
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / origin, folder / name)
    home = folder / "home"
    home.mkdir()
    shims = folder / ".shims"
    shims.mkdir()
    if os.geteuid() == 0:  # root already: sudo's options are dropped, the command runs as is
        sudo = shims / "sudo"
        sudo.write_text(
            '#!/bin/sh\nwhile [ $# -gt 0 ]; do case "$1" in -*) shift;; *) break;; esac; done\nexec "$@"\n'
        )
        sudo.chmod(0o755)
    env = dict(os.environ, HOME=str(home))
    env["PATH"] = os.pathsep.join((str(shims), str(Path(sys.executable).parent), env.get("PATH", "")))
    return env


@dataclass
class Outcome:
    status: int | None  # None: killed at the timeout
    stdout: str
    stderr: str
    seconds: float


def run_block(block: Block, folder: Path, env: dict[str, str]) -> Outcome:
    """Run ``block`` in ``folder``; whatever it leaves running is killed when it ends.

    The code is a file (stdin is /dev/null: a command reading stdin must not
    eat the rest of the block), and its output goes to files, so a job left
    in the background cannot keep the block from ending.
    """
    work = folder / ".shims"
    if block.language == "python":
        script = work / "block.py"
        script.write_text(block.code)
        command = [sys.executable, str(script)]
    else:  # the trap names the failing line: script line 1 is the trap, README's the fence
        script = work / "block.sh"
        script.write_text(f"trap 'echo \"{FAILED} $LINENO\" >&2' ERR\n{block.code}")
        command = ["bash", "-Eeuo", "pipefail", str(script)]
    start = time.monotonic()
    with open(work / "stdout", "w+") as stdout, open(work / "stderr", "w+") as stderr:
        process = subprocess.Popen(
            command,
            cwd=folder,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
            start_new_session=True,  # its own process group: background jobs included
        )
        try:
            status = process.wait(timeout=block.timeout)
        except subprocess.TimeoutExpired:
            status = None
        finally:
            _kill_group(process.pid)
            process.wait()
        stdout.seek(0)
        stderr.seek(0)
        return Outcome(status, stdout.read(), stderr.read(), time.monotonic() - start)


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass  # nothing of the block's is left


def verdict(block: Block, outcome: Outcome) -> str | None:
    """None when the block worked; else one message that starts with its README line."""
    if outcome.status == 0:
        return None
    how = f"timed out after {block.timeout:g} s" if outcome.status is None else f"exited {outcome.status}"
    stderr = [line for line in outcome.stderr.splitlines() if not line.startswith(FAILED)]
    failed = [line for line in outcome.stderr.splitlines() if line.startswith(FAILED)]
    if failed:
        how += f" at {block.path}:{block.line + int(failed[-1].split()[-1]) - 1}"
    tail = "\n".join(stderr[-15:]) or "\n".join(outcome.stdout.splitlines()[-15:])
    return f"{block.where}: the block {how}:\n{tail}"


# -- the README ----------------------------------------------------------------------
BLOCKS = marked_blocks(README.read_text())


def test_the_readme_marks_blocks():
    assert BLOCKS, "no block of README.md is marked <!-- test: run -->"


@pytest.mark.parametrize("block", BLOCKS, ids=lambda b: b.where)
def test_readme_block(block, request, tmp_path):
    if block.root:
        request.getfixturevalue("ebpf")
    for name in STANDIN_BUILDS:
        build_standin(name)
    env = make_context(block, tmp_path)
    problem = verdict(block, run_block(block, tmp_path, env))
    assert problem is None, problem


# -- the harness ---------------------------------------------------------------------
def test_markers_say_where_they_are_wrong():
    cases = {
        "text\n<!-- test: run -->\nno fence\n": "README.md:2: the marker is not on the line before",
        "<!-- test: run -->\n```\nnever closed\n": "README.md:2: the block is never closed",
        "<!-- test: runs -->\n```\n```\n": "README.md:1: a marker starts with 'run'",
        "<!-- test: run nope -->\n```\n```\n": "README.md:1: 'nope' is not an option",
        "<!-- test: run timeout=x -->\n```\n```\n": "README.md:1: 'timeout=x' is not an option",
        "<!-- test: run ../x=samples/a -->\n```\n```\n": "README.md:1: '../x' is not a name",
        "<!-- test: run -->\n```rust\n```\n": "README.md:1: cannot run a 'rust' block",
        "<!-- test:run -->\n```\n```\n": "README.md:1: not a marker",
    }
    for text, message in cases.items():
        with pytest.raises(MarkerError) as caught:
            marked_blocks(text)
        assert str(caught.value).startswith(message), (text, caught.value)


def test_options_and_unmarked_blocks():
    text = "```\nnot marked\n```\n\n<!-- test: run root timeout=5 a.cap,b.cap=samples/x.cap -->\n~~~python\nprint(1)\n~~~\n"
    (block,) = marked_blocks(text, "DOC.md")
    assert (block.where, block.language, block.root, block.timeout) == ("DOC.md:6", "python", True, 5.0)
    assert block.given == {"a.cap": "samples/x.cap", "b.cap": "samples/x.cap"}
    assert block.code == "print(1)\n"


def test_a_failing_line_fails_the_block_with_its_line(tmp_path):
    (block,) = marked_blocks("# t\n\n<!-- test: run -->\n```\ntrue\nfalse\necho never\n```\n")
    outcome = run_block(block, tmp_path, make_context(block, tmp_path))
    assert outcome.status == 1 and "never" not in outcome.stdout
    assert verdict(block, outcome).startswith("README.md:4: the block exited 1 at README.md:6")


def test_the_block_sees_its_given_files_and_the_tool(tmp_path, standin):
    text = "<!-- test: run run.cap=samples/regtest-session.cap -->\n```\np2pcap check run.cap\nls build/p2p-standin\n```\n"
    (block,) = marked_blocks(text)
    outcome = run_block(block, tmp_path, make_context(block, tmp_path))
    assert verdict(block, outcome) is None
    assert (tmp_path / "run.cap").read_bytes() == (ROOT / "samples" / "regtest-session.cap").read_bytes()


def test_a_block_past_its_timeout_is_killed_with_what_it_started(tmp_path):
    (block,) = marked_blocks("<!-- test: run timeout=1 -->\n```\nsleep 300 &\necho $! > child\nwait\n```\n")
    outcome = run_block(block, tmp_path, make_context(block, tmp_path))
    assert outcome.status is None and outcome.seconds < 30
    assert verdict(block, outcome).startswith("README.md:2: the block timed out after 1 s")
    assert gone(int((tmp_path / "child").read_text()))


def test_a_job_left_running_neither_holds_the_block_nor_survives_it(tmp_path):
    text = "<!-- test: run timeout=60 -->\n```\nsleep 300 &\necho $! > child\ncat\necho done\n```\n"
    (block,) = marked_blocks(text)
    outcome = run_block(block, tmp_path, make_context(block, tmp_path))
    assert verdict(block, outcome) is None and outcome.stdout == "done\n" and outcome.seconds < 30
    assert gone(int((tmp_path / "child").read_text()))


def gone(pid: int, within: float = 10.0) -> bool:
    """Ended within ``within`` seconds (a kill is delivered when the process next runs).

    A zombie waiting for init to reap it counts as ended.
    """
    deadline = time.monotonic() + within
    while True:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            return True
        if state == "Z":
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)


RECORDING = """<!-- test: run root timeout=120 -->
```
build/p2p-standin -regtest --wait-signal --linger 0.3 samples/regtest-session.msgs > node.out &
node=$!
sudo p2pcap record -o run.cap --pid $node 2> record.log &
until grep -q '^listening on' record.log; do sleep 0.1; done
kill -USR1 $node
wait
p2pcap show run.cap --type clsig
```
"""


def test_a_root_block_records_the_standin(ebpf, standin, tmp_path):
    """What a recording recipe needs: root, the stand-in from build/, background jobs, sudo."""
    (block,) = marked_blocks(RECORDING)
    assert block.root and block.timeout == 120
    outcome = run_block(block, tmp_path, make_context(block, tmp_path))
    assert verdict(block, outcome) is None
    assert " clsig " in outcome.stdout and "37 messages" in (tmp_path / "record.log").read_text()
