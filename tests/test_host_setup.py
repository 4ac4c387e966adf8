"""Host detection of the set-up (scripts/hostsetup.py), with made-up hosts.

The module is not part of the installed package: it is loaded by path.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "hostsetup.py"

_spec = importlib.util.spec_from_file_location("hostsetup", SCRIPT)
hostsetup = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("hostsetup", hostsetup)  # dataclasses look their module up
_spec.loader.exec_module(hostsetup)

DEBIAN_12 = """PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
"""
DEBIAN_13 = """PRETTY_NAME="Debian GNU/Linux 13 (trixie)"
NAME="Debian GNU/Linux"
VERSION_ID="13"
VERSION="13 (trixie)"
VERSION_CODENAME=trixie
ID=debian
"""
UBUNTU_2204 = """PRETTY_NAME="Ubuntu 22.04.4 LTS"
NAME="Ubuntu"
VERSION_ID="22.04"
VERSION="22.04.4 LTS (Jammy Jellyfish)"
VERSION_CODENAME=jammy
ID=ubuntu
ID_LIKE=debian
"""
UBUNTU_2404 = """PRETTY_NAME="Ubuntu 24.04.1 LTS"
NAME="Ubuntu"
VERSION_ID="24.04"
VERSION="24.04.1 LTS (Noble Numbat)"
VERSION_CODENAME=noble
ID=ubuntu
ID_LIKE=debian
"""
FEDORA = """NAME="Fedora Linux"
VERSION="40 (Server Edition)"
ID=fedora
VERSION_ID=40
PRETTY_NAME="Fedora Linux 40 (Server Edition)"
"""

BASE = {
    "python3-bpfcc",
    "python3-venv",
    "gcc",
    "python3-dev",
    "make",
    "systemtap-sdt-dev",
    "g++",
    "gdb",
    "tshark",
    "default-jre-headless",
    "chromium",
    "tmux",
}
DEBIAN_METAS = {"linux-headers-amd64", "linux-headers-cloud-amd64", "linux-headers-rt-amd64"}


def kinds(steps):
    return [s.kind for s in steps]


def step(steps, kind):
    (found,) = [s for s in steps if s.kind == kind]
    return found


def test_debian_12_stock_kernel_gets_its_own_headers():
    known = BASE | DEBIAN_METAS | {"linux-headers-6.1.0-57-amd64"}
    steps = hostsetup.plan(DEBIAN_12, "6.1.0-57-amd64", known, set())
    install = step(steps, "install")
    assert install.packages == (
        "python3-bpfcc",
        "linux-headers-6.1.0-57-amd64",
        "python3-venv",
        "gcc",
        "python3-dev",
    )
    assert "standin-headers" not in kinds(steps)
    assert kinds(steps)[-1] == "tracefs"


def test_debian_12_cloud_kernel_without_its_package_falls_back_to_the_cloud_meta():
    steps = hostsetup.plan(DEBIAN_12, "6.1.0-57-cloud-amd64", BASE | DEBIAN_METAS, set())
    assert "linux-headers-cloud-amd64" in step(steps, "install").packages
    assert "linux-headers-amd64" not in step(steps, "install").packages
    assert "standin-headers" in kinds(steps)


def test_debian_12_cloud_kernel_with_its_package_installed_is_done():
    installed = BASE | {"linux-headers-6.1.0-57-cloud-amd64"}
    steps = hostsetup.plan(DEBIAN_12, "6.1.0-57-cloud-amd64", BASE | DEBIAN_METAS, installed, test=True)
    assert kinds(steps) == ["done", "tracefs"]
    assert "linux-headers-6.1.0-57-cloud-amd64" in step(steps, "done").message


def test_debian_12_this_vms_custom_kernel_gets_announced_standin_links():
    # 6.18.44-fc-v973: a custom kernel, no linux-headers-6.18.44-fc-v973 anywhere
    installed = BASE | {"linux-headers-cloud-amd64"}
    steps = hostsetup.plan(DEBIAN_12, "6.18.44-fc-v973", BASE | DEBIAN_METAS, installed, test=True)
    assert kinds(steps) == ["done", "standin-headers", "tracefs"]  # the installed meta is kept
    assert "6.18.44-fc-v973" in step(steps, "standin-headers").message
    assert "no headers package" in step(steps, "standin-headers").message
    # on a bare host it installs Debian's generic headers to stand in
    steps = hostsetup.plan(DEBIAN_12, "6.18.44-fc-v973", BASE | DEBIAN_METAS, set())
    assert "linux-headers-amd64" in step(steps, "install").packages


def test_standin_links_point_at_the_closest_debian_headers_with_their_common_half():
    names = [
        "linux-headers-6.1.0-57-cloud-amd64",
        "linux-headers-6.1.0-57-common",
        "linux-kbuild-6.1",
        "linux-headers-6.12.57+deb13-amd64",
        "linux-headers-6.12.57+deb13-common",
        "python3.11",
    ]
    kind, message, paths = hostsetup.headers_link("6.18.44-fc-v973", names)
    assert kind == "link"
    assert paths == (
        "/usr/src/linux-headers-6.12.57+deb13-amd64",
        "/usr/src/linux-headers-6.12.57+deb13-common",
    )
    assert len(message.splitlines()) == 1 and "stand-in" in message and "no headers package" in message
    kind, _, paths = hostsetup.headers_link("6.2.0-x", names)
    assert paths == ("/usr/src/linux-headers-6.1.0-57-cloud-amd64", "/usr/src/linux-headers-6.1.0-57-common")


def test_standin_links_never_replace_a_real_build_folder():
    names = ["linux-headers-6.1.0-57-cloud-amd64", "linux-headers-6.1.0-57-common"]
    kind, message, paths = hostsetup.headers_link("6.18.44-fc-v973", names, existing="a folder")
    assert kind == "fail" and paths is None and "untouched" in message
    kind, _, paths = hostsetup.headers_link(
        "6.18.44-fc-v973", names, existing="/home/me/linux", reachable=True
    )
    assert kind == "done" and paths is None
    # a broken stand-in link (its headers were removed) is replaced
    kind, _, paths = hostsetup.headers_link(
        "6.18.44-fc-v973", names, existing="/usr/src/linux-headers-6.1.0-50-cloud-amd64"
    )
    assert kind == "link" and paths[0] == "/usr/src/linux-headers-6.1.0-57-cloud-amd64"


def test_standin_links_without_any_headers_say_so():
    kind, message, _ = hostsetup.headers_link("6.18.44-fc-v973", ["linux-kbuild-6.1"])
    assert kind == "fail" and "/usr/src" in message


def test_rt_and_ubuntu_header_halves_pair_up():
    pairs = hostsetup.header_pairs(
        [
            "linux-headers-6.1.0-57-rt-amd64",
            "linux-headers-6.1.0-57-common",
            "linux-headers-6.1.0-57-common-rt",
        ]
    )
    assert pairs == [("linux-headers-6.1.0-57-rt-amd64", "linux-headers-6.1.0-57-common-rt")]
    pairs = hostsetup.header_pairs(["linux-headers-6.8.0-45", "linux-headers-6.8.0-45-generic"])
    assert pairs == [("linux-headers-6.8.0-45-generic", "linux-headers-6.8.0-45")]


def test_debian_13_uses_the_same_names_and_its_own_kernel_package():
    own = "linux-headers-6.12.118+deb13-amd64"
    steps = hostsetup.plan(DEBIAN_13, "6.12.118+deb13-amd64", BASE | DEBIAN_METAS | {own}, {"gcc"}, test=True)
    assert kinds(steps) == ["install", "tracefs"]
    assert set(step(steps, "install").packages) == (BASE - {"gcc"}) | {own}


@pytest.mark.parametrize(
    "os_release, release, why",
    [
        (UBUNTU_2204, "5.15.0-119-generic", "BCC 0.18, Python 3.10"),
        (UBUNTU_2404, "6.8.0-45-generic", "Python 3.12"),
    ],
)
def test_ubuntu_is_refused_in_one_line_unless_overridden(os_release, release, why):
    known = BASE | {f"linux-headers-{release}", "linux-headers-generic"}
    (refusal,) = hostsetup.plan(os_release, release, known, set())
    assert refusal.kind == "refuse"
    assert len(refusal.message.splitlines()) == 1
    assert why in refusal.message and "CI" in refusal.message and "P2PCAP_UNTESTED_HOST=1" in refusal.message
    steps = hostsetup.plan(os_release, release, known, set(), untested_ok=True)
    assert kinds(steps) == ["note", "install", "tracefs"]
    assert "UNTESTED" in step(steps, "note").message
    assert step(steps, "install").packages[:2] == ("python3-bpfcc", f"linux-headers-{release}")


def test_unknown_distribution_says_what_to_install_by_hand():
    (refusal,) = hostsetup.plan(FEDORA, "6.8.5-301.fc40.x86_64", set(), set(), untested_ok=True)
    assert refusal.kind == "refuse"
    line = refusal.message
    assert len(line.splitlines()) == 1
    assert "Fedora Linux 40" in line and "BCC" in line and "kernel headers" in line and "tracefs" in line


def test_a_package_apt_does_not_know_is_named_and_nothing_is_installed():
    steps = hostsetup.plan(DEBIAN_12, "6.1.0-57-amd64", (BASE - {"python3-bpfcc"}) | DEBIAN_METAS, set())
    assert "install" not in kinds(steps)
    unknown = step(steps, "unknown")
    assert unknown.packages == ("python3-bpfcc",)
    assert "python3-bpfcc" in unknown.message


def test_test_packages_only_with_test():
    runtime = hostsetup.plan(DEBIAN_12, "6.1.0-57-amd64", BASE | {"linux-headers-6.1.0-57-amd64"}, set())
    full = hostsetup.plan(
        DEBIAN_12, "6.1.0-57-amd64", BASE | {"linux-headers-6.1.0-57-amd64"}, set(), test=True
    )
    extra = set(step(full, "install").packages) - set(step(runtime, "install").packages)
    assert extra == {
        "tshark",
        "systemtap-sdt-dev",
        "make",
        "g++",
        "gdb",
        "default-jre-headless",
        "chromium",
        "tmux",
    }


def test_java_is_a_test_package_not_a_runtime_one():
    # Spark (propagation --engine spark) is tested, never needed to record or show.
    assert "default-jre-headless" in hostsetup.TEST and not any("jre" in p for p in hostsetup.RUNTIME)
    known = BASE | {"linux-headers-6.1.0-57-amd64"}
    runtime = hostsetup.plan(DEBIAN_12, "6.1.0-57-amd64", known, set())
    assert "default-jre-headless" not in step(runtime, "install").packages
    missing_java = hostsetup.plan(
        DEBIAN_12, "6.1.0-57-amd64", known - {"default-jre-headless"}, set(), test=True
    )
    assert step(missing_java, "unknown").packages == ("default-jre-headless",)


def test_kernel_matrix_packages_only_with_kernels():
    known = BASE | {
        "linux-headers-6.1.0-57-amd64",
        "qemu-system-x86",
        "kmod",
        "busybox-static",
        "debootstrap",
    }
    tests = hostsetup.plan(DEBIAN_12, "6.1.0-57-amd64", known, set(), test=True)
    matrix = hostsetup.plan(DEBIAN_12, "6.1.0-57-amd64", known, set(), kernels=True)
    extra = set(step(matrix, "install").packages) - set(step(tests, "install").packages)
    assert extra == {"qemu-system-x86", "kmod", "busybox-static", "debootstrap"}
    assert "kernel-matrix" in step(matrix, "install").message


def test_realnode_adds_the_libraries_a_debian_built_dashd_needs():
    # `ldd dashd` of Dash Core v23.1.2 built on Debian 12: libevent (and its
    # pthreads and core halves), GMP, SQLite
    libs = {"libevent-2.1-7", "libevent-pthreads-2.1-7", "libevent-core-2.1-7", "libgmp10", "libsqlite3-0"}
    known = BASE | libs | {"linux-headers-6.1.0-57-amd64"}
    tests = hostsetup.plan(DEBIAN_12, "6.1.0-57-amd64", known, set(), test=True)
    realnode = hostsetup.plan(DEBIAN_12, "6.1.0-57-amd64", known, set(), realnode=True)
    extra = set(step(realnode, "install").packages) - set(step(tests, "install").packages)
    assert extra == libs
    assert "real-node" in step(realnode, "install").message
    assert not libs & set(step(tests, "install").packages)  # make test needs no dashd
    # installed already: nothing to do
    done = hostsetup.plan(DEBIAN_12, "6.1.0-57-amd64", known, known, realnode=True)
    assert kinds(done) == ["done", "tracefs"] and "libgmp10" in step(done, "done").message


def test_realnode_libraries_take_debian_13s_t64_names():
    # Debian 13 renamed libevent's packages in the 64-bit time_t transition
    t64 = {"libevent-2.1-7t64", "libevent-pthreads-2.1-7t64", "libevent-core-2.1-7t64"}
    own = "linux-headers-6.12.118+deb13-amd64"
    known = BASE | t64 | {"libgmp10", "libsqlite3-0", own}
    steps = hostsetup.plan(DEBIAN_13, "6.12.118+deb13-amd64", known, BASE | {own}, realnode=True)
    assert set(step(steps, "install").packages) == t64 | {"libgmp10", "libsqlite3-0"}
    # and the old names would be unknown there: named, nothing installed
    steps = hostsetup.plan(DEBIAN_13, "6.12.118+deb13-amd64", known - t64, BASE | {own}, realnode=True)
    assert set(step(steps, "unknown").packages) == t64


def test_realnode_library_names_are_looked_up_with_the_rest():
    candidates = hostsetup._candidates("6.1.0-57-amd64", "amd64")
    assert set(hostsetup.DASHD_LIBS) <= set(candidates) and set(hostsetup.DASHD_LIBS_T64) <= set(candidates)


def test_apt_policy_parsing_keeps_only_names_with_a_version():
    text = """linux-headers-amd64:
  Installed: (none)
  Candidate: 6.1.192-3
  Version table:
     6.1.192-3 500
        500 http://deb.debian.org/debian-security bookworm-security/main amd64 Packages
