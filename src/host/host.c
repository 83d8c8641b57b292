/* host.c - protected calls for the lunette executable and its REPL: tracebacks, error reports,
 * Ctrl-C turned into a Lua error and SIGTERM into a clean exit. main.c and repl.c build on it. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <lua.h>
#include <lauxlib.h>
#include "interrupt.h"
#include "io/atomic.h"
#include "dist/dist.h"
#include "host/host.h"

/* The state running Lua code right now, for the SIGINT handler: a signal
 * handler can reach nothing but globals. Written only by host_docall. */
static lua_State *running_state = NULL;
/* Set by the SIGTERM handler: the process exits at the next Lua event. */
static volatile sig_atomic_t terminate_requested = 0;

/* Installs handler with sa_flags 0: no SA_RESTART, so a blocking read() returns EINTR and the
 * signal is noticed at once. */
static void set_signal(int sig, void (*handler)(int)) {
  struct sigaction sa;
  sa.sa_handler = handler;
  sa.sa_flags = 0;
  sigemptyset(&sa.sa_mask);
  sigaction(sig, &sa, NULL);
}

void host_set_sigint(void (*handler)(int)) { set_signal(SIGINT, handler); }

/* Dies of SIGTERM, as the default action would have, once no write is half
 * done: temporaries still registered are removed first. */
static void terminate_now(void) {
  /* The registry of temporaries is swept first so that no half-written file survives; raise()
   * then ends the process with the signal's own status, and _exit is only a fallback in case the
   * signal is blocked. */
  lt_atomic_sweep();
  fflush(NULL);
  set_signal(SIGTERM, SIG_DFL);
  raise(SIGTERM);
  _exit(128 + SIGTERM);
}

/* Debug hook installed by the signal handlers: the first Lua event after
 * SIGTERM ends the process; after Ctrl-C it raises the error, unless a
 * core kernel saw the interrupt flag first and its binding already raised
 * "interrupted!" (flag cleared). A writer in C has polled the flag and
 * rolled back by then, unless it called back into Lua: terminate_now
 * removes that one's temporary. */
static void stop_hook(lua_State *L, lua_Debug *ar) {
  /* The hook fires once: remove it before anything else so that error handling runs without it. */
  lua_sethook(L, NULL, 0, 0);
  if (terminate_requested) terminate_now();
  if (!lt_interrupt_pending()) return;
  lt_interrupt_clear();
  luaL_error(L, "interrupted!");
}

static void on_sigint(int sig) {
  /* A signal handler may not call Lua, only set a hook: the hook runs at the next call, return,
   * line or instruction count (every instruction, count 1), in the Lua thread itself. */
  int mask = LUA_MASKCALL | LUA_MASKRET | LUA_MASKLINE | LUA_MASKCOUNT;
  host_set_sigint(SIG_DFL); /* a second Ctrl-C kills a process stuck in C */
  lt_interrupt_request();
  lua_sethook(running_state, stop_hook, mask, 1);
}

/* SIGTERM is Ctrl-C that cannot be caught by pcall: writers in progress
 * roll back at their next poll, temporaries are unlinked now (in case the
 * process is stuck in C until a second SIGTERM kills it by default), and
 * the next Lua event exits. */
static void on_sigterm(int sig) {
  int mask = LUA_MASKCALL | LUA_MASKRET | LUA_MASKLINE | LUA_MASKCOUNT;
  /* Restore the default at once: a second SIGTERM kills the process even if it is stuck in C. */
  set_signal(SIGTERM, SIG_DFL);
  lt_atomic_sweep();
  terminate_requested = 1;
  lt_interrupt_request();
  lua_sethook(running_state, stop_hook, mask, 1);
}

/* lua.c's message handler: a traceback for string errors, __tostring for other objects. */
static int msghandler(lua_State *L) {
  const char *msg = lua_tostring(L, 1);
  if (msg == NULL) {
    if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
      msg = lua_tostring(L, -1);
    else
      msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
  }
  luaL_traceback(L, L, msg, 1);
  return 1;
}

int host_docall(lua_State *L, int narg, int nres) {
  /* The message handler goes below the function and its arguments, as lua_pcall expects. */
  int base = lua_gettop(L) - narg;
  /* Saved and restored in case calls nest. */
  lua_State *saved = running_state;
  int status;
  lua_pushcfunction(L, msghandler);
  lua_insert(L, base);
  /* A stale interrupt from an earlier Ctrl-C must not stop this call. */
  lt_interrupt_clear();
  running_state = L;
  host_set_sigint(on_sigint);
  set_signal(SIGTERM, on_sigterm);
  status = lua_pcall(L, narg, nres, base);
  host_set_sigint(SIG_DFL);
  set_signal(SIGTERM, SIG_DFL);
  if (terminate_requested) /* SIGTERM came as the call returned */
    terminate_now();
  if (lua_gethook(L) == stop_hook) /* Ctrl-C came as the call returned */
    lua_sethook(L, NULL, 0, 0);
  running_state = saved;
  /* Drop the message handler, leaving the results (or the error) where the function was. */
  lua_remove(L, base);
  return status;
}

/* Ends the line a progress bar left unfinished on stderr (interrupt.h's LT_OPEN_LINE_KEY): an
 * error raised under a bar would otherwise be written after the bar's text, on its line. */
static void end_open_line(lua_State *L) {
  if (lua_getfield(L, LUA_REGISTRYINDEX, LT_OPEN_LINE_KEY) == LUA_TBOOLEAN &&
      lua_toboolean(L, -1)) {
    fputc('\n', stderr);
    lua_pushboolean(L, 0);
    lua_setfield(L, LUA_REGISTRYINDEX, LT_OPEN_LINE_KEY);
  }
  lua_pop(L, 1);
}

int host_report(lua_State *L, int status, int prefixed) {
  const char *msg;
  if (status == LUA_OK) return status;
  end_open_line(L);
  /* Error objects that are not strings were already rendered by msghandler; this is a last
   * resort for errors raised outside it. */
  msg = lua_tostring(L, -1);
  if (msg == NULL) msg = "(error object is not a string)";
  fflush(stdout);
  /* Under mpirun the ranks' stderr interleave: say whose error this is. */
  if (prefixed && lt_dist_active() && lt_dist_size() > 1)
    fprintf(stderr, "%s (rank %d of %d): %s\n", HOST_NAME, lt_dist_rank(), lt_dist_size(), msg);
  else
    fprintf(stderr, "%s%s%s\n", prefixed ? HOST_NAME : "", prefixed ? ": " : "", msg);
  fflush(stderr);
  lua_pop(L, 1);
  return status;
}
