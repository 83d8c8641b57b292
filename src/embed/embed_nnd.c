/* embed_nnd.c - approximate kNN (embed_knn.h): random-projection forest, then NN-descent. */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include "embed/embed_knn.h"

/* The neighbour lists under construction: k (d, index) pairs per point, sorted ascending, with
 * its own lock; thr[p] mirrors the last (worst) distance so most offers are refused without
 * taking the lock. */
typedef struct {
  int64_t n, k;
  /* d, ix: the lists, [n x k]; thr, lk: one per point. */
  float *d;
  int32_t *ix;
  float *thr;
  omp_lock_t *lk;
} NndHeaps;

static inline int gt32(float da, int32_t ia, float db, int32_t ib) {
  return da > db || (da == db && ia > ib);
}

/* The rows NN-descent measures: for cosine, unit (or zero) rows measured by lt_embed_cosdist2, so
 * that a zero row ranks and reports as lt_knn_exact's; else squared Euclidean. */
typedef struct {
  const float *X;
  int64_t d;
  int cosine;
} NndRows;

static inline float nnd_dist(const NndRows *r, int64_t a, int64_t b) {
  const float *xa = r->X + a * r->d, *xb = r->X + b * r->d;
  return r->cosine ? lt_embed_cosdist2(xa, xb, r->d) : lt_embed_sqdist(xa, xb, r->d);
}

/* Offers q at distance dd to p's list, kept sorted ascending by (distance, index): the final
 * lists are the k best of everything offered, whatever the order of offers (ties by index). A
 * copy of q would have the same key (a pair's distance is computed the same way from either end),
 * so the binary search that places the offer also finds a duplicate; entering costs a move of
 * the entries behind it, cheaper than a heap's sift plus the scan of all k a heap needs to rule
 * out a duplicate. */
static void nnd_offer(NndHeaps *h, int64_t p, float dd, int32_t q) {
  float t;
  /* Unlocked read: thr only ever decreases, so a stale value can only let an offer in to be refused
   * under the lock, never refuse one that belongs. */
  __atomic_load(&h->thr[p], &t, __ATOMIC_RELAXED);
  if (dd > t) return;
  omp_set_lock(&h->lk[p]);
  int64_t k = h->k;
  float *hd = h->d + p * k;
  int32_t *hi = h->ix + p * k;
  if (gt32(hd[k - 1], hi[k - 1], dd, q)) {
    /* lo: the first entry after (dd, q). */
    int64_t lo = 0, hi_ = k - 1;
    while (lo < hi_) {
      int64_t mid = lo + (hi_ - lo) / 2;
      if (gt32(hd[mid], hi[mid], dd, q))
        hi_ = mid;
      else
        lo = mid + 1;
    }
    if (lo == 0 || hi[lo - 1] != q || hd[lo - 1] != dd) {
      memmove(hd + lo + 1, hd + lo, sizeof *hd * (size_t)(k - 1 - lo));
      memmove(hi + lo + 1, hi + lo, sizeof *hi * (size_t)(k - 1 - lo));
      hd[lo] = dd;
      hi[lo] = q;
      /* Publishes the new worst for the unlocked reads above. */
      __atomic_store(&h->thr[p], &hd[k - 1], __ATOMIC_RELAXED);
    }
  }
  omp_unset_lock(&h->lk[p]);
}

static void heaps_free(NndHeaps *h) {
  if (h->lk)
    for (int64_t i = 0; i < h->n; i++) omp_destroy_lock(&h->lk[i]);
  free(h->d);
  free(h->ix);
  free(h->thr);
  free(h->lk);
}

/* n empty lists of k: distance +inf and index INT32_MAX in every slot, so any real offer beats an
 * empty one and unfilled slots are recognisable at output. */
