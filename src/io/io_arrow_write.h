/* io_arrow_write.h - an Apache Arrow IPC writer (core, no Lua): the file format (Feather v2) or
 * the stream format, record batches of a set number of rows, bodies uncompressed, LZ4_FRAME or
 * ZSTD (liblz4 and libzstd loaded with dlopen on first use). */
#ifndef LUNETTE_IO_ARROW_WRITE_H
#define LUNETTE_IO_ARROW_WRITE_H
#include "io/io.h"
#include "io/io_parquet_write.h" /* IoPqwCol: the column descriptors both table writers take */

enum { IO_ARW_NONE = -1, IO_ARW_LZ4 = 0, IO_ARW_ZSTD = 1 };

typedef struct {
  int codec;          /* IO_ARW_* */
  int64_t batch_rows; /* rows per record batch, >= 1 */
  int stream;         /* the stream format (no magic, no footer) instead of the file format */
  int zstd_level;     /* 1..22 */
} IoArwOpts;

/* Writes ncols columns of rows rows through w (not committed) as Arrow IPC: a 1-D tensor
 * (IO_PQW_NUM) as Bool, UInt8, Int32, Int64, Float16, Float32 or Float64; a 2-D one
 * (IO_PQW_LIST, [rows x d]) as FixedSizeList<item: element>[d]; text (IO_PQW_TEXT, a NULL string
 * a null) as Utf8, LargeUtf8 past 2 GiB of text; codes and levels (IO_PQW_DICT, codes 1-based, 0
 * a null) as Dictionary<Utf8, Int32> with one dictionary batch. Every field is nullable. Fails
 * on a code out of 0..nlev, a tensor of another dtype (bfloat16: the façade converts it), or a
 * codec that cannot be loaded. */
LtStatus io_ar_write(IoCtx *c, IoWriter *w, const IoPqwCol *cols, int ncols, int64_t rows,
                     const IoArwOpts *o);

#endif
