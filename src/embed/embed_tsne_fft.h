/* embed_tsne_fft.h - t-SNE's repulsive forces in 2-d by FFT-accelerated interpolation (FIt-SNE,
 * Linderman et al. 2019), O(n) per step plus an FFT on a grid (core, no Lua). */
#ifndef LUNETTE_EMBED_TSNE_FFT_H
#define LUNETTE_EMBED_TSNE_FFT_H
#include "embed/embed.h"

/* Interpolation nodes per box and the least boxes per side. FIt-SNE's defaults are 3 nodes (its
 * n_interp), min_num_intervals 50, one box per unit of the embedding's extent. 4 nodes here: on
 * FMNIST PCA-50 (20,000 points, seed 42, 1000 steps; Barnes-Hut KL 1.8172) 3 nodes ended at KL
 * 1.8890 (+4.0%), 4 nodes at 1.8530 (+2.0%); the forces' error on a 2,000-point final layout
 * falls from 5.1% to 1.5% (Barnes-Hut: 0.3%) for a grid (4/3)^2 larger. */
#define LT_TSNE_FFT_NODES 4
#define LT_TSNE_FFT_MIN_BOXES 50
/* Boxes per side at most (also at most 4 sqrt(n)): past it the boxes widen instead, so a
 * spread-out (or diverging) layout cannot ask for an unbounded grid (500 boxes: a 4000 x 4000
 * FFT, about 0.6 GB of grids and spectra). */
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
  double *grid[3];    /* [m/2 x m] the counts spread to the nodes (0), then the potentials */
  void *spec[3];      /* [m x (m/2 + 1)] complex spectra */
  double *kernel_hat[2]; /* [(m/2 + 1)^2] quarters of the even kernel's and the odd kernel's
                          * spectra (see kernel_spectra in the .c) */
  void *plan[6]; /* rows r2c, columns forward, columns backward, rows c2r, DCT-I, DST-I x DCT-I */
} LtTsneFft;

/* Allocates the per-point buffers for n points. Returns LT_OK, LT_EVALUE (n < 1 or past
 * INT32_MAX) or LT_ENOMEM; on failure f is left zeroed. */
LtStatus lt_tsne_fft_init(LtTsneFft *f, int64_t n);
/* Frees everything f holds (FFTW plans included) and zeroes it; safe on a zeroed f. */
void lt_tsne_fft_free(LtTsneFft *f);

/* t-SNE's repulsion (Cauchy kernel w = 1 / (1 + |y_i - y_j|^2)) for the n points of Y [n x 2]:
 *   zrow[i] = sum_{j != i} w_ij,   neg[i] = sum_j w_ij^2 (y_i - y_j)   (neg [n x 2]),
 * the same quantities as lt_bhtree_repulsion, approximated by interpolation: the points are
 * spread to LT_TSNE_FFT_NODES equispaced nodes per box with Lagrange weights, the counts convolved
 * on the zero-padded node grid by FFT (FFTW, planned with FFTW_ESTIMATE) with the kernels
 * w^2 (y_i - y_j) (both axes) and w, and the potentials interpolated back. Each point's and
 * each node's sums run in a fixed order and the FFTs do not depend on threads, so the result is
 * the same on any thread count. Returns LT_OK, LT_ENOMEM (grid or plan), LT_ERANGE (Y not
 * finite) or LT_EINTR (Ctrl-C, polled between the stages). */
LtStatus lt_tsne_fft_repulsion(LtTsneFft *f, const float *Y, double *neg, double *zrow);

#endif
