/* plot_3d.c - Axes3D projection (matplotlib 3.6 proj3d): matrices, points, depth order. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "plot/plot_3d.h"

/* matplotlib's art3d._norm_angle: an angle in degrees to (-180, 180]. */
static double norm_angle(double a) {
  a = fmod(a + 360, 360);
  if (a < 0) a += 360;
  return a > 180 ? a - 360 : a;
}

static void matmul4(const double A[16], const double B[16], double C[16]) {
  /* Through T, so C may be A or B. */
  double T[16];
  for (int i = 0; i < 4; i++)
    for (int j = 0; j < 4; j++) {
      double s = 0;
      for (int k = 0; k < 4; k++) s += A[4 * i + k] * B[4 * k + j];
      T[4 * i + j] = s;
    }
  memcpy(C, T, sizeof T);
}

static void cross(const double a[3], const double b[3], double o[3]) {
  o[0] = a[1] * b[2] - a[2] * b[1];
  o[1] = a[2] * b[0] - a[0] * b[2];
  o[2] = a[0] * b[1] - a[1] * b[0];
}

static void normalize3(double v[3]) {
  double n = sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);
  if (n > 0) {
    v[0] /= n;
    v[1] /= n;
    v[2] /= n;
  }
}

/* proj3d.rotation_about_vector applied to a vector. */
static void rotate_about(const double axis[3], double angle, double v[3]) {
  double x = axis[0], y = axis[1], z = axis[2], s = sin(angle), c = cos(angle);
  double t = 2 * sin(angle / 2) * sin(angle / 2);
  double R[3][3] = {{t * x * x + c, t * x * y - z * s, t * x * z + y * s},
                    {t * y * x + z * s, t * y * y + c, t * y * z - x * s},
                    {t * z * x - y * s, t * z * y + x * s, t * z * z + c}};
  double o[3];
  for (int i = 0; i < 3; i++) o[i] = R[i][0] * v[0] + R[i][1] * v[1] + R[i][2] * v[2];
  memcpy(v, o, sizeof o);
}

/* proj3d.view_transformation: a camera at E looking at R, V pointing up, rolled about the view
 * axis; n is the view axis, u right and v up on the screen. */
static void view_matrix(const double E[3], const double R[3], const double V[3], double roll,
                        double M[16]) {
  double n[3] = {E[0] - R[0], E[1] - R[1], E[2] - R[2]}, u[3], v[3];
  normalize3(n);
  cross(V, n, u);
  normalize3(u);
  cross(n, u, v);
  if (roll != 0) {
    /* A positive roll of the camera is a negative rotation of the world. */
    rotate_about(n, -roll, u);
    rotate_about(n, -roll, v);
  }
  double Mr[16] = {u[0], u[1], u[2], 0, v[0], v[1], v[2], 0, n[0], n[1], n[2], 0, 0, 0, 0, 1};
  double Mt[16] = {1, 0, 0, -E[0], 0, 1, 0, -E[1], 0, 0, 1, -E[2], 0, 0, 0, 1};
  matmul4(Mr, Mt, M);
}

