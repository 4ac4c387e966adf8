"""Every NetMsgType command has a definition, and each rejects trailing bytes.

The list is dashpay/dash src/protocol.h and protocol.cpp (newest),
written out here rather than read from the registry
so a forgotten command shows up as a failure.
"""

from __future__ import annotations

import pytest
from construct import FocusedSeq, Sequence, Struct, Terminated

from p2pcap.decoders import definition, known_commands

BITCOIN_DERIVED = [
    "version", "verack", "addr", "addrv2", "sendaddrv2", "inv", "getdata",
    "merkleblock", "getblocks", "getheaders", "tx", "headers", "block",
    "getaddr", "mempool", "ping", "pong", "notfound", "filterload",
    "filteradd", "filterclear", "sendheaders", "sendcmpct", "cmpctblock",
    "getblocktxn", "blocktxn", "getcfilters", "cfilter", "getcfheaders",
    "cfheaders", "getcfcheckpt", "cfcheckpt", "sendtxrcncl",
]  # fmt: skip

DASH = [
    "spork", "getsporks", "dsa", "dsi", "dsf", "dss", "dsc", "dssu", "dstx",
    "dsq", "senddsq", "ssc", "govsync", "govobj", "govobjvote", "getmnlistd",
    "mnlistdiff", "qsendrecsigs", "qfcommit", "qcontrib", "qcomplaint",
    "qjustify", "qpcommit", "qwatch", "qsigsesann", "qsigsinv", "qgetsigs",
    "qbsigs", "qsigshare", "qsigrec", "qgetdata", "qdata", "clsig", "isdlock",
    "mnauth", "getheaders2", "sendheaders2", "headers2", "getqrinfo", "qrinfo",
    "platformban",
]  # fmt: skip

NET_MSG_TYPES = BITCOIN_DERIVED + DASH


def test_list_has_no_duplicates():
    assert len(set(NET_MSG_TYPES)) == len(NET_MSG_TYPES) == 74


@pytest.mark.parametrize("command", NET_MSG_TYPES)
def test_command_is_known(command):
    assert command in known_commands()


SEQUENCES = (Struct, FocusedSeq, Sequence)


def innermost_struct(construct):
    """Unwrap adapters and wrappers (Identified, Renamed, ...) to the Struct."""
    seen = 0
    while not isinstance(construct, SEQUENCES) and hasattr(construct, "subcon") and seen < 20:
        construct, seen = construct.subcon, seen + 1
    return construct


@pytest.mark.parametrize("command", sorted(known_commands()))
def test_definition_ends_with_terminated(command):
    struct = innermost_struct(definition(command))
    assert isinstance(struct, SEQUENCES), f"{command}: {struct!r} is not a Struct"
    assert struct.subcons, f"{command}: empty definition"
    assert struct.subcons[-1] is Terminated, f"{command} does not end with Terminated"