python3-bpfcc:
  Installed: 0.26.0+ds-1
  Candidate: 0.26.0+ds-1
  Version table:
 *** 0.26.0+ds-1 500
        100 /var/lib/dpkg/status
linux-headers-generic:
  Installed: (none)
  Candidate: (none)
  Version table:
"""
    assert hostsetup.parse_policy(text) == {"linux-headers-amd64", "python3-bpfcc"}


def test_os_release_parsing_takes_quotes_and_comments():
    fields = hostsetup.parse_os_release("# comment\nID=\"debian\"\nVERSION_ID='12'\nBROKEN\n")
    assert fields == {"ID": "debian", "VERSION_ID": "12"}


def test_readme_lists_every_host_of_the_table():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Supported hosts", 1)[1].split("\n## ", 1)[0]
    for host in hostsetup.HOSTS.values():
        assert host.name in section, host.name


def test_setup_as_non_root_says_what_it_skips(tmp_path):
    if os.geteuid() == 0:
        cmd = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/python3", "-"]
    else:
        cmd = ["/usr/bin/python3", "-"]
    # the script is fed on stdin: the clone may not be readable by that user
    proc = subprocess.run(cmd, input=SCRIPT.read_text(), capture_output=True, text=True, timeout=30, cwd="/")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("setup: not root: skipping system packages")
