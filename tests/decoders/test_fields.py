"""The field catalogue (decoders/fields.py) against what decode() really gives.

Every path of every decoded test vector (tables.py: each module's payloads
and the connection versions they are decoded at) must be in the catalogue
under its command, with a kind its value has, at a protocol version the
field claims; and what ``--where`` can reach in a real message, it must
find.  Version bounds are checked against the constants they come from.
"""

from __future__ import annotations

import pytest

from p2pcap.analysis.filters import _lookup
from p2pcap.decoders import decode, versions
from p2pcap.decoders.fields import KINDS, Catalogue, catalogue
from p2pcap.decoders.inventory import INV_TYPE_NAMES
from p2pcap.decoders.llmq_types import LLMQ_TYPE_NAMES
from p2pcap.decoders.registry import MESSAGES
from p2pcap.decoders.sporks import SPORK_NAMES

from .tables import CASES, VECTORS

# (command, payload, version) of every known-good payload.
DECODED = [(c.command, bytes.fromhex(c.payload), c.version) for c in CASES] + [
    (command, payload, None) for command, payload in VECTORS
]


def paths(value, parts=()):
    """(path parts, value) of every key in a decoded dict, lists passed through."""
    if isinstance(value, dict):
        for key, inner in value.items():
            yield (*parts, key), inner
            yield from paths(inner, (*parts, key))
    elif isinstance(value, list):
        for item in value:
            yield from paths(item, parts)


def has_kind(value, kind: str, item: str | None) -> bool:
    if kind == "list":
        return isinstance(value, list) and all(has_kind(v, item, None) for v in value if v is not None)
    return {
        "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "enum": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "bool": lambda v: isinstance(v, bool),
        "hex": lambda v: isinstance(v, str) and not v.strip("0123456789abcdef") and len(v) % 2 == 0,
        "bits": lambda v: isinstance(v, str) and not v.strip("01"),
        "text": lambda v: isinstance(v, str),
        "struct": lambda v: isinstance(v, dict),
        "any": lambda v: True,
    }[kind](value)


def in_versions(version: int, ranges) -> bool:
    return any((lo is None or lo <= version) and (hi is None or version <= hi) for lo, hi in ranges)


@pytest.fixture(scope="module")
def decoded():
    out = []
    for command, payload, version in DECODED:
        out.append((command, version or versions.PROTOCOL_VERSION, decode(command, payload, version=version)))
    return out


def test_every_construct_of_the_registry_is_known():
    # A fresh catalogue: its walker names every construct class (and Computed
    # helper) it had to call ``any``.
    fresh = Catalogue(MESSAGES)
    assert fresh.unknown == frozenset()
    assert fresh.commands == tuple(MESSAGES)
    assert {f.kind for f in fresh.fields()} <= set(KINDS) - {"any"}


def test_every_command_has_vectors(decoded):
    # The check below is only as wide as the vectors.
    assert {command for command, _, _ in decoded} == set(MESSAGES)


def test_every_decoded_path_is_catalogued_with_its_kind_and_version(decoded):
    seen = 0
    for command, version, obj in decoded:
        by_path = {f.path: f for f in catalogue().fields(command)}
        for parts, value in paths(obj):
            path = ".".join(parts)
            field = by_path.get(path)
            assert field is not None, f"{command}: {path} not in the catalogue"
            assert field.command in (command, None)
            if value is None:
                assert field.optional, f"{command}: {path} is None but not optional"
                continue
            assert has_kind(value, field.kind, field.item), f"{command}: {path}={value!r} is no {field.kind}"
            assert in_versions(version, field.versions), f"{command}: {path} at {version}"
            seen += 1
    assert seen > 5000


def test_enum_names_are_the_decoders_tables(decoded):
    for command, _, obj in decoded:
        for parts, value in paths(obj):
            field = catalogue().lookup(".".join(parts), [command])[0]
            if field.kind == "enum" and isinstance(value, int):
                label = (*parts[:-1], field.label)
                (name_field,) = catalogue().lookup(".".join(label), [command])
                assert name_field.names is field.names and name_field.kind == "text"
    assert catalogue().field("inv.type").names is INV_TYPE_NAMES
    assert catalogue().field("qsigshare.llmq_type").names is LLMQ_TYPE_NAMES
    assert catalogue().field("spork.spork_id").names is SPORK_NAMES
    assert catalogue().field("spork.spork_name").names is SPORK_NAMES


