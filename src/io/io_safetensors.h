/* io_safetensors.h - safetensors: a validating header parser (exact-integer JSON) and a header
 * writer (core, no Lua). */
#ifndef LUNETTE_IO_SAFETENSORS_H
#define LUNETTE_IO_SAFETENSORS_H
#include "io/io_src.h"

/* The reference implementation's cap on the JSON header. */
#define IO_ST_MAX_HEADER 100000000u

typedef struct {
  const char *name; /* decoded UTF-8 (may hold NULs: use name_len) */
  size_t name_len;
  IoStype st;
  int ndim;
  int64_t shape[LT_MAXDIM];
  uint64_t begin, end; /* absolute byte range in the file */
} IoStTensor;

typedef struct {
  const char *k, *v;
  size_t kn, vn;
} IoStMeta;

typedef struct {
  IoStTensor *t; /* in file order of their data */
  size_t n, t_cap;
  IoStMeta *meta; /* __metadata__, in header order */
  size_t nmeta, meta_cap;
  char *strings; /* decoded strings live here */
  size_t strings_n;
} IoSafetensors;

/* Parses and validates the file in s as the format requires: u64
 * little-endian header length N with 8 + N within the file and N at most
 * IO_ST_MAX_HEADER; the header valid UTF-8 and a JSON object (JSON
 * whitespace allowed around it) whose values are tensor entries
 * {"dtype", "shape", "data_offsets"} (each exactly once, nothing else)
 * or "__metadata__" (an object of strings); no duplicate names; integers
 * exact (no sign, fraction, exponent, leading zero or overflow); dtype one
 * of BOOL U8 I8 I16 U16 I32 U32 I64 F16 BF16 F32 F64; the byte size of
 * each shape equal to its offsets; and the data section covered by the
 * tensors in order with no gap, no overlap and no trailing byte (the file
 * ends exactly at the last tensor). *f is empty on failure. */
LtStatus io_st_parse(IoCtx *c, IoSrc *s, IoSafetensors *f);
/* Frees what io_st_parse built and zeroes *f; idempotent. Names and metadata point into
 * f->strings and die with it. */
void io_st_free(IoCtx *c, IoSafetensors *f);

/* One tensor to write. */
typedef struct {
  const char *name;
  size_t name_len;
  LtDtype dt;
  int ndim;
  const int64_t *shape;
} IoStEntry;

/* Whether name[0..len) can name a tensor that io_st_parse reads back as
 * one: valid UTF-8 and not "__metadata__" (the key the format reserves for
 * metadata). LT_EVALUE with a message quoting the name otherwise. */
LtStatus io_st_check_name(IoCtx *c, const char *name, size_t len);

/* Formats the 8-byte length and the JSON header for tensors e[0..n) whose
 * data will follow in that order, and metadata m[0..nm); the header is
 * padded with spaces to a multiple of 8 bytes so the data section starts
 * aligned. Names must pass io_st_check_name, metadata be valid UTF-8, and
 * the header fit IO_ST_MAX_HEADER (what the reader takes). *out is io_alloc'd with
 * *cap bytes, *len of them used. */
LtStatus io_st_header(IoCtx *c, const IoStEntry *e, size_t n, const IoStMeta *m, size_t nm,
                      uint8_t **out, size_t *len, size_t *cap);
/* Nonzero when p[0..n) is valid UTF-8 (no overlongs, surrogates or values
 * past U+10FFFF). */
int io_utf8_valid(const uint8_t *p, size_t n);

#endif
