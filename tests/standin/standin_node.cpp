/*
 * p2p-standin-cxx: the stand-in node (standin_node.c) as a C++ program
 * shaped like dashd, so the recorder meets probe sites as a real node's
 * compiler lays them out.  A test target.
 *
 * Like Dash Core, peers are objects (CNode) holding std::string address
 * and connection type, and the probes fire where dashd fires them:
 *   src/net_processing.cpp ProcessMessages:
 *     TRACE6(net, inbound_message, pfrom->GetId(), pfrom->m_addr_name.c_str(),
 *            pfrom->ConnectionTypeAsString().c_str(), msg.m_type.c_str(),
 *            msg.m_recv.size(), msg.m_recv.data());
 *   src/net.cpp CConnman::PushMessage:
 *     TRACE6(net, outbound_message, pnode->GetId(), pnode->m_addr_name.c_str(),
 *            pnode->ConnectionTypeAsString().c_str(), msg.m_type.c_str(),
 *            msg.data.size(), msg.data.data());
 * ConnectionTypeAsString() returns a std::string by value, as in dashd, so
 * the conn-type pointer is a temporary's (a fresh heap block each message
 * when longer than 15 characters, e.g. "outbound-full-relay"), and the
 * compiler passes some arguments as stack slots: readelf -n shows memory
 * operands such as 8@40(%rsp), as it does for dashd.  Each message is a
 * fresh std::string command and std::vector payload (copied from the file's).
 *
 * Same message file, options and output as standin_node.c (see there), plus
 *   --threads N   N replay threads (default 1).  Counting only the lines
 *                 that fire a probe (not comments, blank or "-" lines), the
 *                 k-th (from 0) goes to thread k % N; each thread replays
 *                 its share in file order, --repeat times, all threads at
 *                 once.  --rate is the total over the threads (each paces
 *                 itself at rate / N); --duration stops every thread.
 * Peers: a peer (CNode) comes into being at its first message and lives in
 * CConnman::m_nodes (a std::map, keyed per peer-session), shared with the
 * threads through std::shared_ptr as dashd's CNode is reference-counted.  A
 * "-" line (command "-", fires nothing) disconnects every open session of
 * that peer id: the CNode is erased, freeing its strings, once its last
 * message before the "-" line has fired (with --repeat, once per pass).  A
 * later line with that id, or the same id with another addr or conn type,
 * opens a new session: a new CNode with new strings.  make_churn.py writes
 * files where ids are never reused, like CConnman::GetNewNodeId.
 *
 * Built with -DSTANDIN_SEMAPHORES (build/p2p-standin-cxx-sema) the probes
 * have USDT semaphores and fire only while they are raised (trace.h); the
 * output line then ends "; F fired (I in + O out); semaphore was 0 for K".
 */
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include <pthread.h>
#include <unistd.h>

#include "trace.h"

#ifdef STANDIN_SEMAPHORES
TRACEPOINT_SEMAPHORE(net, inbound_message);
TRACEPOINT_SEMAPHORE(net, outbound_message);
#endif

namespace {

using NodeId = int64_t;

[[noreturn]] void die(const std::string& what, long line = 0)
{
    if (line > 0)
        fprintf(stderr, "p2p-standin-cxx: line %ld: %s\n", line, what.c_str());
    else
        fprintf(stderr, "p2p-standin-cxx: %s\n", what.c_str());
    exit(2);
}

class CNode
{
public:
    CNode(NodeId id, std::string addr_name, std::string conn_type)
        : m_addr_name(std::move(addr_name)), m_id(id), m_conn_type(std::move(conn_type)) {}

    NodeId GetId() const { return m_id; }
    std::string ConnectionTypeAsString() const;

