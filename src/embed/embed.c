/* embed.c - the embed kernels' shared parts: progress, CSR symmetrisation, hashing, row checks. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "embed/embed.h"
#include "interrupt.h"

LtStatus lt_embed_tick(const LtEmbedProgress *p, const char *stage, int64_t done, int64_t total) {
  /* Ctrl-C first: a hook that never asks to stop still cannot keep a run from being interrupted. */
  if (lt_interrupt_pending()) return LT_EINTR;
  if (p && p->fn && p->fn(p->ctx, stage, done, total)) return LT_EINTR;
  return LT_OK;
}

int64_t lt_csr_nnz(const LtCsr *g) { return g->indptr ? g->indptr[g->n] : 0; }

void lt_csr_free(LtCsr *g) {
  free(g->indptr);
  free(g->indices);
  free(g->data);
  memset(g, 0, sizeof *g);
}

/* One entry of A or of A^T on its way into the symmetric matrix. */
typedef struct {
  int32_t col;
  int32_t from_t; /* 1: A_ji stored in row i (it came from A^T) */
  float v;
} SymEntry;

/* Orders a row's entries by column, then A before A^T. With distinct entries in each kNN list the
 * pair (col, from_t) is unique within a row, so the order is total and the result cannot depend on
 * how qsort treats equal keys. */
static int sym_entry_cmp(const void *a, const void *b) {
  const SymEntry *x = a, *y = b;
  if (x->col != y->col) return x->col < y->col ? -1 : 1;
  return (x->from_t > y->from_t) - (x->from_t < y->from_t);
}

/* a = A_ij and b = A_ji (0 when absent) are fuzzy memberships in [0, 1]. mix < 0 is t-SNE's plain
 * sum; otherwise the probabilistic sum a + b - ab (union) blended with the product ab
 * (intersection), as umap-learn's fuzzy_simplicial_set. */
static float sym_combine(double a, double b, double mix) {
  if (mix < 0) return (float)(a + b);
  double uni = a + b - a * b, inter = a * b;
  return (float)(mix * uni + (1.0 - mix) * inter);
}

/* Sorts each row's entries by column and merges A_ij with A_ji in place;
 * returns the merged count of row r in cnt[r]. Rows are independent, each
 * thread rewriting only its own (dynamic schedule: lengths follow the
 * in-degree). */
static void sym_merge_rows(SymEntry *e, const int64_t *start, int64_t n, double mix, int64_t *cnt) {
#pragma omp parallel for schedule(dynamic, 256)
  for (int64_t r = 0; r < n; r++) {
    SymEntry *row = e + start[r];
    int64_t m = start[r + 1] - start[r], out = 0;
    qsort(row, (size_t)m, sizeof *row, sym_entry_cmp);
    for (int64_t i = 0; i < m;) {
      double a = 0, b = 0;
      int32_t c = row[i].col;
      for (; i < m && row[i].col == c; i++) {
        if (row[i].from_t)
          b = row[i].v;
        else
          a = row[i].v;
      }
      /* Writing at `out` while reading at i is safe: out never passes the start of the group just
       * read. A combined value of 0 (intersection with a one-sided edge) drops the entry. */
      float v = sym_combine(a, b, mix);
      if (v != 0) {
        row[out].col = c;
        row[out].v = v;
        out++;
      }
    }
    cnt[r] = out;
  }
}

