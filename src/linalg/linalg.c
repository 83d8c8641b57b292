/* linalg.c - matrix products over cblas, LAPACKE decompositions, norms, cosine similarity and
 * cdist. */
/* Its LAPACKE_, cblas_ calls go through src/lazy.h:
 * LAPACKE and OpenBLAS are loaded on first use. */
#include <cblas.h>
#include <lapacke.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "interrupt.h"
#include "linalg/linalg.h"

/* cdist converts at most this many bytes of `a` at a time, in blocks of at
 * most CDIST_MAX_ROWS rows (so Ctrl-C is noticed between blocks). */
#define CDIST_BLOCK_BYTES ((size_t)32 << 20)
#define CDIST_MAX_ROWS    1024

/* A matrix as BLAS reads it: row-major storage with leading dimension ld,
 * used as stored (trans 0) or transposed (trans 1). */
typedef struct {
  const char *p;
  int trans;
  int64_t ld;
} BlasMat;

static int64_t imax(int64_t a, int64_t b) { return a > b ? a : b; }
static int64_t imin(int64_t a, int64_t b) { return a < b ? a : b; }
/* BLAS and LAPACK take 32-bit ints here (blasint, lapack_int). */
static int fits_int(int64_t v) { return v >= 0 && v <= INT_MAX; }
static int is_blas_dtype(LtDtype dt) { return dt == LT_F32 || dt == LT_F64; }

/* Contiguous, counting empty tensors as contiguous whatever their strides. */
static int dense(const Tensor *t) { return lt_numel(t) == 0 || lt_is_contiguous(t); }

/* Reads one element as double; float32 and float64 skip the generic switch. */
static double rd(const char *p, LtDtype dt) {
  if (dt == LT_F32) return *(const float *)p;
  if (dt == LT_F64) return *(const double *)p;
  return lt_get_f64(p, dt);
}

/* ---- products ----------------------------------------------------------- */

/* Finds how BLAS can read a rows x cols matrix with element strides rs, cs:
 * as a row-major block (trans 0) or the transpose of one (trans 1). */
static int blas_layout(int64_t rows, int64_t cols, int64_t rs, int64_t cs, int *trans,
                       int64_t *ld) {
  /* Row-major as stored: unit column step, and rows at least a full row apart (BLAS needs an ld
   * of at least cols). A dimension of size 1 is never stepped, so its stride is free and ld
   * takes the smallest legal value. */
  if ((cols <= 1 || cs == 1) && (rows <= 1 || rs >= imax(cols, 1))) {
    *trans = 0;
    *ld = rows <= 1 ? imax(cols, 1) : rs;
  } else if ((rows <= 1 || rs == 1) && (cols <= 1 || cs >= imax(rows, 1))) {
    /* The transpose of a row-major block: unit row step, columns a full column apart. */
    *trans = 1;
    *ld = cols <= 1 ? imax(rows, 1) : cs;
  } else {
    return 0;
  }
  return fits_int(*ld);
}

/* The BLAS view of t's last two dims; the caller has checked lt_linalg_blas_ok, so the layout
 * exists and mat_of ignores the return value. */
static BlasMat mat_of(const Tensor *t) {
  BlasMat m = {t->data, 0, 1};
  int nd = t->ndim;
  blas_layout(t->shape[nd - 2], t->shape[nd - 1], t->stride[nd - 2], t->stride[nd - 1], &m.trans,
              &m.ld);
  return m;
}

int lt_linalg_blas_ok(const Tensor *t) {
  int trans, nd = t->ndim;
  int64_t ld;
  if (nd < 2) return 0;
  return blas_layout(t->shape[nd - 2], t->shape[nd - 1], t->stride[nd - 2], t->stride[nd - 1],
                     &trans, &ld);
}

/* The one-row or one-column case of gemm, through gemv: c is [m x n] with
 * row stride ldc and m == 1 or n == 1. */
static void gemv(LtDtype dt, int64_t m, int64_t n, int64_t k, double alpha, BlasMat a, BlasMat b,
                 char *c, int64_t ldc) {
  const char *mat, *vec;
  int64_t rows, cols, ld, incx, incy;
  enum CBLAS_TRANSPOSE tr;
  /* gemv computes y = op(M) x. For a single output column, M is a and x is b's column (its
   * elements are ld apart unless b is transposed). */
  if (n == 1) { /* c[:, 0] = op(a) b[:, 0] */
    mat = a.p;
    ld = a.ld;
    vec = b.p;
    incx = b.trans ? 1 : b.ld;
    incy = ldc;
    rows = a.trans ? k : m;
    cols = a.trans ? m : k;
    tr = a.trans ? CblasTrans : CblasNoTrans;
  } else { /* c[0, :] = op(b)^T a[0, :] */
    /* For a single output row, c^T = op(b)^T a^T: M is b with the opposite transpose flag and
     * x is a's row. */
    mat = b.p;
    ld = b.ld;
    vec = a.p;
    incx = a.trans ? a.ld : 1;
    incy = 1;
    rows = b.trans ? n : k;
    cols = b.trans ? k : n;
    tr = b.trans ? CblasNoTrans : CblasTrans;
  }
  if (dt == LT_F32)
    cblas_sgemv(CblasRowMajor, tr, (blasint)rows, (blasint)cols, (float)alpha, (const float *)mat,
                (blasint)ld, (const float *)vec, (blasint)incx, 0.0f, (float *)c, (blasint)incy);
  else
    cblas_dgemv(CblasRowMajor, tr, (blasint)rows, (blasint)cols, alpha, (const double *)mat,
                (blasint)ld, (const double *)vec, (blasint)incx, 0.0, (double *)c, (blasint)incy);
}

