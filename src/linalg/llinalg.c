/* llinalg.c - Lua binding for linalg: products, decompositions, norms, cosine similarity, cdist. */
#include <math.h>
#include <string.h>
#include "tensor/lbase.h"
#include "linalg/linalg.h"

/* Shapes in messages, formatted into a local buffer. */
#define SHAPE(t, buf) ltL_shape_of((t), (buf), sizeof(buf))

/* The dtype float routines compute in: float64 stays, the rest use float32. */
static LtDtype float_compute(LtDtype dt) { return dt == LT_F64 ? LT_F64 : LT_F32; }

static int mismatch(lua_State *L, const char *fname, const char *op, const Tensor *a,
                    const Tensor *b) {
  char b1[64], b2[64];
  return ltL_argerror(L, 2, fname, "shape mismatch: %s %s %s", SHAPE(a, b1), op, SHAPE(b, b2));
}

static void check_ndim(lua_State *L, const Tensor *t, int arg, const char *fname, int nd) {
  char b1[64];
  if (t->ndim != nd) ltL_argerror(L, arg, fname, "%d-d tensor expected, got %s", nd, SHAPE(t, b1));
}

/* Pushes a contiguous copy of the view *v in dtype dt and points *v at it. */
static void push_copy(lua_State *L, Tensor *v, LtDtype dt, const char *fname) {
  Tensor *c = ltL_push_new(L, dt, v->ndim, v->shape);
  ltL_check_status(L, lt_copy(c, v), fname);
  /* The descriptor now points at the copy, which stays on the stack (and so alive) until the
   * binding returns. */
  *v = *c;
}

/* Makes *v readable by lt_matmul in dtype dt, copying only when its dtype
 * differs or BLAS cannot read its layout (the copy stays on the stack). */
static void prepare_operand(lua_State *L, Tensor *v, LtDtype dt, const char *fname) {
  if (v->dtype == dt && (dt == LT_I64 || lt_linalg_blas_ok(v))) return;
  push_copy(L, v, dt, fname);
}

/* Leaves the result of dtype dt on top converted to rdt (float16 results). */
static void convert_top(lua_State *L, LtDtype rdt, const char *fname) {
  Tensor *o = ltL_totensor(L, -1);
  if (o->dtype == rdt) return;
  Tensor *r = ltL_push_new_like(L, o, rdt);
  ltL_check_status(L, lt_copy(r, o), fname);
}

/* The compute dtype of a product of a and b and the dtype of its result. */
static LtDtype product_dtype(const Tensor *a, const Tensor *b, LtDtype *result) {
  LtDtype r = lt_dtype_promote(a->dtype, b->dtype);
  /* Integer products run in int64 whatever the integer dtypes (uint8 and bool would overflow at
   * once); half types compute in float32 and convert back (convert_top). */
  *result = lt_dtype_is_float(r) ? r : LT_I64;
  return lt_dtype_is_float(r) ? float_compute(r) : LT_I64;
}

/* a.b of two 1-d tensors as a Lua number (an integer for integer dtypes). */
static int push_dot(lua_State *L, const char *fname, const Tensor *a, const Tensor *b) {
  if (a->shape[0] != b->shape[0]) return mismatch(L, fname, "@", a, b);
  LtDtype rdt, dt = product_dtype(a, b, &rdt);
  /* The dot product runs in the compute dtype: convert an operand only when it differs. */
  Tensor va = *a, vb = *b;
  if (va.dtype != dt) push_copy(L, &va, dt, fname);
  if (vb.dtype != dt) push_copy(L, &vb, dt, fname);
  union {
    double f;
    int64_t i;
  } r;
  /* A 0-d output on the C stack: float results are accumulated as double, integers as int64. */
  Tensor o = {&r, dt == LT_I64 ? LT_I64 : LT_F64, LT_CPU, 0, {0}, {0}, 0};
  ltL_check_status(L, lt_dot(&o, &va, &vb), fname);
  if (dt == LT_I64)
    lua_pushinteger(L, r.i);
  else
    lua_pushnumber(L, r.f);
  return 1;
}

/* A 1-d operand as a matrix: a row [1 x k] on the left, a column [k x 1]
 * on the right (numpy's rule; the added dim is dropped from the result). */
