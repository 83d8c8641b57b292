/* embed_tsne.c - t-SNE: perplexity affinities, exact and Barnes-Hut gradients, the optimiser. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "embed/embed_bhtree.h"
#include "embed/embed_pca.h"
#include "embed/embed_tsne.h"
#include "embed/embed_tsne_fft.h"
#include "tensor/random.h"

/* scikit-learn's _N_ITER_CHECK and min_gain. */
#define CHECK_EVERY 50
#define MIN_GAIN    0.01f

void lt_tsne_defaults(LtTsneOptions *o, int dim) {
  memset(o, 0, sizeof *o);
  o->dim = dim;
  o->perplexity = 30;
  o->early_exaggeration = 12;
  o->exaggeration_iter = 250;
  o->learning_rate = 0;
  o->n_iter = 1000;
  o->theta = 0.5;
  o->min_grad_norm = 1e-7;
  o->n_iter_without_progress = 300;
}

/* ---- affinities ------------------------------------------------------------ */

/* Bisection on beta for one row (distances shifted by their minimum, which
 * leaves the normalised row and its entropy unchanged but cannot underflow). */
static void perplexity_row(const float *d2, int64_t k, double target, float *p) {
  double beta = 1, lo = -INFINITY, hi = INFINITY, dmin = INFINITY, sum = 1;
  for (int64_t j = 0; j < k; j++)
    if (d2[j] < dmin) dmin = d2[j];
  /* Entropy in nats: H = log Z + beta E[d], compared with log(perplexity). Bisection as
   * scikit-learn's _binary_search_perplexity: too high an entropy (a flat row) wants a larger beta;
   * beta doubles or halves until the other bound is known. */
  for (int step = 0; step < 100; step++) {
    double sdp = 0;
    sum = 0;
    for (int64_t j = 0; j < k; j++) {
      double e = exp(-beta * (d2[j] - dmin));
      sum += e;
      sdp += (d2[j] - dmin) * e;
    }
    double entropy = log(sum) + beta * sdp / sum, diff = entropy - target;
    if (fabs(diff) <= 1e-5) break;
    if (diff > 0) {
      lo = beta;
      beta = hi == INFINITY ? beta * 2 : (beta + hi) / 2;
    } else {
      hi = beta;
      beta = lo == -INFINITY ? beta / 2 : (beta + lo) / 2;
    }
  }
  /* p is written only after every read of d2 (callers pass p == d2). */
  sum = 0;
  for (int64_t j = 0; j < k; j++) sum += exp(-beta * (d2[j] - dmin));
  for (int64_t j = 0; j < k; j++) p[j] = (float)(exp(-beta * (d2[j] - dmin)) / sum);
}

void lt_tsne_conditional(const float *d2, int64_t n, int64_t k, double perplexity, float *p) {
  double target = log(perplexity);
#pragma omp parallel for schedule(dynamic, 64)
  for (int64_t i = 0; i < n; i++) perplexity_row(d2 + i * k, k, target, p + i * k);
}

/* scikit-learn's n_neighbors = min(n - 1, int(3 perplexity + 1)). */
static int64_t neighbour_count(int64_t n, double perplexity) {
  int64_t k = (int64_t)floor(3.0 * perplexity + 1.0);
  return k < n - 1 ? k : n - 1;
}

LtStatus lt_tsne_affinities(const float *X, int64_t n, int64_t d, double perplexity,
                            LtKnnMethod knn, uint64_t seed, LtCsr *P, const LtEmbedProgress *prog) {
  memset(P, 0, sizeof *P);
  if (n < 2 || !(perplexity > 0)) return LT_EVALUE;
  int64_t k = neighbour_count(n, perplexity);
  int64_t *idx = malloc(sizeof *idx * (size_t)(n * k));
  float *d2 = malloc(sizeof *d2 * (size_t)(n * k));
  LtStatus st = idx && d2
                    ? lt_knn_graph(X, n, d, k, LT_METRIC_SQEUCLIDEAN, knn, seed, idx, d2, prog)
                    : LT_ENOMEM;
  if (st == LT_OK) {
    /* In place: d2 becomes the conditional probabilities. mix -1 gives the plain sum P + P^T, which
     * is normalised below as scikit-learn's _joint_probabilities_nn (sum floored at its
     * MACHINE_EPSILON). */
    lt_tsne_conditional(d2, n, k, perplexity, d2);
    st = lt_csr_symmetrize(P, n, k, idx, d2, -1.0);
  }
  if (st == LT_OK) {
    double total = 0;
    int64_t nnz = lt_csr_nnz(P);
    for (int64_t e = 0; e < nnz; e++) total += P->data[e];
    if (total < DBL_EPSILON) total = DBL_EPSILON;
    for (int64_t e = 0; e < nnz; e++) P->data[e] = (float)(P->data[e] / total);
  }
  free(idx);
  free(d2);
  return st;
}

