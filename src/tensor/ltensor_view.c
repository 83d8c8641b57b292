/* ltensor_view.c - Lua binding for views: reshape, transpose, permute, slice, select, expand. */
#include <string.h>
#include "tensor/lbase.h"
#include "tensor/tensor_view.h"

/* reshape and view share this: both try a view first; reshape falls back to a contiguous copy
 * when t's strides cannot express the new shape, view refuses. */
static int v_reshape_impl(lua_State *L, const char *fname, int must_view) {
  Tensor *t = ltL_check_tensor(L, 1, fname), v;
  int64_t shape[LT_MAXDIM], n = lt_numel(t), known = 1;
  char b1[200], b2[200];
  int nd = ltL_check_shape_infer(L, 2, fname, shape);
  int infer = -1;
  for (int i = 0; i < nd; i++) {
    if (shape[i] == -1) {
      if (infer >= 0) return ltL_argerror(L, 2, fname, "only one size may be -1");
      infer = i;
    } else
      known *= shape[i];
  }
  /* The shape reader has checked the other sizes' product, so known cannot overflow; a count
   * that does not divide evenly is caught just below. */
  if (infer >= 0) shape[infer] = known ? n / known : 0;
  /* The requested shape, for messages only. */
  Tensor want = *t;
  want.ndim = nd;
  memcpy(want.shape, shape, sizeof shape);
  LtStatus st = lt_view_reshape(t, nd, shape, &v);
  if (st == LT_ESHAPE || st == LT_EOVERFLOW || (infer >= 0 && known * shape[infer] != n))
    return ltL_argerror(L, 2, fname, "shape mismatch: cannot reshape %s (%lld elements) to %s",
                        ltL_shape_of(t, b1, sizeof b1), (long long)n,
                        ltL_shape_of(&want, b2, sizeof b2));
  if (st == LT_OK) {
    ltL_push_view(L, 1, &v);
    return 1;
  }
  if (must_view)
    return ltL_argerror(L, 1, fname,
                        "a %s tensor with these strides cannot be viewed as %s; use reshape",
                        ltL_shape_of(t, b1, sizeof b1), ltL_shape_of(&want, b2, sizeof b2));
  /* The copy is contiguous, so its reshape is always a view; the result is a view of the copy. */
  Tensor *c = ltL_push_contiguous(L, 1);
  ltL_check_status(L, lt_view_reshape(c, nd, shape, &v), fname);
  ltL_push_view(L, -1, &v);
  return 1;
}

static int v_reshape(lua_State *L) { return v_reshape_impl(L, "reshape", 0); }
static int v_view(lua_State *L) { return v_reshape_impl(L, "view", 1); }

static int v_flatten(lua_State *L) {
  Tensor *t = ltL_check_tensor(L, 1, "flatten"), v;
  int nd = t->ndim > 0 ? t->ndim : 1;
  int d0 = lua_isnoneornil(L, 2) ? 0 : ltL_check_dim(L, 2, "flatten", nd);
  int d1 = lua_isnoneornil(L, 3) ? nd - 1 : ltL_check_dim(L, 3, "flatten", nd);
  if (d0 > d1)
    return ltL_argerror(L, 3, "flatten", "end dim %d before start dim %d", d1 + 1, d0 + 1);
  int64_t shape[LT_MAXDIM];
  int k = 0;
  /* Dims d0..d1 collapse into one: the first of them opens a new size, the others multiply into
   * it. */
  for (int i = 0; i < t->ndim; i++) {
    if (i > d0 && i <= d1)
      shape[k - 1] *= t->shape[i];
    else
      shape[k++] = t->shape[i];
  }
  /* A 0-d tensor flattens to one element. */
  if (t->ndim == 0) shape[k++] = 1;
  /* As reshape: a view when the strides allow it, else a view of a contiguous copy. */
  if (lt_view_reshape(t, k, shape, &v) == LT_OK) {
    ltL_push_view(L, 1, &v);
    return 1;
  }
  Tensor *c = ltL_push_contiguous(L, 1);
  ltL_check_status(L, lt_view_reshape(c, k, shape, &v), "flatten");
  ltL_push_view(L, -1, &v);
  return 1;
}

