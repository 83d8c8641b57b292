/* ltensor_index.c - Lua binding for index_select, gather/scatter, masks, nonzero, cat/stack,
 * one_hot. */
#include <string.h>
#include "tensor/lbase.h"
#include "tensor/tensor_index.h"
#include "tensor/tensor_view.h"

/* Raises unless the 1-based index v addresses one of `size` positions. Checked before the shift
 * to 0-based: v - 1 overflows for math.mininteger. */
static void check_index(lua_State *L, int arg, const char *fname, int64_t v, int64_t size) {
  if (v < 1 || v > size)
    ltL_argerror(L, arg, fname, "index %lld out of range for size %lld", (long long)v,
                 (long long)size);
}

/* Pushes a contiguous int64 copy of the index argument (tensor or table of integers), every
 * entry checked against 1..size and converted from 1-based to 0-based. */
static Tensor *push_index(lua_State *L, int arg, const char *fname, int64_t size) {
  /* A Lua table becomes a 1-d index; each entry must be an integer. */
  if (lua_istable(L, arg)) {
    int64_t n = (int64_t)lua_rawlen(L, arg), shape[1] = {n};
    Tensor *t = ltL_push_new(L, LT_I64, 1, shape);
    for (int64_t i = 0; i < n; i++) {
      lua_rawgeti(L, arg, i + 1);
      int ok;
      lua_Integer v = lua_tointegerx(L, -1, &ok);
      if (!ok)
        ltL_argerror(L, arg, fname, "index table holds a non-integer at position %lld",
                     (long long)i + 1);
      check_index(L, arg, fname, v, size);
      ((int64_t *)t->data)[i] = v - 1;
      lua_pop(L, 1);
    }
    return t;
  }
  Tensor *t = ltL_check_tensor(L, arg, fname);
  /* Integer dtypes only: a float index would be silently truncated and a bool tensor is a mask
   * (masked_select), not an index. */
  if (lt_dtype_is_float(t->dtype) || t->dtype == LT_BOOL)
    ltL_argerror(L, arg, fname, "integer index tensor expected, got %s", lt_dtype_name(t->dtype));
  /* Always a fresh copy: the 1-based to 0-based shift below must not touch the caller's tensor,
   * and the core wants contiguous int64. */
  Tensor *c = ltL_push_new_like(L, t, LT_I64);
  ltL_check_status(L, lt_copy(c, t), fname);
  int64_t n = lt_numel(c), *p = c->data;
  for (int64_t i = 0; i < n; i++) {
    check_index(L, arg, fname, p[i], size);
    p[i] -= 1;
  }
  return c;
}

static int range_error(lua_State *L, int arg, const char *fname, int64_t bad, int64_t size) {
  return ltL_argerror(L, arg, fname, "index %lld out of range for size %lld", (long long)bad + 1,
                      (long long)size);
}

/* index_select(t, dim, idx) */
static int x_index_select(lua_State *L) {
  Tensor *t = ltL_check_tensor(L, 1, "index_select");
  int d = ltL_check_dim(L, 2, "index_select", t->ndim);
  if (t->ndim == 0) return ltL_argerror(L, 1, "index_select", "cannot index a 0-d tensor");
  Tensor *ix = push_index(L, 3, "index_select", t->shape[d]);
  int64_t n = lt_numel(ix), shape[LT_MAXDIM], bad;
  memcpy(shape, t->shape, sizeof shape);
  shape[d] = n;
  Tensor *o = ltL_push_new_arg(L, 3, "index_select", t->dtype, t->ndim, shape);
  /* The core checks every index before writing, so a bad one leaves o untouched. */
  if (lt_index_select(o, t, d, ix->data, n, &bad) == LT_ERANGE)
    return range_error(L, 3, "index_select", bad, t->shape[d]);
  return 1;
}

/* gather/scatter index: the input's rank, and no longer than the input on any dim but d
 * (as torch requires; the kernels would read or write outside the input otherwise). */
static void check_same_rank(lua_State *L, const Tensor *t, const Tensor *ix, int d, int arg,
                            const char *fname) {
  char b1[64], b2[64];
  if (ix->ndim != t->ndim)
    ltL_argerror(L, arg, fname, "index must have as many dims as the input: %s vs %s",
                 ltL_shape_of(ix, b1, sizeof b1), ltL_shape_of(t, b2, sizeof b2));
  for (int k = 0; k < t->ndim; k++)
    if (k != d && ix->shape[k] > t->shape[k])
      ltL_argerror(L, arg, fname, "index %s is larger than the input %s in dim %d",
                   ltL_shape_of(ix, b1, sizeof b1), ltL_shape_of(t, b2, sizeof b2), k + 1);
}

