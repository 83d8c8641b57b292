/* tensor_reduce.c - reductions over [outer, R, inner] views, scans, stable sort, counting. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "interrupt.h"
#include "tensor/tensor_reduce.h"

/* Elements converted to double at a time (one 8 KiB stack buffer, small enough for L1), and the
 * widest block of columns reduced together. */
#define CHUNK 1024
/* Full reductions are split into fixed blocks whose partial results are
 * combined in order, so the answer is the same on any thread count. */
#define PBLOCK ((int64_t)1 << 16)
/* MAXPART caps the partial results of one run (so they fit on the stack); a longer run gets
 * longer blocks instead of more of them. */
#define MAXPART 4096

/* Running state of one reduction: v the value so far; m the mean (variance) or the running
 * maximum (logsumexp); idx the position of the extreme so far, -1 before the first element. */
typedef struct {
  double v, m;
  int64_t idx;
} Acc;

static int is_arg(LtReduceOp op) {
  return op == LT_RMAX || op == LT_RMIN || op == LT_RARGMAX || op == LT_RARGMIN;
}
static int is_maxlike(LtReduceOp op) { return op == LT_RMAX || op == LT_RARGMAX; }

/* The identity of each op, so that an empty run reduces to it. */
static Acc acc_init(LtReduceOp op, double mean) {
  Acc a = {0, mean, -1};
  switch (op) {
  case LT_RPROD:
  case LT_RALL: a.v = 1; break;
  case LT_RMAX:
  case LT_RARGMAX:
  case LT_RNORMINF: a.v = -INFINITY; break;
  case LT_RMIN:
  case LT_RARGMIN: a.v = INFINITY; break;
  case LT_RLOGSUMEXP:
    a.v = 0;
    a.m = -INFINITY;
    break;
  default: break;
  }
  return a;
}

/* Streaming logsumexp of one more value x: v is sum(exp(x - m)) relative to the largest x so
 * far, rescaled when a larger one arrives, so no exp ever overflows. A value equal to m adds
 * exp(0) = 1 without computing x - m, which is NaN when both are inf or both -inf. A NaN
 * becomes m for good: no later comparison with it succeeds, so the result stays NaN. */
static void lse_add(Acc *a, double x) {
  if (a->m != a->m) return;
  if (x != x)
    a->m = x;
  else if (x > a->m) {
    a->v = a->v * exp(a->m - x) + 1;
    a->m = x;
  } else if (x == a->m)
    a->v += 1;
  else
    a->v += exp(x - a->m);
}

/* Merges the logsumexp state b of a later block into a, with lse_add's special cases: NaN in
 * either wins, equal maxima (inf or -inf included) add their sums unscaled. */
static void lse_combine(Acc *a, const Acc *b) {
  if (a->m != a->m || b->m != b->m)
    a->m = NAN;
  else if (b->m > a->m) {
    a->v = a->v * exp(a->m - b->m) + b->v;
    a->m = b->m;
  } else if (b->m == a->m)
    a->v += b->v;
  else
    a->v += b->v * exp(b->m - a->m);
}

