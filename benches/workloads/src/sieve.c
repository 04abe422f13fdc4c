/* Sieve of Eratosthenes over a byte array: primes below `size`; checksum of their count and
 * a running hash of the primes. */
#include "common.h"

EXPORT("run") int32_t run(int32_t size) {
    heap_reset();
    uint32_t n = (uint32_t)size;
    uint8_t *composite = heap_alloc(n + 1);
    for (uint32_t i = 0; i <= n; i++) composite[i] = 0;
    for (uint32_t i = 2; i * i <= n; i++)
        if (!composite[i])
            for (uint32_t j = i * i; j <= n; j += i) composite[j] = 1;
    uint32_t count = 0, hash = 0;
    for (uint32_t i = 2; i <= n; i++)
        if (!composite[i]) {
            count++;
            hash = hash * 31 + i;
        }
    return (int32_t)(count ^ hash);
}
