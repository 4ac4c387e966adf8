"""The kernel matrix: the live tests, on every kernel p2pcap claims.

What loads on this machine's kernel proves nothing about a user's: the BPF
verifier, the helpers and the uprobe code differ by version.  For each
kernel in ``fetch.KERNELS`` this boots Debian's own kernel image under qemu
with virtme-ng, on this machine's file system shared read-only over
virtio-fs (the clone, its ``.venv`` and BCC included), and runs there the
live tests that depend
on the kernel (``GUEST_TESTS``) plus the verifier-cost figures.  Nested KVM
is unavailable on these VMs, so guests run under TCG (software emulation):
a BCC compile takes ~20 s there.

A kernel that cannot be fetched, or a guest that dies, fails the run.  A
guest that panics is retried once with single-threaded TCG (a 6.12 guest
has been seen to oops in ``__schedule`` under multi-threaded TCG while
uprobes were patched in; that says nothing about p2pcap).

    .venv/bin/python tests/kernels/matrix.py [--kernels 5.10,6.1] [--json FILE]

Run as root, after ``make test``'s set-up (``make kernel-matrix`` does both).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fetch import KERNELS, FetchError, cache_dir, fetch, virtiofsd  # noqa: E402

REPO = Path(__file__).resolve().parent.parent.parent
GUEST = Path(__file__).resolve().parent / "guest.sh"

# The live tests a kernel can break, one BCC compile each: a session with
# 2 and 3 MiB messages byte-exact; losses forced by a 64 KiB ring; the
# three kernel-side filters at once; --exe (uprobes by inode) catching a
# node started later; the per-CPU peer cache; USDT semaphores raised by
# the kernel's uprobe reference counter, with --pid and with --exe; and,
# under sudo, files made by the user and planted links refused (before 6.5
# the recorder keeps root, and only its open() changes identity), with the
# root-safety unit tests (they need no BPF, but the guest's set*id calls).
GUEST_TESTS = [
    "tests/capture/test_record_e2e.py",
    "tests/capture/test_record_losses.py::test_every_message_is_recorded_or_counted_once",
    "tests/capture/test_record_losses.py::test_gap_reasons_and_counts",
    "tests/capture/test_record_losses.py::test_what_was_kept_is_byte_exact",
    "tests/capture/test_record_filters.py::test_kernel_filters_keep_exactly_the_selected_messages[all-three]",
    "tests/capture/test_record_targets.py::test_exe_catches_a_node_started_later",
    "tests/capture/test_peer_cache.py",
    "tests/capture/test_record_semaphores.py::test_pid_records_everything_and_leaves_the_semaphores_as_found[ctrl-c]",
    "tests/capture/test_record_semaphores.py::test_exe_raises_the_semaphores_of_running_and_later_processes",
    "tests/capture/test_record_as_user.py",
    "tests/capture/test_files.py",
]
GUEST_TIMEOUT_S = 1500
PANIC = re.compile(r"Kernel panic|Oops:|BUG: |general protection fault")
# pytest's closing line, with or without -q's missing "=" frame.
SUMMARY = re.compile(
    r"^=*\s*(\d+ (?:passed|failed|skipped|error|errors|deselected|xfailed|xpassed)"
    r"(?:, \d+ \w+)*) in [\d.]+s",
    re.M,
)


@dataclass
class Result:
    kernel: str
    release: str = ""
    ok: bool = False
    summary: str = ""
    seconds: float = 0.0
    attempts: int = 0
    insns: dict = field(default_factory=dict)
    problem: str = ""


_OUT = threading.Lock()


def say(text: str) -> None:
    """One whole line at a time: two guests' threads report at once."""
    with _OUT:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()


def vng() -> str:
    path = shutil.which("vng", path=f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}")
    if not path:
        raise SystemExit("kernels: vng (virtme-ng) is not installed: run 'make kernel-matrix'")
    return path


def boot(root: Path, release: str, out: Path, single_thread: bool, path: str) -> None:
    """One guest run; its console goes to out/console.log.

    The guest sees this machine's files over virtio-fs (virtiofsd on PATH):
    9p is several times slower for BCC's thousands of header reads
    (measured: 13 live tests in 6 min over virtio-fs, in 25 over 9p), and
    Debian's cloud kernel has no 9p at all.
    """
    cmd = [
        vng(),
        "--run",
        str(root / "boot" / f"vmlinuz-{release}"),
        "--disable-kvm",
        "--cpus",
        "2",
        "--memory",
        "3G",
        "--verbose",
        "--rwdir",
        str(out),
        "--cwd",
        str(REPO),
        "--exec",
        " ".join(["bash", str(GUEST), str(REPO), str(out), *GUEST_TESTS]),
    ]
    if single_thread:
        cmd += ["--qemu-opts=-accel tcg,thread=single"]
    env = {**os.environ, "PATH": path}
    with open(out / "console.log", "wb") as console:
        try:
            subprocess.run(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=console,
                stderr=subprocess.STDOUT,
                timeout=GUEST_TIMEOUT_S,
                env=env,
                cwd=REPO,
            )
        except subprocess.TimeoutExpired:
            console.write(f"\nkernels: guest timed out after {GUEST_TIMEOUT_S} s\n".encode())


