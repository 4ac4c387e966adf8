"""The data flows one way (docs/DESIGN.md, "The data path"): check it by
importing in a fresh interpreter and listing the p2pcap modules each layer
pulled in."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

PROBE = (
    "import json, sys; import {module}; "
    "print(json.dumps(sorted(m for m in sys.modules if m == 'bcc' or m.startswith('p2pcap'))))"
)


def loaded(module: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", PROBE.format(module=module)],
                         capture_output=True, text=True, check=True).stdout
    return set(json.loads(out))


@pytest.mark.parametrize(
    "module, forbidden",
    [
        ("p2pcap.decoders", ("p2pcap.formats", "p2pcap.capture", "bcc")),
        ("p2pcap.formats", ("p2pcap.decoders", "p2pcap.capture", "bcc")),
        ("p2pcap.cli", ("p2pcap.capture", "bcc")),
        ("p2pcap.capture.targets", ("p2pcap.decoders", "bcc")),
    ],
)
def test_layers_do_not_reach_across(module, forbidden):
    modules = loaded(module)
    assert module in modules
    bad = sorted(m for m in modules if any(m == f or m.startswith(f + ".") for f in forbidden))
    assert bad == [], f"{module} imported {bad}"


def test_show_path_needs_no_bcc():
    modules = loaded("p2pcap.cli.show")
    assert "bcc" not in modules and not any(m.startswith("p2pcap.capture") for m in modules)
