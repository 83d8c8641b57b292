/* embed_umap_init.c - UMAP start layouts: spectral per component, random, given. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "embed/embed_pca.h"
#include "embed/embed_spectral.h"
#include "embed/embed_umap_init.h"
#include "tensor/random.h"

/* The sub-graph of G on the vertices labelled c (members in ascending order). */
static LtStatus subgraph(const LtCsr *G, const int32_t *label, int32_t c, const int64_t *members,
                         int64_t m, const int64_t *local, LtCsr *S) {
  int64_t nnz = 0;
  for (int64_t i = 0; i < m; i++) nnz += G->indptr[members[i] + 1] - G->indptr[members[i]];
  S->n = m;
  S->indptr = malloc(sizeof *S->indptr * (size_t)(m + 1));
  S->indices = malloc(sizeof *S->indices * (size_t)(nnz + 1));
  S->data = malloc(sizeof *S->data * (size_t)(nnz + 1));
  if (!S->indptr || !S->indices || !S->data) return LT_ENOMEM;
  int64_t o = 0;
  S->indptr[0] = 0;
  for (int64_t i = 0; i < m; i++) {
    for (int64_t e = G->indptr[members[i]]; e < G->indptr[members[i] + 1]; e++)
      /* Always true for a component of a symmetric graph; kept as a guard. local maps a vertex to
       * its index within the component. */
      if (label[G->indices[e]] == c) {
        S->indices[o] = (int32_t)local[G->indices[e]];
        S->data[o] = G->data[e];
        o++;
      }
    S->indptr[i + 1] = o;
  }
  return LT_OK;
}

/* Where the components go: PCA of their centroids in X when there are more
 * than 2 dim of them (scaled to a largest coordinate of 1), else +-axes. */
static LtStatus meta_layout(const float *X, int64_t n, int64_t d, const int32_t *label, int64_t nc,
                            int dim, double *meta) {
  memset(meta, 0, sizeof *meta * (size_t)(nc * dim));
  /* Few components: unit vectors, the first ceil(nc/2) on the + axes and the rest on the - axes
   * (umap-learn's component layout). */
  if (nc <= 2 * dim) {
    int64_t k = (nc + 1) / 2;
    for (int64_t c = 0; c < nc; c++) meta[c * dim + (c < k ? c : c - k)] = c < k ? 1.0 : -1.0;
    return LT_OK;
  }
  /* kk = min(dim, d): X may have fewer columns than the layout; the missing coordinates stay 0. */
  int64_t kk = dim < d ? dim : d;
  float *cen = calloc((size_t)(nc * d), sizeof *cen), *sc = malloc(sizeof *sc * (size_t)(nc * kk));
  float *comp = malloc(sizeof *comp * (size_t)(kk * d)), *mean = malloc(sizeof *mean * (size_t)d);
  double *cnt = calloc((size_t)nc, sizeof *cnt), *ev = malloc(sizeof *ev * (size_t)kk),
         *sv = malloc(sizeof *sv * (size_t)kk);
  LtStatus st = cen && sc && comp && mean && cnt && ev && sv ? LT_OK : LT_ENOMEM;
  if (st == LT_OK) {
    double *acc = calloc((size_t)(nc * d), sizeof *acc);
    if (!acc) st = LT_ENOMEM;
    for (int64_t i = 0; acc && i < n; i++) {
      cnt[label[i]] += 1;
      for (int64_t j = 0; j < d; j++) acc[label[i] * d + j] += X[i * d + j];
    }
    for (int64_t c = 0; acc && c < nc; c++)
      for (int64_t j = 0; j < d; j++) cen[c * d + j] = (float)(acc[c * d + j] / cnt[c]);
    free(acc);
  }
  LtPcaOptions po = {0};
  po.k = kk;
  po.center = 1;
  /* Deterministic PCA: the start layout must not depend on the thread count. */
  po.deterministic = 1;
  LtPcaOut out = {comp, ev, sv, mean, sc, 0};
  if (st == LT_OK) st = lt_pca_fit(cen, nc, d, &po, &out);
  double big = 0;
  for (int64_t i = 0; st == LT_OK && i < nc * kk; i++)
    if (fabs(sc[i]) > big) big = fabs(sc[i]);
  for (int64_t c = 0; st == LT_OK && c < nc; c++)
    for (int64_t j = 0; j < kk; j++) meta[c * dim + j] = big > 0 ? sc[c * kk + j] / big : 0;
  free(cen);
  free(sc);
  free(comp);
  free(mean);
  free(cnt);
  free(ev);
  free(sv);
  return st;
}

/* Lays out component c (its members listed) around meta[c] in a box of half-side range; sets
 * *spectral to 1 when its eigenvectors placed it (left alone when it went to random). */
static LtStatus place_component(const LtCsr *G, const int32_t *label, int32_t c,
                                const int64_t *members, int64_t m, const int64_t *local,
                                const double *centre, double range, int dim, LtRng *rng,
                                double *out, int *spectral) {
  double *emb = malloc(sizeof *emb * (size_t)(m * dim));
  LtCsr S = {0};
  LtStatus st = emb ? LT_OK : LT_ENOMEM, es = LT_EVALUE;
  /* The solver needs m >= dim + 2; umap-learn also lays out components of fewer than 2 dim points
   * at random. */
  if (st == LT_OK && m >= 2 * dim && m > dim + 1) {
    st = subgraph(G, label, c, members, m, local, &S);
    if (st == LT_OK) es = lt_spectral_embedding(&S, dim, emb);
    /* Only out-of-memory and Ctrl-C abort: a solver failure falls back to a random box. */
    if (es == LT_ENOMEM || es == LT_EINTR) st = es;
  }
  if (st == LT_OK && es == LT_OK) {
    *spectral = 1;
    /* Scaled so the largest coordinate reaches range: the component stays in its box around the
     * centre. */
    double big = 0;
    for (int64_t i = 0; i < m * dim; i++)
      if (fabs(emb[i]) > big) big = fabs(emb[i]);
    for (int64_t i = 0; i < m; i++)
      for (int j = 0; j < dim; j++)
        out[members[i] * dim + j] = (big > 0 ? emb[i * dim + j] * range / big : 0) + centre[j];
  } else if (st == LT_OK) {
    for (int64_t i = 0; i < m; i++)
      for (int j = 0; j < dim; j++)
        out[members[i] * dim + j] = centre[j] + range * (2 * lt_rng_uniform(rng) - 1);
  }
  lt_csr_free(&S);
  free(emb);
  return st;
}

