// BPF side of the p2pcap recorder: copies every P2P message traced by
// dashd's USDT probes net:inbound_message / net:outbound_message into a
// BPF ring buffer, whole, and counts what it cannot copy.
//
// Probe arguments (Dash Core doc/tracing.md, src/net.cpp):
//   arg1 int64 peer id, arg2 char* peer addr, arg3 char* conn type,
//   arg4 char* command, arg5 uint64 payload size, arg6 uint8* payload.
//
// Three kinds of ring-buffer records (capture/events.py parses them):
//
// - EV_PEER names a peer: pid, peer id, address, connection type and a
//   reference number.  A peer's address and connection type never change
//   in dashd (CNode::m_addr_name and m_conn_type are const), so the probe
//   reads the two strings only the first time a CPU meets a (pid, peer
//   id, address pointer) key, remembered in that CPU's slot of
//   `peer_cache`; later messages carry the reference.  That keeps two
//   string reads and ~290 bytes out of almost every probe hit.  The
//   address pointer is part of the key so a different string under the
//   same peer id (a crafted stand-in file) is announced again instead of
//   being mislabelled.
//   The cache is a per-CPU array indexed by the peer id (dashd numbers
//   peers 0, 1, 2 ...): a lookup is an index, not a hash.  A slot's fields
//   are written one by one, so no other probe may use this CPU's cache
//   meanwhile; see PREEMPTIBLE.  Two peers live at once whose ids are PEER_SLOTS apart
//   take turns in one slot and are announced more often; nothing is lost.
//   Each CPU announces a peer once (user space maps every reference to the
//   same peer).  When a traced process exits, user space bumps `epoch`
//   and every slot filled before is stale: a reused pid cannot inherit
//   the names of the dead process's peers.
// - EV_MESSAGE carries a message's metadata and its first piece, reserved
//   in a size class just big enough for it, so an 8-byte ping does not
//   take a 32 KiB slot.
// - EV_CHUNK carries the rest of a message larger than one chunk (up to
//   3 MiB, Dash's MAX_PROTOCOL_MESSAGE_LENGTH), CHUNK_SIZE bytes each.
//   The chunks are copied by a second program, `copy_chunks`, reached by
//   bpf_tail_call: it copies CHUNKS_PER_CALL chunks and tail-calls itself
//   until the message is done.  A loop over all 96 chunks in one program
//   is accepted by Linux 6.12+ but exceeds the 1M-instruction verifier
//   budget of 5.10 and 6.1 (every iteration is explored); a tail-called
//   program is verified once, for CHUNKS_PER_CALL iterations, whatever the
//   message size.  The kernel allows 32 tail calls per run on 5.10
//   (MAX_TAIL_CALL_CNT, include/linux/bpf.h; 33 from 5.17), so
//   CHUNKS_PER_CALL is chosen in limits.py to need fewer.  bpf_loop()
//   (5.17+) would not reach 5.10, and BCC 0.26 cannot link its callback.
//   The job (where the payload is, how far it got) lives in `chunk_jobs`,
//   keyed by thread id, not in a per-CPU slot: with preempt=full a uprobe
//   program runs with migration, not preemption, disabled (Linux 6.1+,
//   bpf_prog_run_array_uprobe), so another thread's probe may run on this
//   CPU in between; a thread cannot interleave with itself.
//   One probe hit, tail calls included, runs before that thread can hit
//   another, so a message's chunks are consecutive among its thread's
//   records, and user space reassembles them per thread.
// PREEMPTIBLE (set by capture/program.py for Linux 6.0 and later): up to
// 5.19 a uprobe's program ran with preemption disabled (kernel/trace/
// trace_uprobe.c, __uprobe_perf_func: preempt_disable() around
// trace_call_bpf); since 6.0 it runs under bpf_prog_run_array_uprobe()
// (include/linux/bpf.h) with only migration disabled and an RCU read lock,
// which on a kernel booted with preempt=full (Debian's kernels are
// PREEMPT_DYNAMIC) does not stop another thread's probe from running on
// the same CPU in the middle of ours.  Per-CPU state is then touched only
// with atomic instructions or under `cache_busy`, with the fetching and
// compare-and-swap BPF atomics of Linux 5.12, which 5.10 lacks.
//
// Records are submitted with BPF_RB_NO_WAKEUP: user space drains the ring
// on a timer, so a probe hit never pays for waking it.  Large messages
// (>= WAKE_MIN_BYTES) also add their size to `wake_bytes`; the one that
// takes it past a quarter of the ring sends an 8-byte EV_WAKE record with
// BPF_RB_FORCE_WAKEUP, waking the consumer at once, so a burst of blocks
// does not wait for the timer.
// (BCC 0.26 offers no ringbuf_query method to ask how full the ring is.)
//
// Tunables arrive as -D flags from capture/program.py: ADDR_MAX,
// CONN_MAX, CMD_MAX, CHUNK_SIZE, CHUNKS_PER_CALL, RINGBUF_PAGES, PEER_SLOTS,
// SNAPLEN, DIRECTION_FILTER (0 both, 1 inbound only, 2 outbound only),
// FILTER_COMMANDS / FILTER_PEERS (1 = consult the maps below), PREEMPTIBLE.
#include <uapi/linux/ptrace.h>

