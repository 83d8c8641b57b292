/* io_zip.c - zip reader (central directory, ZIP64, local-header cross-checks, overlap detection)
 * and ZIP64 writer. */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "io/io_zip.h"

/* Record signatures and offsets follow PKWARE's APPNOTE.TXT (4.3.7 local header, 4.3.12 central
 * header, 4.3.14-16 end records, 4.5.3 the ZIP64 extra field). MAXTAIL: the end record (22
 * bytes) plus the longest comment it can carry. */
#define SIG_LOCAL   0x04034b50u
#define SIG_CENTRAL 0x02014b50u
#define SIG_EOCD    0x06054b50u
#define SIG_EOCD64  0x06064b50u
#define SIG_LOC64   0x07064b50u
#define MAXTAIL     (65535 + 22)

/* The end record's numbers. cd_limit: where the directory must end, the offset of the first end
 * record (the ZIP64 one when present). */
typedef struct {
  uint64_t entries, cd_size, cd_off, cd_limit;
} Eocd;

/* Finds the end record: the last "PK\5\6" whose comment reaches exactly
 * the end of the file. */
static LtStatus find_eocd(IoCtx *c, IoSrc *s, Eocd *e) {
  uint64_t size = io_src_size(s);
  if (size < 22) return io_fail(c, LT_EVALUE, "not a zip archive (too short)");
  size_t tail = size < MAXTAIL ? (size_t)size : MAXTAIL;
  uint8_t *b = io_alloc(c, tail);
  if (!b) return LT_ENOMEM;
  LtStatus st = io_src_read(c, s, size - tail, b, tail);
  /* Scanned backwards from the last place a record fits. The comment-length check turns away
   * "PK\5\6" bytes inside a comment or member data. */
  size_t pos = tail - 22 + 1;
  int found = 0;
  while (st == LT_OK && pos-- > 0)
    if (io_le32(b + pos) == SIG_EOCD && pos + 22 + io_le16(b + pos + 20) == tail) {
      found = 1;
      break;
    }
  if (st == LT_OK && !found)
    st = io_fail(c, LT_EVALUE, "not a zip archive (no end-of-central-directory record)");
  if (st == LT_OK) {
    const uint8_t *p = b + pos;
    uint16_t disk = io_le16(p + 4), cd_disk = io_le16(p + 6);
    /* 0xFFFF: saturated, the ZIP64 record holds the real value. */
    if ((disk != 0 && disk != 0xFFFF) || (cd_disk != 0 && cd_disk != 0xFFFF))
      st = io_fail(c, LT_EVALUE, "multi-volume zip archives are not supported");
    e->entries = io_le16(p + 10);
    e->cd_size = io_le32(p + 12);
    e->cd_off = io_le32(p + 16);
    e->cd_limit = size - tail + pos;
  }
  io_free(c, b, tail);
  return st;
}

/* Replaces the EOCD numbers by the ZIP64 record's when a locator precedes it. */
static LtStatus read_zip64_eocd(IoCtx *c, IoSrc *s, Eocd *e) {
  uint8_t loc[20], r[56];
  /* The locator is the 20 bytes right before the end record. */
  if (e->cd_limit < 20) return LT_OK;
  LtStatus st = io_src_read(c, s, e->cd_limit - 20, loc, 20);
  if (st) return st;
  if (io_le32(loc) != SIG_LOC64) return LT_OK;
  uint64_t off = io_le64(loc + 8);
  /* Fields: disk of the ZIP64 record (+4), its offset (+8), total disks (+16). */
  if (io_le32(loc + 4) != 0 || io_le32(loc + 16) > 1)
    return io_fail(c, LT_EVALUE, "multi-volume zip archives are not supported");
  if (off > e->cd_limit - 20 || e->cd_limit - 20 - off < 56)
    return io_fail(c, LT_EVALUE, "ZIP64 end record offset %llu is out of range",
                   (unsigned long long)off);
  if ((st = io_src_read(c, s, off, r, 56))) return st;
  if (io_le32(r) != SIG_EOCD64)
    return io_fail(c, LT_EVALUE, "bad ZIP64 end-of-central-directory record");
  /* This disk, the directory's disk, entries on this disk against entries in total. */
  if (io_le32(r + 16) != 0 || io_le32(r + 20) != 0 || io_le64(r + 24) != io_le64(r + 32))
    return io_fail(c, LT_EVALUE, "multi-volume zip archives are not supported");
  e->entries = io_le64(r + 32);
  e->cd_size = io_le64(r + 40);
  e->cd_off = io_le64(r + 48);
  e->cd_limit = off;
  return LT_OK;
}

