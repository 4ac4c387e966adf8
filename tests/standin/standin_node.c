/*
 * p2p-standin: a stand-in for dashd's P2P tracepoints.  A test target.
 *
 * It declares the two USDT probes exactly like Dash Core does
 * (src/net.cpp CConnman::PushMessage, src/net_processing.cpp
 * ProcessMessages; doc/tracing.md): provider "net", names
 * "inbound_message" and "outbound_message", six arguments
 *   int64 peer id, char *addr, char *conn type, char *command,
 *   uint64 payload size, uint8 *payload,
 * and no semaphores (plain DTRACE_PROBE6 from <sys/sdt.h>).  It replays a
 * message file through them, so p2pcap can be recorded, tested and
 * benchmarked on machines without a dashd.  Built with -DSTANDIN_SEMAPHORES
 * (build/p2p-standin-sema) each probe has a USDT semaphore and fires only
 * while it is raised, as in Bitcoin Core v29 (see trace.h).
 *
 * Message file: one message a line, tab-separated,
 *   direction  peer_id  addr  conn_type  command  payload_hex
 * direction is "in" or "out"; payload_hex may be empty; lines starting
 * with '#' and empty lines are skipped.  A line whose command is "-" says
 * the peer disconnects (make_churn.py writes them): it fires no probe and
 * is not counted; direction, addr, conn_type and payload are not read.
 *
 * Options:
 *   --rate N          messages per second (0, the default: as fast as possible);
 *                     paced against the clock, sleeping only when ahead, so
 *                     high rates (100,000/s and more) hold on average
 *   --size N          give every message an N-byte payload, cut from the file's
 *                     payloads laid end to end, each message from the next
 *                     N bytes (zeros when the file has none)
 *   --repeat N        replay the file N times (default 1)
 *   --duration S      stop after S seconds (with --repeat 0: loop until then)
 *   --wait-signal     wait for SIGUSR1 before replaying (so a recorder can attach)
 *   --linger S        sleep S seconds after replaying, before exiting
 *   --hold            then wait for SIGUSR2 before exiting (blocked from the
 *                     start, so an early SIGUSR2 is not lost)
 *   --quiet           print nothing but errors
 * dashd's network options (-regtest, -testnet, -devnet=NAME, -chain=NAME,
 * -datadir=DIR, -conf=FILE: one dash) are accepted and ignored, so a
 * recorder can infer the network from this process's command line.
 * On exit it prints one line: "replayed N messages, B payload bytes in T s
 * (X ns per message, Y ns CPU)": wall-clock and CPU time (user + system,
 * which includes the probes' BPF programs) per message.  The semaphore
 * build appends "; F fired (I in + O out); semaphore was 0 for K": F
 * messages went through a probe (its semaphore was raised), K did not.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "trace.h"

struct message {
    int inbound;
    int64_t peer_id;
    char *addr;
    char *conn_type;
    char *command;
    uint64_t size;
    unsigned char *payload;
};

#ifdef STANDIN_SEMAPHORES
TRACEPOINT_SEMAPHORE(net, inbound_message);
TRACEPOINT_SEMAPHORE(net, outbound_message);
static uint64_t fired_in, fired_out, not_fired;
#endif

static void die(const char *what, long line)
{
    if (line > 0)
        fprintf(stderr, "p2p-standin: line %ld: %s\n", line, what);
    else
        fprintf(stderr, "p2p-standin: %s\n", what);
    exit(2);
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static char *next_field(char **cursor, long line)
{
    char *start = *cursor;
    char *tab;
    if (start == NULL)
        die("too few tab-separated fields (need 6)", line);
    tab = strchr(start, '\t');
    if (tab) {
        *tab = '\0';
        *cursor = tab + 1;
    } else {
        *cursor = NULL;
    }
    return start;
}

/* One copy of each distinct string, as in dashd, where every message of a
 * peer passes the same CNode::m_addr_name.c_str(). */
static char *intern(const char *text)
{
    static char **seen;
    static size_t n, cap;
    size_t i;

    for (i = 0; i < n; i++)
        if (strcmp(seen[i], text) == 0)
            return seen[i];
    if (n == cap) {
        cap = cap ? cap * 2 : 64;
        seen = realloc(seen, cap * sizeof(*seen));
        if (!seen) die("out of memory", 0);
    }
    seen[n] = strdup(text);
    if (!seen[n]) die("out of memory", 0);
    return seen[n++];
}

static struct message *load(const char *path, size_t *count)
{
    FILE *f = fopen(path, "r");
    char *buf = NULL;
    size_t cap = 0, n = 0, alloc = 0;
    ssize_t len;
    long line = 0;
    struct message *msgs = NULL;

