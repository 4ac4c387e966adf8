"""``p2pcap record -- COMMAND``: start the node under the recorder.

Like ``perf record -- CMD`` and ``strace CMD``: the recorder attaches to
the command's binary first (by its file, as ``--exe`` does: uprobes are
per inode), then starts the command, so its first message is recorded;
the recording ends when the command exits.  Started by hand, a short-lived
node has often finished before ``record --pid $!`` can attach.

Under sudo the command runs as the user who ran sudo (or ``--user``), not
as root: the recorder needs root, the node does not.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

from p2pcap.errors import ArgumentError

from .privileges import User


def command_exe(argv0: str) -> str:
    """The file the command ``argv0`` runs (looked up in PATH as a shell does).

    >>> command_exe("/nonexistent/dashd")
    Traceback (most recent call last):
    p2pcap.errors.ArgumentError: command '/nonexistent/dashd': no such executable file
    """
    found = shutil.which(argv0)
    if found is None:
        raise ArgumentError("command", "no such executable file", value=argv0)
    return os.path.realpath(found)


class Launched:
    """The command, started; ``finish()`` ends it (if still running) and reaps it.

    Its standard input is /dev/null; its standard output goes to our
    standard error when ours carries the capture (``-o -``).
    """

    def __init__(self, argv: list[str], user: User | None, *, stdout_is_capture: bool):
        options = {}
        if user is not None and os.geteuid() == 0:
            groups = os.getgrouplist(user.name, user.gid) if user.name else [user.gid]
            options = {"user": user.uid, "group": user.gid, "extra_groups": groups}
        try:
            self._process = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=sys.stderr.fileno() if stdout_is_capture else None,
                close_fds=True,
                **options,
            )
        except OSError as exc:
            raise ArgumentError("command", f"cannot start: {exc.strerror or exc}", value=argv[0]) from None
        self.pid = self._process.pid

    def finish(self, grace: float = 10.0) -> int:
        """The command's exit status; a command still running is sent SIGTERM
        (then SIGKILL after ``grace`` seconds), as ``timeout(1)`` does."""
        process = self._process
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(grace)
            except subprocess.TimeoutExpired:
                process.kill()
        return process.wait()


def describe_status(status: int) -> str:
    """``exited with status 3`` or ``was killed by SIGTERM``.

    >>> describe_status(3), describe_status(-15)
    ('exited with status 3', 'was killed by SIGTERM')
    """
    if status < 0:
        import signal

        try:
            name = signal.Signals(-status).name
        except ValueError:
            name = f"signal {-status}"
        return f"was killed by {name}"
    return f"exited with status {status}"


__all__ = ["Launched", "command_exe", "describe_status"]
