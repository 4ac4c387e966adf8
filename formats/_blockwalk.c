/* C walkers over one decompressed block body, for the offline commands
 * whose time is bound by reading (docs/BENCHMARKS.md):
 *
 *   listing(raw, records, commands, since_ns, until_ns, gaps, reasons, width) -> (str, int) | None
 *       show -n's rows of the block, joined by "\n" (none after the last),
 *       and how many of them are messages;
 *   fingerprints(raw, records, is_raw, since_ns, until_ns, base) -> tuple | None
 *       diff's first pass over the block (p2pcap/analysis/diff.py, scan).
 *
 * They are accelerators, not second readers: formats/block.py
 * (decode_block), p2pcap/cli/render.py (Renderer) and diff's per-record
 * loop stay the reference.  Anything a walker is not sure of -- a malformed
 * record, a record count that does not match, a name it would have to
 * decode for a row -- makes it return None, and the caller takes the
 * general way for that block, which names the damage if there is any.
 * The record layout is docs/FORMAT.md's "Records";
 * tests/analysis/test_fast_output.py holds both paths to the same output on
 * generated, damaged and cut captures.
 *
 * raw: the body (bytes-like); records: the count in the block header;
 * since_ns/until_ns: None or inclusive bounds, as decode_block takes them.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>
#include <string.h>
#include <time.h>

#include "_accel.h"

#define KIND_MESSAGE 0x01
#define KIND_PEER 0x02
#define KIND_COMMAND 0x03
#define KIND_GAP 0x04
#define KIND_PROCESS 0x05 /* format 1.1: pid, network (formats/block.py PROCESS) */
#define MESSAGE_LEN 28 /* <BIQHHBHII */
#define PEER_LEN 22    /* <BIHIqHB, then addr and conn_type */
#define COMMAND_LEN 8  /* <BIHB, then the name */
#define GAP_LEN 35     /* <BIQIHQQ */
/* hash(bytes) of a buffer, without making the bytes object: public from
 * 3.14; before, the function bytes use, exported by 3.10-3.13 (declared in
 * a public header up to 3.12, in an internal one in 3.13). */
#if PY_VERSION_HEX >= 0x030E0000
#define HASH_BUFFER(p, n) Py_HashBuffer((p), (n))
#else
PyAPI_FUNC(Py_hash_t) _Py_HashBytes(const void *, Py_ssize_t);
#define HASH_BUFFER(p, n) _Py_HashBytes((p), (n))
#endif
#define MAX_ROW 512    /* a row before it is cut: the fixed columns and a command of at most 255 bytes */


/* "HH:MM:SS." of one second, formatted once for the records that share it
 * (render.clock). */
typedef struct {
    uint64_t second;
    int valid;
    char text[16];
} Clock;

static int clock_text(Clock *c, uint64_t ts_ns, char *out) {
    uint64_t second = ts_ns / 1000000000u;
    if (!c->valid || c->second != second) {
        time_t t = (time_t)second;
        struct tm tm;
        if (gmtime_r(&t, &tm) == NULL) return -1;
        snprintf(c->text, sizeof c->text, "%02d:%02d:%02d", tm.tm_hour, tm.tm_min, tm.tm_sec);
        c->second = second;
        c->valid = 1;
    }
    return sprintf(out, "%s.%06u", c->text, (unsigned)(ts_ns % 1000000000u / 1000u));
}

/* A name the rows can print as they are: ASCII only, since a row is cut
 * by columns (code points) and the reference decodes with surrogateescape. */
/* Printable ASCII without the backslash: a name the table can show as it is
 * (p2pcap/terminal.py printable() escapes anything else, on the general path). */
static int plain(const unsigned char *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (p[i] < 0x20 || p[i] > 0x7e || p[i] == '\\') return 0;
    return 1;
}

/* One bound of the time filter into *out; *given 0 when it bounds nothing,
 * *nothing 1 when no timestamp can pass it; -1 (an exception set) for a
 * value that is not an int. */
static int bound(PyObject *value, uint64_t *out, int *given, int is_since, int *nothing) {
    *given = 0;
    if (value == Py_None) return 0;
    if (!PyLong_Check(value)) {
        PyErr_SetString(PyExc_TypeError, "since_ns and until_ns must be int or None");
        return -1;
    }
    int overflow = 0;
    long long v = PyLong_AsLongLongAndOverflow(value, &overflow);
    if (v == -1 && PyErr_Occurred()) return -1;
    *given = 1;
    if (overflow < 0 || (!overflow && v < 0)) {
        /* below every timestamp: no since bound; an until bound nothing passes */
        if (is_since)
            *given = 0;
        else
            *nothing = 1;
        return 0;
    }
    if (overflow > 0) {
        unsigned long long u = PyLong_AsUnsignedLongLong(value);
        if (u == (unsigned long long)-1 && PyErr_Occurred()) {
            PyErr_Clear(); /* beyond u64: above every timestamp */
            if (is_since)
                *nothing = 1;
            else
                *given = 0;
            return 0;
        }
        *out = u;
        return 0;
    }
    *out = (uint64_t)v;
    return 0;
}


/* -- one entry at a time ------------------------------------------------------ */
typedef struct {
    unsigned kind;
    uint64_t ts;           /* message, gap */
    uint32_t pid;          /* peer, gap */
    unsigned ref;          /* peer, command: the ref it defines */
    unsigned pref, cref, d, flags;
    uint32_t msg_size, clen;
    const unsigned char *payload; /* message: clen bytes */
    int64_t peer_id;
    const unsigned char *text;    /* peer: addr then conn_type; command: the name */
    unsigned alen, tlen;          /* peer: their lengths; command: alen is the name's */
    unsigned reason;
    uint64_t lost, lost_bytes;
} Entry;

