/* The decoded JSON of the commonest payloads, written straight from their
 * bytes, for show --json (p2pcap/cli/render.py, MessageLines.payload_line).
 * Each writer is called as writer(*tables, payload, version) -> str | None,
 * version being the peer-session's protocol version:
 *
 *   inventory_json(names, max_size, ...)   inv, getdata, notfound
 *   tx_json(p2pkh, p2sh, words, sighashes, ...)   tx
 *   nonce_json(...)   ping, pong
 *   clsig_json(...)   clsig
 *   isdlock_json(deterministic_from, ...)   isdlock
 *   qsigshare_json(llmq_names, ...)   qsigshare
 *   qsigsesann_json(llmq_names, ...)   qsigsesann
 *   dsq_json(protx_from, ...)   dsq
 *
 * Each returns, byte for byte, what orjson writes for the dict the
 * decoders give (decoders/fastpaths.py; for a tx, transaction._fast_tx and
 * script.py), and only where those hand-written Python parsers read the
 * payload too.  For anything else -- a CompactSize not in its one-byte or
 * canonical 0xfd form, a special transaction's payload, an output that
 * might be multisig, a length that does not fit -- it returns None and the
 * caller decodes the payload the general way, which stays the reference
 * and the only one that names errors.  tests/analysis/test_fast_output.py
 * holds both to the same text.
 *
 * The tables that name things come from the Python modules that define
 * them, so there is one copy: names and llmq_names (each type's name as
 * JSON text, by number), words (script.ASM_WORDS, every opcode's asm word),
 * sighashes (script.SIGHASH_NAMES by byte, None where undefined), and the
 * protocol versions layouts changed at (decoders/versions.py).
 *
 * Dash Core's limits, which the decoders refuse a payload above, are
 * declined here (the general way then names the error): the constants
 * below repeat the decoders' (limits.Limit), and
 * tests/analysis/test_payload_json.py holds each writer to the same
 * boundary as its decoder, at the limit and one above it.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "_accel.h"

/* decoders/limits.py MAX_PROTOCOL_MESSAGE_LENGTH (src/net.h): every writer. */
#define MAX_PROTOCOL_MESSAGE_LENGTH (3u * 1024 * 1024)
/* decoders/inventory.py MAX_INV_SZ (src/net.h): inv and getdata; a longer
 * notfound, which has no such limit, is declined too and decoded. */
#define MAX_INV_SZ 50000u
/* decoders/transaction.py MAX_LEGACY_BLOCK_SIZE (src/consensus/consensus.h). */
#define MAX_LEGACY_BLOCK_SIZE 1000000u
/* decoders/signing.py (src/llmq/signing_shares.h). */
#define MAX_MSGS_SIG_SHARES 32u
#define MAX_MSGS_CNT_QSIGSESANN 100u


/* -- writing JSON text ------------------------------------------------------------------ */
/* A literal, unchecked: the caller made the room. */
#define LITERAL(t, s)                                  \
    do {                                               \
        memcpy((t)->data + (t)->len, (s), sizeof(s) - 1); \
        (t)->len += sizeof(s) - 1;                     \
    } while (0)

static int put(Text *t, const char *s, size_t n) {
    if (text_room(t, n) < 0) return -1;
    memcpy(t->data + t->len, s, n);
    t->len += n;
    return 0;
}

#define PUT_LITERAL(t, s) put((t), (s), sizeof(s) - 1)

