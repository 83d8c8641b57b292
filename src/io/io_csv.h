/* io_csv.h - numeric CSV tables with a header row: an RFC 4180 scanner, a locale-independent number
 * parser, and a writer (core, no Lua). */
#ifndef LUNETTE_IO_CSV_H
#define LUNETTE_IO_CSV_H
#include "io/io.h"

#define IO_CSV_MAX_COLS   (1 << 20)
#define IO_CSV_MAX_NUMBER 256 /* longest field parsed as a number */

typedef struct {
  int64_t rows, cols; /* data rows (header excluded) and columns */
  char *names;        /* decoded header fields, NUL-separated */
  size_t names_n;
  size_t *name_off, *name_len; /* cols entries each, when there is a header */
  size_t off_cap;
  size_t data_start; /* byte offset of the first data row */
} IoCsv;

/* Scans p[0..n) (a UTF-8 BOM is skipped): fields separated by sep, records
 * by LF or CRLF, double-quoted fields may hold separators, newlines and ""
 * escapes; an unterminated quote or text after a closing quote is an
 * error with its line and column; empty lines are skipped; every record
 * must have the same number of fields; NUL bytes are refused. With
 * `header` the first record names the columns. Fills *info. */
LtStatus io_csv_scan(IoCtx *c, const char *p, size_t n, int header, char sep, IoCsv *info);
/* Frees what io_csv_scan allocated and zeroes *info (io_csv_scan already did so when it failed);
 * idempotent. */
void io_csv_free(IoCtx *c, IoCsv *info);
/* Parses the data fields into out, a contiguous [rows, cols] tensor of
 * float64, float32 or int64. Numbers are read in the C locale whatever
 * the process locale: surrounding spaces are ignored, an empty field is
 * NaN (an error for int64), nan/inf/infinity are accepted, hexadecimal is
 * not, a value beyond the double range becomes +-inf; int64 fields must be
 * integers that fit. Errors name line and column. */
LtStatus io_csv_parse(IoCtx *c, const char *p, size_t n, const IoCsv *info, char sep, Tensor *out);

/* Writes t (contiguous [rows, cols] or [rows]) as CSV with LF line ends:
 * an optional header (names[i] of len[i] bytes, quoted when needed), then
 * numbers in the C locale, floats in the shortest form that reads back
 * to the same value. */
LtStatus io_csv_write(IoCtx *c, IoWriter *w, const Tensor *t, const char *const *names,
                      const size_t *len, char sep);

/* ---- columns of mixed types (read_csv's frame mode) ---- */

/* What a field looks like to type inference (surrounding spaces ignored): */
enum {
  IO_CSV_INT = 0,   /* an integer that fits int64 */
  IO_CSV_FLOAT = 1, /* another number (nan, inf, exponents; not hexadecimal) */
  IO_CSV_TEXT = 2   /* anything else, the empty field included */
};
/* The kind of the n bytes at s (quotes already stripped by the scanner). Call it under the C
 * numeric locale: io_csv_each sets it for its visitor. */
int io_csv_kind(const char *s, size_t n);
/* Parses the n bytes at s as a dt number (LT_F64, LT_F32 or LT_I64) into out, as io_csv_parse
 * does; NULL on success, else a static message. Same locale rule as io_csv_kind. */
const char *io_csv_number(const char *s, size_t n, LtDtype dt, void *out);
/* Decodes a field the scanner returned: in a quoted one each "" becomes one quote. out holds at
 * least n bytes; returns the decoded length. */
size_t io_csv_unquote(const char *s, size_t n, int quoted, char *out);

/* A visitor of io_csv_each: the field at (row, col) (0-based, data rows only), its raw bytes
 * (s, n: quotes removed, "" escapes still doubled) and whether it was quoted. Returns NULL to go
 * on, io_csv_nomem when an allocation failed, or a static message that io_csv_each reports with
 * the field's line and column. */
typedef const char *(*IoCsvVisit)(void *ud, int64_t row, int64_t col, const char *s, size_t n,
                                  int quoted);
extern const char io_csv_nomem[];
/* Calls fn for every data field of a scanned text (info from io_csv_scan on the same p, n, sep),
 * row by row, under the C numeric locale; stops at the first message. */
LtStatus io_csv_each(IoCtx *c, const char *p, size_t n, const IoCsv *info, char sep, IoCsvVisit fn,
                     void *ud);

/* A column for io_csv_write_cols: numbers (t, a contiguous 1-D tensor of rows values) or text
 * (s and len, rows entries each; s[i] NULL for a missing value, written as an empty field). */
typedef struct {
  const Tensor *t;
  const char *const *s;
  const size_t *len;
} IoCsvCol;
/* Writes ncols columns of rows values as CSV with LF line ends: the header (names, len) when
 * names is not NULL, then the rows. Numbers as io_csv_write writes them; text quoted when a
 * reader would otherwise split, trim or misread it (a separator, quote, CR or LF, edge spaces,
 * an empty string, or one of the default missing-value markers, so it reads back as text). */
LtStatus io_csv_write_cols(IoCtx *c, IoWriter *w, const IoCsvCol *cols, int64_t ncols, int64_t rows,
                           const char *const *names, const size_t *len, char sep);
/* The markers read_csv's frame mode takes as missing by default (NULL-terminated): "", NA, N/A,
 * #N/A, NaN, nan, null, NULL, None (in a text column only when unquoted). */
extern const char *const io_csv_default_na[];

#endif