typedef struct {
    const unsigned char *raw;
    size_t n, pos;
    size_t npeers, nnames;
    Py_ssize_t seen; /* messages and gaps, as decode_block counts them */
} Walk;

/* The next entry into *e: 1; the end of the body: 0; doubt: -1.  Checks
 * what decode_block checks (and refs decode_block would only trip on
 * later), steps over kinds of a newer minor version. */
static int next_entry(Walk *w, Entry *e) {
    for (;;) {
        if (w->pos == w->n) return 0;
        size_t left = w->n - w->pos;
        const unsigned char *r = w->raw + w->pos;
        if (left < 5) return -1;
        size_t size = u32(r + 1);
        if (size > left - 5) return -1;
        size_t len = 5 + size;
        e->kind = r[0];
        switch (e->kind) {
        case KIND_MESSAGE:
            if (len < MESSAGE_LEN) return -1;
            e->ts = u64(r + 5);
            e->pref = u16(r + 13);
            e->cref = u16(r + 15);
            e->d = r[17];
            e->flags = u16(r + 18);
            e->msg_size = u32(r + 20);
            e->clen = u32(r + 24);
            if (size < 23 + (size_t)e->clen || e->cref >= w->nnames || e->pref >= w->npeers || e->d > 1)
                return -1;
            e->payload = r + MESSAGE_LEN;
            w->seen++;
            break;
        case KIND_COMMAND:
            if (len < COMMAND_LEN) return -1;
            e->ref = u16(r + 5);
            e->alen = r[7];
            if (e->ref != w->nnames || size < 3 + (size_t)e->alen) return -1;
            e->text = r + COMMAND_LEN;
            w->nnames++;
            break;
        case KIND_PEER:
            if (len < PEER_LEN) return -1;
            e->ref = u16(r + 5);
            e->pid = u32(r + 7);
            e->peer_id = (int64_t)u64(r + 11);
            e->alen = u16(r + 19);
            e->tlen = r[21];
            if (e->ref != w->npeers || size < 17 + (size_t)e->alen + e->tlen) return -1;
            e->text = r + PEER_LEN;
            w->npeers++;
            break;
        case KIND_GAP:
            if (len < GAP_LEN) return -1;
            e->ts = u64(r + 5);
            e->pid = u32(r + 13);
            e->reason = u16(r + 17);
            e->lost = u64(r + 19);
            e->lost_bytes = u64(r + 27);
            w->seen++;
            break;
        case 0: /* decode_block refuses record kind 0 */
            return -1;
        default: /* a kind from a newer minor version: skipped, as decode_block does */
            w->pos += len;
            continue;
        }
        w->pos += len;
        return 1;
    }
}

typedef struct {
    uint64_t lo, hi;
    int nothing;
} Span;

/* since_ns/until_ns as decode_block applies them; -1 with an exception set. */
static int span_of(PyObject *since, PyObject *until, Span *s) {
    int has_lo, has_hi;
    s->lo = 0;
    s->hi = UINT64_MAX;
    s->nothing = 0;
    if (bound(since, &s->lo, &has_lo, 1, &s->nothing) < 0 || bound(until, &s->hi, &has_hi, 0, &s->nothing) < 0)
        return -1;
    if (!has_lo) s->lo = 0;
    if (!has_hi) s->hi = UINT64_MAX;
    return 0;
}

static int in_span(const Span *s, uint64_t ts) { return !s->nothing && ts >= s->lo && ts <= s->hi; }

static void *grow(void *p, size_t *cap, size_t need, size_t item) {
    if (need <= *cap) return p;
    size_t cap2 = *cap ? *cap : 16;
    while (cap2 < need) cap2 *= 2;
    void *q = PyMem_Realloc(p, cap2 * item);
    if (q == NULL) {
        PyErr_NoMemory();
        return NULL;
    }
    *cap = cap2;
    return q;
}

static PyObject *text_of(const unsigned char *p, size_t n) {
    return PyUnicode_DecodeUTF8((const char *)p, (Py_ssize_t)n, "surrogateescape"); /* as block.py reads them */
}

/* -- listing ----------------------------------------------------------------------- */
typedef struct {
    const unsigned char *name;
    unsigned len;
    int wanted;
} Command;

