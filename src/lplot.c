/* lplot.c - placeholder binding for lunette.plot (returns an empty table). */
#include "lbase.h"
#include "plot.h"
int luaopen_lunette_plot(lua_State *L) { lua_newtable(L); return 1; }
