/* io_pickle.c - the restricted unpickler (allow-listed opcodes and globals into an arena-allocated
 * graph) and the protocol-2 writer. */
#include <stdio.h>
#include <string.h>
#include "io/io_pickle.h"

/* ---- arena: every node, string and array of one load ---------------------- */

/* Blocks of at least 64 KiB, each headed by this struct. Nothing is freed before the load ends:
 * the graph may share nodes and hold cycles, and one free of the whole arena never frees a node
 * twice or too early. */
struct PkArena {
  PkArena *next;
  size_t size, used;
};
#define BLOCK ((size_t)64 << 10)

/* The unpickler: the pickle machine's stack and mark stack (pickletools' model), the memo and
 * storage maps, and the result being built. */
typedef struct {
  IoCtx *c;
  PkResult *r;
  size_t cap; /* arena byte budget */
  const uint8_t *p0, *p, *end;
  PkObj **stack;
  size_t sp, scap;
  size_t marks[IO_PK_MAX_MARKS];
  size_t nmarks;
  uint64_t *mkeys; /* memo and storage maps: open addressing */
  PkObj **mvals;
  size_t mcount, mcap;
  uint64_t *skeys;
  size_t *svals, scount, skcap, stcap, ttcap;
  PkObj *none, *yes, *no, *empty_tuple;
} U;

/* n bytes from the newest block, or from a new one (sized n when n exceeds BLOCK); NULL, with
 * c->msg set, when the arena budget or max_alloc says no. */
static void *arena_new(U *u, size_t n) {
  PkResult *r = u->r;
  /* 16-byte steps keep every node and array aligned for pointers, int64 and double. */
  n = (n + 15) & ~(size_t)15;
  if (r->arena && r->arena->size - r->arena->used >= n) {
    void *p = (char *)(r->arena + 1) + r->arena->used;
    r->arena->used += n;
    return p;
  }
  size_t size = n > BLOCK ? n : BLOCK;
  /* The arena budget (see io_pickle_load) bounds what a small hostile pickle can build. */
  if (r->arena_bytes + size > u->cap) {
    io_fail(u->c, LT_ERANGE, "data.pkl builds more objects than its size allows (over %zu bytes)",
            u->cap);
    return NULL;
  }
  PkArena *b = io_alloc(u->c, sizeof(PkArena) + size);
  if (!b) return NULL;
  r->arena_bytes += size;
  b->size = size;
  b->used = n;
  b->next = r->arena;
  r->arena = b;
  return b + 1;
}

static void *arena_zero(U *u, size_t n) {
  void *p = arena_new(u, n);
  if (p) memset(p, 0, n);
  return p;
}

void io_pickle_free(IoCtx *c, PkResult *r) {
  for (PkArena *b = r->arena; b;) {
    PkArena *next = b->next;
    io_free(c, b, sizeof(PkArena) + b->size);
    b = next;
  }
  memset(r, 0, sizeof *r);
}

/* ---- errors and reading ------------------------------------------------------ */

/* Opcodes that are refused, by their pickletools names, so the message says which one. */
static const struct {
  uint8_t op;
  const char *name;
} OPNAMES[] = {
    {'i', "INST"},
    {'o', "OBJ"},
    {0x93, "STACK_GLOBAL"},
    {0x95, "FRAME"},
    {'V', "UNICODE"},
    {0x8e, "BINBYTES8"},
    {0x81, "NEWOBJ"},
    {0x92, "NEWOBJ_EX"},
    {0x94, "MEMOIZE"},
    {0x8c, "SHORT_BINUNICODE"},
    {0x8d, "BINUNICODE8"},
    {'B', "BINBYTES"},
    {'C', "SHORT_BINBYTES"},
    {'I', "INT"},
    {'L', "LONG"},
    {0x8b, "LONG4"},
    {'S', "STRING"},
    {'T', "BINSTRING"},
    {'F', "FLOAT"},
    {'P', "PERSID"},
    {'0', "POP"},
    {'1', "POP_MARK"},
    {'2', "DUP"},
    {'d', "DICT"},
    {'l', "LIST"},
    {'g', "GET"},
    {'p', "PUT"},
    {0x82, "EXT1"},
    {0x83, "EXT2"},
    {0x84, "EXT4"},
    {0x8f, "EMPTY_SET"},
    {0x90, "ADDITEMS"},
    {0x91, "FROZENSET"},
    {0x96, "BYTEARRAY8"},
    {0x97, "NEXT_BUFFER"},
    {0x98, "READONLY_BUFFER"},
};

/* Fails with the byte offset of the current opcode. fmt takes exactly one %s, filled with arg:
 * callers with nothing to insert write a leading %s and pass "". */
static LtStatus fail(U *u, const char *fmt, const char *arg) {
  char m[IO_MSG];
  if (snprintf(m, sizeof m, fmt, arg) < 0) m[0] = 0;
  return io_fail(u->c, LT_EVALUE, "data.pkl: %s at byte %zu", m, (size_t)(u->p - u->p0));
}

