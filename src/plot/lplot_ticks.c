/* lplot_ticks.c - Lua binding for tick locators and the scalar tick formatter. */
#include <math.h>
#include "tensor/lbase.h"
#include "plot/plot_ticks.h"

static void push_array(lua_State *L, const double *v, int n) {
  lua_createtable(L, n, 0);
  for (int i = 0; i < n; i++) {
    lua_pushnumber(L, v[i]);
    lua_rawseti(L, -2, i + 1);
  }
}

/* ticks(vmin, vmax[, nbins=9, steps=nil, integer=false, min_n_ticks=2]) -> {locs} */
static int l_ticks(lua_State *L) {
  double vmin = luaL_checknumber(L, 1), vmax = luaL_checknumber(L, 2), steps[16],
         out[PLOT_MAX_TICKS];
  int nbins = (int)luaL_optinteger(L, 3, 9), nsteps = 0;
  /* Leaves room in the PLOT_MAX_TICKS output for the ticks one step past either limit. */
  if (nbins < 1 || nbins > PLOT_MAX_TICKS - 4)
    return ltL_argerror(L, 3, "ticks", "nbins must be 1..%d, got %d", PLOT_MAX_TICKS - 4, nbins);
  if (lua_istable(L, 4)) {
    nsteps = (int)lua_rawlen(L, 4);
    if (nsteps < 2 || nsteps > 16)
      return ltL_argerror(L, 4, "ticks", "2..16 steps expected, got %d", nsteps);
    for (int i = 0; i < nsteps; i++) {
      lua_rawgeti(L, 4, i + 1);
      steps[i] = lua_tonumber(L, -1);
      lua_pop(L, 1);
      if (!(steps[i] >= 1 && steps[i] <= 10) || (i && steps[i] <= steps[i - 1]))
        return ltL_argerror(L, 4, "ticks", "steps must increase within [1, 10]");
    }
    /* matplotlib adds a missing 1 or 10 itself; here both must be given. */
    if (steps[0] != 1 || steps[nsteps - 1] != 10)
      return ltL_argerror(L, 4, "ticks", "steps must start at 1 and end at 10");
  }
  int n = plot_ticks_maxn(vmin, vmax, nbins, nsteps ? steps : NULL, nsteps, lua_toboolean(L, 5),
                          (int)luaL_optinteger(L, 6, 2), out);
  push_array(L, out, n);
  return 1;
}

/* format_ticks({locs}, vmin, vmax) -> {labels}, offset_text */
static int l_format_ticks(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  double vmin = luaL_checknumber(L, 2), vmax = luaL_checknumber(L, 3), locs[PLOT_MAX_TICKS];
  int n = (int)lua_rawlen(L, 1);
  if (n > PLOT_MAX_TICKS)
    return ltL_argerror(L, 1, "format_ticks", "at most %d ticks, got %d", PLOT_MAX_TICKS, n);
  for (int i = 0; i < n; i++) {
    lua_rawgeti(L, 1, i + 1);
    locs[i] = lua_tonumber(L, -1);
    lua_pop(L, 1);
    if (!isfinite(locs[i]))
      return ltL_argerror(L, 1, "format_ticks", "tick %d is not finite", i + 1);
  }
  /* Fixed buffers: plot_ticks_format truncates a label rather than overflow its 64 bytes. */
  char labels[PLOT_MAX_TICKS][64], offset[96];
  plot_ticks_format(locs, n, vmin, vmax, &labels[0][0], sizeof labels[0], offset, sizeof offset);
  lua_createtable(L, n, 0);
  for (int i = 0; i < n; i++) {
    lua_pushstring(L, labels[i]);
    lua_rawseti(L, -2, i + 1);
  }
  lua_pushstring(L, offset);
  return 2;
}

/* log_ticks(vmin, vmax[, numticks=9]) -> {decades} */
static int l_log_ticks(lua_State *L) {
  double out[PLOT_MAX_TICKS];
  int n = plot_ticks_log(luaL_checknumber(L, 1), luaL_checknumber(L, 2),
                         (int)luaL_optinteger(L, 3, 9), out);
  push_array(L, out, n);
  return 1;
}

/* nonsingular(vmin, vmax[, expander=0.001, tiny=1e-15]) -> vmin, vmax */
static int l_nonsingular(lua_State *L) {
  double a = luaL_checknumber(L, 1), b = luaL_checknumber(L, 2);
  plot_nonsingular(&a, &b, luaL_optnumber(L, 3, 0.001), luaL_optnumber(L, 4, 1e-15));
  lua_pushnumber(L, a);
  lua_pushnumber(L, b);
  return 2;
}

/* auto_nbins(axis_length_pt, label_size_pt, factor) -> clip(floor(len / (size*factor)), 1, 9) */
static int l_auto_nbins(lua_State *L) {
  lua_pushinteger(L, plot_ticks_auto_nbins(luaL_checknumber(L, 1), luaL_checknumber(L, 2),
                                           luaL_checknumber(L, 3)));
  return 1;
}

static const luaL_Reg tick_fns[] = {{"ticks", l_ticks},           {"format_ticks", l_format_ticks},
                                    {"log_ticks", l_log_ticks},   {"nonsingular", l_nonsingular},
                                    {"auto_nbins", l_auto_nbins}, {NULL, NULL}};

/* A part of lunette._plot (src/lunette.c lists every part): the tick functions. */
int luaopen_lunette_plot_ticks(lua_State *L);
int luaopen_lunette_plot_ticks(lua_State *L) {
  luaL_newlib(L, tick_fns);
  return 1;
}
