/* lrandom.c - Lua binding for lunette.random: the Generator userdata and its sampling methods. */
#include <float.h>
#include <math.h>
#include <string.h>
#include "tensor/lbase.h"
#include "tensor/random.h"
#include "tensor/tensor_index.h"

#define GEN_MT "lunette.Generator"
/* The default generator's seed: scripts that never seed still repeat. */
#define LT_RANDOM_DEFAULT_SEED 0

/* A generator and what its string form reports: the seed it was given
 * (unknown once a state was restored). */
typedef struct {
  LtRng rng;
  int64_t seed;
  int seeded;
} Gen;

/* Options a method may accept, as a bit mask; OPT_NAMES lists them in bit order. */
enum { OPT_DTYPE = 1, OPT_GENERATOR = 2, OPT_REPLACE = 4, OPT_WEIGHTS = 8, OPT_ENDPOINT = 16 };
static const char *const OPT_NAMES[] = {"dtype", "generator", "replace", "weights", "endpoint"};
enum { NOPTS = sizeof OPT_NAMES / sizeof OPT_NAMES[0] };

/* What a method call resolved from its arguments. Every method is called
 * as f(self, ...); begin_call moves self above the user's arguments, so
 * user argument i sits at stack index i and error messages count from 1
 * without self, as Lua's own methods do. */
typedef struct {
  const char *fname;
  int nargs; /* user arguments, self excluded */
  Gen *gen;  /* self, or the options' generator */
  int opts;  /* stack index of the options table, 0 if none */
  int has_dtype, dtype_arg;
  LtDtype dtype;
} Call;

static void begin_call(lua_State *L, const char *fname, Call *c) {
  Gen *g = luaL_testudata(L, 1, GEN_MT);
  if (!g)
    luaL_error(L, "bad self to '%s' (Generator expected, got %s; call it as g:%s(...))", fname,
               luaL_typename(L, 1), fname);
  memset(c, 0, sizeof *c);
  c->fname = fname;
  c->gen = g;
  /* Rotating rather than removing: self stays referenced (its state is written by the draws) and
   * user argument i is at index i. */
  lua_rotate(L, 1, -1); /* self stays on the stack, above the arguments, so it stays alive */
  c->nargs = lua_gettop(L) - 1;
}

/* Type of user argument arg; LUA_TNONE past the last one (where self sits). */
static int arg_type(lua_State *L, const Call *c, int arg) {
  return arg <= c->nargs ? lua_type(L, arg) : LUA_TNONE;
}
static const char *arg_typename(lua_State *L, const Call *c, int arg) {
  return arg <= c->nargs ? luaL_typename(L, arg) : "no value";
}

static double check_number(lua_State *L, const Call *c, int arg, const char *what) {
  if (arg_type(L, c, arg) != LUA_TNUMBER)
    ltL_argerror(L, arg, c->fname, "%s expected (number), got %s", what, arg_typename(L, c, arg));
  double v = lua_tonumber(L, arg);
  if (!isfinite(v)) ltL_argerror(L, arg, c->fname, "%s must be finite, got %g", what, v);
  return v;
}

static int64_t check_integer(lua_State *L, const Call *c, int arg, const char *what) {
  if (arg_type(L, c, arg) != LUA_TNUMBER)
    ltL_argerror(L, arg, c->fname, "%s expected (integer), got %s", what, arg_typename(L, c, arg));
  return ltL_check_int(L, arg, c->fname, what);
}

static int64_t check_count(lua_State *L, const Call *c, int arg, const char *what) {
  int64_t v = check_integer(L, c, arg, what);
  if (v < 0)
    ltL_argerror(L, arg, c->fname, "%s must be non-negative, got %lld", what, (long long)v);
  return v;
}

static Tensor *check_tensor(lua_State *L, const Call *c, int arg) {
  Tensor *t = arg <= c->nargs ? ltL_totensor(L, arg) : NULL;
  if (!t) ltL_argerror(L, arg, c->fname, "tensor expected, got %s", arg_typename(L, c, arg));
  return t;
}

/* ---- options -------------------------------------------------------------- */

/* A table with named fields and no array part; {} stays a (0-d) shape. */
static int is_options(lua_State *L, int idx) {
  /* A table with an array part is a shape ({2, 3}); so is an empty one, a 0-d shape. */
  if (!lua_istable(L, idx) || lua_rawlen(L, idx) > 0) return 0;
  lua_pushnil(L);
  if (!lua_next(L, idx)) return 0;
  lua_pop(L, 2);
  return 1;
}

