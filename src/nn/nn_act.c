/* nn_act.c - pointwise activations and row softmax, float and double kernels. */
#include <math.h>
#include "nn/nn_act.h"

static const char *act_names[NN_NACT] = {"relu", "gelu", "gelu_tanh", "tanh", "sigmoid", "silu"};
_Static_assert(sizeof act_names / sizeof act_names[0] == NN_NACT, "activation names");

const char *nn_act_name(NnAct a) { return a < NN_NACT ? act_names[a] : "?"; }

#define SQRT1_2      0.70710678118654752440
#define INV_SQRT_2PI 0.39894228040143267794
#define GELU_K       0.79788456080286535588 /* sqrt(2/pi) */

/* One loop per activation so each vectorises; `acc` selects dx += or dx =. relu is memory-bound,
 * so threads pay only on large arrays (262144 elements); the others cost more per element and
 * split from 65536. */
LT_HOT static void fwd_f32(NnAct a, float *y, const float *x, int64_t n) {
  switch (a) {
  case NN_RELU: /* NaN passes through, as in torch */
#pragma omp parallel for simd schedule(static) if (n >= 262144)
    for (int64_t i = 0; i < n; i++) y[i] = x[i] < 0 ? 0.0f : x[i];
    break;
  case NN_GELU:
#pragma omp parallel for schedule(static) if (n >= 65536)
    for (int64_t i = 0; i < n; i++) y[i] = 0.5f * x[i] * (1.0f + erff(x[i] * (float)SQRT1_2));
    break;
  case NN_GELU_TANH:
#pragma omp parallel for schedule(static) if (n >= 65536)
    for (int64_t i = 0; i < n; i++) {
      float v = x[i];
      y[i] = 0.5f * v * (1.0f + tanhf((float)GELU_K * (v + 0.044715f * v * v * v)));
    }
    break;
  case NN_TANH:
#pragma omp parallel for schedule(static) if (n >= 65536)
    for (int64_t i = 0; i < n; i++) y[i] = tanhf(x[i]);
    break;
  case NN_SIGMOID:
#pragma omp parallel for schedule(static) if (n >= 65536)
    for (int64_t i = 0; i < n; i++) y[i] = 1.0f / (1.0f + expf(-x[i]));
    break;
  default:
#pragma omp parallel for schedule(static) if (n >= 65536)
    for (int64_t i = 0; i < n; i++) y[i] = x[i] / (1.0f + expf(-x[i]));
    break;
  }
}

/* The F64 path serves the gradient checks: one loop with the switch inside, clarity over speed. */
static void fwd_f64(NnAct a, double *y, const double *x, int64_t n) {
#pragma omp parallel for schedule(static) if (n >= 65536)
  for (int64_t i = 0; i < n; i++) {
    double v = x[i];
    switch (a) {
    case NN_RELU: y[i] = v < 0 ? 0 : v; break;
    case NN_GELU: y[i] = 0.5 * v * (1.0 + erf(v * SQRT1_2)); break;
    case NN_GELU_TANH: y[i] = 0.5 * v * (1.0 + tanh(GELU_K * (v + 0.044715 * v * v * v))); break;
    case NN_TANH: y[i] = tanh(v); break;
    case NN_SIGMOID: y[i] = 1.0 / (1.0 + exp(-v)); break;
    default: y[i] = v / (1.0 + exp(-v)); break;
    }
  }
}

/* The derivative of f at one point, from its input v and output u. relu, tanh and sigmoid read
 * u, which saves recomputing f; gelu and silu need v. */
static inline float dact_f32(NnAct a, float v, float u) {
  switch (a) {
  case NN_RELU: return u > 0 ? 1.0f : 0.0f;
  case NN_GELU:
    /* d/dv [v Phi(v)] = Phi(v) + v phi(v). */
    return 0.5f * (1.0f + erff(v * (float)SQRT1_2)) + v * (float)INV_SQRT_2PI * expf(-0.5f * v * v);
  case NN_GELU_TANH: {
    /* Product rule on 0.5 v (1 + t): 0.5 (1 + t) + 0.5 v (1 - t^2) k (1 + 3c v^2), c = 0.044715 */
    float t = tanhf((float)GELU_K * (v + 0.044715f * v * v * v));
    return 0.5f * (1 + t) + 0.5f * v * (1 - t * t) * (float)GELU_K * (1 + 3 * 0.044715f * v * v);
  }
  case NN_TANH: return 1.0f - u * u;
  case NN_SIGMOID: return u * (1.0f - u);
  default: {
    /* d/dv [v s(v)] = s + v s (1 - s) = s (1 + v (1 - s)). */
    float s = 1.0f / (1.0f + expf(-v));
    return s * (1 + v * (1 - s));
  }
  }
}

