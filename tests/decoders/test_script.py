"""Scripts as asm, their type and address, amounts in DASH (decoders/script.py).

Expected values come from other sources, never from the decoder:

* asm: dashpay/dash test/functional/rpc_decodescript.py, which checks
  ``decodescript`` (no signature-hash decoding) and ``decoderawtransaction``
  (scriptSigs with ``[ALL]`` ...) on hand-made scripts and real mainnet
  transactions, asserting the asm strings Core printed;
* types: the cases of Core's src/test/script_standard_tests.cpp
  (script_standard_Solver_success / _failure, which Dash shares), with
  fixed keys where Core makes random ones;
* addresses: dashpay/dashcore-lib test/address.js (a mainnet key hash and
  its ``X...`` address; P2SH ``7...``/``8...`` and testnet ``y...``
  addresses, decoded here by a base58 reader written in this file) and
  dashpay/dashcore-lib test/fixtures/payload/proregtxpayload.js and
  proupregtxpayload.js (testnet ProTx payloads with their payoutAddress);
* amounts: Core's ValueFromAmount format ("%s%d.%08d").
"""

from __future__ import annotations

import hashlib

import pytest

from p2pcap.decoders import decode, decode_partial
from p2pcap.decoders.script import dash_amount, output_type, script_asm
from p2pcap.decoders.special_tx import decode_payload

from .vectors import compact

# --- dashpay/dash test/functional/rpc_decodescript.py -------------------------

SIGNATURE = (
    "304502207fa7a6d1e0ee81132a269ad84e68d695483745cde8b541e3bf630749894e342a022100c1f7ab20e13e"
    "22fb95281a870f3dcf38d782e53023ee313d741ad0cfbc0c509001"
)
PUBLIC_KEY = "03b0da749730dc9b4b1f4a14d6902877a92541f5368778853d9c4a0cb7802dcfb2"
PUBLIC_KEY_HASH = "11695b6cd891484c2d49ec5aa738ec2b2f897777"
IMPOSTER = (
    "48304502207fa7a6d1e0ee81132a269ad84e68d695483745cde8b541e3bf630749894e342a022100c1f7ab20e1"
    "3e22fb95281a870f3dcf38d782e53023ee313d741ad0cfbc0c509001"
)

DECODESCRIPT = [
    # (script hex, asm Core printed)
    ("48" + SIGNATURE, SIGNATURE),
    ("48" + SIGNATURE + "21" + PUBLIC_KEY, SIGNATURE + " " + PUBLIC_KEY),
    ("00" + "48" + SIGNATURE + "48" + SIGNATURE, "0 " + SIGNATURE + " " + SIGNATURE),
    ("5100", "1 0"),
    ("21" + PUBLIC_KEY + "ac", PUBLIC_KEY + " OP_CHECKSIG"),
    (
        "76a9" + "14" + PUBLIC_KEY_HASH + "88ac",
        "OP_DUP OP_HASH160 " + PUBLIC_KEY_HASH + " OP_EQUALVERIFY OP_CHECKSIG",
    ),
    (
        "52" + ("21" + PUBLIC_KEY) * 3 + "53ae",
        "2 " + " ".join([PUBLIC_KEY] * 3) + " 3 OP_CHECKMULTISIG",
    ),
    ("a9" + "14" + PUBLIC_KEY_HASH + "87", "OP_HASH160 " + PUBLIC_KEY_HASH + " OP_EQUAL"),
    ("6a" + IMPOSTER, "OP_RETURN " + IMPOSTER[2:]),
    (
        "63" + "21" + PUBLIC_KEY + "ad670320a107b17568" + "21" + PUBLIC_KEY + "ac",
        "OP_IF " + PUBLIC_KEY + " OP_CHECKSIGVERIFY OP_ELSE 500000 OP_CHECKLOCKTIMEVERIFY "
        "OP_DROP OP_ENDIF " + PUBLIC_KEY + " OP_CHECKSIG",
    ),
]


@pytest.mark.parametrize("script, asm", DECODESCRIPT)
def test_decodescript_asm(script, asm):
    assert script_asm(bytes.fromhex(script)) == asm