/* The spectral start as umap-learn's spectral_layout: one component is laid out on its own;
 * several are each laid out in a box around their meta-layout position, of half-side half the
 * distance to the nearest other component (multi_component_layout). */
static LtStatus spectral_layout(const float *X, int64_t n, int64_t d, const LtCsr *G, int dim,
                                LtRng *rng, double *out, LtUmapInfo *info) {
  int32_t *label = malloc(sizeof *label * (size_t)n);
  int64_t *members = malloc(sizeof *members * (size_t)n),
          *local = malloc(sizeof *local * (size_t)n);
  if (!label || !members || !local) {
    free(label);
    free(members);
    free(local);
    return LT_ENOMEM;
  }
  int64_t nc = lt_graph_components(G, label);
  LtStatus st = nc < 0 ? LT_ENOMEM : LT_OK;
  info->components = nc;
  double *meta = st == LT_OK ? malloc(sizeof *meta * (size_t)(nc * dim)) : NULL;
  if (st == LT_OK && !meta) st = LT_ENOMEM;
  if (st == LT_OK && nc == 1) {
    for (int64_t i = 0; i < n; i++) {
      members[i] = i;
      local[i] = i;
    }
    memset(meta, 0, sizeof *meta * (size_t)dim);
    st = place_component(G, label, 0, members, n, local, meta, 1.0, dim, rng, out, &info->spectral);
  } else if (st == LT_OK) {
    st = meta_layout(X, n, d, label, nc, dim, meta);
    for (int32_t c = 0; st == LT_OK && c < nc; c++) {
      int64_t m = 0;
      for (int64_t i = 0; i < n; i++)
        if (label[i] == c) {
          local[i] = m;
          members[m++] = i;
        }
      /* The box's half-side: half the distance to the nearest other component's position, so boxes
       * do not overlap (1 when all positions coincide). */
      double range = INFINITY;
      for (int64_t c2 = 0; c2 < nc; c2++) {
        double s = 0;
        for (int j = 0; j < dim; j++)
          s += (meta[c * dim + j] - meta[c2 * dim + j]) * (meta[c * dim + j] - meta[c2 * dim + j]);
        if (s > 0 && sqrt(s) / 2 < range) range = sqrt(s) / 2;
      }
      if (!isfinite(range)) range = 1.0;
      st = place_component(G, label, c, members, m, local, meta + c * dim, range, dim, rng, out,
                           &info->spectral);
    }
  }
  free(label);
  free(members);
  free(local);
  free(meta);
  return st;
}

LtStatus lt_umap_initial_layout(const float *X, int64_t n, int64_t d, const LtCsr *G,
                                const LtUmapOptions *o, float *Y, LtUmapInfo *info) {
  int dim = o->dim;
  int64_t m = n * dim;
  LtRng rng;
  /* The start's stream is keyed by the seed and "init", apart from the layout's. */
  lt_rng_seed(&rng, lt_embed_hash(o->seed, 0x696e6974u, 0));
  info->spectral = 0;
  info->components = 0;
  LtStatus st = LT_OK;
  if (o->init == LT_UMAP_INIT_SPECTRAL) {
    double *init = malloc(sizeof *init * (size_t)m), big = 0;
    /* spectral_layout raises info->spectral for each component its eigenvectors place. */
    st = init ? spectral_layout(X, n, d, G, dim, &rng, init, info) : LT_ENOMEM;
    for (int64_t i = 0; st == LT_OK && i < m; i++)
      if (fabs(init[i]) > big) big = fabs(init[i]);
    for (int64_t i = 0; st == LT_OK && i < m; i++)
      /* umap-learn's expansion: the largest coordinate becomes 10, plus N(0, 1e-4^2) jitter so that
       * no two points start on top of each other. */
      Y[i] = (float)(init[i] * (big > 0 ? 10.0 / big : 1.0)) + (float)(1e-4 * lt_rng_normal(&rng));
    free(init);
    if (st != LT_OK) return st;
    /* A single component that went to random (solve failed, or too few points for the solver):
     * uniform start, as init = random. Several components keep their boxes. */
    if (!info->spectral && info->components == 1)
      for (int64_t i = 0; i < m; i++) Y[i] = (float)(20 * lt_rng_uniform(&rng) - 10);
  } else if (o->init == LT_UMAP_INIT_RANDOM) {
    for (int64_t i = 0; i < m; i++) Y[i] = (float)(20 * lt_rng_uniform(&rng) - 10);
  }
  for (int j = 0; j < dim; j++) { /* every column to [0, 10] */
    float lo = INFINITY, hi = -INFINITY;
    for (int64_t i = 0; i < n; i++) {
      if (Y[i * dim + j] < lo) lo = Y[i * dim + j];
      if (Y[i * dim + j] > hi) hi = Y[i * dim + j];
    }
    for (int64_t i = 0; i < n; i++)
      Y[i * dim + j] = hi > lo ? 10.0f * (Y[i * dim + j] - lo) / (hi - lo) : 5.0f;
  }
  return st;
}
