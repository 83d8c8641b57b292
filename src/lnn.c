/* lnn.c - placeholder binding for lunette.nn (returns an empty table). */
#include "lbase.h"
#include "nn.h"
int luaopen_lunette_nn(lua_State *L) { lua_newtable(L); return 1; }
