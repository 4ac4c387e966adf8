"""What each message of a sample carries and names, as Dash Core sends it: ``Sample``.

tests/test_samples.py follows every hash of every sample with it.  A
``Sample`` reads a capture's messages in order and keeps:

- ``carried``: kind -> the hashes of the objects the capture carries.  Kinds
  are inv type names (``MSG_TX``, ``MSG_BLOCK``, ``MSG_CLSIG``, ``MSG_SPORK``,
  ``MSG_QUORUM_CONTRIB`` ...: what ``announced()`` says a message is, and
  every transaction of a block, compact block or ``blocktxn``), ``header``
  (a header from a block, cmpctblock, headers or headers2), ``block`` (a
  block with its transactions: a ``block``, or a ``cmpctblock`` whose short
  ids all match transactions the capture carries), ``protx`` (a ProRegTx,
  whose txid is the masternode's proTxHash, src/evo/providertx.h) and
  ``recsig`` (a recovered LLMQ signature, by its request: "id/msgHash",
  src/llmq/signing.h CSigBase), and ``state`` (chain state no message
  carries: merkle roots of the masternode and quorum lists, a quorum's
  verification-vector hash, which only BLS arithmetic could compute);
- ``named``: (where, kind, hash, message index) of each hash a message
  names; ``kinds`` gives each where's kind;
- ``problems``: what is wrong outright (a hash that is not the object's,
  an object carried twice that disagrees with itself, a message that does
  not decode, a command not followed here).

What each command carries (its hash as Core computes it) and names:

===============  ==============================  ====================================
command          carries                         names
===============  ==============================  ====================================
inv, getdata,    --                              each item, by its inv type
notfound
getblocks,       --                              locator blocks, the stop block
getheaders(2)
headers(2)       headers (X11 of the 80 bytes)   parents; the block of each
block            its header, the block whole,    its parent; its transactions'
                 its transactions (SHA256d)      inputs and special payloads
cmpctblock       its header, prefilled txs       parent; the block whole; each
                                                 short id (a txid, SipHash)
getblocktxn      --                              the peer's cmpctblock
blocktxn         transactions                    the getblocktxn, their inputs
tx               a transaction                   inputs, special payloads
clsig            itself; a recovered signature   its block (its CbTx height)
isdlock, islock  itself; a recovered signature   txid, inputs, cycle block
spork            itself                          --
getsporks        --                              (every spork: answered by spork)
qcontrib ...     itself (SHA256d)                quorum block, ProTx
qpcommit                                         (and quorum_vvec_hash, state)
qfcommit         itself                          quorum block, quorum_vvec_hash
qsigsesann       a session (its sender's)        quorum block, the signing request
qsigsinv,        --                              a session of their sender
qgetsigs, qbsigs
qsigrec          itself; a recovered signature   quorum block
mnauth           --                              proRegTxHash (a ProRegTx)
===============  ==============================  ====================================

Special transactions and the LLMQ's objects: tests/sample_masternodes.py.

Conversations: Core answers requests on the connection they came on, so
an answer names its request there (kind ``ANSWER``): a ``getdata`` asks for
what the peer announced (inv, or an orphan's parent, net_processing.cpp
"inv" and "tx"); ``notfound`` and an object message answer a ``getdata``
(ProcessGetData; a spork also a ``getsporks``, spork.cpp
ProcessGetSporks); ``getblocktxn`` asks for transactions of the peer's
``cmpctblock`` and ``blocktxn`` answers it (its transactions have the
short ids the compact block gave, blockencodings.cpp); the signing-share
messages name a session their own sender announced with ``qsigsesann``
(llmq/signing_shares.cpp SendMessages).  A ``tx`` or ``isdlock`` pushed
after a ``merkleblock`` is the exception, and ``merkleblock`` is not
followed here, so a capture holding one fails first.
"""

from __future__ import annotations

from collections import defaultdict
from typing import NamedTuple

from p2pcap.analysis.negotiation import VersionTracker
from p2pcap.decoders import DecodeError, announced, decode
from tests.sample_hashes import (
    NULL,
    carried_transactions,
    header_bytes,
    headers_hashes,
    meets_target,
    merkle_root,
    sha256d,
    short_id,
    short_id_keys,
    shown,
    x11,
)
from tests.sample_masternodes import DKG, DashObjects