/* Decimal digits of v, unchecked: the caller made room for 20. */
static void put_u64(Text *t, uint64_t v) {
    char digits[20];
    int k = 20;
    do {
        digits[--k] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    memcpy(t->data + t->len, digits + k, (size_t)(20 - k));
    t->len += (size_t)(20 - k);
}

static void put_i64(Text *t, int64_t v) {
    if (v < 0) {
        t->data[t->len++] = '-';
        put_u64(t, -(uint64_t)v);
    } else {
        put_u64(t, (uint64_t)v);
    }
}

/* A name from a Python table, as it is written inside a JSON string: 0, 1
 * when it is not plain ASCII the JSON can hold unescaped (decline), -1 on error. */
static int put_name(Text *t, PyObject *name) {
    if (!PyUnicode_Check(name) || !PyUnicode_IS_ASCII(name)) return 1;
    const char *s = (const char *)PyUnicode_DATA(name);
    size_t n = (size_t)PyUnicode_GET_LENGTH(name);
    for (size_t i = 0; i < n; i++)
        if (s[i] < 0x20 || s[i] == '"' || s[i] == '\\') return 1;
    return put(t, s, n);
}

/* A JSON text from a Python table (a name, or null) as it is: 0, 1 when it
 * is not ASCII (decline), -1 on error. */
static int put_json(Text *t, PyObject *text) {
    if (!PyUnicode_Check(text) || !PyUnicode_IS_ASCII(text)) return 1;
    return put(t, (const char *)PyUnicode_DATA(text), (size_t)PyUnicode_GET_LENGTH(text));
}

/* -- SHA-256 (FIPS 180-4), for txids and Base58Check ---------------------------------- */
static const uint32_t SHA_K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

#define ROR(x, k) (((x) >> (k)) | ((x) << (32 - (k))))

static void sha_block(uint32_t h[8], const unsigned char *p) {
    uint32_t w[64];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
    for (int i = 0; i < 64; i++) {
        uint32_t t1 = hh + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) + ((e & f) ^ (~e & g)) + SHA_K[i] + w[i];
        uint32_t t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        hh = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + t2;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
    h[5] += f;
    h[6] += g;
    h[7] += hh;
}

static void sha_blocks_portable(uint32_t h[8], const unsigned char *p, size_t blocks) {
    for (size_t b = 0; b < blocks; b++) sha_block(h, p + 64 * b);
}

#if defined(__x86_64__) && defined(__GNUC__)
/* The same compression with the SHA extensions (Intel SHA-NI: sha256rnds2,
 * sha256msg1/2), several times faster; used when the CPU has them.  The
 * state is kept as the instructions want it, ABEF and CDGH. */
#include <cpuid.h>
#include <immintrin.h>

__attribute__((target("sha,sse4.1"))) static void sha_blocks_ni(uint32_t h[8], const unsigned char *p,
                                                                 size_t blocks) {
    const __m128i swap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
    __m128i cdab = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)h), 0xB1);
    __m128i efgh = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)(h + 4)), 0x1B);
    __m128i abef = _mm_alignr_epi8(cdab, efgh, 8);
    __m128i cdgh = _mm_blend_epi16(efgh, cdab, 0xF0);
    for (size_t b = 0; b < blocks; b++, p += 64) {
        __m128i saved_abef = abef, saved_cdgh = cdgh, w[16];
        for (int g = 0; g < 16; g++) { /* four rounds, on schedule words 4g..4g+3 */
            if (g < 4) {
                w[g] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16 * g)), swap);
            } else {
                __m128i x = _mm_add_epi32(_mm_sha256msg1_epu32(w[g - 4], w[g - 3]),
                                          _mm_alignr_epi8(w[g - 1], w[g - 2], 4));
                w[g] = _mm_sha256msg2_epu32(x, w[g - 1]);
            }
            __m128i msg = _mm_add_epi32(w[g], _mm_loadu_si128((const __m128i *)(SHA_K + 4 * g)));
            cdgh = _mm_sha256rnds2_epu32(cdgh, abef, msg);
            abef = _mm_sha256rnds2_epu32(abef, cdgh, _mm_shuffle_epi32(msg, 0x0E));
        }
        abef = _mm_add_epi32(abef, saved_abef);
        cdgh = _mm_add_epi32(cdgh, saved_cdgh);
    }
    __m128i feba = _mm_shuffle_epi32(abef, 0x1B);
    __m128i dchg = _mm_shuffle_epi32(cdgh, 0xB1);
    _mm_storeu_si128((__m128i *)h, _mm_blend_epi16(feba, dchg, 0xF0));
    _mm_storeu_si128((__m128i *)(h + 4), _mm_alignr_epi8(dchg, feba, 8));
}

static int cpu_has_sha(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_SSE4_1) || !(c & bit_SSSE3)) return 0;
    if (__get_cpuid_max(0, NULL) < 7) return 0;
    __cpuid_count(7, 0, a, b, c, d);
    return (b >> 29) & 1; /* CPUID.(EAX=7,ECX=0):EBX.SHA */
}
#else
#define sha_blocks_ni sha_blocks_portable
static int cpu_has_sha(void) { return 0; }
#endif

/* sha_blocks_ni or sha_blocks_portable, chosen when the module loads. */
static void (*sha_blocks)(uint32_t h[8], const unsigned char *p, size_t blocks) = sha_blocks_portable;

static void sha256_with(void (*blocks_of)(uint32_t *, const unsigned char *, size_t), const unsigned char *p,
                        size_t n, unsigned char out[32]) {
    uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                     0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    size_t whole = n / 64, rest = n % 64, blocks = rest + 9 <= 64 ? 1 : 2;
    blocks_of(h, p, whole);
    unsigned char tail[128];
    memcpy(tail, p + 64 * whole, rest);
    tail[rest] = 0x80;
    memset(tail + rest + 1, 0, 64 * blocks - rest - 1);
    uint64_t bits = (uint64_t)n * 8;
    for (int k = 0; k < 8; k++) tail[64 * blocks - 1 - k] = (unsigned char)(bits >> (8 * k));
    blocks_of(h, tail, blocks);
    for (int k = 0; k < 8; k++) {
        out[4 * k] = (unsigned char)(h[k] >> 24);
        out[4 * k + 1] = (unsigned char)(h[k] >> 16);
        out[4 * k + 2] = (unsigned char)(h[k] >> 8);
        out[4 * k + 3] = (unsigned char)h[k];
    }
}

/* SHA256d, Core's Hash(): a txid, an address checksum. */
static void sha256d_with(void (*blocks_of)(uint32_t *, const unsigned char *, size_t), const unsigned char *p,
                         size_t n, unsigned char out[32]) {
    unsigned char once[32];
    sha256_with(blocks_of, p, n, once);
    sha256_with(blocks_of, once, 32, out);
}

static void sha256d(const unsigned char *p, size_t n, unsigned char out[32]) { sha256d_with(sha_blocks, p, n, out); }

/* sha256d(data, portable=False) -> bytes: for the tests, which hold both
 * compressions to hashlib's. */
static PyObject *sha256d_of(PyObject *self, PyObject *args, PyObject *kwargs) {
    (void)self;
    static char *keywords[] = {"data", "portable", NULL};
    Py_buffer view;
    int portable = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "y*|p", keywords, &view, &portable)) return NULL;
    unsigned char twice[32];
    sha256d_with(portable ? sha_blocks_portable : sha_blocks, view.buf, (size_t)view.len, twice);
    PyBuffer_Release(&view);
    return PyBytes_FromStringAndSize((const char *)twice, 32);
}

