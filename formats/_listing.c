/* show's listing (`p2pcap show -n`) of one block body, rendered in C.
 *
 * The listing of a big capture is bound by building a Message per record
 * and formatting its row in Python (~2 us a row); this walks the
 * decompressed body once and writes the rows straight into one buffer.
 * It is an accelerator, not a second reader: formats/block.py
 * (decode_block) and p2pcap/cli/render.py (Renderer) stay the reference.
 * Anything this walker is not sure of -- a malformed record, a record
 * count that does not match, a name or reason it would have to decode --
 * makes it return None, and the caller renders the block the general way,
 * which names the damage if there is any.  The record layout is
 * docs/FORMAT.md's "Records"; tests/analysis/test_fast_output.py compares
 * the two paths on generated, damaged and cut captures.
 *
 *   listing(raw, records, commands, since_ns, until_ns, gaps, reasons) -> (str, int) | None
 *
 * raw: the body (bytes-like); records: the count in the block header;
 * commands: None or a set of command names to keep; since_ns/until_ns:
 * None or inclusive bounds; gaps: keep gap rows; reasons: {reason: name}.
 * The rows are joined by "\n" with none after the last ("" for none); the
 * int is how many of them are messages.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>
#include <string.h>
#include <time.h>

#define KIND_MESSAGE 0x01
#define KIND_PEER 0x02
#define KIND_COMMAND 0x03
#define KIND_GAP 0x04
#define MESSAGE_LEN 28 /* <BIQHHBHII */
#define PEER_LEN 22    /* <BIHIqHB, then addr and conn_type */
#define COMMAND_LEN 8  /* <BIHB, then the name */
#define GAP_LEN 35     /* <BIQIHQQ */
#define WIDTH 80       /* render.WIDTH: a row is cut to 80 columns */
#define MAX_ROW 512    /* a row before it is cut: 80 columns, a command of at most 255 bytes */