/* Checks the keys of the options table at idx against the options the
 * method takes (a mask of OPT_*). */
static void check_option_names(lua_State *L, const Call *c, int idx, unsigned allowed) {
  const char *known[NOPTS + 1];
  int n = 0;
  /* Only the options this method takes are listed, so a misplaced key gets a did-you-mean
   * against the right names. */
  for (unsigned i = 0; i < NOPTS; i++)
    if (allowed & (1u << i)) known[n++] = OPT_NAMES[i];
  known[n] = NULL;
  ltL_check_options(L, idx, c->fname, known);
}

/* Checks the options table at idx and records its dtype and generator in *c. */
static void read_options(lua_State *L, Call *c, int idx, unsigned allowed) {
  check_option_names(L, c, idx, allowed);
  c->opts = idx;
  if (ltL_opt_get(L, idx, "dtype")) {
    /* The dtype name is read here rather than by ltL_check_dtype, so the error names the option
     * rather than an argument. */
    if (lua_type(L, -1) != LUA_TSTRING || lt_dtype_from_name(lua_tostring(L, -1), &c->dtype) != 0)
      ltL_argerror(L, idx, c->fname,
                   "option dtype: dtype name expected (float32, float64, float16, bfloat16, int64, "
                   "int32, uint8, bool), got %s",
                   lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : luaL_typename(L, -1));
    c->has_dtype = 1;
    c->dtype_arg = idx;
    lua_pop(L, 1);
  }
  if (ltL_opt_get(L, idx, "generator")) {
    Gen *g = luaL_testudata(L, -1, GEN_MT);
    if (!g)
      ltL_argerror(L, idx, c->fname, "option generator: Generator expected, got %s",
                   luaL_typename(L, -1));
    c->gen = g; /* the options table keeps it alive */
    lua_pop(L, 1);
  }
}

/* Consumes a trailing dtype name or options table at or after `first`
 * (a table at `first` counts as a shape when shape_first says so and it
 * names no options); returns the index of the last remaining argument. */
static int read_tail(lua_State *L, Call *c, int first, int shape_first, unsigned allowed) {
  int last = c->nargs;
  /* Trailing nils (g:rand(3, nil)) are ignored, as if not passed. */
  while (last >= first && lua_isnil(L, last)) last--;
  if (last < first) return last;
  if (lua_type(L, last) == LUA_TSTRING && (allowed & OPT_DTYPE)) {
    c->dtype = ltL_check_dtype(L, last, c->fname);
    c->has_dtype = 1;
    c->dtype_arg = last;
    return last - 1;
  }
  /* A table at `first` is the shape, unless the method takes no shape there or the table is
   * clearly options (named keys only). */
  if (lua_istable(L, last) && (last > first || !shape_first || is_options(L, last))) {
    read_options(L, c, last, allowed);
    return last - 1;
  }
  return last;
}

static int64_t check_size(lua_State *L, const Call *c, int arg) {
  int ok;
  lua_Integer v = lua_tointegerx(L, arg, &ok);
  if (!ok)
    ltL_argerror(L, arg, c->fname, "size must be a non-negative integer, got %s",
                 lua_tostring(L, arg));
  if (v < 0) ltL_argerror(L, arg, c->fname, "size must be non-negative, got %lld", (long long)v);
  return (int64_t)v;
}

/* Reads (size..., [dtype|opts]) or ({sizes}, [dtype|opts]) from `first`; the options table may
 * hold dtype, generator and the `extra` options (a mask of OPT_*). */
static int read_shape_opts(lua_State *L, Call *c, int first, int64_t *shape, unsigned extra) {
  int last = read_tail(L, c, first, 1, OPT_DTYPE | OPT_GENERATOR | extra), nd = 0;
  if (last < first) return 0;
  /* A shape table must be the last positional argument: anything after it other than a dtype or
   * options is an error. */
  if (lua_istable(L, first)) {
    if (last > first)
      ltL_argerror(L, first + 1, c->fname,
                   "dtype name or options table expected after the shape table, got %s",
                   luaL_typename(L, first + 1));
    return ltL_check_shape(L, first, c->fname, shape);
  }
  /* Sizes as separate numbers, up to LT_MAXDIM of them. */
  for (int i = first; i <= last; i++) {
    if (lua_type(L, i) != LUA_TNUMBER)
      ltL_argerror(L, i, c->fname,
                   "size, shape table, dtype name or options table expected, got %s",
                   luaL_typename(L, i));
    if (nd == LT_MAXDIM) ltL_argerror(L, i, c->fname, "at most %d dims", LT_MAXDIM);
    shape[nd++] = check_size(L, c, i);
  }
  return nd;
}
static int read_shape(lua_State *L, Call *c, int first, int64_t *shape) {
  return read_shape_opts(L, c, first, shape, 0);
}

