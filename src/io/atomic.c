/* atomic.c - the one temporary-file-and-rename writer: naming, stale sweep, registry, fsync. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>
#include "io/atomic.h"
#include "interrupt.h"

#define TAG      ".lunette-tmp."
#define BASE_MAX 160
#define HOST_MAX 32
#define CHUNK    ((size_t)4 << 20) /* large writes poll for interrupts this often */

/* ---- the registry the SIGTERM handler sweeps --------------------------------- */

/* Slot states. A handler on another thread may be unlinking a slot's path
 * (SWEEPING) while the writer wants to unregister and free it: the writer
 * waits for that unlink to finish, so the handler never reads freed memory. */
enum { FREE = 0, CLAIMED, LIVE, SWEEPING, SWEPT };
#define SLOTS 64
/* A C global by necessity: it is what a signal handler can reach (atomic.h). Slots are claimed by
 * compare-and-swap, never by a lock, which a handler could deadlock on. */
static struct {
  int state;
  const char *path;
} registry[SLOTS];

/* Moves slot i from state `from` to `to` if it is in `from` (lock-free,
 * so async-signal-safe). */
static int swap_state(int i, int from, int to) {
  return __atomic_compare_exchange_n(&registry[i].state, &from, to, 0, __ATOMIC_ACQ_REL,
                                     __ATOMIC_RELAXED);
}

static int reg_add(const char *path) {
  for (int i = 0; i < SLOTS; i++) {
    if (!swap_state(i, FREE, CLAIMED)) continue;
    /* CLAIMED hides the slot from lt_atomic_sweep until path is stored: a handler never reads a
     * half-set entry. */
    registry[i].path = path;
    __atomic_store_n(&registry[i].state, LIVE, __ATOMIC_RELEASE);
    return i;
  }
  return -1;
}

/* Frees slot i (-1: the writer was never registered). It spins only while a handler on another
 * thread is inside unlink for this very slot, which is short and never waits on us. */
static void reg_remove(int i) {
  if (i < 0) return;
  for (;;) {
    int s = __atomic_load_n(&registry[i].state, __ATOMIC_ACQUIRE);
    if (s != SWEEPING && swap_state(i, s, FREE)) return;
  }
}

void lt_atomic_sweep(void) {
  /* The interrupted code may be about to read errno. */
  int saved = errno;
  for (int i = 0; i < SLOTS; i++) {
    if (!swap_state(i, LIVE, SWEEPING)) continue;
    /* The slot stays taken (SWEPT) until its writer frees it: the writer then fails at its next
     * poll or at the rename and calls reg_remove as usual. */
    unlink(registry[i].path);
    __atomic_store_n(&registry[i].state, SWEPT, __ATOMIC_RELEASE);
  }
  errno = saved;
}

/* ---- names -------------------------------------------------------------------- */

/* Records the first failure only (sticky): the message names the cause, not a later consequence of
 * it. Returns the recorded errno. */
static int fail(LtAtomicFile *a, int err, const char *what) {
  if (!a->err) {
    a->err = err;
    a->what = what;
  }
  return a->err;
}

/* The host name as it appears in temporary names (see atomic.h). */
/* The host is in the name so that two machines writing to one shared directory (NFS) never take
 * each other's pids for dead ones; '.' separates the name's fields, so it is replaced too. */
static void host_tag(char *out, size_t n) {
  char h[256] = "";
  if (gethostname(h, sizeof h - 1) != 0 || !h[0]) strcpy(h, "host");
  size_t k = 0;
  for (; h[k] && k < HOST_MAX && k + 1 < n; k++) {
    char ch = h[k];
    int alnum = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
    out[k] = alnum || ch == '_' || ch == '-' ? ch : '-';
  }
  out[k] = 0;
}

/* The directory of path (LT_ATOMIC_PATH bytes): "." when it has none
 * (*dirlen -1), "/" for a file at the root. Returns the base name. */
static const char *dir_of(const char *path, char *dir, int *dirlen) {
  const char *slash = strrchr(path, '/');
  *dirlen = slash ? (int)(slash - path) : -1;
  if (!slash)
    strcpy(dir, ".");
  else if (slash == path)
    strcpy(dir, "/");
  else
    snprintf(dir, LT_ATOMIC_PATH, "%.*s", *dirlen, path);
  return slash ? slash + 1 : path;
}

/* The name of every temporary of base up to the pid: ".<base>.lunette-tmp.<host>.". */
static void temp_prefix(const char *base, char *prefix, size_t n) {
  char host[HOST_MAX + 1];
  host_tag(host, sizeof host);
  snprintf(prefix, n, ".%.*s" TAG "%s.", BASE_MAX, base, host);
}

