/* select.c - groups, ranking, SAGE agreement, the per-row score baselines, top-k and random. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "tensor/random.h"
#include "select/select_util.h"

void lt_select_groups(LtGroups *g, const int64_t *labels, int64_t n, int64_t ngroups,
                      int64_t *order, int64_t *start) {
  g->n = n;
  g->ngroups = ngroups;
  g->order = order;
  g->start = start;
  memset(start, 0, sizeof(int64_t) * (size_t)(ngroups + 1));
  for (int64_t i = 0; i < n; i++) start[(labels ? labels[i] : 0) + 1]++;
  /* start[c + 1] counted class c; the prefix sum makes start[c] the first slot of class c. */
  for (int64_t c = 0; c < ngroups; c++) start[c + 1] += start[c];
  /* a stable counting sort: reuse start[c] as the fill cursor, then shift back */
  for (int64_t i = 0; i < n; i++) order[start[labels ? labels[i] : 0]++] = i;
  for (int64_t c = ngroups; c > 0; c--) start[c] = start[c - 1];
  start[0] = 0;
}

/* 0 when every x[0..d) is finite: x * 0 is 0 for finite x and NaN for
 * NaN and infinities; eight lanes so it vectorises. */
LT_HOT static int row_nonfinite(const float *x, int64_t d) {
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t j = 0;
  for (; j + 8 <= d; j += 8)
    for (int l = 0; l < 8; l++) acc[l] += x[j + l] * 0.0f;
  float t = 0;
  for (int l = 0; l < 8; l++) t += acc[l];
  for (; j < d; j++) t += x[j] * 0.0f;
  return t != t;
}

int64_t lt_select_first_nonfinite(const float *X, int64_t n, int64_t d) {
  int64_t first = n;
  /* min reduction: the first bad row whatever the thread split; i < first skips rows after one a
   * thread already found. */
#pragma omp parallel for schedule(static) reduction(min : first) if (n * d >= LT_PAR_MIN)
  for (int64_t i = 0; i < n; i++)
    if (i < first && row_nonfinite(X + i * d, d)) first = i;
  return first < n ? first : -1;
}

/* ---- ordering ------------------------------------------------------------------ */

/* NaN sorts last in either order. The index breaks ties: qsort is not stable, and a total order
 * makes the result the same on every libc. */
static int cmp_score_desc(const void *pa, const void *pb) {
  const LtPick *a = pa, *b = pb;
  if (a->score > b->score || (isnan(b->score) && !isnan(a->score))) return -1;
  if (a->score < b->score || (isnan(a->score) && !isnan(b->score))) return 1;
  return (a->index > b->index) - (a->index < b->index);
}

static int cmp_score_asc(const void *pa, const void *pb) {
  const LtPick *a = pa, *b = pb;
  if (a->score < b->score || (isnan(b->score) && !isnan(a->score))) return -1;
  if (a->score > b->score || (isnan(a->score) && !isnan(b->score))) return 1;
  return (a->index > b->index) - (a->index < b->index);
}

/* Greedy methods list picks in pick order; ranks repeat once per group, so score and then index
 * order the groups' picks of equal rank. */
static int cmp_rank(const void *pa, const void *pb) {
  const LtPick *a = pa, *b = pb;
  if (a->rank != b->rank) return a->rank < b->rank ? -1 : 1;
  return cmp_score_desc(pa, pb);
}

void lt_select_order(LtPick *picks, int64_t n, int by_rank, int largest) {
  qsort(picks, (size_t)n, sizeof *picks,
        by_rank   ? cmp_rank
        : largest ? cmp_score_desc
                  : cmp_score_asc);
}

/* ---- top-k and random -------------------------------------------------------- */

size_t lt_select_topk_scratch(const LtGroups *g) {
  return (size_t)sel_max_group(g) * sizeof(LtPick) + 64;
}

/* a ranks before b: better score (higher when largest), then lower index. */
static int ranks_before(const LtPick *a, const LtPick *b, int largest) {
  if (a->score != b->score) return largest ? a->score > b->score : a->score < b->score;
  return a->index < b->index;
}

