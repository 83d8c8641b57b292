/* embed_tsne_fft.c - t-SNE's 2-d repulsion by FFT-accelerated interpolation (FIt-SNE). */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "embed/embed_tsne_fft.h"
#include "interrupt.h"

#define P LT_TSNE_FFT_NODES
/* The three potentials: sum_j w^2 (y_i - y_j) along each axis, and sum_j w (see kernels). */
#define TERMS 3

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
  for (int k = 0; k < 6; k++)
    if (f->plan[k]) fftw_destroy_plan(f->plan[k]);
  pthread_mutex_unlock(&planner_lock);
  for (int t = 0; t < TERMS; t++) {
    fftw_free(f->grid[t]);
    fftw_free(f->spec[t]);
    f->grid[t] = NULL;
    f->spec[t] = NULL;
  }
  for (int t = 0; t < 2; t++) {
    fftw_free(f->kernel_hat[t]);
    f->kernel_hat[t] = NULL;
  }
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

/* The six plans (FFTW_ESTIMATE: made from heuristics, not timings, so the plan, and with it the
 * result's bits, is the same on every run; it also leaves the arrays untouched). The charges fill
 * only the first half of the rows and of the columns of the padded m x m grid, so the forward
 * transform runs along the nn non-zero rows (r2c) and then along every column (c2c), and the
 * inverse along every column and then only the nn rows that are read back: 3/4 of a full 2-d
 * transform. The kernels' spectra come from their quarters, a quarter of the work each (see
 * kernel_spectra): a DCT-I in both axes for the even one, a DST-I by DCT-I for the odd ones. */
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
  f->plan[4] = fftw_plan_r2r_2d(nn + 1, nn + 1, g, f->kernel_hat[0], FFTW_REDFT00, FFTW_REDFT00,
                                FFTW_ESTIMATE);
  f->plan[5] = fftw_plan_r2r_2d(nn - 1, nn + 1, g, f->kernel_hat[1], FFTW_RODFT00, FFTW_REDFT00,
                                FFTW_ESTIMATE);
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
  for (int t = 0; t < 2; t++) {
    f->kernel_hat[t] = fftw_malloc(sizeof(double) * (size_t)((nn + 1) * (nn + 1)));
    ok = ok && f->kernel_hat[t];
  }
  if (ok) make_plans(f, (int)m, (int)nn);
  for (int k = 0; k < 6; k++) ok = ok && f->plan[k];
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

/* The spectra of the three kernels between nodes (spacing h) on the padded m x m grid, offsets
 * (a, b) in nodes, w = 1 / (1 + h^2 (a^2 + b^2)):
 *   K0 = w^2 h a (odd in a, even in b),  K1 = w^2 h b (its transpose),  Kz = w (even in both).
 * Convolving the point counts with them gives the forces and the kernel sums directly; FIt-SNE
 * convolves w^2 with the charges 1, y0, y1, |y|^2 and combines the potentials, y_i phi - phi_y,
 * a difference of terms |y| / |y_i - y_j| times larger than itself, which turned its 0.3%
 * interpolation error into 3% in the forces (measured on a 2,000-point layout 120 units wide).
 * Kz's spectrum, real, is the DCT-I of its (nn + 1) x (nn + 1) quarter (the DFT of the even
 * extension) into kernel_hat[0]; K0's, imaginary, is -i times the DST-I along a by DCT-I along b
 * of its quarter (rows a = 1 .. nn - 1: the odd extension is 0 at a = 0 and nn) into
 * kernel_hat[1], row u - 1 holding frequency u; K1's is that one transposed. The middle offset
 * nn is never reached (offsets stay below nn): its value, 0, keeps the extensions the plain
 * wrap-around kernels. grid[0] is the scratch. */
