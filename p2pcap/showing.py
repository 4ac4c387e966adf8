"""``show``: stream records through filters and a renderer, with bounded memory."""

from __future__ import annotations

from p2pcap.formats import open_capture
from p2pcap.formats.records import Message

from .filters import RecordFilter, split_commas
from .render import Renderer


def show_capture(path, *, types=(), peers=(), direction=None, limit=None, json_lines=False,
                 hex_payload=False, skip_damaged=False, color=False, out=print, warn=print) -> int:
    """Print the capture's records; returns how many messages were shown."""
    commands = frozenset(split_commas(types)) or None
    predicate = RecordFilter(commands=commands, peers=split_commas(peers), direction=direction)
    renderer = Renderer(json_lines=json_lines, hex_payload=hex_payload, color=color)
    shown = 0
    with open_capture(path, skip_damaged=skip_damaged) as reader:
        header = renderer.header()
        if header:
            out(header)
        # `version` messages are read even when filtered out: decoding
        # depends on the version negotiated on each peer-session.
        wanted = None if commands is None else commands | {"version"}
        for record in reader.records(commands=wanted):
            renderer.observe(record)
            if not predicate.wants(record):
                continue
            if limit is not None and shown >= limit and type(record) is Message:
                break
            out(renderer.render(record))
            if type(record) is Message:
                shown += 1
        for damaged in reader.damaged:
            warn(f"warning: skipped damaged block: {damaged}")
        if reader.torn_tail is not None:
            warn(f"warning: torn tail, the capture ends mid-block: {reader.torn_tail}")
    return shown
