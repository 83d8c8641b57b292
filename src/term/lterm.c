/* lterm.c - Lua binding of term.h for lunette.display: lunette._term.isatty, query, base64,
 * tmpfile and sixel. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "tensor/lbase.h"
#include "term/term.h"

/* isatty(fd) -> boolean */
static int l_isatty(lua_State *L) {
  lua_pushboolean(L, isatty((int)luaL_checkinteger(L, 1)));
  return 1;
}

/* query(seq, until, timeout_ms) -> the answer (possibly ""), or nil when stdin or stdout is not
 * a terminal. Writes seq to stdout and reads stdin's answer up to the byte `until`. */
static int l_query(lua_State *L) {
  size_t qn;
  const char *q = luaL_checklstring(L, 1, &qn);
  const char *until = luaL_checkstring(L, 2);
  lua_Integer ms = luaL_checkinteger(L, 3);
  char buf[1024];
  luaL_argcheck(L, ms >= 0 && ms <= 10000, 3, "timeout must be 0..10000 ms");
  int n = term_query(STDIN_FILENO, STDOUT_FILENO, q, qn, until[0], (int)ms, buf, sizeof buf);
  if (n < 0) return 0;
  lua_pushlstring(L, buf, (size_t)n);
  return 1;
}

/* base64(bytes) -> text */
static int l_base64(lua_State *L) {
  size_t n;
  const unsigned char *s = (const unsigned char *)luaL_checklstring(L, 1, &n);
  luaL_Buffer b;
  char *out = luaL_buffinitsize(L, &b, TERM_BASE64_LEN(n));
  term_base64(s, n, out);
  luaL_pushresultsize(&b, TERM_BASE64_LEN(n));
  return 1;
}

/* tmpfile(dir, prefix, suffix) -> path | nil, message: a new empty file of that name pattern. */
static int l_tmpfile(lua_State *L) {
  const char *dir = luaL_checkstring(L, 1);
  const char *prefix = luaL_checkstring(L, 2);
  const char *suffix = luaL_checkstring(L, 3);
  char path[4096];
  int err = term_tmpfile(dir, prefix, suffix, path, sizeof path);
  if (err != 0) {
    luaL_pushfail(L);
    lua_pushfstring(L, "cannot create a file in %s: %s", dir, strerror(err));
    return 2;
  }
  lua_pushstring(L, path);
  return 1;
}

/* sixel(image) -> sixel sequence | nil, message; image: a uint8 tensor [h x w x 3|4]. */
static int l_sixel(lua_State *L) {
  Tensor *t = ltL_check_tensor(L, 1, "sixel");
  if (t->dtype != LT_U8 || t->ndim != 3 || t->shape[2] < 3 || t->shape[2] > 4)
    return ltL_argerror(L, 1, "sixel", "uint8 image [h x w x 3|4] expected");
  t = ltL_push_contiguous(L, 1);
  TermBuf out = {NULL, 0, 0};
  char msg[256];
  int st = term_sixel_encode(t->data, (int)t->shape[1], (int)t->shape[0], (int)t->shape[2], &out,
                             msg, sizeof msg);
  if (st == 0) lua_pushlstring(L, out.data ? out.data : "", out.len);
  free(out.data);
  if (st == 0) return 1;
  luaL_pushfail(L);
  lua_pushstring(L, msg);
  return 2;
}

static const luaL_Reg term_fns[] = {{"isatty", l_isatty}, {"query", l_query},
                                    {"base64", l_base64}, {"tmpfile", l_tmpfile},
                                    {"sixel", l_sixel},   {NULL, NULL}};

/* The main part of lunette._term (src/lunette.c lists every part). */
int luaopen_lunette_term(lua_State *L);
int luaopen_lunette_term(lua_State *L) {
  luaL_newlib(L, term_fns);
  return 1;
}
