/* lio_zip.c - Lua binding for .npz archives: read_npz, open_npz (one member at a time),
 * write_npz. */
#include <stdio.h>
#include <string.h>
#include "tensor/lbase.h"
#include "io/lio.h"
#include "io/io_npy.h"
#include "io/io_zip.h"

#define NPZ_MT "lunette.io.NpzArchive"

static void free_zip(IoCtx *c, void *p) {
  io_zip_close(c, p);
  io_free(c, p, sizeof(IoZip));
}

/* Opens a zip archive (a file, or bytes when bytes != NULL) owned by h. */
static LtStatus open_zip(LioHandle *h, const char *path, const void *bytes, size_t n, IoSrc **s,
                         IoZip **z) {
  LtStatus st = bytes ? io_src_mem(&h->ctx, bytes, n, s) : io_src_file(&h->ctx, path, s);
  if (st) return st;
  lio_own_src(h, *s);
  if (!(*z = io_calloc(&h->ctx, sizeof **z))) return LT_ENOMEM;
  if ((st = io_zip_open(&h->ctx, *s, *z))) {
    io_free(&h->ctx, *z, sizeof **z);
    return st;
  }
  lio_own(h, free_zip, *z);
  return LT_OK;
}

/* Members that hold arrays; others in the archive are ignored. */
static int is_array_member(const IoZipEntry *e) { return lio_has_suffix(e->name, ".npy"); }

/* Pushes the tensor stored in member e; on failure pushes nothing and the
 * message names the member. */
static LtStatus push_member(lua_State *L, LioHandle *h, IoSrc *s, const IoZipEntry *e) {
  IoSrc *m;
  IoArray a;
  LtStatus st = io_zip_member(&h->ctx, s, e, &m);
  if (st == LT_OK) {
    /* Owned while lio_push_array may raise; released right after, as only this call reads it. */
    lio_own_src(h, m);
    st = io_npy_parse(&h->ctx, m, 1, &a);
    if (st == LT_OK) st = lio_push_array(L, h, m, &a);
    /* Reading to the end also completes the member's CRC-32 check (io_zip_member). */
    if (st == LT_OK && (st = io_src_expect_end(&h->ctx, m, a.offset + a.nbytes))) lua_pop(L, 1);
    lio_release(h, m);
  }
  if (st && st != LT_EINTR) {
    char msg[IO_MSG];
    snprintf(msg, sizeof msg, "%s", h->ctx.msg);
    io_fail(&h->ctx, st, "member '%s': %s", e->name, msg);
  }
  return st;
}

/* The array name of a member: its name without ".npy". */
static void push_key(lua_State *L, const IoZipEntry *e) {
  lua_pushlstring(L, e->name, strlen(e->name) - 4);
}

/* read_npz and read_npz_bytes (bytes, when not NULL, is argument 1): every array member,
 * decompressed one at a time. */
static int read_all(lua_State *L, const char *path, const void *bytes, size_t n,
                    const char *fname) {
  LioHandle *h = lio_handle(L, 2, fname);
  IoSrc *s;
  IoZip *z;
  LtStatus st = open_zip(h, path, bytes, n, &s, &z);
  if (st) return lio_fail(L, h, path, st);
  lua_newtable(L);
  for (size_t i = 0; i < z->n; i++) {
    if (!is_array_member(&z->e[i])) continue;
    push_key(L, &z->e[i]);
    if ((st = push_member(L, h, s, &z->e[i]))) return lio_fail(L, h, path, st);
    lua_rawset(L, -3);
  }
  lio_close(h);
  return 1;
}

/* read_npz(path [, opts]) -> {name = tensor} | nil, message */
static int l_read_npz(lua_State *L) {
  return read_all(L, luaL_checkstring(L, 1), NULL, 0, "read_npz");
}

/* read_npz_bytes(string [, opts]) -> {name = tensor} | nil, message */
static int l_read_npz_bytes(lua_State *L) {
  size_t n;
  const char *b = luaL_checklstring(L, 1, &n);
  return read_all(L, "<bytes>", b, n, "read_npz_bytes");
}

/* ---- NpzArchive: an open archive read one member at a time ---------------- */

/* An open archive: its directory and source, owned by the handle h (the userdata's user value
 * keeps h alive); h is NULL once closed. */