static LtStatus heaps_init(NndHeaps *h, int64_t n, int64_t k) {
  memset(h, 0, sizeof *h);
  h->n = n;
  h->k = k;
  h->d = malloc(sizeof *h->d * (size_t)(n * k));
  h->ix = malloc(sizeof *h->ix * (size_t)(n * k));
  h->thr = malloc(sizeof *h->thr * (size_t)n);
  h->lk = malloc(sizeof *h->lk * (size_t)n);
  if (!h->d || !h->ix || !h->thr || !h->lk) {
    free(h->d);
    free(h->ix);
    free(h->thr);
    free(h->lk);
    memset(h, 0, sizeof *h);
    return LT_ENOMEM;
  }
  for (int64_t i = 0; i < n * k; i++) {
    h->d[i] = INFINITY;
    h->ix[i] = INT32_MAX;
  }
  for (int64_t i = 0; i < n; i++) {
    h->thr[i] = INFINITY;
    omp_init_lock(&h->lk[i]);
  }
  return LT_OK;
}

/* ---- random-projection forest ------------------------------------------ */

/* Splits ids[lo, hi) by the hyperplane halfway between two random members,
 * in place; returns the size of the left part (falls back to halves when
 * all points land on one side, e.g. duplicates). */
static int64_t rp_partition(const float *X, int64_t d, int32_t *ids, int64_t lo, int64_t hi,
                            uint64_t key) {
  int64_t cnt = hi - lo;
  int64_t a = lo + (int64_t)(lt_embed_hash(key, 1, 0) % (uint64_t)cnt);
  /* b is drawn among the other cnt - 1 members: shift past a. */
  int64_t b = lo + (int64_t)(lt_embed_hash(key, 2, 0) % (uint64_t)(cnt - 1));
  if (b >= a) b++;
  const float *xa = X + (int64_t)ids[a] * d, *xb = X + (int64_t)ids[b] * d;
  /* The hyperplane is the perpendicular bisector of xa and xb: m = (xa - xb).x - off with off =
   * (xa - xb).(xa + xb) / 2, in double so that near-plane points are classified consistently. */
  double off = 0;
  for (int64_t j = 0; j < d; j++) off += (double)(xa[j] - xb[j]) * 0.5 * ((double)xa[j] + xb[j]);
  int64_t l = lo, r = hi - 1;
  while (l <= r) {
    const float *x = X + (int64_t)ids[l] * d;
    double m = -off;
    for (int64_t j = 0; j < d; j++) m += (double)(xa[j] - xb[j]) * x[j];
    /* A point on the plane picks a side by a hash of its index: deterministic, and duplicates still
     * split. */
    int left = m < 0 || (m == 0 && (lt_embed_hash(key, 3, (uint64_t)ids[l]) & 1));
    if (left)
      l++;
    else {
      int32_t t = ids[l];
      ids[l] = ids[r];
      ids[r] = t;
      r--;
    }
  }
  int64_t nl = l - lo;
  /* All on one side (duplicates, mostly): halve the range anyway, so every split shrinks it. */
  return nl == 0 || nl == cnt ? cnt / 2 : nl;
}

/* Builds one tree over ids (a permutation of 0..n-1) and writes its leaves
 * as [start, end) pairs to leaves (room for n); stack has room for 2n + 2
 * entries. Returns the leaf count. */
static int64_t rp_tree(const float *X, int64_t n, int64_t d, int64_t leaf, uint64_t key,
                       int32_t *ids, int64_t *leaves, int64_t *stack) {
  int64_t sp = 0, nleaves = 0;
  for (int64_t i = 0; i < n; i++) ids[i] = (int32_t)i;
  /* An explicit stack of [lo, hi) pairs instead of recursion: unbalanced splits cannot overflow the
   * C stack. Pending ranges are disjoint and non-empty, so at most n pairs wait (hence 2n + 2). */
  stack[sp++] = 0;
  stack[sp++] = n;
  while (sp > 0) {
    int64_t hi = stack[--sp], lo = stack[--sp];
    if (hi - lo <= leaf) {
      leaves[2 * nleaves] = lo;
      leaves[2 * nleaves + 1] = hi;
      nleaves++;
      continue;
    }
    /* (lo, hi) identifies the node within its tree: the same seed splits it the same way on any
     * thread. */
    int64_t nl = rp_partition(X, d, ids, lo, hi, lt_embed_hash(key, (uint64_t)lo, (uint64_t)hi));
    stack[sp++] = lo + nl;
    stack[sp++] = hi;
    stack[sp++] = lo;
    stack[sp++] = lo + nl;
  }
  return nleaves;
}

