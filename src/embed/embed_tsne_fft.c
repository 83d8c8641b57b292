/* embed_tsne_fft.c - t-SNE's 2-d repulsion by FFT-accelerated interpolation (FIt-SNE). */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "embed/embed_tsne_fft.h"
#include "interrupt.h"

#define P LT_TSNE_FFT_NODES
/* Rows of points spread by one task: at least P, so that tasks two stripes apart never write the
 * same grid row (see spread). */
#define STRIPE (8 * P)

/* A complex float as FFTW lays it out: fftwf_complex is float[2] or, after <complex.h> (which
 * lapacke.h includes), float _Complex; both have this layout. */
typedef float Cplx[2];

/* FFTW's planner is not thread-safe (fftwf_execute is): two Lua states embedding at once in two
 * threads would race on it. The only process-wide state here. */
static pthread_mutex_t planner_lock = PTHREAD_MUTEX_INITIALIZER;

LtStatus lt_tsne_fft_init(LtTsneFft *f, int64_t n) {
  memset(f, 0, sizeof *f);
  if (n < 1 || n > INT32_MAX) return LT_EVALUE;
  f->n = n;
  f->start = malloc(sizeof *f->start * (size_t)(2 * n));
  f->wts = malloc(sizeof *f->wts * (size_t)(2 * P * n));
  f->order = malloc(sizeof *f->order * (size_t)n);
  f->self = malloc(sizeof *f->self * (size_t)n);
  if (f->start && f->wts && f->order && f->self) return LT_OK;
  lt_tsne_fft_free(f);
  return LT_ENOMEM;
}

/* Releases the grids, spectra and plans only (the grid changed, or the end). */
static void free_grid(LtTsneFft *f) {
  pthread_mutex_lock(&planner_lock);
  for (int k = 0; k < 5; k++)
    if (f->plan[k]) fftwf_destroy_plan(f->plan[k]);
  pthread_mutex_unlock(&planner_lock);
  for (int t = 0; t < 2; t++) {
    fftwf_free(f->grid[t]);
    fftwf_free(f->spec[t]);
    f->grid[t] = NULL;
    f->spec[t] = NULL;
  }
  for (int t = 0; t < 3; t++) {
    fftwf_free(f->kernel_hat[t]);
    f->kernel_hat[t] = NULL;
  }
  free(f->row_start);
  free(f->row_z);
  f->row_start = NULL;
  f->row_z = NULL;
  memset(f->plan, 0, sizeof f->plan);
  f->nn = 0;
  f->h = 0;
}

void lt_tsne_fft_free(LtTsneFft *f) {
  free_grid(f);
  free(f->start);
  free(f->wts);
  free(f->order);
  free(f->self);
  memset(f, 0, sizeof *f);
}

/* The five plans (FFTW_ESTIMATE: made from heuristics, not timings, so the plan, and with it the
 * result's bits, is the same on every run; planning leaves the arrays untouched). The counts fill
 * only the first nn of the padded grid's m = 2 nn rows and columns, so the forward transform runs
 * along the nn non-zero rows (r2c) and then along every column, and the inverse along every
 * column and then only the nn rows that are read back: 3/4 of a full 2-d transform each. The
 * forward stages are planned in two parts run side by side (the same plans on any thread count,
 * so the same bits); the parts start 64-byte aligned because nn is a multiple of 16, so FFTW's
 * new-array execution may use them. */
static void make_plans(LtTsneFft *f) {
  int nn = (int)f->nn, m = 2 * nn, mh = nn + 1, half = nn / 2, len[1] = {m};
  float *g = f->grid[0];
  Cplx *sp = f->spec[0];
  pthread_mutex_lock(&planner_lock);
  f->plan[0] = fftwf_plan_many_dft_r2c(1, len, half, g, NULL, 1, m, (void *)sp, NULL, 1, mh,
                                       FFTW_ESTIMATE);
  f->plan[1] = fftwf_plan_many_dft(1, len, half, (void *)sp, NULL, mh, 1, (void *)sp, NULL, mh, 1,
                                   FFTW_FORWARD, FFTW_ESTIMATE);
  f->plan[2] = fftwf_plan_many_dft(1, len, mh - half, (void *)sp, NULL, mh, 1, (void *)sp, NULL,
                                   mh, 1, FFTW_FORWARD, FFTW_ESTIMATE);
  f->plan[3] = fftwf_plan_many_dft(1, len, mh, (void *)sp, NULL, mh, 1, (void *)sp, NULL, mh, 1,
                                   FFTW_BACKWARD, FFTW_ESTIMATE);
  f->plan[4] = fftwf_plan_many_dft_c2r(1, len, nn, (void *)sp, NULL, 1, mh, g, NULL, 1, m,
                                       FFTW_ESTIMATE);
  pthread_mutex_unlock(&planner_lock);
}