/* Folds n contiguous doubles x (positions base..base+n-1) into acc. */
LT_HOT static void acc_chunk(LtReduceOp op, Acc *a, const double *x, int64_t n, int64_t base) {
  int64_t i;
  switch (op) {
  case LT_RSUM:
  case LT_RMEAN: {
    /* Four independent partial sums let the loop pipeline and vectorise; their order is fixed,
     * so the sum does not change from run to run. */
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (i = 0; i + 4 <= n; i += 4) {
      s0 += x[i];
      s1 += x[i + 1];
      s2 += x[i + 2];
      s3 += x[i + 3];
    }
    for (; i < n; i++) s0 += x[i];
    a->v += (s0 + s1) + (s2 + s3);
    break;
  }
  /* Two-pass variance: a->m is the exact mean from the first pass, which avoids the cancellation
   * of sum(x^2) - n*mean^2. */
  case LT_RVAR:
    for (i = 0; i < n; i++) {
      double d = x[i] - a->m;
      a->v += d * d;
    }
    break;
  case LT_RNORM1:
    for (i = 0; i < n; i++) a->v += fabs(x[i]);
    break;
  case LT_RNORM2:
    for (i = 0; i < n; i++) a->v += x[i] * x[i];
    break;
  case LT_RNORMINF:
    for (i = 0; i < n; i++) a->v = fabs(x[i]) > a->v || x[i] != x[i] ? fabs(x[i]) : a->v;
    break;
  case LT_RPROD:
    for (i = 0; i < n; i++) a->v *= x[i];
    break;
  case LT_RALL:
    for (i = 0; i < n; i++)
      if (x[i] == 0) a->v = 0;
    break;
  case LT_RANY:
    for (i = 0; i < n; i++)
      if (x[i] != 0) a->v = 1;
    break;
  case LT_RCOUNT_NONZERO:
    for (i = 0; i < n; i++) a->v += x[i] != 0;
    break;
  case LT_RLOGSUMEXP:
    for (i = 0; i < n; i++) lse_add(a, x[i]);
    break;
  default: { /* max/min (+arg): NaN wins and keeps its first position */
    /* A NaN already found wins for good (numpy and torch propagate it). */
    if (a->v != a->v) break;
    int mx = is_maxlike(op), nan = 0;
    double m0 = x[0], m1 = x[0];
    /* SIMD scan for the extreme and for NaN, then the first position */
    if (mx) {
#pragma omp simd reduction(max : m0) reduction(| : nan)
      for (i = 0; i < n; i++) {
        nan |= x[i] != x[i];
        m0 = x[i] > m0 ? x[i] : m0;
      }
    } else {
#pragma omp simd reduction(min : m1) reduction(| : nan)
      for (i = 0; i < n; i++) {
        nan |= x[i] != x[i];
        m1 = x[i] < m1 ? x[i] : m1;
      }
    }
    double m = mx ? m0 : m1;
    /* No NaN and no strict improvement: ties keep the earlier position, as numpy's argmax does. */
    if (!nan && a->idx >= 0 && !(mx ? m > a->v : m < a->v)) break;
    if (!nan) { /* a new extreme: its first position in this chunk */
      for (i = 0; i < n && x[i] != m; i++) {
      }
      a->v = m;
      a->idx = base + i;
      break;
    }
    /* A NaN is in this chunk: the slow scan stops at the first NaN, which becomes the result. */
    for (i = 0; i < n; i++) {
      double v = x[i];
      if (v != v) {
        a->v = v;
        a->idx = base + i;
        break;
      }
      if (mx ? v > a->v : v < a->v) {
        a->v = v;
        a->idx = base + i;
      } else if (a->idx < 0)
        a->idx = base + i;
    }
  }
  }
}

/* Merges the state b of a later block into a, as if b's elements followed a's. */
static void acc_combine(LtReduceOp op, Acc *a, const Acc *b) {
  switch (op) {
  case LT_RPROD: a->v *= b->v; break;
  case LT_RALL: a->v = a->v != 0 && b->v != 0; break;
  case LT_RANY: a->v = a->v != 0 || b->v != 0; break;
  case LT_RNORMINF:
    if (b->v > a->v || b->v != b->v) a->v = b->v;
    break;
  case LT_RLOGSUMEXP: lse_combine(a, b); break;
  default:
    if (is_arg(op)) {
      int mx = is_maxlike(op);
      /* a already holds a NaN, or b saw no element: a stands. Otherwise b replaces a only when
       * strictly better, so ties keep the earlier block's position. */
      if (a->v != a->v || b->idx < 0) break;
      if (a->idx < 0 || b->v != b->v || (mx ? b->v > a->v : b->v < a->v)) *a = *b;
    } else
      a->v += b->v;
  }
}

static double acc_final(LtReduceOp op, const Acc *a, int64_t R, double ddof) {
  switch (op) {
  case LT_RMEAN: return R > 0 ? a->v / (double)R : NAN;
  case LT_RVAR: return (double)R - ddof > 0 ? a->v / ((double)R - ddof) : NAN;
  case LT_RNORM2: return sqrt(a->v);
  /* m is not finite exactly when the result is m: NaN after any NaN, inf after any inf, -inf
   * when every input was -inf (or there was none). */
  case LT_RLOGSUMEXP: return isfinite(a->m) ? a->m + log(a->v) : a->m;
  case LT_RMAX:
  case LT_RMIN: return R > 0 ? a->v : NAN;
  case LT_RARGMAX:
  case LT_RARGMIN: return (double)(a->idx < 0 ? 0 : a->idx);
  default: return a->v;
  }
}

/* Converts n contiguous elements of dtype dt to double: direct loops for float32 and
 * float64, the generic accessor otherwise. */
LT_HOT static void load_f64(double *dst, const char *src, LtDtype dt, int64_t n) {
  if (dt == LT_F32) {
    const float *s = (const float *)src;
    for (int64_t i = 0; i < n; i++) dst[i] = s[i];
  } else if (dt == LT_F64)
    memcpy(dst, src, (size_t)n * sizeof(double));
  else {
    size_t es = lt_dtype_size(dt);
    for (int64_t i = 0; i < n; i++) dst[i] = lt_get_f64(src + (size_t)i * es, dt);
  }
}

