"""The info column of ``show`` (issue 30, "The info column").

Every command in the registry has a declaration beside its definition
(``SUMMARIES`` in its decoders family module); the line rendered from it is
checked on every decoder test vector and on every message of the shipped
samples: not empty, naming its key object (the first declared field that
the message holds), and fitting a given width with that first part whole.
The issue's examples are checked on the real masternode capture.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from p2pcap.analysis.summary import HOWS, JSON_PREFIX, parts, summarize
from p2pcap.cli.render import Renderer
from p2pcap.decoders import DecodeError, build, decode
from p2pcap.decoders.decode import decode_partial
from p2pcap.decoders.fields import catalogue
from p2pcap.decoders.registry import MESSAGES, SUMMARIES, check_summaries
from p2pcap.formats import Message

from ..conftest import p2pcap_cmd
from ..decoders import tables

SAMPLES = sorted((Path(__file__).parents[2] / "samples").glob("*.cap"))
MASTERNODES = Path(__file__).parents[2] / "samples" / "realnode-masternodes.cap"
WIDTHS = (12, 24, 32, 48, 80)
CASES = [case for case in tables.CASES if case.command in MESSAGES]


def _decoded(case) -> dict:
    return decode(case.command, bytes.fromhex(case.payload), case.version)


@pytest.fixture(scope="module")
def sample_messages() -> list[tuple[str, str, dict]]:
    """(sample name, command, decoded) of every message of samples/*.cap, from ``show --json``."""
    out = []
    for path in SAMPLES:
        result = subprocess.run([*p2pcap_cmd(), "show", "--json", str(path)], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        for line in result.stdout.splitlines():
            obj = json.loads(line)
            if obj.get("decoded") is not None:
                out.append((path.name, obj["command"], obj["decoded"]))
    assert out
    return out


# -- what a declaration names, read here without the renderer ------------------


def _walk(decoded, path: str) -> list:
    found = [decoded]
    for key in path.split("."):
        nxt = []
        for value in found:
            for one in value if isinstance(value, list) else [value]:
                if isinstance(one, dict) and one.get(key) is not None:
                    nxt.append(one[key])
        found = nxt
    return found


def key_text(command: str, decoded: dict) -> str | None:
    """Text the summary must hold: the first declared field the message has,
    as it is shown (a name for an enum, a count for a list, a hash's start)."""
    for item in SUMMARIES[command]:
        if isinstance(item, str):
            return item
        path, how = item[0], item[1]
        found = _walk(decoded, path)
        if how == "tally" and not found and _walk(decoded, path.rpartition(".")[0]) == [[]]:
            return "0 "  # an empty inventory says so
        if not found:
            continue
        first = found[0]
        if how == "count":
            return str(sum(len(v) for v in found))
        if how in ("name", "tally") or isinstance(how, dict):
            head, _, leaf = path.rpartition(".")
            parent = _walk(decoded, head) if head else [decoded]
            parent = [p for v in parent for p in (v if isinstance(v, list) else [v])]
            if isinstance(how, dict):
                return how.get(first, str(first))
            label = next(f.label for f in catalogue().fields(command) if f.path == path)
            return parent[0].get(label) or str(first)
        if how in ("hash", "range"):
            return str(first)[:16]
        if how == "hex":
            return f"{first:x}"
        if how == "endpoints":
            return str(first[0]["port"])
        if how == "text":
            return str(first)[:20]
        if isinstance(how, str) and how.startswith(JSON_PREFIX):
            value = json.loads(first)
            return None if not isinstance(value, dict) else str(value.get(how[len(JSON_PREFIX) :]))[:20]
        return str(first)
    return None


def check_line(command: str, decoded: dict) -> None:
    text = summarize(command, decoded)
    assert text, f"{command}: empty summary"
    key = key_text(command, decoded)
    assert key is not None and key in text, f"{command}: {key!r} not in {text!r}"
    first = parts(command, decoded)[0]
    assert text.startswith(first)
    for width in WIDTHS:
        cut = summarize(command, decoded, width)
        assert len(cut) <= width, (command, width, cut)
        if len(first) + 2 <= width:
            assert cut.startswith(first), (command, width, cut)
        else:
            assert cut == first[: width - 1] + "…" or cut == first, (command, width, cut)


# -- the declarations ---------------------------------------------------------


def test_every_command_has_a_declaration():
    assert set(SUMMARIES) == set(MESSAGES)
    assert all(SUMMARIES[command] for command in MESSAGES)


@pytest.mark.parametrize("command", ["ping", "govobj"])
def test_a_command_without_declaration_fails_the_check(command):
    summaries = {c: s for c, s in SUMMARIES.items() if c != command}
    with pytest.raises(RuntimeError, match=rf"no SUMMARIES declaration for {command}"):
        check_summaries(MESSAGES, summaries)
    with pytest.raises(RuntimeError, match="newcommand"):
        check_summaries({**MESSAGES, "newcommand": None}, SUMMARIES)
    check_summaries(MESSAGES, SUMMARIES)  # the real tables pass


@pytest.mark.parametrize("command", sorted(SUMMARIES))
def test_declared_fields_are_catalogued(command):
    fields = {f.path: f for f in catalogue().fields(command)}
    for item in SUMMARIES[command]:
        if isinstance(item, str):
            assert item.strip()
            continue
        assert 2 <= len(item) <= 3, item
        path, how = item[0], item[1]
        assert path in fields, f"{command}: {path} is not a field ({sorted(fields)})"
        if isinstance(how, dict):
            assert all(n is None or isinstance(n, str) for n in how.values())
        elif how.startswith(JSON_PREFIX):
            assert fields[path].kind == "text"
        else:
            assert how in HOWS, how
        if how in ("name", "tally"):
            assert fields[path].kind == "enum" and fields[path].label, f"{command}: {path} has no name"
        if how == "count":
            assert fields[path].kind == "list", f"{command}: {path} is not a list"


# -- every vector, every sample message ---------------------------------------


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_summary_of_every_vector(case):
    check_line(case.command, _decoded(case))


def test_vectors_cover_every_command():
    assert {case.command for case in CASES} == set(MESSAGES)


def test_summary_of_every_sample_message(sample_messages):
    seen = set()
    for _name, command, decoded in sample_messages:
        if command in SUMMARIES:
            check_line(command, decoded)
            seen.add(command)
    assert len(seen) >= 30, seen  # the samples hold most of Dash's traffic


@settings(max_examples=300, deadline=None)
@given(case=st.sampled_from(CASES), cut_at=st.floats(0, 1), width=st.integers(1, 120))
def test_a_cut_payload_still_gets_a_fitting_line(case, cut_at, width):
    """A message cut by a snap length decodes to what its bytes hold
    (decode_partial); its line may say less but never breaks or overflows."""
    payload = bytes.fromhex(case.payload)
    try:
        decoded = decode_partial(case.command, payload[: int(len(payload) * cut_at)], case.version)
    except DecodeError:
        return  # bytes that break the layout are an error line, not a summary
    text = summarize(case.command, decoded, width)
    assert len(text) <= width
    assert text == summarize(case.command, decoded)[: len(text) - 1] + "…" or text == summarize(
        case.command, decoded
    )


# -- the issue's examples -------------------------------------------------------


def _lines(sample_messages, command) -> list[str]:
    return [summarize(c, d) for name, c, d in sample_messages if name == MASTERNODES.name and c == command]


def test_issue_examples_on_the_masternode_sample(sample_messages):
    sporks = [line for line in _lines(sample_messages, "spork") if "10001" in line or "SPORK_2_" in line]
    assert sporks and all(line.startswith("SPORK_2_INSTANTSEND_ENABLED ") for line in sporks)
    for command in ("qsigrec", "qcontrib"):
        # llmq/params.h: LLMQ_TEST = 100, "llmq_test"
        test_type = [
            summarize(c, d)
            for name, c, d in sample_messages
            if name == MASTERNODES.name and c == command and d.get("llmq_type") == 100
        ]
        assert test_type and all(line.startswith("llmq_test ") for line in test_type), test_type[:3]
        assert not any("llmq_type=" in line for line in _lines(sample_messages, command))
    for command, noun in (("qsigsesann", "session"), ("qbsigs", "sig share")):
        lines = _lines(sample_messages, command)
        assert lines and all(re.match(rf"\d+ {noun}s? ", line) for line in lines), (command, lines[:3])
        assert not any("[" in line for line in lines)  # no bare "anns[2]"


def test_spork_name_comes_from_core_sporkid():
    # src/spork.h: SPORK_2_INSTANTSEND_ENABLED = 10001
    decoded = {"spork_id": 10001, "spork_name": "SPORK_2_INSTANTSEND_ENABLED", "value": 0, "time_signed": 1}
    assert summarize("spork", decoded) == "SPORK_2_INSTANTSEND_ENABLED value 0 signed 1"
    assert summarize("spork", {**decoded, "spork_id": 10099, "spork_name": None}).startswith(
        "spork_id 10099 "
    )


def _vector(command: str) -> dict:
    return _decoded(next(case for case in CASES if case.command == command))


def test_govobj_says_type_hash_and_name():
    decoded = _vector("govobj")
    text = summarize("govobj", decoded)
    assert decoded["type_name"] == "PROPOSAL" and decoded["hash_parent"].strip("0") == ""
    assert text.startswith(f"PROPOSAL {decoded['hash'][:16]}… ")
    assert f'"{json.loads(decoded["data_text"])["name"]}"' in text
    assert "hash_parent" not in text


def test_qdata_names_its_quorum_and_counts():
    decoded = _vector("qdata")
    text = summarize("qdata", decoded)
    assert text.startswith(
        f"{decoded['request']['llmq_type_name']} quorum {decoded['request']['quorum_hash'][:16]}"
    )
    assert f"{len(decoded['quorum_vvec'])} vvec" in text
    assert "quorum_vvec[" not in text


def test_tx_type_is_named():
    decoded = {"txid": "ab" * 32, "type": 7, "vin": [], "vout": [{}]}
    assert summarize("tx", decoded) == "txid abababababababab… MNHF_SIGNAL 0 in 1 out"
    # src/primitives/transaction.h: TRANSACTION_NORMAL = 0 needs no words
    assert summarize("tx", {**decoded, "type": 0}) == "txid abababababababab… 0 in 1 out"
    assert summarize("tx", {**decoded, "type": 42}) == "txid abababababababab… type 42 0 in 1 out"


# -- peer-controlled strings stay escaped in the table --------------------------


def test_a_govobj_name_cannot_drive_the_terminal():
    evil = json.dumps({"name": "\x1b]0;owned\x07\x1b[31m\r\nforged\u202e"})
    obj = {**_vector("govobj"), "data": evil.encode().hex()}
    payload = build("govobj", obj)
    decoded = decode("govobj", payload)
    assert "\x1b" in summarize("govobj", decoded)  # the summary keeps the text; the table escapes it
    message = Message(
        1_700_000_000_000_000_000, 1, 3, "x:1", "inbound", "in", "govobj", len(payload), payload
    )
    row = Renderer(json_lines=False, hex_payload=False, color=False).render(message, decoded, None)
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202e]", row), repr(row)
    assert "PROPOSAL" in row