/* Heap of the best k seen so far with the worst at the root: a candidate replaces the root only
 * if it ranks before the worst kept, O(m log k) per group. */
static void topk_sift(LtPick *h, int64_t n, int64_t i, int largest) {
  for (;;) {
    int64_t l = 2 * i + 1, r = l + 1, w = i;
    if (l < n && ranks_before(&h[w], &h[l], largest)) w = l;
    if (r < n && ranks_before(&h[w], &h[r], largest)) w = r;
    if (w == i) return;
    LtPick t = h[i];
    h[i] = h[w];
    h[w] = t;
    i = w;
  }
}

LtStatus lt_select_topk(const float *score, const LtGroups *g, const int64_t *k, int largest,
                        LtPick *out, void *scratch, size_t bytes) {
  SelArena a;
  sel_arena_init(&a, scratch, bytes);
  LtPick *h = sel_take(&a, (size_t)sel_max_group(g) * sizeof(LtPick));
  if (!h) return LT_ENOMEM;
  for (int64_t c = 0; c < g->ngroups; c++) {
    int64_t m = sel_group_size(g, c), n = k[c];
    const int64_t *rows = g->order + g->start[c];
    /* The first k rows seed the heap (heapified bottom-up); the rest compete with its root. */
    for (int64_t i = 0; i < n; i++) h[i] = (LtPick){rows[i], 0, score[rows[i]], 1.0};
    for (int64_t i = n / 2 - 1; i >= 0; i--) topk_sift(h, n, i, largest);
    for (int64_t i = n; i < m; i++) {
      LtPick p = {rows[i], 0, score[rows[i]], 1.0};
      if (ranks_before(&p, &h[0], largest)) {
        h[0] = p;
        topk_sift(h, n, 0, largest);
      }
    }
    /* The heap keeps no order: the k kept are sorted, and a pick's rank is its position. */
    lt_select_order(h, n, 0, largest);
    for (int64_t i = 0; i < n; i++) {
      *out = h[i];
      out->rank = i;
      out++;
    }
  }
  return LT_OK;
}

/* lt_random_sample's scratch for the largest draw of any group (at least 8 bytes). */
static size_t random_work(const LtGroups *g, const int64_t *k) {
  size_t most = 8;
  for (int64_t c = 0; c < g->ngroups; c++) {
    size_t s = lt_random_sample_scratch(sel_group_size(g, c), k[c]);
    if (s > most) most = s;
  }
  return most;
}

size_t lt_select_random_scratch(const LtGroups *g, const int64_t *k) {
  return random_work(g, k) + sizeof(int64_t) * (size_t)sel_max_group(g) + 256;
}

LtStatus lt_select_random(const LtGroups *g, const int64_t *k, uint64_t seed, LtPick *out,
                          void *scratch, size_t bytes) {
  SelArena a;
  sel_arena_init(&a, scratch, bytes);
  int64_t *drawn = sel_take(&a, sizeof(int64_t) * (size_t)sel_max_group(g));
  void *work = sel_take(&a, random_work(g, k));
  if (!drawn || !work) return LT_ENOMEM;
  LtRng rng;
  lt_rng_seed(&rng, seed);
  for (int64_t c = 0; c < g->ngroups; c++) {
    /* drawn[] holds positions inside group c; order maps them to rows. One generator runs
     * through the groups in order, so a seed fixes every draw. */
    lt_random_sample(&rng, drawn, sel_group_size(g, c), k[c], work);
    for (int64_t i = 0; i < k[c]; i++)
      *out++ = (LtPick){g->order[g->start[c] + drawn[i]], i, 0.0, 1.0};
  }
  return LT_OK;
}

/* ---- SAGE agreement ------------------------------------------------------------ */

/* part[0..d) = sum over rows[i0..i1) (in order) of row / norm, in double: a centroid averages
 * up to n unit rows, and a float sum would drop the late, small contributions. */
