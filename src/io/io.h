/* io.h - what every file reader and writer shares: limits and the allocation gateway, error text,
 * checked sizes, stored element types, atomic writers (core, no Lua). */
#ifndef LUNETTE_IO_H
#define LUNETTE_IO_H
#include <stdint.h>
#include <stddef.h>
#include "io/atomic.h"
#include "tensor/tensor.h"

#define IO_MSG 320

/* The context every reader and writer takes. It is the one allocation
 * gateway (io_alloc counts live bytes against max_alloc and can be told to
 * fail its Nth call, SQLite-style, for fault-injection tests) and carries
 * the text of the last failure. */
typedef struct {
  uint64_t max_inflate; /* cap on the bytes one decompression may produce */
  uint64_t max_alloc;   /* cap on bytes live through io_alloc at once */
  uint64_t used;        /* bytes live through io_alloc */
  int64_t fail_at;      /* the fail_at-th io_alloc call (0-based) fails; < 0 never */
  int64_t nalloc;       /* io_alloc calls so far */
  char msg[IO_MSG];     /* why the last failing call failed */
} IoCtx;

/* Defaults: both caps are half the physical memory (at least 256 MiB), no
 * fault injection. */
void io_ctx_init(IoCtx *c);
/* Formats c->msg (printf-style) and returns st, so readers can write
 * `return io_fail(c, LT_EVALUE, "...")`. */
LtStatus io_fail(IoCtx *c, LtStatus st, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* malloc through the gateway: NULL with c->msg set when n would exceed
 * max_alloc, when the injected failure fires, or when malloc fails. n may be
 * 0 (returns a valid pointer). io_free must get the same n. */
void *io_alloc(IoCtx *c, size_t n);
/* io_alloc, zeroed. */
void *io_calloc(IoCtx *c, size_t n);
/* Frees p (NULL is fine) and returns its n bytes to the max_alloc budget. */
void io_free(IoCtx *c, void *p, size_t n);
/* Half of physical memory, the default decompression and allocation cap. */
uint64_t io_default_cap(void);

/* ---- checked sizes -------------------------------------------------------- */

/* Largest tensor the loaders will build (the storage limit of lbase.c). */
#define IO_MAX_TENSOR_BYTES ((uint64_t)1 << 46)

/* Checks a shape read from a file: 0 <= ndim <= LT_MAXDIM, every size >= 0,
 * numel * elem without overflow and <= IO_MAX_TENSOR_BYTES. Fills *numel and
 * *nbytes (either may be NULL). On failure sets a message that starts with
 * `what` (e.g. "shape") and returns LT_ERANGE. */
LtStatus io_check_shape(IoCtx *c, const char *what, int ndim, const int64_t *shape, size_t elem,
                        uint64_t *numel, uint64_t *nbytes);
/* a*b and a+b on uint64 with overflow reported as 0 (1 on success). */
int io_mul_u64(uint64_t a, uint64_t b, uint64_t *out);
int io_add_u64(uint64_t a, uint64_t b, uint64_t *out);
/* Formats a shape as "[3x4]" into buf. */
const char *io_shape_str(int ndim, const int64_t *shape, char *buf, size_t n);

/* ---- stored element types ------------------------------------------------- */

/* How elements are stored in a file. Each maps to the lunette dtype it is
 * loaded as; lunette has no int8/int16/uint16/uint32, so those widen:
 * int8, int16, uint16 -> int32; uint32 -> int64. Byte order is separate. */
typedef enum {
  IO_B1 = 0,
  IO_U1,
  IO_I1,
  IO_I2,
  IO_U2,
  IO_I4,
  IO_U4,
  IO_I8,
  IO_F2,
  IO_BF2,
  IO_F4,
  IO_F8,
  IO_NSTYPES
} IoStype;

/* Bytes per element as stored. */
size_t io_stype_size(IoStype st);
/* The lunette dtype st loads as (see the widening above). */
LtDtype io_stype_dtype(IoStype st);
const char *io_stype_name(IoStype st); /* "int16", ... (the file's type) */
IoStype io_stype_of(LtDtype dt);       /* the exact stored type of a lunette dtype */

/* Converts n elements stored as st (byte-swapped when swap) into st's
 * lunette dtype, in place: the stored bytes occupy the LAST n*size(st)
 * bytes of buf, which holds n*size(dtype) bytes; results fill buf from the
 * start (front to back never overwrites an unread input). Bool bytes are
 * normalised to 0/1. */
void io_convert(IoStype st, int swap, void *buf, uint64_t n);
/* The same into float32 times scale (stored size at most 4 bytes): the
 * stored bytes occupy the last n*size(st) bytes of buf (n floats). */
void io_convert_f32(IoStype st, int swap, void *buf, uint64_t n, float scale);
/* Byte-swaps n elements of width w (2, 4 or 8) in place. */
void io_bswap(void *buf, uint64_t n, size_t w);

/* ---- atomic writers -------------------------------------------------------- */

/* Writes go to a temporary file next to the target that io_writer_commit
 * renames over the target; until then the target is untouched and
 * io_writer_abort removes the temporary. This is atomic.h's writer (naming,
 * fsync, stale temporaries, interrupts) with the failure text in an IoCtx;
 * `pos` is the number of bytes written so far. */
typedef LtAtomicFile IoWriter;

/* io_makedirs: creates directory `path` and its missing parents (mode 0777 less the umask),
 * like mkdir -p; an existing directory is success. Fails with a message in c (EVALUE) when a
 * component exists and is not a directory, the path is empty or longer than PATH_MAX, or
 * mkdir fails (permissions, read-only file system). */
LtStatus io_makedirs(IoCtx *c, const char *path);
/* Opens the temporary for path (w is closed on failure: EVALUE with the
 * cause in c->msg, LT_EINTR when an interrupt is pending). w must stay put
 * until committed or aborted (io_alloc it). */
LtStatus io_writer_open(IoCtx *c, IoWriter *w, const char *path);
/* Appends n bytes; LT_EINTR when Ctrl-C or SIGTERM came, EVALUE on a write error. */
LtStatus io_writer_write(IoCtx *c, IoWriter *w, const void *p, size_t n);
/* Writes at an absolute offset already written (to patch headers). */
LtStatus io_writer_pwrite(IoCtx *c, IoWriter *w, uint64_t off, const void *p, size_t n);
/* Flushes, closes and renames; on failure the temporary is removed and the
 * target untouched (but see lt_atomic_commit on a failed directory flush). */
LtStatus io_writer_commit(IoCtx *c, IoWriter *w);
/* Removes the temporary (no-op on a closed writer); idempotent. */
void io_writer_abort(IoCtx *c, IoWriter *w);

/* ---- little helpers for the format parsers -------------------------------- */
static inline uint16_t io_le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline uint32_t io_le32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t io_le64(const uint8_t *p) {
  return io_le32(p) | (uint64_t)io_le32(p + 4) << 32;
}
static inline uint32_t io_be32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}
static inline void io_put16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
}
static inline void io_put32(uint8_t *p, uint32_t v) {
  io_put16(p, (uint16_t)v);
  io_put16(p + 2, (uint16_t)(v >> 16));
}
static inline void io_put64(uint8_t *p, uint64_t v) {
  io_put32(p, (uint32_t)v);
  io_put32(p + 4, (uint32_t)(v >> 32));
}
static inline void io_putbe32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

#endif
