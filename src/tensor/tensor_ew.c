/* tensor_ew.c - elementwise kernels: contiguous loops per compute dtype, fed by buffered strided
 * runs. */
#include <math.h>
#include <string.h>
#include "tensor/tensor_ew.h"

/* Strided and mixed-dtype operands are packed into blocks of BLOCK elements
 * of the compute dtype (numpy's buffered iteration), so each op needs only a
 * contiguous loop per compute dtype. Contiguous operands are used in place. */
#define BLOCK 1024

/* Indexed by op; the static asserts keep these tables in step with the enums in tensor_ew.h. */
static const char *unary_names[LT_NUNARY] = {
    "neg",        "abs",   "sign",  "exp",         "log",   "log1p", "expm1",
    "sqrt",       "rsqrt", "sin",   "cos",         "tan",   "atan",  "tanh",
    "sigmoid",    "relu",  "floor", "ceil",        "round", "trunc", "square",
    "reciprocal", "log2",  "gelu",  "logical_not", "isnan", "isinf", "isfinite",
};
static const char *binary_names[LT_NBINARY] = {
    "add",          "sub",       "mul",         "div",        "pow",         "maximum", "minimum",
    "floor_divide", "remainder", "atan2",       "eq",         "ne",          "lt",      "le",
    "gt",           "ge",        "logical_and", "logical_or", "logical_xor",
};
_Static_assert(sizeof unary_names / sizeof unary_names[0] == LT_NUNARY, "unary names");
_Static_assert(sizeof binary_names / sizeof binary_names[0] == LT_NBINARY, "binary names");

const char *lt_unary_name(LtUnaryOp op) { return unary_names[op]; }
const char *lt_binary_name(LtBinaryOp op) { return binary_names[op]; }
/* The enums list comparisons and predicates last, so one bound tells them apart. */
int lt_binary_is_compare(LtBinaryOp op) { return op >= LT_EQ; }
int lt_unary_is_predicate(LtUnaryOp op) { return op >= LT_ISNAN; }
/* Ops that are exact on integers (or only move, negate or test them) keep an integer dtype; the
 * rest go through float. */
int lt_unary_needs_float(LtUnaryOp op) {
  switch (op) {
  case LT_NEG:
  case LT_ABS:
  case LT_SIGN:
  case LT_RELU:
  case LT_SQUARE:
  case LT_NOT:
  case LT_FLOOR:
  case LT_CEIL:
  case LT_ROUND:
  case LT_TRUNC:
  case LT_ISNAN:
  case LT_ISINF:
  case LT_ISFINITE: return 0;
  default: return 1;
  }
}

/* ---- contiguous kernels ------------------------------------------------ */

/* expf over an array, vectorisable: glibc's vector expf is reachable only
 * under -ffast-math, which would also break NaN checks everywhere, so the
 * Cephes polynomial (max error ~1 ulp on [-87, 88]) is written out here.
 * 2^n is split in two factors so results down to the subnormal range and
 * overflow to inf come out right; NaN passes through. */
/* Inlined into unary_f32's clones, so each ISA gets its own copy of the loop. */
static inline __attribute__((always_inline)) void exp_f32(float *o, const float *a, int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    float x = a[i];
    /* Past 88.8 the result is inf and below -104 it rounds to 0 anyway; clamping keeps n (and
     * so the two exponent factors below) in range. */
    float xc = x < 88.8f ? x : 88.8f;
    xc = xc > -104.0f ? xc : -104.0f;
    /* x*log2(e) rounded to the nearest integer n: adding and subtracting 1.5*2^23 drops the
     * fraction in the default rounding mode, without a call to rintf. */
    float fn = (xc * 1.44269504088896341f + 12582912.0f) - 12582912.0f; /* round to nearest */
    /* r = x - n*ln2 with ln2 split in two (Cody-Waite), the first part exact in float, so r
     * keeps its low bits; |r| <= ln2/2. */
    float r = xc - fn * 0.693359375f - fn * -2.12194440e-4f;
    /* Cephes's degree-5 minimax polynomial for (e^r - 1 - r) / r^2, in Horner form. */
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    /* 2^n as two factors 2^k1 * 2^k2: one factor cannot reach the subnormal range (k < -126) or
     * 2^128 (k = 128), their product can. */
    int32_t k = (int32_t)fn, k1 = k >> 1, k2 = k - k1;
    float f1, f2;
    int32_t b1 = (k1 + 127) << 23, b2 = (k2 + 127) << 23;
    memcpy(&f1, &b1, 4);
    memcpy(&f2, &b2, 4);
    float y = p * f1 * f2;
    o[i] = x == x ? y : x;
  }
}

