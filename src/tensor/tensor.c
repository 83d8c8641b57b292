/* tensor.c - dtypes, shapes, broadcasting, strided copy and iteration (core, no Lua). */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include "interrupt.h"
#include "tensor/tensor.h"

/* Indexed by LtDtype so a lookup is one load; the static assert below keeps the two in step. */
static const struct {
  const char *name;
  size_t size;
} dtype_info[] = {
    [LT_F32] = {"float32", 4},   [LT_F64] = {"float64", 8}, [LT_F16] = {"float16", 2},
    [LT_BF16] = {"bfloat16", 2}, [LT_I64] = {"int64", 8},   [LT_I32] = {"int32", 4},
    [LT_U8] = {"uint8", 1},      [LT_BOOL] = {"bool", 1},
};
_Static_assert(sizeof dtype_info / sizeof dtype_info[0] == LT_NDTYPES, "dtype table out of step");

size_t lt_dtype_size(LtDtype dt) { return dtype_info[dt].size; }
const char *lt_dtype_name(LtDtype dt) { return dtype_info[dt].name; }
int lt_dtype_is_float(LtDtype dt) {
  return dt == LT_F32 || dt == LT_F64 || dt == LT_F16 || dt == LT_BF16;
}

/* Accepts the canonical names first, then torch's aliases ("float", "long", ...). */
int lt_dtype_from_name(const char *name, LtDtype *out) {
  static const struct {
    const char *alias;
    LtDtype dt;
  } aliases[] = {
      {"float", LT_F32}, {"double", LT_F64}, {"half", LT_F16},
      {"long", LT_I64},  {"int", LT_I32},    {"byte", LT_U8},
  };
  for (int i = 0; i < LT_NDTYPES; i++)
    if (strcmp(name, dtype_info[i].name) == 0) {
      *out = (LtDtype)i;
      return 0;
    }
  for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
    if (strcmp(name, aliases[i].alias) == 0) {
      *out = aliases[i].dt;
      return 0;
    }
  return -1;
}

/* Rank used for promotion: bool < u8 < i32 < i64 < f16/bf16 < f32 < f64.
 * Two half types of different kinds promote to f32, as in torch. */
static int dtype_rank(LtDtype dt) {
  static const int rank[LT_NDTYPES] = {
      [LT_BOOL] = 0, [LT_U8] = 1,   [LT_I32] = 2, [LT_I64] = 3,
      [LT_F16] = 4,  [LT_BF16] = 4, [LT_F32] = 5, [LT_F64] = 6,
  };
  return rank[dt];
}

LtDtype lt_dtype_promote(LtDtype a, LtDtype b) {
  if (a == b) return a;
  if (dtype_rank(a) == dtype_rank(b)) return LT_F32; /* f16 with bf16 */
  return dtype_rank(a) > dtype_rank(b) ? a : b;
}

int64_t lt_numel(const Tensor *t) {
  int64_t n = 1;
  for (int i = 0; i < t->ndim; i++) n *= t->shape[i];
  return n;
}

void lt_contiguous_strides(int ndim, const int64_t *shape, int64_t *stride) {
  int64_t s = 1;
  for (int i = ndim - 1; i >= 0; i--) {
    stride[i] = s;
    s *= shape[i] > 0 ? shape[i] : 1;
  }
}

int lt_is_contiguous(const Tensor *t) {
  int64_t s = 1;
  /* A zero-sized dim makes the tensor contiguous whatever its strides say. */
  if (lt_numel(t) == 0) return 1;
  for (int i = t->ndim - 1; i >= 0; i--) {
    /* Size-1 dims may carry any stride (views leave them as they were): they are never stepped. */
    if (t->shape[i] != 1 && t->stride[i] != s) return 0;
    s *= t->shape[i];
  }
  return 1;
}

/* The product of the non-zero sizes must fit too, although a zero size
 * makes the count 0: strides and merged dims of an empty tensor are still
 * products of its sizes ([0x2^40x2^40] would overflow them). */