/* -- an inventory ---------------------------------------------------------------------- */
/* fastpaths.inventory's conditions: a one-byte or canonical 0xfd count of
 * at most MAX_INV_SZ, the exact length, at most max_size bytes of entries.
 * A type past the end of names has no name: null.  0 with the JSON in *t,
 * 1 to decline. */
static int inventory_text(Text *t, const unsigned char *p, size_t n, PyObject *names, size_t max_size) {
    size_t count, start = 0;
    if (!compact(p, n, &start, &count) || count > MAX_INV_SZ || n != start + 36 * count || 36 * count > max_size)
        return 1;
    Py_ssize_t nnames = PyTuple_GET_SIZE(names);
    if (text_room(t, 16) < 0) return -1;
    LITERAL(t, "{\"inv\":[");
    for (size_t i = 0; i < count; i++) {
        const unsigned char *entry = p + start + 36 * i;
        uint32_t type = u32(entry);
        if (text_room(t, 192) < 0) return -1;
        if (i) t->data[t->len++] = ',';
        LITERAL(t, "{\"type\":");
        put_u64(t, type);
        LITERAL(t, ",\"type_name\":");
        if ((Py_ssize_t)type < nnames) {
            int status = put_json(t, PyTuple_GET_ITEM(names, type));
            if (status) return status;
        } else {
            LITERAL(t, "null");
        }
        if (text_room(t, 80) < 0) return -1;
        LITERAL(t, ",\"hash\":\"");
        text_hash(t, entry + 4);
        LITERAL(t, "\"}");
    }
    if (text_room(t, 2) < 0) return -1;
    LITERAL(t, "]}");
    return 0;
}

/* -- fixed layouts (decoders/fastpaths.py) ---------------------------------------------- */
/* ,"hash":"..."} -- SHA256d of the whole payload, as Core shows it
 * (primitives.Identified) -- and the end of the object. */
static int hash_tail(Text *t, const unsigned char *p, size_t n) {
    unsigned char digest[32];
    if (text_room(t, 80) < 0) return -1;
    sha256d(p, n, digest);
    LITERAL(t, ",\"hash\":\"");
    text_hash(t, digest);
    LITERAL(t, "\"}");
    return 0;
}

/* fastpaths.nonce: ping, pong. */
static int nonce_text(Text *t, const unsigned char *p, size_t n) {
    if (n != 8) return 1;
    if (text_room(t, 40) < 0) return -1;
    LITERAL(t, "{\"nonce\":");
    put_u64(t, u64(p));
    t->data[t->len++] = '}';
    return 0;
}

/* fastpaths.clsig: ChainLockSig, 132 bytes. */
static int clsig_text(Text *t, const unsigned char *p, size_t n) {
    if (n != 132) return 1;
    if (text_room(t, 320) < 0) return -1;
    LITERAL(t, "{\"height\":");
    put_i64(t, (int32_t)u32(p));
    LITERAL(t, ",\"block_hash\":\"");
    text_hash(t, p + 4);
    LITERAL(t, "\",\"sig\":\"");
    text_hex(t, p + 36, 96);
    t->data[t->len++] = '"';
    return hash_tail(t, p, n);
}

/* fastpaths.isdlock: from ISDLOCK_PROTO_VERSION (deterministic) a version
 * byte first and a cycleHash after the txid; before, neither (null). */
static int isdlock_text(Text *t, const unsigned char *p, size_t n, int deterministic) {
    size_t pos = deterministic ? 1 : 0, count;
    if (!compact(p, n, &pos, &count)) return 1; /* (pos 1 needs a first byte: compact checks) */
    size_t tail = deterministic ? 160 : 128;    /* txid, cycleHash, sig; or txid, sig */
    if (n != pos + 36 * count + tail) return 1;
    if (text_room(t, 48 + 96 * count + 400) < 0) return -1;
    LITERAL(t, "{\"version\":");
    if (deterministic)
        put_u64(t, p[0]);
    else
        LITERAL(t, "null");
    LITERAL(t, ",\"inputs\":[");
    for (size_t i = 0; i < count; i++) {
        const unsigned char *input = p + pos + 36 * i;
        if (i) t->data[t->len++] = ',';
        LITERAL(t, "{\"hash\":\"");
        text_hash(t, input);
        LITERAL(t, "\",\"n\":");
        put_u64(t, u32(input + 32));
        t->data[t->len++] = '}';
    }
    const unsigned char *rest = p + pos + 36 * count;
    LITERAL(t, "],\"txid\":\"");
    text_hash(t, rest);
    LITERAL(t, "\",\"cycle_hash\":");
    if (deterministic) {
        t->data[t->len++] = '"';
        text_hash(t, rest + 32);
        t->data[t->len++] = '"';
    } else {
        LITERAL(t, "null");
    }
    LITERAL(t, ",\"sig\":\"");
    text_hex(t, rest + tail - 96, 96);
    t->data[t->len++] = '"';
    return hash_tail(t, p, n);
}

/* fastpaths.qsigshare: at most MAX_MSGS_SIG_SHARES CSigShares of 195 bytes
 * (<B32sH32s32s96s). */
