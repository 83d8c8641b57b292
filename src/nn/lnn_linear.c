/* lnn_linear.c - Lua binding for the fully connected layer: forward, backward (per-sample too). */
#include "nn/lnn.h"
#include "nn/nn_linear.h"

/* A 2-d [N x last] view of contiguous t: a Linear acts on the last dim, as PyTorch's. */
static Tensor as_rows(const Tensor *t) {
  Tensor v = *t;
  int64_t rows = 1, last = t->ndim ? t->shape[t->ndim - 1] : 1;
  for (int d = 0; d < t->ndim - 1; d++) rows *= t->shape[d];
  v.ndim = 2;
  v.shape[0] = rows;
  v.shape[1] = last;
  lt_contiguous_strides(2, v.shape, v.stride);
  return v;
}

/* Raises, with the shapes, before anything is allocated: w [out x in] of x's dtype, in equal to
 * x's last dim, b [out]. */
static void check_weight(lua_State *L, const char *fname, const Tensor *x, const Tensor *w,
                         const Tensor *b) {
  char b1[64], b2[64];
  if (x->ndim < 1) ltL_argerror(L, 1, fname, "input must have at least 1 dim, got a 0-d tensor");
  if (w->ndim != 2)
    ltL_argerror(L, 2, fname, "weight must be [out x in], got %s", ltL_shape_of(w, b1, sizeof b1));
  lnn_check_dtype(L, 2, fname, "weight", w, x->dtype);
  if (w->shape[1] != x->shape[x->ndim - 1])
    ltL_argerror(L, 1, fname, "input %s has %lld features, weight %s expects %lld",
                 ltL_shape_of(x, b1, sizeof b1), (long long)x->shape[x->ndim - 1],
                 ltL_shape_of(w, b2, sizeof b2), (long long)w->shape[1]);
  if (b) {
    lnn_check_dtype(L, 3, fname, "bias", b, x->dtype);
    lnn_check_numel(L, 3, fname, "bias", b, w->shape[0]);
  }
}

/* linear_forward(x [..., I], w [O x I], b [O] | nil) -> y [..., O] */
static int l_linear_forward(lua_State *L) {
  const char *fname = "linear";
  Tensor *x = lnn_check_float(L, 1, fname, "input");
  Tensor *w = lnn_check_float(L, 2, fname, "weight");
  Tensor *b = lnn_opt_float(L, 3, fname, "bias");
  check_weight(L, fname, x, w, b);
  int64_t shape[LT_MAXDIM];
  for (int d = 0; d < x->ndim; d++) shape[d] = x->shape[d];
  shape[x->ndim - 1] = w->shape[0];
  Tensor *y = ltL_push_new(L, x->dtype, x->ndim, shape);
  Tensor xv = as_rows(x), yv = as_rows(y);
  lnn_status(L, nn_linear_forward(&yv, &xv, w, b), fname);
  return 1;
}

/* linear_backward(dy, x, w, gw|nil, gb|nil, need_dx, psg|nil, woff|nil, boff|nil) -> dx|nil
 * gw/gb accumulate the batch gradients; psg receives per-sample ones. */
static int l_linear_backward(lua_State *L) {
  const char *fname = "linear_backward";
  Tensor *dy = lnn_check_float(L, 1, fname, "grad_output");
  Tensor *x = lnn_check_float(L, 2, fname, "input");
  Tensor *w = lnn_check_float(L, 3, fname, "weight");
  Tensor *gw = lnn_opt_float_out(L, 4, fname, "weight grad");
  Tensor *gb = lnn_opt_float_out(L, 5, fname, "bias grad");
  int need_dx = lua_toboolean(L, 6);
  check_weight(L, fname, x, w, NULL);
  Tensor xv = as_rows(x), dyv = as_rows(dy);
  char b1[64], b2[64];
  if (dy->dtype != x->dtype || dyv.shape[0] != xv.shape[0] || dyv.shape[1] != w->shape[0])
    ltL_argerror(L, 1, fname, "grad_output %s does not match input %s",
                 ltL_shape_of(dy, b1, sizeof b1), ltL_shape_of(x, b2, sizeof b2));
  if (gw) {
    lnn_check_dtype(L, 4, fname, "weight grad", gw, x->dtype);
    lnn_check_numel(L, 4, fname, "weight grad", gw, lt_numel(w));
  }
  if (gb) {
    lnn_check_dtype(L, 5, fname, "bias grad", gb, x->dtype);
    lnn_check_numel(L, 5, fname, "bias grad", gb, w->shape[0]);
  }
  NnPsg ps;
  int64_t batch = x->ndim > 1 ? x->shape[0] : 1;
  NnPsg *p = lnn_check_psg(L, 7, fname, &ps, batch, x->dtype);
  NnPsgOffsets off = lnn_check_offsets(L, 8, 9, fname);
  Tensor gwv, *gwp = NULL;
  /* gw may be any shape with w's numel (a flat gradient buffer): the kernel sees it as [O x I]. */
  if (gw) {
    gwv = *gw;
    gwv.ndim = 2;
    gwv.shape[0] = w->shape[0];
    gwv.shape[1] = w->shape[1];
    lt_contiguous_strides(2, gwv.shape, gwv.stride);
    gwp = &gwv;
  }
  /* dx starts at zero: the kernel accumulates. */
  Tensor *dx = need_dx ? lnn_push_zeros(L, x->dtype, x->ndim, x->shape) : NULL;
  Tensor dxv;
  if (dx) dxv = as_rows(dx);
  lnn_status(L, nn_linear_backward(dx ? &dxv : NULL, gwp, gb, &dyv, &xv, w), fname);
  if (p) {
    /* Sample b owns T = rows / batch consecutive rows (tokens of a sequence). Scratch is sized
     * for one sample (nb = 1) and lnn_chunk_bytes scales it to as many as the budget holds. */
    int64_t t = batch ? xv.shape[0] / batch : 1;
    ps.scratch = lnn_scratch(
        L, lnn_chunk_bytes(batch, nn_linear_psg_scratch(p, t, w->shape[1], w->shape[0], 1)));
    lnn_status(L, nn_linear_psg(p, off, &dyv, &xv), fname);
  }
  if (!dx) lua_pushnil(L);
  return 1;
}

static const luaL_Reg fns[] = {
    {"linear_forward", l_linear_forward}, {"linear_backward", l_linear_backward}, {NULL, NULL}};

/* A part of lunette._nn (src/lunette.c lists every part): the fully connected layer kernels. */
int luaopen_lunette_nn_linear(lua_State *L);
int luaopen_lunette_nn_linear(lua_State *L) {
  luaL_newlib(L, fns);
  return 1;
}