static PyObject *listing(PyObject *self, PyObject *args) {
    (void)self;
    Py_buffer view;
    Py_ssize_t records;
    PyObject *commands, *since_obj, *until_obj, *reasons;
    int gaps;
    Py_ssize_t width; /* columns a row is cut to (render.fit); 0: never cut */
    if (!PyArg_ParseTuple(args, "y*nOOOpO!n", &view, &records, &commands, &since_obj, &until_obj, &gaps,
                          &PyDict_Type, &reasons, &width))
        return NULL;
    Span span;
    if ((commands != Py_None && !PyAnySet_Check(commands)) || span_of(since_obj, until_obj, &span) < 0) {
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_TypeError, "commands must be a set or None");
        PyBuffer_Release(&view);
        return NULL;
    }
    Walk w = {view.buf, (size_t)view.len, 0, 0, 0, 0};
    Entry e;
    int64_t *peers = NULL;
    Command *names = NULL;
    size_t peers_cap = 0, names_cap = 0;
    Text out = {NULL, 0, 0};
    Clock clock = {0, 0, {0}};
    Py_ssize_t shown = 0;
    int got, doubt = 0, failed = 0;
    char row[MAX_ROW];

    while (!doubt && !failed && (got = next_entry(&w, &e)) != 0) {
        if (got < 0) {
            doubt = 1;
        } else if (e.kind == KIND_MESSAGE) {
            if (!names[e.cref].wanted || !in_span(&span, e.ts)) continue;
            int len = clock_text(&clock, e.ts, row);
            if (len < 0) {
                doubt = 1;
                break;
            }
            char size_text[24];
            if (e.clen < e.msg_size)
                snprintf(size_text, sizeof size_text, "%u/%u", (unsigned)e.clen, (unsigned)e.msg_size);
            else
                snprintf(size_text, sizeof size_text, "%u", (unsigned)e.msg_size);
            len += snprintf(row + len, sizeof row - len, " %-3s %5lld %-12.*s %8s", e.d ? "out" : "in",
                            (long long)peers[e.pref], (int)names[e.cref].len, (const char *)names[e.cref].name,
                            size_text);
            if (len >= (int)sizeof row) {
                doubt = 1;
                break;
            }
            if (width > 0 && len > width) { /* render.fit: width - 1 columns and an ellipsis */
                memcpy(row + width - 1, "\xe2\x80\xa6", 3);
                len = (int)width + 2;
            }
            if (text_room(&out, (size_t)len + 1) < 0) {
                failed = 1;
                break;
            }
            if (out.len) out.data[out.len++] = '\n';
            memcpy(out.data + out.len, row, (size_t)len);
            out.len += (size_t)len;
            shown++;
        } else if (e.kind == KIND_COMMAND) {
            if (!plain(e.text, e.alen)) { /* cut by columns, shown unescaped: printable ASCII only */
                doubt = 1;
                break;
            }
            Command *grown = grow(names, &names_cap, w.nnames, sizeof *names);
            if (grown == NULL) {
                failed = 1;
                break;
            }
            names = grown;
            int wanted = 1;
            if (commands != Py_None) {
                PyObject *name = PyUnicode_DecodeASCII((const char *)e.text, e.alen, NULL);
                if (name == NULL) {
                    failed = 1;
                    break;
                }
                wanted = PySet_Contains(commands, name);
                Py_DECREF(name);
                if (wanted < 0) {
                    failed = 1;
                    break;
                }
            }
            names[e.ref] = (Command){e.text, e.alen, wanted};
        } else if (e.kind == KIND_PEER) {
            int64_t *grown = grow(peers, &peers_cap, w.npeers, sizeof *peers);
            if (grown == NULL) {
                failed = 1;
                break;
            }
            peers = grown;
            peers[e.ref] = e.peer_id;
        } else { /* KIND_GAP */
            if (!gaps || !in_span(&span, e.ts)) continue;
            char reason_text[32];
            const char *reason_name = reason_text;
            Py_ssize_t reason_len;
            PyObject *key = PyLong_FromUnsignedLong(e.reason);
            if (key == NULL) {
                failed = 1;
                break;
            }
            PyObject *name = PyDict_GetItemWithError(reasons, key); /* borrowed */
            Py_DECREF(key);
            if (name == NULL && PyErr_Occurred()) {
                failed = 1;
                break;
            }
            if (name != NULL) {
                if (!PyUnicode_Check(name) || !PyUnicode_IS_ASCII(name)) {
                    doubt = 1;
                    break;
                }
                reason_name = (const char *)PyUnicode_DATA(name);
                reason_len = PyUnicode_GET_LENGTH(name);
            } else {
                reason_len = snprintf(reason_text, sizeof reason_text, "reason-%u", e.reason);
            }
            char head[24];
            if (clock_text(&clock, e.ts, head) < 0) {
                doubt = 1;
                break;
            }
            char pid_text[24] = "";
            if (e.pid) snprintf(pid_text, sizeof pid_text, ", pid %u", (unsigned)e.pid);
            if (text_room(&out, (size_t)reason_len + 128) < 0) {
                failed = 1;
                break;
            }
            if (out.len) out.data[out.len++] = '\n';
            size_t start = out.len;
            out.len += (size_t)snprintf(out.data + out.len, out.cap - out.len,
                                        "%s --- GAP: %llu messages (%llu bytes) lost, %.*s%s", head,
                                        (unsigned long long)e.lost, (unsigned long long)e.lost_bytes,
                                        (int)reason_len, reason_name, pid_text);
            if (width > 0 && out.len - start > (size_t)width) { /* render.fit, as for a message row */
                memcpy(out.data + start + width - 1, "\xe2\x80\xa6", 3);
                out.len = start + (size_t)width + 2;
            }
        }
    }
    if (w.seen != records) doubt = 1;
    PyBuffer_Release(&view);
    PyMem_Free(peers);
    PyMem_Free(names);
    PyObject *result = NULL;
    if (failed) {
        /* an exception is set */
    } else if (doubt) {
        result = Py_NewRef(Py_None);
    } else {
        PyObject *text = PyUnicode_DecodeUTF8(out.data ? out.data : "", (Py_ssize_t)out.len, "strict");
        if (text != NULL) result = Py_BuildValue("(Nn)", text, shown);
    }
    PyMem_Free(out.data);
    return result;
}