static int qsigshare_text(Text *t, const unsigned char *p, size_t n, PyObject *llmq_names) {
    size_t pos = 0, count;
    int status;
    if (!compact(p, n, &pos, &count) || count > MAX_MSGS_SIG_SHARES || n != pos + 195 * count) return 1;
    if (text_room(t, 24) < 0) return -1;
    LITERAL(t, "{\"sig_shares\":[");
    for (size_t i = 0; i < count; i++) {
        const unsigned char *share = p + pos + 195 * i;
        if (text_room(t, 48) < 0) return -1;
        if (i) t->data[t->len++] = ',';
        LITERAL(t, "{\"llmq_type\":");
        put_u64(t, share[0]);
        LITERAL(t, ",\"llmq_type_name\":");
        if ((status = put_json(t, PyTuple_GET_ITEM(llmq_names, share[0]))) != 0) return status;
        if (text_room(t, 480) < 0) return -1;
        LITERAL(t, ",\"quorum_hash\":\"");
        text_hash(t, share + 1);
        LITERAL(t, "\",\"quorum_member\":");
        put_u64(t, u16(share + 33));
        LITERAL(t, ",\"id\":\"");
        text_hash(t, share + 35);
        LITERAL(t, "\",\"msg_hash\":\"");
        text_hash(t, share + 67);
        LITERAL(t, "\",\"sig_share\":\"");
        text_hex(t, share + 99, 96);
        LITERAL(t, "\"}");
    }
    if (text_room(t, 2) < 0) return -1;
    LITERAL(t, "]}");
    return 0;
}

/* fastpaths.qsigsesann: at most MAX_MSGS_CNT_QSIGSESANN CSigSesAnns, each a
 * VarInt session id (serialize.h ReadVarInt, u32 at most) and 97 bytes. */
static int qsigsesann_text(Text *t, const unsigned char *p, size_t n, PyObject *llmq_names) {
    size_t pos = 0, count;
    int status;
    if (!compact(p, n, &pos, &count) || count > MAX_MSGS_CNT_QSIGSESANN) return 1;
    if (text_room(t, 16) < 0) return -1;
    LITERAL(t, "{\"anns\":[");
    for (size_t i = 0; i < count; i++) {
        uint64_t session = 0;
        for (;;) {
            if (pos >= n) return 1;
            unsigned b = p[pos++];
            session = session << 7 | (b & 0x7F);
            if (session > 0xFFFFFFFFu) return 1;
            if (!(b & 0x80)) break;
            session += 1;
        }
        if (pos + 97 > n) return 1;
        const unsigned char *ann = p + pos;
        pos += 97;
        if (text_room(t, 64) < 0) return -1;
        if (i) t->data[t->len++] = ',';
        LITERAL(t, "{\"session_id\":");
        put_u64(t, session);
        LITERAL(t, ",\"llmq_type\":");
        put_u64(t, ann[0]);
        LITERAL(t, ",\"llmq_type_name\":");
        if ((status = put_json(t, PyTuple_GET_ITEM(llmq_names, ann[0]))) != 0) return status;
        if (text_room(t, 256) < 0) return -1;
        LITERAL(t, ",\"quorum_hash\":\"");
        text_hash(t, ann + 1);
        LITERAL(t, "\",\"id\":\"");
        text_hash(t, ann + 33);
        LITERAL(t, "\",\"msg_hash\":\"");
        text_hash(t, ann + 65);
        LITERAL(t, "\"}");
    }
    if (pos != n) return 1;
    if (text_room(t, 2) < 0) return -1;
    LITERAL(t, "]}");
    return 0;
}

/* fastpaths.dsq: CCoinJoinQueue; from COINJOIN_PROTX_HASH_PROTO_VERSION
 * (by_protx) the masternode's proTxHash, before its collateral outpoint.
 * vchSig's length is one byte and nothing follows it. */
static int dsq_text(Text *t, const unsigned char *p, size_t n, int by_protx) {
    size_t start = by_protx ? 46 : 50; /* <i32sqBB, <i32sIqBB */
    if (n < start) return 1;
    size_t size = p[start - 1];
    if (size >= 0xFD || n != start + size) return 1;
    if (text_room(t, 320 + 2 * size) < 0) return -1;
    LITERAL(t, "{\"denom\":");
    put_i64(t, (int32_t)u32(p));
    if (by_protx) {
        LITERAL(t, ",\"protx_hash\":\"");
        text_hash(t, p + 4);
        LITERAL(t, "\",\"masternode_outpoint\":null");
    } else {
        LITERAL(t, ",\"protx_hash\":null,\"masternode_outpoint\":{\"hash\":\"");
        text_hash(t, p + 4);
        LITERAL(t, "\",\"n\":");
        put_u64(t, u32(p + 36));
        t->data[t->len++] = '}';
    }
    LITERAL(t, ",\"time\":");
    put_i64(t, (int64_t)u64(p + start - 10));
    LITERAL(t, ",\"ready\":");
    put_u64(t, p[start - 2]);
    LITERAL(t, ",\"sig\":\"");
    text_hex(t, p + start, size);
    t->data[t->len++] = '"';
    return hash_tail(t, p, n);
}

