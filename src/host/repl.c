/* repl.c - the interactive loop: line input, incomplete chunks, printing values, history,
 * completion. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <readline/readline.h>
#include <readline/history.h>
#include <lua.h>
#include <lauxlib.h>
#include "interrupt.h"
#include "host/host.h"
#include "host/shell.h"

#define REPL_PROMPT         "> "
#define REPL_PROMPT2        ">> "
#define REPL_HISTORY_FILE   ".lunette_history"
#define REPL_HISTORY_MAX    1000    /* entries in memory, lines in the file */
#define REPL_CTRL_C         3 /* the key SIGINT becomes in repl_getc, bound to repl_abort_line */

enum { READ_OK, READ_EOF, READ_ABORT }; /* repl_read */
enum { LOAD_EOF = -1, LOAD_SKIP = -2 }; /* repl_load, besides lua_load statuses */

/* Readline's callbacks take no user pointer, so what they need lives here;
 * a process runs at most one REPL at a time. */
typedef struct {
  lua_State *L;  /* for completion */
  int tty;       /* stdin is a terminal: readline, history, completion */
  char *history; /* history file (malloc'd), NULL when there is none */
  int aborted;   /* Ctrl-C was typed while editing the current line */
} Repl;

static Repl repl;

/* ---- history ---------------------------------------------------------- */

/* Multi-line chunks are one history entry: with timestamps written, the
 * file marks where each entry starts, so reading it back rejoins lines.
 * A missing, unreadable or unwritable file only means no saved history. */
static void history_open(void) {
  const char *path = getenv("LUNETTE_HISTORY");
  const char *home = getenv("HOME");
  if (path == NULL || path[0] == '\0') {
    if (home == NULL || home[0] == '\0') return;
    /* The default history path: $HOME/.lunette_history; sizeof counts the '/' and the NUL. */
    repl.history = malloc(strlen(home) + sizeof("/" REPL_HISTORY_FILE));
    if (repl.history != NULL) sprintf(repl.history, "%s/%s", home, REPL_HISTORY_FILE);
  } else {
    repl.history = strdup(path);
  }
  /* '#' lines in the file are the timestamps that mark where each entry starts. */
  history_comment_char = '#';
  history_write_timestamps = 1;
  history_multiline_entries = 1;
  stifle_history(REPL_HISTORY_MAX);
  if (repl.history == NULL) return;
  /* read_history fails when the file does not exist yet; writing the empty history creates it,
   * so append_history can add to it afterwards. */
  if (read_history(repl.history) != 0)
    write_history(repl.history); /* create it, so entries can be appended */
  history_truncate_file(repl.history, REPL_HISTORY_MAX);
}

/* Adds one entry (a whole chunk) unless it repeats the previous one. */
static void history_remember(const char *entry) {
  HIST_ENTRY *last;
  if (!repl.tty || entry[0] == '\0') return;
  /* Consecutive duplicates are skipped, as in a shell. */
  last = history_length > 0 ? history_get(history_base + history_length - 1) : NULL;
  if (last != NULL && strcmp(last->line, entry) == 0) return;
  add_history(entry);
  /* Appending each entry as it is made keeps the history of sessions that end abruptly. */
  if (repl.history != NULL) append_history(1, repl.history);
}

static char *common_prefix(char **words, size_t n) {
  size_t len = strlen(words[0]);
  for (size_t i = 1; i < n; i++) {
    size_t j = 0;
    while (j < len && words[i][j] == words[0][j]) j++;
    len = j;
  }
  return strndup(words[0], len);
}

static char **free_words(char **words, size_t n) {
  for (size_t i = 0; i < n; i++) free(words[i]);
  free(words);
  return NULL;
}

/* Turns the set on top into readline's malloc'd match list: the text to
 * substitute, then the candidates, NULL-terminated; NULL when empty. */
static char **matches_from_set(lua_State *L) {
  size_t n = 0, i = 1;
  char **m;
  /* Count first to size the array: readline wants the substitution text first and a NULL at the
   * end, so n + 2 entries. */
  for (lua_pushnil(L); lua_next(L, -2); lua_pop(L, 1)) n++;
  if (n == 0 || (m = calloc(n + 2, sizeof *m)) == NULL) return NULL;
  for (lua_pushnil(L); lua_next(L, -2); lua_pop(L, 1)) m[i++] = strdup(lua_tostring(L, -2));
  for (i = 1; i <= n; i++)
    if (m[i] == NULL) /* strdup failed: offer nothing rather than crash */
      return free_words(m, n + 1);
  /* A single match is substituted whole; several are listed, and the text grows to their common
   * prefix. */
  if (n == 1) {
    m[0] = m[1];
    m[1] = NULL;
  } else {
    m[0] = common_prefix(m + 1, n);
  }
  return m;
}

