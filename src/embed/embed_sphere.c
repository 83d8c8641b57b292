/* embed_sphere.c - cosine top-k to anchors, class centroids, divergence, spherical k-means. */
/* Its cblas_ calls go through src/lazy.h: OpenBLAS is loaded on first use. */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "embed/embed_sphere.h"
#include "interrupt.h"
#include "tensor/random.h"

/* Tiles of 512 rows x 4096 anchors: an 8 MB block of similarities whatever n and m. */
#define SPH_QB 512
#define SPH_AB 4096

/* Min-heap on similarity (root = the weakest kept), ties: larger index is weaker. */
static inline int weaker(float sa, int64_t ia, float sb, int64_t ib) {
  return sa < sb || (sa == sb && ia > ib);
}

/* Restores the min-heap order (root = the weakest kept) below pos. */
static void sift(float *hs, int64_t *hi, int64_t k, int64_t pos) {
  for (;;) {
    int64_t l = 2 * pos + 1, r = l + 1, m = pos;
    if (l < k && weaker(hs[l], hi[l], hs[m], hi[m])) m = l;
    if (r < k && weaker(hs[r], hi[r], hs[m], hi[m])) m = r;
    if (m == pos) return;
    float ts = hs[m];
    hs[m] = hs[pos];
    hs[pos] = ts;
    int64_t ti = hi[m];
    hi[m] = hi[pos];
    hi[pos] = ti;
    pos = m;
  }
}

/* Offers one tile row (bm similarities with anchors a0..a0+bm) to its row's heap; each row has its
 * own heap, so rows run in parallel. */
static void offer_row(const float *g, int64_t bm, int64_t a0, int64_t self, float *hs, int64_t *hi,
                      int64_t k) {
  for (int64_t c = 0; c < bm; c++) {
    int64_t j = a0 + c;
    if (j == self || !weaker(hs[0], hi[0], g[c], j)) continue;
    hs[0] = g[c];
    hi[0] = j;
    sift(hs, hi, k, 0);
  }
}

static void sort_desc(float *s, int64_t *ix, int64_t k) {
  for (int64_t a = 1; a < k; a++) {
    float vs = s[a];
    int64_t vi = ix[a], b = a - 1;
    while (b >= 0 && weaker(s[b], ix[b], vs, vi)) {
      s[b + 1] = s[b];
      ix[b + 1] = ix[b];
      b--;
    }
    s[b + 1] = vs;
    ix[b + 1] = vi;
  }
}

LtStatus lt_sphere_topk(const float *E, int64_t n, const float *A, int64_t m, int64_t d, int64_t k,
                        int normalize, int exclude_self, int64_t *idx, float *sim) {
  if (k < 1 || k > m - (exclude_self ? 1 : 0) || (exclude_self && (E != A || n != m)))
    return LT_EVALUE;
  float *en = NULL, *an = NULL, *g = malloc(sizeof *g * (size_t)SPH_QB * SPH_AB);
  LtStatus st = g ? LT_OK : LT_ENOMEM;
  if (st == LT_OK && normalize) {
    an = malloc(sizeof *an * (size_t)(m * d));
    /* exclude_self means E == A: one normalised copy serves both. */
    en = exclude_self ? an : malloc(sizeof *en * (size_t)(n * d));
    if (!an || !en)
      st = LT_ENOMEM;
    else {
      lt_embed_normalize_rows(A, m, d, an);
      if (!exclude_self) lt_embed_normalize_rows(E, n, d, en);
      E = en;
      A = an;
    }
  }
  /* Heaps start full of (-inf, INT64_MAX) sentinels: any real similarity beats them. */
  for (int64_t i = 0; st == LT_OK && i < n * k; i++) {
    sim[i] = -INFINITY;
    idx[i] = INT64_MAX;
  }
  for (int64_t q0 = 0; st == LT_OK && q0 < n; q0 += SPH_QB) {
    int64_t bq = n - q0 < SPH_QB ? n - q0 : SPH_QB;
    for (int64_t a0 = 0; a0 < m; a0 += SPH_AB) {
      int64_t bm = m - a0 < SPH_AB ? m - a0 : SPH_AB;
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)bq, (int)bm, (int)d, 1.0f,
                  E + q0 * d, (int)d, A + a0 * d, (int)d, 0.0f, g, (int)bm);
#pragma omp parallel for schedule(static)
      for (int64_t r = 0; r < bq; r++)
        offer_row(g + r * bm, bm, a0, exclude_self ? q0 + r : -1, sim + (q0 + r) * k,
                  idx + (q0 + r) * k, k);
    }
    if (lt_interrupt_pending()) st = LT_EINTR;
  }
  if (st == LT_OK)
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++) sort_desc(sim + i * k, idx + i * k, k);
  if (en != an) free(en);
  free(an);
  free(g);
  return st;
}