static Tensor as_matrix(const Tensor *t, int right) {
  Tensor v = *t;
  if (t->ndim != 1) return v;
  v.ndim = 2;
  if (right) {
    /* The added column dim has size 1, so its stride is never used. */
    v.shape[1] = 1;
    v.stride[1] = 1;
  } else {
    v.shape[0] = 1;
    /* Any stride addresses the added size-1 row dim; one whole vector length is a legal value. */
    v.stride[0] = t->shape[0] * t->stride[0];
    v.shape[1] = t->shape[0];
    v.stride[1] = t->stride[0];
  }
  return v;
}

/* Pushes va @ vb: shape is the broadcast [batch..., m, n] of nd dims; the
 * result drops m when a was 1-d and n when b was. */
static int push_product(lua_State *L, const char *fname, Tensor *va, Tensor *vb, int nd,
                        const int64_t *shape, int drop_m, int drop_n) {
  LtDtype rdt, dt = product_dtype(va, vb, &rdt);
  int64_t sa[LT_MAXDIM], sb[LT_MAXDIM], rshape[LT_MAXDIM], k = va->shape[va->ndim - 1];
  int rnd = 0;
  /* The operands' expanded shapes: a is [batch..., m, k] and b [batch..., k, n]. */
  memcpy(sa, shape, sizeof sa);
  memcpy(sb, shape, sizeof sb);
  sa[nd - 1] = k;
  sb[nd - 2] = k;
  /* The result drops the dims that came from 1-d operands, but the kernel writes the full
   * [batch..., m, n] layout (the same contiguous bytes). */
  for (int i = 0; i < nd; i++)
    if (!((i == nd - 2 && drop_m) || (i == nd - 1 && drop_n))) rshape[rnd++] = shape[i];
  prepare_operand(L, va, dt, fname);
  prepare_operand(L, vb, dt, fname);
  Tensor ea, eb;
  /* the broadcast batch dims can make an operand's view overflow even when
   * the result fits (a [m x k] over b's batch of b [.. x k x 1]) */
  ltL_check_status(L, lt_expand_view(va, nd, sa, &ea), fname);
  ltL_check_status(L, lt_expand_view(vb, nd, sb, &eb), fname);
  Tensor vo = *ltL_push_new(L, dt, rnd, rshape);
  vo.ndim = nd;
  memcpy(vo.shape, shape, sizeof(int64_t) * (size_t)nd);
  lt_contiguous_strides(nd, vo.shape, vo.stride);
  ltL_check_status(L, lt_matmul(&vo, &ea, &eb), fname);
  convert_top(L, rdt, fname);
  return 1;
}

/* numpy matmul: 1-d.1-d is a number, 1-d operands become a row / column,
 * batch dims (all but the last two) broadcast. */
static int matmul_impl(lua_State *L, const char *fname) {
  Tensor *a = ltL_check_tensor(L, 1, fname), *b = ltL_check_tensor(L, 2, fname);
  if (a->ndim == 0 || b->ndim == 0)
    return ltL_argerror(L, a->ndim == 0 ? 1 : 2, fname,
                        "at least 1-d tensor expected, got a 0-d tensor (scale with *)");
  if (a->ndim == 1 && b->ndim == 1) return push_dot(L, fname, a, b);
  Tensor va = as_matrix(a, 0), vb = as_matrix(b, 1), ba = va, bb = vb;
  if (vb.shape[vb.ndim - 2] != va.shape[va.ndim - 1]) return mismatch(L, fname, "@", a, b);
  int64_t shape[LT_MAXDIM];
  int nb;
  /* Broadcast only the batch dims: view both without their last two dims. */
  ba.ndim -= 2;
  bb.ndim -= 2;
  if (lt_broadcast_shape(&ba, &bb, &nb, shape) != LT_OK) return mismatch(L, fname, "@", a, b);
  shape[nb] = va.shape[va.ndim - 2];
  shape[nb + 1] = vb.shape[vb.ndim - 1];
  return push_product(L, fname, &va, &vb, nb + 2, shape, a->ndim == 1, b->ndim == 1);
}

static int l_matmul(lua_State *L) { return matmul_impl(L, "matmul"); }

static int l_mm(lua_State *L) {
  check_ndim(L, ltL_check_tensor(L, 1, "mm"), 1, "mm", 2);
  check_ndim(L, ltL_check_tensor(L, 2, "mm"), 2, "mm", 2);
  return matmul_impl(L, "mm");
}

