/* io_csv.c - CSV scanning (RFC 4180 quoting), C-locale number parsing and shortest round-trip
 * writing. */
#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "io/io_csv.h"

/* A cursor over the text, with the line and where it starts for error messages (1-based line and
 * column). */
typedef struct {
  const char *p0, *p, *end;
  int64_t line;
  const char *line_start;
  char sep;
  IoCtx *c;
} Cur;

static LtStatus err_at(Cur *k, const char *at, const char *what) {
  return io_fail(k->c, LT_EVALUE, "line %lld, column %lld: %s", (long long)k->line,
                 (long long)(at - k->line_start + 1), what);
}

static void newline(Cur *k) {
  k->line++;
  k->line_start = k->p;
}

/* Reads one field: (*s, *n) its raw content (quotes removed, "" escapes
 * still doubled), *row_end when the record ends after it. */
static LtStatus field(Cur *k, const char **s, size_t *n, int *quoted, int *row_end) {
  *quoted = k->p < k->end && *k->p == '"';
  *row_end = 0;
  if (*quoted) {
    const char *open = k->p++;
    int64_t open_line = k->line;
    const char *open_start = k->line_start;
    *s = k->p;
    for (;;) {
      if (k->p >= k->end) {
        /* Reported where the quote opened, on its own line (newlines inside moved the cursor). */
        k->line = open_line;
        k->line_start = open_start;
        return err_at(k, open, "unterminated quoted field");
      }
      if (*k->p == '"') {
        /* "" inside quotes is one literal quote (RFC 4180); the field keeps both, to be undone
         * by whoever decodes it. */
        if (k->p + 1 < k->end && k->p[1] == '"') {
          k->p += 2;
          continue;
        }
        break;
      }
      if (*k->p == 0) return err_at(k, k->p, "NUL byte");
      /* A quoted newline belongs to the field but still starts a new line for messages. */
      if (*k->p == '\n') {
        k->p++;
        newline(k);
        continue;
      }
      k->p++;
    }
    *n = (size_t)(k->p - *s);
    k->p++;
  } else {
    *s = k->p;
    while (k->p < k->end && *k->p != k->sep && *k->p != '\n') {
      if (*k->p == 0) return err_at(k, k->p, "NUL byte");
      k->p++;
    }
    *n = (size_t)(k->p - *s);
    /* The CR of a CRLF line end is not part of the last field; a lone CR elsewhere is kept. */
    if (*n && (*s)[*n - 1] == '\r' && (k->p >= k->end || *k->p == '\n')) (*n)--;
  }
  if (k->p >= k->end) {
    *row_end = 1;
    return LT_OK;
  }
  if (*k->p == k->sep) {
    k->p++;
    return LT_OK;
  }
  if (*k->p == '\r' && k->p + 1 < k->end && k->p[1] == '\n') k->p++;
  if (*k->p == '\n') {
    k->p++;
    newline(k);
    *row_end = 1;
    return LT_OK;
  }
  /* Only a separator, a line end or the end of the text may follow a closing quote. */
  return err_at(k, k->p, "text after a closing quote");
}

/* Skips empty lines (LF or CRLF): a trailing newline, or blank lines between records. */
static void skip_blank_lines(Cur *k) {
  while (k->p < k->end &&
         (*k->p == '\n' || (*k->p == '\r' && k->p + 1 < k->end && k->p[1] == '\n'))) {
    k->p += *k->p == '\r' ? 2 : 1;
    newline(k);
  }
}

/* Starts a cursor at p; a UTF-8 byte order mark (spreadsheets write one) is skipped. */
static void cur_init(Cur *k, IoCtx *c, const char *p, size_t n, char sep) {
  k->p0 = k->p = k->line_start = p;
  k->end = p + n;
  k->line = 1;
  k->sep = sep;
  k->c = c;
  if (n >= 3 && !memcmp(p, "\xEF\xBB\xBF", 3)) k->p += 3;
}

