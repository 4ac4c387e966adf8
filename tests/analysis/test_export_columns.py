"""Parquet export a block at a time (issue 27) writes the rows of the per-record writers.

``export --format parquet`` reads each block's columns from the C walker
(formats/_blockwalk.c ``columns``, formats/columns.py) and looks at only
the messages a table needs decoded (p2pcap/analysis/exporting.py).  Three
references hold it:

* ``decode_block``: the walker's rows are the block's records, under any
  filter, and a body the reader refuses is one the walker declines;
* ``announced(command, decode(...))``: the walker's inventory items are
  the decoded message's, or it declines the message;
* an oracle computed here from the capture alone (records, ``decode``,
  ``announced``, ``PairFeed``): every table of a single-file and a dataset
  export, decoded or not, on real captures (samples/realnode-*.cap) and on
  generated ones (a mainnet-like mix with version changes mid-block, gaps,
  cut payloads, odd strings and inventories, three UTC days, a damaged
  block); and the per-record writers (the fast way set aside) write the
  same files, row group for row group.
"""

from __future__ import annotations

import importlib.util
import io
import json
import struct
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import p2pcap.analysis.exporting as exporting
from p2pcap.analysis.conversations import PairFeed
from p2pcap.analysis.convert import export_capture
from p2pcap.analysis.dataset import INVENTORY_COMMANDS, OBJECT_COMMANDS, export_dataset
from p2pcap.analysis.pipeline import open_pipeline
from p2pcap.decoders import DecodeError, announced, decode
from p2pcap.decoders.inventory import MAX_INV_SZ
from p2pcap.decoders.versions import ISDLOCK_PROTO_VERSION
from p2pcap.formats import CaptureReader, CaptureWriter, Gap, Message
from p2pcap.formats.block import decode_block
from p2pcap.formats.columns import available, block_columns
from p2pcap.formats.dataset import PAIR_COLUMNS
from p2pcap.formats.errors import CorruptBlock
from p2pcap.formats.parquet import parquet_text

from ..conftest import p2pcap_cmd

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = sorted((ROOT / "samples").glob("realnode-*.cap"))
DAY_NS = 86_400 * 10**9
INT64_MAX = (1 << 63) - 1
LIMITS = {"inv": int(MAX_INV_SZ), "getdata": int(MAX_INV_SZ), "notfound": -1}

pytestmark = pytest.mark.skipif(not available(), reason="the C walker is not built (setup.py build_ext)")


# -- captures --------------------------------------------------------------------------------------------
def traffic(count: int, seed: int) -> list[Message]:
    """The benchmarks' mainnet-like mix (benchmarks/bench_format.py Traffic)."""
    spec = importlib.util.spec_from_file_location("bench_format", ROOT / "benchmarks" / "bench_format.py")
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(ROOT / "benchmarks"))  # it imports its sibling scripts
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    return list(module.Traffic(seed, rate=2_000, peers=6).messages(count))


