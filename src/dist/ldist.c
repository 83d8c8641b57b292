/* ldist.c - Lua binding of lunette._dist: start-up, rank facts and the collectives on tensors
 * and on byte strings (serialised Lua values); each checks its arguments, exchanges headers,
 * raises on a mismatch on every rank alike, then moves the data. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tensor/lbase.h"
#include "dist/dist.h"

#define DIST_GUARD_MT "lunette.dist.guard"

/* __gc of the guard userdata made by init: MPI_Finalize when the Lua state closes (after the
 * script, before the process exits), as an exit without it makes mpirun report failure. */
static int guard_gc(lua_State *L) {
  /* A rank whose script ends while others still call collectives would block in MPI_Finalize
   * while they wait for it: the header exchange first turns that into an error on the others
   * and, here, an abort of the job. */
  if (lt_dist_active()) {
    char msg[400];
    int size = lt_dist_size();
    LtDistHeader h, *all = malloc(sizeof(LtDistHeader) * (size_t)size);
    memset(&h, 0, sizeof h);
    h.kind = LT_DIST_FINALIZE;
    h.root = -1;
    h.dtype = -1;
    if (!all) lt_dist_abort(1);
    lt_dist_exchange(&h, all);
    int agree = lt_dist_agree(all, size, msg, sizeof msg);
    free(all);
    if (!agree) {
      fprintf(stderr, "lunette (rank %d of %d): %s\n", lt_dist_rank(), size, msg);
      lt_dist_abort(1);
    }
  }
  lt_dist_finalize();
  return 0;
}

/* _init() -> rank, size. Loads and starts MPI (idempotent); raises with the cause. */
static int d_init(lua_State *L) {
  char err[512];
  if (lt_dist_init(err, sizeof err) != LT_OK) return luaL_error(L, "dist.init: %s", err);
  if (luaL_newmetatable(L, DIST_GUARD_MT)) {
    lua_pushcfunction(L, guard_gc);
    lua_setfield(L, -2, "__gc");
    lua_newuserdatauv(L, 1, 0);
    lua_pushvalue(L, -2);
    lua_setmetatable(L, -2);
    lua_setfield(L, LUA_REGISTRYINDEX, DIST_GUARD_MT ".object");
  }
  lua_pop(L, 1);
  lua_pushinteger(L, lt_dist_rank());
  lua_pushinteger(L, lt_dist_size());
  return 2;
}

static int d_active(lua_State *L) {
  lua_pushboolean(L, lt_dist_active());
  return 1;
}

static int d_rank(lua_State *L) {
  lua_pushinteger(L, lt_dist_rank());
  return 1;
}

static int d_bytes_sent(lua_State *L) {
  lua_pushinteger(L, (lua_Integer)lt_dist_bytes_sent());
  return 1;
}

static int d_size(lua_State *L) {
  lua_pushinteger(L, lt_dist_size());
  return 1;
}

/* abort([code]): ends the whole job (every rank) with exit code `code` (default 1). */
static int d_abort(lua_State *L) {
  lua_Integer code = luaL_optinteger(L, 1, 1);
  if (!lt_dist_active()) return luaL_error(L, "dist.abort: MPI is not started");
  lt_dist_abort((int)code);
}

/* A rank number (0-based) at arg, default def, within the job. */
static int check_root(lua_State *L, int arg, const char *fname, int def) {
  if (lua_isnoneornil(L, arg)) return def;
  int64_t r = ltL_check_int(L, arg, fname, "root");
  if (r < 0 || r >= lt_dist_size())
    ltL_argerror(L, arg, fname, "root must be a rank in 0..%d, got %lld", lt_dist_size() - 1,
                 (long long)r);
  return (int)r;
}

static LtDistOp check_op(lua_State *L, int arg, const char *fname) {
  static const char *const names[] = {"sum", "max", "min", NULL};
  const char *s = luaL_optstring(L, arg, "sum");
  for (int i = 0; names[i]; i++)
    if (strcmp(s, names[i]) == 0) return (LtDistOp)i;
  ltL_argerror(L, arg, fname, "op must be \"sum\", \"mean\", \"max\" or \"min\", got \"%s\"", s);
  return LT_DIST_SUM;
}

/* The tensor at arg (CPU, made contiguous: pushed on the stack) or NULL for nil when
 * `optional`. */
static Tensor *check_cpu_tensor(lua_State *L, int arg, const char *fname, int optional) {
  if (optional && lua_isnoneornil(L, arg)) return NULL;
  Tensor *t = ltL_check_tensor(L, arg, fname);
  if (t->device != LT_CPU) ltL_argerror(L, arg, fname, "a CPU tensor expected");
  return ltL_push_contiguous(L, arg);
}

