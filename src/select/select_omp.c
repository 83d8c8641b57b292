/* select_omp.c - GradMatch: matching pursuit, ridge NNLS on an updated Cholesky factor. */
#include <math.h>
#include <string.h>
#include "interrupt.h"
#include "tensor/random.h"
#include "select/select_util.h"

/* H and R are k x k doubles: 8192 caps each at 512 MB. */
#define OMP_MAX_K 8192

/* The NNLS of one group: slots 0..ns-1 are the chosen rows; P lists the
 * slots whose weight is free (positive), and R is the upper Cholesky factor
 * of H[P, P] in that order. H = A_S A_S^T + lam I, c = A_S b. */
typedef struct {
  int64_t ld, ns, np;
  double *H, *R, *c, *x, *z, *y;
  int64_t *P;
  uint8_t *inP;
} Nnls;

typedef struct {
  float *block, *sel, *rf;
  double *b, *resid, *corr;
  uint8_t *mask;
  int64_t *slot_row, *pool;
  Nnls q;
} OmpWork;

/* Carves the work for the largest group and the largest k; a counting arena sizes the scratch. */
static int omp_layout(SelArena *a, const LtGroups *g, int64_t kmax, int64_t d, OmpWork *w) {
  size_t m = (size_t)sel_max_group(g), k = (size_t)kmax;
  w->block = g->ngroups > 1 ? sel_take(a, m * (size_t)d * sizeof(float)) : NULL;
  w->sel = sel_take(a, k * (size_t)d * sizeof(float));
  w->rf = sel_take(a, (size_t)d * sizeof(float));
  w->b = sel_take(a, (size_t)d * sizeof(double));
  w->resid = sel_take(a, (size_t)d * sizeof(double));
  w->corr = sel_take(a, m * sizeof(double));
  w->mask = sel_take(a, m);
  w->slot_row = sel_take(a, k * sizeof(int64_t));
  w->pool = sel_take(a, m * sizeof(int64_t));
  w->q.ld = kmax;
  w->q.H = sel_take(a, k * k * sizeof(double));
  w->q.R = sel_take(a, k * k * sizeof(double));
  w->q.c = sel_take(a, k * sizeof(double));
  w->q.x = sel_take(a, k * sizeof(double));
  w->q.z = sel_take(a, k * sizeof(double));
  w->q.y = sel_take(a, k * sizeof(double));
  w->q.P = sel_take(a, k * sizeof(int64_t));
  w->q.inP = sel_take(a, k);
  return !a->failed && a->base;
}

/* At least 1, so the layout always has room for one slot. */
static int64_t max_k(const LtGroups *g, const int64_t *k) {
  int64_t m = 1;
  for (int64_t c = 0; c < g->ngroups; c++)
    if (k[c] > m) m = k[c];
  return m;
}

size_t lt_select_gradmatch_scratch(const LtGroups *g, const int64_t *k, int64_t d) {
  SelArena a;
  OmpWork w;
  sel_arena_init(&a, NULL, 0);
  omp_layout(&a, g, max_k(g, k), d, &w);
  return a.used;
}

/* ---- the Cholesky factor of H[P, P] ---------------------------------------- */

#define RR(q, i, j) ((q)->R[(i) * (q)->ld + (j)])
#define HH(q, i, j) ((q)->H[(i) * (q)->ld + (j)])

/* Appends slot s to P: R gains the column R^-T H[P, s] and the diagonal. */
static void chol_append(Nnls *q, int64_t s) {
  int64_t n = q->np;
  double rr = 0;
  for (int64_t i = 0; i < n; i++) {
    double v = HH(q, q->P[i], s);
    for (int64_t l = 0; l < i; l++) v -= RR(q, l, i) * RR(q, l, n);
    RR(q, i, n) = v / RR(q, i, i);
    rr += RR(q, i, n) * RR(q, i, n);
  }
  double piv = HH(q, s, s) - rr;
  /* A row (nearly) in the span of P leaves a zero or negative pivot: the floor keeps R
   * invertible at the price of a tiny extra ridge on that slot. */
  RR(q, n, n) = sqrt(piv > 1e-12 * HH(q, s, s) ? piv : 1e-12 * HH(q, s, s));
  /* Row n below the diagonal may hold entries of a deleted column: cleared. */
  for (int64_t l = 0; l < n; l++) RR(q, n, l) = 0;
  q->P[n] = s;
  q->inP[s] = 1;
  q->np = n + 1;
}

/* Removes position pos of P: drop the column, restore the triangle by Givens. */
static void chol_delete(Nnls *q, int64_t pos) {
  int64_t n = q->np;
  q->inP[q->P[pos]] = 0;
  for (int64_t j = pos; j < n - 1; j++) {
    q->P[j] = q->P[j + 1];
    for (int64_t i = 0; i < n; i++) RR(q, i, j) = RR(q, i, j + 1);
  }
  /* Dropping a column leaves R upper Hessenberg from pos on; one Givens rotation per column
   * restores the triangle (the standard Cholesky downdate by column deletion). */
  for (int64_t j = pos; j < n - 1; j++) {
    double a = RR(q, j, j), b = RR(q, j + 1, j), r = hypot(a, b);
    double cs = r > 0 ? a / r : 1, sn = r > 0 ? b / r : 0;
    for (int64_t l = j; l < n - 1; l++) {
      double t1 = RR(q, j, l), t2 = RR(q, j + 1, l);
      RR(q, j, l) = cs * t1 + sn * t2;
      RR(q, j + 1, l) = -sn * t1 + cs * t2;
    }
  }
  q->np = n - 1;
}