LtStatus lt_shape_numel(int ndim, const int64_t *shape, size_t elem_size, int64_t *numel) {
  int64_t n = 1, bytes;
  int empty = 0;
  if (ndim < 0 || ndim > LT_MAXDIM) return LT_EVALUE;
  for (int i = 0; i < ndim; i++)
    if (shape[i] < 0) return LT_EVALUE;
  /* Negative sizes are refused before any product, so the overflow check below only ever sees
   * non-negative factors. */
  for (int i = 0; i < ndim; i++) {
    if (shape[i] == 0)
      empty = 1;
    else if (__builtin_mul_overflow(n, shape[i], &n))
      return LT_EOVERFLOW;
  }
  /* elem_size 0 means "count only"; the byte bound then caps the count itself. */
  if (elem_size == 0) elem_size = 1;
  if (__builtin_mul_overflow(n, (int64_t)elem_size, &bytes) || bytes > LT_MAX_BYTES)
    return LT_EOVERFLOW;
  *numel = empty ? 0 : n;
  return LT_OK;
}

int64_t lt_shape_numel_checked(int ndim, const int64_t *shape, size_t elem_size) {
  int64_t n;
  return lt_shape_numel(ndim, shape, elem_size, &n) == LT_OK ? n : -1;
}

char *lt_shape_str(const Tensor *t, char *buf, size_t n) {
  size_t used = (size_t)snprintf(buf, n, "[");
  /* snprintf returns the length it wanted, so `used` can pass n; the bound stops the loop and
   * the closing "]" is then dropped rather than overrunning buf. */
  for (int i = 0; i < t->ndim && used < n; i++)
    used += (size_t)snprintf(buf + used, n - used, i ? "x%lld" : "%lld", (long long)t->shape[i]);
  if (used < n) snprintf(buf + used, n - used, "]");
  return buf;
}

LtStatus lt_broadcast_shape(const Tensor *a, const Tensor *b, int *out_nd, int64_t *out_shape) {
  int nd = a->ndim > b->ndim ? a->ndim : b->ndim;
  /* Align trailing dims as numpy does: a missing leading dim counts as size 1. */
  for (int i = 0; i < nd; i++) {
    int ia = a->ndim - nd + i, ib = b->ndim - nd + i;
    int64_t da = ia >= 0 ? a->shape[ia] : 1, db = ib >= 0 ? b->shape[ib] : 1;
    if (da != db && da != 1 && db != 1) return LT_ESHAPE;
    out_shape[i] = da == 1 ? db : da;
  }
  *out_nd = nd;
  return LT_OK;
}

LtStatus lt_expand_view(const Tensor *t, int nd, const int64_t *shape, Tensor *v) {
  if (nd < t->ndim || nd > LT_MAXDIM) return LT_ESHAPE;
  Tensor r = *t;
  r.ndim = nd;
  for (int i = 0; i < nd; i++) {
    int it = t->ndim - nd + i;
    int64_t d = it >= 0 ? t->shape[it] : 1, s = it >= 0 ? t->stride[it] : 0;
    /* A matching size-1 dim also gets stride 0, so every expanded dim that is never stepped
     * reads the same way to the iterators. */
    if (d == shape[i]) {
      r.shape[i] = d;
      r.stride[i] = d == 1 ? 0 : s;
    } else if (d == 1) {
      r.shape[i] = shape[i];
      r.stride[i] = 0;
    } else
      return LT_ESHAPE;
  }
  /* Broadcasting can multiply the element count, so the result is bounded again. */
  int64_t n;
  LtStatus st = lt_shape_numel(nd, r.shape, lt_dtype_size(t->dtype), &n);
  if (st != LT_OK) return st;
  *v = r;
  return LT_OK;
}

void *lt_elem_ptr(const Tensor *t, const int64_t *idx) {
  int64_t off = 0;
  for (int i = 0; i < t->ndim; i++) off += idx[i] * t->stride[i];
  return (char *)t->data + off * (int64_t)lt_dtype_size(t->dtype);
}

/* ---- half precision ---------------------------------------------------- */

