/* dist.c - Open MPI loaded on first use (dlopen, handles from its ompi_* globals), the header
 * exchange that catches mismatched collectives, and the data phases of each collective. */
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <mpi.h>
#include "dist/dist.h"

#ifndef OPEN_MPI
#error "src/dist needs Open MPI's mpi.h (Debian libopenmpi-dev): handles are read from its globals"
#endif

/* The functions lunette calls, resolved by name from libmpi. */
// clang-format off
#define LT_MPI_FUNCS(X) \
  X(MPI_Init_thread)    \
  X(MPI_Initialized)    \
  X(MPI_Finalize)       \
  X(MPI_Abort)          \
  X(MPI_Comm_rank)      \
  X(MPI_Comm_size)      \
  X(MPI_Allgather)      \
  X(MPI_Bcast)          \
  X(MPI_Allreduce)      \
  X(MPI_Allgatherv)     \
  X(MPI_Gatherv)        \
  X(MPI_Scatterv)       \
  X(MPI_Reduce_scatter) \
  X(MPI_Send)           \
  X(MPI_Recv)
// clang-format on

#define LT_MPI_MEMBER(name) __typeof__(name) *name;
/* The loaded library: function pointers and the handles MPI's macros would have named. This
 * and `state` are the process-wide state of this module: MPI itself is one per process
 * (MPI_Init may run once), so there is nothing to hand around. */
typedef struct {
  LT_MPI_FUNCS(LT_MPI_MEMBER)
  MPI_Comm world;
  MPI_Datatype byte, f32, f64, i32, i64, u8;
  MPI_Op sum, max, min;
  int rank, size;
} LtMpi;

static LtMpi mpi = {.size = 1}; /* size 1 until started: the one-rank job */
/* 0: never started; 1: active; 2: finalized (MPI cannot start twice in a process). */
static int state;
/* Payload bytes this rank handed to MPI (lt_dist_bytes_sent). */
static int64_t bytes_sent;

/* dlsym of one symbol into *slot; on failure writes the message and returns 0. */
static int resolve(void *h, const char *name, void **slot, char *err, size_t len) {
  *slot = dlsym(h, name);
  if (*slot) return 1;
  snprintf(err, len, "libmpi.so.40 has no symbol %s; the installed Open MPI is too old", name);
  return 0;
}