/* z[P] = H[P, P]^-1 c[P] through R^T y = c, R z = y. */
static void chol_solve(Nnls *q) {
  int64_t n = q->np;
  for (int64_t i = 0; i < n; i++) {
    double v = q->c[q->P[i]];
    for (int64_t l = 0; l < i; l++) v -= RR(q, l, i) * q->y[l];
    q->y[i] = v / RR(q, i, i);
  }
  for (int64_t i = n - 1; i >= 0; i--) {
    double v = q->y[i];
    for (int64_t l = i + 1; l < n; l++) v -= RR(q, i, l) * q->z[q->P[l]];
    q->z[q->P[i]] = v / RR(q, i, i);
  }
}

/* ---- Lawson-Hanson, warm-started from the previous step's passive set ---- */

/* Moves x toward z until the first passive weight hits zero, drops it
 * (and any other at zero); returns 0 when z was already feasible. */
static int nnls_step_back(Nnls *q) {
  double alpha = 1;
  int any = 0;
  for (int64_t i = 0; i < q->np; i++) {
    int64_t s = q->P[i];
    if (q->z[s] <= 0) {
      any = 1;
      /* The fraction of the way from x to z at which weight s reaches 0. */
      double t = q->x[s] / (q->x[s] - q->z[s]);
      if (t < alpha) alpha = t;
    }
  }
  if (!any) return 0;
  for (int64_t i = 0; i < q->np; i++) {
    int64_t s = q->P[i];
    q->x[s] += alpha * (q->z[s] - q->x[s]);
  }
  for (int64_t i = q->np - 1; i >= 0; i--)
    /* Weights that rounding leaves a hair above 0 leave P too. */
    if (q->x[q->P[i]] <= 1e-15 * (1 + fabs(q->c[q->P[i]]))) {
      q->x[q->P[i]] = 0;
      chol_delete(q, i);
    }
  return 1;
}

/* Lawson and Hanson's active-set NNLS (1974) on the normal equations H x = c, warm-started: x
 * and P carry over from the previous OMP step, so a step usually adds one variable. w = c - H x
 * is the negative gradient; the most positive w enters P. The iteration caps stop a cycle that
 * rounding could cause (exact arithmetic terminates). */
static void nnls_solve(Nnls *q) {
  double cmax = 0;
  for (int64_t s = 0; s < q->ns; s++)
    if (fabs(q->c[s]) > cmax) cmax = fabs(q->c[s]);
  double tol = 1e-10 * (cmax > 0 ? cmax : 1);
  for (int64_t iter = 0; iter < 3 * q->ns + 10; iter++) {
    int64_t best = -1;
    double bw = tol;
    for (int64_t s = 0; s < q->ns; s++) {
      if (q->inP[s]) continue;
      double wv = q->c[s];
      for (int64_t t = 0; t < q->ns; t++) wv -= HH(q, s, t) * q->x[t];
      if (wv > bw) {
        bw = wv;
        best = s;
      }
    }
    if (best < 0) return;
    chol_append(q, best);
    for (int64_t inner = 0; inner < q->ns + 2; inner++) {
      chol_solve(q);
      if (!nnls_step_back(q)) break;
    }
    for (int64_t i = 0; i < q->np; i++) q->x[q->P[i]] = q->z[q->P[i]] > 0 ? q->z[q->P[i]] : 0;
  }
}

/* ---- matching pursuit ---------------------------------------------------------- */

/* Adds local row p as the next slot: its H row and column, and c. */
static void omp_add(OmpWork *w, const float *A, int64_t d, int64_t p, double lam) {
  Nnls *q = &w->q;
  int64_t s = q->ns++;
  float *row = w->sel + s * d;
  memcpy(row, A + p * d, (size_t)d * sizeof(float));
  w->slot_row[s] = p;
  w->mask[p] = 1;
  /* H is symmetric: row and column are filled together. lam on the diagonal is the ridge and
   * keeps H positive definite. */
  for (int64_t t = 0; t <= s; t++) HH(q, s, t) = HH(q, t, s) = sel_dot(row, w->sel + t * d, d);
  HH(q, s, s) += lam;
  double cb = 0;
  for (int64_t j = 0; j < d; j++) cb += row[j] * w->b[j];
  q->c[s] = cb;
  q->x[s] = 0;
  q->inP[s] = 0;
}