/* Dense joint P [n x n] for the exact method: conditional rows over all
 * other points, then (P + P^T) / sum, floored at DBL_EPSILON off the diagonal. */
static LtStatus dense_affinities(const float *X, int64_t n, int64_t d, double perplexity,
                                 float *P) {
  /* Row i holds its n - 1 distances (itself left out), so the bisection never sees the zero
   * self-distance. */
  float *row = malloc(sizeof *row * (size_t)(n * (n - 1)));
  if (!row) return LT_ENOMEM;
#pragma omp parallel for schedule(dynamic, 16)
  for (int64_t i = 0; i < n; i++)
    for (int64_t j = 0, c = 0; j < n; j++)
      if (j != i) row[i * (n - 1) + c++] = lt_embed_sqdist(X + i * d, X + j * d, d);
  lt_tsne_conditional(row, n, n - 1, perplexity, row);
  for (int64_t i = 0; i < n; i++)
    for (int64_t j = 0, c = 0; j < n; j++) P[i * n + j] = j == i ? 0.0f : row[i * (n - 1) + c++];
  /* The floor at DBL_EPSILON keeps log(P / Q) finite in the KL, as scikit-learn's exact method. */
  double total = 0;
  for (int64_t i = 0; i < n; i++)
    /* P + P^T over the upper triangle, mirrored; total counts both halves. */
    for (int64_t j = i + 1; j < n; j++) {
      float s = P[i * n + j] + P[j * n + i];
      P[i * n + j] = P[j * n + i] = s;
      total += 2.0 * s;
    }
  if (total < DBL_EPSILON) total = DBL_EPSILON;
  for (int64_t i = 0; i < n * n; i++) P[i] = (float)fmax(P[i] / total, DBL_EPSILON);
  for (int64_t i = 0; i < n; i++) P[i * n + i] = 0;
  free(row);
  return LT_OK;
}

/* ---- gradients ----------------------------------------------------------------- */

/* What one gradient evaluation needs; the buffers live for the whole run. */
typedef struct {
  int64_t n;
  int dim;
  double dof, theta;
  const LtCsr *P;  /* Barnes-Hut */
  const float *Pd; /* exact: dense [n x n] */
  LtBhTree tree;
  LtTsneFft fft; /* FFT method: the grids and plans; fft.n == 0 otherwise */
  double *neg, *pos; /* [n x dim] */
  double *zrow, *kl; /* [n] */
} TsneGrad;

/* Student-t kernel (1 + d2/dof)^(-(dof+1)/2), written as (dof / (dof + d2))^((dof+1)/2); dof 1 is
 * t-SNE's Cauchy kernel, which needs no pow. */
static inline double kernel(double d2, double dof) {
  return dof == 1.0 ? 1.0 / (1.0 + d2) : pow(dof / (dof + d2), (dof + 1.0) / 2.0);
}

/* Row i's attractive sum pos_i = sum_j exag p_ij w_ij (y_i - y_j) over P's
 * row and (when want_kl) its share of KL(P || Q) with Q = w / z; dim is a
 * constant at each call site so the coordinates stay in registers. */
