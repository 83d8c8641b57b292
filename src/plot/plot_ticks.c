/* plot_ticks.c - MaxNLocator, LogLocator and ScalarFormatter, transcribed from matplotlib 3.6. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "plot/plot_ticks.h"

/* Python's float divmod: floor quotient and a remainder with the divisor's sign. */
static void py_divmod(double x, double y, double *div, double *mod) {
  /* CPython's float_divmod step by step: fix the remainder's sign to the divisor's, then round the
   * quotient, which (x - m) / y may leave a hair below an integer. */
  double m = fmod(x, y);
  double d = (x - m) / y;
  if (m != 0) {
    if ((y < 0) != (m < 0)) {
      m += y;
      d -= 1.0;
    }
  } else {
    m = copysign(0.0, y);
  }
  double fd = 0;
  if (d != 0) {
    fd = floor(d);
    if (d - fd > 0.5) fd += 1.0;
  } else {
    fd = copysign(0.0, x / y);
  }
  *div = fd;
  *mod = m;
}

static double py_floordiv(double x, double y) {
  double d, m;
  py_divmod(x, y, &d, &m);
  return d;
}

void plot_nonsingular(double *vmin, double *vmax, double expander, double tiny) {
  double a = *vmin, b = *vmax;
  if (!isfinite(a) || !isfinite(b)) {
    *vmin = -expander;
    *vmax = expander;
    return;
  }
  int swapped = 0;
  if (b < a) {
    double t = a;
    a = b;
    b = t;
    swapped = 1;
  }
  double maxabs = fmax(fabs(a), fabs(b));
  /* Values so close to 0 that the interval cannot be widened relative to them: use +-expander. */
  if (maxabs < (1e6 / tiny) * DBL_MIN) {
    a = -expander;
    b = expander;
  } else if (b - a <= maxabs * tiny) {
    if (b == 0 && a == 0) {
      a = -expander;
      b = expander;
    } else {
      a -= expander * fabs(a);
      b += expander * fabs(b);
    }
  }
  (void)swapped; /* matplotlib's increasing=True swaps back only when asked not to */
  *vmin = a;
  *vmax = b;
}

/* _Edge_integer: tolerance grows with the offset relative to the step. */
typedef struct {
  double step, offset;
} EdgeInt;

static int edge_closeto(const EdgeInt *e, double ms, double edge) {
  /* With a large offset the remainder carries the offset's rounding: allow more slop, up to just
   * under half a step. */
  double tol = 1e-10;
  if (e->offset > 0) {
    double digits = log10(e->offset / e->step);
    tol = fmax(1e-10, pow(10, digits - 12));
    tol = fmin(0.4999, tol);
  }
  return fabs(ms - edge) < tol;
}

static double edge_le(const EdgeInt *e, double x) {
  double d, m;
  py_divmod(x, e->step, &d, &m);
  return edge_closeto(e, m / e->step, 1) ? d + 1 : d;
}

static double edge_ge(const EdgeInt *e, double x) {
  double d, m;
  py_divmod(x, e->step, &d, &m);
  return edge_closeto(e, m / e->step, 0) ? d : d + 1;
}

/* matplotlib's scale_range: the power of ten below the span per bin, and an offset (a power of
 * ten) only when the mean is at least 100 spans from 0. */
static void scale_range(double vmin, double vmax, int n, double *scale, double *offset) {
  double dv = fabs(vmax - vmin);
  double meanv = (vmax + vmin) / 2;
  *offset = 0;
  if (!(fabs(meanv) / dv < 100))
    *offset = copysign(pow(10, py_floordiv(log10(fabs(meanv)), 1)), meanv);
  *scale = pow(10, py_floordiv(log10(dv / n), 1));
}

/* The staircase of candidate steps: 0.1*steps[:-1], steps, 10*steps[1]. */
static int staircase(const double *steps, int nsteps, double *out) {
  int k = 0;
  for (int i = 0; i < nsteps - 1; i++) out[k++] = 0.1 * steps[i];
  for (int i = 0; i < nsteps; i++) out[k++] = steps[i];
  out[k++] = 10 * steps[1];
  return k;
}

