/* ltensor_ew.c - Lua binding for elementwise ops: arithmetic, math functions, comparisons, where,
 * clamp. */
#include <math.h>
#include <string.h>
#include "tensor/lbase.h"
#include "tensor/tensor_ew.h"

/* The dtype a float or integer kernel computes in for a result dtype. */
static LtDtype compute_dtype(LtDtype result) {
  if (result == LT_F64) return LT_F64;
  return lt_dtype_is_float(result) ? LT_F32 : LT_I64;
}

/* Result dtype of a op b once both are tensors (a Lua number has already
 * adopted the other operand's dtype, see ltL_check_operand). */
static LtDtype binary_result(const Tensor *a, const Tensor *b, LtBinaryOp op, LtDtype *compute) {
  LtDtype r = lt_dtype_promote(a->dtype, b->dtype);
  /* True division and atan2 of integers give float32, as torch does. */
  if ((op == LT_DIV || op == LT_ATAN2) && !lt_dtype_is_float(r)) r = LT_F32;
  /* Logical ops test truthiness, exact in double for every dtype, and give bool. */
  if (op >= LT_AND) {
    *compute = LT_F64;
    return LT_BOOL;
  }
  *compute = compute_dtype(r);
  return lt_binary_is_compare(op) ? LT_BOOL : r;
}

/* a op b (either may be a number) into a new tensor of the broadcast shape. */
static int ew_binary(lua_State *L) {
  /* One C function serves every binary op; the op is the closure's upvalue (see register_ops). */
  LtBinaryOp op = (LtBinaryOp)lua_tointeger(L, lua_upvalueindex(1));
  const char *fname = lt_binary_name(op);
  lua_settop(L, 2);
  /* At least one side must be a tensor; a number takes the other side's dtype (a float number
   * beside an integer tensor becomes float32). */
  if (!ltL_totensor(L, 1) && !ltL_totensor(L, 2))
    return ltL_argerror(L, 1, fname, "tensor expected, got %s", luaL_typename(L, 1));
  Tensor *ta = ltL_totensor(L, 1), *tb = ltL_totensor(L, 2);
  Tensor *a = ltL_check_operand(L, 1, fname, ta ? -1 : (int)tb->dtype);
  Tensor *b = ltL_check_operand(L, 2, fname, ta ? (int)ta->dtype : -1);
  LtDtype compute, rdt = binary_result(a, b, op, &compute);
  int64_t shape[LT_MAXDIM];
  int nd;
  char b1[64], b2[64];
  if (lt_broadcast_shape(a, b, &nd, shape) != LT_OK)
    return ltL_argerror(L, 2, fname, "shape mismatch: %s and %s do not broadcast",
                        ltL_shape_of(a, b1, sizeof b1), ltL_shape_of(b, b2, sizeof b2));
  Tensor *o = ltL_push_new(L, rdt, nd, shape);
  Tensor va, vb;
  ltL_check_status(L, lt_expand_view(a, nd, shape, &va), fname);
  ltL_check_status(L, lt_expand_view(b, nd, shape, &vb), fname);
  ltL_check_status(L, lt_binary(op, compute, o, &va, &vb), fname);
  return 1;
}

/* a:op_(b): writes into a; b must broadcast to a's shape. */
static int ew_binary_(lua_State *L) {
  LtBinaryOp op = (LtBinaryOp)lua_tointeger(L, lua_upvalueindex(1));
  char fname[32], b1[64], b2[64];
  snprintf(fname, sizeof fname, "%s_", lt_binary_name(op));
  Tensor *a = ltL_check_tensor(L, 1, fname);
  Tensor *b = ltL_check_operand(L, 2, fname, a->dtype);
  Tensor vb;
  if (lt_expand_view(b, a->ndim, a->shape, &vb) != LT_OK)
    return ltL_argerror(L, 2, fname, "shape mismatch: %s cannot be broadcast to %s in place",
                        ltL_shape_of(b, b1, sizeof b1), ltL_shape_of(a, b2, sizeof b2));
  /* The result is written into a, so a keeps its dtype whatever the promotion computes in. */
  LtDtype compute = lt_dtype_promote(a->dtype, b->dtype);
  if ((op == LT_DIV || op == LT_ATAN2) && !lt_dtype_is_float(a->dtype))
    return ltL_argerror(L, 1, fname, "in-place true division needs a float tensor, got %s",
                        lt_dtype_name(a->dtype));
  compute = op >= LT_AND ? LT_F64 : compute_dtype(compute);
  ltL_check_status(L, lt_binary(op, compute, a, a, &vb), fname);
  lua_settop(L, 1);
  return 1;
}

