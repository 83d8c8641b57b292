/* lplot.c - Lua binding for the plot canvas (lunette.PlotCanvas), main part of lunette._plot. */
#include <math.h>
#include <string.h>
#include "tensor/lbase.h"
#include "plot/plot.h"
#include "plot/plot_png.h"

#define CANVAS_MT "lunette.PlotCanvas"

/* ---- argument helpers ------------------------------------------------------- */

/* A float64 contiguous tensor at stack index idx with `ncols` columns
 * (0: 1-D); errors name argument `arg`. */
static Tensor *check_f64_at(lua_State *L, int idx, int arg, const char *fname, int ncols) {
  Tensor *t = ltL_totensor(L, idx);
  char b[64];
  if (!t) ltL_argerror(L, arg, fname, "tensor expected, got %s", luaL_typename(L, idx));
  /* The core reads raw doubles: only contiguous float64 is taken here, the façade converts. */
  if (t->dtype != LT_F64 || !lt_is_contiguous(t))
    ltL_argerror(L, arg, fname, "contiguous float64 tensor expected, got %s",
                 lt_dtype_name(t->dtype));
  if (ncols == 0 && t->ndim != 1)
    ltL_argerror(L, arg, fname, "1-d tensor expected, got %s", ltL_shape_of(t, b, sizeof b));
  if (ncols > 0 && (t->ndim != 2 || t->shape[1] != ncols))
    ltL_argerror(L, arg, fname, "[nx%d] tensor expected, got %s", ncols,
                 ltL_shape_of(t, b, sizeof b));
  return t;
}

static Tensor *check_f64(lua_State *L, int arg, const char *fname, int ncols) {
  return check_f64_at(L, arg, arg, fname, ncols);
}

/* A colour given as {r, g, b, a} (a defaults to 1). */
static PlotRGBA to_rgba(lua_State *L, int idx, int arg, const char *fname) {
  double ch[4] = {0, 0, 0, 1};
  idx = lua_absindex(L, idx);
  if (!lua_istable(L, idx))
    ltL_argerror(L, arg, fname, "colour {r, g, b[, a]} expected, got %s", luaL_typename(L, idx));
  for (int i = 0; i < 4; i++) {
    lua_rawgeti(L, idx, i + 1);
    if (!lua_isnil(L, -1)) ch[i] = lua_tonumber(L, -1);
    lua_pop(L, 1);
  }
  return (PlotRGBA){ch[0], ch[1], ch[2], ch[3]};
}

/* Colours from opts[key]: a {r,g,b,a} table (1 colour) or an [nx4] tensor.
 * Returns the count (0 when the field is absent or false). */
static int64_t field_colors(lua_State *L, int opts, const char *key, int arg, const char *fname,
                            PlotRGBA *one, const PlotRGBA **many) {
  int64_t n = 0;
  lua_getfield(L, opts, key);
  *many = NULL;
  if (ltL_totensor(L, -1)) {
    Tensor *t = check_f64_at(L, lua_gettop(L), arg, fname, 4);
    /* Read in place: an [n x 4] float64 row is laid out as a PlotRGBA (four doubles, no
     * padding). */
    *many = (const PlotRGBA *)t->data;
    n = t->shape[0];
    lua_pop(L, 1); /* the tensor stays alive: it is still referenced by opts */
    return n;
  }
  if (lua_istable(L, -1)) {
    *one = to_rgba(L, -1, arg, fname);
    *many = one;
    n = 1;
  } else if (!lua_isnil(L, -1) && lua_toboolean(L, -1))
    ltL_argerror(L, arg, fname, "'%s' must be a colour table or an [nx4] tensor", key);
  lua_pop(L, 1);
  return n;
}

/* A stroke table {width=, color=, dash=, offset=, cap=, join=}; dash lives in buf.
 * The table is the façade's, nested in the options (errors name its stack slot). */
