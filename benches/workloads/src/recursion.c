/* Recursive calls: naive Fibonacci, `size` times on arguments 20..23. */
#include "common.h"

NOINLINE static int32_t fib(int32_t n) {
    if (n < 2) return n;
    return fib(n - 1) + fib(n - 2);
}

EXPORT("run") int32_t run(int32_t size) {
    int32_t acc = 0;
    for (int32_t i = 0; i < size; i++) acc = acc * 31 + fib(20 + (i & 3));
    return acc;
}
