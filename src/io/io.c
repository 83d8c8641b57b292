/* io.c - the shared core of the file formats: allocation gateway, checked sizes, element
 * conversion, atomic writers. */
#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "io/io.h"

/* ---- context and allocation ---------------------------------------------- */

uint64_t io_default_cap(void) {
  long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
  uint64_t half = (pages > 0 && psize > 0) ? (uint64_t)pages * (uint64_t)psize / 2 : 0;
  /* sysconf answers -1 where it cannot tell; the 256 MiB floor then stands in, and keeps small
   * containers able to read ordinary files. */
  return half < ((uint64_t)256 << 20) ? ((uint64_t)256 << 20) : half;
}

void io_ctx_init(IoCtx *c) {
  memset(c, 0, sizeof *c);
  c->max_inflate = c->max_alloc = io_default_cap();
  c->fail_at = -1;
}

LtStatus io_fail(IoCtx *c, LtStatus st, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(c->msg, sizeof c->msg, fmt, ap);
  va_end(ap);
  return st;
}

void *io_alloc(IoCtx *c, size_t n) {
  int64_t k = c->nalloc++;
  /* Counted before any other check, so the Nth call fails whatever its size: a test can walk
   * fail_at over every allocation of a reader and check each error path frees what it took. */
  if (c->fail_at >= 0 && k == c->fail_at) {
    io_fail(c, LT_ENOMEM, "not enough memory (injected failure at allocation %lld)", (long long)k);
    return NULL;
  }
  /* Written as used > max - n so that used + n cannot overflow. */
  if (n > c->max_alloc || c->used > c->max_alloc - n) {
    io_fail(c, LT_ENOMEM, "needs %zu more bytes of working memory, over the %llu-byte limit", n,
            (unsigned long long)c->max_alloc);
    return NULL;
  }
  /* malloc(0) may return NULL; one byte keeps NULL meaning failure only. */
  void *p = malloc(n ? n : 1);
  if (!p) {
    io_fail(c, LT_ENOMEM, "not enough memory for %zu bytes", n);
    return NULL;
  }
  c->used += n;
  return p;
}

void *io_calloc(IoCtx *c, size_t n) {
  void *p = io_alloc(c, n);
  if (p) memset(p, 0, n);
  return p;
}

void io_free(IoCtx *c, void *p, size_t n) {
  if (!p) return;
  free(p);
  /* Saturates: a size mismatch must not wrap `used` and make every later allocation fail. */
  c->used -= n <= c->used ? n : c->used;
}

/* ---- checked sizes -------------------------------------------------------- */

int io_mul_u64(uint64_t a, uint64_t b, uint64_t *out) { return !__builtin_mul_overflow(a, b, out); }
int io_add_u64(uint64_t a, uint64_t b, uint64_t *out) { return !__builtin_add_overflow(a, b, out); }

const char *io_shape_str(int ndim, const int64_t *shape, char *buf, size_t n) {
  size_t k = 0;
  if (n < 3) {
    if (n) buf[0] = 0;
    return buf;
  }
  buf[k++] = '[';
  /* k + 24 < n leaves room for 'x', 20 digits, ']' and the NUL: a shape too long for buf is cut
   * short, still bracketed. */
  for (int i = 0; i < ndim && k + 24 < n; i++)
    k += (size_t)snprintf(buf + k, n - k, i ? "x%lld" : "%lld", (long long)shape[i]);
  if (k + 2 > n) k = n - 2;
  buf[k++] = ']';
  buf[k] = 0;
  return buf;
}

LtStatus io_check_shape(IoCtx *c, const char *what, int ndim, const int64_t *shape, size_t elem,
                        uint64_t *numel, uint64_t *nbytes) {
  if (ndim < 0 || ndim > LT_MAXDIM)
    return io_fail(c, LT_ERANGE, "%s has %d dims (at most %d supported)", what, ndim, LT_MAXDIM);
  uint64_t n = 1, b;
  for (int i = 0; i < ndim; i++) {
    if (shape[i] < 0)
      return io_fail(c, LT_ERANGE, "%s has a negative size (%lld)", what, (long long)shape[i]);
    if (!io_mul_u64(n, (uint64_t)shape[i], &n))
      return io_fail(c, LT_ERANGE, "%s overflows (element count does not fit in 64 bits)", what);
  }
  if (!io_mul_u64(n, elem, &b) || b > IO_MAX_TENSOR_BYTES)
    return io_fail(c, LT_ERANGE, "%s is too large (%llu elements of %zu bytes)", what,
                   (unsigned long long)n, elem);
  if (numel) *numel = n;
  if (nbytes) *nbytes = b;
  return LT_OK;
}

/* ---- stored element types ------------------------------------------------- */

/* Indexed by IoStype. dt is the dtype the stored type loads as: the narrow integer types widen
 * (io.h). */
