/* select_greedy.c - greedy selections: SAGE with diversity, k-center, herding, GLISTER. */
#include <math.h>
#include <string.h>
#include "interrupt.h"
#include "tensor/random.h"
#include "select/select_util.h"

/* Position of row in the ascending rows[0..m), or -1. */
static int64_t local_index(const int64_t *rows, int64_t m, int64_t row) {
  int64_t lo = 0, hi = m - 1;
  while (lo <= hi) {
    int64_t mid = lo + (hi - lo) / 2;
    if (rows[mid] == row) return mid;
    if (rows[mid] < row)
      lo = mid + 1;
    else
      hi = mid - 1;
  }
  return -1;
}

/* ---- SAGE with a diversity penalty ---------------------------------------- */

typedef struct {
  float *unit;  /* m x d: normalised rows */
  float *centf; /* d */
  double *cent; /* d */
  double *agree, *maxsim;
  int64_t *chosen;
  SelHeap heap;
} DiverseWork;

/* Carves the work for the largest group; run on a counting arena it sizes the scratch, so the
 * layout is written once. */
static int diverse_layout(SelArena *a, const LtGroups *g, int64_t d, DiverseWork *w) {
  size_t m = (size_t)sel_max_group(g);
  w->unit = sel_take(a, m * (size_t)d * sizeof(float));
  w->centf = sel_take(a, (size_t)d * sizeof(float));
  w->cent = sel_take(a, (size_t)d * sizeof(double));
  w->agree = sel_take(a, m * sizeof(double));
  w->maxsim = sel_take(a, m * sizeof(double));
  w->chosen = sel_take(a, m * sizeof(int64_t));
  w->heap.items = sel_take(a, m * sizeof(SelHeapItem));
  return w->unit && w->centf && w->cent && w->agree && w->maxsim && w->chosen && w->heap.items;
}

size_t lt_select_diverse_scratch(const LtGroups *g, int64_t d) {
  SelArena a;
  DiverseWork w;
  sel_arena_init(&a, NULL, 0);
  diverse_layout(&a, g, d, &w);
  return a.used;
}

/* Unit rows and their agreement with the mean unit row (the SAGE score). */
static void diverse_prepare(const float *X, int64_t m, int64_t d, DiverseWork *w) {
#pragma omp parallel for schedule(static) if (m * d >= LT_PAR_MIN)
  for (int64_t i = 0; i < m; i++) {
    double s = sqrt(sel_dot(X + i * d, X + i * d, d));
    float inv = (float)(1.0 / (s > 1e-12 ? s : 1e-12));
    for (int64_t j = 0; j < d; j++) w->unit[i * d + j] = X[i * d + j] * inv;
  }
  /* The centroid sums in double in row order: a fixed order, so the same on any thread count. */
  memset(w->cent, 0, sizeof(double) * (size_t)d);
  for (int64_t i = 0; i < m; i++)
    for (int64_t j = 0; j < d; j++) w->cent[j] += w->unit[i * d + j];
  for (int64_t j = 0; j < d; j++) w->centf[j] = (float)(w->cent[j] / (double)m);
  sel_matvec(w->unit, m, d, w->centf, w->agree);
}

/* Brings row i's max similarity up to date with chosen[seen..nchosen). */
static void diverse_refresh(DiverseWork *w, int64_t d, int64_t i, int64_t seen, int64_t nchosen) {
  for (int64_t t = seen; t < nchosen; t++) {
    double s = sel_dot(w->unit + i * d, w->unit + w->chosen[t] * d, d);
    if (s > w->maxsim[i]) w->maxsim[i] = s;
  }
}

/* Lazy greedy for one group. A key is a_i - lambda * maxsim_i as of the first `stamp` picks;
 * maxsim only grows, so a stale key is an upper bound, and a key that is current (stamp == t)
 * when it surfaces is the exact greedy choice. */