static int to_stroke(lua_State *L, int idx, int arg, const char *fname, PlotStroke *s, double *buf,
                     int bufn) {
  static const char *const caps[] = {"butt", "round", "projecting", NULL};
  static const char *const joins[] = {"miter", "round", "bevel", NULL};
  memset(s, 0, sizeof *s);
  if (lua_isnoneornil(L, idx) || !lua_toboolean(L, idx)) return 0;
  idx = lua_absindex(L, idx);
  luaL_checktype(L, idx, LUA_TTABLE);
  s->width = ltL_opt_number(L, idx, fname, "width", 1);
  lua_getfield(L, idx, "color");
  s->color = lua_isnil(L, -1) ? (PlotRGBA){0, 0, 0, 1} : to_rgba(L, -1, arg, fname);
  lua_pop(L, 1);
  s->cap = (PlotCap)ltL_opt_enum(L, idx, fname, "cap", caps, 0);
  s->join = (PlotJoin)ltL_opt_enum(L, idx, fname, "join", joins, 0);
  s->dash_offset = ltL_opt_number(L, idx, fname, "offset", 0);
  lua_getfield(L, idx, "dash");
  if (lua_istable(L, -1)) {
    int n = (int)lua_rawlen(L, -1);
    if (n > bufn) ltL_argerror(L, arg, fname, "dash pattern too long (%d > %d)", n, bufn);
    for (int i = 0; i < n; i++) {
      lua_rawgeti(L, -1, i + 1);
      buf[i] = lua_tonumber(L, -1);
      /* A negative (or NaN) length would put the cairo context into a sticky error state. */
      if (!(buf[i] >= 0)) ltL_argerror(L, arg, fname, "dash lengths must be non-negative");
      lua_pop(L, 1);
    }
    s->dash = n ? buf : NULL;
    s->ndash = n;
  }
  lua_pop(L, 1);
  return 1;
}

/* xform = {sx, ox, sy, oy, logx, logy}; returns NULL when absent. */
static const PlotXform *to_xform(lua_State *L, int opts, const char *fname, PlotXform *xf) {
  lua_getfield(L, opts, "xform");
  int present = lua_istable(L, -1);
  if (present) {
    int t = lua_gettop(L);
    xf->sx = ltL_opt_number(L, t, fname, "sx", 1);
    xf->ox = ltL_opt_number(L, t, fname, "ox", 0);
    xf->sy = ltL_opt_number(L, t, fname, "sy", 1);
    xf->oy = ltL_opt_number(L, t, fname, "oy", 0);
    xf->logx = ltL_opt_bool(L, t, fname, "logx", 0);
    xf->logy = ltL_opt_bool(L, t, fname, "logy", 0);
  }
  lua_pop(L, 1);
  return present ? xf : NULL;
}

/* The options table at arg, an empty one put in its place when it is nil or absent, so the option
 * readers need no nil checks. */
static int opt_table(lua_State *L, int arg) {
  if (lua_gettop(L) < arg) lua_settop(L, arg);
  if (lua_isnil(L, arg)) {
    lua_newtable(L);
    lua_replace(L, arg);
  }
  luaL_checktype(L, arg, LUA_TTABLE);
  return arg;
}

/* A UTF-8 string argument (cairo stops drawing at the first bad byte). */
static const char *check_utf8(lua_State *L, int arg, const char *fname) {
  size_t n;
  const char *s = luaL_checklstring(L, arg, &n);
  const unsigned char *p = (const unsigned char *)s, *e = p + n;
  while (p < e) {
    /* The lead byte gives the length (0xxxxxxx, 110xxxxx, 1110xxxx, 11110xxx); every continuation
     * byte must be 10xxxxxx. */
    int len = *p < 0x80 ? 1 : (*p >> 5) == 6 ? 2 : (*p >> 4) == 14 ? 3 : (*p >> 3) == 30 ? 4 : 0;
    if (!len || p + len > e)
      ltL_argerror(L, arg, fname, "text is not valid UTF-8 (byte %d)",
                   (int)(p - (const unsigned char *)s) + 1);
    for (int k = 1; k < len; k++)
      if ((p[k] & 0xc0) != 0x80)
        ltL_argerror(L, arg, fname, "text is not valid UTF-8 (byte %d)",
                     (int)(p - (const unsigned char *)s) + 1);
    p += len;
  }
  /* Cairo takes C strings: a NUL would silently end the text. */
  if (memchr(s, 0, n)) ltL_argerror(L, arg, fname, "text contains a NUL byte");
  return s;
}

