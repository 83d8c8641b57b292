/* io_pt.c - torch.save archives: format detection, layout and storage-record validation, reading
 * storages, writing checkpoints. */
#include <stdio.h>
#include <string.h>
#include "io/io_pt.h"

/* Tells legacy checkpoints and other files from a zip. */
static LtStatus check_magic(IoCtx *c, IoSrc *s) {
  uint8_t b[512];
  uint64_t size = io_src_size(s);
  size_t n = size < sizeof b ? (size_t)size : sizeof b;
  LtStatus st = io_src_read(c, s, 0, b, n);
  if (st) return st;
  if (n >= 4 && !memcmp(b, "PK\3\4", 4)) return LT_OK;
  /* Before PyTorch 1.6, torch.save wrote a bare pickle (PROTO first) or, older still, a tar
   * archive ("ustar" at byte 257). */
  if ((n >= 2 && b[0] == 0x80 && b[1] <= 5) || (n >= 262 && !memcmp(b + 257, "ustar", 5)))
    return io_fail(c, LT_EVALUE,
                   "legacy torch.save format (before PyTorch 1.6) is not supported; "
                   "re-save it with a recent torch.save");
  return io_fail(c, LT_EVALUE, "not a PyTorch checkpoint (not a torch.save zip archive)");
}

static int starts_with(const char *s, const char *p) { return !strncmp(s, p, strlen(p)); }

static int is_pickle(const char *name) {
  size_t n = strlen(name);
  return n >= 4 && !strcmp(name + n - 4, ".pkl");
}

/* One top folder, one pickle, no TorchScript. */
static LtStatus check_layout(IoCtx *c, IoPt *pt) {
  if (pt->zip.n == 0) return io_fail(c, LT_EVALUE, "empty archive");
  /* torch.save puts everything under one folder named after the file; the first member by name
   * gives it. */
  const char *first = pt->zip.e[0].name, *slash = strchr(first, '/');
  if (!slash || (size_t)(slash - first) > IO_PT_MAX_NAME)
    return io_fail(c, LT_EVALUE, "not a torch.save archive (members are not in one folder)");
  memcpy(pt->prefix, first, (size_t)(slash - first) + 1);
  pt->prefix[slash - first + 1] = 0;
  size_t pl = strlen(pt->prefix);
  for (size_t i = 0; i < pt->zip.n; i++) {
    const char *name = pt->zip.e[i].name;
    if (!starts_with(name, pt->prefix))
      return io_fail(c, LT_EVALUE, "not a torch.save archive (members in several folders)");
    /* TorchScript archives (torch.jit.save) hold code, which a data reader must not pretend to
     * load. */
    if (!strcmp(name + pl, "constants.pkl") || starts_with(name + pl, "code/"))
      return io_fail(c, LT_EVALUE,
                     "TorchScript archives are not supported (they contain code); "
                     "save the model's state_dict() with torch.save instead");
  }
  for (size_t i = 0; i < pt->zip.n; i++) {
    const char *name = pt->zip.e[i].name;
    /* A second pickle could hold what data.pkl leaves out; rather than guess which is the
     * checkpoint, refuse. */
    if (is_pickle(name) && strcmp(name + pl, "data.pkl"))
      return io_fail(c, LT_EVALUE, "ambiguous checkpoint: a second pickle '%s' besides data.pkl",
                     name);
  }
  return LT_OK;
}

/* Path of a member below the prefix. */
static const IoZipEntry *member(const IoPt *pt, const char *rest) {
  char full[512];
  if (snprintf(full, sizeof full, "%s%s", pt->prefix, rest) >= (int)sizeof full) return NULL;
  return io_zip_find(&pt->zip, full);
}

/* Reads a small member whole into buf (NUL-terminated). */
static LtStatus read_small(IoCtx *c, IoSrc *s, const IoZipEntry *e, size_t cap, uint8_t **buf,
                           size_t *n) {
  IoSrc *m;
  LtStatus st = io_zip_member(c, s, e, &m);
  if (st) return st;
  st = io_src_slurp(c, m, cap, buf, n);
  io_src_close(c, m);
  if (st && st != LT_ENOMEM) {
    char msg[IO_MSG];
    /* Copied first: io_fail formats into c->msg, which may not also be its argument. */
    snprintf(msg, sizeof msg, "%s", c->msg);
    io_fail(c, st, "%s: %s", e->name, msg);
  }
  return st;
}

