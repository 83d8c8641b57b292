/* select.h - data-subset selection: SAGE and the baselines it is judged against (core, no Lua). */
#ifndef LUNETTE_SELECT_H
#define LUNETTE_SELECT_H
#include <stddef.h>
#include "tensor/tensor.h"

/* Conventions shared by every function below.
 *
 * Matrices are contiguous row-major float32: X is n x d (one row per
 * training example: per-sample (projected) gradients, features or class
 * probabilities). Rows are 0-based here; the binding converts to 1-based.
 *
 * Rows are processed in groups: one group per class for class-balanced
 * selection, or a single group holding every row. Group c asks for k[c]
 * picks (1 <= k[c] <= its size; the binding checks) and the picks of all
 * groups are written, group after group, into one LtPick array of
 * sum(k) entries.
 *
 * Kernels never allocate: each method has a *_scratch function giving the
 * bytes of caller-owned scratch it needs (any alignment; it is carved in
 * 64-byte aligned pieces). Results do not depend on the OpenMP or BLAS
 * thread count: every per-row quantity is computed by one thread, sums
 * across rows run in a fixed order, and arg-max ties go to the lower row.
 *
 * Selections return LT_OK, LT_ENOMEM when the scratch is smaller than their
 * *_scratch function said, or LT_EINTR when interrupted (greedy methods poll
 * once per pick). Other failures are listed with each function. Inputs are
 * finite (the binding checks). */

typedef struct {
  int64_t n, ngroups;
  int64_t *order; /* n: the rows of group 0, then group 1, ...; ascending in each */
  int64_t *start; /* ngroups + 1: group c is order[start[c] .. start[c+1]) */
} LtGroups;

/* One selected row: its 0-based index, its pick rank inside its group
 * (0 = first; score-ranked methods use the rank in the sorted order), its
 * score (what the method maximised) and its weight (1 unless the method
 * yields weights). */
typedef struct {
  int64_t index, rank;
  double score, weight;
} LtPick;

/* Builds the groups by a counting sort of labels (n values in
 * 0..ngroups-1, already checked), or one group of every row when labels is
 * NULL (ngroups must be 1). order holds n entries, start ngroups + 1. */
void lt_select_groups(LtGroups *g, const int64_t *labels, int64_t n, int64_t ngroups,
                      int64_t *order, int64_t *start);

/* The first row of X (n x d) holding a NaN or an infinity, or -1. */
int64_t lt_select_first_nonfinite(const float *X, int64_t n, int64_t d);

/* Sorts picks[0..n): by score (descending when largest, else ascending),
 * or by (rank, then score) when by_rank, ties to the lower index. */
void lt_select_order(LtPick *picks, int64_t n, int by_rank, int largest);

/* ---- scores (one value per row; higher = keep first unless told) ------- */

/* SAGE agreement (arXiv 2510.02470; the seed's class_balanced_agreeing_
 * subset_fast): rows of G (n x d) are L2-normalised (zero rows stay zero),
 * each group's centroid is the mean of its normalised rows, and
 * score[i] = <normalised row i, centroid of its group>. cent is scratch of
 * LT_AGREE_PARTS x d doubles, norms of n floats; centroids (ngroups x
 * d, float32) receives the group centroids. */
#define LT_AGREE_PARTS 64
void lt_select_agreement(const float *G, int64_t n, int64_t d, const LtGroups *g, float *score,
                         float *centroids, double *cent, float *norms);

/* The pieces of lt_select_agreement, for a centroid summed over several processes (select.sage
 * under lunette.dist). lt_select_unit_norms: norms[i] = max(||G[i]||_2, 1e-12) as float.
 * lt_select_unit_sums: sum (d doubles) = the sum of group c's rows divided by their norms, in
 * lt_select_agreement's order (cent: LT_AGREE_PARTS x d doubles of scratch; sum may be its
 * last d). lt_select_agreement_given: score[i] = <row i, centroid of its group> / norms[i]
 * for given centroids (ngroups x d float32). Given centroids equal to lt_select_agreement's,
 * the scores are the same bits. */
void lt_select_unit_norms(const float *G, int64_t n, int64_t d, float *norms);
void lt_select_unit_sums(const float *G, int64_t d, const LtGroups *g, const float *norms,
                         int64_t c, double *sum, double *cent);
void lt_select_agreement_given(const float *G, int64_t d, const LtGroups *g, const float *norms,
                               const float *centroids, float *score);