/* ---- canvas userdata -------------------------------------------------------------- */

static PlotCanvas *check_canvas(lua_State *L, int arg, const char *fname) {
  PlotCanvas *c = luaL_testudata(L, arg, CANVAS_MT);
  if (!c) ltL_argerror(L, arg, fname, "canvas expected, got %s", luaL_typename(L, arg));
  if (!c->cr) ltL_argerror(L, arg, fname, "canvas is closed");
  return c;
}

static void check_status(lua_State *L, PlotStatus st, const char *fname) {
  switch (st) {
  case PLOT_OK: return;
  case PLOT_ENOMEM: luaL_error(L, "%s: not enough memory", fname); break;
  case PLOT_EVALUE: luaL_error(L, "%s: invalid value", fname); break;
  case PLOT_EIO: luaL_error(L, "%s: write failed", fname); break;
  case PLOT_EINTR: ltL_check_status(L, LT_EINTR, fname); break;
  default: luaL_error(L, "%s: cairo drawing failed", fname); break;
  }
}

/* canvas(format, width, height, dpi[, path]) -> canvas | nil, message */
static int l_canvas(lua_State *L) {
  static const char *const fmts[] = {"png", "pdf", "svg", NULL};
  int fmt = luaL_checkoption(L, 1, NULL, fmts);
  int64_t w = ltL_check_int(L, 2, "canvas", "width"), h = ltL_check_int(L, 3, "canvas", "height");
  double dpi = luaL_checknumber(L, 4);
  const char *path = luaL_optstring(L, 5, NULL);
  /* 32767 a side is Cairo's limit; 2^28 pixels (1 GiB of ARGB32) in all is lunette's. */
  if (w <= 0 || h <= 0 || w > 32767 || h > 32767 || w * h > ((int64_t)1 << 28))
    return ltL_argerror(
        L, 2, "canvas",
        "figure of %lldx%lld pixels is empty or too large (1..32767 a side, 2^28 in all)",
        (long long)w, (long long)h);
  if (!(dpi > 0) || !isfinite(dpi))
    return ltL_argerror(L, 4, "canvas", "dpi must be positive, got %g", dpi);
  if (fmt != PLOT_FMT_PNG && !path)
    return ltL_argerror(L, 5, "canvas", "path needed for %s", fmts[fmt]);
  PlotCanvas *c = lua_newuserdatauv(L, sizeof *c, 1);
  memset(c, 0, sizeof *c);
  luaL_setmetatable(L, CANVAS_MT);
  unsigned char *pixels = NULL;
  if (fmt == PLOT_FMT_PNG) {
    size_t nb = plot_canvas_bytes((int)w, (int)h);
    /* The pixels live in a userdata held as the canvas's user value: the GC counts their size
     * and they live exactly as long as the canvas. */
    pixels = lua_newuserdatauv(L, nb, 0);
    memset(pixels, 0, nb);
    lua_setiuservalue(L, -2, 1);
  }
  char err[512] = "";
  PlotStatus st =
      plot_canvas_open(c, (PlotFormat)fmt, (int)w, (int)h, dpi, pixels, path, err, sizeof err);
  /* A destination that cannot be written is a value (nil, message), as io.open; other failures
   * raise. */
  if (st == PLOT_EIO) {
    plot_canvas_close(c);
    lua_pushnil(L);
    lua_pushstring(L, err);
    return 2;
  }
  if (st != PLOT_OK) {
    plot_canvas_close(c);
    check_status(L, st, "canvas");
  }
  return 1;
}

static int l_close(lua_State *L) {
  PlotCanvas *c = luaL_checkudata(L, 1, CANVAS_MT);
  plot_canvas_close(c);
  return 0;
}

