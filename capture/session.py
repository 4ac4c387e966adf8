"""``record``: tie a target, the BPF recorder and capture files together."""

from __future__ import annotations

import contextlib
import os
import platform
import pwd
import socket
import sys
import time
from importlib.metadata import version as package_version

from p2pcap.capture.compression import STORED
from p2pcap.errors import ArgumentError, P2pcapError
from p2pcap.formats.compress import DEFAULT_LEVEL
from p2pcap.units import split_commas

MAX_COMMAND = 12  # CMessageHeader::COMMAND_SIZE


def record_to_file(
    output,
    *,
    pids=(),
    exe=None,
    duration=None,
    count=None,
    snaplen=None,
    types=(),
    peers=(),
    direction=None,
    buffer_size=None,
    rotate_size=None,
    rotate_time=None,
    user=None,
    command=None,
    metrics=None,
    on_listening=None,
    on_status=None,
    on_note=None,
):
    """Record until SIGINT/SIGTERM, --duration, --count or the target's exit.

    ``output`` is a path, a strftime pattern (with rotation) or ``"-"`` for
    stdout.  Returns the recorder's Summary.  Under sudo, everything after
    attaching runs as the invoking user (``capture.privileges``), and every
    file is created by that user -- or by ``user`` (a name or uid; "root"
    keeps root) -- never through a link (``capture.files``).  ``command``
    (an argv) is started once the probes of its binary are attached, as
    that user, and the recording ends when it exits (``capture.launch``).
    ``metrics`` (host, port) serves Prometheus metrics there while
    recording (``capture.metrics``); a port that cannot be bound fails
    before anything is attached.

    >>> record_to_file("run.cap", pids=[1234], duration=10)  # doctest: +SKIP
    Summary(messages=..., lost_messages=0, ...)
    """
    from p2pcap.capture import clocksync, files, launch, limits, privileges, program, targets
    from p2pcap.capture import output as outputs
    from p2pcap.capture.recorder import Recorder

    if duration is not None and duration <= 0:
        raise ArgumentError("duration", "must be positive", value=duration)
    if count is not None and count < 1:
        raise ArgumentError("count", "must be at least 1", value=count)
    opts = program.Options(
        snaplen=limits.MAX_PAYLOAD if snaplen is None else min(snaplen, limits.MAX_PAYLOAD),
        ringbuf_bytes=buffer_size or limits.DEFAULT_RINGBUF_BYTES,
        direction=direction,
        commands=_commands(types),
        peers=tuple(peers),
    )
    if str(output) == "-" and (rotate_size or rotate_time):
        raise ArgumentError("output", "cannot rotate files when writing to standard output ({arg} -)")
    if command and (pids or exe):
        raise ArgumentError("command", "give --pid, --exe or a command after --, not two of them")
    user = privileges.recording_user(user)
    program.check_environment()
    program.cflags(opts)  # a bad --buffer-size fails here, before anything is attached
    if command:
        target = targets.resolve([], launch.command_exe(command[0]))
        home = (lambda: pwd.getpwuid(user.uid).pw_dir) if user else (lambda: os.path.expanduser("~"))
        target.network, how, target.devnet_name = targets.network_of_command(
            list(command[1:]), os.getcwd(), home
        )
        target.network_source, target.found_by = f"the command's {how}", "the command after --"
    else:
        target = targets.resolve(list(pids), exe)
    metadata = {
        "tool": "p2pcap",
        "tool_version": package_version("p2pcap"),
        "host": socket.gethostname(),
        "kernel": platform.release(),
        "command_line": sys.argv,
        "start_time_ns": time.time_ns(),
        "clock": clocksync.read_clock(),  # how far to trust start_time_ns and every ts_ns (docs/FLEET.md)
        "target": target.metadata(),
        "network": target.network,
        "network_source": target.network_source,
        "filters": {
            "snaplen": opts.snaplen,
            "types": list(opts.commands),
            "peers": list(opts.peers),
            "direction": direction,
        },
        "recorder": {"ringbuf_bytes": opts.ringbuf_bytes, "chunk_size": limits.CHUNK_SIZE},
    }
    if str(output) != "-":
        files.check_folder(time.strftime(str(output)))  # before attaching: a refusal costs nothing
    server = None
    if metrics is not None:
        from p2pcap.capture.metrics import MetricsServer

        server = MetricsServer(*metrics)  # binds now: a port in use costs nothing attached
    try:
        bpf = program.load(
            opts, pids=target.pids, exe=None if target.pids else target.exe, also=target.also, user=user
        )
    except BaseException:
        if server is not None:
            server.close()
        raise
    helper = None
    as_user = None
    launched = None
    try:
        if user is not None:
            as_user = user.name or f"uid {user.uid}"
            if privileges.can_record_unprivileged():
                helper = privileges.RootHelper(bpf, user)  # from here on we are the user
                metadata["recorded_as_uid"] = user.uid
        # Every file (rotated ones and the verifier log too) is created by the
        # user it is for, never through a link (capture/files.py).
        out = outputs.Output(
            output,
            metadata,
            rotate_size=rotate_size,
            rotate_time=rotate_time,
            opener=lambda path, _flags: files.create(path, user=user),
            as_user=as_user,
            on_block=server.tally.add if server is not None else None,
        )

        def listening():
            if on_listening:
                semaphores = target.semaphore_note()
                on_listening(
                    f"listening on net:inbound_message, net:outbound_message of "
                    f"{target.describe()}, snapshot length {opts.snaplen} bytes, "
                    f"network {target.network}"
                    + (f"; {semaphores}" if semaphores else "")
                    + (f"; metrics at http://{server.where}/metrics" if server is not None else "")
                )

        if command:  # the probes are in place: its first message is recorded
            listening()
            launched = launch.Launched(list(command), user, stdout_is_capture=str(output) == "-")
        recorder = Recorder(
            bpf,
            out,
            opts,
            pids=[launched.pid] if launched else target.pids,
            max_count=count,
            duration=duration,
            on_status=on_status,
            on_note=on_note,
        )
        if server is not None:
            server.attach(recorder)

        try:
            summary = recorder.run(on_listening=None if launched else listening)
        except BaseException:
            with contextlib.suppress(P2pcapError, OSError):
                out.close()  # keep what was written readable; the first error is the one to tell
            raise
        out.close()
        if on_note and out.lowest_level is not None and out.lowest_level < DEFAULT_LEVEL:
            how = (
                "gave way to storing blocks uncompressed"
                if out.lowest_level == STORED
                else f"went down to zstd level {out.lowest_level}"
            )
            on_note(
                f"compression {how} to keep up; "
                f"{out.bytes_written} bytes written for {out.payload_bytes} payload bytes"
            )
        summary.bytes_written = out.bytes_written
        summary.files = out.files  # a FileList: its len() counts every file, its names are bounded
        summary.messages = out.messages
        summary.payload_bytes = out.payload_bytes
        return summary
    finally:
        if server is not None:
            server.close()  # the metrics stop with the recorder
        if launched is not None:
            status = launched.finish()
            if on_note:
                on_note(f"the command {launch.describe_status(status)}")
        if helper is not None:
            helper.release()
        else:
            bpf.cleanup()


def _commands(types) -> tuple[str, ...]:
    commands = split_commas(types)
    for command in commands:
        raw = command.encode("utf-8", "surrogateescape")
        if len(raw) > MAX_COMMAND or not command.isascii() or not command.isprintable():
            raise ArgumentError(
                "types", f"a command is at most {MAX_COMMAND} printable ASCII characters", value=command
            )
    return commands
