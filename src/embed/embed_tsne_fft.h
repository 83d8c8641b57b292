/* embed_tsne_fft.h - t-SNE's repulsive forces in 2-d by FFT-accelerated interpolation (FIt-SNE,
 * Linderman et al. 2019), O(n) per step plus an FFT on a grid (core, no Lua). */
#ifndef LUNETTE_EMBED_TSNE_FFT_H
#define LUNETTE_EMBED_TSNE_FFT_H
#include "embed/embed.h"

/* Interpolation nodes per box and the least boxes per side: FIt-SNE's defaults (its n_interp 3,
 * min_num_intervals 50, one box per unit of the embedding's extent). */
#define LT_TSNE_FFT_NODES     3
#define LT_TSNE_FFT_MIN_BOXES 50
/* Boxes per side at most (also at most 4 sqrt(n)): past it the boxes widen instead, so a
 * spread-out (or diverging) layout cannot ask for an unbounded grid (500 boxes: a 3000 x 3000
 * FFT, about 0.5 GB). */
#define LT_TSNE_FFT_MAX_BOXES 500

/* What one repulsion evaluation needs, kept from step to step: the point-to-box bookkeeping
 * [n], the grids and the FFTW plans (re-made only when the number of boxes changes). Zeroed
 * means empty; lt_tsne_fft_free releases it. */
typedef struct {
  int64_t n;
  int boxes;          /* boxes per side of the current grid (0: none yet) */
  int64_t m;          /* FFT side: 2 * nodes * boxes (zero-padded) */
  int32_t *box;       /* [n] the point's box row * boxes + box column */
  int32_t *order;     /* [n] points sorted by box, stable (ascending index within a box) */
  int64_t *box_start; /* [boxes^2 + 1] where each box starts in order */
  double *grid[4];    /* [m/2 x m] charges spread to the nodes, then the potentials there */
  void *spec[4];      /* [m x (m/2 + 1)] complex spectra */
  double *kernel_hat; /* [(m/2 + 1) x (m/2 + 1)] the kernel's (real) spectrum, a quarter */
  void *plan[5];      /* rows r2c, columns forward, columns backward, rows c2r, kernel DCT-I */
} LtTsneFft;

/* Allocates the per-point buffers for n points. Returns LT_OK, LT_EVALUE (n < 1 or past
 * INT32_MAX) or LT_ENOMEM; on failure f is left zeroed. */
LtStatus lt_tsne_fft_init(LtTsneFft *f, int64_t n);
/* Frees everything f holds (FFTW plans included) and zeroes it; safe on a zeroed f. */
void lt_tsne_fft_free(LtTsneFft *f);

/* t-SNE's repulsion (Cauchy kernel w = 1 / (1 + |y_i - y_j|^2)) for the n points of Y [n x 2]:
 *   zrow[i] = sum_{j != i} w_ij,   neg[i] = sum_j w_ij^2 (y_i - y_j)   (neg [n x 2]),
 * the same quantities as lt_bhtree_repulsion, approximated by interpolation: the charges
 * (1, y_j, |y_j|^2) are spread to LT_TSNE_FFT_NODES equispaced nodes per box with Lagrange
 * weights, convolved with w^2 on the zero-padded node grid by FFT (FFTW, planned with
 * FFTW_ESTIMATE), and interpolated back; zrow uses sum w^2 (1 + r^2) = sum w. Each point's and
 * each node's sums run in a fixed order and the FFTs do not depend on threads, so the result is
 * the same on any thread count. Returns LT_OK, LT_ENOMEM (grid or plan), LT_ERANGE (Y not
 * finite) or LT_EINTR (Ctrl-C, polled between the stages). */
LtStatus lt_tsne_fft_repulsion(LtTsneFft *f, const float *Y, double *neg, double *zrow);

#endif
