/* atomic.h - all-or-nothing file writes for io and plot: temporary, fsync, rename (core). */
#ifndef LUNETTE_ATOMIC_H
#define LUNETTE_ATOMIC_H
#include <stddef.h>
#include <stdint.h>

/* Every file lunette writes (tensors, archives, CSV, PNG, figures) goes
 * through this one writer, so the promise "never a partial file" has one
 * implementation. Bytes go to a temporary beside the target, named
 *     <dir>/.<base>.lunette-tmp.<host>.<pid>.<8 hex>
 * (base cut to 160 bytes, host = the host name with anything but
 * [A-Za-z0-9_-] made '-', cut to 32), created with mode 0666 less the umask.
 * Commit flushes it to disk, renames it over the target and flushes the
 * directory. A failure, an interrupt or an abort removes the temporary and
 * leaves any existing target untouched.
 * Killed writers: opening a writer first deletes temporaries of the same
 * target from this host whose pid is not a live process (what kill -9
 * leaves); SIGTERM's handler calls lt_atomic_sweep() to delete the live
 * ones at once. Writers poll lt_interrupt_pending() (interrupt.h) at open,
 * at every write (and every 4 MiB of a large one) and before the rename,
 * and fail with EINTR when it is set: Ctrl-C and SIGTERM roll writes back. */

#define LT_ATOMIC_PATH 4096  /* longest target or temporary path, NUL included */
#define LT_ATOMIC_BUF  32768 /* write-behind buffer: batches Cairo's small writes */

/* A zeroed LtAtomicFile is closed (lt_atomic_abort on it does nothing), so
 * one embedded in a zeroed userdata is safe to close. About 40 KiB: embed
 * it in heap memory, not on the stack; it must not move while open (the
 * registry points at tmp). */
typedef struct {
  int live;         /* the temporary exists and is ours to remove */
  int fd;           /* the temporary, open for writing (valid when live) */
  int slot;         /* its entry in the signal-time registry; -1 when none */
  int err;          /* errno of the first failure, kept (sticky); 0 when none */
  const char *what; /* what failed: "cannot create a file next to it", ... */
  uint64_t pos;     /* bytes written so far, buffered ones included */
  size_t nbuf;      /* bytes in buf; they belong at pos - nbuf */
  char path[LT_ATOMIC_PATH];
  char tmp[LT_ATOMIC_PATH];
  unsigned char buf[LT_ATOMIC_BUF];
} LtAtomicFile;

/* Deletes stale temporaries of path, then creates a new one. Returns 0, or
 * an errno value with a->err and a->what set and a closed: ENOENT (empty
 * path), EISDIR (path ends with '/'), ENAMETOOLONG, EINTR (an interrupt is
 * pending), or why open(2) failed (ENOENT for a missing directory, EACCES...). */
int lt_atomic_open(LtAtomicFile *a, const char *path);
/* Appends n bytes. Returns 0 or an errno value (EINTR when interrupted);
 * after a failure every call returns the first error and the caller aborts. */
int lt_atomic_write(LtAtomicFile *a, const void *p, size_t n);
/* Overwrites n bytes at offset off, inside what was already written (to
 * patch headers); same returns as lt_atomic_write. */
int lt_atomic_pwrite(LtAtomicFile *a, uint64_t off, const void *p, size_t n);
/* Flushes the temporary to disk (fdatasync), closes it, renames it over the
 * target and flushes the directory. Returns 0; on failure returns the errno
 * value and has removed the temporary, the target untouched, except EIO from
 * the directory flush, when the new target is already in place. */
int lt_atomic_commit(LtAtomicFile *a);
/* Closes and removes the temporary; keeps a->err. Idempotent. */
void lt_atomic_abort(LtAtomicFile *a);
/* Unlinks every temporary now being written. Async-signal-safe: for the
 * SIGTERM handler; writers then fail at their next poll (interrupt pending)
 * or at the rename. The registry behind it holds 64 writers at once (more
 * are still written and rolled back, just not swept from a handler); with
 * interrupt.c's flag it is the process-wide state a signal handler reaches. */
void lt_atomic_sweep(void);

#endif
