/* io_npy.c - NumPy .npy header grammar (never evaluated) and header writer. */
#include <stdio.h>
#include <string.h>
#include "io/io_npy.h"

static const uint8_t MAGIC[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};

/* A cursor over the header's dict literal. The header is data from the file: NumPy's own reader
 * evaluates it as a Python literal; this grammar only accepts what NumPy writes. */
typedef struct {
  const char *p, *end;
  IoCtx *c;
} Lex;

static void skip_ws(Lex *x) {
  while (x->p < x->end && (*x->p == ' ' || *x->p == '\t')) x->p++;
}

static int eat(Lex *x, char ch) {
  skip_ws(x);
  if (x->p < x->end && *x->p == ch) {
    x->p++;
    return 1;
  }
  return 0;
}

/* A quoted Python string without escapes (dtype names and keys need none). */
static LtStatus read_str(Lex *x, char *out, size_t cap) {
  skip_ws(x);
  if (x->p >= x->end || (*x->p != '\'' && *x->p != '"'))
    return io_fail(x->c, LT_EVALUE, "header: string expected at '%.*s'",
                   (int)(x->end - x->p < 12 ? x->end - x->p : 12), x->p);
  char q = *x->p++;
  size_t n = 0;
  while (x->p < x->end && *x->p != q) {
    if (*x->p == '\\' || n + 1 >= cap)
      return io_fail(x->c, LT_EVALUE, "header: unsupported string");
    out[n++] = *x->p++;
  }
  if (x->p >= x->end) return io_fail(x->c, LT_EVALUE, "header: unterminated string");
  x->p++;
  out[n] = 0;
  return LT_OK;
}

/* The value of 'fortran_order': Python's True or False. */
static LtStatus read_bool(Lex *x, int *v) {
  skip_ws(x);
  if (x->end - x->p >= 4 && !memcmp(x->p, "True", 4)) {
    x->p += 4;
    *v = 1;
    return LT_OK;
  }
  if (x->end - x->p >= 5 && !memcmp(x->p, "False", 5)) {
    x->p += 5;
    *v = 0;
    return LT_OK;
  }
  return io_fail(x->c, LT_EVALUE, "header: 'fortran_order' must be True or False");
}

/* One dimension of 'shape': decimal digits that fit int64, nothing else. */
static LtStatus read_int(Lex *x, int64_t *v) {
  skip_ws(x);
  if (x->p < x->end && *x->p == '-')
    return io_fail(x->c, LT_ERANGE, "header: negative dimension in 'shape'");
  if (x->p >= x->end || *x->p < '0' || *x->p > '9')
    return io_fail(x->c, LT_EVALUE, "header: 'shape' must be a tuple of integers");
  uint64_t n = 0;
  while (x->p < x->end && *x->p >= '0' && *x->p <= '9') {
    /* Both halves checked before n * 10 + d is formed in full. */
    if (n > (uint64_t)INT64_MAX / 10 || n * 10 + (uint64_t)(*x->p - '0') > (uint64_t)INT64_MAX)
      return io_fail(x->c, LT_ERANGE, "header: dimension too large in 'shape'");
    n = n * 10 + (uint64_t)(*x->p++ - '0');
  }
  if (x->p < x->end && *x->p == 'L') x->p++; /* Python 2 writers: (3L,) */
  if (x->p < x->end && (*x->p == '.' || *x->p == 'e' || *x->p == 'E'))
    return io_fail(x->c, LT_EVALUE, "header: 'shape' must be a tuple of integers");
  *v = (int64_t)n;
  return LT_OK;
}

/* 'shape': a tuple of sizes. "()" is a 0-d array, "(3,)" has its trailing comma and "(2, 3)" may
 * or may not. */
static LtStatus read_shape(Lex *x, IoArray *a) {
  if (!eat(x, '(')) return io_fail(x->c, LT_EVALUE, "header: 'shape' must be a tuple");
  a->ndim = 0;
  while (!eat(x, ')')) {
    int64_t v = 0;
    if (a->ndim == LT_MAXDIM)
      return io_fail(x->c, LT_ERANGE, "header: more than %d dims in 'shape'", LT_MAXDIM);
    LtStatus st = read_int(x, &v);
    if (st) return st;
    a->shape[a->ndim++] = v;
    if (!eat(x, ',')) {
      if (!eat(x, ')')) return io_fail(x->c, LT_EVALUE, "header: malformed 'shape' tuple");
      break;
    }
  }
  return LT_OK;
}

