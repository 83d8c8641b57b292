/* embed_knn.c - exact kNN by sgemm tiles and bounded pools; recall (NN-descent: embed_nnd.c). */
/* Its cblas_ calls go through src/lazy.h: OpenBLAS is loaded on first use. */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "embed/embed_knn.h"

/* Tiles of 512 queries x 4096 data rows: an 8 MB block of dot products, large enough for sgemm to
 * run at full speed, small enough to stay bounded for any n. */
#define KNN_QB 512
#define KNN_XB 4096

/* (d, i) pairs are ordered by d, then by i. */
static inline int pair_gt(float da, int64_t ia, float db, int64_t ib) {
  return da > db || (da == db && ia > ib);
}

/* Sorts a row of k (d, i) pairs ascending (insertion sort: k is small). */
static void pairs_sort(float *d, int64_t *ix, int64_t k) {
  for (int64_t a = 1; a < k; a++) {
    float vd = d[a];
    int64_t vi = ix[a], b = a - 1;
    while (b >= 0 && pair_gt(d[b], ix[b], vd, vi)) {
      d[b + 1] = d[b];
      ix[b + 1] = ix[b];
      b--;
    }
    d[b + 1] = vd;
    ix[b + 1] = vi;
  }
}

/* Rearranges the m pairs so that the k smallest come first (Hoare
 * quickselect, median-of-three pivots; deterministic). */
static void pairs_select(float *d, int64_t *ix, int64_t m, int64_t k) {
  int64_t lo = 0, hi = m - 1;
  while (hi > lo) {
    /* Median of three by the (d, i) order: candidate lists often arrive sorted (tiles come in index
     * order), where a first-element pivot would go quadratic. */
    int64_t mid = lo + (hi - lo) / 2, a = lo, b = mid, c = hi, p;
    if (pair_gt(d[a], ix[a], d[b], ix[b])) {
      int64_t t = a;
      a = b;
      b = t;
    }
    if (pair_gt(d[b], ix[b], d[c], ix[c])) b = pair_gt(d[a], ix[a], d[c], ix[c]) ? a : c;
    p = b;
    float pd = d[p];
    int64_t pi = ix[p], i = lo, j = hi;
    /* Hoare partition: afterwards [lo, j] <= pivot <= [i, hi]; continue in the side that holds
     * position k - 1, or stop when it falls between j and i (all equal to the pivot). */
    while (i <= j) {
      while (pair_gt(pd, pi, d[i], ix[i])) i++;
      while (pair_gt(d[j], ix[j], pd, pi)) j--;
      if (i <= j) {
        float td = d[i];
        d[i] = d[j];
        d[j] = td;
        int64_t ti = ix[i];
        ix[i] = ix[j];
        ix[j] = ti;
        i++;
        j--;
      }
    }
    if (k - 1 <= j)
      hi = j;
    else if (k - 1 >= i)
      lo = i;
    else
      return;
  }
}

/* A query row's candidate pool: up to 2 kk pairs, all below thr (the kk-th
 * smallest seen so far once the pool has been compacted). Compacting keeps
 * the kk smallest, so each candidate costs O(1) amortised. */
typedef struct {
  float *d;
  int64_t *ix;
  int64_t m;
  float thr;
} Pool;

static void pool_compact(Pool *p, int64_t kk) {
  pairs_select(p->d, p->ix, p->m, kk);
  p->m = kk;
  float t = p->d[0];
  for (int64_t a = 1; a < kk; a++)
    if (p->d[a] > t) t = p->d[a];
  /* thr becomes the largest kept: a later candidate must not exceed it (equal ones still enter and
   * are sorted out after the exact re-measure). */
  p->thr = t;
}

/* Offers the tile row g (bx dot products with data rows x0..x0+bx) to the
 * pool of a query. Candidates are screened 16 at a time with a branch-free
 * (vectorised) count of those under the threshold, so a block with nothing
 * to keep costs a few instructions per candidate. */
static LT_EMBED_HOT void tile_row_select(const float *g, int64_t bx, int64_t x0, float qn,
                                         const float *xn, int64_t self, Pool *p, int64_t kk) {
  float dd[16];
  for (int64_t c0 = 0; c0 < bx; c0 += 16) {
    int64_t m = bx - c0 < 16 ? bx - c0 : 16, below = 0;
    /* dd is the screened distance in float: cancellation in |q|^2 + |x|^2 - 2 q.x makes it inexact
     * for near points, hence the KNN_MARGIN extra candidates and the exact re-measure in
     * finish_rows. */
    float thr = p->thr;
    for (int64_t c = 0; c < m; c++) {
      dd[c] = qn + xn[c0 + c] - 2.0f * g[c0 + c];
      below += dd[c] <= thr;
    }
    if (!below) continue;
    for (int64_t c = 0; c < m; c++) {
      int64_t j = x0 + c0 + c;
      /* p->thr, not thr: a compaction earlier in this block may have lowered it. Clamped at 0
       * below: cancellation can make a squared distance slightly negative. */
      if (dd[c] > p->thr || j == self) continue;
      p->d[p->m] = dd[c] < 0 ? 0 : dd[c];
      p->ix[p->m++] = j;
      if (p->m == 2 * kk) pool_compact(p, kk);
    }
  }
}