/* One attempt at ticks of a given step; returns the count written. */
static int ticks_for_step(double step, double offset, double vmin, double vmax, double *out,
                          int *inside) {
  double best_vmin = py_floordiv(vmin, step) * step;
  EdgeInt e = {step, fabs(offset)};
  /* low and high count steps from best_vmin; a limit within rounding of a multiple of step counts
   * as on it, so no spurious extra tick appears. */
  double low = edge_le(&e, vmin - best_vmin), high = edge_ge(&e, vmax - best_vmin);
  int n = 0;
  *inside = 0;
  for (double k = low; k <= high && n < PLOT_MAX_TICKS; k += 1) {
    double t = k * step + best_vmin;
    if (t <= vmax && t >= vmin) (*inside)++;
    out[n++] = t;
  }
  return n;
}

int plot_ticks_maxn(double vmin, double vmax, int nbins, const double *steps, int nsteps,
                    int integer, int min_n_ticks, double *out) {
  static const double auto_steps[] = {1, 2, 2.5, 5, 10};
  double ext[2 * 16 + 1];
  if (!steps || nsteps < 2 || nsteps > 16) {
    steps = auto_steps;
    nsteps = 5;
  }
  if (!isfinite(vmin) || !isfinite(vmax)) return 0;
  if (nbins < 1) nbins = 1;
  if (min_n_ticks < 1) min_n_ticks = 1;
  plot_nonsingular(&vmin, &vmax, 1e-13, 1e-14);
  double scale, offset;
  scale_range(vmin, vmax, nbins, &scale, &offset);
  double lo = vmin - offset, hi = vmax - offset, raw_step = (hi - lo) / nbins;
  int next = staircase(steps, nsteps, ext), nsel = 0;
  double cand[2 * 16 + 1];
  /* Integer axes keep only whole-number steps, and those below 1 (lifted to 1 below when enough
   * integers lie in the range). */
  for (int i = 0; i < next; i++) {
    double s = ext[i] * scale;
    if (integer && !(s < 1 || fabs(s - rint(s)) < 0.001)) continue;
    cand[nsel++] = s;
  }
  /* Start at the smallest candidate not below the raw step, then try smaller ones while too few
   * ticks fall inside (matplotlib's _raw_ticks). */
  int istep = nsel - 1;
  for (int i = 0; i < nsel; i++)
    if (cand[i] >= raw_step) {
      istep = i;
      break;
    }
  int n = 0;
  for (int i = istep; i >= 0; i--) {
    double step = cand[i];
    if (integer && floor(hi) - ceil(lo) >= min_n_ticks - 1) step = fmax(1, step);
    int inside;
    n = ticks_for_step(step, offset, lo, hi, out, &inside);
    if (inside >= min_n_ticks) break;
  }
  /* Ticks were computed relative to the offset, so large values keep their precision. */
  for (int i = 0; i < n; i++) out[i] += offset;
  return n;
}

int plot_ticks_auto_nbins(double axis_length_pt, double label_size_pt, double factor) {
  double size = label_size_pt * factor;
  int n = size > 0 ? (int)floor(axis_length_pt / size) : 9;
  return n < 1 ? 1 : n > 9 ? 9 : n;
}

/* ---- ScalarFormatter ------------------------------------------------------- */

/* Restricts locs to [vmin, vmax]; returns how many, min and max of |loc| and
 * the signed extremes. */
static int visible_range(const double *locs, int n, double vmin, double vmax, double *lmin,
                         double *lmax) {
  int k = 0;
  for (int i = 0; i < n; i++) {
    if (locs[i] < vmin || locs[i] > vmax) continue;
    if (k == 0 || locs[i] < *lmin) *lmin = locs[i];
    if (k == 0 || locs[i] > *lmax) *lmax = locs[i];
    k++;
  }
  return k;
}

