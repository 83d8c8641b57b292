/* lio_pt.c - Lua binding for PyTorch checkpoints: load_pt (restricted unpickler to Lua values and
 * tensor views) and save_pt. */
#include <stdio.h>
#include <string.h>
#include "tensor/lbase.h"
#include "io/lio.h"
#include "io/io_pt.h"
#include "io/io_safetensors.h"

/* Nesting limit in both directions: every level recurses in C and holds Lua stack slots, and no
 * state dict comes near it. */
#define MAX_DEPTH 200

static void free_pt(IoCtx *c, void *p) {
  io_pt_close(c, p);
  io_free(c, p, sizeof(IoPt));
}

/* ---- loading: the unpickled graph to Lua values ---------------------------- */

/* The conversion of the unpickled graph to Lua values. storages: a table of 1-d tensors, one per
 * storage, that tensor values are views of; memo: PkObj pointer -> its Lua value, so a node
 * shared or reached through a cycle becomes one Lua value, as in Python. */
typedef struct {
  lua_State *L;
  const IoPt *pt;
  int storages, memo, pairs; /* stack slots (pairs 0: no ordered metatable) */
  IoCtx *c;
} Conv;

static LtStatus push_obj(Conv *cv, const PkObj *o, int depth);

static LtStatus push_tensor(Conv *cv, const PkObj *o) {
  lua_State *L = cv->L;
  const PkTensor *pt = &cv->pt->pk.tensors[o->id];
  lua_rawgeti(L, cv->storages, pt->storage + 1);
  /* The unpickler checked the view against the storage (rebuild_tensor), so it is made without
   * copying. */
  Tensor *base = ltL_totensor(L, -1), v = *base;
  v.data = (char *)base->data + (size_t)pt->offset * lt_dtype_size(base->dtype);
  v.ndim = pt->ndim;
  memcpy(v.shape, pt->shape, sizeof v.shape);
  memcpy(v.stride, pt->stride, sizeof v.stride);
  ltL_push_view(L, -1, &v);
  lua_remove(L, -2);
  return LT_OK;
}

/* Dict keys are str, bytes, int or bool (the unpickler checked). */
static void push_key(lua_State *L, const PkObj *k) {
  if (k->kind == PK_INT)
    lua_pushinteger(L, k->u.i);
  else if (k->kind == PK_BOOL)
    lua_pushboolean(L, (int)k->u.i);
  else
    lua_pushlstring(L, k->u.s.p, k->u.s.n);
}

/* Fills the table at the top with o's pairs. Lua tables forget insertion order and Python dicts
 * do not, so with load_pt's pairs function each dict gets a metatable whose `keys` lists its
 * keys in file order and whose __pairs walks them. */
static LtStatus push_dict(Conv *cv, const PkObj *o, int depth) {
  lua_State *L = cv->L;
  int t = lua_gettop(L), keys = 0;
  if (cv->pairs) {
    lua_createtable(L, 0, 3);                     /* t+1: metatable */
    lua_createtable(L, (int)(o->u.seq.n / 2), 0); /* t+2: key order */
    lua_pushvalue(L, -1);
    lua_setfield(L, -3, "keys");
    lua_pushvalue(L, cv->pairs);
    lua_setfield(L, -3, "__pairs");
    lua_pushstring(L, o->ordered ? "OrderedDict" : "dict");
    lua_setfield(L, -3, "__name");
    lua_pushvalue(L, t);
    lua_pushvalue(L, t + 1);
    lua_setmetatable(L, -2);
    lua_pop(L, 1);
  }
  for (size_t i = 0; i + 1 < o->u.seq.n; i += 2) {
    push_key(L, o->u.seq.v[i]);
    lua_pushvalue(L, -1);
    /* A key repeated in the pickle keeps its first place in `keys` and its last value, as in
     * Python. */
    int fresh = lua_rawget(L, t) == LUA_TNIL;
    lua_pop(L, 1);
    LtStatus st = push_obj(cv, o->u.seq.v[i + 1], depth + 1);
    if (st) return st;
    if (fresh && cv->pairs) {
      lua_pushvalue(L, -2);
      lua_rawseti(L, t + 2, ++keys);
    }
    lua_rawset(L, t);
  }
  lua_settop(L, t);
  return LT_OK;
}

/* Tuples and lists become arrays, dicts tables, tensors views, each registered in the memo;
 * depth bounds the recursion. */