# decoderawtransaction cases: real mainnet transactions of the same test
P2PKH_SPEND = (
    "0100000001696a20784a2c70143f634e95227dbdfdf0ecd51647052e70854512235f5986ca010000008a4730440220"
    "7174775824bec6c2700023309a168231ec80b82c6069282f5133e6f11cbb04460220570edc55c7c5da2ca687ebd037"
    "2d3546ebc3f810516a002350cac72dfe192dfb014104d3f898e6487787910a690410b7a917ef198905c27fb9d3b0a4"
    "2da12aceae0544fc7088d239d9a48f2828a15a09e84043001f27cc80d162cb95404e1210161536ffffffff0100e1f5"
    "05000000001976a914eb6c6e0cdb2d256a32d97b8df1fc75d1920d9bca88ac00000000"
)
P2PKH_SPEND_SIG_ASM = (
    "304402207174775824bec6c2700023309a168231ec80b82c6069282f5133e6f11cbb04460220570edc55c7c5da2c"
    "a687ebd0372d3546ebc3f810516a002350cac72dfe192dfb[ALL] 04d3f898e6487787910a690410b7a917ef1989"
    "05c27fb9d3b0a42da12aceae0544fc7088d239d9a48f2828a15a09e84043001f27cc80d162cb95404e1210161536"
)
MULTISIG_SPEND = (
    "01000000018d1f5635abd06e2c7e2ddf58dc85b3de111e4ad6e0ab51bb0dcf5e84126d927300000000fdfe0000483045"
    "022100ae3b4e589dfc9d48cb82d41008dc5fa6a86f94d5c54f9935531924602730ab8002202f88cf464414c4ed9fa11b"
    "773c5ee944f66e9b05cc1e51d97abc22ce098937ea01483045022100b44883be035600e9328a01b66c7d8439b74db641"
    "87e76b99a68f7893b701d5380220225bf286493e4c4adcf928c40f785422572eb232f84a0b83b0dea823c3a19c75014c"
    "695221020743d44be989540d27b1b4bbbcfd17721c337cb6bc9af20eb8a32520b393532f2102c0120a1dda9e51a938d3"
    "9ddd9fe0ebc45ea97e1d27a7cbd671d5431416d3dd87210213820eb3d5f509d7438c9eeecb4157b2f595105e7cd564b3"
    "cdbb9ead3da41eed53aeffffffff02611e0000000000001976a914dc863734a218bfe83ef770ee9d41a27f824a6e5688"
    "acee2a02000000000017a9142a5edea39971049a540474c6a99edf0aa4074c588700000000"
)
MULTISIG_SPEND_SIG_ASM = (
    "0 3045022100ae3b4e589dfc9d48cb82d41008dc5fa6a86f94d5c54f9935531924602730ab8002202f88cf464414c4ed"
    "9fa11b773c5ee944f66e9b05cc1e51d97abc22ce098937ea[ALL] 3045022100b44883be035600e9328a01b66c7d8439"
    "b74db64187e76b99a68f7893b701d5380220225bf286493e4c4adcf928c40f785422572eb232f84a0b83b0dea823c3a1"
    "9c75[ALL] 5221020743d44be989540d27b1b4bbbcfd17721c337cb6bc9af20eb8a32520b393532f2102c0120a1dda9e"
    "51a938d39ddd9fe0ebc45ea97e1d27a7cbd671d5431416d3dd87210213820eb3d5f509d7438c9eeecb4157b2f595105e"
    "7cd564b3cdbb9ead3da41eed53ae"
)
CRAFTED_OP_RETURN = (
    "01000000015ded05872fdbda629c7d3d02b194763ce3b9b1535ea884e3c8e765d42e316724020000006b4830450220"
    "4c10d4064885c42638cbff3585915b322de33762598321145ba033fc796971e2022100bb153ad3baa8b757e30a2175"
    "bd32852d2e1cb9080f84d7e32fcdfd667934ef1b012103163c0ff73511ea1743fb5b98384a2ff09dd06949488028fd"
    "819f4d83f56264efffffffff0200000000000000000b6a0930060201000201000180380100000000001976a9141cab"
    "d296e753837c086da7a45a6c2fe0d49d7b7b88ac00000000"
)


def test_decoderawtransaction_p2pkh():
    tx = decode("tx", bytes.fromhex(P2PKH_SPEND))
    assert tx["vin"][0]["script_sig_asm"] == P2PKH_SPEND_SIG_ASM


def test_decoderawtransaction_multisig():
    tx = decode("tx", bytes.fromhex(MULTISIG_SPEND))
    assert tx["txid"] == "8e3730608c3b0bb5df54f09076e196bc292a8e39a78e73b44b6ba08c78f5cbb0"
    assert tx["vin"][0]["script_sig_asm"] == MULTISIG_SPEND_SIG_ASM
    assert tx["vout"][0]["script_pub_key_asm"] == (
        "OP_DUP OP_HASH160 dc863734a218bfe83ef770ee9d41a27f824a6e56 OP_EQUALVERIFY OP_CHECKSIG"
    )
    assert tx["vout"][1]["script_pub_key_asm"] == (
        "OP_HASH160 2a5edea39971049a540474c6a99edf0aa4074c58 OP_EQUAL"
    )