ANSWER = "answer"  # an answer whose request the connection, held from its version on, lacks
BEFORE = "answer on a connection begun before the capture"
OTHER = {"in": "out", "out": "in"}

# One object asked for by getdata under several inv types (src/protocol.h;
# ProcessGetData answers MSG_CMPCT_BLOCK with a block when it is deep).
FAMILY = {
    "MSG_BLOCK": "block",
    "MSG_CMPCT_BLOCK": "block",
    "MSG_FILTERED_BLOCK": "block",
    "MSG_TX": "tx",
    "MSG_DSTX": "tx",
}

# Commands that name no object's hash, and what they hold instead.
HASHLESS = {
    "version": "versions, services, addresses, a height; its mnauth challenge is a random nonce",
    "verack": "empty",
    "sendaddrv2": "empty",
    "sendheaders": "empty",
    "sendheaders2": "empty",
    "wtxidrelay": "empty",
    "getaddr": "empty",
    "mempool": "empty",
    "sendcmpct": "a flag and a version",
    "senddsq": "a flag",
    "qsendrecsigs": "a flag",
    "feefilter": "a fee rate",
    "sendtxrcncl": "a version and a salt",
    "ping": "a nonce",
    "pong": "a nonce",
    "addr": "addresses",
    "addrv2": "addresses",
}

# Object messages Core sends only to answer a getdata of them (ProcessGetData).
ANSWERS = frozenset(
    "tx block spork clsig isdlock islock qcontrib qcomplaint qjustify qpcommit qfcommit".split()
)
# Objects whose hash is SHA256d of the whole payload (Core's ::SerializeHash):
# chainlock/clsig.h, instantsend/lock.h, spork.cpp GetHash, llmq/dkgmessages.h,
# llmq/commitment.h, llmq/signing.h CRecoveredSig::UpdateHash.
PAYLOAD_HASHED = frozenset(("clsig", "isdlock", "islock", "spork", "qfcommit", "qsigrec", *DKG))


class Message(NamedTuple):
    i: int
    conn: tuple[int, int]  # (pid, peer id): one connection seen from one node
    side: str  # "out": the node sent it; "in": the peer did
    command: str
    payload: bytes
    decoded: dict


