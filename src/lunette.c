/* lunette.c - luaopen_lunette: the list of every binding part, merged into one preloaded
 * "lunette._<module>" table per module (as Lua's linit.c lists its libraries), and the
 * embedded Lua façades. */
#include <stdlib.h>
#include <string.h>
#include <omp.h>
#include <lua.h>
#include <lauxlib.h>
#include "lunette.h"
#include "luasrc.h"
#include "tensor/lbase.h"

/* Every binding part: one file of src/<module>/l*.c that registers functions. Each creates
 * its metatables and returns a new table of its functions (luaL_newlib style), nothing
 * else; it is defined in the file named beside it and called only from this list. */
int luaopen_lunette_tensor(lua_State *L);         /* tensor/ltensor.c */
int luaopen_lunette_tensor_view(lua_State *L);    /* tensor/ltensor_view.c */
int luaopen_lunette_tensor_ew(lua_State *L);      /* tensor/ltensor_ew.c */
int luaopen_lunette_tensor_reduce(lua_State *L);  /* tensor/ltensor_reduce.c */
int luaopen_lunette_tensor_index(lua_State *L);   /* tensor/ltensor_index.c */
int luaopen_lunette_random(lua_State *L);         /* tensor/lrandom.c */
int luaopen_lunette_linalg(lua_State *L);         /* linalg/llinalg.c */
int luaopen_lunette_io(lua_State *L);             /* io/lio_open.c */
int luaopen_lunette_io_npy(lua_State *L);         /* io/lio_npy.c */
int luaopen_lunette_io_zip(lua_State *L);         /* io/lio_zip.c */
int luaopen_lunette_io_safetensors(lua_State *L); /* io/lio_safetensors.c */
int luaopen_lunette_io_pt(lua_State *L);          /* io/lio_pt.c */
int luaopen_lunette_io_idx(lua_State *L);         /* io/lio_idx.c */
int luaopen_lunette_io_png(lua_State *L);         /* io/lio_png.c */
int luaopen_lunette_io_csv(lua_State *L);         /* io/lio_csv.c */
int luaopen_lunette_io_parquet(lua_State *L);     /* io/lio_parquet.c */
int luaopen_lunette_io_hdf5(lua_State *L);        /* io/lio_hdf5.c */
int luaopen_lunette_io_arrow(lua_State *L);       /* io/lio_arrow.c */
int luaopen_lunette_data(lua_State *L);           /* data/ldata.c */
int luaopen_lunette_nn_linear(lua_State *L);      /* nn/lnn_linear.c */
int luaopen_lunette_nn_conv(lua_State *L);        /* nn/lnn_conv.c */
int luaopen_lunette_nn_norm(lua_State *L);        /* nn/lnn_norm.c */
int luaopen_lunette_nn_act(lua_State *L);         /* nn/lnn_act.c */
int luaopen_lunette_nn_pool(lua_State *L);        /* nn/lnn_pool.c */
int luaopen_lunette_nn_loss(lua_State *L);        /* nn/lnn_loss.c */
int luaopen_lunette_nn_optim(lua_State *L);       /* nn/lnn_optim.c */
int luaopen_lunette_nn_aug(lua_State *L);         /* nn/lnn_aug.c */
int luaopen_lunette_nn_psg(lua_State *L);         /* nn/lnn_psg.c */
int luaopen_lunette_embed(lua_State *L);          /* embed/lembed.c */
int luaopen_lunette_embed_knn(lua_State *L);      /* embed/lembed_knn.c */
int luaopen_lunette_embed_pca(lua_State *L);      /* embed/lembed_pca.c */
int luaopen_lunette_embed_tsne(lua_State *L);     /* embed/lembed_tsne.c */
int luaopen_lunette_embed_umap(lua_State *L);     /* embed/lembed_umap.c */
int luaopen_lunette_embed_metrics(lua_State *L);  /* embed/lembed_metrics.c */
int luaopen_lunette_embed_sphere(lua_State *L);   /* embed/lembed_sphere.c */
int luaopen_lunette_embed_transform(lua_State *L); /* embed/lembed_transform.c */
int luaopen_lunette_plot(lua_State *L);           /* plot/lplot.c */
int luaopen_lunette_plot_color(lua_State *L);     /* plot/lplot_color.c */
int luaopen_lunette_plot_ticks(lua_State *L);     /* plot/lplot_ticks.c */
int luaopen_lunette_plot_3d(lua_State *L);        /* plot/lplot_3d.c */
int luaopen_lunette_plot_stats(lua_State *L);     /* plot/lplot_stats.c */
int luaopen_lunette_plot_fields(lua_State *L);    /* plot/lplot_fields.c */
int luaopen_lunette_sketch(lua_State *L);         /* sketch/lsketch.c */
int luaopen_lunette_select(lua_State *L);         /* select/lselect.c */
int luaopen_lunette_term(lua_State *L);           /* term/lterm.c */
int luaopen_lunette_dist(lua_State *L);           /* dist/ldist.c */
int luaopen_lunette_cuda(lua_State *L);           /* cuda/lcuda.c */

typedef struct {
  const char *module; /* the part goes into "lunette._<module>" */
  lua_CFunction open;
} LtPart;

/* The parts of one module are called in this order, so a part that needs another's
 * metatable comes after it (tensor_ew adds to the tensor metatable of tensor). Lua
 * modules that are not a src/ folder: random (src/tensor/). nn has no main part. */
