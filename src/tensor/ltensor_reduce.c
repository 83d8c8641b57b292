/* ltensor_reduce.c - Lua binding for reductions, scans, sort/topk/unique, bincount and histogram.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "tensor/lbase.h"
#include "tensor/tensor_index.h"
#include "tensor/tensor_reduce.h"
#include "tensor/tensor_view.h"

/* The user-facing name of each op, for errors; the three norms share "norm". */
static const char *reduce_names[LT_NREDUCE] = {
    "sum", "mean", "prod", "max",  "min",  "argmax",    "argmin",        "all",
    "any", "var",  "norm", "norm", "norm", "logsumexp", "count_nonzero",
};
_Static_assert(sizeof reduce_names / sizeof reduce_names[0] == LT_NREDUCE, "reduce names");

/* The result dtype of reduction op over input dtype in. */
static LtDtype reduce_dtype(LtReduceOp op, LtDtype in) {
  /* Integer sums and products accumulate into int64 (as numpy and torch); means, variances and
   * norms of integers give float32; max and min keep the dtype. */
  switch (op) {
  case LT_RSUM:
  case LT_RPROD: return lt_dtype_is_float(in) ? in : LT_I64;
  case LT_RMAX:
  case LT_RMIN: return in;
  case LT_RARGMAX:
  case LT_RARGMIN:
  case LT_RCOUNT_NONZERO: return LT_I64;
  case LT_RALL:
  case LT_RANY: return LT_BOOL;
  default: return lt_dtype_is_float(in) ? in : LT_F32;
  }
}

/* A dims table is an array and nothing else: {dim = 1} (an options table, as torch's and numpy's
 * keyword arguments would suggest) would otherwise read as {} and reduce nothing, returning the
 * input unchanged. */
static void check_dims_array(lua_State *L, int arg, const char *fname, int n) {
  lua_pushnil(L);
  while (lua_next(L, arg)) {
    lua_pop(L, 1);
    if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 1 || lua_tointeger(L, -1) > n) {
      const char *key = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : luaL_typename(L, -1);
      ltL_argerror(L, arg, fname,
                   "dims must be an integer or an array of dims, got a table with key '%s' (%s "
                   "takes no options table: %s(t, dims [, keepdim]))",
                   key, fname, fname);
    }
  }
}

/* keepdim (and var's unbiased) must be a boolean or nil: a number or a table there is a
 * misplaced argument, not a truthy flag. */
static void check_flag(lua_State *L, int arg, const char *fname, const char *what) {
  if (!lua_isnoneornil(L, arg) && !lua_isboolean(L, arg))
    ltL_argerror(L, arg, fname, "%s must be a boolean, got %s", what, luaL_typename(L, arg));
}

/* Parses dims (nil = all, integer, or table) into a 0/1 mask; returns count. */
static int parse_dims(lua_State *L, int arg, const char *fname, const Tensor *t, int *mask) {
  memset(mask, 0, sizeof(int) * LT_MAXDIM);
  if (lua_isnoneornil(L, arg)) {
    for (int i = 0; i < t->ndim; i++) mask[i] = 1;
    return t->ndim;
  }
  if (lua_istable(L, arg)) {
    int n = (int)lua_rawlen(L, arg), count = 0;
    check_dims_array(L, arg, fname, n);
    for (int i = 1; i <= n; i++) {
      lua_rawgeti(L, arg, i);
      int d = ltL_check_dim(L, lua_gettop(L), fname, t->ndim);
      /* A 0-d tensor accepts dim 1 or -1 but has nothing to reduce: the dim is dropped. */
      if (t->ndim == 0) d = -1;
      lua_pop(L, 1);
      if (d >= 0 && mask[d]++) ltL_argerror(L, arg, fname, "dim %d repeated", d + 1);
      count += d >= 0;
    }
    return count;
  }
  int d = ltL_check_dim(L, arg, fname, t->ndim);
  if (t->ndim == 0) return 0;
  mask[d] = 1;
  return 1;
}

/* Pushes `a` rearranged so the reduced dims are adjacent: either as is (when
 * they already are) or permuted to the end and made contiguous. Sets d0..d1. */