static int l_origin(lua_State *L) {
  PlotCanvas *c = check_canvas(L, 1, "origin");
  plot_canvas_set_origin(c, luaL_checknumber(L, 2), luaL_checknumber(L, 3));
  return 0;
}

static int l_clip(lua_State *L) {
  PlotCanvas *c = check_canvas(L, 1, "clip");
  if (lua_isnoneornil(L, 2)) {
    plot_canvas_unclip(c);
    return 0;
  }
  plot_canvas_clip(c, luaL_checknumber(L, 2), luaL_checknumber(L, 3), luaL_checknumber(L, 4),
                   luaL_checknumber(L, 5));
  return 0;
}

static int l_fill(lua_State *L) {
  PlotCanvas *c = check_canvas(L, 1, "fill");
  plot_canvas_fill(c, to_rgba(L, 2, 2, "fill"));
  return 0;
}

/* c:path(x, y, {xform=, closed=, fill=, stroke=, snap=}) */
static int l_path(lua_State *L) {
  PlotCanvas *c = check_canvas(L, 1, "path");
  Tensor *x = check_f64(L, 2, "path", 0), *y = check_f64(L, 3, "path", 0);
  int o = opt_table(L, 4);
  if (x->shape[0] != y->shape[0])
    return ltL_argerror(L, 3, "path", "x and y lengths differ (%lld and %lld)",
                        (long long)x->shape[0], (long long)y->shape[0]);
  PlotXform xf;
  PlotStroke s;
  double dash[16];
  PlotRGBA fill, *fp = NULL;
  lua_getfield(L, o, "fill");
  if (lua_istable(L, -1)) {
    fill = to_rgba(L, -1, 4, "path");
    fp = &fill;
  }
  lua_pop(L, 1);
  lua_getfield(L, o, "stroke");
  int has_stroke = to_stroke(L, -1, 4, "path", &s, dash, 16);
  lua_pop(L, 1);
  const PlotXform *xfp = to_xform(L, o, "path", &xf);
  int closed = ltL_opt_bool(L, o, "path", "closed", 0);
  int snap = ltL_opt_bool(L, o, "path", "snap", 0);
  PlotStatus st = plot_canvas_path(c, x->data, y->data, x->shape[0], xfp, closed, fp,
                                   has_stroke ? &s : NULL, snap);
  check_status(L, st, "path");
  return 0;
}

/* c:rects(x0, y0, x1, y1, {xform=, fill=, edge=, snap=}) */
static int l_rects(lua_State *L) {
  PlotCanvas *c = check_canvas(L, 1, "rects");
  Tensor *t[4];
  for (int i = 0; i < 4; i++) t[i] = check_f64(L, 2 + i, "rects", 0);
  int o = opt_table(L, 6);
  int64_t n = t[0]->shape[0];
  for (int i = 1; i < 4; i++)
    if (t[i]->shape[0] != n)
      return ltL_argerror(L, 2 + i, "rects", "length %lld differs from %lld",
                          (long long)t[i]->shape[0], (long long)n);
  PlotXform xf;
  PlotStroke s;
  double dash[16];
  PlotRGBA one;
  const PlotRGBA *fills;
  int64_t nf = field_colors(L, o, "fill", 6, "rects", &one, &fills);
  if (nf > 1 && nf != n)
    return ltL_argerror(L, 6, "rects", "%lld fill colours for %lld rectangles", (long long)nf,
                        (long long)n);
  lua_getfield(L, o, "edge");
  int has_edge = to_stroke(L, -1, 6, "rects", &s, dash, 16);
  lua_pop(L, 1);
  const PlotXform *xfp = to_xform(L, o, "rects", &xf);
  int snap = ltL_opt_bool(L, o, "rects", "snap", 0);
  PlotStatus st = plot_canvas_rects(c, t[0]->data, t[1]->data, t[2]->data, t[3]->data, n, xfp,
                                    fills, nf, has_edge ? &s : NULL, snap);
  check_status(L, st, "rects");
  return 0;
}