static inline __attribute__((always_inline)) double attract_row(const LtCsr *P, const float *Y,
                                                                const int dim, int64_t i,
                                                                double dof, double exag, double z,
                                                                int want_kl, double *pos) {
  /* Double sums over P's row (the 2-d path below keeps float for speed); the row is summed by one
   * thread in stored order. */
  double acc[3] = {0, 0, 0}, c = 0, yi[3];
  for (int a = 0; a < dim; a++) yi[a] = Y[i * dim + a];
  for (int64_t e = P->indptr[i]; e < P->indptr[i + 1]; e++) {
    const float *yj = Y + (int64_t)P->indices[e] * dim;
    double dx[3], d2 = 0;
    for (int a = 0; a < dim; a++) {
      dx[a] = yi[a] - yj[a];
      d2 += dx[a] * dx[a];
    }
    double w = kernel(d2, dof), p = exag * P->data[e];
    for (int a = 0; a < dim; a++) acc[a] += p * w * dx[a];
    /* Floored at FLT_MIN as scikit-learn's Barnes-Hut code (FLOAT32_TINY). */
    if (want_kl) c += p * log(fmax(p, FLT_MIN) / fmax(w / z, FLT_MIN));
  }
  for (int a = 0; a < dim; a++) pos[a] = acc[a];
  return c;
}

/* The common case (2-d, one degree of freedom, no KL) in float SIMD. */
static LT_EMBED_HOT void attract_row_2d(const LtCsr *P, const float *Y, int64_t i, double exag,
                                        double *pos) {
  const int32_t *ix = P->indices + P->indptr[i];
  const float *pv = P->data + P->indptr[i];
  int64_t m = P->indptr[i + 1] - P->indptr[i];
  /* Float and simd: the row's sum vectorises across its neighbours; its order is still fixed by the
   * stored row, so the result does not depend on threads. */
  float y0 = Y[2 * i], y1 = Y[2 * i + 1], a0 = 0, a1 = 0;
#pragma omp simd reduction(+ : a0, a1)
  for (int64_t e = 0; e < m; e++) {
    int64_t j = ix[e];
    float d0 = y0 - Y[2 * j], d1 = y1 - Y[2 * j + 1], pw = pv[e] / (1.0f + d0 * d0 + d1 * d1);
    a0 += pw * d0;
    a1 += pw * d1;
  }
  pos[0] = exag * a0;
  pos[1] = exag * a1;
}

static void attraction_bh(TsneGrad *g, const float *Y, double exag, double z, int want_kl) {
  int dim = g->dim;
#pragma omp parallel for schedule(dynamic, 256)
  for (int64_t i = 0; i < g->n; i++) {
    double *pos = g->pos + i * dim;
    /* Each row writes only its own pos and kl. dim is passed as a literal so that each call of the
     * always-inline attract_row is compiled for its dimension. */
    g->kl[i] = 0;
    if (dim == 2 && g->dof == 1.0 && !want_kl)
      attract_row_2d(g->P, Y, i, exag, pos);
    else if (dim == 2)
      g->kl[i] = attract_row(g->P, Y, 2, i, g->dof, exag, z, want_kl, pos);
    else if (dim == 3)
      g->kl[i] = attract_row(g->P, Y, 3, i, g->dof, exag, z, want_kl, pos);
    else
      g->kl[i] = attract_row(g->P, Y, 1, i, g->dof, exag, z, want_kl, pos);
  }
}

/* Barnes-Hut gradient as scikit-learn's _barnes_hut_tsne: grad_i = c (pos_i - neg_i / Z), c = 2
 * (dof + 1) / dof, Z the sum of all kernel values; KL only when want_kl. With the FFT method the
 * same formula, the repulsion (neg, Z) interpolated instead of read from the tree. */
static LtStatus grad_bh(TsneGrad *g, const float *Y, double exag, float *grad, int want_kl,
                        double *kl) {
  int64_t n = g->n;
  int dim = g->dim;
  LtStatus st;
  double z = 0, c = 2.0 * (g->dof + 1.0) / g->dof;
  if (g->fft.n) {
    st = lt_tsne_fft_repulsion(&g->fft, Y, g->neg, &z);
  } else {
    lt_bhtree_build(&g->tree, Y);
    st = lt_bhtree_repulsion(&g->tree, g->theta, g->dof, g->neg, g->zrow);
    /* Z summed serially in point order: the same bits on any thread count. */
    for (int64_t i = 0; st == LT_OK && i < n; i++) z += g->zrow[i];
  }
  if (st != LT_OK) return st;
  attraction_bh(g, Y, exag, z, want_kl);
  for (int64_t i = 0; i < n * dim; i++) grad[i] = (float)(c * (g->pos[i] - g->neg[i] / z));
  *kl = 0;
  if (want_kl)
    for (int64_t i = 0; i < n; i++) *kl += g->kl[i];
  return LT_OK;
}