/* A header for kind with tensor t (or none). */
static LtDistHeader header_of(LtDistKind kind, const Tensor *t, int64_t op, int64_t root) {
  LtDistHeader h;
  memset(&h, 0, sizeof h);
  h.kind = kind;
  h.op = op;
  h.root = root;
  h.dtype = t ? (int64_t)t->dtype : -1;
  if (t) {
    h.ndim = t->ndim;
    memcpy(h.shape, t->shape, sizeof(int64_t) * (size_t)t->ndim);
  }
  return h;
}

/* Exchanges h with every rank into `all` (a new userdata left on the stack: lt_dist_size()
 * headers) and raises "bad argument #1 to 'fname' (collective mismatch: ...)" when they
 * disagree; every rank raises the same error. */
static LtDistHeader *exchange(lua_State *L, const char *fname, const LtDistHeader *h) {
  char msg[400];
  int size = lt_dist_size();
  LtDistHeader *all = lua_newuserdatauv(L, sizeof(LtDistHeader) * (size_t)size, 0);
  ltL_check_status(L, lt_dist_exchange(h, all), fname);
  if (!lt_dist_agree(all, size, msg, sizeof msg)) ltL_argerror(L, 1, fname, "%s", msg);
  return all;
}

/* Rows of a [n x ...] shape that rank r gets when n rows are split over size ranks: the
 * first n % size ranks one more (numpy's array_split); *first is its first row. */
static int64_t split_rows(int64_t n, int size, int r, int64_t *first) {
  int64_t base = n / size, extra = n % size;
  *first = r * base + (r < extra ? r : extra);
  return base + (r < extra ? 1 : 0);
}

/* Bytes of one row (the product of dims 2.. times the element size) of a header's shape. */
static int64_t row_bytes(const LtDistHeader *h) {
  int64_t b = (int64_t)lt_dtype_size((LtDtype)h->dtype);
  for (int64_t d = 1; d < h->ndim; d++) b *= h->shape[d];
  return b;
}

/* barrier(): returns when every rank has called it. */
static int d_barrier(lua_State *L) {
  LtDistHeader h = header_of(LT_DIST_BARRIER, NULL, 0, -1);
  exchange(L, "barrier", &h);
  return 0;
}

/* broadcast(t, root) -> the root's tensor on every rank (a new tensor; t itself on the root).
 * Other ranks may pass nil, or a tensor of the root's dtype and shape. */
static int d_broadcast(lua_State *L) {
  int root = check_root(L, 2, "broadcast", 0);
  int me = lt_dist_rank();
  Tensor *t = check_cpu_tensor(L, 1, "broadcast", me != root);
  LtDistHeader h = header_of(LT_DIST_BCAST, t, 0, root);
  LtDistHeader *all = exchange(L, "broadcast", &h);
  if (me != root) {
    t = ltL_push_new(L, (LtDtype)all[root].dtype, (int)all[root].ndim, all[root].shape);
  } else {
    lua_pushvalue(L, 1);
  }
  int64_t n = lt_shape_numel_checked(t->ndim, t->shape, lt_dtype_size(t->dtype));
  ltL_check_status(L, lt_dist_bcast(t->data, n * (int64_t)lt_dtype_size(t->dtype), root),
                   "broadcast");
  return 1;
}

/* Shared by allreduce and reduce_scatter: the checked input and its header. */
static Tensor *reduce_input(lua_State *L, const char *fname, LtDistOp *op) {
  *op = check_op(L, 2, fname);
  Tensor *t = check_cpu_tensor(L, 1, fname, 0);
  if (t->dtype == LT_F16 || t->dtype == LT_BF16 || (t->dtype == LT_BOOL && *op == LT_DIST_SUM))
    ltL_argerror(L, 1, fname, "cannot reduce %s with %s", lt_dtype_name(t->dtype),
                 *op == LT_DIST_SUM ? "sum" : "max/min");
  return t;
}

/* allreduce(t, op) -> a new tensor: the elementwise sum/max/min over every rank's t. */
static int d_allreduce(lua_State *L) {
  LtDistOp op;
  Tensor *t = reduce_input(L, "allreduce", &op);
  LtDistHeader h = header_of(LT_DIST_ALLREDUCE, t, op, -1);
  exchange(L, "allreduce", &h);
  Tensor *out = ltL_push_new_like(L, t, t->dtype);
  int64_t n = lt_shape_numel_checked(t->ndim, t->shape, lt_dtype_size(t->dtype));
  if (n > 0) memcpy(out->data, t->data, (size_t)n * lt_dtype_size(t->dtype));
  ltL_check_status(L, lt_dist_allreduce(out->data, n, t->dtype, op), "allreduce");
  return 1;
}

