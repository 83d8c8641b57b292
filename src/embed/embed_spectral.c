/* embed_spectral.c - graph components; restarted Lanczos for normalised-Laplacian eigenvectors. */
/* Its LAPACKE_ calls go through src/lazy.h: LAPACKE is loaded on first use. */
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "embed/embed_spectral.h"
#include "interrupt.h"

#define LZ_MAX    128 /* Lanczos vectors per cycle */
#define LZ_CYCLES 12
#define LZ_TOL    1e-5 /* Ritz residual; umap-learn asks ARPACK for 1e-4 */
#define LZ_BLOCK  2048 /* rows per partial sum: sums run in this fixed blocking */

int64_t lt_graph_components(const LtCsr *G, int32_t *label) {
  int64_t n = G->n, count = 0;
  /* Depth-first search with an explicit stack: a vertex is pushed once, when it is labelled, so n
   * entries suffice. Without a stack the loop still ends (each vertex labels only itself) and -1
   * reports the failure. */
  int32_t *stack = malloc(sizeof *stack * (size_t)(n + 1));
  for (int64_t i = 0; i < n; i++) label[i] = -1;
  for (int64_t s = 0; s < n; s++) {
    if (label[s] >= 0) continue;
    int64_t sp = 0;
    label[s] = (int32_t)count;
    if (stack) stack[sp++] = (int32_t)s;
    while (sp > 0) {
      int32_t v = stack[--sp];
      for (int64_t e = G->indptr[v]; e < G->indptr[v + 1]; e++) {
        int32_t u = G->indices[e];
        if (label[u] < 0) {
          label[u] = (int32_t)count;
          stack[sp++] = u;
        }
      }
    }
    count++;
  }
  free(stack);
  return stack ? count : -1;
}

/* The Lanczos state: the operator M = D^-1/2 G D^-1/2, the trivial
 * eigenvector u0 it is kept orthogonal to, and the basis V [n x LZ_MAX]
 * (row i holds component i of every basis vector). */
typedef struct {
  const LtCsr *G;
  int64_t n, nb;
  /* w: the vector being orthogonalised; part: block partial sums (nb x LZ_MAX); alpha, beta: the
   * tridiagonal. */
  double *dinv, *u0, *V, *w, *part, *alpha, *beta;
} Lanczos;

/* y = M x, one row per iteration: each y[i] is summed by one thread in a fixed order. */
static void op_apply(const Lanczos *z, const double *x, double *y) {
  const LtCsr *G = z->G;
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < z->n; i++) {
    double s = 0;
    for (int64_t e = G->indptr[i]; e < G->indptr[i + 1]; e++)
      s += G->data[e] * z->dinv[G->indices[e]] * x[G->indices[e]];
    y[i] = z->dinv[i] * s;
  }
}

/* a . b summed per fixed block of rows, blocks added in order. */
static double dot_fixed(const Lanczos *z, const double *a, const double *b) {
#pragma omp parallel for schedule(static)
  for (int64_t k = 0; k < z->nb; k++) {
    double s = 0;
    for (int64_t i = k * LZ_BLOCK; i < z->n && i < (k + 1) * LZ_BLOCK; i++) s += a[i] * b[i];
    z->part[k] = s;
  }
  double s = 0;
  for (int64_t k = 0; k < z->nb; k++) s += z->part[k];
  return s;
}

/* w -= V[:, 0..m) (V[:, 0..m)^T w), by fixed row blocks. */
/* Classical Gram-Schmidt against the whole basis (full reorthogonalisation): the coefficients are
 * computed from w before any is subtracted. */
static void orth_basis(Lanczos *z, int m, double *c) {
#pragma omp parallel for schedule(static)
  for (int64_t k = 0; k < z->nb; k++) {
    double *p = z->part + k * LZ_MAX;
    for (int l = 0; l < m; l++) p[l] = 0;
    for (int64_t i = k * LZ_BLOCK; i < z->n && i < (k + 1) * LZ_BLOCK; i++)
      for (int l = 0; l < m; l++) p[l] += z->V[i * LZ_MAX + l] * z->w[i];
  }
  for (int l = 0; l < m; l++) {
    c[l] = 0;
    for (int64_t k = 0; k < z->nb; k++) c[l] += z->part[k * LZ_MAX + l];
  }
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < z->n; i++) {
    double s = 0;
    for (int l = 0; l < m; l++) s += z->V[i * LZ_MAX + l] * c[l];
    z->w[i] -= s;
  }
}