/* -- fingerprints ------------------------------------------------------------------- */
/* diff's first pass (analysis/diff.py, scan), for a block: for each
 * peer-session the fingerprints and capture ordinals of its messages, in
 * order.  A command ``is_raw(name)`` says is compared by its bytes gets
 * diff.raw_fingerprint's value here: Python's hash of the bytes
 * "<direction> <command> <msg_size> " + payload (so the general loop gives
 * the same number in this process).  Other messages are left to the caller ("pending", with a 0 in
 * their place): they are decoded, and their versions followed, in order.
 *
 * fingerprints(raw, records, is_raw, since_ns, until_ns, base) -> None |
 *   (peers, names, sessions, pending, counts, ts_min, ts_max, gaps, messages)
 *   peers: [(pid, peer_id, addr, conn_type)] by ref; names: [command] by ref;
 *   sessions: {peer ref: (first ts, fps, ords)} in order of first message,
 *     fps and ords bytes of native u64, ords counted from base;
 *   pending: [(peer ref, index in its session's fps, command ref, direction,
 *     ts, flags, msg_size, payload)] in order; counts: {command ref << 1 | d: n};
 *   ts_min/ts_max: of the messages and gaps kept, or None;
 *   gaps: [(ts, pid, reason, lost, lost_bytes)]; messages: how many were kept.
 */
typedef struct {
    uint64_t first_ts;
    size_t n, cap;
    uint64_t *fps, *ords;
    int seen;
} Track;

