"""The compiled accelerators, when they are built, and the switch that sets them aside.

``formats/_blockwalk.c`` walks a block body in C: ``show -n``'s rows
(``listing``) and ``diff``'s first pass (``fingerprints``).  The ordinary
install builds it (setup.py); a checkout run uninstalled has none, and
``P2PCAP_GENERAL=1`` sets it aside (and ``show``'s other fast paths) for the
general, reference code.  Either way the output is the same, byte for byte
(tests/analysis/test_fast_output.py); only the time differs.
"""

from __future__ import annotations

import os

GENERAL_ENV = "P2PCAP_GENERAL"


def general_only() -> bool:
    """True when ``P2PCAP_GENERAL`` asks for the general paths only."""
    return os.environ.get(GENERAL_ENV, "") not in ("", "0")


def blockwalk():
    """The ``_blockwalk`` module, or None (not built, or set aside)."""
    if general_only():
        return None
    try:
        from . import _blockwalk
    except ImportError:
        return None
    return _blockwalk
