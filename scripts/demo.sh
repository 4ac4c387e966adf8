#!/usr/bin/env bash
# The main job: record a regtest session through the real USDT probes, then
# show the capture.  By default on the bundled stand-in node; with
# DASHD=PATH (make demo DASHD=...) on two real regtest dashd nodes, the
# dash-cli beside it (or DASH_CLI=PATH) driving them.
set -euo pipefail
cd "$(dirname "$0")/.."
P2PCAP=.venv/bin/p2pcap
mkdir -p out
capture=out/demo.cap
log=$(mktemp)
nodes=()
datadir=
cleanup() {
    rm -f "$log"
    [ -n "${node:-}" ] && kill "$node" 2>/dev/null || true
    for pid in "${nodes[@]}"; do kill "$pid" 2>/dev/null || true; done
    [ -n "$datadir" ] && rm -rf "$datadir"
    return 0
}
trap cleanup EXIT

# p2pcap record ARGS in the background; returns once it listens.
start_recorder() {
    echo "demo: p2pcap record -o $capture $*"
    $P2PCAP record -o "$capture" "$@" 2> >(tee "$log" >&2) &
    recorder=$!
    for _ in $(seq 1 300); do
        grep -q '^listening on' "$log" && return 0
        kill -0 "$recorder" 2>/dev/null || { echo "demo: the recorder exited early" >&2; exit 1; }
        sleep 0.1
    done
    echo "demo: the recorder did not start listening" >&2
    exit 1
}

standin_session() {
    echo "demo: starting the stand-in node (build/p2p-standin) on samples/regtest-session.msgs"
    build/p2p-standin -regtest --wait-signal --rate 200 --linger 0.3 samples/regtest-session.msgs >/dev/null &
    node=$!
    start_recorder --pid "$node"
    kill -USR1 "$node"          # the node replays its session, then exits ...
    wait "$recorder"            # ... and the recorder ends with it
}

free_port() {
    .venv/bin/python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

real_session() {
    local cli=${DASH_CLI:-$(dirname "$DASHD")/dash-cli}
    [ -x "$DASHD" ] || { echo "demo: DASHD=$DASHD is not an executable file" >&2; exit 2; }
    [ -x "$cli" ] || { echo "demo: no dash-cli at $cli (DASH_CLI=PATH names one)" >&2; exit 2; }
    datadir=$(mktemp -d)
    local ports=() i
    for i in 0 1 2 3; do ports+=("$(free_port)"); done
    # the regtest recipe: loopback only, no seeds, v2 (BIP324) connections
    for i in 0 1; do
        mkdir "$datadir/n$i"
        "$DASHD" -regtest -datadir="$datadir/n$i" -bind="127.0.0.1:${ports[i]}" -port="${ports[i]}" \
            -rpcport="${ports[i + 2]}" -rpcuser=demo -rpcpassword=demo -listen=1 -listenonion=0 \
            -dnsseed=0 -fixedseeds=0 -v2transport=1 -fallbackfee=0.0001 -printtoconsole=0 &
        nodes+=($!)
    done
    # -datadir: dash-cli reads its node's dash.conf (without it, a missing ~/.dashcore is an error)
    cli0=("$cli" -regtest -datadir="$datadir/n0" -rpcport="${ports[2]}" -rpcuser=demo -rpcpassword=demo -rpcwait)
    cli1=("$cli" -regtest -datadir="$datadir/n1" -rpcport="${ports[3]}" -rpcuser=demo -rpcpassword=demo -rpcwait)
    echo "demo: two regtest nodes of $DASHD (pids ${nodes[*]}), data in $datadir"
    "${cli0[@]}" getblockcount >/dev/null && "${cli1[@]}" getblockcount >/dev/null
    start_recorder --exe "$DASHD"
    echo "demo: connecting them (v2), mining 101 blocks, sending 3 transactions, mining 1"
    "${cli1[@]}" addnode "127.0.0.1:${ports[0]}" onetry >/dev/null
    "${cli0[@]}" -named createwallet wallet_name=w descriptors=true load_on_startup=false >/dev/null
    local address
    address=$("${cli0[@]}" -rpcwallet=w getnewaddress)
    "${cli0[@]}" generatetoaddress 101 "$address" >/dev/null
    for i in 1 2 3; do "${cli0[@]}" -rpcwallet=w sendtoaddress "$address" 1 >/dev/null; done
    sleep 2  # let the transactions be relayed before they are mined
    "${cli0[@]}" generatetoaddress 1 "$address" >/dev/null
    for _ in $(seq 1 100); do
        [ "$("${cli0[@]}" getbestblockhash)" = "$("${cli1[@]}" getbestblockhash)" ] && break
        sleep 0.1
    done
    "${cli0[@]}" stop >/dev/null && "${cli1[@]}" stop >/dev/null
    for pid in "${nodes[@]}"; do while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done; done
    kill -INT "$recorder"
    wait "$recorder" || true    # 130: stopped by SIGINT, as Ctrl-C would
}

if [ -n "${DASHD:-}" ]; then real_session; else standin_session; fi
echo
echo "demo: p2pcap show $capture"
$P2PCAP show "$capture"
echo
echo "demo: p2pcap show $capture --type inv --json"
$P2PCAP show "$capture" --type inv --json
