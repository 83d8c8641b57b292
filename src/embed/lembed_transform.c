/* lembed_transform.c - Lua binding for the out-of-sample t-SNE and UMAP transforms. */
#include <math.h>
#include "tensor/lbase.h"
#include "embed/lembed.h"
#include "embed/embed_transform.h"

/* Checks the three matrices X_ref [n x d] (arg 1), Y_ref [n x dim] (arg 2) and X_new [m x d]
 * (arg 3) of fname, pushing their float32 forms; dim must be in 1..max_dim. */
static void check_inputs(lua_State *L, const char *f, int max_dim, const float **X, const float **Y,
                         const float **Q, int64_t *n, int64_t *d, int *dim, int64_t *m) {
  int64_t ny, dy, dq;
  *X = lembed_check_matrix(L, 1, f, 2, n, d);
  *Y = lembed_check_matrix(L, 2, f, 2, &ny, &dy);
  if (ny != *n)
    ltL_argerror(L, 2, f, "Y_ref has %lld rows, X_ref has %lld (one embedded row per row)",
                 (long long)ny, (long long)*n);
  if (dy > max_dim)
    ltL_argerror(L, 2, f, "Y_ref must have 1..%d columns, got %lld", max_dim, (long long)dy);
  *dim = (int)dy;
  *Q = lembed_check_matrix(L, 3, f, 1, m, &dq);
  if (dq != *d)
    ltL_argerror(L, 3, f, "X_new has %lld columns, X_ref has %lld", (long long)dq, (long long)*d);
}

/* opts.init as a tensor: checked to be a float [m x dim] and copied into Ynew; returns 1. Leaves
 * the stack as it was. Returns 0 when init is absent or not a tensor. */
static int given_start(lua_State *L, const char *f, int64_t m, int dim, Tensor *Ynew) {
  if (!ltL_opt_get(L, 4, "init")) return 0;
  Tensor *t = ltL_totensor(L, -1);
  if (!t) {
    lua_pop(L, 1);
    return 0;
  }
  char b[64];
  if (t->ndim != 2 || t->shape[0] != m || t->shape[1] != dim || !lt_dtype_is_float(t->dtype))
    ltL_argerror(L, 4, f, "init must be a float tensor [%lld x %d] (X_new's rows), got %s",
                 (long long)m, dim, ltL_shape_of(t, b, sizeof b));
  ltL_check_status(L, lt_copy(Ynew, t), f);
  lua_pop(L, 1);
  if (lt_embed_first_bad_row(Ynew->data, m, dim) >= 0)
    ltL_argerror(L, 4, f, "init contains NaN or infinity");
  return 1;
}

/* ---- t-SNE ------------------------------------------------------------------ */

static const char *const tsne_init_names[] = {"median", "weighted", "random", NULL};
static const char *const tsne_keys[] = {"perplexity",
                                        "k",
                                        "early_exaggeration",
                                        "exaggeration_iter",
                                        "exaggeration",
                                        "n_iter",
                                        "learning_rate",
                                        "momentum",
                                        "max_grad_norm",
                                        "theta",
                                        "dof",
                                        "init",
                                        "seed",
                                        "progress",
                                        NULL};

/* Reads the neighbourhood options (perplexity, k) for a reference of n rows. */
static void tsne_neighbourhood(lua_State *L, const char *f, int64_t n, LtTsneTransformOptions *o) {
  o->perplexity = ltL_opt_number(L, 4, f, "perplexity", 5);
  if (!(o->perplexity > 0) || isinf(o->perplexity))
    ltL_argerror(L, 4, f, "perplexity must be positive, got %g", o->perplexity);
  /* openTSNE's k: three times the perplexity, at most the reference's rows. */
  double k3 = floor(3.0 * o->perplexity);
  int64_t kdef = k3 < (double)n ? (int64_t)k3 : n;
  o->k = ltL_opt_int(L, 4, f, "k", kdef < 1 ? 1 : kdef);
  if (o->k < 1 || o->k > n)
    ltL_argerror(L, 4, f, "k must be in 1..%lld (the reference rows), got %lld", (long long)n,
                 (long long)o->k);
  if (o->perplexity > (double)o->k)
    ltL_argerror(L, 4, f, "perplexity must be at most k = %lld (the neighbours used), got %g",
                 (long long)o->k, o->perplexity);
}