/* The exact O(n^2) gradient (and KL when want_kl) with the dense P, as scikit-learn's
 * _kl_divergence. One thread computes each row whole: its sums do not depend on threads. */
static LtStatus grad_exact(TsneGrad *g, const float *Y, double exag, float *grad, int want_kl,
                           double *kl) {
  int64_t n = g->n;
  int dim = g->dim;
#pragma omp parallel for schedule(dynamic, 16)
  for (int64_t i = 0; i < n; i++) {
    double z = 0;
    for (int a = 0; a < dim; a++) g->pos[i * dim + a] = g->neg[i * dim + a] = 0;
    for (int64_t j = 0; j < n; j++) {
      if (j == i) continue;
      double d2 = 0;
      for (int a = 0; a < dim; a++) {
        double t = (double)Y[i * dim + a] - Y[j * dim + a];
        d2 += t * t;
      }
      /* Barnes-Hut's terms without approximation: pos += p w t and neg += w^2 t, t = y_i - y_j. */
      double w = kernel(d2, g->dof), p = exag * g->Pd[i * n + j];
      z += w;
      for (int a = 0; a < dim; a++) {
        double t = (double)Y[i * dim + a] - Y[j * dim + a];
        g->pos[i * dim + a] += p * w * t;
        g->neg[i * dim + a] += w * w * t;
      }
    }
    g->zrow[i] = z;
  }
  double z = 0, c = 2.0 * (g->dof + 1.0) / g->dof;
  for (int64_t i = 0; i < n; i++) z += g->zrow[i];
  for (int64_t i = 0; i < n * dim; i++) grad[i] = (float)(c * (g->pos[i] - g->neg[i] / z));
  *kl = 0;
  /* KL in a second pass: it needs Z, known only once every row is done. */
  if (!want_kl) return LT_OK;
#pragma omp parallel for schedule(dynamic, 16)
  for (int64_t i = 0; i < n; i++) {
    double s = 0;
    for (int64_t j = 0; j < n; j++) {
      if (j == i) continue;
      double d2 = 0;
      for (int a = 0; a < dim; a++) {
        double t = (double)Y[i * dim + a] - Y[j * dim + a];
        d2 += t * t;
      }
      double p = exag * g->Pd[i * n + j];
      s += p * log(fmax(p, DBL_EPSILON) / fmax(kernel(d2, g->dof) / z, DBL_EPSILON));
    }
    g->kl[i] = s;
  }
  for (int64_t i = 0; i < n; i++) *kl += g->kl[i];
  return LT_OK;
}

/* ---- optimiser ---------------------------------------------------------------- */

typedef struct {
  /* update: the momentum term; gains: per-coordinate step multipliers; lr: after "auto". */
  float *update, *gains, *grad;
  double lr;
} TsneOpt;

/* One phase of scikit-learn's _gradient_descent from step it0 to it1 - 1
 * (fresh update and gains); returns the last step taken in *last. */
static LtStatus descend(TsneGrad *g, TsneOpt *op, const LtTsneOptions *o, float *Y, int it0,
                        int it1, double exag, float momentum, int patience, int *last, double *kl,
                        const LtEmbedProgress *prog) {
  int64_t m = g->n * g->dim;
  double best = DBL_MAX;
  int best_it = it0, it = it0;
  /* Each phase starts fresh, as scikit-learn's _gradient_descent (called once per phase). */
  for (int64_t e = 0; e < m; e++) {
    op->update[e] = 0;
    op->gains[e] = 1;
  }
  for (; it < it1; it++) {
    /* The KL costs another pass: only on check steps and on the phase's last step. */
    int check = (it + 1) % CHECK_EVERY == 0, want_kl = check || it == it1 - 1;
    double err = 0;
    LtStatus gst = g->Pd ? grad_exact(g, Y, exag, op->grad, want_kl, &err)
                         : grad_bh(g, Y, exag, op->grad, want_kl, &err);
    if (gst != LT_OK) return gst;
    if (want_kl) *kl = err;
#pragma omp parallel for schedule(static)
    for (int64_t e = 0; e < m; e++) {
      /* Gains (Jacobs' delta-bar-delta, as scikit-learn): grow while the gradient keeps opposing
       * the last update, shrink when it turns. The gradient is scaled by its gain before the
       * momentum step. */
      float gr = op->grad[e],
            gain = op->update[e] * gr < 0 ? op->gains[e] + 0.2f : op->gains[e] * 0.8f;
      if (gain < MIN_GAIN) gain = MIN_GAIN;
      op->gains[e] = gain;
      gr *= gain;
      op->grad[e] = gr;
      op->update[e] = momentum * op->update[e] - (float)op->lr * gr;
      Y[e] += op->update[e];
    }
    LtStatus st = lt_embed_tick(prog, "optimize", it + 1, o->n_iter);
    if (st != LT_OK) return st;
    if (!check && it != it1 - 1) continue;
    /* Checked where the KL is: a NaN or infinity stays in Y once there. */
    if (lt_embed_first_bad_row(Y, g->n, g->dim) >= 0) return LT_ERANGE; /* diverged */
    if (!check) continue;
    /* The norm of the gain-scaled gradient, as scikit-learn measures it. */
    double gn = 0;
    for (int64_t e = 0; e < m; e++) gn += (double)op->grad[e] * op->grad[e];
    /* Patience: stop once the KL has not improved for more than `patience` steps (checked every
     * 50). */
    if (err < best) {
      best = err;
      best_it = it;
    } else if (it - best_it > patience)
      break;
    if (sqrt(gn) <= o->min_grad_norm) break;
  }
  /* The step the phase stopped at: the next phase continues after it (scikit-learn's `it`). */
  *last = it < it1 ? it : it1 - 1;
  return LT_OK;
}