static uint16_t u16(const unsigned char *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t u32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t u64(const unsigned char *p) { return (uint64_t)u32(p) | (uint64_t)u32(p + 4) << 32; }

typedef struct {
    char *data;
    size_t len, cap;
} Text;

static int text_room(Text *t, size_t n) {
    if (t->len + n <= t->cap) return 0;
    size_t cap = t->cap ? t->cap : 1 << 16;
    while (cap < t->len + n) cap *= 2;
    char *grown = PyMem_Realloc(t->data, cap);
    if (grown == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    t->data = grown;
    t->cap = cap;
    return 0;
}

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
static int ascii(const unsigned char *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (p[i] >= 0x80 || p[i] == 0) return 0; /* and no NUL, which would end a C string */
    return 1;
}

typedef struct {
    int64_t peer_id;
} Peer;

typedef struct {
    const unsigned char *name;
    unsigned len;
    int wanted;
} Command;

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

static PyObject *listing(PyObject *self, PyObject *args) {
    (void)self;
    Py_buffer view;
    Py_ssize_t records;
    PyObject *commands, *since_obj, *until_obj, *reasons;
    int gaps;
    if (!PyArg_ParseTuple(args, "y*nOOOpO!", &view, &records, &commands, &since_obj, &until_obj, &gaps,
                          &PyDict_Type, &reasons))
        return NULL;
    if (commands != Py_None && !PyAnySet_Check(commands)) {
        PyBuffer_Release(&view);
        PyErr_SetString(PyExc_TypeError, "commands must be a set or None");
        return NULL;
    }
    uint64_t lo = 0, hi = UINT64_MAX;
    int has_lo, has_hi, nothing = 0;
    if (bound(since_obj, &lo, &has_lo, 1, &nothing) < 0 || bound(until_obj, &hi, &has_hi, 0, &nothing) < 0) {
        PyBuffer_Release(&view);
        return NULL;
    }
    if (!has_lo) lo = 0;
    if (!has_hi) hi = UINT64_MAX;

    const unsigned char *raw = view.buf;
    size_t n = (size_t)view.len, pos = 0;
    Py_ssize_t seen = 0, shown = 0;
    Peer *peers = NULL;
    Command *names = NULL;
    size_t npeers = 0, nnames = 0, peers_cap = 0, names_cap = 0;
    Text out = {NULL, 0, 0};
    Clock clock = {0, 0, {0}};
    int doubt = 0, failed = 0;
    char row[MAX_ROW];

    while (pos < n && !doubt && !failed) {
        unsigned kind = raw[pos];
        if (n - pos < 5) {
            doubt = 1;
            break;
        }
        size_t size = u32(raw + pos + 1);
        if (size > n - pos - 5) {
            doubt = 1;
            break;
        }
        size_t end = pos + 5 + size;
        if (kind == KIND_MESSAGE) {
            if (end - pos < MESSAGE_LEN) {
                doubt = 1;
                break;
            }
            const unsigned char *r = raw + pos;
            uint64_t ts = u64(r + 5);
            unsigned pref = u16(r + 13), cref = u16(r + 15), d = r[17];
            uint32_t msg_size = u32(r + 20), clen = u32(r + 24);
            if (size < 23 + (size_t)clen || cref >= nnames || pref >= npeers || d > 1) {
                doubt = 1;
                break;
            }
            seen++;
            pos = end;
            if (!names[cref].wanted || nothing || ts < lo || ts > hi) continue;
            int len = clock_text(&clock, ts, row);
            if (len < 0) {
                doubt = 1;
                break;
            }
            char size_text[24];
            if (clen < msg_size)
                snprintf(size_text, sizeof size_text, "%u/%u", (unsigned)clen, (unsigned)msg_size);
            else
                snprintf(size_text, sizeof size_text, "%u", (unsigned)msg_size);
            len += snprintf(row + len, sizeof row - len, " %-3s %5lld %-12.*s %8s", d ? "out" : "in",
                            (long long)peers[pref].peer_id, (int)names[cref].len,
                            (const char *)names[cref].name, size_text);
            if (len >= (int)sizeof row) {
                doubt = 1;
                break;
            }
            if (len > WIDTH) { /* render.fit: 79 columns and an ellipsis */
                memcpy(row + WIDTH - 1, "\xe2\x80\xa6", 3);
                len = WIDTH + 2;
            }
            if (text_room(&out, (size_t)len + 1) < 0) {
                failed = 1;
                break;
            }
            if (out.len) out.data[out.len++] = '\n';
            memcpy(out.data + out.len, row, (size_t)len);
            out.len += (size_t)len;
            shown++;
        } else if (kind == KIND_COMMAND) {
            if (end - pos < COMMAND_LEN) {
                doubt = 1;
                break;
            }
            unsigned ref = u16(raw + pos + 5), length = raw[pos + 7];
            if (ref != nnames || size < 3 + (size_t)length || !ascii(raw + pos + 8, length)) {
                doubt = 1;
                break;
            }
            if (nnames == names_cap) {
                names_cap = names_cap ? 2 * names_cap : 64;
                Command *grown = PyMem_Realloc(names, names_cap * sizeof *names);
                if (grown == NULL) {
                    PyErr_NoMemory();
                    failed = 1;
                    break;
                }
                names = grown;
            }
            int wanted = 1;
            if (commands != Py_None) {
                PyObject *name = PyUnicode_DecodeASCII((const char *)raw + pos + 8, length, NULL);
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
            names[nnames].name = raw + pos + 8;
            names[nnames].len = length;
            names[nnames].wanted = wanted;
            nnames++;
            pos = end;
        } else if (kind == KIND_PEER) {
            if (end - pos < PEER_LEN) {
                doubt = 1;
                break;
            }
            unsigned ref = u16(raw + pos + 5), alen = u16(raw + pos + 19), tlen = raw[pos + 21];
            if (ref != npeers || size < 17 + (size_t)alen + tlen) {
                doubt = 1;
                break;
            }
            if (npeers == peers_cap) {
                peers_cap = peers_cap ? 2 * peers_cap : 64;
                Peer *grown = PyMem_Realloc(peers, peers_cap * sizeof *peers);
                if (grown == NULL) {
                    PyErr_NoMemory();
                    failed = 1;
                    break;
                }
                peers = grown;
            }
            peers[npeers++].peer_id = (int64_t)u64(raw + pos + 11);
            pos = end;
        } else if (kind == KIND_GAP) {
            if (end - pos < GAP_LEN) {
                doubt = 1;
                break;
            }
            const unsigned char *r = raw + pos;
            uint64_t ts = u64(r + 5), lost = u64(r + 19), lost_bytes = u64(r + 27);
            uint32_t pid = u32(r + 13);
            unsigned reason = u16(r + 17);
            seen++;
            pos = end;
            if (!gaps || nothing || ts < lo || ts > hi) continue;
            char reason_text[32];
            const char *reason_name = reason_text;
            Py_ssize_t reason_len;
            PyObject *key = PyLong_FromUnsignedLong(reason);
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
                reason_len = snprintf(reason_text, sizeof reason_text, "reason-%u", reason);
            }
            char head[24];
            if (clock_text(&clock, ts, head) < 0) {
                doubt = 1;
                break;
            }
            char pid_text[24] = "";
            if (pid) snprintf(pid_text, sizeof pid_text, ", pid %u", (unsigned)pid);
            size_t need = (size_t)reason_len + 128;
            if (text_room(&out, need) < 0) {
                failed = 1;
                break;
            }
            if (out.len) out.data[out.len++] = '\n';
            out.len += (size_t)snprintf(out.data + out.len, out.cap - out.len,
                                        "%s --- GAP: %llu messages (%llu bytes) lost, %.*s%s", head,
                                        (unsigned long long)lost, (unsigned long long)lost_bytes,
                                        (int)reason_len, reason_name, pid_text);
        } else {
            if (kind == 0) { /* decode_block refuses record kind 0 */
                doubt = 1;
                break;
            }
            pos = end; /* a kind from a newer minor version: skipped, as decode_block does */
        }
    }
    if (pos != n || seen != records) doubt = 1;
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

static PyMethodDef methods[] = {
    {"listing", listing, METH_VARARGS,
     "listing(raw, records, commands, since_ns, until_ns, gaps, reasons) -> (str, int) | None\n\n"
     "show -n's rows of one decompressed block body, or None when the block must be\n"
     "rendered the general way (formats/_listing.c)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_listing",
                                    "show's listing of a block body, in C (formats/_listing.c).", -1,
                                    methods};

PyMODINIT_FUNC PyInit__listing(void) { return PyModule_Create(&module); }