static LtStatus need(U *u, size_t n) {
  if ((size_t)(u->end - u->p) < n) return fail(u, "%sunexpected end of data", "");
  return LT_OK;
}

/* ---- the stack ------------------------------------------------------------------ */

static LtStatus push(U *u, PkObj *o) {
  if (!o) return LT_ENOMEM;
  /* The stack lives in the arena too: growing it leaves the old copy there until the end. */
  if (u->sp == u->scap) {
    size_t cap = u->scap ? 2 * u->scap : 64;
    PkObj **s = arena_new(u, cap * sizeof *s);
    if (!s) return LT_ENOMEM;
    if (u->sp) memcpy(s, u->stack, u->sp * sizeof *s);
    u->stack = s;
    u->scap = cap;
  }
  u->stack[u->sp++] = o;
  return LT_OK;
}

/* Items below the last MARK belong to an enclosing opcode: pop and top refuse to reach them. */
static size_t floor_sp(U *u) { return u->nmarks ? u->marks[u->nmarks - 1] : 0; }

static PkObj *pop(U *u) {
  if (u->sp <= floor_sp(u)) {
    fail(u, "%sstack underflow", "");
    return NULL;
  }
  return u->stack[--u->sp];
}

static PkObj *top(U *u) {
  if (u->sp <= floor_sp(u)) {
    fail(u, "%sstack underflow", "");
    return NULL;
  }
  return u->stack[u->sp - 1];
}

static LtStatus pop_mark(U *u, size_t *mark) {
  if (!u->nmarks) return fail(u, "%smissing MARK", "");
  *mark = u->marks[--u->nmarks];
  return LT_OK;
}

static PkObj *new_obj(U *u, PkKind k) {
  PkObj *o = arena_zero(u, sizeof *o);
  if (o) o->kind = (uint8_t)k;
  return o;
}

/* Appends v to a tuple, list or dict; the array doubles in the arena (the old one stays there). */
static LtStatus seq_add(U *u, PkObj *o, PkObj *v) {
  if (o->u.seq.n == o->u.seq.cap) {
    size_t cap = o->u.seq.cap ? 2 * o->u.seq.cap : 4;
    PkObj **a = arena_new(u, cap * sizeof *a);
    if (!a) return LT_ENOMEM;
    if (o->u.seq.n) memcpy(a, o->u.seq.v, o->u.seq.n * sizeof *a);
    o->u.seq.v = a;
    o->u.seq.cap = cap;
  }
  o->u.seq.v[o->u.seq.n++] = v;
  return LT_OK;
}

static PkObj *make_tuple(U *u, PkObj **items, size_t n) {
  if (n == 0) return u->empty_tuple;
  PkObj *t = new_obj(u, PK_TUPLE);
  if (!t || !(t->u.seq.v = arena_new(u, n * sizeof *items))) return NULL;
  memcpy(t->u.seq.v, items, n * sizeof *items);
  t->u.seq.n = t->u.seq.cap = n;
  return t;
}

/* ---- maps: memo (index -> object) and storages (key -> index) ----------------- */

/* The first steps of MurmurHash3's 64-bit finalizer. The file chooses the memo indices: keys
 * that share their low bits (multiples of the table size) must not all probe the same run of
 * slots. */
static size_t hash64(uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdULL;
  k ^= k >> 33;
  return (size_t)k;
}

/* Open addressing with linear probing, at most half full. A hash map rather than an array
 * indexed by memo number: one LONG_BINPUT of 4 billion would size an array. A NULL value marks a
 * free slot (stored values never are NULL); a key put again takes the new value, as in Python. */
static LtStatus memo_put(U *u, uint64_t key, PkObj *v) {
  if (2 * (u->mcount + 1) > u->mcap) {
    size_t cap = u->mcap ? 2 * u->mcap : 64;
    uint64_t *k = arena_new(u, cap * sizeof *k);
    PkObj **vals = arena_zero(u, cap * sizeof *vals);
    if (!k || !vals) return LT_ENOMEM;
    for (size_t i = 0; i < u->mcap; i++)
      if (u->mvals[i]) {
        size_t j = hash64(u->mkeys[i]) & (cap - 1);
        while (vals[j]) j = (j + 1) & (cap - 1);
        k[j] = u->mkeys[i];
        vals[j] = u->mvals[i];
      }
    u->mkeys = k;
    u->mvals = vals;
    u->mcap = cap;
  }
  size_t j = hash64(key) & (u->mcap - 1);
  while (u->mvals[j] && u->mkeys[j] != key) j = (j + 1) & (u->mcap - 1);
  if (!u->mvals[j]) u->mcount++;
  u->mkeys[j] = key;
  u->mvals[j] = v;
  return LT_OK;
}