/* Seeds the lists with every pair inside each leaf of `trees` random-projection trees (the start
 * graph of pynndescent). The trees are built in parallel, each in its own ids, leaves and stack. */
static LtStatus rp_forest_seed(const NndRows *rows, int64_t n, NndHeaps *h, int trees, int64_t leaf,
                               uint64_t seed) {
  const float *X = rows->X;
  int64_t d = rows->d;
  int32_t *ids = malloc(sizeof *ids * (size_t)(n * trees));
  int64_t *leaves = malloc(sizeof *leaves * (size_t)(2 * n * trees)),
          *nleaves = calloc((size_t)trees, sizeof *nleaves);
  int64_t *stacks = malloc(sizeof *stacks * (size_t)((2 * n + 2) * trees));
  if (!ids || !leaves || !nleaves || !stacks) {
    free(ids);
    free(leaves);
    free(nleaves);
    free(stacks);
    return LT_ENOMEM;
  }
#pragma omp parallel for schedule(dynamic, 1)
  for (int t = 0; t < trees; t++)
    /* 0x7265 ("re") keeps the trees' streams apart from the rounds' (0x6e6e64, "nnd"). */
    nleaves[t] = rp_tree(X, n, d, leaf, lt_embed_hash(seed, 0x7265u, (uint64_t)t),
                         ids + (int64_t)t * n, leaves + 2 * n * t, stacks + (2 * n + 2) * t);
  free(stacks);
  /* Leaves joined one tree at a time, each tree's leaves in parallel: nnd_offer keeps the k best of
   * everything offered, so the order of offers does not matter. */
  for (int t = 0; t < trees; t++) {
    const int32_t *tid = ids + (int64_t)t * n;
    const int64_t *lv = leaves + 2 * n * t;
#pragma omp parallel for schedule(dynamic, 16)
    for (int64_t l = 0; l < nleaves[t]; l++)
      for (int64_t a = lv[2 * l]; a < lv[2 * l + 1]; a++)
        for (int64_t b = a + 1; b < lv[2 * l + 1]; b++) {
          float dd = nnd_dist(rows, tid[a], tid[b]);
          nnd_offer(h, tid[a], dd, tid[b]);
          nnd_offer(h, tid[b], dd, tid[a]);
        }
  }
  free(ids);
  free(leaves);
  free(nleaves);
  return LT_OK;
}

/* Tops up every list the forest left short with other points, as pynndescent's init_random:
 * the rounds only ever improve lists, so an empty slot would otherwise reach the output (with a
 * tiny leaf_size every list can start empty). Row i is offered the others in index order from a
 * hashed start, so k <= n - 1 slots fill within n - 1 offers; each row is touched only by its own
 * iteration, hence the same lists on any thread count. */
static void nnd_fill(const NndRows *rows, NndHeaps *h, uint64_t seed) {
  int64_t n = h->n, k = h->k;
#pragma omp parallel for schedule(dynamic, 64)
  for (int64_t i = 0; i < n; i++) {
    /* The last entry is the worst, so an empty slot (+inf, INT32_MAX) sits there while any is
     * left. */
    const int32_t *root = h->ix + i * k + k - 1;
    uint64_t start = lt_embed_hash(seed, 0x66696c6cu, (uint64_t)i) % (uint64_t)(n - 1);
    for (int64_t t = 0; *root == INT32_MAX && t < n - 1; t++) {
      int64_t q = (i + 1 + (int64_t)((start + (uint64_t)t) % (uint64_t)(n - 1))) % n;
      nnd_offer(h, i, nnd_dist(rows, i, q), (int32_t)q);
    }
  }
}

