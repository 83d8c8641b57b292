/* lnn_norm.c - Lua binding for batch and layer normalisation: forward, backward, per-sample. */
#include "nn/lnn.h"
#include "nn/nn_norm.h"

/* A [B x C x L] view of contiguous x ([B x C] or [B x C x ...]): BatchNorm1d and 2d share one
 * kernel. */
static Tensor as_bcl(lua_State *L, const char *fname, const Tensor *x) {
  char b[64];
  if (x->ndim < 2)
    ltL_argerror(L, 1, fname, "input must be [B x C] or [B x C x ...], got %s",
                 ltL_shape_of(x, b, sizeof b));
  Tensor v = *x;
  int64_t l = 1;
  for (int d = 2; d < x->ndim; d++) l *= x->shape[d];
  v.ndim = 3;
  v.shape[2] = l;
  lt_contiguous_strides(3, v.shape, v.stride);
  return v;
}

static void check_channels(lua_State *L, int arg, const char *fname, const char *what,
                           const Tensor *t, const Tensor *x) {
  if (!t) return;
  lnn_check_dtype(L, arg, fname, what, t, x->dtype);
  lnn_check_numel(L, arg, fname, what, t, x->shape[1]);
}

/* batchnorm_forward(x, gamma|nil, beta|nil, rmean|nil, rvar|nil, training, eps, momentum) -> y,
 * mean, invstd */
static int l_batchnorm_forward(lua_State *L) {
  const char *fname = "batch_norm";
  Tensor *x = lnn_check_float(L, 1, fname, "input");
  Tensor *g = lnn_opt_float(L, 2, fname, "weight"), *b = lnn_opt_float(L, 3, fname, "bias");
  Tensor *rm = lnn_opt_float_out(L, 4, fname, "running_mean"),
         *rv = lnn_opt_float_out(L, 5, fname, "running_var");
  int training = lua_toboolean(L, 6);
  double eps = luaL_checknumber(L, 7), mom = luaL_optnumber(L, 8, 0.1);
  Tensor xv = as_bcl(L, fname, x);
  check_channels(L, 2, fname, "weight", g, x);
  check_channels(L, 3, fname, "bias", b, x);
  check_channels(L, 4, fname, "running_mean", rm, x);
  check_channels(L, 5, fname, "running_var", rv, x);
  if (!training && (!rm || !rv))
    return ltL_argerror(L, 4, fname, "evaluation needs running statistics");
  /* Checked here for a message naming the batch; the kernel refuses it too. */
  if (training && xv.shape[0] * xv.shape[2] < 2)
    return ltL_argerror(L, 1, fname,
                        "training needs more than 1 value per channel, got input of batch %lld",
                        (long long)x->shape[0]);
  Tensor *y = ltL_push_new(L, x->dtype, x->ndim, x->shape);
  Tensor *m = ltL_push_new(L, LT_F64, 1, &x->shape[1]),
         *is = ltL_push_new(L, LT_F64, 1, &x->shape[1]);
  /* y gets x's [B x C x L] view. mean and invstd (F64) go back to Lua, which hands them to the
   * backward. */
  Tensor yv = xv;
  yv.data = y->data;
  LtStatus st = training ? nn_batchnorm_forward_train(&yv, m, is, &xv, g, b, rm, rv, eps, mom)
                         : nn_batchnorm_forward_eval(&yv, m, is, &xv, g, b, rm, rv, eps);
  lnn_status(L, st, fname);
  return 3;
}

/* batchnorm_backward(dy, x, gamma|nil, mean, invstd, training, ggamma|nil, gbeta|nil, need_dx,
 *                    psg|nil, woff|nil, boff|nil) -> dx|nil */
static int l_batchnorm_backward(lua_State *L) {
  const char *fname = "batch_norm_backward";
  Tensor *dy = lnn_check_float(L, 1, fname, "grad_output");
  Tensor *x = lnn_check_float(L, 2, fname, "input");
  Tensor *g = lnn_opt_float(L, 3, fname, "weight");
  Tensor *m = lnn_check_float(L, 4, fname, "mean"), *is = lnn_check_float(L, 5, fname, "invstd");
  int training = lua_toboolean(L, 6);
  Tensor *gg = lnn_opt_float_out(L, 7, fname, "weight grad"),
         *gb = lnn_opt_float_out(L, 8, fname, "bias grad");
  int need_dx = lua_toboolean(L, 9);
  /* dy is read through x's view: the checks below make it contiguous with x's numel. */
  Tensor xv = as_bcl(L, fname, x), dyv = xv;
  lnn_check_dtype(L, 1, fname, "grad_output", dy, x->dtype);
  lnn_check_numel(L, 1, fname, "grad_output", dy, lt_numel(x));
  dyv.data = dy->data;
  check_channels(L, 3, fname, "weight", g, x);
  check_channels(L, 7, fname, "weight grad", gg, x);
  check_channels(L, 8, fname, "bias grad", gb, x);
  lnn_check_dtype(L, 4, fname, "mean", m, LT_F64);
  lnn_check_dtype(L, 5, fname, "invstd", is, LT_F64);
  NnPsg ps;
  NnPsg *p = lnn_check_psg(L, 10, fname, &ps, x->shape[0], x->dtype);
  NnPsgOffsets off = lnn_check_offsets(L, 11, 12, fname);
  Tensor *dx = need_dx ? lnn_push_zeros(L, x->dtype, x->ndim, x->shape) : NULL;
  Tensor dxv = xv;
  if (dx) dxv.data = dx->data;
  /* Per-sample scratch: 2 C entries (gamma's and beta's gradients) per sample. */
  if (p)
    ps.scratch = lnn_scratch(
        L, lnn_chunk_bytes(x->shape[0], (size_t)(2 * x->shape[1]) * lt_dtype_size(x->dtype)));
  lnn_status(L,
             nn_batchnorm_backward(dx ? &dxv : NULL, gg, gb, &dyv, &xv, g, m, is, training, p, off),
             fname);
  if (!dx) lua_pushnil(L);
  return 1;
}