static LtStatus diverse_group(int64_t m, int64_t d, int64_t k, double lambda, DiverseWork *w,
                              const int64_t *rows, LtPick *out) {
  int64_t first = sel_argmax_masked(w->agree, NULL, m);
  w->chosen[0] = first;
  out[0] = (LtPick){rows[first], 0, w->agree[first], 1.0};
#pragma omp parallel for schedule(static) if (m * d >= LT_PAR_MIN)
  for (int64_t i = 0; i < m; i++) w->maxsim[i] = sel_dot(w->unit + i * d, w->unit + first * d, d);
  int64_t n = 0;
  /* stamp 1: maxsim already counts the first pick. */
  for (int64_t i = 0; i < m; i++)
    if (i != first) w->heap.items[n++] = (SelHeapItem){w->agree[i] - lambda * w->maxsim[i], i, 1};
  sel_heap_build(&w->heap, n);
  for (int64_t t = 1; t < k;) {
    if (lt_interrupt_pending()) return LT_EINTR;
    SelHeapItem top = sel_heap_pop(&w->heap);
    if (top.stamp == t) {
      w->chosen[t] = top.row;
      out[t] = (LtPick){rows[top.row], t, top.key, 1.0};
      t++;
      continue;
    }
    diverse_refresh(w, d, top.row, top.stamp, t);
    sel_heap_push(&w->heap,
                  (SelHeapItem){w->agree[top.row] - lambda * w->maxsim[top.row], top.row, t});
  }
  return LT_OK;
}

LtStatus lt_select_diverse(const float *G, int64_t n, int64_t d, const LtGroups *g,
                           const int64_t *k, double lambda, LtPick *out, void *scratch,
                           size_t bytes) {
  SelArena a;
  DiverseWork w;
  sel_arena_init(&a, scratch, bytes);
  if (!diverse_layout(&a, g, d, &w)) return LT_ENOMEM;
  for (int64_t c = 0; c < g->ngroups; c++) {
    int64_t m = sel_group_size(g, c);
    /* Gathering into w.unit, then normalising in place, saves a second m x d buffer. */
    const float *X = sel_gather(G, d, g, c, w.unit); /* normalised in place below */
    diverse_prepare(X, m, d, &w);
    LtStatus st = diverse_group(m, d, k[c], lambda, &w, g->order + g->start[c], out);
    if (st != LT_OK) return st;
    out += k[c];
  }
  return LT_OK;
}

/* ---- k-center greedy ------------------------------------------------------ */

typedef struct {
  float *block;
  double *mind;
  uint8_t *mask;
} CenterWork;

/* With one group X is used as it is: no block to gather into. */
static int center_layout(SelArena *a, const LtGroups *g, int64_t d, CenterWork *w) {
  size_t m = (size_t)sel_max_group(g);
  w->block = g->ngroups > 1 ? sel_take(a, m * (size_t)d * sizeof(float)) : NULL;
  w->mind = sel_take(a, m * sizeof(double));
  w->mask = sel_take(a, m);
  return (w->block || g->ngroups == 1) && w->mind && w->mask;
}

size_t lt_select_kcenter_scratch(const LtGroups *g, int64_t d) {
  SelArena a;
  CenterWork w;
  sel_arena_init(&a, NULL, 0);
  center_layout(&a, g, d, &w);
  return a.used;
}

/* k-center greedy for one group, starting from its row p. */
static LtStatus kcenter_group(const float *X, int64_t m, int64_t d, int64_t k, int64_t p,
                              CenterWork *w, const int64_t *rows, LtPick *out) {
  /* mind[i]: squared distance from row i to its nearest centre (the root is taken only for a
   * pick's score). The mask keeps a chosen row, or a duplicate of one (also at 0), from being
   * picked again. */
  for (int64_t i = 0; i < m; i++) w->mind[i] = INFINITY;
  memset(w->mask, 0, (size_t)m);
  for (int64_t t = 0; t < k; t++) {
    if (lt_interrupt_pending()) return LT_EINTR;
    if (t > 0) p = sel_argmax_masked(w->mind, w->mask, m);
    out[t] = (LtPick){rows[p], t, t == 0 ? INFINITY : sqrt(w->mind[p]), 1.0};
    w->mask[p] = 1;
    const float *c = X + p * d;
    SEL_FOR(i, m, m * d, double s = sel_sqdist(X + i * d, c, d);
            if (s < w->mind[i]) w->mind[i] = s;);
  }
  return LT_OK;
}