/* Y = the first dim principal components of X scaled so that the first
 * has standard deviation 1e-4 (scikit-learn's init="pca"); 1 if it cannot
 * (too few dimensions or a constant first component): use random instead. */
static LtStatus init_pca(const float *X, int64_t n, int64_t d, int dim, float *Y, int *fallback) {
  *fallback = 1;
  /* PCA gives at most min(n, d) components: fewer than dim means the random start. */
  if (dim > d || dim > n) return LT_OK;
  LtPcaOptions po = {0};
  po.k = dim;
  po.center = 1;
  po.deterministic = 1;
  float *comp = malloc(sizeof *comp * (size_t)(dim * d)), *mean = malloc(sizeof *mean * (size_t)d);
  double *ev = malloc(sizeof *ev * (size_t)dim), *sv = malloc(sizeof *sv * (size_t)dim);
  LtPcaOut out = {comp, ev, sv, mean, Y, 0};
  LtStatus st = comp && mean && ev && sv ? lt_pca_fit(X, n, d, &po, &out) : LT_ENOMEM;
  if (st == LT_OK) {
    double s = 0, s2 = 0;
    for (int64_t i = 0; i < n; i++) {
      s += Y[i * dim];
      s2 += (double)Y[i * dim] * Y[i * dim];
    }
    /* Population std (ddof 0) of the first column, as numpy's std. */
    double var = s2 / (double)n - (s / (double)n) * (s / (double)n), sd = var > 0 ? sqrt(var) : 0;
    if (sd > 0) {
      for (int64_t i = 0; i < n * dim; i++) Y[i] = (float)(Y[i] / sd * 1e-4);
      *fallback = 0;
    }
  }
  free(comp);
  free(mean);
  free(ev);
  free(sv);
  return st;
}

/* N(0, 1e-4^2) per coordinate, as scikit-learn's init="random". */
static void init_random(float *Y, int64_t m, uint64_t seed) {
  LtRng r;
  lt_rng_seed(&r, seed);
  for (int64_t i = 0; i < m; i++) Y[i] = (float)(1e-4 * lt_rng_normal(&r));
}

/* Affinities (sparse for Barnes-Hut, dense for exact), the tree's buffers and the start layout. */
static LtStatus tsne_prepare(const float *X, int64_t n, int64_t d, const LtTsneOptions *o,
                             LtTsneMethod method, float *Y, TsneGrad *g, LtCsr *P, float **Pd,
                             const LtEmbedProgress *prog) {
  LtStatus st;
  if (method != LT_TSNE_EXACT) {
    st = lt_tsne_affinities(X, n, d, o->perplexity, o->knn, o->seed, P, prog);
    if (st == LT_OK)
      st = method == LT_TSNE_FFT ? lt_tsne_fft_init(&g->fft, n)
                                 : lt_bhtree_init(&g->tree, n, o->dim);
  } else {
    *Pd = malloc(sizeof **Pd * (size_t)(n * n));
    st = *Pd ? dense_affinities(X, n, d, o->perplexity, *Pd) : LT_ENOMEM;
  }
  /* Random unless given; a PCA start clears fallback when it succeeds. */
  int fallback = o->init != LT_TSNE_INIT_GIVEN;
  if (st == LT_OK && o->init == LT_TSNE_INIT_PCA) st = init_pca(X, n, d, o->dim, Y, &fallback);
  if (st == LT_OK && fallback) init_random(Y, n * o->dim, o->seed);
  return st;
}