/* A [N x D] view of contiguous x whose last dims hold D entries: LayerNorm normalises those. */
static Tensor as_nd(lua_State *L, const char *fname, const Tensor *x, int64_t d) {
  char b[64];
  if (d < 1 || lt_numel(x) % d || x->ndim < 1)
    ltL_argerror(L, 1, fname, "input %s does not end with %lld normalised entries",
                 ltL_shape_of(x, b, sizeof b), (long long)d);
  Tensor v = *x;
  v.ndim = 2;
  v.shape[0] = lt_numel(x) / d;
  v.shape[1] = d;
  lt_contiguous_strides(2, v.shape, v.stride);
  return v;
}

/* layernorm_forward(x, D, gamma|nil, beta|nil, eps) -> y, mean, invstd */
static int l_layernorm_forward(lua_State *L) {
  const char *fname = "layer_norm";
  Tensor *x = lnn_check_float(L, 1, fname, "input");
  int64_t d = ltL_check_int(L, 2, fname, "normalised size");
  Tensor *g = lnn_opt_float(L, 3, fname, "weight"), *b = lnn_opt_float(L, 4, fname, "bias");
  double eps = luaL_checknumber(L, 5);
  Tensor xv = as_nd(L, fname, x, d);
  if (g) {
    lnn_check_dtype(L, 3, fname, "weight", g, x->dtype);
    lnn_check_numel(L, 3, fname, "weight", g, d);
  }
  if (b) {
    lnn_check_dtype(L, 4, fname, "bias", b, x->dtype);
    lnn_check_numel(L, 4, fname, "bias", b, d);
  }
  Tensor *y = ltL_push_new(L, x->dtype, x->ndim, x->shape);
  Tensor *m = ltL_push_new(L, LT_F64, 1, &xv.shape[0]),
         *is = ltL_push_new(L, LT_F64, 1, &xv.shape[0]);
  Tensor yv = xv;
  yv.data = y->data;
  lnn_status(L, nn_layernorm_forward(&yv, m, is, &xv, g, b, eps), fname);
  return 3;
}

/* layernorm_backward(dy, x, D, gamma|nil, mean, invstd, ggamma|nil, gbeta|nil, need_dx, psg|nil,
 * woff|nil, boff|nil) */
static int l_layernorm_backward(lua_State *L) {
  const char *fname = "layer_norm_backward";
  Tensor *dy = lnn_check_float(L, 1, fname, "grad_output");
  Tensor *x = lnn_check_float(L, 2, fname, "input");
  int64_t d = ltL_check_int(L, 3, fname, "normalised size");
  Tensor *g = lnn_opt_float(L, 4, fname, "weight");
  Tensor *m = lnn_check_float(L, 5, fname, "mean"), *is = lnn_check_float(L, 6, fname, "invstd");
  Tensor *gg = lnn_opt_float_out(L, 7, fname, "weight grad"),
         *gb = lnn_opt_float_out(L, 8, fname, "bias grad");
  int need_dx = lua_toboolean(L, 9);
  Tensor xv = as_nd(L, fname, x, d), dyv = xv;
  lnn_check_dtype(L, 1, fname, "grad_output", dy, x->dtype);
  lnn_check_numel(L, 1, fname, "grad_output", dy, lt_numel(x));
  dyv.data = dy->data;
  if (g) {
    lnn_check_dtype(L, 4, fname, "weight", g, x->dtype);
    lnn_check_numel(L, 4, fname, "weight", g, d);
  }
  if (gg) lnn_check_numel(L, 7, fname, "weight grad", gg, d);
  if (gb) lnn_check_numel(L, 8, fname, "bias grad", gb, d);
  NnPsg ps;
  NnPsg *p = lnn_check_psg(L, 10, fname, &ps, x->shape[0], x->dtype);
  NnPsgOffsets off = lnn_check_offsets(L, 11, 12, fname);
  Tensor *dx = need_dx ? lnn_push_zeros(L, x->dtype, x->ndim, x->shape) : NULL;
  Tensor dxv = xv;
  if (dx) dxv.data = dx->data;
  if (p)
    ps.scratch =
        lnn_scratch(L, lnn_chunk_bytes(x->shape[0], (size_t)(2 * d) * lt_dtype_size(x->dtype)));
  lnn_status(L, nn_layernorm_backward(dx ? &dxv : NULL, gg, gb, &dyv, &xv, g, m, is, p, off),
             fname);
  if (!dx) lua_pushnil(L);
  return 1;
}

static const luaL_Reg fns[] = {{"batchnorm_forward", l_batchnorm_forward},
                               {"batchnorm_backward", l_batchnorm_backward},
                               {"layernorm_forward", l_layernorm_forward},
                               {"layernorm_backward", l_layernorm_backward},
                               {NULL, NULL}};

/* A part of lunette._nn (src/lunette.c lists every part): the normalisation kernels. */
int luaopen_lunette_nn_norm(lua_State *L);
int luaopen_lunette_nn_norm(lua_State *L) {
  luaL_newlib(L, fns);
  return 1;
}