/* c[m x n] (row stride ldc) = alpha * op(a)[m x k] @ op(b)[k x n]. */
static LtStatus gemm(LtDtype dt, int64_t m, int64_t n, int64_t k, double alpha, BlasMat a,
                     BlasMat b, char *c, int64_t ldc) {
  size_t es = lt_dtype_size(dt);
  /* An empty result needs no call; sizes above INT_MAX cannot be passed (blasint is 32-bit
   * here), so they are refused before any call. */
  if (m == 0 || n == 0) return LT_OK;
  if (!fits_int(m) || !fits_int(n) || !fits_int(k) || !fits_int(ldc)) return LT_ERANGE;
  /* k == 0 is a sum over nothing: zeros, written here without a BLAS call. */
  if (k == 0) {
    for (int64_t i = 0; i < m; i++) memset(c + (size_t)(i * ldc) * es, 0, (size_t)n * es);
    return LT_OK;
  }
  /* A single row or column is a matrix-vector product: gemv skips gemm's packing of the
   * operands. */
  if (m == 1 || n == 1) {
    gemv(dt, m, n, k, alpha, a, b, c, ldc);
    return LT_OK;
  }
  enum CBLAS_TRANSPOSE ta = a.trans ? CblasTrans : CblasNoTrans,
                       tb = b.trans ? CblasTrans : CblasNoTrans;
  if (dt == LT_F32)
    cblas_sgemm(CblasRowMajor, ta, tb, (blasint)m, (blasint)n, (blasint)k, (float)alpha,
                (const float *)a.p, (blasint)a.ld, (const float *)b.p, (blasint)b.ld, 0.0f,
                (float *)c, (blasint)ldc);
  else
    cblas_dgemm(CblasRowMajor, ta, tb, (blasint)m, (blasint)n, (blasint)k, alpha,
                (const double *)a.p, (blasint)a.ld, (const double *)b.p, (blasint)b.ld, 0.0,
                (double *)c, (blasint)ldc);
  return LT_OK;
}

/* Element offsets of batch index idx in a and b (nb batch dims). */
static void batch_offsets(const Tensor *a, const Tensor *b, int nb, const int64_t *idx, int64_t *oa,
                          int64_t *ob) {
  *oa = 0;
  *ob = 0;
  for (int i = 0; i < nb; i++) {
    *oa += idx[i] * a->stride[i];
    *ob += idx[i] * b->stride[i];
  }
}

static void next_index(int64_t *idx, const int64_t *shape, int nb) {
  for (int i = nb - 1; i >= 0; i--) {
    if (++idx[i] < shape[i]) return;
    idx[i] = 0;
  }
}

/* When b is shared by every batch and a's batch dims stack onto its rows
 * with one stride, the whole product is a single [rows x k] @ [k x n]. */
static int stacked_rows(const Tensor *a, const Tensor *b, BlasMat *ma, int64_t *rows) {
  int nd = a->ndim;
  int64_t r = 1, s = 0, k = a->shape[nd - 1];
  /* b must be the same matrix for every batch (size 1 or stride 0 in each batch dim). */
  for (int i = 0; i < nd - 2; i++)
    if (b->shape[i] != 1 && b->stride[i] != 0) return 0;
  /* From the row dim outwards, every non-trivial dim must step by the rows below it times one
   * common row stride s: then a's batches and rows are one [r x k] block with ld s. */
  for (int i = nd - 2; i >= 0; i--) {
    if (a->shape[i] == 1) continue;
    if (r == 1)
      s = a->stride[i];
    else if (a->stride[i] != r * s)
      return 0;
    r *= a->shape[i];
  }
  ma->p = a->data;
  *rows = r;
  return blas_layout(r, k, r == 1 ? imax(k, 1) : s, a->stride[nd - 1], &ma->trans, &ma->ld);
}

/* The float path of lt_matmul: one gemm for stacked batches, else one gemm per batch. */
static LtStatus matmul_blas(Tensor *out, const Tensor *a, const Tensor *b) {
  int nd = a->ndim, nb = nd - 2;
  int64_t m = a->shape[nd - 2], k = a->shape[nd - 1], n = b->shape[nd - 1], rows,
          idx[LT_MAXDIM] = {0};
  size_t es = lt_dtype_size(out->dtype);
  BlasMat ma = mat_of(a), mb = mat_of(b), stack;
  if (stacked_rows(a, b, &stack, &rows))
    return gemm(out->dtype, rows, n, k, 1.0, stack, mb, out->data, n);
  /* Otherwise one gemm per batch; out is contiguous, so batch t starts at t*m*n. */
  int64_t nbatch = lt_numel(out) / (m * n);
  for (int64_t t = 0; t < nbatch; t++) {
    int64_t oa, ob;
    batch_offsets(a, b, nb, idx, &oa, &ob);
    BlasMat pa = ma, pb = mb;
    pa.p += (size_t)oa * es;
    pb.p += (size_t)ob * es;
    LtStatus st =
        gemm(out->dtype, m, n, k, 1.0, pa, pb, (char *)out->data + (size_t)(t * m * n) * es, n);
    if (st != LT_OK) return st;
    next_index(idx, out->shape, nb);
    /* Polled every 64 batches: a single gemm call cannot be interrupted. */
    if ((t & 63) == 63 && lt_interrupt_pending()) return LT_EINTR;
  }
  return LT_OK;
}

/* The integer reference kernel: i-p-j loops, wrapping like C unsigned. */
static void matmul_i64_one(int64_t *c, const int64_t *a, const int64_t *b, int64_t m, int64_t n,
                           int64_t k, const int64_t *as, const int64_t *bs) {
  /* i-p-j order: the innermost loop walks a row of b and a row of c, unit stride when b is
   * contiguous; a zero of a skips a whole row of b. */
  for (int64_t i = 0; i < m; i++) {
    uint64_t *row = (uint64_t *)(c + i * n);
    memset(row, 0, (size_t)n * sizeof *row);
    for (int64_t p = 0; p < k; p++) {
      uint64_t av = (uint64_t)a[i * as[0] + p * as[1]];
      const int64_t *brow = b + p * bs[0];
      if (av == 0) continue;
      for (int64_t j = 0; j < n; j++) row[j] += av * (uint64_t)brow[j * bs[1]];
    }
  }
}

static LtStatus matmul_i64(Tensor *out, const Tensor *a, const Tensor *b) {
  int nd = a->ndim, nb = nd - 2;
  int64_t m = a->shape[nd - 2], k = a->shape[nd - 1], n = b->shape[nd - 1], idx[LT_MAXDIM] = {0};
  int64_t nbatch = lt_numel(out) / (m * n);
  for (int64_t t = 0; t < nbatch; t++) {
    int64_t oa, ob;
    batch_offsets(a, b, nb, idx, &oa, &ob);
    matmul_i64_one((int64_t *)out->data + t * m * n, (const int64_t *)a->data + oa,
                   (const int64_t *)b->data + ob, m, n, k, a->stride + nd - 2, b->stride + nd - 2);
    next_index(idx, out->shape, nb);
    /* One poll per batch: the integer kernel is slow enough that this costs nothing. */
    if (lt_interrupt_pending()) return LT_EINTR;
  }
  return LT_OK;
}

