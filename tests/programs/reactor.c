/*
 * reactor: a WASI reactor (built with -mexec-model=reactor, so it exports
 * _initialize instead of _start) for `tierwasm run --invoke`.
 *
 * A constructor sets `base` to 100; it runs only from _initialize, so
 * get_base() returning 100 shows that _initialize ran first.
 *
 * Exports:
 *   add(i32, i32) -> i32        wrapping sum
 *   get_base() -> i32           100 after _initialize, else 0
 *   fact(i64) -> i64            n!, wrapping
 *   hypot2(f64, f64) -> f64     sqrt(x*x + y*y)
 *   half(f32) -> f32            x / 2
 *   greet(i32) -> i32           prints "hello from reactor N" to stdout, returns N+1
 *   fail(i32) -> i32            traps (unreachable) when the argument is non-zero
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>

#define EXPORT(name) __attribute__((export_name(#name)))

static int base = 0;

__attribute__((constructor)) static void init_base(void) {
    base = 100;
}

EXPORT(add) int32_t add(int32_t a, int32_t b) {
    return (int32_t)((uint32_t)a + (uint32_t)b);
}

EXPORT(get_base) int32_t get_base(void) {
    return base;
}

EXPORT(fact) int64_t fact(int64_t n) {
    uint64_t r = 1;
    for (int64_t i = 2; i <= n; i++)
        r *= (uint64_t)i;
    return (int64_t)r;
}

EXPORT(hypot2) double hypot2(double x, double y) {
    return sqrt(x * x + y * y);
}

EXPORT(half) float half(float x) {
    return x / 2.0f;
}

EXPORT(greet) int32_t greet(int32_t n) {
    printf("hello from reactor %d\n", n);
    fflush(stdout);
    return n + 1;
}

__attribute__((noinline)) static void reactor_crash(void) {
    __builtin_trap();
}

EXPORT(fail) int32_t fail(int32_t x) {
    if (x)
        reactor_crash();
    return 0;
}
