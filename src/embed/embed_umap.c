/* embed_umap.c - UMAP: a/b fit, fuzzy set, pruning, the epochs (start: embed_umap_init.c). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define UMAP_SIMD 1
#endif
#include "embed/embed_umap.h"
#include "embed/embed_umap_init.h"

/* umap-learn's constants of the same names. */
#define SMOOTH_K_TOLERANCE 1e-5
#define MIN_K_DIST_SCALE   1e-3

void lt_umap_defaults(LtUmapOptions *o) {
  memset(o, 0, sizeof *o);
  o->dim = 2;
  o->n_neighbors = 15;
  o->min_dist = 0.1;
  o->spread = 1.0;
  o->learning_rate = 1.0;
  o->repulsion_strength = 1.0;
  o->negative_sample_rate = 5;
  o->local_connectivity = 1.0;
  o->set_op_mix_ratio = 1.0;
  o->metric = LT_METRIC_EUCLIDEAN;
}

/* ---- a, b ------------------------------------------------------------------ */

#define AB_POINTS 300

/* Sum of squared residuals and, when J is given, J^T J (3 entries) and J^T r. */
static double ab_eval(const double *x, const double *y, double a, double b, double *jtj,
                      double *jtr) {
  double cost = 0;
  if (jtj) {
    jtj[0] = jtj[1] = jtj[2] = jtr[0] = jtr[1] = 0;
  }
  for (int i = 0; i < AB_POINTS; i++) {
    /* r = f(x) - y with f = 1 / (1 + a x^(2b)): df/da = -x^(2b) / den^2 and df/db = -2 a x^(2b)
     * ln(x) / den^2, both 0 at x = 0 where f is 1 whatever a and b. */
    double xb = x[i] > 0 ? pow(x[i], 2 * b) : 0, den = 1 + a * xb, r = 1 / den - y[i];
    cost += r * r;
    if (!jtj) continue;
    double ja = -xb / (den * den), jb = x[i] > 0 ? -a * xb * 2 * log(x[i]) / (den * den) : 0;
    jtj[0] += ja * ja;
    jtj[1] += ja * jb;
    jtj[2] += jb * jb;
    jtr[0] += ja * r;
    jtr[1] += jb * r;
  }
  return cost;
}

LtStatus lt_umap_find_ab(double spread, double min_dist, double *a_out, double *b_out) {
  if (!(spread > 0) || !(min_dist >= 0) || isinf(spread) || isinf(min_dist)) return LT_EVALUE;
  double x[AB_POINTS], y[AB_POINTS], a = 1, b = 1, lam = 1e-3, jtj[3], jtr[2];
  for (int i = 0; i < AB_POINTS; i++) {
    x[i] = 3 * spread * i / (AB_POINTS - 1);
    y[i] = x[i] < min_dist ? 1.0 : exp(-(x[i] - min_dist) / spread);
  }
  double cost = ab_eval(x, y, a, b, jtj, jtr);
  /* Levenberg-Marquardt with Marquardt's scaling: solve (J^T J + lam diag(J^T J)) delta = -J^T r,
   * 2 x 2 by Cramer's rule. A step that does not lower the cost (or makes b <= 0) is refused and
   * lam grows tenfold; an accepted one shrinks it. Stop test after MINPACK's ftol and xtol. */
  for (int it = 0; it < 1000 && lam < 1e16; it++) {
    double m00 = jtj[0] * (1 + lam), m11 = jtj[2] * (1 + lam), m01 = jtj[1],
           det = m00 * m11 - m01 * m01;
    if (!(det != 0)) {
      lam *= 10;
      continue;
    }
    double da = (-jtr[0] * m11 + jtr[1] * m01) / det, db = (-jtr[1] * m00 + jtr[0] * m01) / det;
    double na = a + da, nb = b + db;
    double nc = nb > 0 ? ab_eval(x, y, na, nb, NULL, NULL) : INFINITY;
    if (!(nc < cost)) {
      lam *= 10;
      continue;
    }
    int done =
        cost - nc <= 1e-15 * cost && fabs(da) <= 1e-12 * fabs(a) && fabs(db) <= 1e-12 * fabs(b);
    a = na;
    b = nb;
    cost = nc;
    lam /= 10;
    ab_eval(x, y, a, b, jtj, jtr);
    if (done) break;
  }
  *a_out = a;
  *b_out = b;
  return isfinite(a) && isfinite(b) ? LT_OK : LT_EVALUE;
}

