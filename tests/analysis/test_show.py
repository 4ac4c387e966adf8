"""``show``: every filter, every output form, stdin, --follow; on recorded and written captures."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import threading
import time

import pytest
from click.testing import CliRunner

from p2pcap.analysis.filters import RecordFilter, parse_where
from p2pcap.cli import main
from p2pcap.cli.show import show_capture, want_color
from p2pcap.formats import CaptureWriter, Gap, Message

from ..capture.live import write_messages
from ..conftest import p2pcap_cmd, run_in_terminal
from .captures import STEP, T0, recorded, sample_messages, write_capture

ANSI = re.compile(r"\x1b\[")


def run(*args, input=None):
    result = CliRunner().invoke(main, [str(a) for a in args], input=input)
    return result


def shown_json(*args, input=None) -> list[dict]:
    result = run("show", *args, "--json", input=input)
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines()]


@pytest.fixture(scope="module")
def cap(tmp_path_factory):
    """The sample session written directly, with one gap before message 20."""
    return write_capture(tmp_path_factory.mktemp("show") / "s.cap", sample_messages(), gaps=[(20, 3)])


@pytest.fixture(scope="module")
def rec(tmp_path_factory, ebpf, standin):
    return recorded(tmp_path_factory, standin)


# -- end to end on the recorded session -------------------------------------------
def test_recorded_session_json_round_trip(rec):
    messages = rec["messages"]
    got = shown_json(rec["base"], "--hex")
    assert len(got) == len(messages)
    for sent, obj in zip(messages, got):
        direction, peer, addr, conn, command, payload = sent
        assert (obj["direction"], obj["peer_id"], obj["peer_addr"], obj["conn_type"], obj["command"]) == (
            direction,
            peer,
            addr,
            conn,
            command,
        )
        assert obj["payload_hex"] == payload.hex()
        assert obj["error"] is None and isinstance(obj["decoded"], dict)


def test_recorded_session_filters(rec):
    capture = rec["base"]
    clsig_inv = shown_json(capture, "--where", "inv.type=MSG_CLSIG")
    assert [(o["command"], o["peer_id"]) for o in clsig_inv] == [("inv", 1)]
    tail = shown_json(capture, "--since", "+0s", "--type", "version", "--conn-type", "manual")
    assert [o["direction"] for o in tail] == ["in", "out"]
    table = run("show", capture, "--peer", "[2001:db8::7]:51234")
    assert table.exit_code == 0
    rows = table.stdout.splitlines()[1:]
    assert len(rows) == sum(1 for m in rec["messages"] if m[1] == 1)
    assert table.stdout == run("show", capture, "--peer", "[2001:db8::7]:51234", "-w").stdout  # piped: whole


def test_recorded_session_through_a_pipe(rec):
    """filter -o - | show - : the live-view plumbing, through real processes."""
    producer = subprocess.Popen(
        p2pcap_cmd("filter", str(rec["base"]), "-o", "-", "--type", "inv"),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    out = subprocess.run(
        p2pcap_cmd("show", "--json"), stdin=producer.stdout, capture_output=True, text=True, check=True
    ).stdout
    producer.wait(30)
    assert [json.loads(line)["command"] for line in out.splitlines()] == [
        m[4] for m in rec["messages"] if m[4] == "inv"
    ]


def test_live_view_record_to_show(tmp_path, ebpf, standin):
    """p2pcap record -o - | p2pcap show --type inv: rows appear while the node still runs."""
    msgs = tmp_path / "live.msgs"
    write_messages(msgs, sample_messages())
    node = subprocess.Popen(
        [str(standin), "--wait-signal", "--rate", "40", "--repeat", "2", str(msgs)],
        stdout=subprocess.PIPE,
        text=True,
    )
    rec = show = None
    try:
        assert node.stdout.readline().startswith("waiting for SIGUSR1")
        rec = subprocess.Popen(
            p2pcap_cmd("record", "-o", "-", "--pid", str(node.pid)),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        show = subprocess.Popen(
            p2pcap_cmd("show", "--type", "inv", "--json"), stdin=rec.stdout, stdout=subprocess.PIPE, text=True
        )
        rec.stdout.close()
        first = rec.stderr.readline()
        assert first.startswith(b"listening on"), first + rec.stderr.read()
        node.send_signal(signal.SIGUSR1)
        line = show.stdout.readline()
        assert node.poll() is None  # the replay (about 2 s) is still going
        lines = [line, *show.stdout.read().splitlines()]
        assert rec.wait(30) == 0 and show.wait(30) == 0
    finally:
        for p in (node, rec, show):
            if p is not None and p.poll() is None:
                p.kill()
    inv = [m for m in sample_messages() if m[4] == "inv"] * 2
    assert [json.loads(x)["msg_size"] for x in lines] == [len(m[5]) for m in inv]


# -- filters, on a written capture ----------------------------------------------------
def commands(objs):
    return [o.get("command", "GAP") for o in objs]


def test_type_and_not_type(cap):
    assert set(commands(shown_json(cap, "--type", "inv,getdata"))) == {"inv", "getdata", "GAP"}
    left = shown_json(cap, "--not-type", "inv", "--not-type", "version,verack")
    assert not {"inv", "version", "verack"} & set(commands(left))


def test_peer_by_id_pid_and_address(cap):
    n1 = sum(1 for m in sample_messages() if m[1] == 1)
    for peer in ("1", "4242:1", "[2001:db8::7]:51234", "2001:db8::7"):
        assert len([o for o in shown_json(cap, "--peer", peer) if "command" in o]) == n1, peer
    assert [o for o in shown_json(cap, "--pid", "7") if "command" in o] == []


def test_direction_and_conn_type(cap):
    out = shown_json(cap, "--direction", "out", "--conn-type", "outbound")
    msgs = [o for o in out if "command" in o]
    assert msgs and all(o["direction"] == "out" and o["conn_type"] == "outbound-full-relay" for o in msgs)


def test_since_until_relative_and_absolute(cap):
    def times(*args):
        return [(o["ts_ns"] - T0) // STEP for o in shown_json(cap, *args) if "command" in o]

    assert times("--since", "+1s", "--until", "+1.2s") == [10, 11, 12]
    assert times("--since", "22:13:21", "--until", "22:13:21.2") == [10, 11, 12]
    assert times("--since", "2023-11-14T22:13:21Z", "--until", "2023-11-14 22:13:21.200") == [10, 11, 12]
    assert times("--since", "@1700000001", "--until", "@1700000001.2") == [10, 11, 12]
    assert times("--since", "1100ms", "--until", "1.2s") == [11, 12]


def test_since_resolves_from_a_pipe_too(cap):
    got = shown_json("-", "--since", "+1s", "--until", "+1.2s", input=cap.read_bytes())
    assert [(o["ts_ns"] - T0) // STEP for o in got] == [10, 11, 12]


def test_where_on_decoded_fields(cap):
    def where(*args):
        return [c for c in commands(shown_json(cap, *args)) if c != "GAP"]

    assert where("--where", "inv.type=MSG_CLSIG") == ["inv"]
    assert where("--where", "inv.type=29") == ["inv"]
    assert where("--where", "type_name=msg_clsig") == ["inv"]
    clsig = next(o for o in shown_json(cap, "--type", "clsig") if "command" in o)
    by_hash = where("--where", f"hash={clsig['decoded']['hash'][:12]}*")
    assert by_hash == ["clsig", "inv"]  # the clsig itself and the inv announcing it
    assert where("--where", "height>=201", "--type", "clsig") == ["clsig"]
    assert where("--where", "height>201", "--type", "clsig") == []
    assert where("--where", "starting_height=180") == ["version"]


def test_where_semantics():
    w = parse_where("inv.type=MSG_TX")
    assert w.matches({"inv": [{"type": 1, "type_name": "MSG_TX"}]})
    assert not w.matches({"inv": []})
    assert parse_where("vin.0.n=3").matches({"vin": [{"n": 3}, {"n": 4}]})
    assert not parse_where("vin.0.n=4").matches({"vin": [{"n": 3}, {"n": 4}]})
    assert parse_where("relay!=0").matches({"relay": 1}) and parse_where("relay!=0").matches(None)
    assert parse_where("relay=true").matches({"relay": True})


def test_where_a_number_by_the_name_beside_it(tmp_path):
    # spork_id's name is under spork_name and item_id's under item_name
    # (not *_id_name): the field catalogue says which key holds the name.
    spork = "11270000000000000000000080a0c86500000000" + "00"  # SPORK_2, value 0, no signature
    ssc = "0b00000000000000"  # GOVOBJ_VOTE, count 0
    messages = [
        ("in", 1, "10.0.0.1:9999", "inbound", c, bytes.fromhex(p))
        for c, p in (("spork", spork), ("ssc", ssc))
    ]
    path = write_capture(tmp_path / "named.cap", messages)
    assert commands(shown_json(path, "--where", "spork_id=SPORK_2_INSTANTSEND_ENABLED")) == ["spork"]
    assert commands(shown_json(path, "--where", "spork_id=10001")) == ["spork"]
    assert commands(shown_json(path, "--where", "item_id=govobj_vote")) == ["ssc"]
    assert commands(shown_json(path, "--where", "spork_id=SPORK_3_INSTANTSEND_BLOCK_FILTERING")) == []


def test_filters_are_checked_before_the_input_is_read(cap):
    # the error is the filter's, not the input's: nothing was read
    for args, flag in ((("--type", "invv"), "--type 'invv'"), (("--where", "nosuchfield=1"), "--where")):
        result = run("show", "-", *args, input=b"not a capture at all")
        assert result.exit_code == 2 and flag in result.stderr and "not a capture" not in result.stderr


def test_gaps_pass_filters_but_not_time_or_pid(cap):
    assert "GAP" in commands(shown_json(cap, "--type", "clsig"))
    assert "GAP" not in commands(shown_json(cap, "--until", "+0.5s"))


# -- output forms -------------------------------------------------------------------
def test_table_piped_is_whole_and_without_colour(cap):
    out = run("show", cap).stdout.splitlines()
    assert out[0].startswith("time (UTC)")
    assert len(out) == len(sample_messages()) + 2  # header + gap
    versions = [line for line in out if line.split()[3:4] == ["version"]]
    assert versions and all(re.search(r"height \d+ services 0x[0-9a-f]+$", line) for line in versions)
    assert max(map(len, out)) > 80
    assert not any(ANSI.search(line) for line in out)
    assert any("GAP: 3 messages" in line for line in out)


SGR = re.compile(r"\x1b\[[0-9;]*m")


@pytest.mark.parametrize("columns", [60, 120, 200])
def test_table_fits_the_terminal_and_w_keeps_it_whole(cap, columns):
    piped = run("show", cap).stdout.splitlines()
    for args in (["show", cap], ["show", cap, "-n"]):
        status, text = run_in_terminal(args, columns=columns)
        rows = [SGR.sub("", line) for line in text.splitlines()]
        assert status == 0 and len(rows) == len(piped)
        assert max(map(len, rows)) <= columns
        if args[-1] != "-n":
            assert max(map(len, rows)) == min(columns, max(map(len, piped)))  # cut only where needed
    status, text = run_in_terminal(["show", cap, "-w"], columns=columns)
    assert [SGR.sub("", line) for line in text.splitlines()] == piped


def test_time_formats_like_tshark(cap):
    lines = {t: run("show", cap, "-n", "-t", t).stdout.splitlines()[1:] for t in ("u", "ud", "r", "d")}
    first = T0
    assert lines["r"][0].split()[0] == "0.000000" and lines["d"][0].split()[0] == "0.000000"
    assert lines["r"][1].split()[0] == f"{STEP / 1e9:.6f}" == lines["d"][1].split()[0]
    assert lines["ud"][0].startswith(time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(first // 10**9)))
    assert lines["ud"][0].split(" ", 1)[1].startswith(lines["u"][0].split()[0])


def test_verbose_tree_and_hex_dump(cap):
    out = run("show", cap, "--type", "clsig", "-v", "-x").stdout
    assert "    height: 201" in out and "    pid 4242  peer 0 127.0.0.1:19899" in out
    assert re.search(r"^    0000  c9 00 00 00 ", out, re.M)  # height 201, little-endian


def test_json_hex(cap):
    obj = [o for o in shown_json(cap, "--type", "ping", "--hex") if "command" in o][0]
    assert obj["payload_hex"] == "8877665544332211" and obj["decoded"] == {"nonce": 0x1122334455667788}


def test_colour_only_on_a_tty_and_not_with_no_color():
    class Tty:
        def isatty(self):
            return True

    assert want_color(Tty(), {})
    assert not want_color(Tty(), {"NO_COLOR": "1"})
    assert not want_color(Tty(), {"TERM": "dumb"})
    assert not want_color(object(), {})


def test_limit(cap):
    assert len([o for o in shown_json(cap, "-c", "3")]) == 3


def test_stdin_dash_and_no_file(cap):
    data = cap.read_bytes()
    assert len(shown_json("-", input=data)) == len(sample_messages()) + 1
    assert len(shown_json(input=data)) == len(sample_messages()) + 1


def test_follow_a_growing_file(tmp_path):
    path = tmp_path / "live.cap"
    writer = CaptureWriter(path, {}, flush_interval=0.01)
    lines: list[str] = []
    seen_early = threading.Event()

    def out(text):
        lines.append(text)
        if len(lines) > 3:
            seen_early.set()

    t = threading.Thread(
        target=show_capture, args=(path, RecordFilter()), kwargs=dict(follow=True, json_lines=True, out=out)
    )
    t.start()
    for i in range(50):
        writer.write(Message(T0 + i, 1, 0, "x:1", "inbound", "in", "ping", 8, bytes(8)))
        if i % 10 == 9:
            writer.flush()
            time.sleep(0.05)
    assert seen_early.wait(5)  # shown while the file is still being written
    writer.write(Gap(T0 + 99, 1, 1, 2, 0))
    writer.close()
    t.join(10)
    assert not t.is_alive() and len(lines) == 51


def test_streams_without_collecting(tmp_path):
    """The first row is out before the last block is read."""
    path = tmp_path / "many.cap"
    with CaptureWriter(path, {}, block_size=4096) as w:
        for i in range(2000):
            w.write(Message(T0 + i, 1, 0, "x:1", "inbound", "in", "ping", 8, i.to_bytes(8, "little")))
    import p2pcap.formats.reader as reader_module

    blocks_read = []
    real = reader_module.CaptureReader._blocks_read

    def counting(self, wanted=None):
        for block in real(self, wanted):
            blocks_read.append(block)
            yield block

    first = []
    reader_module.CaptureReader._blocks_read = counting
    try:
        show_capture(path, out=lambda text: first.append(len(blocks_read)) if not first else None)
    finally:
        reader_module.CaptureReader._blocks_read = real
    assert first[0] <= 2 < len(blocks_read)


# -- mistakes: one line, no traceback ------------------------------------------------
@pytest.mark.parametrize(
    "args, message",
    [
        (["--where", "inv.type"], "--where 'inv.type': expected FIELD=VALUE"),
        (["--where", "height>=abc"], "needs a number"),
        (["--since", "yesterday"], "--since 'yesterday': expected an offset"),
    ],
)
def test_bad_options_are_one_line(cap, args, message):
    result = run("show", cap, *args)
    assert result.exit_code == 2 and message in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1


def test_not_a_capture(tmp_path):
    bad = tmp_path / "notes.txt"
    bad.write_text("hello\n")
    result = run("show", bad)
    assert result.exit_code == 2 and str(bad) in result.output and "Traceback" not in result.output
    assert run("show", tmp_path / "missing.cap").exit_code == 2


def test_torn_tail_is_a_warning(tmp_path, cap):
    data = cap.read_bytes()
    cut = tmp_path / "cut.cap"
    cut.write_bytes(data[: len(data) // 2])
    result = run("show", cut)
    # The cut is named (this capture is one block: nothing before it is whole),
    # and the exit status says the output is not the whole recording.
    assert result.exit_code == 1
    assert re.fullmatch(
        rf"p2pcap: {re.escape(str(cut))}: the recording did not end cleanly "
        rf"\(cut short \(block 0 at offset \d+\)\): no complete block\n",
        result.stderr,
    )


def test_no_decode_keeps_metadata_and_skips_decoding(cap):
    full = shown_json(str(cap))
    bare = shown_json(str(cap), "--no-decode")
    assert len(bare) == len(full)
    for a, b in zip(full, bare):
        if a.get("gap"):
            assert a == b
            continue
        assert b["decoded"] is None and b["error"] is None
        decoded_only = ("decoded", "error", "protocol_version", "protocol_version_source")
        assert {k: v for k, v in a.items() if k not in decoded_only} == {
            k: v for k, v in b.items() if k not in decoded_only
        }
        assert a["protocol_version_source"] in ("negotiated", "assumed") and "protocol_version" not in b
    assert any(a.get("decoded") for a in full)


def test_snapped_message_decodes_as_far_as_its_bytes_go(tmp_path):
    # inv announcing 2 entries, cut after the first whole entry and one byte.
    full = bytes.fromhex("0201000000") + bytes(range(32)) + bytes.fromhex("02000000") + bytes(32)
    kept = full[: 1 + 36 + 1]
    path = tmp_path / "snap.cap"
    with CaptureWriter(path, {"network": "regtest"}) as writer:
        writer.write(Message(T0, 7, 3, "127.0.0.1:19899", "inbound", "in", "inv", len(full), kept, flags=1))
    (obj,) = shown_json(str(path))
    assert obj["msg_size"] == 73 and obj["captured_len"] == 38
    assert obj["error"].startswith("partial payload: 38 of 73 bytes captured")
    assert obj["decoded"]["partial"] is True
    assert [e["type_name"] for e in obj["decoded"]["inv"]] == ["MSG_TX"]


def test_a_capture_begun_mid_session_says_which_version_it_assumed(tmp_path):
    from .test_api import mid_session

    path = mid_session(tmp_path)
    (assumed,) = shown_json(path)
    assert assumed["protocol_version_source"] == "assumed" and assumed["error"]
    (given,) = shown_json(path, "--protocol-version", "70225")
    assert (given["protocol_version"], given["protocol_version_source"]) == (70225, "given")
    assert given["error"] is None and given["decoded"]["masternode_outpoint"]["n"] == 1
    verbose = run("show", path, "-v", "--protocol-version", "70225")
    assert verbose.exit_code == 0 and "protocol 70225 (given)" in verbose.stdout
