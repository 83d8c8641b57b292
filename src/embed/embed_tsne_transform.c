/* embed_tsne_transform.c - new points placed into a fixed t-SNE map (openTSNE's transform). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "embed/embed_bhtree.h"
#include "embed/embed_transform.h"
#include "embed/embed_tsne.h"
#include "tensor/random.h"

/* openTSNE's min_gain, added after the 0.8 shrink. */
#define MIN_GAIN 0.01f
/* New points per parallel sweep between two polls of Ctrl-C (well under a second each). */
#define TT_CHUNK 32768

void lt_tsne_transform_defaults(LtTsneTransformOptions *o) {
  memset(o, 0, sizeof *o);
  o->perplexity = 5;
  o->k = 15;
  o->early_exaggeration = 4;
  o->exaggeration_iter = 0;
  o->exaggeration = 1.5;
  o->n_iter = 250;
  o->learning_rate = 0.1;
  o->momentum = 0.8;
  o->max_grad_norm = 0.25;
  o->theta = 0.5;
}

/* Student-t kernel as lt_tsne's, in float for the tree walk: dof 1 needs no pow. */
static inline float kernel_f(float d2, float dof, float ex) {
  return dof == 1.0f ? 1.0f / (1.0f + d2) : powf(dof / (dof + d2), ex);
}

/* Repulsion on the point p (not one of the tree's): z = sum_j w(p, Y_j) and neg = sum_j w^2 (p -
 * Y_j) over the reference, a cell standing for its points when its squared extent is below
 * theta2 times its squared distance to p (a full-depth leaf of coincident points always does).
 * The walk follows the tree's stored order, so the sums do not depend on threads. */
static void repel_point(const LtBhTree *t, const float *p, float theta2, float dof, double *neg,
                        double *z) {
  int dim = t->dim;
  float ex = (dof + 1.0f) / 2.0f, zz = 0, f[3] = {0, 0, 0};
  for (int64_t i = 0; i < t->nnodes;) {
    const LtBhNode *nd = t->nodes + i;
    float d2 = 0, dx[3] = {0, 0, 0};
    for (int a = 0; a < dim; a++) {
      dx[a] = p[a] - nd->com[a];
      d2 += dx[a] * dx[a];
    }
    if (nd->leaf == 2 || nd->width2 < theta2 * d2) {
      float w = kernel_f(d2, dof, ex), cw = (float)nd->count * w;
      zz += cw;
      for (int a = 0; a < dim; a++) f[a] += cw * w * dx[a];
      i = nd->next;
      continue;
    }
    if (nd->leaf != 1) {
      /* An internal cell too close: open it (its first child is the next node). */
      i++;
      continue;
    }
    for (int64_t q = nd->start; q < (int64_t)nd->start + nd->count; q++) {
      const float *y = t->pos + q * dim;
      float e2 = 0, ex_[3] = {0, 0, 0};
      for (int a = 0; a < dim; a++) {
        ex_[a] = p[a] - y[a];
        e2 += ex_[a] * ex_[a];
      }
      float w = kernel_f(e2, dof, ex);
      zz += w;
      for (int a = 0; a < dim; a++) f[a] += w * w * ex_[a];
    }
    i = nd->next;
  }
  for (int a = 0; a < dim; a++) neg[a] = f[a];
  *z = zz;
}

/* What every step needs: the reference, the affinities and the optimiser's state. */
typedef struct {
  const float *Y; /* reference [n x dim] */
  int dim;
  int64_t m, k;
  const int64_t *idx; /* [m x k] reference neighbours */
  const float *P;     /* [m x k] conditional affinities, rows summing to 1 */
  LtBhTree tree;
  const LtTsneTransformOptions *o;
  double dof;
  float *update, *gains; /* [m x dim] */
} TtState;

/* The gradient of point i at y (see lt_tsne_transform) into g, with exaggeration exag; returns
 * Z_i when zi is wanted (the KL pass). */
static void point_grad(const TtState *s, int64_t i, const float *y, double exag, double *g,
                       double *zi) {
  int dim = s->dim;
  double pos[3] = {0, 0, 0}, neg[3] = {0, 0, 0}, z = 0, ex = (s->dof + 1.0) / 2.0;
  for (int64_t e = 0; e < s->k; e++) {
    const float *yj = s->Y + s->idx[i * s->k + e] * dim;
    double dx[3], d2 = 0;
    for (int a = 0; a < dim; a++) {
      dx[a] = (double)y[a] - yj[a];
      d2 += dx[a] * dx[a];
    }
    double w = s->dof == 1.0 ? 1.0 / (1.0 + d2) : pow(s->dof / (s->dof + d2), ex);
    double pw = exag * s->P[i * s->k + e] * w;
    for (int a = 0; a < dim; a++) pos[a] += pw * dx[a];
  }
  repel_point(&s->tree, y, (float)(s->o->theta * s->o->theta), (float)s->dof, neg, &z);
  /* z > 0 always (every kernel value is positive); the floor guards a reference so far away
   * that every w underflows. */
  double zs = z > 1e-30 ? z : 1e-30, c = (s->dof + 1.0) / (2.0 * s->dof);
  for (int a = 0; a < dim; a++) g[a] = c * (pos[a] - neg[a] / zs);
  if (zi) *zi = zs;
}

