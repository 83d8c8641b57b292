/* lnn.c - what the nn binding parts share: argument checks, scratch, per-sample targets. */
/* Registers nothing itself: src/lunette.c merges the lnn_*.c parts into lunette._nn. */
#include <string.h>
#include "nn/lnn.h"

Tensor *lnn_check_float(lua_State *L, int arg, const char *fname, const char *what) {
  Tensor *t = ltL_totensor(L, arg);
  if (!t) ltL_argerror(L, arg, fname, "%s: tensor expected, got %s", what, luaL_typename(L, arg));
  if (t->dtype != LT_F32 && t->dtype != LT_F64)
    ltL_argerror(L, arg, fname, "%s: float32 or float64 tensor expected, got %s", what,
                 lt_dtype_name(t->dtype));
  if (t->device != LT_CPU) ltL_argerror(L, arg, fname, "%s: tensor is on another device", what);
  /* The kernels need dense rows: a strided view is replaced at arg by a contiguous copy, which
   * the stack keeps alive until the call returns. A kernel that writes such an argument writes
   * the copy, not the caller's view. */
  if (lt_is_contiguous(t)) return t;
  t = ltL_push_contiguous(L, arg);
  lua_replace(L, arg);
  return ltL_totensor(L, arg);
}

Tensor *lnn_opt_float(lua_State *L, int arg, const char *fname, const char *what) {
  return lua_isnoneornil(L, arg) ? NULL : lnn_check_float(L, arg, fname, what);
}

Tensor *lnn_check_float_out(lua_State *L, int arg, const char *fname, const char *what) {
  Tensor *t = ltL_totensor(L, arg);
  /* A copy would take the update and drop it (a parameter registered as a transposed view
   * kept its old values through every optimiser step): refuse instead. */
  if (t && !lt_is_contiguous(t))
    ltL_argerror(L, arg, fname,
                 "%s is updated in place and must be contiguous, got a strided view "
                 "(make the tensor contiguous before registering it)",
                 what);
  return lnn_check_float(L, arg, fname, what);
}

Tensor *lnn_opt_float_out(lua_State *L, int arg, const char *fname, const char *what) {
  return lua_isnoneornil(L, arg) ? NULL : lnn_check_float_out(L, arg, fname, what);
}

void lnn_check_dtype(lua_State *L, int arg, const char *fname, const char *what, const Tensor *t,
                     LtDtype dt) {
  if (t && t->dtype != dt)
    ltL_argerror(L, arg, fname, "%s is %s but the layer computes in %s", what,
                 lt_dtype_name(t->dtype), lt_dtype_name(dt));
}

void lnn_check_numel(lua_State *L, int arg, const char *fname, const char *what, const Tensor *t,
                     int64_t n) {
  char b[64];
  if (t && lt_numel(t) != n)
    ltL_argerror(L, arg, fname, "%s has shape %s, expected %lld elements", what,
                 ltL_shape_of(t, b, sizeof b), (long long)n);
}

Tensor *lnn_push_zeros(lua_State *L, LtDtype dt, int nd, const int64_t *shape) {
  Tensor *t = ltL_push_new(L, dt, nd, shape);
  if (lt_numel(t) > 0) memset(t->data, 0, (size_t)lt_numel(t) * lt_dtype_size(dt));
  return t;
}

int64_t lnn_geti(lua_State *L, int arg, int i, const char *fname, int64_t lo) {
  if (!lua_istable(L, arg))
    ltL_argerror(L, arg, fname, "geometry table expected, got %s", luaL_typename(L, arg));
  lua_rawgeti(L, arg, i);
  int ok;
  lua_Integer v = lua_tointegerx(L, -1, &ok);
  lua_pop(L, 1);
  if (!ok || v < lo)
    ltL_argerror(L, arg, fname, "geometry entry %d must be an integer >= %lld", i, (long long)lo);
  return (int64_t)v;
}

/* ---- scratch ----------------------------------------------------------------- */

static const char SCRATCH_KEY = 'n';
/* Scratch per call is about this much: chunks of samples large enough for wide GEMMs, while a
 * big batch never needs batch-sized scratch. */
#define LNN_CHUNK_BUDGET ((size_t)48 << 20)

