/* lselect.c - Lua binding for subset selection: an options table in, indices and scores out. */
#include <math.h>
#include <string.h>
#include "tensor/lbase.h"
#include "select/select.h"

/* Every selection function takes one options table (argument #1); errors
 * name the option. Values the binding derives (float32 copies, labels,
 * groups, scratch) are pushed as tensors and live until the call returns. */
typedef struct {
  const char *fname;
  int64_t n;        /* rows */
  int64_t nclasses; /* 0 when no labels */
  const int64_t *labels;
  int per_class;
  LtGroups g;
  int64_t *k;    /* one budget per group */
  int64_t total; /* sum of k */
} SelCall;

#define OPT 1

static void check_opts(lua_State *L, const char *fname) {
  if (!lua_istable(L, OPT))
    ltL_argerror(L, OPT, fname, "options table expected, got %s", luaL_typename(L, OPT));
}

/* Pushes opts[key] (nil when absent) and returns its type. */
static int field(lua_State *L, const char *key) { return lua_getfield(L, OPT, key); }

/* opts[key] as a finite number: the shared reader, then select's range. */
static double opt_number(lua_State *L, const SelCall *s, const char *key, double def) {
  double v = ltL_opt_number(L, OPT, s->fname, key, def);
  if (!isfinite(v)) ltL_argerror(L, OPT, s->fname, "%s must be finite, got %g", key, v);
  return v;
}

/* Pushes a contiguous float32 copy of the tensor at idx (or idx itself): the kernels read
 * contiguous float32, so any other dtype or layout is copied once. */
static Tensor *push_f32(lua_State *L, int idx) {
  Tensor *t = ltL_totensor(L, idx);
  if (t->dtype == LT_F32 && lt_is_contiguous(t)) {
    lua_pushvalue(L, idx);
    return t;
  }
  Tensor *c = ltL_push_new_like(L, t, LT_F32);
  ltL_check_status(L, lt_copy(c, t), "select");
  return c;
}

/* Replaces the value on top of the stack (named key in messages) by a
 * contiguous float32 [n x d] copy with finite entries and one row per
 * example (any n while s->n is still unknown); stores n and d. */
static const float *check_matrix(lua_State *L, SelCall *s, const char *key, int64_t *n,
                                 int64_t *d) {
  char b[64];
  Tensor *t = ltL_totensor(L, -1);
  if (!t || t->ndim != 2 || !lt_dtype_is_float(t->dtype))
    ltL_argerror(L, OPT, s->fname, "%s must be a 2-d float tensor [n x d], got %s %s", key,
                 t ? lt_dtype_name(t->dtype) : luaL_typename(L, -1),
                 t ? ltL_shape_of(t, b, sizeof b) : "");
  if (s->n >= 0 && t->shape[0] != s->n)
    ltL_argerror(L, OPT, s->fname, "%s has %lld rows, expected %lld (one per example)", key,
                 (long long)t->shape[0], (long long)s->n);
  if (t->shape[0] == 0 || t->shape[1] == 0)
    ltL_argerror(L, OPT, s->fname, "%s is empty %s", key, ltL_shape_of(t, b, sizeof b));
  Tensor *c = push_f32(L, lua_gettop(L));
  lua_remove(L, -2);
  *n = c->shape[0];
  *d = c->shape[1];
  /* Non-finite rows are refused up front: the greedy comparisons and sorts assume finite values. */
  int64_t bad = lt_select_first_nonfinite(c->data, *n, *d);
  if (bad >= 0)
    ltL_argerror(L, OPT, s->fname, "%s row %lld contains NaN or Inf", key, (long long)bad + 1);
  if (s->n < 0) s->n = *n;
  return c->data;
}

/* Pushes opts[key] through check_matrix; NULL (nothing pushed) when absent
 * and not required. */
static const float *opt_matrix(lua_State *L, SelCall *s, const char *key, int required, int64_t *n,
                               int64_t *d) {
  if (field(L, key) == LUA_TNIL) {
    lua_pop(L, 1);
    if (required) ltL_argerror(L, OPT, s->fname, "%s required (a [n x d] float tensor)", key);
    return NULL;
  }
  return check_matrix(L, s, key, n, d);
}

/* Reads opts.labels (class numbers 1..C, one per row, as lunette.data and
 * lunette.nn number them) and opts.num_classes (default: the largest label);
 * pushes the int64 copy, converted to 0-based for the core. */
