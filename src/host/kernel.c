/* kernel.c - `lunette --kernel CONNECTION_FILE`: Jupyter requests served with the Lua state
 * (execute, complete, inspect, is_complete, history, kernel_info) and display data built from
 * values. The protocol and sockets are src/kernel/; cJSON is called through the lazy loader
 * (src/lazy.h). */
#include <fnmatch.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>
#include <lua.h>
#include <lauxlib.h>
#include "lunette.h"
#include "interrupt.h"
#include "kernel/kernel_net.h"
#include "host/host.h"
#include "host/shell.h"

#define CELL_TAIL_LINES 200 /* lines searched from the end for a trailing expression */
#define JSON_DEPTH      8   /* nesting kept when metadata tables become JSON */

typedef struct {
  Kernel *k;
  int count;            /* the execution count of the last stored cell */
  const KernelMsg *req; /* the request being served (parent of display data) */
  char **history;       /* stored cells' code, history[i] ran as count i + 1 */
  int aborting;         /* a cell failed: queued execute requests are answered "aborted" */
  int allow_stdin;      /* the running cell's frontend can answer input requests */
  int nhistory, caphistory;
} KernelHost;

/* SIGINT between cells: nothing runs, so there is nothing to interrupt; a handler rather than
 * SIG_IGN so that programs started by os.execute get the default back. */
static void idle_sigint(int sig) { (void)sig; }

/* ---- values to JSON ------------------------------------------------------- */

static cJSON *lua_to_json(lua_State *L, int idx, int depth);

/* A Lua table as a JSON object (string keys) or array (1..n), up to JSON_DEPTH deep. */
static cJSON *table_to_json(lua_State *L, int idx, int depth) {
  int array = lua_rawlen(L, idx) > 0;
  cJSON *j = array ? cJSON_CreateArray() : cJSON_CreateObject();
  if (j == NULL || depth >= JSON_DEPTH) return j;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    cJSON *v = lua_to_json(L, lua_gettop(L), depth + 1);
    if (array && lua_type(L, -2) == LUA_TNUMBER)
      cJSON_AddItemToArray(j, v);
    else if (!array && lua_type(L, -2) == LUA_TSTRING)
      cJSON_AddItemToObject(j, lua_tostring(L, -2), v);
    else
      cJSON_Delete(v);
    lua_pop(L, 1);
  }
  return j;
}

/* Plain values (strings, numbers, booleans, tables of them) as JSON; null for the rest. */
static cJSON *lua_to_json(lua_State *L, int idx, int depth) {
  size_t len;
  const char *s;
  switch (lua_type(L, idx)) {
  case LUA_TBOOLEAN: return cJSON_CreateBool(lua_toboolean(L, idx));
  case LUA_TNUMBER: return cJSON_CreateNumber(lua_tonumber(L, idx));
  case LUA_TSTRING: s = lua_tolstring(L, idx, &len); return kernel_json_text(s, len);
  case LUA_TTABLE: return table_to_json(L, lua_absindex(L, idx), depth);
  default: return cJSON_CreateNull();
  }
}

/* The text the REPL shows for the value at idx (shell_tostring), or "(no text: ...)" when its
 * __tostring raises. Leaves the stack as it was; returns a cJSON string. */
static cJSON *value_text(lua_State *L, int idx) {
  size_t len;
  const char *s;
  cJSON *j;
  lua_pushcfunction(L, shell_tostring);
  lua_pushvalue(L, idx);
  if (lua_pcall(L, 1, 1, 0) != LUA_OK || lua_type(L, -1) != LUA_TSTRING) {
    lua_pop(L, 1);
    lua_pushfstring(L, "(a %s whose __tostring failed)", luaL_typename(L, idx));
  }
  s = lua_tolstring(L, -1, &len);
  j = kernel_json_text(s, len);
  lua_pop(L, 1);
  return j;
}

/* The display data of the value at idx from the results of display.bundle on top of L (data
 * table or nil, then metadata): image/png bytes sent base64, and text/plain the REPL's text
 * unless the bundle has one. *meta gets the metadata ({} if none). Leaves the stack as is. */