static PyObject *fingerprints(PyObject *self, PyObject *args) {
    (void)self;
    Py_buffer view;
    Py_ssize_t records;
    PyObject *is_raw, *since_obj, *until_obj;
    unsigned long long base;
    if (!PyArg_ParseTuple(args, "y*nOOOK", &view, &records, &is_raw, &since_obj, &until_obj, &base)) return NULL;
    Span span;
    if (span_of(since_obj, until_obj, &span) < 0) {
        PyBuffer_Release(&view);
        return NULL;
    }
    Walk w = {view.buf, (size_t)view.len, 0, 0, 0, 0};
    Entry e;
    Track *tracks = NULL;
    size_t ntracks = 0; /* made so far: what is freed */
    size_t tracks_cap = 0, order_cap = 0, norder = 0, names_cap = 0, counts_cap = 0, scratch_cap = 0;
    unsigned char *scratch = NULL;
    size_t *order = NULL;
    const unsigned char **name_at = NULL;
    unsigned *name_len = NULL;
    size_t name_len_cap = 0;
    char *raw_name = NULL;
    size_t raw_name_cap = 0;
    Py_ssize_t *counts = NULL;
    PyObject *peers = PyList_New(0), *names = PyList_New(0), *pending = PyList_New(0), *gaps = PyList_New(0);
    PyObject *result = NULL;
    uint64_t ts_min = UINT64_MAX, ts_max = 0;
    Py_ssize_t kept = 0;
    int got, doubt = 0, failed = peers == NULL || names == NULL || pending == NULL || gaps == NULL;

    while (!doubt && !failed && (got = next_entry(&w, &e)) != 0) {
        if (got < 0) {
            doubt = 1;
        } else if (e.kind == KIND_MESSAGE) {
            if (!in_span(&span, e.ts)) continue;
            Track *t = &tracks[e.pref];
            if (!t->seen) {
                size_t *o = grow(order, &order_cap, norder + 1, sizeof *order);
                if (o == NULL) {
                    failed = 1;
                    break;
                }
                order = o;
                order[norder++] = e.pref;
                t->seen = 1;
                t->first_ts = e.ts;
            }
            if (t->n == t->cap) { /* fps and ords grow together */
                size_t cap = t->cap;
                uint64_t *fps = grow(t->fps, &cap, t->n + 1, sizeof *fps);
                uint64_t *ords = fps ? PyMem_Realloc(t->ords, cap * sizeof *ords) : NULL;
                if (fps) t->fps = fps;
                if (ords == NULL) {
                    if (fps) PyErr_NoMemory();
                    failed = 1;
                    break;
                }
                t->ords = ords;
                t->cap = cap;
            }
            t->ords[t->n] = base + (uint64_t)kept;
            if (raw_name[e.cref]) {
                size_t nlen = name_len[e.cref];
                size_t need = 4 + nlen + 13 + e.clen; /* " %u " and snprintf's NUL: at most 13 */
                unsigned char *s = grow(scratch, &scratch_cap, need, 1);
                if (s == NULL) {
                    failed = 1;
                    break;
                }
                scratch = s;
                size_t k = e.d ? 4 : 3;
                memcpy(s, e.d ? "out " : "in ", k);
                memcpy(s + k, name_at[e.cref], nlen);
                k += nlen;
                k += (size_t)snprintf((char *)s + k, 13, " %u ", (unsigned)e.msg_size);
                memcpy(s + k, e.payload, e.clen);
                k += e.clen;
                t->fps[t->n] = (uint64_t)HASH_BUFFER(s, (Py_ssize_t)k);
            } else {
                t->fps[t->n] = 0;
                PyObject *item = Py_BuildValue("(nnIIKIIy#)", (Py_ssize_t)e.pref, (Py_ssize_t)t->n, e.cref, e.d,
                                               (unsigned long long)e.ts, e.flags, (unsigned)e.msg_size,
                                               (const char *)e.payload, (Py_ssize_t)e.clen);
                if (item == NULL || PyList_Append(pending, item) < 0) {
                    Py_XDECREF(item);
                    failed = 1;
                    break;
                }
                Py_DECREF(item);
            }
            t->n++;
            counts[e.cref << 1 | e.d]++;
            kept++;
            if (e.ts < ts_min) ts_min = e.ts;
            if (e.ts > ts_max) ts_max = e.ts;
        } else if (e.kind == KIND_COMMAND) {
            PyObject *name = text_of(e.text, e.alen);
            if (name == NULL || PyList_Append(names, name) < 0) {
                Py_XDECREF(name);
                failed = 1;
                break;
            }
            PyObject *verdict = PyObject_CallOneArg(is_raw, name);
            Py_DECREF(name);
            int raw = verdict == NULL ? -1 : PyObject_IsTrue(verdict);
            Py_XDECREF(verdict);
            const unsigned char **at = grow(name_at, &names_cap, w.nnames, sizeof *name_at);
            unsigned *lens = at ? grow(name_len, &name_len_cap, w.nnames, sizeof *name_len) : NULL;
            char *raws = lens ? grow(raw_name, &raw_name_cap, w.nnames, 1) : NULL;
            Py_ssize_t *c = raws ? grow(counts, &counts_cap, 2 * w.nnames, sizeof *counts) : NULL;
            if (at) name_at = at;
            if (lens) name_len = lens;
            if (raws) raw_name = raws;
            if (c) counts = c;
            if (raw < 0 || c == NULL) {
                failed = 1;
                break;
            }
            name_at[e.ref] = e.text;
            name_len[e.ref] = e.alen;
            raw_name[e.ref] = (char)raw;
            counts[2 * e.ref] = counts[2 * e.ref + 1] = 0;
        } else if (e.kind == KIND_PEER) {
            PyObject *addr = text_of(e.text, e.alen), *type = text_of(e.text + e.alen, e.tlen);
            PyObject *peer = addr && type ? Py_BuildValue("(ILOO)", e.pid, (long long)e.peer_id, addr, type) : NULL;
            Py_XDECREF(addr);
            Py_XDECREF(type);
            Track *grown = peer ? grow(tracks, &tracks_cap, w.npeers, sizeof *tracks) : NULL;
            if (peer == NULL || grown == NULL || PyList_Append(peers, peer) < 0) {
                Py_XDECREF(peer);
                failed = 1;
                break;
            }
            Py_DECREF(peer);
            tracks = grown;
            tracks[e.ref] = (Track){0, 0, 0, NULL, NULL, 0};
            ntracks = e.ref + 1;
        } else { /* KIND_GAP */
            if (!in_span(&span, e.ts)) continue;
            PyObject *gap = Py_BuildValue("(KIIKK)", (unsigned long long)e.ts, e.pid, e.reason,
                                          (unsigned long long)e.lost, (unsigned long long)e.lost_bytes);
            if (gap == NULL || PyList_Append(gaps, gap) < 0) {
                Py_XDECREF(gap);
                failed = 1;
                break;
            }
            Py_DECREF(gap);
            if (e.ts < ts_min) ts_min = e.ts;
            if (e.ts > ts_max) ts_max = e.ts;
        }
    }
    if (!failed && !doubt && w.seen != records) doubt = 1;
    if (!failed && !doubt) {
        PyObject *sessions = PyDict_New(), *count_map = PyDict_New();
        failed = sessions == NULL || count_map == NULL;
        for (size_t i = 0; !failed && i < norder; i++) {
            Track *t = &tracks[order[i]];
            PyObject *value = Py_BuildValue("(Ky#y#)", (unsigned long long)t->first_ts, (const char *)t->fps,
                                            (Py_ssize_t)(t->n * sizeof *t->fps), (const char *)t->ords,
                                            (Py_ssize_t)(t->n * sizeof *t->ords));
            PyObject *key = PyLong_FromSize_t(order[i]);
            failed = value == NULL || key == NULL || PyDict_SetItem(sessions, key, value) < 0;
            Py_XDECREF(value);
            Py_XDECREF(key);
        }
        for (size_t i = 0; !failed && i < 2 * w.nnames; i++) {
            if (!counts[i]) continue;
            PyObject *key = PyLong_FromSize_t(i), *value = PyLong_FromSsize_t(counts[i]);
            failed = key == NULL || value == NULL || PyDict_SetItem(count_map, key, value) < 0;
            Py_XDECREF(key);
            Py_XDECREF(value);
        }
        if (!failed) {
            PyObject *lo = ts_min <= ts_max ? PyLong_FromUnsignedLongLong(ts_min) : Py_NewRef(Py_None);
            PyObject *hi = ts_min <= ts_max ? PyLong_FromUnsignedLongLong(ts_max) : Py_NewRef(Py_None);
            PyObject *n = PyLong_FromSsize_t(kept);
            if (lo && hi && n) result = PyTuple_Pack(9, peers, names, sessions, pending, count_map, lo, hi, gaps, n);
            Py_XDECREF(lo);
            Py_XDECREF(hi);
            Py_XDECREF(n);
        }
        Py_XDECREF(sessions);
        Py_XDECREF(count_map);
    } else if (doubt && !failed) {
        result = Py_NewRef(Py_None);
    }
    for (size_t i = 0; i < ntracks; i++) {
        PyMem_Free(tracks[i].fps);
        PyMem_Free(tracks[i].ords);
    }
    PyMem_Free(tracks);
    PyMem_Free(order);
    PyMem_Free(name_at);
    PyMem_Free(name_len);
    PyMem_Free(raw_name);
    PyMem_Free(counts);
    PyMem_Free(scratch);
    Py_XDECREF(peers);
    Py_XDECREF(names);
    Py_XDECREF(pending);
    Py_XDECREF(gaps);
    PyBuffer_Release(&view);
    return result;
}