static void opt_labels(lua_State *L, SelCall *s, int required) {
  char b[64];
  field(L, "labels");
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    if (required)
      ltL_argerror(L, OPT, s->fname, "labels required (class numbers 1..C, one per row)");
    return;
  }
  Tensor *t = ltL_totensor(L, -1);
  if (!t || t->ndim != 1 || lt_dtype_is_float(t->dtype) || t->dtype == LT_BOOL)
    ltL_argerror(L, OPT, s->fname, "labels must be a 1-d integer tensor, got %s %s",
                 t ? lt_dtype_name(t->dtype) : luaL_typename(L, -1),
                 t ? ltL_shape_of(t, b, sizeof b) : "");
  if (s->n >= 0 && t->shape[0] != s->n)
    ltL_argerror(L, OPT, s->fname, "labels has %lld entries, expected %lld (one per row)",
                 (long long)t->shape[0], (long long)s->n);
  if (s->n < 0) s->n = t->shape[0];
  Tensor *c = ltL_push_new(L, LT_I64, 1, t->shape);
  ltL_check_status(L, lt_copy(c, t), s->fname);
  lua_remove(L, -2);
  int64_t *y = c->data, mx = 0;
  for (int64_t i = 0; i < s->n; i++) {
    if (y[i] < 1)
      ltL_argerror(L, OPT, s->fname, "labels[%lld] = %lld: classes are numbered from 1",
                   (long long)i + 1, (long long)y[i]);
    if (y[i] > mx) mx = y[i];
    y[i] -= 1;
  }
  /* Checked as a double first: casting a huge or fractional value to int64 would be undefined or
   * silently truncate. */
  double Cf = opt_number(L, s, "num_classes", (double)mx);
  if (Cf != floor(Cf) || Cf < 1 || Cf > 1e6)
    ltL_argerror(L, OPT, s->fname, "num_classes must be an integer in 1..1e6, got %g", Cf);
  int64_t C = (int64_t)Cf;
  if (mx > C)
    ltL_argerror(L, OPT, s->fname, "labels hold class %lld but num_classes is %lld", (long long)mx,
                 (long long)C);
  s->labels = y;
  s->nclasses = C;
}

/* Decides per_class (default: whether labels were given) and builds the groups. */
static void make_groups(lua_State *L, SelCall *s) {
  s->per_class = ltL_opt_bool(L, OPT, s->fname, "per_class", s->labels != NULL);
  if (s->per_class && !s->labels)
    ltL_argerror(L, OPT, s->fname,
                 "per_class needs labels (class numbers 1..C), or pass per_class = false");
  int64_t ng = s->per_class ? s->nclasses : 1, so[1] = {s->n}, ss[1] = {ng + 1};
  Tensor *order = ltL_push_new(L, LT_I64, 1, so), *start = ltL_push_new(L, LT_I64, 1, ss);
  lt_select_groups(&s->g, s->per_class ? s->labels : NULL, s->n, ng, order->data, start->data);
  /* Every group must give at least one pick, so an empty class (num_classes past the largest
   * label, or a gap) is an error. */
  for (int64_t c = 0; c < ng; c++)
    if (s->g.start[c + 1] == s->g.start[c])
      ltL_argerror(L, OPT, s->fname, "class %lld is empty (no rows with that label)",
                   (long long)c + 1);
}

/* Reads opts.budget - a fraction in (0, 1] (a float) or a row count (an
 * integer) - into one k per group: per class, k = floor(fraction * n / C)
 * or count // C, as SAGE's class-balanced rule. */
static void make_budget(lua_State *L, SelCall *s) {
  int t = field(L, "budget"), isint = lua_isinteger(L, -1);
  double f = lua_tonumber(L, -1);
  lua_Integer cnt = lua_tointeger(L, -1);
  if (t == LUA_TNIL)
    ltL_argerror(L, OPT, s->fname, "budget required (a fraction in (0, 1] or an integer count)");
  if (t != LUA_TNUMBER)
    ltL_argerror(L, OPT, s->fname, "budget must be a number, got %s", luaL_typename(L, -1));
  lua_pop(L, 1);
  int64_t ng = s->g.ngroups, shape[1] = {ng}, k;
  if (isint) {
    if (cnt < 1 || cnt > s->n)
      ltL_argerror(L, OPT, s->fname, "budget %lld is not a count in 1..%lld", (long long)cnt,
                   (long long)s->n);
    k = (int64_t)cnt / ng;
    if (k < 1)
      ltL_argerror(L, OPT, s->fname, "budget %lld is less than one row per class (%lld classes)",
                   (long long)cnt, (long long)ng);
  } else {
    if (!(f > 0 && f <= 1))
      ltL_argerror(L, OPT, s->fname,
                   "budget %g: a fraction must be in (0, 1] (give a count as an integer)", f);
    /* +1e-9: the product can fall just short of the integer it equals (0.29 * 100 is
     * 28.999999999999996). */
    k = (int64_t)floor(f * (double)s->n / (double)ng + 1e-9);
    if (k < 1)
      ltL_argerror(L, OPT, s->fname, "budget %g selects no rows (%g x %lld rows / %lld groups)", f,
                   f, (long long)s->n, (long long)ng);
  }
  Tensor *kt = ltL_push_new(L, LT_I64, 1, shape);
  s->k = kt->data;
  s->total = 0;
  for (int64_t c = 0; c < ng; c++) {
    int64_t m = s->g.start[c + 1] - s->g.start[c];
    if (k > m) {
      if (ng > 1)
        ltL_argerror(L, OPT, s->fname,
                     "budget larger than a class: class %lld has %lld rows, %lld requested",
                     (long long)c + 1, (long long)m, (long long)k);
      ltL_argerror(L, OPT, s->fname, "budget %lld is larger than the %lld rows", (long long)k,
                   (long long)m);
    }
    s->k[c] = k;
    s->total += k;
  }
}

/* Scratch as a tensor on the stack: the GC frees it, even when an error unwinds the call. */
static void *push_bytes(lua_State *L, size_t bytes) {
  int64_t shape[1] = {(int64_t)(bytes > 0 ? bytes : 1)};
  return ltL_push_new(L, LT_U8, 1, shape)->data;
}

static LtPick *push_picks_buffer(lua_State *L, const SelCall *s) {
  return push_bytes(L, (size_t)s->total * sizeof(LtPick));
}

/* Orders the picks and returns indices (int64, 1-based), scores (float32)
 * and, when with_weights, weights (float32). */
