/* io_src.c - byte sources (memory, file, window, inflate) and array reading with conversion. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include "interrupt.h"
#include "io/io_src.h"

typedef enum { SRC_MEM, SRC_FILE, SRC_WINDOW, SRC_INFLATE } SrcKind;

/* INBUF: compressed bytes read from the parent per feed. SKIPBUF: scratch that a forward seek in an
 * inflate stream decompresses into and throws away. */
#define INBUF   (256 * 1024)
#define SKIPBUF (64 * 1024)

struct IoSrc {
  SrcKind kind;
  uint64_t size;
  const uint8_t *mem; /* MEM */
  int fd;             /* FILE */
  IoSrc *parent;      /* WINDOW, INFLATE */
  uint64_t base, len; /* range of the parent */
  int crc_on;         /* CRC-32 check armed */
  uint32_t crc_want, crc;
  uint64_t crc_pos; /* bytes covered so far; UINT64_MAX once disabled */
  z_stream *z;      /* INFLATE */
  int gzip, z_end;  /* z_end: the (last) stream has ended */
  uint8_t *inbuf, *skip;
  uint64_t in_pos, out_pos; /* parent bytes consumed; output produced */
};

/* A zeroed source of kind k; fd -1 so io_src_close can tell it owns no descriptor. */
static IoSrc *new_src(IoCtx *c, SrcKind k, uint64_t size) {
  IoSrc *s = io_calloc(c, sizeof *s);
  if (!s) return NULL;
  s->kind = k;
  s->size = size;
  s->fd = -1;
  return s;
}

LtStatus io_src_mem(IoCtx *c, const void *p, size_t n, IoSrc **out) {
  IoSrc *s = new_src(c, SRC_MEM, n);
  if (!s) return LT_ENOMEM;
  s->mem = p;
  *out = s;
  return LT_OK;
}

LtStatus io_src_file(IoCtx *c, const char *path, IoSrc **out) {
  struct stat sb;
  /* O_NONBLOCK: opening a FIFO with no writer would block in open() itself, before the S_ISREG
   * check below could refuse it. */
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return io_fail(c, LT_EVALUE, "%s", strerror(errno));
  if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
    close(fd);
    return io_fail(c, LT_EVALUE, "not a regular file");
  }
  IoSrc *s = new_src(c, SRC_FILE, (uint64_t)sb.st_size);
  if (!s) {
    close(fd);
    return LT_ENOMEM;
  }
  s->fd = fd;
  *out = s;
  return LT_OK;
}

LtStatus io_src_window(IoCtx *c, IoSrc *parent, uint64_t base, uint64_t size, IoSrc **out) {
  uint64_t end;
  if (!io_add_u64(base, size, &end) || end > parent->size)
    return io_fail(c, LT_EVALUE, "range [%llu, +%llu) lies outside the %llu-byte file",
                   (unsigned long long)base, (unsigned long long)size,
                   (unsigned long long)parent->size);
  IoSrc *s = new_src(c, SRC_WINDOW, size);
  if (!s) return LT_ENOMEM;
  s->parent = parent;
  s->base = base;
  *out = s;
  return LT_OK;
}

LtStatus io_src_inflate(IoCtx *c, IoSrc *parent, uint64_t base, uint64_t len, int gzip,
                        uint64_t out_size, IoSrc **out) {
  uint64_t end;
  if (!io_add_u64(base, len, &end) || end > parent->size)
    return io_fail(c, LT_EVALUE, "compressed range lies outside the file");
  if (out_size != IO_SIZE_UNKNOWN && out_size > c->max_inflate)
    return io_fail(c, LT_ERANGE,
                   "declared uncompressed size %llu exceeds the %llu-byte decompression limit",
                   (unsigned long long)out_size, (unsigned long long)c->max_inflate);
  IoSrc *s = new_src(c, SRC_INFLATE, out_size);
  if (!s) return LT_ENOMEM;
  s->parent = parent;
  s->base = base;
  s->len = len;
  s->gzip = gzip;
  /* The z_stream and buffers go through io_alloc; zlib's own state and window (some 40 KiB) are
   * not counted against max_alloc. */
  if (!(s->z = io_calloc(c, sizeof(z_stream))) || !(s->inbuf = io_alloc(c, INBUF)) ||
      !(s->skip = io_alloc(c, SKIPBUF))) {
    io_src_close(c, s);
    return LT_ENOMEM;
  }
  /* zlib's windowBits: 16 + 15 reads a gzip header and trailer, -15 raw DEFLATE as zip stores it.
   * On failure the stream was never initialised, so it is freed here rather than inflateEnd'ed by
   * io_src_close. */
  if (inflateInit2(s->z, gzip ? 16 + MAX_WBITS : -MAX_WBITS) != Z_OK) {
    io_free(c, s->z, sizeof(z_stream));
    s->z = NULL;
    io_src_close(c, s);
    return io_fail(c, LT_ENOMEM, "cannot start zlib");
  }
  *out = s;
  return LT_OK;
}