static float gelu_f(float x) { return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f)); }
static double gelu_d(double x) { return 0.5 * x * (1.0 + erf(x * 0.70710678118654752)); }

/* The contiguous unary kernels, one per compute dtype: o[i] = op(a[i]). One loop per op, so
 * that each loop vectorises on its own. */
LT_HOT static void unary_f32(LtUnaryOp op, float *o, const float *a, int64_t n) {
  int64_t i;
  switch (op) {
  case LT_NEG:
    for (i = 0; i < n; i++) o[i] = -a[i];
    break;
  case LT_ABS:
    for (i = 0; i < n; i++) o[i] = fabsf(a[i]);
    break;
  case LT_SIGN:
    /* NaN fails both comparisons and is passed through by the select, which compiles to a
     * blend, so the loop still vectorises; +-inf gives +-1 and +-0 gives 0. */
    for (i = 0; i < n; i++) o[i] = a[i] != a[i] ? a[i] : (float)((a[i] > 0) - (a[i] < 0));
    break;
  case LT_EXP: exp_f32(o, a, n); break;
  case LT_LOG:
    for (i = 0; i < n; i++) o[i] = logf(a[i]);
    break;
  case LT_LOG1P:
    for (i = 0; i < n; i++) o[i] = log1pf(a[i]);
    break;
  case LT_EXPM1:
    for (i = 0; i < n; i++) o[i] = expm1f(a[i]);
    break;
  case LT_SQRT:
    for (i = 0; i < n; i++) o[i] = sqrtf(a[i]);
    break;
  case LT_RSQRT:
    for (i = 0; i < n; i++) o[i] = 1.0f / sqrtf(a[i]);
    break;
  case LT_SIN:
    for (i = 0; i < n; i++) o[i] = sinf(a[i]);
    break;
  case LT_COS:
    for (i = 0; i < n; i++) o[i] = cosf(a[i]);
    break;
  case LT_TAN:
    for (i = 0; i < n; i++) o[i] = tanf(a[i]);
    break;
  case LT_ATAN:
    for (i = 0; i < n; i++) o[i] = atanf(a[i]);
    break;
  case LT_TANH:
    for (i = 0; i < n; i++) o[i] = tanhf(a[i]);
    break;
  case LT_SIGMOID:
    for (i = 0; i < n; i++) o[i] = 1.0f / (1.0f + expf(-a[i]));
    break;
  case LT_RELU:
    /* NaN is not > 0 but must propagate (as in torch), not become 0. */
    for (i = 0; i < n; i++) o[i] = a[i] > 0 ? a[i] : (a[i] != a[i] ? a[i] : 0.0f);
    break;
  case LT_FLOOR:
    for (i = 0; i < n; i++) o[i] = floorf(a[i]);
    break;
  case LT_CEIL:
    for (i = 0; i < n; i++) o[i] = ceilf(a[i]);
    break;
  case LT_ROUND:
    /* nearbyint rounds half to even in the default rounding mode, as numpy and torch do, and
     * unlike roundf (half away from zero). */
    for (i = 0; i < n; i++) o[i] = nearbyintf(a[i]);
    break;
  case LT_TRUNC:
    for (i = 0; i < n; i++) o[i] = truncf(a[i]);
    break;
  case LT_SQUARE:
    for (i = 0; i < n; i++) o[i] = a[i] * a[i];
    break;
  case LT_RECIP:
    for (i = 0; i < n; i++) o[i] = 1.0f / a[i];
    break;
  case LT_LOG2:
    for (i = 0; i < n; i++) o[i] = log2f(a[i]);
    break;
  case LT_GELU:
    for (i = 0; i < n; i++) o[i] = gelu_f(a[i]);
    break;
  case LT_NOT:
    for (i = 0; i < n; i++) o[i] = a[i] == 0;
    break;
  default: break;
  }
}

