/* cuda_alloc.c - the caching allocator's bookkeeping (see cuda_alloc.h); no CUDA in here. */
#include "cuda/cuda_alloc.h"
#include <stdlib.h>
#include <string.h>

/* A block held from the device. It sits either in the live hash (handed out) or in one free
 * list (cached), never both, so one `next` link serves both. */
struct LtCacheBlock {
  void *ptr;
  size_t size;      /* rounded size: what the device gave */
  size_t requested; /* the caller's size, for the `requested` counter */
  int stream;       /* index into LtCache.streams, -1 when the stream table was full */
  LtCacheBlock *next;
};

#define SMALL_LIMIT ((size_t)1 << 20)
#define SMALL_STEP ((size_t)512)
#define LARGE_STEP ((size_t)2 << 20)

size_t lt_cache_round(size_t nbytes) {
  size_t step = nbytes < SMALL_LIMIT ? SMALL_STEP : LARGE_STEP;
  if (nbytes == 0) return SMALL_STEP;
  if (nbytes > SIZE_MAX - step) return 0;
  return (nbytes + step - 1) / step * step;
}

/* floor(log2(n)) for n > 0: the bin of a rounded size. */
static int bin_of(size_t n) {
  int b = 0;
  while (n >>= 1) b++;
  return b;
}

/* The hash of a device pointer: the low bits are alignment zeros, so mix them away. */
static size_t hash_ptr(const void *p, size_t cap) {
  uint64_t x = (uint64_t)(uintptr_t)p;
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  return (size_t)(x & (cap - 1));
}

/* Doubles the live table (cap stays a power of two). -1 when out of host memory. */
static int live_grow(LtCache *c) {
  size_t cap = c->live_cap ? c->live_cap * 2 : 256;
  LtCacheBlock **t = calloc(cap, sizeof *t);
  if (!t) return -1;
  for (size_t i = 0; i < c->live_cap; i++) {
    LtCacheBlock *b = c->live[i];
    while (b) {
      LtCacheBlock *nx = b->next;
      size_t h = hash_ptr(b->ptr, cap);
      b->next = t[h];
      t[h] = b;
      b = nx;
    }
  }
  free(c->live);
  c->live = t;
  c->live_cap = cap;
  return 0;
}

static int live_put(LtCache *c, LtCacheBlock *b) {
  if (c->live_n + 1 > c->live_cap / 2 && live_grow(c)) return -1;
  size_t h = hash_ptr(b->ptr, c->live_cap);
  b->next = c->live[h];
  c->live[h] = b;
  c->live_n++;
  return 0;
}

/* Unlinks and returns the live block of p, or NULL. remove = 0 only looks. */
static LtCacheBlock *live_take(LtCache *c, const void *p, int remove) {
  if (!c->live_cap) return NULL;
  LtCacheBlock **pp = &c->live[hash_ptr(p, c->live_cap)];
  for (; *pp; pp = &(*pp)->next) {
    if ((*pp)->ptr != p) continue;
    LtCacheBlock *b = *pp;
    if (remove) {
      *pp = b->next;
      c->live_n--;
    }
    return b;
  }
  return NULL;
}

/* The stream's index, adding it when there is room; -1 when the table is full. */
static int stream_index(LtCache *c, const void *stream) {
  for (int i = 0; i < c->nstreams; i++)
    if (c->streams[i] == stream) return i;
  if (c->nstreams == LT_CACHE_MAX_STREAMS) return -1;
  c->streams[c->nstreams] = stream;
  return c->nstreams++;
}

int lt_cache_init(LtCache *c, LtDevAllocFns fns) {
  memset(c, 0, sizeof *c);
  c->fns = fns;
  return pthread_mutex_init(&c->lock, NULL) ? -1 : 0;
}

/* Hands b's memory back to the device and frees b; the counters follow. Lock held. */
static void give_back(LtCache *c, LtCacheBlock *b) {
  c->fns.dev_free(c->fns.ctx, b->ptr);
  c->st.n_dev_free++;
  c->st.reserved -= b->size;
  free(b);
}

/* Releases every cached block. Lock held. */
static size_t empty_locked(LtCache *c) {
  size_t released = 0;
  for (int s = 0; s < LT_CACHE_MAX_STREAMS; s++) {
    for (int k = 0; k < LT_CACHE_NBINS; k++) {
      LtCacheBlock *b = c->bins[s][k];
      c->bins[s][k] = NULL;
      while (b) {
        LtCacheBlock *nx = b->next;
        released += b->size;
        give_back(c, b);
        b = nx;
      }
    }
  }
  c->st.n_blocks_cached = 0;
  return released;
}