static PkObj *memo_get(U *u, uint64_t key) {
  if (!u->mcap) return NULL;
  size_t j = hash64(key) & (u->mcap - 1);
  while (u->mvals[j]) {
    if (u->mkeys[j] == key) return u->mvals[j];
    j = (j + 1) & (u->mcap - 1);
  }
  return NULL;
}

/* ---- globals -------------------------------------------------------------------------- */

enum { G_ORDERED_DICT = 1, G_REBUILD_V2, G_REBUILD_PARAM, G_STORAGE = 100 };

/* The only globals a checkpoint may name. Any other (os.system, builtins.eval, a model class) is
 * how a pickle runs code on load, and is refused. */
static const struct {
  const char *mod, *name;
  int id;
} GLOBALS[] = {
    {"collections", "OrderedDict", G_ORDERED_DICT},
    {"torch._utils", "_rebuild_tensor_v2", G_REBUILD_V2},
    {"torch._utils", "_rebuild_parameter", G_REBUILD_PARAM},
    {"torch", "FloatStorage", G_STORAGE + IO_F4},
    {"torch", "DoubleStorage", G_STORAGE + IO_F8},
    {"torch", "HalfStorage", G_STORAGE + IO_F2},
    {"torch", "BFloat16Storage", G_STORAGE + IO_BF2},
    {"torch", "LongStorage", G_STORAGE + IO_I8},
    {"torch", "IntStorage", G_STORAGE + IO_I4},
    {"torch", "ShortStorage", G_STORAGE + IO_I2},
    {"torch", "CharStorage", G_STORAGE + IO_I1},
    {"torch", "ByteStorage", G_STORAGE + IO_U1},
    {"torch", "BoolStorage", G_STORAGE + IO_B1},
};

/* One operand of GLOBAL, a text line: printable ASCII, as every allowed name is. */
static LtStatus read_line(U *u, char *out, size_t cap) {
  size_t n = 0;
  while (u->p < u->end && *u->p != '\n') {
    if (n + 1 >= cap || *u->p < 0x20 || *u->p > 0x7e) return fail(u, "%sbad GLOBAL name", "");
    out[n++] = (char)*u->p++;
  }
  if (u->p >= u->end) return fail(u, "%sunterminated GLOBAL", "");
  u->p++;
  out[n] = 0;
  return LT_OK;
}

static LtStatus op_global(U *u) {
  char mod[128], name[128], full[IO_MSG];
  LtStatus st = read_line(u, mod, sizeof mod);
  if (st == LT_OK) st = read_line(u, name, sizeof name);
  if (st) return st;
  for (size_t i = 0; i < sizeof GLOBALS / sizeof GLOBALS[0]; i++)
    if (!strcmp(mod, GLOBALS[i].mod) && !strcmp(name, GLOBALS[i].name)) {
      PkObj *g = new_obj(u, PK_GLOBAL);
      if (g) g->id = GLOBALS[i].id;
      return push(u, g);
    }
  snprintf(full, sizeof full, "%s.%s", mod, name);
  return fail(u, "unsupported global '%s' (only tensor state dicts and plain data are loaded)",
              full);
}

/* ---- storages and tensors --------------------------------------------------------- */

static int is_str(const PkObj *o, const char *s) {
  return o->kind == PK_STR && o->u.s.n == strlen(s) && !memcmp(o->u.s.p, s, o->u.s.n);
}

/* The index of storage `key` in r->storages, added on first sight. A key seen again (tensors
 * sharing a storage) must agree on its type and size. */
static LtStatus storage_index(U *u, const char *key, size_t kn, IoStype st, uint64_t numel,
                              size_t *out) {
  PkResult *r = u->r;
  uint64_t k = 0;
  /* At most 18 digits (op_persid checked): no overflow. */
  for (size_t i = 0; i < kn; i++) k = k * 10 + (uint64_t)(key[i] - '0');
  /* storages share the memo map under complemented keys: memo indices are
   * below 2^32, keys (at most 18 digits) below 2^60, so ~k never collides */
  PkObj *hit = memo_get(u, ~k);
  if (hit) {
    PkStorage *s = &r->storages[hit->id];
    if (s->st != st || s->numel != numel)
      return fail(u, "storage '%s' is used with two different types or sizes", s->key);
    *out = (size_t)hit->id;
    return LT_OK;
  }
  if (r->nstorages == u->stcap) {
    size_t cap = u->stcap ? 2 * u->stcap : 16;
    PkStorage *a = arena_new(u, cap * sizeof *a);
    if (!a) return LT_ENOMEM;
    if (r->nstorages) memcpy(a, r->storages, r->nstorages * sizeof *a);
    r->storages = a;
    u->stcap = cap;
  }
  PkStorage *s = &r->storages[r->nstorages];
  memcpy(s->key, key, kn);
  s->key[kn] = 0;
  s->st = st;
  s->numel = numel;
  PkObj *marker = new_obj(u, PK_STORAGE);
  if (!marker) return LT_ENOMEM;
  marker->id = (int32_t)r->nstorages;
  *out = r->nstorages++;
  return memo_put(u, ~k, marker);
}

