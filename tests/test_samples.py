"""Every capture in samples/ is consistent: each hash a message names is an object's hash.

For every capture in samples/ (the stand-in's ``.msgs`` files and ``.cap``
recordings; a file there that this test cannot read fails it, so a capture
added later is never passed over), each message is decoded and:

- every object it carries is indexed by its hash, computed here and checked
  against the decoder's: a block header's X11 (``dash_hash``) of its 80
  bytes, a transaction's SHA256d, a clsig's or an isdlock's SHA256d of its
  payload (Core's ``::SerializeHash``), other objects' hash as
  ``p2pcap.decoders.announced`` gives it; every header meets its own
  ``bits`` (src/pow.cpp CheckProofOfWork) and a block's merkle root is its
  transactions' (src/consensus/merkle.cpp);
- every hash it names is followed to the object (``NAMES`` below): inv,
  getdata and notfound items by their type, the clsig's block (whose CbTx
  height must be the clsig's), the isdlock's transaction, inputs and cycle
  block, transactions' inputs, headers' parents and merkle roots, locators
  and the CbTx's merkle roots.

A hash whose object the capture does not carry is reported by where it is
named ("getheaders2 locator", "tx input" ...); that is allowed only where
``NOT_CARRIED`` says the sample leaves the object out on purpose, and a
declared omission that no longer happens fails too.  A command whose named
hashes are not followed here yet fails, so nothing is left unchecked
without saying so.
"""

from __future__ import annotations

import hashlib
import struct
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import dash_hash
import pytest

import p2pcap
from p2pcap.analysis.negotiation import VersionTracker
from p2pcap.decoders import DecodeError, announced, decode
from p2pcap.formats import Gap

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
NOT_CAPTURES = {"make_session.py": "writes regtest-session.msgs"}

# What samples/make_session.py leaves out on purpose (its docstring says why).
REGTEST_SESSION = {
    "getheaders2 locator": "blocks 197 and 196, the node's chain before the session",
    "headers prev_block": "block 197, the parent of the first header sent",
    "headers merkle_root": "the coinbases of blocks 198-200: a headers message carries no transactions",
    "isdlock cycle_hash": "block 192, the first block of the signing quorum's DKG cycle",
    "isdlock input": "the transaction tx1 spends",
    "tx input": "the transactions tx1 and tx2 spend",
    "cbtx merkle_root_mn_list": "the masternode list (chain state)",
    "cbtx merkle_root_quorums": "the quorum commitments (chain state)",
}
NOT_CARRIED = {"regtest-session.msgs": REGTEST_SESSION, "regtest-session.cap": REGTEST_SESSION}

INVENTORIES = ("inv", "getdata", "notfound")
LOCATORS = ("getblocks", "getheaders", "getheaders2")
HEADERS = ("headers", "headers2")
# Commands that name no object's hash (a version's mnauth challenge is a nonce).
HASHLESS = frozenset(
    "version verack sendaddrv2 sendheaders sendheaders2 sendcmpct senddsq getaddr addr addrv2 "
    "ping pong mempool feefilter sendtxrcncl wtxidrelay qsendrecsigs spork".split()
)
FOLLOWED = frozenset((*INVENTORIES, *LOCATORS, *HEADERS, "tx", "block", "clsig", "isdlock", "islock"))
NULL = "00" * 32


def sha256d(data: bytes) -> bytes:
    return hashlib.sha256(hashlib.sha256(data).digest()).digest()


def shown(wire: bytes) -> str:
    """A hash as RPC shows it: the wire bytes reversed, in hex."""
    return wire[::-1].hex()


def meets_target(block_hash: str, bits: int) -> bool:
    """src/pow.cpp CheckProofOfWork: the hash as a number at most the compact target."""
    return int(block_hash, 16) <= (bits & 0xFFFFFF) << (8 * ((bits >> 24) - 3))


def merkle_root(txids: list[str]) -> str:
    """src/consensus/merkle.cpp ComputeMerkleRoot: pairs hashed, an odd last one doubled."""
    level = [bytes.fromhex(t)[::-1] for t in txids]
    while len(level) > 1:
        if len(level) % 2:
            level.append(level[-1])
        level = [sha256d(level[i] + level[i + 1]) for i in range(0, len(level), 2)]
    return shown(level[0]) if level else NULL