    const std::string m_addr_name;
    std::atomic<uint64_t> nSendBytes{0}, nRecvBytes{0};
    std::mutex cs_stats;
    std::map<std::string, uint64_t> mapSendBytesPerMsgType, mapRecvBytesPerMsgType;

private:
    const NodeId m_id;
    const std::string m_conn_type;
};

// Out of line and by value, as in dashd (src/net.cpp).
__attribute__((noinline)) std::string CNode::ConnectionTypeAsString() const
{
    return m_conn_type;
}

struct CNetMessage {
    std::string m_type;
    std::vector<unsigned char> m_recv;
    int64_t m_time;
    uint32_t m_message_size;
    uint32_t m_raw_message_size;
};

struct CSerializedNetMsg {
    std::vector<unsigned char> data;
    std::string m_type;
};

struct Counters {
    uint64_t sent = 0, bytes = 0, fired_in = 0, fired_out = 0, not_fired = 0;
};

// The 24-byte message header dashd puts before each payload (magic,
// command, length, checksum): only its size matters here.
constexpr uint64_t HEADER_SIZE = 24;

class CConnman
{
public:
    // A peer-session as the message file defines it.
    struct Session {
        NodeId id;
        std::string addr, conn_type;
        uint64_t messages = 0;     // lines of this session in one pass
        bool disconnects = false;  // a "-" line ends it
        std::atomic<uint64_t> fired{0};
    };

    std::vector<std::unique_ptr<Session>> sessions;

    std::shared_ptr<CNode> Connect(size_t session)
    {
        std::lock_guard<std::mutex> lock(m_nodes_mutex);
        auto& node = m_nodes[session];
        if (!node) {
            const Session& s = *sessions[session];
            node = std::make_shared<CNode>(s.id, s.addr, s.conn_type);
        }
        return node;
    }

    // After a message of the session: the last one before its "-" line
    // disconnects the peer.  Threads still holding the CNode keep it alive.
    void MessageDone(size_t session)
    {
        Session& s = *sessions[session];
        if (!s.disconnects) return;
        if ((s.fired.fetch_add(1) + 1) % s.messages == 0) {
            std::shared_ptr<CNode> gone;
            {
                std::lock_guard<std::mutex> lock(m_nodes_mutex);
                auto it = m_nodes.find(session);
                if (it == m_nodes.end()) return;
                gone = std::move(it->second);
                m_nodes.erase(it);
            }
        }
    }

    void PushMessage(CNode* pnode, CSerializedNetMsg&& msg, Counters& counters);
    void ProcessMessage(CNode* pfrom, CNetMessage&& msg, Counters& counters);

