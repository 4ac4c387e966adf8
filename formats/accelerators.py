"""The compiled accelerators, when they are built, and the switch that sets them aside.

``formats/_blockwalk.c`` walks a block body in C: ``show -n``'s rows
(``listing``) and ``diff``'s first pass (``fingerprints``);
``formats/_payloadjson.c`` writes the decoded JSON of the commonest
payloads (inventories, tx, pings, locks, signing messages, dsq) for ``show
--json``.  The ordinary install builds both (setup.py); a checkout run
uninstalled has neither, and ``P2PCAP_GENERAL=1`` sets them aside (and
``show``'s other fast paths) for the general, reference code.  Either way
the output is the same, byte for byte (tests/analysis/test_fast_output.py,
tests/analysis/test_payload_json.py); only the time differs.
"""

from __future__ import annotations

import importlib
import os

GENERAL_ENV = "P2PCAP_GENERAL"


def general_only() -> bool:
    """True when ``P2PCAP_GENERAL`` asks for the general paths only."""
    return os.environ.get(GENERAL_ENV, "") not in ("", "0")


def _compiled(name: str):
    """The extension module ``name`` of this package, or None (not built, or set aside)."""
    if general_only():
        return None
    try:
        return importlib.import_module(f"{__package__}.{name}")
    except ImportError:
        return None


def blockwalk():
    """The ``_blockwalk`` module, or None (not built, or set aside)."""
    return _compiled("_blockwalk")


def payloadjson():
    """The ``_payloadjson`` module, or None (not built, or set aside)."""
    return _compiled("_payloadjson")