/* reduce_scatter(t, op) -> this rank's rows of the reduction of every rank's t [n x ...]:
 * the rows scatter would give it. */
static int d_reduce_scatter(lua_State *L) {
  LtDistOp op;
  Tensor *t = reduce_input(L, "reduce_scatter", &op);
  if (t->ndim < 1)
    ltL_argerror(L, 1, "reduce_scatter", "a tensor of at least 1 dimension expected");
  LtDistHeader h = header_of(LT_DIST_REDUCE_SCATTER, t, op, -1);
  exchange(L, "reduce_scatter", &h);
  int size = lt_dist_size(), me = lt_dist_rank();
  int64_t first, elems = row_bytes(&h) / (int64_t)lt_dtype_size(t->dtype);
  int64_t *counts = lua_newuserdatauv(L, sizeof(int64_t) * (size_t)size, 0);
  for (int r = 0; r < size; r++) counts[r] = split_rows(t->shape[0], size, r, &first) * elems;
  int64_t shape[LT_MAXDIM];
  memcpy(shape, t->shape, sizeof shape);
  shape[0] = split_rows(t->shape[0], size, me, &first);
  Tensor *out = ltL_push_new(L, t->dtype, t->ndim, shape);
  ltL_check_status(L, lt_dist_reduce_scatter(t->data, out->data, counts, t->dtype, op),
                   "reduce_scatter");
  return 1;
}

/* A header for allgather/gather: a 0-d tensor counts as one row of a 1-d one. */
static LtDistHeader gather_header(LtDistKind kind, const Tensor *t, int root) {
  LtDistHeader h = header_of(kind, t, 0, root);
  if (h.ndim == 0) {
    h.ndim = 1;
    h.shape[0] = 1;
  }
  return h;
}

/* The gathered tensor's shape (every rank's rows stacked) and each rank's bytes. */
static Tensor *push_gathered(lua_State *L, const LtDistHeader *all, int64_t *bytes) {
  int size = lt_dist_size();
  int64_t shape[LT_MAXDIM];
  memcpy(shape, all[0].shape, sizeof shape);
  shape[0] = 0;
  for (int r = 0; r < size; r++) {
    bytes[r] = all[r].shape[0] * row_bytes(&all[r]);
    shape[0] += all[r].shape[0];
  }
  return ltL_push_new(L, (LtDtype)all[0].dtype, (int)all[0].ndim, shape);
}

/* allgather(t) -> every rank's t stacked along dim 1 (rank order), on every rank; the first
 * dims may differ, the rest and the dtype must not. A 0-d t counts as [1]. */
static int d_allgather(lua_State *L) {
  Tensor *t = check_cpu_tensor(L, 1, "allgather", 0);
  LtDistHeader h = gather_header(LT_DIST_ALLGATHER, t, -1);
  LtDistHeader *all = exchange(L, "allgather", &h);
  int64_t *bytes = lua_newuserdatauv(L, sizeof(int64_t) * (size_t)lt_dist_size(), 0);
  Tensor *out = push_gathered(L, all, bytes);
  ltL_check_status(L, lt_dist_allgatherv(t->data, out->data, bytes), "allgather");
  return 1;
}

/* gather(t, root) -> the stacked tensor on the root, nil elsewhere. */
static int d_gather(lua_State *L) {
  int root = check_root(L, 2, "gather", 0);
  Tensor *t = check_cpu_tensor(L, 1, "gather", 0);
  LtDistHeader h = gather_header(LT_DIST_GATHER, t, root);
  LtDistHeader *all = exchange(L, "gather", &h);
  int64_t *bytes = lua_newuserdatauv(L, sizeof(int64_t) * (size_t)lt_dist_size(), 0);
  Tensor *out = NULL;
  if (lt_dist_rank() == root) {
    out = push_gathered(L, all, bytes);
  } else {
    for (int r = 0; r < lt_dist_size(); r++) bytes[r] = all[r].shape[0] * row_bytes(&all[r]);
    lua_pushnil(L);
  }
  ltL_check_status(L, lt_dist_gatherv(t->data, out ? out->data : NULL, bytes, root), "gather");
  return 1;
}

/* scatter(t, root) -> this rank's rows of the root's t [n x ...] (split as numpy's array_split:
 * the first n % size ranks get one row more). Other ranks may pass nil. */