/* Whether n[i] starts a '..' path component. */
static int dotdot_at(const char *n, size_t len, size_t i) {
  /* n[i + 1] exists: the caller stops at len - 1. "a..b" and "..x" are names, not components. */
  return n[i] == '.' && n[i + 1] == '.' && (i == 0 || n[i - 1] == '/') &&
         (i + 2 == len || n[i + 2] == '/');
}

/* The first 64 bytes of a name for a message, a NUL shown as \0. */
/* buf holds 2 * 64 + 4 bytes: every byte may take two, plus "..." and the NUL. */
static const char *quoted(const char *n, size_t len, char *buf) {
  size_t o = 0;
  for (size_t i = 0; i < len && i < 64; i++) {
    if (n[i])
      buf[o++] = n[i];
    else {
      buf[o++] = '\\';
      buf[o++] = '0';
    }
  }
  if (len > 64) {
    memcpy(buf + o, "...", 3);
    o += 3;
  }
  buf[o] = 0;
  return buf;
}

LtStatus io_zip_check_name(IoCtx *c, const char *n, size_t len) {
  char q[2 * 64 + 4];
  const char *why = NULL;
  if (len == 0) return io_fail(c, LT_EVALUE, "member with an empty name");
  if (len > 0xFFFF)
    return io_fail(c, LT_EVALUE, "member name '%s' is longer than 65535 bytes", quoted(n, len, q));
  /* Each of these would let a name escape the folder it is extracted to, or read differently on
   * another system: a NUL ends it early in C, '\\' is a separator on Windows. */
  if (memchr(n, 0, len))
    why = "a NUL byte";
  else if (memchr(n, '\\', len))
    why = "a backslash";
  else if (n[0] == '/')
    why = "absolute";
  if (why)
    return io_fail(c, LT_EVALUE, "member name '%s' is not a safe relative path (%s)",
                   quoted(n, len, q), why);
  for (size_t i = 0; i + 1 < len; i++)
    if (dotdot_at(n, len, i))
      return io_fail(c, LT_EVALUE, "member name '%s' contains '..'", quoted(n, len, q));
  return LT_OK;
}

/* Applies a ZIP64 extra field (id 1) to the fields saturated at 0xFFFFFFFF. */
static LtStatus apply_zip64(IoCtx *c, const uint8_t *x, size_t xn, uint64_t *usize, uint64_t *csize,
                            uint64_t *lho) {
  while (xn >= 4) {
    uint16_t id = io_le16(x), sz = io_le16(x + 2);
    if ((size_t)sz + 4 > xn) return io_fail(c, LT_EVALUE, "malformed extra field");
    if (id == 1) {
      uint64_t *f[3] = {usize, csize, lho};
      const uint8_t *p = x + 4;
      size_t left = sz;
      /* The field lists only the values whose 32-bit field is saturated, in this order:
       * uncompressed size, compressed size, local header offset. */
      for (int i = 0; i < 3; i++) {
        if (!f[i] || *f[i] != 0xFFFFFFFFu) continue;
        if (left < 8) return io_fail(c, LT_EVALUE, "ZIP64 extra field too short");
        *f[i] = io_le64(p);
        p += 8;
        left -= 8;
      }
    }
    x += 4 + sz;
    xn -= 4 + (size_t)sz;
  }
  return LT_OK;
}