/* score[i] = ||X[i]||_2 (GraNd, given per-sample gradients). */
void lt_select_row_norms(const float *X, int64_t n, int64_t d, float *score);

/* EL2N: score[i] = ||softmax-probabilities[i] - onehot(labels[i])||_2.
 * P is n x c probabilities, or logits when is_logits (a stable softmax is
 * taken row by row). Returns LT_EVALUE when a probability row has an entry
 * outside [0, 1] (the row is in *bad), LT_ERANGE when c > 4096 (the per-row
 * buffer lives on the stack). */
LtStatus lt_select_el2n(const float *P, int64_t n, int64_t c, const int64_t *labels, int is_logits,
                        float *score, int64_t *bad);

typedef enum { LT_UNC_LEAST_CONFIDENCE = 0, LT_UNC_MARGIN, LT_UNC_ENTROPY } LtUncertainty;
/* Uncertainty of the prediction P (n x c, c >= 2, probabilities or logits):
 * least confidence 1 - max p, margin p_2nd - p_max (higher = closer call),
 * or entropy -sum p log p. Same failure as lt_select_el2n. */
LtStatus lt_select_uncertainty(const float *P, int64_t n, int64_t c, LtUncertainty kind,
                               int is_logits, float *score, int64_t *bad);

/* Forgetting events (Toneva et al. 2019) from a correctness record R
 * (n x e, nonzero = classified correctly at epoch j): the number of
 * correct -> incorrect transitions; rows never correct score e (more than
 * any row can reach, as "forgotten infinitely often"). */
void lt_select_forgetting(const uint8_t *R, int64_t n, int64_t e, float *score);

/* ---- selections (write sum(k) picks) ----------------------------------- */

size_t lt_select_topk_scratch(const LtGroups *g);
/* The k[c] best rows of each group by score (largest or smallest first),
 * ties to the lower index; rank = position in that order. */
LtStatus lt_select_topk(const float *score, const LtGroups *g, const int64_t *k, int largest,
                        LtPick *out, void *scratch, size_t bytes);

size_t lt_select_random_scratch(const LtGroups *g, const int64_t *k);
/* k[c] distinct rows of each group drawn uniformly (seeded); score 0. */
LtStatus lt_select_random(const LtGroups *g, const int64_t *k, uint64_t seed, LtPick *out,
                          void *scratch, size_t bytes);

size_t lt_select_diverse_scratch(const LtGroups *g, int64_t d);
/* SAGE with a diversity penalty (the seed's select_agreeing_subset_with_
 * diversity, per group): with agreement a_i as above and unit rows u_i, the
 * first pick maximises a_i, every later one a_i - lambda * max_{j chosen}
 * <u_i, u_j>; score = that value at the pick. Exact greedy, evaluated
 * lazily (the penalty only grows once a row has been chosen). */
LtStatus lt_select_diverse(const float *G, int64_t n, int64_t d, const LtGroups *g,
                           const int64_t *k, double lambda, LtPick *out, void *scratch,
                           size_t bytes);

size_t lt_select_kcenter_scratch(const LtGroups *g, int64_t d);
/* k-center greedy (Sener & Savarese 2018) on features X (n x d), Euclidean:
 * start from first[c] (a row of group c, or -1: drawn with the seed), then
 * repeatedly take the row farthest from the chosen centres. score = that
 * distance (the first pick scores INFINITY). LT_EVALUE when first[c] is not
 * a row of group c. */
LtStatus lt_select_kcenter(const float *X, int64_t n, int64_t d, const LtGroups *g,
                           const int64_t *k, const int64_t *first, uint64_t seed, LtPick *out,
                           void *scratch, size_t bytes);

size_t lt_select_herding_scratch(const LtGroups *g, int64_t d);
/* Herding (Welling 2009; Chen et al. 2010): picks one row at a time so the
 * mean of the picks stays closest to the group mean mu. score = -||mu -
 * mean of the picks so far||. */
LtStatus lt_select_herding(const float *X, int64_t n, int64_t d, const LtGroups *g,
                           const int64_t *k, LtPick *out, void *scratch, size_t bytes);

size_t lt_select_glister_scratch(const LtGroups *g, int64_t d);
/* GLISTER's greedy (Killamsetty et al. 2021, as DeepCore runs it) on
 * per-sample gradients G (n x d): the gain of row j is <g_j, v_S> where
 * v_S = v - eta * mean of the chosen gradients is the validation gradient
 * at theta - eta * mean(chosen) under a quadratic Taylor model with
 * identity curvature - an approximation: GLISTER (CORDS, DeepCore)
 * recomputes the validation gradient at the updated last layer, whose
 * effect on the logits is about ||h||^2 times larger;
 * lt_select_glister_val below does that. val is the validation gradient: one row of d shared
 * by every group, or ngroups x d (one per class) when val_per_group.
 * score = the gain at the pick. */
