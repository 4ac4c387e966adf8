"""CoinJoin messages, from payloads assembled by hand.

Layouts: dashpay/dash src/coinjoin/coinjoin.h (the pre-70224 ``dssu`` and
pre-70226 ``dsq``/``dstx`` forms as dashj reads them).  Transactions inside
are only checked for what these messages rely on (txid, inputs, outputs);
test_transaction covers their full form.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from p2pcap.decoders import DecodeError, build, decode

from .vectors import VERSIONED, Table, decode_error, sha256d_shown, shown, without_derived

PREV = bytes(range(32)).hex()
PREV2 = bytes(range(0x20, 0x40)).hex()
PROTX = bytes(range(0x40, 0x60)).hex()
MN_TXID = bytes(range(0x60, 0x80)).hex()
PKH = "89" * 20
BLS_SIG = "a9" + "17" * 94 + "5e"  # 96 bytes, kept opaque

TXIN = (
    PREV  # prevout.hash
    + "02000000"  # prevout.n: 2
    + "025151"  # script_sig: CompactSize 2, OP_1 OP_1
    + "feffffff"  # sequence
)
TXIN_DECODED = {"prevout": {"hash": shown(PREV), "n": 2}, "script_sig": "5151", "sequence": 0xFFFFFFFE}
TXOUT = (
    "1027000000000000"  # value: i64 10000 duffs
    + "1976a914"
    + PKH
    + "88ac"  # script_pub_key: CompactSize 25, P2PKH
)
TXOUT_DECODED = {"value": 10000, "script_pub_key": "76a914" + PKH + "88ac"}
TX = (
    "0100"  # version: i16 1
    + "0000"  # type: u16 0 (normal)
    + "01"
    + TXIN  # vin: CompactSize 1, one input
    + "01"
    + TXOUT  # vout: CompactSize 1, one output
    + "00000000"  # lock_time: 0
)


class Partial(dict):
    """Expected keys of a nested transaction; others are not checked here."""


TX_DECODED = Partial(txid=sha256d_shown(TX), vin=[TXIN_DECODED], vout=[TXOUT_DECODED], lock_time=0)

DSQ = (
    "04000000"  # denom: i32 4 (0.100001 DASH)
    + PROTX  # protx_hash
    + "00e1f50500000000"  # time: i64 100000000
    + "01"  # ready: true
    + "60"
    + BLS_SIG  # sig: CompactSize 96, 96 bytes
)
DSQ_OLD = (
    "10000000"  # denom: i32 16 (0.00100001 DASH)
    + MN_TXID  # masternode_outpoint.hash
    + "01000000"  # masternode_outpoint.n: 1
    + "00e1f50500000000"  # time: i64 100000000
    + "00"  # ready: false
    + "60"
    + BLS_SIG  # sig: CompactSize 96, 96 bytes
)
DSTX = (
    TX  # tx
    + PROTX  # protx_hash
    + "60"
    + BLS_SIG  # sig: CompactSize 96, 96 bytes
    + "ffe1f50500000000"  # sig_time: i64 100000255
)
DSTX_OLD = (
    TX  # tx
    + MN_TXID  # masternode_outpoint.hash
    + "00000000"  # masternode_outpoint.n: 0
    + "00"  # sig: empty
    + "0000000000000000"  # sig_time: 0
)
DSSU = (
    "39300000"  # session_id: i32 12345
    + "02000000"  # state: i32 2 ACCEPTING_ENTRIES
    + "01000000"  # status_update: i32 1 ACCEPTED
    + "15000000"  # message_id: i32 21 MSG_ENTRIES_ADDED
)
DSSU_OLD = (
    "39300000"  # session_id: i32 12345
    + "04000000"  # state: i32 4 ERROR
    + "03000000"  # entries_count: i32 3 (deprecated)
    + "00000000"  # status_update: i32 0 REJECTED
    + "10000000"  # message_id: i32 16 ERR_SESSION
)

# (command, connection version or None for the newest, payload, expected)
CASES = [
    ("senddsq", None, "01", {"send_ds_queue": 1}),  # bool true
    ("senddsq", None, "00", {"send_ds_queue": 0}),  # bool false
    (
        "dsa",
        None,
        "08000000" + TX,  # denom: i32 8, then tx_collateral
        {"denom": 8, "tx_collateral": TX_DECODED},
    ),
    (
        "dsi",
        None,
        "02"  # tx_ds_in: CompactSize 2
        + TXIN  # tx_ds_in[0]
        + PREV2  # tx_ds_in[1].prevout.hash
        + "00000000"  # tx_ds_in[1].prevout.n: 0
        + "00"  # tx_ds_in[1].script_sig: empty, unsigned
        + "ffffffff"  # tx_ds_in[1].sequence
        + TX  # tx_collateral
        + "01"
        + TXOUT,  # tx_out: CompactSize 1, one output
        {
            "tx_ds_in": [
                TXIN_DECODED,
                {"prevout": {"hash": shown(PREV2), "n": 0}, "script_sig": "", "sequence": 0xFFFFFFFF},
            ],
            "tx_collateral": TX_DECODED,
            "tx_out": [TXOUT_DECODED],
        },
    ),
    (
        "dsf",
        None,
        "39300000" + TX,  # session_id: i32 12345, then tx_final
        {"session_id": 12345, "tx_final": TX_DECODED},
    ),
    (
        "dss",
        None,
        "01" + TXIN,  # tx_in: CompactSize 1, one signed input
        {"tx_in": [TXIN_DECODED]},
    ),
    (
        "dsc",
        None,
        "39300000"  # session_id: i32 12345
        "14000000",  # message_id: i32 20 MSG_SUCCESS
        {"session_id": 12345, "message_id": 20, "message_name": "MSG_SUCCESS"},
    ),
    (
        "dsc",
        None,
        "00000000"  # session_id: 0
        "63000000",  # message_id: i32 99, unknown
        {"session_id": 0, "message_id": 99, "message_name": None},
    ),
]
DSSU_NEW = {
    "session_id": 12345,
    "state": 2,
    "state_name": "ACCEPTING_ENTRIES",
    "entries_count": None,
    "status_update": 1,
    "status_update_name": "ACCEPTED",
    "message_id": 21,
    "message_name": "MSG_ENTRIES_ADDED",
}
DSSU_OLD_DECODED = {
    "session_id": 12345,
    "state": 4,
    "state_name": "ERROR",
    "entries_count": 3,
    "status_update": 0,
    "status_update_name": "REJECTED",
    "message_id": 16,
    "message_name": "ERR_SESSION",
}
DSTX_NEW = {
    "tx": TX_DECODED,
    "protx_hash": shown(PROTX),
    "masternode_outpoint": None,
    "sig": BLS_SIG,
    "sig_time": 100000255,
}
DSTX_OLD_DECODED = {
    "tx": TX_DECODED,
    "protx_hash": None,
    "masternode_outpoint": {"hash": shown(MN_TXID), "n": 0},
    "sig": "",
    "sig_time": 0,
}
DSQ_NEW = {
    "denom": 4,
    "protx_hash": shown(PROTX),
    "masternode_outpoint": None,
    "time": 100000000,
    "ready": 1,
    "sig": BLS_SIG,
    "hash": sha256d_shown(DSQ),
}
DSQ_OLD_DECODED = {
    "denom": 16,
    "protx_hash": None,
    "masternode_outpoint": {"hash": shown(MN_TXID), "n": 1},
    "time": 100000000,
    "ready": 0,
    "sig": BLS_SIG,
    "hash": sha256d_shown(DSQ_OLD),
}
# version-dependent layouts, each on both sides of its boundary
CASES += [
    ("dssu", None, DSSU, DSSU_NEW),
    ("dssu", 70225, DSSU, DSSU_NEW),
    ("dssu", 70224, DSSU_OLD, DSSU_OLD_DECODED),  # "version <= 70224" kept it
    ("dssu", 70216, DSSU_OLD, DSSU_OLD_DECODED),
    ("dstx", None, DSTX, DSTX_NEW),
    ("dstx", 70226, DSTX, DSTX_NEW),
    ("dstx", 70225, DSTX_OLD, DSTX_OLD_DECODED),
    ("dsq", None, DSQ, DSQ_NEW),
    ("dsq", 70226, DSQ, DSQ_NEW),
    ("dsq", 70225, DSQ_OLD, DSQ_OLD_DECODED),
]

VECTORS = [(command, payload) for command, version, payload, _ in CASES if version is None]


def _match(actual, expected):
    if isinstance(expected, Partial):
        assert {k: actual[k] for k in expected} == dict(expected)
    elif isinstance(expected, dict):
        assert set(actual) == set(expected)
        for key, value in expected.items():
            _match(actual[key], value)
    else:
        assert actual == expected


# driven by test_tables.py: the wire fields compared, nested transactions as Partial
TABLE = Table(
    CASES,
    fields=VERSIONED,
    view=lambda command, decoded: without_derived(decoded),
    match=lambda expected, actual: _match(actual, expected),
)


def test_fixed_sizes():
    assert len(DSQ) // 2 == 142
    assert len(DSQ_OLD) // 2 == 146
    assert (len(DSSU) // 2, len(DSSU_OLD) // 2) == (16, 20)


@pytest.mark.parametrize(
    "command, payload, version",
    [
        ("dssu", DSSU_OLD, None),  # 4 bytes too many for the new form
        ("dssu", DSSU, 70224),  # 4 bytes too few for the old form
        ("dsq", DSQ_OLD, None),
        ("dsq", DSQ, 70225),
        ("dstx", DSTX_OLD, None),
    ],
)
def test_wrong_version_layout_fails(command, payload, version):
    with pytest.raises(DecodeError):
        decode(command, bytes.fromhex(payload), version=version)


# offset: where reading stopped
@pytest.mark.parametrize(
    "command, payload, path, offset",
    [
        # 2^32-1 inputs claimed: refused before allocating anything
        ("dss", "feffffffff" + TXIN, "(parsing) -> tx_in", 5),
        # 5 outputs claimed after the 87-byte tx, room for one: refused at the count
        ("dsi", "01" + TXIN + TX + "05" + TXOUT, "(parsing) -> tx_out", 1 + 43 + 87 + 1),
        ("dsa", "08000000" + TX[:-8], "(parsing) -> tx_collateral -> lock_time", 4 + 83),
        # 96 signature bytes claimed, 95 left: refused at the count
        ("dsq", DSQ[:-2], "(parsing) -> sig", 46),
        ("dsc", "39300000", "(parsing) -> message_id", 4),
    ],
)
def test_errors(command, payload, path, offset):
    error = decode_error(command, payload)
    assert (error.path, error.offset) == (path, offset)


i32 = st.integers(-(2**31), 2**31 - 1)
i64 = st.integers(-(2**63), 2**63 - 1)
hash256 = st.binary(min_size=32, max_size=32).map(bytes.hex)
blob = st.binary(max_size=120).map(bytes.hex)
outpoint = st.fixed_dictionaries({"hash": hash256, "n": st.integers(0, 2**32 - 1)})
txin = st.fixed_dictionaries({"prevout": outpoint, "script_sig": blob, "sequence": st.integers(0, 2**32 - 1)})
txout = st.fixed_dictionaries({"value": i64, "script_pub_key": blob})
# normal transactions only (type 0, no extra payload): special payloads
# are test_transaction's
tx = st.fixed_dictionaries(
    {
        "version": st.integers(1, 2),
        "type": st.just(0),
        "vin": st.lists(txin, max_size=3),
        "vout": st.lists(txout, max_size=3),
        "lock_time": st.integers(0, 2**32 - 1),
        "extra_payload_raw": st.none(),
        "extra_payload": st.none(),
        "extra_payload_error": st.none(),
    }
)
TX_KEYS = (
    "version",
    "type",
    "vin",
    "vout",
    "lock_time",
    "extra_payload_raw",
    "extra_payload",
    "extra_payload_error",
)


def _own(command: str, decoded: dict) -> dict:
    """The message's own fields: names and transactions' derived keys dropped."""
    out = {}
    for key, value in decoded.items():
        if key.endswith("_name") or (key == "hash" and command == "dsq"):
            continue
        if isinstance(value, dict) and "txid" in value:
            value = {k: value[k] for k in TX_KEYS}
        out[key] = value
    return out


@settings(max_examples=100, deadline=None)
@given(
    data=st.data(),
    version=st.sampled_from([70216, 70224, 70225, 70226, 70238]),
)
def test_round_trip(data, version):
    protx = version >= 70226
    masternode = {
        "protx_hash": data.draw(hash256) if protx else None,
        "masternode_outpoint": None if protx else data.draw(outpoint),
    }
    messages = {
        "senddsq": {"send_ds_queue": data.draw(st.integers(0, 255))},
        "dsa": {"denom": data.draw(i32), "tx_collateral": data.draw(tx)},
        "dsi": {
            "tx_ds_in": data.draw(st.lists(txin, max_size=3)),
            "tx_collateral": data.draw(tx),
            "tx_out": data.draw(st.lists(txout, max_size=3)),
        },
        "dsf": {"session_id": data.draw(i32), "tx_final": data.draw(tx)},
        "dss": {"tx_in": data.draw(st.lists(txin, max_size=3))},
        "dsc": {"session_id": data.draw(i32), "message_id": data.draw(i32)},
        "dssu": {
            "session_id": data.draw(i32),
            "state": data.draw(i32),
            "entries_count": data.draw(i32) if version <= 70224 else None,
            "status_update": data.draw(i32),
            "message_id": data.draw(i32),
        },
        "dstx": {"tx": data.draw(tx), **masternode, "sig": data.draw(blob), "sig_time": data.draw(i64)},
        "dsq": {
            "denom": data.draw(i32),
            **masternode,
            "time": data.draw(i64),
            "ready": data.draw(st.integers(0, 255)),
            "sig": data.draw(blob),
        },
    }
    for command, obj in messages.items():
        raw = build(command, obj, version=version)
        decoded = decode(command, raw, version=version)
        assert without_derived(_own(command, decoded)) == obj
        assert build(command, decoded, version=version) == raw