    if (!f) {
        fprintf(stderr, "p2p-standin: %s: %s\n", path, strerror(errno));
        exit(2);
    }
    while ((len = getline(&buf, &cap, f)) != -1) {
        char *cursor = buf, *hex;
        struct message *m;
        size_t hexlen, i;

        line++;
        while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
            buf[--len] = '\0';
        if (len == 0 || buf[0] == '#')
            continue;
        if (n == alloc) {
            alloc = alloc ? alloc * 2 : 256;
            msgs = realloc(msgs, alloc * sizeof(*msgs));
            if (!msgs) die("out of memory", 0);
        }
        m = &msgs[n];
        {
            char *dir = next_field(&cursor, line), *peer, *addr, *conn, *command;
            peer = next_field(&cursor, line);
            addr = next_field(&cursor, line);
            conn = next_field(&cursor, line);
            command = next_field(&cursor, line);
            if (strcmp(command, "-") == 0)
                continue;  /* a disconnection: nothing to replay here */
            if (strcmp(dir, "in") == 0) m->inbound = 1;
            else if (strcmp(dir, "out") == 0) m->inbound = 0;
            else die("direction must be 'in' or 'out'", line);
            m->peer_id = strtoll(peer, NULL, 10);
            m->addr = intern(addr);
            m->conn_type = intern(conn);
            m->command = strdup(command);
        }
        hex = cursor ? cursor : "";
        hexlen = strlen(hex);
        if (hexlen % 2) die("odd number of hex digits in the payload", line);
        m->size = hexlen / 2;
        /* malloc(0) may return NULL; keep a valid pointer, as dashd does
         * (an empty std::vector's data() may be anything, size is 0). */
        m->payload = malloc(m->size ? m->size : 1);
        if (!m->payload) die("out of memory", 0);
        for (i = 0; i < m->size; i++) {
            int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
            if (hi < 0 || lo < 0) die("bad hex digit in the payload", line);
            m->payload[i] = (unsigned char)(hi << 4 | lo);
        }
        n++;
    }
    free(buf);
    fclose(f);
    *count = n;
    return msgs;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void sleep_until(uint64_t deadline)
{
    struct timespec ts = {
        .tv_sec = (time_t)(deadline / 1000000000ull),
        .tv_nsec = (long)(deadline % 1000000000ull),
    };
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
}

static int is_node_option(const char *arg)
{
    static const char *const names[] = {"-regtest", "-testnet", "-devnet", "-chain",
                                        "-datadir", "-conf", NULL};
    for (int i = 0; names[i]; i++) {
        size_t n = strlen(names[i]);
        if (strncmp(arg, names[i], n) == 0 && (arg[n] == '\0' || arg[n] == '='))
            return 1;
    }
    return 0;
}

/* --size N: every message gets an N-byte payload cut from the file's
 * payloads laid end to end (repeated up to N bytes if they are fewer): the
 * i-th message sent starts i * N bytes further on, wrapping around, so
 * consecutive messages differ as real ones do and a compressor sees the
 * file's content, not one message over and over.  Written once, up front,
 * so the memory is resident when the probes read it. */
static unsigned char *pool;
static uint64_t pool_len, pool_size, pool_off;

static void make_pool(const struct message *msgs, size_t count, uint64_t size)
{
    uint64_t total = 0, filled = 0;
    size_t k;

    for (k = 0; k < count; k++)
        total += msgs[k].size;
    pool_len = total > size ? total : size;
    pool_size = size;
    /* pool_len bytes of content, then its first `size` bytes again, so any
     * window [off, off + size) with off < pool_len is contiguous. */
    pool = malloc(pool_len + size + 1);
    if (!pool) die("out of memory for --size", 0);
    memset(pool, 0, pool_len + size + 1);
    while (total > 0 && filled < pool_len) {
        for (k = 0; k < count && filled < pool_len; k++) {
            uint64_t n = msgs[k].size;
            if (n > pool_len - filled) n = pool_len - filled;
            memcpy(pool + filled, msgs[k].payload, n);
            filled += n;
        }
    }
    memcpy(pool + pool_len, pool, size);
}

/* The probes, spelled as Dash Core's TRACE6 expands them. */
static void emit(const struct message *m, uint64_t size, const unsigned char *payload)
{
#ifdef STANDIN_SEMAPHORES
    if (m->inbound) {
        if (TRACEPOINT_ACTIVE(net, inbound_message)) {
            TRACE6(net, inbound_message, m->peer_id, m->addr, m->conn_type,
                   m->command, size, payload);
            fired_in++;
        } else {
            not_fired++;
        }
    } else {
        if (TRACEPOINT_ACTIVE(net, outbound_message)) {
            TRACE6(net, outbound_message, m->peer_id, m->addr, m->conn_type,
                   m->command, size, payload);
            fired_out++;
        } else {
            not_fired++;
        }
    }
#else
    if (m->inbound)
        DTRACE_PROBE6(net, inbound_message, m->peer_id, m->addr, m->conn_type,
                      m->command, size, payload);
    else
        DTRACE_PROBE6(net, outbound_message, m->peer_id, m->addr, m->conn_type,
                      m->command, size, payload);
#endif
}

int main(int argc, char **argv)
{
    double rate = 0, duration = 0, linger = 0;
    long long size_override = -1;
    long repeat = 1;
    int wait_signal = 0, quiet = 0, hold = 0, i;
    const char *path = NULL;
    struct message *msgs;
    size_t count, k;
    uint64_t start, start_cpu, sent = 0, bytes = 0, stop_at = 0;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--rate") == 0 && i + 1 < argc) rate = atof(argv[++i]);
        else if (strcmp(argv[i], "--repeat") == 0 && i + 1 < argc) repeat = atol(argv[++i]);
        else if (strcmp(argv[i], "--duration") == 0 && i + 1 < argc) duration = atof(argv[++i]);
        else if (strcmp(argv[i], "--size") == 0 && i + 1 < argc) size_override = atoll(argv[++i]);
        else if (strcmp(argv[i], "--linger") == 0 && i + 1 < argc) linger = atof(argv[++i]);
        else if (strcmp(argv[i], "--wait-signal") == 0) wait_signal = 1;
        else if (strcmp(argv[i], "--hold") == 0) hold = 1;
        else if (strcmp(argv[i], "--quiet") == 0) quiet = 1;
        else if (is_node_option(argv[i])) continue;
        else if (argv[i][0] != '-' && !path) path = argv[i];
        else {
            fprintf(stderr,
                    "usage: p2p-standin [--rate N] [--repeat N] [--duration S] [--size N] "
                    "[--wait-signal] [--linger S] [--hold] [--quiet] MESSAGE_FILE\n");
            return 2;
        }
    }
    if (!path) die("no message file given", 0);
    msgs = load(path, &count);
    if (count == 0) die("the message file holds no messages", 0);

