/* Tight integer loops: Collatz stopping times of 1..size (64-bit arithmetic, data-dependent
 * branches), summed, plus the longest chain's start. */
#include "common.h"

EXPORT("run") int64_t run(int32_t size) {
    uint64_t total = 0, best_len = 0, best_start = 0;
    for (uint32_t start = 1; start <= (uint32_t)size; start++) {
        uint64_t x = start, len = 0;
        while (x != 1) {
            if (x & 1)
                x = 3 * x + 1;
            else
                x >>= 1;
            len++;
        }
        total += len;
        if (len > best_len) {
            best_len = len;
            best_start = start;
        }
    }
    return (int64_t)(total * 1000003u + best_start);
}
