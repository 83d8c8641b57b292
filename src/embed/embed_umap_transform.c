/* embed_umap_transform.c - new points placed into a fixed UMAP map (umap-learn's transform). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "embed/embed_transform.h"
#include "embed/embed_umap.h"

void lt_umap_transform_defaults(LtUmapTransformOptions *o) {
  memset(o, 0, sizeof *o);
  o->n_neighbors = 15;
  o->local_connectivity = 1.0;
  o->min_dist = 0.1;
  o->spread = 1.0;
  o->repulsion_strength = 1.0;
  o->negative_sample_rate = 5;
  o->learning_rate = 0.25;
  o->metric = LT_METRIC_EUCLIDEAN;
}

/* The bipartite graph: m rows of k edges to the reference (idx), their memberships w (0: pruned)
 * and sampling schedules, as umap-learn's epochs_per_sample. */
typedef struct {
  int64_t m, k;
  const int64_t *idx;
  float *w;
  double *eps, *next, *next_neg, *per_neg;
} Bipartite;

/* Memberships of every new point's k neighbours (dist [m x k], ascending), as umap-learn's
 * transform: smooth_knn_dist with local_connectivity - 1 (at least 0), then exp(-(d - rho) /
 * sigma), 1 up to rho; no entry is the point itself. */
static void memberships(const float *dist, int64_t m, int64_t k, double lc, float *w) {
  double mean_all = 0;
  /* Over every distance of the query rows: the sigma floor of rows whose rho is 0. */
  for (int64_t e = 0; e < m * k; e++) mean_all += dist[e];
  mean_all /= (double)(m * k);
  double lc1 = lc - 1.0 > 0 ? lc - 1.0 : 0.0;
#pragma omp parallel for schedule(dynamic, 64)
  for (int64_t i = 0; i < m; i++) {
    float sigma, rho;
    lt_umap_smooth_row(dist + i * k, k, lc1, mean_all, &sigma, &rho);
    for (int64_t j = 0; j < k; j++) {
      double t = dist[i * k + j] - rho;
      w[i * k + j] = t <= 0 || sigma == 0 ? 1.0f : (float)exp(-(t / sigma));
    }
  }
}

/* umap-learn's init_graph_transform: a point with a neighbour of membership 1 starts on the
 * first such neighbour; the others at the membership-weighted mean of their neighbours (or on
 * the nearest one should every membership have underflowed). */
static void graph_start(const Bipartite *g, const float *Y, int dim, float *Ynew) {
  int64_t k = g->k;
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < g->m; i++) {
    const float *w = g->w + i * k;
    const int64_t *ix = g->idx + i * k;
    int64_t exact = -1;
    double sum = 0;
    for (int64_t j = 0; j < k; j++) {
      sum += w[j];
      if (exact < 0 && w[j] == 1.0f) exact = j;
    }
    if (exact >= 0 || !(sum > 0)) {
      const float *y = Y + ix[exact >= 0 ? exact : 0] * dim;
      for (int a = 0; a < dim; a++) Ynew[i * dim + a] = y[a];
      continue;
    }
    for (int a = 0; a < dim; a++) {
      double acc = 0;
      for (int64_t j = 0; j < k; j++) acc += (double)w[j] * Y[ix[j] * dim + a];
      Ynew[i * dim + a] = (float)(acc / sum);
    }
  }
}

/* Drops the edges lighter than max / n_epochs (umap-learn's pruning, in float as there) and sets
 * the schedules; returns the largest weight and counts the edges kept. */
static double schedule(Bipartite *g, int n_epochs, int rate, int64_t *kept) {
  int64_t ne = g->m * g->k;
  double wmax = 0;
  for (int64_t e = 0; e < ne; e++)
    if (g->w[e] > wmax) wmax = g->w[e];
  float thr = (float)(wmax / (double)n_epochs);
  *kept = 0;
  for (int64_t e = 0; e < ne; e++) {
    if (g->w[e] < thr || !(g->w[e] > 0)) {
      g->w[e] = 0;
      continue;
    }
    (*kept)++;
    /* The heaviest edge fires every epoch; rate 0 means no negative samples (per_neg 0). */
    g->eps[e] = wmax / g->w[e];
    g->next[e] = g->eps[e];
    g->per_neg[e] = rate > 0 ? g->eps[e] / rate : 0;
    g->next_neg[e] = g->per_neg[e];
  }
  return wmax;
}

/* New points per parallel sweep between two polls of Ctrl-C. */
#define UT_CHUNK 65536

/* umap-learn's clip: every gradient step is limited to [-4, 4]. */
static inline float clip4(float v) { return v < -4.0f ? -4.0f : v > 4.0f ? 4.0f : v; }

/* xorshift64* as embed_umap.c's: a cheap per-point stream whose state is never 0. */
static inline uint64_t xorshift(uint64_t *s) {
  uint64_t x = *s;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  *s = x;
  return x * 0x2545f4914f6cdd1dULL;
}

typedef struct {
  const float *Y; /* the fixed reference [n x dim] */
  int64_t n;
  int dim;
  float a, b, gamma;
  uint64_t seed;
} Layout;

/* One epoch of new point i (see lt_umap_transform): its due edges pull it, their negative
 * samples push it, one after the other as in umap-learn. */
