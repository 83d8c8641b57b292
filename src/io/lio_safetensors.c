/* lio_safetensors.c - Lua binding for safetensors: read_safetensors, open_safetensors (per-tensor
 * reads), write_safetensors. */
#include <stdlib.h>
#include <string.h>
#include "tensor/lbase.h"
#include "io/lio.h"
#include "io/io_safetensors.h"

#define ST_MT "lunette.io.SafetensorsFile"

static void free_st(IoCtx *c, void *p) {
  io_st_free(c, p);
  io_free(c, p, sizeof(IoSafetensors));
}

/* Opens the file (or the bytes, when not NULL) and parses its header; source and parse result
 * are owned by h, so a later raise frees them. */
static LtStatus open_st(LioHandle *h, const char *path, const void *bytes, size_t n, IoSrc **s,
                        IoSafetensors **f) {
  LtStatus st = bytes ? io_src_mem(&h->ctx, bytes, n, s) : io_src_file(&h->ctx, path, s);
  if (st) return st;
  lio_own_src(h, *s);
  if (!(*f = io_calloc(&h->ctx, sizeof **f))) return LT_ENOMEM;
  if ((st = io_st_parse(&h->ctx, *s, *f))) {
    io_free(&h->ctx, *f, sizeof **f);
    return st;
  }
  lio_own(h, free_st, *f);
  return LT_OK;
}

/* The header entry as an IoArray: safetensors data is little-endian and C-ordered, and the
 * parser made the offsets absolute. */
static LtStatus push_tensor(lua_State *L, LioHandle *h, IoSrc *s, const IoStTensor *t) {
  IoArray a;
  memset(&a, 0, sizeof a);
  a.st = t->st;
  a.ndim = t->ndim;
  memcpy(a.shape, t->shape, sizeof a.shape);
  a.offset = t->begin;
  a.nbytes = t->end - t->begin;
  return lio_push_array(L, h, s, &a);
}

static void push_meta(lua_State *L, const IoSafetensors *f) {
  lua_createtable(L, 0, (int)f->nmeta);
  for (size_t i = 0; i < f->nmeta; i++) {
    lua_pushlstring(L, f->meta[i].k, f->meta[i].kn);
    lua_pushlstring(L, f->meta[i].v, f->meta[i].vn);
    lua_rawset(L, -3);
  }
}

/* read_safetensors and read_safetensors_bytes (bytes, when not NULL, is argument 1). */
static int read_all(lua_State *L, const char *path, const void *bytes, size_t n,
                    const char *fname) {
  LioHandle *h = lio_handle(L, 2, fname);
  IoSrc *s;
  IoSafetensors *f;
  LtStatus st = open_st(h, path, bytes, n, &s, &f);
  if (st) return lio_fail(L, h, path, st);
  lua_createtable(L, 0, (int)f->n);
  for (size_t i = 0; i < f->n; i++) {
    lua_pushlstring(L, f->t[i].name, f->t[i].name_len);
    if ((st = push_tensor(L, h, s, &f->t[i]))) return lio_fail(L, h, path, st);
    lua_rawset(L, -3);
  }
  push_meta(L, f);
  lio_close(h);
  return 2;
}

/* read_safetensors(path [, opts]) -> {name = tensor}, {metadata} | nil, message */
static int l_read(lua_State *L) {
  return read_all(L, luaL_checkstring(L, 1), NULL, 0, "read_safetensors");
}

static int l_read_bytes(lua_State *L) {
  size_t n;
  const char *b = luaL_checklstring(L, 1, &n);
  return read_all(L, "<bytes>", b, n, "read_safetensors_bytes");
}

/* ---- SafetensorsFile: tensors read one at a time --------------------------------- */

/* An open file: its parsed header and source, owned by the handle h (the userdata's user value
 * keeps h alive); h is NULL once closed. */
typedef struct {
  IoSafetensors *f;
  IoSrc *src;
  LioHandle *h;
} StFile;

static StFile *check_file(lua_State *L, const char *fname) {
  StFile *f = luaL_checkudata(L, 1, ST_MT);
  if (!f->h) luaL_error(L, "%s: the safetensors file is closed", fname);
  return f;
}