    std::atomic<uint64_t> nTotalBytesSent{0}, nTotalBytesRecv{0};

private:
    std::mutex m_nodes_mutex;
    std::map<size_t, std::shared_ptr<CNode>> m_nodes;
};

void CConnman::PushMessage(CNode* pnode, CSerializedNetMsg&& msg, Counters& counters)
{
    const size_t nMessageSize = msg.data.size();
    const size_t nTotalSize = nMessageSize + HEADER_SIZE;
#ifdef STANDIN_SEMAPHORES
    if (TRACEPOINT_ACTIVE(net, outbound_message)) {
#endif
        TRACE6(net, outbound_message,
               pnode->GetId(),
               pnode->m_addr_name.c_str(),
               pnode->ConnectionTypeAsString().c_str(),
               msg.m_type.c_str(),
               msg.data.size(),
               msg.data.data());
#ifdef STANDIN_SEMAPHORES
        counters.fired_out++;
    } else {
        counters.not_fired++;
    }
#endif
    // What dashd does after the probe: account the bytes per message type.
    {
        std::lock_guard<std::mutex> lock(pnode->cs_stats);
        pnode->mapSendBytesPerMsgType[msg.m_type] += nTotalSize;
    }
    pnode->nSendBytes += nTotalSize;
    nTotalBytesSent += nTotalSize;
    counters.bytes += nMessageSize;
}

void CConnman::ProcessMessage(CNode* pfrom, CNetMessage&& msg, Counters& counters)
{
    msg.m_time = (int64_t)time(nullptr);
#ifdef STANDIN_SEMAPHORES
    if (TRACEPOINT_ACTIVE(net, inbound_message)) {
#endif
        TRACE6(net, inbound_message,
               pfrom->GetId(),
               pfrom->m_addr_name.c_str(),
               pfrom->ConnectionTypeAsString().c_str(),
               msg.m_type.c_str(),
               msg.m_recv.size(),
               msg.m_recv.data());
#ifdef STANDIN_SEMAPHORES
        counters.fired_in++;
    } else {
        counters.not_fired++;
    }
#endif
    {
        std::lock_guard<std::mutex> lock(pfrom->cs_stats);
        pfrom->mapRecvBytesPerMsgType[msg.m_type] += msg.m_raw_message_size;
    }
    pfrom->nRecvBytes += msg.m_raw_message_size;
    nTotalBytesRecv += msg.m_raw_message_size;
    counters.bytes += msg.m_message_size;
}

struct Line {
    bool inbound;
    size_t session;
    std::string command;
    std::vector<unsigned char> payload;
};

int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

std::vector<std::string> split_fields(const std::string& text, long line)
{
    std::vector<std::string> fields;
    size_t start = 0;
    for (;;) {
        size_t tab = text.find('\t', start);
        if (tab == std::string::npos || fields.size() == 5) {
            fields.push_back(text.substr(start));
            break;
        }
        fields.push_back(text.substr(start, tab - start));
        start = tab + 1;
    }
    if (fields.size() < 5) die("too few tab-separated fields (need 6)", line);
    if (fields.size() == 5) fields.emplace_back();
    return fields;
}

std::vector<Line> load(const char* path, CConnman& connman)
{
    FILE* f = fopen(path, "r");
    if (!f) die(std::string(path) + ": " + strerror(errno));
    std::vector<Line> lines;
    std::map<std::tuple<NodeId, std::string, std::string>, size_t> open;
    char* buf = nullptr;
    size_t cap = 0;
    ssize_t len;
    long number = 0;
    while ((len = getline(&buf, &cap, f)) != -1) {
        number++;
        while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r')) buf[--len] = '\0';
        if (len == 0 || buf[0] == '#') continue;
        std::vector<std::string> fields = split_fields(std::string(buf, (size_t)len), number);
        NodeId id = strtoll(fields[1].c_str(), nullptr, 10);
        if (fields[4] == "-") {  // the peer disconnects: close its open sessions
            for (auto it = open.begin(); it != open.end();) {
                if (std::get<0>(it->first) == id) {
                    connman.sessions[it->second]->disconnects = true;
                    it = open.erase(it);
                } else {
                    ++it;
                }
            }
            continue;
        }
        Line l;
        if (fields[0] == "in") l.inbound = true;
        else if (fields[0] == "out") l.inbound = false;
        else die("direction must be 'in' or 'out'", number);
        auto key = std::make_tuple(id, fields[2], fields[3]);
        auto found = open.find(key);
        if (found == open.end()) {
            auto s = std::make_unique<CConnman::Session>();
            s->id = id;
            s->addr = fields[2];
            s->conn_type = fields[3];
            connman.sessions.push_back(std::move(s));
            found = open.emplace(key, connman.sessions.size() - 1).first;
        }
        l.session = found->second;
        connman.sessions[l.session]->messages++;
        l.command = fields[4];
        const std::string& hex = fields[5];
        if (hex.size() % 2) die("odd number of hex digits in the payload", number);
        l.payload.resize(hex.size() / 2);
        for (size_t i = 0; i < l.payload.size(); i++) {
            int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
            if (hi < 0 || lo < 0) die("bad hex digit in the payload", number);
            l.payload[i] = (unsigned char)(hi << 4 | lo);
        }
        lines.push_back(std::move(l));
    }
    free(buf);
    fclose(f);
    return lines;
}

uint64_t now_ns()
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t cpu_ns()
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void sleep_until(uint64_t deadline)
{
    struct timespec ts;
    ts.tv_sec = (time_t)(deadline / 1000000000ull);
    ts.tv_nsec = (long)(deadline % 1000000000ull);
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
    }
}