typedef struct {
  IoZip *z;
  IoSrc *src;
  LioHandle *h;
} NpzArchive;

static NpzArchive *check_npz(lua_State *L, const char *fname) {
  NpzArchive *a = luaL_checkudata(L, 1, NPZ_MT);
  if (!a->h) luaL_error(L, "%s: the archive is closed", fname);
  return a;
}

/* open_npz(path [, opts]) -> NpzArchive | nil, message */
static int l_open_npz(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  lua_settop(L, 2);
  /* Created zeroed (closed) before anything is opened: a failure leaves a closed object for the
   * collector. */
  NpzArchive *a = lua_newuserdatauv(L, sizeof *a, 1);
  memset(a, 0, sizeof *a);
  luaL_setmetatable(L, NPZ_MT);
  LioHandle *h = lio_handle(L, 2, "open_npz");
  LtStatus st = open_zip(h, path, NULL, 0, &a->src, &a->z);
  if (st) return lio_fail(L, h, path, st);
  lua_setiuservalue(L, -2, 1);
  a->h = h;
  return 1;
}

/* a:names() -> sorted array of array names */
static int npz_names(lua_State *L) {
  NpzArchive *a = check_npz(L, "names");
  lua_newtable(L);
  lua_Integer k = 0;
  /* The directory is sorted by name (io_zip_open), so the names come out sorted. */
  for (size_t i = 0; i < a->z->n; i++)
    if (is_array_member(&a->z->e[i])) {
      push_key(L, &a->z->e[i]);
      lua_rawseti(L, -2, ++k);
    }
  return 1;
}

/* 1 when member e holds array `name` (len bytes): e's name is name plus a ".npy" in any case,
 * as is_array_member and push_key see it. */
static int holds_array(const IoZipEntry *e, const char *name, size_t len) {
  return is_array_member(e) && strlen(e->name) == len + 4 && !memcmp(e->name, name, len);
}

/* The member of array `name` (the string at idx), the one read_npz would keep under that key:
 * "<name>.npy" when present, else the last "<name>.NPY" (any case) in name order, as later
 * members overwrite earlier ones there. NULL when none; a name with a NUL byte matches no member
 * (io_zip_check_name refuses those). Any length: the Lua string is compared in place. */
static const IoZipEntry *find_member(lua_State *L, NpzArchive *a, int idx) {
  size_t len;
  const char *name = lua_tolstring(L, idx, &len);
  const IoZipEntry *e = NULL;
  if (memchr(name, 0, len)) return NULL;
  /* Lower case sorts after upper case, so an exact ".npy" is also the last of the variants. */
  lua_pushvalue(L, idx);
  lua_pushliteral(L, ".npy");
  lua_concat(L, 2);
  e = io_zip_find(a->z, lua_tostring(L, -1));
  lua_pop(L, 1);
  for (size_t i = a->z->n; !e && i-- > 0;)
    if (holds_array(&a->z->e[i], name, len)) e = &a->z->e[i];
  return e;
}

/* a:read(name) -> tensor | nil, message (only that member is decompressed) */
static int npz_read(lua_State *L) {
  NpzArchive *a = check_npz(L, "read");
  const char *name = luaL_checkstring(L, 2);
  const IoZipEntry *e = find_member(L, a, 2);
  if (!e) {
    lua_pushnil(L);
    lua_pushfstring(L, "no array named '%s' in the archive", name);
    return 2;
  }
  LtStatus st = push_member(L, a->h, a->src, e);
  if (st) return lio_fail_keep(L, a->h, "read", st);
  return 1;
}