static inline int sgn(float v) { return (v > 0) - (v < 0); }

/* One step of point i: its gradient clipped to max_grad_norm, then openTSNE's gains and
 * momentum update (see lt_tsne_transform). */
static void point_step(TtState *s, int64_t i, float *y, double exag) {
  int dim = s->dim;
  const LtTsneTransformOptions *o = s->o;
  double g[3], norm = 0;
  point_grad(s, i, y, exag, g, NULL);
  for (int a = 0; a < dim; a++) norm += g[a] * g[a];
  norm = sqrt(norm);
  /* openTSNE's clip: coeff = max / (norm + 1e-6), applied when below 1. */
  double coeff = o->max_grad_norm > 0 ? o->max_grad_norm / (norm + 1e-6) : 1.0;
  for (int a = 0; a < dim; a++) {
    float gr = (float)(coeff < 1.0 ? g[a] * coeff : g[a]);
    float *up = s->update + i * dim + a, *gain = s->gains + i * dim + a;
    /* np.sign(update) != np.sign(gradient): a zero update (the first step) counts as flipped. */
    *gain = sgn(*up) != sgn(gr) ? *gain + 0.2f : *gain * 0.8f + MIN_GAIN;
    *up = (float)o->momentum * *up - (float)o->learning_rate * *gain * gr;
    y[a] += *up;
  }
}

/* Median of the v[0..k) (sorted in place; the mean of the middle two for even k, as numpy). */
static float median_of(float *v, int64_t k) {
  for (int64_t a = 1; a < k; a++) {
    float x = v[a];
    int64_t b = a - 1;
    while (b >= 0 && v[b] > x) {
      v[b + 1] = v[b];
      b--;
    }
    v[b + 1] = x;
  }
  return k % 2 ? v[k / 2] : 0.5f * (v[k / 2 - 1] + v[k / 2]);
}

/* The start of every new point by o->init (GIVEN: left as it is). */
static LtStatus start_layout(const TtState *s, float *Ynew) {
  int dim = s->dim;
  int64_t m = s->m, k = s->k;
  if (s->o->init == LT_TT_INIT_GIVEN) return LT_OK;
  if (s->o->init == LT_TT_INIT_RANDOM) {
    LtRng r;
    lt_rng_seed(&r, s->o->seed);
    for (int64_t e = 0; e < m * dim; e++) Ynew[e] = (float)(1e-4 * lt_rng_normal(&r));
    return LT_OK;
  }
  if (s->o->init == LT_TT_INIT_WEIGHTED) {
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < m; i++)
      for (int a = 0; a < dim; a++) {
        double acc = 0;
        for (int64_t e = 0; e < k; e++)
          acc += (double)s->P[i * k + e] * s->Y[s->idx[i * k + e] * dim + a];
        Ynew[i * dim + a] = (float)acc;
      }
    return LT_OK;
  }
  float *buf = malloc(sizeof *buf * (size_t)(m * k));
  if (!buf) return LT_ENOMEM;
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < m; i++)
    for (int a = 0; a < dim; a++) {
      float *v = buf + i * k;
      for (int64_t e = 0; e < k; e++) v[e] = s->Y[s->idx[i * k + e] * dim + a];
      Ynew[i * dim + a] = median_of(v, k);
    }
  free(buf);
  return LT_OK;
}

