"""Requests paired with their answers, per peer-session and side (docs/CONVERSATIONS.md).

``PairTracker`` reads a capture's messages in order, each with its decoded
payload, and gives a ``Pair`` for every request once its fate is known:
answered (with the wait), answered by a ``notfound`` or a ``qdata`` error,
or never answered (with how long it waited before its connection fell
silent or the capture ended); and for every ``inv`` item that was never
requested, and every answer no request explains.  What pairs two messages
is their content (``pair_rules.py``); timing only measures.

A peer-session is (pid, peer id): Core never reuses a peer id within a
process (src/net.h ``NodeId``, counted up).  Its two sides are kept apart:
requests we send (``asked_by`` ``us``) are answered by inbound messages,
requests the peer sends (``peer``) by outbound ones.

Memory is bounded: at most ``MAX_OUTSTANDING`` requests per peer-session,
side and rule wait for an answer (and as many ``inv`` items for a request);
past that the oldest is given up (status ``dropped``).  A session silent
for longer than ``SWEEP_AFTER_NS`` is closed and forgotten while the
capture streams on.

>>> from p2pcap.formats.records import Message
>>> t = PairTracker()
>>> ping = Message(0, 1, 3, "10.0.0.1:9999", "inbound", "out", "ping", 8, bytes(8))
>>> pong = Message(2_000_000, 1, 3, "10.0.0.1:9999", "inbound", "in", "pong", 8, bytes(8))
>>> t.feed(ping, 0, {"nonce": 5}), [(p.rule, p.status, p.wait_ns) for p in t.feed(pong, 1, {"nonce": 5})]
([], [('ping', 'answered', 2000000)])
"""

from __future__ import annotations

from dataclasses import dataclass

from p2pcap.analysis.pair_queue import Ask, Queue, Session
from p2pcap.analysis.pair_rules import ask_or_answer, headers_answer, qrinfo_answer
from p2pcap.units import NS

# Requests of one rule waiting on one side of one peer-session.  Core keeps
# far fewer in flight (src/net_processing.cpp: one ping, MAX_PEER_OBJECT_IN_FLIGHT
# = 100 objects, MAX_BLOCKS_IN_TRANSIT_PER_PEER = 16 blocks); a getdata may
# name MAX_INV_SZ = 50000 items, which a peer is then served over time.
MAX_OUTSTANDING = 4096
# src/net_processing.cpp PING_INTERVAL: each side pings every 2 minutes, so
# a connection silent for two of them had closed (the tracepoints do not
# show disconnections).  A peer that stops answering pings may stay
# connected in silence until TIMEOUT_INTERVAL (src/net.h, 20 minutes): the
# wait of its requests is then a lower bound.
PING_INTERVAL_NS = 120 * NS
CLOSED_AFTER_NS = 2 * PING_INTERVAL_NS
# Forgotten while streaming only after a silence no live connection has:
# TIMEOUT_INTERVAL after the last ping, which comes within PING_INTERVAL.
SWEEP_AFTER_NS = 20 * 60 * NS + PING_INTERVAL_NS
_SWEEP_EVERY_NS = NS

ASKED_BY = {"out": "us", "in": "peer"}
_FLIP = {"out": "in", "in": "out"}
# qdata's nError: NONE (0), or UNDEFINED when Core left it out (decoded as None).
_QDATA_OK = (None, 0)