#define EV_MESSAGE 1
#define EV_CHUNK 2
#define EV_PEER 3
#define EV_WAKE 4

// Flags, same bits as p2pcap.formats.records.FLAG_*.
#define F_SNAPLEN 0x01
#define F_PAYLOAD_FAULT 0x02
#define F_ADDR_FAULT 0x04
#define F_CONN_FAULT 0x08
#define F_COMMAND_FAULT 0x10
#define F_ADDR_CUT 0x20

struct event {
    u8 kind;           // EV_MESSAGE
    u8 inbound;
    u8 command_len;    // bytes of command[] before its NUL
    u8 flags;
    u32 data_len;      // payload bytes carried in data[]
    u64 peer_ref;      // the EV_PEER record naming this message's peer
    u64 ts_ns;         // bpf_ktime_get_ns(), CLOCK_MONOTONIC
    u64 msg_size;      // size the node passed (arg5)
    u32 captured_len;  // bytes that will follow in total (<= msg_size)
    u32 tid;           // thread: keys reassembly of the chunks
    char command[CMD_MAX];
    u8 data[];
};

struct chunk {
    u8 kind;           // EV_CHUNK
    u8 pad[3];
    u32 data_len;      // 0: reading this piece failed, the message ends here
    u32 offset;        // of data[] within the payload
    u32 tid;
    u8 data[];
};

struct peer {
    u8 kind;           // EV_PEER
    u8 flags;          // F_ADDR_FAULT, F_CONN_FAULT, F_ADDR_CUT
    u16 addr_len;
    u32 conn_len;
    u64 peer_ref;
    s64 peer_id;
    u32 pid;
    u32 pad;
    char addr[ADDR_MAX];
    char conn_type[CONN_MAX];
};

struct peer_slot {
    u32 pid;
    u32 epoch;         // `epoch` when filled; older slots are stale
    s64 peer_id;
    u64 addr;          // the address string's pointer in the traced process
    u64 ref;           // the EV_PEER record that named the peer on this CPU
};

// What the probes could not copy, per CPU, summed by user space after each
// drain: messages whose first record found no room, their payload bytes,
// chunks that found no room (their message is then incomplete; user space
// counts it), the time of the latest loss and the start of the run of
// losses it belongs to (losses less than LOSS_RUN_NS apart).  User space
// reads the counters while probes update them: `begin` is counted up
// before an update and `end` after it, and a CPU whose two differ is read
// again, so a gap never gets a message without its bytes.
struct loss {
    u64 messages;
    u64 bytes;
    u64 chunks;
    u64 last_ns;
    u64 run_start_ns;
    u64 begin;
    u64 end;
};

#define LOSS_RUN_NS 10000000ull
// A compiler barrier: the stores stay in program order, and x86-64 (the
// only architecture capture/usdt.py reads probe operands for) shows one
// CPU's stores to the others in that order.
#define barrier() asm volatile("" ::: "memory")
#define WAKE_MIN_BYTES 4096
#define WAKE_EVERY_BYTES ((u64)RINGBUF_PAGES * PAGE_SIZE / 4)

BPF_RINGBUF_OUTPUT(events, RINGBUF_PAGES);
BPF_PERCPU_ARRAY(losses, struct loss, 1);
BPF_PERCPU_ARRAY(peer_cache, struct peer_slot, PEER_SLOTS);
BPF_ARRAY(epoch, u32, 1);  // bumped by user space when a traced process exits
#if PREEMPTIBLE
BPF_PERCPU_ARRAY(cache_busy, u64, 1);  // 1 while a probe on this CPU uses peer_cache
#endif
// Per-CPU counter for peer references: ref = count << 16 | cpu, unique
// without atomics.
BPF_PERCPU_ARRAY(peer_counter, u64, 1);
BPF_ARRAY(wake_bytes, u64, 1);  // large-message bytes since the last forced wakeup

