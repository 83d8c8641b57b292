/* io_thrift.h - a reader of Apache Thrift's compact protocol (Parquet's footer and page headers):
 * bounded by its buffer, nesting limited, unknown fields skipped (core, no Lua). */
#ifndef LUNETTE_IO_THRIFT_H
#define LUNETTE_IO_THRIFT_H
#include "io/io.h"

/* Deeper structs or lists are refused: a hostile footer could nest 10^6 deep. */
#define IO_TR_MAX_DEPTH 64

/* Field types on the wire. */
enum {
  IO_T_STOP,
  IO_T_TRUE,
  IO_T_FALSE,
  IO_T_BYTE,
  IO_T_I16,
  IO_T_I32,
  IO_T_I64,
  IO_T_DOUBLE,
  IO_T_BINARY,
  IO_T_LIST,
  IO_T_SET,
  IO_T_MAP,
  IO_T_STRUCT
};

/* A reader over [p, end); st keeps the first error (io_fail'd into c). */
typedef struct {
  IoCtx *c;
  const uint8_t *p, *end;
  int depth;
  LtStatus st;
} IoTr;

/* Called for each field of a struct; returns 1 when it consumed the value, 0 to have it skipped. */
typedef int (*IoTrField)(IoTr *t, void *ud, int id, int type);

/* Records the first error ("bad Thrift metadata (what)") in t and returns it. */
LtStatus io_tr_bad(IoTr *t, const char *what);
/* A ULEB128 varint; 0 and an error in t when truncated or longer than 10 bytes. */
uint64_t io_tr_varint(IoTr *t);
/* A zigzag varint (i16, i32, i64 fields). */
int64_t io_tr_zigzag(IoTr *t);
/* An i32 field, an error when out of int32's range. */
int64_t io_tr_i32(IoTr *t);
/* A binary/string field: its n bytes, left in the buffer; NULL and an error past the end. */
const uint8_t *io_tr_binary(IoTr *t, uint64_t *n);
/* A list header: the element count (checked against the bytes left) and the element type. */
uint64_t io_tr_list(IoTr *t, int *etype);
/* Reads a struct, calling fn (NULL: skip every field) for each field. */
LtStatus io_tr_struct(IoTr *t, IoTrField fn, void *ud);
/* Skips a value of the given type (nesting counted). */
LtStatus io_tr_skip(IoTr *t, int type);
/* True for the integer wire types. */
static inline int io_tr_is_int(int type) {
  return type == IO_T_I16 || type == IO_T_I32 || type == IO_T_I64;
}
#endif