static Tensor *arrange(lua_State *L, int idx, const int *mask, int *d0, int *d1) {
  Tensor *t = ltL_totensor(L, idx), v;
  int first = -1, last = -1, adjacent = 1, perm[LT_MAXDIM], k = 0;
  for (int i = 0; i < t->ndim; i++)
    if (mask[i]) {
      if (first < 0)
        first = i;
      else if (i != last + 1)
        adjacent = 0;
      last = i;
    }
  /* Reduced dims already adjacent (or none): lt_reduce sees t as [outer, R, inner] as it is. */
  if (adjacent) {
    *d0 = first;
    *d1 = last;
    return ltL_push_contiguous(L, idx);
  }
  /* Otherwise permute kept dims first and reduced dims last, then copy: the [outer, R, inner]
   * view needs the reduced dims contiguous and together. */
  for (int i = 0; i < t->ndim; i++)
    if (!mask[i]) perm[k++] = i;
  *d0 = k;
  for (int i = 0; i < t->ndim; i++)
    if (mask[i]) perm[k++] = i;
  *d1 = k - 1;
  lt_view_permute(t, perm, &v);
  ltL_push_view(L, idx, &v);
  Tensor *c = ltL_push_contiguous(L, -1);
  lua_remove(L, -2);
  return c;
}

static void push_scalar(lua_State *L, const Tensor *o) {
  if (o->dtype == LT_BOOL)
    lua_pushboolean(L, *(uint8_t *)o->data != 0);
  else if (lt_dtype_is_float(o->dtype))
    lua_pushnumber(L, lt_get_f64(o->data, o->dtype));
  else
    lua_pushinteger(L, lt_get_i64(o->data, o->dtype));
}

/* max, min and their arg forms take one dim: the positions they return index along it. A
 * table must hold exactly one (an empty one would reduce nothing and a longer one would give
 * positions into a flattened block). */
static void check_one_dim(lua_State *L, int arg, const char *fname) {
  if (lua_istable(L, arg)) check_dims_array(L, arg, fname, (int)lua_rawlen(L, arg));
  if (lua_istable(L, arg) && lua_rawlen(L, arg) != 1)
    ltL_argerror(L, arg, fname, "one dim expected, got a table of %d", (int)lua_rawlen(L, arg));
}

/* Fills shape (returning its rank) with t's sizes, minus the reduced dims of mask (kept as 1
 * with keep). */
static int kept_shape(const Tensor *t, const int *mask, int keep, int64_t *shape) {
  int nd = 0;
  for (int i = 0; i < t->ndim; i++)
    if (!mask[i])
      shape[nd++] = t->shape[i];
    else if (keep)
      shape[nd++] = 1;
  return nd;
}

