/* io_pt.h - PyTorch checkpoints (torch.save zip format): archive layout checks, the restricted
 * unpickler, storage records; and writing the same layout (core, no Lua). */
#ifndef LUNETTE_IO_PT_H
#define LUNETTE_IO_PT_H
#include "io/io_pickle.h"
#include "io/io_zip.h"

/* The longest top folder name the reader takes (prefix holds it, '/', NUL). */
#define IO_PT_MAX_NAME 254

typedef struct {
  IoZip zip;
  char prefix[IO_PT_MAX_NAME + 2]; /* the archive's top folder, with its '/' */
  int big_endian;                  /* from the byteorder record (default little) */
  PkResult pk;
  const IoZipEntry **records; /* records[i]: data/<key> of storage i */
  size_t nrec;
} IoPt;

/* Opens a torch.save checkpoint: refuses legacy (pre-1.6 tar or bare
 * pickle) files and TorchScript archives (constants.pkl or code/) with a
 * "not supported" message, requires every member to sit in one top
 * folder holding exactly one pickle, data.pkl, checks the optional
 * byteorder record ("little" or "big"), unpickles data.pkl with the
 * restricted unpickler, and checks that each storage's record
 * data/<key> exists with exactly numel * element-size bytes (and that
 * compressed records do not together exceed c->max_inflate). *pt is
 * empty on failure. */
LtStatus io_pt_open(IoCtx *c, IoSrc *s, IoPt *pt);
/* Frees everything io_pt_open built (not the source s) and zeroes *pt; io_pt_open already did so
 * when it failed; idempotent. */
void io_pt_close(IoCtx *c, IoPt *pt);
/* Reads storage i (numel elements, converted to its lunette dtype and
 * byte-swapped from a big-endian archive) into dst. */
LtStatus io_pt_read_storage(IoCtx *c, IoSrc *s, const IoPt *pt, size_t i, void *dst);

/* Whether name[0..len) can be a checkpoint's top folder that io_pt_open
 * takes back: 1..IO_PT_MAX_NAME bytes, no '/', and members <name>/... that
 * pass io_zip_check_name (no NUL, backslash or '..'). LT_EVALUE with a
 * message quoting the name otherwise. */
LtStatus io_pt_check_name(IoCtx *c, const char *name, size_t len);

/* Whether the pickle pkl built is one io_pt_open reads back: its allocation status when that
 * failed, LT_ERANGE with a message when it is over IO_PK_MAX_BYTES, else LT_OK. Call it before
 * opening the file, so that a refused value leaves none. */
LtStatus io_pt_check_pickle(IoCtx *c, const PkWriter *pkl);

/* Writes a checkpoint torch.load reads: members <name>/data.pkl,
 * <name>/byteorder, <name>/data/<k> for each storage, <name>/version, all
 * stored and 64-byte aligned like torch.save's own. The caller adds the
 * storages with io_pt_write_storage between io_pt_write_begin and
 * io_pt_write_end; name must pass io_pt_check_name, pkl io_pt_check_pickle (io_pt_write_begin
 * checks it again). */
LtStatus io_pt_write_begin(IoCtx *c, IoZipWriter *zw, const char *name, const PkWriter *pkl);
LtStatus io_pt_write_storage(IoCtx *c, IoZipWriter *zw, const char *name, size_t key, const void *p,
                             size_t n);
LtStatus io_pt_write_end(IoCtx *c, IoZipWriter *zw, const char *name);

#endif