LtStatus lt_matmul(Tensor *out, const Tensor *a, const Tensor *b) {
  int nd = a->ndim;
  if (nd < 2 || b->ndim != nd || out->ndim != nd) return LT_ESHAPE;
  int64_t m = a->shape[nd - 2], k = a->shape[nd - 1], n = b->shape[nd - 1];
  if (b->shape[nd - 2] != k || out->shape[nd - 2] != m || out->shape[nd - 1] != n) return LT_ESHAPE;
  /* The caller expands broadcast batches, so batch dims must match exactly here. */
  for (int i = 0; i < nd - 2; i++)
    if (a->shape[i] != out->shape[i] || b->shape[i] != out->shape[i]) return LT_ESHAPE;
  if (a->dtype != out->dtype || b->dtype != out->dtype) return LT_EDTYPE;
  if (!dense(out)) return LT_EVALUE;
  /* An empty result needs no call at all. */
  if (lt_numel(out) == 0) return LT_OK;
  if (out->dtype == LT_I64) return matmul_i64(out, a, b);
  if (!is_blas_dtype(out->dtype)) return LT_EDTYPE;
  if (!lt_linalg_blas_ok(a) || !lt_linalg_blas_ok(b)) return LT_EVALUE;
  return matmul_blas(out, a, b);
}

LtStatus lt_dot(Tensor *out, const Tensor *a, const Tensor *b) {
  if (a->ndim != 1 || b->ndim != 1 || a->shape[0] != b->shape[0]) return LT_ESHAPE;
  if (a->dtype != b->dtype) return LT_EDTYPE;
  int64_t n = a->shape[0], sa = a->stride[0], sb = b->stride[0];
  if (a->dtype == LT_I64) {
    const int64_t *x = a->data, *y = b->data;
    uint64_t s = 0;
    for (int64_t i = 0; i < n; i++) s += (uint64_t)x[i * sa] * (uint64_t)y[i * sb];
    lt_set_i64(out->data, out->dtype, (int64_t)s);
    return LT_OK;
  }
  if (!is_blas_dtype(a->dtype)) return LT_EDTYPE;
  /* Two accumulators in double: float32 input loses nothing in the sum, and the two chains
   * overlap in the pipeline. */
  double s0 = 0, s1 = 0;
  size_t es = lt_dtype_size(a->dtype);
  const char *x = a->data, *y = b->data;
  int64_t i = 0;
  for (; i + 2 <= n; i += 2) {
    s0 += rd(x + (size_t)(i * sa) * es, a->dtype) * rd(y + (size_t)(i * sb) * es, a->dtype);
    s1 += rd(x + (size_t)((i + 1) * sa) * es, a->dtype) *
          rd(y + (size_t)((i + 1) * sb) * es, a->dtype);
  }
  if (i < n)
    s0 += rd(x + (size_t)(i * sa) * es, a->dtype) * rd(y + (size_t)(i * sb) * es, a->dtype);
  lt_set_f64(out->data, out->dtype, s0 + s1);
  return LT_OK;
}

LtStatus lt_outer(Tensor *out, const Tensor *u, const Tensor *v) {
  if (u->ndim != 1 || v->ndim != 1 || out->ndim != 2 || out->shape[0] != u->shape[0] ||
      out->shape[1] != v->shape[0])
    return LT_ESHAPE;
  if (u->dtype != out->dtype || v->dtype != out->dtype) return LT_EDTYPE;
  if (!dense(out)) return LT_EVALUE;
  int64_t m = u->shape[0], n = v->shape[0], su = u->stride[0], sv = v->stride[0];
  switch (out->dtype) {
  case LT_F32: {
    const float *x = u->data, *y = v->data;
    float *o = out->data;
    for (int64_t i = 0; i < m; i++)
      for (int64_t j = 0; j < n; j++) o[i * n + j] = x[i * su] * y[j * sv];
    return LT_OK;
  }
  case LT_F64: {
    const double *x = u->data, *y = v->data;
    double *o = out->data;
    for (int64_t i = 0; i < m; i++)
      for (int64_t j = 0; j < n; j++) o[i * n + j] = x[i * su] * y[j * sv];
    return LT_OK;
  }
  case LT_I64: {
    /* Wrapping products through uint64, like the other integer kernels. */
    const int64_t *x = u->data, *y = v->data;
    uint64_t *o = out->data;
    for (int64_t i = 0; i < m; i++)
      for (int64_t j = 0; j < n; j++) o[i * n + j] = (uint64_t)x[i * su] * (uint64_t)y[j * sv];
    return LT_OK;
  }
  default: return LT_EDTYPE;
  }
}

/* ---- similarity and distance ------------------------------------------- */

/* Squared L2 norms of rows r0..r1-1 of the 2-d F32/F64 x (any strides). */
static void row_sqnorms(const Tensor *x, int64_t r0, int64_t r1, double *dst) {
  size_t es = lt_dtype_size(x->dtype);
  for (int64_t i = r0; i < r1; i++) {
    const char *row = (const char *)x->data + (size_t)(i * x->stride[0]) * es;
    double s = 0;
    for (int64_t j = 0; j < x->shape[1]; j++) {
      double v = rd(row + (size_t)(j * x->stride[1]) * es, x->dtype);
      s += v * v;
    }
    dst[i - r0] = s;
  }
}

/* Divides each row of the contiguous F32/F64 matrix x by max(||row||, eps), in place. */
static void normalize_rows(Tensor *x, double eps) {
  /* Rows are normalised in place, so the gemm below yields the cosines directly. */
  int64_t n = x->shape[0], d = x->shape[1];
  for (int64_t i = 0; i < n; i++) {
    double s;
    row_sqnorms(x, i, i + 1, &s);
    /* eps keeps a zero row at zero instead of dividing by zero, as torch's cosine_similarity
     * does. */
    double inv = 1.0 / fmax(sqrt(s), eps);
    if (x->dtype == LT_F32) {
      float *r = (float *)x->data + i * d;
      for (int64_t j = 0; j < d; j++) r[j] = (float)(r[j] * inv);
    } else {
      double *r = (double *)x->data + i * d;
      for (int64_t j = 0; j < d; j++) r[j] *= inv;
    }
  }
}

