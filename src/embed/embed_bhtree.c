/* embed_bhtree.c - Morton-ordered Barnes-Hut tree and the t-SNE repulsion it approximates. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "embed/embed_bhtree.h"

/* A cell with at most this many points is a leaf: below that, listing the points one by one costs
 * less than opening more cells. */
#define BH_LEAF 8

LtStatus lt_bhtree_init(LtBhTree *t, int64_t n, int dim) {
  memset(t, 0, sizeof *t);
  /* n <= INT32_MAX / 2 keeps point offsets and the 2n + 1 node indices in int32. */
  if (dim < 1 || dim > 3 || n < 1 || n > INT32_MAX / 2) return LT_EVALUE;
  t->dim = dim;
  t->n = n;
  t->nodes = malloc(sizeof *t->nodes * (size_t)(2 * n + 1));
  t->order = malloc(sizeof *t->order * (size_t)n);
  t->tmp_order = malloc(sizeof *t->tmp_order * (size_t)n);
  t->pos = malloc(sizeof *t->pos * (size_t)(n * dim));
  t->keys = malloc(sizeof *t->keys * (size_t)n);
  t->tmp_keys = malloc(sizeof *t->tmp_keys * (size_t)n);
  if (!t->nodes || !t->order || !t->tmp_order || !t->pos || !t->keys || !t->tmp_keys) {
    lt_bhtree_free(t);
    return LT_ENOMEM;
  }
  return LT_OK;
}

void lt_bhtree_free(LtBhTree *t) {
  free(t->nodes);
  free(t->order);
  free(t->tmp_order);
  free(t->pos);
  free(t->keys);
  free(t->tmp_keys);
  memset(t, 0, sizeof *t);
}

/* Quantisation per coordinate: 2^16 steps across the bounding square (2^10
 * per axis in 3-d), so codes fit 32 bits and sort in four radix passes;
 * points closer than a step share a leaf, which is then summarised. */
static int morton_bits(int dim) { return dim == 1 ? 32 : dim == 2 ? 16 : 10; }

/* Spreads the low bits of v so that bit b lands at b * dim (the usual bit-interleaving steps,
 * each halving the width of the bit groups). */
static uint64_t spread(uint64_t v, int dim) {
  if (dim == 2) {
    v &= 0xffff;
    v = (v | (v << 8)) & 0x00ff00ff;
    v = (v | (v << 4)) & 0x0f0f0f0f;
    v = (v | (v << 2)) & 0x33333333;
    return (v | (v << 1)) & 0x55555555;
  }
  if (dim == 3) {
    v &= 0x3ff;
    v = (v | (v << 16)) & 0x030000ff;
    v = (v | (v << 8)) & 0x0300f00f;
    v = (v | (v << 4)) & 0x030c30c3;
    return (v | (v << 2)) & 0x09249249;
  }
  return v;
}

/* Stable LSD radix sort of (keys, order) on the low `nbits` bits. */
static void radix_sort(LtBhTree *t, int nbits) {
  int64_t n = t->n;
  for (int shift = 0; shift < nbits; shift += 8) {
    /* 8 bits per pass: the 257-entry histogram stays in L1. count[d + 1] counts digit d, so after
     * the prefix sum count[d] is the first output slot of digit d. */
    int64_t count[257] = {0};
    for (int64_t i = 0; i < n; i++) count[((t->keys[i] >> shift) & 255) + 1]++;
    for (int b = 0; b < 256; b++) count[b + 1] += count[b];
    for (int64_t i = 0; i < n; i++) {
      int64_t o = count[(t->keys[i] >> shift) & 255]++;
      t->tmp_keys[o] = t->keys[i];
      t->tmp_order[o] = t->order[i];
    }
    /* The buffers swap roles each pass (no copy back): t->keys and t->order always name the latest.
     * LSD order works because every pass is stable. */
    uint64_t *k = t->keys;
    t->keys = t->tmp_keys;
    t->tmp_keys = k;
    int32_t *r = t->order;
    t->order = t->tmp_order;
    t->tmp_order = r;
  }
}

