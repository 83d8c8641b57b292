/* host.h - the protected-call base (host.c) that the executable (main.c) and the interactive
 * loop (repl.c) share, and the loop itself. */
#ifndef LUNETTE_HOST_H
#define LUNETTE_HOST_H

#define HOST_NAME "lunette"

struct lua_State; /* as in lua.h; declared here so this header needs no Lua include
                     (scripts/lint.lua) */

/* Calls the function sitting below its `narg` arguments on L's stack, like
 * lua_pcall(L, narg, nres, h), where h is a message handler that appends a
 * traceback (non-string errors are rendered by their __tostring). Any
 * pending interrupt is cleared first. While the call runs, SIGINT requests
 * an interrupt (lt_interrupt_request) and makes the running Lua code raise
 * "interrupted!"; a second SIGINT kills the process as by default. SIGTERM
 * does the same, except that the process then dies of SIGTERM (exit status
 * 143 in a shell) at the next Lua event instead of raising an error: writes
 * in progress roll back first (atomic.h). Both signals are back to their
 * default disposition on return. Returns the lua_pcall status; on error the
 * message is on top of the stack instead of results. */
int host_docall(struct lua_State *L, int narg, int nres);

/* When status is not LUA_OK, writes the error message on top of L to
 * stderr (after "lunette: " when `prefixed`), flushing stdout first so the
 * two streams stay in order, and pops it; first ends the line of a progress
 * bar the error left unfinished (interrupt.h's LT_OPEN_LINE_KEY), so the
 * message starts a line. Returns status unchanged. */
int host_report(struct lua_State *L, int status, int prefixed);

/* Installs `handler` (a function, SIG_DFL or SIG_IGN) for SIGINT without
 * SA_RESTART, so a blocked read() returns EINTR when the signal arrives. */
void host_set_sigint(void (*handler)(int));

/* `lunette --kernel CONNECTION_FILE`: serves Jupyter requests (src/host/kernel.c) with L
 * (whose libraries are open) until a shutdown request or a failed socket ends the process.
 * Returns 0 only when the kernel cannot start (the reason is on stderr). */
int host_kernel_run(struct lua_State *L, const char *connection_file);

/* Runs the read-eval-print loop on stdin until end of input, leaving L's
 * stack as it found it. On a terminal it uses GNU readline (editing,
 * history in $LUNETTE_HISTORY or ~/.lunette_history, tab completion,
 * Ctrl-C clears the line); otherwise it reads plain lines and still prints
 * prompts. Errors in the user's code are reported and the loop goes on;
 * Lua errors raised by the loop itself (out of memory) propagate. */
void repl_run(struct lua_State *L);

/* `lunette --install-kernel [--user | --prefix P]`: argv[0..argc) are the words after
 * --install-kernel. Writes the Jupyter kernelspec for this executable (its absolute path, from
 * /proc/self/exe) through lunette.kernelspec.install and prints where; L has the libraries
 * open. Returns 1 on success, else 0 after reporting the error on stderr. */
int host_install_kernel(struct lua_State *L, int argc, char **argv);

#endif