/* open_safetensors(path) -> SafetensorsFile | nil, message */
static int l_open(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  lua_settop(L, 2);
  /* Created zeroed (closed) before anything is opened: a failure leaves a closed object for the
   * collector. */
  StFile *f = lua_newuserdatauv(L, sizeof *f, 1);
  memset(f, 0, sizeof *f);
  luaL_setmetatable(L, ST_MT);
  LioHandle *h = lio_handle(L, 2, "open_safetensors");
  LtStatus st = open_st(h, path, NULL, 0, &f->src, &f->f);
  if (st) return lio_fail(L, h, path, st);
  lua_setiuservalue(L, -2, 1);
  f->h = h;
  return 1;
}

/* A linear search: called once per read, next to reading the tensor's bytes. */
static const IoStTensor *find(const IoSafetensors *f, const char *name, size_t n) {
  for (size_t i = 0; i < f->n; i++)
    if (f->t[i].name_len == n && !memcmp(f->t[i].name, name, n)) return &f->t[i];
  return NULL;
}

/* f:names() -> names in the order of their data */
static int st_names(lua_State *L) {
  StFile *f = check_file(L, "names");
  lua_createtable(L, (int)f->f->n, 0);
  for (size_t i = 0; i < f->f->n; i++) {
    lua_pushlstring(L, f->f->t[i].name, f->f->t[i].name_len);
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  return 1;
}

/* f:info(name) -> {dtype=, shape=, bytes=} | nil */
static int st_info(lua_State *L) {
  StFile *f = check_file(L, "info");
  size_t n;
  const char *name = luaL_checklstring(L, 2, &n);
  const IoStTensor *t = find(f->f, name, n);
  if (!t) {
    lua_pushnil(L);
    return 1;
  }
  lua_createtable(L, 0, 4);
  lua_pushstring(L, lt_dtype_name(io_stype_dtype(t->st)));
  lua_setfield(L, -2, "dtype");
  lua_pushstring(L, io_stype_name(t->st));
  lua_setfield(L, -2, "stored");
  lua_createtable(L, t->ndim, 0);
  for (int i = 0; i < t->ndim; i++) {
    lua_pushinteger(L, t->shape[i]);
    lua_rawseti(L, -2, i + 1);
  }
  lua_setfield(L, -2, "shape");
  lua_pushinteger(L, (lua_Integer)(t->end - t->begin));
  lua_setfield(L, -2, "bytes");
  return 1;
}

/* f:read(name) -> tensor | nil, message */
static int st_read(lua_State *L) {
  StFile *f = check_file(L, "read");
  size_t n;
  const char *name = luaL_checklstring(L, 2, &n);
  const IoStTensor *t = find(f->f, name, n);
  if (!t) {
    lua_pushnil(L);
    lua_pushfstring(L, "no tensor named '%s' in the file", name);
    return 2;
  }
  LtStatus st = push_tensor(L, f->h, f->src, t);
  if (st) return lio_fail_keep(L, f->h, "read", st);
  return 1;
}

static int st_metadata(lua_State *L) {
  push_meta(L, check_file(L, "metadata")->f);
  return 1;
}

static int st_len(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)check_file(L, "__len")->f->n);
  return 1;
}

static int st_close(lua_State *L) {
  StFile *f = luaL_checkudata(L, 1, ST_MT);
  if (f->h) lio_close(f->h);
  f->h = NULL;
  f->f = NULL;
  f->src = NULL;
  return 0;
}

static int st_tostring(lua_State *L) {
  StFile *f = luaL_checkudata(L, 1, ST_MT);
  if (!f->h)
    lua_pushliteral(L, "SafetensorsFile (closed)");
  else
    lua_pushfstring(L, "SafetensorsFile (%d tensors)", (int)f->f->n);
  return 1;
}

/* ---- writing ----------------------------------------------------------------------- */

typedef struct {
  IoStEntry e;
  int idx;
} WEntry; /* idx: stack slot of the contiguous tensor */

/* Write order: widest dtype first, so with the 8-aligned header every tensor starts at a
 * multiple of its element size; then by name, so the same table always gives the same file. */
