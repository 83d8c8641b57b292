/* lunette.h - the entry point shared by the host and lunette.so. */
#ifndef LUNETTE_H
#define LUNETTE_H
#include <lua.h>

#define LUNETTE_VERSION "lunette 0.1.0"

/* Registers every lunette module in package.preload and returns the top-level `lunette`
 * table (lua/lunette/init.lua, required at once). The preload entries: "lunette._<module>"
 * for each C binding (tensor, random, linalg, io, data, nn, embed, plot, sketch, select),
 * whose loader calls that module's binding parts in the order src/lunette.c lists them and
 * merges their tables into one (raising if two parts register one name); "lunette.<name>"
 * for each embedded Lua façade; "lunette._source" for their source text (lunette.doc).
 * Raises the Lua error of anything lunette.init requires that fails to load. */
int luaopen_lunette(lua_State *L);
#endif
