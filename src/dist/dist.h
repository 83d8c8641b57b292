/* dist.h - several processes under mpirun (core, no Lua): Open MPI loaded with dlopen on first
 * use, the rank facts, and collectives on contiguous buffers, each preceded by a header
 * exchange so that ranks calling different collectives get an error instead of a hang. */
#ifndef LUNETTE_DIST_H
#define LUNETTE_DIST_H
#include <stddef.h>
#include <stdint.h>
#include "tensor/tensor.h"

/* Why dlopen: linking libmpi would make every `lunette -e ''` map Open MPI and its runtime
 * (tens of libraries), and a machine without Open MPI could not start lunette at all. Only a
 * script that asks (lt.dist.init(), or a start under mpirun) loads it.
 * Why Open MPI only: MPI's handles (MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM) are not functions but
 * macros; Open MPI defines them as addresses of its globals (ompi_mpi_comm_world, ...), which
 * dlsym finds; MPICH makes them integer constants of its own ABI. This file takes its types
 * from Open MPI's mpi.h and its handles from those symbols. */

typedef enum { LT_DIST_SUM = 0, LT_DIST_MAX, LT_DIST_MIN } LtDistOp;

/* The collective a rank is in; exchanged first so that ranks can compare. */
typedef enum {
  LT_DIST_BARRIER = 1,
  LT_DIST_BCAST,
  LT_DIST_ALLREDUCE,
  LT_DIST_ALLGATHER,
  LT_DIST_GATHER,
  LT_DIST_SCATTER,
  LT_DIST_REDUCE_SCATTER,
  LT_DIST_BCAST_VALUE,
  LT_DIST_GATHER_VALUES,
  LT_DIST_ALLMERGE,
  LT_DIST_FINALIZE, /* the end of a rank's script: every rank must get there */
  LT_DIST_NKINDS
} LtDistKind;

/* What one rank brings to a collective. dtype -1: no tensor (a non-root rank of broadcast or
 * scatter); nbytes: the length of a value's serialised bytes. */
typedef struct {
  int64_t kind, op, root, dtype, ndim, nbytes;
  int64_t shape[LT_MAXDIM];
} LtDistHeader;

/* Loads Open MPI and initialises it (MPI_THREAD_FUNNELED: only the main thread calls MPI;
 * OpenMP threads never do). Idempotent. Started by mpirun, the process joins its job;
 * otherwise it is a job of one rank. On failure (no libmpi.so.40, a missing symbol,
 * MPI_Init failing, or MPI already finalized) writes a message naming the cause and the
 * Debian package into err (len bytes) and returns LT_EDEVICE; nothing is initialised. */
LtStatus lt_dist_init(char *err, size_t len);
/* 1 between a successful lt_dist_init and lt_dist_finalize, else 0. */
int lt_dist_active(void);
/* This process's rank (0-based) and the job's size; 0 and 1 when not active. */
int lt_dist_rank(void);
int lt_dist_size(void);
/* Payload bytes this rank has handed to MPI since it started: headers, what it broadcasts as
 * root, its whole buffer for reductions, its part for gathers, the others' parts for a
 * scatter from it, what it sends. What MPI's algorithms forward on top (a ring allreduce moves
 * about twice the buffer) is not counted: this is the model's input, not a wire count. */
int64_t lt_dist_bytes_sent(void);
/* Ends the whole job with exit code `code` (MPI_Abort on MPI_COMM_WORLD): every rank is killed
 * by the launcher, none hangs waiting for this one. Does not return. Only when active. */
void lt_dist_abort(int code) __attribute__((noreturn));
/* MPI_Finalize, once; afterwards lt_dist_active is 0 and MPI cannot start again in this
 * process. A no-op when not active. */
void lt_dist_finalize(void);

/* Allgathers each rank's header into all[0..size-1] (the caller's array of lt_dist_size()
 * entries). A collective: every rank must call it. */
LtStatus lt_dist_exchange(const LtDistHeader *mine, LtDistHeader *all);
/* Checks the exchanged headers agree for their collective: same kind, op and root
 * everywhere; allreduce and reduce_scatter: same dtype and shape; allgather and gather: same
 * dtype, ndim and trailing dims (the first may differ); broadcast and scatter: every rank
 * that brings a tensor brings the root's dtype (and, for broadcast, its shape). Returns 1
 * when they agree; else 0 with a sentence naming the first two ranks that differ in msg.
 * Every rank sees the same headers, so every rank reaches the same verdict. */
int lt_dist_agree(const LtDistHeader *all, int size, char *msg, size_t len);
/* Text of a header, "allreduce(sum) float32 [3x4]", into buf (len bytes); returns buf. */
const char *lt_dist_header_text(const LtDistHeader *h, char *buf, size_t len);

/* The data phases, after an exchange that agreed. Before lt_dist_init (or after finalize) each
 * acts as in a job of one rank, without MPI: a script runs unchanged in one process. Counts are in
 * bytes unless said; buffers are contiguous and owned by the caller. Messages past INT_MAX bytes
 * are split (bcast, send, recv, allreduce) or refused with LT_EOVERFLOW (the v-collectives: their
 * offsets are C ints in MPI). MPI's own failures end the job (MPI_ERRORS_ARE_FATAL), so these
 * return LT_OK or an argument status only. */
LtStatus lt_dist_bcast(void *buf, int64_t nbytes, int root);
/* In place over count elements of dtype dt: float32/64, int32/64, uint8 and bool (max is
 * "any", min "all"); float16/bfloat16 give LT_EDTYPE (the caller converts), as does sum of
 * bool. Every rank gets the same bytes. */
LtStatus lt_dist_allreduce(void *buf, int64_t count, LtDtype dt, LtDistOp op);
/* Rank r's bytes[r] bytes land at offset sum(bytes[0..r-1]) of recv (on every rank for
 * allgather, on root only for gather: recv may be NULL elsewhere). */
LtStatus lt_dist_allgatherv(const void *send, void *recv, const int64_t *bytes);
LtStatus lt_dist_gatherv(const void *send, void *recv, const int64_t *bytes, int root);
/* The root's send holds every rank's part back to back (bytes[r] each); rank r receives its
 * part into recv. */
LtStatus lt_dist_scatterv(const void *send, void *recv, const int64_t *bytes, int root);
/* Reduces send (sum of counts[] elements of dt, the same on every rank) and leaves rank r
 * the counts[r] elements at offset sum(counts[0..r-1]) in recv. Dtypes as allreduce. */
LtStatus lt_dist_reduce_scatter(const void *send, void *recv, const int64_t *counts, LtDtype dt,
                                LtDistOp op);
/* Point-to-point: nbytes to rank dest / from rank src (the sender and receiver agree on
 * nbytes beforehand), tag 0. */
LtStatus lt_dist_send(const void *buf, int64_t nbytes, int dest);
LtStatus lt_dist_recv(void *buf, int64_t nbytes, int src);
#endif
