// BPF side of the p2pcap recorder: copies every P2P message traced by
// dashd's USDT probes net:inbound_message / net:outbound_message into a
// BPF ring buffer, whole, and counts what it cannot copy.
//
// Probe arguments (Dash Core doc/tracing.md; spec/dash-p2p-core.md §3.1):
//   arg1 int64 peer id, arg2 char* peer addr, arg3 char* conn type,
//   arg4 char* command, arg5 uint64 payload size, arg6 uint8* payload.
//
// A message whose captured length fits one chunk travels as one event
// (EV_MESSAGE) reserved in a size class just big enough for it, so an
// 8-byte ping does not take a 32 KiB slot.  Larger messages (up to 3 MiB,
// Dash's MAX_PROTOCOL_MESSAGE_LENGTH) follow as EV_CHUNK events of
// CHUNK_SIZE each; a BPF program runs to completion on one CPU, so a
// message's chunks are consecutive among that CPU's events, and user space
// reassembles them per thread.  bpf_loop() is unusable with BCC 0.26, so the
// chunks go out of a plain bounded loop (MAX_CHUNKS iterations).
//
// Tunables arrive as -D flags from p2pcap/capture/program.py: ADDR_MAX,
// CONN_MAX, CMD_MAX, CHUNK_SIZE, MAX_CHUNKS, RINGBUF_PAGES, SNAPLEN,
// DIRECTION_FILTER (0 both, 1 inbound only, 2 outbound only),
// FILTER_COMMANDS / FILTER_PEERS (1 = consult the maps below).
#include <uapi/linux/ptrace.h>

#define EV_MESSAGE 1
#define EV_CHUNK 2

// Flags, same bits as p2pcap.formats.records.FLAG_*.
#define F_SNAPLEN 0x01
#define F_PAYLOAD_FAULT 0x02
#define F_ADDR_FAULT 0x04
#define F_CONN_FAULT 0x08
#define F_COMMAND_FAULT 0x10
#define F_ADDR_CUT 0x20

struct event {
    u32 kind;          // EV_MESSAGE or EV_CHUNK
    u32 data_len;      // payload bytes carried in data[]
    u64 ts_ns;         // bpf_ktime_get_ns(), CLOCK_MONOTONIC
    u64 msg_size;      // size the node passed (arg5)
    u64 captured_len;  // bytes that will follow in total (<= msg_size)
    s64 peer_id;
    u32 pid;
    u32 tid;           // thread: keys reassembly of its chunks
    u32 flags;
    u32 inbound;
    char addr[ADDR_MAX];
    char conn_type[CONN_MAX];
    char command[CMD_MAX];
    u8 data[];
};

// A continuation chunk: only what reassembly needs.
struct chunk {
    u32 kind;
    u32 data_len;
    u32 offset;        // of data[] within the payload
    u32 tid;
    u8 data[];
};

BPF_RINGBUF_OUTPUT(events, RINGBUF_PAGES);

// Per-CPU loss counters, read and summed by user space on a timer:
// [0] messages lost (no room for the first event), [1] their payload bytes,
// [2] chunks lost (message cut; user space counts the incomplete message).
BPF_PERCPU_ARRAY(losses, u64, 3);

// Kernel-side filters: when enabled, only listed commands / peers are copied.
struct command_key {
    char command[CMD_MAX];
};
BPF_HASH(wanted_commands, struct command_key, u8, 256);
BPF_HASH(wanted_peers, s64, u8, 1024);

static __always_inline void count_loss(int slot, u64 amount)
{
    u64 *value = losses.lookup(&slot);
    if (value)
        *value += amount;
}

static __always_inline int copy_chunks(const u8 *payload, u64 captured, u32 tid)
{
    // The first CHUNK_SIZE bytes went with the EV_MESSAGE event.
    for (int i = 1; i < MAX_CHUNKS; i++) {
        u64 offset = (u64)i * CHUNK_SIZE;
        if (offset >= captured)
            break;
        u64 len = captured - offset;
        if (len > CHUNK_SIZE)
            len = CHUNK_SIZE;
        struct chunk *c = events.ringbuf_reserve(sizeof(struct chunk) + CHUNK_SIZE);
        if (!c) {
            count_loss(2, 1);
            return -1;
        }
        c->kind = EV_CHUNK;
        c->offset = offset;
        c->tid = tid;
        c->data_len = len;
        if (bpf_probe_read_user(c->data, len, payload + offset) != 0)
            c->data_len = 0;  // user space flags the message as faulted
        events.ringbuf_submit(c, BPF_RB_NO_WAKEUP);
    }
    return 0;
}

