/* lembed_sphere.c - Lua binding for anchor top-k, centroids, divergence, spherical k-means. */
#include "tensor/lbase.h"
#include "embed/lembed.h"
#include "embed/embed_sphere.h"

/* No exclude_self key: a nil A is how a caller asks for E against itself without self-matches
 * (anchor_isolation, closest_anchor_pairs), and with a given A no row of E is "self". */
static const char *const topk_keys[] = {"normalize", NULL};

/* anchor_topk(E, A|nil, k, opts) -> idx [n x k] int64 (1-based), sim [n x k] float32, descending.
 * A nil means A = E with each row excluded from its own list. */
static int l_anchor_topk(lua_State *L) {
  const char *f = "anchor_topk";
  lua_settop(L, 4);
  int64_t n, d, m, da, k = ltL_check_int(L, 3, f, "k");
  const float *E = lembed_check_matrix(L, 1, f, 1, &n, &d), *A = E;
  /* Anchors nil: E against itself, each row left out of its own list. */
  int self = lua_isnil(L, 2);
  if (!self) {
    A = lembed_check_matrix(L, 2, f, 1, &m, &da);
    if (da != d)
      ltL_argerror(L, 2, f, "anchors have %lld columns, embeddings have %lld", (long long)da,
                   (long long)d);
  } else {
    m = n;
  }
  ltL_check_options(L, 4, f, topk_keys);
  int normalize = ltL_opt_bool(L, 4, f, "normalize", 1);
  if (k < 1 || k > m - self)
    ltL_argerror(L, 3, f, "k must be in 1..%lld, got %lld", (long long)(m - self), (long long)k);
  int64_t shape[2] = {n, k};
  Tensor *idx = ltL_push_new(L, LT_I64, 2, shape), *sim = ltL_push_new(L, LT_F32, 2, shape);
  lembed_check(L, lt_sphere_topk(E, n, A, m, d, k, normalize, self, idx->data, sim->data), NULL, f);
  for (int64_t i = 0; i < n * k; i++) ((int64_t *)idx->data)[i] += 1;
  return 2;
}

/* class_centroids(E, labels, C) -> centroids [C x d], counts [C] (int64).
 * labels: integer classes [n] (1..C; others ignored) or a [n x C] membership matrix. */
static int l_class_centroids(lua_State *L) {
  const char *f = "class_centroids";
  lua_settop(L, 3);
  int64_t n, d;
  const float *E = lembed_check_matrix(L, 1, f, 0, &n, &d);
  Tensor *lab = ltL_check_tensor(L, 2, f);
  char b[64];
  int64_t C = 0;
  const float *W = NULL;
  int64_t *labels = NULL;
  /* A 2-d labels argument is a membership matrix, read as float32 like E. */
  if (lab->ndim == 2) {
    int64_t ln, lc;
    W = lembed_check_matrix(L, 2, f, 0, &ln, &lc);
    if (ln != n)
      ltL_argerror(L, 2, f, "membership matrix %s must have %lld rows",
                   ltL_shape_of(lab, b, sizeof b), (long long)n);
    C = lc;
  } else if (lab->ndim == 1 && lab->shape[0] == n && !lt_dtype_is_float(lab->dtype)) {
    Tensor *c = ltL_push_new_like(L, lab, LT_I64);
    ltL_check_status(L, lt_copy(c, lab), f);
    labels = c->data;
    for (int64_t i = 0; i < n; i++)
      if (labels[i] > C) C = labels[i];
    /* Labels 1..C become 0..C-1; C defaults to the largest label, and labels outside 1..C are
     * ignored by the kernel. */
    for (int64_t i = 0; i < n; i++) labels[i] -= 1;
  } else {
    ltL_argerror(
        L, 2, f, "integer labels [%lld] or a membership matrix [%lld x C] expected, got %s %s",
        (long long)n, (long long)n, lt_dtype_name(lab->dtype), ltL_shape_of(lab, b, sizeof b));
  }
  if (!lua_isnil(L, 3)) {
    int64_t want = ltL_check_int(L, 3, f, "number of classes");
    if (want < C || want < 0)
      ltL_argerror(L, 3, f, "number of classes %lld is below the largest label %lld",
                   (long long)want, (long long)C);
    if (W && want != C)
      ltL_argerror(L, 3, f, "membership matrix has %lld classes, not %lld", (long long)C,
                   (long long)want);
    C = want;
  }
  int64_t s1[2] = {C, d}, s2[1] = {C};
  Tensor *out = ltL_push_new(L, LT_F32, 2, s1), *cnt = ltL_push_new(L, LT_I64, 1, s2);
  lembed_check(L, lt_sphere_centroids(E, n, d, W, labels, C, out->data, cnt->data), NULL, f);
  return 2;
}