/* Arguments after the main ones may only be a dtype name or options. */
static void read_tail_only(lua_State *L, Call *c, int first, unsigned allowed) {
  int last = read_tail(L, c, first, 0, allowed);
  if (last >= first)
    ltL_argerror(L, first, c->fname, "%s expected, got %s",
                 (allowed & OPT_DTYPE) ? "dtype name or options table" : "options table",
                 luaL_typename(L, first));
}

/* ---- dtype checks ------------------------------------------------------------ */

static LtDtype float_dtype(lua_State *L, const Call *c, LtDtype def) {
  if (!c->has_dtype) return def;
  if (!lt_dtype_is_float(c->dtype))
    ltL_argerror(L, c->dtype_arg, c->fname, "float dtype expected, got %s",
                 lt_dtype_name(c->dtype));
  return c->dtype;
}

/* The integers dtype dt holds exactly (floats: up to 2^mantissa bits). */
static void int_range(LtDtype dt, int64_t *lo, int64_t *hi) {
  int64_t m;
  switch (dt) {
  case LT_I64:
    *lo = INT64_MIN;
    *hi = INT64_MAX;
    return;
  case LT_I32:
    *lo = INT32_MIN;
    *hi = INT32_MAX;
    return;
  case LT_U8:
    *lo = 0;
    *hi = 255;
    return;
  case LT_BOOL:
    *lo = 0;
    *hi = 1;
    return;
  /* A float holds every integer up to 2^(mantissa bits + 1) exactly: 2^53, 2^24, 2^11 and 2^8
   * (bfloat16). */
  case LT_F64: m = (int64_t)1 << 53; break;
  case LT_F32: m = (int64_t)1 << 24; break;
  case LT_F16: m = 2048; break;
  default: m = 256; break;
  }
  *lo = -m;
  *hi = m;
}

static void check_int_fits(lua_State *L, const Call *c, LtDtype dt, int64_t lo, int64_t hi) {
  int64_t min, max;
  int_range(dt, &min, &max);
  if (lo < min || hi > max)
    ltL_argerror(L, c->dtype_arg, c->fname, "values in [%lld, %lld] do not fit %s exactly",
                 (long long)lo, (long long)hi, lt_dtype_name(dt));
}

static void check_float_fits(lua_State *L, const Call *c, LtDtype dt, double lo, double hi) {
  /* The finite range of each float dtype; bfloat16's largest is (2 - 2^-7) * 2^127. */
  double max = dt == LT_F32    ? FLT_MAX
               : dt == LT_F16  ? 65504.0
               : dt == LT_BF16 ? 3.3895313892515355e38
                               : DBL_MAX;
  /* Past the dtype's range, lo or hi would round to infinity and the uniform draw would be
   * meaningless. */
  if (fabs(lo) > max || fabs(hi) > max)
    ltL_argerror(L, c->dtype_arg ? c->dtype_arg : 1, c->fname, "[%g, %g) is beyond the %s range",
                 lo, hi, lt_dtype_name(dt));
}

/* Replaces the int64 tensor on top with a copy in dt when dt differs. */
static void convert_top(lua_State *L, const Call *c, LtDtype dt) {
  Tensor *t = ltL_totensor(L, -1);
  /* Index draws are made in int64 (1-based after to_one_based); another requested dtype is a
   * converted copy. */
  if (t->dtype == dt) return;
  Tensor *o = ltL_push_new_like(L, t, dt);
  ltL_check_status(L, lt_copy(o, t), c->fname);
  lua_remove(L, -2);
}

static void to_one_based(Tensor *t) {
  int64_t n = lt_numel(t), *p = t->data;
  for (int64_t i = 0; i < n; i++) p[i] += 1;
}

/* ---- the Generator userdata -------------------------------------------------- */

static Gen *push_gen(lua_State *L) {
  /* A Generator holds no Lua references: its whole state is the plain struct, which makes clone
   * a struct copy. */
  Gen *g = lua_newuserdatauv(L, sizeof(Gen), 0);
  memset(g, 0, sizeof *g);
  luaL_setmetatable(L, GEN_MT);
  return g;
}