LT_HOT static void unary_f64(LtUnaryOp op, double *o, const double *a, int64_t n) {
  int64_t i;
  switch (op) {
  case LT_NEG:
    for (i = 0; i < n; i++) o[i] = -a[i];
    break;
  case LT_ABS:
    for (i = 0; i < n; i++) o[i] = fabs(a[i]);
    break;
  case LT_SIGN:
    for (i = 0; i < n; i++) o[i] = a[i] != a[i] ? a[i] : (double)((a[i] > 0) - (a[i] < 0));
    break;
  case LT_EXP:
    for (i = 0; i < n; i++) o[i] = exp(a[i]);
    break;
  case LT_LOG:
    for (i = 0; i < n; i++) o[i] = log(a[i]);
    break;
  case LT_LOG1P:
    for (i = 0; i < n; i++) o[i] = log1p(a[i]);
    break;
  case LT_EXPM1:
    for (i = 0; i < n; i++) o[i] = expm1(a[i]);
    break;
  case LT_SQRT:
    for (i = 0; i < n; i++) o[i] = sqrt(a[i]);
    break;
  case LT_RSQRT:
    for (i = 0; i < n; i++) o[i] = 1.0 / sqrt(a[i]);
    break;
  case LT_SIN:
    for (i = 0; i < n; i++) o[i] = sin(a[i]);
    break;
  case LT_COS:
    for (i = 0; i < n; i++) o[i] = cos(a[i]);
    break;
  case LT_TAN:
    for (i = 0; i < n; i++) o[i] = tan(a[i]);
    break;
  case LT_ATAN:
    for (i = 0; i < n; i++) o[i] = atan(a[i]);
    break;
  case LT_TANH:
    for (i = 0; i < n; i++) o[i] = tanh(a[i]);
    break;
  case LT_SIGMOID:
    for (i = 0; i < n; i++) o[i] = 1.0 / (1.0 + exp(-a[i]));
    break;
  case LT_RELU:
    for (i = 0; i < n; i++) o[i] = a[i] > 0 ? a[i] : (a[i] != a[i] ? a[i] : 0.0);
    break;
  case LT_FLOOR:
    for (i = 0; i < n; i++) o[i] = floor(a[i]);
    break;
  case LT_CEIL:
    for (i = 0; i < n; i++) o[i] = ceil(a[i]);
    break;
  case LT_ROUND:
    for (i = 0; i < n; i++) o[i] = nearbyint(a[i]);
    break;
  case LT_TRUNC:
    for (i = 0; i < n; i++) o[i] = trunc(a[i]);
    break;
  case LT_SQUARE:
    for (i = 0; i < n; i++) o[i] = a[i] * a[i];
    break;
  case LT_RECIP:
    for (i = 0; i < n; i++) o[i] = 1.0 / a[i];
    break;
  case LT_LOG2:
    for (i = 0; i < n; i++) o[i] = log2(a[i]);
    break;
  case LT_GELU:
    for (i = 0; i < n; i++) o[i] = gelu_d(a[i]);
    break;
  case LT_NOT:
    for (i = 0; i < n; i++) o[i] = a[i] == 0;
    break;
  default: break;
  }
}

/* Integer ops go through uint64 so that overflow (-INT64_MIN, a square) wraps as two's
 * complement, numpy's int64 behaviour, instead of being undefined. */
static void unary_i64(LtUnaryOp op, int64_t *o, const int64_t *a, int64_t n) {
  int64_t i;
  switch (op) {
  case LT_NEG:
    for (i = 0; i < n; i++) o[i] = (int64_t)(0 - (uint64_t)a[i]);
    break;
  case LT_ABS:
    for (i = 0; i < n; i++) o[i] = a[i] < 0 ? (int64_t)(0 - (uint64_t)a[i]) : a[i];
    break;
  case LT_SIGN:
    for (i = 0; i < n; i++) o[i] = (a[i] > 0) - (a[i] < 0);
    break;
  case LT_RELU:
    for (i = 0; i < n; i++) o[i] = a[i] > 0 ? a[i] : 0;
    break;
  case LT_SQUARE:
    for (i = 0; i < n; i++) o[i] = (int64_t)((uint64_t)a[i] * (uint64_t)a[i]);
    break;
  case LT_NOT:
    for (i = 0; i < n; i++) o[i] = a[i] == 0;
    break;
  default:
    /* Rounding ops are the identity on integers. */
    for (i = 0; i < n; i++) o[i] = a[i];
    break; /* floor/ceil/round/trunc */
  }
}