static cJSON *bundle_json(lua_State *L, int idx, cJSON **meta) {
  cJSON *data = cJSON_CreateObject();
  *meta = NULL;
  if (lua_istable(L, -2)) {
    lua_pushnil(L);
    while (lua_next(L, -3)) {
      size_t len;
      const char *mime = lua_tostring(L, -2);
      const char *bytes = lua_tolstring(L, -1, &len);
      if (mime && bytes)
        cJSON_AddItemToObject(data, mime,
                              strcmp(mime, "image/png") == 0 ? kernel_json_base64(bytes, len)
                                                             : kernel_json_text(bytes, len));
      lua_pop(L, 1);
    }
    if (lua_istable(L, -1)) *meta = table_to_json(L, lua_gettop(L), 0);
  }
  if (!cJSON_HasObjectItem(data, "text/plain"))
    cJSON_AddItemToObject(data, "text/plain", value_text(L, idx));
  if (*meta == NULL) *meta = cJSON_CreateObject();
  return data;
}

/* Lua: (value, opts) -> require("lunette.display").bundle(value, opts). */
static int call_bundle(lua_State *L) {
  lua_getglobal(L, "require");
  lua_pushliteral(L, "lunette.display");
  lua_call(L, 1, 1);
  lua_getfield(L, -1, "bundle");
  lua_pushvalue(L, 1);
  lua_pushvalue(L, 2);
  lua_call(L, 2, 2);
  return 2;
}

/* The display data of the value at idx for execute_result. A bundle that raises is logged,
 * and the value shown as text. */
static cJSON *value_bundle(KernelHost *h, lua_State *L, int idx, cJSON **meta) {
  int top = lua_gettop(L);
  cJSON *data;
  idx = lua_absindex(L, idx);
  lua_pushcfunction(L, call_bundle);
  lua_pushvalue(L, idx);
  lua_pushnil(L);
  if (lua_pcall(L, 2, 2, 0) != LUA_OK) {
    kernel_log(h->k, "display.bundle: %s", lua_tostring(L, -1));
    lua_pop(L, 1);
    lua_pushnil(L);
    lua_pushnil(L);
  }
  data = bundle_json(L, idx, meta);
  lua_settop(L, top);
  return data;
}

/* display.handler(value [, opts]): publishes value's display data as display_data; returns
 * nothing (a cell ending in show() then shows no `true`). Errors of display.bundle (a bad
 * option) are the caller's. */
static int display_handler(lua_State *L) {
  KernelHost *h = lua_touserdata(L, lua_upvalueindex(1));
  cJSON *meta, *content, *data;
  lua_settop(L, 2);
  lua_pushcfunction(L, call_bundle);
  lua_pushvalue(L, 1);
  lua_pushvalue(L, 2);
  lua_call(L, 2, 2);
  data = bundle_json(L, 1, &meta);
  content = cJSON_CreateObject();
  cJSON_AddItemToObject(content, "data", data);
  cJSON_AddItemToObject(content, "metadata", meta);
  cJSON_AddItemToObject(content, "transient", cJSON_CreateObject());
  kernel_publish(h->k, h->req, "display_data", NULL, content);
  cJSON_Delete(content);
  return 0;
}

/* io.read(...) in a cell: each format ("l", "L", "n", "a", or a count) is one line the
 * notebook asks the user for (input_request); nil when the frontend takes no input (nbclient),
 * as at the end of a file. Ctrl-C (the interrupt button) while waiting raises "interrupted!". */
static int kernel_io_read(lua_State *L) {
  KernelHost *h = lua_touserdata(L, lua_upvalueindex(1));
  int n;
  if (lua_gettop(L) == 0) lua_pushliteral(L, "l");
  n = lua_gettop(L);
  for (int i = 1; i <= n; i++) {
    const char *fmt = lua_type(L, i) == LUA_TSTRING ? lua_tostring(L, i) : "l";
    char *line = NULL;
    int st;
    if (!h->allow_stdin || h->req == NULL) return i == 1 ? (lua_pushnil(L), 1) : i - 1;
    st = kernel_input(h->k, h->req, "", 0, &line);
    if (st == KERNEL_EINTERRUPTED) {
      lt_interrupt_clear();
      return luaL_error(L, "interrupted!");
    }
    if (st != KERNEL_OK) return luaL_error(L, "io.read: no input from the notebook");
    if (*fmt == '*') fmt++;
    if (*fmt == 'n') {
      lua_pushstring(L, line);
      if (!lua_stringtonumber(L, line)) lua_pushnil(L);
      lua_remove(L, -2);
    } else if (lua_type(L, i) == LUA_TNUMBER) {
      size_t len = strlen(line), k = (size_t)luaL_checkinteger(L, i);
      lua_pushlstring(L, line, k < len ? k : len);
    } else {
      lua_pushfstring(L, "%s%s", line, *fmt == 'L' ? "\n" : "");
    }
    free(line);
    lua_replace(L, i); /* results take the places of their formats */
  }
  return n;
}

