"""Scripts in human terms: asm text, output type, Dash address, DASH amounts.

What ``decoderawtransaction`` shows for a script, computed from its bytes:

* ``asm``: src/core_write.cpp ``ScriptToAsmStr``.  Pushes of at most four
  bytes are shown as the number they encode (CScriptNum), longer pushes as
  hex; other opcodes by name (src/script/script.cpp ``GetOpName``, with the
  DIP-0020 names Dash uses: OP_SPLIT, OP_NUM2BIN, OP_BIN2NUM,
  OP_CHECKDATASIG, OP_CHECKDATASIGVERIFY).  In a scriptSig, a push that is
  a strict-DER signature with a defined hash type is shown without its
  hash-type byte and with ``[ALL]``, ``[NONE|ANYONECANPAY]`` ... instead.
  A push running past the end gives ``[error]`` and stops, as in Core.
* ``type``: src/script/standard.cpp ``Solver`` / ``GetTxnOutputType``:
  ``pubkeyhash``, ``scripthash``, ``pubkey``, ``multisig``, ``nulldata``
  or ``nonstandard`` (Dash has no witness types).
* ``address``: the P2PKH or P2SH address on the capture's network, for
  those two types only (Core's ``ScriptToUniv`` gives none for ``pubkey``,
  ``multisig`` and the rest).  Version bytes from src/chainparams.cpp
  ``base58Prefixes``: mainnet 76 (``X...``) and 16 (``7...``); testnet,
  devnet and regtest 140 (``y...``) and 19 (``8...``).

The network is a keyword of ``decode()``: "mainnet", "testnet", "devnet"
or "regtest"; None means mainnet, since a capture with no network named is
most likely from one.

>>> describe_output("76a9143c3fa3d4adcaf8f52d5b1843975e12254826993788ac", None)[1:]
('pubkeyhash', 'XgBQcYbKff4q7cEs7AaxoPN2CAiBbFc2JT')
"""

from __future__ import annotations

from functools import lru_cache

from .base58 import b58check_encode

# chainparams.cpp base58Prefixes[PUBKEY_ADDRESS], [SCRIPT_ADDRESS]
NETWORKS: dict[str, tuple[int, int]] = {
    "mainnet": (76, 16),
    "testnet": (140, 19),
    "devnet": (140, 19),
    "regtest": (140, 19),
}

COIN = 100_000_000  # duffs per DASH (amount.h)

OP_PUSHDATA1, OP_PUSHDATA2, OP_PUSHDATA4 = 0x4C, 0x4D, 0x4E
OP_1, OP_16 = 0x51, 0x60
OP_RETURN = 0x6A
OP_CHECKSIG = 0xAC
OP_CHECKMULTISIG = 0xAE
MAX_SCRIPT_SIZE = 10_000  # script.h

