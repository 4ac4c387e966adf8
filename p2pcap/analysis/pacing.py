"""When each record of a replay is due: the capture's own spacing, divided by a speed.

A capture may come from a stranger, and its times are whatever the file
says: two records a year apart, or 2^64 nanoseconds apart.  So any single
pause is capped by default (``MAX_SLEEP`` seconds: ``replay --max-sleep``;
the time cut is carried forward, so later records keep their spacing
after it), and a pause longer than ``time.sleep`` takes (it raises
``OverflowError`` at about 292 years) is slept in pieces of at most
``SLEEP_PIECE`` seconds.  ``max_sleep`` 0 keeps the recorded pauses
whatever their length: a huge gap then waits, in
pieces, and never raises.

>>> slept = []
>>> pacer = Pacer(speed=2.0, pacing=True, max_sleep=10.0, clock=lambda: 0.0, sleep=slept.append)
>>> for ts in (0, 4 * 10**9, 400 * 10**9):
...     pacer.wait(ts)
>>> slept
[2.0, 10.0]
"""

from __future__ import annotations

import math
import time

from p2pcap.errors import ArgumentError

MAX_SLEEP = 10.0  # seconds: the default cap of one pause
SLEEP_PIECE = 3600.0  # seconds: the longest single time.sleep call
_FOREVER = 1e15  # seconds (about 30 million years): a wait past any float is this long


class Pacer:
    """Sleep until each record is due: its spacing from the previous one, / ``speed``.

    ``max_sleep`` caps any single pause (seconds; 0 or None: no cap);
    ``clock`` and ``sleep`` are ``time.monotonic`` and ``time.sleep`` unless
    a test gives its own.
    """

    def __init__(
        self,
        speed: float = 1.0,
        pacing: bool = True,
        max_sleep: float | None = MAX_SLEEP,
        clock=time.monotonic,
        sleep=time.sleep,
    ):
        if pacing and not (speed > 0 and math.isfinite(speed)):
            raise ArgumentError("speed", "must be a number more than 0", value=speed)
        if max_sleep is not None and not (max_sleep >= 0 and math.isfinite(max_sleep)):
            raise ArgumentError("max_sleep", "must be 0 (no cap) or a number of seconds", value=max_sleep)
        self.speed, self.pacing = speed, pacing
        self.max_sleep = max_sleep or None  # 0: the recorded pauses, whatever their length
        self.clock, self.sleep = clock, sleep
        self._prev_ns: int | None = None
        self._due = 0.0  # on ``clock``, when the previous record was due

    def wait(self, ts_ns: int) -> None:
        """Return when the record of time ``ts_ns`` is due."""
        if not self.pacing:
            return
        now = self.clock()
        if self._prev_ns is None:
            self._prev_ns, self._due = ts_ns, now
            return
        # Ints of any size subtract exactly; the division may overflow to
        # inf (a gap of 2^64 ns at a tiny speed), which stays a float.
        try:
            gap = (ts_ns - self._prev_ns) / 1e9 / self.speed
        except OverflowError:
            gap = math.copysign(math.inf, ts_ns - self._prev_ns)
        self._prev_ns = ts_ns
        self._due += gap  # a record out of time order is due earlier: no pause
        if not math.isfinite(self._due):
            self._due = now + (_FOREVER if self._due > 0 else -_FOREVER)
        delay = self._due - now
        if self.max_sleep is not None and delay > self.max_sleep:
            self._due = now + self.max_sleep  # the cut is carried forward
            delay = self.max_sleep
        while delay > 0:
            piece = min(delay, SLEEP_PIECE)
            self.sleep(piece)
            delay -= piece
