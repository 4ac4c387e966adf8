"""The shared machinery: Struct parsing into dicts, Named, element indexes in
error paths, the sliced vectors against their declarative layouts, and
build() errors for dicts of the wrong shape.
"""

from __future__ import annotations

import pytest
from construct import ConstructError, Int8ub, Int16ul, StreamError, Terminated
from hypothesis import given, settings
from hypothesis import strategies as st

from p2pcap.decoders import DecodeError, build, decode
from p2pcap.decoders.inventory import INV_TYPE_NAMES, MAX_INV_SZ, Inv, InvVector
from p2pcap.decoders.primitives import Hash256, OutPoint
from p2pcap.decoders.structs import Named, Struct
from p2pcap.decoders.vectors import HashArray, OutPointArray, SlicedArray, VarArray

H1 = bytes(range(32))  # wire order 00..1f; shown reversed
H1_SHOWN = H1[::-1].hex()

PAIR = Struct(
    "n" / Int8ub,
    "n_name" / Named({1: "ONE"}, "n"),
    # min_size 1 (not the true 3) so a cut gets past the bytes-left check
    "items" / VarArray(Struct("a" / Int8ub, "b" / Int16ul), min_size=1),
    Terminated,
)


def test_struct_parses_to_a_plain_dict_in_wire_order():
    obj = PAIR.parse(bytes.fromhex("01020a01000b0200"))
    assert type(obj) is dict and type(obj["items"]) is list and type(obj["items"][0]) is dict
    assert list(obj) == ["n", "n_name", "items"]
    assert obj == {"n": 1, "n_name": "ONE", "items": [{"a": 10, "b": 1}, {"a": 11, "b": 2}]}


def test_named_gives_none_for_unknown_numbers():
    assert PAIR.parse(bytes.fromhex("0700"))["n_name"] is None


def test_element_index_in_the_error_path():
    # the second element's ``b`` is cut short
    with pytest.raises(StreamError) as info:
        PAIR.parse(bytes.fromhex("01020a01000b02"))
    assert info.value.path == "(parsing) -> items -> [1] -> b"
    assert str(info.value).startswith("Error in path (parsing) -> items -> [1] -> b\n")


def test_nested_indexes():
    outer = Struct("rows" / VarArray(Struct("cells" / VarArray(Int16ul, min_size=2)), min_size=1))
    with pytest.raises(ConstructError) as info:
        # row 0: one cell; row 1: count 2 but the bytes-left check fails
        outer.parse(bytes.fromhex("0201010002010000"))
    assert info.value.path == "(parsing) -> rows -> [1] -> cells"


def test_index_in_build_errors():
    with pytest.raises(ConstructError) as info:
        PAIR.build({"n": 1, "items": [{"a": 1, "b": 2}, {"a": 1}]})
    assert info.value.path == "(building) -> items -> [1] -> b"


# --- the sliced vectors give what their layouts give ------------------------

inv_entries = st.lists(
    st.fixed_dictionaries(
        {"type": st.integers(0, 2**32 - 1), "hash": st.binary(min_size=32, max_size=32).map(bytes.hex)}
    ),
    max_size=40,
)
outpoints = st.lists(
    st.fixed_dictionaries(
        {"hash": st.binary(min_size=32, max_size=32).map(bytes.hex), "n": st.integers(0, 2**32 - 1)}
    ),
    max_size=20,
)
hashes = st.lists(st.binary(min_size=32, max_size=32).map(bytes.hex), max_size=20)


@settings(max_examples=100, deadline=None)
@given(items=inv_entries, sliced=st.sampled_from([(InvVector, Inv)]))
def test_inv_vector_agrees_with_the_layout(items, sliced):
    fast, element = sliced
    layout = VarArray(element, min_size=36)
    raw = layout.build(items)
    assert fast.parse(raw) == layout.parse(raw)
    assert fast.build(fast.parse(raw)) == raw
    for got in fast.parse(raw):
        assert got["type_name"] == INV_TYPE_NAMES.get(got["type"])


