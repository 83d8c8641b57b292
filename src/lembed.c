/* lembed.c - placeholder binding for lunette.embed (returns an empty table). */
#include "lbase.h"
#include "embed.h"
int luaopen_lunette_embed(lua_State *L) { lua_newtable(L); return 1; }
