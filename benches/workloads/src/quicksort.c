/* Sorting: recursive quicksort (median of three, insertion sort below 16) of `size`
 * pseudo-random int32s; checksum of the sorted array. */
#include "common.h"

static void insertion_sort(int32_t *a, int32_t lo, int32_t hi) {
    for (int32_t i = lo + 1; i <= hi; i++) {
        int32_t v = a[i], j = i - 1;
        while (j >= lo && a[j] > v) {
            a[j + 1] = a[j];
            j--;
        }
        a[j + 1] = v;
    }
}

static inline void swap(int32_t *a, int32_t i, int32_t j) {
    int32_t t = a[i];
    a[i] = a[j];
    a[j] = t;
}

NOINLINE static void quicksort(int32_t *a, int32_t lo, int32_t hi) {
    while (hi - lo >= 16) {
        int32_t mid = lo + (hi - lo) / 2;
        if (a[mid] < a[lo]) swap(a, mid, lo);
        if (a[hi] < a[lo]) swap(a, hi, lo);
        if (a[hi] < a[mid]) swap(a, hi, mid);
        int32_t pivot = a[mid], i = lo, j = hi;
        while (i <= j) {
            while (a[i] < pivot) i++;
            while (a[j] > pivot) j--;
            if (i <= j) swap(a, i++, j--);
        }
        /* Recurse into the smaller half, loop on the larger. */
        if (j - lo < hi - i) {
            quicksort(a, lo, j);
            lo = i;
        } else {
            quicksort(a, i, hi);
            hi = j;
        }
    }
    insertion_sort(a, lo, hi);
}

EXPORT("run") int32_t run(int32_t size) {
    heap_reset();
    int32_t *a = heap_alloc((size_t)size * sizeof(int32_t));
    uint32_t seed = 0x12345678u;
    for (int32_t i = 0; i < size; i++) a[i] = (int32_t)xorshift32(&seed);
    quicksort(a, 0, size - 1);
    uint32_t sum = 0;
    for (int32_t i = 0; i < size; i++) {
        if (i > 0 && a[i - 1] > a[i]) __builtin_trap();
        sum = sum * 31 + (uint32_t)a[i];
    }
    return (int32_t)sum;
}
