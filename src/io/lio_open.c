/* lio_open.c - the main part of lunette._io: io.null and makedirs. The format parts are
 * lio_*.c; src/lunette.c lists them all and merges their tables into lunette._io. */
#include "tensor/lbase.h"
#include "io/lio.h"
#include "io/io.h"

/* makedirs(path) -> true | nil, message */
static int l_makedirs(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  /* No handle: makedirs takes no resource that a Lua error could strand. */
  IoCtx c;
  io_ctx_init(&c);
  if (io_makedirs(&c, path) != LT_OK) {
    lua_pushnil(L);
    lua_pushstring(L, c.msg);
    return 2;
  }
  lua_pushboolean(L, 1);
  return 1;
}

static const luaL_Reg io_fns[] = {{"makedirs", l_makedirs}, {NULL, NULL}};

/* The main part of lunette._io (src/lunette.c lists every part): makedirs and `null`, the
 * value standing for Python's None in loaded objects. */
int luaopen_lunette_io(lua_State *L);
int luaopen_lunette_io(lua_State *L) {
  luaL_newlib(L, io_fns);
  lio_push_null(L);
  lua_setfield(L, -2, "null");
  return 1;
}