void io_src_check_crc(IoSrc *s, uint32_t crc) {
  s->crc_on = 1;
  s->crc_want = crc;
  s->crc = (uint32_t)crc32(0, NULL, 0);
  s->crc_pos = 0;
}

void io_src_close(IoCtx *c, IoSrc *s) {
  if (!s) return;
  if (s->fd >= 0) close(s->fd);
  if (s->z) {
    inflateEnd(s->z);
    io_free(c, s->z, sizeof(z_stream));
  }
  io_free(c, s->inbuf, INBUF);
  io_free(c, s->skip, SKIPBUF);
  io_free(c, s, sizeof *s);
}

uint64_t io_src_size(const IoSrc *s) { return s->size; }

/* ---- reading ---------------------------------------------------------------- */

/* pread until n bytes: 0, an errno, or -1 when the file ends first (*at
 * then holds where). Touches no shared state, so threads may call it. */
static int pread_full(int fd, uint8_t *dst, size_t n, uint64_t off, uint64_t *at) {
  while (n > 0) {
    /* 1 GiB at most per call: Linux caps one pread near 2 GiB anyway. */
    ssize_t k = pread(fd, dst, n > ((size_t)1 << 30) ? ((size_t)1 << 30) : n, (off_t)off);
    if (k < 0 && errno == EINTR) continue;
    if (k < 0) return errno;
    if (k == 0) {
      *at = off;
      return -1;
    }
    dst += k;
    off += (uint64_t)k;
    n -= (size_t)k;
  }
  return 0;
}

/* A read of a FILE source; the size was taken at open, so a short read means the file shrank. */
static LtStatus read_file(IoCtx *c, IoSrc *s, uint64_t off, uint8_t *dst, size_t n) {
  uint64_t at = 0;
  int e = pread_full(s->fd, dst, n, off, &at);
  if (e > 0) return io_fail(c, LT_EVALUE, "read failed (%s)", strerror(e));
  if (e < 0)
    return io_fail(c, LT_EVALUE, "file ends after %llu bytes (it shrank while being read?)",
                   (unsigned long long)at);
  return LT_OK;
}

/* The descriptor and absolute offset behind [off, ...) of s when it is a
 * plain file or a window of one without a CRC to keep (reads may then run
 * in parallel); -1 otherwise. */
static int direct_fd(const IoSrc *s, uint64_t *off) {
  while (s->kind == SRC_WINDOW && !s->crc_on) {
    *off += s->base;
    s = s->parent;
  }
  return s->kind == SRC_FILE ? s->fd : -1;
}

#define PAR_CHUNK ((size_t)16 << 20)

/* Large reads of a file split into 16 MB preads shared by the OpenMP
 * threads: the kernel's copy and the page faults of fresh memory then run
 * on every core. Returns 0 when it did the read, -1 to fall back (the
 * sequential path also produces the error message). */
static int read_parallel(IoSrc *s, uint64_t off, uint8_t *dst, size_t n) {
  int fd = direct_fd(s, &off);
  /* Below two chunks the threads would have nothing to share. */
  if (fd < 0 || n < 2 * PAR_CHUNK) return -1;
  int64_t chunks = (int64_t)((n + PAR_CHUNK - 1) / PAR_CHUNK), failed = 0;
#pragma omp parallel for schedule(dynamic) reduction(| : failed)
  for (int64_t i = 0; i < chunks; i++) {
    size_t a = (size_t)i * PAR_CHUNK, k = n - a < PAR_CHUNK ? n - a : PAR_CHUNK;
    uint64_t at;
    failed |= pread_full(fd, dst + a, k, off + a, &at) != 0;
  }
  return failed ? -1 : 0;
}

