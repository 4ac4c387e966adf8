"""Fetch Debian's kernel image and header packages for the kernel matrix.

Each kernel the project claims is a Debian suite's current kernel: the
suite's meta packages (``linux-image-amd64`` …) name today's ABI, so a
security update moves the matrix along with Debian instead of pinning a
version that leaves the archive.  The packages come from Debian's archive
through apt itself, with a sources list and state of our own (the host's
apt configuration is never touched), and are unpacked with ``dpkg-deb -x``
into a cache, never into this machine's ``/boot`` or ``/lib/modules``.

Layout of the cache (``$P2PCAP_KERNEL_CACHE``, default
``~/.cache/p2pcap/kernels``)::

    apt/<suite>/…        apt lists and downloaded .debs, per suite
    <name>/root/boot/vmlinuz-<release>
    <name>/root/lib/modules/<release>/{kernel/…, modules.dep, build, source}
    <name>/root/usr/src/linux-headers-<release>{,-common}
    <name>/release       the kernel release, written last: the entry is whole

``build`` and ``source`` point at the unpacked headers by absolute path
(BCC looks for ``/lib/modules/$(uname -r)/build``; Debian splits the
headers in two and BCC needs both), so a guest that sees this machine's
file system finds them through the modules folder virtme-ng links in.
The cache must not live under ``/var/cache`` or ``/tmp``: virtme-ng
mounts fresh file systems over those in the guest.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ARCHIVE = "http://deb.debian.org/debian"
SECURITY = "http://deb.debian.org/debian-security"
KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"


@dataclass(frozen=True)
class Kernel:
    name: str  # how the matrix names it
    suite: str  # Debian suite whose current kernel it is
    flavour: str  # "amd64" or "cloud-amd64"
    why: str  # which users' kernel it stands for


# The kernels p2pcap claims (README, Supported hosts).  5.10 is the floor:
# older than Ubuntu 22.04's 5.15; 6.12 is newer than Ubuntu 24.04's 6.8.
KERNELS = {
    k.name: k
    for k in (
        Kernel("5.10", "bullseye", "amd64", "Debian 11; the floor, below Ubuntu 22.04's 5.15"),
        Kernel("6.1", "bookworm", "amd64", "Debian 12"),
        Kernel("6.1-cloud", "bookworm", "cloud-amd64", "Debian 12 cloud images"),
        Kernel("6.12", "trixie", "amd64", "Debian 13, Debian 12 backports; above Ubuntu 24.04's 6.8"),
    )
}


class FetchError(RuntimeError):
    """A kernel could not be fetched: the matrix fails, it does not skip."""


def cache_dir() -> Path:
    default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "p2pcap" / "kernels"
    path = Path(os.environ.get("P2PCAP_KERNEL_CACHE", default)).resolve()
    if str(path).startswith(("/var/cache/", "/tmp/")):
        raise FetchError(
            f"{path}: the kernel cache cannot be under /var/cache or /tmp "
            "(the guest mounts its own file systems there)"
        )
    return path


class Apt:
    """apt-get / apt-cache on one suite, with lists and state of our own."""

    def __init__(self, suite: str, root: Path):
        self.root = root
        (root / "lists" / "partial").mkdir(parents=True, exist_ok=True)
        (root / "archives" / "partial").mkdir(parents=True, exist_ok=True)
        sources = root / "sources.list"
        sources.write_text(
            f"deb [signed-by={KEYRING}] {ARCHIVE} {suite} main\n"
            f"deb [signed-by={KEYRING}] {SECURITY} {suite}-security main\n"
        )
        self.options = [
            f"-oDir::Etc::SourceList={sources}",
            "-oDir::Etc::SourceParts=/nonexistent",
            f"-oDir::State::Lists={root / 'lists'}",
            f"-oDir::Cache={root}",
            "-oDir::State::status=/dev/null",
            "-oAPT::Architecture=amd64",
            "-oAPT::Sandbox::User=root",
            "-oDebug::NoLocking=1",
        ]

    def run(self, tool: str, *args: str, cwd: Path | None = None) -> str:
        proc = subprocess.run([tool, *self.options, *args], capture_output=True, text=True, cwd=cwd)
        if proc.returncode != 0:
            last = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
            raise FetchError(f"{tool} {' '.join(args)}: {last}")
        return proc.stdout

    def update(self) -> None:
        self.run("apt-get", "-qq", "update")

    def depends(self, package: str) -> list[str]:
        """Names in the candidate version's Depends (first of each alternative)."""
        out = self.run("apt-cache", "show", "--no-all-versions", package)
        line = next((x for x in out.splitlines() if x.startswith("Depends:")), "Depends:")
        return [alt.split("|")[0].split("(")[0].strip() for alt in line[len("Depends:") :].split(",")]

    def download(self, packages: list[str], into: Path) -> list[Path]:
        into.mkdir(parents=True, exist_ok=True)
        self.run("apt-get", "-qq", "download", *packages, cwd=into)
        debs = []
        for package in packages:
            found = sorted(into.glob(f"{package}_*.deb"))
            if not found:
                raise FetchError(f"apt-get download {package}: no .deb arrived")
            debs.append(found[-1])
        return debs


