/* lembed_umap.c - Lua binding for UMAP (embedding, fuzzy graph, curve parameters). */
#include <math.h>
#include "tensor/lbase.h"
#include "embed/lembed.h"
#include "embed/embed_umap.h"

static const char *const knn_names[] = {"auto", "exact", "approx", NULL};
static const char *const metric_names[] = {"euclidean", "cosine", NULL};
static const char *const init_names[] = {"spectral", "random", NULL};

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

/* Reads the options at arg for n points into o (graph-only callers ignore the layout ones). */
static void umap_options(lua_State *L, int arg, const char *f, int64_t n, LtUmapOptions *o) {
  ltL_check_options(L, arg, f, umap_keys);
  lt_umap_defaults(o);
  int64_t dim = ltL_opt_int(L, arg, f, "dim", 2);
  if (dim < 1 || dim > 64)
    ltL_argerror(L, arg, f, "option 'dim' must be in 1..64, got %lld", (long long)dim);
  o->dim = (int)dim;
  o->n_neighbors = ltL_opt_int(L, arg, f, "n_neighbors", 15);
  /* n_neighbors counts the point itself, as umap-learn's: 2 means one true neighbour. */
  if (o->n_neighbors < 2 || o->n_neighbors >= n)
    ltL_argerror(L, arg, f,
                 "n_neighbors must be in 2..n-1 = %lld (it counts the point itself), got %lld",
                 (long long)(n - 1), (long long)o->n_neighbors);
  o->min_dist = ltL_opt_number(L, arg, f, "min_dist", 0.1);
  o->spread = ltL_opt_number(L, arg, f, "spread", 1.0);
  if (!(o->spread > 0) || !(o->min_dist >= 0) || o->min_dist > o->spread || isinf(o->spread))
    ltL_argerror(
        L, arg, f,
        "need 0 <= min_dist <= spread with a finite spread > 0, got min_dist %g, spread %g",
        o->min_dist, o->spread);
  int64_t ep = ltL_opt_int(L, arg, f, "n_epochs", 0);
  if (ep < 0 || ep > 100000)
    ltL_argerror(L, arg, f, "n_epochs must be in 1..100000 (0 or absent: auto), got %lld",
                 (long long)ep);
  o->n_epochs = (int)ep;
  o->learning_rate = ltL_opt_number(L, arg, f, "learning_rate", 1.0);
  o->repulsion_strength = ltL_opt_number(L, arg, f, "repulsion_strength", 1.0);
  int64_t nsr = ltL_opt_int(L, arg, f, "negative_sample_rate", 5);
  if (!(o->learning_rate > 0) || isinf(o->learning_rate) || !(o->repulsion_strength >= 0) ||
      isinf(o->repulsion_strength) || nsr < 0 || nsr > 1000)
    ltL_argerror(
        L, arg, f,
        "learning_rate must be > 0, repulsion_strength >= 0 and negative_sample_rate in 0..1000");
  o->negative_sample_rate = (int)nsr;
  o->local_connectivity = ltL_opt_number(L, arg, f, "local_connectivity", 1.0);
  o->set_op_mix_ratio = ltL_opt_number(L, arg, f, "set_op_mix_ratio", 1.0);
  if (!(o->local_connectivity >= 0) || o->local_connectivity >= (double)o->n_neighbors ||
      !(o->set_op_mix_ratio >= 0 && o->set_op_mix_ratio <= 1))
    ltL_argerror(L, arg, f,
                 "local_connectivity must be in [0, n_neighbors) and set_op_mix_ratio in [0, 1]");
  o->a = ltL_opt_number(L, arg, f, "a", 0);
  o->b = ltL_opt_number(L, arg, f, "b", 0);
  if (o->a < 0 || o->b < 0 || isinf(o->a) || isinf(o->b))
    ltL_argerror(L, arg, f, "a and b must be positive");
  o->knn = (LtKnnMethod)ltL_opt_enum(L, arg, f, "knn", knn_names, 0);
  o->metric = ltL_opt_enum(L, arg, f, "metric", metric_names, 0) == 1 ? LT_METRIC_COSINE
                                                                      : LT_METRIC_EUCLIDEAN;
  o->seed = ltL_opt_seed(L, arg, f);
}

/* Pushes the init tensor when opts.init is one (checked to be [n x dim]); else sets o->init. */
static Tensor *umap_init(lua_State *L, int arg, int64_t n, LtUmapOptions *o) {
  if (!ltL_opt_get(L, arg, "init")) return NULL;
  /* A tensor init stays on the stack (pushed by ltL_opt_get) until l_umap has copied it. */
  Tensor *t = ltL_totensor(L, -1);
  if (!t) {
    lua_pop(L, 1);
    o->init = (LtUmapInit)ltL_opt_enum(L, arg, "umap", "init", init_names, 0);
    return NULL;
  }
  char b[64];
  if (t->ndim != 2 || t->shape[0] != n || t->shape[1] != o->dim || !lt_dtype_is_float(t->dtype))
    ltL_argerror(L, arg, "umap", "init must be a float tensor [%lld x %d], got %s", (long long)n,
                 o->dim, ltL_shape_of(t, b, sizeof b));
  o->init = LT_UMAP_INIT_GIVEN;
  return t;
}