/* Shared body: reduce(t, dims, keepdim [, unbiased]) */
static int reduce_impl(lua_State *L, LtReduceOp op) {
  const char *fname = reduce_names[op];
  Tensor *t = ltL_check_tensor(L, 1, fname);
  int is_arg = op == LT_RMAX || op == LT_RMIN || op == LT_RARGMAX || op == LT_RARGMIN;
  if (is_arg) check_one_dim(L, 2, fname);
  int mask[LT_MAXDIM], d0, d1, all = lua_isnoneornil(L, 2);
  check_flag(L, 3, fname, "keepdim");
  if (op == LT_RVAR) check_flag(L, 4, fname, "unbiased");
  int count = parse_dims(L, 2, fname, t, mask), keep = lua_toboolean(L, 3);
  /* Variance is unbiased (ddof 1) unless the fourth argument is false, as torch's default. */
  double ddof = (op == LT_RVAR && (lua_isnoneornil(L, 4) || lua_toboolean(L, 4))) ? 1 : 0;
  char b[64];
  /* max, min and their arg forms have no identity to return for an empty tensor. */
  if (is_arg && lt_numel(t) == 0)
    return ltL_argerror(L, 1, fname, "cannot reduce an empty tensor %s",
                        ltL_shape_of(t, b, sizeof b));
  lua_settop(L, 4);
  Tensor *a = count == 0 ? ltL_push_contiguous(L, 1) : arrange(L, 1, mask, &d0, &d1);
  Tensor flat = *a;
  /* No dim to reduce (an empty dims table, or a 0-d t): every element is reduced alone, as
   * numpy's axis=(): a is seen as [numel x 1] and the size-1 dim is reduced, so that sum gives
   * a copy (in sum's dtype), var with ddof 1 NaN, count_nonzero 0 or 1. */
  if (count == 0) {
    flat.ndim = 2;
    flat.shape[0] = lt_numel(a);
    flat.shape[1] = 1;
    flat.stride[0] = flat.stride[1] = 1;
    d0 = d1 = 1;
  }
  int64_t shape[LT_MAXDIM];
  int nd = kept_shape(t, mask, keep, shape);
  LtDtype odt = reduce_dtype(op, t->dtype);
  if (all && lt_dtype_is_float(odt)) odt = LT_F64; /* a Lua number keeps the double accumulator */
  Tensor *o = ltL_push_new(L, odt, nd, shape);
  Tensor *ix = is_arg ? ltL_push_new(L, LT_I64, nd, shape) : NULL;
  /* Positions come back 0-based from the core and are made 1-based once, here. */
  ltL_check_status(L, lt_reduce(op, o, ix, &flat, d0, d1, ddof), fname);
  if (ix) {
    int64_t n = lt_numel(ix);
    for (int64_t i = 0; i < n; i++) ((int64_t *)ix->data)[i] += 1;
  }
  /* Arg forms return only the positions: a tensor, or one Lua integer for a full reduction. */
  if (op == LT_RARGMAX || op == LT_RARGMIN) {
    if (all) push_scalar(L, ix);
    return 1;
  }
  if (all) {
    push_scalar(L, o);
    return 1;
  }
  return ix ? 2 : 1;
}

/* One entry point per reduction, all through reduce_impl. The macro takes no semicolon, which
 * clang-format misreads as one long statement: it is told to leave the list as written. */
#define REDUCER(name, op) \
  static int r_##name(lua_State *L) { return reduce_impl(L, op); }
/* clang-format off */
REDUCER(sum, LT_RSUM)
REDUCER(mean, LT_RMEAN)
REDUCER(prod, LT_RPROD)
REDUCER(max, LT_RMAX)
REDUCER(min, LT_RMIN)
REDUCER(argmax, LT_RARGMAX)
REDUCER(argmin, LT_RARGMIN)
REDUCER(all, LT_RALL)
REDUCER(any, LT_RANY)
REDUCER(var, LT_RVAR)
REDUCER(logsumexp, LT_RLOGSUMEXP)
REDUCER(count_nonzero, LT_RCOUNT_NONZERO)
/* clang-format on */

/* norm(t, p, dims, keepdim): p = 1, 2 or math.huge */
static int r_norm(lua_State *L) {
  ltL_check_tensor(L, 1, "norm");
  lua_settop(L, 4);
  double p = luaL_optnumber(L, 2, 2);
  LtReduceOp op = p == 1              ? LT_RNORM1
                  : p == 2            ? LT_RNORM2
                  : isinf(p) && p > 0 ? LT_RNORMINF
                                      : LT_NREDUCE;
  if (op == LT_NREDUCE) return ltL_argerror(L, 2, "norm", "p must be 1, 2 or math.huge, got %g", p);
  /* p is removed so that dims and keepdim sit where reduce_impl reads them (2 and 3). */
  lua_remove(L, 2);
  return reduce_impl(L, op);
}

