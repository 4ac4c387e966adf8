"""The sped-up script and base58 helpers give what they gave before.

``script_asm`` (and ``asm_of``, which it calls), ``describe_script``,
``dash_amount`` and ``b58encode`` were rewritten for speed: every input and
output of every transaction goes through them, in the construct
(txparts.TxIn/TxOut) and in the fast parser alike, so comparing those two
with each other cannot catch a change here.  The reference is the
straightforward code they replaced, kept below, compared on random scripts
of the shapes transactions carry and on random bytes.
"""

from __future__ import annotations

from hashlib import sha256

from hypothesis import given, settings
from hypothesis import strategies as st

from p2pcap.decoders import base58, script
from p2pcap.decoders.script import NETWORKS, output_type

# --- the reference: the implementations before the speed-up -----------------
# (CScriptNum and the BIP66 check were not rewritten: the reference asm calls
# script.py's own.)

ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def ref_b58encode(data: bytes) -> str:
    zeros = len(data) - len(data.lstrip(b"\x00"))
    n = int.from_bytes(data, "big")
    out = []
    while n:
        n, rem = divmod(n, 58)
        out.append(ALPHABET[rem])
    return "1" * zeros + "".join(reversed(out))


def ref_b58check_encode(payload: bytes) -> str:
    return ref_b58encode(payload + sha256(sha256(payload).digest()).digest()[:4])


SIGHASH = {0x01: "ALL", 0x81: "ALL|ANYONECANPAY", 0x02: "NONE", 0x82: "NONE|ANYONECANPAY"}
SIGHASH |= {0x03: "SINGLE", 0x83: "SINGLE|ANYONECANPAY"}


def ref_script_asm(data: bytes, sighash_decode: bool = False) -> str:
    decode_sigs = sighash_decode and not ((data and data[0] == 0x6A) or len(data) > 10_000)
    words = []
    pc, end = 0, len(data)
    while pc < end:
        op = data[pc]
        pc += 1
        if op > 0x4E:
            words.append(script._NAMES.get(op, "OP_UNKNOWN"))
            continue
        if op < 0x4C:
            size = op
        else:
            width = {0x4C: 1, 0x4D: 2, 0x4E: 4}[op]
            if pc + width > end:
                words.append("[error]")
                break
            size = int.from_bytes(data[pc : pc + width], "little")
            pc += width
        if pc + size > end:
            words.append("[error]")
            break
        push = data[pc : pc + size]
        pc += size
        if size <= 4:
            words.append(str(script._script_num(push)))
        elif decode_sigs and push[-1] in SIGHASH and script._is_strict_der(push):
            words.append(f"{push[:-1].hex()}[{SIGHASH[push[-1]]}]")
        else:
            words.append(push.hex())
    return " ".join(words)


def ref_describe_script(data: bytes, network: str | None) -> tuple:
    p2pkh, p2sh = NETWORKS[network or "mainnet"]
    kind = output_type(data)
    address = None
    if kind == "pubkeyhash":
        address = ref_b58check_encode(bytes((p2pkh,)) + data[3:23])
    elif kind == "scripthash":
        address = ref_b58check_encode(bytes((p2sh,)) + data[2:22])
    return ref_script_asm(data), kind, address


def ref_dash_amount(duffs):
    if type(duffs) is not int:
        return None
    sign = "-" if duffs < 0 else ""
    whole, frac = divmod(abs(duffs), 100_000_000)
    return f"{sign}{whole}.{frac:08d}"


# --- scripts of the shapes transactions carry ---------------------------------


def push(data: bytes) -> bytes:
    """The shortest push of ``data`` (script.h CScript::operator<<)."""
    n = len(data)
    if n < 0x4C:
        return bytes((n,)) + data
    if n <= 0xFF:
        return b"\x4c" + bytes((n,)) + data
    return b"\x4d" + n.to_bytes(2, "little") + data


def der_int(body: bytes, wrong: bool) -> bytes:
    """A DER integer's bytes: a 00 in front only of a high first byte, unless ``wrong``."""
    pad = body[0] >= 0x80
    return (b"\x00" if pad != wrong else b"") + body


@st.composite
def signatures(draw) -> bytes:
    """A DER signature and hash type byte, strict or slightly off."""
    r = der_int(draw(st.binary(min_size=1, max_size=32)), draw(st.integers(0, 7)) == 0)
    s = der_int(draw(st.binary(min_size=1, max_size=32)), draw(st.integers(0, 7)) == 0)
    body = b"\x02" + bytes((len(r),)) + r + b"\x02" + bytes((len(s),)) + s
    sig = b"\x30" + bytes((len(body),)) + body
    hash_type = draw(st.sampled_from(sorted(SIGHASH)) | st.integers(0, 255))
    sig = bytearray(sig + bytes((hash_type,)))
    if draw(st.integers(0, 9)) == 0:  # one byte changed: mostly not strict any more
        sig[draw(st.integers(0, len(sig) - 1))] = draw(st.integers(0, 255))
    return bytes(sig)


