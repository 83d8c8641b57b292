/* fuzz_pickle.c - libFuzzer harness: the restricted unpickler on raw data.pkl bytes. */
#include "fuzz.h"
#include "io/io_pickle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n) {
  IoCtx c;
  PkResult r;
  fuzz_ctx(&c);
  if (io_pickle_load(&c, data, n, &r) == LT_OK) {
    FUZZ_CHECK(r.root != NULL);
    for (size_t i = 0; i < r.ntensors; i++) {
      const PkTensor *t = &r.tensors[i];
      FUZZ_CHECK(t->storage >= 0 && (size_t)t->storage < r.nstorages);
      FUZZ_CHECK(t->ndim >= 0 && t->ndim <= LT_MAXDIM && t->offset >= 0);
      uint64_t last = (uint64_t)t->offset, numel = 1;
      for (int d = 0; d < t->ndim; d++) {
        numel *= (uint64_t)t->shape[d];
        if (t->shape[d]) last += (uint64_t)(t->shape[d] - 1) * (uint64_t)t->stride[d];
      }
      FUZZ_CHECK(numel == 0 || last < r.storages[t->storage].numel);
    }
    FUZZ_CHECK(r.arena_bytes <= 128 * n + ((size_t)1 << 20) + (64 << 10));
    io_pickle_free(&c, &r);
  }
  fuzz_done(&c);
  return 0;
}