/* The level-th group of dim bits from the top of a key: which child of its depth-`level` cell the
 * point falls in. */
static inline unsigned digit_at(uint64_t key, int level, int bits, int dim) {
  return (unsigned)(key >> ((bits - 1 - level) * dim)) & ((1u << dim) - 1);
}

/* Appends the node for the sorted points [lo, hi) and then, depth first, its children. Levels at
 * which every point falls in the same child are skipped, so no node has a single child. */
static void build_rec(LtBhTree *t, int bits, int level, int64_t lo, int64_t hi) {
  int dim = t->dim;
  /* The keys are sorted: when the first and the last agree on a digit, every point does. */
  while (level < bits && hi - lo > BH_LEAF &&
         digit_at(t->keys[lo], level, bits, dim) == digit_at(t->keys[hi - 1], level, bits, dim))
    level++;
  int64_t me = t->nnodes++;
  LtBhNode *nd = &t->nodes[me];
  /* Centre of mass and extent in double: many float coordinates summed in float would drift. */
  double c[3] = {0, 0, 0}, bl[3] = {INFINITY, INFINITY, INFINITY},
         bh[3] = {-INFINITY, -INFINITY, -INFINITY}, w = 0;
  for (int64_t s = lo; s < hi; s++)
    for (int j = 0; j < dim; j++) {
      double v = t->pos[s * dim + j];
      c[j] += v;
      if (v < bl[j]) bl[j] = v;
      if (v > bh[j]) bh[j] = v;
    }
  for (int j = 0; j < dim; j++)
    if (bh[j] - bl[j] > w) w = bh[j] - bl[j]; /* the points' extent, at most the cell's side */
  for (int j = 0; j < 3; j++) nd->com[j] = j < dim ? (float)(c[j] / (double)(hi - lo)) : 0.0f;
  nd->width2 = (float)(w * w);
  nd->start = (int32_t)lo;
  nd->count = (int32_t)(hi - lo);
  /* leaf 2: more than BH_LEAF points at full depth share one quantisation cell and cannot be split
   * further; they are always summarised by their centre of mass. */
  nd->leaf = hi - lo <= BH_LEAF ? 1 : level >= bits ? 2 : 0;
  if (nd->leaf == 0)
    for (int64_t a = lo; a < hi;) {
      /* The children are the runs of equal digit at this level, in key order. */
      unsigned dg = digit_at(t->keys[a], level, bits, dim);
      int64_t b = a + 1;
      while (b < hi && digit_at(t->keys[b], level, bits, dim) == dg) b++;
      build_rec(t, bits, level + 1, a, b);
      a = b;
    }
  /* Written after the children, so next skips the whole subtree. */
  t->nodes[me].next = (int32_t)t->nnodes;
}

void lt_bhtree_build(LtBhTree *t, const float *Y) {
  int dim = t->dim, bits = morton_bits(dim);
  int64_t n = t->n;
  double lo[3] = {INFINITY, INFINITY, INFINITY}, hi[3] = {-INFINITY, -INFINITY, -INFINITY},
         side = 0;
  for (int64_t i = 0; i < n; i++)
    for (int j = 0; j < dim; j++) {
      double v = Y[i * dim + j];
      if (v < lo[j]) lo[j] = v;
      if (v > hi[j]) hi[j] = v;
    }
  /* The bounding square (largest side), not box: cells stay square, so one width per cell serves
   * the opening test in every direction. */
  for (int j = 0; j < dim; j++)
    if (hi[j] - lo[j] > side) side = hi[j] - lo[j];
  /* 1 + 1e-6 keeps the largest coordinate below 2^bits once scaled; all points equal: side 1. */
  side = side > 0 ? side * (1 + 1e-6) : 1.0;
  double scale = ldexp(1.0, bits) / side, top = ldexp(1.0, bits) - 1;
  for (int64_t i = 0; i < n; i++) {
    uint64_t key = 0;
    for (int j = 0; j < dim; j++) {
      double q = floor((Y[i * dim + j] - lo[j]) * scale);
      /* Clamped: rounding can still land a point a hair outside [0, 2^bits). A NaN (a descent that
       * diverged, which lt_tsne reports after the step) goes to cell 0: converting it to an integer
       * would be undefined behaviour. */
      key |= spread((uint64_t)(q >= 0 ? (q > top ? top : q) : 0), dim) << j;
    }
    t->keys[i] = key;
    t->order[i] = (int32_t)i;
  }
  radix_sort(t, bits * dim);
  /* Positions copied in sorted order: each cell's points are contiguous for the walks below. */
  for (int64_t s = 0; s < n; s++)
    for (int j = 0; j < dim; j++) t->pos[s * dim + j] = Y[(int64_t)t->order[s] * dim + j];
  t->nnodes = 0;
  build_rec(t, bits, 0, 0, n);
}

