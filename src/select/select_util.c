/* select_util.c - selection's shared parts: scratch, heap, gathering, dot products. */
#include <string.h>
#include "select/select_util.h"

#define SEL_ALIGN 64

void sel_arena_init(SelArena *a, void *base, size_t size) {
  a->base = base;
  a->size = size;
  a->used = 0;
  a->failed = 0;
}

/* Pieces are rounded up to 64 bytes, so one that starts aligned leaves the next aligned too. */
void *sel_take(SelArena *a, size_t n) {
  uintptr_t p = (uintptr_t)(a->base + a->used);
  size_t pad = a->base ? (size_t)(((p + SEL_ALIGN - 1) & ~(uintptr_t)(SEL_ALIGN - 1)) - p) : 0;
  size_t need = pad + ((n + SEL_ALIGN - 1) & ~(size_t)(SEL_ALIGN - 1));
  if (!a->base) {
    /* Counting cannot know the real base's alignment: each piece reserves the worst-case 64
     * bytes of padding on top. */
    a->used += need + SEL_ALIGN;
    return NULL;
  }
  if (a->used + need > a->size) {
    a->failed = 1;
    return NULL;
  }
  void *r = a->base + a->used + pad;
  a->used += need;
  return r;
}

/* ---- heap ------------------------------------------------------------------ */

/* Ties to the lower row: lazy greedy then picks exactly what an eager greedy with lowest-index
 * ties would. */
static int heap_above(const SelHeapItem *a, const SelHeapItem *b) {
  return a->key > b->key || (a->key == b->key && a->row < b->row);
}

static void sift_down(SelHeap *h, int64_t i) {
  for (;;) {
    int64_t l = 2 * i + 1, r = l + 1, m = i;
    if (l < h->n && heap_above(&h->items[l], &h->items[m])) m = l;
    if (r < h->n && heap_above(&h->items[r], &h->items[m])) m = r;
    if (m == i) return;
    SelHeapItem t = h->items[i];
    h->items[i] = h->items[m];
    h->items[m] = t;
    i = m;
  }
}

void sel_heap_push(SelHeap *h, SelHeapItem it) {
  int64_t i = h->n++;
  h->items[i] = it;
  while (i > 0) {
    int64_t p = (i - 1) / 2;
    if (!heap_above(&h->items[i], &h->items[p])) break;
    SelHeapItem t = h->items[i];
    h->items[i] = h->items[p];
    h->items[p] = t;
    i = p;
  }
}

SelHeapItem sel_heap_pop(SelHeap *h) {
  SelHeapItem top = h->items[0];
  h->items[0] = h->items[--h->n];
  sift_down(h, 0);
  return top;
}

/* Floyd's bottom-up heapify: O(n) instead of n pushes. */
void sel_heap_build(SelHeap *h, int64_t n) {
  h->n = n;
  for (int64_t i = n / 2 - 1; i >= 0; i--) sift_down(h, i);
}

/* ---- groups ---------------------------------------------------------------- */

int64_t sel_group_size(const LtGroups *g, int64_t c) { return g->start[c + 1] - g->start[c]; }

int64_t sel_max_group(const LtGroups *g) {
  int64_t m = 0;
  for (int64_t c = 0; c < g->ngroups; c++)
    if (sel_group_size(g, c) > m) m = sel_group_size(g, c);
  return m;
}

/* Only a single group can hold every row in order, whatever c is. */
int sel_group_is_identity(const LtGroups *g, int64_t c) {
  return g->ngroups == 1 && g->start[0] == 0 && g->start[1] == g->n;
}

const float *sel_gather(const float *X, int64_t d, const LtGroups *g, int64_t c, float *buf) {
  if (sel_group_is_identity(g, c)) return X;
  const int64_t *rows = g->order + g->start[c];
  int64_t m = sel_group_size(g, c);
  /* The copy makes the group one dense m x d block for the kernels and BLAS. */
  SEL_FOR(i, m, m * d, memcpy(buf + i * d, X + rows[i] * d, (size_t)d * sizeof(float)););
  return buf;
}

/* ---- kernels ------------------------------------------------------------------ */

/* Both kernels keep 32 float partial sums - four independent 8-lane vectors
 * (GCC vector types, so they stay in registers: a float[32] array was kept
 * on the stack and its 32 serial double adds cost more than the products at
 * d = 256) - so the additions pipeline instead of waiting on one
 * accumulator; the four vectors are added lane-wise and the 8 lanes in
 * double, pairwise. The order is fixed at compile time: thread counts cannot change it. */
typedef float SelV8 __attribute__((vector_size(32)));

/* v = the 8 floats at p (any alignment). Macros, not functions: a vector
 * passed or returned by value changes the ABI of the baseline clone. */