/* The spectra of the kernels between nodes (spacing h) on the padded m x m grid, offsets (a, b)
 * in nodes, w = 1 / (1 + h^2 (a^2 + b^2)):
 *   K0 = w^2 h a (odd in a, even in b),  K1 = w^2 h b (its transpose),  Kz = w (even in both).
 * Convolving the counts with K0 and K1 gives the forces directly; FIt-SNE convolves w^2 with the
 * charges 1, y0, y1, |y|^2 and combines the potentials, y_i phi - phi_y, a difference of terms
 * |y| / |y_i - y_j| times larger than itself, which turned its 0.3% interpolation error into 3%
 * in the forces (measured on a 2,000-point layout 120 units wide). Kz's spectrum, real, is the
 * DCT-I of its (nn + 1) x (nn + 1) quarter (the DFT of the even extension) into kernel_hat[0];
 * K0's, imaginary, is -i times the DST-I along a by DCT-I along b of its quarter (rows a = 1 ..
 * nn - 1: the odd extension is 0 at a = 0 and nn) into kernel_hat[1], row u - 1 holding
 * frequency u; K1's is that one transposed. The middle offset nn is never reached (offsets stay
 * below nn): its value, 0, keeps the extensions the plain wrap-around kernels. Computed once per
 * grid (the spacing is part of the grid); grid[0] is the scratch. */
static LtStatus kernel_spectra(LtTsneFft *f) {
  int64_t nn = f->nn, s = nn + 1;
  double h = f->h;
  float *k = f->grid[0];
  pthread_mutex_lock(&planner_lock);
  fftwf_plan pz = fftwf_plan_r2r_2d((int)s, (int)s, k, f->kernel_hat[0], FFTW_REDFT00,
                                    FFTW_REDFT00, FFTW_ESTIMATE);
  fftwf_plan po = fftwf_plan_r2r_2d((int)nn - 1, (int)s, k, f->kernel_hat[1], FFTW_RODFT00,
                                    FFTW_REDFT00, FFTW_ESTIMATE);
  pthread_mutex_unlock(&planner_lock);
  if (pz && po) {
#pragma omp parallel for schedule(static)
    for (int64_t a = 0; a <= nn; a++)
      for (int64_t b = 0; b <= nn; b++) {
        double w = 1.0 / (1.0 + h * h * (double)(a * a + b * b));
        k[a * s + b] = a == nn || b == nn ? 0.0f : (float)w;
      }
    fftwf_execute_r2r(pz, k, f->kernel_hat[0]);
#pragma omp parallel for schedule(static)
    for (int64_t a = 1; a < nn; a++)
      for (int64_t b = 0; b <= nn; b++) {
        double w = 1.0 / (1.0 + h * h * (double)(a * a + b * b));
        k[(a - 1) * s + b] = b == nn ? 0.0f : (float)(w * w * h * (double)a);
      }
    fftwf_execute_r2r(po, k, f->kernel_hat[1]);
    /* K1's spectrum at (u, v) is K0's at (v, u): stored transposed, row u holding columns v = 0
     * .. nn (zero at 0 and nn), so that multiply reads both along rows. */
    const float *ko = f->kernel_hat[1];
    float *kt = f->kernel_hat[2];
#pragma omp parallel for schedule(static)
    for (int64_t u = 0; u <= nn; u++)
      for (int64_t v = 0; v <= nn; v++)
        kt[u * s + v] = v == 0 || v == nn ? 0.0f : ko[(v - 1) * s + u];
  }
  pthread_mutex_lock(&planner_lock);
  if (pz) fftwf_destroy_plan(pz);
  if (po) fftwf_destroy_plan(po);
  pthread_mutex_unlock(&planner_lock);
  return pz && po ? LT_OK : LT_ENOMEM;
}