class Sample(DashObjects):
    """The objects a capture carries, the hashes it names, and what is wrong (module docstring).

    >>> Sample([(1, 0, "out", "ping", bytes(8))]).problems
    []
    """

    def __init__(self, messages: list):
        self.carried: dict[str, set[str]] = defaultdict(set)
        self.named: list[tuple[str, str, str, int]] = []
        self.kinds: dict[str, str] = {}
        self.problems: list[str] = []
        self.said: dict[tuple, dict] = defaultdict(dict)  # (conn, side) -> what that side said
        self.begun: set[tuple[int, int]] = set()  # connections held from their version on
        self.cbtx_height: dict[str, int] = {}  # block hash -> its CbTx height
        self.clsigs: list[tuple[int, int, str]] = []  # (message, height, block hash)
        self.headers: dict[str, tuple[int, bytes]] = {}  # hash -> (message, 80 bytes)
        self.blocks: dict[str, list[str]] = {}  # hash -> txids, of blocks carried whole
        self.compacts: dict[str, list] = defaultdict(list)  # hash -> (message, keys, prefilled, short ids)
        self.pool: dict[str, set[str]] = defaultdict(set)  # block hash -> txids blocktxn carried
        self.loose: set[str] = set()  # txids of tx messages
        self.recsigs: dict[str, tuple[int, str, dict]] = {}  # signature -> (message, where, request)
        versions = VersionTracker()
        for i, message in enumerate(messages):
            if message[0] == "gap":  # a sample is a whole recording: nothing may be lost
                self.problems.append(f"message {i}: {message[1]} messages lost (a gap)")
                continue
            pid, peer, side, command, payload = message
            versions.see(pid, peer, side, command, payload)
            if command == "version":
                self.begun.add((pid, peer))
            follow = FOLLOW.get(command)
            if follow is None:
                if command not in HASHLESS:
                    self.problems.append(
                        f"message {i}: {command} is not followed by tests/test_samples.py yet"
                    )
                continue
            try:
                decoded = decode(command, payload, versions.version_for(pid, peer))
            except DecodeError as exc:
                self.problems.append(f"message {i}: {exc}")
                continue
            m = Message(i, (pid, peer), side, command, payload, decoded)
            if command not in ("inv", "getdata", "notfound"):
                for inv_type, value in announced(command, decoded):
                    self.carried[inv_type].add(value)
            if command in PAYLOAD_HASHED:
                self.check(i, f"{command} hash", shown(sha256d(payload)), decoded["hash"])
            if command in ANSWERS:
                self.answers(m)
            follow(self, m)
        self.finish()

    # -- bookkeeping -----------------------------------------------------------------
    def name(self, where: str, kind: str, value: str, i: int) -> None:
        if value != NULL:  # a null hash names nothing (a coinbase's prevout, no hash_stop)
            self.named.append((where, kind, value, i))
            self.kinds[where] = kind

    def check(self, i: int, what: str, ours, theirs) -> None:
        if ours != theirs:
            self.problems.append(f"message {i}: {what} is {ours}, the decoder says {theirs}")

    def say(self, m: Message, key: tuple, value=True) -> None:
        self.said[(m.conn, m.side)][key] = value

    def heard(self, m: Message, keys: list[tuple], where: str, same_side: bool = False):
        """What was said earlier on m's connection under one of keys (by the peer, or by
        m's own sender); a miss is named, never carried: kind ANSWER if the capture
        holds the connection from its start."""
        said = self.said[(m.conn, m.side if same_side else OTHER[m.side])]
        for key in keys:
            if key in said:
                return said[key]
        if m.conn in self.begun:
            self.name(where, ANSWER, f"connection {m.conn}: {keys[0]}", m.i)
        else:
            self.name(f"{where} (connection begun before the capture)", BEFORE, f"{m.conn}: {keys[0]}", m.i)
        return None

    def not_carried(self) -> dict[str, list[str]]:
        """where -> the hashes named there whose object is not in the capture."""
        out: dict[str, list[str]] = defaultdict(list)
        for where, kind, value, _ in self.named:
            if value not in self.carried.get(kind, ()):
                out[where].append(value)
        return dict(out)

    # -- conversations -----------------------------------------------------------------
    def answers(self, m: Message) -> None:
        inv_type, value = announced(m.command, m.decoded)[0]
        keys = [("asked", FAMILY.get(inv_type, inv_type), value)]
        if m.command == "spork":
            keys.append(("getsporks",))
        self.heard(m, keys, f"{m.command} answers a getdata")

    def inventory(self, m: Message) -> None:
        for inv_type, value in announced(m.command, m.decoded):
            self.name(f"{m.command} {inv_type}", inv_type, value, m.i)
            if m.command == "inv":
                self.say(m, ("inv", inv_type, value))
            elif m.command == "getdata":
                self.say(m, ("getdata", inv_type, value))
                self.say(m, ("asked", FAMILY.get(inv_type, inv_type), value))
                if FAMILY.get(inv_type) != "block":  # blocks are asked for from headers
                    self.heard(m, [("inv", inv_type, value)], f"getdata {inv_type}: announced by the peer")
            else:
                self.heard(m, [("getdata", inv_type, value)], "notfound: asked by the peer")

    # -- blocks and headers ------------------------------------------------------------
    def header(self, m: Message, header: dict, carries_transactions: bool) -> None:
        h, raw = header["hash"], header_bytes(header)
        self.check(m.i, f"{m.command} header hash (X11 of its fields)", x11(raw), h)
        if h in self.headers and self.headers[h][1] != raw:
            self.problems.append(f"message {m.i}: header {h} differs from message {self.headers[h][0]}'s")
        self.headers.setdefault(h, (m.i, raw))
        self.carried["header"].add(h)
        if not meets_target(h, header["bits"]):
            self.problems.append(f"message {m.i}: header {h} misses its target (bits {header['bits']:#x})")
        self.name(f"{m.command} prev_block", "header", header["prev_block"], m.i)
        if not carries_transactions:  # its transactions: carried if the same block comes whole
            self.name(f"{m.command} merkle_root", "block", h, m.i)

    def headers_message(self, m: Message) -> None:
        entries = [entry.get("header", entry) for entry in m.decoded["headers"]]
        if m.command == "headers":
            self.check(m.i, "header hashes", headers_hashes(m.payload), [entry["hash"] for entry in entries])
        for entry in entries:
            self.header(m, entry, carries_transactions=False)

    def locator(self, m: Message) -> None:
        for value in m.decoded["locator"]["have"]:
            self.name(f"{m.command} locator", "header", value, m.i)
        self.name(f"{m.command} stop", "header", m.decoded["stop"], m.i)

    def block(self, m: Message) -> None:
        header = m.decoded["header"]
        self.check(m.i, "block hash", x11(m.payload[:80]), header["hash"])
        self.header(m, header, carries_transactions=True)
        txids = [tx["txid"] for tx in m.decoded["vtx"]]
        self.check(m.i, "merkle root of its transactions", merkle_root(txids), header["merkle_root"])
        self.whole(m.i, header["hash"], txids)
        self.transactions(m, m.decoded["vtx"], block=header["hash"])

    def whole(self, i: int, h: str, txids: list[str]) -> None:
        if self.blocks.get(h, txids) != txids:
            self.problems.append(f"message {i}: block {h} carried again with other transactions")
        self.blocks[h] = txids
        self.carried["block"].add(h)

    def cmpctblock(self, m: Message) -> None:
        header = m.decoded["header"]
        h = header["hash"]
        self.check(m.i, "cmpctblock hash", x11(m.payload[:80]), h)
        self.header(m, header, carries_transactions=False)
        items = m.decoded["prefilledtxn"]
        self.transactions(m, [item["tx"] for item in items], block=h)
        prefilled = {item["index"]: item["tx"]["txid"] for item in items}
        count = len(prefilled) + len(m.decoded["shorttxids"])
        if any(k >= count for k in prefilled):  # blockencodings.cpp InitData: READ_STATUS_INVALID
            self.problems.append(f"message {m.i}: cmpctblock {h} prefills a transaction past its {count}")
            return
        slots = [k for k in range(count) if k not in prefilled]
        compact = (m.i, short_id_keys(m.payload), prefilled, dict(zip(slots, m.decoded["shorttxids"])))
        self.compacts[h].append(compact)
        self.say(m, ("cmpctblock", h), compact)

    def getblocktxn(self, m: Message) -> None:
        h, indexes = m.decoded["blockhash"], m.decoded["indexes"]
        compact = self.heard(m, [("cmpctblock", h)], "getblocktxn: the peer's cmpctblock")
        if compact is not None and not set(indexes) <= set(compact[3]):
            self.problems.append(f"message {m.i}: getblocktxn asks for {indexes}, not short ids of {h}")
        self.say(m, ("getblocktxn", h), indexes)

    def blocktxn(self, m: Message) -> None:
        h, txn = m.decoded["blockhash"], m.decoded["txn"]
        indexes = self.heard(m, [("getblocktxn", h)], "blocktxn: asked by the peer")
        self.transactions(m, txn)
        self.pool[h].update(tx["txid"] for tx in txn)
        compact = self.said[(m.conn, m.side)].get(("cmpctblock", h))  # what its sender had sent
        if indexes is None or compact is None:
            return
        if len(indexes) != len(txn):
            self.problems.append(
                f"message {m.i}: blocktxn of {h} has {len(txn)} transactions, {indexes} asked"
            )
        for k, tx in zip(indexes, txn):
            if short_id(compact[1], tx["txid"]) != compact[3].get(k):
                self.problems.append(
                    f"message {m.i}: blocktxn's transaction {k} of {h} is not its short id's"
                )

    # -- transactions --------------------------------------------------------------------
    def tx(self, m: Message) -> None:
        self.loose.add(m.decoded["txid"])
        self.transactions(m, [m.decoded])
        for txin in m.decoded["vin"]:  # an orphan's parents are asked for from its sender
            self.say(m, ("inv", "MSG_TX", txin["prevout"]["hash"]))
            self.say(m, ("inv", "MSG_DSTX", txin["prevout"]["hash"]))

    def transactions(self, m: Message, txs: list[dict], block: str | None = None) -> None:
        raws = carried_transactions(m.command, m.payload)
        if len(raws) != len(txs):
            self.problems.append(f"message {m.i}: {len(raws)} transactions in its bytes, {len(txs)} decoded")
        for tx, raw in zip(txs, raws):
            self.check(m.i, "txid", shown(sha256d(raw)), tx["txid"])
            self.carried["MSG_TX"].add(tx["txid"])
            for txin in tx["vin"]:
                self.name("tx input", "MSG_TX", txin["prevout"]["hash"], m.i)
            if tx.get("type"):
                self.special(m, tx, raw, block)

    # -- after the last message ----------------------------------------------------------
    def finish(self) -> None:
        for i, height, block in self.clsigs:
            if block in self.cbtx_height and self.cbtx_height[block] != height:
                self.problems.append(
                    f"message {i}: clsig height {height}, its block's CbTx says {self.cbtx_height[block]}"
                )
        for h, compacts in self.compacts.items():
            self.rebuild(h, compacts)

    def rebuild(self, h: str, compacts: list) -> None:
        """A compact block's transactions: its prefilled ones and, by short id, the block's
        own (if carried whole) or any the capture carries; once all are found their merkle
        root must be the header's, and every other compact form of the block agree."""
        merkle = shown(self.headers[h][1][36:68])
        for i, keys, prefilled, shorts in compacts:
            known = self.blocks.get(h)
            if known is None:
                found: dict[int, str] = {}
                for txid in self.pool[h] | self.loose:
                    found.setdefault(short_id(keys, txid), txid)
                txids = []
                for k in range(len(prefilled) + len(shorts)):
                    txid = prefilled.get(k) or found.get(shorts[k], f"short id {shorts[k]:012x} of {h}")
                    if k in shorts:
                        self.name("cmpctblock short id", "MSG_TX", txid, i)
                    txids.append(txid)
                if all(t in self.carried["MSG_TX"] for t in txids):
                    if merkle_root(txids) != merkle:
                        self.problems.append(
                            f"message {i}: cmpctblock {h}'s transactions miss its merkle root"
                        )
                    else:
                        self.whole(i, h, txids)
                continue
            if len(known) != len(prefilled) + len(shorts):
                self.problems.append(f"message {i}: cmpctblock {h} has a transaction count not its block's")
                continue
            for k, txid in prefilled.items():
                if known[k] != txid:
                    self.problems.append(f"message {i}: cmpctblock {h}'s transaction {k} is not its block's")
            for k, value in shorts.items():
                if short_id(keys, known[k]) != value:
                    self.problems.append(f"message {i}: cmpctblock {h}'s short id {k} is not its block's")


FOLLOW = {
    **dict.fromkeys(("inv", "getdata", "notfound"), Sample.inventory),
    **dict.fromkeys(("getblocks", "getheaders", "getheaders2"), Sample.locator),
    **dict.fromkeys(("headers", "headers2"), Sample.headers_message),
    **dict.fromkeys(DKG, Sample.dkg),
    **dict.fromkeys(("isdlock", "islock"), Sample.islock),
    **dict.fromkeys(("qsigsinv", "qgetsigs", "qbsigs"), Sample.shares),
    "block": Sample.block,
    "cmpctblock": Sample.cmpctblock,
    "getblocktxn": Sample.getblocktxn,
    "blocktxn": Sample.blocktxn,
    "tx": Sample.tx,
    "clsig": Sample.clsig,
    "spork": Sample.spork,
    "getsporks": Sample.getsporks,
    "qfcommit": Sample.qfcommit,
    "qsigsesann": Sample.sessions,
    "qsigrec": Sample.qsigrec,
    "mnauth": Sample.mnauth,
}