/* Parses "<pid>.<8 hex>" (the rest of a temporary's name); 0 when it is not. */
static long tail_pid(const char *s) {
  long pid = 0;
  int digits = 0;
  /* At most 10 digits: no overflow in long; the range check below does the rest. */
  for (; *s >= '0' && *s <= '9' && digits < 10; s++, digits++) pid = pid * 10 + (*s - '0');
  if (!digits || *s++ != '.' || pid <= 0 || pid > INT_MAX) return 0;
  for (int k = 0; k < 8; k++, s++)
    if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f'))) return 0;
  return *s ? 0 : pid;
}

/* Deletes the temporaries of the same target left by writers that no
 * longer run (kill -9, a crash, a power cut). A live pid, ours included, and
 * EPERM (someone else's live process) keep theirs. */
static void sweep_stale(const char *dir, const char *prefix) {
  DIR *d = opendir(dir);
  if (!d) return;
  size_t pl = strlen(prefix);
  struct dirent *e;
  while ((e = readdir(d))) {
    /* Only our prefix: the same target on the same host, where a pid means a process we can probe.
     * kill(pid, 0) sends nothing; only ESRCH proves the writer gone. */
    if (strncmp(e->d_name, prefix, pl) != 0) continue;
    long pid = tail_pid(e->d_name + pl);
    if (!pid || pid == (long)getpid()) continue;
    if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue;
    unlinkat(dirfd(d), e->d_name, 0);
  }
  closedir(d);
}

/* The temporary's random tail: for uniqueness, not secrecy (O_EXCL catches a collision and the
 * caller retries). Without getrandom, the clock mixed with Knuth's multiplicative constant and the
 * attempt number. */
static uint32_t random_u32(int attempt) {
  uint32_t r;
  if (getrandom(&r, sizeof r, GRND_NONBLOCK) == (ssize_t)sizeof r) return r;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint32_t)ts.tv_nsec ^ (uint32_t)ts.tv_sec * 2654435761u ^ (uint32_t)attempt * 40503u;
}

/* ---- writing -------------------------------------------------------------------- */

