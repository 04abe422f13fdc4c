/*
 * trap: traps in the way argv[1] names, a few calls deep so that a backtrace
 * shows this file's function names (the build keeps the "name" section):
 *
 *   unreachable   __builtin_trap() in crash_here <- middle_frame <- main
 *   divzero       an i32 division by zero in divide
 *   oob           a load from an address past the end of linear memory in load_far
 *   stack         unbounded recursion through recurse (call stack exhausted)
 *   none          no trap: prints "no trap" and returns 0
 *
 * Before trapping it prints "about to trap: MODE" to stdout and flushes it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__attribute__((noinline)) void crash_here(int how) {
    if (how > 0)
        __builtin_trap();
}

__attribute__((noinline)) void middle_frame(int how) {
    crash_here(how);
    printf("not reached\n");
}

__attribute__((noinline)) int divide(int a, int b) {
    return a / b;
}

__attribute__((noinline)) int load_far(uintptr_t addr) {
    return *(volatile int *)addr;
}

/* Called through a volatile pointer so that it stays a real, non-tail call. */
int recurse(int depth);
static int (*volatile recurse_ptr)(int) = recurse;
__attribute__((noinline)) int recurse(int depth) {
    return recurse_ptr(depth + 1) + 1;
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "none";
    printf("about to trap: %s\n", mode);
    fflush(stdout);
    volatile int zero = 0;
    if (strcmp(mode, "unreachable") == 0) {
        middle_frame(1);
    } else if (strcmp(mode, "divzero") == 0) {
        printf("%d\n", divide(7, zero));
    } else if (strcmp(mode, "oob") == 0) {
        printf("%d\n", load_far((uintptr_t)0xfffffff0u));
    } else if (strcmp(mode, "stack") == 0) {
        printf("%d\n", recurse(zero));
    } else if (strcmp(mode, "none") == 0) {
        printf("no trap\n");
        return 0;
    } else {
        fprintf(stderr, "unknown mode %s\n", mode);
        return 2;
    }
    printf("survived\n");
    return 1;
}
