/* random.h - seedable pseudo-random generator and sampling kernels (core, no Lua). */
#ifndef LUNETTE_RANDOM_H
#define LUNETTE_RANDOM_H
#include "tensor.h"

/* xoshiro256** state; seeded through splitmix64 so any 64-bit seed works. */
typedef struct { uint64_t s[4]; double spare; int has_spare; } LtRng;

void lt_rng_seed(LtRng *r, uint64_t seed);
uint64_t lt_rng_next(LtRng *r);
double lt_rng_uniform(LtRng *r);            /* [0, 1) with 53 random bits */
double lt_rng_normal(LtRng *r);             /* standard normal (polar Box-Muller) */
uint64_t lt_rng_below(LtRng *r, uint64_t n); /* uniform in [0, n), unbiased; n > 0 */
#endif