/* ---- the fuzzy simplicial set ------------------------------------------------ */

/* rho and sigma of one row of k sorted distances (the first is the point
 * itself, 0), as umap-learn's smooth_knn_dist. */
static void smooth_row(const float *dist, int64_t k, double lc, double mean_all, float *sigma,
                       float *rho) {
  double target = log2((double)k), r = 0, lo = 0, hi = INFINITY, mid = 1, mean_i = 0;
  int64_t nz = 0, first = -1;
  for (int64_t j = 0; j < k; j++) {
    mean_i += dist[j];
    if (dist[j] > 0) {
      if (first < 0) first = j;
      nz++;
    }
  }
  mean_i /= (double)k;
  /* rho: the distance to the local_connectivity-th nearest non-zero neighbour, interpolated between
   * integer counts. dist is sorted, so the non-zero distances are dist[first..k). */
  if ((double)nz >= lc) {
    int64_t index = (int64_t)floor(lc);
    double interp = lc - (double)index;
    if (index > 0) {
      r = dist[first + index - 1];
      if (interp > SMOOTH_K_TOLERANCE)
        r += interp * (dist[first + index] - dist[first + index - 1]);
    } else if (first >= 0) {
      r = interp * dist[first];
    }
    /* else rho stays 0: local_connectivity below 1 with every distance 0 (a transform's new point
     * on k duplicates) has no non-zero distance to interpolate towards. */
  } else if (nz > 0) {
    r = dist[k - 1];
  }
  /* Bisection on sigma so that the memberships of the k - 1 others (j from 1: column 0 is the point
   * itself) sum to log2(k), umap-learn's bandwidth-1 target. */
  for (int it = 0; it < 64; it++) {
    double psum = 0;
    for (int64_t j = 1; j < k; j++) {
      double t = dist[j] - r;
      psum += t > 0 ? exp(-(t / mid)) : 1.0;
    }
    if (fabs(psum - target) < SMOOTH_K_TOLERANCE) break;
    if (psum > target) {
      hi = mid;
      mid = (lo + hi) / 2;
    } else {
      lo = mid;
      mid = hi == INFINITY ? mid * 2 : (lo + hi) / 2;
    }
  }
  /* A tiny sigma would make the memberships a step function: floor it at 1e-3 of the mean distance,
   * this row's or (when rho is 0) every row's. */
  double floor_ = MIN_K_DIST_SCALE * (r > 0 ? mean_i : mean_all);
  *sigma = (float)(mid < floor_ ? floor_ : mid);
  *rho = (float)r;
}

void lt_umap_smooth_row(const float *dist, int64_t k, double local_connectivity, double mean_all,
                        float *sigma, float *rho) {
  smooth_row(dist, k, local_connectivity, mean_all, sigma, rho);
}

/* kNN lists with the point itself first (umap-learn counts it). */
static LtStatus knn_with_self(const float *X, int64_t n, int64_t d, const LtUmapOptions *o,
                              int64_t *idx, float *dist, const LtEmbedProgress *prog) {
  int64_t k = o->n_neighbors, m = k - 1;
  int64_t *ti = malloc(sizeof *ti * (size_t)(n * m));
  float *td = malloc(sizeof *td * (size_t)(n * m));
  LtStatus st =
      ti && td ? lt_knn_graph(X, n, d, m, o->metric, o->knn, o->seed, ti, td, prog) : LT_ENOMEM;
  for (int64_t i = 0; st == LT_OK && i < n; i++) {
    idx[i * k] = i;
    dist[i * k] = 0;
    for (int64_t j = 0; j < m; j++) {
      idx[i * k + 1 + j] = ti[i * m + j];
      dist[i * k + 1 + j] = td[i * m + j];
    }
  }
  free(ti);
  free(td);
  return st;
}

