"""The registry of the decoder test modules' tables.

Every module with known-good payloads is listed here, in file-name order,
and imported as part of the package.  ``CASES`` holds the rows of every
module's ``TABLE`` (vectors.Table, over the module's own ``CASES``), each
named ``module-case``: test_tables.py decodes them, builds them back and
appends a byte to them.  test_fuzz.py and test_partial.py
take ``VECTORS`` from here: the ``VECTORS = [(command, payload hex), ...]``
of every listed module, as bytes.  test_fuzz.py checks that no module
defining ``VECTORS`` is left out of ``MODULES``.
"""

from __future__ import annotations

from dataclasses import replace
from importlib import import_module

from .vectors import Case

NAMES = (
    "test_addr",
    "test_announced",
    "test_bitsets",
    "test_blocks",
    "test_chainlocks",
    "test_coinjoin",
    "test_commitment",
    "test_control",
    "test_core_json",
    "test_filters",
    "test_governance",
    "test_headers",
    "test_instantsend",
    "test_inventory",
    "test_llmq",
    "test_masternode",
    "test_mnlist",
    "test_mnlist_real",
    "test_script",
    "test_signing",
    "test_special_tx",
    "test_sporks",
    "test_transaction",
)
MODULES = tuple(import_module(f".{name}", __package__) for name in NAMES)


def short_name(module) -> str:
    """``tests.decoders.test_addr`` -> ``addr``."""
    return module.__name__.rpartition(".")[2].removeprefix("test_")


# Known-good payloads at the default (newest) connection version, as bytes.
VECTORS: list[tuple[str, bytes]] = [
    (command, bytes.fromhex(payload)) for module in MODULES for command, payload in module.VECTORS
]

# Every module's table, by the module's short name.
TABLES = {short_name(module): module.TABLE for module in MODULES if hasattr(module, "TABLE")}

CASES: list[Case] = [
    replace(case, id=f"{name}-{case.id}") for name, table in TABLES.items() for case in table.cases()
]
