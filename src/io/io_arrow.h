/* io_arrow.h - Apache Arrow IPC reader (core, no Lua): the file format (Feather v2, magic ARROW1,
 * a footer listing the record batches) and the stream format (messages back to back); Schema,
 * RecordBatch and DictionaryBatch messages (delta dictionaries appended); validity bitmaps; body
 * buffers uncompressed, LZ4_FRAME or ZSTD (liblz4 and libzstd loaded with dlopen on the first
 * compressed buffer). */
#ifndef LUNETTE_IO_ARROW_H
#define LUNETTE_IO_ARROW_H
#include "io/io.h"
#include "io/io_src.h"

/* What a schema node holds. */
enum {
  IO_AR_NUM,        /* integers, floats, dates, times, timestamps, durations: fixed-width numbers */
  IO_AR_BOOL,       /* bit-packed booleans */
  IO_AR_TEXT,       /* Utf8, Binary (32-bit offsets), LargeUtf8, LargeBinary (64-bit: `large`) */
  IO_AR_FIXED_TEXT, /* FixedSizeBinary, Decimal: `width` bytes a value, read as strings */
  IO_AR_LIST,       /* List, LargeList (`large`): one child */
  IO_AR_FIXED_LIST, /* FixedSizeList: one child, `list_size` values a row */
  IO_AR_STRUCT,     /* children flattened to dotted names */
  IO_AR_OTHER       /* laid out (so later columns are found) but not read: `refuse` says why */
};

/* One node of the schema tree, in pre-order (a node's first child is the next node). */
typedef struct {
  char *name; /* the field's name, NUL-terminated (io_alloc'd: strlen + 1 bytes) */
  int nullable;
  int kind;          /* IO_AR_* */
  int dtype;         /* the LtDtype numbers load as (IO_AR_NUM, IO_AR_BOOL), else -1 */
  int stype;         /* IoStype of a stored number (IO_AR_NUM) */
  int width;         /* bytes per stored value of NUM and FIXED_TEXT nodes */
  int large;         /* 64-bit offsets (TEXT, LIST) */
  int64_t list_size; /* FIXED_LIST */
  int dict;          /* the dictionary (index into IoArFile.dicts) of a dictionary-encoded
                        field, or -1; its values have this node's type */
  int idx_width;     /* bytes of a dictionary index (1, 2, 4, 8) */
  int idx_signed;
  int parent;         /* index of the parent node, -1 for a top-level field */
  int end;            /* the index past its subtree */
  int fnode;          /* the FieldNode of this node in a record batch */
  int fbuf;           /* its first buffer in a record batch */
  int nbuf;           /* buffers it takes (children not counted) */
  const char *type;   /* the type's name ("int32", "utf8", "timestamp", ...) */
  const char *refuse; /* why a column holding this node cannot be read, or NULL */
} IoArNode;

/* One column as read_arrow returns it: a leaf of the schema, struct fields flattened. */
typedef struct {
  char *name; /* dotted path; NUL-terminated (io_alloc'd: strlen + 1 bytes) */
  int node;   /* the node holding the values (a list's child for a list column) */
  int list;   /* the LIST or FIXED_LIST node above it, or -1 */
  int nullable;
  const char *refuse; /* why the column cannot be read (an unsupported type), or NULL */
} IoArLeaf;

/* One column slice of a record batch, decoded (also a dictionary's values). Every value slot is
 * present: a null one has null[i] = 1 (its bytes are whatever the file holds there). */
typedef struct {
  int64_t rows;     /* rows of the batch */
  int64_t width;    /* list columns whose rows all hold `width` values (FixedSizeList always); else
                       -1 */
  int64_t *row_off; /* list columns: rows + 1 offsets into the slots; else NULL */
  int64_t nvals;    /* value slots: the rows of a flat column, the list elements otherwise */
  uint8_t *null;    /* nvals flags, or NULL when no slot is null */
  int dtype;        /* the LtDtype of the slots, -1 for text */
  uint8_t *data;    /* numbers: nvals * lt_dtype_size(dtype) bytes */
  int64_t *off;     /* text: nvals + 1 offsets into bytes */
  uint8_t *bytes;
  /* Dictionary-encoded text: nvals codes (0-based, -1 for a null) into the ndict strings
   * lev_off/lev_bytes, which the file owns (they live until io_ar_free). */
  int64_t *codes;
  int64_t ndict;
  const int64_t *lev_off;
  const uint8_t *lev_bytes;
  /* Bytes of the allocations above, for io_free. */
  size_t cap_null, cap_data, cap_off, cap_bytes, cap_codes, cap_rows;
} IoArColumn;

typedef struct {
  int64_t id;
  int node; /* the schema node whose type the values have */
  int loaded;
  IoArColumn vals; /* the values (flat), deltas appended */
} IoArDict;

/* Where one record batch lies. */
typedef struct {
  uint64_t meta_off; /* its message (continuation marker, length, flatbuffer) */
  int64_t rows;
} IoArBatch;

typedef struct {
  int stream; /* the stream format (no footer) */
  int nnodes;
  IoArNode *nodes;
  int nleaves;
  IoArLeaf *leaves;
  int nfnodes; /* FieldNodes and buffers one record batch holds */
  int nbufs;
  int ndicts;
  IoArDict *dicts;
  int nbatches;
  IoArBatch *batches;
  int64_t num_rows;
  size_t cap_nodes, cap_batches; /* entries allocated */
} IoArFile;

/* Reads the schema, the dictionaries and where each record batch lies of the Arrow IPC file or
 * stream s: magic numbers, footer length and blocks inside the file (file format), or every
 * message header in turn (stream format); flatbuffer offsets checked against their buffer,
 * fields nested at most 64 deep and at most 65,536 of them; dictionary batches decoded (a delta
 * appended, a replacement refused). Fills *f (zeroed on failure). A column of an unsupported
 * type (Map, Union, uint64, ...) does not fail the open: its leaf says why it cannot be read. */
LtStatus io_ar_open(IoCtx *c, IoSrc *s, IoArFile *f);
/* Frees what io_ar_open allocated; idempotent. */
void io_ar_free(IoCtx *c, IoArFile *f);

/* Decodes leaf `leaf` of record batch `batch` (0-based) of f into *out (zeroed on failure),
 * reading only that column's buffers. Every size read from the file is checked against the body
 * and the limits of c before it is allocated; a lying decompressed size, a dictionary index out
 * of range, offsets that go backwards or past their data, or a node length other than the
 * batch's is an error naming the column. */
LtStatus io_ar_read_column(IoCtx *c, IoSrc *s, const IoArFile *f, int batch, int leaf,
                           IoArColumn *out);
/* Frees what io_ar_read_column allocated; idempotent. */
void io_ar_column_free(IoCtx *c, IoArColumn *col);

#endif