static void kernel_spectra(LtTsneFft *f, double h) {
  int64_t nn = f->m / 2, s = nn + 1;
  double *k = f->grid[0];
#pragma omp parallel for schedule(static)
  for (int64_t a = 0; a <= nn; a++)
    for (int64_t b = 0; b <= nn; b++) {
      double w = 1.0 / (1.0 + h * h * (double)(a * a + b * b));
      k[a * s + b] = a == nn || b == nn ? 0.0 : w;
    }
  fftw_execute_r2r(f->plan[4], k, f->kernel_hat[0]);
  if (lt_interrupt_pending()) return; /* the caller polls too and drops the spectra */
#pragma omp parallel for schedule(static)
  for (int64_t a = 1; a < nn; a++)
    for (int64_t b = 0; b <= nn; b++) {
      double w = 1.0 / (1.0 + h * h * (double)(a * a + b * b));
      k[(a - 1) * s + b] = b == nn ? 0.0 : w * w * h * (double)a;
    }
  fftw_execute_r2r(f->plan[5], k, f->kernel_hat[1]);
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

/* Spreads the points (charge 1 each) to the nodes of grid[0]: a box row's points write only its
 * P grid rows, so the rows run in parallel without a race, each summing its points in a fixed
 * order (box by box, ascending index within a box). */
static void spread(LtTsneFft *f, const float *Y, double lo, double bw) {
  int64_t m = f->m, nb = f->boxes;
  double *g = f->grid[0];
  memset(g, 0, sizeof(double) * (size_t)(m / 2 * m));
#pragma omp parallel for schedule(dynamic, 1)
  for (int64_t r = 0; r < nb; r++)
    for (int64_t s = f->box_start[r * nb]; s < f->box_start[(r + 1) * nb]; s++) {
      int64_t i = f->order[s], c = f->box[i] % nb;
      double wx[P], wy[P];
      point_weights(f, Y, i, lo, bw, wx, wy);
      for (int kx = 0; kx < P; kx++)
        for (int ky = 0; ky < P; ky++) g[(r * P + kx) * m + c * P + ky] += wx[kx] * wy[ky];
    }
}

/* grid[t] <- K_t * grid[0] for the three kernels (circular convolution, the padding making it the
 * plain one on the nodes), unnormalised: FFTW's inverse leaves the factor m^2, removed in gather.
 * One forward transform of the counts, then each kernel's product and inverse transform, the
 * three independent (fftw_execute is thread-safe). */
static void convolve(LtTsneFft *f) {
  int64_t m = f->m, nn = m / 2, mh = m / 2 + 1;
  /* As pairs of doubles: fftw_complex is double[2] or, after <complex.h> (which lapacke.h
   * includes), double _Complex; both have this layout. */
  double(*s0)[2] = f->spec[0];
  fftw_execute_dft_r2c(f->plan[0], f->grid[0], f->spec[0]);
  /* Ctrl-C skips what is left (the caller sees the flag and drops the result). */
  if (lt_interrupt_pending()) return;
  /* The padded rows' transforms are zero. */
  memset(s0 + nn * mh, 0, sizeof *s0 * (size_t)((m - nn) * mh));
  fftw_execute_dft(f->plan[1], f->spec[0], f->spec[0]);
  if (lt_interrupt_pending()) return;
  const double *kz = f->kernel_hat[0], *ko = f->kernel_hat[1];
  double(*s1)[2] = f->spec[1], (*s2)[2] = f->spec[2];
  /* Row u of the spectra: frequency u along axis 0, u and m - u alike for the even kernels; the
   * odd kernel along axis 0 flips its sign past nn and vanishes at 0 and nn. Columns v <= nn
   * only (r2c's half), where the transposed odd kernel vanishes at v = 0 and nn. Product with -i
   * S: (re + i im)(-i S) = S im - i S re. s0 is multiplied last, in place. */
#pragma omp parallel for schedule(static)
  for (int64_t u = 0; u < m; u++) {
    int64_t ue = u <= nn ? u : m - u;
    double sign = u <= nn ? 1.0 : -1.0;
    const double *kzr = kz + ue * mh, *kor = ko + (ue > 0 ? ue - 1 : 0) * mh;
    for (int64_t v = 0; v < mh; v++) {
      double re = s0[u * mh + v][0], im = s0[u * mh + v][1];
      double k0 = ue == 0 || ue == nn ? 0.0 : sign * kor[v];
      double k1 = v == 0 || v == nn ? 0.0 : ko[(v - 1) * mh + ue];
      s1[u * mh + v][0] = k0 * im;
      s1[u * mh + v][1] = -k0 * re;
      s2[u * mh + v][0] = k1 * im;
      s2[u * mh + v][1] = -k1 * re;
      s0[u * mh + v][0] = kzr[v] * re;
      s0[u * mh + v][1] = kzr[v] * im;
    }
  }
#pragma omp parallel for schedule(static, 1)
  for (int t = 0; t < TERMS; t++) {
    if (lt_interrupt_pending()) continue;
    fftw_execute_dft(f->plan[2], f->spec[t], f->spec[t]);
    if (lt_interrupt_pending()) continue;
    fftw_execute_dft_c2r(f->plan[3], f->spec[t], f->grid[t]);
  }
}

/* Interpolates the node potentials back to each point: its forces and its kernel sum. The
 * interpolation also gives each point a share of its own charge, sum_{k, l} L_k K(node_k -
 * node_l) L_l (L its weights), where the exact self term is w_ii = 1, which zrow leaves out: that
 * share is taken out exactly instead of 1, from the values of w at the (2P - 1)^2 node offsets
 * within a box (the odd kernels' shares are 0: the terms (k, l) and (l, k) cancel). Points are
 * visited box by box (each one's sums its own, so the order does not change the result). */
static void gather(LtTsneFft *f, const float *Y, double lo, double bw, double *neg, double *zrow) {
  int64_t m = f->m, nb = f->boxes;
  double scale = 1.0 / ((double)m * (double)m), h = bw / P, tab[2 * P - 1][2 * P - 1];
  for (int da = 1 - P; da < P; da++)
    for (int db = 1 - P; db < P; db++)
      tab[da + P - 1][db + P - 1] = 1.0 / (1.0 + h * h * (double)(da * da + db * db));
#pragma omp parallel for schedule(static)
  for (int64_t s = 0; s < f->n; s++) {
    int64_t i = f->order[s], r = f->box[i] / nb, c = f->box[i] % nb;
    double wx[P], wy[P], phi[TERMS] = {0, 0, 0}, self = 0;
    point_weights(f, Y, i, lo, bw, wx, wy);
    for (int kx = 0; kx < P; kx++)
      for (int ky = 0; ky < P; ky++) {
        int64_t at = (r * P + kx) * m + c * P + ky;
        double wk = wx[kx] * wy[ky];
        for (int t = 0; t < TERMS; t++) phi[t] += wk * f->grid[t][at];
        for (int lx = 0; lx < P; lx++)
          for (int ly = 0; ly < P; ly++)
            self += wk * wx[lx] * wy[ly] * tab[kx - lx + P - 1][ky - ly + P - 1];
      }
    /* grid 0: the kernel sums (its spectrum was the counts'), 1 and 2: the forces (convolve). */
    neg[2 * i] = phi[1] * scale;
    neg[2 * i + 1] = phi[2] * scale;
    zrow[i] = phi[0] * scale - self;
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
  /* Ctrl-C is polled between the stages (and inside the transforms' stages): on the largest grid
   * a step takes seconds. */
  kernel_spectra(f, bw / P);
  if (lt_interrupt_pending()) return LT_EINTR;
  spread(f, Y, lo, bw);
  if (lt_interrupt_pending()) return LT_EINTR;
  convolve(f);
  if (lt_interrupt_pending()) return LT_EINTR;
  gather(f, Y, lo, bw, neg, zrow);
  return LT_OK;
}
