"""Sizes, durations and comma lists as every command parses them (p2pcap.units)."""

from __future__ import annotations

import pytest

from p2pcap.errors import ArgumentError, P2pcapError
from p2pcap.units import NS, parse_duration, parse_duration_ns, parse_size, split_commas


@pytest.mark.parametrize(
    "text,value",
    [
        ("100M", 100 << 20),
        ("1G", 1 << 30),
        ("64k", 64 << 10),
        ("4096", 4096),
        ("2MiB", 2 << 20),
        ("1.5K", 1536),
        ("3 T", 3 << 40),
    ],
)
def test_sizes(text, value):
    assert parse_size(text) == value


@pytest.mark.parametrize(
    "text,value",
    [("1h", 3600), ("30", 30), ("10m", 600), ("0.5s", 0.5), ("2d", 172800), ("250ms", 0.25), ("1.5min", 90)],
)
def test_durations_in_seconds(text, value):
    assert parse_duration(text) == value


def test_durations_are_exact_in_nanoseconds():
    # 0.1 s is not a binary fraction: parsed as decimal text it stays exact.
    assert parse_duration_ns("0.1") == NS // 10
    assert parse_duration_ns("1ns") == 1
    assert parse_duration_ns("7.000000001s") == 7 * NS + 1
    assert parse_duration_ns("0", allow_zero=True) == 0


@pytest.mark.parametrize("bad", ["", "lots", "-1M", "0", "1x", "1.2.3"])
def test_bad_sizes_and_durations_name_the_value(bad):
    with pytest.raises(ArgumentError, match=repr(bad)) as size_error:
        parse_size(bad)
    with pytest.raises(ArgumentError, match=repr(bad)):
        parse_duration(bad)
    assert isinstance(size_error.value, P2pcapError)


def test_split_commas():
    assert split_commas(("inv,tx", " ping ", ",")) == ("inv", "tx", "ping")