LtStatus lt_umap_graph(const float *X, int64_t n, int64_t d, const LtUmapOptions *o, LtCsr *G,
                       float *sigmas, float *rhos, const LtEmbedProgress *prog) {
  memset(G, 0, sizeof *G);
  int64_t k = o->n_neighbors;
  if (k < 2 || k > n || !(o->local_connectivity >= 0)) return LT_EVALUE;
  int64_t *idx = malloc(sizeof *idx * (size_t)(n * k));
  float *dist = malloc(sizeof *dist * (size_t)(n * k)),
        *val = malloc(sizeof *val * (size_t)(n * k));
  float *sg = malloc(sizeof *sg * (size_t)n), *rh = malloc(sizeof *rh * (size_t)n);
  LtStatus st =
      idx && dist && val && sg && rh ? knn_with_self(X, n, d, o, idx, dist, prog) : LT_ENOMEM;
  if (st == LT_OK) {
    double mean_all = 0;
    /* mean_all feeds smooth_row's sigma floor for points with rho = 0. */
    for (int64_t i = 0; i < n * k; i++) mean_all += dist[i];
    mean_all /= (double)(n * k);
#pragma omp parallel for schedule(dynamic, 64)
    for (int64_t i = 0; i < n; i++) {
      smooth_row(dist + i * k, k, o->local_connectivity, mean_all, sg + i, rh + i);
      for (int64_t j = 0; j < k; j++) {
        double t = dist[i * k + j] - rh[i];
        /* umap-learn's compute_membership_strengths: 0 for the point itself, 1 up to rho. */
        val[i * k + j] = idx[i * k + j] == i    ? 0.0f
                         : t <= 0 || sg[i] == 0 ? 1.0f
                                                : (float)exp(-(t / sg[i]));
      }
    }
    st = lt_embed_tick(prog, "graph", 0, 1);
    if (st == LT_OK) st = lt_csr_symmetrize(G, n, k, idx, val, o->set_op_mix_ratio);
  }
  if (st == LT_OK && sigmas) memcpy(sigmas, sg, sizeof *sg * (size_t)n);
  if (st == LT_OK && rhos) memcpy(rhos, rh, sizeof *rh * (size_t)n);
  free(idx);
  free(dist);
  free(val);
  free(sg);
  free(rh);
  return st;
}

/* Drops the edges lighter than max / n_epochs (umap-learn's pruning) in
 * place; returns the largest weight. */
static double prune_graph(LtCsr *G, int n_epochs) {
  int64_t nnz = lt_csr_nnz(G), o = 0;
  double wmax = 0;
  for (int64_t e = 0; e < nnz; e++)
    if (G->data[e] > wmax) wmax = G->data[e];
  /* The threshold in float, compared with float weights as umap-learn compares in float32. The
   * compaction is in place: o never passes e. */
  float thr = (float)(wmax / (double)n_epochs);
  for (int64_t i = 0, e = 0; i < G->n; i++) {
    int64_t end = G->indptr[i + 1];
    for (; e < end; e++)
      if (!(G->data[e] < thr)) {
        G->indices[o] = G->indices[e];
        G->data[o] = G->data[e];
        o++;
      }
    G->indptr[i + 1] = o;
  }
  return wmax;
}

/* ---- the layout ------------------------------------------------------------------ */

/* umap-learn's clip: every gradient step is limited to [-4, 4]. */
static inline float clip4(float v) { return fminf(fmaxf(v, -4.0f), 4.0f); }

#ifdef UMAP_SIMD
/* 8-lane x^b for x > 0 as 2^(b log2 x): log2 of the mantissa on
 * [sqrt(1/2), sqrt(2)) by a degree-5 fit (abs. error 4e-6), 2^f for
 * |f| <= 1/2 by a degree-5 fit (rel. error 1e-7): about 3e-6 relative, far
 * below the noise of the stochastic layout. */