/* 'descr': a byte order, then a type code and its size in bytes. */
static LtStatus parse_descr(IoCtx *c, const char *d, IoArray *a) {
  static const struct {
    const char *code;
    IoStype st;
  } T[] = {
      {"b1", IO_B1}, {"u1", IO_U1}, {"i1", IO_I1}, {"i2", IO_I2}, {"u2", IO_U2}, {"i4", IO_I4},
      {"u4", IO_U4}, {"i8", IO_I8}, {"f2", IO_F2}, {"f4", IO_F4}, {"f8", IO_F8},
  };
  /* '=' (native) and '|' (no order, one byte) read as little-endian, as lunette assumes a
   * little-endian host: only '>' needs a swap. */
  char order = '=';
  const char *code = d;
  if (*d && strchr("<>|=", *d)) {
    order = *d;
    code = d + 1;
  }
  if (code[0] == 'O')
    return io_fail(c, LT_EDTYPE, "object arrays are not supported (they would need unpickling)");
  /* Fixed-width text: 'U' UTF-32 code units, 'S' (and its old name 'a') bytes. */
  if ((code[0] == 'U' || code[0] == 'S' || code[0] == 'a') && code[1] >= '1' && code[1] <= '9') {
    int64_t n = 0;
    const char *q = code + 1;
    while (*q >= '0' && *q <= '9' && n <= IO_NPY_MAX_TEXT) n = n * 10 + (*q++ - '0');
    if (*q || n > IO_NPY_MAX_TEXT) return io_fail(c, LT_EDTYPE, "unsupported dtype '%s'", d);
    a->text = code[0] == 'U' ? 'U' : 'S';
    a->text_len = n;
    a->st = a->text == 'U' ? IO_U4 : IO_U1;
    a->swap = order == '>' && a->text == 'U';
    return LT_OK;
  }
  for (size_t i = 0; i < sizeof T / sizeof T[0]; i++)
    if (!strcmp(code, T[i].code)) {
      a->st = T[i].st;
      a->swap = order == '>' && io_stype_size(T[i].st) > 1;
      return LT_OK;
    }
  if (!strcmp(code, "u8"))
    return io_fail(c, LT_EDTYPE, "dtype uint64 is not supported (lunette has no uint64)");
  return io_fail(c, LT_EDTYPE, "unsupported dtype '%s'", d);
}

/* Parses the dict literal between the braces. */
static LtStatus parse_dict(IoCtx *c, const char *h, size_t n, IoArray *a) {
  Lex x = {h, h + n, c};
  char key[32], descr[64];
  /* seen: one bit per required key, so a key given twice or left out is caught. */
  int seen = 0;
  if (!eat(&x, '{')) return io_fail(c, LT_EVALUE, "header is not a dict literal");
  while (!eat(&x, '}')) {
    LtStatus st = read_str(&x, key, sizeof key);
    if (st) return st;
    if (!eat(&x, ':')) return io_fail(c, LT_EVALUE, "header: ':' expected after '%s'", key);
    int bit = !strcmp(key, "descr")           ? 1
              : !strcmp(key, "fortran_order") ? 2
              : !strcmp(key, "shape")         ? 4
                                              : 0;
    if (!bit) return io_fail(c, LT_EVALUE, "header: unexpected key '%s'", key);
    if (seen & bit) return io_fail(c, LT_EVALUE, "header: duplicate key '%s'", key);
    seen |= bit;
    if (bit == 1) {
      skip_ws(&x);
      /* A list of fields is a structured dtype; say so rather than "string expected". */
      if (x.p < x.end && x.p[0] == '[')
        return io_fail(c, LT_EDTYPE, "structured dtypes are not supported");
      if ((st = read_str(&x, descr, sizeof descr))) return st;
      if ((st = parse_descr(c, descr, a))) return st;
    } else if (bit == 2) {
      if ((st = read_bool(&x, &a->fortran))) return st;
    } else if ((st = read_shape(&x, a)))
      return st;
    if (!eat(&x, ',')) {
      if (!eat(&x, '}')) return io_fail(c, LT_EVALUE, "header: ',' or '}' expected");
      break;
    }
  }
  skip_ws(&x);
  if (x.p != x.end) return io_fail(c, LT_EVALUE, "header: unexpected text after the dict");
  if (seen != 7)
    return io_fail(c, LT_EVALUE, "header lacks '%s'",
                   !(seen & 1)   ? "descr"
                   : !(seen & 2) ? "fortran_order"
                                 : "shape");
  return LT_OK;
}

/* A text array's characters become its last dimension (see IoArray). */
static LtStatus text_dim(IoCtx *c, IoArray *a) {
  if (a->fortran && a->ndim > 1)
    return io_fail(c, LT_EDTYPE, "Fortran-order string arrays are not supported");
  a->fortran = 0; /* one dimension: the same bytes in either order */
  if (a->ndim >= LT_MAXDIM) return io_fail(c, LT_EVALUE, "string array has too many dimensions");
  a->shape[a->ndim++] = a->text_len;
  return LT_OK;
}