static int l_bmm(lua_State *L) {
  Tensor *a = ltL_check_tensor(L, 1, "bmm"), *b = ltL_check_tensor(L, 2, "bmm");
  check_ndim(L, a, 1, "bmm", 3);
  check_ndim(L, b, 2, "bmm", 3);
  /* bmm has no batch broadcasting (torch's rule), unlike matmul. */
  if (a->shape[0] != b->shape[0]) return mismatch(L, "bmm", "@", a, b);
  return matmul_impl(L, "bmm");
}

static int l_mv(lua_State *L) {
  check_ndim(L, ltL_check_tensor(L, 1, "mv"), 1, "mv", 2);
  check_ndim(L, ltL_check_tensor(L, 2, "mv"), 2, "mv", 1);
  return matmul_impl(L, "mv");
}

static int l_dot(lua_State *L) {
  Tensor *a = ltL_check_tensor(L, 1, "dot"), *b = ltL_check_tensor(L, 2, "dot");
  check_ndim(L, a, 1, "dot", 1);
  check_ndim(L, b, 2, "dot", 1);
  return push_dot(L, "dot", a, b);
}

static int l_outer(lua_State *L) {
  Tensor *a = ltL_check_tensor(L, 1, "outer"), *b = ltL_check_tensor(L, 2, "outer");
  check_ndim(L, a, 1, "outer", 1);
  check_ndim(L, b, 2, "outer", 1);
  LtDtype rdt, dt = product_dtype(a, b, &rdt);
  Tensor u = *a, v = *b;
  if (u.dtype != dt) push_copy(L, &u, dt, "outer");
  if (v.dtype != dt) push_copy(L, &v, dt, "outer");
  int64_t shape[2] = {u.shape[0], v.shape[0]};
  Tensor *o = ltL_push_new(L, dt, 2, shape);
  ltL_check_status(L, lt_outer(o, &u, &v), "outer");
  convert_top(L, rdt, "outer");
  return 1;
}

/* ---- decompositions ------------------------------------------------------ */

static Tensor *check_matrix(lua_State *L, int arg, const char *fname, int square) {
  Tensor *t = ltL_check_tensor(L, arg, fname);
  char b1[64];
  check_ndim(L, t, arg, fname, 2);
  if (square && t->shape[0] != t->shape[1])
    ltL_argerror(L, arg, fname, "square matrix expected, got %s", SHAPE(t, b1));
  return t;
}

static void check_finite(lua_State *L, const Tensor *t, int arg, const char *fname) {
  if (!lt_linalg_all_finite(t)) ltL_argerror(L, arg, fname, "matrix contains NaN or Inf");
}

/* Pushes a contiguous copy of the matrix at arg, in dtype dt, for LAPACK
 * to work on in place. */
static Tensor *push_work(lua_State *L, int arg, LtDtype dt, const char *fname) {
  /* LAPACK overwrites its input, so every decomposition works on a private contiguous copy in
   * the compute dtype. */
  Tensor v = *ltL_totensor(L, arg);
  push_copy(L, &v, dt, fname);
  return ltL_totensor(L, -1);
}

/* Raises `reason` against argument arg when LAPACK reported info > 0. */
static void check_lapack(lua_State *L, LtStatus st, int arg, const char *fname,
                         const char *reason) {
  /* info > 0 has a meaning per routine (singular, no convergence): say it against the argument;
   * anything else is the generic status error. */
  if (st == LT_ELAPACK) ltL_argerror(L, arg, fname, "%s", reason);
  ltL_check_status(L, st, fname);
}

/* Reads the boolean option `key` of the options table at arg (nil: no
 * options) after checking that the table has no key other than `key`, so
 * a typo such as {ful = true} is an error rather than ignored. */
static int opt_flag(lua_State *L, int arg, const char *fname, const char *key) {
  const char *known[] = {key, NULL};
  ltL_check_options(L, arg, fname, known);
  return ltL_opt_bool(L, arg, fname, key, 0);
}

