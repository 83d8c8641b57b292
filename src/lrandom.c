/* lrandom.c - placeholder: the Generator binding lands with the random module. */
#include "lbase.h"
#include "random.h"
int luaopen_lunette_random(lua_State *L) { lua_newtable(L); return 1; }
