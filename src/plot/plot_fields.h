/* plot_fields.h - scalar fields and densities for lunette.plot: contour lines and filled bands
 * (marching triangles), hexagonal binning, Gaussian kernel density (core, no Lua). */
#ifndef LUNETTE_PLOT_FIELDS_H
#define LUNETTE_PLOT_FIELDS_H
#include <stdint.h>

/* A structured grid: z, x and y are ny*nx row-major values (row j, column i at j*nx + i), x and
 * y the data coordinates of each node. nx, ny >= 2. A cell (the quad between nodes (j, i) and
 * (j+1, i+1)) with a non-finite z, x or y at any corner is skipped: no line crosses it and no
 * band covers it, as matplotlib masks such quads. */
typedef struct {
  const double *z, *x, *y;
  int64_t nx, ny;
  int rectilinear; /* x depends on the column only, y on the row only (plot_grid_rectilinear) */
} PlotGrid;

/* 1 when every row of g->x is the first row and every column of g->y the first column: bands
 * then merge runs of whole cells into rectangles. */
int plot_grid_rectilinear(const PlotGrid *g);

/* Each cell is split into four triangles at its centre (the mean of its corners), so the field
 * is linear on every piece: lines and bands agree exactly and saddles are resolved by the centre
 * value, as matplotlib's contour generator does. */

/* How many triangles the level crosses; the polyline output of plot_contour_lines needs at most
 * 3 * that + 1 points. */
int64_t plot_contour_crossings(const PlotGrid *g, double level);

/* The contour lines of z at `level` as polylines, stitched across cells and written to ox, oy
 * (cap points) with a NaN point after each polyline; a closed loop repeats its first point.
 * Along a line the side above the level is on the left. visited is scratch of
 * 4 * (nx-1) * (ny-1) bytes, zeroed by the caller. Returns the points written, or -1 when cap is
 * too small (the buffers then hold a partial result). */
int64_t plot_contour_lines(const PlotGrid *g, double level, uint8_t *visited, double *ox,
                           double *oy, int64_t cap);

/* The region lo <= z <= hi as polygons written to ox, oy (cap points), each followed by a NaN
 * point; filled together with the nonzero rule they tile the band without gaps or overlaps.
 * Runs of whole cells along a row come as one polygon (a rectangle on a rectilinear grid), so
 * the output grows with the band's boundary, not its area.
 * With ox == NULL nothing is written and the count is returned. Returns the points written (or
 * needed), or -1 when cap is too small. */
int64_t plot_contour_band(const PlotGrid *g, double lo, double hi, double *ox, double *oy,
                          int64_t cap);

/* matplotlib's hexbin grid: nx hexagons across [xmin, xmax], ny = int(nx / sqrt(3)) rows, two
 * interleaved lattices of (nx+1)*(ny+1) and nx*ny centres. */
typedef struct {
  int64_t nx, ny;
  double xmin, xmax, ymin, ymax; /* xmin/xmax already padded by 1e-9 of the span */
} PlotHexGrid;

typedef enum { PLOT_REDUCE_MEAN = 0, PLOT_REDUCE_SUM, PLOT_REDUCE_MAX, PLOT_REDUCE_MIN } PlotReduce;

/* Number of hexagons of g: (nx+1)*(ny+1) + nx*ny. */
int64_t plot_hexbin_size(const PlotHexGrid *g);

/* Centres of g's hexagons in matplotlib's order (cx, cy: plot_hexbin_size each). */
void plot_hexbin_centers(const PlotHexGrid *g, double *cx, double *cy);

/* Bins the n points (x[i], y[i]) into g's hexagons as matplotlib's hexbin does (each point goes
 * to the nearer centre of the two lattices; points outside the grid and points with a non-finite
 * coordinate, or a non-finite c, are dropped). count (plot_hexbin_size) receives the points per
 * hexagon. With c != NULL, acc receives the reduction of the c values of each hexagon (NaN for
 * an empty one); acc may be NULL when c is. idx (n) is scratch. Returns the number of points
 * with finite coordinates (and c), inside the grid or not. */
int64_t plot_hexbin(const PlotHexGrid *g, const double *x, const double *y, const double *c,
                    int64_t n, PlotReduce reduce, double *count, double *acc, int64_t *idx);

/* Gaussian kernel density of the n samples data at the m points `at`, with kernel variance
 * `var` (matplotlib's GaussianKDE: the data's unbiased variance times the squared bandwidth
 * factor). out (m) is overwritten. Non-finite samples must be removed by the caller. */
void plot_kde(const double *data, int64_t n, double var, const double *at, int64_t m, double *out);

/* ---- point densities (scatter's {density = true}) ------------------------------------------- */

/* A binned kernel density estimate (Wand 1994; R's KernSmooth::bkde2D): the points are spread
 * onto an nx x ny grid of nodes by linear binning (each point's unit weight split over the four
 * nodes around it, bilinearly), the grid is convolved with a product Gaussian kernel of standard
 * deviations hx, hy (data units), and each point's density is the smoothed grid interpolated
 * bilinearly at the point. It approximates the exact kernel density at every point (scipy's
 * gaussian_kde with a diagonal bandwidth) in O(n + nx ny k) instead of O(n^2). */
typedef struct {
  int64_t nx, ny;                /* nodes along x and y, 2..PLOT_DENSITY_MAX_GRID */
  double xmin, xmax, ymin, ymax; /* first and last node, xmin < xmax, ymin < ymax, finite */
  double hx, hy;                 /* kernel standard deviations, > 0 and finite */
} PlotDensityGrid;

#define PLOT_DENSITY_MAX_GRID 4096
/* The points are binned in this many fixed chunks (a partial grid each, summed in chunk order),
 * so the result does not depend on the thread count. */
#define PLOT_DENSITY_CHUNKS 8

/* Doubles of scratch plot_point_density needs for g: the chunk grids, a convolution buffer and
 * the kernel taps. */
int64_t plot_point_density_scratch(const PlotDensityGrid *g);

/* The density (per unit area, integrating to 1 over the plane) at each of the n points (x[i],
 * y[i]) of the estimate above, written to dens (n). A point with a non-finite coordinate gets NaN
 * and is not counted; points outside g's node span are binned at its border. scratch holds
 * plot_point_density_scratch(g) doubles, grid (nx*ny, row j = y node, column i = x node)
 * receives the smoothed counts. Returns the number of points counted (0: every density NaN). */
int64_t plot_point_density(const PlotDensityGrid *g, const double *x, const double *y, int64_t n,
                           double *dens, double *grid, double *scratch);

/* order (n) receives 0..n-1 sorted by key rounded to float32, ascending and stably (ties keep
 * input order), NaN keys last: an LSD radix sort on the float32 bits, O(n). key must be >= 0 or
 * NaN. tmp holds 2 * n 8-byte words of scratch. */
void plot_order_by_key(const double *key, int64_t n, int64_t *order, uint64_t *tmp);

#endif