/* -- columns ------------------------------------------------------------------------ */
/* export's columns of a block (formats/columns.py): every record the filters
 * keep as one row, each field in a buffer Arrow takes as it is, and the
 * items of the inventory messages among them, so that writing Parquet
 * costs no Python object per record (issue 27).
 *
 * columns(raw, records, commands, since_ns, until_ns, gaps, inventory) -> None | tuple
 *   commands, since_ns, until_ns, gaps: as decode_block takes them;
 *   inventory: None, or {command: max_count} for the messages whose payload
 *     is an inventory vector (inv and getdata: at most MAX_INV_SZ items;
 *     notfound: -1, as many as its bytes hold).
 * The tuple: (rows, peers, names, ts, pid, peer_id, peer_ref, command_ref,
 *   direction, msg_size, captured_len, flags, offsets, data, gaps,
 *   message_valid, gap_valid, reason, lost, lost_bytes,
 *   item_row, item_type, item_hash, declined)
 *   peers: [(pid, peer_id, addr, conn_type)] by ref; names: [command] by ref
 *     (strings as block.py reads them);
 *   ts .. flags: one native value per row, int64 but the refs and the
 *     direction (int32); 0 where a gap row has no such field;
 *   offsets (int32, rows + 1) and data: the payloads, one after another;
 *   gaps: how many rows are gaps; message_valid, gap_valid: bitmaps of the
 *     message rows and of the gap rows (Arrow's validity), None when gaps is 0;
 *   reason (int32), lost, lost_bytes (int64): the gap rows' fields;
 *   item_row (int32), item_type (uint32), item_hash (64 hex digits each, in
 *     display order): one per item of each inventory message, in order;
 *   declined: the rows of inventory messages whose items are left to the
 *     decoders: a payload cut short or above MAX_PROTOCOL_MESSAGE_LENGTH, a
 *     count not in the one-byte or canonical 0xfd form or over its limit,
 *     a length that does not match the count.
 * The items are read as decoders/fastpaths.py inventory() reads them, and
 * so as the construct does where that accepts a payload;
 * tests/analysis/test_export_columns.py holds them to announced() of the
 * decoded messages.  None: a block to read the general way (a doubt of
 * next_entry, a record count that does not match, a time or a loss past
 * int64, which the general way names).
 */
#define MAX_PAYLOAD (3u * 1024 * 1024) /* decoders/limits.py MAX_PROTOCOL_MESSAGE_LENGTH (src/net.h) */
#define NOT_INVENTORY (-2)

typedef struct {
    int wanted;
    long long inv_max; /* NOT_INVENTORY, -1 (as many as the bytes hold) or a count */
} Name;

typedef struct {
    uint32_t pid;
    int64_t peer_id;
} Peer;

/* n bytes onto a growing buffer; -1 with MemoryError set. */
static int put_bytes(Text *t, const void *p, size_t n) {
    if (n == 0) return 0;
    if (text_room(t, n) < 0) return -1;
    memcpy(t->data + t->len, p, n);
    t->len += n;
    return 0;
}

/* The buffers of columns(), in the order of the tuple after data. */
enum {
    C_TS, C_PID, C_PEER_ID, C_PEER, C_COMMAND, C_DIRECTION, C_MSG_SIZE, C_CLEN, C_FLAGS, C_OFFSETS, C_DATA,
    C_REASON, C_LOST, C_LOST_BYTES, C_ITEM_ROW, C_ITEM_TYPE, C_ITEM_HASH, C_IS_GAP, C_NCOLS
};

/* One row's fixed fields. */
typedef struct {
    int64_t ts, pid, peer_id, msg_size, clen, flags, lost, lost_bytes;
    int32_t peer, command, direction, reason;
    unsigned char is_gap;
} Row;

static int put_row(Text *col, const Row *r, const unsigned char *payload, size_t clen) {
    return put_bytes(&col[C_TS], &r->ts, 8) < 0 || put_bytes(&col[C_PID], &r->pid, 8) < 0 ||
                   put_bytes(&col[C_PEER_ID], &r->peer_id, 8) < 0 || put_bytes(&col[C_PEER], &r->peer, 4) < 0 ||
                   put_bytes(&col[C_COMMAND], &r->command, 4) < 0 ||
                   put_bytes(&col[C_DIRECTION], &r->direction, 4) < 0 ||
                   put_bytes(&col[C_MSG_SIZE], &r->msg_size, 8) < 0 || put_bytes(&col[C_CLEN], &r->clen, 8) < 0 ||
                   put_bytes(&col[C_FLAGS], &r->flags, 8) < 0 || put_bytes(&col[C_DATA], payload, clen) < 0 ||
                   put_bytes(&col[C_REASON], &r->reason, 4) < 0 || put_bytes(&col[C_LOST], &r->lost, 8) < 0 ||
                   put_bytes(&col[C_LOST_BYTES], &r->lost_bytes, 8) < 0 ||
                   put_bytes(&col[C_IS_GAP], &r->is_gap, 1) < 0
               ? -1
               : 0;
}

/* The items of an inventory message into the item columns: 1; 0 to decline it; -1 on error. */
static int inventory_items(Text *col, const Entry *e, long long inv_max, int32_t row) {
    const unsigned char *p = e->payload;
    size_t n = e->clen, start = 0, count = 0;
    if (e->clen != e->msg_size || n > MAX_PAYLOAD || !compact(p, n, &start, &count) ||
        (inv_max >= 0 && count > (size_t)inv_max) || n != start + 36 * count)
        return 0;
    if (text_room(&col[C_ITEM_ROW], 4 * count) < 0 || text_room(&col[C_ITEM_TYPE], 4 * count) < 0 ||
        text_room(&col[C_ITEM_HASH], 64 * count) < 0)
        return -1;
    for (size_t i = 0; i < count; i++) {
        const unsigned char *entry = p + start + 36 * i;
        uint32_t type = u32(entry);
        memcpy(col[C_ITEM_ROW].data + col[C_ITEM_ROW].len, &row, 4);
        col[C_ITEM_ROW].len += 4;
        memcpy(col[C_ITEM_TYPE].data + col[C_ITEM_TYPE].len, &type, 4);
        col[C_ITEM_TYPE].len += 4;
        text_hash(&col[C_ITEM_HASH], entry + 4);
    }
    return 1;
}

