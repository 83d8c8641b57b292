/* fuzz_pt.c - libFuzzer harness: whole torch.save archives (zip layout, unpickling, storage
 * records). */
#include "fuzz.h"
#include "io/io_pt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n) {
  IoCtx c;
  IoSrc *s;
  IoPt pt;
  fuzz_ctx(&c);
  if (io_src_mem(&c, data, n, &s)) return 0;
  if (io_pt_open(&c, s, &pt) == LT_OK) {
    for (size_t i = 0; i < pt.pk.nstorages; i++) {
      const PkStorage *ps = &pt.pk.storages[i];
      FUZZ_CHECK(pt.records[i]->usize == ps->numel * io_stype_size(ps->st));
      size_t bytes = (size_t)ps->numel * lt_dtype_size(io_stype_dtype(ps->st));
      FUZZ_CHECK(bytes <= (size_t)4 * (n + c.max_inflate));
      void *dst = malloc(bytes ? bytes : 1);
      FUZZ_CHECK(dst != NULL);
      io_pt_read_storage(&c, s, &pt, i, dst);
      free(dst);
    }
    io_pt_close(&c, &pt);
  }
  io_src_close(&c, s);
  fuzz_done(&c);
  return 0;
}