/* BINPERSID: ('storage', torch.<T>Storage, key, location, numel) */
static LtStatus op_persid(U *u) {
  PkObj *pid = pop(u);
  if (!pid) return LT_EVALUE;
  if (pid->kind != PK_TUPLE || pid->u.seq.n != 5 || !is_str(pid->u.seq.v[0], "storage"))
    return fail(u, "%spersistent id is not a ('storage', ...) tuple", "");
  PkObj **v = pid->u.seq.v;
  if (v[1]->kind != PK_GLOBAL || v[1]->id < G_STORAGE)
    return fail(u, "%spersistent id names no storage type", "");
  /* The key names the record data/<key>: decimal digits without a leading zero, as torch.save
   * numbers them; 18 digits fit uint64 and PkStorage.key. */
  if (v[2]->kind != PK_STR || v[2]->u.s.n == 0 || v[2]->u.s.n > 18)
    return fail(u, "%sbad storage key", "");
  for (size_t i = 0; i < v[2]->u.s.n; i++)
    if (v[2]->u.s.p[i] < '0' || v[2]->u.s.p[i] > '9' ||
        (i == 0 && v[2]->u.s.p[0] == '0' && v[2]->u.s.n > 1))
      return fail(u, "%sstorage key is not a decimal number", "");
  /* The location ('cpu', 'cuda:0') is not used: everything loads on the CPU. */
  if (v[3]->kind != PK_STR) return fail(u, "%sstorage location is not a string", "");
  if (v[4]->kind != PK_INT || v[4]->u.i < 0)
    return fail(u, "%sstorage size is not a non-negative integer", "");
  IoStype st = (IoStype)(v[1]->id - G_STORAGE);
  uint64_t bytes;
  if (!io_mul_u64((uint64_t)v[4]->u.i, io_stype_size(st), &bytes) || bytes > IO_MAX_TENSOR_BYTES)
    return fail(u, "%sstorage is too large", "");
  size_t idx = 0;
  LtStatus s = storage_index(u, v[2]->u.s.p, v[2]->u.s.n, st, (uint64_t)v[4]->u.i, &idx);
  if (s) return s;
  PkObj *o = new_obj(u, PK_STORAGE);
  if (o) o->id = (int32_t)idx;
  return push(u, o);
}

/* A tuple of non-negative ints (a size or a stride) into out, at most LT_MAXDIM of them. */
static LtStatus int_tuple(U *u, const PkObj *t, int64_t *out, int *n, const char *what) {
  if (t->kind != PK_TUPLE) return fail(u, "_rebuild_tensor_v2: %s is not a tuple", what);
  if (t->u.seq.n > LT_MAXDIM)
    return fail(u, "_rebuild_tensor_v2: %s has more dims than supported", what);
  for (size_t i = 0; i < t->u.seq.n; i++) {
    const PkObj *x = t->u.seq.v[i];
    if (x->kind != PK_INT || x->u.i < 0)
      return fail(u, "_rebuild_tensor_v2: %s holds a negative or non-integer value", what);
    out[i] = x->u.i;
  }
  *n = (int)t->u.seq.n;
  return LT_OK;
}

/* _rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks[, metadata]) */
static PkObj *rebuild_tensor(U *u, const PkObj *args) {
  PkObj *const *a = args->u.seq.v;
  PkTensor t;
  int ns;
  memset(&t, 0, sizeof t);
  if ((args->u.seq.n != 6 && args->u.seq.n != 7) || a[0]->kind != PK_STORAGE ||
      a[1]->kind != PK_INT || a[1]->u.i < 0) {
    fail(u, "%s_rebuild_tensor_v2 called with unexpected arguments", "");
    return NULL;
  }
  if (int_tuple(u, a[2], t.shape, &t.ndim, "size") || int_tuple(u, a[3], t.stride, &ns, "stride"))
    return NULL;
  if (ns != t.ndim) {
    fail(u, "%s_rebuild_tensor_v2: size and stride differ in length", "");
    return NULL;
  }
  const PkStorage *s = &u->r->storages[a[0]->id];
  t.storage = a[0]->id;
  t.offset = a[1]->u.i;
  /* last: the element offset of the view's last element. Strides are not negative (int_tuple),
   * so the view lies inside the storage when its last element does. */
  uint64_t last = (uint64_t)t.offset, numel = 1, d;
  for (int i = 0; i < t.ndim; i++) {
    if (!io_mul_u64(numel, (uint64_t)t.shape[i], &numel)) {
      fail(u, "%stensor size overflows", "");
      return NULL;
    }
    if (t.shape[i] > 0 && (!io_mul_u64((uint64_t)(t.shape[i] - 1), (uint64_t)t.stride[i], &d) ||
                           !io_add_u64(last, d, &last))) {
      fail(u, "%stensor extent overflows", "");
      return NULL;
    }
  }
  /* An empty view still names a position: past the storage, a writer that keeps the view's
   * storage range (save_pt) would copy memory that is not the storage's. */
  if ((numel > 0 && last >= s->numel) || (numel == 0 && (uint64_t)t.offset > s->numel)) {
    fail(u, "tensor view reaches past the end of storage '%s'", s->key);
    return NULL;
  }
  /* a view with zero strides can have far more elements than its storage:
   * lunette's tensors must still count their elements and bytes in int64 */
  int64_t count;
  if (lt_shape_numel(t.ndim, t.shape, lt_dtype_size(io_stype_dtype(s->st)), &count) != LT_OK) {
    fail(u, "tensor view of storage '%s' has too many elements", s->key);
    return NULL;
  }
  PkResult *r = u->r;
  if (r->ntensors == u->ttcap) {
    size_t cap = u->ttcap ? 2 * u->ttcap : 16;
    PkTensor *arr = arena_new(u, cap * sizeof *arr);
    if (!arr) return NULL;
    if (r->ntensors) memcpy(arr, r->tensors, r->ntensors * sizeof *arr);
    r->tensors = arr;
    u->ttcap = cap;
  }
  r->tensors[r->ntensors] = t;
  PkObj *o = new_obj(u, PK_TENSOR);
  if (o) o->id = (int32_t)r->ntensors++;
  return o;
}

