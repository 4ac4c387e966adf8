"""The recorder's files, created safely as root (capture/files.py).

Run as root, creating files for a non-root user (nobody, 65534), as
``sudo p2pcap record`` does.  Each attack is tried for real: a planted
symlink to a root-owned file, a hard link, a link swapped in while the
recording runs, a folder anyone may write to.  The victim file must come
out byte-identical and still root's.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from pathlib import Path

import pytest

from p2pcap.capture import files, loadlog
from p2pcap.capture.output import Output
from p2pcap.capture.privileges import User
from p2pcap.errors import PathError
from p2pcap.formats import Message, open_capture

NOBODY = User(65534, 65534, None)

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="creating files as another user needs root")


@pytest.fixture
def shared():
    """A sticky, world-writable folder like /tmp (where the planted links go)."""
    folder = Path(tempfile.mkdtemp(prefix="p2pcap-files-", dir="/tmp"))
    folder.chmod(0o1777)
    yield folder
    shutil.rmtree(folder)


@pytest.fixture
def victim(shared):
    """A root-owned file the attacker wants overwritten."""
    path = shared / "victim"
    path.write_bytes(b"root's data\n")
    path.chmod(0o644)
    return path


def untouched(victim: Path) -> bool:
    st = victim.stat()
    return victim.read_bytes() == b"root's data\n" and (st.st_uid, st.st_gid) == (0, 0)


def test_a_file_is_created_by_its_user(shared):
    fd = files.create(shared / "run.cap", user=NOBODY)
    os.close(fd)
    st = (shared / "run.cap").stat()
    assert (st.st_uid, st.st_gid) == (65534, 65534)
    assert os.geteuid() == 0 and os.getegid() == 0  # root again afterwards


def test_a_planted_symlink_is_never_followed(shared, victim):
    (shared / "x.cap").symlink_to(victim)
    with pytest.raises(PathError, match="symbolic link"):
        files.create(shared / "x.cap", user=NOBODY)
    with pytest.raises(PathError, match="symbolic link"):
        files.create(shared / "x.cap", user=None)  # root itself, without sudo
    assert untouched(victim)


def test_a_hard_link_to_another_file_is_refused(shared):
    mine = shared / "mine"
    mine.write_bytes(b"keep")
    os.chown(mine, 65534, 65534)
    os.link(mine, shared / "x.cap")
    with pytest.raises(PathError, match="hard link"):
        files.create(shared / "x.cap", user=NOBODY)
    assert mine.read_bytes() == b"keep"


def test_a_file_of_another_user_is_refused(shared, victim):
    with pytest.raises(PathError, match="cannot create"):
        files.create(victim, user=NOBODY)  # the user may not write it: the kernel says no
    planted = shared / "planted.cap"
    planted.write_bytes(b"the attacker reads what root writes here")
    os.chown(planted, 65534, 65534)
    with pytest.raises(PathError, match="belongs to uid 65534"):
        files.create(planted, user=None)
    assert untouched(victim)


def test_a_folder_anyone_may_write_without_the_sticky_bit_is_refused(shared):
    open_folder = shared / "open"
    open_folder.mkdir()
    open_folder.chmod(0o777)
    with pytest.raises(PathError, match="no sticky bit"):
        files.create(open_folder / "run.cap", user=NOBODY)
    assert not (open_folder / "run.cap").exists()


def test_devices_and_fifos_are_written_as_they_are(shared):
    os.close(files.create(os.devnull, user=None))
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)
    fifo = shared / "fifo"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    try:
        fd = files.create(fifo, user=None)
        os.write(fd, b"x")
        os.close(fd)
        assert os.read(reader, 1) == b"x"
    finally:
        os.close(reader)
    assert stat.S_ISFIFO(fifo.lstat().st_mode)


def test_a_link_swapped_in_while_recording_is_not_followed(shared, victim):
    """The file is written by descriptor: a link put at its name later changes
    nothing, and the next rotated name, planted too, is refused."""
    out = Output(
        shared / "run.cap",
        {"network": "regtest"},
        rotate_size=1,
        opener=lambda path, _flags: files.create(path, user=NOBODY),
    )
    out.write(Message(1, 7, 0, "x:1", "inbound", "in", "ping", 8, bytes(8)))
    (shared / "run.cap").rename(shared / "moved.cap")
    (shared / "run.cap").symlink_to(victim)
    (shared / "run.cap.1").symlink_to(victim)
    with pytest.raises(PathError, match="symbolic link"):
        out.tick()  # rotation: closes the first file, refuses the second name
    assert untouched(victim)
    with open_capture(shared / "moved.cap") as reader:
        assert [r.command for r in reader.records()] == ["ping"]
    assert (shared / "moved.cap").stat().st_uid == 65534


def test_the_verifier_log_is_private_and_the_users(shared, victim):
    planned = shared / "p2pcap-verifier-1.log"
    planned.symlink_to(victim)
    path = loadlog.write_log("the verifier's log", str(planned), user=NOBODY)
    assert path is not None and path != str(planned)  # a fresh name beside the planted link
    st = os.stat(path)
    assert stat.S_IMODE(st.st_mode) == 0o600 and st.st_uid == 65534
    assert Path(path).read_text() == "the verifier's log"
    assert untouched(victim)
