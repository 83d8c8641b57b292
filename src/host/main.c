/* main.c - the lunette executable: options, the arg table, LUA_INIT, -e/-l/-i, scripts. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>
#include "lunette.h"
#include "interrupt.h"
#include "host/host.h"
#include "dist/dist.h"

enum {
  OPT_ERROR = 1,  /* unknown option or missing argument */
  OPT_I = 2,      /* -i: REPL after the script */
  OPT_V = 4,      /* -v (also implied by -i): print the version */
  OPT_E = 8,      /* at least one -e */
  OPT_NOENV = 16, /* -E: ignore LUA_INIT, LUA_PATH, LUA_CPATH */
  OPT_HELP = 32,  /* -h, --help */
  OPT_KERNEL = 64 /* --kernel FILE: a Jupyter kernel instead of a script or the REPL */
};

typedef struct {
  int flags;
  int script;      /* argv index of the script ("-" is stdin); argc when none */
  const char *bad; /* the offending option when OPT_ERROR */
  const char *connection_file; /* --kernel's argument */
} HostArgs;

static void print_version(void) {
  printf("%s (%s)\n", LUNETTE_VERSION, LUA_RELEASE);
  fflush(stdout);
}

/* The -h text (also printed after a usage error, to stderr); lua(1)'s options plus lunette's
 * globals. */
static void print_usage(FILE *out) {
  fputs("usage: " HOST_NAME " [options] [script [args]]\n"
        "       " HOST_NAME " --install-kernel [--user | --prefix P]   (Jupyter kernelspec)\n"
        "Available options are:\n"
        "  -e stat   execute string 'stat'\n"
        "  -i        enter interactive mode after executing 'script'\n"
        "  -l mod    require library 'mod' into global 'mod'\n"
        "  -l g=mod  require library 'mod' into global 'g'\n"
        "  -v        show version information\n"
        "  -E        ignore environment variables (LUA_INIT, LUA_PATH, LUA_CPATH)\n"
        "  -W        turn warnings on\n"
        "  -h        show this help\n"
        "  --kernel F  serve Jupyter (connection file F; started by Jupyter itself)\n"
        "  --        stop handling options\n"
        "  -         stop handling options and execute stdin\n"
        "The global 'lunette' (short alias 'lt') is the library; require \"lunette\"\n"
        "returns the same table. Without arguments: a REPL on a terminal, else stdin\n"
        "runs as a script. REPL history: ~/.lunette_history, or $LUNETTE_HISTORY.\n",
        out);
  fflush(out);
}
/* Runs the loaded chunk (or reports the load error in `status`). */
static int run_chunk(lua_State *L, int status) {
  if (status == LUA_OK) status = host_docall(L, 0, 0);
  return host_report(L, status, 1);
}

static int run_string(lua_State *L, const char *code, const char *name) {
  return run_chunk(L, luaL_loadbuffer(L, code, strlen(code), name));
}

/* -l mod (global mod = require "mod") or -l g=mod (global g). */
static int run_require(lua_State *L, const char *spec) {
  /* "g=mod": the global is the part before '=', the module the part after it. */
  const char *eq = strchr(spec, '=');
  const char *mod = eq ? eq + 1 : spec;
  int status;
  lua_getglobal(L, "require");
  lua_pushstring(L, mod);
  status = host_docall(L, 1, 1);
  if (status == LUA_OK) {
    lua_pushglobaltable(L);
    lua_pushlstring(L, spec, eq ? (size_t)(eq - spec) : strlen(spec));
    /* Stack: the module's value on top; set _G[global] = value, then pop _G and the value. */
    lua_pushvalue(L, -3);
    lua_rawset(L, -3);
    lua_pop(L, 2);
  }
  return host_report(L, status, 1);
}

/* LUA_INIT_5_4, else LUA_INIT: "@file" runs the file, anything else is code. */
static int run_init(lua_State *L) {
  /* The versioned variable wins, as in lua(1); the name starting with '=' doubles as the chunk
   * name of the code. */
  const char *name = "=LUA_INIT_5_4";
  const char *init = getenv(name + 1);
  if (init == NULL) {
    name = "=LUA_INIT";
    init = getenv(name + 1);
  }
  if (init == NULL) return LUA_OK;
  if (init[0] == '@') return run_chunk(L, luaL_loadfile(L, init + 1));
  return run_string(L, init, name);
}

/* Recognises one option at argv[*i] (advancing *i past its argument);
 * returns 0 when it is unknown or lacks its argument. */