// The chunks still to copy of the message a thread is in the middle of.
struct chunk_job {
    u64 payload;       // the payload's address in the traced process
    u32 captured;      // bytes to copy in all
    u32 offset;        // of the next chunk
};
BPF_HASH(chunk_jobs, u32, struct chunk_job, 4096);
BPF_PROG_ARRAY(chunk_progs, 1);  // [0] = copy_chunks, set by program.py

// Kernel-side filters: when enabled, only listed commands / peers are copied.
struct command_key {
    char command[CMD_MAX];
};
BPF_HASH(wanted_commands, struct command_key, u8, 256);
BPF_HASH(wanted_peers, s64, u8, 1024);

// Read `len` (<= room, a constant) bytes of user memory.  Older verifiers
// (5.10, 6.1) lose the bounds of a length clang computes in 32-bit pieces
// or from a rotated loop ("R2 min value is negative"), so the length is
// given to the helper either as the constant itself or masked below it,
// the form every verifier since 4.x accepts.  The empty asm keeps clang
// from proving the mask redundant and dropping it.
#define read_user_bounded(dst, len, room, src) ({                          \
    u64 __len = (len);                                                     \
    long __rc;                                                             \
    if (__len >= (room)) {                                                 \
        __rc = bpf_probe_read_user((dst), (room), (src));                  \
    } else {                                                               \
        asm volatile("" : "+r"(__len));                                    \
        __len &= (room) - 1;                                               \
        __rc = bpf_probe_read_user((dst), __len, (src));                   \
    }                                                                      \
    __rc;                                                                  \
})

static __always_inline void count_loss(u64 messages, u64 bytes, u64 chunks)
{
    int zero = 0;
    struct loss *l = losses.lookup(&zero);
    if (!l)
        return;
    u64 now = bpf_ktime_get_ns();
    if (now - l->last_ns > LOSS_RUN_NS)
        l->run_start_ns = now;  // before `begin`: only a gap's time, read as it comes
    // Where another thread's probe may run on this CPU in between
    // (PREEMPTIBLE), the counts are added atomically.  Not on 5.10: clang
    // turns an atomic add of a constant 0 into an atomic "or", which only
    // 5.12 accepts ("BPF_STX uses reserved fields").  The two times are
    // only where a gap record is placed; a race there moves it, it loses
    // no count.
#if PREEMPTIBLE
    __sync_fetch_and_add(&l->begin, 1);
    __sync_fetch_and_add(&l->messages, messages);
    __sync_fetch_and_add(&l->bytes, bytes);
    __sync_fetch_and_add(&l->chunks, chunks);
    l->last_ns = now;
    __sync_fetch_and_add(&l->end, 1);
#else
    l->begin += 1;
    barrier();
    l->messages += messages;
    l->bytes += bytes;
    l->chunks += chunks;
    l->last_ns = now;
    barrier();
    l->end += 1;
#endif
}

// Send an EV_PEER record for a peer this CPU has not named yet and fill
// its cache slot (none: `slot` is 0); 0 if there was no room (the caller
// then counts its message as lost).
static __always_inline u64 announce_peer(struct peer_slot *slot, u32 pid, u32 now_epoch,
                                         s64 peer_id, const char *addr, const char *conn_type)
{
    int zero = 0;
    u64 *counter = peer_counter.lookup(&zero);
    if (!counter)
        return 0;
    struct peer *p = events.ringbuf_reserve(sizeof(struct peer));
    if (!p)
        return 0;
#if PREEMPTIBLE
    u64 count = __sync_fetch_and_add(counter, 1) + 1;
#else
    u64 count = *counter += 1;
#endif
    u64 ref = count << 16 | (bpf_get_smp_processor_id() & 0xffff);
    u8 flags = 0;
    long n = bpf_probe_read_user_str(p->addr, sizeof(p->addr), addr);
    if (n <= 0) {
        flags |= F_ADDR_FAULT;
        n = 1;
    } else if (n == sizeof(p->addr)) {
        flags |= F_ADDR_CUT;  // filled the buffer: the address may go on
    }
    p->addr_len = n - 1;
    n = bpf_probe_read_user_str(p->conn_type, sizeof(p->conn_type), conn_type);
    if (n <= 0) {
        flags |= F_CONN_FAULT;
        n = 1;
    }
    p->conn_len = n - 1;
    p->kind = EV_PEER;
    p->flags = flags;
    p->peer_ref = ref;
    p->peer_id = peer_id;
    p->pid = pid;
    events.ringbuf_submit(p, BPF_RB_NO_WAKEUP);
    // A failed read is retried with the peer's next message.
    if (slot && !(flags & (F_ADDR_FAULT | F_CONN_FAULT))) {
        slot->pid = pid;
        slot->epoch = now_epoch;
        slot->peer_id = peer_id;
        slot->addr = (u64)addr;
        slot->ref = ref;
    }
    return ref;
}