/* Counts the fields of the record at the cursor (records names when asked). */
static LtStatus count_row(Cur *k, IoCsv *info, int keep_names, int64_t *nf) {
  int row_end = 0;
  *nf = 0;
  while (!row_end) {
    const char *s;
    size_t n;
    int q;
    LtStatus st = field(k, &s, &n, &q, &row_end);
    if (st) return st;
    /* Bounds the name arrays below, and how much a single line can make us allocate. */
    if (++*nf > IO_CSV_MAX_COLS)
      return io_fail(k->c, LT_ERANGE, "line %lld has more than %d columns", (long long)k->line,
                     IO_CSV_MAX_COLS);
    if (!keep_names) continue;
    if ((size_t)*nf > info->off_cap) {
      size_t cap = info->off_cap ? 2 * info->off_cap : 16;
      size_t *o = io_alloc(k->c, cap * sizeof *o), *l = io_alloc(k->c, cap * sizeof *l);
      if (!o || !l) {
        io_free(k->c, o, cap * sizeof *o);
        io_free(k->c, l, cap * sizeof *l);
        return LT_ENOMEM;
      }
      if (info->off_cap) {
        memcpy(o, info->name_off, info->off_cap * sizeof *o);
        memcpy(l, info->name_len, info->off_cap * sizeof *l);
      }
      io_free(k->c, info->name_off, info->off_cap * sizeof *o);
      io_free(k->c, info->name_len, info->off_cap * sizeof *l);
      info->name_off = o;
      info->name_len = l;
      info->off_cap = cap;
    }
    /* Decodes the name into names: a doubled quote in a quoted field becomes one. */
    size_t at = info->names_n, j = 0;
    for (size_t i = 0; i < n; i++) {
      info->names[at + j++] = s[i];
      if (q && s[i] == '"') i++;
    }
    info->names[at + j] = 0;
    info->name_off[*nf - 1] = at;
    info->name_len[*nf - 1] = j;
    info->names_n += j + 1;
  }
  return LT_OK;
}

LtStatus io_csv_scan(IoCtx *c, const char *p, size_t n, int header, char sep, IoCsv *info) {
  Cur k;
  memset(info, 0, sizeof *info);
  cur_init(&k, c, p, n, sep);
  skip_blank_lines(&k);
  LtStatus st = LT_OK;
  if (header && k.p < k.end) {
    /* The names buffer holds the header record's bytes plus a NUL per field, an upper bound on
     * the decoded names; names_n counts the bytes used until then, so it is set to the whole
     * capacity before io_csv_free can run. */
    Cur probe = k; /* a first pass over the header record sizes the names buffer */
    int64_t nf;
    if ((st = count_row(&probe, info, 0, &nf))) return st;
    size_t cap = (size_t)(probe.p - k.p) + (size_t)nf + 1;
    if (!(info->names = io_alloc(c, cap))) return LT_ENOMEM;
    if ((st = count_row(&k, info, 1, &info->cols))) {
      info->names_n = cap;
      io_csv_free(c, info);
      return st;
    }
    info->names_n = cap;
    skip_blank_lines(&k);
  }
  info->data_start = (size_t)(k.p - p);
  while (k.p < k.end) {
    int64_t nf, line = k.line;
    if ((st = count_row(&k, info, 0, &nf))) break;
    /* Without a header the first record sets the column count; every record then must match. */
    if (info->cols == 0 && !header) info->cols = nf;
    if (nf != info->cols) {
      st = io_fail(c, LT_EVALUE, "line %lld has %lld fields, expected %lld", (long long)line,
                   (long long)nf, (long long)info->cols);
      break;
    }
    info->rows++;
    skip_blank_lines(&k);
  }
  if (st) io_csv_free(c, info);
  return st;
}

void io_csv_free(IoCtx *c, IoCsv *info) {
  io_free(c, info->names, info->names_n);
  io_free(c, info->name_off, info->off_cap * sizeof *info->name_off);
  io_free(c, info->name_len, info->off_cap * sizeof *info->name_len);
  memset(info, 0, sizeof *info);
}