static const LtPart parts[] = {
    {"tensor", luaopen_lunette_tensor},       {"tensor", luaopen_lunette_tensor_view},
    {"tensor", luaopen_lunette_tensor_ew},    {"tensor", luaopen_lunette_tensor_reduce},
    {"tensor", luaopen_lunette_tensor_index}, {"random", luaopen_lunette_random},
    {"linalg", luaopen_lunette_linalg},       {"io", luaopen_lunette_io},
    {"io", luaopen_lunette_io_npy},           {"io", luaopen_lunette_io_zip},
    {"io", luaopen_lunette_io_safetensors},   {"io", luaopen_lunette_io_pt},
    {"io", luaopen_lunette_io_idx},           {"io", luaopen_lunette_io_png},
    {"io", luaopen_lunette_io_csv},           {"io", luaopen_lunette_io_parquet},
    {"io", luaopen_lunette_io_hdf5},          {"io", luaopen_lunette_io_arrow},
    {"data", luaopen_lunette_data},
    {"nn", luaopen_lunette_nn_linear},        {"nn", luaopen_lunette_nn_conv},
    {"nn", luaopen_lunette_nn_norm},          {"nn", luaopen_lunette_nn_act},
    {"nn", luaopen_lunette_nn_pool},          {"nn", luaopen_lunette_nn_loss},
    {"nn", luaopen_lunette_nn_optim},         {"nn", luaopen_lunette_nn_aug},
    {"nn", luaopen_lunette_nn_psg},           {"embed", luaopen_lunette_embed},
    {"embed", luaopen_lunette_embed_knn},     {"embed", luaopen_lunette_embed_pca},
    {"embed", luaopen_lunette_embed_tsne},    {"embed", luaopen_lunette_embed_umap},
    {"embed", luaopen_lunette_embed_metrics}, {"embed", luaopen_lunette_embed_sphere},
    {"embed", luaopen_lunette_embed_transform},
    {"plot", luaopen_lunette_plot},           {"plot", luaopen_lunette_plot_color},
    {"plot", luaopen_lunette_plot_ticks},     {"plot", luaopen_lunette_plot_3d},
    {"plot", luaopen_lunette_plot_stats},     {"plot", luaopen_lunette_plot_fields},
    {"sketch", luaopen_lunette_sketch},       {"select", luaopen_lunette_select},
    {"term", luaopen_lunette_term},           {"dist", luaopen_lunette_dist},
    {"cuda", luaopen_lunette_cuda},           {NULL, NULL}};

/* Moves every field of the part's table on top into the module table at idx and pops
 * it. Two parts registering one name is a bug in the list, not a user error: raise. */
static void merge_part(lua_State *L, int idx, const char *module) {
  /* lua_next walks the part's table with the key at -2 and the value at -1; a raw get of the key
   * in the module table tells whether an earlier part took the name. */
  lua_pushnil(L);
  while (lua_next(L, -2)) {
    lua_pushvalue(L, -2);
    if (lua_rawget(L, idx) != LUA_TNIL)
      luaL_error(L, "lunette._%s: '%s' registered by two parts", module, lua_tostring(L, -3));
    lua_pop(L, 1);
    /* Stack: part, key, value. Copy the key and swap it under the value so that rawset stores
     * module[key] = value and leaves the key for lua_next. */
    lua_pushvalue(L, -2);
    lua_insert(L, -2);
    lua_rawset(L, idx);
  }
  lua_pop(L, 1);
}

/* The loader of "lunette._<module>" (the name is upvalue 1): calls the module's parts in
 * list order and returns one table holding all their fields. */
static int open_module(lua_State *L) {
  const char *module = lua_tostring(L, lua_upvalueindex(1));
  lua_newtable(L);
  int idx = lua_gettop(L);
  /* Parts of one module are found by name in the one list, so adding a part means adding one
   * line there. */
  for (const LtPart *p = parts; p->module; p++) {
    if (strcmp(p->module, module) != 0) continue;
    lua_pushcfunction(L, p->open);
    lua_call(L, 0, 1);
    merge_part(L, idx, module);
  }
  return 1;
}

/* The loader of one embedded façade (its LtLuaSource is upvalue 1), called by require with the
 * module name as its argument. */
static int load_embedded(lua_State *L) {
  const LtLuaSource *src = lua_touserdata(L, lua_upvalueindex(1));
  /* bytecode first (fast start); source if this liblua reads another format */
  if (luaL_loadbufferx(L, src->bytecode, src->bclen, src->chunkname, "b") != LUA_OK) {
    lua_pop(L, 1);
    if (luaL_loadbufferx(L, src->code, src->len, src->chunkname, "t") != LUA_OK)
      return lua_error(L);
  }
  /* The module name require passed goes to the chunk as its `...`, as with a file module. */
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

/* Registers every loader in package.preload, so nothing is opened until something requires it. */
static void preload_all(lua_State *L) {
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
  for (const LtPart *p = parts; p->module; p++) {
    /* one loader per module, set where its first part is listed */
    if (p != parts && strcmp(p[-1].module, p->module) == 0) continue;
    lua_pushfstring(L, "lunette._%s", p->module);
    lua_pushstring(L, p->module);
    lua_pushcclosure(L, open_module, 1);
    lua_settable(L, -3);
  }
  lua_pushcfunction(L, open_source);
  lua_setfield(L, -2, "lunette._source");
  /* Each embedded façade gets a loader; the LtLuaSource is static, so a light userdata is
   * enough. */
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
  /* Before anything is allocated: every large storage from here on goes through the cache. */
  ltL_install_block_cache(L);
  preload_all(L);
  lua_getglobal(L, "require");
  lua_pushliteral(L, "lunette.init");
  lua_call(L, 1, 1);
  return 1;
}
