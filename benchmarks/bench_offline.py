"""Offline commands side by side with tshark, and against the floor of reading.

    .venv/bin/python benchmarks/bench_offline.py                 # 200,000 messages, 3 rounds
    .venv/bin/python benchmarks/bench_offline.py --messages 50000 --rounds 1 --memory 0

One generated mainnet-like mix (45% inv, 10% getdata, 15% tx, pings,
headers, clsig, isdlock, signing sessions, dsq over 12 peers) is written
with the real writer, and the same messages as a pcapng of TCP packets
(``p2pcap export``) for tshark, which reads them with its Bitcoin dissector
(``-d tcp.port==9999,bitcoin``; Dash frames as Bitcoin does).  Every
command runs as a subprocess, end to end, start-up included; p2pcap and
tshark alternate within each round (these machines are shared and noisy)
and the median of the rounds is used.  The four questions:

==============================  =====================================  ==========
p2pcap                          compared with                          goal
==============================  =====================================  ==========
show --type inv --json          tshark -Y inv -T json                  >= 10x
show --type inv -n (listing)    tshark -Y inv (its default summaries)  >= 5x
show --json                     p2pcap show -n --json                  <= 2.5x
diff A B                        p2pcap show -n A, then B               <= 2x
==============================  =====================================  ==========

B is A with 3 messages dropped and 2 changed.  ``--memory N`` also records
N messages (default 1,000,000) and prints each command's peak RSS on it.

``--filters N`` (default 1,000,000; 0 skips) times display filters (-Y)
beside the shorthands they replace, on a capture of N messages (the same
mix, the one ``--memory`` uses when the two counts agree):

=================================================  ======================================  =======
-Y                                                 shorthand                               goal
=================================================  ======================================  =======
show -Y 'command == "inv" && inv.type == MSG_TX'   show --type inv --where inv.type=MSG_TX <= 1.5x
--json                                             --json
show -Y 'command == "inv"' --json                  show --type inv --json                  as fast
show -Y 'command == "inv"' -n                      show --type inv -n                      as fast
=================================================  ======================================  =======

"As fast" is read as within 10%: runs of the same command on this shared
machine move by that much (docs/BENCHMARKS.md).

The package's bytecode is compiled first (``compileall``, into the usual
``__pycache__``), as the installed tool has it (``make install`` is a pip
install, which compiles): a checkout run under PYTHONDONTWRITEBYTECODE
would otherwise compile every module at every start, ~20 ms of a command
that takes 150.
"""

from __future__ import annotations

import argparse
import compileall
import dataclasses
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_format import Traffic  # noqa: E402

import p2pcap  # noqa: E402
from p2pcap.formats import CaptureWriter  # noqa: E402

P2PCAP = [sys.executable, "-m", "p2pcap"]
DISSECT = ["-d", "tcp.port==9999,bitcoin"]
MIX = {
    "inv": 45,
    "getdata": 10,
    "tx": 15,
    "ping": 5,
    "pong": 5,
    "headers": 2,
    "clsig": 3,
    "isdlock": 7,
    "qsigshare": 3,
    "qsigsesann": 2,
    "dsq": 3,
}


class OfflineMix(Traffic):
    """bench_format's generator with the mix above, over 12 peers."""

    def __init__(self, seed: int):
        super().__init__(seed, rate=2_000, peers=12)
        self._kinds, self._weights = list(MIX), list(MIX.values())


def write(messages, path: Path) -> None:
    with CaptureWriter(path, {"network": "mainnet", "bench": "offline"}) as w:
        for m in messages:
            w.write(m)


def variant(messages, seed: int = 7) -> list:
    """3 messages dropped and 2 changed (a ping nonce kept, an inv hash changed)."""
    rng = random.Random(seed)
    out = list(messages)
    for i in sorted(rng.sample(range(1000, len(out) - 1000), 3), reverse=True):
        del out[i]
    invs = [i for i, m in enumerate(out) if m.command == "inv"]
    for i in rng.sample(invs, 2):
        m = out[i]
        payload = bytearray(m.payload)
        payload[-1] ^= 0xFF  # the last hash of the inv: a different object announced
        out[i] = dataclasses.replace(m, payload=bytes(payload))
    return out


