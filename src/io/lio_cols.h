/* lio_cols.h - the columns a table writer (write_parquet, write_arrow) takes from Lua, collected
 * once for both (defined in lio_parquet.c). */
#ifndef LUNETTE_LIO_COLS_H
#define LUNETTE_LIO_COLS_H
#include "io/lio.h"
#include "io/io_parquet_write.h"

/* Reads the columns named by the array at stack index 3 from the table at index 2 into
 * descriptors owned by h (valid while h and the stack values live): a 1-D tensor (IO_PQW_NUM),
 * a 2-D one (IO_PQW_LIST), {codes = int64 tensor, levels = {...}} (IO_PQW_DICT), or a string
 * array with io.null for a null (IO_PQW_TEXT). The façade has made tensors contiguous and codes
 * int64. Raises, naming fname, on a value that is not a string or columns of different lengths;
 * pushes the names and columns onto the stack. */
void lio_collect_columns(lua_State *L, LioHandle *h, const char *fname, const IoPqwCol **cols,
                         int *ncols, int64_t *rows);

#endif
