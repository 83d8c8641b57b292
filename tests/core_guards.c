/* core_guards.c - drives core functions with arguments no binding passes them today (sizes whose
 * products overflow, empty suggestion lists), so that their own guards are tested: a later caller
 * must not be able to turn them into out-of-bounds accesses. Run by tests/embed_spec.lua
 * ("core_guards csr") and tests/plot_spec.lua ("core_guards suggest"); prints one line per case.
 * Built by the Makefile with the build's CFLAGS, so `make debug` gives a sanitized copy. */
#include <stdio.h>
#include <string.h>
#include "embed/embed.h"
#include "plot/plot_color.h"

static const char *status_name(LtStatus st) {
  switch (st) {
  case LT_OK: return "ok";
  case LT_EVALUE: return "EVALUE";
  case LT_ENOMEM: return "ENOMEM";
  case LT_EOVERFLOW: return "EOVERFLOW";
  default: return "other";
  }
}

/* lt_csr_symmetrize with n k entries where 2 n k overflows int64 (it used to wrap to a small
 * buffer and then read cols far past its 4 entries), n past int32 columns, negative sizes, and a
 * sane 4 x 1 case. */
static int csr_cases(void) {
  const int64_t cols[4] = {1, 0, 3, 2};
  const float vals[4] = {0.5f, 0.5f, 0.25f, 0.25f};
  const int64_t big[][2] = {{4, (int64_t)1 << 62},
                            {(int64_t)1 << 30, (int64_t)1 << 32},
                            {(int64_t)1 << 40, 1},
                            {-1, 1},
                            {4, -1}};
  for (size_t i = 0; i < sizeof big / sizeof big[0]; i++) {
    LtCsr g;
    LtStatus st = lt_csr_symmetrize(&g, big[i][0], big[i][1], cols, vals, 1.0);
    printf("n=%lld k=%lld: %s nnz=%lld\n", (long long)big[i][0], (long long)big[i][1],
           status_name(st), (long long)lt_csr_nnz(&g));
    lt_csr_free(&g);
  }
  LtCsr g;
  LtStatus st = lt_csr_symmetrize(&g, 4, 1, cols, vals, 1.0);
  printf("n=4 k=1: %s nnz=%lld\n", status_name(st), (long long)lt_csr_nnz(&g));
  lt_csr_free(&g);
  return 0;
}

/* plot_name_suggest with k <= 0 (it used to compare with bestd[-1] and write best[-1]). */
static int suggest_cases(void) {
  for (int k = -1; k <= 1; k++) {
    char buf[64];
    printf("k=%d: [%s]\n", k, plot_name_suggest("blu", 0, k, buf, sizeof buf));
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 2 && strcmp(argv[1], "csr") == 0) return csr_cases();
  if (argc == 2 && strcmp(argv[1], "suggest") == 0) return suggest_cases();
  fprintf(stderr, "usage: core_guards csr|suggest\n");
  return 2;
}
