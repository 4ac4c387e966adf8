"""``export`` and ``import``: captures to and from other formats.

The converters in ``p2pcap.formats`` know bytes; this layer picks one,
resolves the network magic, and passes in the decode function for the
formats that carry decoded messages (JSON lines, Parquet).

>>> export_capture("run.cap", "run.pcapng").line()  # doctest: +SKIP
'run.pcapng: 1204 messages, 0 gaps (pcapng, mainnet magic)'
"""

from __future__ import annotations

import contextlib
import sys
import time
from dataclasses import dataclass, field
from importlib.metadata import version as package_version
from pathlib import Path

from p2pcap.analysis.pipeline import open_pipeline
from p2pcap.analysis.source import InputProblem, capture_network, check_output, writing
from p2pcap.errors import ArgumentError
from p2pcap.formats import CaptureWriter
from p2pcap.formats.v1 import NETWORKS, canonical_network, network_magic
from p2pcap.outputs import atomic_file, atomic_folder, atomic_path

FORMATS = ("pcapng", "jsonl", "parquet", "capturemessages")
_SUFFIXES = {".pcapng": "pcapng", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet"}


@dataclass
class ConvertSummary:
    output: str
    format: str
    messages: int = 0
    gaps: int = 0
    network: str | None = None
    notes: list = field(default_factory=list)
    problems: list = field(default_factory=list)  # InputProblem of the input

    def line(self) -> str:
        what = f"{self.format}, {self.network} magic" if self.network else self.format
        gaps = f", {_count(self.gaps, 'gap')}" if self.gaps else ""
        text = f"{self.output}: {_count(self.messages, 'message')}{gaps} ({what})"
        return "; ".join([text, *self.notes])


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def guess_format(output) -> str | None:
    """The format an output name implies, or None (``-``, no known suffix)."""
    return _SUFFIXES.get(Path(str(output)).suffix.lower())


def wants_dataset(paths, output, fmt: str | None) -> bool:
    """Whether ``export`` writes a Parquet dataset folder (docs/FLEET.md): the
    format is parquet (given, or no other suffix) and there are several
    captures, or the output is an existing folder, or its name has no
    ``.parquet`` suffix.  ``run.parquet`` from one capture stays one file."""
    out = Path(str(output))
    if fmt not in (None, "parquet") or str(output) == "-":
        return False
    if fmt is None and guess_format(output) not in (None, "parquet"):
        return False
    if (
        fmt is None
        and guess_format(output) is None
        and not (len(paths) > 1 or out.is_dir() or str(output).endswith("/"))
    ):
        return False  # no format and no hint: export_capture names the problem
    return len(paths) > 1 or out.is_dir() or out.suffix.lower() != ".parquet"


def export_captures(
    paths,
    output,
    fmt: str | None = None,
    *,
    network: str | None = None,
    decode: bool = True,
    nodes=(),
    filt=None,
):
    """``export``: one capture to one file (``export_capture``), or captures
    into a dataset folder (``dataset.export_dataset``) as ``wants_dataset`` says;
    ``filt`` (a ``RecordFilter``) selects the records written."""
    paths = list(paths)
    if wants_dataset(paths, output, fmt):
        from p2pcap.analysis.dataset import export_dataset

        check_output(paths, output)
        return export_dataset(paths, output, nodes=nodes, decode=decode, filt=filt)
    if len(paths) > 1:
        raise ArgumentError(
            "output",
            f"several captures go only into a Parquet dataset folder (--format parquet -o DIR), not {output}",
        )
    if nodes:
        raise ArgumentError("node", "{arg} names a node in a Parquet dataset (--format parquet -o DIR)")
    return export_capture(paths[0], output, fmt, network=network, decode=decode, filt=filt)


def export_capture(
    path, output, fmt: str | None = None, *, network: str | None = None, decode: bool = True, filt=None
) -> ConvertSummary:
    """Write every record of capture ``path`` to ``output`` in ``fmt``.

    ``output`` ``-`` is standard output (pcapng and jsonl).  ``fmt`` defaults
    from the output's suffix.  ``network`` overrides the capture's own (for
    the pcapng header magic).  ``decode=False`` leaves ``decoded`` out of
    JSON lines and Parquet.  ``filt`` (a ``RecordFilter``) selects the records.  Returns counts, and in ``problems`` what was
    wrong with the input (damaged blocks, a torn tail, no footer).
    """
    fmt = fmt or guess_format(output)
    if fmt is None:
        raise ArgumentError(
            "format", f"{output}: cannot tell the format from the name: give {{arg}} ({', '.join(FORMATS)})"
        )
    if fmt not in FORMATS:
        raise ArgumentError("format", f"expected one of {', '.join(FORMATS)}", value=fmt)
    to_stdout = str(output) == "-"
    if to_stdout and fmt not in ("pcapng", "jsonl"):
        raise ArgumentError("output", f"{fmt} cannot be written to standard output: give a path with {{arg}}")
    check_output([path], output)
    if fmt == "capturemessages":
        _check_empty_folder(Path(output))
    summary = ConvertSummary(str(output), fmt)
    decoding = decode and fmt in ("jsonl", "parquet")
    with open_pipeline(path, filt, decode=decoding, network=network) as p:
        if fmt == "pcapng":
            summary.network = capture_network(p.metadata, network, path)
        elif decoding:
            p.say_unknown_network(summary.notes.append)
        decoder = _export_decoder(p) if decoding else None
        with writing(output):
            writer = _write_all(p, output, fmt, summary, decoder, to_stdout)
        summary.problems += p.problems()
    summary.messages, summary.gaps = writer.messages, getattr(writer, "gaps", 0)
    if getattr(writer, "cut", 0):
        summary.notes.append(
            f"{_count(writer.cut, 'message')} over 256 KiB cut to fit Wireshark "
            f"(header, length and checksum kept whole)"
        )
    if getattr(writer, "partial", 0):
        summary.notes.append(f"{_count(writer.partial, 'message')} captured only in part")
    if getattr(writer, "gaps_skipped", 0):
        summary.notes.append(
            f"{_count(writer.gaps_skipped, 'gap record')} not written (the format has no place for them)"
        )
    return summary


def _export_decoder(p):
    """``decode(msg) -> (decoded, error)`` for the exporters, from the pipeline."""

    def decode(msg):
        decoded, error = p.decoded(msg)
        if decoded is not None and decoded.get("unknown") is True:
            decoded = {"unknown": True}  # its raw bytes are the payload, already in the row
        return decoded, error

    return decode


def _write_all(p, output, fmt, summary, decoder, to_stdout):
    if fmt == "pcapng":
        from p2pcap.formats.pcapng import PcapngWriter

        with _binary_out(output, to_stdout) as f:
            writer = PcapngWriter(
                f,
                magic=network_magic(summary.network),
                comment=_shb_comment(p.reader, summary.network),
                application=f"p2pcap {package_version('p2pcap')}",
            )
            for record in p:
                writer.write(record)
        return writer
    if fmt == "jsonl":
        from p2pcap.formats.jsonl import JsonlWriter

        with _text_out(output, to_stdout) as f:
            writer = JsonlWriter(f, decode=decoder)
            for record in p:
                writer.write(record)
        return writer
    if fmt == "parquet":
        from p2pcap.analysis.exporting import BlockExport, fast_way
        from p2pcap.formats.parquet import ParquetWriter

        with atomic_path(output) as temp, ParquetWriter(temp, p.metadata, decode=decoder) as writer:
            fast = fast_way(p, versions=decoder is not None)  # a block at a time (exporting.py)
            if fast is not None:
                BlockExport(p, writer, decode=decoder).run(fast)
            else:
                for record in p:
                    writer.write(record)
        return writer
    from p2pcap.formats.capturemessages import CaptureMessagesWriter

    with atomic_folder(output) as folder, CaptureMessagesWriter(folder) as writer:
        for record in p:
            writer.write(record)
    return writer


def _shb_comment(reader, network: str) -> str:
    meta = reader.metadata
    source = reader.path or "capture"
    host = meta.get("host")
    return (
        f"exported by p2pcap from {source}"
        + (f" (recorded on {host})" if host else "")
        + f"; network {network}"
    )


def _check_empty_folder(path: Path) -> None:
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise ArgumentError(
            "output",
            f"{path}: exists and is not an empty folder "
            f"(msgs_*.dat files are appended to; give a new folder)",
        )


@contextlib.contextmanager
def _binary_out(output, to_stdout: bool):
    if to_stdout:
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
    else:
        with atomic_file(output, "wb") as f:
            yield f


@contextlib.contextmanager
def _text_out(output, to_stdout: bool):
    if to_stdout:
        yield sys.stdout
        sys.stdout.flush()
    else:
        with atomic_file(output, "w", encoding="utf-8") as f:
            yield f


# -- import --------------------------------------------------------------------

_CHAIN_DIRS = {"regtest": "regtest", "testnet3": "testnet"}


def infer_folder_network(root: Path) -> tuple[str, str]:
    """(network, how we know) from ``<datadir>/<chain subdir>/message_capture``."""
    chain_dir = root.resolve().parent.name
    if chain_dir in _CHAIN_DIRS:
        return _CHAIN_DIRS[chain_dir], f"folder name: {chain_dir}"
    if chain_dir.startswith("devnet"):
        return "devnet", f"folder name: {chain_dir}"
    return "unknown", "not inferred (mainnet data directories have no chain folder)"


def import_capturemessages(folder, output, *, network: str | None = None) -> ConvertSummary:
    """Turn a ``-capturemessages`` folder into a p2pcap capture, merged by time.

    ``folder`` is ``message_capture`` or the folder holding it.  Peers get
    ids 0, 1, … in folder-name order; their addresses come from the folder
    names.  ``network`` (else the chain folder's name) goes in the metadata.
    """
    from p2pcap.formats.capturemessages import capture_folders, find_capture_root, read_capture_dir

    root = find_capture_root(folder)
    if network:
        name = canonical_network(network)
        if name is None:
            raise ArgumentError("network", f"expected one of {', '.join(NETWORKS)}", value=network)
        net, source = name, "given on the command line"
    else:
        net, source = infer_folder_network(root)
    torn = []
    messages = read_capture_dir(root, on_torn=torn.append)
    peers = {i: addr for i, (addr, _) in enumerate(capture_folders(root))}
    metadata = {
        "tool": "p2pcap",
        "tool_version": package_version("p2pcap"),
        "source": "capturemessages",
        "imported_from": str(Path(root).resolve()),
        "import_time_ns": time.time_ns(),
        "network": net,
        "network_source": source,
        "peers": {str(i): addr for i, addr in peers.items()},
    }
    summary = ConvertSummary(str(output), "p2pcap")
    with atomic_file(output) as f, writing(output), CaptureWriter(f, metadata) as writer:
        for msg in messages:
            writer.write(msg)
    summary.messages = writer.messages
    summary.problems += [
        InputProblem(str(folder), f"{err} (records before it were imported)") for err in torn
    ]
    summary.notes.append(f"{len(peers)} peers, network {net}")
    if net == "unknown":
        summary.notes.append("give --network to record it")
    return summary
