/* Hashing with 32-bit operations: FNV-1a (byte at a time) and MurmurHash3 x86_32 (word at a
 * time) over a 16 KiB pseudo-random buffer, `size` times with different seeds. */
#include "common.h"

#define BUF_BYTES 16384

static uint32_t fnv1a(const uint8_t *p, uint32_t len, uint32_t seed) {
    uint32_t h = 2166136261u ^ seed;
    for (uint32_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 16777619u;
    }
    return h;
}

static uint32_t murmur3_32(const uint8_t *p, uint32_t len, uint32_t seed) {
    const uint32_t c1 = 0xcc9e2d51u, c2 = 0x1b873593u;
    uint32_t h = seed, blocks = len / 4;
    for (uint32_t i = 0; i < blocks; i++) {
        uint32_t k;
        __builtin_memcpy(&k, p + 4 * i, 4);
        k *= c1;
        k = rotl32(k, 15);
        k *= c2;
        h ^= k;
        h = rotl32(h, 13);
        h = h * 5 + 0xe6546b64u;
    }
    uint32_t k = 0;
    const uint8_t *tail = p + 4 * blocks;
    switch (len & 3) {
    case 3: k ^= (uint32_t)tail[2] << 16; /* fall through */
    case 2: k ^= (uint32_t)tail[1] << 8; /* fall through */
    case 1:
        k ^= tail[0];
        k *= c1;
        k = rotl32(k, 15);
        k *= c2;
        h ^= k;
    }
    h ^= len;
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    h *= 0xc2b2ae35u;
    h ^= h >> 16;
    return h;
}

EXPORT("run") int32_t run(int32_t size) {
    heap_reset();
    uint8_t *buf = heap_alloc(BUF_BYTES);
    uint32_t seed = 0x9e3779b9u;
    for (uint32_t i = 0; i < BUF_BYTES; i += 4) {
        uint32_t r = xorshift32(&seed);
        __builtin_memcpy(buf + i, &r, 4);
    }
    uint32_t acc = 0;
    for (int32_t i = 0; i < size; i++) {
        /* Vary the length so the tail cases run too. */
        uint32_t len = BUF_BYTES - (uint32_t)(i & 7);
        acc ^= fnv1a(buf, len, (uint32_t)i);
        acc = rotl32(acc, 5) + murmur3_32(buf, len, acc);
    }
    return (int32_t)acc;
}