/* Predicates write bytes (bool). */
static void predicate_f64(LtUnaryOp op, uint8_t *o, const double *a, int64_t n) {
  for (int64_t i = 0; i < n; i++)
    o[i] = op == LT_ISNAN   ? isnan(a[i]) != 0
           : op == LT_ISINF ? isinf(a[i]) != 0
                            : isfinite(a[i]) != 0;
}

static int64_t idiv_i64(int64_t x, int64_t y) {
  /* y == -1 is separate because INT64_MIN / -1 overflows (undefined, it traps on x86). */
  if (y == 0) return 0; /* documented: integer division by zero gives 0 */
  if (y == -1) return (int64_t)(0 - (uint64_t)x);
  int64_t q = x / y;
  /* C division truncates toward zero; floor division (Python's //, torch's floor_divide) rounds
   * toward minus infinity, so a nonzero remainder of mixed signs steps q down. */
  return (x % y != 0 && ((x < 0) != (y < 0))) ? q - 1 : q;
}
static int64_t mod_i64(int64_t x, int64_t y) {
  /* The result takes the sign of the divisor, as Python's % and torch's remainder. */
  if (y == 0 || y == -1) return 0;
  int64_t r = x % y;
  return (r != 0 && ((r < 0) != (y < 0))) ? r + y : r;
}
static int64_t pow_i64(int64_t x, int64_t y) {
  /* A negative exponent gives 1/x^|y|, which truncates to 0 unless |x| is 1 (0 gives 0). */
  if (y < 0) return x == 1 ? 1 : x == -1 ? (y & 1 ? -1 : 1) : 0;
  /* Exponentiation by squaring in uint64: overflow wraps as repeated multiplication would. */
  uint64_t r = 1, b = (uint64_t)x;
  while (y) {
    if (y & 1) r *= b;
    b *= b;
    y >>= 1;
  }
  return (int64_t)r;
}
static double mod_f64(double x, double y) {
  double r = fmod(x, y);
  return (r != 0 && ((r < 0) != (y < 0))) ? r + y : r;
}

/* The contiguous binary kernels, one per compute dtype: o[i] = a[i] op b[i]. Comparisons and
 * logical ops are handled by the compare_* kernels instead. */
LT_HOT static void binary_f32(LtBinaryOp op, float *o, const float *a, const float *b, int64_t n) {
  int64_t i;
  switch (op) {
  case LT_ADD:
    for (i = 0; i < n; i++) o[i] = a[i] + b[i];
    break;
  case LT_SUB:
    for (i = 0; i < n; i++) o[i] = a[i] - b[i];
    break;
  case LT_MUL:
    for (i = 0; i < n; i++) o[i] = a[i] * b[i];
    break;
  case LT_DIV:
    for (i = 0; i < n; i++) o[i] = a[i] / b[i];
    break;
  case LT_POW:
    for (i = 0; i < n; i++) o[i] = powf(a[i], b[i]);
    break;
  case LT_MAXIMUM:
    /* a != a tests for NaN: a NaN on either side propagates (a NaN b fails a > b and picks b). */
    for (i = 0; i < n; i++) o[i] = (a[i] != a[i] || a[i] > b[i]) ? a[i] : b[i];
    break;
  case LT_MINIMUM:
    for (i = 0; i < n; i++) o[i] = (a[i] != a[i] || a[i] < b[i]) ? a[i] : b[i];
    break;
  case LT_IDIV:
    /* Floor of the true quotient, as Python's // on floats (up to the rounding of a / b). */
    for (i = 0; i < n; i++) o[i] = floorf(a[i] / b[i]);
    break;
  case LT_MOD:
    for (i = 0; i < n; i++) o[i] = (float)mod_f64(a[i], b[i]);
    break;
  case LT_ATAN2:
    for (i = 0; i < n; i++) o[i] = atan2f(a[i], b[i]);
    break;
  default: break;
  }
}

