"""How the recording host's clock is synchronised: the capture header's ``clock`` entry.

Capture times are the host's CLOCK_REALTIME (``formats`` FORMAT.md), so a
comparison of captures from several hosts (``p2pcap propagation``,
docs/FLEET.md) is only as good as their clock synchronisation.  This module
reads what the host says about it, each source only if present, never
changing anything:

* the kernel's NTP state, ``adjtimex(2)`` with ``modes = 0`` (read only):
  ``maxerror``/``esterror`` (µs), the ``STA_UNSYNC`` status bit and the clock
  state (``TIME_ERROR`` = not synchronised).  Always there on Linux;
* chrony: ``chronyc -c tracking`` (CSV; its fields as in chronyc(1));
* systemd: ``timedatectl show -p NTPSynchronized --value`` and
  timesyncd's ``/run/systemd/timesync/synchronized`` flag file.

``read_clock()`` gives a plain dict; nothing here raises: a source that
cannot be read is left out.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import shutil
import subprocess
import time

STA_UNSYNC = 0x0040  # include/uapi/linux/timex.h
TIME_ERROR = 5
_TIMEOUT = 2.0


class _Timeval(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_usec", ctypes.c_long)]


class _Timex(ctypes.Structure):
    """struct timex (include/uapi/linux/timex.h), the fields read; padded to the kernel's size."""

    _fields_ = [
        ("modes", ctypes.c_uint),
        ("offset", ctypes.c_long),
        ("freq", ctypes.c_long),
        ("maxerror", ctypes.c_long),
        ("esterror", ctypes.c_long),
        ("status", ctypes.c_int),
        ("constant", ctypes.c_long),
        ("precision", ctypes.c_long),
        ("tolerance", ctypes.c_long),
        ("time", _Timeval),
        ("tick", ctypes.c_long),
        ("ppsfreq", ctypes.c_long),
        ("jitter", ctypes.c_long),
        ("shift", ctypes.c_int),
        ("stabil", ctypes.c_long),
        ("jitcnt", ctypes.c_long),
        ("calcnt", ctypes.c_long),
        ("errcnt", ctypes.c_long),
        ("stbcnt", ctypes.c_long),
        ("tai", ctypes.c_int),
        ("_padding", ctypes.c_int * 11),
    ]