/* float32 sum straight from the input: eight double lanes the compiler
 * vectorises (no conversion buffer), still accumulating in double. */
LT_HOT static double sum_f32(const float *x, int64_t n) {
  double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; j++) acc[j] += x[i + j];
  for (; i < n; i++) acc[0] += x[i];
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

/* 8-float vectors for the position search of argext_f32 (GCC vector types: they stay in
 * registers). Loads go through a macro, as a vector passed by value changes the ABI of the
 * baseline clone. */
typedef float ExtV8 __attribute__((vector_size(32)));
typedef int32_t ExtI8 __attribute__((vector_size(32)));
#define EXT_LOAD8(v, p) memcpy(&(v), (p), sizeof(ExtV8))

/* float32 arg-extreme straight from the input: a SIMD scan for the extreme
 * and for NaN, then the first position holding it. */
LT_HOT static void argext_f32(const float *x, int64_t n, int mx, float *best, int64_t *at,
                              int *nan) {
  float m = x[0];
  int bad = 0;
  if (mx) {
#pragma omp simd reduction(max : m) reduction(| : bad)
    for (int64_t i = 0; i < n; i++) {
      bad |= x[i] != x[i];
      m = x[i] > m ? x[i] : m;
    }
  } else {
#pragma omp simd reduction(min : m) reduction(| : bad)
    for (int64_t i = 0; i < n; i++) {
      bad |= x[i] != x[i];
      m = x[i] < m ? x[i] : m;
    }
  }
  /* No NaN: find the first position of m. NaN: leave the search to the slow path, which also
   * finds where the first NaN is. */
  int64_t i = 0;
  if (!bad) {
    /* Find the 32-block holding m: four vector compares ORed, then one test of the OR's four
     * 64-bit words (an OpenMP simd reduction per block spent more on its horizontal OR than on
     * the compares). */
    ExtV8 mv = {m, m, m, m, m, m, m, m};
    for (; i + 32 <= n; i += 32) {
      ExtV8 b0, b1, b2, b3;
      EXT_LOAD8(b0, x + i);
      EXT_LOAD8(b1, x + i + 8);
      EXT_LOAD8(b2, x + i + 16);
      EXT_LOAD8(b3, x + i + 24);
      ExtI8 h = (b0 == mv) | (b1 == mv) | (b2 == mv) | (b3 == mv);
      uint64_t w[4];
      memcpy(w, &h, sizeof w);
      if (w[0] | w[1] | w[2] | w[3]) break;
    }
    while (i < n && x[i] != m) i++;
  }
  *best = m;
  *at = i;
  *nan = bad;
}

/* Reduces R contiguous elements starting at p (positions base..base+R-1) into a fresh Acc.
 * float32 sum and arg-extreme read the input directly; everything else goes through buf in
 * CHUNK-element slices. */
static Acc reduce_run(LtReduceOp op, const char *p, LtDtype dt, int64_t R, int64_t base,
                      double mean) {
  double buf[CHUNK];
  Acc a = acc_init(op, mean);
  if (dt == LT_F32 && (op == LT_RSUM || op == LT_RMEAN)) {
    a.v = sum_f32((const float *)p, R);
    return a;
  }
  if (dt == LT_F32 && R > 0 &&
      (op == LT_RMAX || op == LT_RMIN || op == LT_RARGMAX || op == LT_RARGMIN)) {
    float m;
    int64_t at;
    int nan;
    argext_f32((const float *)p, R, is_maxlike(op), &m, &at, &nan);
    /* A NaN makes the float32 result the first NaN's position: fall through to the generic path. */
    if (!nan) {
      a.v = m;
      a.idx = base + at;
      return a;
    }
  }
  size_t es = lt_dtype_size(dt);
  for (int64_t r = 0; r < R; r += CHUNK) {
    int64_t n = R - r < CHUNK ? R - r : CHUNK;
    load_f64(buf, p + (size_t)r * es, dt, n);
    acc_chunk(op, &a, buf, n, base + r);
  }
  return a;
}