/* U, S, Vt (or S alone when !uv) of the matrix at arg 1. */
static int svd_impl(lua_State *L, const char *fname, int full, int uv) {
  Tensor *t = check_matrix(L, 1, fname, 0);
  int64_t m = t->shape[0], n = t->shape[1], k = m < n ? m : n;
  /* Refuse NaN and Inf up front: gesdd can loop on them instead of failing. */
  check_finite(L, t, 1, fname);
  LtDtype dt = float_compute(t->dtype);
  Tensor *a = push_work(L, 1, dt, fname), *u = NULL, *vt = NULL, *s;
  /* The outputs are allocated before LAPACK runs, so a memory error raises before any work. */
  if (uv) u = ltL_push_new(L, dt, 2, (int64_t[]){m, full ? m : k});
  s = ltL_push_new(L, dt, 1, &k);
  if (uv) vt = ltL_push_new(L, dt, 2, (int64_t[]){full ? n : k, n});
  check_lapack(L, lt_linalg_svd(a, u, s, vt, full), 1, fname, "SVD did not converge");
  return uv ? 3 : 1;
}

/* svd(A, {full=false}) -> U, S, Vt; svdvals(A) -> S. */
static int l_svd(lua_State *L) { return svd_impl(L, "svd", opt_flag(L, 2, "svd", "full"), 1); }
static int l_svdvals(lua_State *L) { return svd_impl(L, "svdvals", 0, 0); }

/* eigh(A, {upper=false}) -> eigenvalues ascending, eigenvectors as columns. */
static int l_eigh(lua_State *L) {
  Tensor *t = check_matrix(L, 1, "eigh", 1);
  int upper = opt_flag(L, 2, "eigh", "upper");
  int64_t n = t->shape[0];
  check_finite(L, t, 1, "eigh");
  LtDtype dt = float_compute(t->dtype);
  Tensor *w = ltL_push_new(L, dt, 1, &n);
  Tensor *a = push_work(L, 1, dt, "eigh");
  check_lapack(L, lt_linalg_eigh(a, w, upper), 1, "eigh", "eigendecomposition did not converge");
  return 2;
}

/* qr(A) -> Q [m x k], R [k x n], k = min(m, n) (reduced). */
static int l_qr(lua_State *L) {
  Tensor *t = check_matrix(L, 1, "qr", 0);
  int64_t m = t->shape[0], n = t->shape[1], k = m < n ? m : n;
  LtDtype dt = float_compute(t->dtype);
  Tensor *a = push_work(L, 1, dt, "qr");
  Tensor *q = ltL_push_new(L, dt, 2, (int64_t[]){m, k});
  Tensor *r = ltL_push_new(L, dt, 2, (int64_t[]){k, n});
  ltL_check_status(L, lt_linalg_qr(a, q, r), "qr");
  return 2;
}

/* B (1-d or 2-d) must have `rows` rows; returns it. */
static Tensor *check_rhs(lua_State *L, const char *fname, const Tensor *a, int64_t rows) {
  Tensor *b = ltL_check_tensor(L, 2, fname);
  char b1[64], b2[64];
  if (b->ndim != 1 && b->ndim != 2)
    ltL_argerror(L, 2, fname, "1-d or 2-d tensor expected, got %s", SHAPE(b, b1));
  if (b->shape[0] != rows)
    ltL_argerror(L, 2, fname, "shape mismatch: %s and %s (B needs %lld rows)", SHAPE(a, b1),
                 SHAPE(b, b2), (long long)rows);
  return b;
}

static int l_solve(lua_State *L) {
  Tensor *t = check_matrix(L, 1, "solve", 1), *b = check_rhs(L, "solve", t, t->shape[0]);
  /* Mixed dtypes promote first, then go to float (integers solve in float32). */
  LtDtype dt = float_compute(lt_dtype_promote(t->dtype, b->dtype));
  Tensor *a = push_work(L, 1, dt, "solve"), *x = push_work(L, 2, dt, "solve");
  check_lapack(L, lt_linalg_solve(a, x), 1, "solve", "matrix is singular");
  return 1;
}

