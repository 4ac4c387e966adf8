"""Capture format speed and size, side by side in one run.

    .venv/bin/python benchmarks/bench_format.py                  # 1,000,000 messages
    .venv/bin/python benchmarks/bench_format.py --messages 100000 --sweep

Generates a mainnet-like message mix (below), then measures, on one core
unless said otherwise:

* size: bytes per message of the raw payloads, of Core's ``-capturemessages``
  layout (24-byte record header + payload), of ``gzip -6`` of that layout,
  and of p2pcap files written in bulk (1 MiB blocks) and as the recorder
  would write them live at ``--rate`` messages/s (blocks end after 1 s);
* write throughput of ``CaptureWriter`` (inline, and threaded: zstd on a
  worker thread), messages/s and payload MB/s;
* reading: ``show --type inv --json`` (reader + one JSON line per match)
  against a plain Python loop over the Core layout doing the same; the type
  filter alone; every record; the metadata scan ``stats`` does without a
  footer; ``stats`` from the footer; a rare-type query and a time range with
  and without the footer index.

Payloads are synthetic but shaped like the real ones: hashes, signatures and
keys are random bytes (incompressible), structure (types, lengths, scripts,
quorum hashes, the 1-3 peers a transaction is relayed to) repeats as it does
on the wire.  ``--sweep`` compresses the first 200,000 messages with other
block sizes and zstd levels (docs/FORMAT.md, "Choices").
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import shutil
import struct
import sys
import tempfile
import time
import zlib
from pathlib import Path

from bench_decoders import compact  # a sibling script: benchmarks/ is on sys.path


def varint(n: int) -> bytes:
    """Core's VARINT (src/serialize.h WriteVarInt): 7 bits a byte, most significant first."""
    out = [n & 0x7F]
    while n > 0x7F:
        n = (n >> 7) - 1
        out.append(n & 0x7F | 0x80)
    return bytes(reversed(out))


from p2pcap.formats import CaptureWriter, Message, open_capture
from p2pcap.formats.block import BlockBuilder
from p2pcap.formats.compress import Compressor

TSHARK_MSGS_PER_S = 15_000  # tshark's default speed here (13-17k msgs/s), issue #4
CORE_RECORD = struct.Struct("<Q12sI")  # Core's -capturemessages record header (24 bytes)

# messages per 1,000 in steady state (connection-time messages come separately)
MIX = {
    "inv": 340,
    "getdata": 80,
    "tx": 120,
    "ping": 50,
    "pong": 50,
    "isdlock": 100,
    "qsigshare": 70,
    "qsigrec": 40,
    "qsigsesann": 20,
    "clsig": 15,
    "dsq": 30,
    "headers": 3,
    "notfound": 5,
    "getheaders": 3,
    "addrv2": 3,
    "block": 0.1,
    "mnlistdiff": 0.05,
    "headers-big": 0.05,
    "qfcommit": 0.05,
}
CONNECT = [
    "version",
    "verack",
    "sendaddrv2",
    "sendheaders2",
    "sendcmpct",
    "senddsq",
    "qsendrecsigs",
    "mnauth",
    "getheaders",
    "getsporks",
] + ["spork"] * 12