/* One contiguous run of R elements, split into fixed blocks across threads. */
static Acc reduce_long_run(LtReduceOp op, const char *p, LtDtype dt, int64_t R, double mean) {
  Acc part[MAXPART];
  int64_t blk = PBLOCK;
  /* Block length depends on R only, never on the thread count, so the partial results and their
   * combination order, and hence the rounding, are the same whatever the thread count. */
  while ((R + blk - 1) / blk > MAXPART) blk *= 2;
  int64_t nb = (R + blk - 1) / blk;
  size_t es = lt_dtype_size(dt);
  if (R < LT_PAR_MIN) {
    for (int64_t b = 0; b < nb; b++) {
      int64_t len = R - b * blk < blk ? R - b * blk : blk;
      part[b] = reduce_run(op, p + (size_t)(b * blk) * es, dt, len, b * blk, mean);
    }
  } else {
    /* Every block writes only its own slot of part. */
#pragma omp parallel for schedule(static)
    for (int64_t b = 0; b < nb; b++) {
      int64_t len = R - b * blk < blk ? R - b * blk : blk;
      part[b] = reduce_run(op, p + (size_t)(b * blk) * es, dt, len, b * blk, mean);
    }
  }
  /* Combine in block order, serially: the deterministic half of the split. */
  Acc a = acc_init(op, mean);
  for (int64_t b = 0; b < nb; b++) acc_combine(op, &a, &part[b]);
  return a;
}

/* Column sums kept in a plain double array so the row loop vectorises. */
LT_HOT static void sum_cols(Acc *acc, const char *p, LtDtype dt, int64_t R, int64_t inner,
                            int64_t width) {
  double buf[CHUNK], s[CHUNK];
  size_t es = lt_dtype_size(dt);
  for (int64_t j = 0; j < width; j++) s[j] = 0;
  /* Rows outer to columns inner: each row is read once, contiguously, into `width` running
   * column sums. */
  for (int64_t r = 0; r < R; r++) {
    const char *row = p + (size_t)(r * inner) * es;
    if (dt == LT_F32) {
      const float *f = (const float *)row;
      for (int64_t j = 0; j < width; j++) s[j] += f[j];
      continue;
    }
    load_f64(buf, row, dt, width);
    for (int64_t j = 0; j < width; j++) s[j] += buf[j];
  }
  for (int64_t j = 0; j < width; j++) {
    acc[j] = acc_init(LT_RSUM, 0);
    acc[j].v = s[j];
  }
}

/* inner > 1: accumulate `width` columns at once, rows R apart by `inner`. */
/* Reduces `width` adjacent columns at once (column j at p + j, rows `inner` apart), writing one
 * Acc per column; means[j] is column j's mean for the variance pass. */
static void reduce_cols(LtReduceOp op, Acc *acc, const char *p, LtDtype dt, int64_t R,
                        int64_t inner, int64_t width, const double *means) {
  double buf[CHUNK];
  size_t es = lt_dtype_size(dt);
  if (op == LT_RSUM || op == LT_RMEAN) {
    sum_cols(acc, p, dt, R, inner, width);
    return;
  }
  for (int64_t j = 0; j < width; j++) acc[j] = acc_init(op, means ? means[j] : 0);
  for (int64_t r = 0; r < R; r++) {
    load_f64(buf, p + (size_t)(r * inner) * es, dt, width);
    /* Arg ops after row 0 take a branch-light update; row 0 goes through acc_chunk, which also
     * sets idx from -1. */
    if (is_arg(op) && r > 0) {
      int mx = is_maxlike(op);
      for (int64_t j = 0; j < width; j++) {
        double v = buf[j], cur = acc[j].v;
        if (cur != cur) continue;
        if (v != v || (mx ? v > cur : v < cur)) {
          acc[j].v = v;
          acc[j].idx = r;
        }
      }
      continue;
    }
    for (int64_t j = 0; j < width; j++) acc_chunk(op, &acc[j], &buf[j], 1, r);
  }
}

/* One reduction as lt_reduce sees it: a as [outer, R, inner], out and idx with outer*inner
 * elements; means the first-pass result when op is LT_RVAR. */
typedef struct {
  LtReduceOp op;
  double ddof;
  int64_t outer, R, inner;
  const Tensor *a;
  Tensor *out, *idx;
  double *means;
} RedJob;

/* Writes the finished value (converted to out's dtype) and its position, if asked, at pos. */
static void store(const RedJob *j, int64_t pos, const Acc *a) {
  size_t es = lt_dtype_size(j->out->dtype);
  lt_set_f64((char *)j->out->data + (size_t)pos * es, j->out->dtype,
             acc_final(j->op, a, j->R, j->ddof));
  if (j->idx) ((int64_t *)j->idx->data)[pos] = a->idx < 0 ? 0 : a->idx;
}