/* ---- numbers --------------------------------------------------------------------- */

const char *const io_csv_default_na[] = {"",    "NA",   "N/A",  "#N/A", "NaN",
                                         "nan", "null", "NULL", "None", NULL};
const char io_csv_nomem[] = "not enough memory";

/* Drops the spaces and tabs around a field (numbers may be padded). */
static void trim(const char **s, size_t *n) {
  while (*n && (**s == ' ' || **s == '\t')) {
    (*s)++;
    (*n)--;
  }
  while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t')) (*n)--;
}

/* Decimal text [+-]digits[.digits][(e|E)[+-]digits] (or .digits) with at most 19 significant
 * digits whose value m fits 2^53 and whose power of ten e is within 10^+-22: *v = m * 10^e, from
 * one IEEE multiplication or division of two exact doubles, hence correctly rounded, the value
 * strtod gives (Clinger's fast path). 0 for anything else, which strtod then reads. Saves
 * strtod's multiple-precision path on the typical CSV number ("0.18978089"). */
static int fast_decimal(const char *s, size_t n, double *v) {
  static const double P10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                               1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                               1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
  size_t i = 0;
  int neg = 0;
  if (i < n && (s[i] == '-' || s[i] == '+')) neg = s[i++] == '-';
  uint64_t m = 0;
  int digits = 0, frac = 0, any = 0;
  for (; i < n && s[i] >= '0' && s[i] <= '9'; i++, any = 1) {
    if (m || s[i] != '0') {
      if (++digits > 19) return 0;
      m = m * 10 + (uint64_t)(s[i] - '0');
    }
  }
  if (i < n && s[i] == '.') {
    for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++, any = 1) {
      frac++;
      if (m || s[i] != '0') {
        if (++digits > 19) return 0;
        m = m * 10 + (uint64_t)(s[i] - '0');
      }
    }
  }
  if (!any) return 0;
  int e = 0;
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    i++;
    int eneg = 0, ed = 0;
    if (i < n && (s[i] == '-' || s[i] == '+')) eneg = s[i++] == '-';
    for (; i < n && s[i] >= '0' && s[i] <= '9'; i++, ed++) {
      if (e > 1000) return 0;
      e = e * 10 + (s[i] - '0');
    }
    if (!ed) return 0;
    if (eneg) e = -e;
  }
  if (i != n || m > ((uint64_t)1 << 53)) return 0;
  e -= frac;
  if (e < -22 || e > 22) return 0;
  double x = (double)m;
  x = e >= 0 ? x * P10[e] : x / P10[-e];
  *v = neg ? -x : x;
  return 1;
}

const char *io_csv_number(const char *s, size_t n, LtDtype dt, void *out) {
  /* strtod and strtoll need a NUL-terminated copy: the field ends at a separator, not a NUL. */
  char buf[IO_CSV_MAX_NUMBER + 1];
  trim(&s, &n);
  if (n > IO_CSV_MAX_NUMBER) return "field too long to be a number";
  if (dt == LT_I64) {
    /* [+-]digits only: anything else is no integer for strtoll either (so type inference
     * rejects "0.18978089" here without a call); up to 18 digits cannot overflow */
    size_t i = n && (s[0] == '-' || s[0] == '+');
    int short_int = n > i && n - i <= 18;
    int64_t iv = 0;
    for (size_t j = i; j < n; j++) {
      if (s[j] < '0' || s[j] > '9') return "not an integer that fits int64";
      if (short_int) iv = iv * 10 + (s[j] - '0');
    }
    if (short_int) {
      *(int64_t *)out = s[0] == '-' ? -iv : iv;
      return NULL;
    }
    memcpy(buf, s, n);
    buf[n] = 0;
    char *e;
    errno = 0;
    long long v = n ? strtoll(buf, &e, 10) : 0;
    if (!n || *e || errno == ERANGE)
      return n ? "not an integer that fits int64" : "empty field in an int64 table";
    *(int64_t *)out = v;
    return NULL;
  }
  double v = NAN;
  if (n && !fast_decimal(s, n, &v)) {
    memcpy(buf, s, n);
    buf[n] = 0;
    char *e;
    /* strtod would read "0x1p3" as 8, which other CSV readers do not: refused. */
    if (strchr(buf, 'x') || strchr(buf, 'X')) return "hexadecimal numbers are not accepted";
    /* ERANGE is no error here: a value beyond the double range reads as +-inf (io_csv.h), a
     * tiny one as 0 or a subnormal. */
    v = strtod(buf, &e);
    if (*e || e == buf) return "not a number";
  }
  /* float32 goes through double, as the writer checks its float32 output: the shortest text of a
   * float reads back to the same float this way. */
  if (dt == LT_F64)
    *(double *)out = v;
  else
    *(float *)out = (float)v;
  return NULL;
}

