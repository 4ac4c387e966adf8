"""decode_partial: payloads cut by a snap length (captured_len < msg_size)
decode as far as their bytes go and are marked partial.

Payloads are assembled by hand; the generic property runs every cut of
every known-good vector of the other test modules.
"""

from __future__ import annotations

import pytest

from p2pcap.decoders import DecodeError, decode, definition, known_commands
from p2pcap.decoders.decode import _fields_of, decode_partial
from p2pcap.decoders.primitives import Trailing

from . import tables

H1 = bytes(range(32)).hex()  # wire order
H2 = bytes(range(32, 64)).hex()

INV3 = (
    "03"  # inv: 3 entries, 108 bytes
    + "01000000"
    + H1  # [0] MSG_TX
    + "02000000"
    + H2  # [1] MSG_BLOCK
    + "1d000000"
    + H1  # [2] MSG_CLSIG
)

HEADER = (
    "00000020"  # version 0x20000000
    + H1  # prev_block
    + H2  # merkle_root
    + "00f15365"  # time
    + "a5b62419"  # bits
    + "07000000"  # nonce
)

TX = (
    "02000000"  # version 2, type 0
    "02" + H1 + "00000000" + "02"  # vin: 2
    "5151"
    + "ffffffff"  # [0]: prevout, 2-byte scriptSig, sequence
    + H2
    + "01000000"
    + "01"
    "51"
    + "feffffff"  # [1]
    + "01"  # vout: 1
    + "00e1f50500000000"
    + "01"
    "51"  # 1 DASH, OP_TRUE
     + "00000000"  # lock_time
)


def cut(payload_hex: str, n: int) -> bytes:
    return bytes.fromhex(payload_hex)[:n]


def test_inv_keeps_the_whole_entries():
    result = decode_partial("inv", cut(INV3, 1 + 36 + 36 + 10))
    assert result["partial"] is True
    assert result["inv"] == decode("inv", bytes.fromhex("02" + INV3[2 : 2 + 144]))["inv"]
    assert result["error"] == "inv: count 3 needs at least 108 bytes, 82 left in (parsing) -> inv at offset 1"