LT_HOT static void binary_f64(LtBinaryOp op, double *o, const double *a, const double *b,
                              int64_t n) {
  int64_t i;
  switch (op) {
  case LT_ADD:
    for (i = 0; i < n; i++) o[i] = a[i] + b[i];
    break;
  case LT_SUB:
    for (i = 0; i < n; i++) o[i] = a[i] - b[i];
    break;
  case LT_MUL:
    for (i = 0; i < n; i++) o[i] = a[i] * b[i];
    break;
  case LT_DIV:
    for (i = 0; i < n; i++) o[i] = a[i] / b[i];
    break;
  case LT_POW:
    for (i = 0; i < n; i++) o[i] = pow(a[i], b[i]);
    break;
  case LT_MAXIMUM:
    for (i = 0; i < n; i++) o[i] = (a[i] != a[i] || a[i] > b[i]) ? a[i] : b[i];
    break;
  case LT_MINIMUM:
    for (i = 0; i < n; i++) o[i] = (a[i] != a[i] || a[i] < b[i]) ? a[i] : b[i];
    break;
  case LT_IDIV:
    for (i = 0; i < n; i++) o[i] = floor(a[i] / b[i]);
    break;
  case LT_MOD:
    for (i = 0; i < n; i++) o[i] = mod_f64(a[i], b[i]);
    break;
  case LT_ATAN2:
    for (i = 0; i < n; i++) o[i] = atan2(a[i], b[i]);
    break;
  default: break;
  }
}

static void binary_i64(LtBinaryOp op, int64_t *o, const int64_t *a, const int64_t *b, int64_t n) {
  int64_t i;
  switch (op) {
  case LT_ADD:
    for (i = 0; i < n; i++) o[i] = (int64_t)((uint64_t)a[i] + (uint64_t)b[i]);
    break;
  case LT_SUB:
    for (i = 0; i < n; i++) o[i] = (int64_t)((uint64_t)a[i] - (uint64_t)b[i]);
    break;
  case LT_MUL:
    for (i = 0; i < n; i++) o[i] = (int64_t)((uint64_t)a[i] * (uint64_t)b[i]);
    break;
  case LT_POW:
    for (i = 0; i < n; i++) o[i] = pow_i64(a[i], b[i]);
    break;
  case LT_MAXIMUM:
    for (i = 0; i < n; i++) o[i] = a[i] > b[i] ? a[i] : b[i];
    break;
  case LT_MINIMUM:
    for (i = 0; i < n; i++) o[i] = a[i] < b[i] ? a[i] : b[i];
    break;
  case LT_IDIV:
    for (i = 0; i < n; i++) o[i] = idiv_i64(a[i], b[i]);
    break;
  case LT_MOD:
    for (i = 0; i < n; i++) o[i] = mod_i64(a[i], b[i]);
    break;
  default: break;
  }
}

static int compare(LtBinaryOp op, double x, double y) {
  switch (op) {
  case LT_EQ: return x == y;
  case LT_NE: return x != y;
  case LT_LT: return x < y;
  case LT_LE: return x <= y;
  case LT_GT: return x > y;
  case LT_GE: return x >= y;
  case LT_AND: return x != 0 && y != 0;
  case LT_OR: return x != 0 || y != 0;
  case LT_XOR: return (x != 0) != (y != 0);
  default: return 0;
  }
}

/* The three most common comparisons get their own loops (they vectorise); the others go through
 * the generic compare(). */
LT_HOT static void compare_f32(LtBinaryOp op, uint8_t *o, const float *a, const float *b,
                               int64_t n) {
  int64_t i;
  switch (op) {
  case LT_LT:
    for (i = 0; i < n; i++) o[i] = a[i] < b[i];
    break;
  case LT_GT:
    for (i = 0; i < n; i++) o[i] = a[i] > b[i];
    break;
  case LT_EQ:
    for (i = 0; i < n; i++) o[i] = a[i] == b[i];
    break;
  default:
    for (i = 0; i < n; i++) o[i] = (uint8_t)compare(op, a[i], b[i]);
    break;
  }
}
LT_HOT static void compare_f64(LtBinaryOp op, uint8_t *o, const double *a, const double *b,
                               int64_t n) {
  for (int64_t i = 0; i < n; i++) o[i] = (uint8_t)compare(op, a[i], b[i]);
}
/* Compared as int64, not double, so that values beyond 2^53 compare exactly. */
static void compare_i64(LtBinaryOp op, uint8_t *o, const int64_t *a, const int64_t *b, int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    int64_t x = a[i], y = b[i];
    int r;
    switch (op) {
    case LT_EQ: r = x == y; break;
    case LT_NE: r = x != y; break;
    case LT_LT: r = x < y; break;
    case LT_LE: r = x <= y; break;
    case LT_GT: r = x > y; break;
    case LT_GE: r = x >= y; break;
    /* logical ops compare truthiness, which is exact in double once reduced to 0 or 1. */
    default: r = compare(op, (double)(x != 0), (double)(y != 0)); break;
    }
    o[i] = (uint8_t)r;
  }
}