int io_csv_kind(const char *s, size_t n) {
  trim(&s, &n);
  if (!n || n > IO_CSV_MAX_NUMBER) return IO_CSV_TEXT;
  int64_t i;
  double d;
  if (!io_csv_number(s, n, LT_I64, &i)) return IO_CSV_INT;
  return io_csv_number(s, n, LT_F64, &d) ? IO_CSV_TEXT : IO_CSV_FLOAT;
}

size_t io_csv_unquote(const char *s, size_t n, int quoted, char *out) {
  size_t j = 0;
  for (size_t i = 0; i < n; i++) {
    out[j++] = s[i];
    if (quoted && s[i] == '"') i++;
  }
  return j;
}

/* The caller has switched the thread to the C locale (uselocale). */
static LtStatus parse_number(Cur *k, const char *s, size_t n, LtDtype dt, void *out) {
  const char *msg = io_csv_number(s, n, dt, out);
  if (!msg) return LT_OK;
  trim(&s, &n);
  return err_at(k, s, msg);
}

/* A cursor at the first data row, its line count past the header part, so that messages for
 * data fields give file lines. */
static void cur_at_data(Cur *k, IoCtx *c, const char *p, size_t n, const IoCsv *info, char sep) {
  cur_init(k, c, p, n, sep);
  k->p = p + info->data_start;
  k->line = 1;
  for (const char *q = p; q < k->p; q++)
    if (*q == '\n') {
      k->line++;
      k->line_start = q + 1;
    }
}

LtStatus io_csv_parse(IoCtx *c, const char *p, size_t n, const IoCsv *info, char sep, Tensor *out) {
  Cur k;
  cur_at_data(&k, c, p, n, info, sep);
  /* uselocale switches this thread only: setlocale would change the decimal point under every
   * other thread of the process, Lua's printing included. */
  locale_t loc = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
  if (loc == (locale_t)0) return io_fail(c, LT_ENOMEM, "cannot create the C locale");
  size_t es = lt_dtype_size(out->dtype);
  LtStatus st = LT_OK;
  locale_t old = uselocale(loc); /* strtod follows the thread's LC_NUMERIC */
  for (int64_t r = 0; r < info->rows && st == LT_OK; r++) {
    skip_blank_lines(&k);
    for (int64_t col = 0; col < info->cols && st == LT_OK; col++) {
      const char *s;
      size_t len;
      int q, row_end;
      Cur at = k; /* where the field starts, for messages */
      if ((st = field(&k, &s, &len, &q, &row_end))) break;
      st = parse_number(&at, s, len, out->dtype,
                        (char *)out->data + (size_t)(r * info->cols + col) * es);
    }
  }
  uselocale(old);
  freelocale(loc);
  return st;
}