/* Folds the n bytes just read at off into s's CRC when they continue the sequential run; a read
 * that goes back or skips ahead disables the check for good (io_src.h). Fails on a mismatch once
 * the last byte is in. */
static LtStatus crc_update(IoCtx *c, IoSrc *s, uint64_t off, const uint8_t *p, size_t n) {
  if (!s->crc_on || s->crc_pos == UINT64_MAX) return LT_OK;
  if (off != s->crc_pos) {
    if (off < s->crc_pos || n) s->crc_pos = UINT64_MAX;
    return LT_OK;
  }
  for (size_t done = 0; done < n;) {
    /* zlib takes a 32-bit length (uInt). */
    uInt k = (uInt)(n - done > (1u << 30) ? (1u << 30) : n - done);
    s->crc = (uint32_t)crc32(s->crc, p + done, k);
    done += k;
  }
  s->crc_pos += n;
  /* A stream of unknown size (gzip) has its own CRC, checked by zlib. */
  if (s->size != IO_SIZE_UNKNOWN && s->crc_pos == s->size && s->crc != s->crc_want)
    return io_fail(c, LT_EVALUE,
                   "CRC-32 mismatch (stored %08x, data has %08x): the file is corrupt", s->crc_want,
                   s->crc);
  return LT_OK;
}

/* Restarts the decompression from the start of the compressed range. */
static void inflate_restart(IoSrc *s) {
  inflateReset(s->z);
  s->z->avail_in = 0;
  s->in_pos = s->out_pos = 0;
  s->z_end = 0;
}

/* Feeds more compressed input after the avail_in bytes still unconsumed, which move to the front
 * of the buffer (a gzip member's two-byte magic may straddle two feeds); *got is 0 when the range
 * is exhausted. */
static LtStatus inflate_feed(IoCtx *c, IoSrc *s, int *got) {
  size_t kept = s->z->avail_in;
  uint64_t left = s->len - s->in_pos;
  size_t room = INBUF - kept;
  size_t k = left > room ? room : (size_t)left;
  *got = k > 0;
  if (!k) return LT_OK;
  if (kept) memmove(s->inbuf, s->z->next_in, kept);
  LtStatus st = io_src_read(c, s->parent, s->base + s->in_pos, s->inbuf + kept, k);
  if (st) return st;
  s->in_pos += k;
  s->z->next_in = s->inbuf;
  s->z->avail_in = (uInt)(kept + k);
  return LT_OK;
}

/* At the end of a gzip member, another member may follow (gzip -c a b): 1 when one does (the
 * stream is reset for it), 0 when not, -1 when fewer than the two magic bytes are buffered and
 * more input remains (feed, then ask). */
static int next_gzip_member(IoSrc *s) {
  if (!s->gzip) return 0;
  if (s->z->avail_in < 2 && s->in_pos < s->len) return -1; /* unknown yet: feed first */
  if (s->z->avail_in >= 2 && s->z->next_in[0] == 0x1f && s->z->next_in[1] == 0x8b) {
    inflateReset(s->z);
    return 1;
  }
  return 0;
}

/* Produces n output bytes into dst, or fewer (*made) when the (last) stream ends first: no error
 * here, as the callers know what size they asked for and say so. */
static LtStatus inflate_out(IoCtx *c, IoSrc *s, uint8_t *dst, size_t n, size_t *made) {
  z_stream *z = s->z;
  *made = 0;
  while (*made < n) {
    if (s->z_end) {
      int more = next_gzip_member(s);
      if (more < 0) {
        int got;
        LtStatus st = inflate_feed(c, s, &got);
        if (st) return st;
        continue;
      }
      if (!more) return LT_OK;
      s->z_end = 0;
    }
    if (z->avail_in == 0) {
      int got;
      LtStatus st = inflate_feed(c, s, &got);
      if (st) return st;
      if (!got)
        return io_fail(c, LT_EVALUE,
                       "compressed data ends early (truncated after %llu bytes of output)",
                       (unsigned long long)(s->out_pos + *made));
    }
    size_t want = n - *made > (1u << 30) ? (1u << 30) : n - *made;
    z->next_out = dst + *made;
    z->avail_out = (uInt)want;
    int r = inflate(z, Z_NO_FLUSH);
    *made += want - z->avail_out;
    /* Z_BUF_ERROR with no input left only means "feed me"; the loop feeds. */
    if (r == Z_STREAM_END)
      s->z_end = 1;
    else if (r == Z_BUF_ERROR && z->avail_in == 0)
      continue;
    else if (r != Z_OK)
      return io_fail(c, LT_EVALUE, "corrupt compressed data (zlib: %s)", z->msg ? z->msg : "error");
  }
  return LT_OK;
}