LtStatus lt_linalg_cosine_matrix(Tensor *out, Tensor *a, Tensor *b, double eps) {
  if (a->ndim != 2 || b->ndim != 2 || out->ndim != 2 || a->shape[1] != b->shape[1] ||
      out->shape[0] != a->shape[0] || out->shape[1] != b->shape[0])
    return LT_ESHAPE;
  if (!is_blas_dtype(out->dtype) || a->dtype != out->dtype || b->dtype != out->dtype)
    return LT_EDTYPE;
  if (!dense(a) || !dense(b) || !dense(out)) return LT_EVALUE;
  int64_t n = a->shape[0], m = b->shape[0], d = a->shape[1];
  normalize_rows(a, eps);
  normalize_rows(b, eps);
  /* a as stored, b transposed: out = a b^T, one dot product per pair. */
  BlasMat ma = {a->data, 0, imax(d, 1)}, mb = {b->data, 1, imax(d, 1)};
  return gemm(out->dtype, n, m, d, 1.0, ma, mb, out->data, m);
}

LtStatus lt_linalg_cosine(const Tensor *a, const Tensor *b, double eps, double *out) {
  if (a->ndim != 1 || b->ndim != 1 || a->shape[0] != b->shape[0]) return LT_ESHAPE;
  size_t ea = lt_dtype_size(a->dtype), eb = lt_dtype_size(b->dtype);
  double ab = 0, aa = 0, bb = 0;
  for (int64_t i = 0; i < a->shape[0]; i++) {
    double x = rd((const char *)a->data + (size_t)(i * a->stride[0]) * ea, a->dtype);
    double y = rd((const char *)b->data + (size_t)(i * b->stride[0]) * eb, b->dtype);
    ab += x * y;
    aa += x * x;
    bb += y * y;
  }
  *out = ab / (fmax(sqrt(aa), eps) * fmax(sqrt(bb), eps));
  return LT_OK;
}

/* Rows per cdist block: as many as fit CDIST_BLOCK_BYTES once converted (at least one), at most
 * CDIST_MAX_ROWS, never more than a has. */
static int64_t cdist_rows(const Tensor *a, const Tensor *out) {
  int64_t d = imax(a->shape[1], 1);
  int64_t r = (int64_t)(CDIST_BLOCK_BYTES / ((size_t)d * lt_dtype_size(out->dtype)));
  return imin(imin(imax(r, 1), CDIST_MAX_ROWS), a->shape[0]);
}

/* a goes to BLAS as it is when it already has out's dtype and a BLAS layout. */
static int cdist_direct(const Tensor *a, const Tensor *out) {
  return a->dtype == out->dtype && lt_linalg_blas_ok(a);
}

size_t lt_linalg_cdist_scratch(const Tensor *a, const Tensor *out) {
  int64_t rows = cdist_rows(a, out);
  /* Norms of b's m rows and of one block of rows of a, then the conversion buffer if a needs
   * one. */
  size_t bytes = (size_t)(out->shape[1] + rows) * sizeof(double);
  if (!cdist_direct(a, out)) bytes += (size_t)(rows * a->shape[1]) * lt_dtype_size(out->dtype);
  return bytes;
}

/* c[i, j] = an[i] + bn[j] + c[i, j] (c holds -2 a.b), clamped at 0 (NaN
 * passes through), then rooted unless squared. */
static void cdist_finish(char *c, LtDtype dt, int64_t h, int64_t m, const double *an,
                         const double *bn, int squared) {
#pragma omp parallel for schedule(static) if (h * m >= 65536)
  for (int64_t i = 0; i < h; i++) {
    if (dt == LT_F32) {
      float *row = (float *)c + i * m;
      for (int64_t j = 0; j < m; j++) {
        /* -2 a.b from the gemm, plus the norms: v is the squared distance. Cancellation can make
         * it slightly negative for near-identical rows, hence the clamp. */
        double v = an[i] + bn[j] + row[j];
        v = v < 0 ? 0 : v;
        row[j] = (float)(squared ? v : sqrt(v));
      }
    } else {
      double *row = (double *)c + i * m;
      for (int64_t j = 0; j < m; j++) {
        double v = an[i] + bn[j] + row[j];
        v = v < 0 ? 0 : v;
        row[j] = squared ? v : sqrt(v);
      }
    }
  }
}

/* Writes rows r0..r0+h-1 of the distance matrix. */
static LtStatus cdist_block(Tensor *out, const Tensor *a, BlasMat mb, int64_t r0, int64_t h,
                            int squared, const double *bn, double *an, char *buf) {
  LtDtype dt = out->dtype;
  int64_t m = out->shape[1], d = a->shape[1];
  Tensor blk = *a;
  blk.data = (char *)a->data + (size_t)(r0 * a->stride[0]) * lt_dtype_size(a->dtype);
  blk.shape[0] = h;
  /* a has another dtype or a layout BLAS cannot read: convert this block into buf (contiguous,
   * out's dtype) first. */
  if (!cdist_direct(a, out)) {
    Tensor src = blk;
    blk.data = buf;
    blk.dtype = dt;
    lt_contiguous_strides(2, blk.shape, blk.stride);
    LtStatus st = lt_copy(&blk, &src);
    if (st != LT_OK) return st;
  }
  row_sqnorms(&blk, 0, h, an);
  char *c = (char *)out->data + (size_t)(r0 * m) * lt_dtype_size(dt);
  /* One gemm per block writes -2 a_i . b_j straight into out's rows: expanding
   * ||a - b||^2 = ||a||^2 + ||b||^2 - 2 a.b turns the n x m distances into one matrix product. */
  LtStatus st = gemm(dt, h, m, d, -2.0, mat_of(&blk), mb, c, m);
  if (st == LT_OK) cdist_finish(c, dt, h, m, an, bn, squared);
  return st;
}

