/*
 * stdin_echo: copies stdin to stdout upper-cased (ASCII letters only; every
 * other byte, NUL included, passes through unchanged), reading in chunks of
 * odd sizes. At end of input it prints to stderr
 *
 *   bytes=N fnv1a=XXXXXXXX
 *
 * where fnv1a is the 32-bit FNV-1a hash of the bytes read (before
 * upper-casing), in hex.
 */
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

int main(void) {
    static unsigned char buf[4099];
    uint32_t hash = 2166136261u;
    unsigned long long total = 0;
    for (;;) {
        ssize_t n = read(0, buf, sizeof buf);
        if (n < 0) {
            perror("read");
            return 1;
        }
        if (n == 0)
            break;
        for (ssize_t i = 0; i < n; i++) {
            hash = (hash ^ buf[i]) * 16777619u;
            if (buf[i] >= 'a' && buf[i] <= 'z')
                buf[i] -= 'a' - 'A';
        }
        total += (unsigned long long)n;
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(1, buf + off, (size_t)(n - off));
            if (w <= 0) {
                perror("write");
                return 1;
            }
            off += w;
        }
    }
    fprintf(stderr, "bytes=%llu fnv1a=%08x\n", total, hash);
    return 0;
}
