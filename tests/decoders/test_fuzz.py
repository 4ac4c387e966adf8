"""Any input gives a dict or a DecodeError, never another exception, and
any input that decodes builds back to the same bytes.

Like python-zstandard's tests/test_decompressor_fuzzing.py: random bytes for
every registered command, and damaged copies (bit flips, cuts, insertions,
deletions) of the known-good payloads.  Those are the ``VECTORS = [(command,
hex), ...]`` of the test modules, gathered by the registry, tables.py.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from p2pcap.decoders import DecodeError, build, decode, known_commands
from p2pcap.decoders.versions import MIN_PEER_PROTO_VERSION, PROTOCOL_VERSION

from . import tables

HERE = Path(__file__).parent
# A single decode of a few KiB must never take long: a hostile count has
# to fail before anything is allocated.
SLOW = 5.0  # seconds; generous so a loaded CI machine does not flake
# Connection versions worth trying: the default, the oldest peer Core
# accepts, and the layout switches of the Dash families.
VERSIONS = [None, MIN_PEER_PROTO_VERSION, 70225, 70228, 70230, PROTOCOL_VERSION]


VECTORS = tables.VECTORS
COMMANDS = sorted(known_commands())


def assert_plain(obj, where="decoded"):
    """Only dict (str keys), list, str, int, bool and None, exactly those
    types: decode() relies on the parsers returning plain data (structs.py)."""
    kind = type(obj)
    if kind is dict:
        for key, value in obj.items():
            assert type(key) is str and not key.startswith("_"), f"{where}: key {key!r}"
            assert_plain(value, f"{where}.{key}")
    elif kind is list:
        for index, value in enumerate(obj):
            assert_plain(value, f"{where}[{index}]")
    else:
        assert kind in (str, int, bool, type(None)), f"{where}: {kind.__name__} {obj!r}"


def decode_or_error(command: str, payload: bytes, version: int | None = None):
    """decode() must return plain data or raise DecodeError, quickly;
    whatever it accepts must build back to the very same bytes."""
    start = time.perf_counter()
    try:
        result = decode(command, payload, version)
    except DecodeError:
        result = None
    else:
        assert type(result) is dict
        assert_plain(result)
    assert time.perf_counter() - start < SLOW, f"{command}: {len(payload)} bytes took too long"
    if result is not None:
        assert build(command, result, version) == payload
    return result


def test_vectors_were_collected():
    assert len(VECTORS) > 20
    assert {command for command, _ in VECTORS} <= set(COMMANDS)


def test_every_module_with_vectors_is_registered():
    # tables.MODULES is written by hand: a new module's VECTORS must not be left out
    defining = {
        path.stem
        for path in HERE.glob("test_*.py")
        if re.search(r"^VECTORS\b", path.read_text(), re.MULTILINE) and path.name != "test_fuzz.py"
    }
    assert defining == {module.__name__.rpartition(".")[2] for module in tables.MODULES}


@pytest.mark.parametrize("command, payload", VECTORS, ids=[f"{c}-{i}" for i, (c, _) in enumerate(VECTORS)])
def test_vectors_decode_to_plain_data(command, payload):
    assert_plain(decode(command, payload))


@pytest.mark.parametrize("command", COMMANDS)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(payload=st.binary(max_size=400), version=st.sampled_from(VERSIONS))
def test_random_bytes(command, payload, version):
    decode_or_error(command, payload, version)


@pytest.mark.parametrize("command", COMMANDS)
@settings(max_examples=5, deadline=None)
@given(count=st.sampled_from([0xFD, 0xFFFF, 2**24, 2**32, 2**63]), tail=st.binary(max_size=64))
def test_huge_counts(command, count, tail):
    # A CompactSize count anywhere in the first bytes must fail fast.
    width = 2 if count <= 0xFFFF else 4 if count <= 0xFFFFFFFF else 8
    prefix = {2: b"\xfd", 4: b"\xfe", 8: b"\xff"}[width] + count.to_bytes(width, "little")
    for cut in range(0, min(len(tail), 40) + 1, 4):
        decode_or_error(command, tail[:cut] + prefix + tail[cut:])


def mutate(payload: bytes, data) -> bytes:
    raw = bytearray(payload)
    for _ in range(data.draw(st.integers(1, 4), label="edits")):
        kind = data.draw(st.sampled_from(["flip", "cut", "insert", "delete", "byte"]), label="kind")
        where = data.draw(st.integers(0, len(raw)), label="where")
        if kind == "flip" and raw:
            where = min(where, len(raw) - 1)
            raw[where] ^= 1 << data.draw(st.integers(0, 7), label="bit")
        elif kind == "byte" and raw:
            # bytes that start CompactSize prefixes or end strings
            special = data.draw(st.sampled_from([0x00, 0xFD, 0xFE, 0xFF]), label="b")
            raw[min(where, len(raw) - 1)] = special
        elif kind == "cut":
            del raw[where:]
        elif kind == "insert":
            raw[where:where] = data.draw(st.binary(min_size=1, max_size=9), label="bytes")
        elif kind == "delete":
            del raw[where : where + data.draw(st.integers(1, 9), label="n")]
    return bytes(raw)


@pytest.mark.parametrize("command, payload", VECTORS, ids=[f"{c}-{i}" for i, (c, _) in enumerate(VECTORS)])
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_vectors(command, payload, data):
    version = data.draw(st.sampled_from(VERSIONS), label="version")
    decode_or_error(command, mutate(payload, data), version)


@pytest.mark.parametrize("command, payload", VECTORS, ids=[f"{c}-{i}" for i, (c, _) in enumerate(VECTORS)])
def test_every_truncation(command, payload):
    # Deterministic: every prefix of a good payload (at most 600 of them).
    step = max(1, len(payload) // 600)
    for cut in range(0, len(payload), step):
        decode_or_error(command, payload[:cut])