/* Re-measures the kk kept pairs of each row exactly, sorts them and writes
 * the best k, converted to the metric. For cosine, X and Q hold unit rows
 * (or zero rows) and the key is lt_embed_cosdist2's. */
static void finish_rows(const float *X, const float *Q, int64_t m, int64_t d, int64_t kk, float *hd,
                        int64_t *hi, int64_t k, LtMetric metric, int64_t *idx, float *dist) {
#pragma omp parallel for schedule(static)
  for (int64_t q = 0; q < m; q++) {
    float *rd = hd + q * kk;
    int64_t *ri = hi + q * kk;
    /* The screen only chose candidates; the distances returned are recomputed directly, so they do
     * not depend on the BLAS kernel or its thread count. */
    for (int64_t j = 0; j < kk; j++)
      rd[j] = metric == LT_METRIC_COSINE ? lt_embed_cosdist2(Q + q * d, X + ri[j] * d, d)
                                         : lt_embed_sqdist(Q + q * d, X + ri[j] * d, d);
    pairs_sort(rd, ri, kk);
    for (int64_t j = 0; j < k; j++) {
      idx[q * k + j] = ri[j];
      /* The cosine key is 2 - 2 cos: half of it is 1 - cos. */
      dist[q * k + j] = metric == LT_METRIC_EUCLIDEAN ? sqrtf(rd[j])
                        : metric == LT_METRIC_COSINE  ? 0.5f * rd[j]
                                                      : rd[j];
    }
  }
}

/* Screens all pairs tile by tile, keeping the kk best of each query row by
 * the sgemm distance into hd/hi [m x kk]. With cosine (unit or zero rows)
 * every norm counts as 1, so the screen is 2 - 2 x.q: a zero row then sits
 * at 2 (cosine distance 1) from every row, as lt_embed_cosdist2 has it. */
static LtStatus knn_tiles(const float *X, int64_t n, const float *Q, int64_t m, int64_t d,
                          int64_t kk, int exclude_self, int cosine, float *hd, int64_t *hi,
                          const LtEmbedProgress *prog) {
  float *xn = malloc(sizeof *xn * (size_t)n), *qn = malloc(sizeof *qn * (size_t)m);
  float *g = malloc(sizeof *g * (size_t)KNN_QB * KNN_XB),
        *pd = malloc(sizeof *pd * (size_t)(KNN_QB * 2 * kk));
  int64_t *pi = malloc(sizeof *pi * (size_t)(KNN_QB * 2 * kk));
  Pool *pools = malloc(sizeof *pools * KNN_QB);
  LtStatus st = LT_OK;
  if (!xn || !qn || !g || !pd || !pi || !pools) {
    st = LT_ENOMEM;
    goto done;
  }
  /* Norms once; per tile only the sgemm. Each query's pool holds 2 kk pairs, so its O(kk)
   * compaction runs once per kk insertions. */
  lt_embed_row_norms2(X, n, d, xn);
  lt_embed_row_norms2(Q, m, d, qn);
  for (int64_t i = 0; cosine && i < n; i++) xn[i] = 1;
  for (int64_t i = 0; cosine && i < m; i++) qn[i] = 1;
  for (int64_t q0 = 0; q0 < m && st == LT_OK; q0 += KNN_QB) {
    int64_t bq = m - q0 < KNN_QB ? m - q0 : KNN_QB;
    for (int64_t r = 0; r < bq; r++)
      pools[r] = (Pool){pd + r * 2 * kk, pi + r * 2 * kk, 0, INFINITY};
    for (int64_t x0 = 0; x0 < n; x0 += KNN_XB) {
      int64_t bx = n - x0 < KNN_XB ? n - x0 : KNN_XB;
      /* sgemm threads itself; the selection then runs in its own parallel loop, a pool per row. */
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)bq, (int)bx, (int)d, 1.0f,
                  Q + q0 * d, (int)d, X + x0 * d, (int)d, 0.0f, g, (int)bx);
#pragma omp parallel for schedule(static)
      for (int64_t r = 0; r < bq; r++)
        tile_row_select(g + r * bx, bx, x0, qn[q0 + r], xn + x0, exclude_self ? q0 + r : -1,
                        &pools[r], kk);
    }
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < bq; r++) {
      Pool *p = &pools[r];
      if (p->m > kk) pool_compact(p, kk);
      memcpy(hd + (q0 + r) * kk, p->d, sizeof *hd * (size_t)kk);
      memcpy(hi + (q0 + r) * kk, p->ix, sizeof *hi * (size_t)kk);
    }
    /* Progress and Ctrl-C once per block of queries, on the calling thread (outside parallel
     * regions). */
    st = lt_embed_tick(prog, "knn", q0 + bq, m);
  }