/* inflate_out plus the running output count and the decompression cap, which matters for gzip
 * streams: their output size is not declared anywhere to check in advance. */
static LtStatus inflate_to(IoCtx *c, IoSrc *s, uint8_t *dst, size_t n, size_t *made) {
  LtStatus st = inflate_out(c, s, dst, n, made);
  s->out_pos += *made;
  if (st == LT_OK && s->out_pos > c->max_inflate)
    st = io_fail(c, LT_ERANGE, "decompressed data exceeds the %llu-byte limit",
                 (unsigned long long)c->max_inflate);
  return st;
}

/* A read of an INFLATE source: DEFLATE cannot seek, so a read behind the current output position
 * restarts the stream and a read ahead decompresses the gap into the skip buffer (still fed to the
 * CRC). */
static LtStatus read_inflate(IoCtx *c, IoSrc *s, uint64_t off, uint8_t *dst, size_t n) {
  size_t made;
  LtStatus st;
  if (off < s->out_pos) inflate_restart(s);
  while (s->out_pos < off) {
    uint64_t gap = off - s->out_pos;
    size_t k = gap > SKIPBUF ? SKIPBUF : (size_t)gap;
    uint64_t at = s->out_pos;
    if ((st = inflate_to(c, s, s->skip, k, &made))) return st;
    if ((st = crc_update(c, s, at, s->skip, made))) return st;
    if (made < k) goto short_read;
  }
  if ((st = inflate_to(c, s, dst, n, &made))) return st;
  if ((st = crc_update(c, s, off, dst, made))) return st;
  if (made == n) return LT_OK;
short_read:
  return io_fail(c, LT_EVALUE, "decompressed data ends after %llu bytes, expected more",
                 (unsigned long long)s->out_pos);
}

LtStatus io_src_read(IoCtx *c, IoSrc *s, uint64_t off, void *dst, size_t n) {
  uint64_t end;
  /* Bounds are checked once here, for every kind; the kind-specific reads can trust them. */
  if (!io_add_u64(off, n, &end) || (s->size != IO_SIZE_UNKNOWN && end > s->size))
    return io_fail(c, LT_EVALUE, "needs bytes [%llu, %llu) but the data has only %llu",
                   (unsigned long long)off, (unsigned long long)end, (unsigned long long)s->size);
  if (n == 0) return LT_OK;
  switch (s->kind) {
  case SRC_MEM: memcpy(dst, s->mem + off, n); return LT_OK;
  case SRC_FILE: return read_file(c, s, off, dst, n);
  case SRC_WINDOW: {
    /* base + off cannot overflow: io_src_window checked base + size against the parent. */
    LtStatus st = io_src_read(c, s->parent, s->base + off, dst, n);
    return st ? st : crc_update(c, s, off, dst, n);
  }
  default: return read_inflate(c, s, off, dst, n);
  }
}

LtStatus io_src_expect_end(IoCtx *c, IoSrc *s, uint64_t off) {
  if (s->kind != SRC_INFLATE) {
    if (off == s->size) return LT_OK;
    return io_fail(c, LT_EVALUE, "%llu bytes of trailing data after the end of the content",
                   (unsigned long long)(s->size - off));
  }
  uint8_t b;
  size_t made;
  /* A stream tests "no byte after off" by asking for one more byte, which only means that at the
   * current output position: callers check right after reading the content. */
  if (off != s->out_pos) return io_fail(c, LT_EVALUE, "internal: end check out of order");
  LtStatus st = inflate_to(c, s, &b, 1, &made);
  if (st) return st;
  if (made) return io_fail(c, LT_EVALUE, "trailing data after the end of the content");
  /* whatever follows the last gzip member must be nothing */
  if (s->gzip && (s->z->avail_in > 0 || s->in_pos < s->len))
    return io_fail(c, LT_EVALUE, "trailing garbage after the gzip stream");
  return LT_OK;
}