static void move_point(const Layout *ly, Bipartite *g, int64_t i, float *cur, int epoch,
                       float alpha) {
  int dim = ly->dim;
  float a = ly->a, b = ly->b, rep = 2.0f * ly->gamma * b;
  uint64_t rs = lt_embed_hash(ly->seed, (uint64_t)epoch, (uint64_t)i) | 1;
  for (int64_t e = i * g->k; e < (i + 1) * g->k; e++) {
    if (!(g->w[e] > 0) || g->next[e] > epoch) continue;
    const float *other = ly->Y + g->idx[e] * dim;
    float d2 = 0;
    for (int c = 0; c < dim; c++) d2 += (cur[c] - other[c]) * (cur[c] - other[c]);
    /* Attraction, umap-learn's -2ab d^(2(b-1)) / (1 + a d^(2b)), applied once (move_other off). */
    float pb = d2 > 0 ? powf(d2, b) : 0;
    float gc = d2 > 0 ? -2.0f * a * b * pb / (d2 * (a * pb + 1.0f)) : 0;
    for (int c = 0; c < dim; c++) cur[c] += clip4(gc * (cur[c] - other[c])) * alpha;
    g->next[e] += g->eps[e];
    /* umap-learn's int((epoch - next_neg) / per_neg), in double before the conversion. */
    double due = g->per_neg[e] > 0 ? ((double)epoch - g->next_neg[e]) / g->per_neg[e] : 0;
    int nneg = due >= 1 ? (due < 1e9 ? (int)due : 1000000000) : 0;
    g->next_neg[e] += nneg * g->per_neg[e];
    for (int p = 0; p < nneg; p++) {
      int64_t q = (int64_t)(((xorshift(&rs) >> 32) * (uint64_t)ly->n) >> 32);
      other = ly->Y + q * dim;
      d2 = 0;
      for (int c = 0; c < dim; c++) d2 += (cur[c] - other[c]) * (cur[c] - other[c]);
      /* A coincident reference point gives no direction: no step (umap-learn's grad 0). */
      if (!(d2 > 0)) continue;
      gc = rep / ((0.001f + d2) * (a * powf(d2, b) + 1.0f));
      for (int c = 0; c < dim; c++) cur[c] += clip4(gc * (cur[c] - other[c])) * alpha;
    }
  }
}

static LtStatus layout(const Layout *ly, Bipartite *g, float *Ynew, int n_epochs, double lr,
                       const LtEmbedProgress *prog) {
  double alpha = lr;
  for (int epoch = 0; epoch < n_epochs; epoch++) {
    float al = (float)alpha;
    /* The new points never see each other: each moves alone, in any order. In chunks, Ctrl-C
     * polled between them. */
    for (int64_t c0 = 0; c0 < g->m; c0 += UT_CHUNK) {
      int64_t c1 = c0 + UT_CHUNK < g->m ? c0 + UT_CHUNK : g->m;
#pragma omp parallel for schedule(dynamic, 64)
      for (int64_t i = c0; i < c1; i++) move_point(ly, g, i, Ynew + i * ly->dim, epoch, al);
      if (lt_embed_tick(NULL, NULL, 0, 0) != LT_OK) return LT_EINTR;
    }
    /* Linear decay, as umap-learn's (after epoch e the rate is lr (1 - e / n_epochs)). */
    alpha = lr * (1.0 - (double)epoch / (double)n_epochs);
    LtStatus st = lt_embed_tick(prog, "optimize", epoch + 1, n_epochs);
    if (st != LT_OK) return st;
  }
  return LT_OK;
}

LtStatus lt_umap_transform(const float *X, int64_t n, int64_t d, const float *Y, int dim,
                           const float *Q, int64_t m, const LtUmapTransformOptions *opts,
                           float *Ynew, LtUmapTransformInfo *info, const LtEmbedProgress *prog) {
  LtUmapTransformOptions o = *opts;
  memset(info, 0, sizeof *info);
  int64_t k = o.n_neighbors;
  if (n < 1 || d < 1 || m < 1 || dim < 1 || dim > 64 || k < 2 || k > n ||
      !(o.local_connectivity >= 0) || o.negative_sample_rate < 0 || !(o.learning_rate > 0))
    return LT_EVALUE;
  LtStatus st = LT_OK;
  if (!(o.a > 0) || !(o.b > 0)) st = lt_umap_find_ab(o.spread, o.min_dist, &o.a, &o.b);
  int n_epochs = o.n_epochs > 0 ? o.n_epochs : (m <= 10000 ? 100 : 30);
  size_t ne = (size_t)(m * k);
  int64_t *idx = malloc(sizeof *idx * ne);
  float *dist = malloc(sizeof *dist * ne), *w = malloc(sizeof *w * ne);
  Bipartite g = {m, k, idx, w, malloc(sizeof(double) * ne), malloc(sizeof(double) * ne),
                 malloc(sizeof(double) * ne), malloc(sizeof(double) * ne)};
  if (st == LT_OK && !(idx && dist && w && g.eps && g.next && g.next_neg && g.per_neg))
    st = LT_ENOMEM;
  if (st == LT_OK) st = lt_knn_exact(X, n, Q, m, d, k, 0, o.metric, idx, dist, prog);
  double wmax = 0;
  if (st == LT_OK) {
    memberships(dist, m, k, o.local_connectivity, w);
    if (!o.init_given) graph_start(&g, Y, dim, Ynew);
    wmax = schedule(&g, n_epochs, o.negative_sample_rate, &info->n_edges);
  }
  info->a = o.a;
  info->b = o.b;
  info->n_epochs = n_epochs;
  /* The stream is keyed by the seed and "umtr", apart from the fit's. */
  Layout ly = {Y, n, dim, (float)o.a, (float)o.b, (float)o.repulsion_strength,
               lt_embed_hash(o.seed, 0x756d7472u, 0)};
  if (st == LT_OK && wmax > 0) st = layout(&ly, &g, Ynew, n_epochs, o.learning_rate, prog);
  free(idx);
  free(dist);
  free(w);
  free(g.eps);
  free(g.next);
  free(g.next_neg);
  free(g.per_neg);
  return st;
}