/* cumsum(t, dim) / cumprod(t, dim): a new tensor of t's shape; dim may be omitted for 1-d. */
static int scan_impl(lua_State *L, int product) {
  const char *fname = product ? "cumprod" : "cumsum";
  Tensor *t = ltL_check_tensor(L, 1, fname);
  if (t->ndim > 1 && lua_isnoneornil(L, 2))
    return ltL_argerror(L, 2, fname, "dim required for a %d-d tensor", t->ndim);
  int d = lua_isnoneornil(L, 2) ? 0 : ltL_check_dim(L, 2, fname, t->ndim);
  /* lt_cumulative works on contiguous tensors; a 0-d input is scanned as [1]. */
  Tensor *a = ltL_push_contiguous(L, 1), flat = *a;
  if (a->ndim == 0) {
    flat.ndim = 1;
    flat.shape[0] = 1;
    flat.stride[0] = 1;
  }
  /* Integer inputs accumulate into int64 (bool and uint8 sums would overflow at once). */
  Tensor *o = ltL_push_new_like(L, t, lt_dtype_is_float(t->dtype) ? t->dtype : LT_I64), of = *o;
  if (o->ndim == 0) {
    of.ndim = 1;
    of.shape[0] = 1;
    of.stride[0] = 1;
  }
  ltL_check_status(L, lt_cumulative(&of, &flat, d, product), fname);
  return 1;
}
static int r_cumsum(lua_State *L) { return scan_impl(L, 0); }
static int r_cumprod(lua_State *L) { return scan_impl(L, 1); }

/* Pushes t with dim moved last and made contiguous. */
static Tensor *push_dim_last(lua_State *L, int idx, int d) {
  Tensor *t = ltL_totensor(L, idx), v;
  /* Transposing dim d with the last one puts d last; swap_back undoes the same swap. */
  lt_view_transpose(t, d, t->ndim - 1, &v);
  ltL_push_view(L, idx, &v);
  Tensor *c = ltL_push_contiguous(L, -1);
  lua_remove(L, -2);
  return c;
}

/* Pushes a view of the tensor on top with dims d and last swapped back. */
static void swap_back(lua_State *L, int d) {
  Tensor *t = ltL_totensor(L, -1), v;
  lt_view_transpose(t, d, t->ndim - 1, &v);
  ltL_push_view(L, -1, &v);
  lua_remove(L, -2);
}

/* sort(t, dim=-1, descending=false) -> values, indices (1-based) */
static int r_sort(lua_State *L) {
  Tensor *t = ltL_check_tensor(L, 1, "sort");
  if (t->ndim == 0) return ltL_argerror(L, 1, "sort", "cannot sort a 0-d tensor");
  int d = lua_isnoneornil(L, 2) ? t->ndim - 1 : ltL_check_dim(L, 2, "sort", t->ndim);
  int desc = lua_toboolean(L, 3);
  lua_settop(L, 3);
  /* The stack slots are fixed (settop 3 above), so the results can be fetched by index below. */
  Tensor *a = push_dim_last(L, 1, d);            /* 4 */
  Tensor *v = ltL_push_new_like(L, a, a->dtype); /* 5 */
  Tensor *ix = ltL_push_new_like(L, a, LT_I64);  /* 6 */
  ltL_check_status(L, lt_sort_last(v, ix, a, desc), "sort");
  int64_t n = lt_numel(ix);
  /* Positions come back 0-based from the core and are made 1-based once, here. */
  for (int64_t i = 0; i < n; i++) ((int64_t *)ix->data)[i] += 1;
  lua_pushvalue(L, 5);
  swap_back(L, d);
  lua_pushvalue(L, 6);
  swap_back(L, d);
  return 2;
}

/* topk(t, k, dim=-1, largest=true) -> values, indices */
static int r_topk(lua_State *L) {
  Tensor *t = ltL_check_tensor(L, 1, "topk"), v;
  if (t->ndim == 0) return ltL_argerror(L, 1, "topk", "cannot take topk of a 0-d tensor");
  int64_t k = ltL_check_int(L, 2, "topk", "k");
  int d = lua_isnoneornil(L, 3) ? t->ndim - 1 : ltL_check_dim(L, 3, "topk", t->ndim);
  int largest = lua_isnoneornil(L, 4) ? 1 : lua_toboolean(L, 4);
  if (k < 0 || k > t->shape[d])
    return ltL_argerror(L, 2, "topk", "k = %lld out of range for size %lld", (long long)k,
                        (long long)t->shape[d]);
  /* topk is the first k of a full sort: O(n log n), but the same stable order as sort, so ties
   * keep input order. */
  lua_settop(L, 1);
  lua_pushcfunction(L, r_sort);
  lua_pushvalue(L, 1);
  lua_pushinteger(L, d + 1);
  lua_pushboolean(L, largest);
  lua_call(L, 3, 2);
  for (int i = 0; i < 2; i++) {
    Tensor *s = ltL_totensor(L, 2 + i);
    /* k <= size was checked above, so the slice is always valid. */
    lt_view_slice(s, d, 0, k, 1, &v);
    ltL_push_view(L, 2 + i, &v);
  }
  return 2;
}