/* Allocates the grids, spectra and plans for nn nodes per side at spacing h and computes the
 * kernels' spectra; every FFT array comes from fftwf_malloc, so all share the alignment the
 * plans were made for and fftwf_execute_* may swap them. */
static LtStatus make_grid(LtTsneFft *f, int64_t nn, double h) {
  free_grid(f);
  int64_t m = 2 * nn, cplx = m * (nn + 1);
  int ok = 1;
  for (int t = 0; t < 2; t++) {
    /* nn rows of m: the padded rows past nn are never stored. The kernel's quarter also fits. */
    f->grid[t] = fftwf_malloc(sizeof(float) * (size_t)(nn * m));
    f->spec[t] = fftwf_malloc(sizeof(Cplx) * (size_t)cplx);
    ok = ok && f->grid[t] && f->spec[t];
  }
  for (int t = 0; t < 3; t++) {
    f->kernel_hat[t] = fftwf_malloc(sizeof(float) * (size_t)((nn + 1) * (nn + 1)));
    ok = ok && f->kernel_hat[t];
  }
  f->row_start = malloc(sizeof *f->row_start * (size_t)(nn + 1));
  f->row_z = malloc(sizeof *f->row_z * (size_t)m);
  ok = ok && f->row_start && f->row_z;
  f->nn = nn;
  f->h = h;
  if (ok) make_plans(f);
  for (int k = 0; k < 5; k++) ok = ok && f->plan[k];
  LtStatus st = ok ? kernel_spectra(f) : LT_ENOMEM;
  if (st != LT_OK) free_grid(f);
  f->regrids++;
  return st;
}

/* 16 times a 5-smooth number, at least x: FFTW is fastest on 5-smooth sizes (m = 2 nn), and a
 * multiple of 16 lets the forward transform be cut in aligned halves (make_plans). Such numbers
 * are dense enough that rounding up stays within about 12%. */
static int64_t nice_nodes(double x) {
  for (int64_t q = (int64_t)ceil(x / 16.0) > 1 ? (int64_t)ceil(x / 16.0) : 1;; q++) {
    int64_t r = q;
    while (r % 2 == 0) r /= 2;
    while (r % 3 == 0) r /= 3;
    while (r % 5 == 0) r /= 5;
    if (r == 1) return 16 * q;
  }
}

/* The rungs 2^(k/4) of the ladder the spacing is taken from (rounding x down when up is 0, up
 * otherwise): a spacing that follows the layout's extent only in steps of 19% leaves the kernels'
 * spectra valid from one step to the next. */
static double rung(double x, int up) {
  double e = 4.0 * log2(x);
  return exp2((up ? ceil(e) : floor(e)) / 4.0);
}

/* The spacing and nodes per side wanted for an extent `span` and n points: spacing 1 / PER_UNIT,
 * or finer so that MIN_BOXES boxes of P nodes span the extent; a margin of P + 2 nodes for the
 * stencils at the edges and 10% for growth. At most max(12 sqrt(n), P MIN_BOXES) and MAX_NODES
 * nodes: a few points spread wide (4 points of t-SNE span over a thousand units) would otherwise
 * pay for a grid of millions of nodes, while their stencils, mostly empty, gain nothing from
 * being narrow; past the cap the spacing widens. */
static void want_grid(double span, int64_t n, double *h, int64_t *nn) {
  double fine = 1.0 / LT_TSNE_FFT_PER_UNIT, least = span / (P * LT_TSNE_FFT_MIN_BOXES);
  double cap = fmin(LT_TSNE_FFT_MAX_NODES,
                    fmax(12.0 * sqrt((double)n), P * LT_TSNE_FFT_MIN_BOXES + P + 2.0));
  *h = least < fine ? rung(least, 0) : fine;
  if (1.1 * span / *h + P + 2 > cap) *h = rung(span / (cap - P - 2), 1);
  *nn = nice_nodes(fmin(1.1 * span / *h, cap - P - 2) + P + 2);
}

/* Whether the current grid serves an extent `span`: it holds the layout (with its stencils), its
 * spacing is within 1.5x of the wanted one, and it is not over 1.5x the wanted size. */
