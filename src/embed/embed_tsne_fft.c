/* embed_tsne_fft.c - t-SNE's 2-d repulsion by FFT-accelerated interpolation (FIt-SNE). */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "embed/embed_tsne_fft.h"
#include "interrupt.h"

#define P LT_TSNE_FFT_NODES
/* The four charges per point: 1, y0, y1, |y|^2 (FIt-SNE's 2-d terms). */
#define TERMS 4

/* FFTW's planner is not thread-safe (fftw_execute is): two Lua states embedding at once in two
 * threads would race on it. The only process-wide state here. */
static pthread_mutex_t planner_lock = PTHREAD_MUTEX_INITIALIZER;

LtStatus lt_tsne_fft_init(LtTsneFft *f, int64_t n) {
  memset(f, 0, sizeof *f);
  if (n < 1 || n > INT32_MAX) return LT_EVALUE;
  f->n = n;
  f->box = malloc(sizeof *f->box * (size_t)n);
  f->order = malloc(sizeof *f->order * (size_t)n);
  /* One start per box of the largest grid (2 MB), so a change of grid never reallocates it. */
  size_t most = (size_t)LT_TSNE_FFT_MAX_BOXES * LT_TSNE_FFT_MAX_BOXES + 1;
  f->box_start = malloc(sizeof *f->box_start * most);
  if (f->box && f->order && f->box_start) return LT_OK;
  lt_tsne_fft_free(f);
  return LT_ENOMEM;
}

/* Releases the grids and plans only (the number of boxes changed, or the end). */
static void free_grid(LtTsneFft *f) {
  pthread_mutex_lock(&planner_lock);
  for (int k = 0; k < 5; k++)
    if (f->plan[k]) fftw_destroy_plan(f->plan[k]);
  pthread_mutex_unlock(&planner_lock);
  for (int t = 0; t < TERMS; t++) {
    fftw_free(f->grid[t]);
    fftw_free(f->spec[t]);
    f->grid[t] = NULL;
    f->spec[t] = NULL;
  }
  fftw_free(f->kernel_hat);
  f->kernel_hat = NULL;
  memset(f->plan, 0, sizeof f->plan);
  f->boxes = 0;
  f->m = 0;
}

void lt_tsne_fft_free(LtTsneFft *f) {
  free_grid(f);
  free(f->box);
  free(f->order);
  free(f->box_start);
  memset(f, 0, sizeof *f);
}

/* The five plans (FFTW_ESTIMATE: made from heuristics, not timings, so the plan, and with it the
 * result's bits, is the same on every run; it also leaves the arrays untouched). The charges fill
 * only the first half of the rows and of the columns of the padded m x m grid, so the forward
 * transform runs along the nn non-zero rows (r2c) and then along every column (c2c), and the
 * inverse along every column and then only the nn rows that are read back: 3/4 of a full 2-d
 * transform. The kernel, even in both axes, has a real spectrum: a DCT-I of its
 * (nn + 1) x (nn + 1) quarter gives it (the DFT of the even extension), a quarter of the work. */
static void make_plans(LtTsneFft *f, int m, int nn) {
  int mh = m / 2 + 1, len[1] = {m};
  void *g = f->grid[0], *sp = f->spec[0];
  pthread_mutex_lock(&planner_lock);
  f->plan[0] = fftw_plan_many_dft_r2c(1, len, nn, g, NULL, 1, m, sp, NULL, 1, mh, FFTW_ESTIMATE);
  f->plan[1] =
      fftw_plan_many_dft(1, len, mh, sp, NULL, mh, 1, sp, NULL, mh, 1, FFTW_FORWARD, FFTW_ESTIMATE);
  f->plan[2] = fftw_plan_many_dft(1, len, mh, sp, NULL, mh, 1, sp, NULL, mh, 1, FFTW_BACKWARD,
                                  FFTW_ESTIMATE);
  f->plan[3] = fftw_plan_many_dft_c2r(1, len, nn, sp, NULL, 1, mh, g, NULL, 1, m, FFTW_ESTIMATE);
  f->plan[4] =
      fftw_plan_r2r_2d(nn + 1, nn + 1, g, f->kernel_hat, FFTW_REDFT00, FFTW_REDFT00, FFTW_ESTIMATE);
  pthread_mutex_unlock(&planner_lock);
}

