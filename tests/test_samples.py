"""Every capture in samples/ is consistent: each hash a message names is an object's hash.

For every capture in samples/ (the stand-in's ``.msgs`` files and ``.cap``
recordings; a file there that this test cannot read fails it, so a capture
added later is never passed over), each message is decoded and followed
(``tests/sample_objects.py`` says, command by command, what each carries
and names, and why):

- every object it carries is indexed by the hash Dash Core gives it,
  computed here (``tests/sample_hashes.py``) and checked against the
  decoder's: a header's X11, a transaction's SHA256d, a clsig's, isdlock's,
  spork's, DKG message's, final commitment's or recovered signature's
  SHA256d; every header meets its own ``bits``, a block's merkle root is
  its transactions' (a compact block's too, once its short ids are matched
  to transactions the capture carries);
- every hash it names is followed to the object: inventories, locators,
  parents, merkle roots, inputs, a clsig's block, quorum hashes (blocks),
  ProTx hashes, signing requests;
- an object carried twice agrees with itself: a header's fields, a compact
  block's transactions and the block's, a recovered signature carried as
  ``qsigrec``, ``clsig``, ``isdlock``, CbTx or MNHF signal;
- what answers a request follows it on the same connection, as Core sends
  it: a ``getdata`` asks for what the peer announced, ``notfound`` and an
  object answer a ``getdata``, ``getblocktxn`` a ``cmpctblock``,
  ``blocktxn`` a ``getblocktxn``, the signing-share messages name a session
  their sender announced.

A hash whose object the capture does not carry is reported by where it is
named ("getheaders2 locator", "tx input" ...).  In a synthetic sample that
is allowed only where ``NOT_CARRIED`` says the sample leaves the object out
on purpose, and a declared omission that no longer happens fails too.  A
capture of a live network (``LIVE``) is a window: what it names but does
not carry is reported (``pytest -rP``), except an answer whose request is
missing on a connection the capture holds from its ``version`` on.  A
command not followed fails, so nothing is left unchecked without saying so.
"""

from __future__ import annotations

import doctest
import struct
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

import p2pcap
from p2pcap.formats import Gap
from tests import sample_hashes, sample_objects
from tests.sample_hashes import carried_transactions, meets_target, sha256d, x11
from tests.sample_objects import ANSWER, Sample

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
NOT_CAPTURES = {"make_session.py": "writes regtest-session.msgs", "README.md": "the samples' notes"}

# What samples/make_session.py leaves out on purpose (its docstring says why), and the two
# answers its scripted session pushes where Core would wait for a getdata.
REGTEST_SESSION = {
    "getheaders2 locator": "blocks 197 and 196, the node's chain before the session",
    "headers prev_block": "block 197, the parent of the first header sent",
    "headers merkle_root": "the coinbases of blocks 198-200: a headers message carries no transactions",
    "isdlock cycle_hash": "block 192, the first block of the signing quorum's DKG cycle",
    "isdlock input": "the transaction tx1 spends",
    "tx input": "the transactions tx1 and tx2 spend",
    "cbtx merkle_root_mn_list": "the masternode list (chain state)",
    "cbtx merkle_root_quorums": "the quorum commitments (chain state)",
    "clsig answers a getdata": "the session pushes its clsig unasked; Core sends one for a getdata only",
    "isdlock answers a getdata": "the session pushes its isdlock unasked, as its clsig",
}
NOT_CARRIED = {"regtest-session.msgs": REGTEST_SESSION, "regtest-session.cap": REGTEST_SESSION}
# Recordings of real nodes (samples/README.md): windows of a live network.
LIVE = {
    "realnode-regtest.cap": "a window: blocks before it (genesis, locators) are named, not carried",
    "realnode-masternodes.cap": "a window: the functional test's cached chain (ProRegTxs, quorums) came before",
}


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


_FOUND: dict[Path, Sample] = {}


def found_in(path: Path) -> Sample:
    """The Sample of a file, followed once for all the tests that look at it."""
    if path not in _FOUND:
        _FOUND[path] = Sample(read(path))
    return _FOUND[path]


# -- the tests ---------------------------------------------------------------------
@pytest.fixture(params=sample_files(), ids=lambda p: str(p.relative_to(SAMPLES)))
def sample(request) -> tuple[Path, Sample]:
    return request.param, found_in(request.param)


def test_samples_holds_captures():
    names = {p.name for p in sample_files()}
    assert names >= {"regtest-session.msgs", "regtest-session.cap", *LIVE}
    assert not set(NOT_CARRIED) & set(LIVE), "a sample is either synthetic or live"


def test_the_hashes_computed_here_are_cores():
    """SipHash's reference vector, X11, a request id (the examples of tests/sample_hashes.py)."""
    for module in (sample_hashes, sample_objects):
        failed, tried = doctest.testmod(module)
        assert tried >= 1 and failed == 0, module.__name__


