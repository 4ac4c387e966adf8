"""The files the recorder creates, created safely although it runs as root.

``sudo p2pcap record -o /tmp/x.cap``: if another user planted ``/tmp/x.cap``
as a symlink to a root-owned file, a root ``open(path, "wb")`` follows it
and overwrites the target, and a ``chown`` by path then hands the target
to the sudo user: a user allowed to sudo only ``p2pcap record`` could take
any file on the machine.  So every file the recorder makes (each capture
file, each rotated one, the verifier log) goes through ``create``:

- it is opened *as the user it is for* (the sudo user, or ``--user``):
  the effective uid, gid and groups are switched for the ``open`` alone,
  like tcpdump's ``-Z`` drops to the user before opening its output.  The
  kernel then checks the user's own rights, the file belongs to that user
  from the start, and no ``chown`` by path is ever made.  (On kernels from
  6.5 the whole recording process has already become the user,
  ``capture.privileges``; on older ones it keeps root for the BPF maps,
  and only the ``open`` changes identity.)
- ``O_NOFOLLOW``: a symlink at the path is refused, never followed;
- an existing regular file is taken only if it has one link and belongs
  to that user; it is truncated through the descriptor, after the checks;
- a device or FIFO that is already there (``-o /dev/null``, ``-o fifo``,
  which waits for its reader as tcpdump's ``-w`` does) is written to as
  it is; anything else (a folder, a socket) is refused;
- as root, a folder writable by others without the sticky bit is refused
  outright: there anyone can swap the name under us.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat

from p2pcap.errors import PathError

from .privileges import User


@contextlib.contextmanager
def acting_as(user: User | None):
    """Act as ``user`` (effective ids and groups) inside the block, when we are root.

    glibc applies set*id calls to every thread of the process; the
    writer's threads only write to descriptors already open, which the
    switch does not touch.
    """
    if user is None or os.geteuid() != 0 or user.uid == 0:
        yield
        return
    groups = os.getgroups()
    os.setgroups(_groups_of(user))
    os.setegid(user.gid)
    os.seteuid(user.uid)
    try:
        yield
    finally:
        os.seteuid(0)
        os.setegid(0)
        os.setgroups(groups)


def _groups_of(user: User) -> list[int]:
    if user.name is None:
        return [user.gid]
    try:
        return os.getgrouplist(user.name, user.gid)
    except OSError:
        return [user.gid]


def check_folder(path) -> None:
    """Refuse, as root, a folder others may write to without the sticky bit."""
    if os.geteuid() != 0:
        return
    folder = os.path.dirname(os.path.abspath(path))
    try:
        st = os.stat(folder)
    except OSError as exc:
        raise PathError.of(path, "cannot create", exc) from None
    if st.st_mode & stat.S_IWOTH and not st.st_mode & stat.S_ISVTX:
        raise PathError(
            f"{path}: cannot create: {folder} is writable by every user and has no sticky bit "
            f"(anyone could swap the file under the recorder, which runs as root); choose another folder",
            path,
        )


def create(path, *, user: User | None = None, mode: int = 0o644, exclusive: bool = False) -> int:
    """A descriptor open for writing on a new or emptied file at ``path``, made by ``user``.

    ``exclusive`` refuses a path that exists (the verifier log).  Errors
    are a ``PathError`` naming the path and what was wrong.

    >>> import tempfile; d = tempfile.mkdtemp(); fd = create(os.path.join(d, "a.cap"))
    >>> os.write(fd, b"x"), os.close(fd)
    (1, None)
    >>> os.symlink(os.path.join(d, "a.cap"), os.path.join(d, "link.cap"))
    >>> create(os.path.join(d, "link.cap"))
    Traceback (most recent call last):
    p2pcap.errors.PathError: .../link.cap: cannot create: it is a symbolic link (p2pcap never writes through one)
    """
    check_folder(path)
    flags = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
    if exclusive:
        flags |= os.O_EXCL
    with acting_as(user):
        try:
            fd = os.open(path, flags, mode)
        except OSError as exc:
            if exc.errno == errno.ELOOP:  # O_NOFOLLOW met a link at the last part of the path
                raise PathError(
                    f"{path}: cannot create: it is a symbolic link (p2pcap never writes through one)", path
                ) from None
            raise PathError.of(path, "cannot create", exc) from None
        me = os.geteuid()
    try:
        _check_opened(path, fd, me)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _check_opened(path, fd: int, uid: int) -> None:
    st = os.fstat(fd)
    if stat.S_ISREG(st.st_mode):
        if st.st_nlink != 1:
            raise PathError(
                f"{path}: cannot create: it is a hard link to a file with {st.st_nlink} names "
                f"(p2pcap does not write into another name's file)",
                path,
            )
        if st.st_uid != uid:
            raise PathError(
                f"{path}: cannot create: it belongs to uid {st.st_uid}, not to the recording's user (uid {uid})",
                path,
            )
        os.ftruncate(fd, 0)
        return
    if stat.S_ISCHR(st.st_mode) or stat.S_ISFIFO(st.st_mode):
        return  # /dev/null, a pipe someone reads: written as it is, never removed
    raise PathError(f"{path}: cannot create: it is not a regular file", path)


__all__ = ["acting_as", "check_folder", "create"]