/* Adds rows [r0, r1) of a float32 [R x inner] matrix into acc (inner doubles). */
LT_HOT static void add_rows_f32(double *acc, const float *x, int64_t r0, int64_t r1,
                                int64_t inner) {
  for (int64_t j = 0; j < inner; j++) acc[j] = 0;
  for (int64_t r = r0; r < r1; r++) {
    const float *row = x + r * inner;
    for (int64_t j = 0; j < inner; j++) acc[j] += row[j];
  }
}

/* Column sums of a float32 [R x inner] matrix (outer == 1): whole rows are
 * streamed in fixed row blocks (the count depends on R only, so the result
 * does not depend on the thread count) and the partial sums added in order.
 * Reading whole rows keeps the prefetcher busy; column slabs did not. */
static LtStatus sum_rows_f32(const RedJob *j) {
  /* At most 32 blocks of at least 256 rows; per is rounded up, so the last block may be short
   * (r0 and r1 are clamped to R). */
  int64_t R = j->R, inner = j->inner, nb = (R + 255) / 256;
  if (nb > 32) nb = 32;
  if (nb < 1) nb = 1;
  int64_t per = (R + nb - 1) / nb;
  /* nb*inner doubles, at most 32 * 65536 * 8 bytes = 16 MiB (reduce_pass bounds inner). */
  double *part = malloc((size_t)(nb * inner) * sizeof(double));
  if (!part) return LT_ENOMEM;
  const float *x = j->a->data;
#pragma omp parallel for schedule(static) if (R * inner >= LT_PAR_MIN)
  for (int64_t b = 0; b < nb; b++) {
    int64_t r0 = b * per, r1 = r0 + per < R ? r0 + per : R;
    add_rows_f32(part + b * inner, x, r0 < R ? r0 : R, r1, inner);
  }
  for (int64_t c = 0; c < inner; c++) {
    Acc a = acc_init(LT_RSUM, 0);
    for (int64_t b = 0; b < nb; b++) a.v += part[b * inner + c];
    store(j, c, &a);
  }
  free(part);
  /* The pass is not cut short by an interrupt; the flag is only reported once it finishes. */
  return lt_interrupt_pending() ? LT_EINTR : LT_OK;
}

/* Picks the loop shape for [outer, R, inner]: float32 column sums, one long run, many rows
 * reduced along their length (inner == 1), or blocks of columns. */
static LtStatus reduce_pass(const RedJob *j) {
  const char *base = j->a->data;
  LtDtype dt = j->a->dtype;
  size_t es = lt_dtype_size(dt);
  if ((j->op == LT_RSUM || j->op == LT_RMEAN) && dt == LT_F32 && j->outer == 1 && j->inner > 1 &&
      j->inner <= 65536)
    return sum_rows_f32(j);
  if (j->inner == 1 && j->outer == 1) {
    Acc a = reduce_long_run(j->op, base, dt, j->R, j->means ? j->means[0] : 0);
    store(j, 0, &a);
    return lt_interrupt_pending() ? LT_EINTR : LT_OK;
  }
  if (j->inner == 1) {
    /* One run per outer index; the parallel loop only pays off on enough elements. */
#pragma omp parallel for schedule(static) if (j->outer * j->R >= LT_PAR_MIN)
    for (int64_t o = 0; o < j->outer; o++) {
      Acc a = reduce_run(j->op, base + (size_t)(o * j->R) * es, dt, j->R, 0,
                         j->means ? j->means[o] : 0);
      store(j, o, &a);
    }
    return lt_interrupt_pending() ? LT_EINTR : LT_OK;
  }
  /* A single row block (outer == 1) is cut into about four column blocks so that threads have
   * work; otherwise a block is CHUNK columns wide. Never narrower than 64 (or inner), so that a
   * block's rows are not too short to stream. */
  int64_t width = j->outer == 1 && j->inner <= 4 * CHUNK ? (j->inner + 3) / 4 : CHUNK;
  if (width < 64) width = j->inner < 64 ? j->inner : 64;
  int64_t nblk = (j->inner + width - 1) / width;
#pragma omp parallel for schedule(static) if (j->outer * j->R * j->inner >= LT_PAR_MIN)
  /* Flat loop over (outer index, column block) so that OpenMP can share both. */
  for (int64_t t = 0; t < j->outer * nblk; t++) {
    Acc acc[CHUNK];
    int64_t o = t / nblk, i0 = (t % nblk) * width;
    int64_t w = j->inner - i0 < width ? j->inner - i0 : width;
    reduce_cols(j->op, acc, base + (size_t)(o * j->R * j->inner + i0) * es, dt, j->R, j->inner, w,
                j->means ? j->means + o * j->inner + i0 : NULL);
    for (int64_t k = 0; k < w; k++) store(j, o * j->inner + i0 + k, &acc[k]);
  }
  return lt_interrupt_pending() ? LT_EINTR : LT_OK;
}

