/* Hashing with 64-bit bit operations: XXH64 over a 16 KiB buffer filled by splitmix64,
 * `size` times with different seeds. */
#include "common.h"

#define BUF_BYTES 16384

static const uint64_t P1 = 11400714785074694791ull, P2 = 14029467366897019727ull,
                      P3 = 1609587929392839161ull, P4 = 9650029242287828579ull,
                      P5 = 2870177450012600261ull;

static inline uint64_t read64(const uint8_t *p) {
    uint64_t v;
    __builtin_memcpy(&v, p, 8);
    return v;
}
static inline uint32_t read32(const uint8_t *p) {
    uint32_t v;
    __builtin_memcpy(&v, p, 4);
    return v;
}
static inline uint64_t round64(uint64_t acc, uint64_t input) {
    acc += input * P2;
    acc = rotl64(acc, 31);
    return acc * P1;
}
static inline uint64_t merge_round(uint64_t acc, uint64_t val) {
    acc ^= round64(0, val);
    return acc * P1 + P4;
}

NOINLINE static uint64_t xxh64(const uint8_t *p, uint32_t len, uint64_t seed) {
    const uint8_t *end = p + len;
    uint64_t h;
    if (len >= 32) {
        const uint8_t *limit = end - 32;
        uint64_t v1 = seed + P1 + P2, v2 = seed + P2, v3 = seed, v4 = seed - P1;
        do {
            v1 = round64(v1, read64(p));
            v2 = round64(v2, read64(p + 8));
            v3 = round64(v3, read64(p + 16));
            v4 = round64(v4, read64(p + 24));
            p += 32;
        } while (p <= limit);
        h = rotl64(v1, 1) + rotl64(v2, 7) + rotl64(v3, 12) + rotl64(v4, 18);
        h = merge_round(h, v1);
        h = merge_round(h, v2);
        h = merge_round(h, v3);
        h = merge_round(h, v4);
    } else {
        h = seed + P5;
    }
    h += len;
    while (p + 8 <= end) {
        h ^= round64(0, read64(p));
        h = rotl64(h, 27) * P1 + P4;
        p += 8;
    }
    if (p + 4 <= end) {
        h ^= (uint64_t)read32(p) * P1;
        h = rotl64(h, 23) * P2 + P3;
        p += 4;
    }
    while (p < end) {
        h ^= (*p) * P5;
        h = rotl64(h, 11) * P1;
        p++;
    }
    h ^= h >> 33;
    h *= P2;
    h ^= h >> 29;
    h *= P3;
    h ^= h >> 32;
    return h;
}

EXPORT("run") int64_t run(int32_t size) {
    heap_reset();
    uint8_t *buf = heap_alloc(BUF_BYTES);
    uint64_t state = 0x0123456789abcdefull;
    for (uint32_t i = 0; i < BUF_BYTES; i += 8) {
        uint64_t r = splitmix64(&state);
        __builtin_memcpy(buf + i, &r, 8);
    }
    uint64_t acc = 0;
    for (int32_t i = 0; i < size; i++) {
        uint32_t len = BUF_BYTES - (uint32_t)(i & 15);
        acc = rotl64(acc, 9) ^ xxh64(buf, len, acc + (uint64_t)i);
    }
    return (int64_t)acc;
}
