/* lembed_knn.c - Lua binding for k nearest neighbours (exact and NN-descent) and recall. */
#include "tensor/lbase.h"
#include "embed/lembed.h"
#include "embed/embed_knn.h"

static const char *const metric_names[] = {"sqeuclidean", "euclidean", "cosine", NULL};
static const char *const method_names[] = {"auto", "exact", "approx", NULL};
static const char *const knn_keys[] = {"query",   "metric",    "method",   "seed",
                                       "n_trees", "leaf_size", "max_iter", "max_candidates",
                                       "delta",   "progress",  NULL};

/* Reads the NN-descent setting `key` of the options at 3, checked as an int64 against 0..max
 * before it becomes an int (0, the default, lets the kernel derive it from n and k). The bounds
 * keep the work finite: the forest joins leaves pairwise, a round joins candidates pairwise. */
static int nnd_setting(lua_State *L, const char *f, const char *key, int64_t max) {
  int64_t v = ltL_opt_int(L, 3, f, key, 0);
  if (v < 0 || v > max)
    ltL_argerror(L, 3, f, "option '%s' must be in 0..%lld (0: the default), got %lld", key,
                 (long long)max, (long long)v);
  return (int)v;
}

/* knn(X, k, opts) -> idx [m x k] int64 (1-based), dist [m x k] float32.
 * Without opts.query the neighbours of each row of X among the other rows. */
static int l_knn(lua_State *L) {
  lua_settop(L, 3);
  const char *f = "knn";
  int64_t n, d, m, dq, k = ltL_check_int(L, 2, f, "k");
  const float *X = lembed_check_matrix(L, 1, f, 1, &n, &d), *Q = X;
  ltL_check_options(L, 3, f, knn_keys);
  int self = 1;
  m = n;
  if (ltL_opt_get(L, 3, "query")) {
    int qi = lua_gettop(L);
    Q = lembed_check_matrix(L, qi, f, 0, &m, &dq);
    if (dq != d)
      ltL_argerror(L, 3, f, "query has %lld columns, data has %lld", (long long)dq, (long long)d);
    self = 0;
  }
  /* Checked here rather than left to a kernel's LT_EVALUE, so the message speaks of rows. */
  int64_t avail = n - self;
  if (k < 1 || k > avail)
    ltL_argerror(L, 2, f, "k must be in 1..%lld (%s), got %lld", (long long)avail,
                 self ? "the other rows" : "the data rows", (long long)k);
  LtMetric metric = (LtMetric)ltL_opt_enum(L, 3, f, "metric", metric_names, LT_METRIC_EUCLIDEAN);
  LtKnnMethod method = (LtKnnMethod)ltL_opt_enum(L, 3, f, "method", method_names, LT_KNN_AUTO);
  if (!self && method == LT_KNN_APPROX)
    ltL_argerror(L, 3, f, "method \"approx\" builds the kNN graph of X itself (no query)");
  LtNndOptions no = {0};
  no.seed = ltL_opt_seed(L, 3, f);
  no.n_trees = nnd_setting(L, f, "n_trees", 256);
  no.leaf_size = nnd_setting(L, f, "leaf_size", 10000);
  no.max_iter = nnd_setting(L, f, "max_iter", 1000);
  no.max_candidates = nnd_setting(L, f, "max_candidates", 1000);
  no.delta = ltL_opt_number(L, 3, f, "delta", 0);
  if (!(no.delta >= 0 && no.delta <= 1))
    ltL_argerror(L, 3, f, "option 'delta' must be in [0, 1] (0: the default), got %g", no.delta);
  int64_t shape[2] = {m, k};
  Tensor *idx = ltL_push_new(L, LT_I64, 2, shape);
  Tensor *dist = ltL_push_new(L, LT_F32, 2, shape);
  /* Results first: out and out + 1 stay put whatever lembed_progress pushes. */
  int out = lua_gettop(L) - 1;
  LembedHook h;
  LtEmbedProgress p;
  lembed_progress(L, 3, f, &h, &p);
  /* approx with k = n - 1 takes every other row: the exact path answers that directly. */
  LtStatus st;
  if (!self)
    st = lt_knn_exact(X, n, Q, m, d, k, 0, metric, idx->data, dist->data, &p);
  else if (method == LT_KNN_APPROX && k < n - 1)
    st = lt_knn_nndescent(X, n, d, k, metric, &no, idx->data, dist->data, &p);
  else
    st = lt_knn_graph(X, n, d, k, metric, method == LT_KNN_APPROX ? LT_KNN_EXACT : method, no.seed,
                      idx->data, dist->data, &p);
  lembed_check(L, st, &h, f);
  int64_t *ix = idx->data;
  /* 1-based for Lua (every entry is filled, NN-descent's too). */
  for (int64_t i = 0; i < m * k; i++) ix[i] += 1;
  lua_pushvalue(L, out);
  lua_pushvalue(L, out + 1);
  return 2;
}

/* knn_recall(approx, exact) -> mean fraction of each row of exact found in the same row of approx
 */
static int l_knn_recall(lua_State *L) {
  lua_settop(L, 2);
  Tensor *a = ltL_check_tensor(L, 1, "knn_recall"), *b = ltL_check_tensor(L, 2, "knn_recall");
  char s1[64], s2[64];
  if (a->ndim != 2 || b->ndim != 2 || a->shape[0] != b->shape[0] || lt_dtype_is_float(a->dtype) ||
      lt_dtype_is_float(b->dtype))
    return ltL_argerror(
        L, 2, "knn_recall",
        "two integer index tensors with the same number of rows expected, got %s and %s",
        ltL_shape_of(a, s1, sizeof s1), ltL_shape_of(b, s2, sizeof s2));
  /* Any integer dtype and layout, copied to contiguous int64 (both sides 1-based: no shift). */
  Tensor *ca = ltL_push_new_like(L, a, LT_I64), *cb = ltL_push_new_like(L, b, LT_I64);
  ltL_check_status(L, lt_copy(ca, a), "knn_recall");
  ltL_check_status(L, lt_copy(cb, b), "knn_recall");
  lua_pushnumber(L, lt_knn_recall(ca->data, ca->shape[1], cb->data, cb->shape[1], ca->shape[0]));
  return 1;
}

static const luaL_Reg knn_fns[] = {{"knn", l_knn}, {"knn_recall", l_knn_recall}, {NULL, NULL}};

/* A part of lunette._embed (src/lunette.c lists every part): nearest neighbours. */
int luaopen_lunette_embed_knn(lua_State *L);
int luaopen_lunette_embed_knn(lua_State *L) {
  luaL_newlib(L, knn_fns);
  return 1;
}