LtStatus io_src_slurp(IoCtx *c, IoSrc *s, uint64_t cap, uint8_t **buf, size_t *n) {
  if (s->size == IO_SIZE_UNKNOWN) return io_fail(c, LT_EVALUE, "internal: slurp of a stream");
  if (s->size > cap)
    return io_fail(c, LT_ERANGE, "%llu bytes is over the %llu-byte limit for this kind of data",
                   (unsigned long long)s->size, (unsigned long long)cap);
  /* One byte more for a NUL, so text parsers may stop at it. */
  uint8_t *b = io_alloc(c, (size_t)s->size + 1);
  if (!b) return LT_ENOMEM;
  LtStatus st = io_src_read(c, s, 0, b, (size_t)s->size);
  if (st) {
    io_free(c, b, (size_t)s->size + 1);
    return st;
  }
  b[s->size] = 0;
  *buf = b;
  *n = (size_t)s->size;
  return LT_OK;
}

/* ---- arrays ------------------------------------------------------------------- */

/* Sequential reads go in 64 MiB steps, so an interrupt is seen within one step. */
#define CHUNK ((size_t)64 << 20)

/* Reads total bytes at off into dst: in parallel from a plain file, else in
 * chunks, polling for Ctrl-C between them. */
static LtStatus read_raw(IoCtx *c, IoSrc *s, uint64_t off, uint64_t total, uint8_t *dst) {
  /* The parallel path is tried first; on any failure the sequential one redoes the read and words
   * the error. */
  if (total >= CHUNK && read_parallel(s, off, dst, (size_t)total) == 0) return LT_OK;
  for (uint64_t done = 0; done < total;) {
    size_t k = total - done > CHUNK ? CHUNK : (size_t)(total - done);
    LtStatus st = io_src_read(c, s, off + done, dst + done, k);
    if (st) return st;
    done += k;
    if (lt_interrupt_pending()) return io_fail(c, LT_EINTR, "interrupted");
  }
  return LT_OK;
}

/* Reads the stored data of n elements at off into the tail of dst (which
 * holds n elements of the output dtype), then converts in place. */
static LtStatus read_convert(IoCtx *c, IoSrc *s, const IoArray *a, uint64_t off, uint64_t n,
                             void *dst) {
  size_t ss = io_stype_size(a->st), ds = lt_dtype_size(io_stype_dtype(a->st));
  /* Stored bytes land in the tail of dst so io_convert can widen in place, front to back (io.h). */
  LtStatus st = read_raw(c, s, off, n * ss, (uint8_t *)dst + n * (ds - ss));
  if (st == LT_OK) io_convert(a->st, a->swap, dst, n);
  return st;
}

LtStatus io_array_read_f32(IoCtx *c, IoSrc *s, const IoArray *a, float *dst, float scale) {
  size_t ss = io_stype_size(a->st);
  if (ss > 4)
    return io_fail(c, LT_EDTYPE, "cannot scale %s data into float32 while reading",
                   io_stype_name(a->st));
  /* The same tail trick as read_convert, with float32 (4 bytes) as the output width. */
  uint64_t n = a->nbytes / ss;
  LtStatus st = read_raw(c, s, a->offset, a->nbytes, (uint8_t *)dst + n * (4 - ss));
  if (st == LT_OK) io_convert_f32(a->st, a->swap, dst, n, scale);
  return st;
}

LtStatus io_array_read_rows(IoCtx *c, IoSrc *s, const IoArray *a, int64_t first, int64_t count,
                            void *dst) {
  int64_t rows = a->ndim ? a->shape[0] : 1;
  uint64_t rowsize = 1;
  /* No overflow check: the parser already ran io_check_shape on this shape. */
  for (int i = 1; i < a->ndim; i++) rowsize *= (uint64_t)a->shape[i];
  /* first is bounded before rows - first is formed, so the subtraction cannot overflow. */
  if (first < 0 || count < 0 || first > rows || count > rows - first)
    return io_fail(c, LT_ERANGE, "rows [%lld, %lld) out of range for %lld rows", (long long)first,
                   (long long)(first + count), (long long)rows);
  uint64_t ss = io_stype_size(a->st);
  return read_convert(c, s, a, a->offset + (uint64_t)first * rowsize * ss,
                      (uint64_t)count * rowsize, dst);
}

LtStatus io_array_read(IoCtx *c, IoSrc *s, const IoArray *a, void *dst) {
  return read_convert(c, s, a, a->offset, a->nbytes / io_stype_size(a->st), dst);
}
