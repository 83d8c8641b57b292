/* plot_3d.h - mplot3d's projection: world box, view and perspective/orthographic matrices, depth
 * order (core, no Lua). */
#ifndef LUNETTE_PLOT_3D_H
#define LUNETTE_PLOT_3D_H
#include <stdint.h>

/* The camera of a 3-D axes, as matplotlib's Axes3D.get_proj() builds it. */
typedef struct {
  double lims[6];          /* xmin, xmax, ymin, ymax, zmin, zmax */
  double box_aspect[3];    /* already scaled (default 4:4:3 normalised to 1.8294640721620434) */
  double elev, azim, roll; /* degrees; matplotlib's default view is 30, -60, 0 */
  double dist;             /* 10 in matplotlib 3.6 */
  double
      focal_length; /* 1 = perspective with a 90 degree field of view; <= 0 or inf: orthographic */
} Plot3DView;

/* Fills M (4x4, row-major) so that (vx, vy, vz, w) = M (x, y, z, 1).
 * Returns 0, or -1 when a limit range is empty or not finite. */
int plot3d_matrix(const Plot3DView *v, double M[16]);

/* Projects n points: vx, vy are the 2-D view coordinates (matplotlib's
 * axes data coordinates, about -0.1..0.1) and vz the depth used for
 * sorting (larger is farther). Non-finite input gives NaN. */
void plot3d_project(const double M[16], const double *x, const double *y, const double *z,
                    int64_t n, double *vx, double *vy, double *vz);

/* Indices 0..n-1 ordered by decreasing depth (farthest first, as
 * Path3DCollection sorts); NaN depths go last. order has n entries.
 * Returns 0, or -1 when memory runs out. */
int plot3d_depth_order(const double *vz, int64_t n, int64_t *order);

/* matplotlib's _zalpha: alpha_i *= 1 - 0.7 * (vz_i - min) / (max - min)
 * over the finite depths; rgba is n*4, changed in place. */
void plot3d_depth_shade(const double *vz, int64_t n, double *rgba);

#endif