// After a large message of `bytes` bytes: wake the consumer if due.
static __always_inline void maybe_wake(u64 bytes)
{
    int zero = 0;
    u64 *sum = wake_bytes.lookup(&zero);
    if (!sum)
        return;
    __sync_fetch_and_add(sum, bytes);
    if (*sum < WAKE_EVERY_BYTES)
        return;
    *sum = 0;  // racy across CPUs; at worst one wakeup too many
    u64 wake = EV_WAKE;
    events.ringbuf_output(&wake, sizeof(wake), BPF_RB_FORCE_WAKEUP);
}

// Copy CHUNKS_PER_CALL chunks of the thread's job, then tail-call this
// program again for the rest.  A failed reservation or read ends the
// message; user space sees it incomplete and counts it (events.py).
int copy_chunks(struct pt_regs *ctx)
{
    u32 tid = (u32)bpf_get_current_pid_tgid();
    struct chunk_job *job = chunk_jobs.lookup(&tid);
    if (!job)
        return 0;
    u32 captured = job->captured;
    u32 offset = job->offset;
    const u8 *payload = (const u8 *)job->payload;
    for (int i = 0; i < CHUNKS_PER_CALL; i++) {
        if (offset >= captured)
            break;
        struct chunk *c = events.ringbuf_reserve(sizeof(struct chunk) + CHUNK_SIZE);
        if (!c) {
            count_loss(0, 0, 1);
            goto done;
        }
        u32 len = captured - offset;
        if (len > CHUNK_SIZE)
            len = CHUNK_SIZE;
        c->kind = EV_CHUNK;
        c->offset = offset;
        c->tid = tid;
        c->data_len = len;
        if (read_user_bounded(c->data, len, CHUNK_SIZE, payload + offset) != 0) {
            c->data_len = 0;
            events.ringbuf_submit(c, BPF_RB_NO_WAKEUP);
            goto done;
        }
        events.ringbuf_submit(c, BPF_RB_NO_WAKEUP);
        offset += len;
    }
    if (offset < captured) {
        job->offset = offset;
        chunk_progs.call(ctx, 0);
        // Only reached if the tail call failed (cannot with the counts in
        // limits.py): the message stays incomplete and is counted.
        count_loss(0, 0, 1);
    }
done:
    chunk_jobs.delete(&tid);
    maybe_wake(captured);
    return 0;
}

// Fill and submit one EV_MESSAGE record reserved with room for `room`
// payload bytes.  `room` is a constant at every call site: the size given
// to ringbuf_reserve must be one, and the verifier then knows the bound of
// the payload read.  Returns 0 when the first piece went out whole, so the
// chunks may follow; -1 when there was no room or the read failed.
static __always_inline int emit_message(const u64 room, u64 ref, u64 pid_tgid,
                                        const struct command_key *command, long command_n,
                                        const char *command_ptr, u64 size,
                                        u64 captured, const u8 *payload,
                                        u8 inbound, u8 flags)
{
    struct event *e = events.ringbuf_reserve(sizeof(struct event) + room);
    if (!e) {
        count_loss(1, size, 0);
        return -1;
    }
    e->kind = EV_MESSAGE;
    e->inbound = inbound;
    e->peer_ref = ref;
    e->ts_ns = bpf_ktime_get_ns();
    e->msg_size = size;
    e->captured_len = captured;
    e->tid = (u32)pid_tgid;
#if FILTER_COMMANDS
    // Already read, to look it up in wanted_commands.
    __builtin_memcpy(e->command, command->command, CMD_MAX);
    long n = command_n;
#else
    long n = bpf_probe_read_user_str(e->command, sizeof(e->command), command_ptr);
#endif
    if (n <= 0) {
        flags |= F_COMMAND_FAULT;
        n = 1;
    }
    e->command_len = n - 1;

    u64 len = captured;
    if (len > room)
        len = room;
    e->data_len = len;
    int rc = 0;
    if (len > 0 && read_user_bounded(e->data, len, room, payload) != 0) {
        flags |= F_PAYLOAD_FAULT;
        e->data_len = 0;
        rc = -1;
    }
    e->flags = flags;
    events.ringbuf_submit(e, BPF_RB_NO_WAKEUP);
    return rc;
}