@dataclass(slots=True)
class Pair:
    """One request and its fate, or an announcement never requested, or an
    answer nothing asked for (``request`` None).

    ``status``: ``answered``, ``notfound``, ``rejected`` (a qdata error),
    ``unanswered``, ``dropped`` (over ``MAX_OUTSTANDING``), ``not-requested``
    (an inv item), ``unrequested`` (an answer with no request).
    ``wait_ns``: request to answer; for ``unanswered`` how long it waited,
    ``until`` the connection fell silent (``closed``) or the capture ended
    (``capture-end``).  ``*_seq`` number the messages in reading order.
    """

    rule: str
    status: str
    asked_by: str
    pid: int
    peer_id: int
    addr: str
    conn_type: str
    key: str
    request: str | None = None
    request_ns: int | None = None
    request_seq: int | None = None
    answer: str | None = None
    answer_ns: int | None = None
    answer_seq: int | None = None
    wait_ns: int | None = None
    until: str | None = None
    announce_ns: int | None = None
    announce_seq: int | None = None
    answers: int = 0
    answer_seqs: tuple = ()
    detail: str | None = None
    wanted: bool = True

    @property
    def to_request_ns(self) -> int | None:
        """inv to getdata, for a getdata whose item was announced on the session."""
        if self.announce_ns is None or self.request_ns is None:
            return None
        return self.request_ns - self.announce_ns

    def as_json(self) -> dict:
        """The pair as JSON (times in ns; ``wait_ms`` for reading).

        >>> Pair("ping", "answered", "us", 1, 3, "a", "inbound", "5", wait_ns=1_500_000).as_json()["wait_ms"]
        1.5
        """
        obj = {
            "rule": self.rule,
            "status": self.status,
            "asked_by": self.asked_by,
            "pid": self.pid,
            "peer_id": self.peer_id,
            "peer_addr": self.addr,
            "conn_type": self.conn_type,
            "key": self.key,
            "request": self.request,
            "request_ns": self.request_ns,
            "request_seq": self.request_seq,
            "answer": self.answer,
            "answer_ns": self.answer_ns,
            "answer_seq": self.answer_seq,
            "answers": self.answers,
            "wait_ns": self.wait_ns,
            "wait_ms": None if self.wait_ns is None else self.wait_ns / 1e6,
            "until": self.until,
            "announce_ns": self.announce_ns,
            "to_request_ns": self.to_request_ns,
            "detail": self.detail,
        }
        if len(self.answer_seqs) > 1:
            obj["answer_seqs"] = list(self.answer_seqs)
        return obj


def _text(rule: str, key, extra) -> str:
    """What paired the messages, for people (hashes whole)."""
    if rule == "ping":
        return str(key)
    if rule == "getdata":
        return f"{extra or key[0]} {key[1]}"
    if rule == "getheaders":
        stop, first = extra
        return f"locator {first}" if first else f"stop {stop}"
    if rule == "getmnlistd":
        return f"{key[0]}..{key[1]}"
    if rule == "getqrinfo":
        return str(extra)
    if rule == "qgetdata":
        llmq_type, quorum, mask, pro_tx = key
        return f"llmq {llmq_type} quorum {quorum} mask {mask} protx {pro_tx}"
    return "" if key is None else str(key)


def _answer_text(rule: str, key) -> str:
    """What names the request in an answer that none matched."""
    if rule == "getheaders":
        return f"after {key[0]}" if key else "empty"
    if rule == "getqrinfo":
        return "bases " + ",".join(sorted(k for k in key[0] if k))
    if rule == "getdata":
        return f"{key[0]} {key[1]}"
    return _text(rule, key, None)