LtStatus lt_linalg_cdist(Tensor *out, const Tensor *a, const Tensor *b, int squared, void *scratch,
                         size_t scratch_bytes) {
  if (a->ndim != 2 || b->ndim != 2 || out->ndim != 2 || a->shape[1] != b->shape[1] ||
      out->shape[0] != a->shape[0] || out->shape[1] != b->shape[0])
    return LT_ESHAPE;
  if (!is_blas_dtype(out->dtype) || b->dtype != out->dtype) return LT_EDTYPE;
  if (!dense(out) || !lt_linalg_blas_ok(b)) return LT_EVALUE;
  if (scratch_bytes < lt_linalg_cdist_scratch(a, out)) return LT_EVALUE;
  int64_t n = a->shape[0], m = b->shape[0], rows = cdist_rows(a, out);
  /* Scratch layout: bn (m doubles), an (rows doubles), then the conversion buffer; all 8-aligned
   * because they follow doubles. */
  double *bn = scratch, *an = bn + m;
  BlasMat mb = mat_of(b);
  mb.trans = !mb.trans; /* b^T */
  row_sqnorms(b, 0, m, bn);
  for (int64_t r0 = 0; r0 < n; r0 += rows) {
    LtStatus st =
        cdist_block(out, a, mb, r0, imin(rows, n - r0), squared, bn, an, (char *)(an + rows));
    if (st != LT_OK) return st;
    if (lt_interrupt_pending()) return LT_EINTR;
  }
  return LT_OK;
}

/* ---- norms -------------------------------------------------------------- */

/* p the order; acc the running sum (or extreme); maxabs the largest |x| seen (p = 2 only); scale
 * the divisor applied before squaring on the rescaled second pass. */
typedef struct {
  double p, acc, maxabs, scale;
  LtDtype dt;
} NormCtx;

/* Run kernel of lt_linalg_vector_norm: folds |x| of one run into the NormCtx. */
static void norm_run(char **ptrs, const int64_t *sb, int64_t n, void *ctx) {
  NormCtx *c = ctx;
  for (int64_t i = 0; i < n; i++) {
    double v = fabs(rd(ptrs[0] + i * sb[0], c->dt));
    /* For p = +-inf, acc is the running max or min of |x|; once it is NaN it stays NaN. */
    if (c->p == INFINITY) {
      if (c->acc == c->acc && (v != v || v > c->acc)) c->acc = v;
    } else if (c->p == -INFINITY) {
      if (c->acc == c->acc && (v != v || v < c->acc)) c->acc = v;
    } else if (c->p == 0)
      c->acc += v != 0;
    else if (c->p == 1)
      c->acc += v;
    else if (c->p == 2) {
      /* Squares are summed after dividing by scale (1 on the first pass), and the largest |x| is
       * recorded in case the plain sum over- or underflows; negated so that NaN is recorded too. */
      double s = v / c->scale;
      c->acc += s * s;
      if (!(v <= c->maxabs)) c->maxabs = v;
    } else
      c->acc += pow(v, c->p);
  }
}

LtStatus lt_linalg_vector_norm(const Tensor *x, double p, double *out) {
  if (p != p) return LT_EVALUE;
  /* acc starts at +inf for the minimum (p = -inf) and at 0 for every sum and the maximum. */
  NormCtx c = {p, p == -INFINITY ? INFINITY : 0, 0, 1, x->dtype};
  Tensor t = *x;
  Tensor *ts[1] = {&t};
  LtStatus st = lt_foreach_run(1, ts, norm_run, &c);
  if (st != LT_OK) return st;
  /* Only when the plain sum overflowed or underflowed (and some |x| is finite and nonzero) is a
   * second pass made, scaled by the largest |x|: most inputs take one pass, cheaper than
   * rescaling at every element as the classic dnrm2 does. */
  if (p == 2 && c.maxabs > 0 && isfinite(c.maxabs) && (!isfinite(c.acc) || c.acc < DBL_MIN * 1e4)) {
    c.scale = c.maxabs;
    c.acc = 0; /* over- or underflow: again, scaled by the largest |x| */
    lt_foreach_run(1, ts, norm_run, &c);
  }
  if (p == 2)
    *out = c.scale * sqrt(c.acc);
  else if (p == 1 || p == 0 || isinf(p))
    *out = c.acc;
  else
    *out = pow(c.acc, 1.0 / p);
  return LT_OK;
}

/* Largest (want_max) or smallest absolute row sum of the 2-d a; column
 * sums are the row sums of the transposed view. */
static double abs_row_sums(const Tensor *a, int want_max) {
  int64_t r = a->shape[0], c = a->shape[1];
  size_t es = lt_dtype_size(a->dtype);
  /* The max of no rows is 0; the min starts at +inf unless there are no rows (then 0). */
  double best = want_max || r == 0 ? 0 : INFINITY;
  for (int64_t i = 0; i < r; i++) {
    double s = 0;
    for (int64_t j = 0; j < c; j++)
      s += fabs(
          rd((const char *)a->data + (size_t)(i * a->stride[0] + j * a->stride[1]) * es, a->dtype));
    /* Once best is NaN it stays NaN; a NaN sum replaces any number. */
    if (best == best && (s != s || (want_max ? s > best : s < best))) best = s;
  }
  return best;
}

/* Nuclear, spectral or smallest-singular-value norm of a (destroyed) through the SVD. */
static LtStatus singular_norm(Tensor *a, LtMatrixNorm ord, double *out) {
  int64_t k = imin(a->shape[0], a->shape[1]);
  Tensor t = *a;
  *out = 0;
  /* gesdd can loop on non-finite input, so answer without it: NaN if any element is NaN, else
   * (some Inf) Inf, except the smallest singular value, which is undefined (NaN). */
  if (!lt_linalg_all_finite(a)) {
    NormCtx c = {INFINITY, 0, 0, 1, a->dtype};
    Tensor *ts[1] = {&t};
    lt_foreach_run(1, ts, norm_run, &c);
    *out = c.acc != c.acc || ord == LT_NORM_SPEC_MIN ? NAN : INFINITY;
    return LT_OK;
  }
  if (k == 0) return LT_OK;
  Tensor s = {malloc((size_t)k * lt_dtype_size(a->dtype)), a->dtype, LT_CPU, 1, {k}, {1}, 0};
  if (!s.data) return LT_ENOMEM;
  LtStatus st = lt_linalg_svd(a, NULL, &s, NULL, 0);
  /* Singular values come back in descending order: the spectral norm is the first, the smallest
   * the last. */
  for (int64_t i = 0; st == LT_OK && i < k; i++) {
    double v = rd((const char *)s.data + (size_t)i * lt_dtype_size(a->dtype), a->dtype);
    if (ord == LT_NORM_NUC)
      *out += v;
    else if (ord == LT_NORM_SPEC ? i == 0 : i == k - 1)
      *out = v;
  }
  free(s.data);
  return st;
}