/* Parses one central header at p (n bytes left) into e; *used its length. */
static LtStatus parse_central(IoCtx *c, const uint8_t *p, size_t n, IoZipEntry *e, size_t *used) {
  if (n < 46 || io_le32(p) != SIG_CENTRAL)
    return io_fail(c, LT_EVALUE, "corrupt central directory");
  size_t nl = io_le16(p + 28), xl = io_le16(p + 30), cl = io_le16(p + 32);
  if (46 + nl + xl + cl > n)
    return io_fail(c, LT_EVALUE, "central directory entry runs past its end");
  e->flags = io_le16(p + 8);
  e->method = io_le16(p + 10);
  e->crc = io_le32(p + 16);
  e->csize = io_le32(p + 20);
  e->usize = io_le32(p + 24);
  e->lho = io_le32(p + 42);
  *used = 46 + nl + xl + cl;
  LtStatus st = io_zip_check_name(c, (const char *)p + 46, nl);
  if (st) return st;
  /* Flag bits 0 and 6: traditional and strong encryption. */
  if (e->flags & 0x41) return io_fail(c, LT_EVALUE, "member '%.*s' is encrypted", (int)nl, p + 46);
  if (e->method != 0 && e->method != 8)
    return io_fail(c, LT_EVALUE, "member '%.*s' uses unsupported compression method %u", (int)nl,
                   p + 46, e->method);
  if (io_le16(p + 34) != 0 && io_le16(p + 34) != 0xFFFF)
    return io_fail(c, LT_EVALUE, "multi-volume zip archives are not supported");
  return apply_zip64(c, p + 46 + nl, xl, &e->usize, &e->csize, &e->lho);
}

/* Cross-checks the local header of e and sets its data offset. */
static LtStatus check_local(IoCtx *c, IoSrc *s, IoZipEntry *e, uint64_t cd_off) {
  uint8_t h[30];
  size_t nl = strlen(e->name);
  if (e->lho > cd_off || cd_off - e->lho < 30)
    return io_fail(c, LT_EVALUE, "member '%s' has a local header outside the data area", e->name);
  LtStatus st = io_src_read(c, s, e->lho, h, 30);
  if (st) return st;
  /* The local header is read again for name, method and sizes because some tools (and zip bombs)
   * make it disagree with the directory; the data starts after its own name and extra field,
   * whose lengths may differ from the central ones. */
  size_t lnl = io_le16(h + 26), lxl = io_le16(h + 28);
  if (io_le32(h) != SIG_LOCAL || lnl != nl || io_le16(h + 8) != e->method)
    return io_fail(c, LT_EVALUE, "member '%s': local header does not match the central directory",
                   e->name);
  uint8_t *buf = io_alloc(c, lnl + lxl);
  if (!buf) return LT_ENOMEM;
  st = io_src_read(c, s, e->lho + 30, buf, lnl + lxl);
  if (st == LT_OK && memcmp(buf, e->name, nl))
    st = io_fail(c, LT_EVALUE, "member '%s': local header names another file", e->name);
  /* Flag bit 3: a data descriptor after the data holds the sizes and CRC, and the local header
   * has zeros; the central values then stand. */
  if (st == LT_OK && !(io_le16(h + 6) & 8)) {
    uint64_t cs = io_le32(h + 18), us = io_le32(h + 22);
    st = apply_zip64(c, buf + lnl, lxl, &us, &cs, NULL);
    if (st == LT_OK && (cs != e->csize || us != e->usize || io_le32(h + 14) != e->crc))
      st = io_fail(c, LT_EVALUE,
                   "member '%s': local header sizes or CRC differ from the central directory",
                   e->name);
  }
  io_free(c, buf, lnl + lxl);
  if (st) return st;
  e->data_off = e->lho + 30 + lnl + lxl;
  if (e->data_off > cd_off || cd_off - e->data_off < e->csize)
    return io_fail(c, LT_EVALUE, "member '%s' runs into the central directory", e->name);
  if (e->method == 0 && e->csize != e->usize)
    return io_fail(c, LT_EVALUE,
                   "stored member '%s' has different compressed and uncompressed sizes", e->name);
  return LT_OK;
}

