/* select_craig.c - CRAIG: lazy-greedy facility location, similarities in GEMM tiles. */
#include "lazy.h"
#include <math.h>
#include <string.h>
#include "interrupt.h"
#include "select/select_util.h"

/* Similarity rows are computed for up to TILE candidates at once: one
 * sgemm of (T x d) by (d x m). The tile holds TILE x m floats, capped so a
 * large group stays within ~32 MB. */
#define FL_TILE_MAX    256
#define FL_TILE_FLOATS (8 << 20)
/* A group whose m x m similarities fit in this many bytes keeps them (one
 * GEMM pass), so a lazy re-evaluation costs O(m), not O(m d). */
#define FL_DENSE_BYTES ((size_t)256 << 20)
/* Stale bounds refreshed together start at this many per pick and double
 * while the pick stays unresolved (right after the first picks nearly every
 * bound is stale; later only a few are). */
#define FL_REFRESH 8

/* Between 8 and FL_TILE_MAX rows: fewer makes the GEMM thin, more only grows the tile. */
static int64_t fl_tile_rows(int64_t m) {
  int64_t t = FL_TILE_FLOATS / (m > 0 ? m : 1);
  return t < 8 ? 8 : t > FL_TILE_MAX ? FL_TILE_MAX : t;
}

typedef struct {
  float *block, *sqn, *cur, *tile, *cand;
  float *dense; /* m x m similarities, or NULL: computed on the fly */
  double *gain, *mean;
  int64_t *assign, *rows;
  SelHeap heap;
  int64_t tile_rows;
  LtFlMetric metric;
  double dmax;
} FlWork;

/* Carves the work for the largest group (a counting arena sizes it): the dense m x m matrix when
 * it fits FL_DENSE_BYTES, else a tile. block is always a copy, because the rows are centred or
 * normalised in place and X is the caller's. */
static int fl_layout(SelArena *a, const LtGroups *g, int64_t d, FlWork *w) {
  size_t m = (size_t)sel_max_group(g), t = (size_t)fl_tile_rows((int64_t)m);
  int dense = m * m * sizeof(float) <= FL_DENSE_BYTES;
  w->tile_rows = (int64_t)t;
  w->dense = dense ? sel_take(a, m * m * sizeof(float)) : NULL;
  w->tile = dense ? NULL : sel_take(a, t * m * sizeof(float));
  w->block = sel_take(a, m * (size_t)d * sizeof(float));
  w->sqn = sel_take(a, m * sizeof(float));
  w->cur = sel_take(a, m * sizeof(float));
  w->cand = sel_take(a, t * (size_t)d * sizeof(float));
  w->gain = sel_take(a, t * sizeof(double));
  w->mean = sel_take(a, (size_t)d * sizeof(double));
  w->rows = sel_take(a, t * sizeof(int64_t));
  w->assign = sel_take(a, m * sizeof(int64_t));
  w->heap.items = sel_take(a, m * sizeof(SelHeapItem));
  return !a->failed && a->base;
}

size_t lt_select_craig_scratch(const LtGroups *g, int64_t d) {
  SelArena a;
  FlWork w;
  sel_arena_init(&a, NULL, 0);
  fl_layout(&a, g, d, &w);
  return a.used;
}

/* Raw similarity of rows i and j from their dot product g: the distance
 * (euclidean, before dmax is known) or 1 + cos (cosine, rows normalised). */
static float fl_raw(const FlWork *w, int64_t i, int64_t j, float g) {
  if (w->metric == LT_FL_COSINE) return 1.0f + g;
  float q = w->sqn[i] + w->sqn[j] - 2.0f * g;
  /* Clamped at 0: cancellation can leave q slightly negative for (near-)equal rows. */
  return sqrtf(q > 0 ? q : 0);
}

/* out[r, i] = similarity (or, when raw, distance) of candidate rows[r] to
 * every row i of the m x d block. */
static void fl_tile(FlWork *w, int64_t m, int64_t d, int64_t nr, int raw, float *out) {
  for (int64_t r = 0; r < nr; r++)
    memcpy(w->cand + r * d, w->block + w->rows[r] * d, (size_t)d * sizeof(float));
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)nr, (int)m, (int)d, 1.0f, w->cand,
              (int)d, w->block, (int)d, 0.0f, out, (int)m);
  float dmax = (float)w->dmax;
  int flip = !raw && w->metric == LT_FL_EUCLIDEAN;
#pragma omp parallel for schedule(static) if (nr * m >= LT_PAR_MIN)
  for (int64_t r = 0; r < nr; r++) {
    float *s = out + r * m;
    for (int64_t i = 0; i < m; i++) {
      float v = fl_raw(w, w->rows[r], i, s[i]);
      s[i] = flip ? dmax - v : v;
    }
  }
}

/* The similarities of candidate rows[r]: a row of the dense matrix or of
 * the tile just computed. */
