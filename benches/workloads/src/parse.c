/* Byte parsing: formats `size` CSV lines of four pseudo-random decimal integers (some
 * negative), then parses the text back with a character-at-a-time state machine;
 * checksum of per-column sums and of the text. */
#include "common.h"

static uint8_t *write_int(uint8_t *out, int32_t v) {
    uint8_t digits[12];
    uint32_t u = v < 0 ? 0u - (uint32_t)v : (uint32_t)v;
    int n = 0;
    do {
        digits[n++] = (uint8_t)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0) *out++ = '-';
    while (n) *out++ = digits[--n];
    return out;
}

NOINLINE static uint32_t generate(uint8_t *text, int32_t lines) {
    uint32_t seed = 0x2545f491u;
    uint8_t *p = text;
    for (int32_t i = 0; i < lines; i++) {
        for (int col = 0; col < 4; col++) {
            uint32_t r = xorshift32(&seed);
            int32_t v;
            switch (col) {
            case 0: v = (int32_t)i; break;                       /* a row id */
            case 1: v = (int32_t)(r % 1000); break;              /* small */
            case 2: v = (int32_t)(r % 2000001) - 1000000; break; /* signed */
            default: v = (int32_t)(r >> 1); break;               /* large */
            }
            p = write_int(p, v);
            *p++ = col == 3 ? '\n' : ',';
        }
    }
    return (uint32_t)(p - text);
}

NOINLINE static uint64_t parse(const uint8_t *text, uint32_t len, int64_t sums[4]) {
    int64_t value = 0;
    int negative = 0, col = 0;
    uint64_t lines = 0;
    for (uint32_t i = 0; i < len; i++) {
        uint8_t c = text[i];
        if (c >= '0' && c <= '9') {
            value = value * 10 + (c - '0');
        } else if (c == '-') {
            negative = 1;
        } else if (c == ',' || c == '\n') {
            sums[col] += negative ? -value : value;
            value = 0;
            negative = 0;
            if (c == ',') {
                col++;
            } else {
                col = 0;
                lines++;
            }
        } else {
            __builtin_trap();
        }
    }
    return lines;
}

EXPORT("run") int64_t run(int32_t size) {
    heap_reset();
    uint8_t *text = heap_alloc((size_t)size * 48);
    uint32_t len = generate(text, size);
    int64_t sums[4] = {0, 0, 0, 0};
    uint64_t lines = parse(text, len, sums);
    if (lines != (uint64_t)size) __builtin_trap();
    uint64_t acc = len;
    for (int i = 0; i < 4; i++) acc = acc * 1000003u + (uint64_t)sums[i];
    return (int64_t)acc;
}