/* ---- NN-descent rounds ---------------------------------------------------- */

/* Candidate lists: per point up to mc entries kept by smallest priority. */
typedef struct {
  int64_t mc;
  int32_t *ix;
  /* pr: a hashed priority per (point, candidate). Keeping the mc smallest is a uniform sample
   * without replacement that does not depend on the order entries arrive in. */
  uint64_t *pr;
  int32_t *cnt;
} CandLists;

static void cand_push(CandLists *c, int64_t i, int32_t j, uint64_t pr) {
  int32_t *ix = c->ix + i * c->mc;
  uint64_t *p = c->pr + i * c->mc;
  /* Linear scans: a list holds max_candidates entries at most (min(k, 60) by default). */
  int32_t m = c->cnt[i];
  for (int32_t a = 0; a < m; a++)
    if (ix[a] == j) return;
  if (m < c->mc) {
    ix[m] = j;
    p[m] = pr;
    c->cnt[i] = m + 1;
    return;
  }
  /* Full: the list keeps the mc smallest (priority, index) pairs seen, so the newcomer replaces the
   * largest if it is smaller. */
  int32_t w = 0;
  for (int32_t a = 1; a < m; a++)
    if (p[a] > p[w] || (p[a] == p[w] && ix[a] > ix[w])) w = a;
  if (pr < p[w] || (pr == p[w] && j < ix[w])) {
    ix[w] = j;
    p[w] = pr;
  }
}

/* Fills the new/old candidate lists from the current lists and flags, then
 * marks every entry sampled as a new candidate as old. */
static void build_candidates(NndHeaps *h, uint8_t *flag, CandLists *nw, CandLists *od,
                             uint64_t key) {
  int64_t n = h->n, k = h->k;
  /* Serial: every entry pushes into two lists (its own and the reverse one, NN-descent's R[v]),
   * which threads would race on; the pushes are cheap next to local_join. */
  memset(nw->cnt, 0, sizeof *nw->cnt * (size_t)n);
  memset(od->cnt, 0, sizeof *od->cnt * (size_t)n);
  for (int64_t i = 0; i < n; i++)
    for (int64_t j = 0; j < k; j++) {
      int32_t q = h->ix[i * k + j];
      if (q == INT32_MAX) continue;
      CandLists *c = flag[i * k + j] ? nw : od;
      cand_push(c, i, q, lt_embed_hash(key, (uint64_t)i, (uint64_t)q));
      cand_push(c, q, (int32_t)i, lt_embed_hash(key, (uint64_t)q, (uint64_t)i));
    }
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; i++)
    for (int64_t j = 0; j < k; j++) {
      /* Only the new entries that were sampled become old; the others stay new for a later round
       * (the sampling variant of Dong et al., as pynndescent). */
      if (!flag[i * k + j]) continue;
      for (int32_t a = 0; a < nw->cnt[i]; a++)
        if (nw->ix[i * nw->mc + a] == h->ix[i * k + j]) {
          flag[i * k + j] = 0;
          break;
        }
    }
}

/* Joins each point's candidates pairwise, offering every pair to both ends: new with new and new
 * with old (old pairs met in an earlier round). Offers go through the per-point locks. */
static void local_join(const NndRows *rows, NndHeaps *h, const CandLists *nw, const CandLists *od) {
#pragma omp parallel for schedule(dynamic, 32)
  for (int64_t i = 0; i < h->n; i++) {
    const int32_t *nv = nw->ix + i * nw->mc, *ov = od->ix + i * od->mc;
    for (int32_t a = 0; a < nw->cnt[i]; a++) {
      for (int32_t b = a + 1; b < nw->cnt[i]; b++) {
        float dd = nnd_dist(rows, nv[a], nv[b]);
        nnd_offer(h, nv[a], dd, nv[b]);
        nnd_offer(h, nv[b], dd, nv[a]);
      }
      /* Old with old is skipped: such a pair was joined when one of the two was new. */
      for (int32_t b = 0; b < od->cnt[i]; b++) {
        if (ov[b] == nv[a]) continue;
        float dd = nnd_dist(rows, nv[a], ov[b]);
        nnd_offer(h, nv[a], dd, ov[b]);
        nnd_offer(h, ov[b], dd, nv[a]);
      }
    }
  }
}