LtStatus io_csv_each(IoCtx *c, const char *p, size_t n, const IoCsv *info, char sep, IoCsvVisit fn,
                     void *ud) {
  Cur k;
  cur_at_data(&k, c, p, n, info, sep);
  locale_t loc = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
  if (loc == (locale_t)0) return io_fail(c, LT_ENOMEM, "cannot create the C locale");
  LtStatus st = LT_OK;
  locale_t old = uselocale(loc);
  for (int64_t r = 0; r < info->rows && st == LT_OK; r++) {
    skip_blank_lines(&k);
    for (int64_t col = 0; col < info->cols && st == LT_OK; col++) {
      const char *s;
      size_t len;
      int q, row_end;
      Cur at = k; /* where the field starts, for messages */
      if ((st = field(&k, &s, &len, &q, &row_end))) break;
      const char *msg = fn(ud, r, col, s, len, q);
      if (msg == io_csv_nomem)
        st = io_fail(c, LT_ENOMEM, "line %lld: %s", (long long)at.line, msg);
      else if (msg) {
        /* The message points at the field's first non-blank byte (where a number starts). */
        trim(&s, &len);
        st = err_at(&at, s, msg);
      }
    }
  }
  uselocale(old);
  freelocale(loc);
  return st;
}

/* ---- writing --------------------------------------------------------------------------- */

typedef struct {
  IoCtx *c;
  IoWriter *w;
  char buf[65536];
  size_t n;
  LtStatus st;
} Out;

/* Appends through a 64 KiB buffer (numbers come a few bytes at a time); the first failure sticks
 * in o->st and later calls do nothing. */
static void out_put(Out *o, const char *s, size_t n) {
  if (o->st) return;
  if (o->n + n > sizeof o->buf) {
    o->st = io_writer_write(o->c, o->w, o->buf, o->n);
    o->n = 0;
    if (o->st) return;
    if (n > sizeof o->buf) {
      o->st = io_writer_write(o->c, o->w, s, n);
      return;
    }
  }
  memcpy(o->buf + o->n, s, n);
  o->n += n;
}

/* A header field, quoted when the reader would otherwise split it (sep, quote, newline) or when
 * it has edge spaces, which tools that trim unquoted fields would drop. */
static void put_name(Out *o, const char *s, size_t n, char sep) {
  int quote = n && (s[0] == ' ' || s[n - 1] == ' ');
  for (size_t i = 0; i < n && !quote; i++)
    quote = s[i] == sep || s[i] == '"' || s[i] == '\n' || s[i] == '\r';
  if (!quote) {
    out_put(o, s, n);
    return;
  }
  out_put(o, "\"", 1);
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '"') out_put(o, "\"", 1);
    out_put(o, s + i, 1);
  }
  out_put(o, "\"", 1);
}

/* The shortest %.Ng that reads back as v (as a float when single). */
static int format_float(char *b, size_t cap, double v, int single) {
  if (v != v) return snprintf(b, cap, "nan");
  if (isinf(v)) return snprintf(b, cap, v > 0 ? "inf" : "-inf");
  /* 17 significant digits always round-trip a double (9 a float); the loop finds the shortest
   * text that does, so 0.1 is written "0.1" and not 0.10000000000000001. */
  for (int prec = 1; prec <= 17; prec++) {
    int k = snprintf(b, cap, "%.*g", prec, v);
    double back = strtod(b, NULL);
    if (single ? (float)back == (float)v : back == v) return k;
  }
  return snprintf(b, cap, "%.17g", v);
}

static void put_value(Out *o, const Tensor *t, size_t i) {
  char b[64];
  int k;
  const char *p = (const char *)t->data + i * lt_dtype_size(t->dtype);
  if (lt_dtype_is_float(t->dtype))
    k = format_float(b, sizeof b, lt_get_f64(p, t->dtype), t->dtype != LT_F64);
  else
    k = snprintf(b, sizeof b, "%lld", (long long)lt_get_i64(p, t->dtype));
  out_put(o, b, (size_t)k);
}

