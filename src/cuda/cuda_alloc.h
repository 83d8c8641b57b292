/* cuda_alloc.h - the caching allocator for device memory, plain C: size-class rounding, free
 * lists per stream, statistics, empty_cache and a retry after an out-of-memory (no CUDA here). */
#ifndef LUNETTE_CUDA_ALLOC_H
#define LUNETTE_CUDA_ALLOC_H
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#ifdef __cplusplus
extern "C" { /* the CUDA backend (C++) calls these C functions */
#endif

/* Why a cache: cudaMalloc and cudaFree synchronise the device and cost tens of microseconds
 * to milliseconds each; a training step allocates hundreds of temporaries of the same sizes
 * every batch. Freed blocks are kept and handed out again, so after the first batch a step
 * makes no device allocation at all (PyTorch's CUDACachingAllocator does the same).
 * Why no CUDA in this file: the allocator's bookkeeping is tested on any machine against a
 * fake device allocator (tests/cuda_alloc_test.c); the backend passes cudaMalloc/cudaFree. */

/* The device's allocator: dev_malloc returns NULL when the device is out of memory (it must
 * not abort); dev_free gives a block dev_malloc returned back. ctx is passed through. */
typedef struct {
  void *(*dev_malloc)(void *ctx, size_t nbytes);
  void (*dev_free)(void *ctx, void *p);
  void *ctx;
} LtDevAllocFns;

/* Counters since lt_cache_init (bytes are rounded block sizes). in_use: bytes handed out and
 * not yet freed; reserved: bytes held from the device (in use + cached); cached = reserved -
 * in_use; requested: the callers' own sizes in use (before rounding). */
typedef struct {
  size_t in_use, reserved, requested, peak_in_use, peak_reserved;
  int64_t n_alloc, n_free, n_hits, n_dev_malloc, n_dev_free, n_oom_retries, n_oom;
  int64_t n_blocks_cached;
} LtCacheStats;

/* Free lists are kept per stream: a block freed on stream S is reused by S only, so the
 * device's stream order makes reuse safe without an event per block. A cache serves at most
 * LT_CACHE_MAX_STREAMS streams; past that, blocks of further streams are not cached. */
#define LT_CACHE_MAX_STREAMS 8
/* Bins are powers of two of the rounded size: bin b holds blocks of [2^b, 2^(b+1)) bytes. */
#define LT_CACHE_NBINS 64

typedef struct LtCacheBlock LtCacheBlock;

/* One device's cache. Fields are private: use the functions below. */
typedef struct {
  LtDevAllocFns fns;
  pthread_mutex_t lock;
  const void *streams[LT_CACHE_MAX_STREAMS];
  int nstreams;
  /* free blocks, per stream and bin */
  LtCacheBlock *bins[LT_CACHE_MAX_STREAMS][LT_CACHE_NBINS];
  /* live blocks: a chained hash table from device pointer to block */
  LtCacheBlock **live;
  size_t live_cap, live_n;
  LtCacheStats st;
} LtCache;

/* Size classes: below 1 MiB, multiples of 512 bytes (cuBLAS and our kernels want 256-byte
 * alignment, cudaMalloc gives more); from 1 MiB, multiples of 2 MiB, which keeps the number of
 * distinct sizes small so that freed blocks fit later requests. 0 rounds to 512. Returns 0 when
 * the rounding would overflow. */
size_t lt_cache_round(size_t nbytes);

/* Starts an empty cache over fns. Returns 0, or -1 when the mutex cannot be made. */
int lt_cache_init(LtCache *c, LtDevAllocFns fns);
/* Gives every block back to the device (cached ones and, if any, blocks still in use: the
 * caller is finished with the device) and frees the bookkeeping. c can be inited again. */
void lt_cache_destroy(LtCache *c);

/* A block of at least nbytes for use on `stream` (an opaque handle; NULL is the default
 * stream). Serves a cached block of the same stream when one fits (the smallest that fits,
 * at most a quarter larger than the rounded size, so a small request never pins a huge
 * block); otherwise asks the device; if the device is out of memory, gives every cached
 * block of every stream back to the device and asks once more. Returns NULL when the device
 * is still out of memory (n_oom counts it) or nbytes cannot be rounded. Thread-safe. */
void *lt_cache_alloc(LtCache *c, size_t nbytes, const void *stream);
/* Returns p (from lt_cache_alloc on this cache) to its stream's free list; the device memory
 * is kept. Returns 0, or -1 when p is not a live block of this cache (nothing changes). */
int lt_cache_free(LtCache *c, void *p);
/* Gives every cached (free) block back to the device; blocks in use stay. Returns the bytes
 * released. */
size_t lt_cache_empty(LtCache *c);
/* A snapshot of the counters. */
LtCacheStats lt_cache_stats(LtCache *c);
/* The rounded size of the live block p, or 0 when p is not one. */
size_t lt_cache_block_size(LtCache *c, const void *p);
#ifdef __cplusplus
}
#endif
#endif