/* umap(X, opts) -> Y [n x dim] float32, info {a, b, n_epochs, n_edges, components, spectral} */
static int l_umap(lua_State *L) {
  lua_settop(L, 2);
  int64_t n, d;
  const float *X = lembed_check_matrix(L, 1, "umap", 3, &n, &d);
  LtUmapOptions o;
  umap_options(L, 2, "umap", n, &o);
  Tensor *init = umap_init(L, 2, n, &o);
  int64_t shape[2] = {n, o.dim};
  Tensor *Y = ltL_push_new(L, LT_F32, 2, shape);
  int iy = lua_gettop(L);
  if (init) {
    ltL_check_status(L, lt_copy(Y, init), "umap");
    if (lt_embed_first_bad_row(Y->data, n, o.dim) >= 0)
      ltL_argerror(L, 2, "umap", "init contains NaN or infinity");
  }
  LembedHook h;
  LtEmbedProgress p;
  lembed_progress(L, 2, "umap", &h, &p);
  LtUmapInfo info = {0};
  lembed_check(L, lt_umap(X, n, d, &o, Y->data, &info, &p), &h, "umap");
  lua_pushvalue(L, iy);
  lua_createtable(L, 0, 6);
  lua_pushnumber(L, info.a);
  lua_setfield(L, -2, "a");
  lua_pushnumber(L, info.b);
  lua_setfield(L, -2, "b");
  lua_pushinteger(L, info.n_epochs);
  lua_setfield(L, -2, "n_epochs");
  lua_pushinteger(L, (lua_Integer)info.n_edges);
  lua_setfield(L, -2, "n_edges");
  lua_pushinteger(L, (lua_Integer)info.components);
  lua_setfield(L, -2, "components");
  lua_pushboolean(L, info.spectral);
  lua_setfield(L, -2, "spectral");
  return 2;
}

/* umap_graph(X, opts) -> rows, cols (int64, 1-based), weights (float32), sigmas, rhos */
static int l_umap_graph(lua_State *L) {
  lua_settop(L, 2);
  int64_t n, d;
  const float *X = lembed_check_matrix(L, 1, "umap_graph", 3, &n, &d);
  LtUmapOptions o;
  umap_options(L, 2, "umap_graph", n, &o);
  int64_t s1[1] = {n};
  Tensor *sg = ltL_push_new(L, LT_F32, 1, s1), *rh = ltL_push_new(L, LT_F32, 1, s1);
  /* sigmas and rhos are pushed before the hook's slot, so their positions are known. */
  int is = lua_gettop(L) - 1;
  LembedHook h;
  LtEmbedProgress p;
  lembed_progress(L, 2, "umap_graph", &h, &p);
  LtCsr *G = lembed_push_csr(L), tmp;
  lembed_check(L, lt_umap_graph(X, n, d, &o, &tmp, sg->data, rh->data, &p), &h, "umap_graph");
  *G = tmp;
  int64_t nnz = lt_csr_nnz(G), s2[1] = {nnz};
  Tensor *r = ltL_push_new(L, LT_I64, 1, s2), *c = ltL_push_new(L, LT_I64, 1, s2),
         *v = ltL_push_new(L, LT_F32, 1, s2);
  /* CSR to coordinate lists, 1-based. */
  for (int64_t i = 0; i < n; i++)
    for (int64_t e = G->indptr[i]; e < G->indptr[i + 1]; e++) {
      ((int64_t *)r->data)[e] = i + 1;
      ((int64_t *)c->data)[e] = G->indices[e] + 1;
      ((float *)v->data)[e] = G->data[e];
    }
  /* Freed now rather than at collection: the arrays can be large. */
  lt_csr_free(G);
  lua_pushvalue(L, is);
  lua_pushvalue(L, is + 1);
  return 5;
}

/* umap_ab(spread, min_dist) -> a, b */
static int l_umap_ab(lua_State *L) {
  double spread = luaL_checknumber(L, 1), md = luaL_checknumber(L, 2), a, b;
  if (!(spread > 0) || !(md >= 0) || md > spread || isinf(spread))
    return ltL_argerror(L, 2, "umap_ab", "need 0 <= min_dist <= spread with a finite spread > 0");
  lembed_check(L, lt_umap_find_ab(spread, md, &a, &b), NULL, "umap_ab");
  lua_pushnumber(L, a);
  lua_pushnumber(L, b);
  return 2;
}

static const luaL_Reg umap_fns[] = {
    {"umap", l_umap}, {"umap_graph", l_umap_graph}, {"umap_ab", l_umap_ab}, {NULL, NULL}};

/* A part of lunette._embed (src/lunette.c lists every part): UMAP. */
int luaopen_lunette_embed_umap(lua_State *L);
int luaopen_lunette_embed_umap(lua_State *L) {
  luaL_newlib(L, umap_fns);
  return 1;
}