keys = st.builds(lambda p, k: bytes((p,)) + k, st.sampled_from([2, 3]), st.binary(min_size=32, max_size=32))
long_keys = st.builds(
    lambda p, k: bytes((p,)) + k, st.sampled_from([4, 6, 7]), st.binary(min_size=64, max_size=64)
)
hash160 = st.binary(min_size=20, max_size=20)

script_sigs = st.one_of(
    st.builds(lambda s, k: push(s) + push(k), signatures(), keys | long_keys),  # P2PKH spend
    st.builds(lambda s: push(s), signatures()),  # P2PK spend
    st.builds(lambda a, b: push(a) + push(b), signatures(), signatures()),  # two signatures
    st.builds(lambda a, b: push(a) + push(b), st.binary(max_size=80), st.binary(max_size=80)),  # two pushes
    st.builds(lambda ss: b"\x00" + b"".join(push(s) for s in ss), st.lists(signatures(), max_size=3)),
    st.builds(lambda s, r: push(s) + push(r), signatures(), st.binary(max_size=300)),  # P2SH spend
    st.binary(max_size=120),  # anything, broken pushes included
)

script_pub_keys = st.one_of(
    st.builds(lambda h: b"\x76\xa9\x14" + h + b"\x88\xac", hash160),  # P2PKH
    st.builds(lambda h: b"\xa9\x14" + h + b"\x87", hash160),  # P2SH
    st.builds(lambda k: push(k) + b"\xac", keys | long_keys),  # P2PK
    st.builds(
        lambda ds: b"\x6a" + b"".join(push(d) for d in ds), st.lists(st.binary(max_size=80), max_size=3)
    ),
    st.builds(
        lambda ks, m: (
            bytes((0x50 + min(m, len(ks)),))
            + b"".join(push(k) for k in ks)
            + bytes((0x50 + len(ks),))
            + b"\xae"
        ),
        st.lists(keys | long_keys, min_size=1, max_size=3),
        st.integers(1, 3),
    ),  # multisig
    st.binary(max_size=60),  # non-standard, broken pushes included
)
networks = st.sampled_from([None, *NETWORKS])


@settings(max_examples=600, deadline=None)
@given(data=script_sigs | script_pub_keys, sighash_decode=st.booleans())
def test_script_asm(data, sighash_decode):
    expected = ref_script_asm(data, sighash_decode)
    assert script.script_asm(data, sighash_decode) == expected
    assert script.asm_of(data, data.hex(), sighash_decode) == expected


def test_two_pushes_of_every_size():
    # asm_of takes <push> <push> its own way: every pair of push sizes, with
    # data that is a strict signature where it can be, and data that is not
    sig = bytes.fromhex("3044" + "0220" + "11" * 32 + "0220" + "22" * 32 + "01")
    for fill in (b"\x81" * 80, sig + b"\x83" * 10):
        for first in range(80):
            for second in range(80):
                data = push(fill[:first]) + push(fill[-second:] if second else b"")
                assert script.script_asm(data, True) == ref_script_asm(data, True), data.hex()
    assert script.script_asm(push(sig) + push(sig), True) == f"{sig[:-1].hex()}[ALL] {sig[:-1].hex()}[ALL]"


@settings(max_examples=400, deadline=None)
@given(data=script_pub_keys | script_sigs, network=networks)
def test_describe_script(data, network):
    assert script.describe_script.__wrapped__(data, network) == ref_describe_script(data, network)
    assert script.describe_script(data, network) == ref_describe_script(data, network)


@settings(max_examples=600, deadline=None)
@given(zeros=st.integers(0, 30), data=st.binary(max_size=40))
def test_b58encode(zeros, data):
    raw = bytes(zeros) + data
    assert base58.b58encode(raw) == ref_b58encode(raw)
    assert base58.b58check_encode(raw) == ref_b58check_encode(raw)


def test_b58encode_of_25_bytes():
    # _encode25 takes every 25-byte input: the extremes of its 18 pairs
    for raw in (bytes(25), b"\xff" * 25, bytes(24) + b"\x01", b"\x01" + bytes(24), bytes(12) + b"\x3a" * 13):
        assert base58.b58encode(raw) == ref_b58encode(raw)


@settings(max_examples=300, deadline=None)
@given(duffs=st.integers(-(2**64), 2**64) | st.sampled_from([0, -1, 1, 10**8, -(10**8), 2**63 - 1, -(2**63)]))
def test_dash_amount(duffs):
    assert script.dash_amount(duffs) == ref_dash_amount(duffs)


def test_dash_amount_of_other_types():
    for value in (True, 1.5, "1", None):
        assert script.dash_amount(value) is None