static const float *fl_row(const FlWork *w, int64_t m, int64_t r) {
  return w->dense ? w->dense + w->rows[r] * m : w->tile + r * m;
}

/* Similarity rows for candidates rows[0..nr): computed unless dense. */
static void fl_rows(FlWork *w, int64_t m, int64_t d, int64_t nr) {
  if (!w->dense) fl_tile(w, m, d, nr, 0, w->tile);
}

/* sum_i max(0, s[i] - cur[i]) in eight float lanes (vectorised), then double. */
LT_HOT static double fl_gain_row(const float *s, const float *cur, int64_t m) {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= m; i += 8)
    for (int j = 0; j < 8; j++) {
      float e = s[i + j] - cur[i + j];
      acc[j] += e > 0 ? e : 0;
    }
  double t = 0;
  for (int j = 0; j < 8; j++) t += acc[j];
  for (; i < m; i++) {
    float e = s[i] - cur[i];
    if (e > 0) t += e;
  }
  return t;
}

/* gain[r] for the nr candidates. */
static void fl_gains(FlWork *w, int64_t m, int64_t nr) {
  SEL_FOR(r, nr, nr * m, w->gain[r] = fl_gain_row(fl_row(w, m, r), w->cur, m););
}

/* Every pair's raw value into dense: one SYRK for the upper triangle,
 * converted, then mirrored in 64-row blocks. */
static void fl_dense_raw(FlWork *w, int64_t m, int64_t d) {
  float *D = w->dense;
  cblas_ssyrk(CblasRowMajor, CblasUpper, CblasNoTrans, (int)m, (int)d, 1.0f, w->block, (int)d, 0.0f,
              D, (int)m);
  /* Dynamic schedules: the rows of the upper triangle shrink, so static splits would leave
   * threads idle. */
#pragma omp parallel for schedule(dynamic, 64)
  for (int64_t i = 0; i < m; i++)
    for (int64_t j = i; j < m; j++) D[i * m + j] = fl_raw(w, i, j, D[i * m + j]);
#pragma omp parallel for schedule(dynamic, 1)
  for (int64_t b = 0; b < m; b += 64) {
    int64_t e = b + 64 < m ? b + 64 : m;
    for (int64_t j = 0; j < e; j++)
      for (int64_t i = j + 1 > b ? j + 1 : b; i < e; i++) D[i * m + j] = D[j * m + i];
  }
}

/* Row sums of the raw values (into the heap keys) and their maximum. */
static double fl_row_sums(FlWork *w, const float *raw, int64_t j0, int64_t nr, int64_t m) {
  double mx = 0;
  /* Max is exact in any order and each row sums alone: the same results on any thread count. */
#pragma omp parallel for schedule(static) reduction(max : mx) if (nr * m >= LT_PAR_MIN)
  for (int64_t r = 0; r < nr; r++) {
    const float *s = raw + r * m;
    double acc = 0;
    for (int64_t i = 0; i < m; i++) {
      acc += s[i];
      if (s[i] > mx) mx = s[i];
    }
    w->heap.items[j0 + r] = (SelHeapItem){acc, j0 + r, 0};
  }
  return mx;
}

/* Subtracts the mean row from the block. Distances do not change, but the
 * GEMM route ||a||^2 + ||b||^2 - 2<a, b> loses digits to cancellation in
 * proportion to the squared norms; rows that share a large offset (a class's
 * mean gradient) would keep only a few correct digits of their small
 * distances, and late greedy gains - sums of small differences - would pick
 * the wrong row. */
static void fl_centre(FlWork *w, int64_t m, int64_t d) {
  memset(w->mean, 0, sizeof(double) * (size_t)d);
  for (int64_t i = 0; i < m; i++)
    for (int64_t j = 0; j < d; j++) w->mean[j] += w->block[i * d + j];
  for (int64_t j = 0; j < d; j++) w->mean[j] /= (double)m;
  SEL_FOR(i, m, m * d,
          for (int64_t j = 0; j < d; j++) w->block[i * d + j] =
              (float)(w->block[i * d + j] - w->mean[j]););
}

/* Prepares the block (centred rows for euclidean, normalised rows for
 * cosine), dmax and every candidate's gain against the empty set; fills
 * the heap. */
