"""Run as root no longer than needed: under sudo, record as the invoking user.

Loading the BPF program and attaching it to the probes need root (or
CAP_BPF + CAP_PERFMON + CAP_SYS_ADMIN); reading the ring buffer, the loss
counters and writing files do not, given the file descriptors.  So, like
tcpdump's ``-Z`` (which gives up root after opening the capture device and
before opening any output file), ``record`` run under sudo forks a small
root helper that holds the probes and only detaches them at the end, and
the recording process itself becomes the user named by SUDO_UID/SUDO_GID
before it creates a file.  The files are then simply that user's.

Map operations on descriptors already open need no privilege since Linux
6.5 ("bpf: move unprivileged checks into map_create() and bpf_prog_load()");
on older kernels with unprivileged BPF disabled the recorder keeps root and
hands the files over with chown instead.
"""

from __future__ import annotations

import atexit
import os
import pwd
import signal
from dataclasses import dataclass

from p2pcap.errors import ArgumentError

from .versions import kernel_at_least


@dataclass(frozen=True)
class User:
    uid: int
    gid: int
    name: str | None


def invoking_user() -> User | None:
    """The user who ran sudo, when we are root because of it; else None."""
    uid, gid = os.environ.get("SUDO_UID"), os.environ.get("SUDO_GID")
    if os.geteuid() != 0 or not uid or not gid:
        return None
    try:
        uid_n, gid_n = int(uid), int(gid)
    except ValueError:
        return None
    if uid_n == 0:
        return None
    try:
        name = pwd.getpwuid(uid_n).pw_name
    except KeyError:
        name = None
    return User(uid_n, gid_n, name)


def recording_user(spec: str | None = None) -> User | None:
    """Whose files the recording makes: ``--user`` (a name or uid) when given, else
    the user who ran sudo; None keeps root (``--user root``, or no sudo).

    >>> recording_user("root") is None
    True
    """
    if spec is None:
        return invoking_user()
    try:
        entry = pwd.getpwuid(int(spec)) if spec.isdigit() else pwd.getpwnam(spec)
    except (KeyError, OverflowError):
        raise ArgumentError("user", "no such user on this machine", value=spec) from None
    if entry.pw_uid == 0:
        return None
    if os.geteuid() != 0:
        raise ArgumentError("user", "{arg} needs root: only root can create files as another user")
    return User(entry.pw_uid, entry.pw_gid, entry.pw_name)


def can_record_unprivileged() -> bool:
    """Whether map lookups on our open descriptors keep working without root."""
    try:
        with open("/proc/sys/kernel/unprivileged_bpf_disabled") as f:
            if f.read().strip() == "0":
                return True
    except OSError:
        pass
    return kernel_at_least((6, 5))


class RootHelper:
    """A forked root process that holds the probes and detaches them at the end.

    The recording process keeps the same descriptors (ring buffer, maps)
    and drops to ``user``; when it calls ``release()`` -- or dies, closing
    the pipe -- the helper runs BCC's cleanup as root and exits.
    """

    def __init__(self, bpf, user: User):
        read_end, self._write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the helper
            os.close(self._write_end)
            _helper_main(bpf, read_end)  # never returns
        os.close(read_end)
        self.pid = pid
        # BCC registered its cleanup to run at exit; that is the helper's job
        # now (as the user, detaching would fail on tracefs).
        atexit.unregister(bpf.cleanup)
        drop_to(user)

    def release(self) -> None:
        """Detach the probes (in the helper) and wait for it."""
        if self._write_end is not None:
            os.close(self._write_end)
            self._write_end = None
            try:
                os.waitpid(self.pid, 0)
            except ChildProcessError:
                pass


def _helper_main(bpf, read_end: int) -> None:
    status = 0
    try:
        # Ctrl-C reaches the whole process group: the recorder stops on it
        # and then releases us; we must outlive it to detach.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        devnull = os.open(os.devnull, os.O_RDWR)
        os.dup2(devnull, 0)
        os.dup2(devnull, 1)  # do not hold `record -o - | ...` open
        os.close(devnull)
        while os.read(read_end, 1):
            pass
        bpf.cleanup()
    except BaseException:
        status = 1
    finally:
        os._exit(status)


def drop_to(user: User) -> None:
    """Become ``user`` for good (groups, then gid, then uid)."""
    if user.name is not None:
        os.initgroups(user.name, user.gid)
    else:
        os.setgroups([user.gid])
    os.setresgid(user.gid, user.gid, user.gid)
    os.setresuid(user.uid, user.uid, user.uid)