def packages_for(apt: Apt, kernel: Kernel) -> list[str]:
    """The versioned image and header packages behind the suite's meta packages."""
    image = [p for p in apt.depends(f"linux-image-{kernel.flavour}") if p.startswith("linux-image-")]
    headers = [p for p in apt.depends(f"linux-headers-{kernel.flavour}") if p.startswith("linux-headers-")]
    if len(image) != 1 or len(headers) != 1:
        raise FetchError(
            f"{kernel.suite}: cannot tell the kernel from linux-image-{kernel.flavour} "
            f"({image}) and linux-headers-{kernel.flavour} ({headers})"
        )
    common = [p for p in apt.depends(headers[0]) if re.fullmatch(r"linux-headers-.*-common(-rt)?", p)]
    return [image[0], headers[0], *common]


def unpack(debs: list[Path], root: Path) -> str:
    """Unpack into root; return the kernel release; wire up modules and headers."""
    for deb in debs:
        subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
    # trixie ships modules under /usr/lib; virtme-ng and BCC look in /lib.
    usr_modules = root / "usr" / "lib" / "modules"
    modules = root / "lib" / "modules"
    if usr_modules.is_dir() and not modules.exists():
        modules.parent.mkdir(parents=True, exist_ok=True)
        usr_modules.rename(modules)
    releases = [p.name for p in modules.iterdir() if (p / "kernel").is_dir()]
    if len(releases) != 1:
        raise FetchError(f"{root}: expected one kernel's modules, found {releases}")
    release = releases[0]
    if not (root / "boot" / f"vmlinuz-{release}").exists():
        raise FetchError(f"{root}: no boot/vmlinuz-{release} in the image package")
    src = root / "usr" / "src"
    build = src / f"linux-headers-{release}"
    common = [p for p in src.glob("linux-headers-*-common") if p.is_dir()]
    if not build.is_dir() or len(common) != 1:
        raise FetchError(f"{root}: headers for {release} incomplete ({build}, {common})")
    for link, target in ((modules / release / "build", build), (modules / release / "source", common[0])):
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(target)
    subprocess.run(["depmod", "-b", str(root), release], check=True)
    return release


def fetch(kernel: Kernel, cache: Path, log=print) -> tuple[Path, str]:
    """(root folder, kernel release) of a cached kernel, downloading it if needed."""
    entry = cache / kernel.name
    done = entry / "release"
    if done.exists():
        return entry / "root", done.read_text().strip()
    log(f"kernels: fetching {kernel.name} ({kernel.suite} linux-image-{kernel.flavour}) into {entry}")
    apt = Apt(kernel.suite, cache / "apt" / kernel.suite)
    apt.update()
    packages = packages_for(apt, kernel)
    debs = apt.download(packages, cache / "apt" / kernel.suite / "debs")
    root = entry / "root"
    if root.exists():
        subprocess.run(["rm", "-rf", str(root)], check=True)
    root.mkdir(parents=True)
    release = unpack(debs, root)
    done.write_text(release + "\n")
    log(f"kernels: {kernel.name} is {release} ({', '.join(packages)})")
    return root, release


def virtiofsd(cache: Path, log=print) -> Path:
    """A folder holding a runnable ``virtiofsd`` (the Rust daemon virtme-ng drives).

    Debian 12 ships only qemu's old C virtiofsd, whose options virtme-ng
    does not speak; Debian 13's Rust one needs glibc 2.39.  So Debian 13's
    package runs here with Debian 13's own libc beside it, through that
    libc's dynamic loader; nothing is installed on this machine.
    """
    entry = cache / "virtiofsd"
    wrapper = entry / "bin" / "virtiofsd"
    if wrapper.exists():
        return wrapper.parent
    log(f"kernels: fetching virtiofsd (trixie) into {entry}")
    apt = Apt("trixie", cache / "apt" / "trixie")
    apt.update()
    wanted = ["virtiofsd", "libc6", "libcap-ng0", "libseccomp2", "libgcc-s1"]
    debs = apt.download(wanted, cache / "apt" / "trixie" / "debs")
    root = entry / "root"
    root.mkdir(parents=True, exist_ok=True)
    for deb in debs:
        subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
    loader = root / "usr" / "lib64" / "ld-linux-x86-64.so.2"
    daemon = root / "usr" / "libexec" / "virtiofsd"
    if not loader.exists() or not daemon.exists():
        raise FetchError(f"{root}: virtiofsd or its loader missing after unpacking")
    wrapper.parent.mkdir(parents=True, exist_ok=True)
    tmp = wrapper.with_suffix(".tmp")
    tmp.write_text(f'#!/bin/sh\nexec {loader} --library-path {root}/usr/lib/x86_64-linux-gnu {daemon} "$@"\n')
    tmp.chmod(0o755)
    tmp.rename(wrapper)
    return wrapper.parent


if __name__ == "__main__":
    names = sys.argv[1:] or list(KERNELS)
    for name in names:
        print(*fetch(KERNELS[name], cache_dir()))