/* Integer max/min over columns i0..i0+w-1 of row block o (w <= CHUNK), compared as int64:
 * through double, values past 2^53 would tie or come out rounded. Rows stream in order, so ties
 * keep the first position, as the double path does; an empty R gives 0 at position 0. */
static void ext_cols_i64(const RedJob *j, int64_t o, int64_t i0, int64_t w) {
  int64_t best[CHUNK], at[CHUNK];
  LtDtype dt = j->a->dtype;
  size_t es = lt_dtype_size(dt), eo = lt_dtype_size(j->out->dtype);
  const char *p = (const char *)j->a->data + (size_t)(o * j->R * j->inner + i0) * es;
  int mx = is_maxlike(j->op), arg = j->op == LT_RARGMAX || j->op == LT_RARGMIN;
  for (int64_t k = 0; k < w; k++) {
    best[k] = j->R > 0 ? lt_get_i64(p + (size_t)k * es, dt) : 0;
    at[k] = 0;
  }
  for (int64_t r = 1; r < j->R; r++) {
    const char *row = p + (size_t)(r * j->inner) * es;
    for (int64_t k = 0; k < w; k++) {
      int64_t v = lt_get_i64(row + (size_t)k * es, dt);
      if (mx ? v > best[k] : v < best[k]) {
        best[k] = v;
        at[k] = r;
      }
    }
  }
  for (int64_t k = 0; k < w; k++) {
    int64_t pos = o * j->inner + i0 + k;
    lt_set_i64((char *)j->out->data + (size_t)pos * eo, j->out->dtype, arg ? at[k] : best[k]);
    if (j->idx) ((int64_t *)j->idx->data)[pos] = at[k];
  }
}

/* max, min, argmax and argmin of an integer tensor, in blocks of up to CHUNK columns shared
 * among threads as reduce_pass shares them. */
static LtStatus reduce_ext_i64(const RedJob *j) {
  if (j->outer == 0 || j->inner == 0) return LT_OK; /* no output element */
  int64_t width = j->inner < CHUNK ? j->inner : CHUNK;
  int64_t nblk = (j->inner + width - 1) / width;
#pragma omp parallel for schedule(static) if (j->outer * j->R * j->inner >= LT_PAR_MIN)
  for (int64_t t = 0; t < j->outer * nblk; t++) {
    int64_t o = t / nblk, i0 = (t % nblk) * width;
    ext_cols_i64(j, o, i0, j->inner - i0 < width ? j->inner - i0 : width);
  }
  return lt_interrupt_pending() ? LT_EINTR : LT_OK;
}

LtStatus lt_reduce(LtReduceOp op, Tensor *out, Tensor *idx, const Tensor *a, int d0, int d1,
                   double ddof) {
  /* The [outer, R, inner] view needs a contiguous a and a contiguous out. */
  if (!lt_is_contiguous(a) || !lt_is_contiguous(out) || d0 < 0 || d1 >= a->ndim || d0 > d1)
    return LT_EVALUE;
  RedJob j = {op, ddof, 1, 1, 1, a, out, idx, NULL};
  for (int i = 0; i < a->ndim; i++) {
    if (i < d0)
      j.outer *= a->shape[i];
    else if (i > d1)
      j.inner *= a->shape[i];
    else
      j.R *= a->shape[i];
  }
  if (lt_numel(out) != j.outer * j.inner) return LT_ESHAPE;
  if (is_arg(op) && !lt_dtype_is_float(a->dtype)) return reduce_ext_i64(&j);
  if (op != LT_RVAR) return reduce_pass(&j);
  /* variance: the mean first (into a double scratch), then squared deviations */
  int64_t nout = j.outer * j.inner;
  /* nout may be 0 (an empty outer or inner): malloc(0) may return NULL, so ask for one. */
  double *means = malloc((size_t)(nout > 0 ? nout : 1) * sizeof(double));
  if (!means) return LT_ENOMEM;
  Tensor m = {means, LT_F64, LT_CPU, 1, {nout}, {1}, 0};
  RedJob jm = j;
  jm.op = LT_RMEAN;
  jm.out = &m;
  jm.idx = NULL;
  LtStatus st = reduce_pass(&jm);
  if (st == LT_OK) {
    j.means = means;
    st = reduce_pass(&j);
  }
  free(means);
  return st;
}