/* -- scripts (decoders/script.py) -------------------------------------------------------- */
/* script.py _is_strict_der: interpreter.cpp IsValidSignatureEncoding (BIP66). */
static int strict_der(const unsigned char *sig, size_t n) {
    if (n < 9 || n > 73 || sig[0] != 0x30 || sig[1] != n - 3) return 0;
    size_t len_r = sig[3];
    if (5 + len_r >= n) return 0;
    size_t len_s = sig[5 + len_r];
    if (len_r + len_s + 7 != n || sig[2] != 0x02 || len_r == 0 || sig[4] & 0x80) return 0;
    if (len_r > 1 && sig[4] == 0 && !(sig[5] & 0x80)) return 0;
    if (sig[len_r + 4] != 0x02 || len_s == 0 || sig[len_r + 6] & 0x80) return 0;
    return !(len_s > 1 && sig[len_r + 6] == 0 && !(sig[len_r + 7] & 0x80));
}

/* script.py _script_num: CScriptNum of at most 4 bytes, sign in the top bit. */
static int64_t script_num(const unsigned char *p, size_t n) {
    if (!n) return 0;
    uint64_t value = 0;
    for (size_t i = 0; i < n; i++) value |= (uint64_t)p[i] << (8 * i);
    if (p[n - 1] & 0x80) return -(int64_t)(value & ~((uint64_t)0x80 << (8 * (n - 1))));
    return (int64_t)value;
}

/* The size of the push at *pc (after its opcode op <= OP_PUSHDATA4), *pc
 * moved past the size bytes: 1, or 0 when the push runs past the end. */
static int push_size(const unsigned char *s, size_t end, unsigned op, size_t *pc, size_t *size) {
    if (op < 0x4C) {
        *size = op;
    } else {
        size_t width = op == 0x4C ? 1 : op == 0x4D ? 2 : 4;
        if (width > end - *pc) return 0;
        *size = width == 1 ? s[*pc] : width == 2 ? u16(s + *pc) : u32(s + *pc);
        *pc += width;
    }
    return *size <= end - *pc;
}

/* script.py asm_of (core_write.cpp ScriptToAsmStr): 0, 1 to decline, -1 on error. */
static int asm_text(Text *t, const unsigned char *s, size_t end, int sighash_decode, PyObject *words,
                    PyObject *sighashes) {
    int decode_sigs = sighash_decode && end <= 10000 && !(end && s[0] == 0x6A);
    size_t pc = 0;
    int status;
    while (pc < end) {
        if (pc && PUT_LITERAL(t, " ") < 0) return -1;
        unsigned op = s[pc++];
        if (op > 0x4E) {
            if ((status = put_name(t, PyTuple_GET_ITEM(words, op))) != 0) return status;
            continue;
        }
        size_t size;
        if (!push_size(s, end, op, &pc, &size)) return PUT_LITERAL(t, "[error]");
        const unsigned char *data = s + pc;
        pc += size;
        if (size > 4) {
            PyObject *name = decode_sigs ? PyTuple_GET_ITEM(sighashes, data[size - 1]) : Py_None;
            if (name != Py_None && strict_der(data, size)) {
                /* CheckSignatureEncoding(STRICTENC): the hash type by name */
                if (text_room(t, 2 * size) < 0) return -1;
                text_hex(t, data, size - 1);
                if (PUT_LITERAL(t, "[") < 0) return -1;
                if ((status = put_name(t, name)) != 0) return status;
                if (PUT_LITERAL(t, "]") < 0) return -1;
            } else {
                if (text_room(t, 2 * size) < 0) return -1;
                text_hex(t, data, size);
            }
        } else {
            if (text_room(t, 24) < 0) return -1;
            put_i64(t, script_num(data, size));
        }
    }
    return 0;
}

/* script.py _valid_pubkey_size: pubkey.h CPubKey::ValidSize. */
static int valid_pubkey(const unsigned char *p, size_t n) {
    size_t want = (p[0] == 2 || p[0] == 3) ? 33 : (p[0] == 4 || p[0] == 6 || p[0] == 7) ? 65 : 0;
    return n == want;
}

/* After OP_RETURN, only pushes and OP_1NEGATE..OP_16, none broken (script.py output_type). */
static int small_ops_only(const unsigned char *s, size_t end) {
    size_t pc = 0, size;
    while (pc < end) {
        unsigned op = s[pc++];
        if (op > 0x4E) {
            if (op > 0x60) return 0;
            continue;
        }
        if (!push_size(s, end, op, &pc, &size)) return 0;
        pc += size;
    }
    return 1;
}

/* script.py output_type (standard.cpp Solver): the type, and in *hash_at
 * where the hash an address is made of starts (0: none) and in *p2sh
 * whether it is a script hash; NULL to decline (a script that may be a
 * multisig, which the Python judges). */
static const char *output_type(const unsigned char *s, size_t n, size_t *hash_at, int *p2sh) {
    *hash_at = 0;
    *p2sh = 0;
    if (n == 23 && s[0] == 0xA9 && s[1] == 0x14 && s[22] == 0x87) {
        *hash_at = 2;
        *p2sh = 1;
        return "scripthash";
    }
    if (n >= 1 && s[0] == 0x6A) /* not a key, a key hash nor a multisig after that */
        return small_ops_only(s + 1, n - 1) ? "nulldata" : "nonstandard";
    if (((n == 35 && s[0] == 33) || (n == 67 && s[0] == 65)) && s[n - 1] == 0xAC && valid_pubkey(s + 1, n - 2))
        return "pubkey";
    if (n == 25 && s[0] == 0x76 && s[1] == 0xA9 && s[2] == 0x14 && s[23] == 0x88 && s[24] == 0xAC) {
        *hash_at = 3;
        return "pubkeyhash";
    }
    if (n >= 3 && s[n - 1] == 0xAE) return NULL;
    return "nonstandard";
}