/* ---- buffered runs ----------------------------------------------------- */

/* Returns a pointer to n contiguous elements of dtype `want` for operand
 * run (p, stride sb, dtype have): p itself when already so, else buf. */
static void *pack(char *p, int64_t sb, LtDtype have, LtDtype want, int64_t n, void *buf) {
  size_t es = lt_dtype_size(want);
  /* Operand already of the compute dtype and contiguous: no copy. */
  if (have == want && sb == (int64_t)es) return p;
  /* float32 is the common case (broadcast scalars, transposed views): a typed loop rather than
   * one memcpy per element. */
  if (have == LT_F32 && want == LT_F32) { /* broadcast scalar or strided gather */
    float *b = buf;
    if (sb == 0) {
      float v = *(const float *)p;
      for (int64_t i = 0; i < n; i++) b[i] = v;
    } else
      for (int64_t i = 0; i < n; i++) b[i] = *(const float *)(p + i * sb);
    return buf;
  }
  if (have == want) {
    for (int64_t i = 0; i < n; i++) memcpy((char *)buf + i * (int64_t)es, p + i * sb, es);
    /* Integers go through int64, not double, so large int64 values stay exact. */
  } else if (want == LT_I64) {
    for (int64_t i = 0; i < n; i++) ((int64_t *)buf)[i] = lt_get_i64(p + i * sb, have);
  } else {
    for (int64_t i = 0; i < n; i++)
      lt_set_f64((char *)buf + i * (int64_t)es, want, lt_get_f64(p + i * sb, have));
  }
  return buf;
}

static void unpack(char *p, int64_t sb, LtDtype want, const void *buf, LtDtype have, int64_t n) {
  size_t es = lt_dtype_size(have);
  /* The kernel wrote into out directly (see out_target): nothing to copy back. */
  if (buf == p) return;
  if (have == want) {
    for (int64_t i = 0; i < n; i++) memcpy(p + i * sb, (const char *)buf + i * (int64_t)es, es);
    /* Integer and bool results go through int64 so that large int64 values stay exact. */
  } else if (have == LT_I64 || have == LT_U8) {
    for (int64_t i = 0; i < n; i++)
      lt_set_i64(p + i * sb, want, lt_get_i64((const char *)buf + i * (int64_t)es, have));
  } else {
    for (int64_t i = 0; i < n; i++)
      lt_set_f64(p + i * sb, want, lt_get_f64((const char *)buf + i * (int64_t)es, have));
  }
}

/* Output buffer: write straight into out when it already has the result
 * dtype and is contiguous. */
static void *out_target(char *p, int64_t sb, LtDtype outdt, LtDtype resdt, void *buf) {
  return (outdt == resdt && sb == (int64_t)lt_dtype_size(resdt)) ? p : buf;
}

/* What ew_run needs to run one op over a run; passed through lt_foreach_run_par as ctx. */
typedef struct {
  int is_binary, op;
  LtDtype cdt; /* compute dtype */
  LtDtype rdt; /* kernel result dtype (cdt, or U8 for compare/predicate) */
  const Tensor *out, *a, *b;
  int64_t run_len; /* elements in the run being processed */
} EwCtx;

/* One block of at most BLOCK elements: pack the operands to the compute dtype, run the
 * contiguous kernel, unpack into out. The three 8 KiB buffers live on the stack, one set per
 * thread. */
