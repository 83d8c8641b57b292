/* ldata.c - Lua binding for lunette.data's kernels: batch gather, class indices, channel
 * statistics, terminal queries. */
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include "tensor/lbase.h"
#include "interrupt.h"
#include "data/data.h"

/* Per-channel arrays live on the C stack (floats in gather, doubles in channel_stats); 4096
 * channels keeps them to 64 KiB. */
#define MAX_CHAN 4096

/* Reads a Lua array of nchan numbers into v. */
static void read_floats(lua_State *L, int arg, const char *fname, float *v, int64_t nchan) {
  luaL_checktype(L, arg, LUA_TTABLE);
  if ((int64_t)lua_rawlen(L, arg) != nchan)
    ltL_argerror(L, arg, fname, "%lld values expected", (long long)nchan);
  for (int64_t i = 0; i < nchan; i++) {
    lua_rawgeti(L, arg, i + 1);
    if (!lua_isnumber(L, -1))
      ltL_argerror(L, arg, fname, "number expected at position %lld", (long long)i + 1);
    v[i] = (float)lua_tonumber(L, -1);
    lua_pop(L, 1);
  }
}

/* Pushes a contiguous int64 copy of an index tensor (or table); returns it. */
static Tensor *check_index(lua_State *L, int arg, const char *fname) {
  if (lua_istable(L, arg)) {
    int64_t n = (int64_t)lua_rawlen(L, arg);
    Tensor *t = ltL_push_new(L, LT_I64, 1, &n);
    for (int64_t i = 0; i < n; i++) {
      lua_rawgeti(L, arg, i + 1);
      int ok;
      /* lua_tointegerx takes 3.0 but refuses 3.5: a float index with a fraction is an error, not
       * truncated. */
      ((int64_t *)t->data)[i] = lua_tointegerx(L, -1, &ok);
      if (!ok)
        ltL_argerror(L, arg, fname, "integer index expected at position %lld", (long long)i + 1);
      lua_pop(L, 1);
    }
    return t;
  }
  Tensor *t = ltL_check_tensor(L, arg, fname);
  if (t->ndim != 1 || (t->dtype != LT_I64 && t->dtype != LT_I32))
    ltL_argerror(L, arg, fname, "1-d integer index tensor expected");
  /* Already the layout data_gather reads: pushed again, not copied, so the result is always at
   * the top. */
  if (t->dtype == LT_I64 && lt_is_contiguous(t)) {
    lua_pushvalue(L, arg);
    return t;
  }
  Tensor *c = ltL_push_new_like(L, t, LT_I64);
  ltL_check_status(L, lt_copy(c, t), fname);
  return c;
}

/* The output of a gather: out (argument 5, reused when its shape and dtype
 * fit) or a new tensor. */
static Tensor *gather_out(lua_State *L, LtDtype dt, int nd, const int64_t *shape) {
  /* Reusing out saves an allocation per batch in a training loop; a mismatch silently gets a new
   * tensor, as documented. */
  Tensor *o = ltL_totensor(L, 5);
  if (!lua_isnil(L, 5)) {
    int ok = o && o->dtype == dt && o->ndim == nd && lt_is_contiguous(o);
    for (int i = 0; ok && i < nd; i++) ok = o->shape[i] == shape[i];
    if (ok) {
      lua_pushvalue(L, 5);
      return o;
    }
    if (!o) ltL_argerror(L, 5, "gather", "tensor expected, got %s", luaL_typename(L, 5));
  }
  return ltL_push_new(L, dt, nd, shape);
}

/* gather(src, idx [, scale, shift [, out]]) -> rows idx (1-based) of src; float32
 * with out = src * scale[c] + shift[c] per channel when scale/shift are given;
 * written into out when it has the right shape and dtype */
static int d_gather(lua_State *L) {
  Tensor *src = ltL_check_tensor(L, 1, "gather");
  char b[64];
  if (src->ndim < 1 || !lt_is_contiguous(src))
    return ltL_argerror(L, 1, "gather", "contiguous tensor with at least one dim expected, got %s",
                        ltL_shape_of(src, b, sizeof b));
  /* Slots: 1 src, 2 idx, 3 scale, 4 shift, 5 out, then 6 the index copy and 7 the result. */
  lua_settop(L, 5);
  Tensor *idx = check_index(L, 2, "gather"); /* 6 */
  int64_t n = idx->shape[0], nchan = 0, bad;
  float scale[MAX_CHAN], shift[MAX_CHAN];
  if (!lua_isnil(L, 3)) {
    nchan = (int64_t)lua_rawlen(L, 3);
    if (nchan < 1 || nchan > MAX_CHAN)
      return ltL_argerror(L, 3, "gather", "1 to %d channel scales expected", MAX_CHAN);
    read_floats(L, 3, "gather", scale, nchan);
    read_floats(L, 4, "gather", shift, nchan);
  }
  int64_t shape[LT_MAXDIM];
  memcpy(shape, src->shape, sizeof shape);
  shape[0] = n;
  Tensor *out = gather_out(L, nchan ? LT_F32 : src->dtype, src->ndim, shape);
  /* base 1: Lua indices are 1-based; data_gather converts and checks them. */
  LtStatus st = data_gather(out, src, idx->data, n, 1, nchan ? scale : NULL, nchan ? shift : NULL,
                            nchan, &bad);
  if (st == LT_ERANGE)
    return ltL_argerror(L, 2, "gather", "index %lld out of range 1..%lld", (long long)bad,
                        (long long)src->shape[0]);
  if (st == LT_ESHAPE)
    return ltL_argerror(L, 3, "gather", "%lld channels given for a tensor of shape %s",
                        (long long)nchan, ltL_shape_of(src, b, sizeof b));
  return 1;
}

