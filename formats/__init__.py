"""Capture files: the p2pcap format (docs/FORMAT.md), its reader and writer.

* ``CaptureWriter(path_or_file, metadata, block_size=, flush_interval=,
  threaded=)``: ``write(record)``, ``flush()``, ``maybe_flush()``,
  ``close()``; counters ``messages``, ``payload_bytes``, ``lost_messages``,
  ``bytes_written``.
* ``open_capture(path)`` / ``CaptureReader(path_or_file, skip_damaged=,
  follow=)``: ``metadata``, ``version``, iteration, ``records(commands=,
  since_ns=, until_ns=, gaps=)``, ``blocks()``, ``summarize()``, ``index``,
  ``torn_tail``, ``damaged``, ``stop()``.
* ``check_capture(path)`` and ``repair_capture(src, dst)`` for the CLI.
* ``Decoder``: the sans-I/O core (``receive_data``/``next_event``).
* Errors: ``FormatError`` > ``BadMagic``, ``UnsupportedVersion``,
  ``TruncatedCapture``, ``CorruptBlock``.

>>> import io
>>> from p2pcap.formats import CaptureWriter, CaptureReader, Message
>>> buf = io.BytesIO()
>>> with CaptureWriter(buf, {"network": "regtest"}) as w:
...     w.write(Message(1, 42, 0, "127.0.0.1:19899", "inbound", "in", "ping", 8, bytes(8)))
>>> [m.command for m in CaptureReader(io.BytesIO(buf.getvalue()))]
['ping']
"""

from p2pcap.folders import require_name

require_name(__name__, "p2pcap.formats")


from .decoder import END, NEED_DATA, Block, BlockStart, Damaged, Decoder, Footer, Truncated
from .errors import BadMagic, CorruptBlock, FormatError, TruncatedCapture, UnsupportedVersion
from .index import BlockInfo, CaptureIndex, Counts, Loss, PeerSession
from .layout import FORMAT_MAJOR, FORMAT_MINOR, FileHeader
from .reader import CaptureReader, open_capture
from .records import Gap, Message

# Writing and checking load on first use (PEP 562): a reader command such as
# `show` starts without them.
_LAZY = {
    "CheckReport": "check",
    "RepairReport": "check",
    "check_capture": "check",
    "repair_capture": "check",
    "DEFAULT_BLOCK_SIZE": "writer",
    "CaptureWriter": "writer",
}


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted({*globals(), *_LAZY})


__all__ = [
    "BadMagic",
    "Block",
    "BlockInfo",
    "BlockStart",
    "CaptureIndex",
    "CaptureReader",
    "CaptureWriter",
    "CheckReport",
    "CorruptBlock",
    "Counts",
    "DEFAULT_BLOCK_SIZE",
    "Damaged",
    "Decoder",
    "END",
    "FORMAT_MAJOR",
    "FORMAT_MINOR",
    "FileHeader",
    "Footer",
    "FormatError",
    "Gap",
    "Loss",
    "Message",
    "NEED_DATA",
    "PeerSession",
    "RepairReport",
    "Truncated",
    "TruncatedCapture",
    "UnsupportedVersion",
    "check_capture",
    "open_capture",
    "repair_capture",
]
