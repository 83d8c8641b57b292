/* lnn_loss.c - Lua binding for cross-entropy, NLL and logit statistics (1-based labels). */
#include <string.h>
#include "nn/lnn.h"
#include "nn/nn_loss.h"

/* The logits at arg, which must be [B x C] with C >= 1 (the façade makes a 1-d input one row). */
static Tensor check_logits(lua_State *L, int arg, const char *fname, const char *what) {
  Tensor *x = lnn_check_float(L, arg, fname, what);
  char b[64];
  if (x->ndim != 2)
    ltL_argerror(L, arg, fname, "%s must be [B x C], got %s", what, ltL_shape_of(x, b, sizeof b));
  if (x->shape[1] < 1)
    ltL_argerror(L, arg, fname, "%s must have at least one class, got %s", what,
                 ltL_shape_of(x, b, sizeof b));
  return *x;
}

/* Pushes the 0-based int64 copy of the 1-based labels at arg. The range check is made here, with
 * a message in the user's 1-based terms, so the kernel's own never fires. */
static Tensor *check_labels(lua_State *L, int arg, const char *fname, const Tensor *x) {
  Tensor *t = ltL_totensor(L, arg);
  char b1[64], b2[64];
  if (!t) ltL_argerror(L, arg, fname, "labels: tensor expected, got %s", luaL_typename(L, arg));
  if (lt_dtype_is_float(t->dtype) || t->dtype == LT_BOOL)
    ltL_argerror(L, arg, fname, "labels must be an integer tensor (class indices 1..%lld), got %s",
                 (long long)x->shape[1], lt_dtype_name(t->dtype));
  if (t->ndim != 1 || t->shape[0] != x->shape[0])
    ltL_argerror(L, arg, fname, "labels %s do not match %s: expected %lld labels",
                 ltL_shape_of(t, b1, sizeof b1), ltL_shape_of(x, b2, sizeof b2),
                 (long long)x->shape[0]);
  Tensor *z = ltL_push_new(L, LT_I64, 1, t->shape);
  ltL_check_status(L, lt_copy(z, t), fname);
  int64_t *v = z->data, c = x->shape[1];
  for (int64_t i = 0; i < z->shape[0]; i++) {
    if (v[i] < 1 || v[i] > c)
      ltL_argerror(L, arg, fname,
                   "label %lld at position %lld is out of range 1..%lld (labels are 1-based)",
                   (long long)v[i], (long long)i + 1, (long long)c);
    v[i] -= 1;
  }
  return z;
}

/* cross_entropy(logits, labels, weight|nil, smoothing, alpha, scale|nil, want_grad) -> losses,
 * dlogits|nil */
static int l_cross_entropy(lua_State *L) {
  const char *fname = "cross_entropy";
  /* settop: absent trailing arguments read as nil, and new tensors go above slot 7. */
  lua_settop(L, 7);
  Tensor x = check_logits(L, 1, fname, "logits");
  Tensor *w = lnn_opt_float(L, 3, fname, "weight");
  double eps = luaL_optnumber(L, 4, 0), alpha = luaL_optnumber(L, 5, 1);
  Tensor *sc = lnn_opt_float(L, 6, fname, "sample weights");
  int want = lua_toboolean(L, 7);
  /* Checked here for a message; the kernel refuses it too. */
  if (!(eps >= 0 && eps <= 1))
    return ltL_argerror(L, 4, fname, "label smoothing must be in [0, 1], got %g", eps);
  if (w) {
    lnn_check_dtype(L, 3, fname, "weight", w, x.dtype);
    lnn_check_numel(L, 3, fname, "weight", w, x.shape[1]);
  }
  if (sc) {
    lnn_check_dtype(L, 6, fname, "sample weights", sc, x.dtype);
    lnn_check_numel(L, 6, fname, "sample weights", sc, x.shape[0]);
  }
  Tensor *t = check_labels(L, 2, fname, &x);
  Tensor *losses = ltL_push_new(L, x.dtype, 1, x.shape);
  Tensor *g = want ? lnn_push_zeros(L, x.dtype, 2, x.shape) : NULL;
  int64_t bad = -1;
  lnn_status(L, nn_cross_entropy(losses, g, &x, t, w, eps, alpha, sc, &bad), fname);
  if (!g) lua_pushnil(L);
  return 2;
}

