"""``--since``/``--until`` values: absolute times, or offsets from the first record.

Accepted forms (all UTC unless an offset is given):

=========================== =========================================
``+10s``, ``90``, ``1.5m``  after the first record (units: ns us ms s m h d;
                            a bare number is seconds)
``12:00:05.25``             time of day, on the first record's day
``2024-05-01T12:00:05Z``    ISO 8601 date and time (``T`` or a space)
``@1714564805.25``          seconds since the Unix epoch
=========================== =========================================
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from datetime import datetime, timezone

from p2pcap.errors import ArgumentError
from p2pcap.units import NS, parse_duration_ns, scaled

DAY_NS = 86_400 * NS
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?$")
# The seconds' fraction of an ISO time, taken apart so that any number of
# digits keeps its full (ns) precision; Python 3.10's fromisoformat accepts
# only 3 or 6 digits, and no "Z".
_ISO_FRACTION = re.compile(r"(?<=[T ]\d{2}:\d{2}:\d{2})[.,](\d{1,9})(?=$|[Zz+-])")


@dataclass(frozen=True)
class TimeSpec:
    """A parsed time: ``kind`` is ``absolute`` (``ns`` since the epoch),
    ``offset`` (``ns`` after the first record) or ``clock`` (``ns`` after
    midnight UTC of the first record's day).

    >>> parse_time("+1.5s").resolve(10 * NS)
    11500000000
    """

    kind: str
    ns: int
    text: str = ""

    def resolve(self, first_ns: int | None) -> int:
        if self.kind == "absolute":
            return self.ns
        if first_ns is None:  # an empty capture: nothing to compare with
            return 0
        if self.kind == "offset":
            return first_ns + self.ns
        return first_ns - first_ns % DAY_NS + self.ns


def parse_time(text: str) -> TimeSpec:
    """Parse one ``--since``/``--until`` value; ``P2pcapError`` says what is accepted.

    >>> parse_time("@1700000000").ns, parse_time("2023-11-14T22:13:20Z").ns
    (1700000000000000000, 1700000000000000000)
    >>> parse_time("22:13:20.5").kind, parse_time("250ms").ns
    ('clock', 250000000)
    """
    value = text.strip()
    if value[:1] in "+.0123456789" and ":" not in value and "-" not in value:
        with contextlib.suppress(ArgumentError):
            return TimeSpec("offset", parse_duration_ns(value.removeprefix("+"), allow_zero=True), text)
    m = _CLOCK.match(value)
    if m:
        hours, minutes, seconds = int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
        if hours < 24 and minutes < 60 and seconds < 61:
            frac = int((m.group(4) or "0").ljust(9, "0"))
            return TimeSpec("clock", ((hours * 60 + minutes) * 60 + seconds) * NS + frac, text)
    if value.startswith("@"):
        try:
            return TimeSpec("absolute", scaled(value[1:], NS), text)
        except ValueError:
            pass
    fraction = _ISO_FRACTION.search(value)
    iso_text = value if fraction is None else value[: fraction.start()] + value[fraction.end() :]
    if iso_text[-1:] in ("Z", "z"):
        iso_text = iso_text[:-1] + "+00:00"
    try:
        stamp = datetime.fromisoformat(iso_text)
    except ValueError:
        raise ArgumentError(
            "time",
            "expected an offset from the first message (+10s, 1.5m, 250ms), "
            "a time of day (12:00:05), an ISO date and time (2024-05-01T12:00:05Z) "
            "or @EPOCH_SECONDS",
            value=text,
        ) from None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=timezone.utc)
    delta = stamp - datetime(1970, 1, 1, tzinfo=timezone.utc)
    frac_ns = int(fraction.group(1).ljust(9, "0")) if fraction else 0
    return TimeSpec("absolute", (delta.days * 86_400 + delta.seconds) * NS + frac_ns, text)