/* REDUCE: calls a global with an argument tuple. Only the callables of GLOBALS get here, and
 * each builds a node: nothing a pickle names is ever run. */
static LtStatus op_reduce(U *u) {
  PkObj *args = pop(u), *fn = args ? pop(u) : NULL, *res = NULL;
  if (!fn) return LT_EVALUE;
  if (args->kind != PK_TUPLE) return fail(u, "%sREDUCE arguments are not a tuple", "");
  if (fn->kind != PK_GLOBAL) return fail(u, "%sREDUCE of something that is not a global", "");
  switch (fn->id) {
  case G_ORDERED_DICT:
    if (args->u.seq.n)
      return fail(u, "%sOrderedDict with constructor arguments is not supported", "");
    if ((res = new_obj(u, PK_DICT)))
      res->ordered = 1;
    else
      return LT_ENOMEM;
    break;
  case G_REBUILD_V2:
    if (!(res = rebuild_tensor(u, args))) return u->c->msg[0] ? LT_EVALUE : LT_ENOMEM;
    break;
  /* _rebuild_parameter(data, requires_grad, backward_hooks): the Parameter loads as its tensor. */
  case G_REBUILD_PARAM:
    if (args->u.seq.n != 3 || args->u.seq.v[0]->kind != PK_TENSOR)
      return fail(u, "%s_rebuild_parameter called with unexpected arguments", "");
    res = args->u.seq.v[0];
    break;
  default: return fail(u, "%sa storage type cannot be called", "");
  }
  return push(u, res);
}

/* ---- containers ---------------------------------------------------------------------- */

/* Keys that become Lua keys and compare as they do in Python; a float or tuple key would not
 * survive the round trip. */
static int key_ok(const PkObj *k) {
  return k->kind == PK_STR || k->kind == PK_BYTES || k->kind == PK_INT || k->kind == PK_BOOL;
}

static LtStatus set_items(U *u, PkObj *d, PkObj **kv, size_t n) {
  if (d->kind != PK_DICT) return fail(u, "%sSETITEM on something that is not a dict", "");
  if (n % 2) return fail(u, "%sSETITEMS with an odd number of items", "");
  /* Pairs are appended, repeated keys included: the conversion to Lua keeps the last value, as
   * assigning twice in Python does. */
  for (size_t i = 0; i < n; i += 2) {
    if (!key_ok(kv[i]))
      return fail(u, "%sunsupported dict key type (only str, bytes, int, bool)", "");
    LtStatus st = seq_add(u, d, kv[i]);
    if (st == LT_OK) st = seq_add(u, d, kv[i + 1]);
    if (st) return st;
  }
  return LT_OK;
}

static LtStatus append_items(U *u, PkObj *l, PkObj **v, size_t n) {
  if (l->kind != PK_LIST) return fail(u, "%sAPPEND on something that is not a list", "");
  for (size_t i = 0; i < n; i++) {
    LtStatus st = seq_add(u, l, v[i]);
    if (st) return st;
  }
  return LT_OK;
}

/* SETITEMS, APPENDS, TUPLE: the items above the last MARK. */
static LtStatus op_marked(U *u, uint8_t op) {
  size_t mark = 0;
  LtStatus st = pop_mark(u, &mark);
  if (st) return st;
  PkObj **items = u->stack ? u->stack + mark : NULL; /* NULL: nothing was ever pushed */
  size_t n = u->sp - mark;
  u->sp = mark;
  if (op == 't') return push(u, make_tuple(u, items, n));
  PkObj *target = top(u);
  if (!target) return LT_EVALUE;
  return op == 'u' ? set_items(u, target, items, n) : append_items(u, target, items, n);
}