bool is_node_option(const char* arg)
{
    static const char* const names[] = {"-regtest", "-testnet", "-devnet", "-chain",
                                        "-datadir", "-conf"};
    for (const char* name : names) {
        size_t n = strlen(name);
        if (strncmp(arg, name, n) == 0 && (arg[n] == '\0' || arg[n] == '=')) return true;
    }
    return false;
}

// --size N: as in standin_node.c, every message an N-byte window of the
// file's payloads laid end to end (the pool holds its first N bytes twice).
struct Pool {
    std::vector<unsigned char> bytes;
    uint64_t len = 0, size = 0;
    bool on = false;

    void make(const std::vector<Line>& lines, uint64_t n)
    {
        uint64_t total = 0, filled = 0;
        for (const Line& l : lines) total += l.payload.size();
        len = std::max(total, n);
        size = n;
        on = true;
        bytes.assign(len + n + 1, 0);
        while (total > 0 && filled < len) {
            for (const Line& l : lines) {
                if (filled >= len) break;
                uint64_t k = std::min<uint64_t>(l.payload.size(), len - filled);
                memcpy(bytes.data() + filled, l.payload.data(), k);
                filled += k;
            }
        }
        memcpy(bytes.data() + len, bytes.data(), n);
    }
};

struct Options {
    double rate = 0, duration = 0;
    long repeat = 1;
    unsigned threads = 1;
    uint64_t start = 0, stop_at = 0;
};

void replay(unsigned t, const Options& o, const std::vector<Line>& lines, const Pool& pool,
            CConnman& connman, Counters& c)
{
    char name[16];
    snprintf(name, sizeof(name), "replay.%u", t);
    pthread_setname_np(pthread_self(), name);
    const double rate = o.rate > 0 ? o.rate / o.threads : 0;
    uint64_t pool_off = pool.len ? (uint64_t)t * pool.size % pool.len : 0;
    for (long r = 0; o.repeat == 0 || r < o.repeat; r++) {
        for (size_t k = t; k < lines.size(); k += o.threads) {
            if (rate > 0) {
                uint64_t due = o.start + (uint64_t)((double)c.sent * 1e9 / rate);
                uint64_t now = now_ns();
                if (now < due) {
                    sleep_until(due);
                    now = due;
                }
                if (o.stop_at && now >= o.stop_at) return;
            } else if (o.stop_at && (c.sent & 1023) == 0 && now_ns() >= o.stop_at) {
                return;
            }
            const Line& l = lines[k];
            const unsigned char* payload = l.payload.data();
            uint64_t size = l.payload.size();
            if (pool.on) {
                payload = pool.bytes.data() + pool_off;
                size = pool.size;
                pool_off += pool.size * o.threads;
                if (pool.len) pool_off %= pool.len;
            }
            std::shared_ptr<CNode> node = connman.Connect(l.session);
            if (l.inbound) {
                CNetMessage msg{l.command, std::vector<unsigned char>(payload, payload + size), 0,
                                (uint32_t)size, (uint32_t)(size + HEADER_SIZE)};
                connman.ProcessMessage(node.get(), std::move(msg), c);
            } else {
                CSerializedNetMsg msg{std::vector<unsigned char>(payload, payload + size),
                                      l.command};
                connman.PushMessage(node.get(), std::move(msg), c);
            }
            node.reset();
            connman.MessageDone(l.session);
            c.sent++;
        }
        if (o.repeat == 0 && !o.stop_at) break;
    }
}

}  // namespace