/* Allocates the grids and plans for `boxes` boxes per side; every array comes from fftw_malloc,
 * so all share the alignment the plans were made for and fftw_execute_* may swap them. */
static LtStatus make_grid(LtTsneFft *f, int boxes) {
  free_grid(f);
  int64_t nn = (int64_t)P * boxes, m = 2 * nn, cplx = m * (m / 2 + 1);
  int ok = 1;
  for (int t = 0; t < TERMS; t++) {
    /* nn rows of m: the padded rows past nn are never stored. The kernel's quarter also fits. */
    f->grid[t] = fftw_malloc(sizeof(double) * (size_t)(nn * m));
    f->spec[t] = fftw_malloc(sizeof(fftw_complex) * (size_t)cplx);
    ok = ok && f->grid[t] && f->spec[t];
  }
  f->kernel_hat = fftw_malloc(sizeof(double) * (size_t)((nn + 1) * (nn + 1)));
  if (ok && f->kernel_hat) make_plans(f, (int)m, (int)nn);
  for (int k = 0; k < 5; k++) ok = ok && f->plan[k];
  if (!ok) {
    free_grid(f);
    return LT_ENOMEM;
  }
  f->boxes = boxes;
  f->m = m;
  return LT_OK;
}

/* Boxes per side for an extent `span` and n points: one per unit, at least LT_TSNE_FFT_MIN_BOXES,
 * rounded up to a product of 2, 3 and 5 (FFTW is fastest on those sizes), at most
 * LT_TSNE_FFT_MAX_BOXES and at most 4 sqrt(n): a few points spread wide (4 points of t-SNE span
 * over a thousand units) would otherwise pay for a grid of millions of nodes, while their boxes,
 * mostly empty, gain nothing from being narrow. */
static int pick_boxes(double span, int64_t n) {
  double cap = fmax(fmin(LT_TSNE_FFT_MAX_BOXES, 4.0 * sqrt((double)n)), LT_TSNE_FFT_MIN_BOXES);
  double want = fmax(ceil(span), LT_TSNE_FFT_MIN_BOXES);
  if (want >= cap) want = cap;
  /* 5-smooth numbers are dense enough that rounding up stays within a few percent. */
  for (int b = (int)want;; b++) {
    int r = b;
    while (r % 2 == 0) r /= 2;
    while (r % 3 == 0) r /= 3;
    while (r % 5 == 0) r /= 5;
    if (r == 1) return b;
  }
}

/* The spectrum of the kernel w^2 = 1 / (1 + r^2)^2 between nodes (spacing h) on the padded m x m
 * grid, into kernel_hat [(nn + 1) x (nn + 1)]: entry (u, v) for frequencies u, v <= nn, the rest
 * by symmetry (u and m - u alike). The middle offset nn is never reached (offsets stay below nn):
 * its value, 0, keeps the extension the plain wrap-around kernel. grid[0] is the scratch. */
static void kernel_spectrum(LtTsneFft *f, double h) {
  int64_t nn = f->m / 2, s = nn + 1;
  double *k = f->grid[0];
#pragma omp parallel for schedule(static)
  for (int64_t a = 0; a <= nn; a++)
    for (int64_t b = 0; b <= nn; b++) {
      double q = 1.0 + h * h * (double)(a * a + b * b);
      k[a * s + b] = a == nn || b == nn ? 0.0 : 1.0 / (q * q);
    }
  fftw_execute_r2r(f->plan[4], k, f->kernel_hat);
}

/* Lagrange weights of the P nodes at (k + 1/2) / P for the position x in [0, 1] of a point in its
 * box. */
static inline void lagrange(double x, double *w) {
  for (int k = 0; k < P; k++) {
    double num = 1, den = 1, tk = (k + 0.5) / P;
    for (int j = 0; j < P; j++) {
      if (j == k) continue;
      double tj = (j + 0.5) / P;
      num *= x - tj;
      den *= tk - tj;
    }
    w[k] = num / den;
  }
}