NnScratch lnn_scratch(lua_State *L, size_t bytes) {
  /* One buffer per Lua state, kept in the registry: layers run one at a time, and reuse spares a
   * large allocation per call. A larger request replaces it (the old one is collected); +1024
   * covers the carves' alignment padding. */
  NnScratch s = {NULL, 0, 0};
  bytes += 1024;
  Tensor *t = NULL;
  if (lua_rawgetp(L, LUA_REGISTRYINDEX, &SCRATCH_KEY) == LUA_TUSERDATA) t = ltL_totensor(L, -1);
  lua_pop(L, 1);
  if (!t || (size_t)lt_numel(t) < bytes) {
    int64_t n = (int64_t)bytes;
    t = ltL_push_new(L, LT_U8, 1, &n);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &SCRATCH_KEY);
  }
  s.base = t->data;
  s.size = (size_t)lt_numel(t);
  return s;
}

size_t lnn_chunk_bytes(int64_t batch, size_t per_sample) {
  if (per_sample == 0 || batch <= 0) return 0;
  size_t n = LNN_CHUNK_BUDGET / per_sample;
  if (n < 1) n = 1;
  /* +4096: the kernels' own alignment slack on top of the samples' bytes. */
  if ((int64_t)n > batch) n = (size_t)batch;
  return n * per_sample + 4096;
}

/* ---- per-sample targets -------------------------------------------------------- */

static const char *const PSG_MODES[] = {"full", "project", "sqnorm", NULL};

NnPsg *lnn_check_psg(lua_State *L, int arg, const char *fname, NnPsg *ps, int64_t batch,
                     LtDtype dt) {
  if (lua_isnoneornil(L, arg)) return NULL;
  luaL_checktype(L, arg, LUA_TTABLE);
  memset(ps, 0, sizeof *ps);
  int mode = ltL_opt_enum(L, arg, fname, "mode", PSG_MODES, -1);
  if (mode < 0) ltL_argerror(L, arg, fname, "per-sample target without a 'mode'");
  ps->mode = (NnPsgMode)mode;
  lua_getfield(L, arg, "out");
  Tensor *out = ltL_totensor(L, -1);
  lua_getfield(L, arg, "proj");
  Tensor *proj = ltL_totensor(L, -1);
  lua_pop(L, 2); /* the table keeps them alive */
  if (!out) ltL_argerror(L, arg, fname, "per-sample target without an 'out' tensor");
  ps->dtype = dt;
  ps->batch = batch;
  /* D comes from the tensors: FULL's out columns, PROJECT's proj columns. SQNORM has neither, so
   * the table gives it (default 0: every offset is then out of range). */
  ps->dim =
      ps->mode == NN_PSG_FULL ? (out->ndim == 2 ? out->shape[1] : -1) : (proj ? proj->shape[1] : 0);
  ps->ell = proj && proj->ndim == 2 ? proj->shape[0] : 0;
  if (ps->mode == NN_PSG_SQNORM) {
    ps->dim = ltL_opt_int(L, arg, fname, "dim", 0);
  }
  char b1[64], b2[64];
  if (nn_psg_validate(ps, out, proj) != LT_OK)
    ltL_argerror(L, arg, fname,
                 "per-sample target %s (out %s, proj %s) does not fit a batch of %lld %s samples",
                 PSG_MODES[ps->mode], ltL_shape_of(out, b1, sizeof b1),
                 proj ? ltL_shape_of(proj, b2, sizeof b2) : "none", (long long)batch,
                 lt_dtype_name(dt));
  ps->out = out->data;
  ps->proj = proj ? proj->data : NULL;
  return ps;
}

NnPsgOffsets lnn_check_offsets(lua_State *L, int warg, int barg, const char *fname) {
  NnPsgOffsets o = {-1, -1};
  if (!lua_isnoneornil(L, warg)) o.weight = ltL_check_int(L, warg, fname, "weight offset");
  if (!lua_isnoneornil(L, barg)) o.bias = ltL_check_int(L, barg, fname, "bias offset");
  /* Offsets arrive 0-based from the façade, which lays the parameters out; -1 means not wanted. */
  if (o.weight < -1 || o.bias < -1)
    ltL_argerror(L, o.weight < -1 ? warg : barg, fname, "offset must be >= 0");
  return o;
}

void lnn_status(lua_State *L, LtStatus st, const char *fname) {
  /* LT_ENOMEM means the scratch sizing and a kernel disagree: lunette's bug, not the user's. */
  if (st == LT_ENOMEM) luaL_error(L, "%s: scratch too small for one sample (internal)", fname);
  ltL_check_status(L, st, fname);
}
