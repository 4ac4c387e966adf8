"""Generated hostile captures (``strategies.captures``): the reader in this
process on many, every reader command in a child process on a few.

In process, the reader, the index scan and ``check`` may only raise the
format's own errors, and what they decompress and yield stays within the
budget of the file's size (docs/FORMAT.md, "Limits").  Out of process,
every command keeps to the limits of ``conftest.run_limited``.
"""

from __future__ import annotations

import io

import pytest
from hypothesis import HealthCheck, Phase, given, settings

from p2pcap.formats import CaptureReader, FormatError, check_capture, decoder, footer
from p2pcap.formats.limits import footer_allowed, raw_allowed, records_allowed

from .conftest import COMMAND_NAMES
from .strategies import captures

SLOW = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example]


@pytest.fixture
def decompressed(monkeypatch):
    """The sizes of every body the reader decompresses, record blocks and footers."""
    sizes = {"blocks": [], "footer": []}
    real = decoder.decompress

    def counting(where):
        return lambda frame, size: sizes[where].append(size) or real(frame, size)

    monkeypatch.setattr(decoder, "decompress", counting("blocks"))
    monkeypatch.setattr(footer, "decompress", counting("footer"))
    return sizes


def read_everything(data: bytes, **options) -> tuple:
    """Records, the scanned index and the reader, or the FormatError that
    stopped it; anything else propagates (and fails the test)."""
    try:
        reader = CaptureReader(io.BytesIO(data), **options)
        records = list(reader)
        index = reader.summarize(scan=True)
        return records, index, reader
    except FormatError as e:
        return e, None, None


@settings(max_examples=100, deadline=None, suppress_health_check=[*SLOW, HealthCheck.function_scoped_fixture])
@given(captures())
def test_the_reader_raises_only_format_errors_and_keeps_to_the_budget(tmp_path_factory, decompressed, data):
    for skip in (True, False):
        decompressed["blocks"].clear()
        decompressed["footer"].clear()
        records, index, reader = read_everything(data, skip_damaged=skip)
        # one pass for the records, one for the index: each within the budget
        assert sum(decompressed["blocks"]) <= 2 * raw_allowed(len(data))
        assert all(n <= footer_allowed(len(data)) for n in decompressed["footer"])
        if reader is not None:
            assert len(records) <= records_allowed(len(data))
            assert len(index.peers) <= records_allowed(len(data))
            assert all(len(line.splitlines()) == 1 for line in map(str, reader.damaged))
    path = tmp_path_factory.mktemp("generated") / "x.cap"
    path.write_bytes(data)
    report = check_capture(path)  # never raises: it reports
    assert report.lines()[-1].startswith("verdict: ")
    assert all("\n" not in line for line in report.lines())


@pytest.mark.parametrize("command", COMMAND_NAMES)
@settings(
    max_examples=3,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # shrinking a child process's run takes minutes
    deadline=None,
    derandomize=True,
    suppress_health_check=[*SLOW, HealthCheck.function_scoped_fixture],
)
@given(data=captures())
def test_every_command_keeps_to_the_limits_on_generated_captures(command, run_limited, tmp_path, data):
    path = tmp_path / "generated.cap"
    path.write_bytes(data)
    run_limited(path, command)