static int v_transpose(lua_State *L) {
  Tensor *t = ltL_check_tensor(L, 1, "transpose"), v;
  if (lua_isnoneornil(L, 2) && t->ndim != 2 && t->ndim > 1)
    return ltL_argerror(L, 2, "transpose", "dims required for a %d-d tensor", t->ndim);
  /* Without dims, a 0-d or 1-d tensor is its own transpose. */
  if (t->ndim < 2 && lua_isnoneornil(L, 2)) {
    lua_settop(L, 1);
    return 1;
  }
  /* The default second dim (2) exists only from 2-d up: a 1-d t:transpose(1) would swap in a
   * slot past its shape. */
  if (lua_isnoneornil(L, 3) && t->ndim < 2)
    return ltL_argerror(L, 3, "transpose", "second dim required for a %d-d tensor", t->ndim);
  int d0 = lua_isnoneornil(L, 2) ? 0 : ltL_check_dim(L, 2, "transpose", t->ndim);
  int d1 = lua_isnoneornil(L, 3) ? 1 : ltL_check_dim(L, 3, "transpose", t->ndim);
  lt_view_transpose(t, d0, d1, &v);
  ltL_push_view(L, 1, &v);
  return 1;
}

/* permute(t, d1, ..., dn) or permute(t, {d1, ..., dn}): a view with the dims reordered. */
static int v_permute(lua_State *L) {
  Tensor *t = ltL_check_tensor(L, 1, "permute"), v;
  int perm[LT_MAXDIM], n = 0, tab = lua_istable(L, 2);
  /* Dims come as one table or as separate arguments. */
  int count = tab ? (int)lua_rawlen(L, 2) : lua_gettop(L) - 1;
  if (count != t->ndim)
    return ltL_argerror(L, 2, "permute", "%d dims expected, got %d", t->ndim, count);
  for (int i = 0; i < count; i++) {
    if (tab)
      lua_rawgeti(L, 2, i + 1);
    else
      lua_pushvalue(L, i + 2);
    /* Each dim is pushed first so that ltL_check_dim reads a stack slot, whichever form was
     * used. */
    perm[n++] = ltL_check_dim(L, lua_gettop(L), "permute", t->ndim);
    lua_pop(L, 1);
  }
  if (lt_view_permute(t, perm, &v) != LT_OK)
    return ltL_argerror(L, 2, "permute", "dims must be a permutation");
  ltL_push_view(L, 1, &v);
  return 1;
}

/* 1-based index with negatives counted from the end; returns 0-based. */
static int64_t check_index(lua_State *L, int arg, const char *fname, int64_t size, int allow_end) {
  int64_t i = ltL_check_int(L, arg, fname, "index");
  int64_t j = i < 0 ? i + size + 1 : i;
  /* allow_end admits size + 1, a start just past the end (narrow of length 0 there). */
  if (j < 1 || j > size + (allow_end ? 1 : 0))
    ltL_argerror(L, arg, fname, "index %lld out of range for size %lld", (long long)i,
                 (long long)size);
  return j - 1;
}

static int v_select(lua_State *L) {
  Tensor *t = ltL_check_tensor(L, 1, "select"), v;
  if (t->ndim == 0) return ltL_argerror(L, 1, "select", "cannot select from a 0-d tensor");
  int d = ltL_check_dim(L, 2, "select", t->ndim);
  int64_t i = check_index(L, 3, "select", t->shape[d], 0);
  lt_view_select(t, d, i, &v);
  ltL_push_view(L, 1, &v);
  return 1;
}

/* narrow(dim, start, length) */
static int v_narrow(lua_State *L) {
  Tensor *t = ltL_check_tensor(L, 1, "narrow"), v;
  int d = ltL_check_dim(L, 2, "narrow", t->ndim);
  int64_t s = check_index(L, 3, "narrow", t->shape[d], 1);
  int64_t len = ltL_check_int(L, 4, "narrow", "length");
  if (len < 0 || len > t->shape[d] - s)
    return ltL_argerror(L, 4, "narrow", "length %lld from %lld exceeds size %lld", (long long)len,
                        (long long)s + 1, (long long)t->shape[d]);
  ltL_check_status(L, lt_view_slice(t, d, s, s + len, 1, &v), "narrow");
  ltL_push_view(L, 1, &v);
  return 1;
}

/* slice(dim, first, last, step): 1-based inclusive range; negatives from
 * the end; last may be before first (empty result). */