/* Each point's box (row * boxes + column), and the points sorted by box (counting sort, stable:
 * ascending index within a box, so every node's sum runs in a fixed order, and the grid is
 * walked box by box, which keeps its cache lines warm). */
static void locate(LtTsneFft *f, const float *Y, double lo, double bw) {
  int64_t n = f->n, nb = f->boxes, nbox = nb * nb;
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; i++) {
    int64_t b[2];
    for (int a = 0; a < 2; a++) {
      b[a] = (int64_t)(((double)Y[2 * i + a] - lo) / bw);
      b[a] = b[a] > nb - 1 ? nb - 1 : b[a] < 0 ? 0 : b[a];
    }
    f->box[i] = (int32_t)(b[0] * nb + b[1]);
  }
  int64_t *bs = f->box_start;
  memset(bs, 0, sizeof *bs * (size_t)(nbox + 1));
  for (int64_t i = 0; i < n; i++) bs[f->box[i] + 1]++;
  for (int64_t b = 0; b < nbox; b++) bs[b + 1] += bs[b];
  /* order is filled through a cursor per box; box_start is restored below. */
  for (int64_t i = 0; i < n; i++) f->order[bs[f->box[i]]++] = (int32_t)i;
  for (int64_t b = nbox; b > 0; b--) bs[b] = bs[b - 1];
  bs[0] = 0;
}

/* Point i's Lagrange weights along both axes (wx, wy [P]), from its position in its box: computed
 * where needed rather than stored, which costs less than the memory traffic of keeping them. */
static inline void point_weights(const LtTsneFft *f, const float *Y, int64_t i, double lo,
                                 double bw, double *wx, double *wy) {
  int64_t nb = f->boxes, b = f->box[i];
  lagrange(((double)Y[2 * i] - lo) / bw - (double)(b / nb), wx);
  lagrange(((double)Y[2 * i + 1] - lo) / bw - (double)(b % nb), wy);
}

/* Spreads the charges to the nodes (coordinates taken from c0, the domain's centre: the forces do
 * not change under a shift, and |y|^2 stays as small as it can, which keeps the cancellation in
 * gather's kernel sum mild): a box row's points write only its P grid rows, so the rows run in
 * parallel without a race, each summing its points in a fixed order. */
static void spread(LtTsneFft *f, const float *Y, double lo, double bw, double c0) {
  int64_t m = f->m, nb = f->boxes;
  for (int t = 0; t < TERMS; t++) memset(f->grid[t], 0, sizeof(double) * (size_t)(m / 2 * m));
#pragma omp parallel for schedule(dynamic, 1)
  for (int64_t r = 0; r < nb; r++)
    for (int64_t s = f->box_start[r * nb]; s < f->box_start[(r + 1) * nb]; s++) {
      int64_t i = f->order[s], c = f->box[i] % nb;
      double y0 = Y[2 * i] - c0, y1 = Y[2 * i + 1] - c0, q[TERMS] = {1, y0, y1, y0 * y0 + y1 * y1};
      double wx[P], wy[P];
      point_weights(f, Y, i, lo, bw, wx, wy);
      for (int kx = 0; kx < P; kx++)
        for (int ky = 0; ky < P; ky++) {
          int64_t at = (r * P + kx) * m + c * P + ky;
          double wk = wx[kx] * wy[ky];
          for (int t = 0; t < TERMS; t++) f->grid[t][at] += wk * q[t];
        }
    }
}

/* grid[t] <- kernel * grid[t] (circular convolution, the padding making it the plain one on the
 * nodes), unnormalised: FFTW's inverse leaves the factor m^2, removed in gather. The four terms are
 * independent and fftw_execute is thread-safe. */