static int parse_option(char **argv, int argc, int *i, HostArgs *a) {
  const char *o = argv[*i];
  if (strcmp(o, "-h") == 0 || strcmp(o, "--help") == 0) {
    a->flags |= OPT_HELP;
    return 1;
  }
  if (strcmp(o, "--kernel") == 0) {
    a->flags |= OPT_KERNEL;
    *i += 1;
    a->connection_file = *i < argc ? argv[*i] : NULL;
    return a->connection_file != NULL;
  }
  /* -e and -l take an argument, attached (-eCODE) or as the next word; a next word that starts
   * with '-' counts as missing, as lua(1) does. */
  if (o[1] == 'e' || o[1] == 'l') {
    a->flags |= o[1] == 'e' ? OPT_E : 0;
    if (o[2] != '\0') /* argument attached: -eCODE */
      return 1;
    *i += 1;
    return *i < argc && argv[*i][0] != '-';
  }
  if (o[2] != '\0') return 0;
  switch (o[1]) {
  case 'i': a->flags |= OPT_I | OPT_V; return 1;
  case 'v': a->flags |= OPT_V; return 1;
  case 'E': a->flags |= OPT_NOENV; return 1;
  case 'W': return 1;
  default: return 0;
  }
}

/* Options come before the script, as in lua(1): scanning stops at the
 * first non-option, at "-" (the script is stdin) or just after "--". */
static HostArgs parse_args(char **argv, int argc) {
  HostArgs a = {0, argc, NULL, NULL};
  for (int i = 1; i < argc; i++) {
    const char *o = argv[i];
    /* A word that is not an option (or is "-") is the script; everything after it is its
     * arguments. */
    if (o[0] != '-' || o[1] == '\0') {
      a.script = i;
      return a;
    }
    if (strcmp(o, "--") == 0) {
      a.script = i + 1;
      return a;
    }
    if (!parse_option(argv, argc, &i, &a)) {
      a.flags |= OPT_ERROR;
      a.bad = o;
      return a;
    }
  }
  return a;
}

/* Runs -e, -l and -W in command-line order; 0 when one fails. */
static int run_options(lua_State *L, char **argv, int script) {
  for (int i = 1; i < script; i++) {
    const char *o = argv[i];
    const char *val;
    /* Options were validated by parse_args; here only -e, -l and -W act, in order, so a -l can
     * set up what a later -e uses. */
    if (o[0] != '-' || (o[1] != 'e' && o[1] != 'l' && o[1] != 'W')) continue;
    if (o[1] == 'W') {
      lua_warning(L, "@on", 0);
      continue;
    }
    val = o[2] != '\0' ? o + 2 : argv[++i];
    if ((o[1] == 'e' ? run_string(L, val, "=(command line)") : run_require(L, val)) != LUA_OK)
      return 0;
  }
  return 1;
}

/* arg[0] is the script (the host itself when there is none), arg[1..]
 * its arguments, negative indices the host and its options. */
static void create_arg_table(lua_State *L, char **argv, int argc, int script) {
  int narr;
  /* Without a script, arg[0] is the host's own name (argv[0]), as lua(1) does. */
  if (script == argc) script = 0;
  narr = argc - script - 1;
  lua_createtable(L, narr > 0 ? narr : 0, script + 1);
  for (int i = 0; i < argc; i++) {
    lua_pushstring(L, argv[i]);
    lua_rawseti(L, -2, i - script);
  }
  lua_setglobal(L, "arg");
}

/* Loads the script (stdin for "-" not preceded by "--") and calls it
 * with its arguments as `...`. */
static int run_script(lua_State *L, char **argv, int argc, int script) {
  const char *fname = argv[script];
  int status;
  /* "-" is stdin (luaL_loadfile(NULL)) unless it came after "--", where it names a file. */
  if (strcmp(fname, "-") == 0 && strcmp(argv[script - 1], "--") != 0) fname = NULL;
  status = luaL_loadfile(L, fname);
  if (status == LUA_OK) {
    int n = argc - script - 1;
    /* The function, its n arguments and the message handler host_docall adds. */
    luaL_checkstack(L, n + 3, "too many arguments to script");
    for (int i = script + 1; i < argc; i++) lua_pushstring(L, argv[i]);
    status = host_docall(L, n, 0);
  }
  return host_report(L, status, 1);
}

