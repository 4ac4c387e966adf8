"""Decoding one captured message, whole or cut by a snap length.

The version to decode with comes from the pipeline (``filters.Selection``,
``negotiation.VersionTracker``): the one the peer-session negotiated, or for
a capture that begins mid-session an assumed one (``show --protocol-version``).
"""

from __future__ import annotations

import functools

import orjson

from p2pcap.decoders import DecodeError, decode, decode_partial
from p2pcap.formats.accelerators import general_only, payloadjson
from p2pcap.formats.records import Message


def decode_record(msg: Message, version: int, network: str | None = None) -> tuple[dict | None, str | None]:
    """(decoded, error) for one message; never raises for bad payloads.

    A payload cut by a snap length decodes as far as its kept bytes go, and
    the error says how much was kept, so a partial result is never taken
    for a whole one.  ``network`` (the capture's) picks the address prefixes.
    """
    if msg.partial:
        note = f"partial payload: {msg.captured_len} of {msg.msg_size} bytes captured"
        try:
            return decode_partial(msg.command, msg.payload, version=version, network=network), note
        except DecodeError as exc:
            return None, f"{note}; {exc}"
    try:
        return decode(msg.command, msg.payload, version=version, network=network), None
    except DecodeError as exc:
        return None, str(exc)


def payload_writers(network: str | None) -> tuple[dict, int | None]:
    """({command: ``write(payload, version)``}, the version ``decode`` assumes
    when none is known): the C writer of each command's decoded JSON (str,
    or None: decode it), for the commands formats/_payloadjson.c writes;
    none when it is not built or set aside, or for a network ``decode``
    does not know.  The tables the writers name things from are the
    decoders' own.  Made once per network (a capture of several processes
    asks for each of theirs, record after record)."""
    return _payload_writers(network, general_only())


@functools.lru_cache(maxsize=8)
def _payload_writers(network, general: bool) -> tuple[dict, int | None]:
    module = None if general else payloadjson()
    if module is None:
        return {}, None
    from p2pcap.decoders.inventory import INV_TYPE_NAMES
    from p2pcap.decoders.llmq_types import LLMQ_TYPE_NAMES
    from p2pcap.decoders.primitives import MAX_SIZE
    from p2pcap.decoders.script import ASM_WORDS, NETWORKS, SIGHASH_NAMES, network_prefixes
    from p2pcap.decoders.versions import (
        COINJOIN_PROTX_HASH_PROTO_VERSION,
        ISDLOCK_PROTO_VERSION,
        PROTOCOL_VERSION,
    )

    if network is not None and network not in NETWORKS:
        return {}, None

    def names(table, count):
        return tuple(orjson.dumps(table.get(number)).decode() for number in range(count))

    inventory = functools.partial(
        module.inventory_json, names(INV_TYPE_NAMES, max(INV_TYPE_NAMES) + 1), MAX_SIZE
    )
    llmq_names = names(LLMQ_TYPE_NAMES, 256)
    writers = {
        "inv": inventory,
        "getdata": inventory,
        "notfound": inventory,
        "tx": functools.partial(
            module.tx_json,
            *network_prefixes(network),
            ASM_WORDS,
            tuple(SIGHASH_NAMES.get(b) for b in range(256)),
        ),
        "ping": module.nonce_json,
        "pong": module.nonce_json,
        "clsig": module.clsig_json,
        "isdlock": functools.partial(module.isdlock_json, ISDLOCK_PROTO_VERSION),
        "qsigshare": functools.partial(module.qsigshare_json, llmq_names),
        "qsigsesann": functools.partial(module.qsigsesann_json, llmq_names),
        "dsq": functools.partial(module.dsq_json, COINJOIN_PROTX_HASH_PROTO_VERSION),
    }
    return writers, PROTOCOL_VERSION
