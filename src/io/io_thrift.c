/* io_thrift.c - Thrift compact protocol reader (see io_thrift.h). */
#include "io/io_thrift.h"

/* Records the first error (later ones are consequences) and returns it. */
LtStatus io_tr_bad(IoTr *t, const char *what) {
  if (!t->st) t->st = io_fail(t->c, LT_EVALUE, "bad Thrift metadata (%s)", what);
  return t->st;
}

uint64_t io_tr_varint(IoTr *t) {
  uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (t->p >= t->end) {
      io_tr_bad(t, "truncated");
      return 0;
    }
    uint8_t b = *t->p++;
    v |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) return v;
  }
  io_tr_bad(t, "varint too long");
  return 0;
}

int64_t io_tr_zigzag(IoTr *t) {
  uint64_t v = io_tr_varint(t);
  return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

/* An i32 field that must fit in int32 (the format's i32). */
int64_t io_tr_i32(IoTr *t) {
  int64_t v = io_tr_zigzag(t);
  if (v < INT32_MIN || v > INT32_MAX) io_tr_bad(t, "i32 out of range");
  return v;
}

/* A binary/string: its bytes stay in the metadata buffer. */
const uint8_t *io_tr_binary(IoTr *t, uint64_t *n) {
  *n = io_tr_varint(t);
  if (t->st) return NULL;
  if (*n > (uint64_t)(t->end - t->p)) {
    io_tr_bad(t, "string past the metadata");
    return NULL;
  }
  const uint8_t *p = t->p;
  t->p += *n;
  return p;
}

/* A list header: element count (checked against the bytes left, each element takes at least
 * one) and type. */
uint64_t io_tr_list(IoTr *t, int *etype) {
  if (t->p >= t->end) {
    io_tr_bad(t, "truncated");
    return 0;
  }
  uint8_t b = *t->p++;
  uint64_t n = b >> 4;
  *etype = b & 15;
  if (n == 15) n = io_tr_varint(t);
  if (!t->st && n > (uint64_t)(t->end - t->p)) io_tr_bad(t, "list longer than the metadata");
  return t->st ? 0 : n;
}

/* Reads a struct, calling fn for each field; fn returns 1 when it consumed the value, 0 to skip
 * it. Nesting deeper than IO_TR_MAX_DEPTH is refused (a hostile footer could nest 10^6 deep). */
LtStatus io_tr_struct(IoTr *t, IoTrField fn, void *ud) {
  if (++t->depth > IO_TR_MAX_DEPTH) return io_tr_bad(t, "nested too deep");
  int id = 0;
  while (!t->st) {
    if (t->p >= t->end) return io_tr_bad(t, "truncated");
    uint8_t b = *t->p++;
    int type = b & 15;
    if (type == IO_T_STOP) break;
    int delta = b >> 4;
    if (delta)
      id += delta;
    else
      id = (int)io_tr_zigzag(t);
    if (t->st) break;
    if (type > IO_T_STRUCT) return io_tr_bad(t, "unknown field type");
    if (!fn || !fn(t, ud, id, type)) io_tr_skip(t, type);
  }
  t->depth--;
  return t->st;
}

LtStatus io_tr_skip(IoTr *t, int type) {
  uint64_t n;
  int et;
  switch (type) {
  case IO_T_TRUE:
  case IO_T_FALSE: return t->st;
  case IO_T_BYTE:
    if (t->p >= t->end) return io_tr_bad(t, "truncated");
    t->p++;
    return t->st;
  case IO_T_I16:
  case IO_T_I32:
  case IO_T_I64: io_tr_varint(t); return t->st;
  case IO_T_DOUBLE:
    if (t->end - t->p < 8) return io_tr_bad(t, "truncated");
    t->p += 8;
    return t->st;
  case IO_T_BINARY: io_tr_binary(t, &n); return t->st;
  case IO_T_LIST:
  case IO_T_SET:
    n = io_tr_list(t, &et);
    if (++t->depth > IO_TR_MAX_DEPTH) return io_tr_bad(t, "nested too deep");
    for (uint64_t i = 0; i < n && !t->st; i++) {
      /* Booleans inside a list take a byte each. */
      if (et == IO_T_TRUE || et == IO_T_FALSE)
        io_tr_skip(t, IO_T_BYTE);
      else
        io_tr_skip(t, et);
    }
    t->depth--;
    return t->st;
  case IO_T_MAP: {
    n = io_tr_varint(t);
    if (t->st || n == 0) return t->st;
    if (t->p >= t->end || n > (uint64_t)(t->end - t->p)) return io_tr_bad(t, "truncated map");
    uint8_t kv = *t->p++;
    if (++t->depth > IO_TR_MAX_DEPTH) return io_tr_bad(t, "nested too deep");
    for (uint64_t i = 0; i < n && !t->st; i++) {
      io_tr_skip(t, kv >> 4);
      io_tr_skip(t, kv & 15);
    }
    t->depth--;
    return t->st;
  }
  case IO_T_STRUCT: return io_tr_struct(t, NULL, NULL);
  default: return io_tr_bad(t, "unknown field type");
  }
}