/* lunette.display.handler = display_handler, and display.kernel = true (progress bars draw in
 * place); failures are logged: the kernel still runs without rich output. */
static void install_display(KernelHost *h, lua_State *L) {
  int top = lua_gettop(L);
  lua_getglobal(L, "require");
  lua_pushliteral(L, "lunette.display");
  if (lua_pcall(L, 1, 1, 0) == LUA_OK && lua_istable(L, -1)) {
    lua_pushlightuserdata(L, h);
    lua_pushcclosure(L, display_handler, 1);
    lua_setfield(L, -2, "handler");
    lua_pushboolean(L, 1);
    lua_setfield(L, -2, "kernel");
    lua_getglobal(L, "io");
    if (lua_istable(L, -1)) {
      lua_pushlightuserdata(L, h);
      lua_pushcclosure(L, kernel_io_read, 1);
      lua_setfield(L, -2, "read");
    }
  } else {
    kernel_log(h->k, "no lunette.display: %s", lua_tostring(L, -1));
  }
  lua_settop(L, top);
}

/* ---- execute ------------------------------------------------------------- */

/* Length of code without trailing blank space and whole-line "--" comments (a trailing
 * comment must not become the returned expression). */
static size_t trim_tail(const char *code, size_t len) {
  for (;;) {
    size_t line;
    while (len > 0 && strchr(" \t\r\n", code[len - 1])) len--;
    line = len;
    while (line > 0 && code[line - 1] != '\n') line--;
    while (line < len && (code[line] == ' ' || code[line] == '\t')) line++;
    if (len - line < 2 || strncmp(code + line, "--", 2) != 0 || strncmp(code + line, "--[", 3) == 0)
      return len;
    len = line;
  }
}

/* Compiles code[0..p) .. "return (...)(" .. code[p..len) .. ")" as chunk `name` (to be called
 * with cell_values as its argument); pushes the function on success, nothing otherwise. The tail
 * alone must be an expression list, so that a statement is never turned into something else. */
static int load_with_return(lua_State *L, const char *code, size_t p, size_t len,
                            const char *name) {
  luaL_Buffer b;
  int ok;
  luaL_buffinit(L, &b);
  luaL_addstring(&b, "return ");
  luaL_addlstring(&b, code + p, len - p);
  luaL_pushresult(&b);
  ok = luaL_loadbuffer(L, lua_tostring(L, -1), lua_rawlen(L, -1), name) == LUA_OK;
  lua_pop(L, 2); /* the text and its function or load error */
  if (!ok) return 0;
  /* Not `return f(x)`: that tail call would drop the cell's frame from tracebacks and error
   * positions. The values go through the identity function the cell gets as `...`. */
  luaL_buffinit(L, &b);
  luaL_addlstring(&b, code, p);
  luaL_addstring(&b, "return (...)(");
  luaL_addlstring(&b, code + p, len - p);
  luaL_addstring(&b, "\n)");
  luaL_pushresult(&b);
  ok = luaL_loadbuffer(L, lua_tostring(L, -1), lua_rawlen(L, -1), name) == LUA_OK;
  if (ok)
    lua_remove(L, -2);
  else
    lua_pop(L, 2);
  return ok;
}

/* The `...` of a cell: returns its arguments (the values of the cell's last expressions). */
static int cell_values(lua_State *L) { return lua_gettop(L); }

/* Pushes the compiled cell (to be called with cell_values as its one argument): when its last
 * lines are an expression (list), one chunk that runs the rest and returns them, as the REPL
 * shows `1 + 1`; else the code as it is (its load error on failure). A trailing ';' keeps the
 * value from being shown, as in IPython. */
static int load_cell(lua_State *L, const char *code, size_t len, const char *name) {
  size_t end = trim_tail(code, len);
  int lines = 0;
  if (end > 0 && code[end - 1] != ';') {
    for (size_t p = end; lines < CELL_TAIL_LINES; lines++) {
      while (p > 0 && code[p - 1] != '\n') p--;
      if (load_with_return(L, code, p, end, name)) return LUA_OK;
      if (p == 0) break;
      p--;
    }
  }
  return luaL_loadbuffer(L, code, len, name);
}