/* unique(t) -> sorted distinct values (1-d), counts (int64) */
static int r_unique(lua_State *L) {
  Tensor *t = ltL_check_tensor(L, 1, "unique");
  int64_t n = lt_numel(t), shape[1] = {n};
  lua_settop(L, 1);
  Tensor *c = ltL_push_contiguous(L, 1), flat = *c; /* 2 */
  flat.ndim = 1;
  flat.shape[0] = n;
  flat.stride[0] = 1;
  /* Sort first so that equal values are adjacent; count the runs to size the outputs, then fill
   * them. */
  Tensor *s = ltL_push_new(L, t->dtype, 1, shape); /* 3 */
  ltL_check_status(L, lt_sort_last(s, NULL, &flat, 0), "unique");
  int64_t ushape[1] = {lt_unique_sorted(s, NULL, NULL)};
  Tensor *u = ltL_push_new(L, t->dtype, 1, ushape); /* 4 */
  Tensor *cnt = ltL_push_new(L, LT_I64, 1, ushape); /* 5 */
  lt_unique_sorted(s, u, cnt);
  return 2;
}

/* bincount(x, minlength=0, weights=nil) -> counts (int64, or float64 with weights) */
static int r_bincount(lua_State *L) {
  Tensor *x = ltL_check_tensor(L, 1, "bincount");
  char b[64];
  if (x->ndim != 1 || lt_dtype_is_float(x->dtype))
    return ltL_argerror(L, 1, "bincount", "1-d integer tensor expected, got %s %s",
                        lt_dtype_name(x->dtype), ltL_shape_of(x, b, sizeof b));
  int64_t minlen = lua_isnoneornil(L, 2) ? 0 : ltL_check_int(L, 2, "bincount", "minlength");
  Tensor *w = lua_isnoneornil(L, 3) ? NULL : ltL_check_tensor(L, 3, "bincount");
  if (w && (w->ndim != 1 || w->shape[0] != x->shape[0]))
    return ltL_argerror(L, 3, "bincount", "weights must be 1-d of length %lld",
                        (long long)x->shape[0]);
  /* The largest value sizes the result: scan it (and refuse negatives) before allocating. */
  int64_t mx = -1;
  for (int64_t i = 0; i < x->shape[0]; i++) {
    int64_t v = lt_get_i64((char *)x->data + (size_t)(i * x->stride[0]) * lt_dtype_size(x->dtype),
                           x->dtype);
    if (v < 0) return ltL_argerror(L, 1, "bincount", "negative value %lld", (long long)v);
    if (v > mx) mx = v;
  }
  if (mx == INT64_MAX)
    return ltL_argerror(L, 1, "bincount", "value %lld needs too many bins", (long long)mx);
  int64_t shape[1] = {mx + 1 > minlen ? mx + 1 : minlen};
  int arg = mx + 1 > minlen ? 1 : 2;
  Tensor *c = ltL_push_new_arg(L, arg, "bincount", w ? LT_F64 : LT_I64, 1, shape);
  /* Counts accumulate in double (exact up to 2^53), as weighted sums must; then convert to the
   * output dtype. */
  double *acc = calloc((size_t)(shape[0] > 0 ? shape[0] : 1), sizeof(double));
  if (!acc) return luaL_error(L, "bincount: not enough memory");
  LtStatus st = lt_bincount(acc, shape[0], x, w);
  for (int64_t i = 0; i < shape[0]; i++)
    lt_set_f64((char *)c->data + (size_t)i * lt_dtype_size(c->dtype), c->dtype, acc[i]);
  free(acc);
  ltL_check_status(L, st, "bincount");
  return 1;
}