LtStatus io_csv_write(IoCtx *c, IoWriter *w, const Tensor *t, const char *const *names,
                      const size_t *len, char sep) {
  /* Out holds the 64 KiB buffer: heap, not stack. */
  Out *o = io_alloc(c, sizeof *o);
  if (!o) return LT_ENOMEM;
  o->c = c;
  o->w = w;
  o->n = 0;
  o->st = LT_OK;
  int64_t rows = t->shape[0], cols = t->ndim == 2 ? t->shape[1] : 1;
  locale_t loc = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
  if (loc == (locale_t)0) {
    io_free(c, o, sizeof *o);
    return io_fail(c, LT_ENOMEM, "cannot create the C locale");
  }
  locale_t old = uselocale(loc); /* snprintf's decimal point follows the thread locale */
  if (names) {
    for (int64_t j = 0; j < cols; j++) {
      if (j) out_put(o, &sep, 1);
      put_name(o, names[j], len[j], sep);
    }
    out_put(o, "\n", 1);
  }
  for (int64_t r = 0; r < rows && !o->st; r++) {
    for (int64_t j = 0; j < cols; j++) {
      if (j) out_put(o, &sep, 1);
      put_value(o, t, (size_t)(r * cols + j));
    }
    out_put(o, "\n", 1);
  }
  uselocale(old);
  freelocale(loc);
  if (!o->st && o->n) o->st = io_writer_write(c, w, o->buf, o->n);
  LtStatus st = o->st;
  io_free(c, o, sizeof *o);
  return st;
}

/* Whether text must be quoted to read back as the same text (io_csv_write_cols). */
static int text_needs_quotes(const char *s, size_t n, char sep) {
  if (!n) return 1; /* an unquoted empty field is a missing value */
  if (s[0] == ' ' || s[n - 1] == ' ' || s[0] == '\t' || s[n - 1] == '\t') return 1;
  for (size_t i = 0; i < n; i++)
    if (s[i] == sep || s[i] == '"' || s[i] == '\n' || s[i] == '\r') return 1;
  for (int i = 0; io_csv_default_na[i]; i++)
    if (strlen(io_csv_default_na[i]) == n && !memcmp(io_csv_default_na[i], s, n)) return 1;
  return 0;
}

static void put_text(Out *o, const char *s, size_t n, char sep) {
  if (!text_needs_quotes(s, n, sep)) {
    out_put(o, s, n);
    return;
  }
  out_put(o, "\"", 1);
  /* Runs between quotes go in one call; each quote is doubled. */
  size_t from = 0;
  for (size_t i = 0; i < n; i++)
    if (s[i] == '"') {
      out_put(o, s + from, i + 1 - from);
      out_put(o, "\"", 1);
      from = i + 1;
    }
  out_put(o, s + from, n - from);
  out_put(o, "\"", 1);
}

LtStatus io_csv_write_cols(IoCtx *c, IoWriter *w, const IoCsvCol *cols, int64_t ncols, int64_t rows,
                           const char *const *names, const size_t *len, char sep) {
  Out *o = io_alloc(c, sizeof *o);
  if (!o) return LT_ENOMEM;
  o->c = c;
  o->w = w;
  o->n = 0;
  o->st = LT_OK;
  locale_t loc = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
  if (loc == (locale_t)0) {
    io_free(c, o, sizeof *o);
    return io_fail(c, LT_ENOMEM, "cannot create the C locale");
  }
  locale_t old = uselocale(loc);
  if (names) {
    for (int64_t j = 0; j < ncols; j++) {
      if (j) out_put(o, &sep, 1);
      put_name(o, names[j], len[j], sep);
    }
    out_put(o, "\n", 1);
  }
  for (int64_t r = 0; r < rows && !o->st; r++) {
    for (int64_t j = 0; j < ncols; j++) {
      if (j) out_put(o, &sep, 1);
      const IoCsvCol *k = &cols[j];
      if (k->t)
        put_value(o, k->t, (size_t)r);
      else if (k->s[r])
        put_text(o, k->s[r], k->len[r], sep);
    }
    out_put(o, "\n", 1);
  }
  uselocale(old);
  freelocale(loc);
  if (!o->st && o->n) o->st = io_writer_write(c, w, o->buf, o->n);
  LtStatus st = o->st;
  io_free(c, o, sizeof *o);
  return st;
}