@settings(max_examples=100, deadline=None)
@given(items=outpoints)
def test_outpoint_array_agrees_with_the_layout(items):
    layout = VarArray(OutPoint, min_size=36)
    raw = layout.build(items)
    assert OutPointArray.parse(raw) == layout.parse(raw) == items
    assert OutPointArray.build(items) == raw


@settings(max_examples=100, deadline=None)
@given(items=hashes)
def test_hash_array_agrees_with_the_layout(items):
    layout = VarArray(Hash256, min_size=32)
    raw = layout.build(items)
    assert HashArray().parse(raw) == layout.parse(raw) == items
    assert HashArray().build(items) == raw


@pytest.mark.parametrize(
    "raw, error",
    [
        ("02" + "01000000" + H1.hex(), "count 2 needs at least 72 bytes, 36 left"),
        ("fd0100" + "01000000" + H1.hex(), "non-canonical CompactSize 1"),
        ("ff0000000001000000", "count 4294967296 is above MAX_INV_SZ"),
    ],
)
def test_sliced_vector_checks_like_vararray(raw, error):
    for con in (InvVector, VarArray(Inv, min_size=36, max_count=MAX_INV_SZ)):
        with pytest.raises(ConstructError, match=error):
            con.parse(bytes.fromhex(raw))


def test_sliced_array_make_sees_every_row():
    doubled = SlicedArray(Int8ub, "B", lambda rows: [b * 2 for (b,) in rows])
    assert doubled.parse(bytes.fromhex("0301027f")) == [2, 4, 254]


# --- build() errors name the command and the field --------------------------


@pytest.mark.parametrize(
    "command, obj, reason, path",
    [
        ("inv", {}, "cannot build: missing field 'inv'", "(building) -> inv"),
        ("inv", {"inv": 5}, "cannot build: expected a list, got int", "(building) -> inv"),
        (
            "inv",
            {"inv": [{"type": 1}]},
            "cannot build: missing field 'hash'",
            "(building) -> inv -> [0] -> hash",
        ),
        (
            "inv",
            {"inv": [{"type": 1, "hash": H1_SHOWN}, 7]},
            "cannot build: expected a dict, got int",
            "(building) -> inv -> [1]",
        ),
        ("ping", None, "cannot build: missing field 'nonce'", "(building) -> nonce"),
        ("clsig", [], "cannot build: expected a dict, got list", "(building)"),
        ("tx", {"version": 2}, "cannot build: missing field 'type'", "(building) -> tx -> type"),
        (
            "qfcommit",
            {"commitment": {"version": 1}},
            "cannot build: missing field 'llmq_type'",
            "(building) -> commitment -> llmq_type",
        ),
        (
            "headers2",
            {"headers": [{}]},
            "cannot build: missing field 'bit_field'",
            "(building) -> headers -> [0] -> bit_field",
        ),
        ("nosuchcmd", {"unknown": True, "raw": 5}, "cannot build: raw is not hex", "raw"),
    ],
)
def test_build_of_a_wrong_dict_raises_decode_error(command, obj, reason, path):
    with pytest.raises(DecodeError) as info:
        build(command, obj)
    assert info.value.command == command
    assert info.value.reason == reason
    assert info.value.path == path


def test_build_error_keeps_a_builtin_error_text():
    # a mistyped value deep in a field: the Struct around it names the field
    obj = decode(
        "dsq",
        build(
            "dsq",
            {
                "denom": 1,
                "protx_hash": "00" * 32,
                "masternode_outpoint": None,
                "time": 0,
                "ready": 0,
                "sig": "",
            },
        ),
    )
    obj["time"] = "soon"
    with pytest.raises(DecodeError) as info:
        build("dsq", obj)
    assert info.value.path == "(building) -> time"