def test_decoderawtransaction_crafted_op_return():
    tx = decode("tx", bytes.fromhex(CRAFTED_OP_RETURN))
    assert tx["vout"][0]["script_pub_key_asm"] == "OP_RETURN 300602010002010001"


def test_sighash_variants_in_script_sig():
    # rpc_decodescript.py rewrites the P2PKH spend's scriptSig: its DER
    # signature with hash type 0x82 reads [NONE|ANYONECANPAY]; an OP_RETURN
    # scriptSig is never sighash-decoded.
    der = P2PKH_SPEND_SIG_ASM.split("[")[0]
    tx = bytes.fromhex(P2PKH_SPEND)
    start = tx.index(bytes.fromhex("8a47"))
    end = start + 1 + 0x8A
    for script, asm in [
        ("47" + der + "01", der + "[ALL]"),
        ("47" + der + "82", der + "[NONE|ANYONECANPAY]"),
        ("00" + "47" + der + "01" + "47" + der + "82", f"0 {der}[ALL] {der}[NONE|ANYONECANPAY]"),
        (
            "6a143011020701010101010101020601010101010101",
            "OP_RETURN 3011020701010101010101020601010101010101",
        ),
    ]:
        raw = bytes.fromhex(script)
        rewritten = tx[:start] + compact(len(raw)) + raw + tx[end:]
        assert decode("tx", rewritten)["vin"][0]["script_sig_asm"] == asm


def test_coinbase_input_has_no_asm():
    # Core prints a coinbase input's script as "coinbase" hex, without asm.
    genesis_coinbase = (
        "0100000001" + "00" * 32 + "ffffffff0704ffff001d0104ffffffff0100f2052a010000000000000000"
    )
    tx = decode("tx", bytes.fromhex(genesis_coinbase))
    assert tx["vin"][0]["script_sig_asm"] is None
    assert tx["vin"][0]["script_sig"] == "04ffff001d0104"


def test_broken_push_is_error():
    # GetOp fails on a push that runs past the end: ScriptToAsmStr stops with [error]
    assert script_asm(bytes.fromhex("76a914" + "00" * 10)) == "OP_DUP OP_HASH160 [error]"
    assert script_asm(bytes.fromhex("4c")) == "[error]"


def test_small_pushes_are_numbers():
    # CScriptNum: little-endian, sign in the top bit of the last byte
    assert script_asm(bytes.fromhex("01ff018102000104ffffff7f")) == "-127 -1 256 2147483647"


# --- types: Core's src/test/script_standard_tests.cpp -------------------------

KEY_C = "02" + "11" * 32  # a compressed key (33 bytes, header 02)
KEY_C2 = "03" + "22" * 32
KEY_U = "04" + "33" * 64  # uncompressed (65 bytes, header 04)

SOLVER = [
    ("21" + KEY_C + "ac", "pubkey"),
    ("41" + KEY_U + "ac", "pubkey"),
    ("76a914" + "44" * 20 + "88ac", "pubkeyhash"),
    ("a914" + "55" * 20 + "87", "scripthash"),
    ("51" + "21" + KEY_C + "21" + KEY_C2 + "52ae", "multisig"),  # 1 of 2
    ("52" + "21" + KEY_C + "41" + KEY_U + "52ae", "multisig"),  # 2 of 2
    ("6a", "nulldata"),
    ("6a" + "0100" + "0400000000" + "01ff", "nulldata"),
    # OP_RESERVED passes IsPushOnly, non-minimal pushes too
    ("6a504c0001014e01000000aa", "nulldata"),
    ("59935b87", "nonstandard"),  # OP_9 OP_ADD OP_11 OP_EQUAL
    # failures
    ("1e" + "01" * 30 + "ac", "nonstandard"),  # pubkey of 30 bytes
    ("76a921" + KEY_C + "88ac", "nonstandard"),  # key hash of 33 bytes
    ("a915" + "01" * 21 + "87", "nonstandard"),  # script hash of 21 bytes
    ("00" + "21" + KEY_C + "51ae", "nonstandard"),  # multisig 0/1
    ("52" + "21" + KEY_C + "51ae", "nonstandard"),  # multisig 2/1
    ("51" + "21" + KEY_C + "52ae", "nonstandard"),  # multisig 1/2 with one key
    ("51" + "21" + KEY_C + "5193ae", "nonstandard"),  # multisig n followed by OP_ADD
    ("6a" + "ac", "nonstandard"),  # OP_RETURN then a non-push
    ("6a" + "4c", "nonstandard"),  # OP_RETURN then a broken push
]