/* TUPLE1-3: the top n items, which must lie above the last MARK. */
static LtStatus op_tuple_n(U *u, size_t n) {
  if (u->sp < floor_sp(u) + n) return fail(u, "%sstack underflow", "");
  u->sp -= n;
  return push(u, make_tuple(u, u->stack + u->sp, n));
}

static LtStatus op_build(U *u) {
  PkObj *state = pop(u), *obj = state ? top(u) : NULL;
  if (!obj) return LT_EVALUE;
  if (obj->kind != PK_DICT || !obj->ordered)
    return fail(u, "%sBUILD is only supported on an OrderedDict", "");
  return LT_OK; /* OrderedDict state (e.g. a state_dict's _metadata) is not kept */
}

/* ---- scalars ----------------------------------------------------------------------------- */

static LtStatus push_int(U *u, int64_t v) {
  PkObj *o = new_obj(u, PK_INT);
  if (o) o->u.i = v;
  return push(u, o);
}

/* LONG1: a length byte, then a little-endian two's-complement integer of that many bytes. */
static LtStatus op_long1(U *u) {
  LtStatus st = need(u, 1);
  if (st) return st;
  size_t n = *u->p++;
  if ((st = need(u, n))) return st;
  if (n > 8) return fail(u, "%sLONG1 integer wider than 64 bits", "");
  uint64_t v = 0;
  for (size_t i = 0; i < n; i++) v |= (uint64_t)u->p[i] << (8 * i);
  if (n && n < 8 && (u->p[n - 1] & 0x80)) v |= ~(uint64_t)0 << (8 * n); /* sign-extend */
  u->p += n;
  return push_int(u, (int64_t)v);
}

/* The next n input bytes as a STR or BYTES node (NUL-terminated too, for messages). */
static LtStatus push_string(U *u, PkKind k, size_t n) {
  LtStatus st = need(u, n);
  if (st) return st;
  PkObj *o = new_obj(u, k);
  if (!o || !(o->u.s.p = arena_new(u, n + 1))) return LT_ENOMEM;
  memcpy(o->u.s.p, u->p, n);
  o->u.s.p[n] = 0;
  o->u.s.n = n;
  u->p += n;
  return push(u, o);
}

/* BINFLOAT: an IEEE double, big-endian. */
static LtStatus op_float(U *u) {
  LtStatus st = need(u, 8);
  if (st) return st;
  uint64_t b = 0;
  for (int i = 0; i < 8; i++) b = b << 8 | u->p[i];
  u->p += 8;
  PkObj *o = new_obj(u, PK_FLOAT);
  if (o) memcpy(&o->u.f, &b, 8);
  return push(u, o);
}

/* BINPUT, BINGET (1-byte index), LONG_BINPUT, LONG_BINGET (4-byte). PUT stores the top of the
 * stack without popping it. */
static LtStatus op_memo(U *u, uint8_t op) {
  size_t w = (op == 'q' || op == 'h') ? 1 : 4;
  LtStatus st = need(u, w);
  if (st) return st;
  uint64_t idx = w == 1 ? u->p[0] : io_le32(u->p);
  u->p += w;
  if (op == 'q' || op == 'r') {
    PkObj *t = top(u);
    return t ? memo_put(u, idx, t) : LT_EVALUE;
  }
  PkObj *o = memo_get(u, idx);
  if (!o) {
    char b[32];
    snprintf(b, sizeof b, "%llu", (unsigned long long)idx);
    return fail(u, "memo entry %s was never stored", b);
  }
  return push(u, o);
}

/* ---- the interpreter loop ------------------------------------------------------------- */

static LtStatus unsupported(U *u, uint8_t op) {
  char b[64];
  const char *name = NULL;
  for (size_t i = 0; i < sizeof OPNAMES / sizeof OPNAMES[0]; i++)
    if (OPNAMES[i].op == op) name = OPNAMES[i].name;
  snprintf(b, sizeof b, "%s (0x%02x)", name ? name : "unknown", op);
  /* Back onto the opcode, so the message gives its offset. */
  u->p--;
  return fail(u, "unsupported pickle opcode %s", b);
}