/* Publishes the error on top of L as an "error" message and fills the reply's fields. */
static void report_error(KernelHost *h, lua_State *L, cJSON *reply) {
  const char *msg = lua_tostring(L, -1);
  const char *cut;
  cJSON *tb = cJSON_CreateArray(), *content = cJSON_CreateObject();
  int interrupted;
  if (msg == NULL) msg = "(error object is not a string)";
  interrupted = strstr(msg, "interrupted!") != NULL;
  cut = strstr(msg, "\nstack traceback:");
  cJSON_AddStringToObject(content, "ename", interrupted ? "Interrupted" : "LuaError");
  cJSON_AddItemToObject(content, "evalue",
                        kernel_json_text(msg, cut ? (size_t)(cut - msg) : strlen(msg)));
  for (const char *p = msg; *p;) {
    const char *nl = strchr(p, '\n');
    size_t n = nl ? (size_t)(nl - p) : strlen(p);
    cJSON_AddItemToArray(tb, kernel_json_text(p, n));
    p += n + (nl != NULL);
  }
  cJSON_AddItemToObject(content, "traceback", tb);
  kernel_publish(h->k, h->req, "error", NULL, content);
  cJSON_AddStringToObject(reply, "status", "error");
  for (cJSON *c = content->child; c; c = c->next)
    cJSON_AddItemToObject(reply, c->string, cJSON_Duplicate(c, 1));
  cJSON_Delete(content);
  lua_pop(L, 1);
}

/* Publishes execute_result for the n values on top of L (one: its display data; several:
 * their texts, tab-separated, as the REPL prints them). */
static void publish_result(KernelHost *h, lua_State *L, int n) {
  cJSON *content = cJSON_CreateObject(), *data, *meta = NULL;
  if (n == 1) {
    data = value_bundle(h, L, -1, &meta);
  } else {
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    for (int i = n; i >= 1; i--) {
      lua_pushcfunction(L, shell_tostring);
      lua_pushvalue(L, -i - 2); /* below the buffer's slot and the function */
      if (lua_pcall(L, 1, 1, 0) != LUA_OK) lua_pushliteral(L, "?");
      luaL_addvalue(&b);
      if (i > 1) luaL_addchar(&b, '\t');
    }
    luaL_pushresult(&b);
    data = cJSON_CreateObject();
    cJSON_AddItemToObject(data, "text/plain",
                          kernel_json_text(lua_tostring(L, -1), lua_rawlen(L, -1)));
    lua_pop(L, 1);
    meta = cJSON_CreateObject();
  }
  cJSON_AddNumberToObject(content, "execution_count", h->count);
  cJSON_AddItemToObject(content, "data", data);
  cJSON_AddItemToObject(content, "metadata", meta);
  kernel_publish(h->k, h->req, "execute_result", NULL, content);
  cJSON_Delete(content);
}

static void store_history(KernelHost *h, const char *code) {
  if (h->nhistory == h->caphistory) {
    int cap = h->caphistory ? 2 * h->caphistory : 64;
    char **p = realloc(h->history, (size_t)cap * sizeof *p);
    if (p == NULL) return;
    h->history = p;
    h->caphistory = cap;
  }
  h->history[h->nhistory] = strdup(code);
  if (h->history[h->nhistory]) h->nhistory++;
}

static void handle_execute(KernelHost *h, lua_State *L, const cJSON *content) {
  const cJSON *code = cJSON_GetObjectItemCaseSensitive(content, "code");
  const char *src = cJSON_IsString(code) ? code->valuestring : "";
  int silent = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(content, "silent"));
  const cJSON *sh = cJSON_GetObjectItemCaseSensitive(content, "store_history");
  int store = !silent && (sh == NULL || cJSON_IsTrue(sh));
  const cJSON *stdin_ok = cJSON_GetObjectItemCaseSensitive(content, "allow_stdin");
  cJSON *reply = cJSON_CreateObject(), *input = cJSON_CreateObject();
  char name[64];
  int base = lua_gettop(L), status;
  if (store) {
    h->count++;
    store_history(h, src);
  }
  cJSON_AddStringToObject(input, "code", src);
  cJSON_AddNumberToObject(input, "execution_count", h->count);
  if (!silent) kernel_publish(h->k, h->req, "execute_input", NULL, input);
  cJSON_Delete(input);
  snprintf(name, sizeof name, "=cell[%d]", h->count);
  h->allow_stdin = stdin_ok == NULL || cJSON_IsTrue(stdin_ok);
  status = load_cell(L, src, strlen(src), name);
  if (status == LUA_OK) {
    lua_pushcfunction(L, cell_values);
    status = host_docall(L, 1, LUA_MULTRET);
  }
  host_set_sigint(idle_sigint);
  kernel_flush(h->k);
  if (status != LUA_OK) {
    const cJSON *stop = cJSON_GetObjectItemCaseSensitive(content, "stop_on_error");
    report_error(h, L, reply);
    h->aborting = stop == NULL || cJSON_IsTrue(stop);
  } else {
    if (!silent && lua_gettop(L) > base) publish_result(h, L, lua_gettop(L) - base);
    cJSON_AddStringToObject(reply, "status", "ok");
    cJSON_AddItemToObject(reply, "user_expressions", cJSON_CreateObject());
    cJSON_AddItemToObject(reply, "payload", cJSON_CreateArray());
  }
  lua_settop(L, base);
  cJSON_AddNumberToObject(reply, "execution_count", h->count);
  kernel_reply(h->k, h->req, "execute_reply", reply);
  cJSON_Delete(reply);
}