static int push_result(lua_State *L, const SelCall *s, LtPick *p, int by_rank, int largest,
                       int with_weights) {
  lt_select_order(p, s->total, by_rank, largest);
  int64_t shape[1] = {s->total};
  int64_t *idx = ltL_push_new(L, LT_I64, 1, shape)->data;
  float *sc = ltL_push_new(L, LT_F32, 1, shape)->data;
  float *w = with_weights ? ltL_push_new(L, LT_F32, 1, shape)->data : NULL;
  for (int64_t i = 0; i < s->total; i++) {
    idx[i] = p[i].index + 1;
    sc[i] = (float)p[i].score;
    if (w) w[i] = (float)p[i].weight;
  }
  return with_weights ? 3 : 2;
}

static void raise_status(lua_State *L, const SelCall *s, LtStatus st) {
  /* The scratch came from the method's own *_scratch function: a shortfall is lunette's bug. */
  if (st == LT_ENOMEM) ltL_argerror(L, OPT, s->fname, "scratch too small (internal error)");
  ltL_check_status(L, st, s->fname);
}

static void begin(lua_State *L, SelCall *s, const char *fname) {
  memset(s, 0, sizeof *s);
  s->fname = fname;
  s->n = -1;
  check_opts(L, fname);
  /* The options table is the only argument: everything pushed later sits above it. */
  lua_settop(L, 1);
}

/* Rows, labels, groups and budget, in the order every method needs them. */
static const float *setup_matrix(lua_State *L, SelCall *s, const char *key, int64_t *d) {
  int64_t n;
  const float *X = opt_matrix(L, s, key, 1, &n, d);
  opt_labels(L, s, 0);
  make_groups(L, s);
  make_budget(L, s);
  return X;
}

/* ---- SAGE ------------------------------------------------------------------ */

/* agreement_scores{grads, labels, per_class, num_classes, centroids} -> scores [n], centroids
 * [groups x d]; with centroids (float32 [groups x d]) the rows are scored against those. */
static int s_agreement_scores(lua_State *L) {
  SelCall s;
  int64_t n, d;
  begin(L, &s, "agreement_scores");
  const float *G = opt_matrix(L, &s, "grads", 1, &n, &d);
  opt_labels(L, &s, 0);
  make_groups(L, &s);
  int64_t sn[1] = {n}, sc[2] = {s.g.ngroups, d}, sd[1] = {LT_AGREE_PARTS * d};
  Tensor *given = field(L, "centroids") == LUA_TNIL ? NULL : ltL_totensor(L, -1);
  if (given && (given->dtype != LT_F32 || !lt_is_contiguous(given) || given->ndim != 2 ||
                given->shape[0] != sc[0] || given->shape[1] != d))
    ltL_argerror(L, OPT, s.fname, "centroids must be a contiguous float32 [%lld x %lld] tensor",
                 (long long)sc[0], (long long)d);
  if (!given && !lua_isnil(L, -1)) ltL_argerror(L, OPT, s.fname, "centroids must be a tensor");
  Tensor *scores = ltL_push_new(L, LT_F32, 1, sn);
  Tensor *cent = given ? NULL : ltL_push_new(L, LT_F32, 2, sc);
  float *norms = ltL_push_new(L, LT_F32, 1, sn)->data;
  if (given) {
    lt_select_unit_norms(G, n, d, norms);
    lt_select_agreement_given(G, d, &s.g, norms, given->data, scores->data);
    lua_pop(L, 1);
    lua_pushvalue(L, -2);
    return 2;
  }
  double *work = ltL_push_new(L, LT_F64, 1, sd)->data;
  lt_select_agreement(G, n, d, &s.g, scores->data, cent->data, work, norms);
  lua_pop(L, 2);
  return 2;
}

/* _agreement_sums{grads, labels, per_class, num_classes} -> sums float64 [groups x d] (each
 * group's rows divided by their norms, summed), counts int64 [groups]: what a centroid is made
 * of, to be summed over ranks. */
static int s_agreement_sums(lua_State *L) {
  SelCall s;
  int64_t n, d;
  begin(L, &s, "agreement_scores");
  const float *G = opt_matrix(L, &s, "grads", 1, &n, &d);
  opt_labels(L, &s, 0);
  make_groups(L, &s);
  int64_t sn[1] = {n}, sc[2] = {s.g.ngroups, d}, sg[1] = {s.g.ngroups};
  int64_t sd[1] = {LT_AGREE_PARTS * d};
  Tensor *sums = ltL_push_new(L, LT_F64, 2, sc);
  Tensor *counts = ltL_push_new(L, LT_I64, 1, sg);
  float *norms = ltL_push_new(L, LT_F32, 1, sn)->data;
  double *work = ltL_push_new(L, LT_F64, 1, sd)->data;
  lt_select_unit_norms(G, n, d, norms);
  for (int64_t c = 0; c < s.g.ngroups; c++) {
    lt_select_unit_sums(G, d, &s.g, norms, c, (double *)sums->data + c * d, work);
    ((int64_t *)counts->data)[c] = s.g.start[c + 1] - s.g.start[c];
  }
  lua_pop(L, 2);
  return 2;
}

