/* ptyrun.c - test helper: runs a command on a pseudo-terminal, types scripted input, prints what it shows. */
/*
 * usage: ptyrun [-t SECONDS] STEP... -- COMMAND [ARG...]
 *   -w TEXT   wait until TEXT appears in the output after the previous match
 *   -s TEXT   send TEXT (escapes: \n \r \t \e \\ \xHH, e.g. \x03 is Ctrl-C)
 *   -p MS     pause MS milliseconds (output is still captured)
 *   -t SEC    overall time limit (default 5): then the child is killed
 *   -c COLS   the terminal's width (default 80); -t and -c come first, in either order
 * Everything the command wrote is printed to stdout at the end. The exit
 * status is the command's (128+N when killed by signal N), 124 on timeout
 * (a -w that never matched, or a command that never ended), 2 on misuse.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

typedef struct {
  int fd;          /* pty master */
  pid_t pid;
  char *out;       /* everything captured */
  size_t len, cap;
  size_t mark;     /* -w searches from here */
  int eof;         /* the child closed the terminal */
  double deadline; /* monotonic seconds */
} Pty;

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* Decodes backslash escapes of s into out (at least strlen(s) bytes). */
static size_t unescape(const char *s, char *out) {
  size_t n = 0;
  while (*s) {
    char c = *s++;
    if (c == '\\' && *s) {
      c = *s++;
      switch (c) {
      case 'n': c = '\n'; break;
      case 'r': c = '\r'; break;
      case 't': c = '\t'; break;
      case 'e': c = 27; break;
      case 'x':
        if (hexval(s[0]) >= 0 && hexval(s[1]) >= 0) {
          c = (char)(hexval(s[0]) * 16 + hexval(s[1]));
          s += 2;
        }
        break;
      default: break; /* \\ and anything else: the character itself */
      }
    }
    out[n++] = c;
  }
  return n;
}

/* Captures what the child writes for up to `ms` milliseconds. */
static void pump(Pty *p, int ms) {
  struct pollfd pfd = {p->fd, POLLIN, 0};
  ssize_t n;
  if (p->eof || poll(&pfd, 1, ms) <= 0)
    return;
  if (p->len + 4096 > p->cap) {
    p->cap = 2 * p->cap + 4096;
    p->out = realloc(p->out, p->cap);
    if (p->out == NULL) {
      perror("ptyrun");
      exit(2);
    }
  }
  n = read(p->fd, p->out + p->len, 4096);
  if (n > 0)
    p->len += (size_t)n;
  else if (n == 0 || errno != EINTR)
    p->eof = 1; /* Linux reports EIO once the slave side is closed */
}

static int wait_for(Pty *p, const char *text) {
  char pat[4096];
  size_t n = unescape(text, pat);
  while (now() < p->deadline) {
    char *hit = p->len > p->mark ? memmem(p->out + p->mark, p->len - p->mark, pat, n) : NULL;
    if (hit != NULL) {
      p->mark = (size_t)(hit - p->out) + n;
      return 1;
    }
    if (p->eof)
      return 0;
    pump(p, 20);
  }
  return 0;
}

static void pause_ms(Pty *p, int ms) {
  double end = now() + ms / 1000.0;
  while (now() < end && now() < p->deadline) {
    if (p->eof)
      usleep(10000);
    pump(p, 10);
  }
}

static void send_text(Pty *p, const char *text) {
  char buf[4096];
  size_t n = unescape(text, buf), off = 0;
  while (off < n) {
    ssize_t w = write(p->fd, buf + off, n - off);
    if (w < 0 && errno != EINTR)
      return;
    off += w > 0 ? (size_t)w : 0;
  }
}

/* Waits for the child to end; returns its exit status in shell style. */
static int finish(Pty *p) {
  int status;
  while (now() < p->deadline) {
    pid_t r = waitpid(p->pid, &status, WNOHANG);
    if (r == p->pid) {
      while (!p->eof && now() < p->deadline)
        pump(p, 50);
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    pump(p, 20);
  }
  fprintf(stderr, "ptyrun: timed out\n");
  kill(p->pid, SIGKILL);
  waitpid(p->pid, &status, 0);
  return 124;
}

static int run_steps(Pty *p, char **argv, int nsteps) {
  for (int i = 0; i + 1 < nsteps; i += 2) {
    const char *opt = argv[i], *val = argv[i + 1];
    if (strcmp(opt, "-s") == 0) {
      send_text(p, val);
    } else if (strcmp(opt, "-p") == 0) {
      pause_ms(p, atoi(val));
    } else if (strcmp(opt, "-w") == 0 && !wait_for(p, val)) {
      fprintf(stderr, "ptyrun: never saw '%s'\n", val);
      p->deadline = now();
      return 0;
    }
  }
  return 1;
}

static int usage(void) {
  fputs("usage: ptyrun [-t SECONDS] [-c COLS] [-w TEXT | -s TEXT | -p MS]... -- COMMAND [ARG...]\n",
        stderr);
  return 2;
}

int main(int argc, char **argv) {
  struct winsize ws = {24, 80, 0, 0};
  Pty p = {0};
  int first = 1, sep = 1, status;
  double limit = 5.0;
  while (first + 1 < argc && (strcmp(argv[first], "-t") == 0 || strcmp(argv[first], "-c") == 0)) {
    if (argv[first][1] == 't')
      limit = atof(argv[first + 1]);
    else
      ws.ws_col = (unsigned short)atoi(argv[first + 1]);
    first += 2;
  }
  for (sep = first; sep < argc && strcmp(argv[sep], "--") != 0; sep += 2)
    if (strlen(argv[sep]) != 2 || strchr("wsp", argv[sep][1]) == NULL || sep + 1 >= argc)
      return usage();
  if (sep + 1 >= argc)
    return usage();
  p.deadline = now() + limit;
  p.pid = forkpty(&p.fd, NULL, NULL, &ws);
  if (p.pid < 0) {
    perror("ptyrun: forkpty");
    return 2;
  }
  if (p.pid == 0) {
    execvp(argv[sep + 1], argv + sep + 1);
    perror("ptyrun: exec");
    _exit(127);
  }
  run_steps(&p, argv + first, sep - first);
  status = finish(&p);
  if (p.len > 0)
    fwrite(p.out, 1, p.len, stdout);
  free(p.out);
  return status;
}
