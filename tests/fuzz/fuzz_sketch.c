/* fuzz_sketch.c - libFuzzer harness: arbitrary bytes as a saved Frequent
 * Directions state through the core check and restore (no Lua), then the
 * restored sketch going on. The bytes, little-endian:
 *
 *   0   u8   variant (0 fast, 1 classic, anything else invalid)
 *   1   u8   storage dtype (an LtDtype code, anything else invalid)
 *   2   u8   rows dtype (LtDtype code, taken mod LT_NDTYPES)
 *   3   u8   rows ndim (mod 3: 0, 1 or 2 dims)
 *   4   i64  ell, dim, filled, rows_seen, rows shape[0], rows shape[1]
 *   52  f64  delta, rounding, sq_frob
 *   76  the rows, row-major (numel x size of the rows dtype), then float32
 *       rows of dim values to add once restored (whole rows only)
 *
 * A state that would not fit in the bytes is skipped (a tensor always
 * describes memory it has); every other one must be refused with a message
 * or restored into a sketch that keeps its promises. */
#include <math.h>
#include "fuzz.h"
#include "sketch/sketch.h"

#define HEADER    76
#define MAX_CAP   64        /* keep each run small: workspaces grow as cap^2 */
#define MAX_ELEMS (1 << 16) /* cap x dim */
#define MAX_ADD   64        /* rows added after the restore */

typedef struct {
  LtFdState s;
  Tensor rows;
  void *rows_mem;
  const uint8_t *rest; /* the bytes after the rows */
  size_t rest_n;
} Input;

static int64_t get_i64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
  return (int64_t)v;
}

static double get_f64(const uint8_t *p) {
  uint64_t v = (uint64_t)get_i64(p);
  double d;
  memcpy(&d, &v, sizeof d);
  return d;
}

/* Builds the rows tensor over a copy of its bytes; 0 when they are not there. */
static int parse_rows(const uint8_t *data, size_t n, Input *in) {
  int nd = data[3] % 3;
  LtDtype dt = (LtDtype)(data[2] % LT_NDTYPES);
  uint64_t numel = 1, es = lt_dtype_size(dt);
  memset(&in->rows, 0, sizeof in->rows);
  in->rows.dtype = dt;
  in->rows.ndim = nd;
  for (int i = 0; i < nd; i++) {
    int64_t v = get_i64(data + 36 + 8 * i);
    if (v < 0 || (v > 0 && numel > (uint64_t)(n / es) / (uint64_t)v)) return 0;
    in->rows.shape[i] = v;
    numel *= (uint64_t)v;
  }
  int64_t step = 1;
  for (int i = nd - 1; i >= 0; i--) {
    in->rows.stride[i] = step;
    step *= in->rows.shape[i] > 0 ? in->rows.shape[i] : 1;
  }
  if (numel * es > n - HEADER) return 0;
  in->rows_mem = malloc(numel * es ? numel * es : 1);
  FUZZ_CHECK(in->rows_mem != NULL);
  memcpy(in->rows_mem, data + HEADER, numel * es);
  in->rows.data = in->rows_mem;
  in->rest = data + HEADER + numel * es;
  in->rest_n = n - HEADER - numel * es;
  return 1;
}

static int parse(const uint8_t *data, size_t n, Input *in) {
  if (n < HEADER) return 0;
  LtFdState *s = &in->s;
  s->variant = data[0];
  s->store = data[1];
  s->ell = get_i64(data + 4);
  s->dim = get_i64(data + 12);
  s->filled = get_i64(data + 20);
  s->rows_seen = get_i64(data + 28);
  s->delta = get_f64(data + 52);
  s->rounding = get_f64(data + 60);
  s->sq_frob = get_f64(data + 68);
  s->rows = &in->rows;
  return parse_rows(data, n, in);
}

/* The state of a live sketch (its buffer as the rows, as fd:state() gives). */
static LtFdState state_of(const LtFd *fd, Tensor *rows) {
  LtFdState s = {fd->ell,   fd->dim,   fd->filled,   fd->rows_seen, fd->variant,
                 fd->store, fd->delta, fd->rounding, fd->sq_frob,   rows};
  Tensor t = {fd->buf, fd->store, LT_CPU, 2, {fd->filled, fd->dim}, {fd->dim, 1}};
  *rows = t;
  return s;
}