/* agreement{grads, labels, budget, per_class, diversity = lambda} -> indices, scores */
static int s_agreement(lua_State *L) {
  SelCall s;
  int64_t d;
  begin(L, &s, "agreement");
  double lambda = opt_number(L, &s, "diversity", 0);
  if (lambda < 0) ltL_argerror(L, OPT, s.fname, "diversity must be >= 0, got %g", lambda);
  const float *G = setup_matrix(L, &s, "grads", &d);
  LtPick *p = push_picks_buffer(L, &s);
  /* Without diversity the greedy would take the top agreement scores in order: top-k gives the
   * same picks (up to rounding) faster. */
  if (lambda > 0) {
    size_t bytes = lt_select_diverse_scratch(&s.g, d);
    raise_status(L, &s,
                 lt_select_diverse(G, s.n, d, &s.g, s.k, lambda, p, push_bytes(L, bytes), bytes));
    return push_result(L, &s, p, 1, 1, 0);
  }
  int64_t sn[1] = {s.n}, sd[2] = {s.g.ngroups, d}, sw[1] = {LT_AGREE_PARTS * d};
  float *scores = ltL_push_new(L, LT_F32, 1, sn)->data;
  float *cent = ltL_push_new(L, LT_F32, 2, sd)->data;
  double *work = ltL_push_new(L, LT_F64, 1, sw)->data;
  float *norms = ltL_push_new(L, LT_F32, 1, sn)->data;
  lt_select_agreement(G, s.n, d, &s.g, scores, cent, work, norms);
  size_t bytes = lt_select_topk_scratch(&s.g);
  raise_status(L, &s, lt_select_topk(scores, &s.g, s.k, 1, p, push_bytes(L, bytes), bytes));
  return push_result(L, &s, p, 0, 1, 0);
}

/* ---- per-row scores ------------------------------------------------------------ */

/* grand_scores{grads} -> ||g_i|| for every row */
static int s_grand_scores(lua_State *L) {
  SelCall s;
  int64_t n, d;
  begin(L, &s, "grand");
  const float *G = opt_matrix(L, &s, "grads", 1, &n, &d);
  int64_t sn[1] = {n};
  lt_select_row_norms(G, n, d, ltL_push_new(L, LT_F32, 1, sn)->data);
  return 1;
}

/* Reads probs (or logits) [n x C]; sets *is_logits. */
static const float *opt_probs(lua_State *L, SelCall *s, int64_t *n, int64_t *c, int *is_logits) {
  field(L, "probs");
  field(L, "logits");
  int hp = !lua_isnil(L, -2), hl = !lua_isnil(L, -1);
  lua_pop(L, 2);
  if (hp == hl)
    ltL_argerror(L, OPT, s->fname, "give exactly one of probs and logits ([n x C] float tensors)");
  *is_logits = hl;
  const float *P = opt_matrix(L, s, hl ? "logits" : "probs", 1, n, c);
  /* 4096 is the kernels' SEL_MAXC, the size of their per-row stack buffer. */
  if (*c > 4096) ltL_argerror(L, OPT, s->fname, "at most 4096 classes, got %lld", (long long)*c);
  return P;
}

static void raise_probs(lua_State *L, const SelCall *s, LtStatus st, int64_t bad) {
  if (st == LT_EVALUE)
    ltL_argerror(L, OPT, s->fname,
                 "probs row %lld has a value outside [0, 1] (pass logits = ... for raw outputs)",
                 (long long)bad + 1);
  ltL_check_status(L, st, s->fname);
}

/* el2n_scores{probs | logits, labels} -> ||p_i - onehot(y_i)|| */
static int s_el2n_scores(lua_State *L) {
  SelCall s;
  int64_t n, c, bad;
  int is_logits;
  begin(L, &s, "el2n");
  const float *P = opt_probs(L, &s, &n, &c, &is_logits);
  opt_labels(L, &s, 1);
  if (s.nclasses > c)
    ltL_argerror(L, OPT, s.fname, "labels hold class %lld but probs have %lld columns",
                 (long long)s.nclasses, (long long)c);
  int64_t sn[1] = {n};
  float *out = ltL_push_new(L, LT_F32, 1, sn)->data;
  LtStatus st = lt_select_el2n(P, n, c, s.labels, is_logits, out, &bad);
  raise_probs(L, &s, st, bad);
  return 1;
}

/* uncertainty_scores{probs | logits, kind = "least_confidence" | "margin" | "entropy"} */
static int s_uncertainty_scores(lua_State *L) {
  static const char *const kinds[] = {"least_confidence", "margin", "entropy", NULL};
  SelCall s;
  int64_t n, c, bad;
  int is_logits;
  begin(L, &s, "uncertainty");
  field(L, "kind");
  const char *kind = lua_isnil(L, -1) ? "least_confidence" : lua_tostring(L, -1);
  int which = -1;
  for (int i = 0; kind && kinds[i]; i++)
    if (strcmp(kind, kinds[i]) == 0) which = i;
  if (which < 0)
    ltL_argerror(L, OPT, s.fname, "kind must be 'least_confidence', 'margin' or 'entropy', got %s",
                 kind ? kind : luaL_typename(L, -1));
  lua_pop(L, 1);
  const float *P = opt_probs(L, &s, &n, &c, &is_logits);
  if (c < 2) ltL_argerror(L, OPT, s.fname, "probs need at least 2 columns, got %lld", (long long)c);
  int64_t sn[1] = {n};
  float *out = ltL_push_new(L, LT_F32, 1, sn)->data;
  LtStatus st = lt_select_uncertainty(P, n, c, (LtUncertainty)which, is_logits, out, &bad);
  raise_probs(L, &s, st, bad);
  return 1;
}