static double compute_offset(const double *locs, int n, double vmin, double vmax) {
  double lmin = 0, lmax = 0;
  if (!visible_range(locs, n, vmin, vmax, &lmin, &lmax)) return 0;
  if (lmin == lmax || (lmin <= 0 && 0 <= lmax)) return 0;
  double abs_min = fmin(fabs(lmin), fabs(lmax)), abs_max = fmax(fabs(lmin), fabs(lmax));
  /* Every visible tick has this sign (a range across 0 returned above); the digits are compared on
   * absolute values. */
  double sign = copysign(1, lmin);
  double oom_max = ceil(log10(abs_max)), oom = oom_max;
  /* Down from oom_max to the first power of ten at which abs_min and abs_max differ; one above it
   * they agree. Doubles span 1e-324..1e308, so 700 steps always end the search. */
  for (int guard = 0; guard < 700; guard++, oom -= 1)
    if (py_floordiv(abs_min, pow(10, oom)) != py_floordiv(abs_max, pow(10, oom))) break;
  oom += 1;
  /* The two straddle a multiple of a large power of ten: look for the power at which they are more
   * than one apart instead. */
  if ((abs_max - abs_min) / pow(10, oom) <= 1e-2) {
    oom = oom_max;
    for (int guard = 0; guard < 700; guard++, oom -= 1)
      if (py_floordiv(abs_max, pow(10, oom)) - py_floordiv(abs_min, pow(10, oom)) > 1) break;
    oom += 1;
  }
  /* An offset only pays when it saves digits: at least 4 leading ones (matplotlib's threshold). */
  double lead = py_floordiv(abs_max, pow(10, oom));
  return lead >= 1000 ? sign * lead * pow(10, oom) : 0;
}

static int order_of_magnitude(const double *locs, int n, double vmin, double vmax, double offset) {
  double lmin = 0, lmax = 0, val = 0;
  if (!visible_range(locs, n, vmin, vmax, &lmin, &lmax)) return 0;
  int oom;
  if (offset != 0) {
    oom = (int)floor(log10(vmax - vmin));
  } else {
    val = fmax(fabs(lmin), fabs(lmax));
    oom = val == 0 ? 0 : (int)floor(log10(val));
  }
  return (oom <= -5 || oom >= 6) ? oom : 0;
}

/* numpy's round for decimals >= 0: scale, round half to even, scale back. */
static double np_round(double x, int decimals) {
  double p = pow(10, decimals);
  return rint(x * p) / p;
}

/* The decimals ScalarFormatter._set_format chooses: the fewest at which every label rounds to
 * within 1e-3 x 10^(the range's order of magnitude) of its value. */
static int format_decimals(const double *locs, int n, double vmin, double vmax, double offset,
                           int oom) {
  double v[PLOT_MAX_TICKS + 2], scale = pow(10, oom);
  int m = 0;
  for (int i = 0; i < n; i++) v[m++] = (locs[i] - offset) / scale;
  /* With fewer than two ticks the view limits join in to give a range, then drop out again (m = n
   * below). */
  if (n < 2) {
    v[m++] = (vmin - offset) / scale;
    v[m++] = (vmax - offset) / scale;
  }
  double lo = v[0], hi = v[0], amax = 0;
  for (int i = 0; i < m; i++) {
    lo = fmin(lo, v[i]);
    hi = fmax(hi, v[i]);
    amax = fmax(amax, fabs(v[i]));
  }
  double range = hi - lo;
  if (range == 0) range = amax;
  if (range == 0) range = 1;
  if (n < 2) m = n;
  int range_oom = (int)floor(log10(range));
  int sig = 3 - range_oom > 0 ? 3 - range_oom : 0;
  double thresh = 1e-3 * pow(10, range_oom);
  while (sig >= 0) {
    double worst = 0;
    for (int i = 0; i < m; i++) worst = fmax(worst, fabs(v[i] - np_round(v[i], sig)));
    if (worst < thresh)
      sig--;
    else
      break;
  }
  return sig + 1;
}