/* The same derivatives in double, for the F64 path. */
static inline double dact_f64(NnAct a, double v, double u) {
  switch (a) {
  case NN_RELU: return u > 0 ? 1.0 : 0.0;
  case NN_GELU: return 0.5 * (1.0 + erf(v * SQRT1_2)) + v * INV_SQRT_2PI * exp(-0.5 * v * v);
  case NN_GELU_TANH: {
    double t = tanh(GELU_K * (v + 0.044715 * v * v * v));
    return 0.5 * (1 + t) + 0.5 * v * (1 - t * t) * GELU_K * (1 + 3 * 0.044715 * v * v);
  }
  case NN_TANH: return 1.0 - u * u;
  case NN_SIGMOID: return u * (1.0 - u);
  default: {
    double s = 1.0 / (1.0 + exp(-v));
    return s * (1 + v * (1 - s));
  }
  }
}

LT_HOT static void bwd_f32(NnAct a, float *dx, const float *dy, const float *x, const float *y,
                           int64_t n, int acc) {
  /* relu's mask needs no derivative call: its own simd loop, with the forward's threshold. */
  if (a == NN_RELU) {
#pragma omp parallel for simd schedule(static) if (n >= 262144)
    for (int64_t i = 0; i < n; i++) dx[i] = (acc ? dx[i] : 0.0f) + (y[i] > 0 ? dy[i] : 0.0f);
    return;
  }
#pragma omp parallel for schedule(static) if (n >= 65536)
  for (int64_t i = 0; i < n; i++) dx[i] = (acc ? dx[i] : 0.0f) + dy[i] * dact_f32(a, x[i], y[i]);
}

static void bwd_f64(NnAct a, double *dx, const double *dy, const double *x, const double *y,
                    int64_t n, int acc) {
#pragma omp parallel for schedule(static) if (n >= 65536)
  for (int64_t i = 0; i < n; i++) dx[i] = (acc ? dx[i] : 0.0) + dy[i] * dact_f64(a, x[i], y[i]);
}

LtStatus nn_act_forward(NnAct a, Tensor *y, const Tensor *x) {
  if (a >= NN_NACT) return LT_EVALUE;
  if (!nn_is_float(x)) return LT_EDTYPE;
  int64_t n = lt_numel(x);
  if (nn_check_numel(y, x->dtype, n) != LT_OK) return LT_ESHAPE;
  if (x->dtype == LT_F32)
    fwd_f32(a, y->data, x->data, n);
  else
    fwd_f64(a, y->data, x->data, n);
  return LT_OK;
}

LtStatus nn_act_backward(NnAct a, Tensor *dx, const Tensor *dy, const Tensor *x, const Tensor *y,
                         int accumulate) {
  if (a >= NN_NACT) return LT_EVALUE;
  if (!nn_is_float(dy)) return LT_EDTYPE;
  int64_t n = lt_numel(dy);
  LtDtype dt = dy->dtype;
  if (nn_check_numel(dx, dt, n) != LT_OK || nn_check_numel(x, dt, n) != LT_OK ||
      nn_check_numel(y, dt, n) != LT_OK)
    return LT_ESHAPE;
  if (dt == LT_F32)
    bwd_f32(a, dx->data, dy->data, x->data, y->data, n, accumulate);
  else
    bwd_f64(a, dx->data, dy->data, x->data, y->data, n, accumulate);
  return LT_OK;
}

/* ---- softmax over rows ------------------------------------------------------ */