static int grid_serves(const LtTsneFft *f, double span, double h, int64_t nn) {
  return f->nn > 0 && span / f->h + P + 2 <= (double)f->nn && f->h <= 1.5 * h &&
         f->h >= h / 1.5 && (double)f->nn <= 1.5 * (double)nn;
}

/* Lagrange weights of the nodes 0 .. P-1 at the position u (in node spacings from node 0). */
static inline void lagrange(double u, float *w) {
  for (int k = 0; k < P; k++) {
    double num = 1, den = 1;
    for (int j = 0; j < P; j++) {
      if (j == k) continue;
      num *= u - j;
      den *= k - j;
    }
    w[k] = (float)(num / den);
  }
}

/* Each point's stencil (the P nodes nearest to it along each axis: nodes floor(t - (P - 2) / 2)
 * on, t its position in node spacings from the grid's origin org) and weights. The points are
 * first sorted by their stencil's first row (counting sort, stable: ascending index within a row,
 * so every node's sum runs in a fixed order, and the grid is walked row by row); the stencils and
 * weights are then stored in that order, so spread and gather read them sequentially. */
static void locate(LtTsneFft *f, const float *Y, const double org[2]) {
  int64_t n = f->n, nn = f->nn;
  double h = f->h;
  /* Pass 1: the first row of each point's stencil, by index (into start's even slots). */
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; i++) {
    int64_t s = (int64_t)floor(((double)Y[2 * i] - org[0]) / h - (P - 2) / 2.0);
    /* Within the grid by its choice; clamped all the same (rounding at the far edge). */
    f->start[2 * i] = (int32_t)(s < 0 ? 0 : s > nn - P ? nn - P : s);
  }
  int64_t *rs = f->row_start;
  memset(rs, 0, sizeof *rs * (size_t)(nn + 1));
  for (int64_t i = 0; i < n; i++) rs[f->start[2 * i] + 1]++;
  for (int64_t r = 0; r < nn; r++) rs[r + 1] += rs[r];
  /* order is filled through a cursor per row; row_start is restored below. */
  for (int64_t i = 0; i < n; i++) f->order[rs[f->start[2 * i]]++] = (int32_t)i;
  for (int64_t r = nn; r > 0; r--) rs[r] = rs[r - 1];
  rs[0] = 0;
  /* Pass 2: stencils and weights by sorted position q (the same arithmetic as pass 1). */
#pragma omp parallel for schedule(static)
  for (int64_t q = 0; q < n; q++)
    for (int a = 0; a < 2; a++) {
      double t = ((double)Y[2 * (int64_t)f->order[q] + a] - org[a]) / h;
      int64_t s = (int64_t)floor(t - (P - 2) / 2.0);
      s = s < 0 ? 0 : s > nn - P ? nn - P : s;
      f->start[2 * q + a] = (int32_t)s;
      lagrange(t - (double)s, f->wts + q * 2 * P + a * P);
    }
}

/* Spreads the points (charge 1 each) to the nodes of grid[0]. The rows are cut in stripes of
 * STRIPE stencil rows; a stripe's points write only its rows and the next P - 1, so the even
 * stripes run in parallel, then the odd ones, without a race, and each node sums its points in a
 * fixed order (stripe parity, then row, then index). */
static void spread(LtTsneFft *f) {
  int64_t nn = f->nn, m = 2 * nn, stripes = (nn + STRIPE - 1) / STRIPE;
  float *g = f->grid[0];
  memset(g, 0, sizeof(float) * (size_t)(nn * m));
  for (int64_t parity = 0; parity < 2; parity++) {
#pragma omp parallel for schedule(dynamic, 1)
    for (int64_t s = parity; s < stripes; s += 2) {
      int64_t r1 = (s + 1) * STRIPE < nn ? (s + 1) * STRIPE : nn;
      for (int64_t q = f->row_start[s * STRIPE]; q < f->row_start[r1]; q++) {
        const float *wx = f->wts + q * 2 * P, *wy = wx + P;
        float *at = g + f->start[2 * q] * m + f->start[2 * q + 1];
        for (int kx = 0; kx < P; kx++)
          for (int ky = 0; ky < P; ky++) at[kx * m + ky] += wx[kx] * wy[ky];
      }
    }
  }
}