def kernel_state() -> dict | None:
    """The kernel's view (``adjtimex`` read only), or None off Linux."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        tx = _Timex()
        tx.modes = 0
        state = libc.adjtimex(ctypes.byref(tx))
    except (OSError, AttributeError):
        return None
    if state < 0:
        return None
    return {
        "state": state,
        "status": tx.status,
        "unsynchronized": bool(tx.status & STA_UNSYNC) or state == TIME_ERROR,
        "maxerror_us": tx.maxerror,
        "esterror_us": tx.esterror,
        "offset": tx.offset,
        "freq": tx.freq,
    }


def _run(*cmd: str) -> str | None:
    if shutil.which(cmd[0]) is None:
        return None
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=_TIMEOUT, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def chrony_state() -> dict | None:
    """``chronyc -c tracking``: reference, stratum, offsets (s), leap status; or None."""
    text = _run("chronyc", "-c", "tracking")
    if not text:
        return None
    fields = text.splitlines()[0].split(",")
    if len(fields) < 14:
        return None
    with contextlib.suppress(ValueError):
        return {
            "reference": fields[1],
            "stratum": int(fields[2]),
            "system_offset_s": float(fields[4]),  # the system clock's offset from NTP time now
            "last_offset_s": float(fields[5]),
            "rms_offset_s": float(fields[6]),
            "root_delay_s": float(fields[10]),
            "root_dispersion_s": float(fields[11]),
            "leap_status": fields[13],
        }
    return None


def systemd_state() -> dict | None:
    """``timedatectl``'s NTPSynchronized and timesyncd's flag file; or None."""
    out = {}
    value = _run("timedatectl", "show", "-p", "NTPSynchronized", "--value")
    if value in ("yes", "no"):
        out["ntp_synchronized"] = value == "yes"
    if os.path.isdir("/run/systemd/timesync"):
        out["timesyncd_synchronized"] = os.path.exists("/run/systemd/timesync/synchronized")
    return out or None


def read_clock() -> dict:
    """The ``clock`` metadata entry: ``synchronized`` (True/False/None), ``source``, and each source read."""
    entry: dict = {"read_at_ns": time.time_ns()}
    kernel = kernel_state()
    chrony = chrony_state()
    systemd = systemd_state()
    synchronized = None
    source = None
    if chrony is not None:
        source, synchronized = "chrony", chrony.get("leap_status") != "Not synchronised"
        entry["chrony"] = chrony
    if systemd is not None:
        entry["systemd"] = systemd
        if synchronized is None and "timesyncd_synchronized" in systemd:
            source, synchronized = "systemd-timesyncd", systemd["timesyncd_synchronized"]
        elif synchronized is None and "ntp_synchronized" in systemd:
            source, synchronized = "timedatectl", systemd["ntp_synchronized"]
    if kernel is not None:
        entry["kernel"] = kernel
        if synchronized is None:
            source, synchronized = "kernel", not kernel["unsynchronized"]
    entry["synchronized"] = synchronized
    entry["source"] = source
    return entry


# -- steps of the wall clock during a recording ----------------------------------
# A capture's times are CLOCK_MONOTONIC (what bpf_ktime_get_ns reads) plus
# one offset taken when recording starts, so they never go back and never
# jump.  NTP *slews* both clocks alike (adjtimex(2): the frequency
# correction applies to CLOCK_MONOTONIC too), so the difference between
# them changes only when the wall clock is *stepped* (settimeofday,
# clock_settime, chrony's makestep, ntpd at start, a leap second).  A change
# above this is a step; reading the two clocks back to back costs well
# under a microsecond, so 2 ms is far above the noise and below any step
# NTP takes (ntpd steps at 128 ms, chrony's makestep at 1 s by default).
STEP_THRESHOLD_NS = 2_000_000
MAX_STEPS_KEPT = 64  # steps remembered per recording (and per file's footer)


def _iso(ts_ns: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(ts_ns // 1_000_000_000))


class ClockStep:
    """The wall clock moved ``step_ns`` against the capture's time base.

    ``at_ns``: capture time when it was noticed (within a second of the
    step); ``wall_ns``: the wall clock then; ``total_ns``: how far the wall
    clock now is from the capture's times, all steps of the run together.
    """

    __slots__ = ("at_ns", "step_ns", "wall_ns", "total_ns")

    def __init__(self, at_ns: int, step_ns: int, wall_ns: int, total_ns: int):
        self.at_ns, self.step_ns, self.wall_ns, self.total_ns = at_ns, step_ns, wall_ns, total_ns

    def to_json(self) -> dict:
        return {
            "at_ns": self.at_ns,
            "step_ns": self.step_ns,
            "wall_ns": self.wall_ns,
            "total_ns": self.total_ns,
        }

    def describe(self) -> str:
        """One line for the recorder's stderr.

        >>> ClockStep(0, -2_500_000_000, 0, -2_500_000_000).describe()[:45]
        'the wall clock stepped -2.500 s at 1970-01-01'
        """
        return (
            f"the wall clock stepped {self.step_ns / 1e9:+.3f} s at {_iso(self.at_ns)} "
            f"(capture time); capture times keep the recording's own clock "
            f"({self.total_ns / 1e9:+.3f} s from the wall clock now), so messages stay in order"
        )


class StepWatch:
    """Notices steps of the wall clock against CLOCK_MONOTONIC.

    ``offset_ns`` is the capture's time base: ts_ns = monotonic + offset_ns.
    ``clock`` has ``monotonic_ns()`` and ``time_ns()`` (the ``time`` module;
    a fake one in tests).

    >>> import time
    >>> w = StepWatch(clock=time)
    >>> w.check() is None
    True
    """

    def __init__(self, clock=time, threshold_ns: int = STEP_THRESHOLD_NS):
        self._clock = clock
        self.threshold_ns = threshold_ns
        self.offset_ns = self._difference()
        self._last = self.offset_ns

    def _difference(self) -> int:
        """wall - monotonic, from the closest of three back-to-back readings."""
        mono, wall = self._clock.monotonic_ns, self._clock.time_ns
        best = None
        for _ in range(3):
            a = mono()
            w = wall()
            b = mono()
            if best is None or b - a < best[0]:
                best = (b - a, w - (a + b) // 2)
        return best[1]

    def check(self) -> ClockStep | None:
        """The step since the last check, if the wall clock was stepped."""
        now = self._difference()
        step = now - self._last
        if abs(step) < self.threshold_ns:
            return None
        self._last = now
        mono = self._clock.monotonic_ns()
        return ClockStep(mono + self.offset_ns, step, mono + now, now - self.offset_ns)