/* Reads and checks every option at 4 (but init) into o for a reference of n rows. */
static void tsne_options(lua_State *L, const char *f, int64_t n, LtTsneTransformOptions *o) {
  ltL_check_options(L, 4, f, tsne_keys);
  lt_tsne_transform_defaults(o);
  tsne_neighbourhood(L, f, n, o);
  o->n_iter = (int)ltL_opt_int_in(L, 4, f, "n_iter", 250, 1, 1000000);
  o->exaggeration_iter = (int)ltL_opt_int_in(L, 4, f, "exaggeration_iter", 0, 0, o->n_iter);
  o->early_exaggeration = ltL_opt_number(L, 4, f, "early_exaggeration", 4);
  o->exaggeration = ltL_opt_number(L, 4, f, "exaggeration", 1.5);
  if (!(o->early_exaggeration > 0) || !(o->exaggeration > 0) || isinf(o->early_exaggeration) ||
      isinf(o->exaggeration))
    ltL_argerror(L, 4, f, "early_exaggeration and exaggeration must be positive and finite");
  o->learning_rate = ltL_opt_number(L, 4, f, "learning_rate", 0.1);
  if (!(o->learning_rate > 0) || isinf(o->learning_rate))
    ltL_argerror(L, 4, f, "learning_rate must be positive and finite, got %g", o->learning_rate);
  o->momentum = ltL_opt_number(L, 4, f, "momentum", 0.8);
  if (!(o->momentum >= 0 && o->momentum < 1))
    ltL_argerror(L, 4, f, "momentum must be in [0, 1), got %g", o->momentum);
  o->max_grad_norm = ltL_opt_number(L, 4, f, "max_grad_norm", 0.25);
  if (!(o->max_grad_norm >= 0))
    ltL_argerror(L, 4, f, "max_grad_norm must be >= 0 (0: no clipping), got %g", o->max_grad_norm);
  o->theta = ltL_opt_number(L, 4, f, "theta", 0.5);
  if (!(o->theta >= 0 && o->theta <= 1))
    ltL_argerror(L, 4, f, "theta must be in [0, 1], got %g", o->theta);
  o->dof = ltL_opt_number(L, 4, f, "dof", 0);
  if (o->dof < 0 || isinf(o->dof)) ltL_argerror(L, 4, f, "dof must be positive, got %g", o->dof);
  o->seed = ltL_opt_seed(L, 4, f);
}

/* tsne_transform(X_ref, Y_ref, X_new, opts) -> Y_new [m x dim] float32, kl, iterations */
static int l_tsne_transform(lua_State *L) {
  const char *f = "tsne_transform";
  lua_settop(L, 4);
  const float *X, *Y, *Q;
  int64_t n, d, m;
  int dim;
  check_inputs(L, f, 3, &X, &Y, &Q, &n, &d, &dim, &m);
  LtTsneTransformOptions o;
  tsne_options(L, f, n, &o);
  int64_t shape[2] = {m, dim};
  Tensor *Yn = ltL_push_new(L, LT_F32, 2, shape);
  int iy = lua_gettop(L);
  if (given_start(L, f, m, dim, Yn))
    o.init = LT_TT_INIT_GIVEN;
  else
    o.init = (LtTsneTransformInit)ltL_opt_enum(L, 4, f, "init", tsne_init_names, 0);
  LembedHook h;
  LtEmbedProgress p;
  lembed_progress(L, 4, f, &h, &p);
  LtTsneTransformInfo info;
  LtStatus st = lt_tsne_transform(X, n, d, Y, dim, Q, m, &o, Yn->data, &info, &p);
  if (st == LT_ERANGE)
    return luaL_error(L, "tsne_transform: the optimisation diverged (coordinates not finite); "
                         "try a smaller learning_rate or max_grad_norm");
  lembed_check(L, st, &h, f);
  lua_pushvalue(L, iy);
  lua_pushnumber(L, info.kl);
  lua_pushinteger(L, info.iterations);
  return 3;
}

/* ---- UMAP ------------------------------------------------------------------- */

/* umap's own keys, every one accepted so that the fit's options table can be passed unchanged. */
static const char *const umap_keys[] = {"dim",
                                        "n_neighbors",
                                        "min_dist",
                                        "spread",
                                        "n_epochs",
                                        "learning_rate",
                                        "repulsion_strength",
                                        "negative_sample_rate",
                                        "local_connectivity",
                                        "set_op_mix_ratio",
                                        "a",
                                        "b",
                                        "init",
                                        "knn",
                                        "metric",
                                        "seed",
                                        "progress",
                                        NULL};
static const char *const umap_init_names[] = {"spectral", "random", NULL};
static const char *const knn_names[] = {"auto", "exact", "approx", NULL};
static const char *const metric_names[] = {"euclidean", "cosine", NULL};

/* The curve's options: a, b, or min_dist and spread to fit them. */
static void umap_curve(lua_State *L, const char *f, LtUmapTransformOptions *o) {
  o->min_dist = ltL_opt_number(L, 4, f, "min_dist", 0.1);
  o->spread = ltL_opt_number(L, 4, f, "spread", 1.0);
  if (!(o->spread > 0) || !(o->min_dist >= 0) || o->min_dist > o->spread || isinf(o->spread))
    ltL_argerror(
        L, 4, f,
        "need 0 <= min_dist <= spread with a finite spread > 0, got min_dist %g, spread %g",
        o->min_dist, o->spread);
  o->a = ltL_opt_number(L, 4, f, "a", 0);
  o->b = ltL_opt_number(L, 4, f, "b", 0);
  if (o->a < 0 || o->b < 0 || isinf(o->a) || isinf(o->b))
    ltL_argerror(L, 4, f, "a and b must be positive");
}

