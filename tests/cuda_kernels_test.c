/* cuda_kernels_test.c - the per-element code of the CUDA kernels (src/cuda/cuda_device.h) run
 * on the CPU: Philox-4x32-10 against Random123's known-answer vectors, the uniform and normal
 * numbers the GPU's rand/randn draw, strided and broadcast offsets, top-k insertion against a
 * sort. Usage: cuda_kernels_test CASE; exits 0 when CASE holds. Run by tests/cuda_spec.lua. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cuda/cuda_device.h"

static int failures;
#define CHECK(cond)                                                              \
  do {                                                                           \
    if (!(cond)) {                                                               \
      printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);                     \
      failures++;                                                                \
    }                                                                            \
  } while (0)

/* Random123's tests/kat_vectors for philox4x32 with 10 rounds: counter, key, output. */
static void case_philox_kat(void) {
  static const uint32_t kat[3][10] = {
      {0, 0, 0, 0, 0, 0, 0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8},
      {0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0x408f276d,
       0x41c83b0e, 0xa20bc7c6, 0x6d5451fd},
      {0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0, 0xd16cfe09,
       0x94fdcceb, 0x5001e420, 0x24126ea1}};
  for (int i = 0; i < 3; i++) {
    uint32_t c[4] = {kat[i][0], kat[i][1], kat[i][2], kat[i][3]};
    ltcu_philox(c, kat[i][4], kat[i][5]);
    for (int q = 0; q < 4; q++) CHECK(c[q] == kat[i][6 + q]);
  }
}

/* rand: in [0, 1), mean 1/2 and variance 1/12; randn: mean 0, variance 1; each counter's
 * numbers depend only on (seed, counter), and another seed gives other numbers. */
static void case_random(void) {
  enum { N = 1 << 20 };
  double s = 0, s2 = 0, m = 0, m2 = 0;
  float lo = 1, hi = 0;
  for (uint64_t j = 0; j < N / 4; j++) {
    float u[4], z[4];
    ltcu_random4(42, j, 0, u);
    ltcu_random4(42, j, 1, z);
    for (int q = 0; q < 4; q++) {
      s += u[q];
      s2 += (double)u[q] * u[q];
      m += z[q];
      m2 += (double)z[q] * z[q];
      lo = u[q] < lo ? u[q] : lo;
      hi = u[q] > hi ? u[q] : hi;
      CHECK(z[q] == z[q]);
    }
  }
  double mean = s / N, var = s2 / N - mean * mean;
  CHECK(lo >= 0.f && hi < 1.f);
  CHECK(fabs(mean - 0.5) < 2e-3);
  CHECK(fabs(var - 1.0 / 12) < 1e-3);
  CHECK(fabs(m / N) < 5e-3);
  CHECK(fabs(m2 / N - 1) < 5e-3);
  float a[4], b[4], c[4];
  ltcu_random4(42, 7, 0, a);
  ltcu_random4(42, 7, 0, b);
  ltcu_random4(43, 7, 0, c);
  CHECK(!memcmp(a, b, sizeof a));
  CHECK(memcmp(a, c, sizeof a));
}

/* Offsets of a transposed view and of a broadcast ([3x1] expanded to [3x4]). */
static void case_offsets(void) {
  LtcuGeo t = {2, {4, 3}, {1, 4}}; /* the transpose of a contiguous [3x4] */
  for (int64_t i = 0; i < 12; i++) CHECK(ltcu_offset(&t, i) == (i / 3) + (i % 3) * 4);
  LtcuGeo b = {2, {3, 4}, {1, 0}};
  for (int64_t i = 0; i < 12; i++) CHECK(ltcu_offset(&b, i) == i / 4);
  LtcuGeo s = {0, {0}, {0}}; /* a 0-d tensor */
  CHECK(ltcu_offset(&s, 0) == 0);
}

static const float *sort_base;
static int by_value_then_index(const void *x, const void *y) {
  int64_t i = *(const int64_t *)x, j = *(const int64_t *)y;
  float a = sort_base[i], b = sort_base[j];
  if (a != b) return a < b ? -1 : 1;
  return i < j ? -1 : i > j;
}

/* Top-k by insertion equals a stable sort's first k, ties and NaN included. */
static void case_topk(void) {
  enum { N = 500 };
  float x[N];
  int64_t order[N];
  srand(1);
  for (int trial = 0; trial < 50; trial++) {
    int n = 1 + rand() % N, k = 1 + rand() % 64, valid = 0;
    for (int i = 0; i < n; i++) {
      x[i] = (float)(rand() % 40) - 20.f; /* many ties */
      if (rand() % 17 == 0) x[i] = NAN;
      if (x[i] == x[i]) order[valid++] = i;
    }
    sort_base = x;
    qsort(order, (size_t)valid, sizeof order[0], by_value_then_index);
    float bv[64];
    int64_t bi[64];
    int have = 0;
    for (int j = 0; j < n; j++) have = ltcu_topk_offer(bv, bi, have, k, x[j], j);
    CHECK(have == (k < valid ? k : valid));
    for (int q = 0; q < have; q++) {
      CHECK(bi[q] == order[q]);
      CHECK(bv[q] == x[order[q]]);
    }
  }
}

int main(int argc, char **argv) {
  static const struct {
    const char *name;
    void (*fn)(void);
  } cases[] = {{"philox_kat", case_philox_kat},
               {"random", case_random},
               {"offsets", case_offsets},
               {"topk", case_topk}};
  if (argc != 2) {
    fprintf(stderr, "usage: cuda_kernels_test CASE\n");
    return 2;
  }
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    if (strcmp(argv[1], cases[i].name)) continue;
    cases[i].fn();
    if (!failures) printf("ok %s\n", argv[1]);
    return failures ? 1 : 0;
  }
  fprintf(stderr, "cuda_kernels_test: unknown case %s\n", argv[1]);
  return 2;
}