/* lstsq(A, B) -> X minimising ||A X - B||, and the effective rank of A. */
static int l_lstsq(lua_State *L) {
  Tensor *t = check_matrix(L, 1, "lstsq", 0), *b = check_rhs(L, "lstsq", t, t->shape[0]);
  int64_t m = t->shape[0], n = t->shape[1], rank;
  check_finite(L, t, 1, "lstsq");
  check_finite(L, b, 2, "lstsq");
  LtDtype dt = float_compute(lt_dtype_promote(t->dtype, b->dtype));
  Tensor *a = push_work(L, 1, dt, "lstsq");
  /* gelsd reads B from the first m rows and writes X into the first n rows of one buffer, so the
   * buffer has max(m, n) rows, zero-padded. */
  Tensor top = *b, *bx;
  top.shape[0] = m > n ? m : n; /* gelsd wants room for max(m, n) rows */
  bx = ltL_push_new(L, dt, b->ndim, top.shape);
  ltL_check_status(L, lt_fill(bx, 0), "lstsq");
  top = *bx;
  top.shape[0] = m;
  ltL_check_status(L, lt_copy(&top, b), "lstsq");
  check_lapack(L, lt_linalg_lstsq(a, bx, &rank), 1, "lstsq", "SVD did not converge");
  /* X is the first n rows; copy them out so the result does not keep the padding alive. */
  top = *bx;
  top.shape[0] = n;
  push_copy(L, &top, dt, "lstsq");
  lua_pushinteger(L, rank);
  return 2;
}

static int l_inv(lua_State *L) {
  Tensor *t = check_matrix(L, 1, "inv", 1);
  Tensor *a = push_work(L, 1, float_compute(t->dtype), "inv");
  check_lapack(L, lt_linalg_inv(a), 1, "inv", "matrix is singular");
  return 1;
}

static int slogdet_impl(lua_State *L, const char *fname, int want_det) {
  Tensor *t = check_matrix(L, 1, fname, 1);
  Tensor *a = push_work(L, 1, float_compute(t->dtype), fname);
  double sign, logabs, det;
  ltL_check_status(L, lt_linalg_slogdet(a, &sign, &logabs, &det), fname);
  /* det comes from the same LU factorisation as slogdet: the pivots' product (which may overflow
   * where slogdet does not). */
  if (want_det) {
    lua_pushnumber(L, det);
    return 1;
  }
  lua_pushnumber(L, sign);
  lua_pushnumber(L, logabs);
  return 2;
}
static int l_det(lua_State *L) { return slogdet_impl(L, "det", 1); }
static int l_slogdet(lua_State *L) { return slogdet_impl(L, "slogdet", 0); }

/* cholesky(A, {upper=false}) -> L (A = L L^T), or U (A = U^T U) when upper. */
static int l_cholesky(lua_State *L) {
  Tensor *t = check_matrix(L, 1, "cholesky", 1);
  int upper = opt_flag(L, 2, "cholesky", "upper");
  check_finite(L, t, 1, "cholesky"); /* OpenBLAS's potrf lets NaN through */
  Tensor *a = push_work(L, 1, float_compute(t->dtype), "cholesky");
  check_lapack(L, lt_linalg_cholesky(a, upper), 1, "cholesky", "matrix is not positive definite");
  return 1;
}

/* ---- norms --------------------------------------------------------------- */

/* The matrix norm order at arg: 'fro' (default), 'nuc', or a number; raises on anything else. */
static LtMatrixNorm matrix_ord(lua_State *L, int arg) {
  if (lua_isnoneornil(L, arg)) return LT_NORM_FRO;
  if (lua_type(L, arg) == LUA_TSTRING) {
    const char *s = lua_tostring(L, arg);
    if (strcmp(s, "fro") == 0) return LT_NORM_FRO;
    if (strcmp(s, "nuc") == 0) return LT_NORM_NUC;
  } else if (lua_type(L, arg) == LUA_TNUMBER) {
    double p = lua_tonumber(L, arg);
    /* numpy's orders: 2 and -2 are the largest and smallest singular values, 1 and -1 the
     * largest and smallest absolute column sums, +-inf the same over rows. */
    if (p == 2 || p == -2) return p > 0 ? LT_NORM_SPEC : LT_NORM_SPEC_MIN;
    if (p == 1 || p == -1) return p > 0 ? LT_NORM_COL_MAX : LT_NORM_COL_MIN;
    if (isinf(p)) return p > 0 ? LT_NORM_ROW_MAX : LT_NORM_ROW_MIN;
  }
  /* luaL_tolstring shows the offending value, not just its type. */
  ltL_argerror(
      L, arg, "norm",
      "matrix norm order must be 'fro', 'nuc', 1, -1, 2, -2, math.huge or -math.huge, got %s",
      luaL_tolstring(L, arg, NULL));
  return LT_NORM_FRO;
}