/* Readline's attempted-completion hook: Lua names outside strings, file
 * names inside them. Runs no metamethod, so it has no side effects. */
static char **repl_complete(const char *text, int start, int end) {
  lua_State *L = repl.L;
  char **m = NULL;
  int top = lua_gettop(L);
  /* Nothing is appended after a completed name (readline adds a space by default). */
  rl_completion_append_character = '\0';
  /* Inside a string, let readline complete file names. */
  if (rl_completion_quote_character != 0) return NULL;
  rl_attempted_completion_over = 1;
  if (!lua_checkstack(L, 4)) return NULL;
  /* Collect in protected mode: a memory error must not unwind through readline's C frames. */
  lua_pushcfunction(L, shell_collect_matches);
  lua_pushlightuserdata(L, (void *)text);
  if (lua_pcall(L, 1, 1, 0) == LUA_OK) m = matches_from_set(L);
  lua_settop(L, top);
  return m;
}

/* ---- line input -------------------------------------------------------- */

/* SIGINT while editing: only record it; repl_getc turns it into a key. */
static void on_prompt_sigint(int sig) { lt_interrupt_request(); }

/* Reads keys for readline. SIGINT interrupts read() (no SA_RESTART) and
 * comes out as a Ctrl-C key, bound to repl_abort_line; one that lands
 * between the flag check and read() takes effect at the next key. */
static int repl_getc(FILE *in) {
  for (;;) {
    unsigned char c;
    ssize_t n;
    /* The flag set by on_prompt_sigint becomes a key, so readline processes Ctrl-C between keys
     * like any other binding. */
    if (lt_interrupt_pending()) {
      lt_interrupt_clear();
      return REPL_CTRL_C;
    }
    n = read(fileno(in), &c, 1);
    if (n == 1) return c;
    if (n == 0) return EOF;
    /* A read error while reading a command is readline's READERR; elsewhere it ends input. */
    if (errno != EINTR) return RL_ISSTATE(RL_STATE_READCMD) ? READERR : EOF;
    rl_check_signals(); /* e.g. a window resize */
  }
}

/* Ctrl-C while editing: drop the line (and any unfinished chunk). */
static int repl_abort_line(int count, int key) {
  repl.aborted = 1;
  /* Move to the end and echo ^C on its own line, as shells do, then hand readline an empty line. */
  rl_point = rl_end;
  rl_redisplay();
  fputs("^C", rl_outstream);
  rl_crlf();
  rl_replace_line("", 0);
  rl_done = 1;
  return 0;
}

/* Input that is not a terminal: a prompt, then one line with getline; no editing. */
static int read_plain(const char *prompt, char **line) {
  size_t cap = 0;
  ssize_t n;
  fputs(prompt, stdout);
  fflush(stdout);
  *line = NULL;
  n = getline(line, &cap, stdin);
  if (n < 0) {
    free(*line);
    *line = NULL;
    return READ_EOF;
  }
  /* The line keeps no newline, as readline's lines do. */
  if (n > 0 && (*line)[n - 1] == '\n') (*line)[n - 1] = '\0';
  return READ_OK;
}

static int read_edited(const char *prompt, char **line) {
  repl.aborted = 0;
  /* Any interrupt left from before the prompt must not abort this line. */
  lt_interrupt_clear();
  host_set_sigint(on_prompt_sigint);
  *line = readline(prompt);
  host_set_sigint(SIG_DFL);
  if (repl.aborted) {
    free(*line);
    *line = NULL;
    return READ_ABORT;
  }
  return *line != NULL ? READ_OK : READ_EOF;
}

/* Reads one line, without its newline, into malloc'd *line. */
static int repl_read(const char *prompt, char **line) {
  return repl.tty ? read_edited(prompt, line) : read_plain(prompt, line);
}

/* ---- chunks ------------------------------------------------------------ */

/* Compiles "return <line>;" so a bare expression shows its values;
 * pushes the function and returns LUA_OK, or pushes nothing. */
static int load_expression(lua_State *L, const char *line) {
  const char *code = lua_pushfstring(L, "return %s;", line);
  int status = luaL_loadbuffer(L, code, strlen(code), "=stdin");
  /* Drop the "return ...;" source string, under the result. */
  lua_remove(L, -2);
  if (status != LUA_OK) lua_pop(L, 1);
  return status;
}

/* Compiles the source on top as a statement, reading continuation lines
 * while the only problem is that it ends too early. Replaces the source
 * by the function or the error message; LOAD_SKIP after Ctrl-C. */