static const struct {
  size_t size;
  LtDtype dt;
  const char *name;
} STYPES[IO_NSTYPES] = {
    [IO_B1] = {1, LT_BOOL, "bool"},   [IO_U1] = {1, LT_U8, "uint8"},
    [IO_I1] = {1, LT_I32, "int8"},    [IO_I2] = {2, LT_I32, "int16"},
    [IO_U2] = {2, LT_I32, "uint16"},  [IO_I4] = {4, LT_I32, "int32"},
    [IO_U4] = {4, LT_I64, "uint32"},  [IO_I8] = {8, LT_I64, "int64"},
    [IO_F2] = {2, LT_F16, "float16"}, [IO_BF2] = {2, LT_BF16, "bfloat16"},
    [IO_F4] = {4, LT_F32, "float32"}, [IO_F8] = {8, LT_F64, "float64"},
};

size_t io_stype_size(IoStype st) { return STYPES[st].size; }
LtDtype io_stype_dtype(IoStype st) { return STYPES[st].dt; }
const char *io_stype_name(IoStype st) { return STYPES[st].name; }

IoStype io_stype_of(LtDtype dt) {
  switch (dt) {
  case LT_F32: return IO_F4;
  case LT_F64: return IO_F8;
  case LT_F16: return IO_F2;
  case LT_BF16: return IO_BF2;
  case LT_I64: return IO_I8;
  case LT_I32: return IO_I4;
  case LT_U8: return IO_U1;
  /* LT_BOOL, the only dtype left. */
  default: return IO_B1;
  }
}

/* memcpy through a local: elements sit at whatever offset the file put them, so a cast pointer
 * could be misaligned. */
void io_bswap(void *buf, uint64_t n, size_t w) {
  uint8_t *p = buf;
  if (w == 2)
    for (uint64_t i = 0; i < n; i++) {
      uint16_t v;
      memcpy(&v, p + 2 * i, 2);
      v = __builtin_bswap16(v);
      memcpy(p + 2 * i, &v, 2);
    }
  else if (w == 4)
    for (uint64_t i = 0; i < n; i++) {
      uint32_t v;
      memcpy(&v, p + 4 * i, 4);
      v = __builtin_bswap32(v);
      memcpy(p + 4 * i, &v, 4);
    }
  else if (w == 8)
    for (uint64_t i = 0; i < n; i++) {
      uint64_t v;
      memcpy(&v, p + 8 * i, 8);
      v = __builtin_bswap64(v);
      memcpy(p + 8 * i, &v, 8);
    }
}

/* Widening conversions read element i from the tail and write it at the
 * front; since the output is wider, the write never reaches an input not
 * yet read (see io.h). */
static void widen(IoStype st, uint8_t *buf, uint64_t n) {
  size_t ss = STYPES[st].size, ds = lt_dtype_size(STYPES[st].dt);
  /* where io_convert's caller put the stored bytes: the last n * ss bytes of buf */
  const uint8_t *src = buf + n * (ds - ss);
  for (uint64_t i = 0; i < n; i++) {
    const uint8_t *s = src + i * ss;
    if (st == IO_I1) {
      int32_t v = (int8_t)s[0];
      memcpy(buf + 4 * i, &v, 4);
    } else if (st == IO_I2) {
      int16_t x;
      memcpy(&x, s, 2);
      int32_t v = x;
      memcpy(buf + 4 * i, &v, 4);
    } else if (st == IO_U2) {
      uint16_t x;
      memcpy(&x, s, 2);
      int32_t v = x;
      memcpy(buf + 4 * i, &v, 4);
    } else {
      uint32_t x;
      memcpy(&x, s, 4);
      int64_t v = x;
      memcpy(buf + 8 * i, &v, 8);
    }
  }
}

/* Element i of stored type st at p, as a float. */
static float stored_f32(IoStype st, const uint8_t *p) {
  switch (st) {
  case IO_B1:
  case IO_U1: return (float)p[0];
  case IO_I1: return (float)(int8_t)p[0];
  case IO_I2: {
    int16_t v;
    memcpy(&v, p, 2);
    return (float)v;
  }
  case IO_U2: {
    uint16_t v;
    memcpy(&v, p, 2);
    return (float)v;
  }
  case IO_I4: {
    int32_t v;
    memcpy(&v, p, 4);
    return (float)v;
  }
  case IO_U4: {
    uint32_t v;
    memcpy(&v, p, 4);
    return (float)v;
  }
  case IO_F2: {
    uint16_t v;
    memcpy(&v, p, 2);
    return lt_f16_to_f32(v);
  }
  case IO_BF2: {
    uint16_t v;
    memcpy(&v, p, 2);
    return lt_bf16_to_f32(v);
  }
  default: {
    float v;
    memcpy(&v, p, 4);
    return v;
  }
  }
}

