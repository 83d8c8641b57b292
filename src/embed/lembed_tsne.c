/* lembed_tsne.c - Lua binding for t-SNE (embedding and the affinity matrix). */
#include <math.h>
#include "tensor/lbase.h"
#include "embed/lembed.h"
#include "embed/embed_tsne.h"
#include "embed/embed_tsne_fft.h"
#include "embed/embed_bhtree.h"

static const char *const knn_names[] = {"auto", "exact", "approx", NULL};
/* In LtTsneMethod's order. */
static const char *const method_names[] = {"auto", "barnes_hut", "exact", "fft", NULL};
static const char *const init_names[] = {"pca", "random", NULL};

static const char *const tsne_keys[] = {"dim",
                                        "perplexity",
                                        "early_exaggeration",
                                        "exaggeration_iter",
                                        "learning_rate",
                                        "n_iter",
                                        "theta",
                                        "method",
                                        "dof",
                                        "min_grad_norm",
                                        "n_iter_without_progress",
                                        "init",
                                        "knn",
                                        "seed",
                                        "progress",
                                        NULL};

/* Reads and checks the options at arg for n points; may push the init tensor. */
static Tensor *tsne_options(lua_State *L, int arg, int64_t n, LtTsneOptions *o) {
  const char *f = "tsne";
  ltL_check_options(L, arg, f, tsne_keys);
  int64_t dim = ltL_opt_int(L, arg, f, "dim", 2);
  if (dim < 1 || dim > 3)
    ltL_argerror(L, arg, f, "option 'dim' must be 1, 2 or 3, got %lld", (long long)dim);
  lt_tsne_defaults(o, (int)dim);
  o->perplexity = ltL_opt_number(L, arg, f, "perplexity", 30);
  /* The affinities use about 3 perplexity neighbours, which must exist among the n points. */
  if (!(o->perplexity > 0) || 3.0 * o->perplexity >= (double)n)
    ltL_argerror(L, arg, f,
                 "perplexity must be positive and less than n/3 = %.4g for n = %lld, got %g",
                 (double)n / 3.0, (long long)n, o->perplexity);
  o->early_exaggeration = ltL_opt_number(L, arg, f, "early_exaggeration", 12);
  if (!(o->early_exaggeration >= 1))
    ltL_argerror(L, arg, f, "early_exaggeration must be >= 1, got %g", o->early_exaggeration);
  o->exaggeration_iter = (int)ltL_opt_int_in(L, arg, f, "exaggeration_iter", 250, 0, 1000000);
  o->n_iter = (int)ltL_opt_int_in(L, arg, f, "n_iter", 1000, 1, 1000000);
  if (o->n_iter < 1 || o->n_iter > 1000000 || o->exaggeration_iter < 0)
    ltL_argerror(L, arg, f, "n_iter must be in 1..1e6 and exaggeration_iter >= 0");
  o->learning_rate = ltL_opt_number(L, arg, f, "learning_rate", 0);
  if (o->learning_rate < 0 || isinf(o->learning_rate))
    ltL_argerror(L, arg, f, "learning_rate must be positive (0 or absent: auto)");
  o->theta = ltL_opt_number(L, arg, f, "theta", 0.5);
  if (!(o->theta >= 0 && o->theta <= 1))
    ltL_argerror(L, arg, f, "theta must be in [0, 1], got %g", o->theta);
  o->method = (LtTsneMethod)ltL_opt_enum(L, arg, f, "method", method_names, 0);
  /* The kernel also knows the exact method as theta < 0. */
  if (o->method == LT_TSNE_EXACT) o->theta = -1;
  o->dof = ltL_opt_number(L, arg, f, "dof", 0);
  if (o->dof < 0 || isinf(o->dof)) ltL_argerror(L, arg, f, "dof must be positive, got %g", o->dof);
  /* The interpolation is written for the plane and the Cauchy kernel (FIt-SNE's 2-d case). */
  if (o->method == LT_TSNE_FFT && (dim != 2 || (o->dof != 0 && o->dof != 1)))
    ltL_argerror(L, arg, f, "method \"fft\" needs dim = 2 and dof = 1, got dim = %d, dof = %g",
                 (int)dim, o->dof == 0 ? 1.0 : o->dof);
  o->min_grad_norm = ltL_opt_number(L, arg, f, "min_grad_norm", 1e-7);
  o->n_iter_without_progress =
      (int)ltL_opt_int_in(L, arg, f, "n_iter_without_progress", 300, 0, 1000000);
  o->knn = (LtKnnMethod)ltL_opt_enum(L, arg, f, "knn", knn_names, 0);
  o->seed = ltL_opt_seed(L, arg, f);
  /* The exact method holds P as n x n floats: 20000 points are already 1.6 GB. */
  if (o->theta < 0 && n > 20000)
    ltL_argerror(L, arg, f, "method \"exact\" needs n <= 20000 (O(n^2) memory), got n = %lld",
                 (long long)n);
  Tensor *init = NULL;
  if (!ltL_opt_get(L, arg, "init")) return NULL;
  /* A tensor init stays on the stack (pushed by ltL_opt_get) until l_tsne has copied it. */
  if ((init = ltL_totensor(L, -1))) {
    char b[64];
    if (init->ndim != 2 || init->shape[0] != n || init->shape[1] != dim ||
        !lt_dtype_is_float(init->dtype))
      ltL_argerror(L, arg, f, "init must be a float tensor [%lld x %lld], got %s", (long long)n,
                   (long long)dim, ltL_shape_of(init, b, sizeof b));
    o->init = LT_TSNE_INIT_GIVEN;
    return init;
  }
  lua_pop(L, 1);
  o->init = (LtTsneInit)ltL_opt_enum(L, arg, f, "init", init_names, 0);
  return NULL;
}