static int x_gather(lua_State *L) {
  Tensor *t = ltL_check_tensor(L, 1, "gather");
  int d = ltL_check_dim(L, 2, "gather", t->ndim);
  Tensor *ix = push_index(L, 3, "gather", t->shape[d]);
  int64_t bad;
  check_same_rank(L, t, ix, d, 3, "gather");
  Tensor *o = ltL_push_new_like(L, ix, t->dtype);
  if (lt_gather(o, t, d, ix, &bad) == LT_ERANGE)
    return range_error(L, 3, "gather", bad, t->shape[d]);
  return 1;
}

/* scatter(t, dim, idx, src) and its add and in-place forms: t[..idx..] = (or +=) src. */
static int scatter_impl(lua_State *L, const char *fname, int add, int inplace) {
  Tensor *t = ltL_check_tensor(L, 1, fname);
  int d = ltL_check_dim(L, 2, fname, t->ndim);
  /* Fixed stack slots: the index copy lands at 5 and a numeric source is replaced in place at 4. */
  lua_settop(L, 4);
  Tensor *ix = push_index(L, 3, fname, t->shape[d]); /* 5 */
  Tensor *src = ltL_check_operand(L, 4, fname, t->dtype), vs;
  char b1[64], b2[64];
  int64_t bad;
  check_same_rank(L, t, ix, d, 3, fname);
  /* The source is broadcast to the index's shape: one value per index position. */
  if (lt_expand_view(src, ix->ndim, ix->shape, &vs) != LT_OK)
    return ltL_argerror(L, 4, fname, "source %s does not match index %s",
                        ltL_shape_of(src, b1, sizeof b1), ltL_shape_of(ix, b2, sizeof b2));
  Tensor *o = t;
  /* Out of place: scatter into a copy of t; in place: t itself is also the return value. */
  if (!inplace) {
    o = ltL_push_new_like(L, t, t->dtype);
    ltL_check_status(L, lt_copy(o, t), fname);
  } else
    lua_pushvalue(L, 1);
  if (lt_scatter(o, d, ix, &vs, add, &bad) == LT_ERANGE)
    return range_error(L, 3, fname, bad, t->shape[d]);
  return 1;
}
static int x_scatter(lua_State *L) { return scatter_impl(L, "scatter", 0, 0); }
static int x_scatter_(lua_State *L) { return scatter_impl(L, "scatter_", 0, 1); }
static int x_scatter_add(lua_State *L) { return scatter_impl(L, "scatter_add", 1, 0); }
static int x_scatter_add_(lua_State *L) { return scatter_impl(L, "scatter_add_", 1, 1); }

static Tensor *check_mask(lua_State *L, int arg, const char *fname, const Tensor *t, Tensor *v) {
  Tensor *m = ltL_check_tensor(L, arg, fname);
  char b1[64], b2[64];
  /* Masks must be bool: an integer tensor is an index, and guessing would hide mistakes. */
  if (m->dtype != LT_BOOL)
    ltL_argerror(L, arg, fname, "bool mask expected, got %s", lt_dtype_name(m->dtype));
  if (lt_expand_view(m, t->ndim, t->shape, v) != LT_OK)
    ltL_argerror(L, arg, fname, "shape mismatch: mask %s does not broadcast to %s",
                 ltL_shape_of(m, b1, sizeof b1), ltL_shape_of(t, b2, sizeof b2));
  return m;
}

static int x_masked_select(lua_State *L) {
  Tensor *t = ltL_check_tensor(L, 1, "masked_select"), vm;
  check_mask(L, 2, "masked_select", t, &vm);
  /* Count first to size the output exactly. */
  int64_t shape[1] = {lt_mask_count(&vm)};
  Tensor *o = ltL_push_new(L, t->dtype, 1, shape);
  ltL_check_status(L, lt_masked_select(o, t, &vm), "masked_select");
  return 1;
}

/* masked_fill_(t, mask, value) / masked_assign_(t, mask, src): in place */
static int x_masked_assign_(lua_State *L) {
  Tensor *t = ltL_check_tensor(L, 1, "masked_assign_"), vm;
  check_mask(L, 2, "masked_assign_", t, &vm);
  Tensor *src = ltL_check_operand(L, 3, "masked_assign_", t->dtype);
  int64_t n = lt_mask_count(&vm), ns = lt_numel(src);
  char b[64];
  /* One value is broadcast to every selected position; otherwise one value per position, in
   * row-major order. */
  if (ns != 1 && (src->ndim != 1 || ns != n))
    return ltL_argerror(L, 3, "masked_assign_", "source %s must hold 1 or %lld values",
                        ltL_shape_of(src, b, sizeof b), (long long)n);
  ltL_check_status(L, lt_masked_assign(t, &vm, src), "masked_assign_");
  lua_settop(L, 1);
  return 1;
}