// Fill and submit one EV_MESSAGE event reserved with room for `room`
// payload bytes.  `room` is a constant at every call site: the size given
// to ringbuf_reserve must be one, and the verifier then knows the bound
// of the payload read.
static __always_inline int emit_message(const u64 room, s64 peer_id,
                                        const char *addr, const char *conn_type,
                                        const char *command, u64 size,
                                        u64 captured, const u8 *payload,
                                        u32 inbound, u32 flags)
{
    struct event *e = events.ringbuf_reserve(sizeof(struct event) + room);
    if (!e) {
        count_loss(0, 1);
        count_loss(1, size);
        return -1;
    }
    e->kind = EV_MESSAGE;
    e->ts_ns = bpf_ktime_get_ns();
    e->msg_size = size;
    e->captured_len = captured;
    e->peer_id = peer_id;
    u64 pid_tgid = bpf_get_current_pid_tgid();
    e->pid = pid_tgid >> 32;
    e->tid = (u32)pid_tgid;
    e->inbound = inbound;

    long n = bpf_probe_read_user_str(e->addr, sizeof(e->addr), addr);
    if (n < 0)
        flags |= F_ADDR_FAULT;
    else if (n == sizeof(e->addr))
        flags |= F_ADDR_CUT;  // filled the buffer: the address may go on
    if (bpf_probe_read_user_str(e->conn_type, sizeof(e->conn_type), conn_type) < 0)
        flags |= F_CONN_FAULT;
    if (bpf_probe_read_user_str(e->command, sizeof(e->command), command) < 0)
        flags |= F_COMMAND_FAULT;

    u64 len = captured;
    if (len > room)
        len = room;
    e->data_len = len;
    if (len > 0 && bpf_probe_read_user(e->data, len, payload) != 0) {
        flags |= F_PAYLOAD_FAULT;
        e->data_len = 0;
    }
    e->flags = flags;
    events.ringbuf_submit(e, BPF_RB_NO_WAKEUP);
    return 0;
}

static __always_inline int trace_message(s64 peer_id, const char *addr,
                                         const char *conn_type, const char *command,
                                         u64 size, const u8 *payload, u32 inbound)
{
    u64 captured = size;
    u32 flags = 0;
    if (captured > SNAPLEN) {
        captured = SNAPLEN;
        flags |= F_SNAPLEN;
    }

#if FILTER_PEERS
    if (!wanted_peers.lookup(&peer_id))
        return 0;
#endif
#if FILTER_COMMANDS
    struct command_key key = {};
    bpf_probe_read_user_str(key.command, sizeof(key.command), command);
    if (!wanted_commands.lookup(&key))
        return 0;
#endif

    // Size classes: the smallest slot that holds the first piece.
    int rc;
    if (captured <= 64)
        rc = emit_message(64, peer_id, addr, conn_type, command, size, captured, payload, inbound, flags);
    else if (captured <= 512)
        rc = emit_message(512, peer_id, addr, conn_type, command, size, captured, payload, inbound, flags);
    else if (captured <= 4096)
        rc = emit_message(4096, peer_id, addr, conn_type, command, size, captured, payload, inbound, flags);
    else
        rc = emit_message(CHUNK_SIZE, peer_id, addr, conn_type, command, size, captured, payload, inbound, flags);

    if (rc == 0 && captured > CHUNK_SIZE)
        copy_chunks(payload, captured, (u32)bpf_get_current_pid_tgid());
    return 0;
}

// bpf_usdt_readarg() must be called in each probe function itself (BCC
// 0.26 fails to load it from a shared helper), and BCC's rewriter refuses
// it inside a macro ("cannot use builtin inside a macro"), so the two entry
// points spell their argument reads out; everything else is shared.
int trace_inbound(struct pt_regs *ctx)
{
    s64 peer_id = 0;
    u64 addr = 0, conn_type = 0, command = 0, size = 0, payload = 0;
    if (DIRECTION_FILTER == 2)
        return 0;
    bpf_usdt_readarg(1, ctx, &peer_id);
    bpf_usdt_readarg(2, ctx, &addr);
    bpf_usdt_readarg(3, ctx, &conn_type);
    bpf_usdt_readarg(4, ctx, &command);
    bpf_usdt_readarg(5, ctx, &size);
    bpf_usdt_readarg(6, ctx, &payload);
    return trace_message(peer_id, (const char *)addr, (const char *)conn_type,
                         (const char *)command, size, (const u8 *)payload, 1);
}

int trace_outbound(struct pt_regs *ctx)
{
    s64 peer_id = 0;
    u64 addr = 0, conn_type = 0, command = 0, size = 0, payload = 0;
    if (DIRECTION_FILTER == 1)
        return 0;
    bpf_usdt_readarg(1, ctx, &peer_id);
    bpf_usdt_readarg(2, ctx, &addr);
    bpf_usdt_readarg(3, ctx, &conn_type);
    bpf_usdt_readarg(4, ctx, &command);
    bpf_usdt_readarg(5, ctx, &size);
    bpf_usdt_readarg(6, ctx, &payload);
    return trace_message(peer_id, (const char *)addr, (const char *)conn_type,
                         (const char *)command, size, (const u8 *)payload, 0);
}
