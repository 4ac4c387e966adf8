"""The compiled accelerators, when they are built, and the switch that sets them aside.

``formats/_listing.c`` renders ``show -n``'s rows of a block body.  The
ordinary install builds it (setup.py); a checkout run uninstalled has none,
and ``P2PCAP_GENERAL=1`` sets it aside (and ``show``'s other fast paths) for
the general, reference code.  Either way the output is the same, byte for
byte (tests/analysis/test_fast_output.py); only the time differs.
"""

from __future__ import annotations

import os

GENERAL_ENV = "P2PCAP_GENERAL"


def general_only() -> bool:
    """True when ``P2PCAP_GENERAL`` asks for the general paths only."""
    return os.environ.get(GENERAL_ENV, "") not in ("", "0")


def listing():
    """``_listing.listing``, or None (not built, or set aside)."""
    if general_only():
        return None
    try:
        from ._listing import listing
    except ImportError:
        return None
    return listing


def status() -> str:
    """One line for ``p2pcap doctor``: which listing path ``show`` takes."""
    if general_only():
        return f"set aside by {GENERAL_ENV}: show uses the general path (same output, slower)"
    try:
        from . import _listing
    except ImportError as e:
        return f"not built ({e}): show uses the general path (same output, slower)"
    return f"built: {_listing.__file__}"