static LtStatus push_container(Conv *cv, const PkObj *o, int depth) {
  lua_State *L = cv->L;
  if (depth > MAX_DEPTH)
    return io_fail(cv->c, LT_EVALUE, "data.pkl nests containers deeper than %d levels", MAX_DEPTH);
  if (o->kind == PK_TENSOR)
    push_tensor(cv, o);
  else
    lua_createtable(L, o->kind == PK_DICT ? 0 : (int)o->u.seq.n,
                    o->kind == PK_DICT ? (int)(o->u.seq.n / 2) : 0);
  lua_pushvalue(L, -1);
  lua_rawsetp(L, cv->memo, o); /* registered first: shared and cyclic references resolve to it */
  if (o->kind == PK_TENSOR) return LT_OK;
  if (o->kind == PK_DICT) return push_dict(cv, o, depth);
  for (size_t i = 0; i < o->u.seq.n; i++) {
    LtStatus st = push_obj(cv, o->u.seq.v[i], depth + 1);
    if (st) return st;
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  return LT_OK;
}

/* Scalars are pushed as they are; containers and tensors go through the memo. */
static LtStatus push_obj(Conv *cv, const PkObj *o, int depth) {
  lua_State *L = cv->L;
  /* Each level of recursion keeps a few slots; raises if Lua cannot grow the stack. */
  luaL_checkstack(L, 10, "data.pkl nests too deeply");
  switch (o->kind) {
  case PK_NONE: lio_push_null(L); return LT_OK;
  case PK_BOOL: lua_pushboolean(L, (int)o->u.i); return LT_OK;
  case PK_INT: lua_pushinteger(L, o->u.i); return LT_OK;
  case PK_FLOAT: lua_pushnumber(L, o->u.f); return LT_OK;
  case PK_STR:
  case PK_BYTES: lua_pushlstring(L, o->u.s.p, o->u.s.n); return LT_OK;
  case PK_STORAGE: lua_rawgeti(L, cv->storages, o->id + 1); return LT_OK;
  case PK_GLOBAL:
    return io_fail(cv->c, LT_EVALUE, "data.pkl returns a bare class or function, not data");
  default: break;
  }
  if (lua_rawgetp(L, cv->memo, o) != LUA_TNIL) return LT_OK;
  lua_pop(L, 1);
  return push_container(cv, o, depth);
}

/* Pushes every storage of the checkpoint as a 1-d tensor into a new table. */
/* Every storage is read, even one no tensor views: a pickle may hold a bare storage. */
static LtStatus push_storages(lua_State *L, LioHandle *h, IoSrc *s, const IoPt *pt) {
  lua_createtable(L, (int)pt->pk.nstorages, 0);
  for (size_t i = 0; i < pt->pk.nstorages; i++) {
    const PkStorage *ps = &pt->pk.storages[i];
    int64_t n = (int64_t)ps->numel;
    Tensor *t = ltL_push_new(L, io_stype_dtype(ps->st), 1, &n);
    LtStatus st = io_pt_read_storage(&h->ctx, s, pt, i, t->data);
    if (st) return st;
    lua_rawseti(L, -2, (lua_Integer)i + 1);
  }
  return LT_OK;
}

/* load_pt and load_pt_bytes. Stack slots: 1 path (or the bytes), 2 options, 3 the pairs function
 * or nil, 4 handle, 5 storages, 6 memo. */
static int load(lua_State *L, const char *path, const void *bytes, size_t n, const char *fname) {
  lua_settop(L, 3);
  if (!lua_isnil(L, 3)) luaL_checktype(L, 3, LUA_TFUNCTION);
  LioHandle *h = lio_handle(L, 2, fname); /* 4 */
  IoSrc *s;
  IoPt *pt = NULL;
  LtStatus st = bytes ? io_src_mem(&h->ctx, bytes, n, &s) : io_src_file(&h->ctx, path, &s);
  if (st) return lio_fail(L, h, path, st);
  lio_own_src(h, s);
  if (!(pt = io_calloc(&h->ctx, sizeof *pt))) return lio_fail(L, h, path, LT_ENOMEM);
  if ((st = io_pt_open(&h->ctx, s, pt))) {
    io_free(&h->ctx, pt, sizeof *pt);
    return lio_fail(L, h, path, st);
  }
  lio_own(h, free_pt, pt);
  if ((st = push_storages(L, h, s, pt))) return lio_fail(L, h, path, st); /* 5 */
  lua_newtable(L);                                                        /* 6: memo */
  Conv cv = {L, pt, 5, 6, lua_isnil(L, 3) ? 0 : 3, &h->ctx};
  if ((st = push_obj(&cv, pt->pk.root, 0))) return lio_fail(L, h, path, st);
  lio_close(h);
  return 1;
}

/* load_pt(path [, opts [, pairs]]) -> value | nil, message. pairs, when
 * given, becomes the __pairs of every dict's metatable (whose `keys`
 * field lists the keys in file order). */
static int l_load_pt(lua_State *L) { return load(L, luaL_checkstring(L, 1), NULL, 0, "load_pt"); }

static int l_load_pt_bytes(lua_State *L) {
  size_t n;
  const char *b = luaL_checklstring(L, 1, &n);
  return load(L, "<bytes>", b, n, "load_pt_bytes");
}

/* ---- saving: Lua values to a pickle and storage records ------------------- */

/* The part of one storage that the saved tensors touch: elements [lo, hi). Only that part is
 * written, so saving a small view does not write the whole tensor it came from. */
typedef struct {
  const LtStorage *s;
  LtDtype dt;
  int64_t lo, hi;
} Span;

/* save_value walks the value twice: first (pw NULL) to check everything and collect the spans,
 * so that every error is raised before a file exists; then to emit the pickle. */
typedef struct {
  lua_State *L;
  LioHandle *h;
  int map, visiting; /* stack slots: storage userdata -> index, tables being walked */
  Span *spans;
  size_t n, cap;
  PkWriter *pw; /* NULL in the first pass */
} Saver;

static void free_saver(IoCtx *c, void *p) {
  Saver *s = p;
  io_free(c, s->spans, s->cap * sizeof *s->spans);
  io_free(c, s, sizeof *s);
}
static void free_pkw(IoCtx *c, void *p) {
  pkw_free(p);
  io_free(c, p, sizeof(PkWriter));
}

static void save_value(Saver *sv, int idx, int depth);

/* First pass: the storage of the tensor at idx and the element range the
 * tensor touches in it. */
static void note_tensor(Saver *sv, int idx, const Tensor *t) {
  lua_State *L = sv->L;
  lua_getiuservalue(L, idx, 1);
  const LtStorage *s = lua_touserdata(L, -1);
  size_t es = lt_dtype_size(t->dtype);
  /* lo: the view's first element in the storage; hi: one past its last (strides are never
   * negative, so that is the farthest one). */
  int64_t lo = (int64_t)(((const char *)t->data - (const char *)s->ptr) / (ptrdiff_t)es),
          hi = lo + 1;
  for (int i = 0; i < t->ndim; i++) hi += t->shape[i] > 0 ? (t->shape[i] - 1) * t->stride[i] : 0;
  if (lt_numel(t) == 0) hi = lo;
  lua_pushvalue(L, -1);
  /* The storage userdata is the key: views of one storage share one span and one record, as in
   * torch.save. */
  if (lua_rawget(L, sv->map) == LUA_TNUMBER) {
    Span *sp = &sv->spans[lua_tointeger(L, -1)];
    if (sp->dt != t->dtype) luaL_error(L, "save_pt: tensors of different dtypes share a storage");
    if (lo < sp->lo) sp->lo = lo;
    if (hi > sp->hi) sp->hi = hi;
    lua_pop(L, 2);
    return;
  }
  lua_pop(L, 1);
  if (sv->n == sv->cap) {
    size_t cap = sv->cap ? 2 * sv->cap : 16;
    Span *a = io_alloc(&sv->h->ctx, cap * sizeof *a);
    if (!a) luaL_error(L, "save_pt: %s", sv->h->ctx.msg);
    if (sv->n) memcpy(a, sv->spans, sv->n * sizeof *a);
    io_free(&sv->h->ctx, sv->spans, sv->cap * sizeof *a);
    sv->spans = a;
    sv->cap = cap;
  }
  sv->spans[sv->n] = (Span){s, t->dtype, lo, hi};
  lua_pushinteger(L, (lua_Integer)sv->n++);
  lua_rawset(L, sv->map);
}

static void emit_tensor(Saver *sv, int idx, const Tensor *t) {
  lua_State *L = sv->L;
  char key[24];
  lua_getiuservalue(L, idx, 1);
  lua_rawget(L, sv->map);
  size_t k = (size_t)lua_tointeger(L, -1);
  lua_pop(L, 1);
  const Span *sp = &sv->spans[k];
  int64_t off = (int64_t)(((const char *)t->data - (const char *)sp->s->ptr) /
                          (ptrdiff_t)lt_dtype_size(t->dtype));
  snprintf(key, sizeof key, "%zu", k);
  /* The record holds the span only, so the offset is taken from its start. */
  pkw_tensor(sv->pw, key, t->dtype, (uint64_t)(sp->hi - sp->lo), off - sp->lo, t->ndim, t->shape,
             t->stride);
}

static void emit_string(Saver *sv, int idx) {
  size_t n;
  const char *s = lua_tolstring(sv->L, idx, &n);
  /* Checked in both passes: pass 1 raises before a file exists. */
  if (!io_utf8_valid((const uint8_t *)s, n))
    ltL_argerror(sv->L, 2, "save_pt", "string is not valid UTF-8 (Python would refuse it)");
  if (sv->pw) pkw_str(sv->pw, s, n);
}

/* Sort order of dict keys: booleans, then numbers, then strings (bytewise). Keys without a
 * recorded order are sorted because next()'s order varies from run to run, and the same table
 * must save to the same bytes. */
static int key_rank(lua_State *L, int i) {
  int t = lua_type(L, i);
  return t == LUA_TBOOLEAN ? 0 : t == LUA_TNUMBER ? 1 : 2;
}
/* table.sort's comparator in key_rank's order. Strings compare bytewise (memcmp): Lua's own <
 * uses strcoll, which depends on the locale. */
static int key_less(lua_State *L) {
  int ra = key_rank(L, 1), rb = key_rank(L, 2);
  if (ra != rb)
    lua_pushboolean(L, ra < rb);
  else if (ra == 0)
    lua_pushboolean(L, !lua_toboolean(L, 1) && lua_toboolean(L, 2));
  else if (ra == 1)
    lua_pushboolean(L, lua_compare(L, 1, 2, LUA_OPLT));
  else {
    size_t na, nb;
    const char *a = lua_tolstring(L, 1, &na), *b = lua_tolstring(L, 2, &nb);
    int r = memcmp(a, b, na < nb ? na : nb);
    lua_pushboolean(L, r < 0 || (r == 0 && na < nb));
  }
  return 1;
}

/* Pushes the keys of the table at idx in save order: the metatable's `keys`
 * (load_pt's file order) first, then the others sorted. */
static void push_sorted_keys(lua_State *L, int idx) {
  lua_newtable(L);
  int out = lua_gettop(L);
  lua_Integer n = 0;
  lua_newtable(L); /* out + 1: set of keys already placed */
  if (luaL_getmetafield(L, idx, "keys") == LUA_TTABLE) {
    for (lua_Integer i = 1; lua_rawgeti(L, -1, i) != LUA_TNIL; i++) {
      lua_pushvalue(L, -1);
      /* A key recorded at load time but since removed from the table is skipped. */
      if (lua_rawget(L, idx) == LUA_TNIL) {
        lua_pop(L, 2);
        continue;
      }
      lua_pop(L, 1);
      lua_pushvalue(L, -1);
      lua_pushboolean(L, 1);
      lua_rawset(L, out + 1);
      lua_rawseti(L, out, ++n);
    }
    lua_pop(L, 1);
  }
  lua_settop(L, out + 1);
  lua_newtable(L); /* out + 2: the other keys */
  lua_Integer m = 0;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_pop(L, 1);
    lua_pushvalue(L, -1);
    if (lua_rawget(L, out + 1) == LUA_TNIL) {
      lua_pushvalue(L, -2);
      lua_rawseti(L, out + 2, ++m);
    }
    lua_pop(L, 1);
  }
  if (m > 1) {
    lua_getglobal(L, "table");
    lua_getfield(L, -1, "sort");
    lua_pushvalue(L, out + 2);
    lua_pushcfunction(L, key_less);
    lua_call(L, 2, 0);
    lua_pop(L, 1);
  }
  for (lua_Integer i = 1; i <= m; i++) {
    lua_rawgeti(L, out + 2, i);
    lua_rawseti(L, out, ++n);
  }
  lua_settop(L, out);
}

