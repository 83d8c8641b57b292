/* shell.h - what the interactive loop (repl.c) and the Jupyter kernel share: completion of Lua
 * names, the rule for unfinished chunks, and the text shown for a value. */
#ifndef LUNETTE_SHELL_H
#define LUNETTE_SHELL_H

struct lua_State; /* as in lua.h (scripts/lint.lua: host headers need no Lua include) */

/* A lua_CFunction, to be called in protected mode with one argument, the
 * word to complete as a light userdata pointing at a NUL-terminated string:
 * "pre" -> keywords and globals, "a.b.pre" -> fields of a.b, "a.b:pre" ->
 * methods of a.b. Returns one value, the set of completions (a table whose
 * keys are the whole completed words, values true). Reads raw: fields of
 * tables, of their metatables' __index tables, and of __methods (a plain
 * table of methods for types whose __index is a function). Runs no
 * metamethod. The one exception is the __lazy convention for fields loaded
 * on first use: a metatable's __lazy is a plain table whose keys are names
 * of fields the __index function provides; a string value is the name of
 * the module that field is (lunette's `lt.nn` is require "lunette.nn"),
 * any other value just lists the name. The names are offered, and a path
 * through a module field ("lt.nn.Lin") loads the module with the global
 * require, in protected mode, without storing it in the table. A second
 * convention, __fields, covers fields an __index function finds in the
 * value itself: a string naming a raw field of the value that holds a table
 * of further fields (lunette's modules: "_named", their children, so that
 * "model.fc2.we" completes). May raise only on memory errors. */
int shell_collect_matches(struct lua_State *L);

/* 1 when `status` (a lua_load result whose error message is on top of L)
 * says the chunk only ended too early, so another line should be read;
 * 0 otherwise. Does not pop the message. */
int shell_is_incomplete(struct lua_State *L, int status);

/* A lua_CFunction, to be called in protected mode with one argument:
 * returns the text the REPL prints for that value. A table without
 * __tostring is shown by its contents, as lunette.repr lays them out
 * (nested, keys sorted, arrays inline, tensors as their print head, cycles
 * marked, long or deep tables cut with a count; see lua/lunette/repr.lua);
 * anything else as print shows it (a tensor in full, a string unquoted).
 * May raise (a top-level __tostring may; one inside a table may not). */
int shell_tostring(struct lua_State *L);

#endif