/* ---- repulsion by group walks --------------------------------------------
 * Points are taken in groups (the highest cells holding at most BH_GROUP
 * points). One walk per group collects an interaction list valid for all of
 * its points: a cell stands for its points when its extent is below theta
 * times its distance to the group's bounding box (so the per-point
 * criterion holds for every member), otherwise its points are listed one by
 * one. The list is then summed for each member with straight-line SIMD code.
 * Each member's own entry (distance 0, w = 1) is taken off afterwards. */

#define BH_GROUP 128

/* An interaction list: positions, weights (point counts). */
typedef struct {
  float *x[3], *c;
  int64_t len;
} BhList;

static inline void list_add(BhList *l, const float *p, int dim, float c) {
  for (int j = 0; j < dim; j++) l->x[j][l->len] = p[j];
  l->c[l->len++] = c;
}

/* Collects into l the interaction list shared by the group of sorted points [gs, ge), walking the
 * tree in its stored (depth-first) order; see the section comment above. */
static void group_list(const LtBhTree *t, int64_t gs, int64_t ge, double theta2, BhList *l) {
  int dim = t->dim;
  double bl[3] = {INFINITY, INFINITY, INFINITY}, bh[3] = {-INFINITY, -INFINITY, -INFINITY};
  for (int64_t s = gs; s < ge; s++)
    for (int j = 0; j < dim; j++) {
      double v = t->pos[s * dim + j];
      if (v < bl[j]) bl[j] = v;
      if (v > bh[j]) bh[j] = v;
    }
  l->len = 0;
  for (int64_t i = 0; i < t->nnodes;) {
    const LtBhNode *nd = t->nodes + i;
    int64_t ns = nd->start, ne = ns + nd->count;
    int holds = gs >= ns && gs < ne;
    /* d2: squared distance from the cell's centre of mass to the nearest point of the group's box
     * (0 inside it), so a cell accepted here passes the opening test for every member. */
    double d2 = 0;
    for (int j = 0; j < dim; j++) {
      double c = nd->com[j], e = c < bl[j] ? bl[j] - c : c > bh[j] ? c - bh[j] : 0;
      d2 += e * e;
    }
    /* A cell holding the group is never summarised (its centre of mass includes the members),
     * except a full-depth leaf: its points lie within one quantisation step, so a member's own
     * share still has w close to 1, which list_sums takes off. */
    if (nd->leaf == 2 || (!holds && nd->width2 < theta2 * d2)) {
      list_add(l, nd->com, dim, (float)nd->count);
      i = nd->next;
    } else if (nd->leaf == 1) {
      /* A leaf too close to summarise: its points one by one (members included; their own entries
       * are taken off in list_sums). */
      for (int64_t q = ns; q < ne; q++) list_add(l, t->pos + q * dim, dim, 1.0f);
      i = nd->next;
    } else
      /* An internal cell too close: open it (its first child is the next node). */
      i++;
  }
}