int main(int argc, char** argv)
{
    Options o;
    double linger = 0;
    long long size_override = -1;
    bool wait_signal = false, quiet = false, hold = false;
    const char* path = nullptr;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--rate") == 0 && i + 1 < argc) o.rate = atof(argv[++i]);
        else if (strcmp(argv[i], "--repeat") == 0 && i + 1 < argc) o.repeat = atol(argv[++i]);
        else if (strcmp(argv[i], "--duration") == 0 && i + 1 < argc) o.duration = atof(argv[++i]);
        else if (strcmp(argv[i], "--size") == 0 && i + 1 < argc) size_override = atoll(argv[++i]);
        else if (strcmp(argv[i], "--linger") == 0 && i + 1 < argc) linger = atof(argv[++i]);
        else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) o.threads = (unsigned)atoi(argv[++i]);
        else if (strcmp(argv[i], "--wait-signal") == 0) wait_signal = true;
        else if (strcmp(argv[i], "--hold") == 0) hold = true;
        else if (strcmp(argv[i], "--quiet") == 0) quiet = true;
        else if (is_node_option(argv[i])) continue;
        else if (argv[i][0] != '-' && !path) path = argv[i];
        else {
            fprintf(stderr,
                    "usage: p2p-standin-cxx [--threads N] [--rate N] [--repeat N] [--duration S] "
                    "[--size N] [--wait-signal] [--linger S] [--hold] [--quiet] MESSAGE_FILE\n");
            return 2;
        }
    }
    if (!path) die("no message file given");
    if (o.threads < 1 || o.threads > 1024) die("--threads must be 1 to 1024");
    CConnman connman;
    std::vector<Line> lines = load(path, connman);
    if (lines.empty()) die("the message file holds no messages");

    // Blocked before any thread starts, so every thread inherits the mask.
    sigset_t set;
    sigemptyset(&set);
    if (wait_signal) sigaddset(&set, SIGUSR1);
    if (hold) sigaddset(&set, SIGUSR2);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    if (wait_signal) {
        sigset_t usr1;
        int sig;
        sigemptyset(&usr1);
        sigaddset(&usr1, SIGUSR1);
        if (!quiet) {
            printf("waiting for SIGUSR1 (pid %d)\n", (int)getpid());
            fflush(stdout);
        }
        sigwait(&usr1, &sig);
    }

    Pool pool;
    if (size_override >= 0) pool.make(lines, (uint64_t)size_override);

    o.start = now_ns();
    uint64_t start_cpu = cpu_ns();
    if (o.duration > 0) o.stop_at = o.start + (uint64_t)(o.duration * 1e9);
    std::vector<Counters> counters(o.threads);
    std::vector<std::thread> threads;
    for (unsigned t = 0; t < o.threads; t++)
        threads.emplace_back(replay, t, std::cref(o), std::cref(lines), std::cref(pool),
                             std::ref(connman), std::ref(counters[t]));
    for (std::thread& th : threads) th.join();

    Counters total;
    for (const Counters& c : counters) {
        total.sent += c.sent;
        total.bytes += c.bytes;
        total.fired_in += c.fired_in;
        total.fired_out += c.fired_out;
        total.not_fired += c.not_fired;
    }
    uint64_t elapsed = now_ns() - o.start, cpu = cpu_ns() - start_cpu;
    if (!quiet) {
        printf("replayed %llu messages, %llu payload bytes in %.3f s "
               "(%.1f ns per message, %.1f ns CPU)",
               (unsigned long long)total.sent, (unsigned long long)total.bytes, elapsed / 1e9,
               total.sent ? (double)elapsed / (double)total.sent : 0.0,
               total.sent ? (double)cpu / (double)total.sent : 0.0);
#ifdef STANDIN_SEMAPHORES
        printf("; %llu fired (%llu in + %llu out); semaphore was 0 for %llu",
               (unsigned long long)(total.fired_in + total.fired_out),
               (unsigned long long)total.fired_in, (unsigned long long)total.fired_out,
               (unsigned long long)total.not_fired);
#endif
        printf("\n");
    }
    fflush(stdout);
    if (linger > 0) {
        struct timespec ts = {(time_t)linger, (long)((linger - (long)linger) * 1e9)};
        nanosleep(&ts, nullptr);
    }
    if (hold) {
        sigset_t usr2;
        int sig;
        sigemptyset(&usr2);
        sigaddset(&usr2, SIGUSR2);
        sigwait(&usr2, &sig);
    }
    return 0;
}