/* Standard libraries, then lunette as package.loaded.lunette, global
 * `lunette`, its short alias `lt`, and `help` (lunette.help). */
static void open_libs(lua_State *L, int noenv) {
  /* The package library reads LUA_NOENV from the registry when it opens, so this must come
   * before luaL_openlibs. */
  if (noenv) { /* read by the package library as it opens */
    lua_pushboolean(L, 1);
    lua_setfield(L, LUA_REGISTRYINDEX, "LUA_NOENV");
  }
  luaL_openlibs(L);
  /* luaL_requiref leaves the module on the stack: its help field becomes a global, and the
   * module itself the global lt (the global lunette is set by requiref). */
  luaL_requiref(L, "lunette", luaopen_lunette, 1);
  lua_getfield(L, -1, "help");
  lua_setglobal(L, "help");
  lua_setglobal(L, "lt");
}

static int report_bad_usage(const HostArgs *a) {
  const char *o = a->bad;
  if (((o[1] == 'e' || o[1] == 'l') && o[2] == '\0') || strcmp(o, "--kernel") == 0)
    fprintf(stderr, "%s: '%s' needs argument\n", HOST_NAME, o);
  else
    fprintf(stderr, "%s: unrecognized option '%s'\n", HOST_NAME, o);
  print_usage(stderr);
  return 0;
}

/* Everything main does, in protected mode: returns one boolean, true on success. */
static int pmain(lua_State *L) {
  int argc = (int)lua_tointeger(L, 1);
  char **argv = lua_touserdata(L, 2);
  HostArgs a = parse_args(argv, argc);
  int ok = 1;
  /* luaL_checkversion catches a liblua whose version or number types differ from the headers'. */
  luaL_checkversion(L);
  if (argc >= 2 && strcmp(argv[1], "--install-kernel") == 0) { /* a command of its own */
    open_libs(L, 1);
    lua_pushboolean(L, host_install_kernel(L, argc - 2, argv + 2));
    return 1;
  }
  if (a.flags & OPT_ERROR)
    ok = report_bad_usage(&a);
  else if (a.flags & OPT_HELP)
    print_usage(stdout);
  if (a.flags & (OPT_ERROR | OPT_HELP)) {
    lua_pushboolean(L, ok);
    return 1;
  }
  if (a.flags & OPT_V) print_version();
  open_libs(L, a.flags & OPT_NOENV);
  create_arg_table(L, argv, argc, a.script);
  /* A failing LUA_INIT, -e, -l or script stops here with failure; its error is already reported. */
  if (!(a.flags & OPT_NOENV) && run_init(L) != LUA_OK) return 0;
  if (!run_options(L, argv, a.script)) return 0;
  if (a.flags & OPT_KERNEL) {
    lua_pushboolean(L, host_kernel_run(L, a.connection_file));
    return 1;
  }
  if (a.script < argc && run_script(L, argv, argc, a.script) != LUA_OK) return 0;
  if (a.flags & OPT_I) {
    repl_run(L);
  } else if (a.script == argc && !(a.flags & (OPT_E | OPT_V))) {
    /* No script: a bare lunette starts the REPL on a terminal and runs stdin as a script
     * otherwise, unless -e or -v already did something. */
    if (isatty(STDIN_FILENO)) {
      print_version();
      repl_run(L);
    } else if (run_chunk(L, luaL_loadfile(L, NULL)) != LUA_OK) {
      return 0;
    }
  }
  lua_pushboolean(L, 1);
  return 1;
}

int main(int argc, char **argv) {
  lua_State *L = luaL_newstate();
  int status, ok;
  if (L == NULL) {
    fprintf(stderr, "%s: cannot create state: not enough memory\n", HOST_NAME);
    return EXIT_FAILURE;
  }
  /* Everything runs in protected mode (pmain), so even a memory error while opening the
   * libraries is reported instead of aborting. */
  lua_pushcfunction(L, pmain);
  lua_pushinteger(L, argc);
  lua_pushlightuserdata(L, argv);
  status = lua_pcall(L, 2, 1, 0);
  ok = status == LUA_OK && lua_toboolean(L, -1);
  host_report(L, status, 1);
  /* A failed script under MPI ends the whole job now (its error is reported above): the other
   * ranks would otherwise wait forever in their next collective for this one. */
  if (!ok && lt_dist_active()) lt_dist_abort(EXIT_FAILURE);
  lua_close(L);
  return ok ? EXIT_SUCCESS : EXIT_FAILURE;
}
