/* tensor_ew.h - elementwise kernels with broadcasting (core, no Lua). */
#ifndef LUNETTE_TENSOR_EW_H
#define LUNETTE_TENSOR_EW_H
#include "tensor/tensor.h"

typedef enum {
  LT_NEG,
  LT_ABS,
  LT_SIGN,
  LT_EXP,
  LT_LOG,
  LT_LOG1P,
  LT_EXPM1,
  LT_SQRT,
  LT_RSQRT,
  LT_SIN,
  LT_COS,
  LT_TAN,
  LT_ATAN,
  LT_TANH,
  LT_SIGMOID,
  LT_RELU,
  LT_FLOOR,
  LT_CEIL,
  LT_ROUND,
  LT_TRUNC,
  LT_SQUARE,
  LT_RECIP,
  LT_LOG2,
  LT_GELU,
  LT_NOT,
  LT_ISNAN,
  LT_ISINF,
  LT_ISFINITE,
  LT_NUNARY
} LtUnaryOp;

typedef enum {
  LT_ADD,
  LT_SUB,
  LT_MUL,
  LT_DIV,
  LT_POW,
  LT_MAXIMUM,
  LT_MINIMUM,
  LT_IDIV,
  LT_MOD,
  LT_ATAN2,
  LT_EQ,
  LT_NE,
  LT_LT,
  LT_LE,
  LT_GT,
  LT_GE,
  LT_AND,
  LT_OR,
  LT_XOR,
  LT_NBINARY
} LtBinaryOp;

/* The op's name as the Lua API spells it ("floor_divide"), a static string; op must be valid. */
const char *lt_unary_name(LtUnaryOp op);
const char *lt_binary_name(LtBinaryOp op);
int lt_binary_is_compare(LtBinaryOp op); /* result is bool */
int lt_unary_is_predicate(LtUnaryOp op); /* isnan & co: result is bool */
/* True when op only makes sense on floats (exp, log, ...): integer inputs
 * are computed in and returned as float32. */
int lt_unary_needs_float(LtUnaryOp op);

/* out = op(a). `a` must already have out's shape (expand it first); dtypes
 * may differ, values are converted. out may alias a exactly (in place).
 * Returns LT_EINTR when interrupted. */
LtStatus lt_unary(LtUnaryOp op, Tensor *out, const Tensor *a);
/* out = a op b, a and b expanded to out's shape; the computation happens in
 * `compute` (F32, F64 or I64) and is converted to out's dtype (comparisons
 * and logical ops produce bool). LT_EDTYPE for another compute dtype, or for
 * div and atan2 in I64; LT_EINTR when interrupted (out then partly written).
 * Integer ops wrap on overflow; // and % by zero give 0, % takes the
 * divisor's sign. out may alias a or b exactly. */
LtStatus lt_binary(LtBinaryOp op, LtDtype compute, Tensor *out, const Tensor *a, const Tensor *b);
/* out = min(max(a, lo), hi) in out's dtype; NaN stays NaN. out and a (expanded to out's
 * shape) must share a dtype, else LT_EDTYPE; LT_EINTR when interrupted. */
LtStatus lt_clamp(Tensor *out, const Tensor *a, double lo, double hi);
/* The same for an integer dtype with int64 bounds, compared as int64 (exact past 2^53, where
 * double bounds would round); LT_EDTYPE for a float or bool dtype. lt_clamp also compares
 * integer dtypes (not bool) as int64, with its bounds truncated toward zero and saturated. */
LtStatus lt_clamp_i64(Tensor *out, const Tensor *a, int64_t lo, int64_t hi);
/* out = cond ? a : b; all expanded to out's shape. cond is true where nonzero; a and b are
 * converted to out's dtype. LT_EINTR when interrupted. */
LtStatus lt_where(Tensor *out, const Tensor *cond, const Tensor *a, const Tensor *b);

#endif
