/* plot_color.c - colour parsing, name suggestions, colormap lookup and seaborn's husl palette. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "plot/plot_color.h"

/* Copies spec lower-cased and trimmed into buf; returns its length or -1. */
static int normalise(const char *spec, char *buf, size_t n) {
  while (*spec && isspace((unsigned char)*spec)) spec++;
  size_t len = strlen(spec);
  while (len > 0 && isspace((unsigned char)spec[len - 1])) len--;
  if (len == 0 || len >= n) return -1;
  for (size_t i = 0; i < len; i++) buf[i] = (char)tolower((unsigned char)spec[i]);
  buf[len] = 0;
  return (int)len;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

/* "#rgb", "#rgba", "#rrggbb", "#rrggbbaa" */
static int parse_hex(const char *s, int len, PlotRGBA *out) {
  double ch[4] = {0, 0, 0, 1};
  int digits = len - 1, per = (digits == 3 || digits == 4) ? 1 : 2;
  if (digits != 3 && digits != 4 && digits != 6 && digits != 8) return -1;
  for (int i = 0; i < digits / per; i++) {
    int v = 0;
    for (int k = 0; k < per; k++) {
      int h = hexval(s[1 + i * per + k]);
      if (h < 0) return -1;
      v = v * 16 + h;
    }
    /* One digit stands for a doubled one: 0xf is 0xff, i.e. v * 17. */
    ch[i] = per == 1 ? (v * 17) / 255.0 : v / 255.0;
  }
  *out = (PlotRGBA){ch[0], ch[1], ch[2], ch[3]};
  return 0;
}

/* A grey level such as "0.75" (matplotlib accepts a string float in [0,1]). */
static int parse_grey(const char *s, PlotRGBA *out) {
  char *end;
  double v = strtod(s, &end);
  if (end == s || *end != 0 || !(v >= 0 && v <= 1)) return -1;
  *out = (PlotRGBA){v, v, v, 1};
  return 0;
}

static const PlotNamedColor *find_named(const char *s) {
  /* matplotlib spells "grey" and "gray" alike */
  char alt[64];
  const char *p = strstr(s, "grey");
  if (p && strlen(s) < sizeof alt) {
    strcpy(alt, s);
    alt[p - s + 2] = 'a';
    s = alt;
  }
  for (const PlotNamedColor *c = plot_named_colors; c->name; c++)
    if (strcmp(c->name, s) == 0) return c;
  return NULL;
}

int plot_color_parse(const char *spec, PlotRGBA *out) {
  char s[64];
  int len = normalise(spec, s, sizeof s);
  if (len < 0) return -1;
  if (strcmp(s, "none") == 0) {
    *out = (PlotRGBA){0, 0, 0, 0};
    return 0;
  }
  if (s[0] == '#') return parse_hex(s, len, out);
  const PlotNamedColor *c = find_named(s);
  if (c) {
    *out = (PlotRGBA){c->r, c->g, c->b, 1};
    return 0;
  }
  return parse_grey(s, out);
}

/* Levenshtein distance, capped by the short buffers the names fit in. */
static int edit_distance(const char *a, const char *b) {
  int la = (int)strlen(a), lb = (int)strlen(b);
  /* One row of the table, updated in place: prev carries the diagonal entry from the row above. */
  int row[64];
  if (la > 62 || lb > 62) return 99;
  for (int j = 0; j <= lb; j++) row[j] = j;
  for (int i = 1; i <= la; i++) {
    int prev = row[0];
    row[0] = i;
    for (int j = 1; j <= lb; j++) {
      int cur = row[j];
      int cost = a[i - 1] == b[j - 1] ? 0 : 1;
      int best = prev + cost;
      if (row[j] + 1 < best) best = row[j] + 1;
      if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
      row[j] = best;
      prev = cur;
    }
  }
  return row[lb];
}

/* Candidate name i from the colour or colormap table (NULL past the end). */
static const char *candidate(int cmaps, int i) {
  return cmaps ? plot_cmap_table[i].name : plot_named_colors[i].name;
}

char *plot_name_suggest(const char *spec, int cmaps, int k, char *buf, size_t n) {
  char s[64];
  const char *best[8];
  int bestd[8], nb = 0;
  buf[0] = 0;
  if (k > 8) k = 8;
  /* No room asked for: the insertion below would compare with and store into bestd[k - 1]. */
  if (k <= 0) return buf;
  /* The spec is normalised like the names, so case and surrounding spaces do not count. */
  if (normalise(spec, s, sizeof s) < 0) return buf;
  for (int i = 0; candidate(cmaps, i); i++) {
    char lname[64];
    if (normalise(candidate(cmaps, i), lname, sizeof lname) < 0) continue;
    int d = edit_distance(s, lname);
    if (strstr(lname, s) && strlen(s) >= 3) d = d < 2 ? d : 2; /* "blu" -> "blue", "tab:blue" */
    /* Keep names within 3 edits, or within half the spec's length for long specs. */
    if (d > 3 && d * 2 > (int)strlen(s)) continue;
    /* Insertion into the best list, kept sorted by distance and at most k long. */
    int pos = nb < k ? nb++ : k;
    if (pos == k && d >= bestd[k - 1]) continue;
    if (pos == k) pos = k - 1;
    while (pos > 0 && bestd[pos - 1] > d) {
      best[pos] = best[pos - 1];
      bestd[pos] = bestd[pos - 1];
      pos--;
    }
    best[pos] = candidate(cmaps, i);
    bestd[pos] = d;
  }
  size_t used = 0;
  for (int i = 0; i < nb && used + 1 < n; i++)
    used += (size_t)snprintf(buf + used, n - used, "%s%s", i ? ", " : "", best[i]);
  return buf;
}

const PlotCmapData *plot_cmap_find(const char *name, int *reversed) {
  size_t len = strlen(name);
  *reversed = 0;
  if (len > 2 && strcmp(name + len - 2, "_r") == 0) {
    *reversed = 1;
    len -= 2;
  }
  for (const PlotCmapData *c = plot_cmap_table; c->name; c++)
    if (strlen(c->name) == len && strncmp(c->name, name, len) == 0) return c;
  /* matplotlib names are case-sensitive, but "greys" for "Greys" is a kindness */
  for (const PlotCmapData *c = plot_cmap_table; c->name; c++)
    if (strlen(c->name) == len && strncasecmp(c->name, name, len) == 0) return c;
  return NULL;
}

static void put_row(const PlotCmapData *cm, int reversed, int64_t i, double alpha, double *o) {
  if (i < 0) i = 0;
  if (i > cm->n - 1) i = cm->n - 1;
  /* A reversed map reads the same table from the other end. */
  if (reversed) i = cm->n - 1 - i;
  const double *row = cm->lut + 3 * i;
  o[0] = row[0];
  o[1] = row[1];
  o[2] = row[2];
  o[3] = alpha;
}

void plot_cmap_map(const PlotCmapData *cm, int reversed, const double *v, int64_t n, double vmin,
                   double vmax, double alpha, double *out) {
  double span = vmax - vmin;
  for (int64_t k = 0; k < n; k++) {
    double x = v[k];
    double *o = out + 4 * k;
    if (x != x) {
      o[0] = o[1] = o[2] = o[3] = 0;
      continue;
    }
    x = span > 0 ? (x - vmin) / span : 0;
    /* matplotlib clips xa to [-1, N] before truncating, then sends -1 and N to the under and over
     * colours, which default to the end colours: clamping in put_row does the same. */
    double xa = x * cm->n;
    if (xa < -1) xa = -1;
    if (xa > cm->n) xa = cm->n;
    put_row(cm, reversed, (int64_t)xa, alpha, o); /* truncates toward zero like astype(int) */
  }
}

void plot_cmap_index(const PlotCmapData *cm, int reversed, const int64_t *idx, int64_t n,
                     double alpha, double *out) {
  for (int64_t k = 0; k < n; k++) put_row(cm, reversed, idx[k], alpha, out + 4 * k);
}

/* ---- HUSL (seaborn/external/husl.py) ------------------------------------- */

/* The XYZ to linear sRGB matrix, the D65 white point's u'v', and the CIE epsilon and kappa, with
 * husl.py's rounding of each. */
static const double husl_m[3][3] = {
    {3.2406, -1.5372, -0.4986}, {-0.9689, 1.8758, 0.0415}, {0.0557, -0.2040, 1.0570}};
#define HUSL_REFU  0.19784
#define HUSL_REFV  0.46834
#define HUSL_LAB_E 0.008856
#define HUSL_LAB_K 903.3

/* The largest chroma at lightness L and hue H that stays inside the sRGB gamut: the nearest of the
 * six lines where one channel reaches 0 or 1 (husl.py's max_chroma). */
static double husl_max_chroma(double L, double H) {
  double hrad = H * M_PI / 180, sinH = sin(hrad), cosH = cos(hrad);
  double sub1 = pow(L + 16, 3.0) / 1560896.0;
  double sub2 = sub1 > HUSL_LAB_E ? sub1 : L / HUSL_LAB_K;
  double result = INFINITY;
  for (int r = 0; r < 3; r++) {
    double m1 = husl_m[r][0], m2 = husl_m[r][1], m3 = husl_m[r][2];
    double top = (0.99915 * m1 + 1.05122 * m2 + 1.14460 * m3) * sub2;
    double rbottom = 0.86330 * m3 - 0.17266 * m2;
    double lbottom = 0.12949 * m3 - 0.38848 * m1;
    double bottom = (rbottom * sinH + lbottom * cosH) * sub2;
    for (int t = 0; t < 2; t++) {
      double C = L * (top - 1.05122 * t) / (bottom + 0.17266 * sinH * t);
      if (C > 0 && C < result) result = C;
    }
  }
  return result;
}

/* The sRGB transfer curve (linear light to gamma-encoded). */
static double husl_from_linear(double c) {
  return c <= 0.0031308 ? 12.92 * c : 1.055 * pow(c, 1 / 2.4) - 0.055;
}

/* CIE L* back to relative luminance Y (with its linear segment near black). */
static double husl_f_inv(double t) {
  return pow(t, 3) > HUSL_LAB_E ? pow(t, 3) : (116 * t - 16) / HUSL_LAB_K;
}

void plot_husl_to_rgb(double h, double s, double l, double rgb[3]) {
  double L, C;
  /* LCh(uv) -> Luv -> XYZ -> linear sRGB -> sRGB, as husl.py's husl_to_rgb; at the extremes of
   * lightness the chroma is forced to 0 (white and black). */
  if (l > 99.9999999) {
    L = 100;
    C = 0;
  } else if (l < 0.00000001) {
    L = 0;
    C = 0;
  } else {
    L = l;
    C = husl_max_chroma(l, h) / 100 * s;
  }
  double hrad = h * M_PI / 180, U = cos(hrad) * C, V = sin(hrad) * C;
  double xyz[3] = {0, 0, 0};
  if (L != 0) {
    double varY = husl_f_inv((L + 16) / 116);
    double varU = U / (13 * L) + HUSL_REFU, varV = V / (13 * L) + HUSL_REFV;
    double Y = varY;
    double X = 0 - (9 * Y * varU) / ((varU - 4.0) * varV - varU * varV);
    double Z = (9.0 * Y - (15.0 * varV * Y) - (varV * X)) / (3.0 * varV);
    xyz[0] = X;
    xyz[1] = Y;
    xyz[2] = Z;
  }
  for (int i = 0; i < 3; i++) {
    double c =
        husl_from_linear(husl_m[i][0] * xyz[0] + husl_m[i][1] * xyz[1] + husl_m[i][2] * xyz[2]);
    rgb[i] = c < 0 ? 0 : c > 1 ? 1 : c;
  }
}

void plot_husl_palette(int n, double h, double s, double l, double *out) {
  for (int i = 0; i < n; i++) {
    /* 359 and 99, not 360 and 100: seaborn's husl_palette scales so. */
    double hue = fmod((double)i / n + h, 1.0) * 359;
    plot_husl_to_rgb(hue, s * 99, l * 99, out + 3 * i);
  }
}