/* Sums the list for one point: z = sum c w, f = sum c w^2 (p - x). */
static LT_EMBED_HOT void list_sums(const BhList *l, const float *p, int dim, double dof, double *f,
                                   double *z) {
  /* Float accumulators keep 8 lanes per AVX register; each point sums its list in a fixed order, so
   * the result does not depend on the thread count. */
  float zz = 0, f0 = 0, f1 = 0, f2 = 0, p0 = p[0], p1 = dim > 1 ? p[1] : 0, p2 = dim > 2 ? p[2] : 0;
  const float *x0 = l->x[0], *x1 = l->x[1], *x2 = l->x[2], *c = l->c;
  int64_t n = l->len;
  /* t-SNE's default (2-d, dof 1) needs no pow: a branch-free loop the compiler vectorises. */
  if (dim == 2 && dof == 1.0) {
#pragma omp simd reduction(+ : zz, f0, f1)
    for (int64_t j = 0; j < n; j++) {
      float d0 = p0 - x0[j], d1 = p1 - x1[j], w = 1.0f / (1.0f + d0 * d0 + d1 * d1), cw = c[j] * w;
      zz += cw;
      f0 += cw * w * d0;
      f1 += cw * w * d1;
    }
  } else {
    float fd = (float)dof, ex = (float)((dof + 1.0) / 2.0);
    for (int64_t j = 0; j < n; j++) {
      float d0 = p0 - x0[j], d1 = dim > 1 ? p1 - x1[j] : 0, d2 = dim > 2 ? p2 - x2[j] : 0;
      float r = d0 * d0 + d1 * d1 + d2 * d2;
      /* dof 2 is (2 / (2 + r))^(3/2) without powf. */
      float w = dof == 1.0   ? 1.0f / (1.0f + r)
                : dof == 2.0 ? (2.0f / (2.0f + r)) * sqrtf(2.0f / (2.0f + r))
                             : powf(fd / (fd + r), ex);
      float cw = c[j] * w;
      zz += cw;
      f0 += cw * w * d0;
      f1 += cw * w * d1;
      f2 += cw * w * d2;
    }
  }
  f[0] = f0;
  if (dim > 1) f[1] = f1;
  if (dim > 2) f[2] = f2;
  *z = (double)zz - 1.0; /* the point's own entry */
}

LtStatus lt_bhtree_repulsion(const LtBhTree *t, double theta, double dof, double *neg,
                             double *zrow) {
  int64_t ng = 0, n = t->n;
  int dim = t->dim;
  /* Groups: the highest cells of at most BH_GROUP points (or leaves), found by one pre-order walk
   * that jumps over a chosen cell's subtree. */
  int32_t *groups = malloc(sizeof *groups * (size_t)(n + 1));
  if (!groups) return LT_ENOMEM;
  for (int64_t i = 0; i < t->nnodes;) {
    const LtBhNode *nd = t->nodes + i;
    if (nd->count <= BH_GROUP || nd->leaf) {
      groups[ng++] = (int32_t)i;
      i = nd->next;
    } else
      i++;
  }
  int failed = 0;
#pragma omp parallel
  {
    BhList l = {{NULL, NULL, NULL}, NULL, 0};
    /* Each thread owns a list buffer, sized for every point plus every node. */
    size_t cap = (size_t)(n + t->nnodes + 1);
    float *buf = malloc(sizeof *buf * cap * 4);
    if (!buf) {
      _Pragma("omp atomic write") failed = 1;
    } else {
      l.x[0] = buf;
      l.x[1] = buf + cap;
      l.x[2] = buf + 2 * cap;
      l.c = buf + 3 * cap;
    }
#pragma omp for schedule(dynamic, 4)
    for (int64_t g = 0; g < ng; g++) {
      /* A thread without a buffer still runs the loop (an omp for needs every thread) but does no
       * work; `failed` reports it after the region. */
      if (!buf) continue;
      const LtBhNode *nd = t->nodes + groups[g];
      group_list(t, nd->start, (int64_t)nd->start + nd->count, theta * theta, &l);
      /* Each point belongs to exactly one group, so writes to neg and zrow never collide. */
      for (int64_t s = nd->start; s < (int64_t)nd->start + nd->count; s++) {
        int64_t i = t->order[s];
        list_sums(&l, t->pos + s * dim, dim, dof, neg + i * dim, zrow + i);
      }
    }
    free(buf);
  }
  free(groups);
  return failed ? LT_ENOMEM : LT_OK;
}
