/* fuzz.h - what the libFuzzer harnesses share: a capped context, array reads
 * into malloc'd memory, and invariant checks that abort so the fuzzer reports
 * logic errors (accounting, leaks through the gateway), not only crashes. */
#ifndef LUNETTE_FUZZ_H
#define LUNETTE_FUZZ_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "io/io_src.h"

#define FUZZ_CHECK(x)                                                            \
  do {                                                                           \
    if (!(x)) {                                                                  \
      fprintf(stderr, "invariant failed: %s (%s:%d)\n", #x, __FILE__, __LINE__); \
      abort();                                                                   \
    }                                                                            \
  } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n);

/* Caps well under libFuzzer's -malloc_limit_mb: any bigger single
 * allocation means a reader trusted a size it should have checked. */
static void fuzz_ctx(IoCtx *c) {
  io_ctx_init(c);
  c->max_alloc = (uint64_t)128 << 20;
  c->max_inflate = (uint64_t)64 << 20;
}

/* Reads a whole validated array into fresh memory, as the bindings do. */
static void fuzz_read_array(IoCtx *c, IoSrc *s, const IoArray *a) {
  uint64_t numel = 1, bytes;
  for (int i = 0; i < a->ndim; i++) numel *= (uint64_t)a->shape[i];
  FUZZ_CHECK(numel * io_stype_size(a->st) == a->nbytes);
  bytes = numel * lt_dtype_size(io_stype_dtype(a->st));
  FUZZ_CHECK(bytes <= (uint64_t)8 * c->max_inflate + ((uint64_t)1 << 32));
  void *dst = malloc(bytes ? (size_t)bytes : 1);
  FUZZ_CHECK(dst != NULL);
  io_array_read(c, s, a, dst);
  free(dst);
}

/* Every byte taken through the gateway must be back once a reader is done. */
static void fuzz_done(IoCtx *c) { FUZZ_CHECK(c->used == 0); }

#endif
