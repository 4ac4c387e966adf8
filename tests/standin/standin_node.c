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
 * benchmarked on machines without a dashd.
 *
 * Message file: one message a line, tab-separated,
 *   direction  peer_id  addr  conn_type  command  payload_hex
 * direction is "in" or "out"; payload_hex may be empty; lines starting
 * with '#' and empty lines are skipped.
 *
 * Options:
 *   --rate N          messages per second (0, the default: as fast as possible)
 *   --repeat N        replay the file N times (default 1)
 *   --duration S      stop after S seconds (with --repeat 0: loop until then)
 *   --wait-signal     wait for SIGUSR1 before replaying (so a recorder can attach)
 *   --linger S        sleep S seconds after replaying, before exiting
 *   --quiet           print nothing but errors
 * On exit it prints one line: "replayed N messages, B payload bytes in T s
 * (X ns per message)".
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
#include <sys/sdt.h>

struct message {
    int inbound;
    int64_t peer_id;
    char *addr;
    char *conn_type;
    char *command;
    uint64_t size;
    unsigned char *payload;
};

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
            char *dir = next_field(&cursor, line);
            if (strcmp(dir, "in") == 0) m->inbound = 1;
            else if (strcmp(dir, "out") == 0) m->inbound = 0;
            else die("direction must be 'in' or 'out'", line);
        }
        m->peer_id = strtoll(next_field(&cursor, line), NULL, 10);
        m->addr = strdup(next_field(&cursor, line));
        m->conn_type = strdup(next_field(&cursor, line));
        m->command = strdup(next_field(&cursor, line));
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

static void sleep_until(uint64_t deadline)
{
    struct timespec ts = {
        .tv_sec = (time_t)(deadline / 1000000000ull),
        .tv_nsec = (long)(deadline % 1000000000ull),
    };
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
}

/* The probes, spelled as Dash Core's TRACE6 expands them. */
static void emit(const struct message *m)
{
    if (m->inbound)
        DTRACE_PROBE6(net, inbound_message, m->peer_id, m->addr, m->conn_type,
                      m->command, m->size, m->payload);
    else
        DTRACE_PROBE6(net, outbound_message, m->peer_id, m->addr, m->conn_type,
                      m->command, m->size, m->payload);
}

int main(int argc, char **argv)
{
    double rate = 0, duration = 0, linger = 0;
    long repeat = 1;
    int wait_signal = 0, quiet = 0, i;
    const char *path = NULL;
    struct message *msgs;
    size_t count, k;
    uint64_t start, sent = 0, bytes = 0, stop_at = 0;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--rate") == 0 && i + 1 < argc) rate = atof(argv[++i]);
        else if (strcmp(argv[i], "--repeat") == 0 && i + 1 < argc) repeat = atol(argv[++i]);
        else if (strcmp(argv[i], "--duration") == 0 && i + 1 < argc) duration = atof(argv[++i]);
        else if (strcmp(argv[i], "--linger") == 0 && i + 1 < argc) linger = atof(argv[++i]);
        else if (strcmp(argv[i], "--wait-signal") == 0) wait_signal = 1;
        else if (strcmp(argv[i], "--quiet") == 0) quiet = 1;
        else if (argv[i][0] != '-' && !path) path = argv[i];
        else {
            fprintf(stderr,
                    "usage: p2p-standin [--rate N] [--repeat N] [--duration S] "
                    "[--wait-signal] [--linger S] [--quiet] MESSAGE_FILE\n");
            return 2;
        }
    }
    if (!path) die("no message file given", 0);
    msgs = load(path, &count);
    if (count == 0) die("the message file holds no messages", 0);

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

    start = now_ns();
    if (duration > 0) stop_at = start + (uint64_t)(duration * 1e9);
    for (long r = 0; repeat == 0 || r < repeat; r++) {
        for (k = 0; k < count; k++) {
            if (rate > 0)
                sleep_until(start + (uint64_t)((double)sent * 1e9 / rate));
            if (stop_at && now_ns() >= stop_at) goto done;
            emit(&msgs[k]);
            sent++;
            bytes += msgs[k].size;
        }
        if (repeat == 0 && !stop_at) break;
    }
done:
    {
        uint64_t elapsed = now_ns() - start;
        if (!quiet)
            printf("replayed %llu messages, %llu payload bytes in %.3f s (%.1f ns per message)\n",
                   (unsigned long long)sent, (unsigned long long)bytes, elapsed / 1e9,
                   sent ? (double)elapsed / (double)sent : 0.0);
        fflush(stdout);
    }
    if (linger > 0) {
        struct timespec ts = {(time_t)linger, (long)((linger - (long)linger) * 1e9)};
        nanosleep(&ts, NULL);
    }
    return 0;
}
