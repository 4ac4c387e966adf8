"""Command -> construct definition, one explicit table merged from each family.

Each family module exports ``MESSAGES: dict[str, Construct]``; this module
merges them (like pcapng's KNOWN_BLOCKS, Dash test_framework/p2p.py
MESSAGEMAP) and checks no command is defined twice.  Each also exports
``SUMMARIES`` (what ``show``'s info column says of its commands), merged
the same way and checked to cover every command.  Nothing here scans
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


def merge(modules, attribute: str) -> dict:
    """One table of every module's ``attribute`` (MESSAGES or SUMMARIES);
    a command in two modules is an error.

    >>> from types import SimpleNamespace as M
    >>> merge([M(MESSAGES={"ping": 1}), M(MESSAGES={"pong": 2})], "MESSAGES")
    {'ping': 1, 'pong': 2}
    """
    table: dict = {}
    for module in modules:
        for command, value in getattr(module, attribute).items():
            if command in table:
                raise RuntimeError(f"{command} in {attribute} twice (second in {module.__name__})")
            table[command] = value
    return table


def check_summaries(messages: dict, summaries: dict) -> None:
    """Every command has its info-column declaration (SUMMARIES) and every
    declaration a command, so a new message cannot go unsummarised.

    >>> check_summaries({"ping": 1}, {})
    Traceback (most recent call last):
    ...
    RuntimeError: no SUMMARIES declaration for ping
    """
    missing = sorted(set(messages) - set(summaries))
    if missing:
        raise RuntimeError(f"no SUMMARIES declaration for {', '.join(missing)}")
    extra = sorted(set(summaries) - set(messages))
    if extra:
        raise RuntimeError(f"SUMMARIES declared for unknown commands {', '.join(extra)}")


_MODULES = [importlib.import_module(f"{__package__}.{name}") for name in FAMILIES]
MESSAGES = merge(_MODULES, "MESSAGES")
# What ``show``'s info column says of each command (p2pcap/analysis/summary.py
# renders it): (path, how[, label]) items, most useful first.
SUMMARIES = merge(_MODULES, "SUMMARIES")
check_summaries(MESSAGES, SUMMARIES)