#define LT_MPI_LOAD(name) \
  if (!resolve(h, #name, (void **)&m->name, err, len)) return 0;
#define LT_MPI_HANDLE(field, sym)               \
  if (!resolve(h, sym, &p, err, len)) return 0; \
  m->field = (__typeof__(m->field))p;

/* Fills m from the library handle h; 0 with a message on a missing symbol. */
static int load_table(void *h, LtMpi *m, char *err, size_t len) {
  void *p;
  LT_MPI_FUNCS(LT_MPI_LOAD)
  LT_MPI_HANDLE(world, "ompi_mpi_comm_world")
  LT_MPI_HANDLE(byte, "ompi_mpi_byte")
  LT_MPI_HANDLE(f32, "ompi_mpi_float")
  LT_MPI_HANDLE(f64, "ompi_mpi_double")
  LT_MPI_HANDLE(i32, "ompi_mpi_int32_t")
  LT_MPI_HANDLE(i64, "ompi_mpi_int64_t")
  LT_MPI_HANDLE(u8, "ompi_mpi_uint8_t")
  LT_MPI_HANDLE(sum, "ompi_mpi_op_sum")
  LT_MPI_HANDLE(max, "ompi_mpi_op_max")
  LT_MPI_HANDLE(min, "ompi_mpi_op_min")
  return 1;
}

LtStatus lt_dist_init(char *err, size_t len) {
  int provided = 0, flag = 0;
  LtMpi m;
  if (state == 1) return LT_OK;
  if (state == 2) {
    snprintf(err, len, "MPI was finalized in this process and cannot start again");
    return LT_EDEVICE;
  }
  /* RTLD_GLOBAL: Open MPI's components (mca_*.so, opened by libmpi itself) take libmpi's and
   * libopen-pal's symbols from the global scope; with RTLD_LOCAL they fail to load. The handle
   * is never closed: MPI cannot be unloaded and started again. */
  void *h = dlopen("libmpi.so.40", RTLD_NOW | RTLD_GLOBAL);
  if (!h) {
    snprintf(err, len,
             "cannot load Open MPI (%s); install the Debian packages libopenmpi3 and "
             "openmpi-bin (mpirun)",
             dlerror());
    return LT_EDEVICE;
  }
  memset(&m, 0, sizeof m);
  if (!load_table(h, &m, err, len)) return LT_EDEVICE;
  /* A host program may have started MPI itself: join it rather than initialise twice. */
  m.MPI_Initialized(&flag);
  if (!flag && m.MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
    snprintf(err, len, "MPI_Init_thread failed");
    return LT_EDEVICE;
  }
  m.MPI_Comm_rank(m.world, &m.rank);
  m.MPI_Comm_size(m.world, &m.size);
  mpi = m;
  state = 1;
  return LT_OK;
}

int lt_dist_active(void) { return state == 1; }

int lt_dist_rank(void) { return state == 1 ? mpi.rank : 0; }

int64_t lt_dist_bytes_sent(void) { return bytes_sent; }

int lt_dist_size(void) { return state == 1 ? mpi.size : 1; }

void lt_dist_abort(int code) {
  fflush(stdout);
  fflush(stderr);
  mpi.MPI_Abort(mpi.world, code);
  _Exit(code); /* MPI_Abort does not return; this keeps the noreturn promise if it did */
}

void lt_dist_finalize(void) {
  if (state != 1) return;
  state = 2;
  mpi.MPI_Finalize();
}

LtStatus lt_dist_exchange(const LtDistHeader *mine, LtDistHeader *all) {
  if (state != 1) { /* a job of one rank: nothing to compare */
    all[0] = *mine;
    return LT_OK;
  }
  int n = (int)(sizeof *mine / sizeof(int64_t));
  bytes_sent += (int64_t)sizeof *mine;
  mpi.MPI_Allgather(mine, n, mpi.i64, all, n, mpi.i64, mpi.world);
  return LT_OK;
}

static const char *const kind_names[] = {
    "?",       "barrier",        "broadcast",       "allreduce",     "allgather", "gather",
    "scatter", "reduce_scatter", "broadcast_value", "gather_values", "allmerge",  "finalize"};
_Static_assert(sizeof kind_names / sizeof *kind_names == LT_DIST_NKINDS,
               "kind_names lists every LtDistKind");
static const char *const op_names[] = {"sum", "max", "min"};

const char *lt_dist_header_text(const LtDistHeader *h, char *buf, size_t len) {
  const char *kind = h->kind > 0 && h->kind < LT_DIST_NKINDS ? kind_names[h->kind] : "?";
  size_t at;
  if (h->kind == LT_DIST_FINALIZE) {
    snprintf(buf, len, "finalize (its script ended)");
    return buf;
  }
  if (h->kind == LT_DIST_ALLREDUCE || h->kind == LT_DIST_REDUCE_SCATTER)
    at = (size_t)snprintf(buf, len, "%s(%s)", kind,
                          h->op >= 0 && h->op <= 2 ? op_names[h->op] : "?");
  else if (h->root >= 0)
    at = (size_t)snprintf(buf, len, "%s(root %lld)", kind, (long long)h->root);
  else
    at = (size_t)snprintf(buf, len, "%s()", kind);
  if (at >= len || h->dtype < -1 || h->dtype >= LT_NDTYPES) return buf;
  if (h->dtype == -1) {
    if (h->kind == LT_DIST_BCAST || h->kind == LT_DIST_SCATTER)
      snprintf(buf + at, len - at, " without a tensor");
    return buf;
  }
  at += (size_t)snprintf(buf + at, len - at, " %s [", lt_dtype_name((LtDtype)h->dtype));
  for (int64_t d = 0; d < h->ndim && d < LT_MAXDIM && at < len; d++)
    at += (size_t)snprintf(buf + at, len - at, "%s%lld", d ? "x" : "", (long long)h->shape[d]);
  if (at < len) snprintf(buf + at, len - at, "]");
  return buf;
}

/* 1 when rank b's header fits rank a's (a the reference rank) under the kind's rule. */
static int header_fits(const LtDistHeader *a, const LtDistHeader *b) {
  int64_t from = 0;
  if (a->kind != b->kind || a->op != b->op || a->root != b->root) return 0;
  switch ((LtDistKind)a->kind) {
  case LT_DIST_BCAST:
  case LT_DIST_SCATTER:
    /* the reference is the root; a rank without a tensor fits, one with a tensor must match
     * the root's dtype (and for broadcast its shape: it says what it expects to receive) */
    if (b->dtype == -1) return 1;
    if (a->dtype != b->dtype) return 0;
    if (a->kind == LT_DIST_SCATTER) return 1;
    break;
  case LT_DIST_ALLGATHER:
  case LT_DIST_GATHER:
    from = 1; /* the first dim may differ */
    break;
  case LT_DIST_ALLREDUCE:
  case LT_DIST_REDUCE_SCATTER:
  case LT_DIST_ALLMERGE: break;
  default: return 1; /* barrier and values: kind and root are all there is */
  }
  if (a->dtype != b->dtype || a->ndim != b->ndim) return 0;
  for (int64_t d = from; d < a->ndim && d < LT_MAXDIM; d++)
    if (a->shape[d] != b->shape[d]) return 0;
  return 1;
}

int lt_dist_agree(const LtDistHeader *all, int size, char *msg, size_t len) {
  int ref = 0;
  char ta[160], tb[160];
  /* Broadcast and scatter compare against the root (if every rank names the same root: a
   * different root shows up as a mismatch against rank 0 first). */
  for (int r = 1; r < size; r++)
    if (all[r].root != all[0].root || all[r].kind != all[0].kind) goto differ_from_0;
  if ((all[0].kind == LT_DIST_BCAST || all[0].kind == LT_DIST_SCATTER) && all[0].root >= 0 &&
      all[0].root < size)
    ref = (int)all[0].root;
  for (int r = 0; r < size; r++) {
    if (r == ref || header_fits(&all[ref], &all[r])) continue;
    snprintf(msg, len, "collective mismatch: rank %d called %s, rank %d called %s", ref,
             lt_dist_header_text(&all[ref], ta, sizeof ta), r,
             lt_dist_header_text(&all[r], tb, sizeof tb));
    return 0;
  }
  return 1;
differ_from_0:
  for (int r = 1; r < size; r++) {
    if (all[r].root == all[0].root && all[r].kind == all[0].kind) continue;
    snprintf(msg, len, "collective mismatch: rank 0 called %s, rank %d called %s",
             lt_dist_header_text(&all[0], ta, sizeof ta), r,
             lt_dist_header_text(&all[r], tb, sizeof tb));
    break;
  }
  return 0;
}

/* The MPI datatype and op for a reduction over dt; 0 when MPI cannot reduce it that way. Bool is
 * a byte of 0/1, so max and min over uint8 are "any" and "all". */
static int reduce_types(LtDtype dt, LtDistOp op, MPI_Datatype *t, MPI_Op *o) {
  *o = op == LT_DIST_SUM ? mpi.sum : op == LT_DIST_MAX ? mpi.max : mpi.min;
  switch (dt) {
  case LT_F32: *t = mpi.f32; return 1;
  case LT_F64: *t = mpi.f64; return 1;
  case LT_I32: *t = mpi.i32; return 1;
  case LT_I64: *t = mpi.i64; return 1;
  case LT_U8: *t = mpi.u8; return 1;
  case LT_BOOL: *t = mpi.u8; return op != LT_DIST_SUM;
  default: return 0;
  }
}

/* The largest piece one MPI call moves: MPI counts are C ints. */
#define LT_DIST_CHUNK ((int64_t)1 << 30)

LtStatus lt_dist_bcast(void *buf, int64_t nbytes, int root) {
  if (state != 1) return LT_OK;
  if (root == mpi.rank) bytes_sent += nbytes;
  for (int64_t off = 0; off < nbytes; off += LT_DIST_CHUNK) {
    int64_t n = nbytes - off < LT_DIST_CHUNK ? nbytes - off : LT_DIST_CHUNK;
    mpi.MPI_Bcast((char *)buf + off, (int)n, mpi.byte, root, mpi.world);
  }
  return LT_OK;
}

LtStatus lt_dist_allreduce(void *buf, int64_t count, LtDtype dt, LtDistOp op) {
  MPI_Datatype t;
  MPI_Op o;
  if (!reduce_types(dt, op, &t, &o)) return LT_EDTYPE;
  if (state != 1) return LT_OK;
  bytes_sent += count * (int64_t)lt_dtype_size(dt);
  int64_t step = LT_DIST_CHUNK / (int64_t)lt_dtype_size(dt);
  for (int64_t off = 0; off < count; off += step) {
    int64_t n = count - off < step ? count - off : step;
    char *p = (char *)buf + (size_t)off * lt_dtype_size(dt);
    mpi.MPI_Allreduce(MPI_IN_PLACE, p, (int)n, t, o, mpi.world);
  }
  return LT_OK;
}

/* The data phase of a job of one rank (MPI not started): rank 0's part is all there is. */
static LtStatus copy_local(const void *send, void *recv, int64_t nbytes) {
  if (nbytes > 0 && recv != send) memcpy(recv, send, (size_t)nbytes);
  return LT_OK;
}

/* Turns 64-bit per-rank counts into MPI's int counts and displacements; LT_EOVERFLOW when the
 * total passes INT_MAX. cnt and disp hold lt_dist_size() ints each. */
static LtStatus int_layout(const int64_t *counts, int *cnt, int *disp) {
  int64_t at = 0;
  for (int r = 0; r < mpi.size; r++) {
    if (counts[r] < 0 || at + counts[r] > INT_MAX) return LT_EOVERFLOW;
    cnt[r] = (int)counts[r];
    disp[r] = (int)at;
    at += counts[r];
  }
  return LT_OK;
}

LtStatus lt_dist_allgatherv(const void *send, void *recv, const int64_t *bytes) {
  if (state != 1) return copy_local(send, recv, bytes[0]);
  int cnt[mpi.size], disp[mpi.size];
  LtStatus st = int_layout(bytes, cnt, disp);
  if (st != LT_OK) return st;
  bytes_sent += bytes[mpi.rank];
  mpi.MPI_Allgatherv(send, cnt[mpi.rank], mpi.byte, recv, cnt, disp, mpi.byte, mpi.world);
  return LT_OK;
}

LtStatus lt_dist_gatherv(const void *send, void *recv, const int64_t *bytes, int root) {
  if (state != 1) return copy_local(send, recv, bytes[0]);
  int cnt[mpi.size], disp[mpi.size];
  LtStatus st = int_layout(bytes, cnt, disp);
  if (st != LT_OK) return st;
  if (root != mpi.rank) bytes_sent += bytes[mpi.rank];
  mpi.MPI_Gatherv(send, cnt[mpi.rank], mpi.byte, recv, cnt, disp, mpi.byte, root, mpi.world);
  return LT_OK;
}

LtStatus lt_dist_scatterv(const void *send, void *recv, const int64_t *bytes, int root) {
  if (state != 1) return copy_local(send, recv, bytes[0]);
  int cnt[mpi.size], disp[mpi.size];
  LtStatus st = int_layout(bytes, cnt, disp);
  if (st != LT_OK) return st;
  for (int r = 0; r < mpi.size && root == mpi.rank; r++)
    if (r != root) bytes_sent += bytes[r];
  mpi.MPI_Scatterv(send, cnt, disp, mpi.byte, recv, cnt[mpi.rank], mpi.byte, root, mpi.world);
  return LT_OK;
}

LtStatus lt_dist_reduce_scatter(const void *send, void *recv, const int64_t *counts, LtDtype dt,
                                LtDistOp op) {
  int cnt[mpi.size], disp[mpi.size];
  MPI_Datatype t;
  MPI_Op o;
  if (!reduce_types(dt, op, &t, &o)) return LT_EDTYPE;
  if (state != 1) return copy_local(send, recv, counts[0] * (int64_t)lt_dtype_size(dt));
  LtStatus st = int_layout(counts, cnt, disp);
  if (st != LT_OK) return st;
  for (int r = 0; r < mpi.size; r++) bytes_sent += counts[r] * (int64_t)lt_dtype_size(dt);
  mpi.MPI_Reduce_scatter(send, recv, cnt, t, o, mpi.world);
  return LT_OK;
}

LtStatus lt_dist_send(const void *buf, int64_t nbytes, int dest) {
  bytes_sent += nbytes;
  for (int64_t off = 0; off < nbytes; off += LT_DIST_CHUNK) {
    int64_t n = nbytes - off < LT_DIST_CHUNK ? nbytes - off : LT_DIST_CHUNK;
    mpi.MPI_Send((const char *)buf + off, (int)n, mpi.byte, dest, 0, mpi.world);
  }
  return LT_OK;
}

LtStatus lt_dist_recv(void *buf, int64_t nbytes, int src) {
  for (int64_t off = 0; off < nbytes; off += LT_DIST_CHUNK) {
    int64_t n = nbytes - off < LT_DIST_CHUNK ? nbytes - off : LT_DIST_CHUNK;
    mpi.MPI_Recv((char *)buf + off, (int)n, mpi.byte, src, 0, mpi.world, MPI_STATUS_IGNORE);
  }
  return LT_OK;
}
