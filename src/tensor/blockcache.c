/* blockcache.c - a bounded cache of large freed blocks, reused for requests that fit in them. */
#include "tensor/blockcache.h"

/* Removes slot i, keeping the others packed at the front. */
static void drop_slot(LtBlockCache *c, int i) {
  c->bytes -= c->slot[i].n;
  c->slot[i] = c->slot[--c->count];
}

/* The index of the oldest held block smaller than below (of any size when below is 0), or -1. */
static int oldest(const LtBlockCache *c, size_t below) {
  int old = -1;
  for (int i = 0; i < c->count; i++)
    if ((below == 0 || c->slot[i].n < below) && (old < 0 || c->slot[i].tick < c->slot[old].tick))
      old = i;
  return old;
}

/* Gives held block i back to its allocator; returns its size. */
static size_t evict(LtBlockCache *c, int i) {
  LtCachedBlock b = c->slot[i];
  drop_slot(c, i);
  c->free_fn(c->ctx, b.p, b.n);
  return b.n;
}

void *lt_cache_take(LtBlockCache *c, size_t n) {
  /* Best fit over every held block: a layer's activations come in a few sizes that recur batch
   * after batch, and from one stage of a network to the next they shrink, so a larger held
   * block (resident already) serves a smaller request instead of a fresh one being faulted in
   * beside it. A larger block needs a lent entry so that its free can give its true size back. */
  int best = -1, can_lend = c->nlent < LT_CACHE_LENT;
  for (int i = 0; i < c->count; i++) {
    size_t m = c->slot[i].n;
    if (m < n || (m != n && !can_lend)) continue;
    if (best < 0 || m < c->slot[best].n ||
        (m == c->slot[best].n && c->slot[i].tick > c->slot[best].tick))
      best = i;
  }
  if (best < 0) {
    c->misses++;
    /* The sizes grew (the next batch after a network's narrow last stage): the smaller held
     * blocks would sit idle beside the fresh one. */
    size_t freed = 0;
    for (int i = oldest(c, n); freed < n && i >= 0; i = oldest(c, n)) freed += evict(c, i);
    return NULL;
  }
  LtCachedBlock b = c->slot[best];
  drop_slot(c, best);
  if (b.n != n) {
    c->lent[c->nlent].p = b.p;
    c->lent[c->nlent].n = b.n;
    c->nlent++;
  }
  c->hits++;
  return b.p;
}

size_t lt_cache_true_size(LtBlockCache *c, void *p, size_t n) {
  for (int i = 0; i < c->nlent; i++)
    if (c->lent[i].p == p) {
      size_t m = c->lent[i].n;
      c->lent[i] = c->lent[--c->nlent];
      return m;
    }
  return n;
}

int lt_cache_put(LtBlockCache *c, void *p, size_t n) {
  if (n < LT_CACHE_MIN_BLOCK || n > c->cap) return 0;
  while (c->count > 0 && (c->bytes + n > c->cap || c->count == LT_CACHE_SLOTS))
    evict(c, oldest(c, 0));
  c->slot[c->count].p = p;
  c->slot[c->count].n = n;
  c->slot[c->count].tick = ++c->tick;
  c->count++;
  c->bytes += n;
  return 1;
}

void lt_cache_set_cap(LtBlockCache *c, size_t cap) {
  c->cap = cap;
  while (c->count > 0 && c->bytes > cap) evict(c, oldest(c, 0));
}
