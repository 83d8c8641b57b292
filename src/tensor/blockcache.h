/* blockcache.h - a bounded cache of large freed blocks, handed back for later requests that fit
 * in them so that their pages stay mapped (no page faults, no kernel zeroing per call). */
#ifndef LUNETTE_BLOCKCACHE_H
#define LUNETTE_BLOCKCACHE_H
#include <stddef.h>
#include <stdint.h>

/* Blocks below this size are left to malloc, whose own free lists recycle them. */
#define LT_CACHE_MIN_BLOCK ((size_t)1 << 20)
/* At most this many blocks are held, whatever their bytes. */
#define LT_CACHE_SLOTS 64
/* At most this many blocks larger than asked for are out at once (each is remembered so that
 * its free gives back its true size); past that, only exact sizes are handed out. */
#define LT_CACHE_LENT 256

/* Gives a block of n bytes back to its allocator for good (ctx is the allocator's state). */
typedef void (*LtBlockFree)(void *ctx, void *p, size_t n);

typedef struct {
  void *p;
  size_t n;      /* its size as its allocator knows it */
  uint64_t tick; /* when it was put: the oldest goes first when room is needed */
} LtCachedBlock;

typedef struct {
  void *p;
  size_t n; /* its true size (its user asked for less) */
} LtLentBlock;

/* Zero-initialise, then set cap (bytes; 0 keeps nothing), free_fn and ctx (which give evicted
 * blocks back). The cache owns the blocks it holds and touches nothing in them. */
typedef struct {
  LtCachedBlock slot[LT_CACHE_SLOTS];
  LtLentBlock lent[LT_CACHE_LENT];
  int count, nlent;
  size_t bytes, cap; /* bytes: the sizes of the held blocks, at most cap */
  uint64_t tick;
  uint64_t hits, misses; /* takes served from the cache and not: for tests and benchmarks */
  LtBlockFree free_fn;
  void *ctx;
} LtBlockCache;

/* A held block of at least n bytes (the smallest such, the newest among equals), removed from
 * the cache; a larger one is remembered as lent until lt_cache_true_size sees it again. NULL
 * when there is none (a miss): held blocks smaller than n, up to n bytes of them, are then
 * given back first, so that the fresh block the caller allocates does not sit beside idle ones
 * that could not serve it. A block's bytes are whatever its last user left. */
void *lt_cache_take(LtBlockCache *c, size_t n);
/* The size p's allocator gave it: the true size of a block lt_cache_take handed out larger than
 * asked (forgotten from then on), else n, the size its user knows. Call it for every block
 * being freed or resized before passing its size on. */
size_t lt_cache_true_size(LtBlockCache *c, void *p, size_t n);
/* Keeps block p of n (true) bytes for a later take, evicting the oldest blocks (through
 * free_fn) to stay within cap and LT_CACHE_SLOTS; returns 1 when kept, 0 when the caller must
 * free p itself (n below LT_CACHE_MIN_BLOCK or above cap). */
int lt_cache_put(LtBlockCache *c, void *p, size_t n);
/* Sets cap and evicts the oldest blocks until the held bytes fit it (cap 0 empties it). */
void lt_cache_set_cap(LtBlockCache *c, size_t cap);
#endif