def compact_size(data: bytes, at: int) -> tuple[int, int]:
    first = data[at]
    width = {0xFD: 2, 0xFE: 4, 0xFF: 8}.get(first, 0)
    return (int.from_bytes(data[at + 1 : at + 1 + width], "little") if width else first), at + 1 + width


def header_hashes(payload: bytes) -> list[str]:
    """X11 of each 80-byte header of a ``headers`` payload, read here, not by the decoder."""
    count, at = compact_size(payload, 0)
    out = []
    for _ in range(count):
        out.append(shown(dash_hash.getPoWHash(payload[at : at + 80])))
        _, at = compact_size(payload, at + 80)  # tx_count, always 0
    return out


# -- reading the captures ----------------------------------------------------------
def read_msgs(path: Path) -> list:
    """(pid, peer_id, direction, command, payload) of a stand-in message file."""
    out = []
    for line in path.read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        direction, peer, _addr, _conn, command, payload = line.split("\t")
        if command != "-":  # a disconnection, not a message (tests/standin/standin_node.c)
            out.append((0, int(peer), direction, command, bytes.fromhex(payload)))
    return out


def read_cap(path: Path) -> list:
    """The same of a p2pcap capture; a gap is ("gap", lost messages) and a cut message fails."""
    out = []
    with p2pcap.open(path) as capture:
        for r in capture.records():
            if isinstance(r, Gap):
                out.append(("gap", r.lost_messages))
                continue
            assert len(r.payload) == r.msg_size, f"{path.name}: a {r.command} cut by a snap length"
            out.append((r.pid, r.peer_id, r.direction, r.command, r.payload))
    return out


READERS = {".msgs": read_msgs, ".cap": read_cap}


def sample_files() -> list[Path]:
    return sorted(p for p in SAMPLES.rglob("*") if p.is_file() and p.name not in NOT_CAPTURES)


def read(path: Path) -> list:
    reader = READERS.get(path.suffix)
    if reader is None:
        pytest.fail(f"samples/{path.relative_to(SAMPLES)}: not a capture tests/test_samples.py can read")
    return reader(path)