LtStatus lt_cumulative(Tensor *out, const Tensor *a, int dim, int product) {
  if (!lt_is_contiguous(a) || !lt_is_contiguous(out) || dim < 0 || dim >= a->ndim) return LT_EVALUE;
  int64_t outer = 1, R = a->shape[dim], inner = 1;
  for (int i = 0; i < dim; i++) outer *= a->shape[i];
  for (int i = dim + 1; i < a->ndim; i++) inner *= a->shape[i];
  size_t ea = lt_dtype_size(a->dtype), eo = lt_dtype_size(out->dtype);
  /* Integers accumulate in int64 (wrapping, through uint64) so that large values stay exact;
   * anything else accumulates in double. */
  int ints = !lt_dtype_is_float(a->dtype) && !lt_dtype_is_float(out->dtype);
  /* A simple serial triple loop: each element is read once, in the order its running total
   * needs. */
  for (int64_t o = 0; o < outer; o++)
    for (int64_t i = 0; i < inner; i++) {
      double s = product ? 1 : 0;
      int64_t si = product ? 1 : 0;
      for (int64_t r = 0; r < R; r++) {
        int64_t pos = (o * R + r) * inner + i;
        const char *src = (const char *)a->data + (size_t)pos * ea;
        char *dst = (char *)out->data + (size_t)pos * eo;
        if (ints) {
          int64_t v = lt_get_i64(src, a->dtype);
          si = product ? (int64_t)((uint64_t)si * (uint64_t)v)
                       : (int64_t)((uint64_t)si + (uint64_t)v);
          lt_set_i64(dst, out->dtype, si);
        } else {
          double v = lt_get_f64(src, a->dtype);
          s = product ? s * v : s + v;
          lt_set_f64(dst, out->dtype, s);
        }
      }
    }
  return LT_OK;
}

/* ---- sort ------------------------------------------------------------ */

/* A sort key and its position. Integer dtypes keep the value as int64 (iv): through double,
 * int64 values past 2^53 would compare equal or out of order. */
typedef struct {
  union {
    double v;
    int64_t iv;
  } k;
  int64_t i;
} Keyed;

/* Strict weak order for the merge sort: integers by value; floats with NaN after every number
 * in both directions, numbers by value. */
static int keyed_less(const Keyed *x, const Keyed *y, int desc, int ints) {
  if (ints) return desc ? x->k.iv > y->k.iv : x->k.iv < y->k.iv;
  int xn = x->k.v != x->k.v, yn = y->k.v != y->k.v;
  if (xn || yn) return !xn && yn; /* NaN last either way */
  return desc ? x->k.v > y->k.v : x->k.v < y->k.v;
}

/* Bottom-up merge sort: stable, O(n log n), scratch from the caller. */
static void merge_sort(Keyed *a, Keyed *tmp, int64_t n, int desc, int ints) {
  /* Widths 1, 2, 4, ...: each pass merges pairs of sorted runs of width w from a into tmp, then
   * copies back. Taking from the right run only when strictly less keeps equal keys in input
   * order. */
  for (int64_t w = 1; w < n; w *= 2) {
    for (int64_t lo = 0; lo < n; lo += 2 * w) {
      int64_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
      int64_t i = lo, j = mid, k = lo;
      while (i < mid && j < hi) tmp[k++] = keyed_less(&a[j], &a[i], desc, ints) ? a[j++] : a[i++];
      while (i < mid) tmp[k++] = a[i++];
      while (j < hi) tmp[k++] = a[j++];
    }
    memcpy(a, tmp, (size_t)n * sizeof(Keyed));
  }
}

/* Loads the R keys of one row with their positions: int64 for integer dtypes, else double. */
static void load_keys(Keyed *k, const char *row, LtDtype dt, int64_t R, int ints) {
  size_t es = lt_dtype_size(dt);
  for (int64_t r = 0; r < R; r++) {
    if (ints)
      k[r].k.iv = lt_get_i64(row + (size_t)r * es, dt);
    else
      k[r].k.v = lt_get_f64(row + (size_t)r * es, dt);
    k[r].i = r;
  }
}

