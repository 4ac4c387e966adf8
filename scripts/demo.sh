#!/usr/bin/env bash
# The main job on the bundled stand-in node: record a regtest-like session
# through the real USDT probes, then show the capture.
set -euo pipefail
cd "$(dirname "$0")/.."
P2PCAP=.venv/bin/p2pcap
mkdir -p out
capture=out/demo.cap
log=$(mktemp)
trap 'rm -f "$log"; [ -n "${node:-}" ] && kill "$node" 2>/dev/null || true' EXIT

echo "demo: starting the stand-in node (build/p2p-standin) on samples/regtest-session.msgs"
build/p2p-standin -regtest --wait-signal --rate 200 --linger 0.3 samples/regtest-session.msgs >/dev/null &
node=$!

echo "demo: p2pcap record -o $capture --pid $node"
$P2PCAP record -o "$capture" --pid "$node" 2> >(tee "$log" >&2) &
recorder=$!
for _ in $(seq 1 300); do
    grep -q '^listening on' "$log" && break
    kill -0 "$recorder" 2>/dev/null || { echo "demo: the recorder exited early" >&2; exit 1; }
    sleep 0.1
done
grep -q '^listening on' "$log" || { echo "demo: the recorder did not start listening" >&2; exit 1; }
kill -USR1 "$node"          # the node replays its session, then exits ...
wait "$recorder"            # ... and the recorder ends with it
echo
echo "demo: p2pcap show $capture"
$P2PCAP show "$capture"
echo
echo "demo: p2pcap show $capture --type inv --json"
$P2PCAP show "$capture" --type inv --json
