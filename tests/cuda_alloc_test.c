/* cuda_alloc_test.c - the caching allocator (src/cuda/cuda_alloc.c) against a fake device
 * allocator backed by malloc that counts its calls and can be told to run out of memory.
 * Usage: cuda_alloc_test CASE; exits 0 when CASE holds, else prints why and exits 1.
 * Run by tests/cuda_spec.lua, one `it` per case. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cuda/cuda_alloc.h"

/* The fake device: a capacity in bytes, what is allocated now, and call counts. */
typedef struct {
  size_t capacity, used;
  int mallocs, frees;
} FakeDevice;

/* Each allocation carries its size in a header so that the fake can account frees. */
static void *fake_malloc(void *ctx, size_t n) {
  FakeDevice *d = ctx;
  if (d->used + n > d->capacity) return NULL;
  size_t *p = malloc(n + 16);
  if (!p) return NULL;
  p[0] = n;
  d->used += n;
  d->mallocs++;
  return (char *)p + 16;
}

static void fake_free(void *ctx, void *p) {
  FakeDevice *d = ctx;
  size_t *h = (size_t *)((char *)p - 16);
  d->used -= h[0];
  d->frees++;
  free(h);
}

static int failures;
#define CHECK(cond)                                                              \
  do {                                                                           \
    if (!(cond)) {                                                               \
      printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);                     \
      failures++;                                                                \
    }                                                                            \
  } while (0)

static LtCache cache;
static FakeDevice dev;

static void setup(size_t capacity) {
  memset(&dev, 0, sizeof dev);
  dev.capacity = capacity;
  LtDevAllocFns fns = {fake_malloc, fake_free, &dev};
  if (lt_cache_init(&cache, fns)) {
    printf("FAIL lt_cache_init\n");
    exit(1);
  }
}

/* A training-step-like loop: the same sizes every step reach the device only in step 1. */
static void case_reuse(void) {
  setup((size_t)1 << 30);
  static const size_t sizes[] = {4096, 100000, 3 << 20, 777, 4096};
  void *p[5];
  for (int step = 0; step < 50; step++) {
    for (int i = 0; i < 5; i++) p[i] = lt_cache_alloc(&cache, sizes[i], NULL);
    for (int i = 0; i < 5; i++) CHECK(p[i] != NULL);
    for (int i = 4; i >= 0; i--) CHECK(lt_cache_free(&cache, p[i]) == 0);
  }
  LtCacheStats s = lt_cache_stats(&cache);
  CHECK(dev.mallocs == 5);
  CHECK(s.n_dev_malloc == 5);
  CHECK(s.n_alloc == 250);
  CHECK(s.n_hits == 245);
  CHECK(dev.frees == 0);
  lt_cache_destroy(&cache);
  CHECK(dev.frees == 5);
  CHECK(dev.used == 0);
}

/* in_use, reserved, requested and the peaks after a known sequence. */
static void case_bookkeeping(void) {
  setup((size_t)1 << 30);
  void *a = lt_cache_alloc(&cache, 1000, NULL);         /* rounds to 1024 */
  void *b = lt_cache_alloc(&cache, (3 << 20) + 1, NULL); /* rounds to 4 MiB */
  LtCacheStats s = lt_cache_stats(&cache);
  CHECK(s.in_use == 1024 + (4 << 20));
  CHECK(s.reserved == s.in_use);
  CHECK(s.requested == 1000 + (3 << 20) + 1);
  CHECK(lt_cache_block_size(&cache, b) == (size_t)4 << 20);
  CHECK(dev.used == s.reserved);
  lt_cache_free(&cache, b);
  s = lt_cache_stats(&cache);
  CHECK(s.in_use == 1024);
  CHECK(s.reserved == 1024 + (4 << 20));
  CHECK(s.requested == 1000);
  CHECK(s.peak_in_use == 1024 + (4 << 20));
  CHECK(s.n_blocks_cached == 1);
  CHECK(lt_cache_empty(&cache) == (size_t)4 << 20);
  s = lt_cache_stats(&cache);
  CHECK(s.reserved == 1024);
  CHECK(s.n_blocks_cached == 0);
  CHECK(dev.used == 1024);
  CHECK(lt_cache_block_size(&cache, a) == 1024);
  lt_cache_free(&cache, a);
  lt_cache_destroy(&cache);
  CHECK(dev.used == 0);
}

/* A block freed on one stream is not handed to another; each stream reuses its own. */
static void case_streams(void) {
  setup((size_t)1 << 30);
  int s1, s2;
  void *a = lt_cache_alloc(&cache, 8192, &s1);
  lt_cache_free(&cache, a);
  void *b = lt_cache_alloc(&cache, 8192, &s2);
  CHECK(b != a);
  CHECK(dev.mallocs == 2);
  void *c = lt_cache_alloc(&cache, 8192, &s1);
  CHECK(c == a);
  CHECK(dev.mallocs == 2);
  lt_cache_free(&cache, b);
  lt_cache_free(&cache, c);
  lt_cache_destroy(&cache);
  CHECK(dev.used == 0);
}

