/* io_hdf5.h - HDF5 datasets and attributes (h5py's files) through libhdf5, loaded with dlopen on
 * first use (libhdf5-103-1, Debian's serial build): core, no Lua. Objects are named by their
 * path from the root without the leading slash ("emb", "group/labels"); "/" or "" is the root
 * group (for attributes). */
#ifndef LUNETTE_IO_HDF5_H
#define LUNETTE_IO_HDF5_H
#include "io/io.h"

typedef struct IoH5 IoH5;

/* Opens path for reading, or creates it (write: truncating) for writing. libhdf5 missing or too
 * old, a file that is not HDF5, or an unreadable one is an error naming the reason; libhdf5's own
 * error printing is off. */
LtStatus io_h5_open(IoCtx *c, const char *path, int write, IoH5 **out);
/* Closes the file (and anything left open); NULL is fine. */
void io_h5_close(IoCtx *c, IoH5 *h);

/* Calls fn(ud, name, is_dataset) for every group and dataset below the root, in name order;
 * fn returns non-zero to stop. */
LtStatus io_h5_list(IoCtx *c, IoH5 *h, int (*fn)(void *ud, const char *name, int is_dataset),
                    void *ud);
/* Calls fn(ud, attr) for every attribute of object obj. */
LtStatus io_h5_attr_names(IoCtx *c, IoH5 *h, const char *obj, int (*fn)(void *ud, const char *attr),
                          void *ud);

typedef struct {
  int ndim; /* 0 for a scalar */
  int64_t shape[LT_MAXDIM];
  int text;   /* strings (fixed or variable length) */
  LtDtype dt; /* numbers: the dtype they are read as */
} IoH5Info;
/* The shape and kind of dataset obj, or of its attribute attr (attr not NULL). Numbers:
 * float16/32 as float32, float64, int8/int16/int32 as int32, uint8 as uint8, uint16/uint32 and
 * int64 as int64; a 1-byte enum (h5py's bool) as bool; uint64, compound, other enums, reference
 * and other classes are refused
 * naming the class. */
LtStatus io_h5_info(IoCtx *c, IoH5 *h, const char *obj, const char *attr, IoH5Info *info);
/* Reads rows [first, first + count) along the first dimension of numeric dataset obj (all of
 * an attribute: attr not NULL, first 0, count its rows or 1 for a scalar) into dst, contiguous
 * in info.dt. */
LtStatus io_h5_read(IoCtx *c, IoH5 *h, const char *obj, const char *attr, int64_t first,
                    int64_t count, void *dst);
/* Reads every string of a text dataset or attribute: *n strings, string i being
 * blob[off[i] .. off[i + 1]) (trailing NUL padding of fixed-length strings removed). *blob
 * (blob_cap bytes) and *off (n + 1 entries) are io_alloc'd: io_free them. */
LtStatus io_h5_read_text(IoCtx *c, IoH5 *h, const char *obj, const char *attr, int64_t *n,
                         char **blob, size_t *blob_cap, int64_t **off);

/* Creates dataset obj (intermediate groups too) from the contiguous tensor t (float32, float64,
 * int32, int64, uint8, bool as h5py's int8 enum), or attribute attr of object obj when attr is not
 * NULL. */
LtStatus io_h5_write(IoCtx *c, IoH5 *h, const char *obj, const char *attr, const Tensor *t);
/* The same for n NUL-terminated UTF-8 strings (variable length, as h5py writes str); scalar
 * writes one string as a scalar. */
LtStatus io_h5_write_text(IoCtx *c, IoH5 *h, const char *obj, const char *attr,
                          const char *const *s, int64_t n, int scalar);

#endif
