/* luasrc.h - the Lua façade chunks embedded at build time (scripts/embed.lua). */
#ifndef LUNETTE_LUASRC_H
#define LUNETTE_LUASRC_H
#include <stddef.h>

typedef struct {
  const char *module;    /* "lunette.tensor", or "lunette" for init.lua */
  const char *chunkname; /* "@lua/lunette/tensor.lua" so tracebacks name the file */
  const char *code;      /* source text */
  size_t len;
  const char *bytecode; /* the same chunk precompiled by the build's lua5.4 */
  size_t bclen;
} LtLuaSource;

extern const LtLuaSource lt_lua_sources[]; /* terminated by a NULL module */
#endif