_NAMES = {
    0x00: "0", 0x4C: "OP_PUSHDATA1", 0x4D: "OP_PUSHDATA2", 0x4E: "OP_PUSHDATA4",
    0x4F: "-1", 0x50: "OP_RESERVED",
    **{OP_1 + i: str(i + 1) for i in range(16)},
    0x61: "OP_NOP", 0x62: "OP_VER", 0x63: "OP_IF", 0x64: "OP_NOTIF", 0x65: "OP_VERIF",
    0x66: "OP_VERNOTIF", 0x67: "OP_ELSE", 0x68: "OP_ENDIF", 0x69: "OP_VERIFY", 0x6A: "OP_RETURN",
    0x6B: "OP_TOALTSTACK", 0x6C: "OP_FROMALTSTACK", 0x6D: "OP_2DROP", 0x6E: "OP_2DUP",
    0x6F: "OP_3DUP", 0x70: "OP_2OVER", 0x71: "OP_2ROT", 0x72: "OP_2SWAP", 0x73: "OP_IFDUP",
    0x74: "OP_DEPTH", 0x75: "OP_DROP", 0x76: "OP_DUP", 0x77: "OP_NIP", 0x78: "OP_OVER",
    0x79: "OP_PICK", 0x7A: "OP_ROLL", 0x7B: "OP_ROT", 0x7C: "OP_SWAP", 0x7D: "OP_TUCK",
    0x7E: "OP_CAT", 0x7F: "OP_SPLIT", 0x80: "OP_NUM2BIN", 0x81: "OP_BIN2NUM", 0x82: "OP_SIZE",
    0x83: "OP_INVERT", 0x84: "OP_AND", 0x85: "OP_OR", 0x86: "OP_XOR", 0x87: "OP_EQUAL",
    0x88: "OP_EQUALVERIFY", 0x89: "OP_RESERVED1", 0x8A: "OP_RESERVED2",
    0x8B: "OP_1ADD", 0x8C: "OP_1SUB", 0x8D: "OP_2MUL", 0x8E: "OP_2DIV", 0x8F: "OP_NEGATE",
    0x90: "OP_ABS", 0x91: "OP_NOT", 0x92: "OP_0NOTEQUAL", 0x93: "OP_ADD", 0x94: "OP_SUB",
    0x95: "OP_MUL", 0x96: "OP_DIV", 0x97: "OP_MOD", 0x98: "OP_LSHIFT", 0x99: "OP_RSHIFT",
    0x9A: "OP_BOOLAND", 0x9B: "OP_BOOLOR", 0x9C: "OP_NUMEQUAL", 0x9D: "OP_NUMEQUALVERIFY",
    0x9E: "OP_NUMNOTEQUAL", 0x9F: "OP_LESSTHAN", 0xA0: "OP_GREATERTHAN",
    0xA1: "OP_LESSTHANOREQUAL", 0xA2: "OP_GREATERTHANOREQUAL", 0xA3: "OP_MIN", 0xA4: "OP_MAX",
    0xA5: "OP_WITHIN", 0xA6: "OP_RIPEMD160", 0xA7: "OP_SHA1", 0xA8: "OP_SHA256",
    0xA9: "OP_HASH160", 0xAA: "OP_HASH256", 0xAB: "OP_CODESEPARATOR", 0xAC: "OP_CHECKSIG",
    0xAD: "OP_CHECKSIGVERIFY", 0xAE: "OP_CHECKMULTISIG", 0xAF: "OP_CHECKMULTISIGVERIFY",
    0xB0: "OP_NOP1", 0xB1: "OP_CHECKLOCKTIMEVERIFY", 0xB2: "OP_CHECKSEQUENCEVERIFY",
    **{0xB3 + i: f"OP_NOP{i + 4}" for i in range(7)},
    0xBA: "OP_CHECKDATASIG", 0xBB: "OP_CHECKDATASIGVERIFY",
    0xFF: "OP_INVALIDOPCODE",
}  # fmt: skip

# core_write.cpp mapSigHashTypes
SIGHASH_NAMES = {
    0x01: "ALL", 0x81: "ALL|ANYONECANPAY",
    0x02: "NONE", 0x82: "NONE|ANYONECANPAY",
    0x03: "SINGLE", 0x83: "SINGLE|ANYONECANPAY",
}  # fmt: skip


def network_prefixes(network: str | None) -> tuple[int, int]:
    """(P2PKH, P2SH) version bytes of ``network``; None is mainnet.

    >>> network_prefixes("regtest")
    (140, 19)
    """
    try:
        return NETWORKS[network or "mainnet"]
    except KeyError:
        raise ValueError(f"unknown network {network!r} (one of {', '.join(NETWORKS)})") from None


def dash_amount(duffs) -> str | None:
    """An amount in duffs as Core's ``ValueFromAmount`` prints it, in DASH
    with eight decimals (text, so no float rounds it); None if not an int.

    >>> dash_amount(123456789), dash_amount(-1)
    ('1.23456789', '-0.00000001')
    """
    if type(duffs) is not int:
        return None
    # %-formatting of divmod's pair: one call fewer than an f-string of two
    # names, and amounts are formatted for every output (core_io ValueFromAmount)
    if duffs >= 0:
        return "%d.%08d" % divmod(duffs, COIN)  # noqa: UP031
    return "-%d.%08d" % divmod(-duffs, COIN)  # noqa: UP031


def _ops(script: bytes):
    """(opcode, pushed bytes or None) for each op; (None, None) at a broken push."""
    pc, end = 0, len(script)
    while pc < end:
        op = script[pc]
        pc += 1
        if op > OP_PUSHDATA4:
            yield op, None
            continue
        if op < OP_PUSHDATA1:
            size = op
        else:
            width = {OP_PUSHDATA1: 1, OP_PUSHDATA2: 2, OP_PUSHDATA4: 4}[op]
            if pc + width > end:
                yield None, None
                return
            size = int.from_bytes(script[pc : pc + width], "little")
            pc += width
        if pc + size > end:
            yield None, None
            return
        yield op, script[pc : pc + size]
        pc += size


def _script_num(data: bytes) -> int:
    """CScriptNum of at most 4 bytes: little-endian, sign in the top bit."""
    if not data:
        return 0
    value = int.from_bytes(data, "little")
    if data[-1] & 0x80:
        return -(value & ~(0x80 << (8 * (len(data) - 1))))
    return value