def test_each_object_has_the_hash_it_is_named_by(sample):
    path, found = sample
    assert found.problems == [], f"samples/{path.name}:\n" + "\n".join(found.problems[:40])


def unanswered(found: Sample) -> list[str]:
    """The answers whose request is missing on a connection the capture holds from its start."""
    return [
        v for where, values in found.not_carried().items() if found.kinds[where] == ANSWER for v in values
    ]


def report(path: Path, found: Sample, declared: dict) -> None:
    """What the capture names but does not carry, by kind and by where (pytest -rP shows it)."""
    missing = found.not_carried()
    kinds = Counter()
    for where, hashes in sorted(missing.items()):
        kinds[found.kinds[where]] += len(hashes)
        why = declared.get(where, LIVE.get(path.name, "NOT DECLARED"))
        print(f"samples/{path.name}: not carried, {where}: {len(hashes)} ({why})")
    for kind, count in sorted(kinds.items()):
        print(f"samples/{path.name}: not carried, kind {kind}: {count}")


def test_each_named_object_is_carried_or_left_out_on_purpose(sample):
    path, found = sample
    missing = found.not_carried()
    if path.name in LIVE:
        report(path, found, {})
        assert unanswered(found) == [], (
            f"samples/{path.name}: answers without their request on the connection"
        )
        return
    declared = NOT_CARRIED.get(path.name, {})
    report(path, found, declared)
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


@pytest.fixture(scope="module")
def masternodes() -> list:
    messages = read_cap(SAMPLES / "realnode-masternodes.cap")
    assert all(m[0] != "gap" for m in messages)  # the tests below index every message
    return messages


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
            if not meets_target(x11(header), 0x207FFFFF):
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


def test_a_changed_compact_block_header_no_longer_names_its_block(masternodes):
    """A cmpctblock a getblocktxn asks about, one byte of its header flipped: the getblocktxn now
    names a block the peer never sent on that connection, which fails a live capture."""
    asked = {(m[0], m[1], m[4][:32]) for m in masternodes if m[3] == "getblocktxn"}
    at = next(
        i
        for i, m in enumerate(masternodes)
        if m[3] == "cmpctblock" and (m[0], m[1], wire_hash(m[4])) in asked
    )
    before = x11(masternodes[at][4][:80])
    payload = masternodes[at][4]
    bad = list(masternodes)
    bad[at] = (*bad[at][:4], payload[:68] + bytes([payload[68] ^ 1]) + payload[69:])  # its time
    assert not [v for v in unanswered(found_in(SAMPLES / "realnode-masternodes.cap")) if before in v]
    assert [v for v in unanswered(Sample(bad)) if before in v and "cmpctblock" in v]


def wire_hash(cmpctblock: bytes) -> bytes:
    """A compact block's hash as a getblocktxn names it: X11 of the header, in wire order."""
    return bytes.fromhex(x11(cmpctblock[:80]))[::-1]


def test_a_recovered_signature_with_another_id_is_found(masternodes):
    """A qsigrec whose request id is changed no longer agrees with the clsig carrying its signature."""
    clsig_sigs = {m[4][36:] for m in masternodes if m[3] == "clsig"}  # height, block hash, sig
    # llmqType, quorumHash, id, msgHash, sig (src/llmq/signing.h CRecoveredSig)
    at = next(i for i, m in enumerate(masternodes) if m[3] == "qsigrec" and m[4][97:] in clsig_sigs)
    payload = masternodes[at][4]
    bad = list(masternodes)
    bad[at] = (*bad[at][:4], payload[:33] + bytes([payload[33] ^ 1]) + payload[34:])  # its id
    problems = Sample(bad).problems
    assert [p for p in problems if "one signature for different id" in p], problems


def test_a_blocktxn_with_other_transactions_is_found(masternodes):
    """A blocktxn whose two transactions trade places: neither has the short id its cmpctblock gave."""
    at = next(i for i, m in enumerate(masternodes) if m[3] == "blocktxn" and m[4][32] == 2)
    payload = masternodes[at][4]
    first, second = carried_transactions("blocktxn", payload)
    assert first != second
    swapped = (*masternodes[at][:4], payload[:33] + second + first)
    assert Sample(masternodes[: at + 1]).problems == []  # unchanged, the capture so far is consistent
    problems = Sample([*masternodes[:at], swapped]).problems
    assert len([p for p in problems if "is not its short id's" in p]) == 2, problems


def test_a_getdata_of_what_the_peer_never_announced_is_found():
    """Without its inv messages the regtest network asks for transactions nobody announced."""
    messages = [m for m in read_cap(SAMPLES / "realnode-regtest.cap") if m[0] == "gap" or m[3] != "inv"]
    missing = Sample(messages).not_carried()
    assert "getdata MSG_TX: announced by the peer" in missing
    assert (
        "getdata MSG_TX: announced by the peer"
        not in found_in(SAMPLES / "realnode-regtest.cap").not_carried()
    )