class PairTracker:
    """Pairs requests with answers as messages stream by (see the module doc)."""

    def __init__(self, *, infer_closes: bool = True, max_outstanding: int = MAX_OUTSTANDING):
        self.infer_closes = infer_closes
        self.cap = max_outstanding
        self.sessions: dict = {}
        self.last_ns: int | None = None
        self._next_sweep: int | None = None

    # -- the stream -------------------------------------------------------------
    def feed(self, msg, seq: int, decoded, wanted: bool = True) -> list[Pair]:
        """The pairs ``msg`` settles (``decoded`` its payload, or None when it
        takes no part or did not decode); ``wanted`` marks the pairs whose
        request (or announcement) it is as selected by the caller's filter."""
        out: list[Pair] = []
        ts = msg.ts_ns
        self.last_ns = ts
        if self.infer_closes:
            if self._next_sweep is None:
                self._next_sweep = ts + _SWEEP_EVERY_NS
            elif ts >= self._next_sweep:
                self._next_sweep = ts + _SWEEP_EVERY_NS
                for key in [k for k, s in self.sessions.items() if ts - s.last_ns > SWEEP_AFTER_NS]:
                    out += self._close(self.sessions.pop(key), ts)
        skey = (msg.pid, msg.peer_id)
        sess = self.sessions.get(skey)
        if sess is None:
            sess = self.sessions[skey] = Session(msg)
        sess.last_ns = ts
        d = msg.direction
        burst = sess.burst[d]
        if burst is not None and msg.command != "spork":
            sess.burst[d] = None
            out.append(burst)
        if decoded is None and msg.command not in ("getsporks", "mempool"):
            return out
        facts = ask_or_answer(msg.command, decoded)
        if not facts:
            return out
        matched = False
        for fact in facts:
            kind = fact.kind
            if kind == "ask":
                self._ask(sess, msg, seq, fact, wanted, out)
            elif kind == "announce":
                self._announce(sess, msg, seq, fact, wanted, out)
            elif kind == "notfound":
                self._notfound(sess, msg, seq, fact, wanted, out)
            elif fact.rule == "mempool":
                self._mempool(sess, msg, seq, out)
            elif fact.rule in ("getblocktxn", "getsporks") and msg.command in ("block", "spork"):
                if not matched:
                    matched = self._second(sess, msg, seq, fact, out)
            else:
                matched = self._answer(sess, msg, seq, fact, out) or matched
        if not matched and any(f.kind == "answer" and f.rule != "mempool" for f in facts):
            first = next(f for f in facts if f.kind == "answer")
            out.append(self._unrequested(sess, msg, seq, first, wanted))
        return out

    def finish(self, end_ns: int | None = None) -> list[Pair]:
        """Every request still waiting, as unanswered at the capture's end
        (``end_ns``, else the last message fed)."""
        end = end_ns if end_ns is not None else self.last_ns
        out: list[Pair] = []
        for sess in self.sessions.values():
            out += self._close(sess, end)
        self.sessions.clear()
        return out

    # -- requests and announcements ---------------------------------------------
    def _queue(self, sess, side: str, rule: str) -> Queue:
        q = sess.queues.get((side, rule))
        if q is None:
            q = sess.queues[(side, rule)] = Queue(self.cap)
        return q

    def _ask(self, sess, msg, seq, fact, wanted, out) -> None:
        side = msg.direction
        ask = Ask(seq, msg.ts_ns, msg.command, wanted, _text(fact.rule, fact.key, fact.extra), fact.extra)
        if fact.rule == "getdata":
            announced = self._queue(sess, side, "inv").take(fact.key)
            if announced is not None:
                ask.announce_ns, ask.announce_seq = announced.ts, announced.seq
        gone = self._queue(sess, side, fact.rule).add(fact.key, ask)
        if gone is not None:
            out.append(self._pair(sess, fact.rule, "dropped", side, gone))

    def _announce(self, sess, msg, seq, fact, wanted, out) -> None:
        side = _FLIP[msg.direction]  # the side that would request it
        q = self._queue(sess, side, "inv")
        if q.first(fact.key) is not None:
            return  # announced again: the first announcement counts
        ask = Ask(seq, msg.ts_ns, "inv", wanted, _text("getdata", fact.key, fact.extra), fact.extra)
        gone = q.add(fact.key, ask)
        if gone is not None:
            out.append(self._announcement(sess, side, gone, "dropped"))

    # -- answers ---------------------------------------------------------------------
    def _answer(self, sess, msg, seq, fact, out) -> bool:
        side = _FLIP[msg.direction]
        q = sess.queues.get((side, fact.rule))
        if q is None or not q.n:
            return False
        if fact.rule == "getheaders":
            if fact.key is None:  # empty: only when it can answer one request alone
                ask = q.take_matching(lambda _k, _a: True) if q.n == 1 else None
            else:
                ask = q.take_matching(lambda k, a: headers_answer(k, a.extra[0], fact.key))
        elif fact.rule == "getqrinfo":
            ask = q.take_matching(lambda k, _a: qrinfo_answer(k[0], k[1], fact.key))
        else:
            ask = q.take(fact.key)
        if ask is None:
            return False
        status, detail = "answered", None
        if fact.rule == "qgetdata" and fact.extra[0] not in _QDATA_OK:
            status, detail = "rejected", fact.extra[1] or str(fact.extra[0])
        out.append(self._pair(sess, fact.rule, status, side, ask, msg, seq, detail=detail))
        return True

    def _second(self, sess, msg, seq, fact, out) -> bool:
        """A block no getdata waited for may answer a getblocktxn; a spork, a getsporks."""
        side = _FLIP[msg.direction]
        if fact.rule == "getblocktxn":
            return self._answer(sess, msg, seq, fact, out)
        burst = sess.burst[msg.direction]
        if burst is not None:
            burst.answers += 1
            burst.answer_seqs += (seq,)
            return True
        q = sess.queues.get((side, "getsporks"))
        ask = q.take(None) if q is not None else None
        if ask is None:
            return False
        pair = self._pair(sess, "getsporks", "answered", side, ask, msg, seq)
        sess.burst[msg.direction] = pair  # settled when the run of sporks ends
        return True

    def _notfound(self, sess, msg, seq, fact, wanted, out) -> None:
        side = _FLIP[msg.direction]
        q = sess.queues.get((side, "getdata"))
        ask = q.take(fact.key) if q is not None else None
        if ask is None:
            out.append(self._unrequested(sess, msg, seq, fact, wanted))
        else:
            out.append(self._pair(sess, "getdata", "notfound", side, ask, msg, seq))

    def _mempool(self, sess, msg, seq, out) -> None:
        q = sess.queues.get((_FLIP[msg.direction], "mempool"))
        ask = q.take(None) if q is not None else None
        if ask is not None:
            out.append(self._pair(sess, "mempool", "answered", _FLIP[msg.direction], ask, msg, seq))

    # -- the end of a session -----------------------------------------------------------
    def _close(self, sess, end_ns) -> list[Pair]:
        closed = self.infer_closes and end_ns - sess.last_ns > CLOSED_AFTER_NS
        until, until_ns = ("closed", sess.last_ns) if closed else ("capture-end", end_ns)
        out = [b for b in sess.burst.values() if b is not None]
        for (side, rule), q in sess.queues.items():
            for ask in q.drain():
                if rule == "inv":
                    out.append(self._announcement(sess, side, ask, "not-requested"))
                else:
                    pair = self._pair(sess, rule, "unanswered", side, ask)
                    pair.wait_ns, pair.until = until_ns - ask.ts, until
                    out.append(pair)
        out.sort(key=lambda p: p.request_seq if p.request_seq is not None else p.announce_seq or 0)
        return out

    # -- making pairs ---------------------------------------------------------------------
    def _pair(self, sess, rule, status, side, ask, msg=None, seq=None, detail=None) -> Pair:
        pair = Pair(
            rule,
            status,
            ASKED_BY[side],
            sess.pid,
            sess.peer_id,
            sess.addr,
            sess.conn_type,
            ask.text,
            ask.command,
            ask.ts,
            ask.seq,
            announce_ns=ask.announce_ns,
            announce_seq=ask.announce_seq,
            detail=detail,
            wanted=ask.wanted,
        )
        if msg is not None:
            pair.answer, pair.answer_ns, pair.answer_seq = msg.command, msg.ts_ns, seq
            pair.wait_ns, pair.answers, pair.answer_seqs = msg.ts_ns - ask.ts, 1, (seq,)
        return pair

    def _announcement(self, sess, side, ask, status) -> Pair:
        return Pair(
            "getdata",
            status,
            ASKED_BY[side],
            sess.pid,
            sess.peer_id,
            sess.addr,
            sess.conn_type,
            ask.text,
            announce_ns=ask.ts,
            announce_seq=ask.seq,
            wanted=ask.wanted,
        )

    def _unrequested(self, sess, msg, seq, fact, wanted=True) -> Pair:
        rule = fact.rule if fact.rule not in ("getblocktxn", "getsporks") else "getdata"
        return Pair(
            rule,
            "unrequested",
            ASKED_BY[_FLIP[msg.direction]],
            sess.pid,
            sess.peer_id,
            sess.addr,
            sess.conn_type,
            _answer_text(fact.rule, fact.key) if fact.key is not None or fact.rule == "getheaders" else "",
            answer=msg.command,
            answer_ns=msg.ts_ns,
            answer_seq=seq,
            answers=1,
            answer_seqs=(seq,),
            wanted=wanted,
        )