static void convolve(LtTsneFft *f) {
  int64_t m = f->m, nn = m / 2, mh = m / 2 + 1;
  const double *kh = f->kernel_hat;
#pragma omp parallel for schedule(static, 1)
  for (int t = 0; t < TERMS; t++) {
    /* As pairs of doubles: fftw_complex is double[2] or, after <complex.h> (which lapacke.h
     * includes), double _Complex; both have this layout. */
    double(*s)[2] = f->spec[t];
    fftw_execute_dft_r2c(f->plan[0], f->grid[t], f->spec[t]);
    /* The padded rows' transforms are zero. */
    memset(s + nn * mh, 0, sizeof *s * (size_t)((m - nn) * mh));
    fftw_execute_dft(f->plan[1], f->spec[t], f->spec[t]);
    for (int64_t u = 0; u < m; u++) {
      const double *kr = kh + (u <= nn ? u : m - u) * mh;
      for (int64_t v = 0; v < mh; v++) {
        s[u * mh + v][0] *= kr[v];
        s[u * mh + v][1] *= kr[v];
      }
    }
    fftw_execute_dft(f->plan[2], f->spec[t], f->spec[t]);
    fftw_execute_dft_c2r(f->plan[3], f->spec[t], f->grid[t]);
  }
}

/* Interpolates the node potentials back to each point, then forms the forces and the kernel sums
 * (the self term, w_ii = 1, taken out of zrow). Points are visited box by box (each one's sums
 * its own, so the order does not change the result). */
static void gather(LtTsneFft *f, const float *Y, double lo, double bw, double c0, double *neg,
                   double *zrow) {
  int64_t m = f->m, nb = f->boxes;
  double scale = 1.0 / ((double)m * (double)m);
#pragma omp parallel for schedule(static)
  for (int64_t s = 0; s < f->n; s++) {
    int64_t i = f->order[s], r = f->box[i] / nb, c = f->box[i] % nb;
    double wx[P], wy[P], phi[TERMS] = {0, 0, 0, 0};
    point_weights(f, Y, i, lo, bw, wx, wy);
    for (int kx = 0; kx < P; kx++)
      for (int ky = 0; ky < P; ky++) {
        int64_t at = (r * P + kx) * m + c * P + ky;
        double wk = wx[kx] * wy[ky];
        for (int t = 0; t < TERMS; t++) phi[t] += wk * f->grid[t][at];
      }
    for (int t = 0; t < TERMS; t++) phi[t] *= scale;
    double y0 = Y[2 * i] - c0, y1 = Y[2 * i + 1] - c0;
    neg[2 * i] = y0 * phi[0] - phi[1];
    neg[2 * i + 1] = y1 * phi[0] - phi[2];
    /* sum_j w^2 (1 + |y_i|^2 - 2 y_i.y_j + |y_j|^2) = sum_j w^2 (1 + r^2) = sum_j w. */
    zrow[i] = (1.0 + y0 * y0 + y1 * y1) * phi[0] - 2.0 * (y0 * phi[1] + y1 * phi[2]) + phi[3] - 1.0;
  }
}

LtStatus lt_tsne_fft_repulsion(LtTsneFft *f, const float *Y, double *neg, double *zrow) {
  double lo = INFINITY, hi = -INFINITY;
  for (int64_t e = 0; e < 2 * f->n; e++) {
    lo = fmin(lo, Y[e]);
    hi = fmax(hi, Y[e]);
  }
  if (!isfinite(lo) || !isfinite(hi) || lt_embed_first_bad_row(Y, f->n, 2) >= 0) return LT_ERANGE;
  /* A square domain (FIt-SNE's): one box width and node spacing on both axes, so one kernel. A
   * zero extent (coincident points) still needs a positive width. */
  double span = hi - lo > 0 ? hi - lo : 1e-12;
  int boxes = pick_boxes(span, f->n);
  if (boxes != f->boxes) {
    LtStatus st = make_grid(f, boxes);
    if (st != LT_OK) return st;
  }
  double bw = span / boxes;
  locate(f, Y, lo, bw);
  kernel_spectrum(f, bw / P);
  double c0 = lo + span / 2;
  spread(f, Y, lo, bw, c0);
  if (lt_interrupt_pending()) return LT_EINTR;
  convolve(f);
  if (lt_interrupt_pending()) return LT_EINTR;
  gather(f, Y, lo, bw, c0, neg, zrow);
  return LT_OK;
}