@pytest.mark.parametrize("script, kind", SOLVER)
def test_output_types(script, kind):
    assert output_type(bytes.fromhex(script)) == kind


# --- addresses: dashpay/dashcore-lib test/address.js --------------------------

_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def b58check_decode(text: str) -> tuple[int, bytes]:
    """(version byte, 20-byte hash) of an address; checks the checksum."""
    n = 0
    for char in text:
        n = n * 58 + _B58.index(char)
    raw = n.to_bytes(25, "big")
    body, check = raw[:21], raw[21:]
    assert hashlib.sha256(hashlib.sha256(body).digest()).digest()[:4] == check
    return body[0], body[1:]


def _tx_paying(script: bytes) -> bytes:
    """A version-1 transaction with one null input and one output paying ``script``."""
    return (
        bytes.fromhex("01000000" "01" + "ab" * 32 + "00000000" "00" "ffffffff" "01")
        + (1234).to_bytes(8, "little") + compact(len(script)) + script
        + bytes(4)
    )  # fmt: skip


def _output(script: bytes, network=None) -> dict:
    return decode("tx", _tx_paying(script), network=network)["vout"][0]


def test_mainnet_key_hash_address():
    key_hash = bytes.fromhex("3c3fa3d4adcaf8f52d5b1843975e122548269937")
    out = _output(b"\x76\xa9\x14" + key_hash + b"\x88\xac")
    assert out["address"] == "XgBQcYbKff4q7cEs7AaxoPN2CAiBbFc2JT"
    assert out["script_pub_key_type"] == "pubkeyhash"
    # the same key on testnet: version 140
    testnet = _output(b"\x76\xa9\x14" + key_hash + b"\x88\xac", "testnet")["address"]
    assert testnet[0] == "y" and b58check_decode(testnet) == (140, key_hash)


ADDRESSES = [
    # (address from address.js, network to decode with, version byte, script type)
    ("XfcbSaK1dtEe6GmNRE5pMS3WYpoJ2D1BDm", "mainnet", 76, "pubkeyhash"),
    ("XtfsoT5X39fbxyH4h8VJoQ8CVyLjojjUST", None, 76, "pubkeyhash"),
    ("7UkJidhNjEPJCQnCTXeaJKbJmL4JuyV66w", "mainnet", 16, "scripthash"),
    ("7qTBMtjvjtpmqA7UZ581vTwPTFUF7LUqyw", None, 16, "scripthash"),
    ("8tS9fgiv8XAmTXxWqJBv7zbeS4jzrGGwxT", "testnet", 19, "scripthash"),
    ("91gTi4kws9YV4QX5BLDhyiC6wYbknkk4JE", "devnet", 19, "scripthash"),
    ("ygvvbEYBpb3HpVR6LGpKNgfNNZ78jy8YhJ", "testnet", 140, "pubkeyhash"),
    ("yZKdLYCvDXa2kyQr8Tg3N6c3xeZoK7XDcj", "regtest", 140, "pubkeyhash"),
]


@pytest.mark.parametrize("address, network, version, kind", ADDRESSES)
def test_addresses(address, network, version, kind):
    got_version, payload = b58check_decode(address)
    assert got_version == version
    script = (
        b"\x76\xa9\x14" + payload + b"\x88\xac" if kind == "pubkeyhash" else b"\xa9\x14" + payload + b"\x87"
    )
    out = _output(script, network)
    assert (out["address"], out["script_pub_key_type"]) == (address, kind)


def test_no_address_for_other_types():
    # ScriptToUniv gives an address only where ExtractDestination does and the
    # type is not pubkey: not for pubkey, multisig, nulldata, nonstandard.
    for script in ("21" + KEY_C + "ac", "51" + "21" + KEY_C + "51ae", "6a0101", "59935b87"):
        assert _output(bytes.fromhex(script))["address"] is None


def test_unknown_network_is_refused():
    with pytest.raises(ValueError, match="unknown network"):
        decode("tx", _tx_paying(b"\x51"), network="testnet3")
    with pytest.raises(ValueError, match="unknown network"):
        decode_partial("tx", _tx_paying(b"\x51")[:10], network="main")


