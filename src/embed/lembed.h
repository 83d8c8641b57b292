/* lembed.h - argument helpers shared by the src/embed/lembed*.c bindings (options: lbase.h's
 * ltL_ readers).
 * Include it after lbase.h (it uses lua_State but, being shared by several
 * bindings, does not include the Lua headers itself). Defined in lembed.c. */
#ifndef LUNETTE_EMBED_BIND_H
#define LUNETTE_EMBED_BIND_H
#include "embed/embed.h"

/* Checks that arg is a 2-d tensor of a numeric dtype with at least min_rows
 * rows and finite values; pushes its float32 contiguous form (itself when
 * it already is) and returns the data, rows and columns. */
const float *lembed_check_matrix(lua_State *L, int arg, const char *fname, int64_t min_rows,
                                 int64_t *n, int64_t *d);

/* The progress hook behind option `progress` (a function called as
 * fn(stage, done, total); returning false stops the run). Errors raised by
 * the function are caught and re-raised by lembed_check after the kernel
 * has cleaned up. lembed_progress pushes one stack slot (the error slot),
 * and leaves the function above it when there is one. */
typedef struct {
  lua_State *L;
  int fn, slot, failed;
} LembedHook;
void lembed_progress(lua_State *L, int arg, const char *fname, LembedHook *h, LtEmbedProgress *p);
/* Pushes a userdata holding an empty LtCsr that the garbage collector frees
 * (so a sparse result cannot leak if a later push raises). */
LtCsr *lembed_push_csr(lua_State *L);

/* Raises the hook's error if it failed, else the status's error (if any). */
void lembed_check(lua_State *L, LtStatus st, const LembedHook *h, const char *fname);

#endif