static LtDtype unary_result(LtUnaryOp op, LtDtype in) {
  /* Predicates and logical not give bool; exp, log and the like give float32 for integer inputs;
   * arithmetic on bool gives int64 (neg, abs, ...). */
  if (lt_unary_is_predicate(op) || op == LT_NOT) return LT_BOOL;
  if (lt_unary_needs_float(op) && !lt_dtype_is_float(in)) return LT_F32;
  if (in == LT_BOOL && op != LT_NOT) return LT_I64;
  return in;
}

static int ew_unary(lua_State *L) {
  LtUnaryOp op = (LtUnaryOp)lua_tointeger(L, lua_upvalueindex(1));
  Tensor *a = ltL_check_tensor(L, 1, lt_unary_name(op));
  Tensor *o = ltL_push_new_like(L, a, unary_result(op, a->dtype));
  ltL_check_status(L, lt_unary(op, o, a), lt_unary_name(op));
  return 1;
}

static int ew_unary_(lua_State *L) {
  LtUnaryOp op = (LtUnaryOp)lua_tointeger(L, lua_upvalueindex(1));
  char fname[32];
  snprintf(fname, sizeof fname, "%s_", lt_unary_name(op));
  Tensor *a = ltL_check_tensor(L, 1, fname);
  /* An op that would change the dtype cannot run in place. */
  if (unary_result(op, a->dtype) != a->dtype)
    return ltL_argerror(L, 1, fname, "in place needs a %s tensor, got %s",
                        lt_dtype_name(unary_result(op, a->dtype)), lt_dtype_name(a->dtype));
  ltL_check_status(L, lt_unary(op, a, a), fname);
  lua_settop(L, 1);
  return 1;
}

/* clamp(t, lo, hi): nil bounds are open; clamp_ works in place. */
static int clamp_impl(lua_State *L, int inplace) {
  const char *fname = inplace ? "clamp_" : "clamp";
  Tensor *a = ltL_check_tensor(L, 1, fname);
  double lo = lua_isnoneornil(L, 2) ? -INFINITY : luaL_checknumber(L, 2);
  double hi = lua_isnoneornil(L, 3) ? INFINITY : luaL_checknumber(L, 3);
  /* NaN bounds would make every comparison false and silently do nothing: refuse them. */
  if (lo != lo || hi != hi) return ltL_argerror(L, lo != lo ? 2 : 3, fname, "bound is NaN");
  if (lo > hi) return ltL_argerror(L, 3, fname, "max %g is below min %g", hi, lo);
  /* An integer tensor with integer (or no) bounds clamps in int64 with the bounds exact: as
   * doubles, bounds past 2^53 would round. */
  int exact = !lt_dtype_is_float(a->dtype) && a->dtype != LT_BOOL &&
              (lua_isnoneornil(L, 2) || lua_isinteger(L, 2)) &&
              (lua_isnoneornil(L, 3) || lua_isinteger(L, 3));
  int64_t ilo = lua_isinteger(L, 2) ? lua_tointeger(L, 2) : INT64_MIN;
  int64_t ihi = lua_isinteger(L, 3) ? lua_tointeger(L, 3) : INT64_MAX;
  if (exact && ilo > ihi)
    return ltL_argerror(L, 3, fname, "max %lld is below min %lld", (long long)ihi, (long long)ilo);
  Tensor *o = inplace ? a : ltL_push_new_like(L, a, a->dtype);
  ltL_check_status(L, exact ? lt_clamp_i64(o, a, ilo, ihi) : lt_clamp(o, a, lo, hi), fname);
  if (inplace) lua_settop(L, 1);
  return 1;
}
static int ew_clamp(lua_State *L) { return clamp_impl(L, 0); }
static int ew_clamp_(lua_State *L) { return clamp_impl(L, 1); }