def _is_strict_der(sig: bytes) -> bool:
    """interpreter.cpp IsValidSignatureEncoding (BIP66), hash type byte included."""
    n = len(sig)
    if n < 9 or n > 73 or sig[0] != 0x30 or sig[1] != n - 3:
        return False
    len_r = sig[3]
    if 5 + len_r >= n:
        return False
    len_s = sig[5 + len_r]
    if len_r + len_s + 7 != n or sig[2] != 0x02 or len_r == 0 or sig[4] & 0x80:
        return False
    if len_r > 1 and sig[4] == 0 and not sig[5] & 0x80:
        return False
    if sig[len_r + 4] != 0x02 or len_s == 0 or sig[len_r + 6] & 0x80:
        return False
    return not (len_s > 1 and sig[len_r + 6] == 0 and not sig[len_r + 7] & 0x80)


def script_asm(script: bytes, sighash_decode: bool = False) -> str:
    """``ScriptToAsmStr``; ``sighash_decode`` for scriptSigs.

    >>> script_asm(bytes.fromhex("0320a107b175"))
    '500000 OP_CHECKLOCKTIMEVERIFY OP_DROP'
    """
    return asm_of(script, script.hex(), sighash_decode)


# Every opcode's word, OP_UNKNOWN included, by index (also the table the C
# writer of a tx's JSON reads, formats/_payloadjson.c); the one-byte pushes
# (01 xx) as the CScriptNum they show.
ASM_WORDS = tuple(_NAMES.get(op, "OP_UNKNOWN") for op in range(256))
_BYTE_NUMS = tuple(str(_script_num(bytes((b,)))) for b in range(256))


def asm_of(script: bytes, hexed: str, sighash_decode: bool = False) -> str:
    """``script_asm`` of a script whose hex (``script.hex()``) the caller has.

    A transaction shows each script as hex next to its asm, and the asm of
    a push is a slice of that hex, so nothing is converted twice.  _ops()
    written out: every input and output of every transaction comes here.
    """
    end = len(script)
    decode_sigs = sighash_decode and end <= MAX_SCRIPT_SIZE and not (end and script[0] == OP_RETURN)
    if decode_sigs and end > 11:
        first = script[0]
        if 4 < first < OP_PUSHDATA1 and first + 2 < end:
            second = script[first + 1]
            if 4 < second < OP_PUSHDATA1 and first + second + 2 == end:
                # The usual scriptSig, <sig> <pubkey>: the loop below for these two pushes.
                stop = first + 1
                if script[first] in SIGHASH_NAMES and _is_strict_der(script[1:stop]):
                    sig = f"{hexed[2 : 2 * first]}[{SIGHASH_NAMES[script[first]]}]"
                else:
                    sig = hexed[2 : 2 * stop]
                if script[-1] in SIGHASH_NAMES and _is_strict_der(script[stop + 1 :]):
                    return f"{sig} {hexed[2 * stop + 2 : -2]}[{SIGHASH_NAMES[script[-1]]}]"
                return f"{sig} {hexed[2 * stop + 2 :]}"
    words = []
    append = words.append
    pc = 0
    while pc < end:
        op = script[pc]
        pc += 1
        if op > OP_PUSHDATA4:
            append(ASM_WORDS[op])
            continue
        if op < OP_PUSHDATA1:
            size = op
        else:
            width = 1 if op == OP_PUSHDATA1 else 2 if op == OP_PUSHDATA2 else 4
            if pc + width > end:
                append("[error]")
                break
            size = int.from_bytes(script[pc : pc + width], "little")
            pc += width
        stop = pc + size
        if stop > end:
            append("[error]")
            break
        if size > 4:
            if decode_sigs and script[stop - 1] in SIGHASH_NAMES and _is_strict_der(script[pc:stop]):
                # CheckSignatureEncoding(STRICTENC): strict DER and a defined hash type
                append(f"{hexed[2 * pc : 2 * stop - 2]}[{SIGHASH_NAMES[script[stop - 1]]}]")
            else:
                append(hexed[2 * pc : 2 * stop])
        elif size == 1:
            append(_BYTE_NUMS[script[pc]])
        else:
            append(str(_script_num(script[pc:stop])))
        pc = stop
    return " ".join(words)


def _valid_pubkey_size(data: bytes) -> bool:
    """pubkey.h CPubKey::ValidSize: the length the header byte calls for."""
    if not data:
        return False
    want = 33 if data[0] in (2, 3) else 65 if data[0] in (4, 6, 7) else 0
    return len(data) == want


