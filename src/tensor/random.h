/* random.h - seedable pseudo-random generator and sampling kernels (core, no Lua). */
#ifndef LUNETTE_RANDOM_H
#define LUNETTE_RANDOM_H
#include "tensor/tensor.h"

/* xoshiro256** state; seeded through splitmix64 so any 64-bit seed works.
 * `spare` is the second normal of the last Box-Muller pair, handed out by
 * the next lt_rng_normal call; it is part of the state. */
typedef struct {
  uint64_t s[4];
  double spare;
  int has_spare;
} LtRng;

/* Seeds *r (caller-owned, any prior contents) from any 64-bit seed, 0 included, and drops a
 * pending normal. The same seed always gives the same stream. */
void lt_rng_seed(LtRng *r, uint64_t seed);
/* The next 64 random bits; advances the state. */
uint64_t lt_rng_next(LtRng *r);
double lt_rng_uniform(LtRng *r);             /* [0, 1) with 53 random bits */
double lt_rng_normal(LtRng *r);              /* standard normal (polar Box-Muller) */
uint64_t lt_rng_below(LtRng *r, uint64_t n); /* uniform in [0, n), unbiased; n > 0 */

/* ---- state serialisation ------------------------------------------------ */

/* Length of the text form of a state, without the terminating NUL. */
#define LT_RNG_STATE_LEN 96
/* Writes the complete state (including a pending normal) as printable text
 * of exactly LT_RNG_STATE_LEN characters plus a NUL into buf. */
void lt_rng_state_format(const LtRng *r, char buf[LT_RNG_STATE_LEN + 1]);
/* Restores a state written by lt_rng_state_format. Leaves *r untouched and
 * returns LT_EVALUE if s (len bytes) is not such a string or holds the
 * all-zero xoshiro state (which would only ever produce zeros). */
LtStatus lt_rng_state_parse(LtRng *r, const char *s, size_t len);

/* ---- fill kernels ---------------------------------------------------------
 * Each fills every element of the caller-owned tensor t (any shape and
 * strides) in row-major order, drawing from r sequentially, so a seed gives
 * the same numbers whatever the thread count or memory layout. They return
 * LT_OK, LT_EDTYPE for a dtype they do not write, LT_EVALUE for parameters
 * the bindings should have rejected, or LT_EINTR (t then partly filled). */

/* Uniform in [lo, hi) for a float t (f32/f16/bf16 from 24 random bits, f64
 * from 53). Values that round up to hi are lowered to the largest value of
 * the dtype below hi, so no element equals hi. lo == hi fills lo. Needs
 * finite lo <= hi with a finite hi - lo. */
LtStatus lt_random_uniform(LtRng *r, Tensor *t, double lo, double hi);
/* Normal(mean, std) for a float t, computed in double then rounded. Needs
 * finite mean and a finite std >= 0. */
LtStatus lt_random_normal(LtRng *r, Tensor *t, double mean, double std);
/* Integers uniform in [lo, hi] (both ends included, lo <= hi, any span up
 * to the full int64 range), written to t of any dtype; the caller makes
 * sure both ends are representable in t's dtype. */
LtStatus lt_random_integers(LtRng *r, Tensor *t, int64_t lo, int64_t hi);
/* 1 with probability p, else 0 (0 <= p <= 1), into t of any dtype. */
LtStatus lt_random_bernoulli(LtRng *r, Tensor *t, double p);
/* Elementwise: t[i] = 1 with probability p[i]; p has t's shape (expand it
 * first to broadcast) and holds values in [0, 1] (lt_random_check_probs). */
LtStatus lt_random_bernoulli_probs(LtRng *r, Tensor *t, const Tensor *p);

/* Checks every element of p (any dtype) lies in [0, 1]. Returns LT_EVALUE
 * and sets *bad (0-based row-major position) and *value at the first NaN or
 * out-of-range element. */
LtStatus lt_random_check_probs(const Tensor *p, int64_t *bad, double *value);

/* ---- index sampling (0-based results) ---------------------------------- */

/* out[0..n) = a uniformly random permutation of 0..n-1 (Fisher-Yates). */
void lt_random_permutation(LtRng *r, int64_t *out, int64_t n);
/* Bytes of scratch lt_random_sample needs for k of n (k <= n): the
 * smaller of a dense n-array and a hash map of about 4k slots. */
size_t lt_random_sample_scratch(int64_t n, int64_t k);
/* out[0..k) = k distinct values of 0..n-1 in uniformly random order
 * (partial Fisher-Yates: O(k) time; memory O(min(n, k)) from scratch, at
 * least lt_random_sample_scratch(n, k) bytes, 8-aligned). The first k
 * entries of lt_random_permutation(n) from the same state are the same. */
void lt_random_sample(LtRng *r, int64_t *out, int64_t n, int64_t k, void *scratch);
/* out[0..k) = independent uniform draws from 0..n-1 (n > 0 unless k == 0). */
void lt_random_sample_replace(LtRng *r, int64_t *out, int64_t n, int64_t k);

/* Facts about a weight vector, filled by lt_random_check_weights. */
typedef struct {
  double total;
  int64_t positive;
  int64_t bad;
  double bad_value;
} LtWeights;
/* Checks the 1-d weight tensor w (any dtype): every weight finite and
 * >= 0 and a finite total. Returns LT_EVALUE (negative or NaN weight) or
 * LT_ERANGE (infinite weight, or total overflow with bad = -1), with the
 * 0-based position and value in info; on success fills total and the
 * count of positive weights. */
LtStatus lt_random_check_weights(const Tensor *w, LtWeights *info);
/* out[0..k) = independent draws of index i with probability w[i] / total
 * (cumulative sums + binary search; zero weights are never drawn). w has
 * passed lt_random_check_weights with a positive total; cum is scratch of
 * w->shape[0] doubles. */
void lt_random_weighted_replace(LtRng *r, int64_t *out, int64_t k, const Tensor *w, double *cum);
/* out[0..k) = k distinct indices drawn without replacement with
 * probability proportional to w, in the order successive draws would
 * produce them (Efraimidis-Spirakis keys u^(1/w), top k by a heap).
 * Needs k <= the number of positive weights; scratch holds k doubles and
 * k int64 (16k bytes, 8-aligned). One draw per element of w. */
void lt_random_weighted_sample(LtRng *r, int64_t *out, int64_t k, const Tensor *w, void *scratch);
#endif