LtStatus lt_select_kcenter(const float *X, int64_t n, int64_t d, const LtGroups *g,
                           const int64_t *k, const int64_t *first, uint64_t seed, LtPick *out,
                           void *scratch, size_t bytes) {
  SelArena a;
  CenterWork w;
  LtRng rng;
  sel_arena_init(&a, scratch, bytes);
  if (!center_layout(&a, g, d, &w)) return LT_ENOMEM;
  lt_rng_seed(&rng, seed);
  for (int64_t c = 0; c < g->ngroups; c++) {
    int64_t m = sel_group_size(g, c);
    const int64_t *rows = g->order + g->start[c];
    /* first[c] is a row index; its position in the group by binary search (order is ascending
     * inside a group). The seed draws the starts in group order. */
    int64_t p = first && first[c] >= 0 ? local_index(rows, m, first[c])
                                       : (int64_t)lt_rng_below(&rng, (uint64_t)m);
    if (p < 0) return LT_EVALUE;
    LtStatus st = kcenter_group(sel_gather(X, d, g, c, w.block), m, d, k[c], p, &w, rows, out);
    if (st != LT_OK) return st;
    out += k[c];
  }
  return LT_OK;
}

/* ---- herding --------------------------------------------------------------- */

typedef struct {
  float *block, *w;
  double *mu, *sum, *gain, *sqn;
  uint8_t *mask;
} HerdWork;

static int herd_layout(SelArena *a, const LtGroups *g, int64_t d, HerdWork *w) {
  size_t m = (size_t)sel_max_group(g);
  w->block = g->ngroups > 1 ? sel_take(a, m * (size_t)d * sizeof(float)) : NULL;
  w->w = sel_take(a, (size_t)d * sizeof(float));
  w->mu = sel_take(a, (size_t)d * sizeof(double));
  w->sum = sel_take(a, (size_t)d * sizeof(double));
  w->gain = sel_take(a, m * sizeof(double));
  w->sqn = sel_take(a, m * sizeof(double));
  w->mask = sel_take(a, m);
  return (w->block || g->ngroups == 1) && w->w && w->mu && w->sum && w->gain && w->sqn && w->mask;
}

size_t lt_select_herding_scratch(const LtGroups *g, int64_t d) {
  SelArena a;
  HerdWork w;
  sel_arena_init(&a, NULL, 0);
  herd_layout(&a, g, d, &w);
  return a.used;
}

/* ||mu - (sum + x) / t||^2 = what the pick of x leaves between the means. */
static double herd_gap(const HerdWork *w, const float *x, int64_t d, double t) {
  double s = 0;
  for (int64_t j = 0; j < d; j++) {
    double e = w->mu[j] - (w->sum[j] + x[j]) / t;
    s += e * e;
  }
  return s;
}

/* Greedy herding for one group (DeepCore's Herding): each pick keeps the mean of the picks
 * closest to mu. mu sums in double in row order. */