static int x_masked_fill(lua_State *L) {
  ltL_check_tensor(L, 1, "masked_fill");
  Tensor *t = ltL_totensor(L, 1), vm;
  check_mask(L, 2, "masked_fill", t, &vm);
  if (!lua_isnumber(L, 3) && !lua_isboolean(L, 3))
    return ltL_argerror(L, 3, "masked_fill", "number expected, got %s", luaL_typename(L, 3));
  /* masked_fill is masked_fill_ on a copy: the copy replaces t at slot 1, then the in-place path
   * runs. */
  Tensor *o = ltL_push_new_like(L, t, t->dtype);
  ltL_check_status(L, lt_copy(o, t), "masked_fill");
  lua_replace(L, 1);
  return x_masked_assign_(L);
}

/* nonzero(t) -> [n x ndim] int64 of 1-based coordinates */
static int x_nonzero(lua_State *L) {
  Tensor *t = ltL_check_tensor(L, 1, "nonzero");
  /* lt_mask_count counts nonzero elements of any dtype, so it sizes nonzero()'s result too. */
  int64_t shape[2] = {lt_mask_count(t), t->ndim};
  Tensor *o = ltL_push_new(L, LT_I64, 2, shape);
  ltL_check_status(L, lt_nonzero(o, t), "nonzero");
  int64_t n = lt_numel(o);
  for (int64_t i = 0; i < n; i++) ((int64_t *)o->data)[i] += 1;
  return 1;
}

/* cat(list, dim=1): tensors equal in every dim but dim; fname is what the
 * user called (stack joins its unsqueezed views here). */
static int cat_impl(lua_State *L, const char *fname) {
  luaL_checktype(L, 1, LUA_TTABLE);
  int n = (int)lua_rawlen(L, 1);
  if (n == 0) return ltL_argerror(L, 1, fname, "empty list of tensors");
  lua_settop(L, 2);
  /* The first element fixes the rank and the sizes the others must match (except along dim). */
  lua_rawgeti(L, 1, 1);
  Tensor *first = ltL_totensor(L, -1);
  if (!first) return ltL_argerror(L, 1, fname, "element 1 is not a tensor");
  if (first->ndim == 0)
    return ltL_argerror(L, 1, fname, "cannot concatenate 0-d tensors (use stack)");
  int d = lua_isnoneornil(L, 2) ? 0 : ltL_check_dim(L, 2, fname, first->ndim);
  int64_t shape[LT_MAXDIM], total = 0;
  LtDtype dt = first->dtype;
  char b1[64], b2[64];
  memcpy(shape, first->shape, sizeof shape);
  for (int i = 1; i <= n; i++) {
    lua_rawgeti(L, 1, i);
    Tensor *t = ltL_totensor(L, -1);
    if (!t) return ltL_argerror(L, 1, fname, "element %d is not a tensor", i);
    int ok = t->ndim == first->ndim;
    for (int k = 0; ok && k < t->ndim; k++) ok = k == d || t->shape[k] == first->shape[k];
    if (!ok)
      return ltL_argerror(
          L, 1, fname, "shape mismatch: element %d is %s, element 1 is %s along dim %d", i,
          ltL_shape_of(t, b1, sizeof b1), ltL_shape_of(first, b2, sizeof b2), d + 1);
    /* The sizes along dim must add up without overflow; ltL_push_new_arg then checks the whole
     * shape. */
    if (__builtin_add_overflow(total, t->shape[d], &total))
      return ltL_argerror(L, 1, fname, "the sizes along dim %d add up to too many elements", d + 1);
    /* The result takes the promoted dtype of all inputs; lt_copy converts each into it. */
    dt = lt_dtype_promote(dt, t->dtype);
    lua_pop(L, 1);
  }
  shape[d] = total;
  Tensor *o = ltL_push_new_arg(L, 1, fname, dt, first->ndim, shape), v;
  int64_t at = 0;
  /* Each input is copied into its slice of the output along dim. */
  for (int i = 1; i <= n; i++) {
    lua_rawgeti(L, 1, i);
    Tensor *t = ltL_totensor(L, -1);
    lt_view_slice(o, d, at, at + t->shape[d], 1, &v);
    ltL_check_status(L, lt_copy(&v, t), fname);
    at += t->shape[d];
    lua_pop(L, 1);
  }
  return 1;
}