static void ew_block(const EwCtx *c, char **p, const int64_t *sb, int64_t n) {
  _Alignas(64) unsigned char bo[BLOCK * 8], ba[BLOCK * 8], bb[BLOCK * 8];
  void *x = pack(p[1], sb[1], c->a->dtype, c->cdt, n, ba);
  void *o = out_target(p[0], sb[0], c->out->dtype, c->rdt, bo);
  if (c->is_binary) {
    void *y = pack(p[2], sb[2], c->b->dtype, c->cdt, n, bb);
    LtBinaryOp op = (LtBinaryOp)c->op;
    if (lt_binary_is_compare(op)) {
      if (c->cdt == LT_F32)
        compare_f32(op, o, x, y, n);
      else if (c->cdt == LT_F64)
        compare_f64(op, o, x, y, n);
      else
        compare_i64(op, o, x, y, n);
    } else if (c->cdt == LT_F32)
      binary_f32(op, o, x, y, n);
    else if (c->cdt == LT_F64)
      binary_f64(op, o, x, y, n);
    else
      binary_i64(op, o, x, y, n);
  } else {
    LtUnaryOp op = (LtUnaryOp)c->op;
    if (lt_unary_is_predicate(op))
      predicate_f64(op, o, x, n);
    else if (c->cdt == LT_F32)
      unary_f32(op, o, x, n);
    else if (c->cdt == LT_F64)
      unary_f64(op, o, x, n);
    else
      unary_i64(op, o, x, n);
  }
  unpack(p[0], sb[0], c->out->dtype, o, c->rdt, n);
}

/* A run is cut into BLOCK-sized pieces; long runs are shared among threads.
 * Each element is computed the same way whatever the thread count. */
static void ew_blocks(const EwCtx *c, char **p, const int64_t *sb, int64_t blk) {
  int64_t start = blk * BLOCK;
  char *q[3];
  for (int k = 0; k < (c->is_binary ? 3 : 2); k++) q[k] = p[k] + start * sb[k];
  ew_block(c, q, sb, c->run_len - start < BLOCK ? c->run_len - start : BLOCK);
}

/* Short runs stay out of OpenMP altogether: even an `if(0)` parallel region
 * costs a microsecond, which is most of the work for a 1000-element row. */
static void ew_run(char **p, const int64_t *sb, int64_t n, void *ctx) {
  /* Copied because run_len is per run while ctx is shared by the threads of lt_foreach_run_par. */
  EwCtx c = *(const EwCtx *)ctx;
  int64_t nblocks = (n + BLOCK - 1) / BLOCK;
  c.run_len = n;
  /* A long run (one contiguous tensor is one run) is shared among threads block by block, which
   * is also how a single contiguous operand gets parallel work. */
  if (n < LT_PAR_MIN) {
    for (int64_t blk = 0; blk < nblocks; blk++) ew_blocks(&c, p, sb, blk);
    return;
  }
#pragma omp parallel for schedule(static)
  for (int64_t blk = 0; blk < nblocks; blk++) ew_blocks(&c, p, sb, blk);
}

LtStatus lt_unary(LtUnaryOp op, Tensor *out, const Tensor *a) {
  EwCtx c = {0, (int)op, LT_F32, LT_F32, out, a, NULL, 0};
  LtDtype in = a->dtype;
  /* Predicates have one kernel, in double: every dtype converts to it keeping NaN and inf.
   * float64 is kept when the input or (for float inputs) the output is float64; integer inputs
   * stay integer when the op allows it; everything else, half types included, computes in
   * float32. */
  if (lt_unary_is_predicate(op))
    c.cdt = LT_F64;
  else if (in == LT_F64 || (out->dtype == LT_F64 && lt_dtype_is_float(in)))
    c.cdt = LT_F64;
  else if (!lt_dtype_is_float(in) && !lt_unary_needs_float(op))
    c.cdt = LT_I64;
  c.rdt = lt_unary_is_predicate(op) ? LT_U8 : c.cdt;
  Tensor o = *out, x = *a;
  Tensor *ts[2] = {&o, &x};
  return lt_foreach_run_par(2, ts, ew_run, &c);
}

LtStatus lt_binary(LtBinaryOp op, LtDtype compute, Tensor *out, const Tensor *a, const Tensor *b) {
  /* Only float32, float64 and int64 kernels exist; true division and atan2 have no integer form
   * (the binding promotes them to float first). */
  if (compute != LT_F32 && compute != LT_F64 && compute != LT_I64) return LT_EDTYPE;
  if (compute == LT_I64 && (op == LT_DIV || op == LT_ATAN2)) return LT_EDTYPE;
  EwCtx c = {1, (int)op, compute, lt_binary_is_compare(op) ? LT_U8 : compute, out, a, b, 0};
  Tensor o = *out, x = *a, y = *b;
  Tensor *ts[3] = {&o, &x, &y};
  return lt_foreach_run_par(3, ts, ew_run, &c);
}

/* Bounds of a clamp: lo and hi for float dtypes, ilo and ihi for integer ones. */
typedef struct {
  double lo, hi;
  int64_t ilo, ihi;
  LtDtype dt;
} ClampCtx;

