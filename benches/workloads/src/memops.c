/* Memory copy and fill: `size` memmove/memset operations (memory.copy / memory.fill with
 * -mbulk-memory) of mixed small and large lengths at pseudo-random offsets in a 1 MiB
 * buffer, some overlapping; checksum of bytes read back. */
#include "common.h"

#define BUF_BYTES (1u << 20)

EXPORT("run") int32_t run(int32_t size) {
    heap_reset();
    uint8_t *buf = heap_alloc(BUF_BYTES);
    __builtin_memset(buf, 0x5a, BUF_BYTES);
    for (uint32_t i = 0; i < 4096; i++) buf[i * 256] = (uint8_t)i;
    uint32_t seed = 0xdeadbeefu, acc = 0;
    for (int32_t i = 0; i < size; i++) {
        uint32_t r = xorshift32(&seed);
        /* Half small (8..71 bytes, like struct copies), half large (up to 4 KiB). */
        uint32_t len = (r & 1) ? 8 + ((r >> 1) & 63) : 64 + ((r >> 1) & 4095);
        uint32_t dst = xorshift32(&seed) % (BUF_BYTES - len);
        uint32_t src = (r & 2) ? xorshift32(&seed) % (BUF_BYTES - len)
                               : (dst + (r >> 20)) % (BUF_BYTES - len); /* often overlapping */
        switch ((r >> 8) & 3) {
        case 0: __builtin_memset(buf + dst, (int)(i & 255), len); break;
        default: __builtin_memmove(buf + dst, buf + src, len); break;
        }
        acc = acc * 31 + buf[dst] + buf[dst + len - 1] + buf[(dst + len / 2)];
    }
    for (uint32_t i = 0; i < BUF_BYTES; i += 4093) acc = acc * 31 + buf[i];
    return (int32_t)acc;
}
