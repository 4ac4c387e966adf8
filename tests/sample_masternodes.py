"""The Dash-only objects of a sample: special transactions, LLMQ messages, ChainLocks, InstantSend.

A mixin of tests/sample_objects.py's ``Sample`` (its bookkeeping: ``name``,
``check``, ``say``, ``heard``, ``carried``, ``problems``).

Special transactions: a ProRegTx carries its masternode (protx) and names
its collateral; ProUpServ/ProUpReg/ProUpRev name the ProTx; all four name
their inputs by inputsHash (src/evo/specialtx.cpp CalcTxInputsHash); a
CbTx names chain state and carries the best ChainLock's signature; a
mined commitment (type 6) carries the final commitment and names its
quorum block; an MNHF signal (type 7) carries a recovered signature
(src/evo/mnhftx.cpp).

A recovered signature is carried under several forms: ``qsigrec`` (its
whole CRecoveredSig), ``clsig`` (src/chainlock/clsig.cpp: the request of
height h is GenSigRequestId(h), the message the block hash), ``isdlock``
(src/instantsend/lock.cpp GetRequestId, the message the txid), a CbTx's
best ChainLock and an MNHF signal.  Every form of one signature must name
the same request: a BLS signature signs one hash (llmq/signhash.cpp).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.sample_hashes import (
    NULL,
    clsig_request_id,
    inputs_hash,
    islock_request_id,
    mnhf_message_hash,
    mnhf_request_id,
    sha256d,
    shown,
)

if TYPE_CHECKING:
    from tests.sample_objects import Message

DKG = ("qcontrib", "qcomplaint", "qjustify", "qpcommit")
PROTX = {1: "proregtx", 2: "proupservtx", 3: "proupregtx", 4: "prouprevtx"}  # src/evo/providertx.h


class DashObjects:
    """What Dash's own messages and special transactions carry and name (module docstring)."""

    def spork(self, m: Message) -> None:
        """Nothing more: its hash (PAYLOAD_HASHED) and its request (ANSWERS) are all it has."""

    def getsporks(self, m: Message) -> None:
        self.say(m, ("getsporks",))  # empty: a request for every active spork

    def sessions(self, m: Message) -> None:
        for ann in m.decoded["anns"]:  # CSigSesAnn
            self.name("qsigsesann quorum_hash", "header", ann["quorum_hash"], m.i)
            self.name("qsigsesann request", "recsig", f"{ann['id']}/{ann['msg_hash']}", m.i)
            self.say(m, ("session", ann["session_id"]), ann)

    def shares(self, m: Message) -> None:
        for item in m.decoded["batches" if m.command == "qbsigs" else "invs"]:
            key = ("session", item["session_id"])
            self.heard(m, [key], f"{m.command}: a session its sender announced", same_side=True)

    def special(self, m: Message, tx: dict, raw: bytes, block: str | None) -> None:
        """The hashes of a special transaction's payload (DIP-0002; src/evo/, src/llmq/)."""
        payload, kind = tx.get("extra_payload"), tx["type"]
        if tx.get("extra_payload_error") or not payload:
            self.problems.append(f"message {m.i}: tx {tx['txid']}: {tx.get('extra_payload_error')}")
            return
        if kind in PROTX:
            self.check(m.i, f"{PROTX[kind]} inputs_hash", inputs_hash(tx["vin"]), payload["inputs_hash"])
        if kind == 1:
            self.carried["protx"].add(tx["txid"])
            self.name("proregtx collateral", "MSG_TX", payload["collateral_outpoint"]["hash"], m.i)
        elif kind in PROTX:
            self.name(f"{PROTX[kind]} pro_tx_hash", "protx", payload["pro_tx_hash"], m.i)
        elif kind == 5:  # DIP-0004 CbTx (src/evo/cbtx.h)
            if block:
                self.cbtx_height[block] = payload["height"]
            for field in ("merkle_root_mn_list", "merkle_root_quorums"):
                self.name(f"cbtx {field}", "state", payload.get(field) or NULL, m.i)
            if payload.get("best_cl_signature"):  # the ChainLock of height - diff - 1 (evo/specialtxman.cpp)
                cl_height = payload["height"] - payload["best_cl_height_diff"] - 1
                self.recsig(
                    m.i,
                    "cbtx best_cl_signature",
                    payload["best_cl_signature"],
                    id=clsig_request_id(cl_height),
                )
        elif kind == 6:  # a mined final commitment: version, height, then the commitment
            commitment = bytes.fromhex(tx["extra_payload_raw"])[6:]
            self.carried["MSG_QUORUM_FINAL_COMMITMENT"].add(shown(sha256d(commitment)))
            self.commitment(m.i, "commitment tx", payload["commitment"])
        elif kind == 7:  # MNHF signal: a recovered signature of the mnhf request
            signal = payload["signal"]
            self.name("mnhf quorum_hash", "header", signal["quorum_hash"], m.i)
            request = {"id": mnhf_request_id(signal["version_bit"]), "msg_hash": mnhf_message_hash(raw)}
            self.recsig(m.i, "mnhf signal", signal["sig"], quorum_hash=signal["quorum_hash"], **request)

    # -- LLMQ -----------------------------------------------------------------------------
    def commitment(self, i: int, where: str, c: dict) -> None:
        self.name(f"{where} quorum_hash", "header", c["quorum_hash"], i)
        self.name(f"{where} quorum_vvec_hash", "state", c["quorum_vvec_hash"], i)

    def qfcommit(self, m: Message) -> None:
        self.commitment(m.i, "qfcommit", m.decoded["commitment"])

    def dkg(self, m: Message) -> None:
        self.name(f"{m.command} quorum_hash", "header", m.decoded["quorum_hash"], m.i)
        self.name(f"{m.command} pro_tx_hash", "protx", m.decoded["pro_tx_hash"], m.i)
        if m.command == "qpcommit":
            self.name("qpcommit quorum_vvec_hash", "state", m.decoded["quorum_vvec_hash"], m.i)

    def mnauth(self, m: Message) -> None:
        self.name("mnauth pro_reg_tx_hash", "protx", m.decoded["pro_reg_tx_hash"], m.i)

    def qsigrec(self, m: Message) -> None:
        d = m.decoded
        self.name("qsigrec quorum_hash", "header", d["quorum_hash"], m.i)
        fields = {key: d[key] for key in ("llmq_type", "quorum_hash", "id", "msg_hash")}
        self.recsig(m.i, "qsigrec", d["sig"], **fields)

    def clsig(self, m: Message) -> None:
        d = m.decoded
        self.name("clsig block_hash", "header", d["block_hash"], m.i)
        self.clsigs.append((m.i, d["height"], d["block_hash"]))
        self.recsig(m.i, "clsig", d["sig"], id=clsig_request_id(d["height"]), msg_hash=d["block_hash"])

    def islock(self, m: Message) -> None:
        d = m.decoded
        self.name(f"{m.command} txid", "MSG_TX", d["txid"], m.i)
        for outpoint in d["inputs"]:
            self.name(f"{m.command} input", "MSG_TX", outpoint["hash"], m.i)
        if d.get("cycle_hash"):
            self.name(f"{m.command} cycle_hash", "header", d["cycle_hash"], m.i)
        self.recsig(m.i, m.command, d["sig"], id=islock_request_id(d["inputs"]), msg_hash=d["txid"])

    def recsig(self, i: int, where: str, sig: str, **request) -> None:
        """One recovered signature, carried as where; every carrier of the same signature
        must name the same request (a BLS signature signs one hash, llmq/signhash.cpp)."""
        if not sig.strip("0"):
            return  # a null signature (src/bls/bls.h): none yet
        if "id" in request and "msg_hash" in request:
            self.carried["recsig"].add(f"{request['id']}/{request['msg_hash']}")
        if sig not in self.recsigs:
            self.recsigs[sig] = (i, where, dict(request))
            return
        j, other, known = self.recsigs[sig]
        for key in sorted(request.keys() & known.keys()):
            if request[key] != known[key]:
                self.problems.append(
                    f"message {i}: {where} and message {j}'s {other} carry one signature"
                    f" for different {key}: {request[key]} and {known[key]}"
                )
        known.update(request)
