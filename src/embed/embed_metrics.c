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

/* Copies x into s in float64 with its squared row norms. On LT_ENOMEM the fields already allocated
 * stay set: the caller frees them. */
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
  /* dgemm gives -2 x_r.x_c; the norms are added below. Float64 throughout: the metrics rank
   * neighbours, and float32 distances would tie or swap near-equal ones that scikit-learn keeps
   * apart. */
  cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)br, (int)n, (int)s->d, -2.0,
              s->x + r0 * s->d, (int)s->d, s->x, (int)s->d, 0.0, out, (int)n);
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < br; r++)
    for (int64_t c = 0; c < n; c++) {
      double v = out[r * n + c] + s->norm[r0 + r] + s->norm[c];
      /* Clamped at 0: cancellation can make a near pair's squared distance slightly negative. */
      out[r * n + c] = c == r0 + r ? INFINITY : v < 0 ? 0 : v;
    }
}

static inline int before(double da, int64_t ia, double db, int64_t ib) {
  return da < db || (da == db && ia < ib);
}

/* The k nearest entries of a distance row (ties by index), unordered. */
static void select_k(const double *row, int64_t n, int64_t k, int64_t *out) {
  /* out is a max-heap of indices keyed by (distance, index): its root is the farthest kept, so a
   * candidate is tested against one entry and most are refused there. */
  int64_t m = 0;
  for (int64_t c = 0; c < n; c++) {
    if (m == k && !before(row[c], c, row[out[0]], out[0])) continue;
    int64_t pos;
    /* Still filling: sift the new entry up. */
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
  /* Equal distances rank by index: an equal entry before j counts (<=), one after it does not (<).
   * A count in O(n) per missing neighbour instead of sorting the whole row: only up to k entries of
   * each row need a rank. */
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
  /* Rows per block: about 16 M doubles (128 MB) of distances whatever n, and 1..256 rows. */
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
      /* Rows are independent: each thread writes only mine[i], pen[i] and hit[i]. */
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
  /* scikit-learn's normaliser 2 / (n k (2n - 3k - 1)): k < n/2 keeps it positive. Three passes
   * hold one distance block at a time: Y's neighbours; X's, with the penalty of Y's neighbours
   * missing from X (trustworthiness); Y's again, with the penalty of X's neighbours missing from Y
   * (continuity). */
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