def test_block_keeps_header_and_whole_transactions():
    block = HEADER + "03" + TX * 3
    result = decode_partial("block", cut(block, 80 + 1 + 2 * len(TX) // 2 + 50))
    whole = decode("block", bytes.fromhex(HEADER + "02" + TX * 2))
    assert result["header"] == whole["header"]  # with its X11 hash: the header is complete
    assert result["vtx"] == whole["vtx"]  # two transactions, each with its txid
    assert "(parsing) -> vtx" in result["error"]


def test_headers_keep_the_whole_entries():
    entries = HEADER + "00"  # an 80-byte header + tx count 0
    result = decode_partial("headers", cut("03" + entries * 3, 1 + 81 * 2 + 40))
    assert result["headers"] == decode("headers", bytes.fromhex("02" + entries * 2))["headers"]


def test_tx_cut_in_its_second_input():
    result = decode_partial("tx", cut(TX, 4 + 1 + 41 + 20))
    assert result["version"] == 2 and result["type"] == 0
    assert result["vin"] == decode("tx", bytes.fromhex(TX))["vin"][:1]
    assert "vout" not in result and "txid" not in result  # a txid needs every byte
    assert "(parsing) -> vin" in result["error"]


def test_cut_between_fields_stops_there():
    clsig = "e8030000" + H1 + "11" * 96  # height 1000, block hash, signature
    result = decode_partial("clsig", cut(clsig, 4))
    assert result == {
        "height": 1000,
        "partial": True,
        "error": "clsig: the captured bytes end here in (parsing) -> block_hash at offset 4",
    }


def test_nothing_captured():
    result = decode_partial("ping", b"")
    assert result == {
        "partial": True,
        "error": "ping: the captured bytes end here in (parsing) -> nonce at offset 0",
    }


def test_fields_read_only_if_bytes_remain_are_not_guessed():
    # version: Core reads addr_from, nonce, ... only "if (!vRecv.empty())";
    # a cut right after addr_to must not show them as absent (None)
    version = (
        "5e120100"  # version 70238
        + "0500000000000000"  # services
        + "0000000000000000"  # time
        + "0000000000000000"
        + "00000000000000000000ffff7f000001"
        + "270f"  # addr_to
        + "0000000000000000"
        + "00" * 16
        + "0000"  # addr_from ...
    )
    result = decode_partial("version", cut(version, 4 + 8 + 8 + 26))
    assert "addr_from" not in result and "nonce" not in result
    assert result["error"] == "version: the captured bytes end here in (parsing) -> addr_from at offset 46"
    # qdata: the request's last byte (nError) is read only if there is one,
    # so a request that ends at the cut is left out: nError may follow
    request = "04" + H1 + "0100" + H2  # llmq 4, quorum hash, data mask 1, proTxHash
    result = decode_partial("qdata", bytes.fromhex(request))
    assert "request" not in result
    assert (
        result["error"]
        == "qdata: the captured bytes end in an optional part in (parsing) -> request at offset 67"
    )


def test_bookkeeping_keys_never_hide_a_field():
    # "partial" and "error" sit next to the message's own fields; only
    # qgetdata has an ``error`` field, read only if bytes remain, and a
    # partial result stops before such a field
    for command in sorted(known_commands()):
        names = {name: sc for name, sc, _ in _fields_of(definition(command))[0]._fields}
        assert "partial" not in names, command
        if "error" in names:
            assert command == "qgetdata" and isinstance(names["error"], Trailing)


def test_malformed_before_the_cut_is_still_an_error():
    # fd 0100 is a non-canonical count: the bytes that are there are wrong
    with pytest.raises(DecodeError, match="non-canonical CompactSize 1"):
        decode_partial("inv", bytes.fromhex("fd0100" + "01000000"))


def test_unknown_command():
    assert decode_partial("nosuchcmd", b"\x01") == {
        "unknown": True,
        "raw": "01",
        "partial": True,
        "error": None,
    }


def test_definition_without_fields_is_all_or_nothing(monkeypatch):
    import importlib

    import construct

    decode_module = importlib.import_module(
        "p2pcap.decoders.decode"
    )  # the package's ``decode`` is the function
    decode("ping", bytes(8))  # load the registry before patching it
    # construct's own Struct: not ours, so not read field by field
    monkeypatch.setitem(decode_module._MESSAGES, "twobytes", construct.Struct("a" / construct.Int16ul))
    assert decode_partial("twobytes", b"\x07\x00") == {"a": 7, "partial": True, "error": None}
    assert decode_partial("twobytes", b"\x07")["error"].startswith("twobytes: stream read less")


# --- every cut of every known-good vector ------------------------------------


GOOD = tables.VECTORS  # every registered module's VECTORS, as bytes


def assert_agrees(partial: dict, whole: dict):
    """Every field of the partial result is the full decode's, or a list's prefix."""
    for key, value in partial.items():
        if key in ("partial", "error"):
            continue
        assert key in whole, key
        if isinstance(value, list) and value != whole[key]:
            assert value == whole[key][: len(value)], key
        else:
            assert value == whole[key], key


@pytest.mark.parametrize("command, payload", GOOD, ids=[f"{c}-{i}" for i, (c, _) in enumerate(GOOD)])
def test_every_cut_of_a_good_payload(command, payload):
    whole = decode(command, payload)
    step = max(1, len(payload) // 300)
    for n in range(0, len(payload), step):
        result = decode_partial(command, payload[:n])  # never raises: the bytes are good
        assert result["partial"] is True
        assert result["error"] is None or result["error"].startswith(f"{command}: ")
        assert_agrees(result, whole)