/* Arrow validity bitmaps of the message rows and of the gap rows. */
static PyObject *bitmap(const Text *is_gap, Py_ssize_t rows, unsigned char gap) {
    PyObject *bits = PyBytes_FromStringAndSize(NULL, (rows + 7) / 8);
    if (bits == NULL) return NULL;
    unsigned char *b = (unsigned char *)PyBytes_AS_STRING(bits);
    memset(b, 0, (size_t)(rows + 7) / 8);
    for (Py_ssize_t i = 0; i < rows; i++)
        if ((unsigned char)is_gap->data[i] == gap) b[i >> 3] |= (unsigned char)(1u << (i & 7));
    return bits;
}

static PyObject *column_bytes(const Text *t) { return PyBytes_FromStringAndSize(t->data ? t->data : "", (Py_ssize_t)t->len); }

static PyObject *columns(PyObject *self, PyObject *args) {
    (void)self;
    Py_buffer view;
    Py_ssize_t records;
    PyObject *commands, *since_obj, *until_obj, *inventory;
    int gaps;
    if (!PyArg_ParseTuple(args, "y*nOOOpO", &view, &records, &commands, &since_obj, &until_obj, &gaps, &inventory))
        return NULL;
    Span span;
    if ((commands != Py_None && !PyAnySet_Check(commands)) || (inventory != Py_None && !PyDict_Check(inventory)) ||
        span_of(since_obj, until_obj, &span) < 0) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_TypeError, "commands must be a set or None, inventory a dict or None");
        PyBuffer_Release(&view);
        return NULL;
    }
    Walk w = {view.buf, (size_t)view.len, 0, 0, 0, 0};
    Entry e;
    Text col[C_NCOLS];
    memset(col, 0, sizeof col);
    Name *names = NULL;
    Peer *peer_refs = NULL;
    size_t names_cap = 0, peers_cap = 0;
    PyObject *peers = PyList_New(0), *name_list = PyList_New(0), *declined = PyList_New(0), *result = NULL;
    Py_ssize_t rows = 0, ngaps = 0;
    int32_t zero = 0;
    int got, doubt = 0, failed = peers == NULL || name_list == NULL || declined == NULL;
    if (!failed) failed = put_bytes(&col[C_OFFSETS], &zero, 4) < 0;

    while (!doubt && !failed && (got = next_entry(&w, &e)) != 0) {
        if (got < 0) {
            doubt = 1;
        } else if (e.kind == KIND_MESSAGE) {
            const Name *name = &names[e.cref];
            if (!name->wanted || !in_span(&span, e.ts)) continue;
            if (e.ts > (uint64_t)INT64_MAX) {
                doubt = 1; /* the general way names it */
                break;
            }
            Row r = {(int64_t)e.ts, peer_refs[e.pref].pid, peer_refs[e.pref].peer_id, e.msg_size, e.clen, e.flags,
                     0, 0, (int32_t)e.pref, (int32_t)e.cref, (int32_t)e.d, 0, 0};
            if (put_row(col, &r, e.payload, e.clen) < 0) {
                failed = 1;
                break;
            }
            int32_t end = (int32_t)col[C_DATA].len;
            if (put_bytes(&col[C_OFFSETS], &end, 4) < 0) {
                failed = 1;
                break;
            }
            if (name->inv_max != NOT_INVENTORY) {
                int made = inventory_items(col, &e, name->inv_max, (int32_t)rows);
                if (made < 0) {
                    failed = 1;
                    break;
                }
                if (made == 0) {
                    PyObject *row = PyLong_FromSsize_t(rows);
                    if (row == NULL || PyList_Append(declined, row) < 0) {
                        Py_XDECREF(row);
                        failed = 1;
                        break;
                    }
                    Py_DECREF(row);
                }
            }
            rows++;
        } else if (e.kind == KIND_COMMAND) {
            Name *grown = grow(names, &names_cap, w.nnames, sizeof *names);
            PyObject *name = grown ? text_of(e.text, e.alen) : NULL;
            if (grown) names = grown;
            if (name == NULL || PyList_Append(name_list, name) < 0) {
                Py_XDECREF(name);
                failed = 1;
                break;
            }
            int wanted = commands == Py_None ? 1 : PySet_Contains(commands, name);
            PyObject *limit = inventory == Py_None ? NULL : PyDict_GetItemWithError(inventory, name); /* borrowed */
            Py_DECREF(name);
            long long inv_max = NOT_INVENTORY;
            if (limit != NULL) {
                inv_max = PyLong_AsLongLong(limit);
                if (inv_max < -1 && !PyErr_Occurred()) inv_max = -1;
            }
            if (wanted < 0 || PyErr_Occurred()) {
                failed = 1;
                break;
            }
            names[e.ref] = (Name){wanted, inv_max};
        } else if (e.kind == KIND_PEER) {
            Peer *grown = grow(peer_refs, &peers_cap, w.npeers, sizeof *peer_refs);
            PyObject *addr = grown ? text_of(e.text, e.alen) : NULL;
            PyObject *type = addr ? text_of(e.text + e.alen, e.tlen) : NULL;
            PyObject *peer = type ? Py_BuildValue("(ILOO)", e.pid, (long long)e.peer_id, addr, type) : NULL;
            if (grown) peer_refs = grown;
            Py_XDECREF(addr);
            Py_XDECREF(type);
            if (peer == NULL || PyList_Append(peers, peer) < 0) {
                Py_XDECREF(peer);
                failed = 1;
                break;
            }
            Py_DECREF(peer);
            peer_refs[e.ref] = (Peer){e.pid, e.peer_id};
        } else { /* KIND_GAP */
            if (!gaps || !in_span(&span, e.ts)) continue;
            if (e.ts > (uint64_t)INT64_MAX || e.lost > (uint64_t)INT64_MAX || e.lost_bytes > (uint64_t)INT64_MAX) {
                doubt = 1;
                break;
            }
            Row r = {(int64_t)e.ts, e.pid, 0, 0, 0, 0, (int64_t)e.lost, (int64_t)e.lost_bytes, 0, 0, 0,
                     (int32_t)e.reason, 1};
            int32_t end = (int32_t)col[C_DATA].len;
            if (put_row(col, &r, NULL, 0) < 0 || put_bytes(&col[C_OFFSETS], &end, 4) < 0) {
                failed = 1;
                break;
            }
            rows++;
            ngaps++;
        }
    }
    if (!failed && !doubt && w.seen != records) doubt = 1;
    if (!failed && doubt) result = Py_NewRef(Py_None);
    if (!failed && !doubt) {
        PyObject *message_valid = ngaps ? bitmap(&col[C_IS_GAP], rows, 0) : Py_NewRef(Py_None);
        PyObject *gap_valid = ngaps ? bitmap(&col[C_IS_GAP], rows, 1) : Py_NewRef(Py_None);
        PyObject *made[C_IS_GAP];
        int ok = message_valid != NULL && gap_valid != NULL;
        for (int i = 0; i < C_IS_GAP; i++) {
            made[i] = ok ? column_bytes(&col[i]) : NULL;
            if (made[i] == NULL) ok = 0;
        }
        if (ok)
            result = Py_BuildValue("(nOONNNNNNNNNNNnNNNNNNNNO)", rows, peers, name_list, made[C_TS], made[C_PID],
                                   made[C_PEER_ID], made[C_PEER], made[C_COMMAND], made[C_DIRECTION],
                                   made[C_MSG_SIZE], made[C_CLEN], made[C_FLAGS], made[C_OFFSETS], made[C_DATA],
                                   ngaps, message_valid, gap_valid, made[C_REASON], made[C_LOST],
                                   made[C_LOST_BYTES], made[C_ITEM_ROW], made[C_ITEM_TYPE], made[C_ITEM_HASH],
                                   declined);
        else {
            Py_XDECREF(message_valid);
            Py_XDECREF(gap_valid);
            for (int i = 0; i < C_IS_GAP; i++) Py_XDECREF(made[i]);
        }
    }
    for (int i = 0; i < C_NCOLS; i++) PyMem_Free(col[i].data);
    PyMem_Free(names);
    PyMem_Free(peer_refs);
    Py_XDECREF(peers);
    Py_XDECREF(name_list);
    Py_XDECREF(declined);
    PyBuffer_Release(&view);
    return result;
}