LtStatus io_npy_parse(IoCtx *c, IoSrc *s, int exact, IoArray *a) {
  uint8_t pre[12];
  uint64_t size = io_src_size(s);
  memset(a, 0, sizeof *a);
  /* The preamble: 6 magic bytes, the version (major, minor), and the header length, 2 bytes (v1)
   * or 4 (v2, v3: v3 only allows UTF-8 in the header, which changes nothing here). */
  if (size != IO_SIZE_UNKNOWN && size < 10)
    return io_fail(c, LT_EVALUE, "too short to be a .npy file (%llu bytes)",
                   (unsigned long long)size);
  LtStatus st = io_src_read(c, s, 0, pre, 10);
  if (st) return st;
  if (memcmp(pre, MAGIC, 6)) return io_fail(c, LT_EVALUE, "not a .npy file (bad magic)");
  int major = pre[6], minor = pre[7];
  if (major < 1 || major > 3 || minor != 0)
    return io_fail(c, LT_EVALUE, "unsupported .npy version %d.%d", major, minor);
  uint64_t hlen = io_le16(pre + 8), start = 10;
  if (major >= 2) {
    if ((st = io_src_read(c, s, 10, pre + 10, 2))) return st;
    hlen = io_le32(pre + 8);
    start = 12;
  }
  /* Capped before the allocation below: a v2 header may claim 4 GiB. */
  if (hlen > IO_NPY_MAX_HEADER)
    return io_fail(c, LT_ERANGE, "header length %llu exceeds the %d-byte limit",
                   (unsigned long long)hlen, IO_NPY_MAX_HEADER);
  if (size != IO_SIZE_UNKNOWN && start + hlen > size)
    return io_fail(c, LT_EVALUE, "header length %llu runs past the end of the %llu-byte file",
                   (unsigned long long)hlen, (unsigned long long)size);
  char *h = io_alloc(c, hlen + 1);
  if (!h) return LT_ENOMEM;
  st = io_src_read(c, s, start, h, hlen);
  h[hlen] = 0;
  if (st == LT_OK && (hlen == 0 || h[hlen - 1] != '\n'))
    st = io_fail(c, LT_EVALUE, "header does not end with a newline");
  if (st == LT_OK) {
    /* NumPy pads the dict with spaces up to the newline; the grammar never sees them. */
    size_t n = hlen - 1;
    while (n > 0 && (h[n - 1] == ' ' || h[n - 1] == '\n' || h[n - 1] == '\r')) n--;
    st = parse_dict(c, h, n, a);
  }
  io_free(c, h, hlen + 1);
  if (st) return st;
  if (a->text && (st = text_dim(c, a))) return st;
  if (a->fortran) /* stored as the C order of the reversed shape */
    for (int i = 0; i < a->ndim / 2; i++) {
      int64_t t = a->shape[i];
      a->shape[i] = a->shape[a->ndim - 1 - i];
      a->shape[a->ndim - 1 - i] = t;
    }
  if ((st = io_check_shape(c, "shape", a->ndim, a->shape, io_stype_size(a->st), NULL, &a->nbytes)))
    return st;
  a->offset = start + hlen;
  /* a->offset <= size: the header check above kept start + hlen within the file. */
  if (exact && size != IO_SIZE_UNKNOWN && size - a->offset != a->nbytes) {
    if (size - a->offset < a->nbytes)
      return io_fail(c, LT_EVALUE,
                     "truncated: the header promises %llu data bytes, the file holds %llu",
                     (unsigned long long)a->nbytes, (unsigned long long)(size - a->offset));
    return io_fail(c, LT_EVALUE, "%llu bytes of trailing data after the array",
                   (unsigned long long)(size - a->offset - a->nbytes));
  }
  return LT_OK;
}

/* The descr NumPy writes for a lunette dtype; NULL for bfloat16, which NumPy lacks. */
static const char *descr_of(LtDtype dt) {
  switch (dt) {
  case LT_F32: return "<f4";
  case LT_F64: return "<f8";
  case LT_F16: return "<f2";
  case LT_I64: return "<i8";
  case LT_I32: return "<i4";
  case LT_U8: return "|u1";
  case LT_BOOL: return "|b1";
  default: return NULL;
  }
}

size_t io_npy_header(LtDtype dt, int ndim, const int64_t *shape, uint8_t *buf) {
  const char *descr = descr_of(dt);
  char dict[512];
  if (!descr) return 0;
  /* The dict as NumPy prints it (keys sorted, a trailing ", "). 512 bytes hold the longest: 8
   * dims of up to 20 digits. */
  int k = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (", descr);
  for (int i = 0; i < ndim; i++)
    k += snprintf(dict + k, sizeof dict - (size_t)k, "%lld, ", (long long)shape[i]);
  if (ndim > 1)
    k -= 2; /* (3,) keeps its comma, (2, 3) does not */
  else if (ndim == 1)
    k -= 1;
  k += snprintf(dict + k, sizeof dict - (size_t)k, "), }");
  /* Version 1.0 (a 2-byte length suffices), padded so the data starts at a multiple of 64, as
   * NumPy pads its own (aligned data for memory mapping). */
  size_t pre = 10, total = (pre + (size_t)k + 1 + 63) / 64 * 64;
  memcpy(buf, MAGIC, 6);
  buf[6] = 1;
  buf[7] = 0;
  io_put16(buf + 8, (uint16_t)(total - pre));
  memcpy(buf + pre, dict, (size_t)k);
  memset(buf + pre + k, ' ', total - pre - (size_t)k - 1);
  buf[total - 1] = '\n';
  return total;
}