/* A table whose keys are exactly 1..#t saves as a list. An empty table, which could be either,
 * saves as a dict, and so does a table with load_pt's `keys` metatable. */
static int is_list(lua_State *L, int idx) {
  lua_Integer n = (lua_Integer)lua_rawlen(L, idx), count = 0;
  if (n == 0 || luaL_getmetafield(L, idx, "keys") != LUA_TNIL) {
    if (n) lua_pop(L, 1);
    return 0;
  }
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_pop(L, 1);
    if (++count > n) {
      lua_pop(L, 1);
      return 0;
    }
  }
  return count == n;
}

/* Saves the table at idx as a list or a dict (see is_list), its values through save_value. */
static void save_table(Saver *sv, int idx, int depth) {
  lua_State *L = sv->L;
  if (depth > MAX_DEPTH)
    ltL_argerror(L, 2, "save_pt", "tables nested deeper than %d levels", MAX_DEPTH);
  lua_pushvalue(L, idx);
  /* Only cycles are refused: a table reached twice without one is written twice, equal but no
   * longer shared as Python's memo would keep it. */
  if (lua_rawget(L, sv->visiting) != LUA_TNIL) ltL_argerror(L, 2, "save_pt", "cyclic table");
  lua_pop(L, 1);
  lua_pushvalue(L, idx);
  lua_pushboolean(L, 1);
  lua_rawset(L, sv->visiting);
  if (is_list(L, idx)) {
    lua_Integer n = (lua_Integer)lua_rawlen(L, idx);
    if (sv->pw) {
      /* [] then MARK items APPENDS, and {} MARK key value ... SETITEMS below, as Python's
       * pickler writes them. */
      pkw_op(sv->pw, PK_OP_EMPTY_LIST);
      pkw_op(sv->pw, PK_OP_MARK);
    }
    for (lua_Integer i = 1; i <= n; i++) {
      lua_rawgeti(L, idx, i);
      save_value(sv, lua_gettop(L), depth + 1);
      lua_pop(L, 1);
    }
    if (sv->pw) pkw_op(sv->pw, PK_OP_APPENDS);
  } else {
    push_sorted_keys(L, idx);
    int keys = lua_gettop(L);
    lua_Integer n = (lua_Integer)lua_rawlen(L, keys);
    if (sv->pw) {
      pkw_op(sv->pw, PK_OP_EMPTY_DICT);
      pkw_op(sv->pw, PK_OP_MARK);
    }
    for (lua_Integer i = 1; i <= n; i++) {
      lua_rawgeti(L, keys, i);
      int kt = lua_type(L, -1);
      if (kt != LUA_TSTRING && !(kt == LUA_TNUMBER && lua_isinteger(L, -1)) && kt != LUA_TBOOLEAN)
        ltL_argerror(L, 2, "save_pt", "dict keys must be strings, integers or booleans, got %s",
                     luaL_typename(L, -1));
      save_value(sv, lua_gettop(L), depth + 1);
      lua_pushvalue(L, -1);
      lua_rawget(L, idx);
      save_value(sv, lua_gettop(L), depth + 1);
      lua_pop(L, 2);
    }
    if (sv->pw) pkw_op(sv->pw, PK_OP_SETITEMS);
    lua_pop(L, 1);
  }
  lua_pushvalue(L, idx);
  lua_pushnil(L);
  lua_rawset(L, sv->visiting);
}

