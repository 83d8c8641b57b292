/* lio.c - placeholder binding for lunette.io (returns an empty table). */
#include "lbase.h"
#include "io.h"
int luaopen_lunette_io(lua_State *L) { lua_newtable(L); return 1; }
