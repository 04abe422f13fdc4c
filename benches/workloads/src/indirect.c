/* Indirect calls: `size` dispatches through a table of 16 small functions picked by the
 * data (call_indirect), as in an interpreter's handler table or a virtual method call. */
#include "common.h"

typedef uint32_t (*Op)(uint32_t, uint32_t);

NOINLINE static uint32_t op0(uint32_t a, uint32_t b) { return a + b; }
NOINLINE static uint32_t op1(uint32_t a, uint32_t b) { return a - b; }
NOINLINE static uint32_t op2(uint32_t a, uint32_t b) { return a * b + 1; }
NOINLINE static uint32_t op3(uint32_t a, uint32_t b) { return a ^ b; }
NOINLINE static uint32_t op4(uint32_t a, uint32_t b) { return rotl32(a, b & 31) + b; }
NOINLINE static uint32_t op5(uint32_t a, uint32_t b) { return (a >> 3) | (b << 7); }
NOINLINE static uint32_t op6(uint32_t a, uint32_t b) { return a / ((b & 255) + 1) + b; }
NOINLINE static uint32_t op7(uint32_t a, uint32_t b) { return a > b ? a - b : b - a; }
NOINLINE static uint32_t op8(uint32_t a, uint32_t b) { return a * 2654435761u ^ b; }
NOINLINE static uint32_t op9(uint32_t a, uint32_t b) { return (a & 0xffff) * (b | 1); }
NOINLINE static uint32_t op10(uint32_t a, uint32_t b) { return ~a + (b >> 2); }
NOINLINE static uint32_t op11(uint32_t a, uint32_t b) { return a + (uint32_t)__builtin_popcount(b); }
NOINLINE static uint32_t op12(uint32_t a, uint32_t b) { return a % ((b & 1023) + 7) ^ a; }
NOINLINE static uint32_t op13(uint32_t a, uint32_t b) { return (a << 1) + (b >> 1); }
NOINLINE static uint32_t op14(uint32_t a, uint32_t b) { return a + (uint32_t)__builtin_clz(b | 1); }
NOINLINE static uint32_t op15(uint32_t a, uint32_t b) { return (a ^ (a >> 16)) * 0x45d9f3bu + b; }

static Op table[16] = {op0, op1, op2,  op3,  op4,  op5,  op6,  op7,
                       op8, op9, op10, op11, op12, op13, op14, op15};

EXPORT("run") int32_t run(int32_t size) {
    uint32_t acc = 1, seed = 99;
    for (int32_t i = 0; i < size; i++) {
        uint32_t r = xorshift32(&seed);
        acc = table[(acc ^ r) & 15](acc, r);
    }
    return (int32_t)acc;
}