/* Pass 1 (pw NULL) checks the value at idx and notes its tensors; pass 2 pickles it. Raises on
 * anything a checkpoint cannot hold. */
static void save_value(Saver *sv, int idx, int depth) {
  lua_State *L = sv->L;
  luaL_checkstack(L, 10, "save_pt: nesting too deep");
  Tensor *t;
  switch (lua_type(L, idx)) {
  case LUA_TBOOLEAN:
    if (sv->pw) pkw_bool(sv->pw, lua_toboolean(L, idx));
    return;
  case LUA_TNUMBER:
    if (sv->pw) {
      if (lua_isinteger(L, idx))
        pkw_int(sv->pw, lua_tointeger(L, idx));
      else
        pkw_float(sv->pw, lua_tonumber(L, idx));
    }
    return;
  case LUA_TSTRING: emit_string(sv, idx); return;
  case LUA_TTABLE: save_table(sv, idx, depth); return;
  case LUA_TLIGHTUSERDATA:
    if (lio_is_null(L, idx)) {
      if (sv->pw) pkw_none(sv->pw);
      return;
    }
    break;
  case LUA_TUSERDATA:
    if ((t = ltL_totensor(L, idx))) {
      if (t->device != LT_CPU) ltL_argerror(L, 2, "save_pt", "tensor is not on the CPU");
      if (sv->pw)
        emit_tensor(sv, idx, t);
      else
        note_tensor(sv, idx, t);
      return;
    }
    break;
  default: break;
  }
  ltL_argerror(L, 2, "save_pt",
               "cannot save a %s (tensors, tables, strings, numbers, booleans and io.null only)",
               luaL_typename(L, idx));
}