/* The method AUTO (and theta < 0) stand for, given the degrees of freedom dof. */
static LtTsneMethod resolve_method(const LtTsneOptions *o, int64_t n, double dof) {
  if (o->theta < 0 || o->method == LT_TSNE_EXACT) return LT_TSNE_EXACT;
  if (o->method != LT_TSNE_AUTO) return o->method;
  return o->dim == 2 && dof == 1.0 && n >= LT_TSNE_FFT_AUTO_N ? LT_TSNE_FFT : LT_TSNE_BARNES_HUT;
}

LtStatus lt_tsne(const float *X, int64_t n, int64_t d, const LtTsneOptions *o, float *Y,
                 LtTsneInfo *info, const LtEmbedProgress *prog) {
  /* scikit-learn's max(dim - 1, 1) degrees of freedom (van der Maaten 2009, parametric t-SNE). */
  double dof = o->dof > 0 ? o->dof : (o->dim > 1 ? o->dim - 1 : 1);
  LtTsneMethod method = resolve_method(o, n, dof);
  if (n < 2 || o->dim < 1 || (method != LT_TSNE_EXACT && o->dim > 3) || !(o->perplexity > 0) ||
      o->n_iter < 1 || (method == LT_TSNE_FFT && (o->dim != 2 || dof != 1.0)))
    return LT_EVALUE;
  int64_t m = n * o->dim;
  TsneGrad g = {0};
  g.n = n;
  g.dim = o->dim;
  g.theta = o->theta;
  g.dof = dof;
  info->method = method;
  LtCsr P = {0};
  float *Pd = NULL;
  TsneOpt op = {malloc(sizeof(float) * (size_t)m), malloc(sizeof(float) * (size_t)m),
                malloc(sizeof(float) * (size_t)m), 0};
  g.neg = malloc(sizeof(double) * (size_t)m);
  g.pos = malloc(sizeof(double) * (size_t)m);
  g.zrow = malloc(sizeof(double) * (size_t)n);
  g.kl = malloc(sizeof(double) * (size_t)n);
  LtStatus st =
      op.update && op.gains && op.grad && g.neg && g.pos && g.zrow && g.kl ? LT_OK : LT_ENOMEM;
  if (st == LT_OK) st = tsne_prepare(X, n, d, o, method, Y, &g, &P, &Pd, prog);
  g.P = &P;
  g.Pd = Pd;
  /* scikit-learn's "auto": max(n / early_exaggeration / 4, 50). */
  op.lr =
      o->learning_rate > 0 ? o->learning_rate : fmax((double)n / o->early_exaggeration / 4.0, 50.0);
  int ex = o->exaggeration_iter < o->n_iter ? o->exaggeration_iter : o->n_iter, last = -1;
  double kl = 0;
  /* Phase 1: early exaggeration at momentum 0.5, patience its own length (scikit-learn's
   * exploration phase); phase 2 resumes after the step it stopped at. */
  if (st == LT_OK && ex > 0)
    st = descend(&g, &op, o, Y, 0, ex, o->early_exaggeration, 0.5f, ex, &last, &kl, prog);
  if (st == LT_OK && last + 1 < o->n_iter)
    st = descend(&g, &op, o, Y, last + 1, o->n_iter, 1.0, 0.8f, o->n_iter_without_progress, &last,
                 &kl, prog);
  info->kl = kl;
  info->iterations = last + 1;
  info->learning_rate = op.lr;
  lt_bhtree_free(&g.tree);
  lt_tsne_fft_free(&g.fft);
  lt_csr_free(&P);
  free(Pd);
  free(op.update);
  free(op.gains);
  free(op.grad);
  free(g.neg);
  free(g.pos);
  free(g.zrow);
  free(g.kl);
  return st;
}
