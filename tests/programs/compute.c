/*
 * compute: CPU work with known answers, to check that compiled C runs
 * correctly (integer, 64-bit, floating point, libm, qsort, printf of floats,
 * malloc/realloc growing memory). Prints one "name=value" line per result.
 * The expected values were computed by the same source compiled natively.
 *
 * With argv[1] = N (default 1) it repeats the whole computation N times, for
 * timing.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t xorshift(void) {
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return rng_state = x;
}

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    int reps = argc > 1 ? atoi(argv[1]) : 1;
    for (int rep = 0; rep < reps; rep++) {
        int last = rep == reps - 1;
        rng_state = 0x9e3779b97f4a7c15ull;

        /* Sieve of Eratosthenes up to 2,000,000. */
        const int limit = 2000000;
        unsigned char *composite = calloc((size_t)limit + 1, 1);
        int primes = 0;
        uint64_t prime_sum = 0;
        for (int i = 2; i <= limit; i++) {
            if (composite[i])
                continue;
            primes++;
            prime_sum += (uint64_t)i;
            for (int64_t j = (int64_t)i * i; j <= limit; j += i)
                composite[j] = 1;
        }
        free(composite);

        /* Sort 200,000 pseudo-random numbers; checksum the sorted order. */
        const size_t count = 200000;
        uint32_t *v = malloc(count * sizeof *v);
        for (size_t i = 0; i < count; i++)
            v[i] = (uint32_t)xorshift();
        qsort(v, count, sizeof *v, cmp_u32);
        uint64_t sorted_hash = 1469598103934665603ull;
        int sorted = 1;
        for (size_t i = 0; i < count; i++) {
            sorted_hash = (sorted_hash ^ v[i]) * 1099511628211ull;
            if (i && v[i - 1] > v[i])
                sorted = 0;
        }
        free(v);

        /* 64-bit division and remainder, signed and unsigned. */
        int64_t sdiv = 0;
        uint64_t udiv = 0;
        for (int i = 1; i <= 100000; i++) {
            int64_t a = (int64_t)xorshift();
            uint64_t b = xorshift();
            sdiv += a / (int64_t)(i * 7919) + a % 1000003;
            udiv ^= b / (uint64_t)i + b % 65537;
        }

        /* Floating point and libm. */
        double series = 0;
        for (int k = 0; k < 1000000; k++)
            series += (k % 2 ? -4.0 : 4.0) / (2.0 * k + 1.0);
        double trig = 0;
        for (int i = 0; i < 1000; i++)
            trig += sin(i * 0.001) * cos(i * 0.002) + exp(-i * 0.01) + log1p(i) + pow(1.0001, i);
        float fsum = 0;
        for (int i = 1; i <= 10000; i++)
            fsum += 1.0f / (float)i;

        /* Growing a buffer by realloc (memory.grow). */
        size_t cap = 16, len = 0;
        char *buf = malloc(cap);
        for (int i = 0; i < 300000; i++) {
            char item[16];
            int n = snprintf(item, sizeof item, "%d,", i);
            if (len + (size_t)n + 1 > cap) {
                cap *= 2;
                buf = realloc(buf, cap);
            }
            memcpy(buf + len, item, (size_t)n);
            len += (size_t)n;
        }
        buf[len] = '\0';
        uint32_t buf_hash = 2166136261u;
        for (size_t i = 0; i < len; i++)
            buf_hash = (buf_hash ^ (unsigned char)buf[i]) * 16777619u;
        free(buf);

        if (last) {
            printf("primes=%d\n", primes);
            printf("prime_sum=%llu\n", (unsigned long long)prime_sum);
            printf("sorted=%d\n", sorted);
            printf("sorted_hash=%016llx\n", (unsigned long long)sorted_hash);
            printf("sdiv=%lld\n", (long long)sdiv);
            printf("udiv=%016llx\n", (unsigned long long)udiv);
            printf("pi=%.9f\n", series);
            printf("trig=%.6f\n", trig);
            printf("fsum=%.5f\n", (double)fsum);
            printf("buf_len=%zu buf_hash=%08x\n", len, buf_hash);
        }
    }
    return 0;
}
