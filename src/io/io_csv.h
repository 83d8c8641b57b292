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

#endif