static LtStatus herding_group(const float *X, int64_t m, int64_t d, int64_t k, HerdWork *w,
                              const int64_t *rows, LtPick *out) {
  memset(w->mu, 0, sizeof(double) * (size_t)d);
  memset(w->sum, 0, sizeof(double) * (size_t)d);
  memset(w->mask, 0, (size_t)m);
  for (int64_t i = 0; i < m; i++)
    for (int64_t j = 0; j < d; j++) w->mu[j] += X[i * d + j];
  for (int64_t j = 0; j < d; j++) w->mu[j] /= (double)m;
#pragma omp parallel for schedule(static) if (m * d >= LT_PAR_MIN)
  for (int64_t i = 0; i < m; i++) w->sqn[i] = sel_dot(X + i * d, X + i * d, d);
  for (int64_t t = 0; t < k; t++) {
    if (lt_interrupt_pending()) return LT_EINTR;
    /* argmin_j ||(t+1) mu - sum - x_j||^2 = argmax_j 2 <x_j, (t+1) mu - sum> - ||x_j||^2; the
     * target rounds to float for the float matvec, and the gains compare in double. */
    for (int64_t j = 0; j < d; j++) w->w[j] = (float)((double)(t + 1) * w->mu[j] - w->sum[j]);
    sel_matvec(X, m, d, w->w, w->gain);
    for (int64_t i = 0; i < m; i++) w->gain[i] = 2 * w->gain[i] - w->sqn[i];
    int64_t p = sel_argmax_masked(w->gain, w->mask, m);
    out[t] = (LtPick){rows[p], t, -sqrt(herd_gap(w, X + p * d, d, (double)(t + 1))), 1.0};
    w->mask[p] = 1;
    for (int64_t j = 0; j < d; j++) w->sum[j] += X[p * d + j];
  }
  return LT_OK;
}

LtStatus lt_select_herding(const float *X, int64_t n, int64_t d, const LtGroups *g,
                           const int64_t *k, LtPick *out, void *scratch, size_t bytes) {
  SelArena a;
  HerdWork w;
  sel_arena_init(&a, scratch, bytes);
  if (!herd_layout(&a, g, d, &w)) return LT_ENOMEM;
  for (int64_t c = 0; c < g->ngroups; c++) {
    LtStatus st = herding_group(sel_gather(X, d, g, c, w.block), sel_group_size(g, c), d, k[c], &w,
                                g->order + g->start[c], out);
    if (st != LT_OK) return st;
    out += k[c];
  }
  return LT_OK;
}

/* ---- GLISTER ----------------------------------------------------------------- */

typedef struct {
  float *block;
  double *base, *acc, *dots, *gain;
  uint8_t *mask;
} GlisterWork;

static int glister_layout(SelArena *a, const LtGroups *g, int64_t d, GlisterWork *w) {
  size_t m = (size_t)sel_max_group(g);
  w->block = g->ngroups > 1 ? sel_take(a, m * (size_t)d * sizeof(float)) : NULL;
  w->base = sel_take(a, m * sizeof(double));
  w->acc = sel_take(a, m * sizeof(double));
  w->dots = sel_take(a, m * sizeof(double));
  w->gain = sel_take(a, m * sizeof(double));
  w->mask = sel_take(a, m);
  return (w->block || g->ngroups == 1) && w->base && w->acc && w->dots && w->gain && w->mask;
}

size_t lt_select_glister_scratch(const LtGroups *g, int64_t d) {
  SelArena a;
  GlisterWork w;
  sel_arena_init(&a, NULL, 0);
  glister_layout(&a, g, d, &w);
  return a.used;
}

/* GLISTER's greedy with a fixed validation gradient: base_i = <g_i, v> once, and acc_i = sum
 * over the picks j of <g_i, g_j>, one matvec per pick; no gradient is ever formed. */
static LtStatus glister_group(const float *X, int64_t m, int64_t d, int64_t k, const float *val,
                              double eta, GlisterWork *w, const int64_t *rows, LtPick *out) {
  sel_matvec(X, m, d, val, w->base);
  memset(w->acc, 0, sizeof(double) * (size_t)m);
  memset(w->mask, 0, (size_t)m);
  for (int64_t t = 0; t < k; t++) {
    if (lt_interrupt_pending()) return LT_EINTR;
    /* <g_i, v - eta * mean(chosen)> = base_i - eta * acc_i / t */
    for (int64_t i = 0; i < m; i++)
      w->gain[i] = t == 0 ? w->base[i] : w->base[i] - eta * w->acc[i] / (double)t;
    int64_t p = sel_argmax_masked(w->gain, w->mask, m);
    out[t] = (LtPick){rows[p], t, w->gain[p], 1.0};
    w->mask[p] = 1;
    sel_matvec(X, m, d, X + p * d, w->dots);
    for (int64_t i = 0; i < m; i++) w->acc[i] += w->dots[i];
  }
  return LT_OK;
}

