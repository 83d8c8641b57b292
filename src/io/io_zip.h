/* io_zip.h - zip archives (the container of .npz and torch.save files): a validating reader and a
 * ZIP64 writer (core, no Lua). */
#ifndef LUNETTE_IO_ZIP_H
#define LUNETTE_IO_ZIP_H
#include "io/io_src.h"

#define IO_ZIP_MAX_ENTRIES 65536
#define IO_ZIP_MAX_CD      ((uint64_t)64 << 20)

typedef struct {
  const char *name;       /* NUL-terminated, inside IoZip.names */
  uint16_t method, flags; /* method 0 (stored) or 8 (deflated) */
  uint32_t crc;
  uint64_t csize, usize;  /* compressed and uncompressed sizes */
  uint64_t lho, data_off; /* local header and data offsets */
} IoZipEntry;

typedef struct {
  IoZipEntry *e; /* sorted by name, names unique */
  size_t n;
  char *names;
  size_t names_n;
} IoZip;

/* Reads and validates the whole directory of the archive in s: the
 * end-of-central-directory record (ZIP64 record and locator when present;
 * single volume only), every central header (at most IO_ZIP_MAX_ENTRIES,
 * directory at most IO_ZIP_MAX_CD bytes), every local header against its
 * central header (name, method, and sizes/CRC unless the entry uses a
 * data descriptor), methods stored/deflate only, no encryption, names
 * without NUL, backslash, leading '/' or '..' components, no duplicate
 * names, and member ranges that neither overlap nor reach into the
 * directory (the overlapping-entries zip bomb). *z is empty on failure. */
LtStatus io_zip_open(IoCtx *c, IoSrc *s, IoZip *z);
/* The one rule for member names, which the reader applies to every central
 * header and the writer to every member before writing it, so lunette never
 * writes an archive it would refuse: 1..65535 bytes, no NUL byte, no
 * backslash, not absolute (a leading '/'), no '..' component. Fails with
 * LT_EVALUE and a message that quotes the name. */
LtStatus io_zip_check_name(IoCtx *c, const char *name, size_t len);
/* Frees the directory and zeroes *z (io_zip_open already did so when it failed); idempotent. */
void io_zip_close(IoCtx *c, IoZip *z);
/* The entry named exactly name (a binary search of the sorted directory), or NULL. */
const IoZipEntry *io_zip_find(const IoZip *z, const char *name);
/* A source for the member's uncompressed bytes (a window or an inflate
 * stream of exactly usize bytes) that verifies the CRC-32 once it has
 * been read through sequentially. The caller closes it before s. */
LtStatus io_zip_member(IoCtx *c, IoSrc *s, const IoZipEntry *e, IoSrc **out);

/* ---- writer ---------------------------------------------------------------- */

typedef struct {
  char *name;
  size_t name_n;
  uint16_t method;
  uint32_t crc;
  uint64_t csize, usize, lho;
} IoZipWEntry;

/* Writes members one at a time into an IoWriter: always ZIP64 extra fields
 * and ZIP64 end records (as NumPy's savez and torch.save do), sizes and
 * CRCs patched into the local header after the data (no data
 * descriptors), optional alignment of member data (torch uses 64). */
typedef struct {
  IoWriter *w;
  IoZipWEntry *e;
  size_t n, cap;
  void *z; /* z_stream while a deflated member is open */
  uint8_t *zbuf;
  int open, deflate;
  uint64_t extra_off; /* where the current member's ZIP64 sizes go */
  uint64_t data_start;
  uint32_t crc;
  uint64_t usize;
} IoZipWriter;

/* Starts a writer that appends to w, which the caller opened and commits or aborts; allocates
 * nothing. */
void io_zipw_init(IoZipWriter *zw, IoWriter *w);
/* Starts member name[0..len) (refused, writing nothing, unless it passes
 * io_zip_check_name); align > 0 pads its data start to a multiple. */
LtStatus io_zipw_begin(IoCtx *c, IoZipWriter *zw, const char *name, size_t len, int deflate,
                       unsigned align);
/* Appends n bytes to the open member (compressed as they come when it deflates), updating its
 * CRC and size. Fails as io_writer_write does, or EVALUE when zlib fails. */
LtStatus io_zipw_data(IoCtx *c, IoZipWriter *zw, const void *p, size_t n);
/* Ends the open member: flushes the compressor, then patches the CRC and the ZIP64 sizes into
 * its local header. */
LtStatus io_zipw_end(IoCtx *c, IoZipWriter *zw);
/* Writes the central directory and end records (the writer is then ready
 * for io_writer_commit). */
LtStatus io_zipw_finish(IoCtx *c, IoZipWriter *zw);
/* Frees the entries and a compressor left open by a failure; not w. Idempotent. */
void io_zipw_free(IoCtx *c, IoZipWriter *zw);

#endif