static int cmp_entry(const void *a, const void *b) {
  const IoStEntry *x = &((const WEntry *)a)->e, *y = &((const WEntry *)b)->e;
  size_t sx = lt_dtype_size(x->dt), sy = lt_dtype_size(y->dt);
  if (sx != sy) return sx > sy ? -1 : 1; /* widest first keeps every tensor aligned */
  size_t n = x->name_len < y->name_len ? x->name_len : y->name_len;
  int r = memcmp(x->name, y->name, n);
  return r ? r : (x->name_len > y->name_len) - (x->name_len < y->name_len);
}

/* Pushes contiguous copies of the tensors of table arg and fills e;
 * raises on a name the reader would not give back (io_st_check_name). The copies stay on the
 * stack (the caller reserved room): they keep the data alive until it is written, and e[].idx
 * finds them. */
static size_t collect(lua_State *L, int arg, IoCtx *ctx, WEntry *e, size_t cap) {
  size_t n = 0, len;
  lua_pushnil(L);
  while (lua_next(L, arg)) {
    if (lua_type(L, -2) != LUA_TSTRING)
      ltL_argerror(L, arg, "write_safetensors", "tensor names must be strings");
    const char *name = lua_tolstring(L, -2, &len);
    if (io_st_check_name(ctx, name, len) != LT_OK)
      ltL_argerror(L, arg, "write_safetensors", "%s", ctx->msg);
    if (!ltL_totensor(L, -1))
      ltL_argerror(L, arg, "write_safetensors", "'%s' is not a tensor", lua_tostring(L, -2));
    /* cap is the count the caller made of the same table; more can only mean it changed. */
    if (n == cap) ltL_argerror(L, arg, "write_safetensors", "too many tensors");
    Tensor *c = ltL_push_contiguous(L, lua_gettop(L));
    lua_insert(L, -3); /* keep the copy below the key */
    e[n].e.name = lua_tolstring(L, -2, &e[n].e.name_len);
    e[n].e.dt = c->dtype;
    e[n].e.ndim = c->ndim;
    e[n].e.shape = c->shape;
    e[n].idx = lua_gettop(L) - 2;
    n++;
    lua_pop(L, 1);
  }
  return n;
}

/* The metadata table as key/value pairs, pointing into its strings (alive in argument arg).
 * Counted first, then filled, in one allocation the caller frees. */
static IoStMeta *collect_meta(lua_State *L, int arg, IoCtx *c, size_t *nm) {
  *nm = 0;
  if (lua_isnoneornil(L, arg)) return NULL;
  luaL_checktype(L, arg, LUA_TTABLE);
  size_t cap = 0;
  lua_pushnil(L);
  while (lua_next(L, arg)) {
    cap++;
    lua_pop(L, 1);
  }
  IoStMeta *m = io_alloc(c, (cap ? cap : 1) * sizeof *m);
  if (!m) luaL_error(L, "write_safetensors: not enough memory");
  lua_pushnil(L);
  while (lua_next(L, arg)) {
    if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING) {
      /* Not owned by a handle yet: freed before raising. */
      io_free(c, m, (cap ? cap : 1) * sizeof *m);
      ltL_argerror(L, arg, "write_safetensors", "metadata must map strings to strings");
    }
    m[*nm].k = lua_tolstring(L, -2, &m[*nm].kn);
    m[*nm].v = lua_tolstring(L, -1, &m[*nm].vn);
    (*nm)++;
    lua_pop(L, 1);
  }
  return m;
}

/* Everything write_safetensors allocates, in one record the handle owns. */
typedef struct {
  uint8_t *p;
  size_t cap;
  IoStMeta *m;
  size_t mcap;
  WEntry *e;
  size_t ecap;
} WScratch;
static void free_scratch(IoCtx *c, void *p) {
  WScratch *s = p;
  io_free(c, s->p, s->cap);
  io_free(c, s->m, s->mcap);
  io_free(c, s->e, s->ecap);
  io_free(c, s, sizeof *s);
}

