"""A C-level exit() while BCC's chatter is captured is still said, in one line.

LLVM ends the process on a fatal error ("LLVM ERROR: Cannot select: ..."),
for example on an atomic instruction the BPF target cannot emit; with fd 2
pointed at loadlog's spool that line would otherwise vanish, leaving exit
status 1 and an empty terminal.
"""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import ctypes, os
from p2pcap.capture import loadlog
with loadlog.captured_stderr():
    os.write(2, b"noise\\nLLVM ERROR: Cannot select: t5: i32,ch = AtomicCmpSwap\\n")
    ctypes.CDLL(None).exit(1)
"""


def test_exit_inside_the_capture_is_reported(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        capture_output=True,
        text=True,
        timeout=60,
        env={"XDG_RUNTIME_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(
        "Error: BCC ended the process while loading the BPF program: "
        "LLVM ERROR: Cannot select: t5: i32,ch = AtomicCmpSwap (full log: "
    )
    log = lines[0].rsplit("(full log: ", 1)[1].rstrip(")")
    assert log.startswith(str(tmp_path)) and "noise" in open(log).read()
