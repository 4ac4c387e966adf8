"""Load the BPF program with BCC and attach it to the net:* USDT probes.

The only module that imports ``bcc``, and only when recording starts
so ``show`` and the other commands never need BCC or root.
"""

from __future__ import annotations

import importlib.resources
import os
from dataclasses import dataclass

from p2pcap.errors import P2pcapError

from . import limits, loadlog, versions
from .errors import RecordError


@dataclass
class Options:
    snaplen: int = limits.MAX_PAYLOAD
    ringbuf_bytes: int = limits.DEFAULT_RINGBUF_BYTES
    direction: str | None = None  # "in", "out" or None for both
    commands: tuple[str, ...] = ()
    peers: tuple[int, ...] = ()


def cflags(opts: Options) -> list[str]:
    pages = opts.ringbuf_bytes // os.sysconf("SC_PAGE_SIZE")
    if pages < 1 or pages & (pages - 1):
        raise RecordError(
            f"ring buffer size must be a power-of-two number of pages, got {opts.ringbuf_bytes} bytes"
        )
    direction = {None: 0, "in": 1, "out": 2}[opts.direction]
    return [
        f"-DADDR_MAX={limits.ADDR_MAX}",
        f"-DCONN_MAX={limits.CONN_MAX}",
        f"-DCMD_MAX={limits.CMD_MAX}",
        f"-DCHUNK_SIZE={limits.CHUNK_SIZE}",
        f"-DCHUNKS_PER_CALL={limits.CHUNKS_PER_CALL}",
        f"-DRINGBUF_PAGES={pages}",
        f"-DPEER_SLOTS={limits.PEER_SLOTS}",
        f"-DSNAPLEN={min(opts.snaplen, limits.MAX_PAYLOAD)}",
        f"-DDIRECTION_FILTER={direction}",
        f"-DFILTER_COMMANDS={1 if opts.commands else 0}",
        f"-DFILTER_PEERS={1 if opts.peers else 0}",
        f"-DPREEMPTIBLE={1 if preemptible_probes() else 0}",
    ]


def preemptible_probes(release: str | None = None) -> bool:
    """Whether a uprobe's BPF program may be preempted on this kernel (6.0+).

    Linux 6.0 runs uprobe programs with migration, not preemption, disabled
    (bpf_prog_run_array_sleepable, later _uprobe); see PREEMPTIBLE in
    p2p_messages.bpf.c.
    """
    return versions.kernel_at_least((6, 0), release)


# capability(7) numbers.  BCC loads programs (CAP_BPF), attaches uprobes
# through perf events (CAP_PERFMON) and reads tracefs and other users'
# /proc entries (CAP_SYS_ADMIN covers what remains).
NEEDED_CAPS = {"CAP_SYS_ADMIN": 21, "CAP_PERFMON": 38, "CAP_BPF": 39}


def check_environment() -> None:
    """Say precisely what is missing before BCC says it vaguely.

    The machine checks of ``p2pcap doctor`` (capture/preflight.py), stopping
    at the first failure with its line.
    """
    from . import preflight

    failed = preflight.first_failure(preflight.environment_checks())
    if failed is not None:
        raise RecordError(failed.text)


def _import_bcc():
    try:
        import bcc  # Debian python3-bpfcc; the PyPI "bcc" is another library
    except ImportError:
        raise RecordError(
            "the BCC Python bindings are missing: install Debian's python3-bpfcc and use a "
            "Python that sees them (the project's .venv is made with --system-site-packages)"
        ) from None
    if not hasattr(bcc, "USDT"):
        raise RecordError(
            "the 'bcc' module found is not BCC (PyPI's 'bcc' is unrelated): install python3-bpfcc"
        )
    return bcc


def attachments(pids=None, exe: str | None = None, also=()) -> list[tuple[str, int]]:
    """(binary path, pid or -1) pairs to attach to: one per --pid, or the --exe file(s).

    A pid's binary is opened as ``/proc/PID/exe``: the kernel resolves that
    link to the mapped file itself, so a node in another mount namespace
    (a container) or whose binary was replaced or deleted on disk is found.
    ``also``: more files for --exe, the same build in containers (another
    inode, so uprobes on ``exe`` do not reach it).
    """
    if pids:
        return [(f"/proc/{pid}/exe", pid) for pid in pids]
    return [(exe, -1), *((path, -1) for path in also)]