def test_what_where_reaches_in_a_real_message_is_found(decoded):
    """The filters' own lookup (filters._lookup) on real messages: every path
    that reaches a value, read from the top or from any nested object,
    must be known to the catalogue, and its value accepted."""
    for command, _, obj in decoded:
        for parts, _value in paths(obj):
            for start in range(len(parts)):
                suffix = parts[start:]
                reached = _lookup(obj, suffix)
                if not reached:
                    continue  # a top-level key of the same name shadows it, as in Where
                fields = catalogue().lookup(".".join(suffix), [command])
                assert fields, f"{command}: {'.'.join(suffix)} reaches {reached[:1]} but is unknown"
                for got in reached:
                    if isinstance(got, (dict, list)):
                        continue
                    text = str(got).lower() if isinstance(got, bool) else str(got)
                    assert any(f.accepts(text) for f in fields), f"{command}: {'.'.join(suffix)}={text}"


def test_the_named_fields_of_the_brief():
    inv = catalogue().field("inv.type")
    assert (inv.command, inv.path, inv.kind, inv.repeated) == ("inv", "inv.type", "enum", True)
    prevout = catalogue().field("tx.vin.prevout.hash")
    assert (prevout.command, prevout.path, prevout.kind) == ("tx", "vin.prevout.hash", "hex")
    share = catalogue().field("qsigshare.quorum_hash")
    assert (share.command, share.path, share.kind) == ("qsigshare", "sig_shares.quorum_hash", "hex")
    assert catalogue().field("getdata.hash").path == "inv.hash"
    assert catalogue().field("clsig.block_hash").path == "block_hash"  # not one vector: nothing left out
    assert catalogue().field("locator") is None


@pytest.mark.parametrize(
    "name, since, until",
    [
        ("dsq.protx_hash", versions.COINJOIN_PROTX_HASH_PROTO_VERSION, None),
        ("dsq.masternode_outpoint", None, versions.COINJOIN_PROTX_HASH_PROTO_VERSION - 1),
        ("dstx.masternode_outpoint.n", None, versions.COINJOIN_PROTX_HASH_PROTO_VERSION - 1),
        ("isdlock.cycle_hash", versions.ISDLOCK_PROTO_VERSION, None),
        ("govsync.filter.tweak", versions.GOVERNANCE_FILTER_PROTO_VERSION, None),
        ("dssu.entries_count", None, versions.COINJOIN_SU_PROTO_VERSION),
        ("mnlistdiff.quorums_cl_sigs.signature", versions.MNLISTDIFF_CHAINLOCKS_PROTO_VERSION, None),
        ("mnlistdiff.mn_list.type", versions.DMN_TYPE_PROTO_VERSION, None),
        ("mnlistdiff.version", versions.BLS_SCHEME_PROTO_VERSION, None),
        ("inv.hash", None, None),
    ],
)
def test_version_bounds_follow_the_definitions(name, since, until):
    assert catalogue().field(name).versions == ((since, until),)


def test_lookup_reads_paths_as_where_does():
    table = catalogue()
    assert {f.command for f in table.lookup("inv.type")} == {"inv", "getdata", "notfound"}
    # not top-level: looked for at any depth (every transaction's inputs)
    assert {"tx", "block", "dstx", "cmpctblock", "mnlistdiff"} <= {
        f.command for f in table.lookup("prevout.hash")
    }
    assert [f.path for f in table.lookup("vin.0.prevout.hash", ["tx"])] == ["vin.prevout.hash"]
    assert [f.path for f in table.lookup("vin.0", ["tx"])] == ["vin"]
    # a top-level key is read from the top only: tx's own version, not its payload's
    assert [f.path for f in table.lookup("version", ["tx"])] == ["version"]
    assert table.lookup("inv.typ") == [] and table.lookup("inv.0.0") == []
    assert [f.path for f in table.lookup("partial")] == ["partial"]  # decode_partial's own key
    assert "type" in table.children("inv") and "prevout" in table.children("vin", ["tx"])


def test_values_are_checked_by_kind():
    table = catalogue()
    assert table.field("inv.hash").accepts("AB12*") and not table.field("inv.hash").accepts("xyz")
    assert table.field("ping.nonce").accepts("0x10") and not table.field("ping.nonce").accepts("ten")
    assert table.field("qsigsinv.inv.is_var_ints").accepts("true")
    assert table.field("qcomplaint.bad_members").accepts("0101") and not table.field(
        "qcomplaint.bad_members"
    ).accepts("2")
    assert table.field("inv.type_name").accepts("msg_tx") and not table.field("inv.type_name").accepts("tx")
    assert table.field("version.sub_ver").accepts("/anything at all/")
    assert table.field("version.nonce").accepts("null")  # a missing value
    assert table.field("getheaders.locator.have").accepts("00ff")  # a list: its elements