class Traffic:
    """Synthetic mainnet-like P2P traffic of one node with ``peers`` peers."""

    def __init__(self, seed: int, rate: float, peers: int = 40):
        self.rng = random.Random(seed)
        self.rb = self.rng.randbytes
        self.rate = rate
        self.ts = 1_735_689_600 * 10**9  # 2025-01-01 UTC
        self.pid = 31337
        self.next_peer_id = 0
        self.peers = [self._new_peer() for _ in range(peers)]
        self.recent: list = []  # recently announced inventory entries (36 bytes each)
        self.quorums = [self.rb(32) for _ in range(8)]
        self.cycle = self.rb(32)
        self.height = 2_200_000
        self.pending: list = []  # (command, payload, direction, peer) still to emit
        kinds = list(MIX)
        self._kinds, self._weights = kinds, [MIX[k] for k in kinds]

    def _new_peer(self):
        self.next_peer_id += 1
        r = self.rng
        inbound = r.random() < 0.6
        addr = (
            f"{r.randint(1, 223)}.{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(1, 254)}:"
            f"{r.randint(1024, 65535) if inbound else 9999}"
        )
        conn = "inbound" if inbound else r.choice(["outbound-full-relay", "block-relay-only", "manual"])
        return (self.next_peer_id - 1, addr, conn)

    # -- payloads -------------------------------------------------------------
    def inventory(self, count: int, fresh: float) -> bytes:
        out = [compact(count)]
        recent = self.recent
        for _ in range(count):
            if recent and self.rng.random() > fresh:
                out.append(recent[self.rng.randrange(len(recent))])
            else:
                entry = struct.pack("<I", self.rng.choice((1, 1, 1, 30, 29, 14))) + self.rb(32)
                if len(recent) < 4096:
                    recent.append(entry)
                else:
                    recent[self.rng.randrange(4096)] = entry
                out.append(entry)
        return b"".join(out)

    def tx(self) -> bytes:
        r = self.rng
        nin, nout = r.choice((1, 1, 1, 2, 3)), r.choice((1, 2, 2, 2, 3))
        parts = [struct.pack("<HH", 3, 0), compact(nin)]
        for _ in range(nin):
            sig = b"\x30\x44\x02\x20" + self.rb(32) + b"\x02\x20" + self.rb(32) + b"\x01"
            script = b"\x47" + sig + b"\x21" + bytes([r.choice((2, 3))]) + self.rb(32)
            parts += [
                self.rb(32),
                struct.pack("<I", r.randrange(4)),
                compact(len(script)),
                script,
                b"\xff\xff\xff\xff",
            ]
        parts.append(compact(nout))
        for _ in range(nout):
            parts += [struct.pack("<q", r.randrange(10**9)), b"\x19\x76\xa9\x14", self.rb(20), b"\x88\xac"]
        parts.append(b"\x00\x00\x00\x00")
        return b"".join(parts)

    def header(self) -> bytes:
        self.ts_block = getattr(self, "ts_block", 1_735_689_600) + 157
        return (
            struct.pack("<I", 0x20000000)
            + self.rb(64)
            + struct.pack("<I", self.ts_block)
            + b"\x6a\x1c\x1b\x19"
            + self.rb(4)
        )

    def sig(self) -> bytes:
        return self.rb(96)

    def payload(self, kind: str):
        r = self.rng
        if kind == "inv":
            n = 1 if r.random() < 0.55 else r.randint(2, 5) if r.random() < 0.67 else r.randint(6, 27)
            return "inv", self.inventory(n, fresh=0.4)
        if kind in ("getdata", "notfound"):
            return kind, self.inventory(r.randint(1, 3), fresh=0.05)
        if kind == "tx":
            return "tx", self.tx()
        if kind in ("ping", "pong"):
            return kind, self.rb(8)
        if kind == "isdlock":
            n = r.choice((1, 1, 2, 3))
            outpoints = b"".join(self.rb(32) + struct.pack("<I", r.randrange(3)) for _ in range(n))
            return kind, b"\x01" + compact(n) + outpoints + self.rb(32) + self.cycle + self.sig()
        if kind == "qsigshare":
            n = r.choice((1, 1, 1, 2))
            return kind, compact(n) + b"".join(
                b"\x64"
                + r.choice(self.quorums)
                + struct.pack("<H", r.randrange(400))
                + self.rb(64)
                + self.sig()
                for _ in range(n)
            )
        if kind == "qsigrec":
            return kind, b"\x64" + r.choice(self.quorums) + self.rb(64) + self.sig()
        if kind == "qsigsesann":
            # vec<CSigSesAnn>: one announcement, its session id a VARINT (src/llmq/signing_shares.h)
            session = varint(r.randrange(10**6))
            return kind, b"\x01" + session + b"\x64" + r.choice(self.quorums) + self.rb(64)
        if kind == "clsig":
            self.height += r.random() < 0.3
            return kind, struct.pack("<i", self.height) + self.rb(32) + self.sig()
        if kind == "dsq":
            return kind, (
                struct.pack("<I", r.choice((1, 2, 4, 8, 16)))
                + self.rb(32)
                + struct.pack("<q", self.ts // 10**9)
                + b"\x01"
                + b"\x60"
                + self.sig()
            )
        if kind == "headers":
            return kind, b"\x01" + self.header() + b"\x00"
        if kind == "headers-big":
            return "headers", compact(2000) + b"".join(self.header() + b"\x00" for _ in range(2000))
        if kind == "getheaders":
            n = r.randint(1, 30)
            return kind, struct.pack("<I", 70238) + compact(n) + self.rb(32 * n) + bytes(32)
        if kind == "addrv2":
            n = r.choice((1, 1, 2, 10, 1000))
            return kind, compact(n) + b"".join(
                struct.pack("<I", self.ts // 10**9 - r.randrange(10**5))
                + b"\x09\x0c\x01\x04"
                + self.rb(4)
                + b"\x27\x0f"
                for _ in range(n)
            )
        if kind == "block":
            target = int(10_000 * 100 ** r.random())  # 10 KB .. 1 MB, log-uniform
            txs, size = [], 81
            while size < target:
                txs.append(self.tx())
                size += len(txs[-1])
            return kind, self.header() + compact(len(txs)) + b"".join(txs)
        if kind == "mnlistdiff":
            return kind, self.rb(64) + compact(60) + b"".join(
                self.rb(32)
                + self.rb(48)
                + b"\x00" * 16
                + b"\xff\xff"
                + self.rb(4)
                + b"\x27\x0f"
                + self.rb(20)
                + b"\x01"
                for _ in range(60)
            )
        if kind == "qfcommit":
            return kind, b"\x01\x00\x64" + r.choice(self.quorums) + compact(50) + self.rb(7) + compact(
                50
            ) + self.rb(7) + self.rb(48) + self.rb(32) + self.sig() * 2
        raise AssertionError(kind)

    def connect_messages(self, peer):
        for i, command in enumerate(CONNECT):
            if command == "spork":  # CSporkMessage (src/spork.h): id, value, time signed, signature
                head = struct.pack("<iqq", 10001 + i % 12, 4_070_908_800, self.ts // 10**9) + b"\x41"
                payloads = (head + self.rb(65), head + self.rb(65))
            elif command == "version":  # a protocol version first: the one decoding negotiates
                payloads = tuple(
                    struct.pack("<i", v) + self.rb(156) for v in (70238, self.rng.choice((70235, 70238)))
                )
            else:
                size = {"mnauth": 130, "sendcmpct": 9}.get(command, 0)
                payloads = (self.rb(size), self.rb(size))
            for direction, payload in zip(("in", "out"), payloads):
                self.pending.append((command, payload, direction, peer))

    # -- the stream -----------------------------------------------------------
    def messages(self, n: int):
        r = self.rng
        for peer in self.peers:
            self.connect_messages(peer)
        reconnect_every = 25_000
        made = 0
        while made < n:
            if self.pending:
                command, payload, direction, peer = self.pending.pop(0)
            else:
                if made and made % reconnect_every == 0:
                    self.peers[r.randrange(len(self.peers))] = peer = self._new_peer()
                    self.connect_messages(peer)
                kind = r.choices(self._kinds, self._weights)[0]
                command, payload = self.payload(kind)
                peer = r.choice(self.peers)
                direction = "in" if r.random() < 0.6 else "out"
                if command in ("tx", "isdlock", "clsig", "qsigrec") and direction == "in":
                    for _ in range(r.choice((0, 0, 1, 1, 2, 3))):  # relayed on to peers that asked
                        self.pending.append((command, payload, "out", r.choice(self.peers)))
            self.ts += int(r.expovariate(self.rate) * 1e9) + 1
            peer_id, addr, conn = peer
            yield Message(self.ts, self.pid, peer_id, addr, conn, direction, command, len(payload), payload)
            made += 1


# -- measurements --------------------------------------------------------------


def timed(fn):
    """(result, wall seconds, CPU seconds of this process).

    Rates are computed from CPU time where one thread does the work: the
    development VM is shared, and waiting for a CPU is not the format's cost.
    """
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def write_core_layout(messages, path: Path) -> int:
    with open(path, "wb", buffering=1 << 20) as f:
        for m in messages:
            f.write(CORE_RECORD.pack(m.ts_ns // 1000, m.command.encode(), len(m.payload)))
            f.write(m.payload)
    return path.stat().st_size


def gzip_size(path: Path, level: int = 6) -> int:
    comp = zlib.compressobj(level, zlib.DEFLATED, 31)  # gzip framing
    total = 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            total += len(comp.compress(chunk))
    return total + len(comp.flush())


def write_p2pcap(messages, path: Path, **options) -> CaptureWriter:
    with CaptureWriter(path, {"bench": True}, **options) as w:
        write = w.write
        for m in messages:
            write(m)
    return w


def write_live(messages, path: Path, rate_clock) -> CaptureWriter:
    """As the recorder would: a block ends when its oldest record is 1 s old."""
    clock = [0.0]
    with CaptureWriter(path, {"bench": True}, clock=lambda: clock[0]) as w:
        for m in messages:
            clock[0] = m.ts_ns / 1e9
            w.write(m)
    return w


def as_json(ts_ns, pid, peer_id, addr, conn_type, direction, command, msg_size, payload) -> str:
    """One ``show --json`` line (the same fields for both sides of the comparison)."""
    return json.dumps(
        {
            "ts_ns": ts_ns,
            "pid": pid,
            "peer_id": peer_id,
            "addr": addr,
            "conn_type": conn_type,
            "direction": direction,
            "command": command,
            "msg_size": msg_size,
            "captured_len": len(payload),
            "payload": payload.hex(),
        }
    )


def show_p2pcap(path: Path, command: str, emit: bool) -> int:
    n = 0
    with open_capture(path) as reader, open(os.devnull, "w") as out:
        for m in reader.records(commands={command}, gaps=False):
            n += 1
            if emit:
                out.write(
                    as_json(
                        m.ts_ns,
                        m.pid,
                        m.peer_id,
                        m.peer_addr,
                        m.conn_type,
                        m.direction,
                        m.command,
                        m.msg_size,
                        m.payload,
                    )
                    + "\n"
                )
    return n


def show_core_layout(path: Path, command: str, emit: bool) -> int:
    """The plain Python loop: read each 24-byte header, compare the command.

    Core keeps one file per peer and direction, so address and direction come
    from the path; here they are constants, which only flatters the loop.
    """
    want = command.encode().ljust(12, b"\0")
    unpack = CORE_RECORD.unpack
    n = 0
    with open(path, "rb", buffering=1 << 20) as f, open(os.devnull, "w") as out:
        read = f.read
        while len(head := read(24)) == 24:
            ts_us, cmd, size = unpack(head)
            payload = read(size)
            if cmd == want:
                n += 1
                if emit:
                    out.write(
                        as_json(ts_us * 1000, 0, 0, "1.2.3.4:9999", "", "in", command, size, payload) + "\n"
                    )
    return n


def sweep(messages, limit: int = 200_000) -> list:
    rows = []
    sample = messages[:limit]
    for block_size in (64 << 10, 256 << 10, 1 << 20, 4 << 20):
        bodies, b = [], BlockBuilder()
        for m in sample:
            if b.records and len(b) + len(m.payload) + 28 > block_size:
                bodies.append(b.finish().raw)
                b = BlockBuilder()
            b.add(m)
        bodies.append(b.finish().raw)
        raw = sum(map(len, bodies))
        for level in (1, 3, 6):
            c = Compressor(level)
            size, _, cpu = timed(lambda c=c: sum(len(c(x)) for x in bodies))  # noqa: B023 (called at once)
            rows.append((block_size, level, raw / size, raw / cpu / 1e6))
    return rows


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--messages", type=int, default=1_000_000)
    ap.add_argument(
        "--rate",
        type=float,
        default=250.0,
        help="messages/s of the simulated node, for the live-flush size (250)",
    )
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--sweep", action="store_true", help="also try other block sizes and levels")
    ap.add_argument("--keep", type=Path, help="keep the files in this directory")
    args = ap.parse_args(argv)

    tmp = Path(tempfile.mkdtemp(prefix="bench-format-"))
    try:
        run(args, tmp)
        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
            for p in tmp.iterdir():
                shutil.move(str(p), args.keep / p.name)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run(args, tmp: Path) -> None:
    n = args.messages
    traffic = Traffic(args.seed, args.rate)
    messages, dt, _ = timed(lambda: list(traffic.messages(n)))
    gc.freeze()  # a million live test messages would make every GC pass slow
    payload = sum(len(m.payload) for m in messages)
    counts: dict = {}
    for m in messages:
        counts[m.command] = counts.get(m.command, 0) + 1
    ranked = sorted(counts.items(), key=lambda kv: -kv[1])
    top = ", ".join(f"{c} {v / n:.1%}" for c, v in ranked[:12])
    print(f"p2pcap capture format benchmark: {n:,} messages (seed {args.seed}), generated in {dt:.1f} s")
    print(
        f"  mix: {top}; {len(counts)} commands; mean payload {payload / n:.0f} B, "
        f"{payload / 1e6:.1f} MB in all\n"
    )

    core = tmp / "core-layout.dat"
    core_size = write_core_layout(messages, core)
    gz_size, *gz_t = timed(lambda: gzip_size(core))
    bulk = tmp / "bulk.cap"
    w_inline, *inline_t = timed(lambda: write_p2pcap(messages, bulk))
    w_thread, *thread_t = timed(lambda: write_p2pcap(messages, tmp / "threaded.cap", threaded=True))
    live = tmp / "live.cap"
    w_live = write_live(messages, live, args.rate)
    bulk_size, live_size = bulk.stat().st_size, live.stat().st_size

    print(f"{'size':34} {'B/msg':>8} {'MB':>9} {'vs Core layout':>15}")
    sizes = [
        ("raw payload bytes", payload),
        ("Core -capturemessages (24 + payload)", core_size),
        ("gzip -6 of the Core layout", gz_size),
        (f"p2pcap bulk ({w_inline.blocks} blocks of ~1 MiB)", bulk_size),
        (f"p2pcap live {args.rate:g} msg/s ({w_live.blocks} blocks, 1 s)", live_size),
    ]
    for name, size in sizes:
        print(f"{name[:34]:34} {size / n:8.1f} {size / 1e6:9.1f} {core_size / size:14.2f}x")

    print(
        f"\n{'write':34} {'msgs/s':>10} {'MB/s in':>9} {'wall s':>7} {'CPU s':>7}"
        f"   (msgs/s: wall clock for threaded, CPU time otherwise)"
    )
    for name, (wall, cpu), threads in [
        ("p2pcap CaptureWriter inline", inline_t, 1),
        ("p2pcap CaptureWriter threaded", thread_t, 2),
        ("gzip -6 of the Core layout", gz_t, 1),
    ]:
        dt = wall if threads > 1 else cpu
        print(f"{name:34} {n / dt:10,.0f} {payload / dt / 1e6:9.1f} {wall:7.2f} {cpu:7.2f}")

    cut = tmp / "nofooter.cap"
    with open_capture(bulk) as r:
        last = r.index.blocks[-1]
        mid = messages[n // 2].ts_ns
        n_blocks = len(r.index.blocks)
    with open(bulk, "rb") as src, open(cut, "wb") as dst:
        dst.write(src.read(last.offset + last.length))  # as a killed recorder leaves it

    def count_all(path):
        with open_capture(path) as r:
            return sum(1 for _ in r)

    def scan(path):
        with open_capture(path) as r:
            return r.summarize(scan=True).messages

    def footer_stats(path):
        with open_capture(path) as r:
            return r.summarize().messages

    def query(path, commands=None, since=None, until=None):
        with open_capture(path) as r:
            return sum(1 for _ in r.records(commands=commands, since_ns=since, until_ns=until))

    rare = min((c for c in counts if counts[c] >= 10), key=counts.get)
    loop_json = timed(lambda: show_core_layout(core, "inv", True))
    loop_count = timed(lambda: show_core_layout(core, "inv", False))
    rows = [
        ("plain loop, Core layout: inv + JSON", loop_json, None),
        ("p2pcap show --type inv --json", timed(lambda: show_p2pcap(bulk, "inv", True)), loop_json),
        ("plain loop, Core layout: inv, count", loop_count, None),
        ("p2pcap records(commands=inv), count", timed(lambda: show_p2pcap(bulk, "inv", False)), loop_count),
        ("p2pcap every record", timed(lambda: count_all(bulk)), loop_count),
        ("p2pcap metadata scan (stats, no footer)", timed(lambda: scan(cut)), loop_count),
        ("p2pcap stats from the footer", timed(lambda: footer_stats(bulk)), loop_count),
        (f"rare type {rare!r}, footer index", timed(lambda: query(bulk, {rare})), loop_count),
        (f"rare type {rare!r}, no footer (mask)", timed(lambda: query(cut, {rare})), loop_count),
        (
            "60 s time range, footer index",
            timed(lambda: query(bulk, None, mid, mid + 60 * 10**9)),
            loop_count,
        ),
        ("60 s time range, no footer", timed(lambda: query(cut, None, mid, mid + 60 * 10**9)), loop_count),
    ]
    print(
        f"\n{'read (one thread)':40} {'matched':>8} {'wall s':>7} {'CPU s':>7} {'msgs/s':>11} "
        f"{'vs loop':>8} {'vs tshark':>9}"
    )
    for name, (matched, wall, cpu), base in rows:
        rate = n / cpu
        versus = f"{base[2] / cpu:7.2f}x" if base else f"{'':8}"
        print(
            f"{name[:40]:40} {matched:8,} {wall:7.3f} {cpu:7.3f} {rate:11,.0f} {versus} "
            f"{rate / TSHARK_MSGS_PER_S:8.1f}x"
        )
    print(
        f"\n(msgs/s = messages in the file / CPU seconds; the file has {n_blocks} blocks. "
        f"'vs loop' = the plain\nloop's CPU time / this one, against the loop above it (JSON) "
        f"or the counting loop.\n'vs tshark': against tshark's default speed here, "
        f"{TSHARK_MSGS_PER_S:,} msgs/s.)"
    )

    if args.sweep:
        print(
            f"\n{'block size':>10} {'level':>5} {'ratio':>6} {'MB/s':>7}   "
            f"(first {min(n, 200_000):,} messages, raw block bodies, MB/s of CPU time)"
        )
        for block_size, level, ratio, speed in sweep(messages):
            print(f"{block_size >> 10:8} K {level:5} {ratio:6.2f} {speed:7.0f}")


if __name__ == "__main__":
    sys.exit(main())