static void free_zipw(IoCtx *c, void *p) {
  io_zipw_free(c, p);
  io_free(c, p, sizeof(IoZipWriter));
}

/* data.pkl and byteorder, then each span as record data/<i>, then version and the directory;
 * committed only when all of it was written. */
static LtStatus write_archive(Saver *sv, const char *path, const char *name) {
  IoCtx *c = &sv->h->ctx;
  IoWriter *w;
  LtStatus st = lio_open_writer(sv->h, path, &w);
  if (st) return st;
  IoZipWriter *zw = io_alloc(c, sizeof *zw);
  if (!zw) return LT_ENOMEM;
  io_zipw_init(zw, w);
  lio_own(sv->h, free_zipw, zw);
  st = io_pt_write_begin(c, zw, name, sv->pw);
  for (size_t i = 0; i < sv->n && st == LT_OK; i++) {
    const Span *sp = &sv->spans[i];
    size_t es = lt_dtype_size(sp->dt);
    st = io_pt_write_storage(c, zw, name, i, (const char *)sp->s->ptr + (size_t)sp->lo * es,
                             (size_t)(sp->hi - sp->lo) * es);
  }
  if (st == LT_OK) st = io_pt_write_end(c, zw, name);
  return st ? st : io_writer_commit(c, w);
}