static int v_slice(lua_State *L) {
  Tensor *t = ltL_check_tensor(L, 1, "slice"), v;
  int d = ltL_check_dim(L, 2, "slice", t->ndim);
  int64_t size = t->shape[d];
  /* lua_tointeger turns a non-integer into 0; the ltL_check_int calls just below raise for those
   * before a or b is used. */
  int64_t a = luaL_opt(L, lua_tointeger, 3, 1), b = luaL_opt(L, lua_tointeger, 4, -1);
  int64_t step = lua_isnoneornil(L, 5) ? 1 : ltL_check_int(L, 5, "slice", "step");
  if (!lua_isnoneornil(L, 3)) ltL_check_int(L, 3, "slice", "first");
  if (!lua_isnoneornil(L, 4)) ltL_check_int(L, 4, "slice", "last");
  if (step < 1) return ltL_argerror(L, 5, "slice", "step must be >= 1, got %lld", (long long)step);
  if (a < 0) a += size + 1;
  if (b < 0) b += size + 1;
  /* first may be one past the end (an empty slice); last must be inside. */
  if (a < 1 || a > size + 1)
    return ltL_argerror(L, 3, "slice", "first index %lld out of range for size %lld",
                        (long long)lua_tointeger(L, 3), (long long)size);
  if (b > size)
    return ltL_argerror(L, 4, "slice", "last index %lld out of range for size %lld",
                        (long long)lua_tointeger(L, 4), (long long)size);
  /* A last before first gives an empty slice rather than an error, as Python's slices do. */
  ltL_check_status(L, lt_view_slice(t, d, a - 1, b < a - 1 ? a - 1 : b, step, &v), "slice");
  ltL_push_view(L, 1, &v);
  return 1;
}

static int v_squeeze(lua_State *L) {
  Tensor *t = ltL_check_tensor(L, 1, "squeeze"), v;
  int d = lua_isnoneornil(L, 2) ? -1 : ltL_check_dim(L, 2, "squeeze", t->ndim);
  lt_view_squeeze(t, d, &v);
  ltL_push_view(L, 1, &v);
  return 1;
}

static int v_unsqueeze(lua_State *L) {
  Tensor *t = ltL_check_tensor(L, 1, "unsqueeze"), v;
  if (t->ndim >= LT_MAXDIM) return ltL_argerror(L, 1, "unsqueeze", "at most %d dims", LT_MAXDIM);
  int d = ltL_check_dim(L, 2, "unsqueeze", t->ndim + 1);
  ltL_check_status(L, lt_view_unsqueeze(t, d, &v), "unsqueeze");
  ltL_push_view(L, 1, &v);
  return 1;
}

/* expand(t, sizes): a view broadcast to sizes (stride 0 on the new dims); -1 keeps a size. */
static int v_expand(lua_State *L) {
  Tensor *t = ltL_check_tensor(L, 1, "expand"), v;
  int64_t shape[LT_MAXDIM];
  char b1[200], b2[200];
  int nd = ltL_check_shape_infer(L, 2, "expand", shape);
  /* -1 keeps the size t already has in that dim (a new leading dim counts as 1). */
  for (int i = 0; i < nd; i++) {
    int it = t->ndim - nd + i;
    if (shape[i] == -1) shape[i] = it >= 0 ? t->shape[it] : 1;
  }
  Tensor want = *t;
  want.ndim = nd;
  memcpy(want.shape, shape, sizeof shape);
  LtStatus st = lt_expand_view(t, nd, shape, &v);
  if (st == LT_EOVERFLOW)
    return ltL_argerror(L, 2, "expand", "shape %s has too many elements",
                        ltL_shape_of(&want, b2, sizeof b2));
  if (st != LT_OK)
    return ltL_argerror(L, 2, "expand", "shape mismatch: cannot expand %s to %s",
                        ltL_shape_of(t, b1, sizeof b1), ltL_shape_of(&want, b2, sizeof b2));
  ltL_push_view(L, 1, &v);
  return 1;
}

static int v_diagonal(lua_State *L) {
  Tensor *t = ltL_check_tensor(L, 1, "diagonal"), v;
  char b[64];
  if (t->ndim != 2)
    return ltL_argerror(L, 1, "diagonal", "2-d tensor expected, got %s",
                        ltL_shape_of(t, b, sizeof b));
  lt_view_diagonal(t, &v);
  ltL_push_view(L, 1, &v);
  return 1;
}

static const luaL_Reg view_methods[] = {{"reshape", v_reshape},
                                        {"view", v_view},
                                        {"flatten", v_flatten},
                                        {"transpose", v_transpose},
                                        {"permute", v_permute},
                                        {"select", v_select},
                                        {"narrow", v_narrow},
                                        {"slice", v_slice},
                                        {"squeeze", v_squeeze},
                                        {"unsqueeze", v_unsqueeze},
                                        {"expand", v_expand},
                                        {"diagonal", v_diagonal},
                                        {NULL, NULL}};

/* A part of lunette._tensor (src/lunette.c lists every part): views, also as methods. */
int luaopen_lunette_tensor_view(lua_State *L);
int luaopen_lunette_tensor_view(lua_State *L) {
  lua_newtable(L);
  ltL_register_tensor_methods(L, view_methods);
  return 1;
}