/* forgetting_scores{record = [n x epochs] bool/integer correctness} */
static int s_forgetting_scores(lua_State *L) {
  SelCall s;
  char b[64];
  begin(L, &s, "forgetting");
  field(L, "record");
  Tensor *r = ltL_totensor(L, -1);
  if (!r || r->ndim != 2 || r->shape[0] == 0 || r->shape[1] == 0)
    ltL_argerror(L, OPT, s.fname,
                 "record must be a [n x epochs] tensor of correctness (bool or 0/1), got %s %s",
                 r ? lt_dtype_name(r->dtype) : luaL_typename(L, -1),
                 r ? ltL_shape_of(r, b, sizeof b) : "");
  if (lt_dtype_is_float(r->dtype))
    ltL_argerror(L, OPT, s.fname, "record must be bool or integer, got %s",
                 lt_dtype_name(r->dtype));
  /* Copied to bool so the kernel reads 0/1 bytes whatever integer dtype came in. */
  Tensor *c = ltL_push_new_like(L, r, LT_BOOL); /* nonzero -> 1 */
  ltL_check_status(L, lt_copy(c, r), s.fname);
  int64_t sn[1] = {r->shape[0]};
  lt_select_forgetting(c->data, r->shape[0], r->shape[1], ltL_push_new(L, LT_F32, 1, sn)->data);
  return 1;
}

/* topk{scores = [n], labels, budget, per_class, largest = true, _name} -> indices, scores */
static int s_topk(lua_State *L) {
  SelCall s;
  int64_t n, one;
  check_opts(L, "topk");
  /* _name: the façade function that calls topk, for messages in the user's terms. */
  field(L, "_name");
  const char *name = lua_isstring(L, -1) ? lua_tostring(L, -1) : "topk";
  lua_pop(L, 1);
  begin(L, &s, name);
  field(L, "scores");
  Tensor *t = ltL_totensor(L, -1);
  if (!t || t->ndim != 1) ltL_argerror(L, OPT, s.fname, "scores must be a 1-d float tensor");
  /* A 1-d view re-shaped, not copied: check_matrix then copies to float32 if it must. */
  Tensor v = *t; /* as a [n x 1] matrix for the shared checks */
  v.ndim = 2;
  v.shape[1] = 1;
  v.stride[1] = 1;
  ltL_push_view(L, -1, &v);
  lua_remove(L, -2);
  const float *sc = check_matrix(L, &s, "scores", &n, &one);
  opt_labels(L, &s, 0);
  make_groups(L, &s);
  make_budget(L, &s);
  int largest = ltL_opt_bool(L, OPT, s.fname, "largest", 1);
  LtPick *p = push_picks_buffer(L, &s);
  size_t bytes = lt_select_topk_scratch(&s.g);
  raise_status(L, &s, lt_select_topk(sc, &s.g, s.k, largest, p, push_bytes(L, bytes), bytes));
  return push_result(L, &s, p, 0, largest, 0);
}

/* ---- random ---------------------------------------------------------------------- */

/* random{n | labels, budget, per_class, seed} -> indices (in draw order), scores (0) */
static int s_random(lua_State *L) {
  SelCall s;
  begin(L, &s, "random");
  if (field(L, "n") != LUA_TNIL) {
    int ok;
    lua_Integer n = lua_tointegerx(L, -1, &ok);
    if (!ok || n < 1)
      ltL_argerror(L, OPT, s.fname, "n must be a positive integer, got %s",
                   lua_tostring(L, -1) ? lua_tostring(L, -1) : luaL_typename(L, -1));
    s.n = n;
  }
  lua_pop(L, 1);
  opt_labels(L, &s, 0);
  if (s.n < 0) ltL_argerror(L, OPT, s.fname, "give n (the number of rows) or labels");
  make_groups(L, &s);
  make_budget(L, &s);
  uint64_t seed = ltL_opt_seed(L, OPT, s.fname);
  LtPick *p = push_picks_buffer(L, &s);
  size_t bytes = lt_select_random_scratch(&s.g, s.k);
  raise_status(L, &s, lt_select_random(&s.g, s.k, seed, p, push_bytes(L, bytes), bytes));
  return push_result(L, &s, p, 1, 1, 0);
}

/* ---- greedy methods on features ------------------------------------------------- */

/* Reads opts.start (1-based rows, one per group, or one row for a single
 * group) into a 0-based first[] per group; NULL when absent. */
static int64_t *opt_start(lua_State *L, const SelCall *s) {
  if (field(L, "start") == LUA_TNIL) {
    lua_pop(L, 1);
    return NULL;
  }
  /* start is one integer (the same row for every group: in practice the single group) or a table
   * of one row per class. */
  int64_t ng = s->g.ngroups, shape[1] = {ng};
  int64_t *first = ltL_push_new(L, LT_I64, 1, shape)->data;
  for (int64_t c = 0; c < ng; c++) {
    if (lua_isinteger(L, -2))
      first[c] = lua_tointeger(L, -2);
    else if (lua_istable(L, -2) && lua_rawgeti(L, -2, c + 1) == LUA_TNUMBER) {
      first[c] = lua_tointeger(L, -1);
      lua_pop(L, 1);
    } else
      ltL_argerror(L, OPT, s->fname, "start must be a row index (or a table of one row per class)");
    int64_t r = first[c] - 1;
    if (r < 0 || r >= s->n || (s->per_class && s->labels[r] != c))
      ltL_argerror(L, OPT, s->fname, "start row %lld is not a row of %s %lld", (long long)first[c],
                   s->per_class ? "class" : "group", (long long)c + 1);
    first[c] = r;
  }
  lua_remove(L, -2);
  return first;
}

