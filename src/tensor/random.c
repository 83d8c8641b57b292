/* random.c - xoshiro256** (Blackman & Vigna) with splitmix64 seeding, and the sampling kernels
 * built on it (core, no Lua). */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "tensor/random.h"

/* Vigna's splitmix64 turns any seed, 0 included, into four well-mixed words: xoshiro must not
 * start from the all-zero state, which it never leaves. */
static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

void lt_rng_seed(LtRng *r, uint64_t seed) {
  for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&seed);
  r->has_spare = 0;
  r->spare = 0;
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t lt_rng_next(LtRng *r) {
  /* The xoshiro256** step as published (prng.di.unimi.it): the output scrambles s[1] before the
   * state moves on. */
  uint64_t *s = r->s, result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

/* The top 53 bits (the low bits of xoshiro are its weakest) scaled by 2^-53: a grid of 2^-53
 * over [0,1), never 1. */
double lt_rng_uniform(LtRng *r) { return (double)(lt_rng_next(r) >> 11) * 0x1.0p-53; }

double lt_rng_normal(LtRng *r) {
  if (r->has_spare) {
    r->has_spare = 0;
    return r->spare;
  }
  double u, v, s;
  /* Polar (Marsaglia) method: rejection keeps (u, v) uniform in the unit disc, which avoids the
   * sin and cos of the basic form; s == 0 would divide by zero. */
  do {
    u = 2 * lt_rng_uniform(r) - 1;
    v = 2 * lt_rng_uniform(r) - 1;
    s = u * u + v * v;
  } while (s >= 1 || s == 0);
  double f = sqrt(-2 * log(s) / s);
  r->spare = v * f;
  r->has_spare = 1;
  return u * f;
}

/* Lemire's nearly divisionless method with rejection: unbiased. */
uint64_t lt_rng_below(LtRng *r, uint64_t n) {
  /* The high word of next * n is uniform in [0, n) except for a slight bias, which the rejection
   * below removes: it redraws only when the low word falls under 2^64 mod n, and the division
   * that computes that bound runs only in the rare case lo < n. */
  unsigned __int128 m = (unsigned __int128)lt_rng_next(r) * n;
  uint64_t lo = (uint64_t)m;
  if (lo < n) {
    uint64_t thresh = (0 - n) % n;
    while (lo < thresh) {
      m = (unsigned __int128)lt_rng_next(r) * n;
      lo = (uint64_t)m;
    }
  }
  return (uint64_t)(m >> 64);
}

/* ---- state serialisation ------------------------------------------------- */

static const char STATE_TAG[] = "xoshiro256**:";

void lt_rng_state_format(const LtRng *r, char buf[LT_RNG_STATE_LEN + 1]) {
  uint64_t spare;
  memcpy(&spare, &r->spare, sizeof spare);
  /* Fixed-width hex for every word (and the spare normal's bit pattern, so it is restored
   * exactly): the text always has LT_RNG_STATE_LEN characters. */
  snprintf(buf, LT_RNG_STATE_LEN + 1,
           "%s%016" PRIx64 "%016" PRIx64 "%016" PRIx64 "%016" PRIx64 ":%d:%016" PRIx64, STATE_TAG,
           r->s[0], r->s[1], r->s[2], r->s[3], r->has_spare ? 1 : 0, spare);
}

/* Reads exactly 16 hex digits; -1 on any other character. */
static int parse_hex16(const char *s, uint64_t *out) {
  uint64_t v = 0;
  for (int i = 0; i < 16; i++) {
    char c = s[i];
    int d = c >= '0' && c <= '9'   ? c - '0'
            : c >= 'a' && c <= 'f' ? c - 'a' + 10
            : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                   : -1;
    if (d < 0) return -1;
    v = v << 4 | (uint64_t)d;
  }
  *out = v;
  return 0;
}

LtStatus lt_rng_state_parse(LtRng *r, const char *s, size_t len) {
  const size_t tag = sizeof STATE_TAG - 1;
  uint64_t w[4], spare;
  /* Every field is checked before *r is written, so a malformed string changes nothing. */
  if (len != LT_RNG_STATE_LEN || memcmp(s, STATE_TAG, tag) != 0) return LT_EVALUE;
  for (int i = 0; i < 4; i++)
    if (parse_hex16(s + tag + 16 * i, &w[i]) != 0) return LT_EVALUE;
  const char *p = s + tag + 64;
  if (p[0] != ':' || (p[1] != '0' && p[1] != '1') || p[2] != ':' || parse_hex16(p + 3, &spare) != 0)
    return LT_EVALUE;
  if ((w[0] | w[1] | w[2] | w[3]) == 0) return LT_EVALUE;
  memcpy(r->s, w, sizeof w);
  memcpy(&r->spare, &spare, sizeof spare);
  r->has_spare = p[1] == '1';
  return LT_OK;
}

/* ---- fill kernels ---------------------------------------------------------- */

/* [0, 1) from the top 24 bits: exact in float32. */
/* 24 bits is all a float32 mantissa holds, so every value is exact in float32 and each element
 * costs one draw whatever the dtype. */
static double uniform24(LtRng *r) { return (double)(lt_rng_next(r) >> 40) * 0x1.0p-24; }

static double half_value(uint16_t h, LtDtype dt) {
  return dt == LT_F16 ? lt_f16_to_f32(h) : lt_bf16_to_f32(h);
}

/* The next half/bfloat16 bit pattern towards -infinity (hi is finite). */
static uint16_t half_step_down(uint16_t h) {
  /* +0 and -0 step to the smallest negative subnormal; otherwise sign-magnitude encoding means a
   * negative pattern grows and a positive one shrinks. */
  if ((h & 0x7fff) == 0) return 0x8001;
  return (h & 0x8000) ? (uint16_t)(h + 1) : (uint16_t)(h - 1);
}

/* The largest value of float dtype dt strictly below hi. */
static double largest_below(double hi, LtDtype dt) {
  if (dt == LT_F64) return nextafter(hi, -INFINITY);
  if (dt == LT_F32) {
    /* (float)hi may round up to or above hi: step down until strictly below. */
    float h = (float)hi;
    while ((double)h >= hi) h = nextafterf(h, -INFINITY);
    return h;
  }
  uint16_t h = dt == LT_F16 ? lt_f32_to_f16((float)hi) : lt_f32_to_bf16((float)hi);
  while (half_value(h, dt) >= hi) h = half_step_down(h);
  return half_value(h, dt);
}

/* Parameters of one fill: r the generator, a and b the offset and scale (lo and hi - lo, or mean
 * and std, or p), top the largest value allowed (uniform), dt the dtype written. */
typedef struct {
  LtRng *r;
  double a, b, top;
  LtDtype dt;
} FillCtx;

/* Run kernel of lt_random_uniform: one draw per element, in run order. */
static void uniform_run(char **p, const int64_t *sb, int64_t n, void *ctx) {
  FillCtx *c = ctx;
  char *q = p[0];
  /* float64 and float32 have typed loops; the half types round through lt_set_f64 and are then
   * read back, because only the rounded value can be compared with top. */
  if (c->dt == LT_F64) {
    for (int64_t i = 0; i < n; i++) {
      double v = c->a + c->b * lt_rng_uniform(c->r);
      *(double *)(q + i * sb[0]) = v > c->top ? c->top : v;
    }
  } else if (c->dt == LT_F32) {
    for (int64_t i = 0; i < n; i++) {
      float v = (float)(c->a + c->b * uniform24(c->r));
      *(float *)(q + i * sb[0]) = (double)v > c->top ? (float)c->top : v;
    }
  } else {
    for (int64_t i = 0; i < n; i++) {
      char *e = q + i * sb[0];
      lt_set_f64(e, c->dt, c->a + c->b * uniform24(c->r));
      if (lt_get_f64(e, c->dt) > c->top) lt_set_f64(e, c->dt, c->top);
    }
  }
}

LtStatus lt_random_uniform(LtRng *r, Tensor *t, double lo, double hi) {
  if (!lt_dtype_is_float(t->dtype)) return LT_EDTYPE;
  if (!isfinite(lo) || !isfinite(hi) || hi < lo || !isfinite(hi - lo)) return LT_EVALUE;
  FillCtx c = {r, lo, hi - lo, hi, t->dtype};
  if (hi > lo) {
    c.top = largest_below(hi, t->dtype);
    /* A span narrower than one step of the dtype; fall back to rounding, which may give hi. */
    if (c.top < lo) c.top = hi; /* no value of the dtype lies in [lo, hi): round to nearest */
  }
  /* Serial on purpose (lt_foreach_run): the draws follow row-major order, so a seed gives the
   * same tensor whatever the thread count or strides. */
  Tensor *ts[1] = {t};
  return lt_foreach_run(1, ts, uniform_run, &c);
}

static void normal_run(char **p, const int64_t *sb, int64_t n, void *ctx) {
  FillCtx *c = ctx;
  for (int64_t i = 0; i < n; i++) {
    double v = c->a + c->b * lt_rng_normal(c->r);
    char *e = p[0] + i * sb[0];
    if (c->dt == LT_F64)
      *(double *)e = v;
    else if (c->dt == LT_F32)
      *(float *)e = (float)v;
    else
      lt_set_f64(e, c->dt, v);
  }
}

LtStatus lt_random_normal(LtRng *r, Tensor *t, double mean, double std) {
  if (!lt_dtype_is_float(t->dtype)) return LT_EDTYPE;
  if (!isfinite(mean) || !isfinite(std) || std < 0) return LT_EVALUE;
  FillCtx c = {r, mean, std, 0, t->dtype};
  Tensor *ts[1] = {t};
  return lt_foreach_run(1, ts, normal_run, &c);
}

typedef struct {
  LtRng *r;
  int64_t lo;
  uint64_t span;
  LtDtype dt;
} IntCtx;

/* Run kernel of lt_random_integers: lo + an unbiased draw below span, per element. */
static void integers_run(char **p, const int64_t *sb, int64_t n, void *ctx) {
  IntCtx *c = ctx;
  for (int64_t i = 0; i < n; i++) {
    /* span 0 encodes the full 2^64 range: every raw draw is valid. The sum wraps through uint64
     * so that lo + d never overflows a signed type. */
    uint64_t d = c->span ? lt_rng_below(c->r, c->span) : lt_rng_next(c->r);
    int64_t v = (int64_t)((uint64_t)c->lo + d);
    char *e = p[0] + i * sb[0];
    if (c->dt == LT_I64)
      *(int64_t *)e = v;
    else if (lt_dtype_is_float(c->dt))
      lt_set_f64(e, c->dt, (double)v);
    else
      lt_set_i64(e, c->dt, v);
  }
}

LtStatus lt_random_integers(LtRng *r, Tensor *t, int64_t lo, int64_t hi) {
  if (hi < lo) return LT_EVALUE;
  /* span 0 stands for the whole 2^64 range */
  IntCtx c = {r, lo, (uint64_t)hi - (uint64_t)lo + 1, t->dtype};
  Tensor *ts[1] = {t};
  return lt_foreach_run(1, ts, integers_run, &c);
}

/* Writes 0 or 1 into an element of any dtype. */
static void put_bit(char *e, LtDtype dt, int bit) {
  if (dt == LT_BOOL || dt == LT_U8)
    *(uint8_t *)e = (uint8_t)bit;
  else
    lt_set_f64(e, dt, bit);
}

static void bernoulli_run(char **p, const int64_t *sb, int64_t n, void *ctx) {
  FillCtx *c = ctx;
  for (int64_t i = 0; i < n; i++) put_bit(p[0] + i * sb[0], c->dt, lt_rng_uniform(c->r) < c->a);
}

LtStatus lt_random_bernoulli(LtRng *r, Tensor *t, double p) {
  /* Written so that NaN fails too. */
  if (!(p >= 0 && p <= 1)) return LT_EVALUE;
  FillCtx c = {r, p, 0, 0, t->dtype};
  Tensor *ts[1] = {t};
  return lt_foreach_run(1, ts, bernoulli_run, &c);
}

typedef struct {
  LtRng *r;
  LtDtype dt, pdt;
} ProbCtx;

static void bernoulli_probs_run(char **p, const int64_t *sb, int64_t n, void *ctx) {
  ProbCtx *c = ctx;
  for (int64_t i = 0; i < n; i++) {
    double pr = lt_get_f64(p[1] + i * sb[1], c->pdt);
    put_bit(p[0] + i * sb[0], c->dt, lt_rng_uniform(c->r) < pr);
  }
}

LtStatus lt_random_bernoulli_probs(LtRng *r, Tensor *t, const Tensor *p) {
  /* No broadcasting here: the binding expands p to t's shape first. */
  if (p->ndim != t->ndim) return LT_ESHAPE;
  for (int i = 0; i < t->ndim; i++)
    if (p->shape[i] != t->shape[i]) return LT_ESHAPE;
  ProbCtx c = {r, t->dtype, p->dtype};
  Tensor *ts[2] = {t, (Tensor *)p};
  return lt_foreach_run(2, ts, bernoulli_probs_run, &c);
}

typedef struct {
  int64_t pos, bad;
  double value;
  LtDtype dt;
} CheckCtx;

static void check_probs_run(char **p, const int64_t *sb, int64_t n, void *ctx) {
  CheckCtx *c = ctx;
  /* c->pos counts elements across runs, so the position reported is row-major over all of p;
   * after the first bad value the remaining runs are skipped. */
  for (int64_t i = 0; i < n && c->bad < 0; i++, c->pos++) {
    double v = lt_get_f64(p[0] + i * sb[0], c->dt);
    if (!(v >= 0 && v <= 1)) {
      c->bad = c->pos;
      c->value = v;
    }
  }
}

LtStatus lt_random_check_probs(const Tensor *p, int64_t *bad, double *value) {
  CheckCtx c = {0, -1, 0, p->dtype};
  Tensor *ts[1] = {(Tensor *)p};
  LtStatus st = lt_foreach_run(1, ts, check_probs_run, &c);
  if (st != LT_OK) return st;
  if (c.bad < 0) return LT_OK;
  *bad = c.bad;
  *value = c.value;
  return LT_EVALUE;
}

/* ---- index sampling -------------------------------------------------------- */

/* Position j in [i, n) for step i of a forward Fisher-Yates shuffle; the
 * last step draws nothing. */
static int64_t fy_pick(LtRng *r, int64_t i, int64_t n) {
  /* The last step has one candidate: skipping its draw keeps the draw count at n - 1 (and
   * lt_random_sample in step with lt_random_permutation). */
  return n - i > 1 ? i + (int64_t)lt_rng_below(r, (uint64_t)(n - i)) : i;
}

void lt_random_permutation(LtRng *r, int64_t *out, int64_t n) {
  for (int64_t i = 0; i < n; i++) out[i] = i;
  for (int64_t i = 0; i < n; i++) {
    int64_t j = fy_pick(r, i, n), v = out[j];
    out[j] = out[i];
    out[i] = v;
  }
}

/* The virtual array a[i] = i of a partial Fisher-Yates shuffle, storing only
 * the entries that moved: open addressing, linear probing, key -1 = empty. */
typedef struct {
  int64_t *keys, *vals;
  uint64_t mask;
  int shift;
} SwapMap;

/* Table size 2^bits >= 2k (at least 16): at most k keys are ever stored, so the load stays under
 * one half and linear probing stays short. */
static int map_bits(int64_t k) {
  int bits = 4;
  while (((uint64_t)1 << bits) < 2 * (uint64_t)k) bits++;
  return bits;
}

static uint64_t map_find(const SwapMap *m, int64_t key) {
  /* Fibonacci hashing: multiply by 2^64/phi and keep the top bits, which spreads consecutive
   * keys (Fisher-Yates positions are consecutive) across the table. */
  uint64_t h = ((uint64_t)key * 0x9e3779b97f4a7c15ULL) >> m->shift;
  while (m->keys[h] != -1 && m->keys[h] != key) h = (h + 1) & m->mask;
  return h;
}

static int64_t map_get(const SwapMap *m, int64_t key) {
  uint64_t h = map_find(m, key);
  return m->keys[h] == -1 ? key : m->vals[h];
}

static void map_set(SwapMap *m, int64_t key, int64_t val) {
  uint64_t h = map_find(m, key);
  m->keys[h] = key;
  m->vals[h] = val;
}

size_t lt_random_sample_scratch(int64_t n, int64_t k) {
  uint64_t slots = (uint64_t)1 << map_bits(k);
  /* When n is at most the map's size, the plain array is no bigger and faster. */
  if ((uint64_t)n <= 2 * slots) return (size_t)n * sizeof(int64_t);
  return (size_t)slots * 2 * sizeof(int64_t);
}

void lt_random_sample(LtRng *r, int64_t *out, int64_t n, int64_t k, void *scratch) {
  int bits = map_bits(k);
  uint64_t slots = (uint64_t)1 << bits;
  if ((uint64_t)n <= 2 * slots) { /* dense: the same steps on a real array */
    int64_t *a = scratch;
    for (int64_t i = 0; i < n; i++) a[i] = i;
    for (int64_t i = 0; i < k; i++) {
      int64_t j = fy_pick(r, i, n);
      out[i] = a[j];
      a[j] = a[i];
    }
    return;
  }
  /* Sparse: the same swaps, on a map that holds only the positions that moved. */
  SwapMap m = {scratch, (int64_t *)scratch + slots, slots - 1, 64 - bits};
  for (uint64_t s = 0; s < slots; s++) m.keys[s] = -1;
  for (int64_t i = 0; i < k; i++) {
    /* Read both before writing: j may equal i. */
    int64_t j = fy_pick(r, i, n), vj = map_get(&m, j);
    map_set(&m, j, map_get(&m, i));
    out[i] = vj;
  }
}

void lt_random_sample_replace(LtRng *r, int64_t *out, int64_t n, int64_t k) {
  for (int64_t i = 0; i < k; i++) out[i] = (int64_t)lt_rng_below(r, (uint64_t)n);
}

static double weight_at(const Tensor *w, int64_t i) {
  return lt_get_f64((const char *)w->data + i * w->stride[0] * (int64_t)lt_dtype_size(w->dtype),
                    w->dtype);
}

LtStatus lt_random_check_weights(const Tensor *w, LtWeights *info) {
  info->total = 0;
  info->positive = 0;
  info->bad = -1;
  info->bad_value = 0;
  for (int64_t i = 0; i < w->shape[0]; i++) {
    double v = weight_at(w, i);
    /* Written so that NaN fails too (it is not >= 0). */
    if (!(v >= 0) || isinf(v)) {
      info->bad = i;
      info->bad_value = v;
      return isinf(v) ? LT_ERANGE : LT_EVALUE;
    }
    info->total += v;
    info->positive += v > 0;
  }
  return isfinite(info->total) ? LT_OK : LT_ERANGE;
}

void lt_random_weighted_replace(LtRng *r, int64_t *out, int64_t k, const Tensor *w, double *cum) {
  int64_t n = w->shape[0], last = 0;
  double s = 0;
  /* Running sums in w's order; last remembers the last positive weight, where a draw lands if
   * rounding makes u reach the total. */
  for (int64_t i = 0; i < n; i++) {
    double v = weight_at(w, i);
    s += v;
    cum[i] = s;
    if (v > 0) last = i;
  }
  for (int64_t t = 0; t < k; t++) {
    double u = lt_rng_uniform(r) * s;
    int64_t lo = 0, hi = n; /* first i with cum[i] > u: zero weights never qualify */
    while (lo < hi) {
      int64_t mid = lo + (hi - lo) / 2;
      if (cum[mid] > u)
        hi = mid;
      else
        lo = mid + 1;
    }
    out[t] = lo < n ? lo : last; /* u rounded up to s */
  }
}

/* Min-heap of (key, index) pairs ordered by key, kept in two parallel arrays: sift-down. */
static void heap_sift_down(double *key, int64_t *idx, int64_t size, int64_t i) {
  for (;;) {
    int64_t l = 2 * i + 1, m = i;
    if (l < size && key[l] < key[m]) m = l;
    if (l + 1 < size && key[l + 1] < key[m]) m = l + 1;
    if (m == i) return;
    double tk = key[i];
    key[i] = key[m];
    key[m] = tk;
    int64_t ti = idx[i];
    idx[i] = idx[m];
    idx[m] = ti;
    i = m;
  }
}

/* Sift-up insertion: parents larger than k move down, then k takes the hole. */
static void heap_push(double *key, int64_t *idx, int64_t *size, double k, int64_t v) {
  int64_t i = (*size)++;
  while (i > 0 && key[(i - 1) / 2] > k) {
    key[i] = key[(i - 1) / 2];
    idx[i] = idx[(i - 1) / 2];
    i = (i - 1) / 2;
  }
  key[i] = k;
  idx[i] = v;
}

/* (0, 1): never 0, so its logarithm is finite. */
static double uniform_open(LtRng *r) { return ((double)(lt_rng_next(r) >> 11) + 0.5) * 0x1.0p-53; }

void lt_random_weighted_sample(LtRng *r, int64_t *out, int64_t k, const Tensor *w, void *scratch) {
  if (k <= 0) return;
  double *key = scratch;
  int64_t *idx = (int64_t *)(key + k), size = 0;
  /* The heap holds the k largest keys seen so far with the smallest on top, so a new key only
   * has to beat key[0] to enter. */
  for (int64_t i = 0; i < w->shape[0]; i++) {
    double u = uniform_open(r), wi = weight_at(w, i);
    if (!(wi > 0)) continue;
    double kv = log(u) / wi; /* log of the key u^(1/w): same order */
    if (size < k)
      heap_push(key, idx, &size, kv, i);
    else if (kv > key[0]) {
      key[0] = kv;
      idx[0] = i;
      heap_sift_down(key, idx, size, 0);
    }
  }
  for (int64_t s = size; s > 0; s--) { /* pop smallest keys to the back: largest first */
    out[s - 1] = idx[0];
    key[0] = key[s - 1];
    idx[0] = idx[s - 1];
    heap_sift_down(key, idx, s - 1, 0);
  }
}