/* tsne(X, opts) -> Y [n x dim] float32, kl, iterations, learning_rate, method name */
static int l_tsne(lua_State *L) {
  lua_settop(L, 2);
  int64_t n, d;
  const float *X = lembed_check_matrix(L, 1, "tsne", 2, &n, &d);
  LtTsneOptions o;
  Tensor *init = tsne_options(L, 2, n, &o);
  int64_t shape[2] = {n, o.dim};
  Tensor *Y = ltL_push_new(L, LT_F32, 2, shape);
  if (init) ltL_check_status(L, lt_copy(Y, init), "tsne");
  int iy = lua_gettop(L);
  if (init && lt_embed_first_bad_row(Y->data, n, o.dim) >= 0)
    ltL_argerror(L, 2, "tsne", "init contains NaN or infinity");
  LembedHook h;
  LtEmbedProgress p;
  lembed_progress(L, 2, "tsne", &h, &p);
  LtTsneInfo info = {0};
  LtStatus st = lt_tsne(X, n, d, &o, Y->data, &info, &p);
  /* Divergence gets its own message: it comes from the settings, not from the data. */
  if (st == LT_ERANGE)
    return luaL_error(L, "tsne: the optimisation diverged (coordinates not finite); "
                         "try a smaller learning_rate or early_exaggeration");
  lembed_check(L, st, &h, "tsne");
  lua_pushvalue(L, iy);
  lua_pushnumber(L, info.kl);
  lua_pushinteger(L, info.iterations);
  lua_pushnumber(L, info.learning_rate);
  lua_pushstring(L, method_names[info.method]);
  return 5;
}

/* tsne_repulsion(Y [n x 2] float32, method) -> neg [n x 2] float64, Z: t-SNE's repulsive sums
 * (sum_j w_ij^2 (y_i - y_j) and sum_{i != j} w_ij, w the Cauchy kernel) by "exact", "barnes_hut"
 * (theta 0.5) or "fft"; internal, for the specs that compare the approximations. */
