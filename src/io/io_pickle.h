/* io_pickle.h - a restricted unpickler for torch.save's data.pkl (allow-listed opcodes and globals,
 * never runs code) and a protocol-2 pickle writer (core, no Lua). */
#ifndef LUNETTE_IO_PICKLE_H
#define LUNETTE_IO_PICKLE_H
#include "io/io.h"

#define IO_PK_MAX_BYTES ((size_t)64 << 20) /* largest data.pkl accepted */
#define IO_PK_MAX_MARKS 10000              /* MARK nesting */

typedef enum {
  PK_NONE,
  PK_BOOL,
  PK_INT,
  PK_FLOAT,
  PK_STR,
  PK_BYTES,
  PK_TUPLE,
  PK_LIST,
  PK_DICT,
  PK_GLOBAL,
  PK_STORAGE,
  PK_TENSOR
} PkKind;

/* An unpickled value. Dicts keep (key, value) pairs in insertion order in
 * seq (v[2k], v[2k+1]); their keys are str, bytes, int or bool. The graph
 * may share nodes and even contain cycles (the memo allows both). */
typedef struct PkObj PkObj;
struct PkObj {
  uint8_t kind;
  uint8_t ordered; /* a dict made by collections.OrderedDict */
  int32_t id;      /* GLOBAL: which one; STORAGE, TENSOR: index */
  union {
    int64_t i; /* BOOL, INT */
    double f;
    struct {
      char *p;
      size_t n;
    } s; /* STR (UTF-8 as pickled), BYTES */
    struct {
      PkObj **v;
      size_t n, cap;
    } seq; /* TUPLE, LIST, DICT */
  } u;
};

/* A storage named by a persistent id ('storage', torch.<T>Storage, key,
 * location, numel): its bytes are the archive record data/<key>. */
typedef struct {
  char key[24]; /* decimal digits */
  IoStype st;
  uint64_t numel;
} PkStorage;

/* A tensor rebuilt by torch._utils._rebuild_tensor_v2: a strided view of
 * a storage (offset, size, stride in elements), bounds already checked
 * against the storage's numel. */
typedef struct {
  int32_t storage;
  int ndim;
  int64_t offset;
  int64_t shape[LT_MAXDIM], stride[LT_MAXDIM];
} PkTensor;

typedef struct PkArena PkArena;

typedef struct {
  PkObj *root;
  PkStorage *storages;
  size_t nstorages;
  PkTensor *tensors;
  size_t ntensors;
  PkArena *arena; /* every node, string and array above lives here */
  size_t arena_bytes;
} PkResult;

/* Unpickles p[0..n). Opcodes accepted (protocol 2 as torch.save writes
 * it): PROTO STOP MARK GLOBAL REDUCE BUILD BINPERSID EMPTY_DICT EMPTY_LIST
 * EMPTY_TUPLE TUPLE TUPLE1-3 SETITEM(S) APPEND(S) NONE NEWTRUE NEWFALSE
 * BININT BININT1 BININT2 LONG1 (<= 8 bytes) BINFLOAT BINUNICODE
 * SHORT_BINSTRING BINPUT LONG_BINPUT BINGET LONG_BINGET. Globals:
 * collections.OrderedDict, torch._utils._rebuild_tensor_v2,
 * torch._utils._rebuild_parameter and torch.{Float,Double,Half,BFloat16,
 * Long,Int,Short,Char,Byte,Bool}Storage (persistent ids only). REDUCE
 * calls only those, SETITEM(S) only on dicts, APPEND(S) only on lists,
 * BUILD only on an OrderedDict (its state, e.g. _metadata, is dropped).
 * Anything else fails with a message naming the opcode or global and its
 * byte offset. Every length is checked against the bytes left, every pop
 * against the stack, the memo is a hash map (huge indices cost nothing),
 * MARK nesting is capped, and all memory (capped at 128 bytes per input
 * byte plus 1 MiB, and by c->max_alloc) comes from one arena. */
LtStatus io_pickle_load(IoCtx *c, const uint8_t *p, size_t n, PkResult *r);
/* Frees the arena, and with it every node, string and array of r; zeroes *r. io_pickle_load
 * already did so when it failed; idempotent. */
void io_pickle_free(IoCtx *c, PkResult *r);

/* ---- writer: protocol 2, as torch.save emits it ------------------------- */

typedef struct {
  uint8_t *p;
  size_t n, cap;
  IoCtx *c;
  LtStatus st;
} PkWriter;

/* Each call appends opcodes; the first failure sticks in w->st. pkw_init starts a pickle with
 * PROTO 2 in an io_alloc'd buffer (w->p, w->n bytes used); the caller ends it with
 * pkw_op(w, PK_OP_STOP) and frees it with pkw_free (idempotent). An allocation failure sets
 * w->st to LT_ENOMEM (why in c->msg), after which calls do nothing. */
void pkw_init(PkWriter *w, IoCtx *c);
void pkw_free(PkWriter *w);
void pkw_op(PkWriter *w, uint8_t op); /* MARK, TUPLE, REDUCE, SETITEMS, ... */
void pkw_global(PkWriter *w, const char *module, const char *name);
void pkw_int(PkWriter *w, int64_t v);
void pkw_float(PkWriter *w, double v);
void pkw_str(PkWriter *w, const char *s, size_t n); /* BINUNICODE; s must be UTF-8 */
void pkw_bool(PkWriter *w, int v);
void pkw_none(PkWriter *w);
/* The tensor-rebuilding call torch.load expects, for a view of storage
 * `key` (dtype dt, numel elements) at offset with size and stride. */
void pkw_tensor(PkWriter *w, const char *key, LtDtype dt, uint64_t numel, int64_t offset, int ndim,
                const int64_t *shape, const int64_t *stride);

#define PK_OP_MARK        '('
#define PK_OP_STOP        '.'
#define PK_OP_TUPLE       't'
#define PK_OP_REDUCE      'R'
#define PK_OP_SETITEMS    'u'
#define PK_OP_APPENDS     'e'
#define PK_OP_EMPTY_DICT  '}'
#define PK_OP_EMPTY_LIST  ']'
#define PK_OP_EMPTY_TUPLE ')'

#endif