/* base58.py b58check_encode of a version byte and a 20-byte hash
 * (src/base58.cpp EncodeBase58): the number is divided out in limbs of
 * 58**5 and fed 32 bits at a time, so an address takes some thirty
 * divisions instead of Core's digit-by-digit hundreds.  The caller made
 * room for 34 characters, the most 25 bytes take. */
#define LIMB 656356768u /* 58**5 */
static void address(Text *t, unsigned prefix, const unsigned char *hash) {
    static const char alphabet[] = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
    unsigned char data[25], check[32];
    uint32_t limbs[8]; /* 58**40 > 2**200: little end first */
    data[0] = (unsigned char)prefix;
    memcpy(data + 1, hash, 20);
    sha256d(data, 21, check);
    memcpy(data + 21, check, 4);
    size_t zeros = 0, nlimbs = 0;
    while (zeros < 25 && data[zeros] == 0) zeros++;
    for (size_t i = zeros; i < 25;) {
        size_t take = (25 - i) % 4 ? (25 - i) % 4 : 4; /* so that the last group ends the data */
        uint64_t carry = 0;
        for (size_t k = 0; k < take; k++) carry = carry << 8 | data[i + k];
        i += take;
        for (size_t j = 0; j < nlimbs; j++) {
            carry += (uint64_t)limbs[j] << (8 * take); /* < 58**5 * 2**32 < 2**62 */
            limbs[j] = (uint32_t)(carry % LIMB);
            carry /= LIMB;
        }
        while (carry) {
            limbs[nlimbs++] = (uint32_t)(carry % LIMB);
            carry /= LIMB;
        }
    }
    char *out = t->data + t->len;
    for (size_t i = 0; i < zeros; i++) *out++ = '1';
    for (size_t j = nlimbs; j-- > 0;) {
        char digits[5];
        uint32_t limb = limbs[j];
        for (int k = 4; k >= 0; k--) {
            digits[k] = alphabet[limb % 58];
            limb /= 58;
        }
        int first = 0;
        if (j == nlimbs - 1) /* the top limb without its leading zero digits */
            while (first < 4 && digits[first] == '1') first++;
        for (int k = first; k < 5; k++) *out++ = digits[k];
    }
    t->len = (size_t)(out - t->data);
}

/* -- a transaction ----------------------------------------------------------------------- */
#define COIN 100000000u

/* script.dash_amount (core_io ValueFromAmount): DASH with eight decimals. */
static void put_dash(Text *t, int64_t duffs) {
    uint64_t magnitude = duffs < 0 ? -(uint64_t)duffs : (uint64_t)duffs;
    if (duffs < 0) t->data[t->len++] = '-';
    put_u64(t, magnitude / COIN);
    t->data[t->len++] = '.';
    uint32_t frac = (uint32_t)(magnitude % COIN);
    for (int k = 7; k >= 0; k--) {
        t->data[t->len + (size_t)k] = (char)('0' + frac % 10);
        frac /= 10;
    }
    t->len += 8;
}

/* The JSON of transaction._fast_tx's dict for a whole normal transaction:
 * 0 with it in *t, 1 to decline, -1 on error.  Each part reserves its
 * room first (text_room) and is then written unchecked. */
