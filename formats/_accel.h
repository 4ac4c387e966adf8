/* What the C accelerators (_blockwalk.c, _payloadjson.c) share: little-endian
 * reads and a growing text buffer.  Included by each; every function is static. */
#ifndef P2PCAP_ACCEL_H
#define P2PCAP_ACCEL_H

#include <Python.h>

#include <stddef.h>
#include <stdint.h>

static uint16_t u16(const unsigned char *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t u32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t u64(const unsigned char *p) { return (uint64_t)u32(p) | (uint64_t)u32(p + 4) << 32; }

/* A CompactSize at *pos in its one-byte or canonical 0xfd form (the only
 * ones the C paths read: decoders/fastpaths.py _count): 1 with *value and
 * *pos past it, else 0 (the caller declines: the constructs decide). */
static inline int compact(const unsigned char *p, size_t n, size_t *pos, size_t *value) {
    if (*pos >= n) return 0;
    unsigned first = p[*pos];
    if (first < 0xFD) {
        *value = first;
        *pos += 1;
        return 1;
    }
    if (first == 0xFD && *pos + 3 <= n) {
        size_t count = u16(p + *pos + 1);
        if (count < 0xFD) return 0; /* non-canonical: the construct says so */
        *value = count;
        *pos += 3;
        return 1;
    }
    return 0;
}

typedef struct {
    char *data;
    size_t len, cap;
} Text;

/* Room for n more bytes; -1 with MemoryError set when there is none. */
static int text_room(Text *t, size_t n) {
    if (t->len + n <= t->cap) return 0;
    size_t cap = t->cap ? t->cap : 1 << 12;
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

static const char HEX_DIGITS[] = "0123456789abcdef";

/* n bytes as lowercase hex, in order (bytes.hex()); the caller made the room. */
static inline void text_hex(Text *t, const unsigned char *p, size_t n) {
    char *out = t->data + t->len;
    for (size_t i = 0; i < n; i++) {
        *out++ = HEX_DIGITS[p[i] >> 4];
        *out++ = HEX_DIGITS[p[i] & 15];
    }
    t->len += 2 * n;
}

/* A 32-byte hash as Core shows it, bytes reversed (Hash256 in decoders/primitives.py). */
static inline void text_hash(Text *t, const unsigned char *p) {
    char *out = t->data + t->len;
    for (int k = 31; k >= 0; k--) {
        *out++ = HEX_DIGITS[p[k] >> 4];
        *out++ = HEX_DIGITS[p[k] & 15];
    }
    t->len += 64;
}

#endif