/* ---- complete, inspect, is_complete --------------------------------------- */

static int is_word_char(char c) {
  return c == '_' || c == '.' || c == ':' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9');
}

/* The byte offset of code point `pos` in s (Jupyter counts cursor positions in code points),
 * clamped to the string. */
static size_t byte_offset(const char *s, long pos) {
  size_t i = 0;
  for (long cp = 0; s[i] && cp < pos; cp++) {
    i++;
    while ((s[i] & 0xC0) == 0x80) i++;
  }
  return i;
}

static long code_points(const char *s, size_t n) {
  long cp = 0;
  for (size_t i = 0; i < n; i++) cp += (s[i] & 0xC0) != 0x80;
  return cp;
}

/* The code and the cursor's byte offset of a complete or inspect request. */
static const char *request_code(const cJSON *content, size_t *cursor) {
  const cJSON *code = cJSON_GetObjectItemCaseSensitive(content, "code");
  const cJSON *pos = cJSON_GetObjectItemCaseSensitive(content, "cursor_pos");
  const char *s = cJSON_IsString(code) ? code->valuestring : "";
  *cursor = cJSON_IsNumber(pos) ? byte_offset(s, (long)pos->valuedouble) : strlen(s);
  return s;
}

static int compare_strings(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Adds the sorted keys of the match set on top of L to the array `matches`; pops the set. */
static void add_matches(lua_State *L, cJSON *matches) {
  size_t n = 0, cap = 0;
  const char **words = NULL;
  lua_pushnil(L);
  while (lua_next(L, -2)) {
    lua_pop(L, 1);
    if (n == cap) {
      const char **w = realloc(words, (cap = cap ? 2 * cap : 64) * sizeof *w);
      if (w == NULL) break;
      words = w;
    }
    words[n++] = lua_tostring(L, -1); /* the keys stay alive in the set */
  }
  if (n) qsort(words, n, sizeof *words, compare_strings);
  for (size_t i = 0; i < n; i++) cJSON_AddItemToArray(matches, cJSON_CreateString(words[i]));
  free(words);
  lua_pop(L, 1);
}

/* Lua: (word) -> loads the lunette modules a completion of `word` looks into: completion
 * itself runs no metamethod, so lazily loaded modules (lt.embed before first use) would offer
 * nothing. "lt.em" loads them all (help's list), "lt.embed.ts" just lunette.embed. */
static const char PRELOAD_LUA[] =
    "local word = ...\n"
    "local root, rest = word:match('^([%a_][%w_]*)%.(.*)$')\n"
    "local lib = root and rawget(_G, root)\n"
    "if lib == nil or lib ~= package.loaded.lunette then return end\n"
    "local name = rest:match('^([%w_]+)[.:]')\n"
    "if name then local _ = lib[name] return end\n"
    "for _, m in ipairs(require('lunette.doc').MODULES) do local _ = lib[m] end\n";

static void handle_complete(KernelHost *h, lua_State *L, const cJSON *content) {
  size_t cursor, start;
  const char *code = request_code(content, &cursor);
  cJSON *reply = cJSON_CreateObject(), *matches = cJSON_CreateArray();
  char *word;
  start = cursor;
  while (start > 0 && is_word_char(code[start - 1])) start--;
  word = strndup(code + start, cursor - start);
  if (word && luaL_loadbuffer(L, PRELOAD_LUA, sizeof PRELOAD_LUA - 1, "=complete") == LUA_OK) {
    lua_pushstring(L, word);
    if (lua_pcall(L, 1, 0, 0) != LUA_OK) lua_pop(L, 1);
  } else if (word) {
    lua_pop(L, 1);
  }
  lua_pushcfunction(L, shell_collect_matches);
  lua_pushlightuserdata(L, word);
  if (word && lua_pcall(L, 1, 1, 0) == LUA_OK)
    add_matches(L, matches);
  else
    lua_pop(L, word ? 1 : 2);
  free(word);
  cJSON_AddStringToObject(reply, "status", "ok");
  cJSON_AddItemToObject(reply, "matches", matches);
  cJSON_AddNumberToObject(reply, "cursor_start", (double)code_points(code, start));
  cJSON_AddNumberToObject(reply, "cursor_end", (double)code_points(code, cursor));
  cJSON_AddItemToObject(reply, "metadata", cJSON_CreateObject());
  kernel_reply(h->k, h->req, "complete_reply", reply);
  cJSON_Delete(reply);
}

/* Lua: (name) -> the help() text of the value `name` names (a dotted path, ':' read as '.'),
 * or nil when it names nothing. Indexing may run __index, as typing the name would. */
static const char INSPECT_LUA[] =
    "local name = ...\n"
    "local v = _G\n"
    "for part in name:gsub(':', '.'):gmatch('[^.]+') do\n"
    "  if type(v) ~= 'table' and type(v) ~= 'userdata' then return nil end\n"
    "  v = v[part]\n"
    "end\n"
    "if v == nil then return nil end\n"
    "return require('lunette.doc').text(v)\n";

static void handle_inspect(KernelHost *h, lua_State *L, const cJSON *content) {
  size_t cursor, start, end;
  const char *code = request_code(content, &cursor);
  cJSON *reply = cJSON_CreateObject(), *data = cJSON_CreateObject();
  int found = 0;
  start = end = cursor;
  while (start > 0 && is_word_char(code[start - 1])) start--;
  while (code[end] && is_word_char(code[end])) end++;
  while (end > start && (code[end - 1] == '.' || code[end - 1] == ':')) end--;
  if (end > start && luaL_loadbuffer(L, INSPECT_LUA, sizeof INSPECT_LUA - 1, "=inspect") == 0) {
    lua_pushlstring(L, code + start, end - start);
    if (lua_pcall(L, 1, 1, 0) == LUA_OK && lua_type(L, -1) == LUA_TSTRING) {
      found = 1;
      cJSON_AddItemToObject(data, "text/plain",
                            kernel_json_text(lua_tostring(L, -1), lua_rawlen(L, -1)));
    }
    lua_pop(L, 1);
  }
  cJSON_AddStringToObject(reply, "status", "ok");
  cJSON_AddBoolToObject(reply, "found", found);
  cJSON_AddItemToObject(reply, "data", data);
  cJSON_AddItemToObject(reply, "metadata", cJSON_CreateObject());
  kernel_reply(h->k, h->req, "inspect_reply", reply);
  cJSON_Delete(reply);
}

/* "complete", "incomplete" (the REPL would read another line) or "invalid". */
static const char *completeness(lua_State *L, const char *code) {
  const char *verdict;
  int status;
  lua_pushfstring(L, "return %s", code);
  status = luaL_loadbuffer(L, lua_tostring(L, -1), lua_rawlen(L, -1), "=cell");
  lua_pop(L, 2);
  if (status == LUA_OK) return "complete";
  status = luaL_loadbuffer(L, code, strlen(code), "=cell");
  verdict = status == LUA_OK                 ? "complete"
            : shell_is_incomplete(L, status) ? "incomplete"
                                             : "invalid";
  lua_pop(L, 1);
  return verdict;
}

static void handle_is_complete(KernelHost *h, lua_State *L, const cJSON *content) {
  const cJSON *code = cJSON_GetObjectItemCaseSensitive(content, "code");
  const char *verdict = completeness(L, cJSON_IsString(code) ? code->valuestring : "");
  cJSON *reply = cJSON_CreateObject();
  cJSON_AddStringToObject(reply, "status", verdict);
  if (strcmp(verdict, "incomplete") == 0) cJSON_AddStringToObject(reply, "indent", "");
  kernel_reply(h->k, h->req, "is_complete_reply", reply);
  cJSON_Delete(reply);
}

/* ---- history, kernel_info ------------------------------------------------ */

/* Whether stored cell i (0-based) is in the range or matches the search's glob pattern. */
static int history_match(const KernelHost *h, const cJSON *c, const char *type, int i) {
  const cJSON *start = cJSON_GetObjectItemCaseSensitive(c, "start");
  const cJSON *stop = cJSON_GetObjectItemCaseSensitive(c, "stop");
  const char *pattern = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "pattern"));
  if (strcmp(type, "range") == 0)
    return (!cJSON_IsNumber(start) || i + 1 >= start->valueint) &&
           (!cJSON_IsNumber(stop) || i + 1 < stop->valueint);
  if (strcmp(type, "search") == 0) return pattern && fnmatch(pattern, h->history[i], 0) == 0;
  return 1;
}

