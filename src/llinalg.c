/* llinalg.c - placeholder until the linalg module lands. */
#include "lbase.h"
#include "linalg.h"
int luaopen_lunette_linalg(lua_State *L) { lua_newtable(L); return 1; }