float lt_f16_to_f32(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
  /* Inf and NaN keep their payload; a normal number moves its exponent from bias 15 to bias
   * 127 (adds 112) and widens its mantissa from 10 to 23 bits. */
  if (exp == 0x1f)
    bits = sign | 0x7f800000u | (man << 13);
  else if (exp != 0)
    bits = sign | ((exp + 112) << 23) | (man << 13);
  else if (man == 0)
    bits = sign;
  else { /* subnormal: renormalise */
    int e = -1;
    do {
      e++;
      man <<= 1;
    } while (!(man & 0x400));
    bits = sign | ((uint32_t)(112 - e) << 23) | ((man & 0x3ff) << 13);
  }
  float f;
  memcpy(&f, &bits, 4);
  return f;
}

uint16_t lt_f32_to_f16(float f) {
  uint32_t x;
  memcpy(&x, &f, 4);
  uint16_t sign = (uint16_t)((x >> 16) & 0x8000);
  uint32_t ax = x & 0x7fffffffu;
  if (ax >= 0x7f800000u) return sign | 0x7c00 | (ax > 0x7f800000u ? 0x200 : 0);
  if (ax >= 0x477ff000u) return sign | 0x7c00; /* rounds to >= 65520: inf */
  if (ax < 0x38800000u) {                      /* result is subnormal or zero */
    float v;
    memcpy(&v, &ax, 4);
    return sign | (uint16_t)lrintf(v * 16777216.0f); /* v / 2^-24, round-even */
  }
  /* Adding 0xfff plus the lowest kept bit before the shift rounds the 13 dropped bits to
   * nearest, ties to even; a carry out of the mantissa correctly bumps the exponent. */
  uint32_t mant_odd = (ax >> 13) & 1;
  ax += 0xc8000fffu + mant_odd; /* rebias exponent (-112<<23) and round to nearest even */
  return sign | (uint16_t)(ax >> 13);
}

float lt_bf16_to_f32(uint16_t h) {
  uint32_t bits = (uint32_t)h << 16;
  float f;
  memcpy(&f, &bits, 4);
  return f;
}

