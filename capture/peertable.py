"""The names of the peers the kernel announced, bounded: two generations of refs.

The BPF program names a peer once per CPU with an EV_PEER record and a
reference number (``ref``), then sends only the ref with each message
(p2p_messages.bpf.c, ``peer_cache``).  Refs are never reused, and the
program hands out new ones whenever its per-CPU cache loses a peer: two
live peers whose ids are PEER_SLOTS apart share a slot and are named anew
at every turn, a node restarting (a new pid) names all its peers again,
and a node up for weeks meets peer ids by the hundred thousand (Dash
Core's ``CConnman::GetNewNodeId`` counts up and never reuses one).  A
plain ref -> name dictionary therefore grows with every announcement: in
the first case with every message, ~300 bytes each (issue 29).

``PeerTable`` keeps two generations instead.  New names go into the
current one; a lookup that misses there tries the older one.  When the
current generation holds ``size`` refs, or ``idle_s`` have passed, the
table *turns*: the recorder first makes the program forget every ref it
cached (``program.forget_peers`` bumps its epoch), so each peer still
talking is named again, under a new ref, at its next message; then the
current generation becomes the older one and the older one is dropped.
Messages still in the ring that use a ref of the dropped generation were
sent before the previous turn's epoch bump, and a turn waits until the
ring has been drained past everything the program wrote until
``grace_s`` after that bump, so none is left.  Memory is then at most two
generations of ``size`` refs (plus what the ring brings in ``grace_s``
while a turn waits), and a peer that left is forgotten within two turns.
In the capture nothing changes: the writer defines a peer in every block
that uses it (docs/FORMAT.md), whatever ref it arrived under.
"""

from __future__ import annotations

# Refs per generation.  A node has ~125 peers (Dash Core's default
# -maxconnections) and the program names each once per CPU, so 4096 holds
# every live peer of a 32-CPU host.  Measured: ~280 bytes per ref of a new
# name (its strings, tuple and slots), ~70 per ref of a name already held
# (another CPU's, a re-announcement); two generations of new names: 2.3 MB.
PEER_TABLE_SIZE = 4096
# Seconds between turns when the table does not fill: a peer that left is
# forgotten 10-20 minutes later, at the cost of naming each live peer once
# more per CPU every 10 minutes.
PEER_IDLE_TURN_S = 600.0
# Seconds after a turn's epoch bump before the ring position that the next
# turn waits for is taken: a probe that read the old epoch is a few
# microseconds from writing its record, unless it was preempted (Linux 6.0+
# runs uprobe programs preemptibly; see PREEMPTIBLE in p2p_messages.bpf.c).
TURN_GRACE_S = 0.25


class PeerTable:
    """ref -> (pid, peer_id, addr, conn_type, flags), in two generations.

    >>> t = PeerTable(size=2)
    >>> t.add(1, (7, 0, "10.0.0.1:9999", "inbound", 0))
    >>> t.get(1)[2], t.get(2)
    ('10.0.0.1:9999', None)
    >>> t.turn(); t.turn()  # two turns: ref 1 is forgotten
    >>> t.get(1) is None
    True
    """

    def __init__(
        self, size: int = PEER_TABLE_SIZE, *, idle_s: float = PEER_IDLE_TURN_S, grace_s: float = TURN_GRACE_S
    ):
        self.size = size
        self.idle_s = idle_s
        self.grace_s = grace_s
        self.current: dict[int, tuple] = {}
        self.older: dict[int, tuple] = {}
        # One tuple per name, whatever its refs: a peer named on every CPU,
        # or again and again, costs a dictionary slot per ref, not a copy.
        self._names: dict[tuple, tuple] = {}
        self.turns = 0
        self._turned_at: float | None = None  # set by the first tick()
        self._mark: int | None = None  # ring position the next turn waits for

    def __len__(self) -> int:
        return len(self.current) + len(self.older)

    def add(self, ref: int, name: tuple) -> None:
        """Name ``ref`` (an EV_PEER record)."""
        self.current[ref] = self._names.setdefault(name, name)

    def get(self, ref: int) -> tuple | None:
        """The name of ``ref``, or None when it was never named or is forgotten."""
        name = self.current.get(ref)
        return self.older.get(ref) if name is None else name

    @property
    def full(self) -> bool:
        return len(self.current) >= self.size

    def turn(self) -> None:
        """Start a new generation; the older one is dropped.

        Only after the program was told to forget its refs (see the module
        docstring); ``tick`` does both at the right moment.
        """
        self.older = self.current
        self.current = {}
        self._names = {}
        self.turns += 1

    def tick(self, now: float, consumed: int, produced: int, forget) -> bool:
        """Between drains: turn when due and safe; True if it turned.

        ``consumed``/``produced`` are the ring's positions (any counter that
        orders what was written against what was read), ``forget()`` makes
        the BPF program drop its cached refs.
        """
        if self._turned_at is None:
            self._turned_at = now
        since = now - self._turned_at
        if self._mark is None and since >= self.grace_s:
            self._mark = produced  # all written before this is safe to forget once read
        if not (self.full or since >= self.idle_s):
            return False
        if self._mark is None or consumed < self._mark:
            return False
        forget()
        self.turn()
        self._turned_at = now
        self._mark = None
        return True

    def forget_pid(self, pid: int) -> None:
        """The process is gone: drop its names (its pid may be reused)."""
        for table in (self.current, self.older):
            for ref in [r for r, name in table.items() if name[0] == pid]:
                del table[ref]
        self._names = {n: n for n in self._names if n[0] != pid}