/* c:polylines(pts [n x len x 2], {color=, width=, cap=}) */
static int l_polylines(lua_State *L) {
  static const char *const caps[] = {"butt", "round", "projecting", NULL};
  PlotCanvas *c = check_canvas(L, 1, "polylines");
  Tensor *p = ltL_check_tensor(L, 2, "polylines");
  char b[64];
  if (p->dtype != LT_F64 || !lt_is_contiguous(p) || p->ndim != 3 || p->shape[2] != 2)
    return ltL_argerror(L, 2, "polylines",
                        "contiguous float64 [n x len x 2] tensor expected, got %s %s",
                        lt_dtype_name(p->dtype), ltL_shape_of(p, b, sizeof b));
  int o = opt_table(L, 3);
  PlotRGBA one;
  const PlotRGBA *cols;
  int64_t nc = field_colors(L, o, "color", 3, "polylines", &one, &cols);
  if (nc > 1 && nc != p->shape[0])
    return ltL_argerror(L, 3, "polylines", "%lld colours for %lld lines", (long long)nc,
                        (long long)p->shape[0]);
  PlotCap cap = (PlotCap)ltL_opt_enum(L, o, "polylines", "cap", caps, 0);
  /* The core takes the points per line as an int. */
  if (p->shape[1] > 1 << 30) return ltL_argerror(L, 2, "polylines", "lines too long");
  double width = ltL_opt_number(L, o, "polylines", "width", 1);
  check_status(
      L, plot_canvas_polylines(c, p->data, p->shape[0], (int)p->shape[1], cols, nc, width, cap),
      "polylines");
  return 0;
}

/* c:round_rect(x0, y0, x1, y1, r, {fill=, stroke=}) */
static int l_round_rect(lua_State *L) {
  PlotCanvas *c = check_canvas(L, 1, "round_rect");
  double v[5];
  for (int i = 0; i < 5; i++) v[i] = luaL_checknumber(L, 2 + i);
  int o = opt_table(L, 7);
  PlotRGBA fill, *fp = NULL;
  PlotStroke s;
  double dash[16];
  lua_getfield(L, o, "fill");
  if (lua_istable(L, -1)) {
    fill = to_rgba(L, -1, 7, "round_rect");
    fp = &fill;
  }
  lua_pop(L, 1);
  lua_getfield(L, o, "stroke");
  int has = to_stroke(L, -1, 7, "round_rect", &s, dash, 16);
  lua_pop(L, 1);
  check_status(L, plot_canvas_round_rect(c, v[0], v[1], v[2], v[3], v[4], fp, has ? &s : NULL),
               "round_rect");
  return 0;
}

