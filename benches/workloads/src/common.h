/* Shared helpers for the freestanding benchmark workloads: no libc, no imports.
 * Every workload exports `run(int32 size)` returning a checksum, and must give the same
 * checksum on every call (all state is rebuilt per call). */
#ifndef WORKLOAD_COMMON_H
#define WORKLOAD_COMMON_H

#include <stddef.h>
#include <stdint.h>

#define EXPORT(name) __attribute__((export_name(name)))
#define NOINLINE __attribute__((noinline))

/* Bump allocator over linear memory above the stack and data; reset at every `run`. */
extern unsigned char __heap_base;
static uintptr_t heap_top;

static inline void heap_reset(void) { heap_top = (uintptr_t)&__heap_base; }

static inline void *heap_alloc(size_t bytes) {
    uintptr_t start = (heap_top + 15) & ~(uintptr_t)15;
    uintptr_t end = start + bytes;
    uintptr_t have = __builtin_wasm_memory_size(0) * 65536u;
    if (end > have) {
        size_t pages = (end - have + 65535u) / 65536u;
        if (__builtin_wasm_memory_grow(0, pages) == (size_t)-1) __builtin_trap();
    }
    heap_top = end;
    return (void *)start;
}

/* Deterministic pseudo-random numbers. */
static inline uint32_t xorshift32(uint32_t *state) {
    uint32_t x = *state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *state = x;
    return x;
}

static inline uint64_t splitmix64(uint64_t *state) {
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static inline uint32_t rotl32(uint32_t x, int r) { return (x << r) | (x >> (32 - r)); }
static inline uint64_t rotl64(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

static inline uint32_t f32_bits(float f) {
    union { float f; uint32_t u; } v = {f};
    return v.u;
}
static inline uint64_t f64_bits(double d) {
    union { double d; uint64_t u; } v = {d};
    return v.u;
}

#endif