/* Out of device memory with blocks cached: the cache is emptied and the request retried. */
static void case_oom_retry(void) {
  setup((size_t)10 << 20);
  void *a = lt_cache_alloc(&cache, (size_t)6 << 20, NULL);
  CHECK(a != NULL);
  lt_cache_free(&cache, a); /* 6 MiB cached, device has 4 MiB left */
  void *b = lt_cache_alloc(&cache, (size_t)8 << 20, NULL);
  CHECK(b != NULL);
  LtCacheStats s = lt_cache_stats(&cache);
  CHECK(s.n_oom_retries == 1);
  CHECK(s.n_oom == 0);
  CHECK(dev.frees == 1);
  CHECK(s.reserved == (size_t)8 << 20);
  /* Nothing cached to give back: a true OOM is reported as NULL, and counted. */
  void *c = lt_cache_alloc(&cache, (size_t)4 << 20, NULL);
  CHECK(c == NULL);
  s = lt_cache_stats(&cache);
  CHECK(s.n_oom == 1);
  CHECK(s.n_oom_retries == 1);
  CHECK(s.in_use == (size_t)8 << 20);
  lt_cache_free(&cache, b);
  lt_cache_destroy(&cache);
  CHECK(dev.used == 0);
}

/* Size classes, the bound on handing out a larger cached block, and foreign pointers. */
static void case_rounding(void) {
  CHECK(lt_cache_round(0) == 512);
  CHECK(lt_cache_round(1) == 512);
  CHECK(lt_cache_round(512) == 512);
  CHECK(lt_cache_round(513) == 1024);
  CHECK(lt_cache_round((size_t)1 << 20) == (size_t)2 << 20);
  CHECK(lt_cache_round(((size_t)2 << 20) + 1) == (size_t)4 << 20);
  CHECK(lt_cache_round(SIZE_MAX) == 0);
  setup((size_t)1 << 30);
  void *big = lt_cache_alloc(&cache, (size_t)64 << 20, NULL);
  lt_cache_free(&cache, big);
  /* 2 MiB must not take the cached 64 MiB block (more than a quarter larger). */
  void *small = lt_cache_alloc(&cache, (size_t)2 << 20, NULL);
  CHECK(small != big);
  CHECK(dev.mallocs == 2);
  /* 60 MiB rounds to 60 MiB: 64 is within a quarter, so the cached block serves it. */
  void *near = lt_cache_alloc(&cache, (size_t)60 << 20, NULL);
  CHECK(near == big);
  CHECK(dev.mallocs == 2);
  int x;
  CHECK(lt_cache_free(&cache, &x) == -1);
  CHECK(lt_cache_free(&cache, near) == 0);
  CHECK(lt_cache_free(&cache, near) == -1); /* a double free is refused, not counted */
  CHECK(lt_cache_stats(&cache).n_free == 2);
  CHECK(lt_cache_alloc(&cache, SIZE_MAX, NULL) == NULL);
  lt_cache_free(&cache, small);
  lt_cache_destroy(&cache);
  CHECK(dev.used == 0);
}

/* Many live blocks at once: the pointer table grows and every block is found again. */
static void case_many(void) {
  setup((size_t)1 << 34);
  enum { N = 5000 };
  static void *p[N];
  for (int i = 0; i < N; i++) p[i] = lt_cache_alloc(&cache, (size_t)(i % 97 + 1) * 512, NULL);
  for (int i = 0; i < N; i++)
    CHECK(lt_cache_block_size(&cache, p[i]) == (size_t)(i % 97 + 1) * 512);
  for (int i = 0; i < N; i += 2) CHECK(lt_cache_free(&cache, p[i]) == 0);
  for (int i = 1; i < N; i += 2) CHECK(lt_cache_free(&cache, p[i]) == 0);
  LtCacheStats s = lt_cache_stats(&cache);
  CHECK(s.in_use == 0);
  CHECK(s.n_blocks_cached == N);
  lt_cache_destroy(&cache);
  CHECK(dev.used == 0);
  CHECK(dev.frees == N);
}

int main(int argc, char **argv) {
  static const struct {
    const char *name;
    void (*fn)(void);
  } cases[] = {{"reuse", case_reuse},       {"bookkeeping", case_bookkeeping},
               {"streams", case_streams},   {"oom_retry", case_oom_retry},
               {"rounding", case_rounding}, {"many", case_many}};
  if (argc != 2) {
    fprintf(stderr, "usage: cuda_alloc_test CASE\n");
    return 2;
  }
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    if (strcmp(argv[1], cases[i].name)) continue;
    cases[i].fn();
    if (!failures) printf("ok %s\n", argv[1]);
    return failures ? 1 : 0;
  }
  fprintf(stderr, "cuda_alloc_test: unknown case %s\n", argv[1]);
  return 2;
}
