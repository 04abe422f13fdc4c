/*
 * exit_code: ends with the status given in argv[1], by the means named in
 * argv[2] (default "return"):
 *
 *   return  returns the status from main (crt1 calls exit with it)
 *   exit    calls exit(status) from a nested function; an atexit handler runs
 *           and buffered stdout is flushed
 *   _Exit   calls _Exit(status): proc_exit at once, no atexit handlers
 *
 * Before ending it prints "exiting with N via MODE" to stdout (buffered, not
 * newline-flushed when stdout is not a terminal) and "stderr before exit" to
 * stderr. Without arguments it returns 0.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void on_exit_handler(void) {
    printf("atexit handler ran\n");
}

__attribute__((noinline)) static void leave_via_exit(int status) {
    exit(status);
}

int main(int argc, char **argv) {
    int status = argc > 1 ? atoi(argv[1]) : 0;
    const char *mode = argc > 2 ? argv[2] : "return";
    atexit(on_exit_handler);
    printf("exiting with %d via %s\n", status, mode);
    fprintf(stderr, "stderr before exit\n");
    if (strcmp(mode, "exit") == 0) {
        leave_via_exit(status);
    } else if (strcmp(mode, "_Exit") == 0) {
        fflush(stdout);
        _Exit(status);
    } else if (strcmp(mode, "return") != 0) {
        fprintf(stderr, "unknown mode %s\n", mode);
        return 99;
    }
    return status;
}