/* nll(logp, labels, weight|nil, alpha, scale|nil, want_grad) -> losses, dlogp|nil */
static int l_nll(lua_State *L) {
  const char *fname = "nll_loss";
  lua_settop(L, 6);
  Tensor x = check_logits(L, 1, fname, "log-probabilities");
  Tensor *w = lnn_opt_float(L, 3, fname, "weight");
  double alpha = luaL_optnumber(L, 4, 1);
  Tensor *sc = lnn_opt_float(L, 5, fname, "sample weights");
  int want = lua_toboolean(L, 6);
  if (w) {
    lnn_check_dtype(L, 3, fname, "weight", w, x.dtype);
    lnn_check_numel(L, 3, fname, "weight", w, x.shape[1]);
  }
  if (sc) {
    lnn_check_dtype(L, 5, fname, "sample weights", sc, x.dtype);
    lnn_check_numel(L, 5, fname, "sample weights", sc, x.shape[0]);
  }
  Tensor *t = check_labels(L, 2, fname, &x);
  Tensor *losses = ltL_push_new(L, x.dtype, 1, x.shape);
  Tensor *g = want ? lnn_push_zeros(L, x.dtype, 2, x.shape) : NULL;
  int64_t bad = -1;
  lnn_status(L, nn_nll(losses, g, &x, t, w, alpha, sc, &bad), fname);
  if (!g) lua_pushnil(L);
  return 2;
}

/* logit_stats(logits, labels|nil) -> {pred, prob_margin, entropy [, loss, prob, margin, el2n]} */
static int l_logit_stats(lua_State *L) {
  const char *fname = "logit_stats";
  lua_settop(L, 2);
  Tensor x = check_logits(L, 1, fname, "logits");
  Tensor *t = lua_isnil(L, 2) ? NULL : check_labels(L, 2, fname, &x);
  int has = t != NULL, top = lua_gettop(L);
  static const char *names[] = {"loss", "prob", "margin", "el2n", "prob_margin", "entropy"};
  double *ptr[6];
  /* The output tensors go into the table before the kernel runs, so it writes straight into
   * them. names[] is in output order, not NnLogitStats' field order: the initializer below maps
   * them (ptr[3] is el2n). */
  lua_createtable(L, 0, 8);
  for (int i = 0; i < 6; i++) {
    ptr[i] = NULL;
    if (i < 4 && !has) continue;
    Tensor *o = ltL_push_new(L, LT_F64, 1, x.shape);
    ptr[i] = o->data;
    lua_setfield(L, top + 1, names[i]);
  }
  Tensor *pred = ltL_push_new(L, LT_I64, 1, x.shape);
  NnLogitStats s = {ptr[0], ptr[1], ptr[2], ptr[4], ptr[5], ptr[3], pred->data};
  int64_t bad = -1;
  lnn_status(L, nn_logit_stats(&x, t, &s, &bad), fname);
  /* Classes are 1-based in Lua. */
  for (int64_t i = 0; i < x.shape[0]; i++) ((int64_t *)pred->data)[i] += 1;
  lua_setfield(L, top + 1, "pred");
  return 1;
}

static const luaL_Reg fns[] = {{"cross_entropy", l_cross_entropy},
                               {"nll", l_nll},
                               {"logit_stats", l_logit_stats},
                               {NULL, NULL}};

/* A part of lunette._nn (src/lunette.c lists every part): the loss kernels. */
int luaopen_lunette_nn_loss(lua_State *L);
int luaopen_lunette_nn_loss(lua_State *L) {
  luaL_newlib(L, fns);
  return 1;
}
