/* lunette.h - the entry point shared by the host and lunette.so. */
#ifndef LUNETTE_H
#define LUNETTE_H
#include <lua.h>

#define LUNETTE_VERSION "lunette 0.1.0"

/* Registers every lunette module in package.preload (C bindings as
 * "lunette._<name>", Lua façades as "lunette.<name>") and returns the
 * top-level `lunette` table (lua/lunette/init.lua). */
int luaopen_lunette(lua_State *L);
#endif