static void gen_seed(Gen *g, int64_t seed) {
  lt_rng_seed(&g->rng, (uint64_t)seed);
  g->seed = seed;
  g->seeded = 1;
}

/* Generator([seed = 0]) -> a new generator; any integer seed, negative too
 * (ltL_check_seed's rule, shared by every binding that takes a seed). */
static int r_generator(lua_State *L) {
  int64_t seed = lua_isnoneornil(L, 1) ? 0 : ltL_check_seed(L, 1, "Generator");
  gen_seed(push_gen(L), seed);
  return 1;
}

/* g:seed(n) -> g, restarted from seed n. */
static int g_seed(lua_State *L) {
  Call c;
  begin_call(L, "seed", &c);
  /* with no argument, stack index 1 holds self: say what the user passed */
  /* With no argument, stack index 1 holds self: say what the user passed, not what is there. */
  if (c.nargs < 1) return ltL_argerror(L, 1, "seed", "seed expected (integer), got no value");
  gen_seed(c.gen, ltL_check_seed(L, 1, "seed"));
  /* Drop everything above self, which is then on top and returned. */
  lua_settop(L, c.nargs + 1);
  return 1;
}

/* g:state() -> a printable string holding the whole state. */
static int g_state(lua_State *L) {
  Call c;
  char buf[LT_RNG_STATE_LEN + 1];
  begin_call(L, "state", &c);
  lt_rng_state_format(&c.gen->rng, buf);
  lua_pushlstring(L, buf, LT_RNG_STATE_LEN);
  return 1;
}

/* g:set_state(s) -> g, continuing exactly where g:state() was taken. */
static int g_set_state(lua_State *L) {
  Call c;
  size_t len;
  begin_call(L, "set_state", &c);
  if (arg_type(L, &c, 1) != LUA_TSTRING)
    return ltL_argerror(L, 1, "set_state", "state string expected, got %s", arg_typename(L, &c, 1));
  const char *s = lua_tolstring(L, 1, &len);
  if (lt_rng_state_parse(&c.gen->rng, s, len) != LT_OK)
    return ltL_argerror(L, 1, "set_state",
                        "not a generator state (expected a string from g:state())");
  /* A restored state has no seed to report (tostring says "state restored"). */
  c.gen->seeded = 0;
  lua_settop(L, c.nargs + 1);
  return 1;
}

/* g:clone() -> an independent generator in the same state. */
static int g_clone(lua_State *L) {
  Call c;
  begin_call(L, "clone", &c);
  /* A struct copy: the two generators then draw the same numbers independently. */
  *push_gen(L) = *c.gen;
  return 1;
}

static int g_tostring(lua_State *L) {
  Gen *g = luaL_checkudata(L, 1, GEN_MT);
  if (g->seeded)
    lua_pushfstring(L, "Generator(seed=%I)", (lua_Integer)g->seed);
  else
    lua_pushliteral(L, "Generator(state restored)");
  return 1;
}

/* ---- float fills --------------------------------------------------------------- */

/* rand(shape) in [0, 1), randn(shape) standard normal. */
static int fill_standard(lua_State *L, const char *fname, int normal) {
  Call c;
  int64_t shape[LT_MAXDIM];
  begin_call(L, fname, &c);
  int nd = read_shape(L, &c, 1, shape);
  /* The shape is checked (and the tensor allocated) before any draw, so a bad call leaves the
   * generator's state untouched. */
  Tensor *t = ltL_push_new_arg(L, 1, fname, float_dtype(L, &c, LT_F32), nd, shape);
  LtRng *r = &c.gen->rng;
  ltL_check_status(L, normal ? lt_random_normal(r, t, 0, 1) : lt_random_uniform(r, t, 0, 1), fname);
  return 1;
}
static int g_rand(lua_State *L) { return fill_standard(L, "rand", 0); }
static int g_randn(lua_State *L) { return fill_standard(L, "randn", 1); }

