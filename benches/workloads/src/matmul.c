/* f32 matrix multiply: C = A * B for 64x64 matrices, `size` times (B changes each time);
 * checksum of C's bits. */
#include "common.h"

#define N 64

static float A[N * N], B[N * N], C[N * N];

NOINLINE static void matmul(const float *a, const float *b, float *c) {
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            float sum = 0.0f;
            for (int k = 0; k < N; k++) sum += a[i * N + k] * b[k * N + j];
            c[i * N + j] = sum;
        }
}

EXPORT("run") int32_t run(int32_t size) {
    uint32_t seed = 7;
    for (int i = 0; i < N * N; i++) {
        A[i] = (float)(xorshift32(&seed) % 2000) / 1000.0f - 1.0f;
        B[i] = (float)(xorshift32(&seed) % 2000) / 1000.0f - 1.0f;
    }
    uint32_t acc = 0;
    for (int32_t r = 0; r < size; r++) {
        matmul(A, B, C);
        for (int i = 0; i < N * N; i++) acc = acc * 31 + f32_bits(C[i]);
        /* Feed a little of the result back so every multiply differs. */
        B[r & (N * N - 1)] = C[(r * 7) & (N * N - 1)] * 0.5f;
    }
    return (int32_t)acc;
}
