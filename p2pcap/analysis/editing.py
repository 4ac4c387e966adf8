"""``filter`` (like editcap) and ``merge`` (like mergecap): captures in, a capture out.

Both stream: a record is read, tested and written before the next one, so
memory does not grow with the files.  Records are copied as they are
(payload bytes, flags, timestamps); gap records are kept, because a subset
of a capture with losses still has those losses.  The output's metadata is
the input's, with an ``edits`` list saying what was done to it.
"""

from __future__ import annotations

import collections
import heapq
import os
from dataclasses import dataclass, field

from p2pcap.analysis.filters import RecordFilter
from p2pcap.analysis.pipeline import open_pipeline
from p2pcap.analysis.source import check_output, is_stdio, open_writer
from p2pcap.errors import ArgumentError
from p2pcap.formats.records import Message


@dataclass
class EditReport:
    messages_in: int = 0
    messages_out: int = 0
    gaps_out: int = 0
    problems: list = field(default_factory=list)  # InputProblem of the inputs

    def line(self) -> str:
        return f"{self.messages_out} of {self.messages_in} messages written" + (
            f", {self.gaps_out} gap records" if self.gaps_out else ""
        )


def describe_filter(filt: RecordFilter) -> list[str]:
    """The filter as command-line words, for the ``edits`` metadata.

    >>> describe_filter(RecordFilter(commands=frozenset({"inv"}), direction="in"))
    ['--type', 'inv', '--direction', 'in']
    """
    words: list[str] = []
    if filt.commands is not None:
        words += ["--type", ",".join(sorted(filt.commands))]
    if filt.exclude:
        words += ["--not-type", ",".join(sorted(filt.exclude))]
    for flag, values in (
        ("--peer", filt.peers),
        ("--pid", sorted(filt.pids)),
        ("--conn-type", filt.conn_types),
    ):
        for v in values:
            words += [flag, str(v)]
    if filt.direction:
        words += ["--direction", filt.direction]
    for flag, spec in (("--since", filt.since), ("--until", filt.until)):
        if spec is not None:
            words += [flag, spec.text]
    for w in filt.where:
        words += ["--where", str(w)]
    if filt.display is not None:
        words += ["-Y", str(filt.display)]
    return words


def edited(metadata, edit: dict) -> dict:
    """A copy of ``metadata`` with ``edit`` appended to its ``edits`` list."""
    out = dict(metadata) if isinstance(metadata, dict) else {"original_metadata": metadata}
    out["edits"] = [*out.get("edits", []), edit]
    return out


def tool_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("p2pcap")
    except PackageNotFoundError:
        return "unknown"


def filter_capture(src, dst, filt: RecordFilter, *, limit=None) -> EditReport:
    """Write the records of ``src`` that ``filt`` keeps to ``dst`` (paths, or ``-``).

    ``limit`` stops after that many messages, like ``editcap -r``'s ranges
    stop at their end.
    """
    check_output([src], dst)
    report = EditReport()
    with open_pipeline(src, filt) as p:
        edit = {"command": "filter", "tool_version": tool_version(), "args": describe_filter(filt)}
        # each process's network goes along, as the blocks read define it
        with open_writer(dst, edited(p.metadata, edit), processes=p.reader.processes) as writer:
            for rec in p:
                if type(rec) is Message:
                    if limit is not None and report.messages_out >= limit:
                        break
                    report.messages_out += 1
                else:
                    report.gaps_out += 1
                writer.write(rec)
        if limit is None or report.messages_out < limit:
            report.problems += p.problems()
    if p.index is not None:
        report.messages_in = p.index.messages
    else:
        report.messages_in = report.messages_out  # unknown without the index; at least this many
    return report


def merge_metadata(metadatas: list, names: list) -> dict:
    """Keys every input agrees on, plus each input's whole metadata under ``merged_from``.

    >>> merge_metadata([{"network": "main", "host": "a"}, {"network": "main", "host": "b"}], ["x", "y"])["network"]
    'main'
    """
    dicts = [m if isinstance(m, dict) else {} for m in metadatas]
    common = {}
    if dicts:
        for key, value in dicts[0].items():
            if key != "edits" and all(key in d and d[key] == value for d in dicts[1:]):
                common[key] = value
    common["merged_from"] = [{"file": os.path.basename(n), "metadata": m} for n, m in zip(names, metadatas)]
    return edited(
        common,
        {"command": "merge", "tool_version": tool_version(), "inputs": [os.path.basename(n) for n in names]},
    )


def merge_captures(sources, dst) -> EditReport:
    """Merge captures by time into ``dst``: a k-way merge, one block per input in memory.

    Each input's own order is kept (a capture's records are in write order,
    nearly but not always time order); records with the same time keep the
    order of the inputs on the command line.
    """
    if sum(1 for s in sources if is_stdio(s)) > 1:
        raise ArgumentError("sources", "stdin (-) can be given once")
    check_output(sources, dst)
    report = EditReport()
    pipelines = []
    try:
        for src in sources:
            pipelines.append(open_pipeline(src))
        metadata = merge_metadata([p.metadata for p in pipelines], [p.name for p in pipelines])
        streams = [_keyed(p, n) for n, p in enumerate(pipelines)]
        processes = collections.ChainMap(*(p.reader.processes for p in pipelines))
        with open_writer(dst, metadata, processes=processes) as writer:
            for _key, rec in heapq.merge(*streams, key=lambda kv: kv[0]):
                if type(rec) is Message:
                    report.messages_out += 1
                else:
                    report.gaps_out += 1
                writer.write(rec)
        report.messages_in = report.messages_out
        for p in pipelines:
            report.problems += p.problems()
    finally:
        for p in pipelines:
            p.close()
    return report


def _keyed(records, n: int):
    for rec in records:
        yield (rec.ts_ns, n), rec
