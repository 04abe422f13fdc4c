/* Sorting: heapsort of `size` pseudo-random uint64s (i64 compares, index arithmetic). */
#include "common.h"

static void sift_down(uint64_t *a, uint32_t root, uint32_t n) {
    uint64_t v = a[root];
    for (;;) {
        uint32_t child = 2 * root + 1;
        if (child >= n) break;
        if (child + 1 < n && a[child + 1] > a[child]) child++;
        if (a[child] <= v) break;
        a[root] = a[child];
        root = child;
    }
    a[root] = v;
}

EXPORT("run") int64_t run(int32_t size) {
    heap_reset();
    uint32_t n = (uint32_t)size;
    uint64_t *a = heap_alloc((size_t)n * sizeof(uint64_t));
    uint64_t seed = 42;
    for (uint32_t i = 0; i < n; i++) a[i] = splitmix64(&seed);
    for (uint32_t i = n / 2; i-- > 0;) sift_down(a, i, n);
    for (uint32_t end = n; end-- > 1;) {
        uint64_t t = a[0];
        a[0] = a[end];
        a[end] = t;
        sift_down(a, 0, end);
    }
    uint64_t sum = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (i > 0 && a[i - 1] > a[i]) __builtin_trap();
        sum = sum * 1099511628211ull + a[i];
    }
    return (int64_t)sum;
}
