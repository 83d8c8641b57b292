/* random.c - xoshiro256** (Blackman & Vigna) with splitmix64 seeding (core, no Lua). */
#include <math.h>
#include "random.h"

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
  uint64_t *s = r->s, result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
  s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3];
  s[2] ^= t; s[3] = rotl(s[3], 45);
  return result;
}

double lt_rng_uniform(LtRng *r) { return (double)(lt_rng_next(r) >> 11) * 0x1.0p-53; }

double lt_rng_normal(LtRng *r) {
  if (r->has_spare) { r->has_spare = 0; return r->spare; }
  double u, v, s;
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
  unsigned __int128 m = (unsigned __int128)lt_rng_next(r) * n;
  uint64_t lo = (uint64_t)m;
  if (lo < n) {
    uint64_t thresh = (0 - n) % n;
    while (lo < thresh) { m = (unsigned __int128)lt_rng_next(r) * n; lo = (uint64_t)m; }
  }
  return (uint64_t)(m >> 64);
}