    if (hold) {
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGUSR2);
        sigprocmask(SIG_BLOCK, &set, NULL);
    }
    if (wait_signal) {
        sigset_t set;
        int sig;
        sigemptyset(&set);
        sigaddset(&set, SIGUSR1);
        sigprocmask(SIG_BLOCK, &set, NULL);
        if (!quiet) {
            printf("waiting for SIGUSR1 (pid %d)\n", (int)getpid());
            fflush(stdout);
        }
        sigwait(&set, &sig);
    }

    if (size_override >= 0)
        make_pool(msgs, count, (uint64_t)size_override);

    start = now_ns();
    start_cpu = cpu_ns();
    if (duration > 0) stop_at = start + (uint64_t)(duration * 1e9);
    for (long r = 0; repeat == 0 || r < repeat; r++) {
        for (k = 0; k < count; k++) {
            if (rate > 0) {
                /* One clock read (vDSO, no syscall) per message; sleep only
                 * when ahead of schedule.  A sleep overshoots by the timer
                 * slack (~50 us), and the messages due meanwhile then go out
                 * back to back: the rate holds on average, in short bursts. */
                uint64_t due = start + (uint64_t)((double)sent * 1e9 / rate);
                uint64_t now = now_ns();
                if (now < due) {
                    sleep_until(due);
                    now = due;
                }
                if (stop_at && now >= stop_at) goto done;
            } else if (stop_at && (sent & 1023) == 0 && now_ns() >= stop_at) {
                goto done;  /* full speed: look at the clock now and then */
            }
            if (pool) {
                emit(&msgs[k], pool_size, pool + pool_off);
                bytes += pool_size;
                pool_off += pool_size;
                if (pool_off >= pool_len)
                    pool_off -= pool_len;
            } else {
                emit(&msgs[k], msgs[k].size, msgs[k].payload);
                bytes += msgs[k].size;
            }
            sent++;
        }
        if (repeat == 0 && !stop_at) break;
    }
done:
    {
        uint64_t elapsed = now_ns() - start, cpu = cpu_ns() - start_cpu;
        if (!quiet) {
            printf("replayed %llu messages, %llu payload bytes in %.3f s "
                   "(%.1f ns per message, %.1f ns CPU)",
                   (unsigned long long)sent, (unsigned long long)bytes, elapsed / 1e9,
                   sent ? (double)elapsed / (double)sent : 0.0,
                   sent ? (double)cpu / (double)sent : 0.0);
#ifdef STANDIN_SEMAPHORES
            printf("; %llu fired (%llu in + %llu out); semaphore was 0 for %llu",
                   (unsigned long long)(fired_in + fired_out), (unsigned long long)fired_in,
                   (unsigned long long)fired_out, (unsigned long long)not_fired);
#endif
            printf("\n");
        }
        fflush(stdout);
    }
    if (linger > 0) {
        struct timespec ts = {(time_t)linger, (long)((linger - (long)linger) * 1e9)};
        nanosleep(&ts, NULL);
    }
    if (hold) {
        sigset_t set;
        int sig;
        sigemptyset(&set);
        sigaddset(&set, SIGUSR2);
        sigwait(&set, &sig);
    }
    return 0;
}
