"""``record``: tie a target, the BPF recorder and a capture writer together."""

from __future__ import annotations

import os
import platform
import socket
import sys
import time
from importlib.metadata import version as package_version

from p2pcap.formats import CaptureWriter

from .filters import split_commas


def record_to_file(output, *, pids, exe, duration=None, count=None, snaplen=None, types=(),
                   peers=(), direction=None, buffer_size=None, on_listening=None):
    """Record until SIGINT/SIGTERM, --duration, --count or the target's exit."""
    from p2pcap.capture import limits, program, targets
    from p2pcap.capture.recorder import Recorder

    program.check_environment()
    target = targets.resolve(list(pids), exe)
    opts = program.Options(
        snaplen=limits.MAX_PAYLOAD if snaplen is None else snaplen,
        ringbuf_bytes=buffer_size or limits.DEFAULT_RINGBUF_BYTES,
        direction=direction,
        commands=split_commas(types),
        peers=tuple(peers),
    )
    metadata = {
        "tool": "p2pcap",
        "tool_version": package_version("p2pcap"),
        "host": socket.gethostname(),
        "kernel": platform.release(),
        "command_line": sys.argv,
        "start_time_ns": time.time_ns(),
        "target": target.metadata(),
        "network": target.network,
        "filters": {
            "snaplen": opts.snaplen,
            "types": list(opts.commands),
            "peers": list(opts.peers),
            "direction": direction,
        },
    }
    with CaptureWriter(output, metadata, threaded=True) as writer:
        recorder = Recorder(writer, opts, pids=target.pids, exe=target.exe if not target.pids else None,
                            max_count=count, duration=duration)

        def listening():
            if on_listening:
                on_listening(f"listening on net:inbound_message, net:outbound_message of "
                             f"{target.describe()}, snapshot length {opts.snaplen} bytes")

        summary = recorder.run(on_listening=listening)
    _give_to_invoking_user(output)
    return summary


def _give_to_invoking_user(path) -> None:
    """Under sudo, the capture belongs to the user who ran sudo."""
    uid, gid = os.environ.get("SUDO_UID"), os.environ.get("SUDO_GID")
    if uid and gid and os.geteuid() == 0 and str(path) != "-":
        try:
            os.chown(path, int(uid), int(gid))
        except OSError:
            pass  # e.g. a file system without ownership; the capture is intact
