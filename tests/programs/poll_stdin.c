/*
 * poll_stdin: poll() on stdin with the timeout in milliseconds given as
 * argv[1] (wasi-libc turns it into one poll_oneoff call with an fd_read and a
 * clock subscription). Prints
 *
 *   poll=N revents=<POLLIN|POLLHUP|...|0> waited_at_least_timeout=<yes|no>
 *
 * and, when argv[2] is "read" and stdin was reported readable, "read=N" with
 * the byte count of one read(). Without "read" it never reads, so that it
 * cannot block when poll wrongly says stdin is readable.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static long long now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int main(int argc, char **argv) {
    int timeout = argc > 1 ? atoi(argv[1]) : 1000;
    int do_read = argc > 2 && strcmp(argv[2], "read") == 0;
    struct pollfd p = {0, POLLIN, 0};
    long long start = now_ms();
    int n = poll(&p, 1, timeout);
    long long waited = now_ms() - start;
    char revents[64] = "";
    if (p.revents & POLLIN)
        strcat(revents, "|POLLIN");
    if (p.revents & POLLHUP)
        strcat(revents, "|POLLHUP");
    if (p.revents & POLLERR)
        strcat(revents, "|POLLERR");
    if (p.revents & POLLNVAL)
        strcat(revents, "|POLLNVAL");
    printf("poll=%d revents=%s waited_at_least_timeout=%s\n", n, revents[0] ? revents + 1 : "0",
           waited >= timeout ? "yes" : "no");
    if (do_read && n == 1 && (p.revents & POLLIN)) {
        char buf[256];
        printf("read=%zd\n", read(0, buf, sizeof buf));
    }
    return 0;
}