/* The optional byteorder record: "little" or "big", the byte order of every storage record. */
static LtStatus read_byteorder(IoCtx *c, IoSrc *s, IoPt *pt) {
  const IoZipEntry *e = member(pt, "byteorder");
  uint8_t *b;
  size_t n;
  if (!e) return LT_OK; /* absent: little-endian, as torch.load assumes */
  LtStatus st = read_small(c, s, e, 64, &b, &n);
  if (st) return st;
  if (n == 6 && !memcmp(b, "little", 6))
    pt->big_endian = 0;
  else if (n == 3 && !memcmp(b, "big", 3))
    pt->big_endian = 1;
  else
    st = io_fail(c, LT_EVALUE, "byteorder record must be 'little' or 'big'");
  io_free(c, b, n + 1);
  return st;
}

/* Matches each storage the pickle names with its record data/<key>, checking its size now so
 * that reading storages later cannot run short. */
static LtStatus find_records(IoCtx *c, IoPt *pt) {
  uint64_t inflated = 0;
  pt->nrec = pt->pk.nstorages;
  if (!(pt->records = io_calloc(c, (pt->nrec ? pt->nrec : 1) * sizeof *pt->records)))
    return LT_ENOMEM;
  for (size_t i = 0; i < pt->nrec; i++) {
    const PkStorage *s = &pt->pk.storages[i];
    char rest[64];
    snprintf(rest, sizeof rest, "data/%s", s->key);
    const IoZipEntry *e = member(pt, rest);
    if (!e) return io_fail(c, LT_EVALUE, "storage record '%s%s' is missing", pt->prefix, rest);
    /* No overflow: op_persid bounded numel * size by IO_MAX_TENSOR_BYTES. */
    uint64_t want = s->numel * io_stype_size(s->st);
    if (e->usize != want)
      return io_fail(
          c, LT_EVALUE,
          "storage '%s' declares %llu elements of %s (%llu bytes) but its record holds %llu bytes",
          s->key, (unsigned long long)s->numel, io_stype_name(s->st), (unsigned long long)want,
          (unsigned long long)e->usize);
    /* Each compressed record is within the cap alone (io_src_inflate checks that); their sum
     * bounds the whole load. */
    if (e->method != 0 && (!io_add_u64(inflated, e->usize, &inflated) || inflated > c->max_inflate))
      return io_fail(c, LT_ERANGE, "compressed storages would inflate past the %llu-byte limit",
                     (unsigned long long)c->max_inflate);
    pt->records[i] = e;
  }
  return LT_OK;
}

/* Reads <prefix>data.pkl whole (at most IO_PK_MAX_BYTES) and unpickles it into pt->pk. */
static LtStatus load_pickle(IoCtx *c, IoSrc *s, IoPt *pt) {
  const IoZipEntry *e = member(pt, "data.pkl");
  uint8_t *b;
  size_t n;
  if (!e) return io_fail(c, LT_EVALUE, "not a torch.save archive (no %sdata.pkl)", pt->prefix);
  LtStatus st = read_small(c, s, e, IO_PK_MAX_BYTES, &b, &n);
  if (st) return st;
  st = io_pickle_load(c, b, n, &pt->pk);
  io_free(c, b, n + 1);
  return st;
}

LtStatus io_pt_open(IoCtx *c, IoSrc *s, IoPt *pt) {
  memset(pt, 0, sizeof *pt);
  LtStatus st = check_magic(c, s);
  if (st == LT_OK) st = io_zip_open(c, s, &pt->zip);
  if (st) return st;
  st = check_layout(c, pt);
  if (st == LT_OK) st = read_byteorder(c, s, pt);
  if (st == LT_OK) st = load_pickle(c, s, pt);
  if (st == LT_OK) st = find_records(c, pt);
  if (st) io_pt_close(c, pt);
  return st;
}

void io_pt_close(IoCtx *c, IoPt *pt) {
  io_pickle_free(c, &pt->pk);
  io_free(c, pt->records, (pt->nrec ? pt->nrec : 1) * sizeof *pt->records);
  io_zip_close(c, &pt->zip);
  memset(pt, 0, sizeof *pt);
}