/* (Log-)softmax of each row of x into y; rows are independent and run in parallel. */
static void softmax_rows_f32(float *y, const float *x, int64_t n, int64_t c, int logmode) {
#pragma omp parallel for schedule(static) if (n * c >= 32768)
  for (int64_t r = 0; r < n; r++) {
    const float *xr = x + r * c;
    float *yr = y + r * c, mx = -INFINITY;
    for (int64_t j = 0; j < c; j++)
      if (xr[j] > mx) mx = xr[j];
    /* The sum runs in double: a float sum's rounding grows with the number of classes, and
     * log(s) passes it on to every output. After the max shift the largest term is exactly 1,
     * so s >= 1 and log(s) is finite. */
    double s = 0;
    for (int64_t j = 0; j < c; j++) s += exp((double)xr[j] - mx);
    double l = mx + log(s);
    for (int64_t j = 0; j < c; j++)
      yr[j] = logmode ? (float)(xr[j] - l) : (float)(exp((double)xr[j] - mx) / s);
  }
}

/* The same in double. */
static void softmax_rows_f64(double *y, const double *x, int64_t n, int64_t c, int logmode) {
#pragma omp parallel for schedule(static) if (n * c >= 32768)
  for (int64_t r = 0; r < n; r++) {
    const double *xr = x + r * c;
    double *yr = y + r * c, mx = -INFINITY, s = 0;
    for (int64_t j = 0; j < c; j++)
      if (xr[j] > mx) mx = xr[j];
    for (int64_t j = 0; j < c; j++) s += exp(xr[j] - mx);
    double l = mx + log(s);
    for (int64_t j = 0; j < c; j++) yr[j] = logmode ? xr[j] - l : exp(xr[j] - mx) / s;
  }
}

LtStatus nn_softmax_forward(Tensor *y, const Tensor *x, int logmode) {
  if (!nn_is_float(x)) return LT_EDTYPE;
  if (x->ndim != 2 || nn_check(y, x->dtype, 2) != LT_OK || y->shape[0] != x->shape[0] ||
      y->shape[1] != x->shape[1])
    return LT_ESHAPE;
  if (x->dtype == LT_F32)
    softmax_rows_f32(y->data, x->data, x->shape[0], x->shape[1], logmode);
  else
    softmax_rows_f64(y->data, x->data, x->shape[0], x->shape[1], logmode);
  return LT_OK;
}

/* softmax: dx = y * (dy - sum(dy * y)); log-softmax: dx = dy - exp(y) * sum(dy). */
LtStatus nn_softmax_backward(Tensor *dx, const Tensor *dy, const Tensor *y, int logmode,
                             int accumulate) {
  if (!nn_is_float(y)) return LT_EDTYPE;
  if (y->ndim != 2) return LT_ESHAPE;
  int64_t n = y->shape[0], c = y->shape[1];
  LtDtype dt = y->dtype;
  if (nn_check_numel(dx, dt, n * c) != LT_OK || nn_check_numel(dy, dt, n * c) != LT_OK)
    return LT_ESHAPE;
  /* Each thread owns whole rows of dx, so accumulating needs no atomics. s is sum(dy * y) or
   * sum(dy), in double as in the forward; log-softmax keeps log p in y, so exp(y) is p. */
  if (dt == LT_F32) {
    float *d = dx->data;
    const float *g = dy->data, *yy = y->data;
#pragma omp parallel for schedule(static) if (n * c >= 32768)
    for (int64_t r = 0; r < n; r++) {
      double s = 0;
      for (int64_t j = 0; j < c; j++)
        s += logmode ? g[r * c + j] : (double)g[r * c + j] * yy[r * c + j];
      for (int64_t j = 0; j < c; j++) {
        int64_t i = r * c + j;
        d[i] = (accumulate ? d[i] : 0.0f) +
               (logmode ? (float)(g[i] - exp((double)yy[i]) * s) : (float)(yy[i] * (g[i] - s)));
      }
    }
  } else {
    double *d = dx->data;
    const double *g = dy->data, *yy = y->data;
#pragma omp parallel for schedule(static) if (n * c >= 32768)
    for (int64_t r = 0; r < n; r++) {
      double s = 0;
      for (int64_t j = 0; j < c; j++) s += logmode ? g[r * c + j] : g[r * c + j] * yy[r * c + j];
      for (int64_t j = 0; j < c; j++) {
        int64_t i = r * c + j;
        d[i] = (accumulate ? d[i] : 0.0) + (logmode ? g[i] - exp(yy[i]) * s : yy[i] * (g[i] - s));
      }
    }
  }
  return LT_OK;
}