__attribute__((target("avx2,fma"))) static inline __m256 pow8(__m256 x, float b) {
  /* Clamp to the smallest normal float (x = 0 would give log2 = -inf); x = m 2^e with m moved into
   * [sqrt(1/2), sqrt(2)), so log2 x = e + log2 m with m - 1 small. */
  x = _mm256_max_ps(x, _mm256_set1_ps(1.17549435e-38f));
  __m256i u = _mm256_castps_si256(x);
  __m256i e = _mm256_sub_epi32(_mm256_srli_epi32(u, 23), _mm256_set1_epi32(127));
  __m256 m = _mm256_castsi256_ps(_mm256_or_si256(_mm256_and_si256(u, _mm256_set1_epi32(0x7fffff)),
                                                 _mm256_set1_epi32(0x3f800000)));
  __m256 big = _mm256_cmp_ps(m, _mm256_set1_ps(1.41421356f), _CMP_GT_OQ);
  m = _mm256_blendv_ps(m, _mm256_mul_ps(m, _mm256_set1_ps(0.5f)), big);
  e = _mm256_sub_epi32(e, _mm256_castps_si256(big));
  __m256 f = _mm256_sub_ps(m, _mm256_set1_ps(1.0f)), p = _mm256_set1_ps(-0.2068581242f);
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(0.3184071184f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(-0.3664132594f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(0.4797938842f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(-0.7212084676f));
  p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(1.4427018f));
  /* y = b log2 x, clamped to +-126 so that 2^k below stays a normal float; then 2^y = 2^k 2^r with
   * r in [-1/2, 1/2] and 2^k built directly in the exponent bits. */
  __m256 y = _mm256_mul_ps(_mm256_set1_ps(b), _mm256_fmadd_ps(f, p, _mm256_cvtepi32_ps(e)));
  y = _mm256_min_ps(_mm256_max_ps(y, _mm256_set1_ps(-126.0f)), _mm256_set1_ps(126.0f));
  __m256 k = _mm256_round_ps(y, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC),
         r = _mm256_sub_ps(y, k);
  __m256 q = _mm256_set1_ps(0.001340043217f);
  q = _mm256_fmadd_ps(q, r, _mm256_set1_ps(0.009676037098f));
  q = _mm256_fmadd_ps(q, r, _mm256_set1_ps(0.05550327214f));
  q = _mm256_fmadd_ps(q, r, _mm256_set1_ps(0.2402210736f));
  q = _mm256_fmadd_ps(q, r, _mm256_set1_ps(0.6931472067f));
  q = _mm256_fmadd_ps(q, r, _mm256_set1_ps(1.000000075f));
  __m256i sc =
      _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(k), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(q, _mm256_castsi256_ps(sc));
}

/* Adds to s0, s1 the repulsive steps of the 2-d point (c0, c1) against the
 * nn points Ys[ks[.]] (ks padded with 8 zeros), eight per instruction; the
 * lanes are added in a fixed order. Same rules as the scalar path: clip to
 * [-4, 4], step 4 when the points coincide. */
__attribute__((target("avx2,fma"))) static void repel_2d_simd(const float *Ys, const int32_t *ks,
                                                              int nn, float c0, float c1, float a,
                                                              float b, float rep, float *s0,
                                                              float *s1) {
  const __m256 lim = _mm256_set1_ps(4.0f), nlim = _mm256_set1_ps(-4.0f), zero = _mm256_setzero_ps();
  float t0 = *s0, t1 = *s1;
  for (int q0 = 0; q0 < nn; q0 += 8) {
    /* ks << 1: the x coordinate of point k is Ys[2k] (interleaved [n x 2]). `valid` masks the
     * padding lanes past nn. */
    __m256i idx = _mm256_slli_epi32(_mm256_loadu_si256((const __m256i *)(ks + q0)),
                                    1); /* ks is padded with 0s */
    __m256 valid = _mm256_cmp_ps(_mm256_setr_ps(0, 1, 2, 3, 4, 5, 6, 7),
                                 _mm256_set1_ps((float)(nn - q0)), _CMP_LT_OQ);
    __m256 dx = _mm256_sub_ps(_mm256_set1_ps(c0), _mm256_i32gather_ps(Ys, idx, 4));
    __m256 dy = _mm256_sub_ps(_mm256_set1_ps(c1), _mm256_i32gather_ps(Ys + 1, idx, 4));
    __m256 d2 = _mm256_fmadd_ps(dx, dx, _mm256_mul_ps(dy, dy));
    __m256 den =
        _mm256_mul_ps(_mm256_add_ps(_mm256_set1_ps(0.001f), d2),
                      _mm256_fmadd_ps(_mm256_set1_ps(a), pow8(d2, b), _mm256_set1_ps(1.0f)));
    __m256 gc = _mm256_div_ps(_mm256_set1_ps(rep), den);
    __m256 use =
        _mm256_and_ps(_mm256_cmp_ps(d2, zero, _CMP_GT_OQ), _mm256_cmp_ps(gc, zero, _CMP_GT_OQ));
    __m256 sx = _mm256_min_ps(_mm256_max_ps(_mm256_mul_ps(gc, dx), nlim), lim);
    __m256 sy = _mm256_min_ps(_mm256_max_ps(_mm256_mul_ps(gc, dy), nlim), lim);
    sx = _mm256_and_ps(_mm256_blendv_ps(lim, sx, use), valid);
    sy = _mm256_and_ps(_mm256_blendv_ps(lim, sy, use), valid);
    /* The lanes are added one by one in sample order, the order the scalar path adds them in. */
    float ax[8], ay[8];
    _mm256_storeu_ps(ax, sx);
    _mm256_storeu_ps(ay, sy);
    for (int l = 0; l < 8; l++) {
      t0 += ax[l];
      t1 += ay[l];
    }
  }
  *s0 = t0;
  *s1 = t1;
}
#endif

/* Marsaglia's xorshift64* (multiplier from Vigna 2016): a cheap per-vertex stream; its state must
 * never be 0. */
static inline uint64_t xorshift(uint64_t *s) {
  uint64_t x = *s;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  *s = x;
  return x * 0x2545f4914f6cdd1dULL;
}

/* Per-edge sampling schedule, as umap-learn's epochs_per_sample: an edge
 * is sampled every eps epochs and brings a negative sample every per_neg =
 * eps / negative_sample_rate epochs (inv_neg = 1 / per_neg). With
 * negative_sample_rate 0 per_neg, inv_neg and next_neg are all 0: no
 * negative sample is ever due. */
typedef struct {
  double *eps, *next, *next_neg, *per_neg, *inv_neg;
} Schedule;

/* A cap on the negative samples of one firing, far above any real schedule (at most n_epochs
 * times negative_sample_rate, 1e8 with the binding's limits) and far enough below INT_MAX that
 * the loop over them, 64 at a time, cannot overflow its counter. */
#define NEG_MAX (1 << 30)

/* Negative samples owed to an edge firing at `epoch`, as umap-learn's int((epoch - next_neg) /
 * epochs_per_negative_sample). Checked in double before the conversion: converting a NaN or a
 * value out of int's range to int is undefined behaviour. */
static inline int negatives_due(int epoch, double next_neg, double inv_neg) {
  double due = ((double)epoch - next_neg) * inv_neg;
  if (!(due >= 1)) return 0;
  return due < (double)NEG_MAX ? (int)due : NEG_MAX;
}

typedef struct {
  const LtCsr *G;
  int dim;
  float a, b, gamma;
  uint64_t seed;
  int simd; /* the CPU has AVX2 and FMA: 2-d negative samples go eight at a time */
} Layout;

/* Moves vertex j through its edges due at this epoch (see lt_umap). The
 * negative samples of one edge sample are all measured from the same
 * position and their (individually clipped) steps applied together, which
 * lets them run in parallel in the pipeline; umap-learn applies them one
 * after the other. dim is a constant at each call site. */
static inline __attribute__((always_inline)) void move_vertex_dim(const Layout *ly, Schedule *sc,
                                                                  float *Y, const float *Ys,
                                                                  int64_t j, int epoch, float alpha,
                                                                  const int dim) {
  const LtCsr *G = ly->G;
  int64_t n = G->n;
  float *cur = Y + j * dim, a = ly->a, b = ly->b, rep = 2.0f * ly->gamma * b;
  /* A counter-based stream keyed by (seed, epoch, vertex): the same negative samples on any thread
   * count. The | 1 keeps the xorshift state non-zero. */
  uint64_t rs = lt_embed_hash(ly->seed, (uint64_t)epoch, (uint64_t)j) | 1;
  double *next = sc->next, *next_neg = sc->next_neg;
  const double *eps = sc->eps, *per_neg = sc->per_neg, *inv_neg = sc->inv_neg;
  const int32_t *col = G->indices;
  for (int64_t e = G->indptr[j], e1 = G->indptr[j + 1]; e < e1; e++) {
    if (next[e] > epoch) continue;
    const float *other = Ys + (int64_t)col[e] * dim;
    /* step[64]: lt_umap refuses dim > 64. */
    float d2 = 0, step[64];
    for (int c = 0; c < dim; c++) d2 += (cur[c] - other[c]) * (cur[c] - other[c]);
    /* Attraction, umap-learn's -2ab d^(2(b-1)) / (1 + a d^(2b)), doubled: in umap-learn both this
     * edge and its reverse (same weight, same schedule) move j, once directly and once through
     * move_other. */
    float pb = d2 > 0 ? powf(d2, b) : 0,
          gc = d2 > 0 ? -2.0f * a * b * pb / (d2 * (a * pb + 1.0f)) : 0;
    for (int c = 0; c < dim; c++) cur[c] += 2.0f * clip4(gc * (cur[c] - other[c])) * alpha;
    next[e] += eps[e];
    /* Negative samples owed since the last firing, as umap-learn's (n - next) /
     * epochs_per_negative. */
    int nneg = negatives_due(epoch, next_neg[e], inv_neg[e]);
    next_neg[e] += nneg * per_neg[e];
    for (int c = 0; c < dim; c++) step[c] = 0;
    for (int p0 = 0; p0 < nneg; p0 += 64) {
      int32_t ks[64 + 8];
      int nn = 0;
      for (int p = p0; p < nneg && p < p0 + 64; p++) {
        /* Lemire's multiply-shift: 32 random bits scaled to [0, n) without a division. Self samples
         * are skipped as umap-learn skips j == k. */
        int64_t k = (int64_t)(((xorshift(&rs) >> 32) * (uint64_t)n) >> 32);
        if (k != j) ks[nn++] = (int32_t)k;
      }
      /* Eight zero indices pad ks for the 8-lane gathers (ks has 64 + 8 slots). */
      for (int l = 0; l < 8; l++) ks[nn + l] = 0;
#ifdef UMAP_SIMD
      if (dim == 2 && ly->simd) {
        repel_2d_simd(Ys, ks, nn, cur[0], cur[1], a, b, rep, &step[0], &step[1]);
        continue;
      }
#endif
      for (int q = 0; q < nn; q++) {
        other = Ys + (int64_t)ks[q] * dim;
        d2 = 0;
        for (int c = 0; c < dim; c++) d2 += (cur[c] - other[c]) * (cur[c] - other[c]);
        /* Repulsion, umap-learn's 2 gamma b / ((0.001 + d^2)(1 + a d^(2b))); coincident points get
         * a step of 4, as there. */
        gc = d2 > 0 ? rep / ((0.001f + d2) * (a * powf(d2, b) + 1.0f)) : 0;
        for (int c = 0; c < dim; c++)
          step[c] += d2 > 0 && gc > 0 ? clip4(gc * (cur[c] - other[c])) : 4.0f;
      }
    }
    for (int c = 0; c < dim; c++) cur[c] += step[c] * alpha;
  }
}

/* Picks a copy of move_vertex_dim compiled for its dimension (2 and 3 are the common ones). */
static LT_EMBED_HOT void move_vertex(const Layout *ly, Schedule *sc, float *Y, const float *Ys,
                                     int64_t j, int epoch, float alpha) {
  switch (ly->dim) {
  case 2: move_vertex_dim(ly, sc, Y, Ys, j, epoch, alpha, 2); break;
  case 3: move_vertex_dim(ly, sc, Y, Ys, j, epoch, alpha, 3); break;
  default: move_vertex_dim(ly, sc, Y, Ys, j, epoch, alpha, ly->dim); break;
  }
}

/* The epoch loop. Each epoch reads a snapshot Ys of the layout, so vertices move in parallel and
 * the result does not depend on the order they are visited in. */
static LtStatus optimize_layout(const Layout *ly, Schedule *sc, float *Y, int n_epochs, double lr,
                                const LtEmbedProgress *prog) {
  int64_t n = ly->G->n, m = n * ly->dim;
  float *Ys = malloc(sizeof *Ys * (size_t)m);
  if (!Ys) return LT_ENOMEM;
  double alpha = lr;
  LtStatus st = LT_OK;
  for (int epoch = 0; epoch < n_epochs && st == LT_OK; epoch++) {
    memcpy(Ys, Y, sizeof *Ys * (size_t)m);
    float al = (float)alpha;
#pragma omp parallel for schedule(dynamic, 64)
    for (int64_t j = 0; j < n; j++) move_vertex(ly, sc, Y, Ys, j, epoch, al);
    /* Linear decay to 0 over the epochs, as umap-learn. */
    alpha = lr * (1.0 - (double)epoch / (double)n_epochs);
    st = lt_embed_tick(prog, "optimize", epoch + 1, n_epochs);
  }
  free(Ys);
  return st;
}

/* Builds the sampling schedule from the (pruned) edge weights and runs the epochs. */
static LtStatus layout_run(const LtCsr *G, const LtUmapOptions *o, double wmax, int n_epochs,
                           float *Y, const LtEmbedProgress *prog) {
  int64_t nnz = lt_csr_nnz(G);
  /* nnz + 1: malloc(0) may return NULL, which would read as out of memory. */
  size_t bytes = sizeof(double) * (size_t)(nnz + 1);
  Schedule sc = {malloc(bytes), malloc(bytes), malloc(bytes), malloc(bytes), malloc(bytes)};
  LtStatus st = sc.eps && sc.next && sc.next_neg && sc.per_neg && sc.inv_neg ? LT_OK : LT_ENOMEM;
  double rate = (double)o->negative_sample_rate;
  for (int64_t e = 0; st == LT_OK && e < nnz; e++) {
    /* umap-learn's epochs_per_sample, n_epochs / (n_epochs w / wmax): the heaviest edge fires every
     * epoch. */
    sc.eps[e] = wmax / G->data[e];
    sc.next[e] = sc.eps[e];
    /* Rate 0 (no negative samples, as umap-learn allows): zeros rather than eps / 0 = inf, whose
     * schedule would compute (epoch - inf) * 0 = NaN. */
    sc.per_neg[e] = rate > 0 ? sc.eps[e] / rate : 0;
    sc.next_neg[e] = sc.per_neg[e];
    sc.inv_neg[e] = rate / sc.eps[e];
  }
  /* The layout's stream is keyed by the seed and "umap", apart from the kNN's and the start's. */
  Layout ly = {G,
               o->dim,
               (float)o->a,
               (float)o->b,
               (float)o->repulsion_strength,
               lt_embed_hash(o->seed, 0x756d6170u, 0),
               0};
#ifdef UMAP_SIMD
  ly.simd = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
  if (st == LT_OK) st = optimize_layout(&ly, &sc, Y, n_epochs, o->learning_rate, prog);
  free(sc.eps);
  free(sc.next);
  free(sc.next_neg);
  free(sc.per_neg);
  free(sc.inv_neg);
  return st;
}

LtStatus lt_umap(const float *X, int64_t n, int64_t d, const LtUmapOptions *opts, float *Y,
                 LtUmapInfo *info, const LtEmbedProgress *prog) {
  LtUmapOptions o = *opts;
  if (n < 2 || o.dim < 1 || o.dim > 64 || o.negative_sample_rate < 0 || !(o.learning_rate > 0))
    return LT_EVALUE;
  LtStatus st = LT_OK;
  if (!(o.a > 0) || !(o.b > 0)) st = lt_umap_find_ab(o.spread, o.min_dist, &o.a, &o.b);
  int default_epochs = n <= 10000 ? 500 : 200,
      n_epochs = o.n_epochs > 0 ? o.n_epochs : default_epochs;
  LtCsr G = {0};
  if (st == LT_OK) st = lt_umap_graph(X, n, d, &o, &G, NULL, NULL, prog);
  /* As umap-learn: a run of 10 epochs or fewer prunes as the default epoch count would. */
  double wmax = st == LT_OK ? prune_graph(&G, n_epochs > 10 ? n_epochs : default_epochs) : 0;
  info->a = o.a;
  info->b = o.b;
  info->n_epochs = n_epochs;
  info->n_edges = lt_csr_nnz(&G);
  if (st == LT_OK) st = lt_embed_tick(prog, "init", 0, 1);
  if (st == LT_OK) st = lt_umap_initial_layout(X, n, d, &G, &o, Y, info);
  if (st == LT_OK) st = lt_embed_tick(prog, "init", 1, 1);
  /* wmax 0: no edge is left and nothing moves. */
  if (st == LT_OK && wmax > 0) st = layout_run(&G, &o, wmax, n_epochs, Y, prog);
  lt_csr_free(&G);
  return st;
}