LT_HOT static void centroid_part(const float *G, int64_t d, const int64_t *rows, int64_t i0,
                                 int64_t i1, const float *norms, double *part) {
  for (int64_t j = 0; j < d; j++) part[j] = 0;
  for (int64_t i = i0; i < i1; i++) {
    const float *r = G + rows[i] * d;
    double inv = 1.0 / norms[rows[i]];
    for (int64_t j = 0; j < d; j++) part[j] += r[j] * inv;
  }
}

void lt_select_unit_norms(const float *G, int64_t n, int64_t d, float *norms) {
#pragma omp parallel for schedule(static) if (n * d >= LT_PAR_MIN)
  for (int64_t i = 0; i < n; i++) {
    double s = sqrt(sel_dot(G + i * d, G + i * d, d));
    norms[i] = (float)(s > 1e-12 ? s : 1e-12); /* F.normalize's eps: a zero row stays zero */
  }
}

void lt_select_unit_sums(const float *G, int64_t d, const LtGroups *g, const float *norms,
                         int64_t c, double *sum, double *cent) {
  const int64_t *rows = g->order + g->start[c];
  int64_t m = sel_group_size(g, c), len = (m + LT_AGREE_PARTS - 1) / LT_AGREE_PARTS;
/* partial sums over a fixed split of the rows, added in order: the same
 * centroid on any thread count */
#pragma omp parallel for schedule(static) if (m * d >= LT_PAR_MIN)
  for (int64_t p = 0; p < LT_AGREE_PARTS; p++) {
    int64_t i0 = p * len < m ? p * len : m, i1 = i0 + len < m ? i0 + len : m;
    centroid_part(G, d, rows, i0, i1, norms, cent + p * d);
  }
  for (int64_t j = 0; j < d; j++) {
    double t = 0;
    for (int64_t p = 0; p < LT_AGREE_PARTS; p++) t += cent[p * d + j];
    sum[j] = t;
  }
}

void lt_select_agreement_given(const float *G, int64_t d, const LtGroups *g, const float *norms,
                               const float *centroids, float *score) {
  for (int64_t c = 0; c < g->ngroups; c++) {
    const int64_t *rows = g->order + g->start[c];
    const float *cv = centroids + c * d;
    int64_t m = sel_group_size(g, c);
#pragma omp parallel for schedule(static) if (m * d >= LT_PAR_MIN)
    for (int64_t i = 0; i < m; i++)
      /* <g_i, c> / ||g_i|| equals <u_i, c> without forming the unit rows. */
      score[rows[i]] = (float)(sel_dot(G + rows[i] * d, cv, d) / norms[rows[i]]);
  }
}

void lt_select_agreement(const float *G, int64_t n, int64_t d, const LtGroups *g, float *score,
                         float *centroids, double *cent, float *norms) {
  lt_select_unit_norms(G, n, d, norms);
  for (int64_t c = 0; c < g->ngroups; c++) {
    int64_t m = sel_group_size(g, c);
    /* the sum overwrites the last part in place: sum[j] is written after every part's j-th
     * entry was read, and no later j reads it */
    double *sum = cent + (LT_AGREE_PARTS - 1) * d;
    lt_select_unit_sums(G, d, g, norms, c, sum, cent);
    for (int64_t j = 0; j < d; j++)
      centroids[c * d + j] = (float)(m > 0 ? sum[j] / (double)m : 0.0);
  }
  lt_select_agreement_given(G, d, g, norms, centroids, score);
}

/* ---- per-row scores ----------------------------------------------------------- */

void lt_select_row_norms(const float *X, int64_t n, int64_t d, float *score) {
#pragma omp parallel for schedule(static) if (n * d >= LT_PAR_MIN)
  for (int64_t i = 0; i < n; i++) score[i] = (float)sqrt(sel_dot(X + i * d, X + i * d, d));
}

/* Row i of P as probabilities in p (c doubles): softmax of logits, or a
 * checked copy. Returns 0 when a probability is outside [0, 1]; a row that
 * does not sum to 1 is the caller's and is not renormalised. */