/* Whether an equal cell comes later (unique searches keep the last of equal cells). */
static int history_repeated(const KernelHost *h, int i) {
  for (int j = i + 1; j < h->nhistory; j++)
    if (strcmp(h->history[i], h->history[j]) == 0) return 1;
  return 0;
}

static cJSON *history_item(const KernelHost *h, int i, int output) {
  cJSON *item = cJSON_CreateArray();
  cJSON_AddItemToArray(item, cJSON_CreateNumber(0));
  cJSON_AddItemToArray(item, cJSON_CreateNumber(i + 1));
  if (output) { /* outputs are not kept: (input, null) */
    cJSON *pair = cJSON_CreateArray();
    cJSON_AddItemToArray(pair, cJSON_CreateString(h->history[i]));
    cJSON_AddItemToArray(pair, cJSON_CreateNull());
    cJSON_AddItemToArray(item, pair);
  } else {
    cJSON_AddItemToArray(item, cJSON_CreateString(h->history[i]));
  }
  return item;
}

/* The cells stored in this session, as [session 0, line, code]: the last n (tail), a range of
 * lines, or the last n that match a glob pattern (search, `unique` dropping repeats). */
static void handle_history(KernelHost *h, const cJSON *content) {
  cJSON *reply = cJSON_CreateObject(), *list = cJSON_CreateArray();
  const char *type =
      cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(content, "hist_access_type"));
  const cJSON *n = cJSON_GetObjectItemCaseSensitive(content, "n");
  int unique = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(content, "unique"));
  int output = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(content, "output"));
  int want = cJSON_IsNumber(n) && n->valueint >= 0 ? n->valueint : h->nhistory;
  int first = h->nhistory, count = 0;
  if (type == NULL) type = "tail";
  if (strcmp(type, "range") == 0) want = h->nhistory;
  /* Walk back to find the first of the last `want` cells that qualify, then list forward. */
  while (first > 0 && count < want) {
    first--;
    if (history_match(h, content, type, first) && !(unique && history_repeated(h, first))) count++;
  }
  for (int i = first; i < h->nhistory; i++)
    if (history_match(h, content, type, i) && !(unique && history_repeated(h, i)))
      cJSON_AddItemToArray(list, history_item(h, i, output));
  cJSON_AddStringToObject(reply, "status", "ok");
  cJSON_AddItemToObject(reply, "history", list);
  kernel_reply(h->k, h->req, "history_reply", reply);
  cJSON_Delete(reply);
}