LtStatus lt_linalg_matrix_norm(Tensor *a, LtMatrixNorm ord, double *out) {
  if (a->ndim != 2) return LT_ESHAPE;
  /* The transposed view, for column sums. */
  Tensor at = *a;
  at.shape[0] = a->shape[1];
  at.shape[1] = a->shape[0];
  at.stride[0] = a->stride[1];
  at.stride[1] = a->stride[0];
  switch (ord) {
  case LT_NORM_FRO: return lt_linalg_vector_norm(a, 2, out);
  case LT_NORM_ROW_MAX:
  case LT_NORM_ROW_MIN: *out = abs_row_sums(a, ord == LT_NORM_ROW_MAX); return LT_OK;
  case LT_NORM_COL_MAX:
  case LT_NORM_COL_MIN: *out = abs_row_sums(&at, ord == LT_NORM_COL_MAX); return LT_OK;
  default:
    if (!is_blas_dtype(a->dtype)) return LT_EDTYPE;
    if (!dense(a)) return LT_EVALUE;
    return singular_norm(a, ord, out);
  }
}

/* ---- decompositions ------------------------------------------------------ */

typedef struct {
  int ok;
  LtDtype dt;
} FiniteCtx;

static void finite_run(char **ptrs, const int64_t *sb, int64_t n, void *ctx) {
  FiniteCtx *c = ctx;
  /* Stops scanning once a non-finite value is found (the later runs still loop, doing nothing). */
  for (int64_t i = 0; i < n && c->ok; i++)
    if (!isfinite(rd(ptrs[0] + i * sb[0], c->dt))) c->ok = 0;
}

int lt_linalg_all_finite(const Tensor *t) {
  if (!lt_dtype_is_float(t->dtype)) return 1;
  FiniteCtx c = {1, t->dtype};
  Tensor v = *t;
  Tensor *ts[1] = {&v};
  lt_foreach_run(1, ts, finite_run, &c);
  return c.ok;
}

static LtStatus lapack_status(lapack_int info) {
  /* LAPACKE reports its own allocation failures with these negative codes; any other negative
   * info is a bad argument, which the checks before each call should make impossible. */
  if (info == 0) return LT_OK;
  if (info == LAPACK_WORK_MEMORY_ERROR || info == LAPACK_TRANSPOSE_MEMORY_ERROR) return LT_ENOMEM;
  return info > 0 ? LT_ELAPACK : LT_EVALUE;
}

/* a must be a contiguous 2-d F32/F64 matrix whose sizes LAPACK can take. */
static LtStatus check_matrix(const Tensor *a, int square) {
  if (a->ndim != 2 || (square && a->shape[0] != a->shape[1])) return LT_ESHAPE;
  if (!is_blas_dtype(a->dtype)) return LT_EDTYPE;
  if (!dense(a)) return LT_EVALUE;
  return fits_int(a->shape[0]) && fits_int(a->shape[1]) ? LT_OK : LT_ERANGE;
}

/* t has dtype dt, is contiguous and has shape (d0) or (d0, d1) by nd. */
static int is_out(const Tensor *t, LtDtype dt, int nd, int64_t d0, int64_t d1) {
  return t->dtype == dt && t->ndim == nd && dense(t) && t->shape[0] == d0 &&
         (nd == 1 || t->shape[1] == d1);
}

/* t = the identity; LT_EINTR when the zero fill is interrupted. */
static LtStatus set_identity(Tensor *t) {
  size_t es = lt_dtype_size(t->dtype);
  LtStatus st = lt_fill(t, 0);
  if (st != LT_OK) return st;
  for (int64_t i = 0; i < imin(t->shape[0], t->shape[1]); i++)
    lt_set_f64((char *)t->data + (size_t)(i * t->shape[1] + i) * es, t->dtype, 1);
  return LT_OK;
}

static LtStatus svd_check(const Tensor *a, const Tensor *u, const Tensor *s, const Tensor *vt,
                          int full) {
  int64_t m = a->shape[0], n = a->shape[1], k = imin(m, n);
  if (!is_out(s, a->dtype, 1, k, 0) || (!u) != (!vt)) return LT_ESHAPE;
  if (u && (!is_out(u, a->dtype, 2, m, full ? m : k) || !is_out(vt, a->dtype, 2, full ? n : k, n)))
    return LT_ESHAPE;
  return lt_linalg_all_finite(a) ? LT_OK : LT_EVALUE;
}

LtStatus lt_linalg_svd(Tensor *a, Tensor *u, Tensor *s, Tensor *vt, int full) {
  LtStatus st = check_matrix(a, 0);
  if (st == LT_OK) st = svd_check(a, u, s, vt, full);
  if (st != LT_OK) return st;
  /* check_matrix ensured the sizes fit lapack_int. */
  lapack_int m = (lapack_int)a->shape[0], n = (lapack_int)a->shape[1], k = m < n ? m : n;
  /* An empty matrix has no singular values; the bases are set to the identity. */
  if (k == 0) {
    if (u) st = set_identity(u);
    return st == LT_OK && u ? set_identity(vt) : st;
  }
  /* Only the singular values (N), thin factors (S) or full factors (A). */
  char job = !u ? 'N' : full ? 'A' : 'S';
  lapack_int ldu = u ? (full ? m : k) : 1, ldvt = n; /* LAPACKE checks ldvt >= n even for jobz N */
  double dummy[1];
  void *up = u ? u->data : dummy, *vp = vt ? vt->data : dummy;
  lapack_int info =
      a->dtype == LT_F32
          ? LAPACKE_sgesdd(LAPACK_ROW_MAJOR, job, m, n, a->data, n, s->data, up, ldu, vp, ldvt)
          : LAPACKE_dgesdd(LAPACK_ROW_MAJOR, job, m, n, a->data, n, s->data, up, ldu, vp, ldvt);
  return lapack_status(info);
}

