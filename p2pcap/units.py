"""Sizes, durations and lists as users type them, parsed one way for every command;
and record times as every output writes them (``iso``).

``record --duration/--rotate-time`` and the time offsets of ``--since`` /
``--until`` take the same durations; ``--rotate-size`` and
``--buffer-size`` the same sizes.  The CLI wraps these in click parameter
types (``p2pcap.cli.params``); the library takes numbers.
"""

from __future__ import annotations

import functools
import re
from datetime import datetime, timezone

from p2pcap.errors import ArgumentError

NS = 1_000_000_000
# Powers of 1024, as tcpdump's -C and dd do; a trailing B or iB is allowed.
SIZE_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
DURATION_UNITS = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,
    "ms": 1_000_000,
    "s": NS,
    "sec": NS,
    "m": 60 * NS,
    "min": 60 * NS,
    "h": 3600 * NS,
    "d": 86_400 * NS,
}
_DURATION = re.compile(r"^(\d+(?:\.\d*)?|\.\d+)\s*(ns|us|µs|ms|sec|s|min|m|h|d)?$")
_SIZE = re.compile(r"^(\d+(?:\.\d*)?|\.\d+)\s*([KMGT]?)(?:I?B)?$")


def scaled(number: str, unit: int) -> int:
    """Decimal text times ``unit``, exactly (no float rounding).

    >>> scaled("1.5", NS), scaled("0.000000001", NS)
    (1500000000, 1)
    """
    whole, _, frac = number.partition(".")
    if not (whole or frac) or not (whole + frac).isdigit():
        raise ValueError(number)
    return int(whole or 0) * unit + int(frac.ljust(18, "0")[:18] or 0) * unit // 10**18


def parse_duration_ns(text: str, *, allow_zero: bool = False) -> int:
    """``"250ms"`` -> 250000000: ns, us, ms, s, m(in), h, d; a plain number is seconds.

    >>> parse_duration_ns("1.5m"), parse_duration_ns("250ms"), parse_duration_ns("2d")
    (90000000000, 250000000, 172800000000000)
    """
    m = _DURATION.match(text.strip().lower())
    if m is None:
        raise ArgumentError(None, "not a duration (e.g. 30s, 250ms, 10m, 1h, 2d)", value=text)
    ns = scaled(m.group(1), DURATION_UNITS[m.group(2) or "s"])
    if ns == 0 and not allow_zero:
        raise ArgumentError(None, "a duration must be positive", value=text)
    return ns


def parse_duration(text: str) -> float:
    """``"1h"`` -> 3600.0 seconds (a positive duration, any unit above).

    >>> parse_duration("1h"), parse_duration("90"), parse_duration("2.5m")
    (3600.0, 90.0, 150.0)
    """
    return parse_duration_ns(text) / NS


def parse_size(text: str) -> int:
    """``"100M"`` -> 104857600 (K, M, G, T are powers of 1024; a B or iB may follow).

    >>> parse_size("100M"), parse_size("1.5G"), parse_size("4096"), parse_size("2MiB")
    (104857600, 1610612736, 4096, 2097152)
    """
    m = _SIZE.match(text.strip().upper())
    if m is None:
        raise ArgumentError(None, "not a size (e.g. 100M, 1G, 65536)", value=text)
    value = scaled(m.group(1), SIZE_UNITS[m.group(2)])
    if value < 1:
        raise ArgumentError(None, "a size must be at least one byte", value=text)
    return value


def split_commas(values) -> tuple[str, ...]:
    """``("inv,tx", "ping")`` -> ``("inv", "tx", "ping")`` (repeatable or comma lists)."""
    return tuple(v.strip() for value in values for v in value.split(",") if v.strip())


def iso(ts_ns: int) -> str:
    """``2023-11-14T22:13:20.000000001Z``: the full-precision UTC time of a record."""
    seconds, ns = divmod(ts_ns, NS)
    return f"{_iso_second(seconds)}.{ns:09d}Z"


@functools.lru_cache(maxsize=256)
def _iso_second(seconds: int) -> str:
    # Consecutive records share their second: format it once (strftime is
    # a noticeable share of `show --json` otherwise).
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")


def utc_text(ts_ns: int | None) -> str:
    """``2023-11-14 22:13:20.00000 UTC`` for tables and plot labels; ``-`` for None."""
    return "-" if ts_ns is None else iso(ts_ns).replace("T", " ")[:-4] + " UTC"
