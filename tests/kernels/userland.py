"""The tests in another Debian release's userland, on this machine's kernel.

The kernel matrix (matrix.py) puts other kernels under this machine's
userland; this puts another userland -- Debian 13's Python 3.13 and its
BCC -- over this machine's kernel, so a supported host's interpreter and
BCC are exercised for real, not assumed.  The userland is a ``debootstrap``
root made once and cached (``~/.cache/p2pcap/hosts/<suite>``, or under
``$P2PCAP_KERNEL_CACHE/../hosts``); p2pcap and its test dependencies go
into a virtual environment inside it, built from this clone.  The tests
run in a private mount namespace (nothing is left mounted on the host)
with ``chroot``, the clone bound in at ``/src``, and the host's
``/proc``, ``/sys`` (tracefs), ``/dev``, kernel modules and headers bound
in read-only where BCC looks for them.

    .venv/bin/python tests/kernels/userland.py [--suite trixie]

Run as root (``make kernel-matrix`` runs it after the kernels).
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fetch import ARCHIVE, cache_dir  # noqa: E402
from matrix import SUMMARY  # noqa: E402

REPO = Path(__file__).resolve().parent.parent.parent
SUITES = {"trixie": "Debian 13"}
# What the userland needs to record and to run these tests: BCC, a venv,
# the compilers (dash-hash builds from source; the stand-ins), <sys/sdt.h>.
PACKAGES = [
    "python3-bpfcc",
    "python3-venv",
    "python3-dev",
    "gcc",
    "g++",
    "gdb",
    "make",
    "systemtap-sdt-dev",
    "util-linux",
    "ca-certificates",
]
# The suite's parts that depend on the interpreter and BCC: the recorder
# (live, through BCC), doctor, the CLI's errors, the parsers and the file
# format.  The analysis tests also need tshark, and are the same Python.
TESTS = [
    "tests/capture",
    "tests/test_doctor.py",
    "tests/test_cli_errors.py",
    "tests/test_cli_help.py",
    "tests/decoders",
    "tests/formats",
    # the C listing and the other fast paths of show, against the general path, on this interpreter
    "tests/analysis/test_fast_output.py",
    # the C writers of decoded JSON, against decoding, built by this userland's compiler
    "tests/analysis/test_payload_json.py",
    "tests/standin",
]
VENV = "/opt/p2pcap-venv"


def say(message: str) -> None:
    print(f"userland: {message}", flush=True)


def run(argv: list[str], **kwargs) -> subprocess.CompletedProcess:
    proc = subprocess.run(argv, capture_output=True, text=True, **kwargs)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
        raise SystemExit(f"userland: {' '.join(argv[:4])} ... failed ({proc.returncode}):\n{tail}")
    return proc


def make_root(suite: str, root: Path) -> None:
    """debootstrap the suite once; ``.ready`` marks a whole one (with PACKAGES as it then was)."""
    ready = root / ".ready"
    if ready.exists():
        missing = set(PACKAGES) - set(ready.read_text().split()[1:])
        if missing:  # PACKAGES grew since: add what is new
            say(f"installing {' '.join(sorted(missing))} into {root}")
            run(
                [
                    "chroot",
                    str(root),
                    "apt-get",
                    "install",
                    "-y",
                    "-qq",
                    "--no-install-recommends",
                    *sorted(missing),
                ],
                env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "DEBIAN_FRONTEND": "noninteractive"},
            )
            ready.write_text(" ".join([suite, *PACKAGES]) + "\n")
        return
    if shutil.which("debootstrap") is None:
        raise SystemExit(
            "userland: debootstrap is missing: run 'make kernel-matrix' (its set-up installs it)"
        )
    partial = root.with_name(root.name + ".tmp")
    shutil.rmtree(partial, ignore_errors=True)
    say(f"debootstrap {suite} into {root} (once; a few minutes)")
    run(["debootstrap", "--variant=minbase", f"--include={','.join(PACKAGES)}", suite, str(partial), ARCHIVE])
    (partial / ".ready").write_text(" ".join([suite, *PACKAGES]) + "\n")
    partial.rename(root)


def chroot(
    root: Path, script: str, binds: list[tuple[str, str, bool]], env: dict
) -> subprocess.CompletedProcess:
    """Run ``script`` (sh) chrooted in ``root``, in a private mount namespace with ``binds``."""
    # The root bound onto itself: inside, "/" is then a mount point, which
    # `unshare --propagation private` (the container tests) needs.
    mounts = ["set -e", f"mount --bind {shlex.quote(str(root))} {shlex.quote(str(root))}"]
    for source, target, readonly in binds:
        where = shlex.quote(str(root) + target)
        mounts.append(f"mkdir -p {where} && mount --rbind {shlex.quote(source)} {where}")
        if readonly:
            mounts.append(f"mount -o remount,bind,ro {where}")
    exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
    inner = shlex.quote(script)
    mounts.append(f"exec env -i {exports} chroot {shlex.quote(str(root))} /bin/sh -c {inner}")
    return subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", "\n".join(mounts)],
        capture_output=True,
        text=True,
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description="Run the interpreter- and BCC-dependent tests in another Debian release's userland."
    )
    parser.add_argument("--suite", default="trixie", choices=sorted(SUITES))
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("userland: run as root (debootstrap, chroot, and the live tests load BPF programs)")
    start = time.monotonic()
    root = cache_dir().parent / "hosts" / args.suite
    root.parent.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(root.with_name(root.name + ".tmp"), ignore_errors=True)
    if (root / ".ready").exists():
        shutil.copy("/etc/resolv.conf", root / "etc" / "resolv.conf")  # apt and pip reach out from inside
    make_root(args.suite, root)
    shutil.copy("/etc/resolv.conf", root / "etc" / "resolv.conf")
    release = os.uname().release
    binds = [
        ("/proc", "/proc", False),
        ("/sys", "/sys", False),
        ("/dev", "/dev", False),
        (str(REPO), "/src", False),
        (f"/lib/modules/{release}", f"/lib/modules/{release}", True),
        ("/usr/src", "/usr/src", True),
        # This host's trust store: pip inside reaches PyPI the way the host does
        # (through whatever proxy and CA the host is set up with).
        ("/etc/ssl/certs", "/etc/ssl/certs", True),
    ]
    base_env = {
        "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
        "HOME": "/root",
        "LANG": "C.UTF-8",
        **{k: v for k, v in os.environ.items() if k.startswith("PIP_") and k != "PIP_FIND_LINKS"},
        **{k: os.environ[k] for k in ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE") if k in os.environ},
    }
    # Editable, as .venv is on the host: the tests import p2pcap.capture etc.
    # from the clone's folders through the install's import hook.
    say(f"installing p2pcap and its test dependencies into {VENV} (Debian {args.suite}'s python3)")
    install = (
        f"test -x {VENV}/bin/python || python3 -m venv --system-site-packages {VENV}; "
        f"{VENV}/bin/python -m pip install --quiet --disable-pip-version-check -e '/src[test]'"
    )
    proc = chroot(root, install, binds, base_env)
    if proc.returncode != 0:
        print(proc.stdout[-3000:], proc.stderr[-3000:])
        raise SystemExit(f"userland: installing into {args.suite}'s userland failed")
    versions = chroot(
        root,
        f"{VENV}/bin/python -c 'import sys, bcc; print(sys.version.split()[0], bcc.__version__)'",
        binds,
        base_env,
    )
    say(f"{SUITES[args.suite]} userland: Python and BCC {versions.stdout.strip() or versions.stderr.strip()}")
    tests = " ".join(TESTS)
    env = {**base_env, "P2PCAP_REQUIRE_EBPF": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    proc = chroot(
        root, f"cd /src && {VENV}/bin/python -m pytest -p no:cacheprovider -q -ra {tests}", binds, env
    )
    print(proc.stdout[-8000:], proc.stderr[-2000:], flush=True)
    found = SUMMARY.findall(proc.stdout)
    summary = found[-1] if found else "(no pytest summary)"
    seconds = round(time.monotonic() - start)
    ok = proc.returncode == 0 and "skipped" not in summary
    say(
        f"{SUITES[args.suite]} ({args.suite}) userland on kernel {release}: {summary}; {seconds} s; "
        f"{'ok' if ok else 'FAILED'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