static int cmp_i32pair(const void *a, const void *b) {
  int32_t x = ((const int32_t *)a)[0], y = ((const int32_t *)b)[0];
  return (x > y) - (x < y);
}

/* New flags after a round: an entry not in the list before the round is
 * new; one that was keeps its flag. prev holds (index, flag) pairs per row.
 * Returns the number of entries that changed. */
static int64_t refresh_flags(NndHeaps *h, int32_t *prev, uint8_t *flag) {
  int64_t n = h->n, k = h->k, changed = 0;
#pragma omp parallel for schedule(static) reduction(+ : changed)
  for (int64_t i = 0; i < n; i++) {
    int32_t *pv = prev + 2 * i * k;
    /* prev is sorted by index for bsearch: the lists are sorted by distance. */
    qsort(pv, (size_t)k, 2 * sizeof *pv, cmp_i32pair);
    for (int64_t j = 0; j < k; j++) {
      int32_t key[2] = {h->ix[i * k + j], 0};
      const int32_t *f = bsearch(key, pv, (size_t)k, 2 * sizeof *pv, cmp_i32pair);
      flag[i * k + j] = f ? (uint8_t)f[1] : 1;
      changed += f == NULL;
    }
  }
  return changed;
}

/* Saves each list's (index, flag) pairs before a join, for refresh_flags. */
static void snapshot(const NndHeaps *h, const uint8_t *flag, int32_t *prev) {
  for (int64_t i = 0; i < h->n * h->k; i++) {
    prev[2 * i] = h->ix[i];
    prev[2 * i + 1] = flag[i];
  }
}

/* Fills the options left at <= 0 with the defaults listed in LtNndOptions, for n points and k
 * neighbours. */
static void nnd_defaults(LtNndOptions *o, int64_t n, int64_t k) {
  if (o->n_trees <= 0) {
    o->n_trees = 4 + (int)lround(pow((double)n, 0.25) / 2);
    if (o->n_trees > 16) o->n_trees = 16;
  }
  if (o->leaf_size <= 0) o->leaf_size = k > 10 ? (int)k : 10;
  if (o->max_iter <= 0) {
    o->max_iter = (int)lround(log2((double)n));
    if (o->max_iter < 5) o->max_iter = 5;
  }
  /* 30 candidates and a stop at 1% changed, not pynndescent's 60 and 0.1%: on 20,000 Fashion-MNIST
   * PCA-50 rows at k = 90 recall 0.9997 in 28 s against 1.0000 in 69 s (shared, loaded 2-core
   * machine); the join's cost grows with the square of the candidates. */
  if (o->max_candidates <= 0) o->max_candidates = k < 30 ? (int)k : 30;
  if (o->delta <= 0) o->delta = 0.01;
}