LtStatus lt_csr_symmetrize(LtCsr *g, int64_t n, int64_t k, const int64_t *cols, const float *vals,
                           double mix) {
  memset(g, 0, sizeof *g);
  /* Columns are stored as int32. The entry buffer holds 2 n k entries: checked before the
   * product is formed, since a wrapped size would allocate little and the fill below would write
   * (and read cols) far past it. */
  if (n < 0 || k < 0 || n > INT32_MAX) return LT_EVALUE;
  if (k > 0 && n > (int64_t)(SIZE_MAX / sizeof(SymEntry) / 2 - 1) / k) return LT_EOVERFLOW;
  /* start[] becomes the row offsets of the unmerged entries (every A_ij goes to row i and its
   * mirror to row j). The +1 on the entry buffer: malloc(0) may return NULL, which would read as
   * a failure for an empty input. */
  int64_t *start = calloc((size_t)n + 1, sizeof *start), *cnt = calloc((size_t)n + 1, sizeof *cnt);
  SymEntry *e = malloc(sizeof *e * (size_t)(2 * n * k + 1));
  if (!start || !cnt || !e) {
    free(start);
    free(cnt);
    free(e);
    return LT_ENOMEM;
  }
  for (int64_t i = 0; i < n; i++)
    for (int64_t j = 0; j < k; j++) {
      int64_t c = cols[i * k + j];
      if (c < 0 || c >= n || vals[i * k + j] == 0) continue;
      start[i + 1]++;
      start[c + 1]++;
    }
  /* Exclusive prefix sum: start[i] is row i's first slot. cnt then serves as each row's fill
   * cursor, and sym_merge_rows reuses it for the merged counts. */
  for (int64_t i = 0; i < n; i++) start[i + 1] += start[i];
  memcpy(cnt, start, sizeof *cnt * (size_t)n);
  for (int64_t i = 0; i < n; i++) /* counting sort by row, stable */
    for (int64_t j = 0; j < k; j++) {
      int64_t c = cols[i * k + j];
      float v = vals[i * k + j];
      if (c < 0 || c >= n || v == 0) continue;
      e[cnt[i]++] = (SymEntry){(int32_t)c, 0, v};
      e[cnt[c]++] = (SymEntry){(int32_t)i, 1, v};
    }
  sym_merge_rows(e, start, n, mix, cnt);
  g->n = n;
  g->indptr = malloc(sizeof *g->indptr * ((size_t)n + 1));
  int64_t nnz = 0;
  for (int64_t r = 0; r < n; r++) nnz += cnt[r];
  /* nnz + 1: an empty graph still gets non-NULL arrays. */
  g->indices = malloc(sizeof *g->indices * (size_t)(nnz + 1));
  g->data = malloc(sizeof *g->data * (size_t)(nnz + 1));
  if (!g->indptr || !g->indices || !g->data) {
    free(start);
    free(cnt);
    free(e);
    lt_csr_free(g);
    return LT_ENOMEM;
  }
  /* Merged rows are shorter than their slots in e: copy them out contiguously. */
  g->indptr[0] = 0;
  for (int64_t r = 0; r < n; r++) {
    int64_t o = g->indptr[r];
    for (int64_t i = 0; i < cnt[r]; i++) {
      g->indices[o + i] = e[start[r] + i].col;
      g->data[o + i] = e[start[r] + i].v;
    }
    g->indptr[r + 1] = o + cnt[r];
  }
  free(start);
  free(cnt);
  free(e);
  return LT_OK;
}

uint64_t lt_embed_hash(uint64_t seed, uint64_t a, uint64_t b) {
  /* Each input gets its own odd multiplier (the golden ratio and splitmix64's constants) so that
   * (a, b) and (b, a) land apart; a + 1 keeps a = 0 from cancelling the first term. Then
   * splitmix64's finaliser (Steele, Lea & Flood 2014) spreads every input bit over the output. */
  uint64_t z =
      seed + 0x9e3779b97f4a7c15ULL * (a + 1) + 0xbf58476d1ce4e5b9ULL * (b + 0x632be59bd9b4e019ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

int64_t lt_embed_first_bad_row(const float *x, int64_t n, int64_t d) {
  for (int64_t i = 0; i < n; i++) {
    float acc = 0; /* any NaN or inf makes the product NaN */
    for (int64_t j = 0; j < d; j++) acc += x[i * d + j] * 0.0f;
    if (acc != 0) return i;
  }
  return -1;
}

LT_EMBED_HOT float lt_embed_sqdist(const float *a, const float *b, int64_t d) {
  /* Eight independent partial sums let the compiler vectorise without reassociating (no
   * -ffast-math); the pairwise reduction below fixes the order of the final additions. */
  float s[8] = {0};
  int64_t j = 0;
  for (; j + 8 <= d; j += 8)
    for (int u = 0; u < 8; u++) {
      float t = a[j + u] - b[j + u];
      s[u] += t * t;
    }
  float tail = 0;
  for (; j < d; j++) {
    float t = a[j] - b[j];
    tail += t * t;
  }
  return ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7])) + tail;
}

/* Whether every element of the row is 0 (stops at the first that is not, usually the first). */
static int row_is_zero(const float *a, int64_t d) {
  for (int64_t j = 0; j < d; j++)
    if (a[j] != 0) return 0;
  return 1;
}

float lt_embed_cosdist2(const float *a, const float *b, int64_t d) {
  /* A zero row has no direction: scikit-learn's cosine_similarity takes it as 0 against anything,
   * a distance of 1, where |a - b|^2 would give 1 (half of it, 0.5) against a unit row. */
  if (row_is_zero(a, d) || row_is_zero(b, d)) return 2.0f;
  return lt_embed_sqdist(a, b, d);
}

void lt_embed_row_norms2(const float *x, int64_t n, int64_t d, float *out) {
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; i++) {
    double s = 0;
    /* Double: the norms enter |q|^2 + |x|^2 - 2 q.x, whose cancellation magnifies rounding. */
    for (int64_t j = 0; j < d; j++) s += (double)x[i * d + j] * x[i * d + j];
    out[i] = (float)s;
  }
}

void lt_embed_normalize_rows(const float *x, int64_t n, int64_t d, float *out) {
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; i++) {
    double s = 0;
    for (int64_t j = 0; j < d; j++) s += (double)x[i * d + j] * x[i * d + j];
    double inv = s > 0 ? 1.0 / sqrt(s) : 0.0;
    for (int64_t j = 0; j < d; j++) out[i * d + j] = (float)(x[i * d + j] * inv);
  }
}