/* histogram(t, bins=10, lo, hi) -> counts (int64), edges (float64, bins+1) */
static int r_histogram(lua_State *L) {
  Tensor *x = ltL_check_tensor(L, 1, "histogram");
  int64_t bins = lua_isnoneornil(L, 2) ? 10 : ltL_check_int(L, 2, "histogram", "bins");
  if (bins < 1 || bins > 100000000)
    return ltL_argerror(L, 2, "histogram", "bins must be in 1..1e8, got %lld", (long long)bins);
  double lo, hi;
  int found;
  /* A missing bound defaults to the range of the finite values, as numpy's; an empty or all-NaN
   * input gets [0, 1]. */
  if (lua_isnoneornil(L, 3) || lua_isnoneornil(L, 4)) {
    ltL_check_status(L, lt_finite_range(x, &lo, &hi, &found), "histogram");
    if (!found) {
      lo = 0;
      hi = 1;
    }
  }
  if (!lua_isnoneornil(L, 3)) lo = luaL_checknumber(L, 3);
  if (!lua_isnoneornil(L, 4)) hi = luaL_checknumber(L, 4);
  if (!isfinite(lo) || !isfinite(hi) || lo > hi)
    return ltL_argerror(L, 3, "histogram", "range [%g, %g] is not finite and ordered", lo, hi);
  /* A zero-width range is widened by 1/2 on each side, as numpy does; past 2^53 that rounds
   * back to the same bound, so the neighbouring doubles are taken instead. */
  if (lo == hi) {
    lo = lo - 0.5 < lo ? lo - 0.5 : nextafter(lo, -INFINITY);
    hi = hi + 0.5 > hi ? hi + 0.5 : nextafter(hi, INFINITY);
  }
  /* The bins must be finite to place values in them, as numpy requires. */
  if (!isfinite(hi - lo))
    return ltL_argerror(L, 3, "histogram", "range [%g, %g] is too wide: its width overflows", lo,
                        hi);
  int64_t s1[1] = {bins}, s2[1] = {bins + 1};
  Tensor *c = ltL_push_new(L, LT_I64, 1, s1);
  Tensor *e = ltL_push_new(L, LT_F64, 1, s2);
  double *acc = calloc((size_t)bins, sizeof(double));
  if (!acc) return luaL_error(L, "histogram: not enough memory");
  LtStatus st = lt_histogram(acc, bins, lo, hi, x);
  for (int64_t i = 0; i < bins; i++) ((int64_t *)c->data)[i] = (int64_t)acc[i];
  free(acc);
  ltL_check_status(L, st, "histogram");
  /* numpy's linspace: edge i is lo + i * step, computed from i rather than accumulated (and
   * without (hi - lo) * i, which overflows for wide ranges); the last edge is exactly hi. */
  double step = (hi - lo) / (double)bins;
  for (int64_t i = 0; i < bins; i++) ((double *)e->data)[i] = lo + (double)i * step;
  ((double *)e->data)[bins] = hi;
  return 2;
}

static const luaL_Reg reduce_methods[] = {{"sum", r_sum},
                                          {"mean", r_mean},
                                          {"prod", r_prod},
                                          {"max", r_max},
                                          {"min", r_min},
                                          {"argmax", r_argmax},
                                          {"argmin", r_argmin},
                                          {"all", r_all},
                                          {"any", r_any},
                                          {"var", r_var},
                                          {"norm", r_norm},
                                          {"logsumexp", r_logsumexp},
                                          {"count_nonzero", r_count_nonzero},
                                          {"cumsum", r_cumsum},
                                          {"cumprod", r_cumprod},
                                          {"sort", r_sort},
                                          {"topk", r_topk},
                                          {"unique", r_unique},
                                          {"bincount", r_bincount},
                                          {"histogram", r_histogram},
                                          {NULL, NULL}};

/* A part of lunette._tensor (src/lunette.c lists every part): reductions, also methods. */
int luaopen_lunette_tensor_reduce(lua_State *L);
int luaopen_lunette_tensor_reduce(lua_State *L) {
  lua_newtable(L);
  ltL_register_tensor_methods(L, reduce_methods);
  return 1;
}