/* The kernel_info_reply content: lunette, Lua 5.4, protocol 5.3. */
static cJSON *kernel_info(void) {
  cJSON *reply = cJSON_CreateObject(), *lang = cJSON_CreateObject();
  cJSON_AddStringToObject(lang, "name", "lua");
  cJSON_AddStringToObject(lang, "version", LUA_VERSION_MAJOR "." LUA_VERSION_MINOR);
  cJSON_AddStringToObject(lang, "mimetype", "text/x-lua");
  cJSON_AddStringToObject(lang, "file_extension", ".lua");
  cJSON_AddStringToObject(lang, "pygments_lexer", "lua");
  cJSON_AddStringToObject(lang, "codemirror_mode", "lua");
  cJSON_AddStringToObject(reply, "status", "ok");
  cJSON_AddStringToObject(reply, "protocol_version", KERNEL_PROTOCOL_VERSION);
  cJSON_AddStringToObject(reply, "implementation", "lunette");
  cJSON_AddStringToObject(reply, "implementation_version",
                          LUNETTE_VERSION + 8); /* past "lunette " */
  cJSON_AddItemToObject(reply, "language_info", lang);
  cJSON_AddStringToObject(reply, "banner",
                          LUNETTE_VERSION " (" LUA_RELEASE "): help() lists "
                                          "the modules");
  cJSON_AddItemToObject(reply, "help_links", cJSON_CreateArray());
  return reply;
}

