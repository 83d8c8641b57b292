/* lio_png.c - Lua binding for PNG: read_png (any PNG to a uint8/int32 tensor) and write_png. */
#include <string.h>
#include "tensor/lbase.h"
#include "io/lio.h"
#include "io/io_png.h"

/* The whole file is read into memory before its chunks are walked; this caps that read. */
#define MAX_PNG_FILE ((uint64_t)1 << 30)

/* read_png and read_png_bytes (bytes, when not NULL, is argument 1). */
static int read_png(lua_State *L, const char *path, const uint8_t *bytes, size_t n,
                    const char *fname) {
  LioHandle *h = lio_handle(L, 2, fname);
  IoPngInfo info;
  LtStatus st = LT_OK;
  if (!bytes) {
    IoSrc *s;
    uint8_t *buf;
    if ((st = lio_open_file(h, path, &s))) return lio_fail(L, h, path, st);
    if ((st = io_src_slurp(&h->ctx, s, MAX_PNG_FILE, &buf, &n))) return lio_fail(L, h, path, st);
    if ((st = lio_own_buf(h, buf, n + 1))) return lio_fail(L, h, path, st);
    lio_release(h, s);
    bytes = buf;
  }
  /* Every chunk and size is validated before the output tensor is allocated. */
  if ((st = io_png_info(&h->ctx, bytes, n, &info))) return lio_fail(L, h, path, st);
  int64_t shape[3] = {info.h, info.w, info.channels};
  Tensor *t = ltL_push_new(L, info.dtype, info.channels == 1 ? 2 : 3, shape);
  if ((st = io_png_decode(&h->ctx, bytes, n, &info, t->data))) return lio_fail(L, h, path, st);
  lio_close(h);
  return 1;
}

/* read_png(path [, opts]) -> [H,W] or [H,W,C] tensor (uint8; int32 for 16-bit PNGs) | nil,
 * message */
static int l_read_png(lua_State *L) {
  return read_png(L, luaL_checkstring(L, 1), NULL, 0, "read_png");
}

static int l_read_png_bytes(lua_State *L) {
  size_t n;
  const char *b = luaL_checklstring(L, 1, &n);
  return read_png(L, "<bytes>", (const uint8_t *)b, n, "read_png_bytes");
}

/* write_png(path, image) -> true | nil, message. image: [H,W] or [H,W,C] with C in 1..4,
 * uint8, or float in [0, 1]. */
static int l_write_png(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  Tensor *t = ltL_check_tensor(L, 2, "write_png");
  char b[64];
  if (t->ndim != 2 && !(t->ndim == 3 && t->shape[2] >= 1 && t->shape[2] <= 4))
    return ltL_argerror(L, 2, "write_png",
                        "image of shape [H,W] or [H,W,C] with C in 1..4 expected, got %s",
                        ltL_shape_of(t, b, sizeof b));
  if (t->dtype != LT_U8 && !lt_dtype_is_float(t->dtype))
    return ltL_argerror(L, 2, "write_png", "uint8 or float image expected, got %s",
                        lt_dtype_name(t->dtype));
  /* Sizes are checked here, before a file is opened, so a refused image leaves nothing behind. */
  if (t->shape[0] < 1 || t->shape[1] < 1 || t->shape[0] > 0x7FFFFFFF || t->shape[1] > 0x7FFFFFFF ||
      (uint64_t)t->shape[0] * (uint64_t)t->shape[1] > ((uint64_t)1 << 32))
    return ltL_argerror(L, 2, "write_png", "image size %s is out of range",
                        ltL_shape_of(t, b, sizeof b));
  lua_settop(L, 2);
  LioHandle *h = lio_handle(L, 0, "write_png");
  /* Rows are read by flat index (tensor_row in io_png.c): a strided view is copied first. */
  Tensor *c = ltL_push_contiguous(L, 2);
  IoWriter *w;
  LtStatus st = lio_open_writer(h, path, &w);
  if (st) return lio_fail(L, h, path, st);
  st = io_png_encode(&h->ctx, c, w);
  if (st == LT_OK) st = io_writer_commit(&h->ctx, w);
  if (st) return lio_fail(L, h, path, st);
  lio_close(h);
  lua_pushboolean(L, 1);
  return 1;
}

static const luaL_Reg png_fns[] = {{"read_png", l_read_png},
                                   {"read_png_bytes", l_read_png_bytes},
                                   {"write_png", l_write_png},
                                   {NULL, NULL}};

/* A part of lunette._io (src/lunette.c lists every part): PNG. */
int luaopen_lunette_io_png(lua_State *L);
int luaopen_lunette_io_png(lua_State *L) {
  luaL_newlib(L, png_fns);
  return 1;
}