/* class_index(labels, nclass [, base = 1]) -> {[c] = int64 tensor of 1-based rows of class c} */
static int d_class_index(lua_State *L) {
  Tensor *lab = ltL_check_tensor(L, 1, "class_index");
  int64_t nclass = ltL_check_int(L, 2, "class_index", "class count"),
          base = luaL_optinteger(L, 3, 1), bad;
  if (nclass < 1 || nclass > (1 << 24))
    return ltL_argerror(L, 2, "class_index", "class count must be in 1..%d", 1 << 24);
  /* Integer or bool labels only: a float label has no exact class. */
  if (lt_dtype_is_float(lab->dtype))
    return ltL_argerror(L, 1, "class_index", "integer labels expected, got %s",
                        lt_dtype_name(lab->dtype));
  /* base numbers both the classes and the rows: the last of each must be an integer too. */
  int64_t span = nclass > lt_numel(lab) ? nclass : lt_numel(lab);
  if (base > INT64_MAX - (span - 1))
    return ltL_argerror(L, 3, "class_index",
                        "base %lld too large: %lld classes or rows numbered from it pass %lld",
                        (long long)base, (long long)span, (long long)INT64_MAX);
  lua_settop(L, 3);
  /* Slots: 4 the contiguous labels, 5 the row order, 6 the class offsets. */
  Tensor *c = ltL_push_contiguous(L, 1); /* 4 */
  int64_t n = lt_numel(c), nc1 = nclass + 1;
  Tensor *order = ltL_push_new(L, LT_I64, 1, &n);  /* 5 */
  Tensor *offs = ltL_push_new(L, LT_I64, 1, &nc1); /* 6 */
  int64_t *off = offs->data;
  if (data_class_index(c, nclass, base, off, order->data, &bad) != LT_OK)
    return ltL_argerror(L, 1, "class_index", "label %lld outside %lld..%lld", (long long)bad,
                        (long long)base, (long long)(base + nclass - 1));
  lua_createtable(L, (int)nclass, 0);
  for (int64_t k = 0; k < nclass; k++) {
    Tensor v = *order;
    v.data = (int64_t *)order->data + off[k];
    v.shape[0] = off[k + 1] - off[k];
    /* Each class's rows are a view into the one order tensor (slot 5): no copy per class. */
    ltL_push_view(L, 5, &v);
    lua_rawseti(L, -2, k + 1);
  }
  return 1;
}

/* channel_stats(src, nchan [, scale = 1]) -> {means}, {stds} */
static int d_channel_stats(lua_State *L) {
  Tensor *src = ltL_check_tensor(L, 1, "channel_stats");
  int64_t nchan = ltL_check_int(L, 2, "channel_stats", "channel count");
  double scale = luaL_optnumber(L, 3, 1), mean[MAX_CHAN], sd[MAX_CHAN];
  if (nchan < 1 || nchan > MAX_CHAN)
    return ltL_argerror(L, 2, "channel_stats", "channel count must be in 1..%d", MAX_CHAN);
  if (!lt_is_contiguous(src) || src->ndim < 1)
    return ltL_argerror(L, 1, "channel_stats", "contiguous tensor expected");
  if (data_channel_stats(src, nchan, scale, mean, sd) != LT_OK)
    return ltL_argerror(L, 2, "channel_stats", "%lld channels do not match dim 2",
                        (long long)nchan);
  for (int k = 0; k < 2; k++) {
    lua_createtable(L, (int)nchan, 0);
    for (int64_t i = 0; i < nchan; i++) {
      lua_pushnumber(L, k ? sd[i] : mean[i]);
      lua_rawseti(L, -2, i + 1);
    }
  }
  return 2;
}

/* isatty(fd) -> boolean: is the descriptor a terminal (progress bars draw only then) */
static int d_isatty(lua_State *L) {
  lua_pushboolean(L, isatty((int)luaL_checkinteger(L, 1)));
  return 1;
}

/* term_width(fd) -> columns of the terminal, or nil */
static int d_term_width(lua_State *L) {
  struct winsize ws;
  /* fd 2 by default: progress bars draw on stderr. A width of 0 (some pseudo-terminals) is as
   * good as unknown. */
  if (ioctl((int)luaL_optinteger(L, 1, 2), TIOCGWINSZ, &ws) != 0 || ws.ws_col == 0) {
    lua_pushnil(L);
    return 1;
  }
  lua_pushinteger(L, ws.ws_col);
  return 1;
}

/* line_open(open): records whether a progress bar leaves stderr's line unfinished
 * (LT_OPEN_LINE_KEY in the registry), for the host to end it before an error message */
static int d_line_open(lua_State *L) {
  luaL_checktype(L, 1, LUA_TBOOLEAN);
  lua_setfield(L, LUA_REGISTRYINDEX, LT_OPEN_LINE_KEY);
  return 0;
}

static const luaL_Reg data_fns[] = {
    {"gather", d_gather}, {"class_index", d_class_index}, {"channel_stats", d_channel_stats},
    {"isatty", d_isatty}, {"term_width", d_term_width},   {"line_open", d_line_open},
    {NULL, NULL}};

/* The main part of lunette._data (src/lunette.c lists every part). */
int luaopen_lunette_data(lua_State *L);
int luaopen_lunette_data(lua_State *L) {
  luaL_newlib(L, data_fns);
  return 1;
}
