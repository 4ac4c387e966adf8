"""Can this machine record, and can it record this target?  One line per check.

``p2pcap doctor`` prints every check; ``record`` runs the environment ones
before attaching and stops at the first failure.  Each ``check_*`` function
is pure: it takes what it judges (a kernel release string, a BCC version,
an ``exists`` function...) so tests can force each failure through its
input; :func:`run_all` gathers the real inputs from this machine.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from p2pcap.errors import P2pcapError

from . import versions
from .program import NEEDED_CAPS
from .usdt import SEMAPHORE_HANDLING

OK, WARN, FAIL = "ok", "warn", "fail"
_LABELS = {OK: "ok", WARN: "warn", FAIL: "FAIL"}

# BPF_MAP_TYPE_RINGBUF and the bpf_ringbuf_*() helpers arrived in Linux 5.8
# ("bpf: Implement BPF ring buffer and verifier support for it").
MIN_KERNEL = (5, 8)
# The kernels the test suite is run on: others should work but are unproven.
TESTED_KERNELS = ((5, 10), (6, 1), (6, 12), (6, 18))
# BCC's BPF_RINGBUF_OUTPUT and BPF.open_ring_buffer() arrived in BCC 0.16.0.
MIN_BCC = (0, 16)
# Dash Core's net:inbound_message / net:outbound_message (src/net.cpp):
# peer id, address, connection type, command, size, payload.
PROBE_ARGUMENTS = 6
NET_PROBES = ("inbound_message", "outbound_message")
TRACEFS = ("/sys/kernel/tracing", "/sys/kernel/debug/tracing")


@dataclass(frozen=True)
class Check:
    name: str  # "privileges", "kernel", "bcc", "headers", "tracefs", "probe", "target"
    status: str  # OK, WARN or FAIL
    text: str  # one line, no trailing full stop

    def line(self) -> str:
        return f"{_LABELS[self.status]:<6}{self.text}"

    def as_dict(self) -> dict:
        return {"check": self.name, "status": self.status, "text": self.text}


def _dotted(version: tuple[int, ...]) -> str:
    return ".".join(map(str, version))


# -- privileges ----------------------------------------------------------------


def read_capeff(status_text: str) -> int:
    """The effective capability mask from /proc/<pid>/status text (0 if absent)."""
    for line in status_text.splitlines():
        if line.startswith("CapEff:"):
            try:
                return int(line.split()[1], 16)
            except (IndexError, ValueError):
                return 0
    return 0


def check_privileges(euid: int, capeff: int) -> Check:
    # Root has every capability; without root, loading needs CAP_BPF, the
    # uprobe perf events CAP_PERFMON (both split from CAP_SYS_ADMIN in Linux
    # 5.8), and tracefs and other users' /proc entries CAP_SYS_ADMIN.
    if euid == 0:
        return Check("privileges", OK, "privileges: root")
    missing = [name for name, bit in sorted(NEEDED_CAPS.items()) if not capeff >> bit & 1]
    if missing:
        return Check(
            "privileges",
            FAIL,
            f"recording needs root, or {', '.join(sorted(NEEDED_CAPS))} "
            f"(uid {euid} is missing {', '.join(missing)}): run it with sudo",
        )
    return Check("privileges", OK, f"privileges: uid {euid} with {', '.join(sorted(NEEDED_CAPS))}")


# -- kernel --------------------------------------------------------------------


def check_kernel(release: str, *, btf: bool | None = None) -> Check:
    version = versions.parse(release)
    if version is None:
        return Check(
            "kernel",
            WARN,
            f"kernel release {release!r} not understood: cannot tell whether it "
            f"has the BPF ring buffer (Linux 5.8 or newer)",
        )
    shown = _dotted(version)
    if version[:2] < MIN_KERNEL:
        return Check(
            "kernel", FAIL, f"kernel {shown} is too old: p2pcap needs Linux 5.8 or newer (BPF ring buffer)"
        )
    # BTF (/sys/kernel/btf/vmlinux) is informational: BCC compiles against
    # the kernel headers, not BTF.
    extras = "ring buffer: yes" + ("" if btf is None else f", BTF: {'yes' if btf else 'no'}")
    if version[:2] not in TESTED_KERNELS:
        tested = ", ".join(_dotted(v) for v in TESTED_KERNELS)
        return Check(
            "kernel", WARN, f"kernel {shown} ({extras}): untested kernel (the tests run on {tested})"
        )
    return Check("kernel", OK, f"kernel {shown} ({extras})")


# -- BCC -----------------------------------------------------------------------


def check_bcc(version: str | None, *, is_bcc: bool = True, where: str | None = None) -> Check:
    """``version`` None: no ``bcc`` module; ``is_bcc`` False: a ``bcc`` module without ``bcc.USDT``."""
    if not is_bcc:
        at = f" at {where}" if where else ""
        return Check(
            "bcc",
            FAIL,
            f"the 'bcc' module found{at} is not BCC (PyPI's 'bcc' is an unrelated "
            f"library): uninstall it and install Debian's python3-bpfcc",
        )
    if version is None:
        return Check(
            "bcc",
            FAIL,
            "the BCC Python bindings are missing: install Debian's python3-bpfcc "
            "(apt install python3-bpfcc) and use a Python that sees them "
            "(the project's .venv is made with --system-site-packages)",
        )
    parsed = versions.parse(version)
    if parsed is None:
        return Check(
            "bcc", WARN, f"BCC version {version!r} not understood: the ring buffer needs BCC 0.16 or newer"
        )
    if parsed[:2] < MIN_BCC:
        return Check(
            "bcc",
            FAIL,
            f"BCC {version} is too old: p2pcap needs BCC 0.16 or newer (ring buffer API); "
            f"install a newer python3-bpfcc",
        )
    return Check("bcc", OK, f"BCC {version}")


def bcc_facts() -> tuple[str | None, bool, str | None]:
    """(version, is it BCC, where) of the importable ``bcc`` module."""
    try:
        import bcc  # Debian python3-bpfcc; imports libbcc.so.0 too
    except ImportError:
        return None, True, None
    except OSError:  # the Python part is there, libbcc.so.0 is not
        return None, True, None
    where = os.path.dirname(getattr(bcc, "__file__", "") or "") or None
    if not hasattr(bcc, "USDT"):
        return None, False, where
    version = getattr(bcc, "__version__", None)
    if version is None:
        try:
            from bcc.version import __version__ as version
        except ImportError:
            version = "unknown"
    return version, True, where


# -- kernel headers ------------------------------------------------------------


def check_headers(
    release: str,
    exists: Callable[[str], bool] = os.path.exists,
    realpath: Callable[[str], str] = os.path.realpath,
) -> Check:
    # BCC compiles the program with clang against the running kernel's
    # headers, looked up at /lib/modules/$(uname -r)/build, Debian putting
    # the arch-independent half under .../source.
    base = f"/lib/modules/{release}"
    for folder in (f"{base}/build", f"{base}/source"):
        if exists(f"{folder}/include"):
            target = realpath(folder)
            via = f" (-> {target})" if target != folder else ""
            return Check("headers", OK, f"kernel headers at {folder}{via}")
    return Check(
        "headers",
        FAIL,
        f"kernel headers missing at {base}/build: run 'sudo make setup' (or install linux-headers-{release})",
    )


# -- tracefs -------------------------------------------------------------------


def check_tracefs(
    ismount: Callable[[str], bool] = os.path.ismount, isdir: Callable[[str], bool] = os.path.isdir
) -> Check:
    # BCC attaches uprobes through tracefs's uprobe_events when perf's
    # uprobe PMU cannot, and reads event ids there.
    if ismount(TRACEFS[0]):
        return Check("tracefs", OK, f"tracefs mounted at {TRACEFS[0]}")
    if isdir(f"{TRACEFS[1]}/events"):
        return Check("tracefs", OK, f"tracefs mounted at {TRACEFS[1]}")
    return Check("tracefs", FAIL, "tracefs is not mounted: sudo mount -t tracefs nodev /sys/kernel/tracing")


# -- the target's probes -------------------------------------------------------


def check_probes(notes: Iterable, where: str) -> list[Check]:
    """One line per net:* probe from ``elfnotes.ProbeNote``-like notes of ``where``."""
    notes = list(notes)
    checks = []
    for name in NET_PROBES:
        found = [n for n in notes if n.provider == "net" and n.name == name]
        if not found:
            checks.append(
                Check(
                    "probe",
                    FAIL,
                    f"{where} has no net:{name} probe: it was built without USDT "
                    f"support (rebuild Dash Core with <sys/sdt.h> present, e.g. "
                    f"Debian's systemtap-sdt-dev)",
                )
            )
            continue
        note = found[0]
        count = note.argument_count
        # The operands say where each argument is read from (a register, a
        # stack slot): what to compare with `readelf -n` when a build differs.
        sites = f" ({' '.join(note.argument_list)})" + (f", {len(found)} sites" if len(found) > 1 else "")
        unreadable = _unreadable_argument(found)
        if count != PROBE_ARGUMENTS:
            checks.append(
                Check(
                    "probe",
                    FAIL,
                    f"net:{name} in {where} has {count} arguments, p2pcap reads "
                    f"{PROBE_ARGUMENTS}: not a Dash Core version p2pcap knows",
                )
            )
        elif unreadable:
            checks.append(Check("probe", FAIL, f"net:{name} in {where}: {unreadable}"))
        elif any(n.semaphore for n in found):
            semaphore = next(n.semaphore for n in found if n.semaphore)
            checks.append(
                Check(
                    "probe",
                    OK,
                    f"net:{name} in {where}: {count} arguments{sites}; semaphore at "
                    f"{semaphore:#x}: {SEMAPHORE_HANDLING}",
                )
            )
        else:
            checks.append(
                Check("probe", OK, f"net:{name} in {where}: {count} arguments{sites}, no semaphore")
            )
    return checks


def _unreadable_argument(notes) -> str | None:
    """Why an argument of these probe sites cannot be read (capture/usdt.py), or None."""
    from .usdt import ProbeError, parse_argument

    for note in notes:
        for spec in note.argument_list:
            try:
                parse_argument(spec)
            except ProbeError as exc:
                return str(exc)
    return None


def target_checks(pids: Iterable[int] = (), exe: str | None = None) -> list[Check]:
    """Probe checks for --pid / --exe, or the one running dashd."""
    from . import targets
    from .elfnotes import read_elf_info

    pids = list(pids)
    if pids and exe:
        return [Check("target", FAIL, "give --pid or --exe, not both")]
    # The file to read -> (its name, how it was found).  A process's binary
    # is read through /proc/PID/exe: in a container or replaced on disk, the
    # path its link shows cannot be opened from here.
    paths: dict[str, tuple[str, str]] = {}
    if exe:
        path = str(Path(exe).resolve())
        if not os.path.isfile(path):
            return [Check("target", FAIL, f"{exe}: no such file")]
        paths[path] = (path, "--exe")
    else:
        found_by = "--pid"
        if not pids:
            daemons = targets.find_daemons()
            if not daemons:
                return [
                    Check(
                        "target",
                        WARN,
                        f"no target given and no running {targets.DAEMON}: "
                        f"give --pid PID or --exe PATH to check its probes",
                    )
                ]
            if len(daemons) > 1:
                return [
                    Check(
                        "target",
                        WARN,
                        f"several {targets.DAEMON} processes are running (pids "
                        f"{', '.join(map(str, daemons))}): pick one with --pid",
                    )
                ]
            pids, found_by = daemons, f"the only running {targets.DAEMON}"
        for pid in pids:
            try:
                path = targets._exe_of(pid)
            except P2pcapError as exc:
                return [Check("target", FAIL, str(exc))]
            paths[f"/proc/{pid}/exe"] = (path, f"pid {pid}, {found_by}")
    checks = []
    for source, (path, how) in paths.items():
        try:
            info = read_elf_info(source)
        except P2pcapError as exc:
            checks.append(Check("target", FAIL, str(exc)))
            continue
        checks.append(Check("target", OK, f"target {path} ({how})"))
        checks.extend(check_probes(info.notes, path))
    return checks


# -- all of them ---------------------------------------------------------------


def environment_checks() -> list[Check]:
    """The machine's checks, in the order ``record`` needs them."""
    try:
        with open("/proc/self/status") as f:
            capeff = read_capeff(f.read())
    except OSError:
        capeff = 0
    release = os.uname().release
    version, is_bcc, where = bcc_facts()
    return [
        check_privileges(os.geteuid(), capeff),
        check_kernel(release, btf=os.path.exists("/sys/kernel/btf/vmlinux")),
        check_bcc(version, is_bcc=is_bcc, where=where),
        check_headers(release),
        check_tracefs(),
    ]


def run_all(pids: Iterable[int] = (), exe: str | None = None, *, target: bool = True) -> list[Check]:
    """Every check on this machine, then the target's probes (``target=False``: skip them)."""
    checks = environment_checks()
    if target:
        checks.extend(target_checks(pids, exe))
    return checks


def first_failure(checks: Iterable[Check]) -> Check | None:
    return next((c for c in checks if c.status == FAIL), None)