/* kcenter{features, labels, budget, per_class, seed, start} -> indices, scores (distance at the
 * pick) */
static int s_kcenter(lua_State *L) {
  SelCall s;
  int64_t d;
  begin(L, &s, "kcenter");
  const float *X = setup_matrix(L, &s, "features", &d);
  int64_t *first = opt_start(L, &s);
  uint64_t seed = ltL_opt_seed(L, OPT, s.fname);
  LtPick *p = push_picks_buffer(L, &s);
  size_t bytes = lt_select_kcenter_scratch(&s.g, d);
  raise_status(
      L, &s, lt_select_kcenter(X, s.n, d, &s.g, s.k, first, seed, p, push_bytes(L, bytes), bytes));
  return push_result(L, &s, p, 1, 1, 0);
}

/* herding{features, labels, budget, per_class} -> indices, scores */
static int s_herding(lua_State *L) {
  SelCall s;
  int64_t d;
  begin(L, &s, "herding");
  const float *X = setup_matrix(L, &s, "features", &d);
  LtPick *p = push_picks_buffer(L, &s);
  size_t bytes = lt_select_herding_scratch(&s.g, d);
  raise_status(L, &s, lt_select_herding(X, s.n, d, &s.g, s.k, p, push_bytes(L, bytes), bytes));
  return push_result(L, &s, p, 1, 1, 0);
}

/* craig{features, labels, budget, per_class, metric} -> indices, scores (gains), weights (cluster
 * sizes) */
static int s_craig(lua_State *L) {
  SelCall s;
  int64_t d;
  begin(L, &s, "craig");
  field(L, "metric");
  const char *metric = lua_isnil(L, -1) ? "euclidean" : lua_tostring(L, -1);
  if (!metric || (strcmp(metric, "euclidean") != 0 && strcmp(metric, "cosine") != 0))
    ltL_argerror(L, OPT, s.fname, "metric must be 'euclidean' or 'cosine', got %s",
                 metric ? metric : luaL_typename(L, -1));
  LtFlMetric m = strcmp(metric, "cosine") == 0 ? LT_FL_COSINE : LT_FL_EUCLIDEAN;
  lua_pop(L, 1);
  const float *X = setup_matrix(L, &s, "features", &d);
  LtPick *p = push_picks_buffer(L, &s);
  size_t bytes = lt_select_craig_scratch(&s.g, d);
  LtStatus st = lt_select_craig(X, s.n, d, &s.g, s.k, m, p, push_bytes(L, bytes), bytes);
  if (st == LT_ERANGE)
    ltL_argerror(L, OPT, s.fname, "a group of %lld rows x %lld columns is too large for BLAS",
                 (long long)s.n, (long long)d);
  raise_status(L, &s, st);
  return push_result(L, &s, p, 1, 1, 1);
}

/* ---- gradient matching ------------------------------------------------------------ */

/* gradmatch{grads, labels, budget, per_class, lam = 0.5, tol = 1e-4, target, seed} -> indices,
 * scores, weights */
static int s_gradmatch(lua_State *L) {
  SelCall s;
  int64_t d, tn, td;
  begin(L, &s, "gradmatch");
  double lam = opt_number(L, &s, "lam", 0.5), tol = opt_number(L, &s, "tol", 1e-4);
  if (lam < 0) ltL_argerror(L, OPT, s.fname, "lam must be >= 0, got %g", lam);
  if (tol < 0) ltL_argerror(L, OPT, s.fname, "tol must be >= 0, got %g", tol);
  const float *G = setup_matrix(L, &s, "grads", &d);
  const float *target = NULL;
  if (field(L, "target") != LUA_TNIL) {
    Tensor *t = ltL_totensor(L, -1), v;
    if (!t || t->ndim != 1 || t->shape[0] != d)
      ltL_argerror(L, OPT, s.fname, "target must be a 1-d tensor of %lld values", (long long)d);
    if (s.per_class)
      ltL_argerror(L, OPT, s.fname,
                   "target needs per_class = false (the class targets are the class sums)");
    v = *t;
    v.ndim = 2;
    v.shape[0] = 1;
    v.shape[1] = d;
    v.stride[0] = d;
    v.stride[1] = t->stride[0];
    ltL_push_view(L, -1, &v);
    lua_remove(L, -2);
    /* s.n is set aside so target's single row is not held to the row count. */
    int64_t saved = s.n;
    s.n = -1;
    target = check_matrix(L, &s, "target", &tn, &td);
    s.n = saved;
  } else
    lua_pop(L, 1);
  uint64_t seed = ltL_opt_seed(L, OPT, s.fname);
  LtPick *p = push_picks_buffer(L, &s);
  size_t bytes = lt_select_gradmatch_scratch(&s.g, s.k, d);
  LtStatus st = lt_select_gradmatch(G, s.n, d, &s.g, s.k, target, lam, tol, seed, p,
                                    push_bytes(L, bytes), bytes);
  if (st == LT_ERANGE)
    ltL_argerror(
        L, OPT, s.fname,
        "at most 8192 picks per group (%lld asked): use per_class = true or a smaller budget",
        (long long)s.k[0]);
  raise_status(L, &s, st);
  return push_result(L, &s, p, 1, 1, 1);
}

