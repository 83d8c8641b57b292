/* select_util.h - what the selection kernels share: scratch, a max-heap, gathering (core). */
#ifndef LUNETTE_SELECT_UTIL_H
#define LUNETTE_SELECT_UTIL_H
#include "select/select.h"

/* for (i = 0; i < n; i++) { body } on the OpenMP threads when the loop
 * touches at least LT_PAR_MIN elements (work), inline otherwise: even an
 * if(0) parallel region builds a team, and greedy loops run one per pick. */
#define SEL_FOR(i, n, work, ...)                                                       \
  do {                                                                                 \
    if ((work) >= LT_PAR_MIN) {                                                        \
      _Pragma("omp parallel for schedule(static)") for (int64_t i = 0; i < (n); i++) { \
        __VA_ARGS__                                                                    \
      }                                                                                \
    } else {                                                                           \
      for (int64_t i = 0; i < (n); i++) {                                              \
        __VA_ARGS__                                                                    \
      }                                                                                \
    }                                                                                  \
  } while (0)

/* Scratch carved in 64-byte aligned pieces. With base == NULL it only
 * counts, so a method's *_scratch function replays its own carving. */
typedef struct {
  char *base;
  size_t size, used;
  int failed;
} SelArena;

void sel_arena_init(SelArena *a, void *base, size_t size);
/* n bytes (aligned), or NULL when counting or out of room (sets failed). */
void *sel_take(SelArena *a, size_t n);

/* A binary max-heap of (key, row) with ties to the lower row, for lazy
 * greedy: stale keys are upper bounds that get refreshed when they surface. */
typedef struct {
  double key;
  int64_t row;
  int64_t stamp;
} SelHeapItem;
typedef struct {
  SelHeapItem *items;
  int64_t n;
} SelHeap;

/* Push needs room in items (the caller sized it); pop needs h->n > 0. */
void sel_heap_push(SelHeap *h, SelHeapItem it);
SelHeapItem sel_heap_pop(SelHeap *h);
/* Builds a heap from h->items[0..n) in O(n). */
void sel_heap_build(SelHeap *h, int64_t n);

/* Rows of group c of X (n x d) as a contiguous block: X itself when the
 * group is every row in order, else a copy in buf (group size x d). */
const float *sel_gather(const float *X, int64_t d, const LtGroups *g, int64_t c, float *buf);
/* Rows in group c; the most rows of any group (what scratch is sized for). */
int64_t sel_group_size(const LtGroups *g, int64_t c);
int64_t sel_max_group(const LtGroups *g);
/* True when group c of g is rows 0..n-1 in order (no copy needed). */
int sel_group_is_identity(const LtGroups *g, int64_t c);

/* Index of the largest v[i] with mask[i] == 0 (ties to the lower i), or
 * -1 when every row is masked. Parallel, thread-count independent. */
int64_t sel_argmax_masked(const double *v, const uint8_t *mask, int64_t n);

/* y[i] = <A[i], x> for A (n x d) float32, in double accumulation per row. */
void sel_matvec(const float *A, int64_t n, int64_t d, const float *x, double *y);

/* Sum of squared differences, and dot product, of two length-d float rows:
 * float partial sums in a fixed order, finished in double. */
double sel_sqdist(const float *a, const float *b, int64_t d);
double sel_dot(const float *a, const float *b, int64_t d);

#endif
