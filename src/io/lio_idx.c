/* lio_idx.c - Lua binding for IDX (MNIST family, gzipped or not) and CIFAR-10/100 binary
 * batches. */
#include <string.h>
#include "tensor/lbase.h"
#include "io/lio.h"
#include "io/io_idx.h"

/* The source to parse: s itself, or a gzip stream over it. */
static LtStatus maybe_gunzip(LioHandle *h, IoSrc *s, int want_gz, IoSrc **out) {
  uint8_t m[2] = {0, 0};
  uint64_t size = io_src_size(s);
  LtStatus st = size >= 2 ? io_src_read(&h->ctx, s, 0, m, 2) : LT_OK;
  if (st) return st;
  /* Decided by the magic bytes, not the name: a gzipped file without .gz still reads; a .gz name
   * on data that is not gzip is refused, as the name promised gzip. */
  int gz = m[0] == 0x1f && m[1] == 0x8b;
  if (want_gz && !gz) return io_fail(&h->ctx, LT_EVALUE, "not a gzip file (the name ends in .gz)");
  if (!gz) {
    *out = s;
    return LT_OK;
  }
  /* gzip does not declare its output size up front (the trailer's is modulo 2^32): the stream is
   * bounded by c->max_inflate instead. */
  if ((st = io_src_inflate(&h->ctx, s, 0, size, 1, IO_SIZE_UNKNOWN, out))) return st;
  lio_own_src(h, *out);
  return LT_OK;
}

/* Pushes array a of d, as float32 times scale when asked. */
static LtStatus push_idx(lua_State *L, LioHandle *h, IoSrc *d, const IoArray *a, int f32,
                         float scale) {
  if (!f32) return lio_push_array(L, h, d, a);
  Tensor *t = ltL_push_new(L, LT_F32, a->ndim, a->shape);
  LtStatus st = io_array_read_f32(&h->ctx, d, a, t->data, scale);
  if (st) lua_pop(L, 1);
  return st;
}

/* read_idx and read_idx_bytes (bytes, when not NULL, is argument 1). Options: dtype = "float32"
 * and/or scale convert while reading, so a uint8 image set never exists twice. */
static int read_idx(lua_State *L, const char *path, const void *bytes, size_t n,
                    const char *fname) {
  int f32 = 0;
  float scale = 1;
  if (ltL_opt_get(L, 2, "dtype")) {
    if (ltL_check_dtype(L, lua_gettop(L), fname) != LT_F32)
      return ltL_argerror(L, 2, fname, "dtype must be float32 (or absent)");
    f32 = 1;
    lua_pop(L, 1);
  }
  if (ltL_opt_get(L, 2, "scale")) {
    lua_pop(L, 1);
    scale = (float)ltL_opt_number(L, 2, fname, "scale", 1);
    f32 = 1;
  }
  LioHandle *h = lio_handle(L, 2, fname);
  IoSrc *s, *d;
  IoArray a;
  LtStatus st = bytes ? io_src_mem(&h->ctx, bytes, n, &s) : io_src_file(&h->ctx, path, &s);
  if (st) return lio_fail(L, h, path, st);
  lio_own_src(h, s);
  st = maybe_gunzip(h, s, !bytes && lio_has_suffix(path, ".gz"), &d);
  if (st == LT_OK) st = io_idx_parse(&h->ctx, d, &a);
  if (st == LT_OK) st = push_idx(L, h, d, &a, f32, scale);
  /* A file's size was checked against the header already; a stream's end is only known now. */
  if (st == LT_OK && d != s && (st = io_src_expect_end(&h->ctx, d, a.offset + a.nbytes)))
    lua_pop(L, 1);
  if (st) return lio_fail(L, h, path, st);
  lio_close(h);
  return 1;
}

/* read_idx(path [, {dtype = "float32", scale = s}]) -> tensor | nil, message: uint8 data
 * stays uint8 unless float32 is asked for (values times scale, in one pass) */
static int l_read_idx(lua_State *L) {
  return read_idx(L, luaL_checkstring(L, 1), NULL, 0, "read_idx");
}

static int l_read_idx_bytes(lua_State *L) {
  size_t n;
  const char *b = luaL_checklstring(L, 1, &n);
  return read_idx(L, "<bytes>", b, n, "read_idx_bytes");
}

/* read_cifar and read_cifar_bytes: images, labels and (CIFAR-100) coarse labels, all made before
 * reading so the read fills them in one pass. */
static int read_cifar(lua_State *L, const char *path, const void *bytes, size_t len,
                      const char *fname) {
  int classes = 10;
  if (!lua_isnoneornil(L, 2)) {
    luaL_checktype(L, 2, LUA_TTABLE);
    classes = (int)ltL_opt_int_in(L, 2, fname, "classes", 10, 10, 100);
    if (classes != 10 && classes != 100)
      return ltL_argerror(L, 2, fname, "classes must be 10 or 100, got %d", classes);
  }
  int lb = classes == 10 ? 1 : 2;
  /* The limits of the options table apply here too, as to every reader. */
  LioHandle *h = lio_handle(L, 2, fname);
  IoSrc *s;
  int64_t n;
  LtStatus st = bytes ? io_src_mem(&h->ctx, bytes, len, &s) : io_src_file(&h->ctx, path, &s);
  if (st) return lio_fail(L, h, path, st);
  lio_own_src(h, s);
  if ((st = io_cifar_count(&h->ctx, io_src_size(s), lb, &n))) return lio_fail(L, h, path, st);
  int64_t ishape[4] = {n, 3, 32, 32};
  Tensor *img = ltL_push_new(L, LT_U8, 4, ishape);
  Tensor *lab = ltL_push_new(L, LT_I64, 1, &n);
  Tensor *coarse = lb == 2 ? ltL_push_new(L, LT_I64, 1, &n) : NULL;
  st = io_cifar_read(&h->ctx, s, lb, n, img->data, lab->data, coarse ? coarse->data : NULL);
  if (st) return lio_fail(L, h, path, st);
  lio_close(h);
  /* Two results for CIFAR-10, three for CIFAR-100 (coarse labels last). */
  return lb + 1;
}

/* read_cifar(path [, {classes = 10|100}]) -> images [N,3,32,32] uint8, labels int64 (as stored,
 * 0-based) [, coarse labels] | nil, message */
static int l_read_cifar(lua_State *L) {
  return read_cifar(L, luaL_checkstring(L, 1), NULL, 0, "read_cifar");
}

static int l_read_cifar_bytes(lua_State *L) {
  size_t n;
  const char *b = luaL_checklstring(L, 1, &n);
  return read_cifar(L, "<bytes>", b, n, "read_cifar_bytes");
}

static const luaL_Reg idx_fns[] = {{"read_idx", l_read_idx},
                                   {"read_idx_bytes", l_read_idx_bytes},
                                   {"read_cifar", l_read_cifar},
                                   {"read_cifar_bytes", l_read_cifar_bytes},
                                   {NULL, NULL}};

/* A part of lunette._io (src/lunette.c lists every part): IDX and CIFAR. */
int luaopen_lunette_io_idx(lua_State *L);
int luaopen_lunette_io_idx(lua_State *L) {
  luaL_newlib(L, idx_fns);
  return 1;
}