/* glister{..., val_grad = [d] or [C x d]}: a fixed validation gradient, identity curvature. */
static int glister_fixed(lua_State *L, SelCall *sp, const float *G, int64_t d, double eta) {
  SelCall s = *sp;
  int64_t vn, vd;
  char b[64];
  if (field(L, "val_grad") == LUA_TNIL)
    ltL_argerror(L, OPT, s.fname,
                 "val_grad required (the validation-loss gradient, [d] or [C x d])");
  Tensor *t = ltL_totensor(L, -1), v;
  if (!t || t->ndim < 1 || t->ndim > 2)
    ltL_argerror(L, OPT, s.fname, "val_grad must be a [d] or [C x d] tensor");
  int per_group = t->ndim == 2;
  if (per_group && (!s.per_class || t->shape[0] != s.g.ngroups || t->shape[1] != d))
    ltL_argerror(L, OPT, s.fname,
                 "val_grad %s: one row per class needs per_class and shape [%lld x %lld]",
                 ltL_shape_of(t, b, sizeof b), (long long)s.g.ngroups, (long long)d);
  if (!per_group) {
    if (t->shape[0] != d)
      ltL_argerror(L, OPT, s.fname, "val_grad has %lld values, grads have %lld columns",
                   (long long)t->shape[0], (long long)d);
    v = *t;
    v.ndim = 2;
    v.shape[0] = 1;
    v.shape[1] = d;
    v.stride[0] = d;
    v.stride[1] = t->stride[0];
    ltL_push_view(L, -1, &v);
    lua_remove(L, -2);
  }
  /* As for gradmatch's target: val_grad's rows are classes, not examples. */
  int64_t saved = s.n;
  s.n = -1;
  const float *val = check_matrix(L, &s, "val_grad", &vn, &vd);
  s.n = saved;
  LtPick *p = push_picks_buffer(L, &s);
  size_t bytes = lt_select_glister_scratch(&s.g, d);
  raise_status(
      L, &s,
      lt_select_glister(G, s.n, d, &s.g, s.k, val, per_group, eta, p, push_bytes(L, bytes), bytes));
  return push_result(L, &s, p, 1, 1, 0);
}

/* Pushes val[key] (val at stack index vi) as a contiguous float64 [rows x cols]
 * copy with finite entries (the validation softmax and gradient run in double); NULL (nothing
 * pushed) when it is not a 2-d float tensor. */
static const double *push_val_matrix(lua_State *L, const SelCall *s, int vi, const char *key,
                                     int64_t *rows, int64_t *cols) {
  lua_getfield(L, vi, key);
  Tensor *t = ltL_totensor(L, -1);
  if (!t || t->ndim != 2 || !lt_dtype_is_float(t->dtype)) {
    lua_pop(L, 1);
    return NULL;
  }
  Tensor *c = ltL_push_new(L, LT_F64, 2, t->shape);
  ltL_check_status(L, lt_copy(c, t), s->fname);
  lua_remove(L, -2);
  *rows = t->shape[0];
  *cols = t->shape[1];
  const double *x = c->data;
  for (int64_t i = 0; i < *rows * *cols; i++)
    if (!isfinite(x[i]))
      ltL_argerror(L, OPT, s->fname, "val.%s row %lld contains NaN or Inf", key,
                   (long long)(i / *cols) + 1);
  return x;
}

/* Pushes val.labels (classes 1..nc, nv of them) as 0-based int64. */
static const int64_t *push_val_labels(lua_State *L, const SelCall *s, int vi, int64_t nv,
                                      int64_t nc) {
  lua_getfield(L, vi, "labels");
  Tensor *t = ltL_totensor(L, -1);
  if (!t || t->ndim != 1 || lt_dtype_is_float(t->dtype) || t->dtype == LT_BOOL)
    ltL_argerror(L, OPT, s->fname, "val.labels must be a 1-d integer tensor, got %s",
                 t ? lt_dtype_name(t->dtype) : luaL_typename(L, -1));
  if (t->shape[0] != nv)
    ltL_argerror(
        L, OPT, s->fname,
        "val.features [nv x F], val.logits [nv x C] and val.labels [nv] need the same nv > 0 rows");
  Tensor *c = ltL_push_new(L, LT_I64, 1, t->shape);
  ltL_check_status(L, lt_copy(c, t), s->fname);
  lua_remove(L, -2);
  int64_t *y = c->data;
  for (int64_t i = 0; i < nv; i++) {
    if (y[i] < 1 || y[i] > nc)
      ltL_argerror(L, OPT, s->fname, "val.labels must be classes 1..%lld", (long long)nc);
    y[i] -= 1;
  }
  return y;
}

/* glister{..., val = {features, logits, labels}, update = "sum" | "mean"}: the validation
 * gradient recomputed at the updated last layer after every pick (CORDS). */