/* The products of the counts' spectrum s0 with the kernels' (see kernel_spectra): s0 <- K0's,
 * s1 <- K1's, and each frequency row's share of sum_xi |s0|^2 Kz into row_z (Parseval: the sum
 * over the nodes of counts times their convolution with Kz, m^2 times). Row u is frequency u
 * along axis 0, u and m - u alike for the even kernels; the odd kernel along axis 0 flips its
 * sign past nn and vanishes at 0 and nn. Columns v <= nn only (r2c's half; the others mirror
 * them, hence the weight 2 except at v = 0 and nn). Product with -i S: (re + i im)(-i S) =
 * S im - i S re. */
static void multiply(LtTsneFft *f) {
  int64_t nn = f->nn, m = 2 * nn, mh = nn + 1;
  Cplx *s0 = f->spec[0], *s1 = f->spec[1];
  const float *kz = f->kernel_hat[0], *ko = f->kernel_hat[1], *kt = f->kernel_hat[2];
#pragma omp parallel for schedule(static)
  for (int64_t u = 0; u < m; u++) {
    int64_t ue = u <= nn ? u : m - u;
    float sign = u <= nn ? 1.0f : -1.0f;
    const float *kzr = kz + ue * mh, *ktr = kt + ue * mh;
    const float *kor = ko + (ue > 0 ? ue - 1 : 0) * mh;
    double rz = 0;
    for (int64_t v = 0; v < mh; v++) {
      float re = s0[u * mh + v][0], im = s0[u * mh + v][1];
      float k0 = ue == 0 || ue == nn ? 0.0f : sign * kor[v];
      float k1 = ktr[v];
      rz += (v == 0 || v == nn ? 1.0 : 2.0) * kzr[v] * ((double)re * re + (double)im * im);
      s1[u * mh + v][0] = k1 * im;
      s1[u * mh + v][1] = -k1 * re;
      s0[u * mh + v][0] = k0 * im;
      s0[u * mh + v][1] = -k0 * re;
    }
    f->row_z[u] = rz;
  }
}

/* grid[t] <- K_t * counts for the two force kernels (circular convolution, the padding making it
 * the plain one on the nodes), unnormalised: FFTW's inverse leaves the factor m^2, removed in
 * gather; row_z as multiply. One forward transform of the counts in two halves side by side, the
 * products, then the two inverse transforms side by side (fftwf_execute is thread-safe). */
static void convolve(LtTsneFft *f) {
  int64_t nn = f->nn, m = 2 * nn, mh = nn + 1, half = nn / 2;
  Cplx *s0 = f->spec[0];
#pragma omp parallel for schedule(static, 1)
  for (int64_t p = 0; p < 2; p++)
    fftwf_execute_dft_r2c(f->plan[0], f->grid[0] + p * half * m, (void *)(s0 + p * half * mh));
  /* Ctrl-C skips what is left (the caller sees the flag and drops the result). */
  if (lt_interrupt_pending()) return;
  /* The padded rows' transforms are zero. */
  memset(s0 + nn * mh, 0, sizeof *s0 * (size_t)((m - nn) * mh));
#pragma omp parallel for schedule(static, 1)
  for (int64_t p = 0; p < 2; p++)
    fftwf_execute_dft(f->plan[1 + p], (void *)(s0 + p * half), (void *)(s0 + p * half));
  if (lt_interrupt_pending()) return;
  multiply(f);
#pragma omp parallel for schedule(static, 1)
  for (int t = 0; t < 2; t++) {
    if (lt_interrupt_pending()) continue;
    fftwf_execute_dft(f->plan[3], f->spec[t], f->spec[t]);
    if (lt_interrupt_pending()) continue;
    fftwf_execute_dft_c2r(f->plan[4], f->spec[t], f->grid[t]);
  }
}

/* Interpolates the force potentials back to each point, and each point's share of its own
 * charge in the kernel sum, sum_{k, l} L_k Kz(node_k - node_l) L_l (L its weights; the exact self
 * term w_ii = 1 is not part of Z): as sum_{d, e} A_d B_e Kz(d, e) with A_d the sum of the
 * products of the weights along axis 0 whose nodes are d apart (B along axis 1). The odd
 * kernels' shares are 0: the terms (k, l) and (l, k) cancel. */