uint16_t lt_f32_to_bf16(float f) {
  uint32_t x;
  memcpy(&x, &f, 4);
  /* Truncating a NaN could clear all its mantissa bits and turn it into an infinity. */
  if ((x & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((x >> 16) | 0x40); /* quiet NaN */
  /* Round to nearest even on the 16 dropped bits, as for f16 above. */
  x += 0x7fffu + ((x >> 16) & 1);
  return (uint16_t)(x >> 16);
}

/* ---- scalar access ----------------------------------------------------- */

double lt_get_f64(const void *p, LtDtype dt) {
  switch (dt) {
  case LT_F32: return *(const float *)p;
  case LT_F64: return *(const double *)p;
  case LT_F16: return lt_f16_to_f32(*(const uint16_t *)p);
  case LT_BF16: return lt_bf16_to_f32(*(const uint16_t *)p);
  case LT_I64: return (double)*(const int64_t *)p;
  case LT_I32: return *(const int32_t *)p;
  case LT_U8: return *(const uint8_t *)p;
  case LT_BOOL: return *(const uint8_t *)p != 0;
  default: return 0;
  }
}

/* Float-to-integer conversion saturates and maps NaN to 0 so that a bad
 * value never triggers undefined behaviour. */
static int64_t f64_to_i64_sat(double v) {
  /* NaN is the only value unequal to itself. 9.2233720368547758e18 is 2^63, one past
   * INT64_MAX: every double strictly between the bounds converts without overflow. */
  if (v != v) return 0;
  if (v >= 9.2233720368547758e18) return INT64_MAX;
  if (v <= -9.2233720368547758e18) return INT64_MIN;
  return (int64_t)v;
}

void lt_set_f64(void *p, LtDtype dt, double v) {
  switch (dt) {
  case LT_F32: *(float *)p = (float)v; break;
  case LT_F64: *(double *)p = v; break;
  case LT_F16: *(uint16_t *)p = lt_f32_to_f16((float)v); break;
  case LT_BF16: *(uint16_t *)p = lt_f32_to_bf16((float)v); break;
  case LT_I64: *(int64_t *)p = f64_to_i64_sat(v); break;
  case LT_I32: {
    int64_t i = f64_to_i64_sat(v);
    *(int32_t *)p = (int32_t)(i > INT32_MAX ? INT32_MAX : i < INT32_MIN ? INT32_MIN : i);
    break;
  }
  case LT_U8: {
    int64_t i = f64_to_i64_sat(v);
    *(uint8_t *)p = (uint8_t)(i > 255 ? 255 : i < 0 ? 0 : i);
    break;
  }
  case LT_BOOL: *(uint8_t *)p = v != 0; break;
  default: break;
  }
}

int64_t lt_get_i64(const void *p, LtDtype dt) {
  switch (dt) {
  case LT_I64: return *(const int64_t *)p;
  case LT_I32: return *(const int32_t *)p;
  case LT_U8: return *(const uint8_t *)p;
  case LT_BOOL: return *(const uint8_t *)p != 0;
  default: return f64_to_i64_sat(lt_get_f64(p, dt));
  }
}

void lt_set_i64(void *p, LtDtype dt, int64_t v) {
  switch (dt) {
  case LT_I64: *(int64_t *)p = v; break;
  case LT_I32:
    *(int32_t *)p = (int32_t)(v > INT32_MAX ? INT32_MAX : v < INT32_MIN ? INT32_MIN : v);
    break;
  case LT_U8: *(uint8_t *)p = (uint8_t)(v > 255 ? 255 : v < 0 ? 0 : v); break;
  case LT_BOOL: *(uint8_t *)p = v != 0; break;
  default: lt_set_f64(p, dt, (double)v); break;
  }
}

/* ---- strided iteration ------------------------------------------------- */

/* Merges adjacent dims that are contiguous for every tensor, so a
 * contiguous tensor becomes one long run. Returns the merged ndim. st[k]
 * receives tensor k's merged strides (in elements); shape is rewritten in
 * place, which is safe because the output index `out` never passes i. */
static int coalesce(int nt, Tensor *const *ts, int nd, int64_t *shape, int64_t (*st)[LT_MAXDIM]) {
  int out = 0;
  for (int i = 0; i < nd; i++) {
    /* Size-1 dims are never stepped, so their stride is irrelevant: drop them before merging. */
    if (shape[i] == 1) continue;
    int merge = out > 0;
    /* Dim out-1 (outer) and dim i (inner) form one run when stepping the outer dim once equals
     * walking the whole inner dim, for every tensor alike. */
    for (int k = 0; k < nt && merge; k++)
      if (st[k][out - 1] != ts[k]->stride[i] * shape[i]) merge = 0;
    if (merge) {
      shape[out - 1] *= shape[i];
      for (int k = 0; k < nt; k++) st[k][out - 1] = ts[k]->stride[i];
    } else {
      shape[out] = shape[i];
      for (int k = 0; k < nt; k++) st[k][out] = ts[k]->stride[i];
      out++;
    }
  }
  /* All dims were size 1 (or ndim was 0): a scalar is one run of one element. */
  if (out == 0) {
    shape[0] = 1;
    for (int k = 0; k < nt; k++) st[k][0] = 0;
    out = 1;
  }
  return out;
}

/* Very long runs are cut into chunks of this many elements so that the interrupt flag is polled
 * at least this often. */
#define LT_RUN_CHUNK ((int64_t)1 << 22)

LtStatus lt_foreach_run(int nt, Tensor *const *ts, LtRunFn fn, void *ctx) {
  int64_t shape[LT_MAXDIM], st[4][LT_MAXDIM], idx[LT_MAXDIM] = {0}, sb[4];
  char *base[4], *p[4];
  /* Callers pass at most dst plus three inputs; the fixed arrays below are sized for that. */
  if (nt > 4) return LT_EVALUE;
  int nd0 = ts[0]->ndim;
  memcpy(shape, ts[0]->shape, sizeof(int64_t) * (size_t)nd0);
  if (lt_numel(ts[0]) == 0) return LT_OK;
  int nd = coalesce(nt, ts, nd0, shape, st);
  for (int k = 0; k < nt; k++) {
    base[k] = ts[k]->data;
    sb[k] = st[k][nd - 1] * (int64_t)lt_dtype_size(ts[k]->dtype);
  }
  /* idx holds the position over the outer nd-1 dims (the innermost dim is the run itself);
   * since_check counts elements since the interrupt flag was last polled. */
  int64_t inner = shape[nd - 1], since_check = 0;
  for (;;) {
    /* Recompute each base pointer from idx rather than stepping it incrementally: it costs nd
     * multiplies per run, which is small against a run, and avoids carry bookkeeping. */
    for (int k = 0; k < nt; k++) {
      int64_t off = 0;
      for (int i = 0; i < nd - 1; i++) off += idx[i] * st[k][i];
      p[k] = base[k] + off * (int64_t)lt_dtype_size(ts[k]->dtype);
    }
    for (int64_t done = 0; done < inner; done += LT_RUN_CHUNK) {
      int64_t n = inner - done < LT_RUN_CHUNK ? inner - done : LT_RUN_CHUNK;
      char *q[4];
      for (int k = 0; k < nt; k++) q[k] = p[k] + done * sb[k];
      fn(q, sb, n, ctx);
      since_check += n;
      if (since_check >= LT_RUN_CHUNK) {
        since_check = 0;
        if (lt_interrupt_pending()) return LT_EINTR;
      }
    }
    /* Odometer increment of idx over the outer dims, last dim fastest; when it wraps past dim 0
     * every run has been visited. */
    int i = nd - 2;
    while (i >= 0 && ++idx[i] == shape[i]) idx[i--] = 0;
    if (i < 0) break;
  }
  return LT_OK;
}

/* Parallel flavour for callbacks that only write their own run (elementwise
 * kernels): the outer runs are shared among threads, so [10000x1000] +
 * [1000] uses both cores although each run is short. */
LtStatus lt_foreach_run_par(int nt, Tensor *const *ts, LtRunFn fn, void *ctx) {
  int64_t shape[LT_MAXDIM], st[4][LT_MAXDIM], sb[4];
  if (nt > 4) return LT_EVALUE;
  int64_t total = lt_numel(ts[0]);
  if (total == 0) return LT_OK;
  memcpy(shape, ts[0]->shape, sizeof(int64_t) * (size_t)ts[0]->ndim);
  int nd = coalesce(nt, ts, ts[0]->ndim, shape, st);
  /* One run per index over the outer dims. A contiguous tensor coalesces to a single run,
   * which is not split across threads: it goes to the serial iterator below. */
  int64_t inner = shape[nd - 1], runs = total / inner;
  if (runs < 2 || total < LT_PAR_MIN) return lt_foreach_run(nt, ts, fn, ctx);
  for (int k = 0; k < nt; k++) sb[k] = st[k][nd - 1] * (int64_t)lt_dtype_size(ts[k]->dtype);
  /* OpenMP forbids break inside a parallel for: threads that see `stop` skip their remaining
   * runs instead. Runs are independent, so a benign racy read only delays the stop. */
  volatile int stop = 0;
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < runs; r++) {
    if (stop) continue;
    char *p[4];
    int64_t rem = r, off[4] = {0, 0, 0, 0};
    /* Run r's outer index in mixed radix over the outer dims, last dim fastest, as in the serial
     * iterator; each thread computes it from scratch so runs can be handed out in any order. */
    for (int i = nd - 2; i >= 0; i--) {
      int64_t ix = rem % shape[i];
      rem /= shape[i];
      for (int k = 0; k < nt; k++) off[k] += ix * st[k][i];
    }
    for (int k = 0; k < nt; k++)
      p[k] = (char *)ts[k]->data + off[k] * (int64_t)lt_dtype_size(ts[k]->dtype);
    fn(p, sb, inner, ctx);
    /* Polled every 256 runs: often enough to stop promptly, rarely enough to cost nothing. */
    if ((r & 255) == 0 && lt_interrupt_pending()) stop = 1;
  }
  return stop ? LT_EINTR : LT_OK;
}

/* ---- copy / fill --------------------------------------------------------- */

/* Run kernel of lt_copy: ctx is {dst, src}; fast paths for the common same-dtype and f32<->f64
 * cases, the generic path through int64 or double otherwise. */
static void copy_run(char **p, const int64_t *sb, int64_t n, void *ctx) {
  const Tensor *const *ts = ctx;
  LtDtype dd = ts[0]->dtype, sd = ts[1]->dtype;
  if (dd == sd) {
    size_t es = lt_dtype_size(dd);
    /* Contiguous on both sides: one memmove (which also tolerates dst == src). */
    if (sb[0] == (int64_t)es && sb[1] == (int64_t)es) {
      memmove(p[0], p[1], (size_t)n * es);
      return;
    }
    for (int64_t i = 0; i < n; i++) memcpy(p[0] + i * sb[0], p[1] + i * sb[1], es);
    return;
  }
  if (dd == LT_F32 && sd == LT_F64) {
    for (int64_t i = 0; i < n; i++)
      *(float *)(p[0] + i * sb[0]) = (float)*(double *)(p[1] + i * sb[1]);
    return;
  }
  if (dd == LT_F64 && sd == LT_F32) {
    for (int64_t i = 0; i < n; i++) *(double *)(p[0] + i * sb[0]) = *(float *)(p[1] + i * sb[1]);
    return;
  }
  /* Integer-to-integer goes through int64 so that large int64 values are not rounded by a trip
   * through double. */
  int ints = !lt_dtype_is_float(dd) && !lt_dtype_is_float(sd);
  for (int64_t i = 0; i < n; i++) {
    if (ints)
      lt_set_i64(p[0] + i * sb[0], dd, lt_get_i64(p[1] + i * sb[1], sd));
    else
      lt_set_f64(p[0] + i * sb[0], dd, lt_get_f64(p[1] + i * sb[1], sd));
  }
}

LtStatus lt_copy(Tensor *dst, const Tensor *src) {
  if (dst->ndim != src->ndim) return LT_ESHAPE;
  for (int i = 0; i < dst->ndim; i++)
    if (dst->shape[i] != src->shape[i]) return LT_ESHAPE;
  /* A local copy of src so that the const pointer can sit in the non-const array lt_foreach_run
   * expects; the iterator only reads it. */
  Tensor s = *src;
  Tensor *ts[2] = {dst, &s};
  const Tensor *ctx[2] = {dst, &s};
  return lt_foreach_run_par(2, ts, copy_run, (void *)ctx);
}

/* The fill value converted once to t's dtype; 8-aligned because lt_set_f64 stores into it
 * through a double or int64 pointer. */
typedef struct {
  size_t es;
  _Alignas(8) unsigned char bytes[8];
} FillValue;

static void fill_run(char **p, const int64_t *sb, int64_t n, void *ctx) {
  const FillValue *val = ctx;
  /* Contiguous float32 is the common case (zeros, ones): a plain store loop that vectorises. */
  if (val->es == 4 && sb[0] == 4) {
    float v;
    memcpy(&v, val->bytes, 4);
    for (int64_t i = 0; i < n; i++) ((float *)p[0])[i] = v;
    return;
  }
  for (int64_t i = 0; i < n; i++) memcpy(p[0] + i * sb[0], val->bytes, val->es);
}

LtStatus lt_fill(Tensor *t, double v) {
  FillValue val = {lt_dtype_size(t->dtype), {0}};
  lt_set_f64(val.bytes, t->dtype, v);
  Tensor *ts[1] = {t};
  return lt_foreach_run_par(1, ts, fill_run, &val);
}

void lt_arange(Tensor *t, double start, double step) {
  size_t es = lt_dtype_size(t->dtype);
  for (int64_t i = 0; i < t->shape[0]; i++)
    lt_set_f64((char *)t->data + i * t->stride[0] * (int64_t)es, t->dtype,
               start + (double)i * step);
}

/* Large storages ask for transparent huge pages, as numpy does: a fresh
 * 40 MB tensor then takes 20 page faults instead of 10,000, which is most
 * of the cost of writing it once. Advice only; failure changes nothing. */
void lt_memory_advise(void *p, size_t n) {
#ifdef MADV_HUGEPAGE
  /* Advise only the whole 2 MiB pages inside [p, p+n): madvise needs page-aligned bounds, and
   * the partial pages at either end would gain nothing. */
  const uintptr_t huge = (uintptr_t)2 << 20;
  if (n < ((size_t)4 << 20)) return;
  uintptr_t lo = ((uintptr_t)p + huge - 1) & ~(huge - 1), hi = ((uintptr_t)p + n) & ~(huge - 1);
  if (hi > lo) madvise((void *)lo, hi - lo, MADV_HUGEPAGE);
#else
  (void)p;
  (void)n;
#endif
}