int plot3d_matrix(const Plot3DView *v, double M[16]) {
  double d[3];
  for (int i = 0; i < 3; i++) {
    d[i] = v->lims[2 * i + 1] - v->lims[2 * i];
    if (!isfinite(d[i]) || d[i] == 0 || !(v->box_aspect[i] > 0)) return -1;
    d[i] /= v->box_aspect[i];
  }
  /* The data box to [0, aspect] (proj3d.world_transformation); the camera circles the box centre R
   * at distance dist. */
  double W[16] = {1 / d[0], 0, 0,        -v->lims[0] / d[0], 0, 1 / d[1], 0, -v->lims[2] / d[1],
                  0,        0, 1 / d[2], -v->lims[4] / d[2], 0, 0,        0, 1};
  double R[3] = {0.5 * v->box_aspect[0], 0.5 * v->box_aspect[1], 0.5 * v->box_aspect[2]};
  double elev = norm_angle(v->elev) * M_PI / 180, azim = norm_angle(v->azim) * M_PI / 180;
  double roll = norm_angle(v->roll) * M_PI / 180;
  double ps[3] = {cos(elev) * cos(azim), cos(elev) * sin(azim), sin(elev)};
  /* Past +-90 degrees of elevation the up vector flips, so the view does not turn upside down. */
  double V[3] = {0, 0, fabs(elev) > 0.5 * M_PI ? -1 : 1};
  double dist = v->dist > 0 ? v->dist : 10, view[16], P[16];
  int ortho = !(v->focal_length > 0) || isinf(v->focal_length);
  double f = ortho ? 1 : v->focal_length;
  /* Perspective moves the eye out by the focal length (matplotlib's eye_focal), compensating the
   * zoom that a longer focal length brings. */
  double E[3] = {R[0] + dist * ps[0] * f, R[1] + dist * ps[1] * f, R[2] + dist * ps[2] * f};
  view_matrix(E, R, V, roll, view);
  if (ortho) {
    double zf = -dist, zb = dist, a = -(zf + zb), b = -(zf - zb);
    double O[16] = {2, 0, 0, 0, 0, 2, 0, 0, 0, 0, -2, 0, 0, 0, a, b};
    memcpy(P, O, sizeof O);
  } else {
    double zf = -dist, zb = dist, b = (zf + zb) / (zf - zb), c = -2 * (zf * zb) / (zf - zb);
    double Q[16] = {f, 0, 0, 0, 0, f, 0, 0, 0, 0, b, c, 0, 0, -1, 0};
    memcpy(P, Q, sizeof Q);
  }
  matmul4(view, W, M);
  matmul4(P, M, M);
  return 0;
}

void plot3d_project(const double M[16], const double *x, const double *y, const double *z,
                    int64_t n, double *vx, double *vy, double *vz) {
  for (int64_t i = 0; i < n; i++) {
    double p[4] = {x[i], y[i], z[i], 1}, o[4];
    for (int r = 0; r < 4; r++)
      o[r] = M[4 * r] * p[0] + M[4 * r + 1] * p[1] + M[4 * r + 2] * p[2] + M[4 * r + 3];
    /* Homogeneous divide: w is not 1 for either projection (the orthographic one has w = zback -
     * zfront). */
    vx[i] = o[0] / o[3];
    vy[i] = o[1] / o[3];
    vz[i] = o[2] / o[3];
  }
}

typedef struct {
  double z;
  int64_t i;
} DepthKey;

/* NaN depths last, then farthest first; the index breaks ties, since qsort is not stable. */
static int by_depth_desc(const void *a, const void *b) {
  const DepthKey *p = a, *q = b;
  int pn = p->z != p->z, qn = q->z != q->z;
  if (pn != qn) return pn - qn;
  if (p->z > q->z) return -1;
  if (p->z < q->z) return 1;
  return (p->i > q->i) - (p->i < q->i);
}

int plot3d_depth_order(const double *vz, int64_t n, int64_t *order) {
  if (n <= 0) return 0;
  DepthKey *k = malloc((size_t)n * sizeof *k);
  if (!k) return -1;
  for (int64_t i = 0; i < n; i++) {
    k[i].z = vz[i];
    k[i].i = i;
  }
  qsort(k, (size_t)n, sizeof *k, by_depth_desc);
  for (int64_t i = 0; i < n; i++) order[i] = k[i].i;
  free(k);
  return 0;
}

void plot3d_depth_shade(const double *vz, int64_t n, double *rgba) {
  double lo = INFINITY, hi = -INFINITY;
  for (int64_t i = 0; i < n; i++)
    if (vz[i] == vz[i]) {
      lo = fmin(lo, vz[i]);
      hi = fmax(hi, vz[i]);
    }
  /* No finite depth: nothing to fade. A flat range fades nothing either (t = 0). */
  if (!(hi >= lo)) return;
  for (int64_t i = 0; i < n; i++) {
    double t = hi > lo ? (vz[i] - lo) / (hi - lo) : 0;
    if (t != t) t = 0;
    rgba[4 * i + 3] *= 1 - t * 0.7;
  }
}