# -- following hashes --------------------------------------------------------------
class Sample:
    """The objects a capture carries (kind -> hashes) and the hashes it names.

    Kinds are inv type names (``MSG_TX``, ``MSG_BLOCK`` ...), ``header``
    (any header: a block's or a headers message's) and ``block`` (a block
    with all its transactions, a ``block`` message).  ``named`` holds
    (where, kind, hash, message index); ``problems`` what is wrong outright.
    """

    def __init__(self, messages: list):
        self.carried: dict[str, set[str]] = defaultdict(set)
        self.named: list[tuple[str, str, str, int]] = []
        self.problems: list[str] = []
        self.cbtx_height: dict[str, int] = {}  # block hash -> its CbTx height
        self.clsigs: list[tuple[int, int, str]] = []  # (message, height, block hash)
        versions = VersionTracker()
        for i, message in enumerate(messages):
            if message[0] == "gap":
                self.name("lost messages", "gap", str(message[1]), i)
                continue
            pid, peer, direction, command, payload = message
            versions.see(pid, peer, direction, command, payload)
            if command not in FOLLOWED | HASHLESS:
                self.problems.append(f"message {i}: {command} is not followed by tests/test_samples.py yet")
                continue
            try:
                decoded = decode(command, payload, versions.version_for(pid, peer))
            except DecodeError as exc:
                self.problems.append(f"message {i}: {exc}")
                continue
            self.add(i, command, payload, decoded)
        for i, height, block in self.clsigs:
            if block in self.cbtx_height and self.cbtx_height[block] != height:
                self.problems.append(
                    f"message {i}: clsig height {height}, its block's CbTx says {self.cbtx_height[block]}"
                )

    def name(self, where: str, kind: str, value: str, i: int) -> None:
        if value != NULL:  # a null hash names nothing (a coinbase's prevout, no hash_stop)
            self.named.append((where, kind, value, i))

    def check(self, i: int, what: str, ours, theirs) -> None:
        if ours != theirs:
            self.problems.append(f"message {i}: {what} is {ours}, the decoder says {theirs}")

    def add(self, i: int, command: str, payload: bytes, decoded: dict) -> None:
        for inv_type, value in announced(command, decoded):
            if command not in INVENTORIES:
                self.carried[inv_type].add(value)
        if command in INVENTORIES:
            for inv_type, value in announced(command, decoded):
                self.name(f"{command} {inv_type}", inv_type, value, i)
        elif command == "tx":
            self.check(i, "txid", shown(sha256d(payload)), decoded["txid"])
            self.transaction(i, decoded)
        elif command in ("clsig", "isdlock", "islock"):
            self.check(i, f"{command} hash", shown(sha256d(payload)), decoded["hash"])
            if command == "clsig":
                self.name("clsig block_hash", "header", decoded["block_hash"], i)
                self.clsigs.append((i, decoded["height"], decoded["block_hash"]))
            else:
                self.name(f"{command} txid", "MSG_TX", decoded["txid"], i)
                for outpoint in decoded["inputs"]:
                    self.name(f"{command} input", "MSG_TX", outpoint["hash"], i)
                if decoded.get("cycle_hash"):
                    self.name(f"{command} cycle_hash", "header", decoded["cycle_hash"], i)
        elif command == "block":
            header = decoded["header"]
            self.check(i, "block hash", shown(dash_hash.getPoWHash(payload[:80])), header["hash"])
            self.header(i, command, header, carries_transactions=True)
            txids = [tx["txid"] for tx in decoded["vtx"]]
            self.check(i, "merkle root of its transactions", merkle_root(txids), header["merkle_root"])
            self.carried["block"].add(header["hash"])
            for tx in decoded["vtx"]:
                self.carried["MSG_TX"].add(tx["txid"])
                self.transaction(i, tx, block=header["hash"])
        elif command in HEADERS:
            entries = [entry.get("header", entry) for entry in decoded["headers"]]
            if command == "headers":
                self.check(i, "header hashes", header_hashes(payload), [entry["hash"] for entry in entries])
            for entry in entries:
                self.header(i, command, entry, carries_transactions=False)
        elif command in LOCATORS:
            for value in decoded["locator"]["have"]:
                self.name(f"{command} locator", "header", value, i)
            self.name(f"{command} stop", "header", decoded["stop"], i)

    def header(self, i: int, command: str, header: dict, carries_transactions: bool) -> None:
        self.carried["header"].add(header["hash"])
        if not meets_target(header["hash"], header["bits"]):
            self.problems.append(
                f"message {i}: header {header['hash']} misses its target (bits {header['bits']:#x})"
            )
        self.name(f"{command} prev_block", "header", header["prev_block"], i)
        if not carries_transactions:  # its transactions: carried if the same block comes whole
            self.name(f"{command} merkle_root", "block", header["hash"], i)

    def transaction(self, i: int, tx: dict, block: str | None = None) -> None:
        for txin in tx["vin"]:
            self.name("tx input", "MSG_TX", txin["prevout"]["hash"], i)
        cbtx = tx.get("extra_payload") if tx.get("type") == 5 else None
        if cbtx:  # DIP-0004 CbTx (src/evo/cbtx.h)
            if block:
                self.cbtx_height[block] = cbtx["height"]
            for field in ("merkle_root_mn_list", "merkle_root_quorums"):
                self.name(f"cbtx {field}", "state", cbtx[field], i)

    def not_carried(self) -> dict[str, list[str]]:
        """where -> the hashes named there whose object is not in the capture.

        A headers message's merkle root is followed to the same block coming
        whole, whose root is checked against its transactions.
        """
        out: dict[str, list[str]] = defaultdict(list)
        for where, kind, value, _ in self.named:
            if value not in self.carried.get(kind, ()):
                out[where].append(value)
        return dict(out)


# -- the tests ---------------------------------------------------------------------
@pytest.fixture(params=sample_files(), ids=lambda p: str(p.relative_to(SAMPLES)))
def sample(request) -> tuple[Path, Sample]:
    return request.param, Sample(read(request.param))


def test_samples_holds_captures():
    assert {p.name for p in sample_files()} >= {"regtest-session.msgs", "regtest-session.cap"}


def test_each_object_has_the_hash_it_is_named_by(sample):
    path, found = sample
    assert found.problems == [], f"samples/{path.name}:\n" + "\n".join(found.problems)