static int tx_text(Text *t, const unsigned char *p, size_t n, unsigned p2pkh, unsigned p2sh, PyObject *words,
                   PyObject *sighashes) {
    if (n < 5 || n > MAX_LEGACY_BLOCK_SIZE) return 1;
    int version = (int16_t)u16(p);
    unsigned type = u16(p + 2);
    if (version >= 3 && type != 0) return 1; /* a special transaction's payload: the Python reads it */
    size_t pos = 4, count, size;
    int status;
    if (text_room(t, 64) < 0) return -1;
    LITERAL(t, "{\"version\":");
    put_i64(t, version);
    LITERAL(t, ",\"type\":");
    put_u64(t, type);
    LITERAL(t, ",\"vin\":[");
    if (!compact(p, n, &pos, &count)) return 1;
    for (size_t i = 0; i < count; i++) {
        if (pos + 36 > n) return 1;
        const unsigned char *prevout = p + pos;
        pos += 36;
        if (!compact(p, n, &pos, &size) || size > n - pos || n - pos - size < 4) return 1;
        const unsigned char *script = p + pos;
        pos += size;
        uint32_t index = u32(prevout + 32);
        if (text_room(t, 192 + 2 * size) < 0) return -1;
        if (i) t->data[t->len++] = ',';
        LITERAL(t, "{\"prevout\":{\"hash\":\"");
        text_hash(t, prevout);
        LITERAL(t, "\",\"n\":");
        put_u64(t, index);
        LITERAL(t, "},\"script_sig\":\"");
        text_hex(t, script, size);
        int coinbase = index == 0xFFFFFFFFu;
        for (int k = 0; coinbase && k < 32; k++) coinbase = prevout[k] == 0;
        if (coinbase) { /* COutPoint::IsNull: no asm, as in txparts.TxIn */
            LITERAL(t, "\",\"script_sig_asm\":null");
        } else {
            LITERAL(t, "\",\"script_sig_asm\":\"");
            if ((status = asm_text(t, script, size, 1, words, sighashes)) != 0) return status;
            if (text_room(t, 1) < 0) return -1;
            t->data[t->len++] = '"';
        }
        if (text_room(t, 32) < 0) return -1;
        LITERAL(t, ",\"sequence\":");
        put_u64(t, u32(p + pos));
        t->data[t->len++] = '}';
        pos += 4;
    }
    if (text_room(t, 16) < 0) return -1;
    LITERAL(t, "],\"vout\":[");
    if (!compact(p, n, &pos, &count)) return 1;
    for (size_t i = 0; i < count; i++) {
        if (pos + 8 > n) return 1;
        int64_t value = (int64_t)u64(p + pos);
        pos += 8;
        if (!compact(p, n, &pos, &size) || size > n - pos) return 1;
        const unsigned char *script = p + pos;
        pos += size;
        size_t hash_at;
        int p2sh_hash;
        const char *kind = output_type(script, size, &hash_at, &p2sh_hash);
        if (kind == NULL) return 1;
        if (text_room(t, 128 + 2 * size) < 0) return -1;
        if (i) t->data[t->len++] = ',';
        LITERAL(t, "{\"value\":");
        put_i64(t, value);
        LITERAL(t, ",\"value_dash\":\"");
        put_dash(t, value);
        LITERAL(t, "\",\"script_pub_key\":\"");
        text_hex(t, script, size);
        LITERAL(t, "\",\"script_pub_key_asm\":\"");
        if ((status = asm_text(t, script, size, 0, words, sighashes)) != 0) return status;
        if (text_room(t, 128) < 0) return -1; /* the type, then an address of at most 34 characters */
        LITERAL(t, "\",\"script_pub_key_type\":\"");
        size_t kind_len = strlen(kind);
        memcpy(t->data + t->len, kind, kind_len);
        t->len += kind_len;
        LITERAL(t, "\",\"address\":");
        if (hash_at) {
            t->data[t->len++] = '"';
            address(t, p2sh_hash ? p2sh : p2pkh, script + hash_at);
            t->data[t->len++] = '"';
        } else {
            LITERAL(t, "null");
        }
        t->data[t->len++] = '}';
    }
    if (pos + 4 != n) return 1; /* a lock time, then nothing: fastpaths.transaction */
    if (text_room(t, 200) < 0) return -1;
    LITERAL(t, "],\"lock_time\":");
    put_u64(t, u32(p + pos));
    LITERAL(t, ",\"extra_payload_raw\":null,\"extra_payload\":null,\"extra_payload_error\":null,\"txid\":\"");
    unsigned char txid[32];
    sha256d(p, n, txid);
    text_hash(t, txid);
    t->data[t->len++] = '"';
    t->data[t->len++] = '}';
    return 0;
}

/* -- the writers, as Python calls them ------------------------------------------------- */
/* One call: its payload, the peer-session's version, and the text being written. */
typedef struct {
    Py_buffer view;
    const unsigned char *p;
    size_t n;
    long long version;
    Text out;
} Call;

/* The last two arguments, payload and version, after ntables tables: 0, or
 * -1 with an exception set.  A version past long long's range saturates
 * (only comparisons with the versions layouts changed at are made). */
static int begin(Call *c, const char *name, PyObject *const *args, Py_ssize_t nargs, Py_ssize_t ntables) {
    if (nargs != ntables + 2) {
        PyErr_Format(PyExc_TypeError, "%s takes %zd arguments (%zd given)", name, ntables + 2, nargs);
        return -1;
    }
    PyObject *version = args[nargs - 1];
    if (!PyLong_Check(version)) {
        PyErr_Format(PyExc_TypeError, "%s: the version is an int", name);
        return -1;
    }
    int overflow;
    c->version = PyLong_AsLongLongAndOverflow(version, &overflow);
    if (overflow) c->version = overflow > 0 ? LLONG_MAX : LLONG_MIN;
    if (PyObject_GetBuffer(args[nargs - 2], &c->view, PyBUF_SIMPLE) < 0) return -1;
    c->p = c->view.buf;
    c->n = (size_t)c->view.len;
    c->out = (Text){NULL, 0, 0};
    return 0;
}

/* Whether the payload is longer than any Dash message: every writer declines
 * it (decoders/decode.py check_length refuses it). */
static int too_long(const Call *c) { return c->n > MAX_PROTOCOL_MESSAGE_LENGTH; }

/* The writer's answer: its text (status 0), None (1: the general way), or
 * the exception (-1). */
static PyObject *end(Call *c, int status) {
    PyObject *result = NULL;
    if (status == 0)
        result = PyUnicode_DecodeASCII(c->out.data, (Py_ssize_t)c->out.len, NULL);
    else if (status == 1)
        result = Py_NewRef(Py_None);
    PyMem_Free(c->out.data);
    PyBuffer_Release(&c->view);
    return result;
}

/* A table of one entry per byte value (names by number, words by opcode). */
static int byte_table(PyObject *table, const char *name) {
    if (PyTuple_Check(table) && PyTuple_GET_SIZE(table) == 256) return 0;
    PyErr_Format(PyExc_TypeError, "%s: a table is a tuple of 256 entries", name);
    return -1;
}

/* A table that is a number: a version, a version byte (0..255 when byte). */
static int number_table(PyObject *table, const char *name, int byte, long long *value) {
    *value = PyLong_Check(table) ? PyLong_AsLongLong(table) : -1;
    if (*value == -1 && PyErr_Occurred()) return -1;
    if (!PyLong_Check(table) || (byte && (*value < 0 || *value > 255))) {
        PyErr_Format(PyExc_TypeError, "%s: expected %s", name, byte ? "a byte value" : "an int");
        return -1;
    }
    return 0;
}