/* processes(raw) -> [(pid, network bytes), ...]: the process definitions of
 * one decompressed block body, in order.  The walkers above step over them
 * (a kind they do not render), so a block one of them made would leave the
 * reader without its processes' networks (CaptureReader.rendered_blocks).
 * Reads entry headers only; stops at the first entry that does not fit the
 * body (the walker that rendered the block already judged it whole). */
static PyObject *processes(PyObject *self, PyObject *arg) {
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0) return NULL;
    PyObject *found = PyList_New(0);
    const unsigned char *raw = view.buf;
    size_t n = (size_t)view.len, pos = 0;
    while (found != NULL && n - pos >= 5) {
        const unsigned char *r = raw + pos;
        size_t size = u32(r + 1);
        if (size > n - pos - 5) break;
        if (r[0] == KIND_PROCESS && size >= 5 && size >= 5 + (size_t)r[9]) {
            PyObject *item = Py_BuildValue("(ky#)", (unsigned long)u32(r + 5), (const char *)(r + 10),
                                           (Py_ssize_t)r[9]);
            if (item == NULL || PyList_Append(found, item) < 0) Py_CLEAR(found);
            Py_XDECREF(item);
        }
        pos += 5 + size;
    }
    PyBuffer_Release(&view);
    return found;
}

static PyMethodDef methods[] = {
    {"listing", listing, METH_VARARGS,
     "listing(raw, records, commands, since_ns, until_ns, gaps, reasons, width) -> (str, int) | None\n\n"
     "show -n's rows of one decompressed block body, or None when the block must be\n"
     "rendered the general way (formats/_blockwalk.c)."},
    {"fingerprints", fingerprints, METH_VARARGS,
     "fingerprints(raw, records, is_raw, since_ns, until_ns, base) -> tuple | None\n\n"
     "diff's first pass over one decompressed block body, or None when the block must be\n"
     "read the general way (formats/_blockwalk.c)."},
    {"columns", columns, METH_VARARGS,
     "columns(raw, records, commands, since_ns, until_ns, gaps, inventory) -> tuple | None\n\n"
     "export's columns of one decompressed block body, or None when the block must be\n"
     "read the general way (formats/_blockwalk.c)."},
    {"processes", processes, METH_O,
     "processes(raw) -> list[(pid, network bytes)]\n\n"
     "The process definitions of one decompressed block body (formats/_blockwalk.c)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_blockwalk", "C walkers over a block body (formats/_blockwalk.c).", -1, methods,
    NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__blockwalk(void) { return PyModule_Create(&module); }