/* anchor_divergence({E1, E2, ...}, A) -> [na] float64 */
static int l_anchor_divergence(lua_State *L) {
  const char *f = "anchor_divergence";
  lua_settop(L, 2);
  luaL_checktype(L, 1, LUA_TTABLE);
  int64_t m = (int64_t)lua_rawlen(L, 1), n = -1, d = -1, na, da;
  if (m < 2 || m > 1024)
    ltL_argerror(L, 1, f, "a list of 2..1024 embeddings expected, got %lld", (long long)m);
  const float *A = lembed_check_matrix(L, 2, f, 1, &na, &da);
  /* The pointer array lives in a userdata, so the GC frees it if a check below raises. Each
   * embedding's float32 copy is anchored in the table `keep` while Es points into it: kept on the
   * stack, 1024 embeddings would need 2048 slots (past LUA_MINSTACK, overwriting memory). */
  const float **Es = lua_newuserdatauv(L, sizeof *Es * (size_t)m, 0);
  lua_createtable(L, (int)m, 0);
  int keep = lua_gettop(L);
  for (int64_t e = 0; e < m; e++) {
    int64_t en, ed;
    lua_rawgeti(L, 1, (lua_Integer)e + 1);
    if (!ltL_totensor(L, -1)) ltL_argerror(L, 1, f, "entry %lld is not a tensor", (long long)e + 1);
    Es[e] = lembed_check_matrix(L, lua_gettop(L), f, 1, &en, &ed);
    if ((n >= 0 && en != n) || ed != da)
      ltL_argerror(L, 1, f, "entry %lld is [%lldx%lld]; every embedding must be [%lldx%lld]",
                   (long long)e + 1, (long long)en, (long long)ed, (long long)(n >= 0 ? n : en),
                   (long long)da);
    /* The copy moves into keep; the entry itself is dropped (the argument table holds it). */
    lua_rawseti(L, keep, (lua_Integer)e + 1);
    lua_pop(L, 1);
    n = en;
    d = ed;
  }
  int64_t shape[1] = {na};
  Tensor *out = ltL_push_new(L, LT_F64, 1, shape);
  lembed_check(L, lt_sphere_divergence(Es, m, n, d, A, na, out->data), NULL, f);
  return 1;
}

static const char *const km_keys[] = {"seed", "max_iter", "tol", NULL};

/* spherical_kmeans(X, k, opts) -> centroids [k x d], labels [n] (1-based), mean_cos, iterations */
static int l_spherical_kmeans(lua_State *L) {
  const char *f = "spherical_kmeans";
  lua_settop(L, 3);
  int64_t n, d, k = ltL_check_int(L, 2, f, "k");
  const float *X = lembed_check_matrix(L, 1, f, 1, &n, &d);
  if (k < 1 || k > n)
    ltL_argerror(L, 2, f, "k must be in 1..%lld (the number of rows), got %lld", (long long)n,
                 (long long)k);
  ltL_check_options(L, 3, f, km_keys);
  LtKmeansOptions o = {100, 1e-6, 0};
  o.seed = ltL_opt_seed(L, 3, f);
  int64_t mi = ltL_opt_int(L, 3, f, "max_iter", 100);
  o.tol = ltL_opt_number(L, 3, f, "tol", 1e-6);
  if (mi < 0 || mi > 1000000 || o.tol < 0)
    ltL_argerror(L, 3, f, "max_iter must be in 0..1e6 and tol >= 0");
  o.max_iter = (int)mi;
  int64_t s1[2] = {k, d}, s2[1] = {n};
  Tensor *C = ltL_push_new(L, LT_F32, 2, s1), *lab = ltL_push_new(L, LT_I64, 1, s2);
  LtKmeansInfo info;
  lembed_check(L, lt_spherical_kmeans(X, n, d, k, &o, C->data, lab->data, &info), NULL, f);
  for (int64_t i = 0; i < n; i++) ((int64_t *)lab->data)[i] += 1;
  lua_pushnumber(L, info.mean_cos);
  lua_pushinteger(L, info.iterations);
  return 4;
}

static const luaL_Reg sphere_fns[] = {{"anchor_topk", l_anchor_topk},
                                      {"class_centroids", l_class_centroids},
                                      {"anchor_divergence", l_anchor_divergence},
                                      {"spherical_kmeans", l_spherical_kmeans},
                                      {NULL, NULL}};

/* A part of lunette._embed (src/lunette.c lists every part): the hypersphere helpers. */
int luaopen_lunette_embed_sphere(lua_State *L);
int luaopen_lunette_embed_sphere(lua_State *L) {
  luaL_newlib(L, sphere_fns);
  return 1;
}
