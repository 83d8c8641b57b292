/* embed_metrics.c - trustworthiness, continuity and kNN preservation from float64 distance rows. */
/* Its cblas_ calls go through src/lazy.h: OpenBLAS is loaded on first use. */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "embed/embed_metrics.h"

/* A point set in float64 with its squared row norms. */
typedef struct {
  double *x, *norm;
  int64_t d;
} Space;

static LtStatus space_init(Space *s, const float *x, int64_t n, int64_t d) {
  s->d = d;
  s->x = malloc(sizeof *s->x * (size_t)(n * d));
  s->norm = malloc(sizeof *s->norm * (size_t)n);
  if (!s->x || !s->norm) return LT_ENOMEM;
  for (int64_t i = 0; i < n; i++) {
    double a = 0;
    for (int64_t j = 0; j < d; j++) {
      s->x[i * d + j] = x[i * d + j];
      a += s->x[i * d + j] * s->x[i * d + j];
    }
    s->norm[i] = a;
  }
  return LT_OK;
}

/* out [br x n] = squared distances from rows r0..r0+br to all rows; the
 * point itself gets +inf so it never counts as a neighbour. */
static void dist_rows(const Space *s, int64_t n, int64_t r0, int64_t br, double *out) {
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)br, (int)n, (int)s->d, -2.0,
              s->x + r0 * s->d, (int)s->d, s->x, (int)s->d, 0.0, out, (int)n);
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < br; r++)
    for (int64_t c = 0; c < n; c++) {
      double v = out[r * n + c] + s->norm[r0 + r] + s->norm[c];
      out[r * n + c] = c == r0 + r ? INFINITY : v < 0 ? 0 : v;
    }
}

static inline int before(double da, int64_t ia, double db, int64_t ib) {
  return da < db || (da == db && ia < ib);
}

/* The k nearest entries of a distance row (ties by index), unordered. */
static void select_k(const double *row, int64_t n, int64_t k, int64_t *out) {
  int64_t m = 0;
  for (int64_t c = 0; c < n; c++) {
    if (m == k && !before(row[c], c, row[out[0]], out[0])) continue;
    int64_t pos;
    if (m < k) {
      pos = m++;
      while (pos > 0 && before(row[out[(pos - 1) / 2]], out[(pos - 1) / 2], row[c], c)) {
        out[pos] = out[(pos - 1) / 2];
        pos = (pos - 1) / 2;
      }
      out[pos] = c;
      continue;
    }
    pos = 0; /* replace the root (the farthest kept) and sift down */
    for (;;) {
      int64_t l = 2 * pos + 1, r = l + 1, big = -1;
      if (l < k) big = l;
      if (r < k && before(row[out[l]], out[l], row[out[r]], out[r])) big = r;
      if (big < 0 || !before(row[c], c, row[out[big]], out[big])) break;
      out[pos] = out[big];
      pos = big;
    }
    out[pos] = c;
  }
}

/* 1 + the number of entries of the row that come before entry j. */
static int64_t rank_of(const double *row, int64_t n, int64_t j) {
  double rj = row[j];
  int64_t c = 0;
  for (int64_t l = 0; l < j; l++) c += row[l] <= rj;
  for (int64_t l = j + 1; l < n; l++) c += row[l] < rj;
  return c + 1;
}

/* One pass over the rows of s: fills mine [n x k] with each row's k nearest
 * (when not NULL) and, for the lists in other [n x k], adds to pen[i] the
 * rank excess of the entries missing from row i's own neighbourhood and
 * counts in hit[i] those present. */
static LtStatus pass(const Space *s, int64_t n, int64_t k, int64_t *mine, const int64_t *other,
                     double *pen, int64_t *hit, const LtEmbedProgress *prog, int64_t step,
                     int64_t steps) {
  int64_t br = (int64_t)(16777216 / n);
  br = br < 1 ? 1 : br > 256 ? 256 : br;
  double *buf = malloc(sizeof *buf * (size_t)(br * n));
  int64_t *nb = malloc(sizeof *nb * (size_t)(br * k));
  if (!buf || !nb) {
    free(buf);
    free(nb);
    return LT_ENOMEM;
  }
  LtStatus st = LT_OK;
  for (int64_t r0 = 0; r0 < n && st == LT_OK; r0 += br) {
    int64_t b = n - r0 < br ? n - r0 : br;
    dist_rows(s, n, r0, b, buf);
#pragma omp parallel for schedule(dynamic, 4)
    for (int64_t r = 0; r < b; r++) {
      int64_t i = r0 + r, *me = nb + r * k;
      const double *row = buf + r * n;
      select_k(row, n, k, me);
      if (mine) memcpy(mine + i * k, me, sizeof *me * (size_t)k);
      if (!other) continue;
      double p = 0;
      int64_t h = 0;
      for (int64_t a = 0; a < k; a++) {
        int64_t j = other[i * k + a], found = 0;
        for (int64_t c = 0; c < k && !found; c++) found = me[c] == j;
        if (found)
          h++;
        else
          p += (double)(rank_of(row, n, j) - k);
      }
      pen[i] = p;
      hit[i] = h;
    }
    st = lt_embed_tick(prog, "quality", step * n + r0 + b, steps * n);
  }
  free(buf);
  free(nb);
  return st;
}

LtStatus lt_embed_quality(const float *X, int64_t dx, const float *Y, int64_t dy, int64_t n,
                          int64_t k, LtEmbedQuality *q, const LtEmbedProgress *prog) {
  if (k < 1 || 2 * k >= n) return LT_EVALUE;
  Space sx = {0}, sy = {0};
  int64_t *nx = malloc(sizeof *nx * (size_t)(n * k)), *ny = malloc(sizeof *ny * (size_t)(n * k));
  int64_t *hit = calloc((size_t)n, sizeof *hit);
  double *pen = calloc((size_t)n, sizeof *pen);
  LtStatus st = nx && ny && hit && pen ? LT_OK : LT_ENOMEM;
  if (st == LT_OK) st = space_init(&sx, X, n, dx);
  if (st == LT_OK) st = space_init(&sy, Y, n, dy);
  double scale = 2.0 / ((double)n * (double)k * (2.0 * (double)n - 3.0 * (double)k - 1.0)), tp = 0,
         cp = 0;
  int64_t hits = 0;
  if (st == LT_OK) st = pass(&sy, n, k, ny, NULL, pen, hit, prog, 0, 3);
  if (st == LT_OK) st = pass(&sx, n, k, nx, ny, pen, hit, prog, 1, 3);
  for (int64_t i = 0; st == LT_OK && i < n; i++) {
    tp += pen[i];
    hits += hit[i];
  }
  if (st == LT_OK) st = pass(&sy, n, k, NULL, nx, pen, hit, prog, 2, 3);
  for (int64_t i = 0; st == LT_OK && i < n; i++) cp += pen[i];
  if (st == LT_OK) {
    q->trustworthiness = 1.0 - tp * scale;
    q->continuity = 1.0 - cp * scale;
    q->knn_preservation = (double)hits / ((double)n * (double)k);
  }
  free(sx.x);
  free(sx.norm);
  free(sy.x);
  free(sy.norm);
  free(nx);
  free(ny);
  free(hit);
  free(pen);
  return st;
}