/* uniform(lo, hi, shape) in [lo, hi). */
static int g_uniform(lua_State *L) {
  Call c;
  int64_t shape[LT_MAXDIM];
  begin_call(L, "uniform", &c);
  double lo = check_number(L, &c, 1, "lo"), hi = check_number(L, &c, 2, "hi");
  /* hi == lo is allowed (every value is lo); hi - lo must stay finite for the scaling. */
  if (hi < lo) return ltL_argerror(L, 2, "uniform", "hi %g is below lo %g", hi, lo);
  if (!isfinite(hi - lo))
    return ltL_argerror(L, 2, "uniform", "range [%g, %g) is too wide", lo, hi);
  int nd = read_shape(L, &c, 3, shape);
  LtDtype dt = float_dtype(L, &c, LT_F32);
  check_float_fits(L, &c, dt, lo, hi);
  Tensor *t = ltL_push_new_arg(L, 3, "uniform", dt, nd, shape);
  ltL_check_status(L, lt_random_uniform(&c.gen->rng, t, lo, hi), "uniform");
  return 1;
}

/* normal(mean, std, shape). */
static int g_normal(lua_State *L) {
  Call c;
  int64_t shape[LT_MAXDIM];
  begin_call(L, "normal", &c);
  double mean = check_number(L, &c, 1, "mean"), std = check_number(L, &c, 2, "std");
  if (std < 0) return ltL_argerror(L, 2, "normal", "std must be non-negative, got %g", std);
  int nd = read_shape(L, &c, 3, shape);
  Tensor *t = ltL_push_new_arg(L, 3, "normal", float_dtype(L, &c, LT_F32), nd, shape);
  ltL_check_status(L, lt_random_normal(&c.gen->rng, t, mean, std), "normal");
  return 1;
}

/* rand_like(t) / randn_like(t): t's shape; t's dtype when it is a float. */
static int fill_like(lua_State *L, const char *fname, int normal) {
  Call c;
  begin_call(L, fname, &c);
  Tensor *src = check_tensor(L, &c, 1);
  read_tail_only(L, &c, 2, OPT_DTYPE | OPT_GENERATOR);
  /* A float t keeps its dtype; an integer t gives float32 (rand of integers makes no sense). */
  LtDtype dt = float_dtype(L, &c, lt_dtype_is_float(src->dtype) ? src->dtype : LT_F32);
  Tensor *t = ltL_push_new_like(L, src, dt);
  LtRng *r = &c.gen->rng;
  ltL_check_status(L, normal ? lt_random_normal(r, t, 0, 1) : lt_random_uniform(r, t, 0, 1), fname);
  return 1;
}
static int g_rand_like(lua_State *L) { return fill_like(L, "rand_like", 0); }
static int g_randn_like(lua_State *L) { return fill_like(L, "randn_like", 1); }

/* ---- integers and events ------------------------------------------------------------ */

/* randint(lo, hi, shape [, {endpoint = false}]): integers in [lo, hi), hi excluded as numpy and
 * torch (int64); with endpoint (numpy's Generator.integers option) in [lo, hi]. */
static int g_randint(lua_State *L) {
  Call c;
  int64_t shape[LT_MAXDIM];
  begin_call(L, "randint", &c);
  int64_t lo = check_integer(L, &c, 1, "lo"), hi = check_integer(L, &c, 2, "hi");
  int nd = read_shape_opts(L, &c, 3, shape, OPT_ENDPOINT);
  int endpoint = c.opts ? ltL_opt_bool(L, c.opts, "randint", "endpoint", 0) : 0;
  if (endpoint && hi < lo)
    return ltL_argerror(L, 2, "randint", "hi %lld is below lo %lld", (long long)hi, (long long)lo);
  if (!endpoint && hi <= lo)
    return ltL_argerror(L, 2, "randint",
                        "hi %lld must be above lo %lld (hi is excluded, as in numpy and torch; "
                        "{endpoint = true} includes it)",
                        (long long)hi, (long long)lo);
  /* From here the range is inclusive: [lo, hi - 1] draws exactly what [lo, hi] with endpoint
   * would draw one below, so a script moved from the inclusive convention by hi + 1 keeps its
   * numbers. */
  if (!endpoint) hi -= 1;
  LtDtype dt = c.has_dtype ? c.dtype : LT_I64;
  /* Each end must be exact in the output dtype, or the draws near them would round outside [lo,
   * hi]. */
  check_int_fits(L, &c, dt, lo, hi);
  Tensor *t = ltL_push_new_arg(L, 3, "randint", dt, nd, shape);
  ltL_check_status(L, lt_random_integers(&c.gen->rng, t, lo, hi), "randint");
  return 1;
}

static void check_probs(lua_State *L, const Call *c, const Tensor *p) {
  int64_t bad;
  double v;
  LtStatus st = lt_random_check_probs(p, &bad, &v);
  /* Report the first bad probability with its 1-based position before drawing anything. */
  if (st == LT_EVALUE)
    ltL_argerror(L, 1, c->fname, "probability %g at position %lld is outside [0, 1]", v,
                 (long long)bad + 1);
  ltL_check_status(L, st, c->fname);
}