done:
  free(xn);
  free(qn);
  free(g);
  free(pd);
  free(pi);
  free(pools);
  return st;
}

/* A few more candidates than asked for are screened, so that rounding in
 * the sgemm screen (which may differ with the BLAS thread count) cannot
 * change which k neighbours the exact re-measurement keeps. */
#define KNN_MARGIN 8

LtStatus lt_knn_exact(const float *X, int64_t n, const float *Q, int64_t m, int64_t d, int64_t k,
                      int exclude_self, LtMetric metric, int64_t *idx, float *dist,
                      const LtEmbedProgress *prog) {
  /* kk: k plus the margin, but never more rows than there are to choose from. */
  int64_t avail = n - (exclude_self ? 1 : 0), kk = k + KNN_MARGIN < avail ? k + KNN_MARGIN : avail;
  if (k <= 0 || k > avail || (exclude_self && (Q != X || m != n))) return LT_EVALUE;
  float *xs = NULL, *qs = NULL, *hd = malloc(sizeof *hd * (size_t)(m * kk));
  int64_t *hi = malloc(sizeof *hi * (size_t)(m * kk));
  LtStatus st = hd && hi ? LT_OK : LT_ENOMEM;
  if (st == LT_OK && metric == LT_METRIC_COSINE) { /* unit rows: |x - y|^2 = 2 - 2 cos */
    xs = malloc(sizeof *xs * (size_t)(n * d));
    qs = exclude_self ? xs : malloc(sizeof *qs * (size_t)(m * d));
    if (!xs || !qs)
      st = LT_ENOMEM;
    else {
      lt_embed_normalize_rows(X, n, d, xs);
      if (!exclude_self) lt_embed_normalize_rows(Q, m, d, qs);
      X = xs;
      Q = qs;
    }
  }
  if (st == LT_OK)
    st = knn_tiles(X, n, Q, m, d, kk, exclude_self, metric == LT_METRIC_COSINE, hd, hi, prog);
  if (st == LT_OK) finish_rows(X, Q, m, d, kk, hd, hi, k, metric, idx, dist);
  if (qs != xs) free(qs);
  free(xs);
  free(hd);
  free(hi);
  return st;
}

LtStatus lt_knn_graph(const float *X, int64_t n, int64_t d, int64_t k, LtMetric metric,
                      LtKnnMethod method, uint64_t seed, int64_t *idx, float *dist,
                      const LtEmbedProgress *prog) {
  if (method == LT_KNN_AUTO) { /* rough costs in seconds: sgemm screen vs NN-descent rounds */
    /* Throughputs of a typical machine: sgemm at ~50 GFLOP/s plus ~1 ns per screened pair;
     * NN-descent about 8 n mc^2 distances of d flops in all at ~5 GFLOP/s. Only the ratio of the
     * two estimates matters. */
    double mc = k < 30 ? (double)k : 30, nn = (double)n;
    double exact = nn * nn * (double)d / 50e9 + nn * nn / 1e9,
           approx = nn * mc * mc * 8 * (double)d / 5e9;
    method = n < 4096 || exact <= approx ? LT_KNN_EXACT : LT_KNN_APPROX;
  }
  if (method == LT_KNN_EXACT) return lt_knn_exact(X, n, X, n, d, k, 1, metric, idx, dist, prog);
  /* All NN-descent settings at their defaults (a field <= 0 takes its default). */
  LtNndOptions o = {0};
  o.seed = seed;
  return lt_knn_nndescent(X, n, d, k, metric, &o, idx, dist, prog);
}

double lt_knn_recall(const int64_t *a, int64_t ka, const int64_t *b, int64_t kb, int64_t n) {
  if (n <= 0 || kb <= 0) return 0;
  double total = 0;
  for (int64_t i = 0; i < n; i++) {
    int64_t hit = 0;
    /* A scan of a's row per entry: k is small, so O(ka kb) beats sorting. */
    for (int64_t j = 0; j < kb; j++) {
      int64_t v = b[i * kb + j];
      if (v < 0) continue;
      for (int64_t l = 0; l < ka; l++)
        if (a[i * ka + l] == v) {
          hit++;
          break;
        }
    }
    total += (double)hit / (double)kb;
  }
  return total / (double)n;
}