/* norm(A, ord): a number; vectors take any numeric ord (default 2),
 * matrices 'fro' (default), 'nuc', +-1, +-2, +-inf. */
static int l_norm(lua_State *L) {
  Tensor *t = ltL_check_tensor(L, 1, "norm");
  double r;
  char b1[64];
  if (t->ndim == 1) {
    if (!lua_isnoneornil(L, 2) && lua_type(L, 2) != LUA_TNUMBER)
      return ltL_argerror(L, 2, "norm", "vector norm order must be a number, got %s",
                          luaL_tolstring(L, 2, NULL));
    double p = luaL_optnumber(L, 2, 2);
    if (p != p) return ltL_argerror(L, 2, "norm", "norm order is NaN");
    ltL_check_status(L, lt_linalg_vector_norm(t, p, &r), "norm");
  } else if (t->ndim == 2) {
    LtMatrixNorm ord = matrix_ord(L, 2);
    Tensor *a = t;
    /* Only the SVD-based orders need a float working copy; the others read t in place, any
     * dtype. */
    if (ord == LT_NORM_NUC || ord == LT_NORM_SPEC || ord == LT_NORM_SPEC_MIN)
      a = push_work(L, 1, float_compute(t->dtype), "norm");
    ltL_check_status(L, lt_linalg_matrix_norm(a, ord, &r), "norm");
  } else {
    return ltL_argerror(L, 1, "norm", "1-d or 2-d tensor expected, got %s", SHAPE(t, b1));
  }
  lua_pushnumber(L, r);
  return 1;
}

/* ---- similarity and distance --------------------------------------------- */

/* Checks A and B are 1-d or 2-d with rows of equal length. */
static void check_rows(lua_State *L, const char *fname, const Tensor *a, const Tensor *b,
                       int allow_1d) {
  char b1[64], b2[64];
  for (int arg = 1; arg <= 2; arg++) {
    const Tensor *t = arg == 1 ? a : b;
    if (t->ndim != 2 && !(allow_1d && t->ndim == 1))
      ltL_argerror(L, arg, fname, "%s tensor expected, got %s", allow_1d ? "1-d or 2-d" : "2-d",
                   SHAPE(t, b1));
  }
  if (a->shape[a->ndim - 1] != b->shape[b->ndim - 1])
    ltL_argerror(L, 2, fname, "shape mismatch: %s and %s (rows must have the same length)",
                 SHAPE(a, b1), SHAPE(b, b2));
}

/* eps given as a number or as {eps = ...}; default 1e-8. */
static double check_eps(lua_State *L, int arg, const char *fname) {
  if (lua_istable(L, arg)) {
    const char *known[] = {"eps", NULL};
    ltL_check_options(L, arg, fname, known);
    lua_getfield(L, arg, "eps");
    /* The eps field replaces the options table at arg, so one path reads both forms. */
    lua_replace(L, arg);
  }
  if (!lua_isnoneornil(L, arg) && lua_type(L, arg) != LUA_TNUMBER)
    ltL_argerror(L, arg, fname, "eps must be a number, got %s", luaL_typename(L, arg));
  double eps = luaL_optnumber(L, arg, 1e-8);
  /* Written so that NaN fails too. */
  if (!(eps >= 0)) ltL_argerror(L, arg, fname, "eps must be >= 0, got %g", eps);
  return eps;
}

/* cosine_similarity(A, B, eps): a number for two vectors, else the [n x m]
 * matrix over rows (a vector counts as one row and its dim is dropped). */
