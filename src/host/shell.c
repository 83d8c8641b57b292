/* shell.c - what the interactive loop (repl.c) and the Jupyter kernel share: completion of Lua
 * names, the rule for unfinished chunks, and the text shown for a value. */
#include <string.h>
#include <lua.h>
#include <lauxlib.h>
#include "host/shell.h"

#define SHELL_EOFMARK        "<eof>"        /* ends the syntax error of an unfinished chunk */
#define SHELL_COMPLETE_DEPTH 8              /* __index links followed when completing */
#define SHELL_REPR_MODULE    "lunette.repr" /* the Lua module that lays out tables */

/* ---- completion ------------------------------------------------------- */

static const char *const lua_keywords[] = {
    "and",      "break",  "do",   "else", "elseif", "end",   "false", "for",
    "function", "goto",   "if",   "in",   "local",  "nil",   "not",   "or",
    "repeat",   "return", "then", "true", "until",  "while", NULL};

static int is_name(const char *s, size_t len) {
  /* A Lua name: letters, digits and underscores, not starting with a digit. */
  if (len == 0 || (s[0] >= '0' && s[0] <= '9')) return 0;
  for (size_t i = 0; i < len; i++) {
    char c = s[i];
    if (!(c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
      return 0;
  }
  return 1;
}

/* Replaces the value on top by the table its field lookups fall back to:
 * the metatable's __index when that is a table, else the metatable's
 * __methods. Convention: a userdata type whose __index is a function
 * (tensors index by number and by method name) lists its methods in a
 * plain table at metatable.__methods so the REPL can offer them without
 * calling anything. Returns 0, leaving the value, when there is neither. */
static int next_index_table(lua_State *L) {
  static const char *const fields[] = {"__index", "__methods"};
  /* Raw accesses only: completion must run no metamethod (see shell.h). */
  if (!lua_getmetatable(L, -1)) return 0;
  for (int i = 0; i < 2; i++) {
    lua_pushstring(L, fields[i]);
    if (lua_rawget(L, -2) == LUA_TTABLE) {
      lua_remove(L, -2);
      lua_remove(L, -2);
      return 1;
    }
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  return 0;
}

/* Pushes the __lazy table of the value on top's metatable (raw reads), or
 * returns 0 and pushes nothing. See shell.h for the convention. */
static int push_lazy(lua_State *L) {
  if (!lua_getmetatable(L, -1)) return 0;
  lua_pushliteral(L, "__lazy");
  if (lua_rawget(L, -2) == LUA_TTABLE) {
    lua_remove(L, -2);
    return 1;
  }
  lua_pop(L, 2);
  return 0;
}

/* Pushes the module named by the string on top (popping it): package.loaded's entry when it is
 * loaded, else what the global require returns for it, called in protected mode. Requiring is
 * the one call completion makes: a table lists a module in __lazy only when loading it has no
 * effect the user can see but the time it takes (lunette's façades define functions and load
 * the C bindings their library already holds; optional libraries are dlopen'ed on first use,
 * not on require), and the value is the one the field will have when the user first reads it.
 * Pushes nil when the module cannot be had. */
static void require_module(lua_State *L) {
  int name = lua_gettop(L);
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  lua_pushvalue(L, name);
  if (lua_rawget(L, -2) == LUA_TNIL) {
    lua_pop(L, 1);
    lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);
    lua_pushliteral(L, "require");
    lua_rawget(L, -2);
    lua_pushvalue(L, name);
    /* A module that fails to load offers nothing; the error is the user's to see on use. */
    if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
      lua_pop(L, 1);
      lua_pushnil(L);
    }
    lua_remove(L, -2);
  }
  lua_replace(L, name);
  lua_settop(L, name);
}

/* Pushes the table of further fields of the value on top, per the __fields convention (see
 * shell.h): the raw field of the value that its metatable's __fields names, when that is a
 * table. Returns 0 and pushes nothing otherwise. */
static int push_fields(lua_State *L) {
  if (lua_type(L, -1) != LUA_TTABLE || !lua_getmetatable(L, -1)) return 0;
  lua_pushliteral(L, "__fields");
  if (lua_rawget(L, -2) != LUA_TSTRING) {
    lua_pop(L, 2);
    return 0;
  }
  lua_rawget(L, -3);
  lua_remove(L, -2);
  if (lua_type(L, -1) == LUA_TTABLE) return 1;
  lua_pop(L, 1);
  return 0;
}

/* When the value on top lists `key` in its metatable's __lazy as a module name, replaces it by
 * that module and returns 1; else leaves it and returns 0. */
static int lookup_lazy(lua_State *L, const char *key, size_t len) {
  if (!push_lazy(L)) return 0;
  lua_pushlstring(L, key, len);
  if (lua_rawget(L, -2) != LUA_TSTRING) {
    lua_pop(L, 2);
    return 0;
  }
  lua_remove(L, -2);
  require_module(L);
  lua_remove(L, -2);
  return 1;
}

/* Replaces the value on top by its field `key`, found with raw accesses
 * through at most SHELL_COMPLETE_DEPTH __index tables, or as a module a
 * __lazy table names; nil when absent. */
static void lookup_indexed(lua_State *L, const char *key, size_t len) {
  /* A cap on __index links, so a cycle of metatables cannot loop forever. */
  for (int depth = 0; depth < SHELL_COMPLETE_DEPTH; depth++) {
    if (lua_type(L, -1) == LUA_TTABLE) {
      lua_pushlstring(L, key, len);
      if (lua_rawget(L, -2) != LUA_TNIL) {
        lua_remove(L, -2);
        return;
      }
      lua_pop(L, 1);
    }
    if (lookup_lazy(L, key, len)) return;
    if (!next_index_table(L)) break;
  }
  lua_pop(L, 1);
  lua_pushnil(L);
}

/* lookup_indexed, then, where that finds nothing, the value's __fields table (looked up
 * last, as a module's children are after its own fields and its class's methods). */
static void lookup_field(lua_State *L, const char *key, size_t len) {
  int has_fields = push_fields(L);
  if (has_fields) lua_insert(L, -2);
  lookup_indexed(L, key, len);
  if (!has_fields) return;
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    lua_pushlstring(L, key, len);
    lua_rawget(L, -2);
  }
  lua_remove(L, -2);
}