def prepare(name: str, cache: Path) -> tuple[Result, Path | None, str]:
    """Fetch a kernel (and virtiofsd if it needs it): (result so far, its root, PATH for vng)."""
    result = Result(name)
    kernel = KERNELS[name]
    path = f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}"
    try:
        root, result.release = fetch(kernel, cache, log=say)
        path = f"{virtiofsd(cache, log=say)}:{path}"
    except (FetchError, subprocess.CalledProcessError) as exc:
        result.problem = f"cannot fetch: {exc}"
        return result, None, path
    return result, root, path


def run_kernel(result: Result, root: Path, path: str, keep: Path) -> Result:
    """Boot one kernel's guest (twice if it panics) and read what its tests left."""
    name = result.kernel
    start = time.monotonic()
    for attempt in (1, 2):
        result.attempts = attempt
        result.problem = ""  # a retry that ends with a result is judged by that result alone
        out = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=keep))
        os.chmod(out, 0o755)
        boot(root, result.release, out, single_thread=attempt == 2, path=path)
        console = (out / "console.log").read_text(errors="replace")
        rc_file = out / "rc"
        if rc_file.exists():
            break
        panicked = PANIC.search(console)
        result.problem = (
            f"guest {'panicked: ' + panicked.group(0) if panicked else 'ended without a result'}"
            f" (console: {out / 'console.log'})"
        )
        if not panicked:
            break
        say(f"kernels: {name} guest panicked, retrying once with single-threaded TCG")
    result.seconds = round(time.monotonic() - start, 1)
    if not rc_file.exists():
        return result
    log = (out / "pytest.log").read_text(errors="replace")
    found = SUMMARY.findall(log)
    result.summary = found[-1] if found else "(no pytest summary)"
    uname = (out / "uname").read_text().strip()
    try:
        result.insns = json.loads((out / "verifier.json").read_text())["insns"]
    except (OSError, ValueError, KeyError):
        result.problem = f"no verifier figures ({out / 'verifier.err'})"
    rc = int(rc_file.read_text())
    if uname != result.release:
        result.problem = f"the guest ran {uname}, not {result.release}"
    elif rc != 0:
        result.problem = f"pytest exit {rc} (log: {out / 'pytest.log'})"
        say(log[-6000:])
    elif "skipped" in result.summary:
        result.problem = f"tests skipped: {result.summary}"
    result.ok = not result.problem
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description="Run the live tests on every claimed kernel under qemu.")
    parser.add_argument(
        "--kernels", default=",".join(KERNELS), help="comma-separated, of: " + ", ".join(KERNELS)
    )
    parser.add_argument("--json", type=Path, help="write the results here too")
    parser.add_argument("--jobs", type=int, default=2, help="guests at a time (default 2)")
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("kernels: run as root (the guests load BPF programs as root on this file system)")
    names = [n for n in args.kernels.split(",") if n]
    unknown = [n for n in names if n not in KERNELS]
    if unknown:
        raise SystemExit(f"kernels: unknown kernel {', '.join(unknown)} (known: {', '.join(KERNELS)})")
    cache = cache_dir()
    keep = Path(tempfile.mkdtemp(prefix="p2pcap-kernels-"))
    os.chmod(keep, 0o755)
    # Fetch one after another (two kernels may share a suite's apt folder),
    # then boot `--jobs` guests at a time: a guest spends most of its time in
    # one single-threaded clang, so two guests keep both host cores busy.
    prepared = [prepare(name, cache) for name in names]

    def one(item):
        result, root, path = item
        if root is None:
            return result
        say(f"kernels: {result.kernel}: booting {result.release} under qemu (TCG)")
        result = run_kernel(result, root, path, keep)
        verdict = "ok" if result.ok else f"FAILED: {result.problem}"
        if result.attempts > 1:
            verdict += " (on the single-threaded retry, after a guest panic)"
        say(
            f"kernels: {result.kernel} ({result.release}): {result.summary or '-'}; {result.seconds} s; {verdict}"
        )
        return result

    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        results = list(pool.map(one, prepared))
    wall = round(time.monotonic() - started)
    print(
        f"\nkernel matrix: {wall} s for {len(results)} kernels, {args.jobs} at a time "
        f"(each row: boot, BCC compiles and the live tests in the guest)"
    )
    print(f"{'kernel':10s} {'release':24s} {'time':>7s}  {'verifier insns (chunks/in/out)':32s} result")
    for r in results:
        insns = "/".join(f"{v:,}" for v in r.insns.values()) or "-"
        print(
            f"{r.kernel:10s} {r.release:24s} {r.seconds:6.0f}s  {insns:32s} "
            f"{'ok: ' + r.summary if r.ok else 'FAILED: ' + r.problem}"
        )
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in results], indent=1) + "\n")
    failed = [r.kernel for r in results if not r.ok]
    # The plain closing line CI reads, one per kernel counted.
    print(f"kernels: {len(results) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
