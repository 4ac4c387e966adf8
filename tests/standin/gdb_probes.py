"""What a stand-in's probes pass, as a debugger reads them (no eBPF needed).

gdb understands SystemTap probes: ``break -probe-stap net:inbound_message``
stops at the probe site and ``$_probe_arg0``..``$_probe_arg5`` evaluate its
NT_STAPSDT argument operands (registers, stack slots, constants), as a
USDT tracer does.  Like BCC, gdb raises a probe's semaphore while its
breakpoint is set, so a semaphore build fires too.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

_SCRIPT = r"""
import gdb, hashlib

class Probe(gdb.Breakpoint):
    def __init__(self, name):
        super().__init__("-probe-stap net:" + name)
        self.probe = name

    def stop(self):
        a = [gdb.parse_and_eval("$_probe_arg%d" % i) for i in range(6)]
        inf = gdb.selected_inferior()

        def text(v):
            out = b""
            while b"\0" not in out:
                out += inf.read_memory(int(v) + len(out), 64).tobytes()
            return out.split(b"\0")[0].hex()

        size = int(a[4])
        payload = inf.read_memory(int(a[5]), size).tobytes() if size else b""
        print("PROBE\t%s\t%s\t%d\t%s\t%s\t%s\t%d\t%s\t%x\t%x" % (
            self.probe, gdb.selected_thread().name, int(a[0]), text(a[1]), text(a[2]), text(a[3]),
            size, hashlib.sha256(payload).hexdigest(), int(a[1]), int(a[2])), flush=True)
        return False

Probe("inbound_message")
Probe("outbound_message")
"""


@dataclass(frozen=True)
class Hit:
    probe: str  # "inbound_message" / "outbound_message"
    thread: str  # the firing thread's name
    peer_id: int
    addr: str
    conn_type: str
    command: str
    size: int
    sha256: str  # of the payload
    addr_ptr: int  # the char * values themselves
    conn_type_ptr: int


def have_gdb() -> bool:
    return shutil.which("gdb") is not None


def probe_hits(binary: Path, *args: str, timeout: float = 300) -> tuple[list[Hit], str]:
    """Run BINARY ARGS under gdb; (every probe hit in order, the node's "replayed" line)."""
    with tempfile.TemporaryDirectory() as tmp:
        script, node_out = Path(tmp, "probes.py"), Path(tmp, "node.out")
        script.write_text(_SCRIPT)
        # The node's stdout to a file of its own: gdb's thread notices would cut its lines.
        run = subprocess.run(
            [
                "gdb",
                "-q",
                "-batch",
                "-nx",
                "-x",
                str(script),
                "-ex",
                f"run {shlex.join(args)} > {shlex.quote(str(node_out))}",
                str(binary),
            ],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        replayed = node_out.read_text() if node_out.exists() else ""
    hits = []
    for line in run.stdout.splitlines():
        if line.startswith("PROBE\t"):
            f = line.split("\t")[1:]
            hits.append(
                Hit(
                    f[0],
                    f[1],
                    int(f[2]),
                    bytes.fromhex(f[3]).decode(),
                    bytes.fromhex(f[4]).decode(),
                    bytes.fromhex(f[5]).decode(),
                    int(f[6]),
                    f[7],
                    int(f[8], 16),
                    int(f[9], 16),
                )
            )
    if not replayed.startswith("replayed "):
        raise AssertionError(f"the node did not finish under gdb:\n{run.stdout}\n{run.stderr}")
    return hits, replayed


_PC_SCRIPT = r"""
import gdb
hits = []

class At(gdb.Breakpoint):
    def stop(self):
        hits.append(self.number)
        return False

gdb.execute("starti " + ARGS, to_string=True)
base = None
for line in gdb.execute("info proc mappings", to_string=True).splitlines():
    f = line.split()
    if len(f) >= 5 and f[-1] == EXE and int(f[3], 16) == 0:
        base = int(f[0], 16)
        break
for address in RAISE:  # link-time addresses of semaphores to set to 1 before the replay
    gdb.execute("set var *(unsigned short *)%#x = 1" % (base + address))
for pc in PCS:
    At("*%#x" % (base + pc))
gdb.execute("continue")
print("PCHITS %d" % len(hits), flush=True)
"""


def pc_hits(binary: Path, pcs, raise_semaphores, *args: str, timeout: float = 120) -> tuple[int, str]:
    """How often the instructions at link-time addresses PCS run, under plain
    address breakpoints (which, unlike probe breakpoints, raise no semaphore);
    RAISE_SEMAPHORES: link-time semaphore addresses set to 1 before the run.
    Returns (hits, the node's output)."""
    exe = os.path.realpath(binary)
    with tempfile.TemporaryDirectory() as tmp:
        script, node_out = Path(tmp, "pc.py"), Path(tmp, "node.out")
        script.write_text(
            f"EXE = {exe!r}\nPCS = {list(pcs)!r}\nRAISE = {list(raise_semaphores)!r}\n"
            f"ARGS = {shlex.join(args) + ' > ' + shlex.quote(str(node_out))!r}\n" + _PC_SCRIPT
        )
        run = subprocess.run(
            ["gdb", "-q", "-batch", "-nx", "-x", str(script), exe],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        out = node_out.read_text() if node_out.exists() else ""
    for line in run.stdout.splitlines():
        if line.startswith("PCHITS "):
            return int(line.split()[1]), out
    raise AssertionError(f"gdb did not finish:\n{run.stdout}\n{run.stderr}")
