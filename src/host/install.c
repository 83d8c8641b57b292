/* install.c - `lunette --install-kernel`: the Jupyter kernelspec for this executable, written by
 * lunette.kernelspec (the host only finds its own path and passes the arguments on). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <lua.h>
#include <lauxlib.h>
#include "host/host.h"

/* Returns require("lunette.kernelspec").install(args, exe): true, or nil and a message for
 * the user (bad arguments, an unwritable folder). */
static int install(lua_State *L) {
  lua_getglobal(L, "require");
  lua_pushliteral(L, "lunette.kernelspec");
  lua_call(L, 1, 1);
  lua_getfield(L, -1, "install");
  lua_pushvalue(L, 1);
  lua_pushvalue(L, 2);
  lua_call(L, 2, 2);
  return 2;
}

int host_install_kernel(lua_State *L, int argc, char **argv) {
  char exe[PATH_MAX];
  /* kernel.json must name this very binary by an absolute path: Jupyter starts it from
   * anywhere, and argv[0] may be relative or found through PATH. */
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) {
    lua_pushliteral(L, "cannot find the path of this executable (/proc/self/exe)");
    return host_report(L, LUA_ERRRUN, 1) == LUA_OK;
  }
  exe[n] = '\0';
  lua_pushcfunction(L, install);
  lua_createtable(L, argc, 0);
  for (int i = 0; i < argc; i++) {
    lua_pushstring(L, argv[i]);
    lua_rawseti(L, -2, i + 1);
  }
  lua_pushstring(L, exe);
  /* A Lua error is a bug and comes with its traceback; a refusal is one line for the user. */
  if (host_report(L, host_docall(L, 2, 2), 1) != LUA_OK) return 0;
  int ok = lua_toboolean(L, -2);
  if (!ok) fprintf(stderr, "%s: %s\n", HOST_NAME, lua_tostring(L, -1));
  lua_pop(L, 2);
  return ok;
}