LtStatus io_pt_read_storage(IoCtx *c, IoSrc *s, const IoPt *pt, size_t i, void *dst) {
  const PkStorage *ps = &pt->pk.storages[i];
  IoSrc *m;
  IoArray a;
  memset(&a, 0, sizeof a);
  a.st = ps->st;
  a.swap = pt->big_endian;
  a.ndim = 1;
  a.shape[0] = (int64_t)ps->numel;
  /* A storage is a 1-d array at offset 0 of its record. */
  a.nbytes = ps->numel * io_stype_size(ps->st);
  LtStatus st = io_zip_member(c, s, pt->records[i], &m);
  if (st) return st;
  st = io_array_read(c, m, &a, dst);
  io_src_close(c, m);
  if (st && st != LT_EINTR && st != LT_ENOMEM) {
    char msg[IO_MSG];
    snprintf(msg, sizeof msg, "%s", c->msg);
    io_fail(c, st, "%s: %s", pt->records[i]->name, msg);
  }
  return st;
}

/* ---- writing --------------------------------------------------------------------- */

LtStatus io_pt_check_name(IoCtx *c, const char *name, size_t len) {
  char member[IO_PT_MAX_NAME + 16];
  int shown = (int)(len > 64 ? 64 : len);
  if (len == 0) return io_fail(c, LT_EVALUE, "archive name is empty");
  if (len > IO_PT_MAX_NAME)
    return io_fail(c, LT_EVALUE, "archive name '%.64s...' is longer than %d bytes", name,
                   IO_PT_MAX_NAME);
  if (memchr(name, '/', len))
    return io_fail(c, LT_EVALUE, "archive name '%.*s' is not a plain folder name (has a '/')",
                   shown, name);
  memcpy(member, name, len);
  /* Checked as the reader will see it: a member name under the folder. */
  memcpy(member + len, "/data.pkl", 9);
  return io_zip_check_name(c, member, len + 9);
}

/* Writes member <name>/<rest> holding p[0..n), stored and 64-byte aligned like torch.save's. */
static LtStatus small_member(IoCtx *c, IoZipWriter *zw, const char *name, const char *rest,
                             const void *p, size_t n) {
  char full[512];
  if (snprintf(full, sizeof full, "%s/%s", name, rest) >= (int)sizeof full)
    return io_fail(c, LT_EVALUE, "archive name too long");
  LtStatus st = io_zipw_begin(c, zw, full, strlen(full), 0, 64);
  if (st == LT_OK) st = io_zipw_data(c, zw, p, n);
  return st ? st : io_zipw_end(c, zw);
}

LtStatus io_pt_check_pickle(IoCtx *c, const PkWriter *pkl) {
  if (pkl->st) return pkl->st; /* io_alloc said why */
  /* The reader's cap (load_pickle): a checkpoint over it could be written but never loaded. */
  if (pkl->n > IO_PK_MAX_BYTES)
    return io_fail(c, LT_ERANGE,
                   "the value pickles to %zu bytes, over the %zu-byte data.pkl limit of load_pt "
                   "(large data belongs in tensors, which are stored apart)",
                   pkl->n, IO_PK_MAX_BYTES);
  return LT_OK;
}

LtStatus io_pt_write_begin(IoCtx *c, IoZipWriter *zw, const char *name, const PkWriter *pkl) {
  LtStatus st = io_pt_check_pickle(c, pkl);
  if (st) return st;
  st = small_member(c, zw, name, "data.pkl", pkl->p, pkl->n);
  /* lunette writes its little-endian memory as is. */
  return st ? st : small_member(c, zw, name, "byteorder", "little", 6);
}

LtStatus io_pt_write_storage(IoCtx *c, IoZipWriter *zw, const char *name, size_t key, const void *p,
                             size_t n) {
  char rest[64];
  snprintf(rest, sizeof rest, "data/%zu", key);
  return small_member(c, zw, name, rest, p, n);
}

LtStatus io_pt_write_end(IoCtx *c, IoZipWriter *zw, const char *name) {
  /* The archive format version PyTorch's own writer records; its reader checks it. */
  LtStatus st = small_member(c, zw, name, "version", "3\n", 2);
  return st ? st : io_zipw_finish(c, zw);
}