static __always_inline int trace_message(struct pt_regs *ctx, s64 peer_id, const char *addr,
                                         const char *conn_type, const char *command,
                                         u64 size, const u8 *payload, u8 inbound)
{
#if FILTER_PEERS
    if (!wanted_peers.lookup(&peer_id))
        return 0;
#endif
    struct command_key *wanted = 0;
    long command_n = 0;
#if FILTER_COMMANDS
    struct command_key key = {};
    command_n = bpf_probe_read_user_str(key.command, sizeof(key.command), command);
    // An unreadable command cannot be matched: keep it, flagged, rather
    // than drop it unseen.
    if (command_n > 0 && !wanted_commands.lookup(&key))
        return 0;
    wanted = &key;
#endif

    u64 captured = size;
    u8 flags = 0;
    if (captured > SNAPLEN) {
        captured = SNAPLEN;
        flags |= F_SNAPLEN;
    }

    u64 pid_tgid = bpf_get_current_pid_tgid();
    u32 pid = pid_tgid >> 32;
    int zero = 0;
    u32 *current_epoch = epoch.lookup(&zero);
    u32 index = (u32)peer_id & (PEER_SLOTS - 1);
    struct peer_slot *slot = peer_cache.lookup(&index);
    if (!current_epoch || !slot)
        return 0;  // cannot happen (array maps, index masked); the verifier asks
#if PREEMPTIBLE
    // This CPU's cache is used by one probe at a time: one that finds it
    // taken (it preempted the owner) names its peer without the cache.
    u64 *busy = cache_busy.lookup(&zero);
    if (!busy)
        return 0;
    if (__sync_val_compare_and_swap(busy, 0, 1) != 0)
        slot = 0;
#endif
    u64 ref;
    if (slot && slot->peer_id == peer_id && slot->addr == (u64)addr && slot->pid == pid
        && slot->epoch == *current_epoch && slot->ref) {
        ref = slot->ref;
    } else {
        ref = announce_peer(slot, pid, *current_epoch, peer_id, addr, conn_type);
    }
#if PREEMPTIBLE
    if (slot)
        *busy = 0;
#endif
    if (!ref) {
        count_loss(1, size, 0);
        return 0;
    }

    // Size classes: the smallest slot that holds the first piece.
    int rc;
    if (captured <= 64)
        rc = emit_message(64, ref, pid_tgid, wanted, command_n, command, size, captured, payload, inbound, flags);
    else if (captured <= 256)
        rc = emit_message(256, ref, pid_tgid, wanted, command_n, command, size, captured, payload, inbound, flags);
    else if (captured <= 1024)
        rc = emit_message(1024, ref, pid_tgid, wanted, command_n, command, size, captured, payload, inbound, flags);
    else if (captured <= 4096)
        rc = emit_message(4096, ref, pid_tgid, wanted, command_n, command, size, captured, payload, inbound, flags);
    else
        rc = emit_message(CHUNK_SIZE, ref, pid_tgid, wanted, command_n, command, size, captured, payload, inbound, flags);

    if (rc == 0 && captured > CHUNK_SIZE) {
        u32 tid = (u32)pid_tgid;
        struct chunk_job job = {.payload = (u64)payload, .captured = captured, .offset = CHUNK_SIZE};
        if (chunk_jobs.update(&tid, &job) == 0)
            chunk_progs.call(ctx, 0);  // does not return when it succeeds
        chunk_jobs.delete(&tid);
        count_loss(0, 0, 1);  // no job slot or no tail call: the message is incomplete
        return 0;
    }
    if (captured >= WAKE_MIN_BYTES)
        maybe_wake(captured);
    return 0;
}

// The entry points, one per probe site, are generated from the binary's
// probe notes by capture/usdt.py and appended to this file: each reads the
// six arguments where its note says they are and calls trace_probe.
static __always_inline int trace_probe(struct pt_regs *ctx, u64 peer_id, u64 addr, u64 conn_type,
                                       u64 command, u64 size, u64 payload, u8 inbound)
{
    if ((DIRECTION_FILTER == 1 && !inbound) || (DIRECTION_FILTER == 2 && inbound))
        return 0;
    return trace_message(ctx, (s64)peer_id, (const char *)addr, (const char *)conn_type,
                         (const char *)command, size, (const u8 *)payload, inbound);
}
