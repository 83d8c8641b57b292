/* embed_tsne_fft.h - t-SNE's repulsive forces in 2-d by FFT-accelerated interpolation (FIt-SNE,
 * Linderman et al. 2019), O(n P^2) per step plus an FFT on a grid (core, no Lua). */
#ifndef LUNETTE_EMBED_TSNE_FFT_H
#define LUNETTE_EMBED_TSNE_FFT_H
#include "embed/embed.h"

/* Interpolation: each point is spread to (and read back from) the P x P grid nodes nearest to it
 * with Lagrange weights (a centred stencil; FIt-SNE uses the P nodes of the fixed box a point
 * falls in), node spacing at most 1 / LT_TSNE_FFT_PER_UNIT, and at least LT_TSNE_FFT_MIN_BOXES
 * boxes of P nodes across the extent (FIt-SNE's min_num_intervals). FIt-SNE's defaults are 3
 * nodes per box of width 1 (spacing 1/3). Final KL on the first 5,000 Fashion-MNIST train images
 * (PCA-50, seed 42, 1000 steps; Barnes-Hut 1.1990): centred P = 3 at spacing 1/3 1.2774 (+6.5%:
 * odd stencils, which switch between nodes, bias the forces), P = 4 at 1/3 1.2040 (+0.4%), P = 4
 * at 1/2 1.2187 (+1.6%), P = 5 at 1/3 1.2192, P = 6 at 1/2 1.2010 (+0.2%). At 20,000 points P =
 * 4 at 1/3 ended 0.15% above Barnes-Hut. P = 6 at 1/2: a grid 2.25 times smaller than at 1/3
 * for 36 rather than 16 nodes per point, a good trade once the grid's FFT dominates. */
#define LT_TSNE_FFT_NODES    6
#define LT_TSNE_FFT_PER_UNIT 2
#define LT_TSNE_FFT_MIN_BOXES 50
/* Nodes per side at most (also at most 12 sqrt(n)): past it the spacing widens instead, so a
 * spread-out (or diverging) layout cannot ask for an unbounded grid (2400 nodes: a 4800 x 4800
 * FFT, about 0.3 GB of grids and spectra). */
#define LT_TSNE_FFT_MAX_NODES 2400

/* What one repulsion evaluation needs, kept from step to step: each point's stencil and weights
 * [n], the grids, the kernels' spectra and the FFTW plans (re-made only when the grid changes,
 * which it does only when the layout outgrows it or becomes much smaller). Zeroed means empty;
 * lt_tsne_fft_free releases it. */
typedef struct {
  int64_t n;
  int64_t nn;            /* nodes per side of the current grid (0: none yet) */
  double h;              /* node spacing of the current grid */
  int64_t regrids;       /* how many times a grid (and the kernels' spectra) was made */
  int32_t *order;        /* [n] points sorted by their stencil's first row, stable */
  /* By sorted position q (point order[q]): */
  int32_t *start;        /* [n x 2] the first stencil node along axis 0, axis 1 */
  float *wts;            /* [n x 2P] the Lagrange weights along axis 0, then axis 1 */
  double *self;          /* [n] the interpolated share of the point's own charge */
  int64_t *row_start;    /* [nn + 1] where each row's points start in order */
  double *row_z;         /* [2 nn] per-frequency-row shares of the kernel sum */
  float *grid[2];        /* [nn x 2nn] the counts, then the two force potentials */
  void *spec[2];         /* [2nn x (nn + 1)] complex spectra */
  float *kernel_hat[3];  /* quarters of the kernels' spectra: even, odd, odd transposed */
  void *plan[5]; /* r2c half the rows, forward columns (two parts), backward columns, c2r rows */
} LtTsneFft;

/* Allocates the per-point buffers for n points. Returns LT_OK, LT_EVALUE (n < 1 or past
 * INT32_MAX) or LT_ENOMEM; on failure f is left zeroed. */
LtStatus lt_tsne_fft_init(LtTsneFft *f, int64_t n);
/* Frees everything f holds (FFTW plans included) and zeroes it; safe on a zeroed f. */
void lt_tsne_fft_free(LtTsneFft *f);

/* t-SNE's repulsion (Cauchy kernel w = 1 / (1 + |y_i - y_j|^2)) for the n points of Y [n x 2]:
 *   *z = sum_{i != j} w_ij,   neg[i] = sum_j w_ij^2 (y_i - y_j)   (neg [n x 2]),
 * the quantities lt_bhtree_repulsion gives (its z summed over its rows), approximated by
 * interpolation: the points are spread to the grid nodes with Lagrange weights, the counts
 * convolved on the zero-padded grid by FFT (FFTW in single precision, planned with
 * FFTW_ESTIMATE) with the kernels w^2 (y_i - y_j) (both axes), the potentials interpolated back;
 * z comes from the counts' spectrum and w's (Parseval), less each point's share of itself. Each
 * point's and each node's sums run in a fixed order and the FFTs do not depend on threads, so the
 * result is the same on any thread count. Returns LT_OK, LT_ENOMEM (grid or plan), LT_ERANGE (Y
 * not finite) or LT_EINTR (Ctrl-C, polled between the stages). */
LtStatus lt_tsne_fft_repulsion(LtTsneFft *f, const float *Y, double *neg, double *z);

#endif