/* a:info(name) -> {dtype=, shape=, compressed=, bytes=} without reading the data */
static int npz_info(lua_State *L) {
  NpzArchive *a = check_npz(L, "info");
  const char *name = luaL_checkstring(L, 2);
  const IoZipEntry *e = find_member(L, a, 2);
  IoSrc *m;
  IoArray arr;
  if (!e) return luaL_error(L, "info: no array named '%s' in the archive", name);
  LtStatus st = io_zip_member(&a->h->ctx, a->src, e, &m);
  if (st) return lio_fail_keep(L, a->h, "info", st);
  /* Only the header is read: info costs a few bytes of decompression, not the array. */
  st = io_npy_parse(&a->h->ctx, m, 1, &arr);
  io_src_close(&a->h->ctx, m);
  if (st) return lio_fail_keep(L, a->h, "info", st);
  lua_createtable(L, 0, 4);
  lua_pushstring(L, lt_dtype_name(io_stype_dtype(arr.st)));
  lua_setfield(L, -2, "dtype");
  lua_createtable(L, arr.ndim, 0);
  for (int i = 0; i < arr.ndim; i++) {
    lua_pushinteger(L, arr.shape[arr.fortran ? arr.ndim - 1 - i : i]);
    lua_rawseti(L, -2, i + 1);
  }
  lua_setfield(L, -2, "shape");
  lua_pushboolean(L, e->method == 8);
  lua_setfield(L, -2, "compressed");
  lua_pushinteger(L, (lua_Integer)e->usize);
  lua_setfield(L, -2, "bytes");
  return 1;
}

static int npz_len(lua_State *L) {
  NpzArchive *a = check_npz(L, "__len");
  lua_Integer k = 0;
  for (size_t i = 0; i < a->z->n; i++) k += is_array_member(&a->z->e[i]);
  lua_pushinteger(L, k);
  return 1;
}

static int npz_close(lua_State *L) {
  NpzArchive *a = luaL_checkudata(L, 1, NPZ_MT);
  if (a->h) lio_close(a->h);
  a->h = NULL;
  a->z = NULL;
  a->src = NULL;
  return 0;
}

static int npz_tostring(lua_State *L) {
  NpzArchive *a = luaL_checkudata(L, 1, NPZ_MT);
  if (!a->h)
    lua_pushliteral(L, "NpzArchive (closed)");
  else
    lua_pushfstring(L, "NpzArchive (%d members)", (int)a->z->n);
  return 1;
}

/* ---- writing ----------------------------------------------------------------- */

static void free_zipw(IoCtx *c, void *p) {
  io_zipw_free(c, p);
  io_free(c, p, sizeof(IoZipWriter));
}

/* Pushes the member name of array `name` (at idx): name .. ".npy", NUL
 * bytes and all. */
static const char *push_member_name(lua_State *L, int idx, size_t *len) {
  lua_pushvalue(L, idx);
  lua_pushliteral(L, ".npy");
  lua_concat(L, 2);
  return lua_tolstring(L, -1, len);
}

/* Raises unless array name (at idx) makes a member name the reader takes
 * (io_zip_check_name): checked for every name before the file is opened,
 * so a refused name leaves no file behind. */
static void check_array_name(lua_State *L, int arg, int idx) {
  IoCtx c;
  size_t len;
  /* A context of its own: the names are checked before the handle exists. */
  io_ctx_init(&c);
  const char *member = push_member_name(L, idx, &len);
  if (io_zip_check_name(&c, member, len) != LT_OK) ltL_argerror(L, arg, "write_npz", "%s", c.msg);
  lua_pop(L, 1);
}

/* Sorted array of the string keys of the table at arg, every value a
 * tensor NumPy can hold and every name one the reader takes; raises on
 * anything else. */
static void collect_arrays(lua_State *L, int arg) {
  luaL_checktype(L, arg, LUA_TTABLE);
  lua_newtable(L);
  lua_Integer n = 0;
  lua_pushnil(L);
  while (lua_next(L, arg)) {
    if (lua_type(L, -2) != LUA_TSTRING)
      ltL_argerror(L, arg, "write_npz", "array names must be strings");
    check_array_name(L, arg, lua_gettop(L) - 1);
    Tensor *t = ltL_totensor(L, -1);
    if (!t) ltL_argerror(L, arg, "write_npz", "'%s' is not a tensor", lua_tostring(L, -2));
    if (t->dtype == LT_BF16)
      ltL_argerror(L, arg, "write_npz", "'%s': NumPy has no bfloat16 (convert with :float())",
                   lua_tostring(L, -2));
    lua_pop(L, 1);
    lua_pushvalue(L, -1);
    lua_rawseti(L, -3, ++n);
  }
  /* Sorted names: the same table always writes the same archive. */
  lua_getglobal(L, "table");
  lua_getfield(L, -1, "sort");
  lua_remove(L, -2);
  lua_pushvalue(L, -2);
  lua_call(L, 1, 0);
}