LtStatus lt_sphere_centroids(const float *E, int64_t n, int64_t d, const float *W,
                             const int64_t *labels, int64_t C, float *out, int64_t *counts) {
  /* Sums in double (a class may hold many rows); + 1 keeps calloc(0) from reading as a failure. */
  double *acc = calloc((size_t)(C * d + 1), sizeof *acc);
  if (!acc) return LT_ENOMEM;
  memset(counts, 0, sizeof *counts * (size_t)C);
#pragma omp parallel for schedule(dynamic, 4)
  for (int64_t c = 0; c < C; c++) /* one class per thread: rows added in order */
    for (int64_t i = 0; i < n; i++) {
      int member = W ? W[i * C + c] != 0 : labels[i] == c;
      if (!member) continue;
      counts[c]++;
      for (int64_t j = 0; j < d; j++) acc[c * d + j] += E[i * d + j];
    }
  for (int64_t c = 0; c < C; c++)
    for (int64_t j = 0; j < d; j++)
      out[c * d + j] = counts[c] ? (float)(acc[c * d + j] / (double)counts[c]) : 0.0f;
  free(acc);
  return LT_OK;
}

LtStatus lt_sphere_divergence(const float *const *Es, int64_t m, int64_t n, int64_t d,
                              const float *A, int64_t na, double *out) {
  if (m < 2) return LT_EVALUE;
  /* Blocks of bq items: the m similarity blocks [bq x na] fit in memory together. */
  int64_t bq = n < 256 ? (n > 0 ? n : 1) : 256;
  float *g = malloc(sizeof *g * (size_t)(m * bq * na));
  double *acc = calloc((size_t)na, sizeof *acc);
  if (!g || !acc) {
    free(g);
    free(acc);
    return LT_ENOMEM;
  }
  LtStatus st = LT_OK;
  for (int64_t r0 = 0; r0 < n && st == LT_OK; r0 += bq) {
    int64_t b = n - r0 < bq ? n - r0 : bq;
    for (int64_t e = 0; e < m; e++)
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)b, (int)na, (int)d, 1.0f,
                  Es[e] + r0 * d, (int)d, A, (int)d, 0.0f, g + e * bq * na, (int)na);
#pragma omp parallel for schedule(static)
    for (int64_t a = 0; a < na; a++)
      for (int64_t i = 0; i < b; i++) {
        /* Mean, then squared deviations (two passes, in double); acc[a] belongs to the thread of
         * anchor a and gets its items in order, so the sums do not depend on the thread count. */
        double mean = 0, ss = 0;
        for (int64_t e = 0; e < m; e++) mean += 1.0 - g[(e * bq + i) * na + a];
        mean /= (double)m;
        for (int64_t e = 0; e < m; e++) {
          double t = 1.0 - g[(e * bq + i) * na + a] - mean;
          ss += t * t;
        }
        acc[a] += sqrt(ss / (double)(m - 1));
      }
    if (lt_interrupt_pending()) st = LT_EINTR;
  }
  for (int64_t a = 0; st == LT_OK && a < na; a++) out[a] = n > 0 ? acc[a] / (double)n : 0;
  free(g);
  free(acc);
  return st;
}

/* ---- spherical k-means ------------------------------------------------------ */

/* k-means++ on 1 - cos: the first centre uniform, each next one drawn with
 * probability proportional to the squared distance to the nearest chosen. */
static void kmeans_seed(const float *U, int64_t n, int64_t d, int64_t k, LtRng *rng, float *C,
                        double *dist) {
  int64_t first = (int64_t)lt_rng_below(rng, (uint64_t)n);
  memcpy(C, U + first * d, sizeof *C * (size_t)d);
  /* dist[i]: the squared 1 - cos to the nearest centre chosen so far, updated with each new centre
   * only. */
  for (int64_t i = 0; i < n; i++) dist[i] = INFINITY;
  for (int64_t c = 1; c <= k; c++) {
    double total = 0;
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++) {
      double s = 0;
      for (int64_t j = 0; j < d; j++) s += (double)U[i * d + j] * C[(c - 1) * d + j];
      double t = 1.0 - s;
      /* Rounding can push 1 - cos of a point with itself slightly below 0. */
      t = t > 0 ? t * t : 0;
      if (t < dist[i]) dist[i] = t;
    }
    if (c == k) break;
    for (int64_t i = 0; i < n; i++) total += dist[i];
    /* Every point on a chosen centre (total 0): any point will do. Otherwise a draw proportional to
     * dist; the scan stops at n - 1, so rounding in s cannot run past the end. */
    int64_t pick = (int64_t)lt_rng_below(rng, (uint64_t)n);
    if (total > 0) {
      double r = lt_rng_uniform(rng) * total, s = 0;
      for (pick = 0; pick < n - 1; pick++) {
        s += dist[pick];
        if (s > r) break;
      }
    }
    memcpy(C + c * d, U + pick * d, sizeof *C * (size_t)d);
  }
}