/* Reads and checks the options at 4 for a reference of n rows and dim columns. */
static void umap_options(lua_State *L, const char *f, int64_t n, int dim,
                         LtUmapTransformOptions *o) {
  ltL_check_options(L, 4, f, umap_keys);
  lt_umap_transform_defaults(o);
  int64_t odim = ltL_opt_int(L, 4, f, "dim", dim);
  if (odim != dim)
    ltL_argerror(L, 4, f, "option 'dim' is %lld but Y_ref has %d columns", (long long)odim, dim);
  o->n_neighbors = ltL_opt_int(L, 4, f, "n_neighbors", 15);
  if (o->n_neighbors < 2 || o->n_neighbors > n)
    ltL_argerror(L, 4, f, "n_neighbors must be in 2..%lld (the reference rows), got %lld",
                 (long long)n, (long long)o->n_neighbors);
  umap_curve(L, f, o);
  /* As umap-learn's transform: a third of the fit's epochs when given, else 100 or 30. */
  int64_t ep = ltL_opt_int_in(L, 4, f, "n_epochs", 0, 0, 100000);
  o->n_epochs = ep > 0 ? (ep >= 3 ? (int)(ep / 3) : 1) : 0;
  double lr = ltL_opt_number(L, 4, f, "learning_rate", 1.0);
  o->repulsion_strength = ltL_opt_number(L, 4, f, "repulsion_strength", 1.0);
  o->negative_sample_rate = (int)ltL_opt_int_in(L, 4, f, "negative_sample_rate", 5, 0, 1000);
  if (!(lr > 0) || isinf(lr) || !(o->repulsion_strength >= 0) || isinf(o->repulsion_strength))
    ltL_argerror(L, 4, f, "learning_rate must be > 0 and repulsion_strength >= 0 (finite)");
  /* umap-learn's transform starts at the fit's rate / 4. */
  o->learning_rate = lr / 4.0;
  o->local_connectivity = ltL_opt_number(L, 4, f, "local_connectivity", 1.0);
  double mix = ltL_opt_number(L, 4, f, "set_op_mix_ratio", 1.0);
  if (!(o->local_connectivity >= 0) || o->local_connectivity >= (double)o->n_neighbors ||
      !(mix >= 0 && mix <= 1))
    ltL_argerror(L, 4, f,
                 "local_connectivity must be in [0, n_neighbors) and set_op_mix_ratio in [0, 1]");
  /* Accepted for the fit's table, checked, unused: the queries are exact. */
  (void)ltL_opt_enum(L, 4, f, "knn", knn_names, 0);
  o->metric = ltL_opt_enum(L, 4, f, "metric", metric_names, 0) == 1 ? LT_METRIC_COSINE
                                                                     : LT_METRIC_EUCLIDEAN;
  o->seed = ltL_opt_seed(L, 4, f);
}

/* umap_transform(X_ref, Y_ref, X_new, opts) -> Y_new [m x dim] float32, info {a, b, n_epochs,
 * n_edges} */
static int l_umap_transform(lua_State *L) {
  const char *f = "umap_transform";
  lua_settop(L, 4);
  const float *X, *Y, *Q;
  int64_t n, d, m;
  int dim;
  check_inputs(L, f, 64, &X, &Y, &Q, &n, &d, &dim, &m);
  LtUmapTransformOptions o;
  umap_options(L, f, n, dim, &o);
  int64_t shape[2] = {m, dim};
  Tensor *Yn = ltL_push_new(L, LT_F32, 2, shape);
  int iy = lua_gettop(L);
  o.init_given = given_start(L, f, m, dim, Yn);
  /* A fit's "spectral" or "random" is accepted and means the transform's own start. */
  if (!o.init_given) (void)ltL_opt_enum(L, 4, f, "init", umap_init_names, 0);
  LembedHook h;
  LtEmbedProgress p;
  lembed_progress(L, 4, f, &h, &p);
  LtUmapTransformInfo info;
  lembed_check(L, lt_umap_transform(X, n, d, Y, dim, Q, m, &o, Yn->data, &info, &p), &h, f);
  lua_pushvalue(L, iy);
  lua_createtable(L, 0, 4);
  lua_pushnumber(L, info.a);
  lua_setfield(L, -2, "a");
  lua_pushnumber(L, info.b);
  lua_setfield(L, -2, "b");
  lua_pushinteger(L, info.n_epochs);
  lua_setfield(L, -2, "n_epochs");
  lua_pushinteger(L, (lua_Integer)info.n_edges);
  lua_setfield(L, -2, "n_edges");
  return 2;
}

static const luaL_Reg transform_fns[] = {
    {"tsne_transform", l_tsne_transform}, {"umap_transform", l_umap_transform}, {NULL, NULL}};

/* A part of lunette._embed (src/lunette.c lists every part): the out-of-sample transforms. */
int luaopen_lunette_embed_transform(lua_State *L);
int luaopen_lunette_embed_transform(lua_State *L) {
  luaL_newlib(L, transform_fns);
  return 1;
}