/* qsort orders: by local header offset (to find overlaps), then by name (for io_zip_find). */
static int by_lho(const void *a, const void *b) {
  const IoZipEntry *x = a, *y = b;
  return x->lho < y->lho ? -1 : x->lho > y->lho;
}
static int by_name(const void *a, const void *b) {
  return strcmp(((const IoZipEntry *)a)->name, ((const IoZipEntry *)b)->name);
}

/* Members must not share bytes: overlapping members are how a small zip expands to petabytes
 * (Fifield's "better zip bomb", 2019). Leaves z->e sorted by name. */
static LtStatus check_layout(IoCtx *c, IoZip *z) {
  qsort(z->e, z->n, sizeof *z->e, by_lho);
  for (size_t i = 1; i < z->n; i++)
    if (z->e[i - 1].data_off + z->e[i - 1].csize > z->e[i].lho)
      return io_fail(c, LT_EVALUE, "members '%s' and '%s' overlap", z->e[i - 1].name, z->e[i].name);
  qsort(z->e, z->n, sizeof *z->e, by_name);
  for (size_t i = 1; i < z->n; i++)
    if (!strcmp(z->e[i - 1].name, z->e[i].name))
      return io_fail(c, LT_EVALUE, "duplicate member '%s'", z->e[i].name);
  return LT_OK;
}

/* Parses the d->entries central headers into z, copying the names into z->names; together they
 * must fill the directory's cd_size bytes exactly. */
static LtStatus read_directory(IoCtx *c, IoSrc *s, const Eocd *d, IoZip *z) {
  uint8_t *cd = io_alloc(c, (size_t)d->cd_size);
  if (!cd) return LT_ENOMEM;
  LtStatus st = io_src_read(c, s, d->cd_off, cd, (size_t)d->cd_size);
  /* names gets cd_size bytes: each entry takes 46 + its name length in the directory, more than
   * the name and its NUL need. */
  size_t pos = 0, npos = 0;
  z->names_n = (size_t)d->cd_size;
  if (st == LT_OK && !(z->names = io_alloc(c, z->names_n))) st = LT_ENOMEM;
  z->n = (size_t)d->entries;
  if (st == LT_OK && !(z->e = io_calloc(c, sizeof *z->e * (z->n ? z->n : 1)))) st = LT_ENOMEM;
  for (size_t i = 0; st == LT_OK && i < z->n; i++) {
    size_t used = 0;
    st = parse_central(c, cd + pos, (size_t)d->cd_size - pos, &z->e[i], &used);
    if (st) break;
    size_t nl = io_le16(cd + pos + 28);
    memcpy(z->names + npos, cd + pos + 46, nl);
    z->names[npos + nl] = 0;
    z->e[i].name = z->names + npos;
    npos += nl + 1;
    pos += used;
  }
  if (st == LT_OK && pos != d->cd_size)
    st = io_fail(c, LT_EVALUE, "central directory size does not match its entries");
  io_free(c, cd, (size_t)d->cd_size);
  return st;
}

LtStatus io_zip_open(IoCtx *c, IoSrc *s, IoZip *z) {
  Eocd d = {0, 0, 0, 0};
  memset(z, 0, sizeof *z);
  LtStatus st = find_eocd(c, s, &d);
  if (st == LT_OK) st = read_zip64_eocd(c, s, &d);
  if (st) return st;
  if (d.entries > IO_ZIP_MAX_ENTRIES)
    return io_fail(c, LT_ERANGE, "%llu members, more than the %d supported",
                   (unsigned long long)d.entries, IO_ZIP_MAX_ENTRIES);
  /* All checked before read_directory allocates cd_size bytes: a header's numbers are not
   * trusted with memory. */
  if (d.cd_size > IO_ZIP_MAX_CD || d.cd_size < 46 * d.entries || d.cd_off > d.cd_limit ||
      d.cd_limit - d.cd_off < d.cd_size)
    return io_fail(c, LT_EVALUE, "corrupt central directory (offset %llu, size %llu)",
                   (unsigned long long)d.cd_off, (unsigned long long)d.cd_size);
  /* Each step trusts only what the previous one checked: the directory, then every local header
   * against it, then the layout as a whole. */
  st = read_directory(c, s, &d, z);
  for (size_t i = 0; st == LT_OK && i < z->n; i++) st = check_local(c, s, &z->e[i], d.cd_off);
  if (st == LT_OK) st = check_layout(c, z);
  if (st) io_zip_close(c, z);
  return st;
}

