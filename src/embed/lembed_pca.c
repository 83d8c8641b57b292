/* lembed_pca.c - Lua binding for PCA, projection, singular spectra and effective dimension. */
#include "tensor/lbase.h"
#include "embed/lembed.h"
#include "embed/embed_pca.h"

static const char *const solver_names[] = {"auto", "exact", "randomized", NULL};
static const char *const pca_keys[] = {"solver",        "center", "seed",          "n_iter",
                                       "n_oversamples", "scores", "deterministic", NULL};

/* Raises for a failed fit or projection; overflow (as t-SNE's divergence) is
 * a clear error on the data, never inf or NaN scores. */
static void check_pca(lua_State *L, LtStatus st, const char *f) {
  if (st == LT_ERANGE)
    ltL_argerror(L, 1, f,
                 "values too large: float32 products of the data overflow (beyond 3.4e38); "
                 "scale the data down");
  lembed_check(L, st, NULL, f);
}

/* pca(X, k, opts) -> scores [n x k] (or nil with scores = false), components [k x d],
 * explained_variance [k] (f64), singular_values [k] (f64), mean [d], total_variance */
static int l_pca(lua_State *L) {
  lua_settop(L, 3);
  const char *f = "pca";
  int64_t n, d, k = ltL_check_int(L, 2, f, "k");
  lembed_check_matrix(L, 1, f, 2, &n, &d);
  /* The float32 copy of X stays at slot ix for the fit. */
  int ix = lua_gettop(L);
  int64_t mn = n < d ? n : d;
  if (k < 1 || k > mn)
    ltL_argerror(L, 2, f, "k must be in 1..min(n, d) = %lld, got %lld", (long long)mn,
                 (long long)k);
  ltL_check_options(L, 3, f, pca_keys);
  LtPcaOptions o = {0};
  o.k = k;
  o.solver = (LtPcaSolver)ltL_opt_enum(L, 3, f, "solver", solver_names, LT_PCA_AUTO);
  o.center = ltL_opt_bool(L, 3, f, "center", 1);
  o.seed = ltL_opt_seed(L, 3, f);
  o.n_iter = (int)ltL_opt_int_in(L, 3, f, "n_iter", 0, 0, 1000);
  o.n_oversamples = (int)ltL_opt_int_in(L, 3, f, "n_oversamples", 0, 0, 10000);
  if (o.n_iter < 0 || o.n_iter > 1000 || o.n_oversamples < 0 || o.n_oversamples > 10000)
    ltL_argerror(L, 3, f, "n_iter must be in 0..1000 and n_oversamples in 0..10000");
  o.deterministic = ltL_opt_bool(L, 3, f, "deterministic", 0);
  int want_scores = ltL_opt_bool(L, 3, f, "scores", 1);
  int64_t s_sc[2] = {n, k}, s_comp[2] = {k, d}, s_k[1] = {k}, s_d[1] = {d};
  /* nil in place of the scores keeps the six results in their slots. */
  Tensor *sc = want_scores ? ltL_push_new(L, LT_F32, 2, s_sc) : (lua_pushnil(L), NULL);
  Tensor *comp = ltL_push_new(L, LT_F32, 2, s_comp);
  Tensor *ev = ltL_push_new(L, LT_F64, 1, s_k);
  Tensor *sv = ltL_push_new(L, LT_F64, 1, s_k);
  Tensor *mean = ltL_push_new(L, LT_F32, 1, s_d);
  LtPcaOut out = {comp->data, ev->data, sv->data, mean->data, sc ? sc->data : NULL, 0};
  check_pca(L, lt_pca_fit(ltL_totensor(L, ix)->data, n, d, &o, &out), f);
  lua_pushnumber(L, out.total_variance);
  return 6;
}

/* pca_transform(Z, components, mean|nil) -> (Z - mean) components^T */
static int l_pca_transform(lua_State *L) {
  lua_settop(L, 3);
  const char *f = "pca_transform";
  int64_t m, d, k, dc, dm;
  const float *Z = lembed_check_matrix(L, 1, f, 0, &m, &d);
  const float *C = lembed_check_matrix(L, 2, f, 1, &k, &dc);
  const float *mu = NULL;
  if (dc != d)
    ltL_argerror(L, 2, f, "components have %lld columns, data has %lld", (long long)dc,
                 (long long)d);
  if (!lua_isnoneornil(L, 3)) {
    Tensor *t = ltL_check_tensor(L, 3, f);
    dm = lt_numel(t);
    if (t->ndim != 1 || dm != d)
      ltL_argerror(L, 3, f, "mean must be 1-d of length %lld", (long long)d);
    /* The mean may be any numeric dtype: a float32 copy for the kernel. */
    Tensor *c = ltL_push_new_like(L, t, LT_F32);
    ltL_check_status(L, lt_copy(c, t), f);
    mu = c->data;
  }
  int64_t shape[2] = {m, k};
  Tensor *out = ltL_push_new(L, LT_F32, 2, shape);
  check_pca(L, lt_pca_transform(Z, m, d, mu, C, k, out->data), f);
  return 1;
}

/* singular_values(X, center) -> all min(n, d) singular values (f64), descending */
static int l_singular_values(lua_State *L) {
  lua_settop(L, 2);
  int64_t n, d;
  const float *X = lembed_check_matrix(L, 1, "singular_values", 1, &n, &d);
  int center = lua_isnoneornil(L, 2) ? 1 : lua_toboolean(L, 2);
  int64_t shape[1] = {n < d ? n : d};
  Tensor *s = ltL_push_new(L, LT_F64, 1, shape);
  lembed_check(L, lt_pca_spectrum(X, n, d, center, s->data), NULL, "singular_values");
  return 1;
}

/* effective_dim_of(S) -> (sum (s/sum s)^2)^-1, (sum s^2)^2 / sum s^4 for singular values S */
static int l_effective_dim_of(lua_State *L) {
  lua_settop(L, 1);
  Tensor *s = ltL_check_tensor(L, 1, "effective_dim");
  if (s->ndim != 1 || !lt_dtype_is_float(s->dtype))
    return ltL_argerror(L, 1, "effective_dim", "1-d float tensor of singular values expected");
  Tensor *c = ltL_push_new_like(L, s, LT_F64);
  ltL_check_status(L, lt_copy(c, s), "effective_dim");
  const double *v = c->data;
  /* NaN fails v >= 0; 1.0 / 0.0 is +inf. */
  for (int64_t i = 0; i < c->shape[0]; i++)
    if (!(v[i] >= 0) || v[i] == 1.0 / 0.0)
      return ltL_argerror(L, 1, "effective_dim", "singular values must be finite and >= 0");
  lua_pushnumber(L, lt_effective_dim_svd(v, c->shape[0]));
  lua_pushnumber(L, lt_effective_dim_pr(v, c->shape[0]));
  return 2;
}

static const luaL_Reg pca_fns[] = {{"pca", l_pca},
                                   {"pca_transform", l_pca_transform},
                                   {"singular_values", l_singular_values},
                                   {"effective_dim_of", l_effective_dim_of},
                                   {NULL, NULL}};

/* A part of lunette._embed (src/lunette.c lists every part): PCA and spectra. */
int luaopen_lunette_embed_pca(lua_State *L);
int luaopen_lunette_embed_pca(lua_State *L) {
  luaL_newlib(L, pca_fns);
  return 1;
}