/* save_pt(path, value [, {name = "archive"}]) -> true | nil, message */
static int l_save_pt(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  const char *name = "archive";
  size_t name_len = 7;
  luaL_checkany(L, 2);
  lua_settop(L, 3);
  if (!lua_isnil(L, 3)) {
    luaL_checktype(L, 3, LUA_TTABLE);
    if (ltL_opt_get(L, 3, "name")) {
      /* Popped, the string stays alive in the options table for the whole call. */
      if (lua_type(L, -1) == LUA_TSTRING) name = lua_tolstring(L, -1, &name_len); /* kept */
      lua_pop(L, 1);
    }
  }
  LioHandle *h = lio_handle(L, 3, "save_pt"); /* 4 */
  /* before anything is written: a name the reader refuses leaves no file */
  if (io_pt_check_name(&h->ctx, name, name_len) != LT_OK)
    return ltL_argerror(L, 3, "save_pt", "%s", h->ctx.msg);
  lua_newtable(L); /* 5: storage map */
  lua_newtable(L); /* 6: tables being walked */
  Saver *sv = io_calloc(&h->ctx, sizeof *sv);
  if (!sv) return lio_fail(L, h, path, LT_ENOMEM);
  *sv = (Saver){L, h, 5, 6, NULL, 0, 0, NULL};
  lio_own(h, free_saver, sv);
  save_value(sv, 2, 0); /* pass 1: storages and spans */
  if (!(sv->pw = io_alloc(&h->ctx, sizeof *sv->pw))) return lio_fail(L, h, path, LT_ENOMEM);
  pkw_init(sv->pw, &h->ctx);
  lio_own(h, free_pkw, sv->pw);
  save_value(sv, 2, 0); /* pass 2: the pickle */
  pkw_op(sv->pw, PK_OP_STOP);
  /* before the file is opened: a pickle load_pt would refuse leaves no file */
  LtStatus st = io_pt_check_pickle(&h->ctx, sv->pw);
  if (st == LT_ERANGE) return ltL_argerror(L, 2, "save_pt", "%s", h->ctx.msg);
  if (st == LT_OK) st = write_archive(sv, path, name);
  if (st) return lio_fail(L, h, path, st);
  lio_close(h);
  lua_pushboolean(L, 1);
  return 1;
}

static const luaL_Reg pt_fns[] = {{"load_pt", l_load_pt},
                                  {"load_pt_bytes", l_load_pt_bytes},
                                  {"save_pt", l_save_pt},
                                  {NULL, NULL}};

/* A part of lunette._io (src/lunette.c lists every part): PyTorch checkpoints. */
int luaopen_lunette_io_pt(lua_State *L);
int luaopen_lunette_io_pt(lua_State *L) {
  luaL_newlib(L, pt_fns);
  return 1;
}