#define SEL_LOAD8(v, p) memcpy(&(v), (p), sizeof(SelV8))
/* s = the sum in double of the lanes of (a0 + a1) + (a2 + a3), as a tree of depth three: a
 * chain of eight dependent adds cost a third of a d = 256 dot product, once per row. */
#define SEL_LANES(s, a0, a1, a2, a3)                                                   \
  do {                                                                                 \
    SelV8 v_ = ((a0) + (a1)) + ((a2) + (a3));                                          \
    double l_[8];                                                                      \
    for (int j_ = 0; j_ < 8; j_++) l_[j_] = v_[j_];                                    \
    (s) = ((l_[0] + l_[4]) + (l_[2] + l_[6])) + ((l_[1] + l_[5]) + (l_[3] + l_[7])); \
  } while (0)

/* The dot product both sel_dot and sel_matvec run, inlined into each of their clones. */
static inline __attribute__((always_inline)) double dot_kernel(const float *a, const float *b,
                                                               int64_t d) {
  SelV8 a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0}, x0, x1, x2, x3, y0, y1, y2, y3;
  int64_t i = 0;
  for (; i + 32 <= d; i += 32) {
    SEL_LOAD8(x0, a + i);
    SEL_LOAD8(x1, a + i + 8);
    SEL_LOAD8(x2, a + i + 16);
    SEL_LOAD8(x3, a + i + 24);
    SEL_LOAD8(y0, b + i);
    SEL_LOAD8(y1, b + i + 8);
    SEL_LOAD8(y2, b + i + 16);
    SEL_LOAD8(y3, b + i + 24);
    a0 += x0 * y0;
    a1 += x1 * y1;
    a2 += x2 * y2;
    a3 += x3 * y3;
  }
  double s;
  SEL_LANES(s, a0, a1, a2, a3);
  for (; i < d; i++) s += (double)a[i] * b[i];
  return s;
}

LT_HOT double sel_dot(const float *a, const float *b, int64_t d) { return dot_kernel(a, b, d); }

LT_HOT double sel_sqdist(const float *a, const float *b, int64_t d) {
  SelV8 a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0}, x0, x1, x2, x3, y0, y1, y2, y3;
  int64_t i = 0;
  for (; i + 32 <= d; i += 32) {
    SEL_LOAD8(x0, a + i);
    SEL_LOAD8(x1, a + i + 8);
    SEL_LOAD8(x2, a + i + 16);
    SEL_LOAD8(x3, a + i + 24);
    SEL_LOAD8(y0, b + i);
    SEL_LOAD8(y1, b + i + 8);
    SEL_LOAD8(y2, b + i + 16);
    SEL_LOAD8(y3, b + i + 24);
    x0 -= y0;
    x1 -= y1;
    x2 -= y2;
    x3 -= y3;
    a0 += x0 * x0;
    a1 += x1 * x1;
    a2 += x2 * x2;
    a3 += x3 * x3;
  }
  double s;
  SEL_LANES(s, a0, a1, a2, a3);
  for (; i < d; i++) {
    double t = (double)a[i] - b[i];
    s += t * t;
  }
  return s;
}

/* Each row is summed exactly as sel_dot sums it (the same kernel, inlined here so that a row
 * costs no call through the dispatcher: greedy selections call this once per pick over every
 * row of a class). */
LT_HOT void sel_matvec(const float *A, int64_t n, int64_t d, const float *x, double *y) {
  SEL_FOR(i, n, n * d, y[i] = dot_kernel(A + i * d, x, d););
}

/* Max under the total order (value, then lower index): associative, so
 * any split among threads gives the same answer. */
int64_t sel_argmax_masked(const double *v, const uint8_t *mask, int64_t n) {
  /* Below LT_PAR_MIN the scan runs inline: greedy methods call this once per pick, and a
   * parallel region would cost more than the scan. */
  int64_t best = -1;
  if (n < LT_PAR_MIN) {
    for (int64_t i = 0; i < n; i++)
      if (!(mask && mask[i]) && (best < 0 || v[i] > v[best])) best = i;
    return best;
  }
#pragma omp parallel
  {
    /* Each thread's winner merges under the same total order (value, then lower index) as the
     * serial scan. */
    int64_t mine = -1;
#pragma omp for schedule(static) nowait
    for (int64_t i = 0; i < n; i++)
      if (!(mask && mask[i]) && (mine < 0 || v[i] > v[mine])) mine = i;
#pragma omp critical
    if (mine >= 0 && (best < 0 || v[mine] > v[best] || (v[mine] == v[best] && mine < best)))
      best = mine;
  }
  return best;
}