/* Assigns every row to its centroid of largest cosine; returns the mean
 * cosine and writes each row's cosine to best. */
static double kmeans_assign(const float *U, int64_t n, int64_t d, const float *C, int64_t k,
                            int64_t *labels, float *best, float *g) {
  double total = 0;
  for (int64_t r0 = 0; r0 < n; r0 += SPH_QB) {
    int64_t b = n - r0 < SPH_QB ? n - r0 : SPH_QB;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)b, (int)k, (int)d, 1.0f, U + r0 * d,
                (int)d, C, (int)d, 0.0f, g, (int)k);
#pragma omp parallel for schedule(static)
    for (int64_t r = 0; r < b; r++) {
      int64_t arg = 0;
      /* Strict >: ties go to the smaller index. */
      for (int64_t c = 1; c < k; c++)
        if (g[r * k + c] > g[r * k + arg]) arg = c;
      labels[r0 + r] = arg;
      best[r0 + r] = g[r * k + arg];
    }
  }
  for (int64_t i = 0; i < n; i++) total += best[i];
  return total / (double)n;
}

/* New centroids: normalised member sums; an empty cluster takes the row
 * with the smallest cosine to its own centroid (each row at most once). */
static void kmeans_update(const float *U, int64_t n, int64_t d, int64_t k, const int64_t *labels,
                          float *best, float *C, double *acc, int64_t *cnt) {
  memset(acc, 0, sizeof *acc * (size_t)(k * d));
  memset(cnt, 0, sizeof *cnt * (size_t)k);
  for (int64_t i = 0; i < n; i++) {
    cnt[labels[i]]++;
    for (int64_t j = 0; j < d; j++) acc[labels[i] * d + j] += U[i * d + j];
  }
  for (int64_t c = 0; c < k; c++) {
    /* An empty cluster would leave a zero centroid; taking the worst-served row restarts it where
     * it helps most. */
    if (cnt[c] == 0) {
      int64_t far = 0;
      for (int64_t i = 1; i < n; i++)
        if (best[i] < best[far]) far = i;
      best[far] = INFINITY;
      /* The row keeps its label for now: the next assignment step settles it. */
      for (int64_t j = 0; j < d; j++) acc[c * d + j] = U[far * d + j];
    }
    double s = 0;
    for (int64_t j = 0; j < d; j++) s += acc[c * d + j] * acc[c * d + j];
    s = s > 0 ? 1.0 / sqrt(s) : 0;
    for (int64_t j = 0; j < d; j++) C[c * d + j] = (float)(acc[c * d + j] * s);
  }
}

LtStatus lt_spherical_kmeans(const float *X, int64_t n, int64_t d, int64_t k,
                             const LtKmeansOptions *o, float *centroids, int64_t *labels,
                             LtKmeansInfo *info) {
  if (k < 1 || k > n) return LT_EVALUE;
  float *U = malloc(sizeof *U * (size_t)(n * d)), *best = malloc(sizeof *best * (size_t)n);
  float *g = malloc(sizeof *g * (size_t)(SPH_QB * k));
  double *acc = malloc(sizeof *acc * (size_t)(k * d + n));
  int64_t *cnt = malloc(sizeof *cnt * (size_t)k);
  if (!U || !best || !g || !acc || !cnt) {
    free(U);
    free(best);
    free(g);
    free(acc);
    free(cnt);
    return LT_ENOMEM;
  }
  LtRng rng;
  lt_rng_seed(&rng, o->seed);
  /* acc (k d + n doubles) doubles as the seeding's distance buffer (n). */
  lt_embed_normalize_rows(X, n, d, U);
  kmeans_seed(U, n, d, k, &rng, centroids, acc);
  LtStatus st = LT_OK;
  double prev = -INFINITY, cur = kmeans_assign(U, n, d, centroids, k, labels, best, g);
  int it = 0;
  /* Lloyd steps never lower the mean cosine (up to the empty-cluster repair): stop once it gains
   * less than tol. */
  for (; it < o->max_iter && cur - prev >= o->tol; it++) {
    kmeans_update(U, n, d, k, labels, best, centroids, acc, cnt);
    prev = cur;
    cur = kmeans_assign(U, n, d, centroids, k, labels, best, g);
    if (lt_interrupt_pending()) {
      st = LT_EINTR;
      break;
    }
  }
  info->mean_cos = cur;
  info->iterations = it;
  free(U);
  free(best);
  free(g);
  free(acc);
  free(cnt);
  return st;
}