static int d_scatter(lua_State *L) {
  int root = check_root(L, 2, "scatter", 0);
  int me = lt_dist_rank(), size = lt_dist_size();
  Tensor *t = check_cpu_tensor(L, 1, "scatter", me != root);
  if (t && t->ndim < 1) ltL_argerror(L, 1, "scatter", "a tensor of at least 1 dimension expected");
  LtDistHeader h = header_of(LT_DIST_SCATTER, t, 0, root);
  LtDistHeader *all = exchange(L, "scatter", &h);
  int64_t *bytes = lua_newuserdatauv(L, sizeof(int64_t) * (size_t)size, 0);
  int64_t first, shape[LT_MAXDIM];
  for (int r = 0; r < size; r++)
    bytes[r] = split_rows(all[root].shape[0], size, r, &first) * row_bytes(&all[root]);
  memcpy(shape, all[root].shape, sizeof shape);
  shape[0] = split_rows(shape[0], size, me, &first);
  Tensor *out = ltL_push_new(L, (LtDtype)all[root].dtype, (int)all[root].ndim, shape);
  ltL_check_status(L, lt_dist_scatterv(t ? t->data : NULL, out->data, bytes, root), "scatter");
  return 1;
}

/* _broadcast_bytes(s, root) -> the root's string on every rank (others pass nil); the bytes of
 * broadcast_value. */
static int d_broadcast_bytes(lua_State *L) {
  int root = check_root(L, 2, "broadcast_value", 0);
  size_t len = 0;
  const char *s = lt_dist_rank() == root ? luaL_checklstring(L, 1, &len) : NULL;
  LtDistHeader h = header_of(LT_DIST_BCAST_VALUE, NULL, 0, root);
  h.nbytes = (int64_t)len;
  LtDistHeader *all = exchange(L, "broadcast_value", &h);
  if (s) {
    /* the root sends its string's bytes as they are and returns the string itself */
    ltL_check_status(L, lt_dist_bcast((void *)s, (int64_t)len, root), "broadcast_value");
    lua_pushvalue(L, 1);
    return 1;
  }
  luaL_Buffer b;
  char *p = luaL_buffinitsize(L, &b, (size_t)all[root].nbytes);
  ltL_check_status(L, lt_dist_bcast(p, all[root].nbytes, root), "broadcast_value");
  luaL_pushresultsize(&b, (size_t)all[root].nbytes);
  return 1;
}

/* _gather_bytes(s, root) -> {s of rank 0, s of rank 1, ...} on the root (every rank when root
 * is -1), nil elsewhere; the bytes of gather_values. */
static int d_gather_bytes(lua_State *L) {
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  int root = lua_tointeger(L, 2) == -1 ? -1 : check_root(L, 2, "gather_values", 0);
  int size = lt_dist_size(), me = lt_dist_rank();
  LtDistHeader h = header_of(LT_DIST_GATHER_VALUES, NULL, 0, root);
  h.nbytes = (int64_t)len;
  LtDistHeader *all = exchange(L, "gather_values", &h);
  int64_t *bytes = lua_newuserdatauv(L, sizeof(int64_t) * (size_t)size, 0);
  int64_t total = 0;
  for (int r = 0; r < size; r++) total += bytes[r] = all[r].nbytes;
  int here = root == -1 || root == me;
  char *buf = here ? lua_newuserdatauv(L, (size_t)total + 1, 0) : NULL;
  LtStatus st =
      root == -1 ? lt_dist_allgatherv(s, buf, bytes) : lt_dist_gatherv(s, buf, bytes, root);
  ltL_check_status(L, st, "gather_values");
  if (!here) {
    lua_pushnil(L);
    return 1;
  }
  lua_createtable(L, size, 0);
  for (int r = 0, at = 0; r < size; at += (int)bytes[r], r++) {
    lua_pushlstring(L, buf + at, (size_t)bytes[r]);
    lua_rawseti(L, -2, r + 1);
  }
  return 1;
}

/* A peer rank at arg: another rank of the job. */
static int check_peer(lua_State *L, int arg, const char *fname) {
  int64_t r = ltL_check_int(L, arg, fname, "rank");
  if (r < 0 || r >= lt_dist_size() || r == lt_dist_rank())
    ltL_argerror(L, arg, fname, "rank must be another rank in 0..%d, got %lld", lt_dist_size() - 1,
                 (long long)r);
  return (int)r;
}