/* Run kernel of lt_clamp: p[0] is out, p[1] is a, both of ctx's dtype. */
static void clamp_run(char **p, const int64_t *sb, int64_t n, void *ctx) {
  const ClampCtx *c = ctx;
  /* float32 fast path; other dtypes go through double, where NaN also stays NaN (both tests are
   * false). */
  if (c->dt == LT_F32) {
    float lo = (float)c->lo, hi = (float)c->hi;
    for (int64_t i = 0; i < n; i++) {
      float v = *(float *)(p[1] + i * sb[1]);
      *(float *)(p[0] + i * sb[0]) = v < lo ? lo : v > hi ? hi : v;
    }
    return;
  }
  /* Integers compare as int64: through double, values past 2^53 would come back rounded. Bool
   * stays on the double path, where a bound of 0.5 still stores true. */
  if (!lt_dtype_is_float(c->dt) && c->dt != LT_BOOL) {
    for (int64_t i = 0; i < n; i++) {
      int64_t v = lt_get_i64(p[1] + i * sb[1], c->dt);
      lt_set_i64(p[0] + i * sb[0], c->dt, v < c->ilo ? c->ilo : v > c->ihi ? c->ihi : v);
    }
    return;
  }
  for (int64_t i = 0; i < n; i++) {
    double v = lt_get_f64(p[1] + i * sb[1], c->dt);
    lt_set_f64(p[0] + i * sb[0], c->dt, v < c->lo ? c->lo : v > c->hi ? c->hi : v);
  }
}

/* Runs clamp_run over out and a once the bounds are in ctx. */
static LtStatus clamp_with(Tensor *out, const Tensor *a, const ClampCtx *c) {
  if (out->dtype != a->dtype) return LT_EDTYPE;
  Tensor o = *out, x = *a;
  Tensor *ts[2] = {&o, &x};
  return lt_foreach_run(2, ts, clamp_run, (void *)c);
}

/* A double bound for an int64 comparison: truncated toward zero and saturated, as lt_set_f64
 * stores it; NaN (which bounds nothing in the float path) becomes `nan_as`. */
static int64_t int_bound(double v, int64_t nan_as) {
  if (v != v) return nan_as;
  return v >= 0x1p63 ? INT64_MAX : v < -0x1p63 ? INT64_MIN : (int64_t)v;
}

LtStatus lt_clamp(Tensor *out, const Tensor *a, double lo, double hi) {
  ClampCtx c = {lo, hi, int_bound(lo, INT64_MIN), int_bound(hi, INT64_MAX), out->dtype};
  return clamp_with(out, a, &c);
}

LtStatus lt_clamp_i64(Tensor *out, const Tensor *a, int64_t lo, int64_t hi) {
  if (lt_dtype_is_float(out->dtype) || out->dtype == LT_BOOL) return LT_EDTYPE;
  ClampCtx c = {(double)lo, (double)hi, lo, hi, out->dtype};
  return clamp_with(out, a, &c);
}

/* cond, a and b are broadcast to out; each element copies from a or b with conversion only when
 * that operand's dtype differs from out's. */
static void where_run(char **p, const int64_t *sb, int64_t n, void *ctx) {
  const Tensor *const *t = ctx; /* out, cond, a, b */
  size_t es = lt_dtype_size(t[0]->dtype);
  for (int64_t i = 0; i < n; i++) {
    int c = lt_get_f64(p[1] + i * sb[1], t[1]->dtype) != 0;
    const char *src = c ? p[2] + i * sb[2] : p[3] + i * sb[3];
    LtDtype sdt = c ? t[2]->dtype : t[3]->dtype;
    if (sdt == t[0]->dtype)
      memcpy(p[0] + i * sb[0], src, es);
    else
      lt_set_f64(p[0] + i * sb[0], t[0]->dtype, lt_get_f64(src, sdt));
  }
}

LtStatus lt_where(Tensor *out, const Tensor *cond, const Tensor *a, const Tensor *b) {
  Tensor o = *out, c = *cond, x = *a, y = *b;
  Tensor *ts[4] = {&o, &c, &x, &y};
  const Tensor *ctx[4] = {&o, &c, &x, &y};
  return lt_foreach_run(4, ts, where_run, (void *)ctx);
}