/* *out = the mean over the new points of KL(P_i || Q_i), Q_i normalised over the reference. */
static LtStatus mean_kl(const TtState *s, const float *Ynew, double *out) {
  int64_t m = s->m, k = s->k;
  int dim = s->dim;
  double *kl = malloc(sizeof *kl * (size_t)m), total = 0;
  if (!kl) return LT_ENOMEM;
#pragma omp parallel for schedule(dynamic, 64)
  for (int64_t i = 0; i < m; i++) {
    double g[3], z, acc = 0, ex = (s->dof + 1.0) / 2.0;
    point_grad(s, i, Ynew + i * dim, 1.0, g, &z);
    for (int64_t e = 0; e < k; e++) {
      double p = s->P[i * k + e], d2 = 0;
      if (!(p > 0)) continue;
      const float *yj = s->Y + s->idx[i * k + e] * dim;
      for (int a = 0; a < dim; a++) {
        double t = (double)Ynew[i * dim + a] - yj[a];
        d2 += t * t;
      }
      double w = s->dof == 1.0 ? 1.0 / (1.0 + d2) : pow(s->dof / (s->dof + d2), ex);
      acc += p * log(p / fmax(w / z, 1e-300));
    }
    kl[i] = acc;
  }
  /* Summed in point order: the same bits on any thread count. */
  for (int64_t i = 0; i < m; i++) total += kl[i];
  free(kl);
  *out = total / (double)m;
  return LT_OK;
}

/* The steps, all points in lockstep (one tick per step, outside the parallel region). */
static LtStatus descend(TtState *s, float *Ynew, LtTsneTransformInfo *info,
                        const LtEmbedProgress *prog) {
  const LtTsneTransformOptions *o = s->o;
  int64_t m = s->m;
  int dim = s->dim;
  for (int64_t e = 0; e < m * dim; e++) {
    s->update[e] = 0;
    s->gains[e] = 1;
  }
  for (int it = 0; it < o->n_iter; it++) {
    double exag = it < o->exaggeration_iter ? o->early_exaggeration : o->exaggeration;
    /* In chunks, Ctrl-C polled between them: a step over a million new points takes seconds. */
    for (int64_t c0 = 0; c0 < m; c0 += TT_CHUNK) {
      int64_t c1 = c0 + TT_CHUNK < m ? c0 + TT_CHUNK : m;
#pragma omp parallel for schedule(dynamic, 64)
      for (int64_t i = c0; i < c1; i++) point_step(s, i, Ynew + i * dim, exag);
      if (lt_embed_tick(NULL, NULL, 0, 0) != LT_OK) return LT_EINTR;
    }
    info->iterations = it + 1;
    LtStatus st = lt_embed_tick(prog, "optimize", it + 1, o->n_iter);
    if (st != LT_OK) return st;
    /* Checked every 50 steps and at the end: a NaN or infinity stays once there. */
    if (((it + 1) % 50 == 0 || it + 1 == o->n_iter) && lt_embed_first_bad_row(Ynew, m, dim) >= 0)
      return LT_ERANGE;
  }
  return LT_OK;
}

LtStatus lt_tsne_transform(const float *X, int64_t n, int64_t d, const float *Y, int dim,
                           const float *Q, int64_t m, const LtTsneTransformOptions *o, float *Ynew,
                           LtTsneTransformInfo *info, const LtEmbedProgress *prog) {
  memset(info, 0, sizeof *info);
  int64_t k = o->k;
  if (n < 1 || d < 1 || m < 1 || dim < 1 || dim > 3 || k < 1 || k > n ||
      !(o->perplexity > 0) || o->perplexity > (double)k || o->n_iter < 0 || !(o->theta >= 0))
    return LT_EVALUE;
  TtState s = {0};
  s.Y = Y;
  s.dim = dim;
  s.m = m;
  s.k = k;
  s.o = o;
  s.dof = o->dof > 0 ? o->dof : (dim > 1 ? dim - 1 : 1);
  int64_t *idx = malloc(sizeof *idx * (size_t)(m * k));
  float *P = malloc(sizeof *P * (size_t)(m * k));
  s.update = malloc(sizeof(float) * (size_t)(m * dim));
  s.gains = malloc(sizeof(float) * (size_t)(m * dim));
  LtStatus st = idx && P && s.update && s.gains ? LT_OK : LT_ENOMEM;
  if (st == LT_OK)
    st = lt_knn_exact(X, n, Q, m, d, k, 0, LT_METRIC_SQEUCLIDEAN, idx, P, prog);
  if (st == LT_OK) {
    /* In place: the squared distances become each row's conditional affinities. */
    lt_tsne_conditional(P, m, k, o->perplexity, P);
    s.idx = idx;
    s.P = P;
    st = lt_bhtree_init(&s.tree, n, dim);
  }
  if (st == LT_OK) {
    lt_bhtree_build(&s.tree, Y);
    st = start_layout(&s, Ynew);
  }
  if (st == LT_OK) st = descend(&s, Ynew, info, prog);
  if (st == LT_OK) st = mean_kl(&s, Ynew, &info->kl);
  lt_bhtree_free(&s.tree);
  free(idx);
  free(P);
  free(s.update);
  free(s.gains);
  return st;
}
