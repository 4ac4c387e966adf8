"""Version numbers in the strings kernels and BCC give: one parser for all.

``uname -r`` gives "6.1.0-57-amd64" or "6.18.44-fc-v973"; BCC's
``bcc.__version__`` "0.26.0" (some builds "v0.26.0").
"""

from __future__ import annotations

import os
import re

_VERSION = re.compile(r"v?(\d+)\.(\d+)(?:\.(\d+))?")


def parse(text: str) -> tuple[int, ...] | None:
    """(major, minor[, patch]) from the start of ``text``; None if it has none.

    >>> parse("6.1.0-57-amd64"), parse("v0.26.0"), parse("custom")
    ((6, 1, 0), (0, 26, 0), None)
    """
    found = _VERSION.match(text.strip())
    return tuple(int(part) for part in found.groups() if part is not None) if found else None


def kernel_at_least(minimum: tuple[int, int], release: str | None = None) -> bool:
    """Whether the running kernel (or ``release``) is ``minimum`` (major, minor) or newer."""
    version = parse(release or os.uname().release)
    return version is not None and version[:2] >= minimum