/* resid = b - sum_s x_s a_s; returns its norm. */
static double omp_residual(OmpWork *w, int64_t d) {
  /* The residual in double; rf is its float copy for the float matvec of the next correlation
   * step. */
  memcpy(w->resid, w->b, sizeof(double) * (size_t)d);
  for (int64_t s = 0; s < w->q.ns; s++) {
    double xs = w->q.x[s];
    if (xs == 0) continue;
    for (int64_t j = 0; j < d; j++) w->resid[j] -= xs * w->sel[s * d + j];
  }
  double r = 0;
  for (int64_t j = 0; j < d; j++) {
    r += w->resid[j] * w->resid[j];
    w->rf[j] = (float)w->resid[j];
  }
  return sqrt(r);
}

/* Keeps the picks whose weight is positive, in pick order, and returns how
 * many. A pick whose weight the NNLS set to zero is not in the subset, as
 * CORDS keeps only the nonzero entries of OMP's solution: it would take a
 * place in the budget without being trained on. Its row may be drawn again
 * by omp_fill. */
static int64_t omp_keep_positive(OmpWork *w, LtPick *out) {
  int64_t kept = 0;
  for (int64_t s = 0; s < w->q.ns; s++) {
    if (!(w->q.x[s] > 0)) {
      w->mask[w->slot_row[s]] = 0;
      continue;
    }
    out[kept] = out[s];
    out[kept].rank = kept;
    out[kept].weight = w->q.x[s];
    kept++;
  }
  return kept;
}

/* Picks from 'from' to k, drawn uniformly from the rows not chosen. */
static void omp_fill(OmpWork *w, int64_t m, int64_t from, int64_t k, LtRng *rng,
                     const int64_t *rows, LtPick *out) {
  int64_t np = 0;
  for (int64_t i = 0; i < m; i++)
    if (!w->mask[i]) w->pool[np++] = i;
  /* A partial Fisher-Yates shuffle of the pool: k - from distinct rows, uniformly. */
  for (int64_t t = from, i = 0; t < k; t++, i++) {
    int64_t j = i + (int64_t)lt_rng_below(rng, (uint64_t)(np - i));
    int64_t v = w->pool[j];
    w->pool[j] = w->pool[i];
    w->pool[i] = v;
    out[t] = (LtPick){rows[v], t, 0.0, 1.0};
  }
}

/* OMP for one group: take the row most correlated with the residual, re-solve the NNLS over the
 * picks, until k picks, the tolerance, or no positive correlation; then drop zero weights and
 * fill at random. */
static LtStatus omp_group(OmpWork *w, const float *A, int64_t m, int64_t d, int64_t k,
                          const float *target, double lam, double tol, LtRng *rng,
                          const int64_t *rows, LtPick *out) {
  double msq = 0, bn = 0;
  memset(w->b, 0, sizeof(double) * (size_t)d);
  memset(w->mask, 0, (size_t)m);
  for (int64_t i = 0; i < m; i++) {
    msq += sel_dot(A + i * d, A + i * d, d);
    if (!target)
      for (int64_t j = 0; j < d; j++) w->b[j] += A[i * d + j];
  }
  if (target)
    for (int64_t j = 0; j < d; j++) w->b[j] = target[j];
  for (int64_t j = 0; j < d; j++) bn += w->b[j] * w->b[j];
  bn = sqrt(bn);
  /* lam scales with the mean squared row norm; the 1e-12 term keeps H definite at lam = 0 (and
   * 1e-300 keeps it positive for an all-zero group). */
  lam = lam * msq / (double)m + 1e-12 * (msq / (double)m + 1e-300);
  w->q.ns = w->q.np = 0;
  double rn = omp_residual(w, d);
  while (w->q.ns < k && rn > tol * bn) {
    if (lt_interrupt_pending()) return LT_EINTR;
    sel_matvec(A, m, d, w->rf, w->corr);
    int64_t p = sel_argmax_masked(w->corr, w->mask, m);
    if (p < 0 || !(w->corr[p] > 0)) break;
    out[w->q.ns] = (LtPick){rows[p], w->q.ns, w->corr[p], 0.0};
    omp_add(w, A, d, p, lam);
    nnls_solve(&w->q);
    rn = omp_residual(w, d);
  }
  omp_fill(w, m, omp_keep_positive(w, out), k, rng, rows, out);
  return LT_OK;
}

LtStatus lt_select_gradmatch(const float *G, int64_t n, int64_t d, const LtGroups *g,
                             const int64_t *k, const float *target, double lam, double tol,
                             uint64_t seed, LtPick *out, void *scratch, size_t bytes) {
  SelArena a;
  OmpWork w;
  LtRng rng;
  /* Refused before carving: k x k matrices past OMP_MAX_K would be too large to allocate. */
  if (max_k(g, k) > OMP_MAX_K) return LT_ERANGE;
  sel_arena_init(&a, scratch, bytes);
  if (!omp_layout(&a, g, max_k(g, k), d, &w)) return LT_ENOMEM;
  lt_rng_seed(&rng, seed);
  for (int64_t c = 0; c < g->ngroups; c++) {
    const int64_t *rows = g->order + g->start[c];
    LtStatus st = omp_group(&w, sel_gather(G, d, g, c, w.block), sel_group_size(g, c), d, k[c],
                            g->ngroups == 1 ? target : NULL, lam, tol, &rng, rows, out);
    if (st != LT_OK) return st;
    out += k[c];
  }
  return LT_OK;
}