/* Pushes the value named by text[0..len) ("a.b.c", names only), or nil. */
static void resolve_path(lua_State *L, const char *text, size_t len) {
  const char *p = text, *end = text + len;
  lua_pushglobaltable(L);
  /* Walk "a.b.c" one name at a time; any step that is not a name or is nil ends with nil. */
  while (p <= end && !lua_isnil(L, -1)) {
    const char *dot = memchr(p, '.', (size_t)(end - p));
    const char *stop = dot ? dot : end;
    if (!is_name(p, (size_t)(stop - p))) {
      lua_pop(L, 1);
      lua_pushnil(L);
      return;
    }
    lookup_field(L, p, (size_t)(stop - p));
    p = stop + 1;
  }
}

/* Adds prefix .. key (the key at index `key`) to the set at index `set`. */
static void add_match(lua_State *L, int set, const char *prefix, size_t plen, int key) {
  lua_pushlstring(L, prefix, plen);
  lua_pushvalue(L, key);
  lua_concat(L, 2);
  lua_pushboolean(L, 1);
  lua_rawset(L, set);
}

/* Adds to `set` every name-like string key starting with `part` of the
 * table on top (functions only when `methods`); leaves the table. */
static void collect_keys(lua_State *L, int set, const char *prefix, size_t plen, const char *part,
                         int methods) {
  size_t n = strlen(part);
  /* The set (a table used as a set) removes duplicates when the same name is found in a table
   * and in its __index chain. */
  lua_pushnil(L);
  while (lua_next(L, -2)) {
    size_t klen;
    const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tolstring(L, -2, &klen) : NULL;
    if (k && klen >= n && strncmp(k, part, n) == 0 && is_name(k, klen) &&
        (!methods || lua_type(L, -1) == LUA_TFUNCTION))
      add_match(L, set, prefix, plen, lua_absindex(L, -2));
    lua_pop(L, 1);
  }
}

/* Pops the value on top after adding to `set` every name-like string key
 * starting with `part` of it, of its __fields table, of its __index tables and of their __lazy
 * tables (functions only when `methods`, i.e. after ':', so no __lazy
 * name, whose value is not known before it loads). */