static int l_cosine_similarity(lua_State *L) {
  Tensor *a = ltL_check_tensor(L, 1, "cosine_similarity"),
         *b = ltL_check_tensor(L, 2, "cosine_similarity");
  double eps = check_eps(L, 3, "cosine_similarity"), r;
  check_rows(L, "cosine_similarity", a, b, 1);
  if (a->ndim == 1 && b->ndim == 1) {
    ltL_check_status(L, lt_linalg_cosine(a, b, eps, &r), "cosine_similarity");
    lua_pushnumber(L, r);
    return 1;
  }
  LtDtype dt = float_compute(lt_dtype_promote(a->dtype, b->dtype));
  /* Both operands as rows: a vector is a single row, and its dim is dropped from the result. */
  Tensor va = as_matrix(a, 0), vb = as_matrix(b, 0);
  int64_t shape[2] = {va.shape[0], vb.shape[0]}, rshape[2];
  int rnd = 0;
  if (a->ndim == 2) rshape[rnd++] = shape[0];
  if (b->ndim == 2) rshape[rnd++] = shape[1];
  /* lt_linalg_cosine_matrix normalises rows in place, so both operands are private copies. */
  push_copy(L, &va, dt, "cosine_similarity");
  push_copy(L, &vb, dt, "cosine_similarity");
  /* As in push_product, the kernel writes the full [n x m] layout into the pushed tensor. */
  Tensor vo = *ltL_push_new(L, dt, rnd, rshape);
  vo.ndim = 2;
  vo.shape[0] = shape[0];
  vo.shape[1] = shape[1];
  lt_contiguous_strides(2, vo.shape, vo.stride);
  ltL_check_status(L, lt_linalg_cosine_matrix(&vo, &va, &vb, eps), "cosine_similarity");
  return 1;
}

/* cdist(A, B, {squared=false}) -> [n x m] Euclidean (or squared) distances. */
/* blas_info() -> {core = , config = , threads = } */
static int l_blas_info(lua_State *L) {
  const char *core, *config;
  int threads;
  lt_linalg_blas_info(&core, &config, &threads);
  lua_createtable(L, 0, 3);
  lua_pushstring(L, core ? core : "unknown");
  lua_setfield(L, -2, "core");
  lua_pushstring(L, config ? config : "unknown");
  lua_setfield(L, -2, "config");
  lua_pushinteger(L, threads);
  lua_setfield(L, -2, "threads");
  return 1;
}

static int l_cdist(lua_State *L) {
  Tensor *a = ltL_check_tensor(L, 1, "cdist"), *b = ltL_check_tensor(L, 2, "cdist");
  int squared = opt_flag(L, 3, "cdist", "squared");
  check_rows(L, "cdist", a, b, 0);
  LtDtype dt = float_compute(lt_dtype_promote(a->dtype, b->dtype));
  Tensor vb = *b;
  /* b goes to BLAS as it is when it can; a is converted block by block inside cdist, so a large
   * a is never copied whole. */
  if (vb.dtype != dt || !lt_linalg_blas_ok(&vb)) push_copy(L, &vb, dt, "cdist");
  /* A shape-only descriptor: lt_linalg_cdist_scratch needs the output's shape and dtype before
   * the output exists. */
  Tensor shape_only = {NULL, dt, LT_CPU, 2, {a->shape[0], b->shape[0]}, {0}, 0};
  int64_t bytes = (int64_t)lt_linalg_cdist_scratch(a, &shape_only);
  /* Scratch as a uint8 tensor: Lua owns it, so an error anywhere frees it. */
  Tensor *scratch = ltL_push_new(L, LT_U8, 1, &bytes);
  Tensor *o = ltL_push_new(L, dt, 2, shape_only.shape);
  ltL_check_status(L, lt_linalg_cdist(o, a, &vb, squared, scratch->data, (size_t)bytes), "cdist");
  return 1;
}

static const luaL_Reg product_fns[] = {{"matmul", l_matmul}, {"mm", l_mm},   {"bmm", l_bmm},
                                       {"mv", l_mv},         {"dot", l_dot}, {"outer", l_outer},
                                       {NULL, NULL}};

static const luaL_Reg linalg_fns[] = {
    {"svd", l_svd},         {"svdvals", l_svdvals},
    {"eigh", l_eigh},       {"qr", l_qr},
    {"solve", l_solve},     {"lstsq", l_lstsq},
    {"inv", l_inv},         {"det", l_det},
    {"slogdet", l_slogdet}, {"cholesky", l_cholesky},
    {"norm", l_norm},       {"cosine_similarity", l_cosine_similarity},
    {"cdist", l_cdist},     {"blas_info", l_blas_info},
    {NULL, NULL}};

/* The main part of lunette._linalg (src/lunette.c lists every part). */
int luaopen_lunette_linalg(lua_State *L);
int luaopen_lunette_linalg(lua_State *L) {
  lua_newtable(L);
  luaL_setfuncs(L, linalg_fns, 0);
  ltL_register_tensor_methods(L, product_fns); /* t:matmul(u), t:mm(u), ... */
  return 1;
}