static void handle_kernel_info(KernelHost *h) {
  cJSON *reply = kernel_info();
  kernel_reply(h->k, h->req, "kernel_info_reply", reply);
  cJSON_Delete(reply);
}

/* ---- the loop ------------------------------------------------------------- */

/* After a failed cell with stop_on_error (the default), the execute requests already queued (a
 * notebook's "Run all") are answered "aborted" instead of run on a broken state. */
static void abort_execute(KernelHost *h, const KernelMsg *req) {
  cJSON *reply = cJSON_CreateObject(), *state = cJSON_CreateObject();
  cJSON_AddStringToObject(state, "execution_state", "busy");
  kernel_publish(h->k, req, "status", NULL, state);
  cJSON_AddStringToObject(reply, "status", "aborted");
  cJSON_AddNumberToObject(reply, "execution_count", h->count);
  kernel_reply(h->k, req, "execute_reply", reply);
  cJSON_ReplaceItemInObject(state, "execution_state", cJSON_CreateString("idle"));
  kernel_publish(h->k, req, "status", NULL, state);
  cJSON_Delete(state);
  cJSON_Delete(reply);
}

/* Serves one request between busy and idle status messages. */
static void dispatch(KernelHost *h, lua_State *L, const KernelMsg *req) {
  const char *t = req->msg_type;
  cJSON *state = cJSON_CreateObject();
  h->req = req;
  cJSON_AddStringToObject(state, "execution_state", "busy");
  kernel_publish(h->k, req, "status", NULL, state);
  kernel_set_parent(h->k, req);
  if (strcmp(t, "execute_request") == 0)
    handle_execute(h, L, req->content);
  else if (strcmp(t, "kernel_info_request") == 0)
    handle_kernel_info(h);
  else if (strcmp(t, "complete_request") == 0)
    handle_complete(h, L, req->content);
  else if (strcmp(t, "inspect_request") == 0)
    handle_inspect(h, L, req->content);
  else if (strcmp(t, "is_complete_request") == 0)
    handle_is_complete(h, L, req->content);
  else if (strcmp(t, "history_request") == 0)
    handle_history(h, req->content);
  else if (strcmp(t, "comm_info_request") == 0) {
    cJSON *reply = cJSON_CreateObject();
    cJSON_AddStringToObject(reply, "status", "ok");
    cJSON_AddItemToObject(reply, "comms", cJSON_CreateObject());
    kernel_reply(h->k, req, "comm_info_reply", reply);
    cJSON_Delete(reply);
  } else if (strcmp(t, "shutdown_request") == 0) {
    cJSON *reply = cJSON_Duplicate(req->content, 1);
    if (reply) cJSON_AddStringToObject(reply, "status", "ok");
    kernel_reply(h->k, req, "shutdown_reply", reply);
    kernel_exit(h->k, 0);
  } else {
    kernel_log(h->k, "dropped a request of unknown type %s", t);
  }
  cJSON_ReplaceItemInObject(state, "execution_state", cJSON_CreateString("idle"));
  kernel_publish(h->k, req, "status", NULL, state);
  cJSON_Delete(state);
  h->req = NULL;
}

int host_kernel_run(lua_State *L, const char *connection_file) {
  KernelHost h = {0};
  char err[512] = "";
  KernelMsg req;
  if (kernel_open(connection_file, &h.k, err, sizeof err) != KERNEL_OK) {
    fprintf(stderr, "%s: --kernel: %s\n", HOST_NAME, err);
    return 0;
  }
  host_set_sigint(idle_sigint);
  {
    cJSON *info = kernel_info();
    kernel_set_info(h.k, info);
    cJSON_Delete(info);
  }
  install_display(&h, L);
  kernel_log(h.k, "serving %s", connection_file);
  {
    cJSON *state = cJSON_CreateObject();
    cJSON_AddStringToObject(state, "execution_state", "starting");
    kernel_publish(h.k, NULL, "status", NULL, state);
    cJSON_Delete(state);
  }
  while (kernel_recv(h.k, &req) == KERNEL_OK) {
    if (h.aborting && strcmp(req.msg_type, "execute_request") == 0)
      abort_execute(&h, &req);
    else
      dispatch(&h, L, &req);
    kernel_msg_free(&req);
    /* Aborting lasts while requests sent before the failure are still queued. */
    if (!kernel_pending(h.k)) h.aborting = 0;
  }
  kernel_log(h.k, "the shell socket failed; exiting");
  kernel_exit(h.k, 1);
}