/* Executes opcode op (already consumed; its operands follow at u->p). */
static LtStatus step(U *u, uint8_t op) {
  LtStatus st;
  /* The switch is the allow-list: an opcode without a case is refused by name. In pickletools'
   * names: ( MARK, c GLOBAL, R REDUCE, b BUILD, Q BINPERSID, } ] ) EMPTY_DICT, _LIST, _TUPLE, t
   * u e TUPLE, SETITEMS, APPENDS, 0x85-0x87 TUPLE1-3, s SETITEM, a APPEND, N NONE, 0x88 0x89
   * NEWTRUE, NEWFALSE, J K M BININT, BININT1, BININT2, 0x8a LONG1, G BINFLOAT, X BINUNICODE, U
   * SHORT_BINSTRING, q r h j BINPUT, LONG_BINPUT, BINGET, LONG_BINGET. */
  switch (op) {
  case '(':
    if (u->nmarks == IO_PK_MAX_MARKS) return fail(u, "%sMARKs nested too deeply", "");
    u->marks[u->nmarks++] = u->sp;
    return LT_OK;
  case 'c': return op_global(u);
  case 'R': return op_reduce(u);
  case 'b': return op_build(u);
  case 'Q': return op_persid(u);
  case '}': return push(u, new_obj(u, PK_DICT));
  case ']': return push(u, new_obj(u, PK_LIST));
  case ')': return push(u, u->empty_tuple);
  case 't':
  case 'u':
  case 'e': return op_marked(u, op);
  case 0x85: return op_tuple_n(u, 1);
  case 0x86: return op_tuple_n(u, 2);
  case 0x87: return op_tuple_n(u, 3);
  case 's': {
    PkObj *v = pop(u), *k = v ? pop(u) : NULL, *d = k ? top(u) : NULL, *kv[2] = {k, v};
    return d ? set_items(u, d, kv, 2) : LT_EVALUE;
  }
  case 'a': {
    PkObj *v = pop(u), *l = v ? top(u) : NULL;
    return l ? append_items(u, l, &v, 1) : LT_EVALUE;
  }
  case 'N': return push(u, u->none);
  case 0x88: return push(u, u->yes);
  case 0x89: return push(u, u->no);
  case 'J':
    if ((st = need(u, 4))) return st;
    u->p += 4;
    /* BININT is signed; BININT1 and BININT2 below are unsigned. */
    return push_int(u, (int32_t)io_le32(u->p - 4));
  case 'K':
    if ((st = need(u, 1))) return st;
    u->p += 1;
    return push_int(u, u->p[-1]);
  case 'M':
    if ((st = need(u, 2))) return st;
    u->p += 2;
    return push_int(u, io_le16(u->p - 2));
  case 0x8a: return op_long1(u);
  case 'G': return op_float(u);
  case 'X':
    if ((st = need(u, 4))) return st;
    u->p += 4;
    return push_string(u, PK_STR, io_le32(u->p - 4));
  case 'U':
    if ((st = need(u, 1))) return st;
    u->p += 1;
    return push_string(u, PK_STR, u->p[-1]);
  case 'q':
  case 'r':
  case 'h':
  case 'j': return op_memo(u, op);
  default: return unsupported(u, op);
  }
}

/* Shared singletons: None, True, False and () are one node each, however often they occur. */
static LtStatus init(U *u) {
  if (!(u->none = new_obj(u, PK_NONE)) || !(u->yes = new_obj(u, PK_BOOL)) ||
      !(u->no = new_obj(u, PK_BOOL)) || !(u->empty_tuple = new_obj(u, PK_TUPLE)))
    return LT_ENOMEM;
  u->yes->u.i = 1;
  return LT_OK;
}

static LtStatus run(U *u) {
  LtStatus st = init(u);
  if (st) return st;
  /* PROTO may only come first. Protocols up to 5 are recognised, but only the opcodes above are
   * accepted, whatever the protocol says. */
  if (u->end - u->p >= 2 && u->p[0] == 0x80) {
    if (u->p[1] > 5) return fail(u, "%sunknown pickle protocol", "");
    u->p += 2;
  }
  while (u->p < u->end) {
    uint8_t op = *u->p++;
    if (op == '.') {
      /* STOP must find exactly the result on the stack and no MARK left open. */
      if (u->nmarks || u->sp != 1) return fail(u, "%sSTOP with a malformed stack", "");
      u->r->root = u->stack[0];
      return LT_OK;
    }
    if (op == 0x80) {
      u->p--;
      return fail(u, "%sPROTO is only allowed first", "");
    }
    if ((st = step(u, op))) return st;
  }
  return fail(u, "%sno STOP opcode", "");
}

LtStatus io_pickle_load(IoCtx *c, const uint8_t *p, size_t n, PkResult *r) {
  memset(r, 0, sizeof *r);
  if (n > IO_PK_MAX_BYTES)
    return io_fail(c, LT_ERANGE, "data.pkl is %zu bytes, over the %zu-byte limit", n,
                   IO_PK_MAX_BYTES);
  U *u = io_calloc(c, sizeof *u);
  if (!u) return LT_ENOMEM;
  u->c = c;
  u->r = r;
  /* The arena budget: one opcode byte builds at most a node and a small array (tens of bytes),
   * so 128 bytes per input byte plus 1 MiB is room for any real pickle, while a hostile one gets
   * only a bounded multiple of its size. */
  u->cap = 128 * n + ((size_t)1 << 20);
  u->p0 = u->p = p;
  u->end = p + n;
  c->msg[0] = 0;
  LtStatus st = run(u);
  io_free(c, u, sizeof *u);
  if (st) io_pickle_free(c, r);
  return st;
}

/* ---- writer ------------------------------------------------------------------------------ */