/* Removes the trivial eigenvector (eigenvalue 1 of M, 0 of the Laplacian), which umap-learn's
 * layout drops. */
static void orth_u0(Lanczos *z, double *v) {
  double c = dot_fixed(z, z->u0, v);
  for (int64_t i = 0; i < z->n; i++) v[i] -= c * z->u0[i];
}

/* Eigen-decomposition of the k x k tridiagonal (alpha, beta); Zt [k x k]
 * row-major, eigenvalues ascending in d. */
static LtStatus tridiag_eigen(const Lanczos *z, int k, double *d, double *Zt) {
  double e[LZ_MAX];
  for (int i = 0; i < k; i++) d[i] = z->alpha[i];
  for (int i = 0; i + 1 < k; i++) e[i] = z->beta[i];
  return LAPACKE_dstev(LAPACK_ROW_MAJOR, 'V', k, d, e, Zt, k) == 0 ? LT_OK : LT_ELAPACK;
}

/* One cycle from the unit start vector v (orthogonal to u0): up to
 * LZ_MAX steps; leaves the Ritz vectors of the dim largest eigenvalues in
 * out [n x dim] and returns whether their residuals are below LZ_TOL. */
static LtStatus lanczos_cycle(Lanczos *z, double *v, int dim, double *out, int *converged) {
  int64_t n = z->n;
  /* At most n - 1 steps: the Krylov space orthogonal to u0 has dimension n - 1. */
  int mmax = n - 1 < LZ_MAX ? (int)(n - 1) : LZ_MAX, m = 0;
  double c[LZ_MAX], d[LZ_MAX], *Zt = malloc(sizeof *Zt * LZ_MAX * LZ_MAX);
  if (!Zt) return LT_ENOMEM;
  LtStatus st = LT_OK;
  *converged = 0;
  for (int j = 0; j < mmax && st == LT_OK; j++) {
    for (int64_t i = 0; i < n; i++) z->V[i * LZ_MAX + j] = v[i];
    /* The three-term recurrence alone loses orthogonality once Ritz values converge (Paige), and a
     * graph's low eigenvalues cluster: w is orthogonalised against every basis vector instead. */
    op_apply(z, v, z->w);
    orth_u0(z, z->w);
    z->alpha[j] = dot_fixed(z, v, z->w);
    double before = sqrt(dot_fixed(z, z->w, z->w));
    orth_basis(z, j + 1, c);
    z->beta[j] = sqrt(dot_fixed(z, z->w, z->w));
    if (z->beta[j] <
        0.7071 * before) { /* cancellation: orthogonalise again (Daniel-Gragg-Kaufman-Stewart) */
      orth_basis(z, j + 1, c);
      z->beta[j] = sqrt(dot_fixed(z, z->w, z->w));
    }
    m = j + 1;
    /* Convergence is tested every 8 steps once the basis can hold dim + 2 vectors, each test being
     * a small tridiagonal eigensolve. A breakdown (beta ~ 0) means the Krylov space is invariant:
     * the Ritz pairs are then exact. */
    int last = m == mmax || z->beta[j] < 1e-10;
    if (last || (m >= dim + 2 && m % 8 == 0)) {
      st = tridiag_eigen(z, m, d, Zt);
      int ok = st == LT_OK && m >= dim;
      for (int r = 0; ok && r < dim; r++)
        /* The residual of Ritz pair r is |beta_m * (last component of its eigenvector)|. */
        ok = fabs(z->beta[j] * Zt[(m - 1) * m + (m - 1 - r)]) < LZ_TOL;
      if (ok || last) {
        *converged = ok || z->beta[j] < 1e-10;
        break;
      }
    }
    if (lt_interrupt_pending()) st = LT_EINTR;
    for (int64_t i = 0; i < n; i++) v[i] = z->w[i] / z->beta[j];
  }
  /* Ritz vectors V y of the dim largest eigenvalues of M (the smallest nontrivial ones of the
   * Laplacian). */
  for (int r = 0; st == LT_OK && r < dim; r++) {
    int col = m - 1 - r;
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < n; i++) {
      double s = 0;
      for (int l = 0; l < m; l++) s += z->V[i * LZ_MAX + l] * Zt[l * m + col];
      out[i * dim + r] = s;
    }
  }
  free(Zt);
  return st;
}