/* bernoulli(p, shape) or bernoulli(p_tensor): 1 with probability p (bool). */
static int g_bernoulli(lua_State *L) {
  Call c;
  int64_t shape[LT_MAXDIM];
  begin_call(L, "bernoulli", &c);
  /* A tensor first argument gives per-element probabilities with its shape; a number gives one
   * probability and a shape. */
  Tensor *pt = c.nargs >= 1 ? ltL_totensor(L, 1) : NULL;
  if (pt) {
    read_tail_only(L, &c, 2, OPT_DTYPE | OPT_GENERATOR);
    check_probs(L, &c, pt);
    Tensor *t = ltL_push_new_like(L, pt, c.has_dtype ? c.dtype : LT_BOOL);
    ltL_check_status(L, lt_random_bernoulli_probs(&c.gen->rng, t, pt), "bernoulli");
    return 1;
  }
  if (arg_type(L, &c, 1) != LUA_TNUMBER)
    return ltL_argerror(L, 1, "bernoulli", "probability expected (number or tensor), got %s",
                        arg_typename(L, &c, 1));
  double p = lua_tonumber(L, 1);
  if (!(p >= 0 && p <= 1))
    return ltL_argerror(L, 1, "bernoulli", "probability must be in [0, 1], got %g", p);
  int nd = read_shape(L, &c, 2, shape);
  Tensor *t = ltL_push_new_arg(L, 2, "bernoulli", c.has_dtype ? c.dtype : LT_BOOL, nd, shape);
  ltL_check_status(L, lt_random_bernoulli(&c.gen->rng, t, p), "bernoulli");
  return 1;
}

/* randperm(n) -> a permutation of 1..n (int64). */
static int g_randperm(lua_State *L) {
  Call c;
  begin_call(L, "randperm", &c);
  int64_t n = check_count(L, &c, 1, "n");
  read_tail_only(L, &c, 2, OPT_DTYPE | OPT_GENERATOR);
  LtDtype dt = c.has_dtype ? c.dtype : LT_I64;
  /* Values 1..n must be exact in the requested dtype. */
  check_int_fits(L, &c, dt, n > 0 ? 1 : 0, n);
  int64_t shape[1] = {n};
  /* Drawn in int64 (the core writes int64) and converted afterwards if asked. */
  Tensor *t = ltL_push_new_arg(L, 1, "randperm", LT_I64, 1, shape);
  lt_random_permutation(&c.gen->rng, t->data, n);
  to_one_based(t);
  convert_top(L, &c, dt);
  return 1;
}

/* ---- choice ------------------------------------------------------------------------- */

/* Pushes the weights option as a 1-d tensor of n elements (a Lua array
 * becomes float64) and checks its values; NULL when there is none. */
static Tensor *push_weights(lua_State *L, const Call *c, int64_t n, LtWeights *info) {
  char b[64];
  if (!c->opts || !ltL_opt_get(L, c->opts, "weights")) return NULL;
  Tensor *w = ltL_totensor(L, -1);
  /* A Lua array of numbers becomes a float64 tensor, which replaces the array on the stack so
   * that it stays alive while drawing. */
  if (!w && lua_istable(L, -1)) {
    int64_t len = (int64_t)lua_rawlen(L, -1), shape[1] = {len};
    w = ltL_push_new(L, LT_F64, 1, shape);
    for (int64_t i = 0; i < len; i++) {
      if (lua_rawgeti(L, -2, i + 1) != LUA_TNUMBER)
        ltL_argerror(L, c->opts, c->fname, "weights[%lld] must be a number, got %s",
                     (long long)i + 1, luaL_typename(L, -1));
      ((double *)w->data)[i] = lua_tonumber(L, -1);
      lua_pop(L, 1);
    }
    lua_remove(L, -2);
  }
  if (!w)
    ltL_argerror(L, c->opts, c->fname,
                 "option weights: tensor or array of numbers expected, got %s",
                 luaL_typename(L, -1));
  if (w->ndim != 1 || w->shape[0] != n)
    ltL_argerror(L, c->opts, c->fname,
                 "weights must be 1-d with %lld elements (one per item), got %s", (long long)n,
                 ltL_shape_of(w, b, sizeof b));
  LtStatus st = lt_random_check_weights(w, info);
  /* Errors are worded by cause: NaN, negative, infinite weight, an infinite sum, or no positive
   * weight at all. */
  long long at = (long long)info->bad + 1;
  if (st == LT_EVALUE && info->bad_value != info->bad_value)
    ltL_argerror(L, c->opts, c->fname, "weights[%lld] is NaN", at);
  if (st == LT_EVALUE)
    ltL_argerror(L, c->opts, c->fname, "weights[%lld] = %g is negative", at, info->bad_value);
  if (st == LT_ERANGE && info->bad >= 0)
    ltL_argerror(L, c->opts, c->fname, "weights[%lld] is infinite", at);
  if (st == LT_ERANGE) ltL_argerror(L, c->opts, c->fname, "weights sum to infinity");
  if (info->positive == 0) ltL_argerror(L, c->opts, c->fname, "weights are all zero");
  return w;
}

