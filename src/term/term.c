/* term.c - base64, terminal queries with a timeout and temporary files for showing figures in a
 * terminal (term.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include "term/term.h"

void term_base64(const unsigned char *in, size_t n, char *out) {
  static const char digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t i = 0;
  for (; i + 3 <= n; i += 3) {
    uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
    *out++ = digits[v >> 18];
    *out++ = digits[(v >> 12) & 63];
    *out++ = digits[(v >> 6) & 63];
    *out++ = digits[v & 63];
  }
  if (i == n) return;
  /* One or two bytes left: pad the last group with '='. */
  uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0);
  *out++ = digits[v >> 18];
  *out++ = digits[(v >> 12) & 63];
  *out++ = i + 1 < n ? digits[(v >> 6) & 63] : '=';
  *out = '=';
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Writes all of p[0..n), retrying after signals; 0 or -1. */
static int write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t k = write(fd, p, n);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return -1;
    p += k;
    n -= (size_t)k;
  }
  return 0;
}

/* Reads into buf until `until` or the deadline; returns the byte count. */
static size_t read_answer(int fd, char until, double deadline, char *buf, size_t cap) {
  size_t got = 0;
  while (got + 1 < cap) {
    double left = deadline - now_ms();
    if (left <= 0) break;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int r = poll(&p, 1, (int)left + 1);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    ssize_t k = read(fd, buf + got, cap - 1 - got);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) break;
    /* The answer ends at `until`; anything after it (typeahead) is dropped with it. */
    char *end = memchr(buf + got, until, (size_t)k);
    got += (size_t)k;
    if (end) break;
  }
  buf[got] = '\0';
  return got;
}

int term_query(int in_fd, int out_fd, const char *q, size_t qn, char until, int timeout_ms,
               char *buf, size_t cap) {
  struct termios saved, raw;
  if (cap == 0 || !isatty(in_fd) || !isatty(out_fd)) {
    if (cap) buf[0] = '\0';
    return -1; /* isatty set errno */
  }
  if (tcgetattr(in_fd, &saved) != 0) return -1;
  raw = saved;
  /* No echo (the answer would be printed) and no line buffering (it has no newline); ISIG stays
   * so that Ctrl-C still interrupts. */
  raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
  raw.c_cc[VMIN] = 0;
  raw.c_cc[VTIME] = 0;
  if (tcsetattr(in_fd, TCSANOW, &raw) != 0) return -1;
  size_t got = 0;
  buf[0] = '\0';
  if (write_all(out_fd, q, qn) == 0)
    got = read_answer(in_fd, until, now_ms() + timeout_ms, buf, cap);
  tcsetattr(in_fd, TCSANOW, &saved);
  return (int)got;
}

int term_tmpfile(const char *dir, const char *prefix, const char *suffix, char *path, size_t cap) {
  int n = snprintf(path, cap, "%s/%sXXXXXX%s", dir, prefix, suffix);
  if (n < 0 || (size_t)n >= cap) return ENAMETOOLONG;
  int fd = mkstemps(path, (int)strlen(suffix));
  if (fd < 0) return errno;
  close(fd);
  return 0;
}