LtStatus lt_select_glister(const float *G, int64_t n, int64_t d, const LtGroups *g,
                           const int64_t *k, const float *val, int val_per_group, double eta,
                           LtPick *out, void *scratch, size_t bytes) {
  SelArena a;
  GlisterWork w;
  sel_arena_init(&a, scratch, bytes);
  if (!glister_layout(&a, g, d, &w)) return LT_ENOMEM;
  for (int64_t c = 0; c < g->ngroups; c++) {
    const float *v = val + (val_per_group ? c * d : 0);
    LtStatus st = glister_group(sel_gather(G, d, g, c, w.block), sel_group_size(g, c), d, k[c], v,
                                eta, &w, g->order + g->start[c], out);
    if (st != LT_OK) return st;
    out += k[c];
  }
  return LT_OK;
}

/* ---- GLISTER with the last-layer update --------------------------------------- */

typedef struct {
  float *block, *vf;
  double *gain, *shift, *vd, *p;
  int64_t *vrows;
  uint8_t *mask;
} GlisterValWork;

static int glister_val_layout(SelArena *a, const LtGroups *g, const LtGlisterVal *v,
                              GlisterValWork *w) {
  size_t m = (size_t)sel_max_group(g), d = (size_t)(v->nc * v->f + v->nc), nv = (size_t)v->nv;
  w->block = g->ngroups > 1 ? sel_take(a, m * d * sizeof(float)) : NULL;
  w->vf = sel_take(a, d * sizeof(float));
  w->gain = sel_take(a, m * sizeof(double));
  w->shift = sel_take(a, nv * (size_t)v->nc * sizeof(double));
  w->vd = sel_take(a, d * sizeof(double));
  w->p = sel_take(a, (size_t)v->nc * sizeof(double));
  w->vrows = sel_take(a, nv * sizeof(int64_t));
  w->mask = sel_take(a, m);
  return (w->block || g->ngroups == 1) && w->vf && w->gain && w->shift && w->vd && w->p &&
         w->vrows && w->mask;
}

size_t lt_select_glister_val_scratch(const LtGroups *g, const LtGlisterVal *v) {
  SelArena a;
  GlisterValWork w;
  sel_arena_init(&a, NULL, 0);
  glister_val_layout(&a, g, v, &w);
  return a.used;
}

/* The validation rows group c is scored against (per_group: those of class c; else all), into
 * rows; their count. */
static int64_t glister_val_rows(const LtGlisterVal *v, int64_t c, int64_t *rows) {
  int64_t nr = 0;
  for (int64_t r = 0; r < v->nv; r++)
    if (!v->per_group || v->y[r] == c) rows[nr++] = r;
  return nr;
}

/* vd = mean over the rows of (softmax(z_r - step * shift_r) - onehot(y_r)) x [h_r, 1]
 * (weight part [nc x f], then bias [nc]); vf = vd in float32 for the pass over G. */