/* Starts with PROTO 2, the protocol torch.save writes. */
void pkw_init(PkWriter *w, IoCtx *c) {
  memset(w, 0, sizeof *w);
  w->c = c;
  pkw_op(w, 0x80);
  pkw_op(w, 2);
}

void pkw_free(PkWriter *w) {
  io_free(w->c, w->p, w->cap);
  w->p = NULL;
  w->cap = w->n = 0;
}

/* Appends to w, doubling its room as needed; the first failure sticks in w->st. */
static void put(PkWriter *w, const void *s, size_t n) {
  if (w->st) return;
  if (w->n + n > w->cap) {
    size_t cap = (w->cap + n) * 2;
    uint8_t *q = io_alloc(w->c, cap);
    if (!q) {
      w->st = LT_ENOMEM;
      return;
    }
    if (w->n) memcpy(q, w->p, w->n);
    io_free(w->c, w->p, w->cap);
    w->p = q;
    w->cap = cap;
  }
  memcpy(w->p + w->n, s, n);
  w->n += n;
}

void pkw_op(PkWriter *w, uint8_t op) { put(w, &op, 1); }

void pkw_global(PkWriter *w, const char *module, const char *name) {
  pkw_op(w, 'c');
  put(w, module, strlen(module));
  put(w, "\n", 1);
  put(w, name, strlen(name));
  put(w, "\n", 1);
}

/* The shortest encoding, as Python's pickler chooses it: BININT1, BININT2 (both unsigned),
 * BININT (signed 32-bit), else LONG1 with 8 bytes. */
void pkw_int(PkWriter *w, int64_t v) {
  uint8_t b[10];
  if (v >= 0 && v < 256) {
    b[0] = 'K';
    b[1] = (uint8_t)v;
    put(w, b, 2);
  } else if (v >= 0 && v < 65536) {
    b[0] = 'M';
    io_put16(b + 1, (uint16_t)v);
    put(w, b, 3);
  } else if (v >= INT32_MIN && v <= INT32_MAX) {
    b[0] = 'J';
    io_put32(b + 1, (uint32_t)(int32_t)v);
    put(w, b, 5);
  } else {
    b[0] = 0x8a;
    b[1] = 8;
    io_put64(b + 2, (uint64_t)v);
    put(w, b, 10);
  }
}

void pkw_float(PkWriter *w, double v) {
  uint8_t b[9];
  uint64_t bits;
  memcpy(&bits, &v, 8);
  b[0] = 'G';
  for (int i = 0; i < 8; i++) b[1 + i] = (uint8_t)(bits >> (56 - 8 * i));
  put(w, b, 9);
}

void pkw_str(PkWriter *w, const char *s, size_t n) {
  uint8_t b[5];
  b[0] = 'X';
  io_put32(b + 1, (uint32_t)n);
  put(w, b, 5);
  put(w, s, n);
}

void pkw_bool(PkWriter *w, int v) { pkw_op(w, v ? 0x88 : 0x89); }
void pkw_none(PkWriter *w) { pkw_op(w, 'N'); }

/* The torch storage class of each LtDtype, in the enum's order (tensor.h). */
static const char *storage_name(LtDtype dt) {
  static const char *N[LT_NDTYPES] = {"FloatStorage",    "DoubleStorage", "HalfStorage",
                                      "BFloat16Storage", "LongStorage",   "IntStorage",
                                      "ByteStorage",     "BoolStorage"};
  return N[dt];
}

void pkw_tensor(PkWriter *w, const char *key, LtDtype dt, uint64_t numel, int64_t offset, int ndim,
                const int64_t *shape, const int64_t *stride) {
  /* _rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict()), as torch.save emits
   * it. The storage is a persistent id, ('storage', torch.<T>Storage, key, 'cpu', numel), that
   * torch.load resolves to the record data/<key>; the OrderedDict is the empty backward-hooks
   * argument. */
  pkw_global(w, "torch._utils", "_rebuild_tensor_v2");
  pkw_op(w, '(');
  pkw_op(w, '('); /* persistent id */
  pkw_str(w, "storage", 7);
  pkw_global(w, "torch", storage_name(dt));
  pkw_str(w, key, strlen(key));
  pkw_str(w, "cpu", 3);
  pkw_int(w, (int64_t)numel);
  pkw_op(w, 't');
  pkw_op(w, 'Q');
  pkw_int(w, offset);
  pkw_op(w, '(');
  for (int i = 0; i < ndim; i++) pkw_int(w, shape[i]);
  pkw_op(w, 't');
  pkw_op(w, '(');
  for (int i = 0; i < ndim; i++) pkw_int(w, stride[i]);
  pkw_op(w, 't');
  pkw_bool(w, 0);
  pkw_global(w, "collections", "OrderedDict");
  pkw_op(w, ')');
  pkw_op(w, 'R');
  pkw_op(w, 't');
  pkw_op(w, 'R');
}