static int x_cat(lua_State *L) { return cat_impl(L, "cat"); }

/* stack(list, dim=1): equal shapes, a new dim */
static int x_stack(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  int n = (int)lua_rawlen(L, 1);
  if (n == 0) return ltL_argerror(L, 1, "stack", "empty list of tensors");
  lua_settop(L, 2);
  /* stack is cat of views with a new size-1 dim at d: the views go into a temporary list that
   * replaces the argument list, and cat does the rest. */
  lua_createtable(L, n, 0); /* 3: unsqueezed views */
  int d = 0;
  for (int i = 1; i <= n; i++) {
    lua_rawgeti(L, 1, i);
    Tensor *t = ltL_totensor(L, -1), v;
    if (!t) return ltL_argerror(L, 1, "stack", "element %d is not a tensor", i);
    /* The new dim may be 1..ndim+1 of the inputs (after the last dim is allowed). */
    if (i == 1) d = lua_isnoneornil(L, 2) ? 0 : ltL_check_dim(L, 2, "stack", t->ndim + 1);
    if (lt_view_unsqueeze(t, d, &v) != LT_OK) return ltL_argerror(L, 1, "stack", "too many dims");
    ltL_push_view(L, -1, &v);
    lua_rawseti(L, 3, i);
    lua_pop(L, 1);
  }
  lua_replace(L, 1);
  lua_pushinteger(L, d + 1);
  lua_replace(L, 2);
  return cat_impl(L, "stack");
}

/* one_hot(labels, num_classes): labels 1-based integers -> [.., C] float32 */
static int x_one_hot(lua_State *L) {
  Tensor *t = ltL_check_tensor(L, 1, "one_hot");
  int64_t c = ltL_check_int(L, 2, "one_hot", "num_classes");
  if (c < 1)
    return ltL_argerror(L, 2, "one_hot", "num_classes must be positive, got %lld", (long long)c);
  if (t->ndim >= LT_MAXDIM) return ltL_argerror(L, 1, "one_hot", "too many dims");
  lua_settop(L, 3);
  Tensor *ix = push_index(L, 1, "one_hot", c), iv; /* 4 */
  int64_t shape[LT_MAXDIM], bad;
  memcpy(shape, t->shape, sizeof shape);
  shape[t->ndim] = c;
  LtDtype dt = ltL_opt_dtype(L, 3, "one_hot", LT_F32);
  Tensor *o = ltL_push_new_arg(L, 2, "one_hot", dt, t->ndim + 1, shape);
  /* one_hot is a scatter of the constant 1 along a new last dim: the labels (0-based, with a
   * trailing size-1 dim) give the positions, and a 0-d 1 broadcast over them the values. */
  ltL_check_status(L, lt_fill(o, 0), "one_hot");
  lt_view_unsqueeze(ix, ix->ndim, &iv);
  int64_t one = 1;
  Tensor src = {&one, LT_I64, LT_CPU, 0, {0}, {0}, 0}, vs;
  lt_expand_view(&src, iv.ndim, iv.shape, &vs);
  if (lt_scatter(o, t->ndim, &iv, &vs, 0, &bad) == LT_ERANGE)
    return range_error(L, 1, "one_hot", bad, c);
  return 1;
}

static const luaL_Reg index_methods[] = {{"index_select", x_index_select},
                                         {"gather", x_gather},
                                         {"scatter", x_scatter},
                                         {"scatter_", x_scatter_},
                                         {"scatter_add", x_scatter_add},
                                         {"scatter_add_", x_scatter_add_},
                                         {"masked_select", x_masked_select},
                                         {"masked_fill", x_masked_fill},
                                         {"masked_assign_", x_masked_assign_},
                                         {"masked_fill_", x_masked_assign_},
                                         {"nonzero", x_nonzero},
                                         {"one_hot", x_one_hot},
                                         {NULL, NULL}};

static const luaL_Reg index_fns[] = {{"cat", x_cat}, {"stack", x_stack}, {NULL, NULL}};

/* A part of lunette._tensor (src/lunette.c lists every part): cat, stack, indexing methods. */
int luaopen_lunette_tensor_index(lua_State *L);
int luaopen_lunette_tensor_index(lua_State *L) {
  luaL_newlib(L, index_fns);
  ltL_register_tensor_methods(L, index_methods);
  return 1;
}