def test_each_named_object_is_carried_or_left_out_on_purpose(sample):
    path, found = sample
    missing = found.not_carried()
    declared = NOT_CARRIED.get(path.name, {})
    for where, hashes in sorted(missing.items()):  # the report (pytest -rP shows it)
        print(
            f"samples/{path.name}: not carried, {where}: {len(hashes)} ({declared.get(where, 'NOT DECLARED')})"
        )
    undeclared = {where: hashes for where, hashes in missing.items() if where not in declared}
    assert undeclared == {}, f"samples/{path.name} names objects it does not carry"
    assert set(declared) - set(missing) == set(), "declared left out, but carried (or no longer named)"


def test_a_recording_holds_its_message_file():
    """Each .cap beside a .msgs of the same name is a recording of it, message for message."""
    pairs = [(p, p.with_suffix(".msgs")) for p in sample_files() if p.suffix == ".cap"]
    pairs = [(cap, msgs) for cap, msgs in pairs if msgs.exists()]
    assert pairs
    for cap, msgs in pairs:
        recorded = [
            (peer, direction, command, payload) for _pid, peer, direction, command, payload in read(cap)
        ]
        assert recorded == [m[1:] for m in read(msgs)], f"{cap.name} is not a recording of {msgs.name}"


def test_make_session_writes_the_sample(tmp_path):
    out = tmp_path / "session.msgs"
    subprocess.run([sys.executable, str(SAMPLES / "make_session.py"), str(out)], check=True)
    assert out.read_bytes() == (SAMPLES / "regtest-session.msgs").read_bytes()


# -- the checks can fail ----------------------------------------------------------------
def replaced(messages: list, command: str, change) -> list:
    return [(*m[:4], change(m[4])) if m[0] != "gap" and m[3] == command else m for m in messages]


@pytest.fixture(scope="module")
def session() -> list:
    return read_msgs(SAMPLES / "regtest-session.msgs")


def test_a_block_named_by_another_hash_is_found(session):
    """The sample's old fault: inv, getdata and clsig named a hash that was not the block's X11."""
    block = next(m[4] for m in session if m[3] == "block")
    wrong = sha256d(block[:80])  # SHA256d, not X11
    bad = replaced(session, "clsig", lambda p: p[:4] + wrong + p[36:])
    bad = [
        (*m[:4], b"\x01" + struct.pack("<I", 2) + wrong) if m[3] in ("inv", "getdata") and m[4][1] == 2 else m
        for m in bad
    ]
    missing = Sample(bad).not_carried()
    assert {"inv MSG_BLOCK", "getdata MSG_BLOCK", "clsig block_hash"} <= set(missing)


def test_a_changed_transaction_breaks_its_block_and_its_names(session):
    def flip(payload: bytes) -> bytes:
        return payload[:-5] + bytes([payload[-5] ^ 1]) + payload[-4:]  # the last output's script

    sample = Sample(replaced(session, "block", flip))
    assert any("merkle root" in p for p in sample.problems), sample.problems
    assert "isdlock txid" not in sample.not_carried()  # tx1 still comes as a tx message
    sample = Sample(replaced(replaced(session, "block", flip), "tx", flip))
    assert {"inv MSG_TX", "getdata MSG_TX", "isdlock txid"} <= set(sample.not_carried())


def test_a_header_that_misses_its_target_is_found(session):
    def unmined(payload: bytes) -> bytes:
        for nonce in range(1 << 16):
            header = payload[1:77] + struct.pack("<I", nonce)
            if not meets_target(shown(dash_hash.getPoWHash(header)), 0x207FFFFF):
                return payload[:1] + header + payload[81:]
        raise AssertionError("every nonce meets the target")

    problems = Sample(replaced(session, "headers", unmined)).problems
    assert any("misses its target" in p for p in problems), problems


def test_a_clsig_of_another_height_is_found(session):
    problems = Sample(replaced(session, "clsig", lambda p: struct.pack("<i", 202) + p[4:])).problems
    assert any("clsig height 202" in p for p in problems), problems


def test_a_command_not_followed_is_said(session):
    problems = Sample([*session, (0, 0, "in", "mnlistdiff", b"")]).problems
    assert any("mnlistdiff is not followed" in p for p in problems), problems
