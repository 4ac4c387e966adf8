"""The examples in the decoders' docstrings run and give what they show."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import p2pcap.decoders

MODULES = sorted(m.name for m in pkgutil.iter_modules(p2pcap.decoders.__path__))


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(f"p2pcap.decoders.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