# --- ProTx payloads: dashpay/dashcore-lib test/fixtures/payload/ ----------------

PROREGTX = (
    "01000000000026d3cb36b5360a23f5f4a2ea4c98d385c0c7a80788439f52a237717d799356a6010000000000000000"
    "0000000000ffffc38d008f4e1f8a94fb062049b841f716dcded8257a3632fb053c8273ec203d1ea62cbdb54e106183"
    "29e4ed93e99bc9c5ab2f4cb0055ad281f9ad0808a1dda6aedf12c41c53142828879b8a94fb062049b841f716dcded8"
    "257a3632fb053c00001976a914e4876df5735eaa10a761dca8d62a7a275349022188acbc1055e0331ea0ea63caf80e"
    "0a7f417e50df6469a97db1f4f1d81990316a5e0b412045323bca7defef188065a6b30fb3057e4978b4f914e4e8cc03"
    "24098ae60ff825693095b927cd9707fe10edbf8ef901fcbc63eb9a0e7cd6fed39d50a8cde1cdb4"
)
PROUPREGTX = (
    "01004f0fd120ac35429cdc616e470c53a52e032bba22304f8d1c54cc0af2040c3362000018ece819b998a36a185e32"
    "3a8749e55fd3dc2e259b741f8580fbd68cbd9f51d30f4d4da34fd5afc71859dca3cf10fbda8a94fb062049b841f716"
    "dcded8257a3632fb053c1976a914f25c59be48ee1c4fd3733ecf56f440659f1d6c5088acb309a51267451a7f52e79e"
    "f2391aa952e9a0284e8fd8db56cdcae3b49b7e6dab4120c838c08b9492c5039444cac11e466df3609c585010fab636"
    "de75c687bab9f6154d9a7c26d7b5384a147fc67ddb2e66e5f773af73dbf818109aec692ed364eafd"
)
# dashcore-lib shows key ids byte-reversed; on the wire they are in this order
KEY_ID = bytes.fromhex("3c05fb32367a25d8dedc16f741b8492006fb948a")[::-1]


def test_proregtx_addresses():
    payload, error = decode_payload(1, bytes.fromhex(PROREGTX), "testnet")
    assert error is None
    assert payload["payout_address"] == "yh9o9kPRK1s3YsuyCBe3DEjBit2RnzhgwH"  # the fixture's
    # ownerAddress / votingAddress (Core's ToJson): the key id as a P2PKH address
    assert payload["key_id_owner"] == KEY_ID.hex()
    assert b58check_decode(payload["owner_address"]) == (140, KEY_ID)
    assert payload["voting_address"] == payload["owner_address"]  # same key in the fixture


def test_proupregtx_addresses():
    payload, error = decode_payload(3, bytes.fromhex(PROUPREGTX), "testnet")
    assert error is None
    assert payload["payout_address"] == "yiQw1FmRannHeZYrjA1iGD2vQniqjgGENc"  # the fixture's
    assert b58check_decode(payload["voting_address"]) == (140, KEY_ID)


def test_proregtx_network_reaches_the_payload_in_a_tx():
    wire = (
        "03000100"
        "00"
        "00"
        "00000000"  # version 3, type 1, no inputs or outputs, lock time
        + compact(len(PROREGTX) // 2).hex()
        + PROREGTX
    )
    testnet = decode("tx", bytes.fromhex(wire), network="testnet")
    assert testnet["extra_payload"]["payout_address"] == "yh9o9kPRK1s3YsuyCBe3DEjBit2RnzhgwH"
    mainnet = decode("tx", bytes.fromhex(wire))
    assert mainnet["extra_payload"]["payout_address"][0] == "X"


# --- amounts: Core's ValueFromAmount -------------------------------------------


@pytest.mark.parametrize(
    "duffs, text",
    [(0, "0.00000000"), (1, "0.00000001"), (100000000, "1.00000000"), (-1, "-0.00000001"),
     (2100000000000000, "21000000.00000000"), (-(2**63), "-92233720368.54775808")],
)  # fmt: skip
def test_dash_amount(duffs, text):
    assert dash_amount(duffs) == text


def test_value_dash_in_outputs():
    assert _output(b"\x51")["value_dash"] == "0.00001234"


VECTORS = [
    ("tx", P2PKH_SPEND),
    ("tx", MULTISIG_SPEND),
    ("tx", CRAFTED_OP_RETURN),
]