/* A sketch's own state always passes the check (its invariants hold). */
static void check_own_state(const LtFd *fd) {
  Tensor rows;
  char msg[160] = "";
  LtFdState s = state_of(fd, &rows);
  if (lt_fd_state_check(&s, msg, sizeof msg) != LT_OK) {
    fprintf(stderr, "own state refused: %s\n", msg);
    abort();
  }
}

/* Adds the trailing float32 rows, then finalizes; checks what each promises. */
static void go_on(LtFd *fd, LtFdWork *w, const Input *in) {
  int64_t k = (int64_t)(in->rest_n / (4 * (size_t)fd->dim));
  k = k > MAX_ADD ? MAX_ADD : k;
  float *x = malloc((size_t)(k * fd->dim + 1) * sizeof(float)), *out;
  FUZZ_CHECK(x != NULL);
  memcpy(x, in->rest, (size_t)(k * fd->dim) * sizeof(float));
  Tensor t = {x, LT_F32, LT_CPU, 2, {k, fd->dim}, {fd->dim, 1}};
  LtFd before = *fd;
  LtStatus st = lt_fd_add(fd, w, &t);
  FUZZ_CHECK(st == LT_OK || st == LT_EVALUE || st == LT_ERANGE || st == LT_ELAPACK);
  if (st == LT_EVALUE || (st == LT_ERANGE && fd->filled < fd->cap))
    FUZZ_CHECK(fd->rows_seen == before.rows_seen && fd->filled == before.filled);
  if (fd->filled < fd->cap) check_own_state(fd);
  out = malloc((size_t)(fd->ell * fd->dim) * sizeof(float));
  FUZZ_CHECK(out != NULL);
  Tensor o = {out, LT_F32, LT_CPU, 2, {fd->ell, fd->dim}, {fd->dim, 1}};
  st = lt_fd_finalize(fd, w, &o);
  FUZZ_CHECK(st == LT_OK || st == LT_ERANGE || st == LT_ELAPACK);
  if (st == LT_OK) {
    double bound = lt_fd_error_bound(fd);
    FUZZ_CHECK(bound >= 0 && !isnan(bound));
    FUZZ_CHECK(fd->filled <= fd->ell);
    for (int64_t i = 0; i < fd->ell * fd->dim; i++) FUZZ_CHECK(isfinite(out[i]));
    check_own_state(fd);
  }
  free(out);
  free(x);
}

/* Restores a checked state (when small enough) and lets it go on. */
static void restore(const Input *in) {
  const LtFdState *s = &in->s;
  int64_t cap = lt_fd_capacity((LtFdVariant)s->variant, s->ell);
  if (cap > MAX_CAP || cap * s->dim > MAX_ELEMS) return;
  size_t es = lt_dtype_size((LtDtype)s->store);
  void *buf = calloc((size_t)(cap * s->dim), es);
  float *wf = malloc(lt_fd_work_floats(cap) * sizeof(float));
  double *wd = malloc(lt_fd_work_doubles(cap) * sizeof(double));
  FUZZ_CHECK(buf && wf && wd);
  LtFd fd;
  LtFdWork w;
  lt_fd_init(&fd, (LtFdVariant)s->variant, s->ell, s->dim, (LtDtype)s->store, buf);
  lt_fd_work_init(&w, cap, wf, wd);
  lt_fd_restore(&fd, s);
  FUZZ_CHECK(fd.filled == s->filled && fd.rows_seen == s->rows_seen);
  FUZZ_CHECK(fd.delta == s->delta && fd.sq_frob == s->sq_frob);
  FUZZ_CHECK(fd.rounding >= s->rounding && isfinite(fd.rounding));
  check_own_state(&fd);
  go_on(&fd, &w, in);
  free(buf);
  free(wf);
  free(wd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n) {
  Input in;
  char msg[160];
  memset(&in, 0, sizeof in);
  if (!parse(data, n, &in)) {
    free(in.rows_mem);
    return 0;
  }
  memset(msg, 0x55, sizeof msg);
  LtStatus st = lt_fd_state_check(&in.s, msg, sizeof msg);
  if (st != LT_OK) {
    FUZZ_CHECK(st == LT_EVALUE);
    FUZZ_CHECK(memchr(msg, 0, sizeof msg) != NULL && msg[0] != 0);
  } else {
    restore(&in);
  }
  free(in.rows_mem);
  return 0;
}