static PyObject *inventory_json(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    Call c;
    long long max_size;
    if (nargs < 2 || !PyTuple_Check(args[0]) || number_table(args[1], "inventory_json", 0, &max_size) < 0) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_TypeError, "inventory_json takes names (a tuple), max_size, payload, version");
        return NULL;
    }
    if (begin(&c, "inventory_json", args, nargs, 2) < 0) return NULL;
    if (too_long(&c)) return end(&c, 1);
    return end(&c, inventory_text(&c.out, c.p, c.n, args[0], max_size < 0 ? 0 : (size_t)max_size));
}

static PyObject *tx_json(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    Call c;
    long long p2pkh, p2sh;
    if (nargs < 4 || number_table(args[0], "tx_json", 1, &p2pkh) < 0 ||
        number_table(args[1], "tx_json", 1, &p2sh) < 0 || byte_table(args[2], "tx_json") < 0 ||
        byte_table(args[3], "tx_json") < 0) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_TypeError, "tx_json takes p2pkh, p2sh, words, sighashes, payload, version");
        return NULL;
    }
    if (begin(&c, "tx_json", args, nargs, 4) < 0) return NULL;
    if (too_long(&c)) return end(&c, 1);
    return end(&c, tx_text(&c.out, c.p, c.n, (unsigned)p2pkh, (unsigned)p2sh, args[2], args[3]));
}

/* writer(payload, version), of a layout that needs no table. */
static PyObject *plain(const char *name, PyObject *const *args, Py_ssize_t nargs,
                       int (*text)(Text *, const unsigned char *, size_t)) {
    Call c;
    if (begin(&c, name, args, nargs, 0) < 0) return NULL;
    if (too_long(&c)) return end(&c, 1);
    return end(&c, text(&c.out, c.p, c.n));
}

/* writer(from_version, payload, version), of a layout that changed at
 * from_version: text gets whether the peer-session's version is past it. */
static PyObject *by_version(const char *name, PyObject *const *args, Py_ssize_t nargs,
                            int (*text)(Text *, const unsigned char *, size_t, int)) {
    Call c;
    long long from;
    if (nargs < 1 || number_table(args[0], name, 0, &from) < 0) {
        if (!PyErr_Occurred()) PyErr_Format(PyExc_TypeError, "%s takes 3 arguments", name);
        return NULL;
    }
    if (begin(&c, name, args, nargs, 1) < 0) return NULL;
    if (too_long(&c)) return end(&c, 1);
    return end(&c, text(&c.out, c.p, c.n, c.version >= from));
}

/* writer(names, payload, version), of a layout that names a byte (an LLMQ type). */
static PyObject *with_names(const char *name, PyObject *const *args, Py_ssize_t nargs,
                            int (*text)(Text *, const unsigned char *, size_t, PyObject *)) {
    Call c;
    if (nargs < 1 || byte_table(args[0], name) < 0) {
        if (!PyErr_Occurred()) PyErr_Format(PyExc_TypeError, "%s takes 3 arguments", name);
        return NULL;
    }
    if (begin(&c, name, args, nargs, 1) < 0) return NULL;
    if (too_long(&c)) return end(&c, 1);
    return end(&c, text(&c.out, c.p, c.n, args[0]));
}

static PyObject *nonce_json(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    return plain("nonce_json", args, nargs, nonce_text);
}

static PyObject *clsig_json(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    return plain("clsig_json", args, nargs, clsig_text);
}

static PyObject *isdlock_json(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    return by_version("isdlock_json", args, nargs, isdlock_text);
}

static PyObject *dsq_json(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    return by_version("dsq_json", args, nargs, dsq_text);
}

static PyObject *qsigshare_json(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    return with_names("qsigshare_json", args, nargs, qsigshare_text);
}

static PyObject *qsigsesann_json(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    return with_names("qsigsesann_json", args, nargs, qsigsesann_text);
}

#define WRITER(name, tables, what)                                                                        \
    {#name, (PyCFunction)(void (*)(void))name, METH_FASTCALL,                                             \
     #name "(" tables "payload, version) -> str | None\n\nThe decoded JSON of " what                      \
     ", or None for the general way (formats/_payloadjson.c)."}

static PyMethodDef methods[] = {
    WRITER(inventory_json, "names, max_size, ", "an inv, getdata or notfound"),
    WRITER(tx_json, "p2pkh, p2sh, words, sighashes, ", "a tx"),
    WRITER(nonce_json, "", "a ping or pong"),
    WRITER(clsig_json, "", "a clsig"),
    WRITER(isdlock_json, "deterministic_from, ", "an isdlock"),
    WRITER(qsigshare_json, "llmq_names, ", "a qsigshare"),
    WRITER(qsigsesann_json, "llmq_names, ", "a qsigsesann"),
    WRITER(dsq_json, "protx_from, ", "a dsq"),
    {"sha256d", (PyCFunction)(void (*)(void))sha256d_of, METH_VARARGS | METH_KEYWORDS,
     "sha256d(data, portable=False) -> bytes\n\n"
     "SHA256d of data, with the SHA extensions where the CPU has them unless portable."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_payloadjson", "Decoded JSON of common payloads (formats/_payloadjson.c).", -1,
    methods, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__payloadjson(void) {
    if (cpu_has_sha()) sha_blocks = sha_blocks_ni;
    return PyModule_Create(&module);
}
