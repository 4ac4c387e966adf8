"""The top-level folders that install as p2pcap's subpackages.

``capture/``, ``decoders/`` and ``formats/`` live at the top of the
repository and are imported as ``p2pcap.capture``, ``p2pcap.decoders`` and
``p2pcap.formats`` (``p2pcap/`` holds a symlink to each; pyproject.toml).
From the repository root the bare names are importable too, and would load
a second copy of each package whose classes are not p2pcap's: an
``except FormatError`` or ``isinstance`` against one would miss the other.
So each of them calls ``require_name`` first and refuses to load that way.
"""

from __future__ import annotations


def require_name(name: str, expected: str) -> None:
    """Raise ImportError when the package is imported by its bare folder name.

    >>> require_name("formats", "p2pcap.formats")
    Traceback (most recent call last):
    ImportError: 'formats' is p2pcap.formats: import it by that name (the bare name would load a second copy of the package)
    """
    # Only the bare folder name is the accident; a copy loaded on purpose
    # under a name of its own (benchmarks/bench_decoders.py --before) is not.
    if name == expected.rpartition(".")[2]:
        raise ImportError(
            f"{name!r} is {expected}: import it by that name "
            f"(the bare name would load a second copy of the package)"
        )
