/* lembed_metrics.c - Lua binding for embedding quality (trustworthiness, continuity, kNN). */
#include "tensor/lbase.h"
#include "embed/lembed.h"
#include "embed/embed_metrics.h"

/* quality(X, Y, k, progress) -> trustworthiness, continuity, knn_preservation */
static int l_quality(lua_State *L) {
  const char *f = "quality";
  int64_t n, dx, ny, dy;
  lua_settop(L, 4);
  /* progress comes as a positional argument: wrapped in an options table so that lembed_progress
   * reads it the usual way. */
  lua_newtable(L);
  lua_pushvalue(L, 4);
  lua_setfield(L, -2, "progress");
  int opt = lua_gettop(L);
  const float *X = lembed_check_matrix(L, 1, f, 1, &n, &dx);
  const float *Y = lembed_check_matrix(L, 2, f, 1, &ny, &dy);
  if (ny != n)
    ltL_argerror(L, 2, f, "embedding has %lld rows, data has %lld", (long long)ny, (long long)n);
  int64_t k = lua_isnoneornil(L, 3) ? 5 : ltL_check_int(L, 3, f, "k");
  /* k < n/2 keeps the trustworthiness normaliser 2 / (n k (2n - 3k - 1)) positive. */
  if (k < 1 || 2 * k >= n)
    ltL_argerror(L, 3, f, "k must be in 1..%lld (below n/2 for n = %lld), got %lld",
                 (long long)((n - 1) / 2), (long long)n, (long long)k);
  LembedHook h;
  LtEmbedProgress p;
  lembed_progress(L, opt, f, &h, &p);
  LtEmbedQuality q;
  lembed_check(L, lt_embed_quality(X, dx, Y, dy, n, k, &q, &p), &h, f);
  lua_pushnumber(L, q.trustworthiness);
  lua_pushnumber(L, q.continuity);
  lua_pushnumber(L, q.knn_preservation);
  return 3;
}

static const luaL_Reg metrics_fns[] = {{"quality", l_quality}, {NULL, NULL}};

/* A part of lunette._embed (src/lunette.c lists every part): the quality metrics. */
int luaopen_lunette_embed_metrics(lua_State *L);
int luaopen_lunette_embed_metrics(lua_State *L) {
  luaL_newlib(L, metrics_fns);
  return 1;
}