/* Writes the tensor at tix as member "<name>.npy", the name at nix. */
static LtStatus write_member(lua_State *L, LioHandle *h, IoZipWriter *zw, int nix, int tix,
                             int deflate) {
  size_t nl;
  const char *full = push_member_name(L, nix, &nl);
  Tensor *c = ltL_push_contiguous(L, tix);
  /* collect_arrays refused bfloat16, the one dtype without a .npy header, so hn > 0. */
  uint8_t head[1024];
  size_t hn = io_npy_header(c->dtype, c->ndim, c->shape, head);
  /* A stored member's data starts 64-aligned and the .npy header is a multiple of 64 bytes, so the
   * array sits 64-aligned in the file; compressed data cannot be read in place, so it is not. */
  LtStatus st = io_zipw_begin(&h->ctx, zw, full, nl, deflate, deflate ? 0 : 64);
  if (st == LT_OK) st = io_zipw_data(&h->ctx, zw, head, hn);
  if (st == LT_OK)
    st = io_zipw_data(&h->ctx, zw, c->data, (size_t)lt_numel(c) * lt_dtype_size(c->dtype));
  if (st == LT_OK) st = io_zipw_end(&h->ctx, zw);
  /* The member name and the contiguous copy. */
  lua_pop(L, 2);
  return st;
}

/* write_npz(path, {name = tensor} [, {compress = bool}]) -> true | nil, message */
static int l_write_npz(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  int deflate = 0;
  if (!lua_isnoneornil(L, 3)) {
    luaL_checktype(L, 3, LUA_TTABLE);
    deflate = ltL_opt_bool(L, 3, "write_npz", "compress", 0);
  }
  lua_settop(L, 3);
  /* Everything is checked before the file is opened: a refused table leaves no file behind. */
  collect_arrays(L, 2);                         /* 4: sorted names */
  LioHandle *h = lio_handle(L, 3, "write_npz"); /* 5 */
  IoWriter *w;
  LtStatus st = lio_open_writer(h, path, &w);
  if (st) return lio_fail(L, h, path, st);
  IoZipWriter *zw = io_alloc(&h->ctx, sizeof *zw);
  if (!zw) return lio_fail(L, h, path, LT_ENOMEM);
  io_zipw_init(zw, w);
  lio_own(h, free_zipw, zw);
  lua_Integer n = (lua_Integer)lua_rawlen(L, 4);
  for (lua_Integer i = 1; i <= n && st == LT_OK; i++) {
    lua_rawgeti(L, 4, i);
    lua_pushvalue(L, -1);
    lua_rawget(L, 2);
    st = write_member(L, h, zw, lua_gettop(L) - 1, lua_gettop(L), deflate);
    lua_pop(L, 2);
  }
  if (st == LT_OK) st = io_zipw_finish(&h->ctx, zw);
  if (st == LT_OK) st = io_writer_commit(&h->ctx, w);
  if (st) return lio_fail(L, h, path, st);
  lio_close(h);
  lua_pushboolean(L, 1);
  return 1;
}

static const luaL_Reg npz_methods[] = {{"names", npz_names},
                                       {"read", npz_read},
                                       {"info", npz_info},
                                       {"close", npz_close},
                                       {NULL, NULL}};
static const luaL_Reg npz_meta[] = {{"__len", npz_len},
                                    {"__gc", npz_close},
                                    {"__close", npz_close},
                                    {"__tostring", npz_tostring},
                                    {NULL, NULL}};
static const luaL_Reg npz_fns[] = {{"read_npz", l_read_npz},
                                   {"read_npz_bytes", l_read_npz_bytes},
                                   {"open_npz", l_open_npz},
                                   {"write_npz", l_write_npz},
                                   {NULL, NULL}};

/* A part of lunette._io (src/lunette.c lists every part): .npz, with the metatable of
 * the NpzArchive objects its open function returns. */
int luaopen_lunette_io_zip(lua_State *L);
int luaopen_lunette_io_zip(lua_State *L) {
  luaL_newmetatable(L, NPZ_MT);
  luaL_setfuncs(L, npz_meta, 0);
  luaL_newlib(L, npz_methods);
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
  luaL_newlib(L, npz_fns);
  return 1;
}
