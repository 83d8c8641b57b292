/* writeshim.c - LD_PRELOAD double for the writer specs: SIGTERM mid-write, fsync/rename log. */
/* Built as BUILD/writeshim.so (never linked into lunette) and used by
 * tests/io_spec.lua and tests/plot_spec.lua through tests/fixtures/host.lua:
 *   LUNETTE_SHIM_TERM_DIR=d  the first write(2) or pwrite(2) to a file directly
 *                            in directory d raises SIGTERM in the writing thread
 *                            (so the handler has run when the call goes on),
 *                            then the write is done: a kill that lands while a
 *                            writer is half-way, on any machine, however loaded.
 *   LUNETTE_SHIM_LOG=f       appends to f "sync <name>" for every fsync and
 *                            fdatasync, and "rename <from> <to>" for every rename
 *                            that succeeds (base names), in the order they ran. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define REAL(name) \
  static __typeof__(name) *real; \
  if (!real) real = (__typeof__(name) *)dlsym(RTLD_NEXT, #name)

static const char *base_of(const char *p) {
  const char *s = strrchr(p, '/');
  return s && s[1] ? s + 1 : p;
}

static int fd_path(int fd, char *buf, size_t n) {
  char link[64];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t k = readlink(link, buf, n - 1);
  if (k < 0) return -1;
  buf[k] = 0;
  return 0;
}

static void maybe_term(int fd) {
  static int fired;
  const char *dir = getenv("LUNETTE_SHIM_TERM_DIR");
  char real_dir[PATH_MAX], path[PATH_MAX];
  if (fired || !dir || !realpath(dir, real_dir) || fd_path(fd, path, sizeof path)) return;
  size_t n = strlen(real_dir);
  if (strncmp(path, real_dir, n) != 0 || path[n] != '/' || strchr(path + n + 1, '/')) return;
  fired = 1;
  raise(SIGTERM);
}

/* One line per call, written with the raw system call (not our write()). */
static void log_line(const char *verb, const char *a, const char *b) {
  const char *log = getenv("LUNETTE_SHIM_LOG");
  char line[2 * PATH_MAX + 32];
  if (!log) return;
  int n = b ? snprintf(line, sizeof line, "%s %s %s\n", verb, a, b)
            : snprintf(line, sizeof line, "%s %s\n", verb, a);
  int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return;
  if (syscall(SYS_write, fd, line, (size_t)n) < 0) { /* a test log: nothing to do */ }
  close(fd);
}

static void log_sync(int fd) {
  char path[PATH_MAX];
  if (getenv("LUNETTE_SHIM_LOG") && fd_path(fd, path, sizeof path) == 0)
    log_line("sync", base_of(path), NULL);
}

ssize_t write(int fd, const void *buf, size_t n) {
  REAL(write);
  maybe_term(fd);
  return real(fd, buf, n);
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off) {
  REAL(pwrite);
  maybe_term(fd);
  return real(fd, buf, n, off);
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off64_t off) {
  REAL(pwrite64);
  maybe_term(fd);
  return real(fd, buf, n, off);
}

int fsync(int fd) {
  REAL(fsync);
  log_sync(fd);
  return real(fd);
}

int fdatasync(int fd) {
  REAL(fdatasync);
  log_sync(fd);
  return real(fd);
}

int rename(const char *from, const char *to) {
  REAL(rename);
  int r = real(from, to);
  if (r == 0) log_line("rename", base_of(from), base_of(to));
  return r;
}
