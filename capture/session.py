"""``record``: tie a target, the BPF recorder and capture files together."""

from __future__ import annotations

import contextlib
import platform
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
    on_listening=None,
    on_status=None,
    on_note=None,
):
    """Record until SIGINT/SIGTERM, --duration, --count or the target's exit.

    ``output`` is a path, a strftime pattern (with rotation) or ``"-"`` for
    stdout.  Returns the recorder's Summary.  Under sudo, everything after
    attaching runs as the invoking user (``capture.privileges``).

    >>> record_to_file("run.cap", pids=[1234], duration=10)  # doctest: +SKIP
    Summary(messages=..., lost_messages=0, ...)
    """
    from p2pcap.capture import clocksync, limits, privileges, program, targets
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
    program.check_environment()
    program.cflags(opts)  # a bad --buffer-size fails here, before anything is attached
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
    bpf = program.load(opts, pids=target.pids, exe=None if target.pids else target.exe, also=target.also)
    user = privileges.invoking_user()
    helper = None
    on_file = None
    as_user = None
    try:
        if user is not None and privileges.can_record_unprivileged():
            helper = privileges.RootHelper(bpf, user)  # from here on we are the user
            metadata["recorded_as_uid"] = user.uid
            as_user = user.name or f"uid {user.uid}"
        elif user is not None:
            on_file = lambda path: outputs.give_to(path, user.uid, user.gid)  # noqa: E731
        out = outputs.Output(
            output,
            metadata,
            rotate_size=rotate_size,
            rotate_time=rotate_time,
            on_file=on_file,
            as_user=as_user,
        )
        recorder = Recorder(
            bpf,
            out,
            opts,
            pids=target.pids,
            max_count=count,
            duration=duration,
            on_status=on_status,
            on_note=on_note,
        )

        def listening():
            if on_listening:
                semaphores = target.semaphore_note()
                on_listening(
                    f"listening on net:inbound_message, net:outbound_message of "
                    f"{target.describe()}, snapshot length {opts.snaplen} bytes, "
                    f"network {target.network}" + (f"; {semaphores}" if semaphores else "")
                )

        try:
            summary = recorder.run(on_listening=listening)
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
        summary.files = list(out.files)
        summary.messages = out.messages
        summary.payload_bytes = out.payload_bytes
        return summary
    finally:
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