static void glister_val_grad(const LtGlisterVal *v, const int64_t *rows, int64_t nr, double step,
                             GlisterValWork *w) {
  int64_t nc = v->nc, f = v->f, d = nc * f + nc;
  memset(w->vd, 0, sizeof(double) * (size_t)d);
  for (int64_t i = 0; i < nr; i++) {
    int64_t r = rows[i];
    const double *z = v->Z + r * nc, *s = w->shift + r * nc, *h = v->H + r * f;
    /* Max-shifted softmax of the moved logits, as every softmax here. */
    double mx = -INFINITY, sum = 0;
    for (int64_t j = 0; j < nc; j++) {
      w->p[j] = z[j] - step * s[j];
      if (w->p[j] > mx) mx = w->p[j];
    }
    for (int64_t j = 0; j < nc; j++) {
      w->p[j] = exp(w->p[j] - mx);
      sum += w->p[j];
    }
    for (int64_t j = 0; j < nc; j++) {
      double e = w->p[j] / sum - (j == v->y[r] ? 1.0 : 0.0);
      for (int64_t q = 0; q < f; q++) w->vd[j * f + q] += e * h[q];
      w->vd[nc * f + j] += e;
    }
  }
  /* Summed in double over the rows; a float copy for the float matvec over G. */
  for (int64_t q = 0; q < d; q++) w->vf[q] = (float)(w->vd[q] / (double)nr);
}

/* shift_r += W_p h_r + b_p for the picked gradient gp (weight [nc x f], bias [nc]): the shift
 * grows by one pick at a time, O(nv d) per pick instead of recomputing the logits from the sum
 * of the picks. */
static void glister_val_shift(const LtGlisterVal *v, const int64_t *rows, int64_t nr,
                              const float *gp, double *shift) {
  int64_t nc = v->nc, f = v->f;
  for (int64_t i = 0; i < nr; i++) {
    const double *h = v->H + rows[i] * f;
    double *s = shift + rows[i] * nc;
    for (int64_t j = 0; j < nc; j++) {
      double acc = gp[nc * f + j];
      for (int64_t q = 0; q < f; q++) acc += (double)gp[j * f + q] * h[q];
      s[j] += acc;
    }
  }
}

/* One group of GLISTER with the last-layer update: the validation gradient at the moved logits,
 * the pick of largest gain, then the logits move by that pick's W h + b. step = eta for the sum
 * of the picks, eta / t for their mean. */
static LtStatus glister_val_group(const float *X, int64_t m, int64_t k, const LtGlisterVal *v,
                                  int64_t c, double eta, GlisterValWork *w, const int64_t *rows,
                                  LtPick *out) {
  int64_t d = v->nc * v->f + v->nc, nr = glister_val_rows(v, c, w->vrows);
  if (nr == 0) return LT_EVALUE;
  memset(w->shift, 0, sizeof(double) * (size_t)(v->nv * v->nc));
  memset(w->mask, 0, (size_t)m);
  for (int64_t t = 0; t < k; t++) {
    if (lt_interrupt_pending()) return LT_EINTR;
    double step = t == 0 ? 0 : v->mean_update ? eta / (double)t : eta;
    glister_val_grad(v, w->vrows, nr, step, w);
    sel_matvec(X, m, d, w->vf, w->gain);
    int64_t p = sel_argmax_masked(w->gain, w->mask, m);
    out[t] = (LtPick){rows[p], t, w->gain[p], 1.0};
    w->mask[p] = 1;
    glister_val_shift(v, w->vrows, nr, X + p * d, w->shift);
  }
  return LT_OK;
}

LtStatus lt_select_glister_val(const float *G, int64_t n, const LtGroups *g, const int64_t *k,
                               const LtGlisterVal *v, double eta, LtPick *out, void *scratch,
                               size_t bytes) {
  SelArena a;
  GlisterValWork w;
  sel_arena_init(&a, scratch, bytes);
  if (!glister_val_layout(&a, g, v, &w)) return LT_ENOMEM;
  int64_t d = v->nc * v->f + v->nc;
  for (int64_t c = 0; c < g->ngroups; c++) {
    LtStatus st = glister_val_group(sel_gather(G, d, g, c, w.block), sel_group_size(g, c), k[c], v,
                                    c, eta, &w, g->order + g->start[c], out);
    if (st != LT_OK) return st;
    out += k[c];
  }
  return LT_OK;
}