LtStatus lt_linalg_eigh(Tensor *a, Tensor *w, int upper) {
  LtStatus st = check_matrix(a, 1);
  if (st != LT_OK) return st;
  lapack_int n = (lapack_int)a->shape[0];
  if (!is_out(w, a->dtype, 1, n, 0)) return LT_ESHAPE;
  if (!lt_linalg_all_finite(a)) return LT_EVALUE;
  if (n == 0) return LT_OK;
  char uplo = upper ? 'U' : 'L';
  lapack_int info = a->dtype == LT_F32
                        ? LAPACKE_ssyevd(LAPACK_ROW_MAJOR, 'V', uplo, n, a->data, n, w->data)
                        : LAPACKE_dsyevd(LAPACK_ROW_MAJOR, 'V', uplo, n, a->data, n, w->data);
  return lapack_status(info);
}

/* r = the upper triangle of the first k rows of the factored a [m x n];
 * q = the first k columns of the generated orthonormal factor. */
static void qr_split(const Tensor *a, Tensor *dst, int upper_part) {
  /* upper_part: r row i keeps columns i.. of the factored a (R is stored on and above the
   * diagonal; below it are the Householder vectors). Otherwise q copies the first cols entries
   * of each row. */
  int64_t n = a->shape[1], rows = dst->shape[0], cols = dst->shape[1];
  size_t es = lt_dtype_size(a->dtype);
  for (int64_t i = 0; i < rows; i++) {
    char *d = (char *)dst->data + (size_t)(i * cols) * es;
    const char *src = (const char *)a->data + (size_t)(i * n) * es;
    if (!upper_part) {
      memcpy(d, src, (size_t)cols * es);
      continue;
    }
    int64_t z = imin(i, cols);
    memset(d, 0, (size_t)z * es);
    memcpy(d + (size_t)z * es, src + (size_t)z * es, (size_t)(cols - z) * es);
  }
}

LtStatus lt_linalg_qr(Tensor *a, Tensor *q, Tensor *r) {
  LtStatus st = check_matrix(a, 0);
  if (st != LT_OK) return st;
  lapack_int m = (lapack_int)a->shape[0], n = (lapack_int)a->shape[1], k = m < n ? m : n;
  if (!is_out(q, a->dtype, 2, m, k) || !is_out(r, a->dtype, 2, k, n)) return LT_ESHAPE;
  if (k == 0) return LT_OK;
  /* tau: the scalar factors of the k Householder reflectors that geqrf leaves beside them. */
  void *tau = malloc((size_t)k * lt_dtype_size(a->dtype));
  if (!tau) return LT_ENOMEM;
  lapack_int info = a->dtype == LT_F32 ? LAPACKE_sgeqrf(LAPACK_ROW_MAJOR, m, n, a->data, n, tau)
                                       : LAPACKE_dgeqrf(LAPACK_ROW_MAJOR, m, n, a->data, n, tau);
  if (info == 0) {
    /* R is copied out before orgqr overwrites a with Q. */
    qr_split(a, r, 1);
    info = a->dtype == LT_F32 ? LAPACKE_sorgqr(LAPACK_ROW_MAJOR, m, k, k, a->data, n, tau)
                              : LAPACKE_dorgqr(LAPACK_ROW_MAJOR, m, k, k, a->data, n, tau);
  }
  if (info == 0) qr_split(a, q, 0);
  free(tau);
  return lapack_status(info);
}

/* Rows and right-hand sides of b ([rows] or [rows x nrhs]); 0 if b is not
 * a contiguous tensor of dtype dt with `rows` rows. */
static int rhs_shape(const Tensor *b, LtDtype dt, int64_t rows, int64_t *nrhs) {
  if (b->dtype != dt || !dense(b) || (b->ndim != 1 && b->ndim != 2) || b->shape[0] != rows)
    return 0;
  *nrhs = b->ndim == 1 ? 1 : b->shape[1];
  return fits_int(*nrhs);
}

LtStatus lt_linalg_solve(Tensor *a, Tensor *b) {
  LtStatus st = check_matrix(a, 1);
  int64_t nrhs;
  if (st != LT_OK) return st;
  lapack_int n = (lapack_int)a->shape[0];
  if (!rhs_shape(b, a->dtype, n, &nrhs)) return LT_ESHAPE;
  if (n == 0 || nrhs == 0) return LT_OK;
  lapack_int *ipiv = malloc((size_t)n * sizeof *ipiv);
  if (!ipiv) return LT_ENOMEM;
  /* the _work entry points skip LAPACKE's NaN scan: NaN in, NaN out */
  lapack_int info = a->dtype == LT_F32
                        ? LAPACKE_sgesv_work(LAPACK_ROW_MAJOR, n, (lapack_int)nrhs, a->data, n,
                                             ipiv, b->data, (lapack_int)nrhs)
                        : LAPACKE_dgesv_work(LAPACK_ROW_MAJOR, n, (lapack_int)nrhs, a->data, n,
                                             ipiv, b->data, (lapack_int)nrhs);
  free(ipiv);
  return lapack_status(info);
}