static int glister_val(lua_State *L, SelCall *s, const float *G, int64_t d, double eta) {
  LtGlisterVal v = {0};
  int64_t hr, zr;
  if (field(L, "val_grad") != LUA_TNIL)
    ltL_argerror(L, OPT, s->fname, "give val_grad or val, not both");
  lua_pop(L, 1);
  field(L, "val");
  int vi = lua_gettop(L);
  v.H = push_val_matrix(L, s, vi, "features", &hr, &v.f);
  v.Z = v.H ? push_val_matrix(L, s, vi, "logits", &zr, &v.nc) : NULL;
  if (!v.Z || lua_getfield(L, vi, "labels") == LUA_TNIL)
    ltL_argerror(L, OPT, s->fname,
                 "val must be {features = [nv x F], logits = [nv x C], labels = [nv]}");
  lua_pop(L, 1);
  if (hr != zr || hr == 0)
    ltL_argerror(
        L, OPT, s->fname,
        "val.features [nv x F], val.logits [nv x C] and val.labels [nv] need the same nv > 0 rows");
  v.nv = hr;
  if (d != v.nc * v.f + v.nc)
    ltL_argerror(L, OPT, s->fname,
                 "grads have %lld columns; a last layer of %lld classes x %lld features has %lld",
                 (long long)d, (long long)v.nc, (long long)v.f, (long long)(v.nc * v.f + v.nc));
  v.y = push_val_labels(L, s, vi, v.nv, v.nc);
  field(L, "update");
  const char *u = lua_isnil(L, -1) ? "sum" : lua_tostring(L, -1);
  if (!u || (strcmp(u, "sum") && strcmp(u, "mean")))
    ltL_argerror(L, OPT, s->fname, "update must be 'sum' or 'mean'");
  v.mean_update = u[0] == 'm';
  v.per_group = s->per_class;
  /* Checked here to name the class; the kernel would only return LT_EVALUE. */
  for (int64_t c = 0; v.per_group && c < s->g.ngroups; c++) {
    int64_t cnt = 0;
    for (int64_t r = 0; r < v.nv; r++) cnt += v.y[r] == c;
    if (!cnt) ltL_argerror(L, OPT, s->fname, "val has no rows of class %lld", (long long)c + 1);
  }
  LtPick *p = push_picks_buffer(L, s);
  size_t bytes = lt_select_glister_val_scratch(&s->g, &v);
  raise_status(
      L, s, lt_select_glister_val(G, s->n, &s->g, s->k, &v, eta, p, push_bytes(L, bytes), bytes));
  return push_result(L, s, p, 1, 1, 0);
}

/* glister{grads, labels, budget, per_class, eta = 0.1, val_grad = ... | val = ...} -> indices,
 * scores */
static int s_glister(lua_State *L) {
  SelCall s;
  int64_t d;
  begin(L, &s, "glister");
  double eta = opt_number(L, &s, "eta", 0.1);
  const float *G = setup_matrix(L, &s, "grads", &d);
  if (field(L, "val") != LUA_TNIL) {
    if (!lua_istable(L, -1))
      ltL_argerror(L, OPT, s.fname,
                   "val must be {features = [nv x F], logits = [nv x C], labels = [nv]}");
    lua_pop(L, 1);
    return glister_val(L, &s, G, d, eta);
  }
  lua_pop(L, 1);
  if (field(L, "update") != LUA_TNIL)
    ltL_argerror(L, OPT, s.fname, "update needs val (the validation rows)");
  lua_pop(L, 1);
  return glister_fixed(L, &s, G, d, eta);
}

/* ---- groups and budgets for selections written in Lua ------------------------------- */

/* groups{n, labels, budget, per_class, num_classes} -> rows (int64, 1-based, group after
 * group, ascending in each), start (int64 [groups + 1], 0-based offsets into rows), k
 * (int64 [groups], the picks per group): the same checks and class-balanced budget as
 * every method here, for the ones the façade implements. */
static int s_groups(lua_State *L) {
  SelCall s;
  begin(L, &s, "groups");
  field(L, "_name");
  if (lua_isstring(L, -1)) s.fname = lua_tostring(L, -1); /* the caller's name in messages */
  lua_pop(L, 1);
  if (field(L, "n") != LUA_TNIL) s.n = lua_tointeger(L, -1);
  lua_pop(L, 1);
  opt_labels(L, &s, 0);
  if (s.n < 1) ltL_argerror(L, OPT, s.fname, "no rows");
  make_groups(L, &s);
  make_budget(L, &s);
  int64_t sn[1] = {s.n}, ss[1] = {s.g.ngroups + 1}, sk[1] = {s.g.ngroups};
  int64_t *rows = ltL_push_new(L, LT_I64, 1, sn)->data;
  int64_t *start = ltL_push_new(L, LT_I64, 1, ss)->data;
  int64_t *k = ltL_push_new(L, LT_I64, 1, sk)->data;
  for (int64_t i = 0; i < s.n; i++) rows[i] = s.g.order[i] + 1;
  memcpy(start, s.g.start, sizeof(int64_t) * (size_t)(s.g.ngroups + 1));
  memcpy(k, s.k, sizeof(int64_t) * (size_t)s.g.ngroups);
  return 3;
}

static const luaL_Reg select_fns[] = {{"agreement_scores", s_agreement_scores},
                                      {"_agreement_sums", s_agreement_sums},
                                      {"agreement", s_agreement},
                                      {"grand_scores", s_grand_scores},
                                      {"el2n_scores", s_el2n_scores},
                                      {"uncertainty_scores", s_uncertainty_scores},
                                      {"forgetting_scores", s_forgetting_scores},
                                      {"topk", s_topk},
                                      {"random", s_random},
                                      {"kcenter", s_kcenter},
                                      {"herding", s_herding},
                                      {"craig", s_craig},
                                      {"gradmatch", s_gradmatch},
                                      {"glister", s_glister},
                                      {"groups", s_groups},
                                      {NULL, NULL}};

/* The main part of lunette._select (src/lunette.c lists every part). */
int luaopen_lunette_select(lua_State *L);
int luaopen_lunette_select(lua_State *L) {
  luaL_newlib(L, select_fns);
  return 1;
}