/* c:markers(x, y, {xform=, marker=, size=number|tensor, face=, edge=, edge_width=, order=}) */
static int l_markers(lua_State *L) {
  PlotCanvas *c = check_canvas(L, 1, "markers");
  Tensor *x = check_f64(L, 2, "markers", 0), *y = check_f64(L, 3, "markers", 0);
  int o = opt_table(L, 4);
  int64_t n = x->shape[0];
  if (y->shape[0] != n)
    return ltL_argerror(L, 3, "markers", "x and y lengths differ (%lld and %lld)", (long long)n,
                        (long long)y->shape[0]);
  PlotMarkers m = {.n = n, .x = x->data, .y = y->data};
  PlotXform xf;
  m.xf = to_xform(L, o, "markers", &xf);
  lua_getfield(L, o, "marker");
  int filled, mk = plot_marker_from_name(luaL_optstring(L, -1, "o"), &filled);
  if (mk < 0)
    return ltL_argerror(L, 4, "markers",
                        "unknown marker '%s' (o . , ^ v < > s D d p h 8 * + x | _)",
                        lua_tostring(L, -1));
  lua_pop(L, 1);
  m.marker = (PlotMarker)mk;
  double size1;
  /* size: one number for every point, or a tensor of n (or 1). */
  lua_getfield(L, o, "size");
  if (ltL_totensor(L, -1)) {
    Tensor *s = check_f64_at(L, lua_gettop(L), 4, "markers", 0);
    if (s->shape[0] != n && s->shape[0] != 1)
      return ltL_argerror(L, 4, "markers", "%lld sizes for %lld points", (long long)s->shape[0],
                          (long long)n);
    m.size = s->data;
    m.nsize = s->shape[0];
  } else {
    size1 = luaL_optnumber(L, -1, 6);
    /* One size for every point, held on the C stack for the call. */
    m.size = &size1;
    m.nsize = 1;
  }
  lua_pop(L, 1);
  PlotRGBA f1, e1;
  m.nface = field_colors(L, o, "face", 4, "markers", &f1, &m.face);
  m.nedge = field_colors(L, o, "edge", 4, "markers", &e1, &m.edge);
  if ((m.nface > 1 && m.nface != n) || (m.nedge > 1 && m.nedge != n))
    return ltL_argerror(L, 4, "markers", "%lld colours for %lld points",
                        (long long)(m.nface > 1 && m.nface != n ? m.nface : m.nedge), (long long)n);
  m.edge_width = ltL_opt_number(L, o, "markers", "edge_width", 0);
  lua_getfield(L, o, "order");
  if (!lua_isnil(L, -1)) {
    Tensor *ord = ltL_totensor(L, -1);
    if (!ord) return ltL_argerror(L, 4, "markers", "order must be an int64 tensor");
    if (ord->dtype != LT_I64 || !lt_is_contiguous(ord) || ord->ndim != 1 || ord->shape[0] != n)
      return ltL_argerror(L, 4, "markers",
                          "order must be a contiguous int64 tensor of %lld indices", (long long)n);
    m.order = ord->data; /* 0-based, produced by lunette._plot.depth_order */
  }
  lua_pop(L, 1);
  check_status(L, plot_canvas_markers(c, &m), "markers");
  return 0;
}

/* c:image(rgba uint8 [h x w x 4], x, y, w, h, {smooth=, alpha=}) */
static int l_image(lua_State *L) {
  PlotCanvas *c = check_canvas(L, 1, "image");
  Tensor *im = ltL_check_tensor(L, 2, "image");
  char b[64];
  if (im->dtype != LT_U8 || !lt_is_contiguous(im) || im->ndim != 3 || im->shape[2] != 4 ||
      im->shape[0] < 1 || im->shape[1] < 1)
    return ltL_argerror(L, 2, "image", "contiguous uint8 [h x w x 4] tensor expected, got %s %s",
                        lt_dtype_name(im->dtype), ltL_shape_of(im, b, sizeof b));
  /* The core takes the image sides as ints; Cairo would refuse far less anyway. */
  if (im->shape[0] > 1 << 24 || im->shape[1] > 1 << 24)
    return ltL_argerror(L, 2, "image", "image too large");
  double v[4];
  for (int i = 0; i < 4; i++) v[i] = luaL_checknumber(L, 3 + i);
  int o = opt_table(L, 7);
  int smooth = ltL_opt_bool(L, o, "image", "smooth", 0);
  double alpha = ltL_opt_number(L, o, "image", "alpha", 1);
  check_status(L,
               plot_canvas_image(c, im->data, (int)im->shape[1], (int)im->shape[0], v[0], v[1],
                                 v[2], v[3], smooth, alpha),
               "image");
  return 0;
}