LtStatus lt_select_glister(const float *G, int64_t n, int64_t d, const LtGroups *g,
                           const int64_t *k, const float *val, int val_per_group, double eta,
                           LtPick *out, void *scratch, size_t bytes);

/* GLISTER's validation rows for the last-layer update: nv rows of
 * penultimate features H (nv x f) and logits Z (nv x nc), float64
 * row-major, labels y (nv, 0-based classes < nc). With per_group, group c
 * is scored against the rows of class c only (each group must have one);
 * mean_update steps by the mean of the picks instead of their sum. */
typedef struct {
  const double *H, *Z;
  const int64_t *y;
  int64_t nv, f, nc;
  int per_group, mean_update;
} LtGlisterVal;

size_t lt_select_glister_val_scratch(const LtGroups *g, const LtGlisterVal *v);
/* GLISTER with the model update of Killamsetty et al. 2021 (CORDS's
 * GLISTERStrategy on the last layer): G (n x d, d = nc*f + nc) holds
 * last-layer per-sample gradients laid out as weight [nc x f] row-major,
 * then bias [nc]. Pick t of a group maximises <g_j, v_t>, where v_t is the
 * validation-loss gradient, mean over the group's validation rows of
 * (softmax(z_r - step * (W_S h_r + b_S)) - onehot(y_r)) x [h_r, 1], S the
 * sum of the t picks so far and step = eta (or eta / t with mean_update).
 * The logit shift is kept per validation row and grows by one pick's
 * W h + b at a time, so a pick costs one m x d pass over the group's
 * gradients plus O(nv * d). score = the gain at the pick. Returns LT_EVALUE
 * when a group has no validation row of its class. */
LtStatus lt_select_glister_val(const float *G, int64_t n, const LtGroups *g, const int64_t *k,
                               const LtGlisterVal *v, double eta, LtPick *out, void *scratch,
                               size_t bytes);

typedef enum { LT_FL_EUCLIDEAN = 0, LT_FL_COSINE } LtFlMetric;
size_t lt_select_craig_scratch(const LtGroups *g, int64_t d);
/* CRAIG (Mirzasoleiman et al. 2020): greedy facility location per group,
 * F(S) = sum_i max_{j in S} s_ij with s_ij = dmax - ||x_i - x_j|| (dmax =
 * the group's largest distance) or s_ij = 1 + cos(x_i, x_j), maximised by
 * lazy greedy with similarities computed on the fly in blocks (never n x n).
 * score = marginal gain; weight = how many rows of the group are closest to
 * the pick (the pick included), so the weights of a group sum to its size.
 * LT_ERANGE when a group's m x d block passes BLAS's int indices. */
LtStatus lt_select_craig(const float *X, int64_t n, int64_t d, const LtGroups *g, const int64_t *k,
                         LtFlMetric metric, LtPick *out, void *scratch, size_t bytes);

size_t lt_select_gradmatch_scratch(const LtGroups *g, const int64_t *k, int64_t d);
/* GradMatch (Killamsetty et al. 2021): per group, orthogonal matching
 * pursuit for non-negative weights w over at most k rows with
 * sum_j w_j g_j ~ b, b = the sum of the group's gradients (or target, d
 * values, when not NULL and there is one group). Each step adds the row
 * best correlated with the residual, then solves the ridge NNLS
 * min ||b - sum w_j g_j||^2 + lam ||w||^2, w >= 0 (active set with an
 * updated Cholesky factor), until k rows, a residual below tol * ||b||, or
 * no positive correlation. Picks whose weight ends at zero are dropped (as
 * CORDS keeps only OMP's nonzero weights), and the remaining picks are drawn
 * at random (seeded, weight 1, as CORDS does). lam is relative to the mean
 * squared row norm of the group (CORDS's lam is absolute). score =
 * correlation at the pick; weight = w > 0. LT_ERANGE when a k[c] exceeds
 * 8192 (the k x k factors would pass 512 MB each). */
LtStatus lt_select_gradmatch(const float *G, int64_t n, int64_t d, const LtGroups *g,
                             const int64_t *k, const float *target, double lam, double tol,
                             uint64_t seed, LtPick *out, void *scratch, size_t bytes);

#endif