static int opt_replace(lua_State *L, const Call *c) {
  return c->opts ? ltL_opt_bool(L, c->opts, c->fname, "replace", 0) : 0;
}

/* Fills the 0-based int64 tensor idx with k draws from n items. */
static void draw_indices(lua_State *L, LtRng *r, Tensor *idx, int64_t n, int replace,
                         const Tensor *w) {
  int64_t k = idx->shape[0], *out = idx->data;
  /* Scratch comes from Lua userdata, not malloc: if anything raises, the collector frees it.
   * The + 1 keeps the size non-zero when n or k is 0. */
  if (w && replace) {
    lt_random_weighted_replace(r, out, k, w,
                               lua_newuserdatauv(L, (size_t)n * sizeof(double) + 1, 0));
  } else if (w) {
    lt_random_weighted_sample(r, out, k, w, lua_newuserdatauv(L, (size_t)k * 16 + 1, 0));
  } else if (replace) {
    lt_random_sample_replace(r, out, n, k);
    return;
  } else {
    lt_random_sample(r, out, n, k, lua_newuserdatauv(L, lt_random_sample_scratch(n, k) + 1, 0));
  }
  lua_pop(L, 1);
}

/* The items choice draws from: a count, a Lua array or the rows of a
 * tensor (both at stack index 1). Returns how many there are. */
static int64_t check_items(lua_State *L, const Call *c, Tensor **src, int *array) {
  *src = c->nargs >= 1 ? ltL_totensor(L, 1) : NULL;
  *array = !*src && arg_type(L, c, 1) == LUA_TTABLE;
  if (*src && (*src)->ndim == 0) ltL_argerror(L, 1, c->fname, "cannot choose from a 0-d tensor");
  if (*src) return (*src)->shape[0];
  if (*array) return (int64_t)lua_rawlen(L, 1);
  if (arg_type(L, c, 1) != LUA_TNUMBER)
    ltL_argerror(L, 1, c->fname, "item count, array or tensor expected, got %s",
                 arg_typename(L, c, 1));
  return check_count(L, c, 1, "n");
}

/* Replaces the 0-based int64 indices on top with choice's result: a Lua
 * array of the chosen elements, the chosen rows, or 1-based indices. */
static void push_chosen(lua_State *L, const Call *c, const Tensor *src, int array, LtDtype dt) {
  Tensor *idx = ltL_totensor(L, -1);
  int64_t k = idx->shape[0], *ix = idx->data, bad;
  if (array) {
    /* The chosen elements of the Lua array, in draw order. */
    lua_createtable(L, (int)k, 0);
    for (int64_t i = 0; i < k; i++) {
      lua_rawgeti(L, 1, ix[i] + 1);
      lua_rawseti(L, -2, i + 1);
    }
  } else if (src) {
    /* Rows of a tensor are gathered with index_select, in draw order. */
    int64_t rows[LT_MAXDIM];
    memcpy(rows, src->shape, sizeof rows);
    rows[0] = k;
    Tensor *o = ltL_push_new(L, src->dtype, src->ndim, rows);
    ltL_check_status(L, lt_index_select(o, src, 0, ix, k, &bad), c->fname);
  } else {
    to_one_based(idx);
    convert_top(L, c, dt);
    return;
  }
  lua_remove(L, -2);
  if (src) convert_top(L, c, dt);
}

/* choice(n, k, opts) -> k 1-based indices of 1..n; choice(t, k, opts) -> k
 * rows of t; choice(array, k, opts) -> a Lua array of k of its elements.
 * opts: replace (false), weights (tensor or array, one per item), dtype,
 * generator. */