static void collect_fields(lua_State *L, int set, const char *prefix, size_t plen, const char *part,
                           int methods) {
  if (push_fields(L)) {
    collect_keys(L, set, prefix, plen, part, methods);
    lua_pop(L, 1);
  }
  for (int depth = 0; depth < SHELL_COMPLETE_DEPTH; depth++) {
    if (lua_type(L, -1) == LUA_TTABLE) collect_keys(L, set, prefix, plen, part, methods);
    if (!methods && push_lazy(L)) {
      collect_keys(L, set, prefix, plen, part, 0);
      lua_pop(L, 1);
    }
    if (!next_index_table(L)) break;
  }
  lua_pop(L, 1);
}

int shell_collect_matches(lua_State *L) {
  const char *text = lua_touserdata(L, 1);
  const char *dot = strrchr(text, '.'), *colon = strrchr(text, ':');
  /* The last '.' or ':' splits the text into the path and the partial name; a ':' followed by a
   * '.' is not a method call, so nothing is offered then. */
  const char *sep = dot > colon ? dot : colon;
  lua_newtable(L);
  if (sep == NULL) {
    for (const char *const *k = lua_keywords; *k; k++)
      if (strncmp(*k, text, strlen(text)) == 0) {
        lua_pushstring(L, *k);
        add_match(L, 2, "", 0, lua_gettop(L));
        lua_pop(L, 1);
      }
    lua_pushglobaltable(L);
    collect_fields(L, 2, "", 0, text, 0);
  } else if (colon == NULL || colon == sep) {
    resolve_path(L, text, (size_t)(sep - text));
    collect_fields(L, 2, text, (size_t)(sep - text + 1), sep + 1, *sep == ':');
  }
  return 1;
}

int shell_is_incomplete(lua_State *L, int status) {
  size_t len, mark = sizeof(SHELL_EOFMARK) - 1;
  const char *msg;
  if (status != LUA_ERRSYNTAX) return 0;
  /* An unfinished chunk is a syntax error whose message ends with "<eof>": read another line and
   * try again. */
  msg = lua_tolstring(L, -1, &len);
  return msg != NULL && len >= mark && strcmp(msg + len - mark, SHELL_EOFMARK) == 0;
}

/* Pushes lunette.repr's repr function, loading the module if need be; returns 0, pushing
 * nothing, when it cannot be had (a host without lunette's modules, a broken require). */
static int push_repr(lua_State *L) {
  int loaded;
  luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_LOADED_TABLE);
  loaded = lua_getfield(L, -1, SHELL_REPR_MODULE) == LUA_TTABLE;
  lua_remove(L, -2);
  if (!loaded) {
    /* The global require, read raw from the globals table (rebinding it is the user's right);
     * a failed load only means tables print as addresses. */
    lua_pop(L, 1);
    lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_GLOBALS);
    lua_pushliteral(L, "require");
    lua_rawget(L, -2);
    lua_remove(L, -2);
    lua_pushliteral(L, SHELL_REPR_MODULE);
    if (lua_pcall(L, 1, 1, 0) != LUA_OK || lua_type(L, -1) != LUA_TTABLE) {
      lua_pop(L, 1);
      return 0;
    }
  }
  lua_pushliteral(L, "repr");
  lua_rawget(L, -2);
  lua_remove(L, -2);
  if (lua_type(L, -1) == LUA_TFUNCTION) return 1;
  lua_pop(L, 1);
  return 0;
}

int shell_tostring(lua_State *L) {
  /* A table without __tostring is shown by its contents (lunette.repr, which never raises and
   * runs no metamethod but __tostring); anything else as print shows it, so a top-level tensor
   * keeps its full print and a string stays unquoted. luaL_getmetafield is a raw read. */
  if (lua_type(L, 1) == LUA_TTABLE && luaL_getmetafield(L, 1, "__tostring") == LUA_TNIL &&
      push_repr(L)) {
    lua_pushvalue(L, 1);
    if (lua_pcall(L, 1, 1, 0) == LUA_OK && lua_type(L, -1) == LUA_TSTRING) return 1;
    lua_pop(L, 1); /* a bug in repr: fall back to the address rather than hide the value */
  }
  lua_settop(L, 1);
  luaL_tolstring(L, 1, NULL);
  return 1;
}