/* write_safetensors(path, {name = tensor} [, {key = "value"}]) -> true | nil, message */
static int l_write(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  luaL_checktype(L, 2, LUA_TTABLE);
  lua_settop(L, 3);
  LioHandle *h = lio_handle(L, 0, "write_safetensors"); /* 4 */
  WScratch *sc = io_calloc(&h->ctx, sizeof *sc);
  if (!sc) return lio_fail(L, h, path, LT_ENOMEM);
  lio_own(h, free_scratch, sc);
  size_t cap = 0, nm, len;
  lua_pushnil(L);
  while (lua_next(L, 2)) {
    cap++;
    lua_pop(L, 1);
  }
  sc->ecap = (cap ? cap : 1) * sizeof(WEntry);
  if (!(sc->e = io_alloc(&h->ctx, sc->ecap))) return lio_fail(L, h, path, LT_ENOMEM);
  /* collect leaves one contiguous copy per tensor on the stack, plus a key and a value in
   * flight. */
  /* Lua's stack holds at most LUAI_MAXSTACK (1,000,000) slots: refuse past that clearly. The
   * stack check once stopped at 100,000 tensors' worth and 200,000 tensors overflowed it. */
  if (cap > 400000)
    return ltL_argerror(L, 2, "write_safetensors", "%zu tensors, at most 400000 per file", cap);
  luaL_checkstack(L, 2 * (int)cap + 20, "too many tensors");
  size_t n = collect(L, 2, &h->ctx, sc->e, cap);
  sc->m = collect_meta(L, 3, &h->ctx, &nm);
  sc->mcap = (nm ? nm : 1) * sizeof(IoStMeta);
  if (!nm) {
    io_free(&h->ctx, sc->m, sc->mcap);
    sc->m = NULL;
  }
  /* Sorted by write order; idx still finds each entry's copy on the stack. */
  qsort(sc->e, n, sizeof *sc->e, cmp_entry);
  IoStEntry *flat = io_alloc(&h->ctx, (n ? n : 1) * sizeof *flat);
  if (!flat) return lio_fail(L, h, path, LT_ENOMEM);
  for (size_t i = 0; i < n; i++) flat[i] = sc->e[i].e;
  /* The header is complete and checked before the file is opened: a refused name or an oversized
   * header leaves nothing behind. */
  LtStatus st = io_st_header(&h->ctx, flat, n, sc->m, nm, &sc->p, &len, &sc->cap);
  io_free(&h->ctx, flat, (n ? n : 1) * sizeof *flat);
  if (st) return lio_fail(L, h, path, st);
  IoWriter *w;
  if ((st = lio_open_writer(h, path, &w))) return lio_fail(L, h, path, st);
  st = io_writer_write(&h->ctx, w, sc->p, len);
  for (size_t i = 0; i < n && st == LT_OK; i++) {
    Tensor *t = ltL_totensor(L, sc->e[i].idx);
    st = io_writer_write(&h->ctx, w, t->data, (size_t)lt_numel(t) * lt_dtype_size(t->dtype));
  }
  if (st == LT_OK) st = io_writer_commit(&h->ctx, w);
  if (st) return lio_fail(L, h, path, st);
  lio_close(h);
  lua_pushboolean(L, 1);
  return 1;
}

static const luaL_Reg st_methods[] = {{"names", st_names}, {"info", st_info},
                                      {"read", st_read},   {"metadata", st_metadata},
                                      {"close", st_close}, {NULL, NULL}};
static const luaL_Reg st_meta[] = {{"__len", st_len},
                                   {"__gc", st_close},
                                   {"__close", st_close},
                                   {"__tostring", st_tostring},
                                   {NULL, NULL}};
static const luaL_Reg st_fns[] = {{"read_safetensors", l_read},
                                  {"read_safetensors_bytes", l_read_bytes},
                                  {"open_safetensors", l_open},
                                  {"write_safetensors", l_write},
                                  {NULL, NULL}};

/* A part of lunette._io (src/lunette.c lists every part): safetensors, with the metatable of
 * the SafetensorsFile objects its open function returns. */
int luaopen_lunette_io_safetensors(lua_State *L);
int luaopen_lunette_io_safetensors(lua_State *L) {
  luaL_newmetatable(L, ST_MT);
  luaL_setfuncs(L, st_meta, 0);
  luaL_newlib(L, st_methods);
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
  luaL_newlib(L, st_fns);
  return 1;
}