def run(cmd: list[str]) -> tuple[float, int, int]:
    """(wall seconds, output lines) of one command."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    lines = 0
    for chunk in iter(lambda: proc.stdout.read(1 << 20), b""):
        lines += chunk.count(b"\n")
    err = proc.stderr.read()
    _pid, status, _usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    proc.returncode = code
    if code not in (0, 1):  # diff exits 1 when the captures differ
        raise SystemExit(f"{' '.join(cmd)} failed ({code}): {err.decode(errors='replace')[-500:]}")
    return elapsed, lines


# A fork starts with its parent's resident memory, which ru_maxrss counts: the
# peak of a command is measured from a small launcher process, not from here.
_LAUNCH = (
    "import os, subprocess, sys; "
    "p = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL); "
    "_, status, usage = os.wait4(p.pid, 0); print(usage.ru_maxrss, os.waitstatus_to_exitcode(status))"
)


def peak_rss(cmd: list[str]) -> tuple[float, int]:
    """(wall seconds, peak RSS in KiB) of ``cmd``, measured from a small launcher."""
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", _LAUNCH, *cmd], capture_output=True, text=True, check=True)
    rss, code = map(int, out.stdout.split())
    if code not in (0, 1):
        raise SystemExit(f"{' '.join(cmd)} failed ({code})")
    return time.perf_counter() - start, rss


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--memory",
        type=int,
        default=1_000_000,
        help="messages in the capture the peak-RSS runs use (0: skip them)",
    )
    parser.add_argument(
        "--filters",
        type=int,
        default=1_000_000,
        help="messages in the capture the display-filter runs use (0: skip them)",
    )
    args = parser.parse_args(argv)
    tshark = shutil.which("tshark")
    compileall.compile_dir(Path(p2pcap.__file__).parent, quiet=1)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        messages = list(OfflineMix(1).messages(args.messages))
        a, b = tmp / "a.cap", tmp / "b.cap"
        write(messages, a)
        write(variant(messages), b)
        pcap = tmp / "a.pcapng"
        subprocess.run([*P2PCAP, "export", str(a), "-o", str(pcap)], check=True, capture_output=True)
        del messages
        inv_filter = ["-Y", 'bitcoin.command == "inv"']
        commands = {
            "show --type inv --json": [*P2PCAP, "show", str(a), "--type", "inv", "--json"],
            "show --type inv -n": [*P2PCAP, "show", str(a), "--type", "inv", "-n"],
            "show --json": [*P2PCAP, "show", str(a), "--json"],
            "show -n --json": [*P2PCAP, "show", str(a), "-n", "--json"],
            "show -n A": [*P2PCAP, "show", str(a), "-n"],
            "show -n B": [*P2PCAP, "show", str(b), "-n"],
            "diff A B": [*P2PCAP, "diff", str(a), str(b)],
        }
        if tshark:
            commands["tshark -Y inv -T json"] = [tshark, "-r", str(pcap), *DISSECT, *inv_filter, "-T", "json"]
            commands["tshark -Y inv"] = [tshark, "-r", str(pcap), *DISSECT, *inv_filter]
        times: dict[str, list[float]] = {name: [] for name in commands}
        lines: dict[str, int] = {}
        for _ in range(args.rounds):
            for name, cmd in commands.items():  # p2pcap and tshark alternate inside a round
                t, n = run(cmd)
                times[name].append(t)
                lines[name] = n
        med = {name: statistics.median(ts) for name, ts in times.items()}
        print(
            f"{args.messages:,} messages, {args.rounds} rounds, median wall seconds "
            f"(p2pcap and tshark alternating)\n"
        )
        print(f"{'command':28} {'lines':>9} {'median s':>9} {'all rounds':>24}")
        for name in commands:
            rounds = " ".join(f"{t:.2f}" for t in times[name])
            print(f"{name:28} {lines[name]:>9,} {med[name]:>9.3f} {rounds:>24}")
        print()
        rows = []
        if tshark:
            rows.append(
                (
                    "show --type inv --json vs tshark -T json",
                    med["tshark -Y inv -T json"] / med["show --type inv --json"],
                    ">=",
                    10,
                )
            )
            rows.append(
                (
                    "show --type inv -n vs tshark summaries",
                    med["tshark -Y inv"] / med["show --type inv -n"],
                    ">=",
                    5,
                )
            )
        rows.append(("show --json / show -n --json", med["show --json"] / med["show -n --json"], "<=", 2.5))
        rows.append(
            (
                "diff A B / (show -n A + show -n B)",
                med["diff A B"] / (med["show -n A"] + med["show -n B"]),
                "<=",
                2,
            )
        )
        print(f"{'ratio':44} {'value':>7} {'goal':>7}  met")
        for name, value, op, goal in rows:
            met = value >= goal if op == ">=" else value <= goal
            print(f"{name:44} {value:>6.2f}x {op}{goal:>4}x  {'yes' if met else 'NO'}")
        if not tshark:
            print("tshark not found: the two tshark ratios are not measured")
        if args.memory:
            big = tmp / "big.cap"
            write(OfflineMix(2).messages(args.memory), big)
            big_b = tmp / "big_b.cap"
            shutil.copy(big, big_b)
            print(f"\npeak RSS on {args.memory:,} messages ({big.stat().st_size / 1e6:.0f} MB capture)")
            for name, cmd in {
                "show --json": [*P2PCAP, "show", str(big), "--json"],
                "show": [*P2PCAP, "show", str(big)],
                "stats --scan --biggest 10": [*P2PCAP, "stats", str(big), "--scan", "--biggest", "10"],
                "filter --type inv": [*P2PCAP, "filter", str(big), "-o", str(tmp / "f.cap"), "--type", "inv"],
                "export jsonl": [*P2PCAP, "export", str(big), "-o", str(tmp / "x.jsonl")],
                "diff A A'": [*P2PCAP, "diff", str(big), str(big_b)],
            }.items():
                t, rss = peak_rss(cmd)
                print(f"  {name:28} {rss / 1024:>7.0f} MiB  {t:>7.1f} s")
        if args.filters:
            big = tmp / "big.cap"
            if not (args.memory == args.filters and big.exists()):
                big = tmp / "filters.cap"
                write(OfflineMix(2).messages(args.filters), big)
            display_filters(big, args.filters, args.rounds)


# (display filter run, shorthand run, goal for their ratio)
FILTER_PAIRS = [
    (
        ["-Y", 'command == "inv" && inv.type == MSG_TX', "--json"],
        ["--type", "inv", "--where", "inv.type=MSG_TX", "--json"],
        1.5,
    ),
    (["-Y", 'command == "inv"', "--json"], ["--type", "inv", "--json"], 1.1),
    (["-Y", 'command == "inv"', "-n"], ["--type", "inv", "-n"], 1.1),
]


def display_filters(cap: Path, messages: int, rounds: int) -> None:
    """-Y beside the shorthands, alternating inside each round (and which goes
    first, every round); the medians and their ratios."""
    times: dict[tuple, list[float]] = {}
    lines: dict[tuple, int] = {}
    for round_ in range(rounds):
        for display, shorthand, _goal in FILTER_PAIRS:
            # which of the two goes first changes every round, so that whatever going
            # first or second does (the page cache, the CPU's clock) falls on both
            for args in (display, shorthand) if round_ % 2 == 0 else (shorthand, display):
                t, n = run([*P2PCAP, "show", str(cap), *args])
                times.setdefault(tuple(args), []).append(t)
                lines[tuple(args)] = n
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"\ndisplay filters on {messages:,} messages, {rounds} rounds, median wall seconds")
    print(f"{'show ...':58} {'lines':>9} {'median s':>9}")
    for display, shorthand, _goal in FILTER_PAIRS:
        for args in (display, shorthand):
            shown = " ".join(a if " " not in a else repr(a) for a in args)
            print(f"{shown:58} {lines[tuple(args)]:>9,} {med[tuple(args)]:>9.3f}")
    print(f"\n{'ratio (-Y / shorthand)':58} {'value':>7} {'goal':>7}  met")
    for display, shorthand, goal in FILTER_PAIRS:
        if lines[tuple(display)] != lines[tuple(shorthand)]:
            raise SystemExit(f"{display} and {shorthand} printed different line counts")
        value = med[tuple(display)] / med[tuple(shorthand)]
        name = " ".join(a if " " not in a else repr(a) for a in display)
        print(f"{name:58} {value:>6.2f}x <={goal:>5}x  {'yes' if value <= goal else 'NO'}")


if __name__ == "__main__":
    main()