static void lanczos_free(Lanczos *z) {
  free(z->dinv);
  free(z->u0);
  free(z->V);
  free(z->w);
  free(z->part);
  free(z->alpha);
  free(z->beta);
}

/* Allocates the state and forms D^-1/2 and u0 = D^1/2 1 / |D^1/2 1|. LT_EVALUE for a vertex of
 * zero degree (D^-1/2 undefined); on failure lanczos_free releases what was allocated. */
static LtStatus lanczos_init(Lanczos *z, const LtCsr *G) {
  int64_t n = G->n;
  memset(z, 0, sizeof *z);
  z->G = G;
  z->n = n;
  z->nb = (n + LZ_BLOCK - 1) / LZ_BLOCK;
  z->dinv = malloc(sizeof(double) * (size_t)n);
  z->u0 = malloc(sizeof(double) * (size_t)n);
  z->V = malloc(sizeof(double) * (size_t)n * LZ_MAX);
  z->w = malloc(sizeof(double) * (size_t)n);
  z->part = malloc(sizeof(double) * (size_t)z->nb * LZ_MAX);
  z->alpha = malloc(sizeof(double) * LZ_MAX);
  z->beta = malloc(sizeof(double) * LZ_MAX);
  if (!z->dinv || !z->u0 || !z->V || !z->w || !z->part || !z->alpha || !z->beta) return LT_ENOMEM;
  double norm = 0;
  for (int64_t i = 0; i < n; i++) {
    double deg = 0;
    for (int64_t e = G->indptr[i]; e < G->indptr[i + 1]; e++) deg += G->data[e];
    if (!(deg > 0)) return LT_EVALUE;
    z->dinv[i] = 1.0 / sqrt(deg);
    z->u0[i] = sqrt(deg);
    norm += deg;
  }
  for (int64_t i = 0; i < n; i++) z->u0[i] /= sqrt(norm);
  return LT_OK;
}

/* Orients each column so that its entry of largest magnitude is positive. */
static void sign_columns(double *out, int64_t n, int dim) {
  for (int r = 0; r < dim; r++) {
    int64_t best = 0;
    for (int64_t i = 1; i < n; i++)
      if (fabs(out[i * dim + r]) > fabs(out[best * dim + r])) best = i;
    if (out[best * dim + r] < 0)
      for (int64_t i = 0; i < n; i++) out[i * dim + r] = -out[i * dim + r];
  }
}

LtStatus lt_spectral_embedding(const LtCsr *G, int dim, double *out) {
  int64_t n = G->n;
  if (dim < 1 || n < dim + 2) return LT_EVALUE;
  Lanczos z;
  memset(&z, 0, sizeof z);
  double *v = malloc(sizeof *v * (size_t)n);
  LtStatus st = v ? lanczos_init(&z, G) : LT_ENOMEM;
  if (st ==
      LT_OK) { /* umap-learn starts from ones; a fixed ripple keeps it off u0 for regular graphs */
    for (int64_t i = 0; i < n; i++)
      /* (hash >> 11) / 2^53: uniform in [0, 1) from the top 53 bits. */
      v[i] = 1.0 +
             1e-3 * ((double)(lt_embed_hash(0, (uint64_t)i, 0) >> 11) / 9007199254740992.0 - 0.5);
  }
  for (int cycle = 0; st == LT_OK && cycle < LZ_CYCLES; cycle++) {
    orth_u0(&z, v);
    double nv = sqrt(dot_fixed(&z, v, v));
    /* A start vector inside span(u0) (all but impossible with the ripple) has nothing to iterate
     * on. */
    if (!(nv > 0)) {
      st = LT_ELAPACK;
      break;
    }
    for (int64_t i = 0; i < n; i++) v[i] /= nv;
    int converged;
    st = lanczos_cycle(&z, v, dim, out, &converged);
    if (st != LT_OK || converged) break;
    /* Explicit restart: the sum keeps every wanted direction in the next start vector. */
    for (int64_t i = 0; i < n; i++) { /* restart from the sum of the current Ritz vectors */
      double s = 0;
      for (int r = 0; r < dim; r++) s += out[i * dim + r];
      v[i] = s;
    }
  }
  if (st == LT_OK) sign_columns(out, n, dim);
  lanczos_free(&z);
  free(v);
  return st;
}