/* Replaces ASCII '-' by U+2212 MINUS SIGN, as axes.unicode_minus does. */
static void fix_minus(const char *in, char *out, size_t n) {
  size_t k = 0;
  /* k + 4 < n: room for a 3-byte minus and the NUL. */
  for (; *in && k + 4 < n; in++) {
    if (*in == '-') {
      out[k++] = (char)0xe2;
      out[k++] = (char)0x88;
      out[k++] = (char)0x92;
    } else
      out[k++] = *in;
  }
  out[k] = 0;
}

/* ScalarFormatter.format_data: "1e3", "2.5e-4", "7". */
static void format_data(double value, char *buf, size_t n) {
  int e = (int)floor(log10(fabs(value)));
  double s = np_round(value / pow(10, e), 10);
  char sig[24];
  if (fmod(s, 1) == 0)
    snprintf(sig, sizeof sig, "%d", (int)s);
  else
    snprintf(sig, sizeof sig, "%1.10g", s);
  if (e == 0)
    snprintf(buf, n, "%s", sig);
  else
    snprintf(buf, n, "%se%d", sig, e);
}

int plot_ticks_format(const double *locs, int n, double vmin, double vmax, char *labels,
                      size_t label_len, char *offset_text, size_t offset_len) {
  if (n > PLOT_MAX_TICKS || n < 0) return -1;
  if (vmin > vmax) {
    double t = vmin;
    vmin = vmax;
    vmax = t;
  }
  if (offset_len) offset_text[0] = 0;
  if (n == 0) return 0;
  double offset = compute_offset(locs, n, vmin, vmax);
  int oom = order_of_magnitude(locs, n, vmin, vmax, offset);
  int dec = format_decimals(locs, n, vmin, vmax, offset, oom);
  for (int i = 0; i < n; i++) {
    char tmp[64];
    double xp = (locs[i] - offset) / pow(10, oom);
    if (fabs(xp) < 1e-8) xp = 0;
    snprintf(tmp, sizeof tmp, "%1.*f", dec, xp);
    fix_minus(tmp, labels + (size_t)i * label_len, label_len);
  }
  if ((oom || offset != 0) && offset_len) {
    char sci[16] = "", off[48] = "", all[96];
    if (offset != 0) {
      char d[40];
      format_data(offset, d, sizeof d);
      snprintf(off, sizeof off, "%s%s", offset > 0 ? "+" : "", d);
    }
    if (oom) snprintf(sci, sizeof sci, "1e%d", oom);
    snprintf(all, sizeof all, "%s%s", sci, off);
    fix_minus(all, offset_text, offset_len);
  }
  return 0;
}

int plot_ticks_log(double vmin, double vmax, int numticks, double *out) {
  if (!(vmin > 0) || !(vmax > 0) || !isfinite(vmin) || !isfinite(vmax)) return 0;
  if (vmax < vmin) {
    double t = vmin;
    vmin = vmax;
    vmax = t;
  }
  if (numticks < 2) numticks = 2;
  double log_vmin = log10(vmin), log_vmax = log10(vmax);
  int numdec = (int)(floor(log_vmax) - ceil(log_vmin));
  /* matplotlib's non-classic stride, (numdec + 1) // numticks + 1; numdec >= -1, so C's division
   * agrees with Python's floor division. A stride covering the whole range is cut back so that
   * more than one tick shows. */
  int stride = (numdec + 1) / numticks + 1;
  if (stride >= numdec) stride = numdec - 1 > 1 ? numdec - 1 : 1;
  int n = 0;
  /* From a stride below to two above the limits, as matplotlib, so the decades bracket the view. */
  double start = floor(log_vmin) - stride, stop = ceil(log_vmax) + 2 * stride;
  for (double d = start; d < stop && n < PLOT_MAX_TICKS; d += stride) out[n++] = pow(10, d);
  return n;
}
