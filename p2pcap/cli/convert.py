"""CLI commands ``export``, ``import`` and ``replay``: thin click layers over
``p2pcap.analysis.convert`` and ``p2pcap.analysis.replaying`` (registered by ``p2pcap.cli``)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from p2pcap.cli.common import finish, skip_damaged_option, warn
from p2pcap.cli.params import filter_options, pop_filter
from p2pcap.terminal import printable
from p2pcap.units import split_commas

EXISTING = click.Path(exists=True, dir_okay=False, path_type=Path)
NETWORKS = ("mainnet", "testnet", "devnet", "regtest")


@click.command()
@click.argument("files", metavar="FILE...", nargs=-1, required=True, type=EXISTING)
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(path_type=Path, allow_dash=True),
    help="File to write ('-' for standard output: pcapng, jsonl); a new folder for "
    "capturemessages; a folder (new, or a dataset to add to) for a Parquet dataset.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["pcapng", "jsonl", "parquet", "capturemessages"]),
    help="Output format (default: from the output's suffix).",
)
@click.option(
    "--node",
    "nodes",
    multiple=True,
    metavar="NAME",
    help="Dataset only: the node's name (default: the capture's host); once per FILE, in order.",
)
@click.option(
    "--network",
    type=click.Choice(NETWORKS),
    help="Network magic for pcapng headers (default: the capture's own).",
)
@click.option("--no-decode", is_flag=True, help="Leave decoded messages out of jsonl/parquet (faster).")
@filter_options
@skip_damaged_option
def export(files, output, fmt, nodes, network, no_decode, **filters):
    """Write a capture as pcapng (Wireshark), JSON lines, Parquet or Core's
    -capturemessages folder; or captures of many nodes as one Parquet dataset.

    \b
      p2pcap export run.cap -o run.pcapng && wireshark run.pcapng
      p2pcap export run.cap -o run.parquet
      duckdb -c "SELECT command, count(*) FROM 'run.parquet' GROUP BY 1"
      p2pcap export run.cap -o - --format jsonl | jq -c 'select(.command=="inv")'
      p2pcap export run.cap --format capturemessages -o message_capture/
      p2pcap export a.cap b.cap --node mn1 --node mn2 --format parquet -o fleet/
      p2pcap export run.cap -o locks.pcapng -Y 'isdlock || object.type == MSG_ISDLOCK'
    show's filters (-Y, --type, --peer...) select what is written.  A Parquet dataset (docs/FLEET.md) is written when there are several
    FILEs, or the output is an existing folder or has no .parquet suffix;
    an existing dataset is added to.
    """
    from p2pcap.analysis.convert import export_captures
    from p2pcap.analysis.filters import RecordFilter

    filt = pop_filter(filters)
    summary = export_captures(
        files,
        output,
        fmt,
        network=network,
        decode=not no_decode,
        nodes=nodes,
        filt=None if filt == RecordFilter() else filt,
    )
    click.echo(printable(summary.line(), backslash=False), err=True)
    finish(summary.problems)


@click.command("import")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Capture file to write.",
)
@click.option(
    "--network",
    type=click.Choice(NETWORKS),
    help="Network to record in the metadata (default: from the chain folder's name).",
)
def import_(folder, output, network):
    """Turn Dash/Bitcoin Core's -capturemessages folder into a capture.

    FOLDER is <datadir>/<chain>/message_capture (or the folder holding it).
    Messages of all peers are merged by time; peers get ids 0, 1, … in
    folder-name order, with addresses from the folder names.

    \b
      p2pcap import ~/.dashcore/regtest/message_capture -o run.cap
      p2pcap show run.cap --type version
    """
    from p2pcap.analysis.convert import import_capturemessages

    summary = import_capturemessages(folder, output, network=network)
    click.echo(printable(summary.line(), backslash=False), err=True)
    finish(summary.problems)


@click.command()
@click.argument("file", type=EXISTING)
@click.option(
    "--speed",
    type=click.FloatRange(min=0, min_open=True),
    default=1.0,
    show_default=True,
    help="Replay this many times faster than recorded.",
)
@click.option("--no-pacing", is_flag=True, help="Pass everything on at once, without waiting.")
@click.option(
    "--max-sleep",
    type=click.FloatRange(min=0),
    default=10.0,
    show_default=True,
    metavar="SECONDS",
    help="Cap any single pause at this (0: every recorded pause, however long).",
)
@click.option("-x", "--hex", "hex_payload", is_flag=True, help="Add the payload as hex (payload_hex).")
@click.option("--to", "target", metavar="HOST:PORT", help="Send one peer's inbound messages to this node.")
@click.option(
    "--network",
    type=click.Choice(NETWORKS),
    help="Decode as this network's (address prefixes); with --to, its magic. Default: the capture's.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=10.0,
    show_default=True,
    help="With --to: seconds allowed for connecting, the handshake and each send.",
)
@click.option(
    "--linger",
    type=click.FloatRange(min=0),
    default=1.0,
    show_default=True,
    help="With --to: seconds to keep reading the node's replies at the end.",
)
@filter_options
def replay(file, speed, no_pacing, max_sleep, hex_payload, target, network, timeout, linger, **filters):
    """Re-run a capture with its original pacing: as JSON lines, or into a node.

    \b
      p2pcap replay run.cap --speed 10 | jq -c '[.command, .peer_id]'
      p2pcap replay run.cap --no-pacing --type inv,getdata --direction in
      p2pcap replay run.cap --to 127.0.0.1:19899 --peer 3     # reproduce a bug
    With --to it connects to the node with v1 framing and the capture's
    network magic, does the handshake (with the peer's own recorded version
    message when there is one), then sends that peer's inbound messages in
    order.  --peer names the one peer (id, or pid:id); no other filter applies.
    """
    if target is None:
        _replay_offline(file, speed, no_pacing, max_sleep, hex_payload, pop_filter(filters), network)
        return
    from p2pcap.analysis.replaying import replay_to_node

    peer_id, pid = _one_peer(filters)
    summary = replay_to_node(
        file,
        target,
        peer_id,
        pid=pid,
        network=network,
        speed=speed,
        pacing=not no_pacing,
        max_sleep=max_sleep,
        timeout=timeout,
        linger=linger,
    )
    click.echo(printable(summary.line(), backslash=False), err=True)
    finish(summary.problems)


def _one_peer(filters: dict) -> tuple[int, int | None]:
    """(peer id, pid or None) from ``--peer N`` / ``--peer PID:N`` / ``--pid``."""
    from p2pcap.errors import P2pcapError

    peers = split_commas(filters.pop("peers"))
    pids = filters.pop("pids")
    others = sorted(f"--{k.rstrip('s').replace('_', '-')}" for k, v in filters.items() if v)
    if others:
        raise P2pcapError(
            f"--to replays one peer's inbound messages as recorded: {', '.join(others)} do not apply"
        )
    pid_text, _, peer_text = peers[0].rpartition(":") if len(peers) == 1 else ("", "", "")
    if len(peers) != 1 or not peer_text.isdigit() or (pid_text and not pid_text.isdigit()) or len(pids) > 1:
        raise P2pcapError("--to needs exactly one --peer N (a peer id, or PID:N; see `p2pcap show`)")
    pid = int(pid_text) if pid_text else (pids[0] if pids else None)
    return int(peer_text), pid


def _replay_offline(file, speed, no_pacing, max_sleep, hex_payload, filt, network) -> None:
    from p2pcap.analysis.replaying import replay
    from p2pcap.analysis.source import InputProblem
    from p2pcap.cli.render import Renderer

    renderer = Renderer(json_lines=True, hex_payload=hex_payload)
    stdout = sys.stdout

    def emit(record, decoded, error, version) -> None:
        stdout.write(renderer.render(record, decoded, error, version) + "\n")
        stdout.flush()  # each line when it is due, not when a buffer fills

    problems, notes = [], []
    replay(
        file,
        emit,
        speed=speed,
        pacing=not no_pacing,
        max_sleep=max_sleep,
        filt=filt,
        gaps=True,
        decoded=True,
        warn=lambda problem: (problems if isinstance(problem, InputProblem) else notes).append(problem),
        with_version=True,
        network=network,
    )
    for note in notes:
        warn(note)
    finish(problems)


def register(group: click.Group) -> None:
    """Add ``export``, ``import`` and ``replay`` to the ``p2pcap`` group."""
    for command in (export, import_, replay):
        group.add_command(command)
