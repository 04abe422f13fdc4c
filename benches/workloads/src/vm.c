/* A switch-dispatch bytecode interpreter (the switch becomes `br_table`): a small register
 * machine runs a program that mixes arithmetic, memory and branches, `size` iterations. */
#include "common.h"

enum {
    OP_HALT, OP_LI, OP_MOV, OP_ADD, OP_SUB, OP_MUL, OP_XOR, OP_AND, OP_OR, OP_SHL, OP_SHR,
    OP_ADDI, OP_LD, OP_ST, OP_JNZ, OP_JMP, OP_LT, OP_ROT, OP_INC, OP_DEC,
};

/* Each instruction: opcode, a, b, c (registers or immediates). */
typedef struct { uint8_t op, a, b, c; } Insn;

/* r0 = counter, r1 = acc, r2 = i, r3..r7 scratch. */
static const Insn program[] = {
    /* 0 */ {OP_LI, 1, 7, 0},      /* r1 = 7 */
    /* 1 */ {OP_LI, 2, 0, 0},      /* r2 = 0 */
    /* loop: */
    /* 2 */ {OP_MUL, 3, 1, 8},     /* r3 = r1 * r8 (r8 = 31) */
    /* 3 */ {OP_ADD, 3, 3, 2},     /* r3 += r2 */
    /* 4 */ {OP_SHR, 4, 3, 9},     /* r4 = r3 >> r9 (r9 = 7) */
    /* 5 */ {OP_XOR, 1, 3, 4},     /* r1 = r3 ^ r4 */
    /* 6 */ {OP_AND, 5, 2, 10},    /* r5 = r2 & r10 (r10 = 63) */
    /* 7 */ {OP_LD, 6, 5, 0},      /* r6 = mem[r5] */
    /* 8 */ {OP_ADD, 6, 6, 1},     /* r6 += r1 */
    /* 9 */ {OP_ST, 5, 6, 0},      /* mem[r5] = r6 */
    /* 10 */ {OP_ROT, 1, 1, 5},    /* r1 = rotl(r1, r5) */
    /* 11 */ {OP_LT, 7, 6, 1},     /* r7 = r6 < r1 */
    /* 12 */ {OP_JNZ, 7, 14, 0},   /* if r7 goto 14 */
    /* 13 */ {OP_ADDI, 1, 1, 3},   /* r1 += 3 */
    /* 14 */ {OP_INC, 2, 0, 0},    /* r2++ */
    /* 15 */ {OP_SUB, 11, 1, 6},   /* r11 = r1 - r6 */
    /* 16 */ {OP_OR, 12, 11, 2},   /* r12 = r11 | r2 */
    /* 17 */ {OP_SHL, 12, 12, 13}, /* r12 <<= r13 (r13 = 1) */
    /* 18 */ {OP_XOR, 1, 1, 12},   /* r1 ^= r12 */
    /* 19 */ {OP_MOV, 14, 1, 0},   /* r14 = r1 */
    /* 20 */ {OP_DEC, 0, 0, 0},    /* r0-- */
    /* 21 */ {OP_JNZ, 0, 2, 0},    /* if r0 goto loop */
    /* 22 */ {OP_HALT, 0, 0, 0},
};

NOINLINE static uint32_t execute(const Insn *code, uint32_t *regs, uint32_t *mem) {
    uint32_t pc = 0;
    for (;;) {
        Insn in = code[pc++];
        switch (in.op) {
        case OP_HALT: return regs[1] ^ regs[14];
        case OP_LI: regs[in.a] = in.b; break;
        case OP_MOV: regs[in.a] = regs[in.b]; break;
        case OP_ADD: regs[in.a] = regs[in.b] + regs[in.c]; break;
        case OP_SUB: regs[in.a] = regs[in.b] - regs[in.c]; break;
        case OP_MUL: regs[in.a] = regs[in.b] * regs[in.c]; break;
        case OP_XOR: regs[in.a] = regs[in.b] ^ regs[in.c]; break;
        case OP_AND: regs[in.a] = regs[in.b] & regs[in.c]; break;
        case OP_OR: regs[in.a] = regs[in.b] | regs[in.c]; break;
        case OP_SHL: regs[in.a] = regs[in.b] << (regs[in.c] & 31); break;
        case OP_SHR: regs[in.a] = regs[in.b] >> (regs[in.c] & 31); break;
        case OP_ADDI: regs[in.a] = regs[in.b] + in.c; break;
        case OP_LD: regs[in.a] = mem[regs[in.b] & 63]; break;
        case OP_ST: mem[regs[in.a] & 63] = regs[in.b]; break;
        case OP_JNZ: if (regs[in.a]) pc = in.b; break;
        case OP_JMP: pc = in.a; break;
        case OP_LT: regs[in.a] = regs[in.b] < regs[in.c]; break;
        case OP_ROT: regs[in.a] = rotl32(regs[in.b], (regs[in.c] & 31) | 1); break;
        case OP_INC: regs[in.a]++; break;
        case OP_DEC: regs[in.a]--; break;
        default: __builtin_trap();
        }
    }
}

EXPORT("run") int32_t run(int32_t size) {
    uint32_t regs[16] = {0};
    uint32_t mem[64];
    for (int i = 0; i < 64; i++) mem[i] = (uint32_t)i * 2654435761u;
    regs[0] = (uint32_t)size;
    regs[8] = 31;
    regs[9] = 7;
    regs[10] = 63;
    regs[13] = 1;
    uint32_t result = execute(program, regs, mem);
    for (int i = 0; i < 64; i++) result = result * 33 + mem[i];
    return (int32_t)result;
}