/* Reads {size=, family=, bold=, italic=} and placement fields from a text option table. */
static void text_opts(lua_State *L, int o, PlotFont *f, PlotTextPos *p, const char *fname,
                      int arg) {
  static const char *const has[] = {"left", "center", "right", NULL};
  static const char *const vas[] = {"baseline", "bottom", "center", "top", "center_baseline", NULL};
  f->size = ltL_opt_number(L, o, fname, "size", 10);
  if (!(f->size > 0) || !isfinite(f->size))
    ltL_argerror(L, arg, fname, "font size must be positive");
  lua_getfield(L, o, "family");
  /* Only a string: the options table holds it, so it outlives the pop. A number would be
   * converted to a new string that only this stack slot holds, free to be collected. */
  if (!lua_isnil(L, -1) && lua_type(L, -1) != LUA_TSTRING)
    ltL_argerror(L, arg, fname, "option 'family' must be a string, got %s", luaL_typename(L, -1));
  f->family = lua_tostring(L, -1);
  lua_pop(L, 1);
  f->bold = ltL_opt_bool(L, o, fname, "bold", 0);
  f->italic = ltL_opt_bool(L, o, fname, "italic", 0);
  p->rotation = ltL_opt_number(L, o, fname, "rotation", 0);
  p->ha = (PlotHAlign)ltL_opt_enum(L, o, fname, "ha", has, PLOT_HA_LEFT);
  p->va = (PlotVAlign)ltL_opt_enum(L, o, fname, "va", vas, PLOT_VA_BASELINE);
  p->multialign = ltL_opt_enum(L, o, fname, "multialign", has, -1);
  p->linespacing = ltL_opt_number(L, o, fname, "linespacing", 1.2);
  p->anchor_mode = ltL_opt_bool(L, o, fname, "anchor", 0);
}

static int push_bbox(lua_State *L, const double bb[4]) {
  for (int i = 0; i < 4; i++) lua_pushnumber(L, bb[i]);
  return 4;
}

/* c:text(s, x, y, {size=, color=, ha=, va=, rotation=, ...}) -> x0, y0, x1, y1 */
static int l_text(lua_State *L) {
  PlotCanvas *c = check_canvas(L, 1, "text");
  const char *s = check_utf8(L, 2, "text");
  PlotFont f;
  PlotTextPos p;
  memset(&f, 0, sizeof f);
  memset(&p, 0, sizeof p);
  p.x = luaL_checknumber(L, 3);
  p.y = luaL_checknumber(L, 4);
  int o = opt_table(L, 5);
  text_opts(L, o, &f, &p, "text", 5);
  PlotRGBA col = {0, 0, 0, 1};
  lua_getfield(L, o, "color");
  if (!lua_isnil(L, -1)) col = to_rgba(L, -1, 5, "text");
  lua_pop(L, 1);
  double bb[4];
  check_status(L, plot_canvas_text(c, s, &f, &p, col, bb), "text");
  return push_bbox(L, bb);
}

/* c:save(path[, level = PLOT_PNG_LEVEL]) -> true | nil, message */
static int l_save(lua_State *L) {
  PlotCanvas *c = check_canvas(L, 1, "save");
  const char *path = luaL_checkstring(L, 2);
  int level = (int)luaL_optinteger(L, 3, PLOT_PNG_LEVEL);
  char err[600] = "";
  PlotStatus st = plot_canvas_commit(c, path, level, err, sizeof err);
  if (st == PLOT_OK) {
    lua_pushboolean(L, 1);
    return 1;
  }
  /* Ctrl-C raises, as in every other call; a failed write is a value (nil, message), as io.open. */
  if (st == PLOT_EINTR) check_status(L, st, "save");
  lua_pushnil(L);
  lua_pushstring(L, err[0] ? err : "cannot write figure");
  return 2;
}

/* c:pixel(x, y) -> r, g, b, a in 0..255 (straight), for tests */
static int l_pixel(lua_State *L) {
  PlotCanvas *c = check_canvas(L, 1, "pixel");
  int64_t x = ltL_check_int(L, 2, "pixel", "x"), y = ltL_check_int(L, 3, "pixel", "y");
  if (c->fmt != PLOT_FMT_PNG)
    return ltL_argerror(L, 1, "pixel", "only raster canvases have pixels");
  /* Checked here too (the core refuses it as well) for a message that names the coordinates. */
  if (x < 0 || y < 0 || x >= c->width || y >= c->height)
    return ltL_argerror(L, 2, "pixel", "(%lld, %lld) outside the canvas", (long long)x,
                        (long long)y);
  uint8_t rgba[4];
  check_status(L, plot_canvas_pixel(c, (int)x, (int)y, rgba), "pixel");
  for (int i = 0; i < 4; i++) lua_pushinteger(L, rgba[i]);
  return 4;
}