static int g_choice(lua_State *L) {
  Call c;
  LtWeights info;
  Tensor *src;
  int array;
  begin_call(L, "choice", &c);
  int64_t n = check_items(L, &c, &src, &array), k = check_count(L, &c, 2, "k");
  read_tail_only(L, &c, 3, OPT_DTYPE | OPT_GENERATOR | OPT_REPLACE | OPT_WEIGHTS);
  int replace = opt_replace(L, &c);
  /* Refusals first, so the generator only advances for a call that succeeds. */
  if (!replace && k > n)
    return ltL_argerror(L, 2, "choice", "cannot take %lld of %lld items without replacement",
                        (long long)k, (long long)n);
  if (replace && n == 0 && k > 0) return ltL_argerror(L, 1, "choice", "cannot choose from 0 items");
  if (array && k > 100000000)
    return ltL_argerror(L, 2, "choice", "k = %lld is too large for a Lua array", (long long)k);
  Tensor *w = push_weights(L, &c, n, &info);
  if (w && !replace && k > info.positive)
    return ltL_argerror(
        L, 2, "choice",
        "cannot take %lld items without replacement: only %lld have positive weight", (long long)k,
        (long long)info.positive);
  LtDtype dt = c.has_dtype ? c.dtype : src ? src->dtype : LT_I64;
  /* Indices 1..n must be exact in the requested dtype. */
  if (!src && !array) check_int_fits(L, &c, dt, n > 0 ? 1 : 0, n);
  int64_t shape[1] = {k};
  Tensor *idx = ltL_push_new_arg(L, 2, "choice", LT_I64, 1, shape);
  draw_indices(L, &c.gen->rng, idx, n, replace, w);
  push_chosen(L, &c, src, array, dt);
  return 1;
}

/* ---- registration ------------------------------------------------------------------------ */

static const luaL_Reg gen_methods[] = {{"seed", g_seed},
                                       {"state", g_state},
                                       {"set_state", g_set_state},
                                       {"clone", g_clone},
                                       {"rand", g_rand},
                                       {"randn", g_randn},
                                       {"uniform", g_uniform},
                                       {"normal", g_normal},
                                       {"rand_like", g_rand_like},
                                       {"randn_like", g_randn_like},
                                       {"randint", g_randint},
                                       {"bernoulli", g_bernoulli},
                                       {"randperm", g_randperm},
                                       {"choice", g_choice},
                                       {NULL, NULL}};

static const luaL_Reg gen_meta[] = {{"__tostring", g_tostring}, {NULL, NULL}};

static const luaL_Reg module_fns[] = {{"Generator", r_generator}, {NULL, NULL}};

static void createmeta(lua_State *L) {
  luaL_newmetatable(L, GEN_MT);
  luaL_setfuncs(L, gen_meta, 0);
  luaL_newlib(L, gen_methods);
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
}

/* A method with the default generator (upvalue 1) inserted as self; the
 * method (upvalue 2) runs in this frame, so errors point at the caller. */
static int bound_call(lua_State *L) {
  lua_CFunction f = lua_tocfunction(L, lua_upvalueindex(2));
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  return f(L);
}

/* The main part of lunette._random (src/lunette.c lists every part).
 * The module: Generator(seed); `methods`, the Generator method table (the
 * Lua façade adds to it); `default_generator`, a Generator(DEFAULT_SEED)
 * held as an upvalue by one module function per method (rand, seed, ...). */
int luaopen_lunette_random(lua_State *L);
int luaopen_lunette_random(lua_State *L) {
  createmeta(L);
  luaL_newlib(L, module_fns);
  luaL_getmetatable(L, GEN_MT);
  lua_getfield(L, -1, "__index");
  lua_setfield(L, -3, "methods");
  lua_pop(L, 1);
  gen_seed(push_gen(L), LT_RANDOM_DEFAULT_SEED);
  /* One module-level function per method, each bound to the default generator: rand(3) is
   * default_generator:rand(3). */
  for (const luaL_Reg *r = gen_methods; r->func; r++) {
    lua_pushvalue(L, -1);
    lua_pushcfunction(L, r->func);
    lua_pushcclosure(L, bound_call, 2);
    lua_setfield(L, -3, r->name);
  }
  lua_setfield(L, -2, "default_generator");
  lua_pushinteger(L, LT_RANDOM_DEFAULT_SEED);
  lua_setfield(L, -2, "DEFAULT_SEED");
  return 1;
}
