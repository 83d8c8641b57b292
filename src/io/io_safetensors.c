/* io_safetensors.c - safetensors header: strict JSON subset with exact integers, full layout
 * validation; header writer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "io/io_safetensors.h"

/* The format's dtype names and their stored types; -1 for types the format knows and lunette
 * cannot hold, which get "not supported" rather than "unknown". */
static const struct {
  const char *name;
  int st;
} DTYPES[] = {
    {"BOOL", IO_B1},
    {"U8", IO_U1},
    {"I8", IO_I1},
    {"I16", IO_I2},
    {"U16", IO_U2},
    {"I32", IO_I4},
    {"U32", IO_U4},
    {"I64", IO_I8},
    {"F16", IO_F2},
    {"BF16", IO_BF2},
    {"F32", IO_F4},
    {"F64", IO_F8},
    /* known to the format, not to lunette */
    {"U64", -1},
    {"F8_E5M2", -1},
    {"F8_E4M3", -1},
    {"F8_E8M0", -1},
    {"F8_E4M3FNUZ", -1},
    {"F8_E5M2FNUZ", -1},
    {"F4", -1},
    {"F6_E2M3", -1},
    {"F6_E3M2", -1},
    {"C64", -1},
};

int io_utf8_valid(const uint8_t *p, size_t n) {
  size_t i = 0;
  while (i < n) {
    uint8_t b = p[i];
    if (b < 0x80) {
      i++;
      continue;
    }
    /* k: the length the lead byte announces (0 for a stray continuation byte); the mask
     * 0x7F >> k keeps the lead byte's payload bits. */
    size_t k = (b & 0xE0) == 0xC0 ? 2 : (b & 0xF0) == 0xE0 ? 3 : (b & 0xF8) == 0xF0 ? 4 : 0;
    if (!k || i + k > n) return 0;
    uint32_t cp = b & (0x7F >> k);
    for (size_t j = 1; j < k; j++) {
      if ((p[i + j] & 0xC0) != 0x80) return 0;
      cp = cp << 6 | (p[i + j] & 0x3F);
    }
    /* Overlong forms would let two byte strings spell one name (RFC 3629). */
    if ((k == 2 && cp < 0x80) || (k == 3 && cp < 0x800) || (k == 4 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      return 0;
    i += k;
  }
  return 1;
}

/* ---- a strict JSON lexer over the header ------------------------------------ */

/* The parser's state. strings receives every decoded string; sused counts its bytes used. */
typedef struct {
  const uint8_t *start, *p, *end;
  IoCtx *c;
  IoSafetensors *f;
  size_t sused;
} J;

/* JSON's four whitespace characters, nothing else. */
static void ws(J *j) {
  while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r')) j->p++;
}
static int lit(J *j, char ch) {
  ws(j);
  if (j->p < j->end && *j->p == ch) {
    j->p++;
    return 1;
  }
  return 0;
}
/* Fails with the byte offset in the header where parsing stopped. */
static LtStatus bad(J *j, const char *what) {
  return io_fail(j->c, LT_EVALUE, "invalid JSON header: %s at byte %zu", what,
                 (size_t)(j->p - j->start));
}

static int hex4(const uint8_t *p, uint32_t *v) {
  *v = 0;
  for (int i = 0; i < 4; i++) {
    uint8_t h = p[i];
    int d = h >= '0' && h <= '9'   ? h - '0'
            : h >= 'a' && h <= 'f' ? h - 'a' + 10
            : h >= 'A' && h <= 'F' ? h - 'A' + 10
                                   : -1;
    if (d < 0) return 0;
    *v = *v << 4 | (uint32_t)d;
  }
  return 1;
}

/* Encodes code point cp (at most 0x10FFFF, never a surrogate) as UTF-8 at o; returns its length. */
static size_t put_utf8(char *o, uint32_t cp) {
  if (cp < 0x80) {
    o[0] = (char)cp;
    return 1;
  }
  if (cp < 0x800) {
    o[0] = (char)(0xC0 | cp >> 6);
    o[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    o[0] = (char)(0xE0 | cp >> 12);
    o[1] = (char)(0x80 | (cp >> 6 & 0x3F));
    o[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
  }
  o[0] = (char)(0xF0 | cp >> 18);
  o[1] = (char)(0x80 | (cp >> 12 & 0x3F));
  o[2] = (char)(0x80 | (cp >> 6 & 0x3F));
  o[3] = (char)(0x80 | (cp & 0x3F));
  return 4;
}

/* \uXXXX (with a following low surrogate when needed) at j->p (after the 'u'). */
static LtStatus unicode_escape(J *j, uint32_t *cp) {
  if (j->end - j->p < 4 || !hex4(j->p, cp)) return bad(j, "bad \\u escape");
  j->p += 4;
  if (*cp >= 0xDC00 && *cp <= 0xDFFF) return bad(j, "lone low surrogate");
  if (*cp >= 0xD800 && *cp <= 0xDBFF) {
    uint32_t lo;
    if (j->end - j->p < 6 || j->p[0] != '\\' || j->p[1] != 'u' || !hex4(j->p + 2, &lo) ||
        lo < 0xDC00 || lo > 0xDFFF)
      return bad(j, "unpaired surrogate");
    j->p += 6;
    /* A UTF-16 pair: 10 bits from each half, above the 16-bit plane. */
    *cp = 0x10000 + ((*cp - 0xD800) << 10) + (lo - 0xDC00);
  }
  return LT_OK;
}

/* A JSON string, decoded into the string buffer (decoded <= encoded size). */
static LtStatus str(J *j, const char **out, size_t *len) {
  if (!lit(j, '"')) return bad(j, "string expected");
  /* No bound check while writing: the decoded form of a string, NUL included, is shorter than
   * its quoted form (an escape never decodes longer than itself), so all of them fit a buffer the
   * size of the header. */
  char *o = j->f->strings + j->sused, *start = o;
  while (j->p < j->end && *j->p != '"') {
    uint8_t ch = *j->p++;
    if (ch < 0x20) return bad(j, "control character in string");
    if (ch != '\\') {
      *o++ = (char)ch;
      continue;
    }
    if (j->p >= j->end) break;
    uint8_t e = *j->p++;
    /* e != 0 below: strchr finds the terminating NUL too. */
    const char *simple = strchr("\"\\/bfnrt", e);
    if (e && simple) {
      *o++ = "\"\\/\b\f\n\r\t"[simple - "\"\\/bfnrt"];
      continue;
    }
    if (e != 'u') return bad(j, "bad escape");
    uint32_t cp;
    LtStatus st = unicode_escape(j, &cp);
    if (st) return st;
    o += put_utf8(o, cp);
  }
  if (j->p >= j->end) return bad(j, "unterminated string");
  j->p++;
  *o = 0;
  *out = start;
  *len = (size_t)(o - start);
  j->sused += *len + 1;
  return LT_OK;
}

/* An exact non-negative integer: digits only, no leading zero, <= 2^64-1. */
static LtStatus json_uint(J *j, uint64_t *v) {
  ws(j);
  const uint8_t *s = j->p;
  uint64_t n = 0;
  if (j->p < j->end && *j->p == '-')
    return io_fail(j->c, LT_ERANGE, "invalid header: negative integer");
  while (j->p < j->end && *j->p >= '0' && *j->p <= '9') {
    if (!io_mul_u64(n, 10, &n) || !io_add_u64(n, (uint64_t)(*j->p - '0'), &n))
      return io_fail(j->c, LT_ERANGE, "invalid header: integer overflows 64 bits");
    j->p++;
  }
  if (j->p == s) return bad(j, "integer expected");
  /* Exact integers only: a number serde_json (the reference reader) would read differently, or
   * not at all, is refused rather than guessed. */
  if (*s == '0' && j->p - s > 1) return bad(j, "integer with a leading zero");
  if (j->p < j->end && (*j->p == '.' || *j->p == 'e' || *j->p == 'E'))
    return bad(j, "integer expected, got a fraction or exponent");
  *v = n;
  return LT_OK;
}

/* ---- header structure --------------------------------------------------------- */

static LtStatus parse_dtype(J *j, IoStTensor *t) {
  const char *s;
  size_t n;
  LtStatus st = str(j, &s, &n);
  if (st) return st;
  for (size_t i = 0; i < sizeof DTYPES / sizeof DTYPES[0]; i++)
    if (strlen(DTYPES[i].name) == n && !memcmp(DTYPES[i].name, s, n)) {
      if (DTYPES[i].st < 0)
        return io_fail(j->c, LT_EDTYPE, "tensor '%s': dtype %s is not supported", t->name, s);
      t->st = (IoStype)DTYPES[i].st;
      return LT_OK;
    }
  return io_fail(j->c, LT_EDTYPE, "tensor '%s': unknown dtype '%.32s'", t->name, s);
}

/* 'shape': an array of at most LT_MAXDIM exact integers; [] is a scalar. */
static LtStatus parse_shape(J *j, IoStTensor *t) {
  if (!lit(j, '[')) return bad(j, "'shape' must be an array");
  t->ndim = 0;
  if (lit(j, ']')) return LT_OK;
  do {
    uint64_t v;
    if (t->ndim == LT_MAXDIM)
      return io_fail(j->c, LT_ERANGE, "tensor '%s': more than %d dims", t->name, LT_MAXDIM);
    LtStatus st = json_uint(j, &v);
    if (st) return st;
    /* Sizes become int64 shapes; io_check_shape bounds their product later. */
    if (v > (uint64_t)INT64_MAX)
      return io_fail(j->c, LT_ERANGE, "tensor '%s': shape overflows", t->name);
    t->shape[t->ndim++] = (int64_t)v;
  } while (lit(j, ','));
  return lit(j, ']') ? LT_OK : bad(j, "']' expected");
}

/* 'data_offsets': [begin, end], relative to the start of the data section. */
static LtStatus parse_offsets(J *j, IoStTensor *t) {
  LtStatus st;
  if (!lit(j, '[')) return bad(j, "'data_offsets' must be an array");
  if ((st = json_uint(j, &t->begin))) return st;
  if (!lit(j, ',')) return bad(j, "'data_offsets' needs two integers");
  if ((st = json_uint(j, &t->end))) return st;
  return lit(j, ']') ? LT_OK : bad(j, "'data_offsets' needs exactly two integers");
}

/* A tensor entry: the three fields, each exactly once, in any order, and nothing else. */
static LtStatus parse_tensor(J *j, IoStTensor *t) {
  int seen = 0;
  if (!lit(j, '{'))
    return io_fail(j->c, LT_EVALUE, "invalid header: entry '%s' is not an object", t->name);
  if (lit(j, '}')) return io_fail(j->c, LT_EVALUE, "invalid header: entry '%s' is empty", t->name);
  do {
    const char *k;
    size_t kn;
    LtStatus st = str(j, &k, &kn);
    if (st) return st;
    if (!lit(j, ':')) return bad(j, "':' expected");
    int bit = !strcmp(k, "dtype")          ? 1
              : !strcmp(k, "shape")        ? 2
              : !strcmp(k, "data_offsets") ? 4
                                           : 0;
    /* kn != strlen(k): a key with an escaped NUL is not the field it starts like. */
    if (!bit || kn != strlen(k))
      return io_fail(j->c, LT_EVALUE, "invalid header: tensor '%s' has unexpected field '%.32s'",
                     t->name, k);
    if (seen & bit)
      return io_fail(j->c, LT_EVALUE, "invalid header: tensor '%s' repeats '%s'", t->name, k);
    seen |= bit;
    st = bit == 1 ? parse_dtype(j, t) : bit == 2 ? parse_shape(j, t) : parse_offsets(j, t);
    if (st) return st;
  } while (lit(j, ','));
  if (!lit(j, '}')) return bad(j, "'}' expected");
  if (seen != 7)
    return io_fail(j->c, LT_EVALUE, "invalid header: tensor '%s' lacks '%s'", t->name,
                   !(seen & 1)   ? "dtype"
                   : !(seen & 2) ? "shape"
                                 : "data_offsets");
  return LT_OK;
}

/* __metadata__: an object whose values are all strings, kept in header order. */
static LtStatus parse_meta(J *j) {
  IoSafetensors *f = j->f;
  if (!lit(j, '{'))
    return io_fail(j->c, LT_EVALUE, "invalid header: __metadata__ must be an object of strings");
  if (lit(j, '}')) return LT_OK;
  do {
    if (f->nmeta == f->meta_cap) {
      size_t cap = f->meta_cap ? 2 * f->meta_cap : 8;
      IoStMeta *m = io_alloc(j->c, cap * sizeof *m);
      if (!m) return LT_ENOMEM;
      if (f->nmeta) memcpy(m, f->meta, f->nmeta * sizeof *m);
      io_free(j->c, f->meta, f->meta_cap * sizeof *m);
      f->meta = m;
      f->meta_cap = cap;
    }
    IoStMeta *m = &f->meta[f->nmeta];
    LtStatus st = str(j, &m->k, &m->kn);
    if (st) return st;
    if (!lit(j, ':')) return bad(j, "':' expected");
    ws(j);
    if (j->p < j->end && *j->p != '"')
      return io_fail(j->c, LT_EVALUE,
                     "invalid header: __metadata__ value for '%.32s' is not a string", m->k);
    if ((st = str(j, &m->v, &m->vn))) return st;
    f->nmeta++;
  } while (lit(j, ','));
  return lit(j, '}') ? LT_OK : bad(j, "'}' expected");
}

/* Appends a zeroed entry (the array doubles as it grows); NULL when out of memory. */
static IoStTensor *new_tensor(J *j) {
  IoSafetensors *f = j->f;
  if (f->n == f->t_cap) {
    size_t cap = f->t_cap ? 2 * f->t_cap : 16;
    IoStTensor *t = io_alloc(j->c, cap * sizeof *t);
    if (!t) return NULL;
    if (f->n) memcpy(t, f->t, f->n * sizeof *t);
    io_free(j->c, f->t, f->t_cap * sizeof *t);
    f->t = t;
    f->t_cap = cap;
  }
  IoStTensor *t = &f->t[f->n++];
  memset(t, 0, sizeof *t);
  return t;
}

/* The top level: tensor entries and at most one __metadata__, in any order. Duplicate names are
 * found later, on the sorted list. */
static LtStatus parse_header(J *j) {
  int meta_seen = 0;
  if (!lit(j, '{')) return io_fail(j->c, LT_EVALUE, "invalid header: not a JSON object");
  if (!lit(j, '}')) {
    do {
      const char *k;
      size_t kn;
      LtStatus st = str(j, &k, &kn);
      if (st) return st;
      if (!lit(j, ':')) return bad(j, "':' expected");
      if (kn == 12 && !memcmp(k, "__metadata__", 12)) {
        if (meta_seen++) return io_fail(j->c, LT_EVALUE, "invalid header: duplicate __metadata__");
        st = parse_meta(j);
      } else {
        IoStTensor *t = new_tensor(j);
        if (!t) return LT_ENOMEM;
        t->name = k;
        t->name_len = kn;
        st = parse_tensor(j, t);
      }
      if (st) return st;
    } while (lit(j, ','));
    if (!lit(j, '}')) return bad(j, "',' or '}' expected");
  }
  ws(j);
  return j->p == j->end ? LT_OK
                        : io_fail(j->c, LT_EVALUE, "invalid header: text after the JSON object");
}

/* ---- layout validation --------------------------------------------------------- */

/* Names compare as byte strings: they may hold NULs. */
static int cmp_name(const void *a, const void *b) {
  const IoStTensor *x = *(IoStTensor *const *)a, *y = *(IoStTensor *const *)b;
  size_t n = x->name_len < y->name_len ? x->name_len : y->name_len;
  int r = memcmp(x->name, y->name, n);
  return r ? r : (x->name_len > y->name_len) - (x->name_len < y->name_len);
}

static int cmp_begin(const void *a, const void *b) {
  const IoStTensor *x = a, *y = b;
  if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
  return x->end < y->end ? -1 : x->end > y->end;
}

static LtStatus check_names(IoCtx *c, IoSafetensors *f) {
  /* Pointers are sorted, not the entries: check_layout sorts those by offset next. */
  IoStTensor **p = io_alloc(c, (f->n ? f->n : 1) * sizeof *p);
  if (!p) return LT_ENOMEM;
  for (size_t i = 0; i < f->n; i++) p[i] = &f->t[i];
  qsort(p, f->n, sizeof *p, cmp_name);
  LtStatus st = LT_OK;
  for (size_t i = 1; i < f->n && st == LT_OK; i++)
    if (!cmp_name(&p[i - 1], &p[i]))
      st = io_fail(c, LT_EVALUE, "duplicate tensor name '%s'", p[i]->name);
  io_free(c, p, (f->n ? f->n : 1) * sizeof *p);
  return st;
}

/* Sorted by offset, the tensors must tile the data section: each begins where the previous one
 * ended, the last ends at the end of the file, and each range holds exactly its shape's bytes.
 * The offsets then become absolute (data_start added) for the readers. */
static LtStatus check_layout(IoCtx *c, IoSafetensors *f, uint64_t data_start, uint64_t file_size) {
  LtStatus st = check_names(c, f);
  if (st) return st;
  if (f->n > 1) qsort(f->t, f->n, sizeof *f->t, cmp_begin);
  uint64_t at = 0;
  for (size_t i = 0; i < f->n; i++) {
    IoStTensor *t = &f->t[i];
    uint64_t nbytes;
    if (t->end < t->begin)
      return io_fail(c, LT_EVALUE, "tensor '%s': data_offsets end before they begin", t->name);
    if (t->begin != at)
      return io_fail(c, LT_EVALUE, "tensor '%s': data starts at %llu, expected %llu (%s)", t->name,
                     (unsigned long long)t->begin, (unsigned long long)at,
                     t->begin < at ? "overlap" : "gap");
    if ((st = io_check_shape(c, "shape", t->ndim, t->shape, io_stype_size(t->st), NULL, &nbytes)))
      return st;
    if (nbytes != t->end - t->begin)
      return io_fail(c, LT_EVALUE,
                     "tensor '%s': shape and dtype need %llu bytes, data_offsets give %llu",
                     t->name, (unsigned long long)nbytes, (unsigned long long)(t->end - t->begin));
    at = t->end;
    t->begin += data_start;
    t->end += data_start;
  }
  uint64_t end;
  if (!io_add_u64(data_start, at, &end) || end != file_size)
    return io_fail(c, LT_EVALUE, "the tensors cover %llu data bytes but the file holds %llu (%s)",
                   (unsigned long long)at, (unsigned long long)(file_size - data_start),
                   end > file_size ? "truncated" : "trailing bytes");
  return LT_OK;
}

LtStatus io_st_parse(IoCtx *c, IoSrc *s, IoSafetensors *f) {
  uint8_t len8[8];
  uint64_t size = io_src_size(s);
  memset(f, 0, sizeof *f);
  if (size < 8)
    return io_fail(c, LT_EVALUE, "too small to be a safetensors file (%llu bytes)",
                   (unsigned long long)size);
  LtStatus st = io_src_read(c, s, 0, len8, 8);
  if (st) return st;
  uint64_t n = io_le64(len8);
  if (n > IO_ST_MAX_HEADER)
    return io_fail(c, LT_ERANGE, "header length %llu exceeds the %u-byte limit",
                   (unsigned long long)n, IO_ST_MAX_HEADER);
  /* Both checks come before the allocation: the length field is the file's word, not ours. */
  if (n > size - 8)
    return io_fail(c, LT_EVALUE, "header length %llu exceeds the file (%llu bytes)",
                   (unsigned long long)n, (unsigned long long)size);
  uint8_t *h = io_alloc(c, (size_t)n + 1);
  if (!h) return LT_ENOMEM;
  /* Every decoded string fits in the header's size (see str). */
  f->strings_n = (size_t)n + 1;
  if (!(f->strings = io_alloc(c, f->strings_n))) {
    io_free(c, h, (size_t)n + 1);
    return LT_ENOMEM;
  }
  st = io_src_read(c, s, 8, h, (size_t)n);
  if (st == LT_OK && !io_utf8_valid(h, (size_t)n))
    st = io_fail(c, LT_EVALUE, "header is not valid UTF-8");
  if (st == LT_OK) {
    J j = {h, h, h + n, c, f, 0};
    st = parse_header(&j);
  }
  io_free(c, h, (size_t)n + 1);
  if (st == LT_OK) st = check_layout(c, f, 8 + n, size);
  if (st) io_st_free(c, f);
  return st;
}

void io_st_free(IoCtx *c, IoSafetensors *f) {
  io_free(c, f->t, f->t_cap * sizeof *f->t);
  io_free(c, f->meta, f->meta_cap * sizeof *f->meta);
  io_free(c, f->strings, f->strings_n);
  memset(f, 0, sizeof *f);
}

/* ---- writer ------------------------------------------------------------------------ */

typedef struct {
  uint8_t *p;
  size_t n, cap;
  IoCtx *c;
  LtStatus st;
} Buf;

/* Appends to b, doubling its room as needed; the first failure sticks in b->st. */
static void put(Buf *b, const void *s, size_t n) {
  if (b->st) return;
  if (b->n + n > b->cap) {
    size_t cap = (b->cap + n) * 2;
    uint8_t *q = io_alloc(b->c, cap);
    if (!q) {
      b->st = LT_ENOMEM;
      return;
    }
    if (b->n) memcpy(q, b->p, b->n);
    io_free(b->c, b->p, b->cap);
    b->p = q;
    b->cap = cap;
  }
  memcpy(b->p + b->n, s, n);
  b->n += n;
}

/* Escapes only what JSON requires (quote, backslash, control characters); other UTF-8 bytes go
 * as they are. */
static void put_json_str(Buf *b, const char *s, size_t n) {
  put(b, "\"", 1);
  for (size_t i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)s[i];
    char esc[8];
    if (ch == '"' || ch == '\\') {
      esc[0] = '\\';
      esc[1] = (char)ch;
      put(b, esc, 2);
    } else if (ch < 0x20) {
      snprintf(esc, sizeof esc, "\\u%04x", ch);
      put(b, esc, 6);
    } else
      put(b, s + i, 1);
  }
  put(b, "\"", 1);
}

static const char *st_name(LtDtype dt) {
  /* In LtDtype's order (tensor.h). */
  static const char *N[LT_NDTYPES] = {"F32", "F64", "F16", "BF16", "I64", "I32", "U8", "BOOL"};
  return N[dt];
}

LtStatus io_st_check_name(IoCtx *c, const char *name, size_t len) {
  if (!io_utf8_valid((const uint8_t *)name, len))
    return io_fail(c, LT_EVALUE, "tensor name is not valid UTF-8");
  if (len == 12 && !memcmp(name, "__metadata__", 12))
    return io_fail(c, LT_EVALUE, "tensor name '__metadata__' is the format's key for metadata");
  return LT_OK;
}

LtStatus io_st_header(IoCtx *c, const IoStEntry *e, size_t n, const IoStMeta *m, size_t nm,
                      uint8_t **out, size_t *len, size_t *cap) {
  Buf b = {NULL, 0, 0, c, LT_OK};
  char num[64];
  uint64_t off = 0;
  /* The 8-byte length is a placeholder, filled in once the header's size is known. */
  put(&b, "\0\0\0\0\0\0\0\0{", 9);
  for (size_t i = 0; i < n; i++) {
    uint64_t nbytes;
    LtStatus st = io_st_check_name(c, e[i].name, e[i].name_len);
    if (st) {
      io_free(c, b.p, b.cap);
      return st;
    }
    st = io_check_shape(c, "shape", e[i].ndim, e[i].shape, lt_dtype_size(e[i].dt), NULL, &nbytes);
    if (st) {
      io_free(c, b.p, b.cap);
      return st;
    }
    if (i) put(&b, ",", 1);
    put_json_str(&b, e[i].name, e[i].name_len);
    snprintf(num, sizeof num, ":{\"dtype\":\"%s\",\"shape\":[", st_name(e[i].dt));
    put(&b, num, strlen(num));
    for (int d = 0; d < e[i].ndim; d++) {
      snprintf(num, sizeof num, d ? ",%lld" : "%lld", (long long)e[i].shape[d]);
      put(&b, num, strlen(num));
    }
    snprintf(num, sizeof num, "],\"data_offsets\":[%llu,%llu]}", (unsigned long long)off,
             (unsigned long long)(off + nbytes));
    put(&b, num, strlen(num));
    off += nbytes;
  }
  if (nm) {
    put(&b, n ? ",\"__metadata__\":{" : "\"__metadata__\":{", n ? 17 : 16);
    for (size_t i = 0; i < nm; i++) {
      if (!io_utf8_valid((const uint8_t *)m[i].k, m[i].kn) ||
          !io_utf8_valid((const uint8_t *)m[i].v, m[i].vn)) {
        io_free(c, b.p, b.cap);
        return io_fail(c, LT_EVALUE, "metadata is not valid UTF-8");
      }
      if (i) put(&b, ",", 1);
      put_json_str(&b, m[i].k, m[i].kn);
      put(&b, ":", 1);
      put_json_str(&b, m[i].v, m[i].vn);
    }
    put(&b, "}", 1);
  }
  put(&b, "}", 1);
  /* Spaces after the JSON are allowed, and make the data section start 8-aligned. */
  while (!b.st && (b.n - 8) % 8) put(&b, " ", 1);
  if (b.st) {
    io_free(c, b.p, b.cap);
    return io_fail(c, LT_ENOMEM, "not enough memory for the header");
  }
  if (b.n - 8 > IO_ST_MAX_HEADER) {
    io_free(c, b.p, b.cap);
    return io_fail(c, LT_ERANGE, "header of %zu bytes is over the %u bytes readers take", b.n - 8,
                   IO_ST_MAX_HEADER);
  }
  io_put64(b.p, b.n - 8);
  *out = b.p;
  *len = b.n;
  *cap = b.cap;
  return LT_OK;
}