LtStatus lt_linalg_lstsq(Tensor *a, Tensor *b, int64_t *rank) {
  LtStatus st = check_matrix(a, 0);
  int64_t nrhs;
  if (st != LT_OK) return st;
  lapack_int m = (lapack_int)a->shape[0], n = (lapack_int)a->shape[1], k = m < n ? m : n, r = 0;
  if (!rhs_shape(b, a->dtype, imax(m, n), &nrhs)) return LT_ESHAPE;
  /* gelsd's SVD may loop on non-finite input, like gesdd. */
  if (!lt_linalg_all_finite(a) || !lt_linalg_all_finite(b)) return LT_EVALUE;
  *rank = 0;
  if (k == 0 || nrhs == 0) { /* the minimum-norm solution is 0 */
    memset(b->data, 0, (size_t)(n * nrhs) * lt_dtype_size(a->dtype));
    return LT_OK;
  }
  void *s = malloc((size_t)k * lt_dtype_size(a->dtype));
  if (!s) return LT_ENOMEM;
  /* LAPACK's relative cut-off: singular values below rcond * s_max count as zero, with numpy's
   * default rcond of eps * max(m, n). */
  double rcond = (a->dtype == LT_F32 ? FLT_EPSILON : DBL_EPSILON) * (double)imax(m, n);
  lapack_int info = a->dtype == LT_F32
                        ? LAPACKE_sgelsd(LAPACK_ROW_MAJOR, m, n, (lapack_int)nrhs, a->data, n,
                                         b->data, (lapack_int)nrhs, s, (float)rcond, &r)
                        : LAPACKE_dgelsd(LAPACK_ROW_MAJOR, m, n, (lapack_int)nrhs, a->data, n,
                                         b->data, (lapack_int)nrhs, s, rcond, &r);
  free(s);
  *rank = r;
  return lapack_status(info);
}

static lapack_int getrf(Tensor *a, lapack_int *ipiv) {
  lapack_int n = (lapack_int)a->shape[0];
  return a->dtype == LT_F32 ? LAPACKE_sgetrf_work(LAPACK_ROW_MAJOR, n, n, a->data, n, ipiv)
                            : LAPACKE_dgetrf_work(LAPACK_ROW_MAJOR, n, n, a->data, n, ipiv);
}

/* getri with a workspace of the size LAPACK asks for. */
static lapack_int getri(Tensor *a, const lapack_int *ipiv) {
  lapack_int n = (lapack_int)a->shape[0], info;
  /* Workspace query first (lwork = -1): LAPACK writes the optimal size into q or qf. */
  double q = 0;
  float qf = 0;
  info = a->dtype == LT_F32 ? LAPACKE_sgetri_work(LAPACK_ROW_MAJOR, n, a->data, n, ipiv, &qf, -1)
                            : LAPACKE_dgetri_work(LAPACK_ROW_MAJOR, n, a->data, n, ipiv, &q, -1);
  if (info != 0) return info;
  lapack_int lwork = a->dtype == LT_F32 ? (lapack_int)qf : (lapack_int)q;
  /* The query answers in the matrix's float type, which can round a large size down; getri needs
   * at least n. */
  lwork = lwork > n ? lwork : n;
  void *work = malloc((size_t)lwork * lt_dtype_size(a->dtype));
  if (!work) return LAPACK_WORK_MEMORY_ERROR;
  info = a->dtype == LT_F32
             ? LAPACKE_sgetri_work(LAPACK_ROW_MAJOR, n, a->data, n, ipiv, work, lwork)
             : LAPACKE_dgetri_work(LAPACK_ROW_MAJOR, n, a->data, n, ipiv, work, lwork);
  free(work);
  return info;
}

LtStatus lt_linalg_inv(Tensor *a) {
  LtStatus st = check_matrix(a, 1);
  if (st != LT_OK || a->shape[0] == 0) return st;
  lapack_int *ipiv = malloc((size_t)a->shape[0] * sizeof *ipiv);
  if (!ipiv) return LT_ENOMEM;
  lapack_int info = getrf(a, ipiv);
  if (info == 0) info = getri(a, ipiv);
  free(ipiv);
  return lapack_status(info);
}

LtStatus lt_linalg_slogdet(Tensor *a, double *sign, double *logabsdet, double *det) {
  LtStatus st = check_matrix(a, 1);
  if (st != LT_OK) return st;
  int64_t n = a->shape[0];
  double swaps = 1, sg = 1, lg = 0, prod = 1;
  lapack_int *ipiv = malloc((size_t)imax(n, 1) * sizeof *ipiv), info = 0;
  if (!ipiv) return LT_ENOMEM;
  if (n > 0) info = getrf(a, ipiv);
  /* det(a) = det(P) det(L) det(U) with unit-diagonal L: the pivots' product, with one sign flip
   * per row swap. Summing log|u| instead of multiplying keeps logabsdet finite where the product
   * would overflow. */
  for (int64_t i = 0; info == 0 && i < n; i++) {
    double u = rd((const char *)a->data + (size_t)(i * n + i) * lt_dtype_size(a->dtype), a->dtype);
    if (ipiv[i] != i + 1) swaps = -swaps; /* pivots are 1-based */
    sg = u < 0 ? -sg : u > 0 ? sg : u;    /* NaN stays NaN */
    lg += log(fabs(u));
    prod *= u;
  }
  free(ipiv);
  if (info < 0) return lapack_status(info);
  /* info > 0: U has an exactly zero pivot, so the matrix is singular: det 0, not an error. */
  if (info > 0) {
    sg = 0;
    lg = -INFINITY;
    prod = 0;
  } /* an exactly zero pivot */
  *sign = swaps * sg;
  *logabsdet = lg;
  if (det) *det = swaps * prod;
  return LT_OK;
}

LtStatus lt_linalg_cholesky(Tensor *a, int upper) {
  LtStatus st = check_matrix(a, 1);
  if (st != LT_OK) return st;
  lapack_int n = (lapack_int)a->shape[0];
  if (n == 0) return LT_OK;
  char uplo = upper ? 'U' : 'L';
  lapack_int info = a->dtype == LT_F32 ? LAPACKE_spotrf_work(LAPACK_ROW_MAJOR, uplo, n, a->data, n)
                                       : LAPACKE_dpotrf_work(LAPACK_ROW_MAJOR, uplo, n, a->data, n);
  if (info != 0) return lapack_status(info);
  size_t es = lt_dtype_size(a->dtype);
  for (int64_t i = 0; i < n; i++) { /* zero the triangle LAPACK left alone */
    char *row = (char *)a->data + (size_t)(i * n) * es;
    if (upper)
      memset(row, 0, (size_t)i * es);
    else
      memset(row + (size_t)(i + 1) * es, 0, (size_t)(n - i - 1) * es);
  }
  return LT_OK;
}

void lt_linalg_blas_info(const char **core, const char **config, int *threads) {
  *core = openblas_get_corename();
  *config = openblas_get_config();
  *threads = openblas_get_num_threads();
}