void io_convert_f32(IoStype st, int swap, void *buf, uint64_t n, float scale) {
  size_t ss = STYPES[st].size;
  float *o = buf;
  const uint8_t *src = (const uint8_t *)buf + n * (4 - ss);
  /* Swap in place while the bytes are still the stored ones, before anything overwrites them. */
  if (swap && ss > 1) io_bswap((uint8_t *)buf + n * (4 - ss), n, ss);
  /* uint8 pixels (read_idx with a scale) are the common case: no switch per element. */
  if (st == IO_U1) {
    for (uint64_t i = 0; i < n; i++) o[i] = (float)src[i] * scale;
    return;
  }
  for (uint64_t i = 0; i < n; i++) o[i] = stored_f32(st, src + i * ss) * scale;
}

void io_convert(IoStype st, int swap, void *buf, uint64_t n) {
  size_t ss = STYPES[st].size, ds = lt_dtype_size(STYPES[st].dt);
  uint8_t *p = buf;
  if (swap && ss > 1) io_bswap(p + n * (ds - ss), n, ss);
  /* Files may store any non-zero byte as true; lunette's bools are 0 or 1. */
  if (st == IO_B1) {
    for (uint64_t i = 0; i < n; i++) p[i] = p[i] != 0;
    return;
  }
  /* Types stored at their lunette width are final once swapped. */
  if (ds != ss) widen(st, p, n);
}

/* ---- atomic writers -------------------------------------------------------- */

/* Turns the writer's errno into the io status and message. */
static LtStatus writer_status(IoCtx *c, const IoWriter *w, int e) {
  if (!e) return LT_OK;
  if (e == EINTR) return io_fail(c, LT_EINTR, "interrupted");
  return io_fail(c, LT_EVALUE, "%s (%s)", w->what ? w->what : "write failed", strerror(e));
}

LtStatus io_writer_open(IoCtx *c, IoWriter *w, const char *path) {
  size_t n = strlen(path);
  /* Closed before any check, so io_writer_abort after a failure here does nothing. The two path
   * checks repeat lt_atomic_open's to give a message without an errno suffix. */
  w->live = 0;
  if (n == 0) return io_fail(c, LT_EVALUE, "empty path");
  if (path[n - 1] == '/') return io_fail(c, LT_EVALUE, "is a directory");
  return writer_status(c, w, lt_atomic_open(w, path));
}

LtStatus io_writer_pwrite(IoCtx *c, IoWriter *w, uint64_t off, const void *p, size_t n) {
  return writer_status(c, w, lt_atomic_pwrite(w, off, p, n));
}

LtStatus io_writer_write(IoCtx *c, IoWriter *w, const void *p, size_t n) {
  return writer_status(c, w, lt_atomic_write(w, p, n));
}

LtStatus io_writer_commit(IoCtx *c, IoWriter *w) {
  return writer_status(c, w, lt_atomic_commit(w));
}

void io_writer_abort(IoCtx *c, IoWriter *w) {
  (void)c;
  lt_atomic_abort(w);
}

/* ---- directories ------------------------------------------------------------ */

static LtStatus make_one(IoCtx *c, const char *dir) {
  struct stat sb;
  if (stat(dir, &sb) == 0) {
    return S_ISDIR(sb.st_mode) ? LT_OK
                               : io_fail(c, LT_EVALUE, "%s exists and is not a directory", dir);
  }
  /* EEXIST: another process made it between stat and mkdir; fine if it is a directory. */
  if (mkdir(dir, 0777) == 0 || (errno == EEXIST && stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode)))
    return LT_OK;
  return io_fail(c, LT_EVALUE, "cannot create directory %s (%s)", dir, strerror(errno));
}

LtStatus io_makedirs(IoCtx *c, const char *path) {
  char buf[PATH_MAX];
  size_t n = strlen(path);
  if (n == 0) return io_fail(c, LT_EVALUE, "empty path");
  if (n >= sizeof buf)
    return io_fail(c, LT_EVALUE, "path longer than %d bytes", (int)sizeof buf - 1);
  memcpy(buf, path, n + 1);
  /* Trailing slashes go ("a/b/" is "a/b"); then each prefix that ends before a '/' is made in
   * turn, and the whole path last: i starts at 1 so the root of an absolute path is not made, and
   * the second '/' of a doubled one is skipped. */
  while (n > 1 && buf[n - 1] == '/') buf[--n] = 0;
  for (size_t i = 1; i < n; i++) {
    if (buf[i] != '/' || buf[i - 1] == '/') continue;
    buf[i] = 0;
    LtStatus st = make_one(c, buf);
    buf[i] = '/';
    if (st) return st;
  }
  return make_one(c, buf);
}
