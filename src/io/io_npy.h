/* io_npy.h - NumPy .npy headers: parse (v1, v2, v3) and write (core, no Lua). */
#ifndef LUNETTE_IO_NPY_H
#define LUNETTE_IO_NPY_H
#include "io/io_src.h"

/* Largest header accepted (NumPy's own reader caps it at 10,000 bytes). */
#define IO_NPY_MAX_HEADER 65536
#define IO_NPY_MAX_TEXT   (1 << 24) /* characters of one string of a text array */

/* Parses the header at the start of s without evaluating anything: the
 * dict literal is read by a small grammar that accepts exactly the keys
 * 'descr', 'fortran_order', 'shape'. Supported descr: b1 u1 i1 i2 u2 i4
 * u4 i8 f2 f4 f8 in either byte order ('<', '>', '|', '='); object,
 * string, structured, complex and uint64 arrays are refused. Checks that
 * the data size matches the source size exactly when it is known
 * (`exact`), i.e. no truncation and no trailing bytes. Fills *a. */
LtStatus io_npy_parse(IoCtx *c, IoSrc *s, int exact, IoArray *a);

/* Formats the header for a C-order array of dtype dt and shape into buf
 * (at least 1024 bytes): magic, version 1.0, the dict padded with spaces
 * and a newline so the data starts on a 64-byte boundary.
 * Returns its length, or 0 for a dtype NumPy cannot represent (bfloat16). */
size_t io_npy_header(LtDtype dt, int ndim, const int64_t *shape, uint8_t *buf);

#endif