static int l_tsne_repulsion(lua_State *L) {
  int64_t n, d;
  const float *Y = lembed_check_matrix(L, 1, "tsne_repulsion", 1, &n, &d);
  int method = luaL_checkoption(L, 2, NULL, method_names);
  if (d != 2) luaL_argerror(L, 1, "Y must have 2 columns");
  int64_t shape[2] = {n, 2};
  Tensor *neg = ltL_push_new(L, LT_F64, 2, shape);
  double *zrow = lua_newuserdatauv(L, sizeof(double) * (size_t)n, 0);
  double z = 0;
  LtStatus st;
  if (method == LT_TSNE_FFT) {
    LtTsneFft fft;
    st = lt_tsne_fft_init(&fft, n);
    if (st == LT_OK) st = lt_tsne_fft_repulsion(&fft, Y, neg->data, &z);
    lt_tsne_fft_free(&fft);
  } else {
    LtBhTree t;
    st = lt_bhtree_init(&t, n, 2);
    if (st == LT_OK) {
      lt_bhtree_build(&t, Y);
      st = lt_bhtree_repulsion(&t, method == LT_TSNE_EXACT ? 0.0 : 0.5, 1.0, neg->data, zrow);
    }
    lt_bhtree_free(&t);
    for (int64_t i = 0; i < n; i++) z += zrow[i];
  }
  ltL_check_status(L, st, "tsne_repulsion");
  lua_pop(L, 1);
  lua_pushnumber(L, z);
  return 2;
}

static const char *const aff_keys[] = {"perplexity", "knn", "seed", "progress", NULL};

/* tsne_affinities(X, opts) -> rows, cols (int64, 1-based), values (float32) of the joint P */
static int l_tsne_affinities(lua_State *L) {
  lua_settop(L, 2);
  int64_t n, d;
  const float *X = lembed_check_matrix(L, 1, "tsne_affinities", 2, &n, &d);
  ltL_check_options(L, 2, "tsne_affinities", aff_keys);
  double perp = ltL_opt_number(L, 2, "tsne_affinities", "perplexity", 30);
  if (!(perp > 0) || 3.0 * perp >= (double)n)
    ltL_argerror(L, 2, "tsne_affinities",
                 "perplexity must be positive and less than n/3 = %.4g, got %g", (double)n / 3.0,
                 perp);
  LtKnnMethod knn = (LtKnnMethod)ltL_opt_enum(L, 2, "tsne_affinities", "knn", knn_names, 0);
  uint64_t seed = ltL_opt_seed(L, 2, "tsne_affinities");
  LembedHook h;
  LtEmbedProgress p;
  lembed_progress(L, 2, "tsne_affinities", &h, &p);
  LtCsr *P = lembed_push_csr(L), tmp;
  lembed_check(L, lt_tsne_affinities(X, n, d, perp, knn, seed, &tmp, &p), &h, "tsne_affinities");
  *P = tmp;
  int64_t nnz = lt_csr_nnz(P), shape[1] = {nnz};
  Tensor *r = ltL_push_new(L, LT_I64, 1, shape), *c = ltL_push_new(L, LT_I64, 1, shape),
         *v = ltL_push_new(L, LT_F32, 1, shape);
  /* CSR to coordinate lists, 1-based. */
  for (int64_t i = 0; i < n; i++)
    for (int64_t e = P->indptr[i]; e < P->indptr[i + 1]; e++) {
      ((int64_t *)r->data)[e] = i + 1;
      ((int64_t *)c->data)[e] = P->indices[e] + 1;
      ((float *)v->data)[e] = P->data[e];
    }
  /* Freed now rather than at collection: the arrays can be large. */
  lt_csr_free(P);
  return 3;
}

static const luaL_Reg tsne_fns[] = {
    {"tsne", l_tsne},
    {"tsne_affinities", l_tsne_affinities},
    {"tsne_repulsion", l_tsne_repulsion},
    {NULL, NULL}};

/* A part of lunette._embed (src/lunette.c lists every part): t-SNE. */
int luaopen_lunette_embed_tsne(lua_State *L);
int luaopen_lunette_embed_tsne(lua_State *L) {
  luaL_newlib(L, tsne_fns);
  return 1;
}