def odd(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


def inventory(count_bytes: bytes, entries: int, extra: bytes = b"") -> bytes:
    return count_bytes + b"".join(struct.pack("<I", t) + bytes([t]) * 32 for t in range(entries)) + extra


def mixed_capture(path: Path, count: int = 3000, *, damaged: bool = False) -> Path:
    """The mix over three UTC days with what the walker must get right or decline."""
    base = traffic(count, 7)
    midnight = (base[0].ts_ns // DAY_NS + 1) * DAY_NS
    span = base[-1].ts_ns - base[0].ts_ns
    records: list = []
    for i, m in enumerate(base):
        ts = midnight - DAY_NS // 2 + (m.ts_ns - base[0].ts_ns) * 2 * DAY_NS // span  # over two midnights
        payload, msg_size, command, addr, conn = m.payload, m.msg_size, m.command, m.peer_addr, m.conn_type
        if i % 97 == 5:
            msg_size = len(payload) + 7  # cut by a snap length: decoded partially, or declined
        if i % 89 == 3:
            addr, conn = odd(b"10.0.0.\xfe:9999"), "in\\bound"
        if i % 151 == 11:
            command, payload, msg_size = odd(b"zz\xff"), b"\x01\x02", 2
        records.append(
            Message(ts, m.pid, m.peer_id, addr, conn, m.direction, command, msg_size, payload, m.flags)
        )
        if i % 211 == 17:
            records.append(Gap(ts, m.pid if i % 2 else 0, (1, 4, 77)[i % 3], 3, 300))
        if i in (40, 1200):  # a peer-session negotiates an old version, then a new one, mid-block
            version = ISDLOCK_PROTO_VERSION - 1 if i == 40 else ISDLOCK_PROTO_VERSION
            for direction in ("out", "in"):
                payload = struct.pack("<i", version) + bytes(20)
                records.append(
                    Message(ts, m.pid, m.peer_id, m.peer_addr, m.conn_type, direction, "version", 24, payload)
                )
        if i % 173 == 9:  # inventories the walker declines: the decoders say what they hold
            for payload in (
                inventory(b"\xfd\x02\x00", 2),  # a non-canonical count
                inventory(b"\x02", 2, b"\x00"),  # a byte too many
                inventory(b"\x03", 2),  # an item short
                inventory(b"\xfd\x00\x01", 256),  # canonical 0xfd: read
            ):
                records.append(
                    Message(
                        ts, m.pid, m.peer_id, m.peer_addr, m.conn_type, "in", "inv", len(payload), payload
                    )
                )
    with CaptureWriter(path, {"network": "mainnet", "host": "mix.example"}, block_size=48 << 10) as w:
        for record in records:
            w.write(record)
    if damaged:  # a flipped byte in the third block's body: skipped, and said so
        reader = CaptureReader(path)
        third = list(reader.blocks())[2]
        reader.close()
        data = bytearray(path.read_bytes())
        data[third.offset + third.length // 2] ^= 0x40
        path.write_bytes(bytes(data))
    return path


@pytest.fixture(scope="module")
def captures(tmp_path_factory):
    folder = tmp_path_factory.mktemp("columns")
    made = {s.stem: s for s in SAMPLES}
    made["mixed"] = mixed_capture(folder / "mixed.cap")
    made["damaged"] = mixed_capture(folder / "damaged.cap", 1500, damaged=True)
    return made


# -- the oracle ------------------------------------------------------------------------------------------
def _message_text(error):
    return (
        None
        if error is None
        else error.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    )


def oracle(path: Path, *, decoded: bool) -> dict:
    """Every table's rows, from the capture alone: {table: [row dict, ...]} in
    file order (the dataset's: by UTC day, then as read)."""
    out = {"messages": [], "inventory": [], "objects": [], "pairs": []}

    def add_pair(pair):
        ts = next(pair[k] for k in ("request_ns", "answer_ns", "announce_ns") if pair[k] is not None)
        row = {"ts_ns": ts, "time": ts, "pid": pair["pid"], "peer_id": pair["peer_id"]}
        row.update(peer_addr=parquet_text(pair["peer_addr"]), conn_type=parquet_text(pair["conn_type"]))
        row.update({name: pair[name] for name, _kind in PAIR_COLUMNS})
        out["pairs"].append(row)

    with open_pipeline(path, decode=True) as p:
        feed = PairFeed(p)
        for rec in p:
            ts = rec.ts_ns
            if type(rec) is Gap:
                row = dict.fromkeys(("peer_id", "peer_addr", "conn_type", "direction", "command", "msg_size"))
                row.update(captured_len=None, flags=None, payload=None, decoded=None, decode_error=None)
                row.update(kind="gap", ts_ns=ts, time=ts, pid=rec.pid, gap_reason=rec.reason_name)
                row.update(lost_messages=rec.lost_messages, lost_bytes=rec.lost_bytes)
                out["messages"].append(row)
                continue
            obj, error = p.decoded(rec)
            items = announced(rec.command, obj) if rec.command in INVENTORY_COMMANDS | OBJECT_COMMANDS else []
            if obj is not None and obj.get("unknown") is True:
                obj = {"unknown": True}
            head = {"ts_ns": ts, "time": ts, "pid": rec.pid, "peer_id": rec.peer_id}
            head.update(peer_addr=parquet_text(rec.peer_addr), conn_type=parquet_text(rec.conn_type))
            head.update(direction=rec.direction, command=parquet_text(rec.command))
            table = "inventory" if rec.command in INVENTORY_COMMANDS else "objects"
            for inv_type, hash_ in items:
                row = {**head, "inv_type": inv_type, "hash": hash_}
                if table == "objects":
                    row["msg_size"] = rec.msg_size
                out[table].append(row)
            row = {"kind": "message", **head, "msg_size": rec.msg_size, "captured_len": rec.captured_len}
            row.update(
                flags=rec.flags, payload=rec.payload, gap_reason=None, lost_messages=None, lost_bytes=None
            )
            row["decoded"] = json.dumps(obj, separators=(",", ":")) if decoded and obj is not None else None
            row["decode_error"] = _message_text(error) if decoded else None
            out["messages"].append(row)
            feed.feed(rec, add_pair)
        feed.finish(add_pair)
    return out


def by_day(rows: list, us: bool) -> list:
    """The rows as the dataset's files hold them: by UTC day, time in µs."""
    rows = sorted(rows, key=lambda r: r["ts_ns"] // DAY_NS)
    return [{**r, "time": r["time"] // 1000} if us else r for r in rows]


def read_rows(files) -> list:
    rows = []
    for f in files:
        table = pq.read_table(f)
        table = table.set_column(
            table.schema.get_field_index("time"), "time", table.column("time").cast(pa.int64())
        )
        rows += table.drop_columns(
            [c for c in ("schema_version", "capture") if c in table.column_names]
        ).to_pylist()
    return rows


def dataset_files(root: Path, table: str) -> list[Path]:
    def order(f):
        part = f.name.split(".")[-2] if f.name.count(".") > 1 else "0"
        return f.parent.name, int(part)

    return sorted((root / table).rglob("*.parquet"), key=order)


def groups(files) -> list:
    out = []
    for f in files:
        meta = pq.ParquetFile(f).metadata
        out.append((f.name, [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]))
    return out


def export_both(path: Path, out: Path, monkeypatch, *, decoded: bool, single: bool) -> dict:
    """The export the fast way and the per-record way: {"fast"|"records": output}."""
    made = {}
    fast_way = exporting.fast_way
    for way in ("fast", "records"):
        monkeypatch.setattr(exporting, "fast_way", fast_way if way == "fast" else lambda p, versions: None)
        target = out / (f"{way}.parquet" if single else way)
        summary = (
            export_capture(path, target, "parquet", decode=decoded)
            if single
            else export_dataset([path], target, nodes=["n1"], decode=decoded)
        )
        made[way] = (target, summary)
    monkeypatch.setattr(exporting, "fast_way", fast_way)
    return made


# -- the walker's rows are the block's records --------------------------------------------------------
ADDRS = ["10.0.0.1:9999", "[2001:db8::1]:9999", odd(b"h\xffst:1"), "back\\slash:2", "x" * 300]
COMMANDS = ["inv", "getdata", "notfound", "tx", "ping", "version", odd(b"c\xfe"), "verylongcmd!"]
messages_ = st.builds(
    lambda ts, pid, peer, addr, conn, d, command, payload, extra, flags: Message(
        ts, pid, peer, addr, conn, d, command, len(payload) + extra, payload, flags
    ),
    st.integers(0, INT64_MAX) | st.integers(INT64_MAX + 1, (1 << 64) - 1),
    st.integers(0, 2**32 - 1),
    st.integers(-(2**63), 2**63 - 1),
    st.sampled_from(ADDRS),
    st.sampled_from(["inbound", "outbound-full-relay", odd(b"\x80")]),
    st.sampled_from(["in", "out"]),
    st.sampled_from(COMMANDS),
    st.binary(max_size=120),
    st.sampled_from([0, 0, 0, 3]),
    st.integers(0, 0xFFFF),
)
gaps_ = st.builds(
    Gap,
    st.integers(0, INT64_MAX),
    st.integers(0, 2**32 - 1),
    st.integers(0, 0xFFFF),
    st.integers(0, INT64_MAX) | st.just((1 << 64) - 1),
    st.integers(0, 1 << 40),
)


def bodies(records, block_size: int = 2048):
    buf = io.BytesIO()
    with CaptureWriter(buf, {"network": "mainnet"}, block_size=block_size) as w:
        for r in records:
            w.write(r)
    reader = CaptureReader(io.BytesIO(buf.getvalue()))
    return [(bytes(block.raw()), block.header.records) for block in reader.read_blocks()]


def rows_of(made) -> list:
    """The walker's rows as records."""
    out = []
    reasons = memoryview(made.reason).cast("i")
    lost, lost_bytes = memoryview(made.lost).cast("q"), memoryview(made.lost_bytes).cast("q")
    ts, pid = memoryview(made.ts).cast("q"), memoryview(made.pid).cast("q")
    for row in range(made.rows):
        if made.is_gap(row):
            out.append(Gap(ts[row], pid[row], reasons[row], lost[row], lost_bytes[row]))
        else:
            out.append(made.message(row))
    return out


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(
    records=st.lists(messages_ | gaps_, max_size=80),
    commands=st.none() | st.sets(st.sampled_from(COMMANDS)),
    since=st.none() | st.integers(0, 1 << 64),
    until=st.none() | st.integers(-1, 1 << 64),
    gaps=st.booleans(),
)
def test_the_walkers_rows_are_the_blocks_records(records, commands, since, until, gaps):
    for raw, count in bodies(records):
        want = decode_block(raw, count, commands=commands, since_ns=since, until_ns=until, gaps=gaps)
        made = block_columns(raw, count, commands, since, until, gaps, LIMITS)
        if made is None:  # only for what a Parquet int64 cannot hold, which the general way names
            assert any(
                r.ts_ns > INT64_MAX or (type(r) is Gap and max(r.lost_messages, r.lost_bytes) > INT64_MAX)
                for r in want
            )
            continue
        assert rows_of(made) == want
        assert made.gaps == sum(type(r) is Gap for r in want)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records=st.lists(messages_ | gaps_, min_size=1, max_size=40), data=st.data())
def test_a_body_the_reader_refuses_is_declined(records, data):
    for raw, count in bodies(records):
        body = bytearray(raw)
        for _ in range(data.draw(st.integers(1, 3))):
            where = data.draw(st.integers(0, len(body) - 1))
            body[where] = data.draw(st.sampled_from([0, 1, 2, 3, 4, 9, 0x7F, 0xFF]))
        body = bytes(body[: data.draw(st.integers(0, len(body)))])
        count += data.draw(st.sampled_from([0, 0, 0, 1, -1]))
        try:
            want = decode_block(body, count)
        except CorruptBlock:
            want = None
        made = block_columns(body, count, None, None, None, True, LIMITS)
        if made is not None:
            assert want is not None and rows_of(made) == want


# -- the walker's inventory items are the decoded message's ---------------------------------------------
@st.composite
def inventories(draw):
    """(command, payload, bytes cut, plain): ``plain`` when the walker must read it."""
    n = draw(st.integers(0, 300))
    claimed = draw(st.sampled_from([n, n, n + 1, max(n - 1, 0)]))
    canonical = bytes([claimed]) if claimed < 0xFD else b"\xfd" + struct.pack("<H", claimed)
    count = draw(
        st.sampled_from(
            [canonical, canonical, b"\xfd" + struct.pack("<H", claimed), b"\xfe" + struct.pack("<I", claimed)]
        )
    )
    types = st.sampled_from([1, 2, 29, 30, 0, 0xFFFFFFFF, 1234])
    entries = b"".join(
        struct.pack("<I", draw(types)) + draw(st.binary(min_size=32, max_size=32)) for _ in range(min(n, 6))
    )
    entries = (entries * (n // 6 + 1))[: 36 * n]
    tail = draw(st.sampled_from([b"", b"", b"\x00"]))
    cut = draw(st.sampled_from([0, 0, 1]))
    plain = count == canonical and claimed == n and not tail and not cut
    return draw(st.sampled_from(sorted(LIMITS))), count + entries + tail, cut, plain


@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
@given(st.lists(inventories(), min_size=1, max_size=12))
def test_inventory_items_are_the_decoded_messages(drawn):
    records = [
        Message(1_700_000_000 * 10**9 + i, 1, 2, "a:1", "inbound", "in", command, len(payload) + cut, payload)
        for i, (command, payload, cut, _plain) in enumerate(drawn)
    ]
    for raw, count in bodies(records, block_size=1 << 20):
        made = block_columns(raw, count, None, None, None, True, LIMITS)
        rows, types, hashes = made.items(pa, exporting.inv_type_name)
        got: dict = {}
        for row, inv_type, hash_ in zip(rows.to_pylist(), types.to_pylist(), hashes.to_pylist()):
            got.setdefault(row, []).append((inv_type, hash_))
        for row in range(made.rows):
            msg = made.message(row)
            if row in made.declined:
                assert row not in got and not drawn[row][3], msg.payload.hex()  # a plain one is read
                continue
            # read by the walker: the decoder reads it too, to the same items
            assert got.get(row, []) == announced(msg.command, decode(msg.command, msg.payload))


def test_inventory_counts_at_and_over_their_limits():
    records = []
    for command, n in (
        ("inv", int(MAX_INV_SZ)),
        ("getdata", int(MAX_INV_SZ) + 1),
        ("notfound", int(MAX_INV_SZ) + 1),
    ):
        payload = b"\xfd" + struct.pack("<H", n) + (struct.pack("<I", 1) + bytes(31) + bytes([n & 0xFF])) * n
        records.append(Message(10**18, 1, 2, "a:1", "inbound", "in", command, len(payload), payload))
    ((raw, count),) = bodies(records, block_size=16 << 20)
    made = block_columns(raw, count, None, None, None, True, LIMITS)
    rows, types, hashes = made.items(pa, exporting.inv_type_name)
    # MAX_INV_SZ items of inv are read; getdata's one more is the decoders' to refuse
    assert made.declined == [1]
    with pytest.raises(DecodeError):
        decode("getdata", records[1].payload)
    # notfound has no count limit but its bytes
    for row in (0, 2):
        items = [
            (t, h) for r, t, h in zip(rows.to_pylist(), types.to_pylist(), hashes.to_pylist()) if r == row
        ]
        assert items == announced(records[row].command, decode(records[row].command, records[row].payload))


# -- whole exports ---------------------------------------------------------------------------------------
CASES = ["realnode-masternodes", "realnode-regtest", "mixed", "damaged"]


@pytest.mark.parametrize("decoded", [False, True], ids=["no-decode", "decoded"])
@pytest.mark.parametrize("name", CASES)
def test_a_single_file_holds_the_oracles_rows(captures, name, decoded, tmp_path, monkeypatch):
    made = export_both(captures[name], tmp_path, monkeypatch, decoded=decoded, single=True)
    (fast, fast_summary), (records, record_summary) = made["fast"], made["records"]
    want = oracle(captures[name], decoded=decoded)["messages"]
    assert read_rows([fast]) == want
    assert pq.read_table(fast).equals(pq.read_table(records))
    assert groups([fast]) == [(fast.name, groups([records])[0][1])]
    assert pq.read_schema(fast).metadata == pq.read_schema(records).metadata
    assert [str(p) for p in fast_summary.problems] == [str(p) for p in record_summary.problems]
    assert (fast_summary.messages, fast_summary.gaps) == (record_summary.messages, record_summary.gaps)
    if name == "damaged":
        assert any("block skipped" in str(p) for p in fast_summary.problems)


@pytest.mark.parametrize("decoded", [False, True], ids=["no-decode", "decoded"])
@pytest.mark.parametrize("name", CASES)
def test_a_dataset_holds_the_oracles_rows(captures, name, decoded, tmp_path, monkeypatch):
    made = export_both(captures[name], tmp_path, monkeypatch, decoded=decoded, single=False)
    (fast, fast_summary), (records, record_summary) = made["fast"], made["records"]
    want = oracle(captures[name], decoded=decoded)
    for table in ("messages", "inventory", "objects", "pairs"):
        files = dataset_files(fast, table)
        assert read_rows(files) == by_day(want[table], us=True), table
        assert groups(files) == groups(dataset_files(records, table)), table
    if name == "mixed":
        assert len(dataset_files(fast, "messages")) == 3  # three days
        assert {r["kind"] for r in want["messages"]} == {"message", "gap"}
        assert any(r["decode_error"] for r in want["messages"]) == decoded
    assert vars(fast_summary) | {"output": ""} == vars(record_summary) | {"output": ""}


@pytest.mark.parametrize("single", [True, False], ids=["single", "dataset"])
def test_row_groups_split_where_the_records_split_them(captures, tmp_path, monkeypatch, single):
    """Small row groups (by rows, and by bytes): the block's rows are cut where
    the one-at-a-time writer ends its groups."""
    import p2pcap.formats.dataset as dataset
    import p2pcap.formats.parquet as parquet

    for module in (parquet, dataset):
        monkeypatch.setattr(module, "ROWS_PER_GROUP", 700)
        monkeypatch.setattr(module, "BYTES_PER_GROUP", 60_000)
    made = export_both(captures["mixed"], tmp_path, monkeypatch, decoded=True, single=single)
    fast, records = made["fast"][0], made["records"][0]
    if single:
        assert groups([fast])[0][1] == groups([records])[0][1]
        assert len(groups([fast])[0][1]) > 10
        assert pq.read_table(fast).equals(pq.read_table(records))
        return
    for table in ("messages", "inventory", "objects", "pairs"):
        assert groups(dataset_files(fast, table)) == groups(dataset_files(records, table)), table
        assert read_rows(dataset_files(fast, table)) == read_rows(dataset_files(records, table)), table


def test_a_filter_the_walker_cannot_apply_takes_the_records_way(captures, tmp_path, monkeypatch):
    from p2pcap.analysis.filters import RecordFilter

    calls = []
    monkeypatch.setattr(exporting.BlockExport, "run", lambda self, bounds: calls.append(bounds))
    out = tmp_path / "peer.parquet"
    export_capture(captures["mixed"], out, "parquet", filt=RecordFilter(direction="in"))
    directions = pq.read_table(out).column("direction").to_pylist()
    assert calls == [] and set(directions) == {"in", None}  # and the gaps, which every filter keeps
    export_capture(captures["mixed"], tmp_path / "all.parquet", "parquet")
    assert calls == [(None, None, None)]


def test_the_general_switch_writes_the_same_rows(captures, tmp_path):
    """P2PCAP_GENERAL=1 sets the walker aside: the command writes the same tables."""
    import os

    cap = captures["realnode-masternodes"]
    env = {**os.environ, "P2PCAP_GENERAL": "1"}
    for args in ([], ["--no-decode"]):
        fast, general = tmp_path / f"fast{len(args)}", tmp_path / f"general{len(args)}"
        for out, extra in ((fast, {}), (general, env)):
            done = subprocess.run(
                p2pcap_cmd("export", str(cap), *args, "--node", "n1", "--format", "parquet", "-o", str(out)),
                capture_output=True,
                text=True,
                env=extra or None,
            )
            assert done.returncode == 0, done.stderr
        for table in ("messages", "inventory", "objects", "pairs"):
            assert read_rows(dataset_files(fast, table)) == read_rows(dataset_files(general, table)), table
