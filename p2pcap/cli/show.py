"""``show``: stream records through filters and a renderer, with bounded memory.

Nothing is collected: each record is filtered, decoded if shown, rendered
and written before the next one is read, so ``show`` starts printing at
once, works in a pager, and follows a growing file (``--follow``) or a pipe
(``p2pcap record -o - | p2pcap show``).
"""

from __future__ import annotations

import os

from p2pcap.analysis.filters import RecordFilter
from p2pcap.analysis.pipeline import open_pipeline
from p2pcap.cli import render
from p2pcap.cli.render import Renderer
from p2pcap.formats import accelerators
from p2pcap.formats.records import GAP_REASONS, Message


def _listing_of(listing, width: int | None):
    """``CaptureReader.rendered_blocks``'s ``render`` for the C listing (rows
    cut to ``width`` columns; 0 for None: never cut)."""

    def render(raw, records, commands, since_ns, until_ns, gaps):
        return listing(raw, records, commands, since_ns, until_ns, gaps, GAP_REASONS, width or 0)

    return render


def want_color(stream, environ=os.environ) -> bool:
    """Colour on a terminal only, and never with NO_COLOR set (no-color.org) or TERM=dumb."""
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) and not environ.get("NO_COLOR") and environ.get("TERM") != "dumb"


def show_capture(
    path,
    filt: RecordFilter | None = None,
    *,
    limit=None,
    json_lines=False,
    hex_payload=False,
    verbose=False,
    follow=False,
    color=False,
    decode=True,
    protocol_version=None,
    times="u",
    network=None,
    note=None,
    out=print,
    flush=None,
    warn=print,
) -> int:
    """Print the capture's records; returns how many messages were shown.

    ``path`` None or ``-`` reads stdin.  ``out(text)`` gets each record's
    text (a table row, a JSON line, or several lines with ``verbose``);
    ``flush()``, when given, is called whenever the reader is about to wait
    for more data (so a live view shows what it has).  ``decode=False``
    prints metadata only (``decoded`` null, no summary), so a view of a big
    capture is bound by reading, not by decoding.  ``protocol_version`` is
    the version assumed for peer-sessions whose handshake was not captured.
    ``times`` is tshark's ``-t`` letter (``render.TIME_FORMATS``); ``network``
    overrides the capture's own and its processes' (address prefixes);
    ``note(text)`` hears once that a message's network is unknown (not an
    input problem).
    Damaged blocks are skipped; ``warn(problem)`` hears of each problem with
    the input after the last record (``InputProblem``).

    >>> show_capture("/nonexistent.cap")
    Traceback (most recent call last):
    p2pcap.errors.PathError: /nonexistent.cap: cannot read: No such file or directory
    """
    renderer = Renderer(
        json_lines=json_lines, hex_payload=hex_payload, color=color, verbose=verbose, times=times
    )
    with open_pipeline(
        path, filt, decode=decode, follow=follow, assume=protocol_version, share_decoded=True, network=network
    ) as p:
        p.say_unknown_network(note or warn)  # never mainnet's prefixes without a word
        header = renderer.header()
        if header:
            out(header)
        live_flush = flush if follow or not p.seekable else None
        plain_rows = (
            not (decode or json_lines or verbose or hex_payload or color) and limit is None and times == "u"
        )
        walk = accelerators.blockwalk() if plain_rows else None
        blocks = p.blockwise(_listing_of(walk.listing, render.page_width_now())) if walk is not None else None
        if blocks is not None:
            shown = _show_blocks(blocks, renderer, out, live_flush)
        else:
            shown = _show_records(p, renderer, out, live_flush, decode=decode, limit=limit)
        for problem in p.problems():
            warn(problem)
    return shown


def _show_blocks(blocks, renderer: Renderer, out, live_flush) -> int:
    """``show -n``: each block's rows rendered in C (formats/_blockwalk.c), or,
    where it declines a block, that block's records the general way."""
    shown = 0
    for made in blocks:
        if type(made) is tuple:
            text, messages = made
            if text:
                out(text)
            shown += messages
        else:
            for record in made:
                out(renderer.render(record))
                shown += type(record) is Message
        if live_flush is not None:
            live_flush()
    return shown


def _show_records(p, renderer: Renderer, out, live_flush, *, decode: bool, limit) -> int:
    """Record by record: decoded with its peer-session's version when ``decode``."""
    shown = 0
    render, decoded, version_info = renderer.render, p.selection.decoded, p.selection.version_info
    # An inventory's or a tx's JSON line straight from its bytes (formats/_payloadjson.c), where it can.
    payload_line = renderer.payload_line if decode and renderer.json_lines else None
    network_for = p.selection.network_for
    for record in p:
        if type(record) is Message:
            if limit is not None and shown >= limit:
                break
            if decode:
                version = version_info(record)
                line = (
                    payload_line(record, version, network_for(record.pid))
                    if payload_line is not None
                    else None
                )
                out(line if line is not None else render(record, *decoded(record), version))
            else:
                out(render(record))
            shown += 1
        else:
            out(render(record))
        if live_flush is not None:
            live_flush()
    return shown
