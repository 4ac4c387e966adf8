"""The examples in the docstrings of the kernel, formats, analysis and cli run and give what they show.

(The decoders' are run by tests/decoders/test_doctests.py; capture's need a
kernel and root, and its live tests cover them.)
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import p2pcap.analysis
import p2pcap.cli
import p2pcap.formats

MODULES = [
    "p2pcap",
    "p2pcap.errors",
    "p2pcap.units",
    "p2pcap.folders",
    "p2pcap.outputs",
    "p2pcap.terminal",
] + sorted(
    info.name
    for package in (p2pcap.formats, p2pcap.analysis, p2pcap.cli)
    for info in pkgutil.iter_modules(package.__path__, package.__name__ + ".")
    if not info.name.rsplit(".", 1)[1].startswith("_")
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


def test_the_examples_are_found():
    attempted = sum(doctest.testmod(importlib.import_module(n), report=False).attempted for n in MODULES)
    assert attempted > 100