void lt_cache_destroy(LtCache *c) {
  pthread_mutex_lock(&c->lock);
  empty_locked(c);
  for (size_t i = 0; i < c->live_cap; i++) {
    LtCacheBlock *b = c->live[i];
    while (b) {
      LtCacheBlock *nx = b->next;
      give_back(c, b);
      b = nx;
    }
  }
  free(c->live);
  pthread_mutex_unlock(&c->lock);
  pthread_mutex_destroy(&c->lock);
  memset(c, 0, sizeof *c);
}

/* Takes the smallest cached block of stream s with size in [n, n + n/4] out of its list, or
 * returns NULL. Bins hold [2^b, 2^(b+1)), so the search starts at n's bin and stops at the
 * bin of the upper limit. Lock held. */
static LtCacheBlock *take_cached(LtCache *c, int s, size_t n) {
  size_t limit = n + n / 4;
  for (int k = bin_of(n); k <= bin_of(limit) && k < LT_CACHE_NBINS; k++) {
    LtCacheBlock **best = NULL;
    for (LtCacheBlock **pp = &c->bins[s][k]; *pp; pp = &(*pp)->next) {
      size_t sz = (*pp)->size;
      if (sz >= n && sz <= limit && (!best || sz < (*best)->size)) best = pp;
    }
    if (best) {
      LtCacheBlock *b = *best;
      *best = b->next;
      c->st.n_blocks_cached--;
      return b;
    }
  }
  return NULL;
}

/* A fresh block of n bytes from the device, retrying once after emptying the cache. Lock
 * held. NULL when the device (or the host, for the bookkeeping) is out of memory. */
static LtCacheBlock *fresh_block(LtCache *c, size_t n) {
  LtCacheBlock *b = malloc(sizeof *b);
  if (!b) return NULL;
  void *p = c->fns.dev_malloc(c->fns.ctx, n);
  if (!p && c->st.reserved > c->st.in_use) {
    c->st.n_oom_retries++;
    empty_locked(c);
    p = c->fns.dev_malloc(c->fns.ctx, n);
  }
  if (!p) {
    c->st.n_oom++;
    free(b);
    return NULL;
  }
  c->st.n_dev_malloc++;
  c->st.reserved += n;
  if (c->st.reserved > c->st.peak_reserved) c->st.peak_reserved = c->st.reserved;
  b->ptr = p;
  b->size = n;
  return b;
}

void *lt_cache_alloc(LtCache *c, size_t nbytes, const void *stream) {
  size_t n = lt_cache_round(nbytes);
  if (!n) return NULL;
  pthread_mutex_lock(&c->lock);
  int s = stream_index(c, stream);
  LtCacheBlock *b = s >= 0 ? take_cached(c, s, n) : NULL;
  if (b)
    c->st.n_hits++;
  else
    b = fresh_block(c, n);
  if (b) {
    b->stream = s;
    b->requested = nbytes;
    if (live_put(c, b)) {
      /* No host memory for the table: the block goes back to the device. */
      give_back(c, b);
      b = NULL;
    }
  }
  void *p = NULL;
  if (b) {
    p = b->ptr;
    c->st.n_alloc++;
    c->st.in_use += b->size;
    c->st.requested += nbytes;
    if (c->st.in_use > c->st.peak_in_use) c->st.peak_in_use = c->st.in_use;
  }
  pthread_mutex_unlock(&c->lock);
  return p;
}

int lt_cache_free(LtCache *c, void *p) {
  pthread_mutex_lock(&c->lock);
  LtCacheBlock *b = live_take(c, p, 1);
  if (b) {
    c->st.n_free++;
    c->st.in_use -= b->size;
    c->st.requested -= b->requested;
    if (b->stream < 0) {
      give_back(c, b);
    } else {
      int k = bin_of(b->size);
      b->next = c->bins[b->stream][k];
      c->bins[b->stream][k] = b;
      c->st.n_blocks_cached++;
    }
  }
  pthread_mutex_unlock(&c->lock);
  return b ? 0 : -1;
}

size_t lt_cache_empty(LtCache *c) {
  pthread_mutex_lock(&c->lock);
  size_t n = empty_locked(c);
  pthread_mutex_unlock(&c->lock);
  return n;
}

LtCacheStats lt_cache_stats(LtCache *c) {
  pthread_mutex_lock(&c->lock);
  LtCacheStats s = c->st;
  pthread_mutex_unlock(&c->lock);
  return s;
}

size_t lt_cache_block_size(LtCache *c, const void *p) {
  pthread_mutex_lock(&c->lock);
  LtCacheBlock *b = live_take(c, p, 0);
  size_t n = b ? b->size : 0;
  pthread_mutex_unlock(&c->lock);
  return n;
}
