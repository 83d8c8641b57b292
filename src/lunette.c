/* lunette.c - luaopen_lunette: preloads the C bindings and the embedded Lua façades. */
#include <stdlib.h>
#include <string.h>
#include <omp.h>
#include <lua.h>
#include <lauxlib.h>
#include "tensor/lbase.h"
#include "lunette.h"
#include "luasrc.h"

typedef struct { const char *name; lua_CFunction open; } LtCModule;

static const LtCModule c_modules[] = {
  {"lunette._tensor", luaopen_lunette_tensor},
  {"lunette._tensor_view", luaopen_lunette_tensor_view},
  {"lunette._tensor_ew", luaopen_lunette_tensor_ew},
  {"lunette._tensor_reduce", luaopen_lunette_tensor_reduce},
  {"lunette._tensor_index", luaopen_lunette_tensor_index},
  {"lunette._random", luaopen_lunette_random},
  {"lunette._linalg", luaopen_lunette_linalg},
  {"lunette._io", luaopen_lunette_io},
  {"lunette._nn", luaopen_lunette_nn},
  {"lunette._embed", luaopen_lunette_embed},
  {"lunette._plot", luaopen_lunette_plot},
  {"lunette._sketch", luaopen_lunette_sketch},
  {"lunette._select", luaopen_lunette_select},
  {NULL, NULL}
};

static int load_embedded(lua_State *L) {
  const LtLuaSource *src = lua_touserdata(L, lua_upvalueindex(1));
  /* bytecode first (fast start); source if this liblua reads another format */
  if (luaL_loadbufferx(L, src->bytecode, src->bclen, src->chunkname, "b") != LUA_OK) {
    lua_pop(L, 1);
    if (luaL_loadbufferx(L, src->code, src->len, src->chunkname, "t") != LUA_OK)
      return lua_error(L);
  }
  lua_pushvalue(L, 1);
  lua_call(L, 1, 1);
  return 1;
}

/* lunette._source(module) -> the embedded source text of a façade
 * ("lunette.embed"), or nil; lunette._source() -> the array of embedded
 * module names in build order. lunette.doc reads doc comments from it. */
static int embedded_source(lua_State *L) {
  const LtLuaSource *s;
  if (lua_isnoneornil(L, 1)) {
    lua_newtable(L);
    for (s = lt_lua_sources; s->module; s++) {
      lua_pushstring(L, s->module);
      lua_rawseti(L, -2, (lua_Integer)(s - lt_lua_sources) + 1);
    }
    return 1;
  }
  for (s = lt_lua_sources; s->module; s++)
    if (strcmp(s->module, luaL_checkstring(L, 1)) == 0) {
      lua_pushlstring(L, s->code, s->len);
      return 1;
    }
  lua_pushnil(L);
  return 1;
}

static int open_source(lua_State *L) {
  lua_pushcfunction(L, embedded_source);
  return 1;
}

static void preload_all(lua_State *L) {
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  for (const LtCModule *m = c_modules; m->name; m++) {
    lua_pushcfunction(L, m->open);
    lua_setfield(L, -2, m->name);
  }
  lua_pushcfunction(L, open_source);
  lua_setfield(L, -2, "lunette._source");
  for (const LtLuaSource *s = lt_lua_sources; s->module; s++) {
    lua_pushlightuserdata(L, (void *)s);
    lua_pushcclosure(L, load_embedded, 1);
    lua_setfield(L, -2, s->module);
  }
  lua_pop(L, 1);
}

int luaopen_lunette(lua_State *L) {
  /* On a shared machine a parallel region waits for its slowest thread; in
   * dynamic mode libgomp sizes teams by the load average, so a busy core is
   * not waited for. OMP_DYNAMIC in the environment still decides. */
  if (!getenv("OMP_DYNAMIC")) omp_set_dynamic(1);
  preload_all(L);
  lua_getglobal(L, "require");
  lua_pushliteral(L, "lunette.init");
  lua_call(L, 1, 1);
  return 1;
}