LtStatus lt_sort_last(Tensor *out, Tensor *idx, const Tensor *a, int descending) {
  if (!lt_is_contiguous(a) || a->ndim < 1) return LT_EVALUE;
  /* Rows are sorted one at a time through one scratch of 2R keys: the values with their
   * positions, and the merge buffer. */
  int64_t R = a->shape[a->ndim - 1], outer = R ? lt_numel(a) / R : 0;
  Keyed *k = malloc((size_t)(R > 0 ? R : 1) * 2 * sizeof(Keyed));
  if (!k) return LT_ENOMEM;
  size_t ea = lt_dtype_size(a->dtype), eo = out ? lt_dtype_size(out->dtype) : 0;
  int ints = !lt_dtype_is_float(a->dtype);
  for (int64_t o = 0; o < outer; o++) {
    const char *row = (const char *)a->data + (size_t)(o * R) * ea;
    load_keys(k, row, a->dtype, R, ints);
    merge_sort(k, k + R, R, descending, ints);
    for (int64_t r = 0; r < R; r++) {
      if (out) memcpy((char *)out->data + (size_t)(o * R + r) * eo, row + (size_t)k[r].i * ea, ea);
      if (idx) ((int64_t *)idx->data)[o * R + r] = k[r].i;
    }
    /* Interrupts are polled once per row. */
    if (lt_interrupt_pending()) {
      free(k);
      return LT_EINTR;
    }
  }
  free(k);
  return LT_OK;
}

/* ---- counting --------------------------------------------------------- */

LtStatus lt_bincount(double *counts, int64_t n, const Tensor *x, const Tensor *w) {
  int64_t len = x->shape[0];
  size_t ex = lt_dtype_size(x->dtype), ew = w ? lt_dtype_size(w->dtype) : 0;
  for (int64_t i = 0; i < len; i++) {
    int64_t v = lt_get_i64((const char *)x->data + (size_t)(i * x->stride[0]) * ex, x->dtype);
    /* Refused mid-way: counts may hold part of the sum. The binding checks the range first (and
     * sizes counts from the largest value), so this is only a guard. */
    if (v < 0 || v >= n) return LT_ERANGE;
    counts[v] +=
        w ? lt_get_f64((const char *)w->data + (size_t)(i * w->stride[0]) * ew, w->dtype) : 1.0;
  }
  return LT_OK;
}

typedef struct {
  double *counts;
  int64_t bins;
  double lo, hi;
  LtDtype dt;
} HistCtx;

/* Serial (lt_foreach_run, not the parallel one): every run adds into the same counts. */
static void hist_run(char **p, const int64_t *sb, int64_t n, void *ctx) {
  HistCtx *h = ctx;
  double width = h->hi - h->lo;
  for (int64_t i = 0; i < n; i++) {
    double v = lt_get_f64(p[0] + i * sb[0], h->dt);
    /* Written negated so that NaN, which fails every comparison, is skipped too. */
    if (!(v >= h->lo && v <= h->hi)) continue;
    /* The fraction of the range first (numpy's order): it lies in [0, 1], so the product stays
     * in [0, bins] and the cast is defined. A precomputed bins / width would overflow to inf
     * for a subnormal width, and inf * 0 is NaN. v == hi lands at index bins, as does rounding
     * just below it; both go into the last bin. */
    int64_t b = (int64_t)((v - h->lo) / width * (double)h->bins);
    h->counts[b >= h->bins ? h->bins - 1 : b] += 1;
  }
}

LtStatus lt_histogram(double *counts, int64_t bins, double lo, double hi, const Tensor *x) {
  /* A width that overflows (lo = -1e308, hi = 1e308) would make every fraction 0 or NaN. */
  if (bins <= 0 || !(hi > lo) || !isfinite(hi - lo)) return LT_EVALUE;
  HistCtx h = {counts, bins, lo, hi, x->dtype};
  Tensor t = *x;
  Tensor *ts[1] = {&t};
  return lt_foreach_run(1, ts, hist_run, &h);
}

typedef struct {
  double lo, hi;
  int any;
  LtDtype dt;
} RangeCtx;

static void range_run(char **p, const int64_t *sb, int64_t n, void *ctx) {
  RangeCtx *r = ctx;
  for (int64_t i = 0; i < n; i++) {
    double v = lt_get_f64(p[0] + i * sb[0], r->dt);
    if (!isfinite(v)) continue;
    if (!r->any || v < r->lo) r->lo = v;
    if (!r->any || v > r->hi) r->hi = v;
    r->any = 1;
  }
}

LtStatus lt_finite_range(const Tensor *x, double *lo, double *hi, int *found) {
  RangeCtx r = {0, 0, 0, x->dtype};
  Tensor t = *x;
  Tensor *ts[1] = {&t};
  LtStatus st = lt_foreach_run(1, ts, range_run, &r);
  *lo = r.lo;
  *hi = r.hi;
  *found = r.any;
  return st;
}