int lt_atomic_open(LtAtomicFile *a, const char *path) {
  char dir[LT_ATOMIC_PATH], prefix[BASE_MAX + HOST_MAX + 32];
  int dirlen;
  /* Only the fields before path: the names and the 32 KiB buffer need no clearing. */
  memset(a, 0, offsetof(LtAtomicFile, path));
  a->fd = -1;
  a->slot = -1;
  size_t n = strlen(path);
  if (n == 0) return fail(a, ENOENT, "empty path");
  if (path[n - 1] == '/') return fail(a, EISDIR, "is a directory");
  if (n >= LT_ATOMIC_PATH) return fail(a, ENAMETOOLONG, "path too long");
  if (lt_interrupt_pending()) return fail(a, EINTR, "interrupted");
  memcpy(a->path, path, n + 1);
  temp_prefix(dir_of(path, dir, &dirlen), prefix, sizeof prefix);
  /* Every argument is checked above, so an invalid path never touches the directory. */
  sweep_stale(dir, prefix);
  /* A name collides only with the same pid and 32 random bits, so retries are rare and 32 failures
   * mean something else is wrong. Mode 0666: the umask decides, as for any new file, and the rename
   * keeps that mode. */
  for (int k = 0; k < 32; k++) {
    long pid = (long)getpid();
    uint32_t r = random_u32(k);
    int w = dirlen >= 0
                ? snprintf(a->tmp, sizeof a->tmp, "%.*s/%s%ld.%08x", dirlen, path, prefix, pid, r)
                : snprintf(a->tmp, sizeof a->tmp, "%s%ld.%08x", prefix, pid, r);
    if (w < 0 || (size_t)w >= sizeof a->tmp) return fail(a, ENAMETOOLONG, "path too long");
    a->fd = open(a->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (a->fd >= 0) break;
    if (errno != EEXIST) return fail(a, errno, "cannot create a file next to it");
  }
  if (a->fd < 0) return fail(a, EEXIST, "cannot create a file next to it");
  a->live = 1;
  /* -1 when 64 writers are live: this one still works, it is just not swept by SIGTERM. */
  a->slot = reg_add(a->tmp);
  return 0;
}

/* Writes n bytes at off, in chunks, polling for interrupts after each. */
static int put(LtAtomicFile *a, uint64_t off, const unsigned char *p, size_t n) {
  while (n > 0) {
    ssize_t k = pwrite(a->fd, p, n < CHUNK ? n : CHUNK, (off_t)off);
    /* EINTR with no interrupt pending came from another signal (a profiler, SIGCHLD): retry. */
    if (k < 0 && errno == EINTR && !lt_interrupt_pending()) continue;
    if (k < 0) return fail(a, errno, errno == EINTR ? "interrupted" : "write failed");
    if (k == 0) return fail(a, EIO, "write failed");
    p += k;
    off += (uint64_t)k;
    n -= (size_t)k;
    /* Polled per chunk: Ctrl-C during a multi-gigabyte write takes effect within 4 MiB. */
    if (lt_interrupt_pending()) return fail(a, EINTR, "interrupted");
  }
  return 0;
}

/* Writes the buffered bytes where they belong, at pos - nbuf. */
static int flush(LtAtomicFile *a) {
  if (a->err) return a->err;
  if (!a->nbuf) return 0;
  int e = put(a, a->pos - a->nbuf, a->buf, a->nbuf);
  a->nbuf = 0;
  return e;
}

int lt_atomic_write(LtAtomicFile *a, const void *p, size_t n) {
  if (a->err) return a->err;
  if (!a->live) return fail(a, EBADF, "write failed");
  if (lt_interrupt_pending()) return fail(a, EINTR, "interrupted");
  if (n == 0) return 0; /* p may be NULL (an empty tensor) */
  /* Bytes reach the file in order: what is buffered goes first, then a write larger than the buffer
   * goes straight through. */
  if (a->nbuf + n > LT_ATOMIC_BUF && flush(a)) return a->err;
  if (n <= LT_ATOMIC_BUF) {
    memcpy(a->buf + a->nbuf, p, n);
    a->nbuf += n;
    a->pos += n;
    return 0;
  }
  if (put(a, a->pos, p, n)) return a->err;
  a->pos += n;
  return 0;
}

int lt_atomic_pwrite(LtAtomicFile *a, uint64_t off, const void *p, size_t n) {
  if (a->err) return a->err;
  /* Only inside what was written: a patch never grows the file or leaves a hole. */
  if (!a->live || off > a->pos || n > a->pos - off) return fail(a, EINVAL, "write failed");
  /* Flush first: the range may still sit in the buffer, and a later flush would write the old bytes
   * over the patch. */
  if (flush(a)) return a->err;
  if (n == 0) return 0;
  return put(a, off, p, n);
}

/* Flushes the directory entry of the rename; only an I/O error counts
 * (some file systems refuse to fsync a directory, or to open it). */
static int sync_dir(const LtAtomicFile *a) {
  char dir[LT_ATOMIC_PATH];
  int dirlen;
  dir_of(a->path, dir, &dirlen);
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return 0;
  int e = fsync(fd) != 0 ? errno : 0;
  close(fd);
  return e == EIO ? EIO : 0;
}

int lt_atomic_commit(LtAtomicFile *a) {
  if (!a->live) return fail(a, EBADF, "write failed");
  /* Each step below runs only while no error is recorded, except close: the descriptor never leaks.
   * fdatasync's EINVAL and EROFS say the file cannot be synced (special files, some file systems),
   * not that the data is bad. */
  flush(a);
  if (!a->err && lt_interrupt_pending()) fail(a, EINTR, "interrupted");
  if (!a->err && fdatasync(a->fd) != 0 && errno != EINVAL && errno != EROFS)
    fail(a, errno, "cannot flush to disk");
  /* close's EINTR still closes the descriptor on Linux, and the data is synced by now. */
  if (close(a->fd) != 0 && !a->err && errno != EINTR) fail(a, errno, "close failed");
  a->fd = -1;
  /* The last moment an interrupt can still leave the target untouched. */
  if (!a->err && lt_interrupt_pending()) fail(a, EINTR, "interrupted");
  if (!a->err && rename(a->tmp, a->path) != 0)
    fail(a, errno, "cannot rename the temporary file into place");
  if (a->err) {
    lt_atomic_abort(a);
    return a->err;
  }
  /* Renamed: the target is the new file and the temporary's name is gone, so the writer leaves the
   * registry. A failed directory flush is still reported, but nothing can be rolled back. */
  a->live = 0;
  reg_remove(a->slot);
  a->slot = -1;
  int e = sync_dir(a);
  return e ? fail(a, e, "cannot flush the directory to disk") : 0;
}

void lt_atomic_abort(LtAtomicFile *a) {
  if (!a->live) return;
  if (a->fd >= 0) close(a->fd);
  a->fd = -1;
  /* Unlinked while still registered: at no moment is the temporary on disk yet invisible to a
   * SIGTERM sweep (a second unlink of it fails harmlessly). */
  unlink(a->tmp);
  reg_remove(a->slot);
  a->slot = -1;
  a->live = 0;
}
