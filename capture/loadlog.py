"""Keep BCC's compile and load chatter off the terminal; explain a failure in one line.

libbcc and the clang inside it write diagnostics straight to file
descriptor 2 (C ``stderr``, LLVM's ``errs()``), and on a rejected program
libbcc prints the kernel verifier's whole log there, thousands of lines for
p2pcap's program.  ``contextlib.redirect_stderr`` only swaps Python's
``sys.stderr`` object and catches none of it, so :func:`captured_stderr`
points descriptor 2 itself at a temporary file for the duration of the call.

On failure :func:`explain` turns BCC's exception and that text into one
line: what failed (clang, the verifier, the verifier's budget), the first
line that says why, and the path of a file holding the full log.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import signal
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass

from p2pcap.errors import P2pcapError

from . import files


@dataclass
class Captured:
    text: str = ""  # everything written to fd 2 inside the block (set when it ends)


# Our two descriptors live at or above this number.  libbcc 0.26 closes a
# stale descriptor number when a USDT context for a pid is destroyed (after
# load() returns): whatever BCC opened at that number meanwhile is lost.
# Taking low numbers here would shift BCC's own descriptors so that a live
# program's lands there (its cleanup then fails with EBADF); up here BCC
# numbers its descriptors exactly as it does without this capture.
_HIGH_FD = 200


def _moved_high(fd: int) -> int:
    high = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, _HIGH_FD)
    os.close(fd)
    return high


def _spool() -> int:
    try:
        return os.open(tempfile.gettempdir(), os.O_TMPFILE | os.O_RDWR | os.O_CLOEXEC, 0o600)
    except (AttributeError, OSError):  # no O_TMPFILE here, or not on this file system
        fd, path = tempfile.mkstemp(prefix="p2pcap-load-")
        os.unlink(path)
        return fd


def _watch(control: int, spool: int, terminal: int) -> None:
    """A forked watcher: if the capturing process dies inside the block, say so.

    LLVM ends the process with exit() on a fatal error ("LLVM ERROR: Cannot
    select ..."), its one line then sitting in our spool, unseen: a silent
    exit status 1.  No Python code can run in the dying process (a C
    atexit handler would call into a finalized interpreter at every normal
    exit), so a child waits instead: the block's end sends it "ok"; end of
    file without it means the parent is gone, and the child reports.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    try:
        if os.read(control, 2) == b"ok":
            return
        text = _read_all(spool)
        lines = [line for line in text.splitlines() if line.strip()]
        path = write_log(text) if text.strip() else None
        where = f" (full log: {path})" if path else ""
        last = lines[-1] if lines else "no message"
        os.write(
            terminal, f"Error: BCC ended the process while loading the BPF program: {last}{where}\n".encode()
        )
    finally:
        os._exit(0)


@contextlib.contextmanager
def captured_stderr() -> Iterator[Captured]:
    """Send fd 2 to a temporary file inside the block; ``.text`` holds it afterwards.

    >>> with captured_stderr() as log:  # doctest: +SKIP
    ...     bpf = bcc.BPF(text=source)
    """
    captured = Captured()
    with contextlib.suppress(Exception):
        sys.stderr.flush()
    spool = _moved_high(_spool())
    try:
        saved = fcntl.fcntl(2, fcntl.F_DUPFD_CLOEXEC, _HIGH_FD)
        control_r, control_w = (_moved_high(fd) for fd in os.pipe())
        watcher = os.fork()
        if watcher == 0:
            os.close(control_w)
            _watch(control_r, spool, saved)  # never returns
        os.close(control_r)
        try:
            os.dup2(spool, 2)
            try:
                yield captured
            finally:
                # C's stderr is unbuffered and LLVM's errs() flushes itself;
                # only Python's own sys.stderr may still hold bytes.
                with contextlib.suppress(Exception):
                    sys.stderr.flush()
                os.dup2(saved, 2)
        finally:
            with contextlib.suppress(OSError):
                os.write(control_w, b"ok")
            os.close(control_w)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(watcher, 0)
            os.close(saved)
            captured.text = _read_all(spool)
    finally:
        os.close(spool)


def _read_all(fd: int) -> str:
    os.lseek(fd, 0, os.SEEK_SET)
    chunks = []
    while chunk := os.read(fd, 1 << 16):
        chunks.append(chunk)
    return b"".join(chunks).decode("utf-8", errors="replace")


# -- what went wrong -----------------------------------------------------------


@dataclass
class Failure:
    kind: str  # "compile", "verifier", "too-complex", "permission", "other"
    function: str | None  # the BPF function the kernel refused, when known
    reason: str  # the one line of the log (or BCC's message) that says why


# Lines of a verifier log that trace its walk rather than say what is wrong
# (kernel/bpf/verifier.c, print_verifier_state and friends): instructions
# "12: (bf) r1 = r0", states "12: R1=ctx() ...", "from 4 to 9: ...",
# source lines "; x = y @ main.c:14", and log_level 2 bookkeeping.
_TRACE = re.compile(
    r"^(\d+: |\d+:$|from \d+ to \d+:|; |;$|func#\d+ @|last_idx |regs=|parent |propagating |mark_precise"
    r"|frame\d+:|\s*R\d+_?\w*=|Live regs|Validating |Func#|caller:|callee:|returning from callee|"
    r"to caller at|arg#\d+ |btf_vmlinux|Global function |=>|\.\.\.)"
)
_PROCESSED = re.compile(r"^processed \d+ insns")
# Phrases of verifier errors, for a log cut short before its "processed"
# line (libbcc's log buffer has a fixed size on older versions).
_VERIFIER_ERROR = re.compile(
    r"min value is negative|max value is outside|value is outside of the allowed memory range"
    r"|invalid (mem )?access|invalid (indirect )?read|invalid write|invalid stack|invalid func"
    r"|invalid argument|invalid bpf_context|unbounded memory access|!read_ok|back-edge"
    r"|unreachable insn|jump out of range|infinite loop|misaligned|math between|pointer arithmetic"
    r"|unknown func|helper call is not allowed|program of this type cannot use helper"
    r"|Unreleased reference|dereference of modified|type=\S+ expected=|combined stack size"
    r"|the call stack of|too many|is not allowed|cannot|R\d+ invalid|expected pointer|"
    r"BPF program is too large|loop is not bounded|sequence of \d+ jumps is too complex"
)
_CLANG_ERROR = re.compile(r":\d+:\d+: (fatal )?error: ")
_BCC_BANNER = re.compile(r"^bpf: (Failed to load program|Argument list too long)")
_FUNCTION = re.compile(r"Failed to load BPF program b?'([^']+)'")
# BCC 0.26 on E2BIG prints "Program too large (N insns), at most 4096
# insns": its guess from the pre-5.2 limit on instructions in a program,
# N being the program's own size, not what the verifier walked.  Since
# Linux 5.2 E2BIG from BPF_PROG_LOAD means the verifier gave up after
# walking 1,000,000 instructions (BPF_COMPLEXITY_LIMIT_INSNS).
_TOO_COMPLEX = "too complex for this kernel's verifier (1M instruction budget)"


def _verifier_reason(lines: list[str]) -> str | None:
    ends = [i for i, line in enumerate(lines) if _PROCESSED.match(line)]
    if ends:
        # The error is the block of non-trace lines just before "processed
        # N insns"; its first line is the cause, later ones elaborate.
        end = ends[-1]
        first = None
        for i in range(end - 1, -1, -1):
            line = lines[i].strip()
            if not line:
                continue
            if _TRACE.match(line) or _BCC_BANNER.match(line):
                break
            first = line
        if first:
            return first
    for line in lines:
        line = line.strip()
        if _VERIFIER_ERROR.search(line) and not _TRACE.match(line) and not _BCC_BANNER.match(line):
            return line
    return None


def diagnose(message: str, log: str, *, source_name: str = "the BPF source") -> Failure:
    """Classify a failed ``bcc.BPF(...)`` from its exception message and fd-2 text."""
    lines = log.splitlines()
    found = _FUNCTION.search(message)
    function = found.group(1) if found else None
    if "Failed to compile BPF" in message or any(_CLANG_ERROR.search(line) for line in lines):
        error = next((line.strip() for line in lines if _CLANG_ERROR.search(line)), None)
        if error is None:
            error = next((line.strip() for line in lines if "error:" in line), message)
        # BCC hands clang the program text as the in-memory file /virtual/main.c.
        return Failure("compile", function, error.replace("/virtual/main.c", source_name))
    if (
        "Argument list too long" in message
        or "E2BIG" in message
        or any("BPF program is too large" in line for line in lines)
    ):
        return Failure("too-complex", function, _TOO_COMPLEX)
    if "Permission denied" in message or "EACCES" in message:
        reason = _verifier_reason(lines)
        if reason is not None:
            return Failure("verifier", function, reason)
    if "Operation not permitted" in message or "EPERM" in message:
        return Failure("permission", function, message.rsplit(": ", 1)[-1])
    reason = _verifier_reason(lines)
    if reason is not None:
        return Failure("verifier", function, reason)
    return Failure("other", function, message)


def one_line(failure: Failure, *, release: str, log_path: str | None) -> str:
    """The error line ``record`` shows for a failure."""
    at = f" at {failure.function}" if failure.function else ""
    full = f" (full log: {log_path})" if log_path else ""
    if failure.kind == "compile":
        headers = "file not found" in failure.reason or re.search(r"/(lib/modules|usr/src)/", failure.reason)
        hint = (
            "; the kernel headers are missing or incomplete: 'p2pcap doctor' checks them" if headers else ""
        )
        return f"the BPF program did not compile: {failure.reason}{full}{hint}"
    if failure.kind == "verifier":
        return f"the BPF program was rejected by the kernel {release} verifier{at}: {failure.reason}{full}"
    if failure.kind == "too-complex":
        return f"the BPF program{at} is {failure.reason} on kernel {release}{full}"
    if failure.kind == "permission":
        # EPERM rather than EACCES: the kernel refused before verifying
        # (missing CAP_BPF, kernel.unprivileged_bpf_disabled, lockdown).
        return (
            f"the kernel {release} refused to load BPF programs{at} ({failure.reason}): run as root; "
            f"kernel lockdown (/sys/kernel/security/lockdown) can forbid it even then{full}"
        )
    return f"the BPF program failed to load{at}: {failure.reason}{full}"


def log_path_for(pid: int | None = None) -> str:
    """Where a failed load's log goes: $XDG_RUNTIME_DIR when usable (private to the user), else /tmp."""
    pid = os.getpid() if pid is None else pid
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    folder = (
        runtime
        if runtime and os.path.isdir(runtime) and os.access(runtime, os.W_OK)
        else tempfile.gettempdir()
    )
    return os.path.join(folder, f"p2pcap-verifier-{pid}.log")


def write_log(text: str, path: str | None = None, *, user=None) -> str | None:
    """Write the full log; return its path, or None when it could not be written.

    Created by ``user`` (the recording's: capture.files.create), 0600 (it
    shows the program and the kernel's view of it), O_EXCL and O_NOFOLLOW
    because /tmp is shared and we may be root: a planted symlink must not
    make us overwrite another file.  If the name is taken, a fresh unique
    name next to it is used instead.
    """
    path = path or log_path_for()
    try:
        fd = files.create(path, user=user, mode=0o600, exclusive=True)
    except P2pcapError:
        folder, name = os.path.split(path)
        try:
            with files.acting_as(user):
                fd, path = tempfile.mkstemp(prefix=name.removesuffix(".log") + "-", suffix=".log", dir=folder)
        except OSError:
            return None
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    return path


def explain(
    exc: BaseException,
    captured: str,
    *,
    release: str | None = None,
    source_name: str = "the BPF source",
    user=None,
) -> str:
    """One line for a failed load; writes the full log to a file first (its path is in the line)."""
    release = release or os.uname().release
    message = str(exc)
    failure = diagnose(message, captured, source_name=source_name)
    log_path = write_log(f"{message}\n{captured}", user=user) if captured.strip() else None
    return one_line(failure, release=release, log_path=log_path)