def _is_multisig(script: bytes) -> bool:
    """standard.cpp MatchMultisig: OP_m <keys> OP_n OP_CHECKMULTISIG, m <= n = #keys."""
    if len(script) < 3 or script[-1] != OP_CHECKMULTISIG:
        return False
    ops = list(_ops(script[:-1]))
    if len(ops) < 2 or any(op is None for op, _ in ops):
        return False
    (first, _), (last, _) = ops[0], ops[-1]
    keys = ops[1:-1]
    if not (OP_1 <= first <= OP_16 and OP_1 <= last <= OP_16):
        return False
    required, count = first - OP_1 + 1, last - OP_1 + 1
    if required > count or count != len(keys):
        return False
    return all(data is not None and _valid_pubkey_size(data) for _, data in keys)


def output_type(script: bytes) -> str:
    """``GetTxnOutputType(Solver(script))``, for Dash's script types.

    >>> output_type(bytes.fromhex("6a0474657374"))
    'nulldata'
    """
    n = len(script)
    if n == 23 and script[0] == 0xA9 and script[1] == 0x14 and script[22] == 0x87:
        return "scripthash"
    if n >= 1 and script[0] == OP_RETURN:
        if all(op is not None and op <= OP_16 for op, _ in _ops(script[1:])):
            return "nulldata"
    if (n == 35 and script[0] == 33 or n == 67 and script[0] == 65) and script[-1] == OP_CHECKSIG:
        if _valid_pubkey_size(script[1:-1]):
            return "pubkey"
    if n == 25 and script[:3] == b"\x76\xa9\x14" and script[23] == 0x88 and script[24] == OP_CHECKSIG:
        return "pubkeyhash"
    if _is_multisig(script):
        return "multisig"
    return "nonstandard"


@lru_cache(maxsize=1 << 14)  # payees repeat (pools, exchanges, masternodes)
def _address(version: int, payload: bytes) -> str:
    return b58check_encode(bytes((version,)) + payload)


def key_id_address(key_id: bytes, network: str | None) -> str:
    """The P2PKH address of a 20-byte key id (ProTx owner and voting keys,
    Core's ``EncodeDestination(PKHash(keyID))``)."""
    return _address(network_prefixes(network)[0], bytes(key_id))


def describe_output(script_hex, network: str | None) -> tuple:
    """(asm, type, address or None) of a scriptPubKey given as hex;
    (None, None, None) for anything that is not hex."""
    try:
        script = bytes.fromhex(script_hex)
    except (TypeError, ValueError):
        return None, None, None
    return describe_script(script, network)


# The P2PKH version byte of each network, as bytes (None is mainnet).
_P2PKH_PREFIX = {name: bytes((p2pkh,)) for name, (p2pkh, _) in NETWORKS.items()}
_P2PKH_PREFIX[None] = _P2PKH_PREFIX["mainnet"]


@lru_cache(maxsize=1 << 14)  # the same payee scripts recur across transactions
def describe_script(script: bytes, network: str | None) -> tuple:
    """``describe_output`` of the script's bytes."""
    hexed = script.hex()
    if (
        len(script) == 25
        and script[:3] == b"\x76\xa9\x14"
        and script[23] == 0x88
        and script[24] == OP_CHECKSIG
    ):  # the common case first: pay to key hash
        asm = f"OP_DUP OP_HASH160 {hexed[6:46]} OP_EQUALVERIFY OP_CHECKSIG"
        prefix = _P2PKH_PREFIX.get(network) or bytes((network_prefixes(network)[0],))
        # b58check_encode, not key_id_address: this function's cache is in front of it
        return asm, "pubkeyhash", b58check_encode(prefix + script[3:23])
    kind = output_type(script)
    address = None
    if kind == "scripthash":
        address = b58check_encode(bytes((network_prefixes(network)[1],)) + script[2:22])
    elif kind == "pubkeyhash":  # not reached: the fast path above takes it
        address = key_id_address(script[3:23], network)
    return asm_of(script, hexed), kind, address


def script_address(script_hex, network: str | None) -> str | None:
    """The address of a payout script (hex), or None when it has none."""
    return describe_output(script_hex, network)[2]


def sig_asm(script_hex) -> str | None:
    """A scriptSig (hex) as asm with signature hash types decoded."""
    try:
        script = bytes.fromhex(script_hex)
    except (TypeError, ValueError):
        return None
    return script_asm(script, sighash_decode=True)


__all__ = [
    "ASM_WORDS",
    "COIN",
    "NETWORKS",
    "SIGHASH_NAMES",
    "asm_of",
    "dash_amount",
    "describe_output",
    "describe_script",
    "key_id_address",
    "network_prefixes",
    "output_type",
    "script_address",
    "script_asm",
    "sig_asm",
]
