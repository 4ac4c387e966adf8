"""Command -> construct definition, one explicit table merged from each family.

Each family module exports ``MESSAGES: dict[str, Construct]``; this module
merges them (like pcapng's KNOWN_BLOCKS, Dash test_framework/p2p.py
MESSAGEMAP) and checks no command is defined twice.  Nothing here scans
module globals.
"""

from __future__ import annotations

import importlib

# Family modules: the messages Dash shares with Bitcoin first (control,
# addresses, inventory, headers, blocks, filters), then Dash's own (sporks,
# mnauth and platformban, masternode lists, chain locks, InstantSend, LLMQ DKG and
# signing, governance, CoinJoin).  A module that is not written yet is an
# ImportError at load time, never a silent omission.
FAMILIES = (
    "control",
    "addr",
    "inventory",
    "headers",
    "blocks",
    "filters",
    "sporks",
    "masternode",
    "mnlist",
    "chainlocks",
    "instantsend",
    "llmq",
    "signing",
    "governance",
    "coinjoin",
)


def _load() -> dict:
    table: dict = {}
    for name in FAMILIES:
        module = importlib.import_module(f"{__package__}.{name}")
        for command, definition in module.MESSAGES.items():
            if command in table:
                raise RuntimeError(f"{command} defined twice (second in {name})")
            table[command] = definition
    return table


MESSAGES = _load()
