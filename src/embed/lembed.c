/* lembed.c - the embed bindings' shared helpers and the main part of lunette._embed. */
#include <string.h>
#include <unistd.h>
#include "tensor/lbase.h"
#include "embed/embed.h"
#include "embed/lembed.h"

const float *lembed_check_matrix(lua_State *L, int arg, const char *fname, int64_t min_rows,
                                 int64_t *n, int64_t *d) {
  Tensor *t = ltL_check_tensor(L, arg, fname);
  char b[64];
  if (t->ndim != 2)
    ltL_argerror(L, arg, fname, "2-d tensor [n x d] expected, got %s",
                 ltL_shape_of(t, b, sizeof b));
  if (t->dtype == LT_BOOL) ltL_argerror(L, arg, fname, "numeric tensor expected, got bool");
  if (t->shape[0] < min_rows)
    ltL_argerror(L, arg, fname, "at least %lld rows needed, got %s", (long long)min_rows,
                 ltL_shape_of(t, b, sizeof b));
  if (t->shape[1] < 1)
    ltL_argerror(L, arg, fname, "at least 1 column needed, got %s", ltL_shape_of(t, b, sizeof b));
  Tensor *c;
  /* The kernels read contiguous float32 rows: convert or compact into a pushed tensor, which the GC
   * owns even if a later check raises. */
  if (t->dtype == LT_F32)
    c = ltL_push_contiguous(L, arg);
  else {
    c = ltL_push_new_like(L, t, LT_F32);
    ltL_check_status(L, lt_copy(c, t), fname);
  }
  *n = c->shape[0];
  *d = c->shape[1];
  /* Checked here, once, so that no kernel has to: a NaN would silently poison every distance. */
  int64_t bad = lt_embed_first_bad_row(c->data, *n, *d);
  if (bad >= 0)
    ltL_argerror(L, arg, fname, "row %lld contains NaN or infinity", (long long)bad + 1);
  return c->data;
}

/* The LtEmbedProgressFn behind option `progress`. lt_embed_tick calls it on the kernel's calling
 * thread, outside parallel regions, so running Lua here is safe. A Lua error must not longjmp
 * through the kernel (it would skip the kernel's frees): it is caught, parked in h->slot, and the
 * kernel is told to stop; lembed_check raises it once the kernel has cleaned up. */
static int progress_call(void *ctx, const char *stage, int64_t done, int64_t total) {
  LembedHook *h = ctx;
  lua_State *L = h->L;
  lua_pushvalue(L, h->fn);
  lua_pushstring(L, stage);
  lua_pushinteger(L, (lua_Integer)done);
  lua_pushinteger(L, (lua_Integer)total);
  if (lua_pcall(L, 3, 1, 0) != LUA_OK) {
    lua_replace(L, h->slot);
    h->failed = 1;
    return 1;
  }
  /* Only an explicit false stops: a hook that returns nothing goes on. */
  int stop = lua_isboolean(L, -1) && !lua_toboolean(L, -1);
  lua_pop(L, 1);
  return stop;
}

void lembed_progress(lua_State *L, int arg, const char *fname, LembedHook *h, LtEmbedProgress *p) {
  memset(h, 0, sizeof *h);
  p->fn = NULL;
  p->ctx = h;
  /* The error slot is pushed first, so it exists before the hook can run. */
  lua_pushnil(L);
  h->L = L;
  h->slot = lua_gettop(L);
  if (!ltL_opt_get(L, arg, "progress")) return;
  if (lua_isfunction(L, -1)) {
    h->fn = lua_gettop(L);
    p->fn = progress_call;
    return;
  }
  /* A boolean means no hook here: the Lua façade turns progress = true into a function. */
  if (!lua_isboolean(L, -1))
    ltL_argerror(L, arg, fname, "option 'progress' must be a boolean or a function, got %s",
                 luaL_typename(L, -1));
  lua_pop(L, 1);
}

void lembed_check(lua_State *L, LtStatus st, const LembedHook *h, const char *fname) {
  /* The hook's error first: the kernel's LT_EINTR is only its consequence. */
  if (h && h->failed) {
    lua_pushvalue(L, h->slot);
    lua_error(L);
  }
  if (st == LT_EVALUE) luaL_error(L, "%s: invalid arguments", fname);
  ltL_check_status(L, st, fname);
}

static int csr_gc(lua_State *L) {
  lt_csr_free(luaL_checkudata(L, 1, "lunette.embed.Csr"));
  return 0;
}

LtCsr *lembed_push_csr(lua_State *L) {
  /* Pushed empty before the kernel allocates: once filled, __gc frees the arrays whatever raises
   * later. */
  LtCsr *g = lua_newuserdatauv(L, sizeof *g, 0);
  memset(g, 0, sizeof *g);
  if (luaL_newmetatable(L, "lunette.embed.Csr")) {
    lua_pushcfunction(L, csr_gc);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, csr_gc);
    lua_setfield(L, -2, "__close");
  }
  lua_setmetatable(L, -2);
  return g;
}

/* _stderr_isatty() -> whether stderr is a terminal (progress bars draw only then). */
static int l_stderr_isatty(lua_State *L) {
  lua_pushboolean(L, isatty(2));
  return 1;
}

static const luaL_Reg embed_fns[] = {{"_stderr_isatty", l_stderr_isatty}, {NULL, NULL}};

/* The main part of lunette._embed (src/lunette.c lists every part, lembed_*.c the others). */
int luaopen_lunette_embed(lua_State *L);
int luaopen_lunette_embed(lua_State *L) {
  luaL_newlib(L, embed_fns);
  return 1;
}