static int l_size(lua_State *L) {
  PlotCanvas *c = check_canvas(L, 1, "size");
  lua_pushinteger(L, c->width);
  lua_pushinteger(L, c->height);
  return 2;
}

/* ---- text measurement (a 1x1 canvas kept as an upvalue) ---------------------------- */

/* text_extent(s, x, y, opts) -> x0, y0, x1, y1 ; text_size(s, opts) -> w, h, descent */
static int l_text_extent(lua_State *L) {
  PlotCanvas *m = lua_touserdata(L, lua_upvalueindex(1));
  const char *s = check_utf8(L, 1, "text_extent");
  PlotFont f;
  PlotTextPos p;
  memset(&f, 0, sizeof f);
  memset(&p, 0, sizeof p);
  p.x = luaL_checknumber(L, 2);
  p.y = luaL_checknumber(L, 3);
  int o = opt_table(L, 4);
  text_opts(L, o, &f, &p, "text_extent", 4);
  double bb[4];
  check_status(L, plot_text_bbox(m, s, &f, &p, bb), "text_extent");
  return push_bbox(L, bb);
}

static int l_text_size(lua_State *L) {
  PlotCanvas *m = lua_touserdata(L, lua_upvalueindex(1));
  const char *s = check_utf8(L, 1, "text_size");
  PlotFont f;
  PlotTextPos p;
  memset(&f, 0, sizeof f);
  memset(&p, 0, sizeof p);
  int o = opt_table(L, 2);
  text_opts(L, o, &f, &p, "text_size", 2);
  double w, h, d;
  check_status(L, plot_text_size(m, s, &f, p.linespacing, &w, &h, &d), "text_size");
  lua_pushnumber(L, w);
  lua_pushnumber(L, h);
  lua_pushnumber(L, d);
  return 3;
}

/* ---- registration ------------------------------------------------------------------ */

static const luaL_Reg canvas_methods[] = {{"origin", l_origin},
                                          {"clip", l_clip},
                                          {"fill", l_fill},
                                          {"path", l_path},
                                          {"rects", l_rects},
                                          {"polylines", l_polylines},
                                          {"round_rect", l_round_rect},
                                          {"markers", l_markers},
                                          {"image", l_image},
                                          {"text", l_text},
                                          {"save", l_save},
                                          {"pixel", l_pixel},
                                          {"size", l_size},
                                          {"close", l_close},
                                          {NULL, NULL}};

static const luaL_Reg module_fns[] = {{"canvas", l_canvas}, {NULL, NULL}};

static void createmeta(lua_State *L) {
  luaL_newmetatable(L, CANVAS_MT);
  luaL_newlib(L, canvas_methods);
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, l_close);
  lua_setfield(L, -2, "__gc");
  lua_pushcfunction(L, l_close);
  lua_setfield(L, -2, "__close");
  lua_pop(L, 1);
}

/* The main part of lunette._plot (src/lunette.c lists every part, lplot_*.c the others):
 * the canvas, and text_extent/text_size measuring on one shared canvas. */
int luaopen_lunette_plot(lua_State *L);
int luaopen_lunette_plot(lua_State *L) {
  createmeta(L);
  luaL_newlib(L, module_fns);
  int mod = lua_gettop(L);
  /* Text is measured (text_extent, text_size) on one 1x1 canvas shared by the closures as their
   * upvalue: a closed-state userdata first, so a failed open leaves nothing to leak. */
  PlotCanvas *m = lua_newuserdatauv(L, sizeof *m, 0);
  memset(m, 0, sizeof *m);
  luaL_setmetatable(L, CANVAS_MT);
  check_status(L, plot_canvas_open(m, PLOT_FMT_MEASURE, 1, 1, 72, NULL, NULL, NULL, 0),
               "lunette._plot");
  lua_pushvalue(L, -1);
  lua_pushcclosure(L, l_text_extent, 1);
  lua_setfield(L, mod, "text_extent");
  lua_pushcclosure(L, l_text_size, 1);
  lua_setfield(L, mod, "text_size");
  return 1;
}