/* _send_bytes(s, dest): the length (8 bytes), then the bytes, to rank dest. */
static int d_send_bytes(lua_State *L) {
  size_t len;
  const char *s = luaL_checklstring(L, 1, &len);
  int dest = check_peer(L, 2, "send_value");
  int64_t n = (int64_t)len;
  ltL_check_status(L, lt_dist_send(&n, sizeof n, dest), "send_value");
  ltL_check_status(L, lt_dist_send(s, n, dest), "send_value");
  return 0;
}

/* _recv_bytes(src) -> the string rank src sent with _send_bytes. */
static int d_recv_bytes(lua_State *L) {
  int src = check_peer(L, 1, "recv_value");
  int64_t n;
  ltL_check_status(L, lt_dist_recv(&n, sizeof n, src), "recv_value");
  luaL_Buffer b;
  char *p = luaL_buffinitsize(L, &b, (size_t)n);
  ltL_check_status(L, lt_dist_recv(p, n, src), "recv_value");
  luaL_pushresultsize(&b, (size_t)n);
  return 1;
}

/* send(t, dest): a tensor (any dtype) to rank dest: its dtype and shape (80 bytes), then its
 * bytes. Not a collective: dest must call recv(this rank). */
static int d_send(lua_State *L) {
  Tensor *t = check_cpu_tensor(L, 1, "send", 0);
  int dest = check_peer(L, 2, "send");
  int64_t head[2 + LT_MAXDIM] = {t->dtype, t->ndim};
  memcpy(head + 2, t->shape, sizeof(int64_t) * (size_t)t->ndim);
  int64_t n = lt_shape_numel_checked(t->ndim, t->shape, lt_dtype_size(t->dtype));
  ltL_check_status(L, lt_dist_send(head, sizeof head, dest), "send");
  ltL_check_status(L, lt_dist_send(t->data, n * (int64_t)lt_dtype_size(t->dtype), dest), "send");
  return 0;
}

/* recv(src) -> the tensor rank src sent with send. */
static int d_recv(lua_State *L) {
  int src = check_peer(L, 1, "recv");
  int64_t head[2 + LT_MAXDIM];
  ltL_check_status(L, lt_dist_recv(head, sizeof head, src), "recv");
  if (head[0] < 0 || head[0] >= LT_NDTYPES || head[1] < 0 || head[1] > LT_MAXDIM)
    return luaL_error(L, "recv: rank %d sent something that is not a tensor", src);
  Tensor *t = ltL_push_new(L, (LtDtype)head[0], (int)head[1], head + 2);
  int64_t n = lt_shape_numel_checked(t->ndim, t->shape, lt_dtype_size(t->dtype));
  ltL_check_status(L, lt_dist_recv(t->data, n * (int64_t)lt_dtype_size(t->dtype), src), "recv");
  return 1;
}

/* _agree(kind, shape...) : a header exchange for a collective made of several calls (allmerge):
 * raises on every rank when the ranks disagree on kind or shape. */
static int d_agree(lua_State *L) {
  static const char *const kinds[] = {"allmerge", NULL};
  luaL_checkoption(L, 1, NULL, kinds);
  int64_t shape[2] = {ltL_check_int(L, 2, "allmerge", "ell"),
                      ltL_check_int(L, 3, "allmerge", "dim")};
  LtDistHeader h;
  memset(&h, 0, sizeof h);
  h.kind = LT_DIST_ALLMERGE;
  h.root = -1;
  h.dtype = LT_F32;
  h.ndim = 2;
  memcpy(h.shape, shape, sizeof shape);
  exchange(L, "allmerge", &h);
  return 0;
}

static const luaL_Reg dist_fns[] = {{"_init", d_init},
                                    {"active", d_active},
                                    {"rank", d_rank},
                                    {"size", d_size},
                                    {"bytes_sent", d_bytes_sent},
                                    {"abort", d_abort},
                                    {"barrier", d_barrier},
                                    {"broadcast", d_broadcast},
                                    {"allreduce", d_allreduce},
                                    {"reduce_scatter", d_reduce_scatter},
                                    {"allgather", d_allgather},
                                    {"gather", d_gather},
                                    {"scatter", d_scatter},
                                    {"_broadcast_bytes", d_broadcast_bytes},
                                    {"_gather_bytes", d_gather_bytes},
                                    {"_send_bytes", d_send_bytes},
                                    {"_recv_bytes", d_recv_bytes},
                                    {"send", d_send},
                                    {"recv", d_recv},
                                    {"_agree", d_agree},
                                    {NULL, NULL}};

/* The only part of lunette._dist (src/lunette.c lists every part). */
int luaopen_lunette_dist(lua_State *L);
int luaopen_lunette_dist(lua_State *L) {
  luaL_newlib(L, dist_fns);
  return 1;
}
