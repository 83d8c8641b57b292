/* lio.h - what the io binding parts share (defined in lio.c): a handle userdata owning
 * sources and buffers across Lua errors, failure returns, tensor reads. */
#ifndef LUNETTE_LIO_H
#define LUNETTE_LIO_H
#include "io/io_src.h"

/* The bindings include lbase.h (and so lua.h) themselves; this header
 * names the Lua state without pulling Lua into anything else. */
typedef struct lua_State lua_State;

#define LIO_MAXOWN 16
typedef void (*LioFree)(IoCtx *c, void *p);

/* A handle is a userdata pushed before any resource is taken; everything a
 * binding acquires (open files, zlib streams, temporaries, parser output)
 * is registered with it, so a Lua error anywhere (out of memory in
 * ltL_push_new, a bad argument) releases it at the next collection, and
 * lio_close releases it at once on the normal path. */
typedef struct {
  IoCtx ctx;
  int n;
  struct {
    LioFree fn;
    void *p;
  } own[LIO_MAXOWN];
} LioHandle;

/* Pushes a new handle; opts_arg > 0 names an optional option table whose
 * fields max_inflate, max_alloc and fail_at (fault injection) set limits. */
LioHandle *lio_handle(lua_State *L, int opts_arg, const char *fname);
/* Makes h call fn(&h->ctx, p) when it is closed or collected (newest first); a NULL p is
 * ignored. */
void lio_own(LioHandle *h, LioFree fn, void *p);
/* Releases p now if h owns it. */
void lio_release(LioHandle *h, void *p);
/* Releases everything h owns, newest first; idempotent. */
void lio_close(LioHandle *h);
/* Makes h own an io_alloc'd buffer of n bytes (freed on failure too). */
LtStatus lio_own_buf(LioHandle *h, void *p, size_t n);
/* Opens path as a source owned by h. */
LtStatus lio_open_file(LioHandle *h, const char *path, IoSrc **s);
/* lio_own for a source (io_src_close). */
void lio_own_src(LioHandle *h, IoSrc *s);
/* Opens an atomic writer for path (a temporary file renamed into place by
 * io_writer_commit) owned by h: a failure, or h closed or collected before
 * the commit, removes the temporary, so no partial file is ever left. */
LtStatus lio_open_writer(LioHandle *h, const char *path, IoWriter **w);
/* Closes h and returns the Lua failure for status st: raises "interrupted!"
 * for LT_EINTR, else pushes nil and "<path>: <message>" (2 results). */
int lio_fail(lua_State *L, LioHandle *h, const char *path, LtStatus st);
/* The same without closing h (methods of objects that stay open). */
int lio_fail_keep(lua_State *L, LioHandle *h, const char *path, LtStatus st);
/* Pushes a tensor holding array a read from s (a Fortran-order array comes
 * back as a transposed view, as NumPy returns it). Returns its status;
 * on failure nothing is pushed. */
LtStatus lio_push_array(lua_State *L, LioHandle *h, IoSrc *s, const IoArray *a);
/* io.null, the value standing for Python's None in loaded objects. */
void lio_push_null(lua_State *L);
/* Whether the value at idx is io.null. */
int lio_is_null(lua_State *L, int idx);
/* True when path ends with suffix (case-insensitive). */
int lio_has_suffix(const char *path, const char *suffix);

#endif