/* NN-descent rounds until fewer than delta n k entries change in one, or max_iter rounds. */
static LtStatus nnd_rounds(const NndRows *rows, NndHeaps *h, const LtNndOptions *o,
                           const LtEmbedProgress *prog) {
  int64_t n = h->n, k = h->k, mc = o->max_candidates;
  CandLists nw = {mc, malloc(sizeof(int32_t) * (size_t)(n * mc)),
                  malloc(sizeof(uint64_t) * (size_t)(n * mc)), malloc(sizeof(int32_t) * (size_t)n)};
  CandLists od = {mc, malloc(sizeof(int32_t) * (size_t)(n * mc)),
                  malloc(sizeof(uint64_t) * (size_t)(n * mc)), malloc(sizeof(int32_t) * (size_t)n)};
  uint8_t *flag = malloc((size_t)(n * k));
  int32_t *prev = malloc(sizeof *prev * (size_t)(2 * n * k));
  LtStatus st = LT_OK;
  if (!nw.ix || !nw.pr || !nw.cnt || !od.ix || !od.pr || !od.cnt || !flag || !prev) {
    st = LT_ENOMEM;
    goto done;
  }
  /* Every seeded entry starts new, so all of them take part in the first join. */
  memset(flag, 1, (size_t)(n * k));
  for (int it = 0; it < o->max_iter && st == LT_OK; it++) {
    build_candidates(h, flag, &nw, &od, lt_embed_hash(o->seed, 0x6e6e64u, (uint64_t)it));
    snapshot(h, flag, prev);
    local_join(rows, h, &nw, &od);
    /* Dong et al.'s stopping rule: fewer than delta n k entries changed means convergence. */
    int64_t changed = refresh_flags(h, prev, flag);
    st = lt_embed_tick(prog, "knn", it + 1, o->max_iter);
    if ((double)changed <= o->delta * (double)n * (double)k) break;
  }
done:
  free(nw.ix);
  free(nw.pr);
  free(nw.cnt);
  free(od.ix);
  free(od.pr);
  free(od.cnt);
  free(flag);
  free(prev);
  return st;
}

/* Writes each list (sorted ascending by (distance, index)) in the metric. nnd_fill leaves no
 * slot empty; one would come out as index -1 at distance +inf. */
static void nnd_output(const NndHeaps *h, LtMetric metric, int64_t *idx, float *dist) {
  int64_t k = h->k;
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < h->n; i++) {
    const float *hd = h->d + i * k;
    const int32_t *hi = h->ix + i * k;
    for (int64_t j = 0; j < k; j++) {
      /* The lists hold squared distances, converted as finish_rows does for the exact method. */
      idx[i * k + j] = hi[j] == INT32_MAX ? -1 : hi[j];
      dist[i * k + j] = metric == LT_METRIC_EUCLIDEAN ? sqrtf(hd[j])
                        : metric == LT_METRIC_COSINE  ? 0.5f * hd[j]
                                                      : hd[j];
    }
  }
}

LtStatus lt_knn_nndescent(const float *X, int64_t n, int64_t d, int64_t k, LtMetric metric,
                          const LtNndOptions *opts, int64_t *idx, float *dist,
                          const LtEmbedProgress *prog) {
  /* Indices are int32, and INT32_MAX marks an empty slot. */
  if (k <= 0 || k > n - 1 || n > INT32_MAX - 1) return LT_EVALUE;
  LtNndOptions o = *opts;
  nnd_defaults(&o, n, k);
  float *xs = NULL;
  /* Cosine: NN-descent on unit rows (zero rows stay zero) under lt_embed_cosdist2, converted at
   * output. */
  if (metric == LT_METRIC_COSINE) {
    if (!(xs = malloc(sizeof *xs * (size_t)(n * d)))) return LT_ENOMEM;
    lt_embed_normalize_rows(X, n, d, xs);
    X = xs;
  }
  NndRows rows = {X, d, metric == LT_METRIC_COSINE};
  NndHeaps h;
  LtStatus st = heaps_init(&h, n, k);
  if (st == LT_OK) st = rp_forest_seed(&rows, n, &h, o.n_trees, o.leaf_size, o.seed);
  if (st == LT_OK) nnd_fill(&rows, &h, o.seed);
  if (st == LT_OK) st = lt_embed_tick(prog, "knn", 0, o.max_iter);
  if (st == LT_OK) st = nnd_rounds(&rows, &h, &o, prog);
  if (st == LT_OK) nnd_output(&h, metric, idx, dist);
  if (h.d) heaps_free(&h);
  free(xs);
  return st;
}