static void gather(LtTsneFft *f, double *neg) {
  int64_t m = 2 * f->nn;
  double scale = 1.0 / ((double)m * (double)m), h = f->h, tab[2 * P - 1][2 * P - 1];
  for (int da = 1 - P; da < P; da++)
    for (int db = 1 - P; db < P; db++)
      tab[da + P - 1][db + P - 1] = 1.0 / (1.0 + h * h * (double)(da * da + db * db));
#pragma omp parallel for schedule(static)
  for (int64_t q = 0; q < f->n; q++) {
    int64_t i = f->order[q], at = f->start[2 * q] * m + f->start[2 * q + 1];
    const float *wx = f->wts + q * 2 * P, *wy = wx + P;
    double px = 0, py = 0, A[2 * P - 1] = {0}, B[2 * P - 1] = {0}, self = 0;
    for (int kx = 0; kx < P; kx++)
      for (int ky = 0; ky < P; ky++) {
        double wk = (double)wx[kx] * wy[ky];
        px += wk * f->grid[0][at + kx * m + ky];
        py += wk * f->grid[1][at + kx * m + ky];
      }
    for (int k = 0; k < P; k++)
      for (int l = 0; l < P; l++) {
        A[k - l + P - 1] += (double)wx[k] * wx[l];
        B[k - l + P - 1] += (double)wy[k] * wy[l];
      }
    for (int d = 0; d < 2 * P - 1; d++)
      for (int e = 0; e < 2 * P - 1; e++) self += A[d] * B[e] * tab[d][e];
    neg[2 * i] = px * scale;
    neg[2 * i + 1] = py * scale;
    f->self[q] = self;
  }
}

/* The extent of Y along each axis into lo, hi; LT_ERANGE unless every coordinate is finite. */
static LtStatus bounds(const float *Y, int64_t n, double lo[2], double hi[2]) {
  lo[0] = lo[1] = INFINITY;
  hi[0] = hi[1] = -INFINITY;
  for (int64_t i = 0; i < n; i++)
    for (int a = 0; a < 2; a++) {
      lo[a] = fmin(lo[a], Y[2 * i + a]);
      hi[a] = fmax(hi[a], Y[2 * i + a]);
    }
  int finite = isfinite(lo[0]) && isfinite(lo[1]) && isfinite(hi[0]) && isfinite(hi[1]);
  return finite && lt_embed_first_bad_row(Y, n, 2) < 0 ? LT_OK : LT_ERANGE;
}

LtStatus lt_tsne_fft_repulsion(LtTsneFft *f, const float *Y, double *neg, double *z) {
  double lo[2], hi[2], h;
  int64_t nn;
  LtStatus st = bounds(Y, f->n, lo, hi);
  if (st != LT_OK) return st;
  /* One spacing for both axes (so one kernel); a zero extent (coincident points) still needs a
   * positive one. */
  double span = fmax(fmax(hi[0] - lo[0], hi[1] - lo[1]), 1e-12);
  want_grid(span, f->n, &h, &nn);
  if (!grid_serves(f, span, h, nn)) st = make_grid(f, nn, h);
  if (st != LT_OK) return st;
  /* The layout centred on the grid: the margin is on every side. */
  double org[2];
  for (int a = 0; a < 2; a++) org[a] = (lo[a] + hi[a]) / 2 - f->h * (double)(f->nn - 1) / 2;
  /* Ctrl-C is polled between the stages (and inside the transforms' stages): on the largest grid
   * a step takes a second. */
  locate(f, Y, org);
  spread(f);
  if (lt_interrupt_pending()) return LT_EINTR;
  convolve(f);
  if (lt_interrupt_pending()) return LT_EINTR;
  gather(f, neg);
  /* Summed serially in a fixed order: the same bits on any thread count. */
  double zi = 0, self = 0, m = 2.0 * (double)f->nn;
  for (int64_t u = 0; u < 2 * f->nn; u++) zi += f->row_z[u];
  for (int64_t i = 0; i < f->n; i++) self += f->self[i];
  *z = zi / (m * m) - self;
  return LT_OK;
}
