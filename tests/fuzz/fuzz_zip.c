/* fuzz_zip.c - libFuzzer harness: zip directory validation, stored and deflated members, .npz
 * arrays. */
#include "fuzz.h"
#include "io/io_npy.h"
#include "io/io_zip.h"

static void member(IoCtx *c, IoSrc *s, const IoZipEntry *e) {
  IoSrc *m;
  if (io_zip_member(c, s, e, &m)) return;
  size_t k = strlen(e->name);
  if (k >= 4 && !strcmp(e->name + k - 4, ".npy")) {
    IoArray a;
    if (io_npy_parse(c, m, 1, &a) == LT_OK) {
      FUZZ_CHECK(a.offset + a.nbytes == e->usize);
      fuzz_read_array(c, m, &a);
    }
  } else {
    static uint8_t buf[65536];
    for (uint64_t off = 0; off < e->usize;) {
      size_t step = e->usize - off < sizeof buf ? (size_t)(e->usize - off) : sizeof buf;
      if (io_src_read(c, m, off, buf, step)) break;
      off += step;
    }
  }
  io_src_close(c, m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n) {
  IoCtx c;
  IoSrc *s;
  IoZip z;
  fuzz_ctx(&c);
  if (io_src_mem(&c, data, n, &s)) return 0;
  if (io_zip_open(&c, s, &z) == LT_OK) {
    for (size_t i = 0; i < z.n; i++) {
      FUZZ_CHECK(z.e[i].data_off + z.e[i].csize <= n);
      FUZZ_CHECK(i == 0 || strcmp(z.e[i - 1].name, z.e[i].name) < 0);
      FUZZ_CHECK(io_zip_find(&z, z.e[i].name) == &z.e[i]);
      member(&c, s, &z.e[i]);
    }
    io_zip_close(&c, &z);
  }
  io_src_close(&c, s);
  fuzz_done(&c);
  return 0;
}