static int load_statement(lua_State *L) {
  for (;;) {
    size_t len;
    const char *code = lua_tolstring(L, -1, &len);
    int status = luaL_loadbuffer(L, code, len, "=stdin");
    char *more;
    int r;
    if (!shell_is_incomplete(L, status)) {
      history_remember(code);
      lua_remove(L, -2);
      return status;
    }
    r = repl_read(REPL_PROMPT2, &more);
    if (r != READ_OK) {
      lua_remove(L, -2);
      if (r == READ_EOF) return status; /* report the unfinished chunk */
      lua_pop(L, 1);
      return LOAD_SKIP;
    }
    lua_pop(L, 1);
    /* Join with a newline so that line numbers and comments ending a line stay right. */
    lua_pushliteral(L, "\n");
    lua_pushstring(L, more);
    free(more);
    lua_concat(L, 3);
  }
}

/* Reads and compiles the next chunk: pushes a function (LUA_OK) or an
 * error message (a load status), or pushes nothing and returns LOAD_EOF
 * or LOAD_SKIP. "=expr" means "return expr", as in lua(1). */
static int repl_load(lua_State *L) {
  char *line;
  int r = repl_read(REPL_PROMPT, &line);
  if (r != READ_OK) return r == READ_EOF ? LOAD_EOF : LOAD_SKIP;
  /* Try the line as an expression first, so "1 + 1" prints 2; a statement fails to compile as
   * "return <line>;" and is compiled as written below. */
  if (line[0] != '=' && load_expression(L, line) == LUA_OK) {
    history_remember(line);
    free(line);
    return LUA_OK;
  }
  if (line[0] == '=')
    lua_pushfstring(L, "return %s", line + 1);
  else
    lua_pushstring(L, line);
  free(line);
  return load_statement(L);
}

/* ---- evaluation -------------------------------------------------------- */

/* Protected: writes its arguments to stdout, each as shell_tostring shows it,
 * tab-separated, as one line. */
static int print_values(lua_State *L) {
  int n = lua_gettop(L);
  luaL_Buffer b;
  size_t len;
  const char *s;
  luaL_buffinit(L, &b);
  for (int i = 1; i <= n; i++) {
    if (i > 1) luaL_addchar(&b, '\t');
    lua_pushcfunction(L, shell_tostring);
    lua_pushvalue(L, i);
    lua_call(L, 1, 1);
    luaL_addvalue(&b);
  }
  luaL_addchar(&b, '\n');
  luaL_pushresult(&b);
  s = lua_tolstring(L, -1, &len);
  fwrite(s, 1, len, stdout);
  fflush(stdout);
  return 0;
}

/* Prints the values above `base`, if any, and drops them. */
static int print_results(lua_State *L, int base) {
  int n = lua_gettop(L) - base;
  /* Nothing was returned: print nothing (an assignment, a call of a function without results). */
  if (n == 0) return LUA_OK;
  luaL_checkstack(L, LUA_MINSTACK, "too many results to print");
  lua_pushcfunction(L, print_values);
  /* print_values goes below the results and prints them in protected mode (a __tostring may
   * raise). */
  lua_insert(L, base + 1);
  return host_docall(L, n, 0);
}

/* Sets up the loop: on a terminal, readline with our key reader, completion and history. */
static void repl_open(lua_State *L) {
  memset(&repl, 0, sizeof repl);
  repl.L = L;
  repl.tty = isatty(STDIN_FILENO);
  if (!repl.tty) return;
  rl_readline_name = "lunette";
  rl_change_environment = 0; /* keep LINES/COLUMNS out of os.getenv */
  rl_catch_signals = 0;      /* SIGINT is ours: see repl_getc */
  rl_getc_function = repl_getc;
  rl_attempted_completion_function = repl_complete;
  /* Word breaks for completion: Lua operators and punctuation, but not '.' or ':', so "a.b:c" is
   * completed as one word. */
  rl_basic_word_break_characters = " \t\n\"\\'`><=;+-*/%^~#&|,()[]{}";
  rl_completer_quote_characters = "\"'";
  rl_initialize();
  rl_bind_key(REPL_CTRL_C, repl_abort_line);
  history_open();
}

static void repl_close(void) {
  if (repl.tty && repl.history != NULL) history_truncate_file(repl.history, REPL_HISTORY_MAX);
  free(repl.history);
  memset(&repl, 0, sizeof repl);
}

void repl_run(lua_State *L) {
  int base = lua_gettop(L);
  int status;
  repl_open(L);
  while ((status = repl_load(L)) != LOAD_EOF) {
    /* LOAD_SKIP (Ctrl-C while typing) just prompts again. */
    if (status == LOAD_SKIP) continue;
    if (status == LUA_OK) status = host_docall(L, 0, LUA_MULTRET);
    if (status == LUA_OK) status = print_results(L, base);
    /* Reported without the "lunette:" prefix; the loop goes on. */
    host_report(L, status, 0);
    /* Whatever happened, the stack goes back to where it was before the line. */
    lua_settop(L, base);
  }
  lua_settop(L, base);
  fputs("\n", stdout);
  fflush(stdout);
  repl_close();
}