static LtStatus fl_start(FlWork *w, int64_t m, int64_t d) {
  if (w->metric == LT_FL_EUCLIDEAN) fl_centre(w, m, d);
#pragma omp parallel for schedule(static) if (m * d >= LT_PAR_MIN)
  for (int64_t i = 0; i < m; i++) {
    float *x = w->block + i * d;
    double s = sel_dot(x, x, d);
    if (w->metric == LT_FL_COSINE) {
      float inv = (float)(1.0 / (s > 1e-24 ? sqrt(s) : 1e-12));
      for (int64_t j = 0; j < d; j++) x[j] *= inv;
      s = sel_dot(x, x, d);
    }
    w->sqn[i] = (float)s;
  }
  double dmax = 0, mx;
  if (w->dense) {
    fl_dense_raw(w, m, d);
    dmax = fl_row_sums(w, w->dense, 0, m, m);
  } else {
    for (int64_t j0 = 0; j0 < m; j0 += w->tile_rows) {
      if (lt_interrupt_pending()) return LT_EINTR;
      int64_t nr = m - j0 < w->tile_rows ? m - j0 : w->tile_rows;
      for (int64_t r = 0; r < nr; r++) w->rows[r] = j0 + r;
      fl_tile(w, m, d, nr, 1, w->tile);
      if ((mx = fl_row_sums(w, w->tile, j0, nr, m)) > dmax) dmax = mx;
    }
  }
  /* Euclidean keys: m dmax - sum of distances = sum of similarities (dmax - dist) against the
   * empty set. */
  w->dmax = w->metric == LT_FL_COSINE ? 0 : dmax;
  /* the sums were of distances (euclidean) or of similarities (cosine) */
  if (w->metric == LT_FL_EUCLIDEAN) {
    for (int64_t j = 0; j < m; j++) w->heap.items[j].key = (double)m * dmax - w->heap.items[j].key;
    if (w->dense) {
      float fd = (float)dmax;
#pragma omp parallel for schedule(static) if (m * m >= LT_PAR_MIN)
      for (int64_t i = 0; i < m * m; i++) w->dense[i] = fd - w->dense[i];
    }
  }
  for (int64_t i = 0; i < m; i++) w->cur[i] = 0;
  sel_heap_build(&w->heap, m);
  return LT_OK;
}

/* Takes row p as pick t: raises cur and records which pick serves each row. */
static void fl_take(FlWork *w, int64_t m, int64_t d, int64_t p, int64_t t) {
  w->rows[0] = p;
  fl_rows(w, m, d, 1);
  const float *s = fl_row(w, m, 0);
  for (int64_t i = 0; i < m; i++)
    /* The first pick assigns every row, even at similarity 0 (distance dmax), which would not
     * beat the initial cur. */
    if (t == 0 || s[i] > w->cur[i]) {
      w->cur[i] = s[i];
      w->assign[i] = t;
    }
}

/* Lazy greedy for one group (Minoux 1978): keys are gains as of pick `stamp`; facility location
 * is submodular, so stale keys are upper bounds and a current key on top is the greedy choice.
 * Each row then counts for the pick that serves it best, so the weights sum to m. */
static LtStatus fl_group(FlWork *w, int64_t m, int64_t d, int64_t k, const int64_t *rows,
                         LtPick *out) {
  LtStatus st = fl_start(w, m, d);
  if (st != LT_OK) return st;
  int64_t batch = FL_REFRESH;
  for (int64_t t = 0; t < k;) {
    if (lt_interrupt_pending()) return LT_EINTR;
    if (w->heap.items[0].stamp == t) {
      SelHeapItem top = sel_heap_pop(&w->heap);
      out[t] = (LtPick){rows[top.row], t, top.key, 0.0};
      fl_take(w, m, d, top.row, t);
      t++;
      batch = FL_REFRESH;
      continue;
    }
    /* refresh the stale bounds at the top of the heap, a batch at a time */
    int64_t nr = 0;
    while (nr < batch && w->heap.n > 0 && w->heap.items[0].stamp != t)
      w->rows[nr++] = sel_heap_pop(&w->heap).row;
    if (batch < w->tile_rows) batch = 2 * batch < w->tile_rows ? 2 * batch : w->tile_rows;
    fl_rows(w, m, d, nr);
    fl_gains(w, m, nr);
    for (int64_t r = 0; r < nr; r++)
      sel_heap_push(&w->heap, (SelHeapItem){w->gain[r], w->rows[r], t});
  }
  for (int64_t i = 0; i < m; i++) out[w->assign[i]].weight += 1.0;
  return LT_OK;
}

LtStatus lt_select_craig(const float *X, int64_t n, int64_t d, const LtGroups *g, const int64_t *k,
                         LtFlMetric metric, LtPick *out, void *scratch, size_t bytes) {
  SelArena a;
  FlWork w;
  sel_arena_init(&a, scratch, bytes);
  if (!fl_layout(&a, g, d, &w)) return LT_ENOMEM;
  if (sel_max_group(g) > 2147483647 / (d > 0 ? d : 1)) return LT_ERANGE; /* BLAS int sizes */
  w.metric = metric;
  for (int64_t c = 0; c < g->ngroups; c++) {
    int64_t m = sel_group_size(g, c);
    const float *src = sel_gather(X, d, g, c, w.block);
    /* One group is X itself (sel_gather copies nothing): copied here, since fl_start changes the
     * block in place. */
    if (src != w.block) memcpy(w.block, src, (size_t)(m * d) * sizeof(float));
    w.dmax = 0;
    LtStatus st = fl_group(&w, m, d, k[c], g->order + g->start[c], out);
    if (st != LT_OK) return st;
    out += k[c];
  }
  return LT_OK;
}