/* where(cond, a, b): cond is a tensor; a and b tensors or numbers. */
static int ew_where(lua_State *L) {
  Tensor *c = ltL_check_tensor(L, 1, "where");
  lua_settop(L, 3);
  Tensor *ta = ltL_totensor(L, 2), *tb = ltL_totensor(L, 3);
  /* A number adopts the dtype of the other tensor operand (b first, then a), so where(c, 0, t)
   * keeps t's dtype. */
  Tensor *a = ltL_check_operand(L, 2, "where", tb ? (int)tb->dtype : -1);
  Tensor *b = ltL_check_operand(L, 3, "where", ta ? (int)ta->dtype : (int)a->dtype);
  LtDtype rdt = lt_dtype_promote(a->dtype, b->dtype);
  int64_t s1[LT_MAXDIM], s2[LT_MAXDIM];
  int n1, n2;
  char b1[64], b2[64], b3[64];
  Tensor ab = *a;
  /* Broadcast a with b, then the result with cond: three-way broadcasting in two steps. */
  if (lt_broadcast_shape(a, b, &n1, s1) != LT_OK ||
      (ab.ndim = n1, memcpy(ab.shape, s1, sizeof s1), lt_broadcast_shape(c, &ab, &n2, s2)) != LT_OK)
    return ltL_argerror(L, 1, "where", "shape mismatch: %s, %s and %s do not broadcast",
                        ltL_shape_of(c, b1, sizeof b1), ltL_shape_of(a, b2, sizeof b2),
                        ltL_shape_of(b, b3, sizeof b3));
  Tensor *o = ltL_push_new(L, rdt, n2, s2);
  Tensor vc, va, vb;
  ltL_check_status(L, lt_expand_view(c, n2, s2, &vc), "where");
  ltL_check_status(L, lt_expand_view(a, n2, s2, &va), "where");
  ltL_check_status(L, lt_expand_view(b, n2, s2, &vb), "where");
  ltL_check_status(L, lt_where(o, &vc, &va, &vb), "where");
  return 1;
}

/* Adds one closure per op to the table on top, named as the Lua API names them. */
static void register_ops(lua_State *L) {
  /* Every op gets a function and an in-place variant (name_); predicates have no in-place form
   * because their result is bool. */
  for (int op = 0; op < LT_NBINARY; op++) {
    char name[32];
    lua_pushinteger(L, op);
    lua_pushcclosure(L, ew_binary, 1);
    lua_setfield(L, -2, lt_binary_name((LtBinaryOp)op));
    snprintf(name, sizeof name, "%s_", lt_binary_name((LtBinaryOp)op));
    lua_pushinteger(L, op);
    lua_pushcclosure(L, ew_binary_, 1);
    lua_setfield(L, -2, name);
  }
  for (int op = 0; op < LT_NUNARY; op++) {
    char name[32];
    lua_pushinteger(L, op);
    lua_pushcclosure(L, ew_unary, 1);
    lua_setfield(L, -2, lt_unary_name((LtUnaryOp)op));
    if (lt_unary_is_predicate((LtUnaryOp)op)) continue;
    snprintf(name, sizeof name, "%s_", lt_unary_name((LtUnaryOp)op));
    lua_pushinteger(L, op);
    lua_pushcclosure(L, ew_unary_, 1);
    lua_setfield(L, -2, name);
  }
}

static const luaL_Reg ew_methods[] = {
    {"clamp", ew_clamp}, {"clamp_", ew_clamp_}, {"where", ew_where}, {NULL, NULL}};

/* A part of lunette._tensor (src/lunette.c lists every part): elementwise ops, also methods. */
int luaopen_lunette_tensor_ew(lua_State *L);
int luaopen_lunette_tensor_ew(lua_State *L) {
  lua_newtable(L);
  register_ops(L);
  luaL_setfuncs(L, ew_methods, 0);
  /* every function here is also a tensor method */
  /* Stack: the new table, the metatable, __methods. Every field of the new table goes into
   * __methods too. */
  luaL_getmetatable(L, LT_TENSOR_MT);
  lua_getfield(L, -1, "__methods");
  lua_pushnil(L);
  while (lua_next(L, -4)) {
    lua_pushvalue(L, -2);
    lua_insert(L, -2);
    lua_settable(L, -4);
  }
  lua_pop(L, 2);
  return 1;
}