void io_zip_close(IoCtx *c, IoZip *z) {
  io_free(c, z->e, sizeof *z->e * (z->n ? z->n : 1));
  io_free(c, z->names, z->names_n);
  memset(z, 0, sizeof *z);
}

const IoZipEntry *io_zip_find(const IoZip *z, const char *name) {
  size_t lo = 0, hi = z->n;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    int r = strcmp(z->e[mid].name, name);
    if (r == 0) return &z->e[mid];
    if (r < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return NULL;
}

/* check_local verified that e's data lies inside s, so the window or stream cannot reach outside
 * the member. */
LtStatus io_zip_member(IoCtx *c, IoSrc *s, const IoZipEntry *e, IoSrc **out) {
  LtStatus st = e->method == 0 ? io_src_window(c, s, e->data_off, e->csize, out)
                               : io_src_inflate(c, s, e->data_off, e->csize, 0, e->usize, out);
  if (st == LT_OK) io_src_check_crc(*out, e->crc);
  return st;
}

/* ---- writer ------------------------------------------------------------------ */

/* Every member is written with a ZIP64 extra field (sizes patched after the data) so that a
 * member's size need not be known in advance, as NumPy's savez and torch.save do. */
#define ZBUF     (256 * 1024)
#define DOS_DATE 0x0021 /* 1980-01-01: archives are byte-for-byte reproducible */

void io_zipw_init(IoZipWriter *zw, IoWriter *w) {
  memset(zw, 0, sizeof *zw);
  zw->w = w;
}

LtStatus io_zipw_begin(IoCtx *c, IoZipWriter *zw, const char *name, size_t nl, int deflate,
                       unsigned align) {
  LtStatus st = io_zip_check_name(c, name, nl);
  if (st) return st;
  if (zw->n == zw->cap) {
    size_t cap = zw->cap ? zw->cap * 2 : 16;
    IoZipWEntry *e = io_alloc(c, cap * sizeof *e);
    if (!e) return LT_ENOMEM;
    if (zw->n) memcpy(e, zw->e, zw->n * sizeof *e);
    io_free(c, zw->e, zw->cap * sizeof *e);
    zw->e = e;
    zw->cap = cap;
  }
  IoZipWEntry *e = &zw->e[zw->n];
  memset(e, 0, sizeof *e);
  if (!(e->name = io_alloc(c, nl + 1))) return LT_ENOMEM;
  memcpy(e->name, name, nl);
  e->name[nl] = 0;
  e->name_n = nl + 1;
  zw->n++;
  e->lho = zw->w->pos;
  e->method = deflate ? 8 : 0;
  /* The data starts after the local header, the name and the 20-byte ZIP64 extra field; when
   * aligning, a second extra field of id 0x4246 ("FB", what PyTorch's writer uses) padded with
   * 'Z' moves it to the next multiple of align. */
  uint64_t base = e->lho + 30 + nl + 20;
  size_t pad = align ? (align - (size_t)((base + 4) % align)) % align : 0;
  size_t xl = 20 + (align ? 4 + pad : 0);
  uint8_t h[30 + 24];
  io_put32(h, SIG_LOCAL);
  /* Version 4.5 (ZIP64), flag bit 11 (names are UTF-8), no time, sizes 0xFFFFFFFF: the real ones
   * are in the ZIP64 field. */
  io_put16(h + 4, 45);
  io_put16(h + 6, 0x0800);
  io_put16(h + 8, e->method);
  io_put16(h + 10, 0);
  io_put16(h + 12, DOS_DATE);
  io_put32(h + 14, 0);
  io_put32(h + 18, 0xFFFFFFFFu);
  io_put32(h + 22, 0xFFFFFFFFu);
  io_put16(h + 26, (uint16_t)nl);
  io_put16(h + 28, (uint16_t)xl);
  st = io_writer_write(c, zw->w, h, 30);
  if (st == LT_OK) st = io_writer_write(c, zw->w, name, nl);
  memset(h, 0, sizeof h);
  io_put16(h, 1);
  io_put16(h + 2, 16);
  /* The ZIP64 field's two sizes, patched by io_zipw_end, start after its 4-byte header. */
  zw->extra_off = zw->w->pos + 4;
  if (st == LT_OK) st = io_writer_write(c, zw->w, h, 20);
  if (st == LT_OK && align) {
    /* pad < align: room for an alignment up to 4096. */
    uint8_t p[4 + 64 + 4096];
    io_put16(p, 0x4246);
    io_put16(p + 2, (uint16_t)pad);
    memset(p + 4, 'Z', pad);
    st = io_writer_write(c, zw->w, p, 4 + pad);
  }
  if (st) return st;
  zw->open = 1;
  zw->deflate = deflate;
  zw->crc = (uint32_t)crc32(0, NULL, 0);
  zw->usize = 0;
  zw->data_start = zw->w->pos;
  if (deflate) {
    z_stream *z = io_calloc(c, sizeof *z);
    if (!z) return LT_ENOMEM;
    if (!(zw->zbuf = io_alloc(c, ZBUF)) ||
        deflateInit2(z, 6, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
      io_free(c, z, sizeof *z);
      return io_fail(c, LT_ENOMEM, "cannot start zlib");
    }
    zw->z = z;
  }
  return LT_OK;
}

/* Compresses p[0..n) into the member; Z_FINISH ends the stream. Loops while deflate filled the
 * whole output buffer, since it may hold more back. */
static LtStatus deflate_out(IoCtx *c, IoZipWriter *zw, const void *p, size_t n, int flush) {
  z_stream *z = zw->z;
  z->next_in = (Bytef *)(uintptr_t)p;
  z->avail_in = (uInt)n;
  int r;
  do {
    z->next_out = zw->zbuf;
    z->avail_out = ZBUF;
    r = deflate(z, flush);
    if (r == Z_STREAM_ERROR) return io_fail(c, LT_EVALUE, "zlib deflate failed");
    LtStatus st = io_writer_write(c, zw->w, zw->zbuf, ZBUF - z->avail_out);
    if (st) return st;
  } while (z->avail_out == 0 || (flush == Z_FINISH && r != Z_STREAM_END));
  return LT_OK;
}

LtStatus io_zipw_data(IoCtx *c, IoZipWriter *zw, const void *p, size_t n) {
  const uint8_t *b = p;
  while (n > 0) {
    /* zlib lengths are 32-bit. */
    size_t k = n > (1u << 30) ? (1u << 30) : n;
    zw->crc = (uint32_t)crc32(zw->crc, b, (uInt)k);
    zw->usize += k;
    LtStatus st =
        zw->deflate ? deflate_out(c, zw, b, k, Z_NO_FLUSH) : io_writer_write(c, zw->w, b, k);
    if (st) return st;
    b += k;
    n -= k;
  }
  return LT_OK;
}

static void end_deflate(IoCtx *c, IoZipWriter *zw) {
  if (zw->z) {
    deflateEnd(zw->z);
    io_free(c, zw->z, sizeof(z_stream));
    zw->z = NULL;
  }
  io_free(c, zw->zbuf, ZBUF);
  zw->zbuf = NULL;
}

LtStatus io_zipw_end(IoCtx *c, IoZipWriter *zw) {
  IoZipWEntry *e = &zw->e[zw->n - 1];
  LtStatus st = zw->deflate ? deflate_out(c, zw, NULL, 0, Z_FINISH) : LT_OK;
  end_deflate(c, zw);
  zw->open = 0;
  if (st) return st;
  e->crc = zw->crc;
  e->usize = zw->usize;
  e->csize = zw->w->pos - zw->data_start;
  uint8_t b[16];
  /* The local header's CRC field and the ZIP64 sizes are patched in place now that they are
   * known; the 32-bit size fields keep 0xFFFFFFFF. */
  io_put32(b, e->crc);
  st = io_writer_pwrite(c, zw->w, e->lho + 14, b, 4);
  io_put64(b, e->usize);
  io_put64(b + 8, e->csize);
  return st ? st : io_writer_pwrite(c, zw->w, zw->extra_off, b, 16);
}

/* One central header: the local header's fields plus all three of usize, csize and offset in a
 * 24-byte ZIP64 field, since their 32-bit fields all read 0xFFFFFFFF. */
static LtStatus write_central(IoCtx *c, IoZipWriter *zw, const IoZipWEntry *e) {
  uint8_t h[46 + 28];
  size_t nl = e->name_n - 1;
  io_put32(h, SIG_CENTRAL);
  /* Made by Unix (3), version 4.5; the top half of the external attributes is the Unix mode, a
   * regular file with 0644. */
  io_put16(h + 4, 0x0300 | 45);
  io_put16(h + 6, 45);
  io_put16(h + 8, 0x0800);
  io_put16(h + 10, e->method);
  io_put16(h + 12, 0);
  io_put16(h + 14, DOS_DATE);
  io_put32(h + 16, e->crc);
  io_put32(h + 20, 0xFFFFFFFFu);
  io_put32(h + 24, 0xFFFFFFFFu);
  io_put16(h + 28, (uint16_t)nl);
  io_put16(h + 30, 28);
  io_put16(h + 32, 0);
  io_put16(h + 34, 0);
  io_put16(h + 36, 0);
  io_put32(h + 38, 0100644u << 16);
  io_put32(h + 42, 0xFFFFFFFFu);
  LtStatus st = io_writer_write(c, zw->w, h, 46);
  if (st == LT_OK) st = io_writer_write(c, zw->w, e->name, nl);
  io_put16(h, 1);
  io_put16(h + 2, 24);
  io_put64(h + 4, e->usize);
  io_put64(h + 12, e->csize);
  io_put64(h + 20, e->lho);
  return st ? st : io_writer_write(c, zw->w, h, 28);
}

LtStatus io_zipw_finish(IoCtx *c, IoZipWriter *zw) {
  uint64_t cd_off = zw->w->pos;
  LtStatus st = LT_OK;
  for (size_t i = 0; i < zw->n && st == LT_OK; i++) st = write_central(c, zw, &zw->e[i]);
  if (st) return st;
  /* ZIP64 end record, its locator, then the classic end record with saturated values, as readers
   * that do not know ZIP64 still look for the latter. */
  uint64_t cd_size = zw->w->pos - cd_off, eocd64 = zw->w->pos;
  uint8_t r[56 + 20 + 22];
  memset(r, 0, sizeof r);
  io_put32(r, SIG_EOCD64);
  io_put64(r + 4, 44);
  io_put16(r + 12, 45);
  io_put16(r + 14, 45);
  io_put64(r + 24, zw->n);
  io_put64(r + 32, zw->n);
  io_put64(r + 40, cd_size);
  io_put64(r + 48, cd_off);
  uint8_t *l = r + 56;
  io_put32(l, SIG_LOC64);
  io_put64(l + 8, eocd64);
  io_put32(l + 16, 1);
  uint8_t *e = l + 20;
  uint16_t n16 = zw->n > 0xFFFF ? 0xFFFF : (uint16_t)zw->n;
  io_put32(e, SIG_EOCD);
  io_put16(e + 8, n16);
  io_put16(e + 10, n16);
  io_put32(e + 12, cd_size > 0xFFFFFFFFu ? 0xFFFFFFFFu : (uint32_t)cd_size);
  io_put32(e + 16, cd_off > 0xFFFFFFFFu ? 0xFFFFFFFFu : (uint32_t)cd_off);
  return io_writer_write(c, zw->w, r, sizeof r);
}

void io_zipw_free(IoCtx *c, IoZipWriter *zw) {
  end_deflate(c, zw);
  for (size_t i = 0; i < zw->n; i++) io_free(c, zw->e[i].name, zw->e[i].name_n);
  io_free(c, zw->e, zw->cap * sizeof *zw->e);
  zw->e = NULL;
  zw->n = zw->cap = 0;
}
