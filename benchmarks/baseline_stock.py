#!/usr/bin/env python3
"""The baseline: the design of Dash Core's contrib/tracing/log_raw_p2p_msgs.py.

Not p2pcap.  A stand-in for the stock example script, written to be
measured side by side with ``p2pcap record`` (benchmarks/bench_recorder.py).
It keeps the example's design choices, the ones that cost it messages:

- one fixed-size record per message, the payload cut at 32,568 bytes
  (MAX_MSG_DATA_LENGTH), built in a one-element BPF_ARRAY shared by all CPUs;
- BCC perf buffers (BPF_PERF_OUTPUT, one per direction) opened with the
  defaults: 8 pages per CPU, so one 32 KiB record fills a CPU's buffer,
  and a wakeup per event;
- one Python callback per message that casts the record with
  ``bpf[...].event(data)`` and formats a line as the example prints it
  (here to /dev/null, so a terminal's speed does not count).

It counts what it received and what the perf buffers reported lost, and
prints ``received N messages, B payload bytes, lost L`` on SIGINT/SIGTERM
or when --pid exits.

    sudo .venv/bin/python benchmarks/baseline_stock.py --pid $(pidof dashd)
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time

PROGRAM = r"""
#include <uapi/linux/ptrace.h>

#ifndef MIN  /* newer kernel headers define it already */
#define MIN(a, b) ({ __typeof__ (a) _a = (a); __typeof__ (b) _b = (b); _a < _b ? _a : _b; })
#endif

// As in the example: Tor v3 / I2P addresses fit 62 + 6 characters.
#define MAX_PEER_ADDR_LENGTH 62 + 6
#define MAX_PEER_CONN_TYPE_LENGTH 20
#define MAX_MSG_TYPE_LENGTH 20
#define MAX_MSG_DATA_LENGTH 32568

struct p2p_message {
    u64 peer_id;
    char peer_addr[MAX_PEER_ADDR_LENGTH];
    char peer_conn_type[MAX_PEER_CONN_TYPE_LENGTH];
    char msg_type[MAX_MSG_TYPE_LENGTH];
    u64 msg_size;
    u8 msg[MAX_MSG_DATA_LENGTH];
};

// The record is too big for the 512-byte BPF stack: a one-element array,
// shared by every CPU (as in the example).
BPF_ARRAY(msg_arr, struct p2p_message, 1);

BPF_PERF_OUTPUT(inbound_messages);
BPF_PERF_OUTPUT(outbound_messages);

int trace_inbound_message(struct pt_regs *ctx) {
    int idx = 0;
    struct p2p_message *msg = msg_arr.lookup(&idx);
    if (msg == NULL)
        return 1;
    bpf_usdt_readarg(1, ctx, &msg->peer_id);
    bpf_usdt_readarg_p(2, ctx, &msg->peer_addr, MAX_PEER_ADDR_LENGTH);
    bpf_usdt_readarg_p(3, ctx, &msg->peer_conn_type, MAX_PEER_CONN_TYPE_LENGTH);
    bpf_usdt_readarg_p(4, ctx, &msg->msg_type, MAX_MSG_TYPE_LENGTH);
    bpf_usdt_readarg(5, ctx, &msg->msg_size);
    bpf_usdt_readarg_p(6, ctx, &msg->msg, MIN(msg->msg_size, MAX_MSG_DATA_LENGTH));
    inbound_messages.perf_submit(ctx, msg, sizeof(*msg));
    return 0;
};

int trace_outbound_message(struct pt_regs *ctx) {
    int idx = 0;
    struct p2p_message *msg = msg_arr.lookup(&idx);
    if (msg == NULL)
        return 1;
    bpf_usdt_readarg(1, ctx, &msg->peer_id);
    bpf_usdt_readarg_p(2, ctx, &msg->peer_addr, MAX_PEER_ADDR_LENGTH);
    bpf_usdt_readarg_p(3, ctx, &msg->peer_conn_type, MAX_PEER_CONN_TYPE_LENGTH);
    bpf_usdt_readarg_p(4, ctx, &msg->msg_type, MAX_MSG_TYPE_LENGTH);
    bpf_usdt_readarg(5, ctx, &msg->msg_size);
    bpf_usdt_readarg_p(6, ctx, &msg->msg, MIN(msg->msg_size, MAX_MSG_DATA_LENGTH));
    outbound_messages.perf_submit(ctx, msg, sizeof(*msg));
    return 0;
};
"""

MAX_MSG_DATA_LENGTH = 32568


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pid", type=int, required=True)
    args = parser.parse_args()

    from bcc import BPF, USDT

    usdt = USDT(pid=args.pid)
    usdt.enable_probe(probe="net:inbound_message", fn_name="trace_inbound_message")
    usdt.enable_probe(probe="net:outbound_message", fn_name="trace_outbound_message")
    bpf = BPF(text=PROGRAM, usdt_contexts=[usdt])

    out = open(os.devnull, "w")
    counts = {"received": 0, "bytes": 0, "lost": 0}

    def print_message(event, inbound: bool) -> None:
        # The example's line: direction, peer, type, size and the payload in hex.
        cut = event.msg_size > MAX_MSG_DATA_LENGTH
        size = min(event.msg_size, MAX_MSG_DATA_LENGTH)
        print(
            f"{'inbound' if inbound else 'outbound'} msg '{event.msg_type.decode()}' "
            f"{'from' if inbound else 'to'} peer {event.peer_id} "
            f"({event.peer_conn_type.decode()}, {event.peer_addr.decode()}) with {event.msg_size} "
            f"bytes: {bytes(event.msg[:size]).hex()}" + (" (cut)" if cut else ""),
            file=out,
        )
        counts["received"] += 1
        counts["bytes"] += size

    def handle_inbound(_, data, size):
        print_message(bpf["inbound_messages"].event(data), True)

    def handle_outbound(_, data, size):
        print_message(bpf["outbound_messages"].event(data), False)

    def lost(n):
        counts["lost"] += n

    bpf["inbound_messages"].open_perf_buffer(handle_inbound, lost_cb=lost)
    bpf["outbound_messages"].open_perf_buffer(handle_outbound, lost_cb=lost)

    stop = []
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    print("listening", file=sys.stderr, flush=True)
    gone_since = None
    while not stop:
        bpf.perf_buffer_poll(timeout=100)
        if gone_since is None and not os.path.exists(f"/proc/{args.pid}"):
            gone_since = time.monotonic()
        if gone_since is not None and time.monotonic() - gone_since > 0.5:
            break
    bpf.perf_buffer_poll(timeout=0)
    print(
        f"received {counts['received']} messages, {counts['bytes']} payload bytes, lost {counts['lost']}",
        file=sys.stderr,
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