static int prob_row(const float *P, int64_t c, int is_logits, double *p) {
  if (is_logits) {
    double mx = P[0], s = 0;
    for (int64_t j = 1; j < c; j++)
      if (P[j] > mx) mx = P[j];
    for (int64_t j = 0; j < c; j++) s += (p[j] = exp(P[j] - mx));
    for (int64_t j = 0; j < c; j++) p[j] /= s;
    return 1;
  }
  for (int64_t j = 0; j < c; j++) {
    p[j] = P[j];
    if (!(p[j] >= 0 && p[j] <= 1)) return 0;
  }
  return 1;
}

#define SEL_MAXC 4096
/* An exp or a log costs about as much as this many plain element steps,
 * which decides when a score loop is worth a parallel region. */
#define SEL_EXP_COST 16

LtStatus lt_select_el2n(const float *P, int64_t n, int64_t c, const int64_t *labels, int is_logits,
                        float *score, int64_t *bad) {
  int64_t first_bad = n;
  if (c > SEL_MAXC) return LT_ERANGE;
#pragma omp parallel for schedule(static) \
    reduction(min                         \
              : first_bad) if (n * c * SEL_EXP_COST >= LT_PAR_MIN)
  for (int64_t i = 0; i < n; i++) {
    /* p lives on the stack (32 KB per thread), so a per-row buffer needs no scratch argument;
     * hence the SEL_MAXC limit. The min reduction finds the first bad row whatever the thread
     * split. */
    double p[SEL_MAXC], s = 0;
    if (!prob_row(P + i * c, c, is_logits, p)) {
      if (i < first_bad) first_bad = i;
      continue;
    }
    for (int64_t j = 0; j < c; j++) {
      double t = p[j] - (j == labels[i]);
      s += t * t;
    }
    score[i] = (float)sqrt(s);
  }
  *bad = first_bad < n ? first_bad : -1;
  return first_bad < n ? LT_EVALUE : LT_OK;
}

/* One row's uncertainty: entropy, or from the two largest probabilities, least confidence 1 -
 * p_max and margin p_2nd - p_max. */
static double uncertainty_of(const double *p, int64_t c, LtUncertainty kind) {
  if (kind == LT_UNC_ENTROPY) {
    double h = 0;
    for (int64_t j = 0; j < c; j++)
      if (p[j] > 0) h -= p[j] * log(p[j]);
    return h;
  }
  double a = -1, b = -1; /* the two largest */
  for (int64_t j = 0; j < c; j++) {
    if (p[j] > a) {
      b = a;
      a = p[j];
    } else if (p[j] > b)
      b = p[j];
  }
  return kind == LT_UNC_LEAST_CONFIDENCE ? 1.0 - a : b - a;
}

LtStatus lt_select_uncertainty(const float *P, int64_t n, int64_t c, LtUncertainty kind,
                               int is_logits, float *score, int64_t *bad) {
  int64_t first_bad = n;
  if (c > SEL_MAXC) return LT_ERANGE;
#pragma omp parallel for schedule(static) \
    reduction(min                         \
              : first_bad) if (n * c * SEL_EXP_COST >= LT_PAR_MIN)
  for (int64_t i = 0; i < n; i++) {
    double p[SEL_MAXC];
    if (!prob_row(P + i * c, c, is_logits, p)) {
      if (i < first_bad) first_bad = i;
      continue;
    }
    score[i] = (float)uncertainty_of(p, c, kind);
  }
  *bad = first_bad < n ? first_bad : -1;
  return first_bad < n ? LT_EVALUE : LT_OK;
}

void lt_select_forgetting(const uint8_t *R, int64_t n, int64_t e, float *score) {
#pragma omp parallel for schedule(static) if (n * e >= LT_PAR_MIN)
  for (int64_t i = 0; i < n; i++) {
    const uint8_t *r = R + i * e;
    int64_t events = 0, learned = 0;
    for (int64_t j = 0; j < e; j++) {
      /* A row never correct has no event to count but is the hardest to learn: Toneva et al.
       * rank it as forgotten infinitely often, here e, above any row's count. */
      learned |= r[j] != 0;
      if (j > 0 && r[j - 1] && !r[j]) events++;
    }
    score[i] = (float)(learned ? events : e);
  }
}
