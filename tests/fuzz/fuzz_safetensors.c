/* fuzz_safetensors.c - libFuzzer harness: safetensors header JSON and layout validation, tensor
 * reads. */
#include "fuzz.h"
#include "io/io_safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n) {
  IoCtx c;
  IoSrc *s;
  IoSafetensors f;
  fuzz_ctx(&c);
  if (io_src_mem(&c, data, n, &s)) return 0;
  if (io_st_parse(&c, s, &f) == LT_OK) {
    uint64_t at = f.n ? f.t[0].begin : 0;
    for (size_t i = 0; i < f.n; i++) {
      IoArray a;
      FUZZ_CHECK(f.t[i].begin == at && f.t[i].end >= f.t[i].begin && f.t[i].end <= n);
      at = f.t[i].end;
      memset(&a, 0, sizeof a);
      a.st = f.t[i].st;
      a.ndim = f.t[i].ndim;
      memcpy(a.shape, f.t[i].shape, sizeof a.shape);
      a.offset = f.t[i].begin;
      a.nbytes = f.t[i].end - f.t[i].begin;
      fuzz_read_array(&c, s, &a);
    }
    FUZZ_CHECK(f.n == 0 || at == n);
    io_st_free(&c, &f);
  }
  io_src_close(&c, s);
  fuzz_done(&c);
  return 0;
}
