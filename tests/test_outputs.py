"""Every command that writes, against every output that can go wrong.

The issue "Lose nothing, refuse what is wrong": an output that is the input
under another name (a hard link), a device node, an older file on a disk
that fills up, standard output on a full disk, a pipe whose reader left,
and a terminal that takes only ASCII.  Each must end in one line and the
right exit status, never a traceback, with the input, any older output
and the device exactly as they were (p2pcap/outputs.py).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

import pytest

from .analysis.captures import sample_messages, write_capture
from .conftest import p2pcap_cmd

# command -> argv, given the input capture and the output path
WRITERS = {
    "filter": lambda i, o: ["filter", i, "-o", o, "--type", "inv,ping"],
    "merge": lambda i, o: ["merge", i, "-o", o],
    "anonymize": lambda i, o: ["anonymize", i, "-o", o],
    "anonymize --mapping": lambda i, o: ["anonymize", i, "-o", f"{o}.cap", "--mapping", o],
    "repair": lambda i, o: ["repair", i, "-o", o],
    "export pcapng": lambda i, o: ["export", i, "-o", o, "--format", "pcapng"],
    "export jsonl": lambda i, o: ["export", i, "-o", o, "--format", "jsonl"],
    "export parquet": lambda i, o: ["export", i, "-o", f"{o}.parquet"],
    "stats --plot": lambda i, o: ["stats", i, "--plot", o],
}
FILE_WRITERS = [w for w in WRITERS if w not in ("anonymize --mapping", "export parquet")]
STDOUT_WRITERS = {
    "show": ["show", "{i}"],
    "show --json": ["show", "{i}", "--json"],
    "show -v": ["show", "{i}", "-v", "-x"],
    "stats": ["stats", "{i}"],
    "stats --json": ["stats", "{i}", "--json"],
    "diff": ["diff", "{i}", "{i}"],
    "replay": ["replay", "{i}", "--no-pacing"],
    "export -o -": ["export", "{i}", "-o", "-", "--format", "jsonl"],
    "filter -o -": ["filter", "{i}", "-o", "-"],
    "doctor": ["doctor", "--exe", "{s}"],
}


@pytest.fixture(scope="module")
def capture(tmp_path_factory) -> Path:
    # several blocks, so that writes continue after the first one fails
    return write_capture(tmp_path_factory.mktemp("in") / "in.cap", sample_messages() * 40, block_size=4096)


def run(args, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(p2pcap_cmd(*map(str, args)), capture_output=True, text=True, timeout=120, **kwargs)


def one_line(done: subprocess.CompletedProcess, status: int) -> str:
    assert done.returncode == status, (done.returncode, done.stderr)
    assert "Traceback" not in done.stderr, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, done.stderr
    return errors[0]


@contextlib.contextmanager
def tiny_disk(size_kib: int = 512):
    """A tmpfs of ``size_kib``; yields its folder.  Needs root."""
    folder = Path(tempfile.mkdtemp(prefix="p2pcap-full-"))
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kib}k", "tmpfs", str(folder)], check=True)
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)
        folder.rmdir()


def fill(folder: Path) -> None:
    """Take every free byte of the file system under ``folder``."""
    fd = os.open(folder / "filler", os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        with contextlib.suppress(OSError):
            while os.write(fd, b"\0" * 4096):
                pass
    finally:
        os.close(fd)


needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="mounts a tmpfs and makes device nodes: needs root")


@pytest.mark.parametrize("writer", FILE_WRITERS)
def test_a_hard_link_of_the_input_is_refused(capture, tmp_path, writer):
    source = tmp_path / "b.cap"
    shutil.copy(capture, source)
    os.link(source, tmp_path / "h.cap")
    before = source.read_bytes()
    line = one_line(run(WRITERS[writer](tmp_path / "h.cap", source)), 2)
    assert "must not be the input" in line
    assert source.read_bytes() == before


@needs_root
@pytest.mark.parametrize("writer", FILE_WRITERS)
def test_a_device_is_written_to_and_stays_a_device(capture, tmp_path, writer):
    device = tmp_path / "null"
    os.mknod(device, 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # a second /dev/null
    done = run(WRITERS[writer](capture, device))
    assert done.returncode == 0, done.stderr
    assert stat.S_ISCHR(device.lstat().st_mode) and device.lstat().st_rdev == os.makedev(1, 3)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["null"]  # nothing left beside it


@needs_root
@pytest.mark.parametrize("writer", list(WRITERS))
def test_a_full_disk_leaves_the_older_file_as_it_was(capture, writer):
    with tiny_disk() as disk:
        target = disk / "out"
        args = WRITERS[writer](capture, target)
        flag = next(f for f in ("--mapping", "--plot", "-o") if f in args)
        written = Path(args[args.index(flag) + 1])
        written.write_bytes(b"an older output, kept\n")
        fill(disk)
        line = one_line(run(args), 2)
        assert "No space left on device" in line and str(written.parent) in line
        assert written.read_bytes() == b"an older output, kept\n"
        assert sorted(p.name for p in disk.iterdir()) == sorted(["filler", written.name])


@needs_root
@pytest.mark.parametrize("name", list(STDOUT_WRITERS))
def test_standard_output_on_a_full_disk_is_one_line(capture, standin, name):
    args = [a.format(i=capture, s=standin) for a in STDOUT_WRITERS[name]]
    with tiny_disk() as disk:
        fill(disk)
        with open(disk / "out", "w") as out:
            done = subprocess.run(
                p2pcap_cmd(*args), stdout=out, stderr=subprocess.PIPE, text=True, timeout=120
            )
    line = one_line(done, 2)
    assert line == "Error: standard output: cannot write: No space left on device"


@pytest.mark.parametrize("name", list(STDOUT_WRITERS))
def test_a_closed_pipe_is_quiet(capture, standin, name):
    args = [a.format(i=capture, s=standin) for a in STDOUT_WRITERS[name]]
    reader = subprocess.Popen(["head", "-c", "1"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
    done = subprocess.run(
        p2pcap_cmd(*args), stdout=reader.stdin, stderr=subprocess.PIPE, text=True, timeout=120
    )
    reader.stdin.close()
    reader.wait()
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""


@pytest.mark.parametrize("name", list(STDOUT_WRITERS))
def test_an_ascii_only_terminal_gets_ascii(capture, standin, name):
    args = [a.format(i=capture, s=standin) for a in STDOUT_WRITERS[name]]
    env = {**os.environ, "PYTHONIOENCODING": "ascii"}
    done = subprocess.run(p2pcap_cmd(*args), capture_output=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    assert b"Traceback" not in done.stderr and done.stderr.isascii()
    if name != "filter -o -":  # a capture, not text
        assert done.stdout.isascii()
    if name == "show":
        assert b"..." in done.stdout  # where "…" was


@pytest.fixture(scope="module")
def capture_folder(capture, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("core") / "message_capture"
    done = run(["export", capture, "--format", "capturemessages", "-o", folder])
    assert done.returncode == 0, done.stderr
    return folder


@needs_root
def test_folders_and_imports_on_a_full_disk_leave_nothing_behind(capture, capture_folder):
    with tiny_disk() as disk:
        (disk / "old.cap").write_bytes(b"an older capture, kept\n")
        fill(disk)
        line = one_line(run(["export", capture, "--format", "capturemessages", "-o", disk / "core"]), 2)
        assert "No space left on device" in line
        line = one_line(run(["import", capture_folder, "-o", disk / "old.cap"]), 2)
        assert "No space left on device" in line
        assert (disk / "old.cap").read_bytes() == b"an older capture, kept\n"
        assert sorted(p.name for p in disk.iterdir()) == ["filler", "old.cap"]


def test_an_import_over_an_older_capture_replaces_it_whole(capture_folder, tmp_path):
    old = tmp_path / "old.cap"
    old.write_bytes(b"older")
    done = run(["import", capture_folder, "-o", old])
    assert done.returncode == 0, done.stderr
    shown = run(["show", old, "-n"])
    assert shown.returncode == 0 and len(shown.stdout.splitlines()) == 1 + len(sample_messages()) * 40