def load(
    opts: Options,
    *,
    pids: list[int] | None = None,
    exe: str | None = None,
    also=(),
    debug: int = 0,
    user=None,
):
    """Compile the program and attach it to every target; return the BPF object.

    Probe sites come from the binaries' notes (capture/usdt.py); a site with
    a USDT semaphore is attached with its ``ref_ctr_offset``, so the kernel
    holds the semaphore up exactly while the uprobe exists.
    ``debug`` is BCC's debug flags: with ``bcc.DEBUG_BPF`` the verifier's
    log of every program, captured from fd 2, is kept as ``bpf.load_log``
    (benchmarks/bench_verifier.py reads the instruction counts from it).
    ``user`` (a ``privileges.User``) creates the verifier's log of a failed load.
    """
    from . import usdt
    from .elfnotes import read_elf_info

    bcc = _import_bcc()
    source = importlib.resources.files(__package__).joinpath("p2p_messages.bpf.c").read_text()
    plan = []
    for tag, (path, pid) in enumerate(attachments(pids, exe, also)):
        try:
            found = usdt.sites(read_elf_info(path).notes, path, tag)
        except P2pcapError as exc:
            raise RecordError(str(exc)) from None
        if not found:
            raise RecordError(f"{path}: no net:* probes to attach to")
        plan.extend((site, path, pid) for site in found)
    source += "\n" + usdt.entry_points([site for site, _, _ in plan])
    # libbcc and clang write to fd 2 itself (a rejected program: the whole
    # verifier log), which redirect_stderr cannot catch: loadlog moves fd 2.
    log = loadlog.Captured()
    bpf = None
    try:
        with loadlog.captured_stderr() as log:
            bpf = bcc.BPF(text=source, cflags=cflags(opts), debug=debug)
            _link_chunk_program(bpf)
            _fill_filters(bpf, opts)  # before attaching: no message slips past the filters
            for site, path, pid in plan:
                usdt.attach(bpf, site, path, pid)
    except (RecordError, usdt.ProbeError) as exc:
        if bpf is not None:
            bpf.cleanup()
        raise RecordError(str(exc)) from None
    except Exception as exc:  # BCC raises bare Exception
        if bpf is not None:
            bpf.cleanup()
        raise RecordError(
            loadlog.explain(exc, log.text, source_name="p2p_messages.bpf.c", user=user)
        ) from None
    if debug:
        bpf.load_log = log.text
    bpf.p2pcap_sites = [(site.fn_name, path, pid, site.semaphore) for site, path, pid in plan]
    return bpf


def _link_chunk_program(bpf) -> None:
    """Put copy_chunks in the program array the probes tail-call into.

    A tail call to an empty slot fails silently, so without this every
    message over one chunk would arrive incomplete (and be counted lost).
    """
    import ctypes

    fn = bpf.load_func("copy_chunks", bpf.KPROBE)
    bpf["chunk_progs"][ctypes.c_int(0)] = ctypes.c_int(fn.fd)


def _fill_filters(bpf, opts: Options) -> None:
    import ctypes

    if opts.commands:
        table = bpf["wanted_commands"]
        for command in opts.commands:
            key = table.Key()
            raw = command.encode()[: limits.CMD_MAX - 1]
            ctypes.memmove(ctypes.addressof(key), raw, len(raw))
            table[key] = ctypes.c_uint8(1)
    if opts.peers:
        table = bpf["wanted_peers"]
        for peer in opts.peers:
            table[table.Key(peer)] = ctypes.c_uint8(1)


class LossCounters:
    """The BPF program's per-CPU loss counters, read with one syscall.

    ``struct loss`` in p2p_messages.bpf.c: messages, bytes, chunks, last_ns,
    run_start_ns, begin, end, per possible CPU.  Read after every drain, so
    the lookup goes straight to libbcc's ``bpf_lookup_elem`` into a buffer
    made once (BCC's table wrapper builds a ctypes object per CPU on every
    read).  A probe may be updating a CPU's counters as they are read: its
    ``begin`` and ``end`` then differ, and the read is taken again.
    """

    FIELDS = 7
    RETRIES = 1000  # an update is a few instructions; this is ~ms of reads at worst

    def __init__(self, bpf, name: str = "losses"):
        import ctypes

        from bcc import libbcc
        from bcc.utils import get_possible_cpus

        self._lookup = libbcc.lib.bpf_lookup_elem
        self._fd = bpf[name].map_fd
        self._cpus = len(get_possible_cpus())
        self._key = ctypes.c_int(0)
        self._value = ctypes.create_string_buffer(8 * self.FIELDS * self._cpus)
        self._key_ref = ctypes.byref(self._key)

    def read(self) -> list[tuple[int, int, int, int, int]]:
        """One (messages, bytes, chunks, last_ns, run_start_ns) tuple per CPU."""
        import struct

        step = 8 * self.FIELDS
        for _ in range(self.RETRIES):
            if self._lookup(self._fd, self._key_ref, self._value) != 0:
                return []
            raw = self._value.raw
            rows = [struct.unpack_from("<7Q", raw, i * step) for i in range(self._cpus)]
            if all(row[5] == row[6] for row in rows):
                break
        # Still mid-update after all retries (a CPU losing without pause):
        # the totals stay right, one gap may carry a message's bytes late.
        return [row[:5] for row in rows]


def forget_peers(bpf) -> None:
    """Make the probe forget the peers it named (a traced process exited).

    Its pid may be reused; a new process under it must announce its peers
    again.  The per-CPU peer cache is only ever written by the probe (a
    write from here could interleave with the probe's on that CPU), so
    instead of clearing the process's slots this bumps ``epoch``, which
    makes every slot stale: each live peer is named once more, at its next
    message (p2p_messages.bpf.c, peer_cache).
    """
    table = bpf["epoch"]
    key = table.Key(0)
    table[key] = table.Leaf(table[key].value + 1)
