/* io_parquet.c - Parquet column chunks: page headers, codecs, levels, encodings, row assembly. */
#include "io/io_parquet.h"
#include "io/io_parquet_page.h"
#include "io/io_thrift.h"
#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <lz4.h>
#include <snappy-c.h>
#include <zlib.h>
#include <zstd.h>

#define TR_MAX_DEPTH 64

/* ---- Codecs ------------------------------------------------------------------------------- */

/* libsnappy, libzstd and liblz4 by dlopen: only files that use them pay for loading them, and a
 * machine without them still reads uncompressed and GZIP files. */
/* The prototypes come from the libraries' headers (libsnappy-dev, libzstd-dev, liblz4-dev), so
 * the table's types are checked; nothing links against the libraries. */
typedef struct {
  __typeof__(snappy_uncompressed_length) *snappy_uncompressed_length;
  __typeof__(snappy_uncompress) *snappy_uncompress;
  __typeof__(ZSTD_decompress) *ZSTD_decompress;
  __typeof__(ZSTD_isError) *ZSTD_isError;
  __typeof__(LZ4_decompress_safe) *LZ4_decompress_safe;
} Codecs;
static Codecs codecs;
static pthread_once_t codecs_once = PTHREAD_ONCE_INIT;

static void *sym(void *h, const char *name) { return h ? dlsym(h, name) : NULL; }

static void load_codecs(void) {
  void *h = dlopen("libsnappy.so.1", RTLD_NOW | RTLD_LOCAL);
  *(void **)&codecs.snappy_uncompressed_length = sym(h, "snappy_uncompressed_length");
  *(void **)&codecs.snappy_uncompress = sym(h, "snappy_uncompress");
  h = dlopen("libzstd.so.1", RTLD_NOW | RTLD_LOCAL);
  *(void **)&codecs.ZSTD_decompress = sym(h, "ZSTD_decompress");
  *(void **)&codecs.ZSTD_isError = sym(h, "ZSTD_isError");
  h = dlopen("liblz4.so.1", RTLD_NOW | RTLD_LOCAL);
  *(void **)&codecs.LZ4_decompress_safe = sym(h, "LZ4_decompress_safe");
}

static const char *CODEC_NAME[] = {"UNCOMPRESSED", "SNAPPY", "GZIP", "LZO",
                                   "BROTLI",       "LZ4",    "ZSTD", "LZ4_RAW"};

/* Decompresses src[0..n) into dst, which must come out exactly `want` bytes (the page header's
 * size: a lying one is an error, never an overrun). */
static LtStatus decompress(IoCtx *c, int codec, const uint8_t *src, size_t n, uint8_t *dst,
                           size_t want) {
  pthread_once(&codecs_once, load_codecs);
  size_t got = 0;
  if (codec == 1) {
    if (!codecs.snappy_uncompress) return io_fail(c, LT_EVALUE, "SNAPPY needs libsnappy1v5");
    size_t len;
    if (codecs.snappy_uncompressed_length((const char *)src, n, &len) != SNAPPY_OK || len != want)
      return io_fail(c, LT_EVALUE, "SNAPPY page size differs from its header");
    got = want;
    if (codecs.snappy_uncompress((const char *)src, n, (char *)dst, &got) != SNAPPY_OK)
      return io_fail(c, LT_EVALUE, "corrupt SNAPPY page");
  } else if (codec == 2) {
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, 15 + 32) != Z_OK) return io_fail(c, LT_ENOMEM, "zlib init failed");
    z.next_in = (Bytef *)(uintptr_t)src;
    z.avail_in = (uInt)n;
    z.next_out = dst;
    z.avail_out = (uInt)want;
    int r = inflate(&z, Z_FINISH);
    got = z.total_out;
    inflateEnd(&z);
    if (r != Z_STREAM_END) return io_fail(c, LT_EVALUE, "corrupt or lying GZIP page");
  } else if (codec == 6) {
    if (!codecs.ZSTD_decompress) return io_fail(c, LT_EVALUE, "ZSTD needs libzstd1");
    size_t r = codecs.ZSTD_decompress(dst, want, src, n);
    if (codecs.ZSTD_isError(r)) return io_fail(c, LT_EVALUE, "corrupt or lying ZSTD page");
    got = r;
  } else if (codec == 7) {
    if (!codecs.LZ4_decompress_safe) return io_fail(c, LT_EVALUE, "LZ4_RAW needs liblz4-1");
    if (n > INT32_MAX || want > INT32_MAX) return io_fail(c, LT_EVALUE, "LZ4 page too large");
    int r = codecs.LZ4_decompress_safe((const char *)src, (char *)dst, (int)n, (int)want);
    if (r < 0) return io_fail(c, LT_EVALUE, "corrupt or lying LZ4_RAW page");
    got = (size_t)r;
  } else {
    return io_fail(c, LT_EVALUE, "compression %s is not supported",
                   codec >= 0 && codec < 8 ? CODEC_NAME[codec] : "(unknown)");
  }
  if (got != want)
    return io_fail(c, LT_EVALUE, "page decompressed to a size other than its header's");
  return LT_OK;
}

/* ---- Page headers ------------------------------------------------------------------------- */


static int dph_field(IoTr *t, void *ud, int id, int type) {
  PageHdr *h = ud;
  if (!io_tr_is_int(type)) return 0;
  int64_t v = io_tr_i32(t);
  if (id == 1) h->nvals = v;
  if (id == 2) h->enc = v;
  return 1;
}

static int v2_field(IoTr *t, void *ud, int id, int type) {
  PageHdr *h = ud;
  if (id == 7 && (type == IO_T_TRUE || type == IO_T_FALSE)) {
    h->compressed = type == IO_T_TRUE;
    return 1;
  }
  if (!io_tr_is_int(type)) return 0;
  int64_t v = io_tr_i32(t);
  switch (id) {
  case 1: h->nvals = v; break;
  case 2: h->nnulls = v; break;
  case 3: h->nrows = v; break;
  case 4: h->enc = v; break;
  case 5: h->def_len = v; break;
  case 6: h->rep_len = v; break;
  default: break;
  }
  return 1;
}

static int page_field(IoTr *t, void *ud, int id, int type) {
  PageHdr *h = ud;
  if (type == IO_T_STRUCT) {
    if (id == 5) {
      h->has_dph = 1;
      io_tr_struct(t, dph_field, h);
    } else if (id == 7) {
      h->has_dict = 1;
      io_tr_struct(t, dph_field, h);
    } else if (id == 8) {
      h->has_v2 = 1;
      io_tr_struct(t, v2_field, h);
    } else {
      return 0;
    }
    return 1;
  }
  if (!io_tr_is_int(type)) return 0;
  int64_t v = io_tr_i32(t);
  if (id == 1) h->type = v;
  if (id == 2) h->usize = v;
  if (id == 3) h->csize = v;
  return 1;
}

/* ---- RLE / bit-packed hybrid -------------------------------------------------------------- */


void io_pq_rle_init(Rle *r, const uint8_t *p, size_t n, int bw) {
  memset(r, 0, sizeof *r);
  r->p = p;
  r->end = p + n;
  r->bw = bw;
}

/* The next value, or -1 when the data ends early or is malformed. */
int64_t io_pq_rle_next(Rle *r) {
  while (!r->run_left && !r->bp_left) {
    uint64_t h = 0;
    int shift = 0;
    for (;;) {
      if (r->p >= r->end || shift > 56) return -1;
      uint8_t b = *r->p++;
      h |= (uint64_t)(b & 0x7f) << shift;
      shift += 7;
      if (!(b & 0x80)) break;
    }
    uint64_t left = (uint64_t)(r->end - r->p);
    if (h & 1) {
      /* Groups of 8 values, bw bytes each; writers may cut the last run short, so only the
       * values whose bits are present are readable. */
      uint64_t groups = h >> 1;
      uint64_t bytes = groups > left ? left : groups * (uint64_t)r->bw;
      if (bytes > left) bytes = left;
      uint64_t nvals = r->bw ? bytes * 8 / (uint64_t)r->bw : groups * 8;
      if (nvals > groups * 8) nvals = groups * 8;
      r->bp = r->p;
      r->bp_bytes = bytes;
      r->bp_left = nvals;
      r->bitpos = 0;
      r->p += bytes;
      if (!nvals && groups) return -1;
    } else {
      int nb = (r->bw + 7) / 8;
      if ((uint64_t)nb > left) return -1;
      uint32_t v = 0;
      for (int i = 0; i < nb; i++) v |= (uint32_t)r->p[i] << (8 * i);
      r->p += nb;
      r->run_val = v;
      r->run_left = h >> 1;
    }
  }
  if (r->run_left) {
    r->run_left--;
    return r->run_val;
  }
  /* The value's bits span at most 5 bytes (bw <= 32), all inside the run: the run's value count
   * was derived from its bytes. */
  uint64_t byte = r->bitpos >> 3, w = 0;
  int sh = (int)(r->bitpos & 7), nb = (sh + r->bw + 7) / 8;
  for (int j = 0; j < nb; j++) w |= (uint64_t)r->bp[byte + (uint64_t)j] << (8 * j);
  uint32_t v = (uint32_t)((w >> sh) & ((1ull << r->bw) - 1));
  r->bitpos += (uint64_t)r->bw;
  r->bp_left--;
  return v;
}

/* Decodes n levels (at most maxv each) into out. */
static LtStatus read_levels(IoCtx *c, const uint8_t *p, size_t len, int64_t n, int maxv,
                            int16_t *out, const char *what) {
  int bw = 0;
  while ((1 << bw) <= maxv) bw++;
  Rle r;
  io_pq_rle_init(&r, p, len, bw);
  int64_t i = 0, bad = -1;
  while (i < n && bad < 0) {
    if (r.run_left) {
      /* A run is filled at once: levels are mostly long runs (no nulls, full lists). */
      if (r.run_val > (uint32_t)maxv) {
        bad = r.run_val;
        break;
      }
      int64_t take = (uint64_t)(n - i) < r.run_left ? n - i : (int64_t)r.run_left;
      for (int64_t k = 0; k < take; k++) out[i + k] = (int16_t)r.run_val;
      r.run_left -= (uint64_t)take;
      i += take;
      continue;
    }
    int64_t v = io_pq_rle_next(&r);
    if (v < 0) return io_fail(c, LT_EVALUE, "%s levels end early", what);
    if (v > maxv)
      bad = v;
    else
      out[i++] = (int16_t)v;
  }
  if (bad >= 0)
    return io_fail(c, LT_EVALUE, "%s level %lld over its maximum %d", what, (long long)bad, maxv);
  return LT_OK;
}

/* ---- Column chunks ------------------------------------------------------------------------ */

void io_pq_column_free(IoCtx *c, IoPqColumn *col) {
  if (col->row_off) io_free(c, col->row_off, col->cap_rows);
  if (col->null) io_free(c, col->null, col->cap_vals);
  if (col->data) io_free(c, col->data, col->cap_vals * col->elem);
  if (col->off) io_free(c, col->off, (col->cap_vals + 1) * sizeof(int64_t));
  if (col->bytes) io_free(c, col->bytes, col->cap_bytes);
  if (col->codes) io_free(c, col->codes, col->cap_vals * sizeof(int32_t));
  if (col->dict_off) io_free(c, col->dict_off, col->cap_dict);
  if (col->dict_bytes) io_free(c, col->dict_bytes, col->cap_dict_bytes);
  memset(col, 0, sizeof *col);
}

/* Grows col->bytes to hold at least `need` bytes. */
static LtStatus grow_bytes(IoCtx *c, IoPqColumn *col, uint64_t need) {
  if (need <= col->cap_bytes) return LT_OK;
  uint64_t cap = col->cap_bytes ? col->cap_bytes : 256;
  while (cap < need) {
    if (cap > UINT64_MAX / 2) return io_fail(c, LT_EOVERFLOW, "strings too large");
    cap *= 2;
  }
  if (cap > SIZE_MAX) return io_fail(c, LT_EOVERFLOW, "strings too large");
  uint8_t *b = io_alloc(c, (size_t)cap);
  if (!b) return LT_ENOMEM;
  if (col->bytes) {
    memcpy(b, col->bytes, col->cap_bytes);
    io_free(c, col->bytes, col->cap_bytes);
  }
  col->bytes = b;
  col->cap_bytes = (size_t)cap;
  return LT_OK;
}

/* Makes sc's chunk (page = 0) or page buffer hold at least need bytes, contents not kept:
 * scratch buffers grow, never shrink. A failure's message lands in c. */
LtStatus io_pq_grow_scratch(IoCtx *c, IoPqScratch *sc, int page, size_t need) {
  uint8_t **p = page ? &sc->page : &sc->chunk;
  size_t *cap = page ? &sc->page_cap : &sc->chunk_cap;
  IoCtx *a = sc->c ? sc->c : c;
  if (*p && need <= *cap) return LT_OK;
  if (*p) io_free(a, *p, *cap);
  *p = NULL;
  *cap = 0;
  size_t n = need ? need : 1;
  if (!(*p = io_alloc(a, n))) {
    if (a != c) memcpy(c->msg, a->msg, sizeof c->msg);
    return LT_ENOMEM;
  }
  *cap = n;
  return LT_OK;
}

void io_pq_scratch_free(IoCtx *c, IoPqScratch *sc) {
  IoCtx *a = sc->c ? sc->c : c;
  if (sc->chunk) io_free(a, sc->chunk, sc->chunk_cap);
  if (sc->page) io_free(a, sc->page, sc->page_cap);
  sc->chunk = sc->page = NULL;
  sc->chunk_cap = sc->page_cap = 0;
}

/* State of one chunk's decoding. */
typedef struct {
  IoCtx *c;
  IoPqScratch *sc; /* chunk and page buffers */
  const IoPqLeaf *l;
  IoPqColumn *col;
  int16_t *def, *rep; /* chunk-wide levels */
  int64_t slot;       /* level slots decoded so far */
  int64_t nslots;
  /* dictionary */
  int has_dict;
  int64_t ndict;
  uint8_t *dict; /* fixed-width: ndict * elem bytes */
  size_t dict_size;
  int all_dict;
  /* Flat text while every page so far was dictionary-coded: only the codes are stored (what the
   * binding returns then); the strings of those slots are written when a PLAIN page ends that. */
  int lazy_text;
  size_t elem;
} Dec;

/* Decodes the PLAIN values of a dictionary page into the dictionary. */
static LtStatus read_dict(Dec *d, const uint8_t *p, size_t n, int64_t count) {
  IoCtx *c = d->c;
  IoPqColumn *col = d->col;
  if (d->has_dict) return io_fail(c, LT_EVALUE, "column '%s' has two dictionaries", d->l->name);
  if (count < 0) return io_fail(c, LT_EVALUE, "negative dictionary size");
  d->has_dict = 1;
  d->ndict = count;
  if (d->l->type == IO_PQ_BYTE_ARRAY) {
    /* Each entry takes at least its 4-byte length. */
    if ((uint64_t)count > n / 4)
      return io_fail(c, LT_EVALUE, "column '%s': dictionary past its page", d->l->name);
    col->cap_dict = ((size_t)count + 1) * sizeof(int64_t);
    col->cap_dict_bytes = n ? n : 1;
    if (!(col->dict_off = io_alloc(c, col->cap_dict)) ||
        !(col->dict_bytes = io_alloc(c, col->cap_dict_bytes)))
      return LT_ENOMEM;
    size_t pos = 0, out = 0;
    col->dict_off[0] = 0;
    for (int64_t i = 0; i < count; i++) {
      if (n - pos < 4)
        return io_fail(c, LT_EVALUE, "column '%s': string past its page", d->l->name);
      uint32_t len = io_le32(p + pos);
      pos += 4;
      if (len > n - pos)
        return io_fail(c, LT_EVALUE, "column '%s': string past its page", d->l->name);
      memcpy(col->dict_bytes + out, p + pos, len);
      pos += len;
      out += len;
      col->dict_off[i + 1] = (int64_t)out;
    }
    col->ndict = count;
    return LT_OK;
  }
  size_t elem = d->l->type == IO_PQ_FIXED ? (size_t)d->l->type_len : d->elem;
  if (d->l->type == IO_PQ_BOOLEAN) return io_fail(c, LT_EVALUE, "boolean dictionary");
  if ((uint64_t)count > n / elem)
    return io_fail(c, LT_EVALUE, "column '%s': dictionary past its page", d->l->name);
  d->dict_size = (size_t)count * elem;
  if (!(d->dict = io_alloc(c, d->dict_size ? d->dict_size : 1))) return LT_ENOMEM;
  memcpy(d->dict, p, d->dict_size);
  return LT_OK;
}

/* Stores string value (p, len) in slot i. */
static LtStatus put_string(Dec *d, int64_t i, const uint8_t *p, size_t len) {
  IoPqColumn *col = d->col;
  uint64_t at = (uint64_t)col->off[i];
  LtStatus st = grow_bytes(d->c, col, at + len);
  if (st) return st;
  if (len) memcpy(col->bytes + at, p, len);
  col->off[i + 1] = (int64_t)(at + len);
  return LT_OK;
}

/* Decodes one data page's values (v[0..n)) for slots [first, first+count). */
static LtStatus read_values(Dec *d, const uint8_t *v, size_t n, int64_t enc, int64_t first,
                            int64_t count) {
  IoCtx *c = d->c;
  IoPqColumn *col = d->col;
  const IoPqLeaf *l = d->l;
  int dict = enc == 2 || enc == 8;
  Rle r;
  uint64_t nnon = (uint64_t)count;
  if (d->def) {
    /* Locals, so the count vectorises (the loads through d and l would be re-read each time). */
    const int16_t *def = d->def + first;
    const int16_t md = (int16_t)l->max_def;
    nnon = 0;
    for (int64_t i = 0; i < count; i++) nnon += def[i] == md;
  }
  if (dict) {
    if (!d->has_dict) return io_fail(c, LT_EVALUE, "column '%s': dictionary page missing", l->name);
    if (n < 1) return io_fail(c, LT_EVALUE, "column '%s': empty dictionary indices", l->name);
    if (v[0] > 32) return io_fail(c, LT_EVALUE, "column '%s': bad index width", l->name);
    io_pq_rle_init(&r, v + 1, n - 1, v[0]);
  } else {
    if (d->lazy_text) {
      /* The slots before this page held only codes: their strings now, in order. */
      d->lazy_text = 0;
      for (int64_t i = 0; i < first; i++) {
        int32_t k = col->codes[i];
        if (k < 0) {
          col->off[i + 1] = col->off[i];
          continue;
        }
        LtStatus st = put_string(d, i, col->dict_bytes + col->dict_off[k],
                                 (size_t)(col->dict_off[k + 1] - col->dict_off[k]));
        if (st) return st;
      }
    }
    d->all_dict = 0;
    if (enc == 3 && l->type == IO_PQ_BOOLEAN) {
      /* RLE booleans (v2 pages): a 4-byte length, then the hybrid with width 1. */
      if (n < 4 || io_le32(v) > n - 4)
        return io_fail(c, LT_EVALUE, "column '%s': boolean run length past the page", l->name);
      io_pq_rle_init(&r, v + 4, io_le32(v), 1);
    } else if (enc != 0) {
      return io_fail(c, LT_EVALUE, "column '%s': encoding %lld is not supported", l->name,
                     (long long)enc);
    }
  }
  size_t elem = d->elem;
  if (!dict && enc == 0 && l->type != IO_PQ_BYTE_ARRAY) {
    /* PLAIN fixed width: the page must hold every non-null value. */
    uint64_t need = l->type == IO_PQ_BOOLEAN ? (nnon + 7) / 8 : nnon * elem;
    if (nnon > n * 8 || need > n)
      return io_fail(c, LT_EVALUE, "column '%s': values past the page", l->name);
  }
  if (!dict && enc == 0 && elem && l->type != IO_PQ_BOOLEAN && nnon == (uint64_t)count) {
    /* No null in the page: the values are the slots, one copy (an embedding column's rows). */
    memcpy(col->data + (size_t)first * elem, v, (size_t)nnon * elem);
    return LT_OK;
  }
  size_t pos = 0;
  uint64_t k = 0;
  for (int64_t i = first; i < first + count; i++) {
    int is_null = d->def && d->def[i] < l->max_def;
    /* Only slots that hold an element (or a null element) become values; list slots below
     * list_def are empty or null lists (handled by the assembly). */
    if (is_null) {
      if (col->off) col->off[i + 1] = col->off[i];
      if (col->codes) col->codes[i] = -1;
      continue;
    }
    if (dict) {
      int64_t ix = io_pq_rle_next(&r);
      if (ix < 0)
        return io_fail(c, LT_EVALUE, "column '%s': dictionary indices end early", l->name);
      if (ix >= d->ndict)
        return io_fail(c, LT_EVALUE,
                       "column '%s': dictionary index %lld out of range (%lld entries)", l->name,
                       (long long)ix, (long long)d->ndict);
      if (l->type == IO_PQ_BYTE_ARRAY) {
        if (col->codes) col->codes[i] = (int32_t)ix;
        if (!d->lazy_text) {
          size_t len = (size_t)(col->dict_off[ix + 1] - col->dict_off[ix]);
          LtStatus st = put_string(d, i, col->dict_bytes + col->dict_off[ix], len);
          if (st) return st;
        }
      } else {
        memcpy(col->data + (size_t)i * elem, d->dict + (size_t)ix * elem, elem);
      }
    } else if (l->type == IO_PQ_BOOLEAN) {
      int64_t b;
      if (enc == 3) {
        b = io_pq_rle_next(&r);
        if (b < 0) return io_fail(c, LT_EVALUE, "column '%s': booleans end early", l->name);
      } else {
        b = (v[k >> 3] >> (k & 7)) & 1;
      }
      col->data[i] = (uint8_t)b;
    } else if (l->type == IO_PQ_BYTE_ARRAY) {
      if (n - pos < 4) return io_fail(c, LT_EVALUE, "column '%s': string past the page", l->name);
      uint32_t len = io_le32(v + pos);
      pos += 4;
      if (len > n - pos) return io_fail(c, LT_EVALUE, "column '%s': string past the page", l->name);
      LtStatus st = put_string(d, i, v + pos, len);
      if (st) return st;
      pos += len;
    } else {
      memcpy(col->data + (size_t)i * elem, v + k * elem, elem);
    }
    k++;
  }
  return LT_OK;
}

/* ---- DELTA_* and BYTE_STREAM_SPLIT, rewritten to PLAIN ------------------------------------ */

static int uvarint(const uint8_t **p, const uint8_t *end, uint64_t *v) {
  *v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (*p >= end) return -1;
    uint8_t b = *(*p)++;
    *v |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) return 0;
  }
  return -1;
}

/* Decodes n values of a DELTA_BINARY_PACKED stream at *p into out and moves *p past the
 * miniblocks it used (a DELTA_LENGTH_BYTE_ARRAY's bytes follow them). */
static LtStatus dbp_decode(IoCtx *c, const uint8_t **p, const uint8_t *end, uint64_t n,
                           int64_t *out) {
  uint64_t bsize, nmini, total, zz;
  if (uvarint(p, end, &bsize) || uvarint(p, end, &nmini) || uvarint(p, end, &total) ||
      uvarint(p, end, &zz))
    return io_fail(c, LT_EVALUE, "DELTA_BINARY_PACKED header past the page");
  if (bsize == 0 || bsize % 128 || nmini == 0 || bsize % nmini || (bsize / nmini) % 32 ||
      bsize > (1u << 20))
    return io_fail(c, LT_EVALUE, "bad DELTA_BINARY_PACKED block size");
  if (total < n) return io_fail(c, LT_EVALUE, "DELTA_BINARY_PACKED holds too few values");
  uint64_t vpm = bsize / nmini;
  uint64_t v = (zz >> 1) ^ -(zz & 1);
  uint64_t got = 0;
  if (n) out[got++] = (int64_t)v;
  while (got < n) {
    uint64_t mz;
    if (uvarint(p, end, &mz)) return io_fail(c, LT_EVALUE, "DELTA_BINARY_PACKED past the page");
    uint64_t min_delta = (mz >> 1) ^ -(mz & 1);
    if ((uint64_t)(end - *p) < nmini)
      return io_fail(c, LT_EVALUE, "DELTA_BINARY_PACKED past the page");
    const uint8_t *widths = *p;
    *p += nmini;
    for (uint64_t m = 0; m < nmini && got < n; m++) {
      int bw = widths[m];
      if (bw > 64) return io_fail(c, LT_EVALUE, "DELTA_BINARY_PACKED bit width over 64");
      uint64_t bytes = vpm * (uint64_t)bw / 8;
      if ((uint64_t)(end - *p) < bytes)
        return io_fail(c, LT_EVALUE, "DELTA_BINARY_PACKED miniblock past the page");
      const uint8_t *mb = *p;
      for (uint64_t k = 0; k < vpm && got < n; k++) {
        uint64_t d = 0;
        for (int b = 0; b < bw; b++) {
          uint64_t bit = k * (uint64_t)bw + (uint64_t)b;
          d |= (uint64_t)((mb[bit >> 3] >> (bit & 7)) & 1) << b;
        }
        v += min_delta + d; /* wraps as the format intends */
        out[got++] = (int64_t)v;
      }
      *p += bytes;
    }
  }
  return LT_OK;
}

/* Rewrites `nnon` values of encoding enc (DELTA_BINARY_PACKED 5, DELTA_LENGTH_BYTE_ARRAY 6,
 * DELTA_BYTE_ARRAY 7, BYTE_STREAM_SPLIT 9) as PLAIN into a fresh buffer *out of *outn bytes. */
static LtStatus to_plain(Dec *d, const uint8_t *v, size_t n, int64_t enc, uint64_t nnon,
                         uint8_t **out, size_t *outn) {
  IoCtx *c = d->c;
  const IoPqLeaf *l = d->l;
  const uint8_t *p = v, *end = v + n;
  size_t elem = d->elem;
  int bytes_type = l->type == IO_PQ_BYTE_ARRAY || (l->type == IO_PQ_FIXED && enc == 7);
  LtStatus st = LT_OK;
  *out = NULL;
  if (enc == 9) {
    if (!elem || l->type == IO_PQ_BOOLEAN || nnon > n / elem)
      return io_fail(c, LT_EVALUE, "column '%s': bad BYTE_STREAM_SPLIT page", l->name);
    *outn = (size_t)nnon * elem;
    if (!(*out = io_alloc(c, *outn ? *outn : 1))) return LT_ENOMEM;
    for (uint64_t i = 0; i < nnon; i++)
      for (size_t b = 0; b < elem; b++) (*out)[i * elem + b] = v[b * nnon + i];
    return LT_OK;
  }
  if (enc == 5 && (l->type == IO_PQ_INT32 || l->type == IO_PQ_INT64)) {
    size_t tn = (size_t)(nnon ? nnon : 1) * sizeof(int64_t);
    int64_t *t = io_alloc(c, tn);
    if (!t) return LT_ENOMEM;
    st = dbp_decode(c, &p, end, nnon, t);
    *outn = (size_t)nnon * elem;
    if (!st && !(*out = io_alloc(c, *outn ? *outn : 1))) st = LT_ENOMEM;
    for (uint64_t i = 0; !st && i < nnon; i++) {
      if (elem == 4) {
        int32_t x = (int32_t)(uint32_t)(uint64_t)t[i];
        memcpy(*out + i * 4, &x, 4);
      } else {
        memcpy(*out + i * 8, &t[i], 8);
      }
    }
    io_free(c, t, tn);
    return st;
  }
  if ((enc != 6 && enc != 7) || !bytes_type)
    return io_fail(c, LT_EVALUE, "column '%s': encoding %lld is not supported for its type",
                   l->name, (long long)enc);
  size_t tn = (size_t)(nnon ? nnon : 1) * sizeof(int64_t);
  int64_t *pre = NULL, *len = io_alloc(c, tn);
  if (!len) return LT_ENOMEM;
  if (enc == 7) {
    if (!(pre = io_alloc(c, tn))) st = LT_ENOMEM;
    if (!st) st = dbp_decode(c, &p, end, nnon, pre);
  }
  if (!st) st = dbp_decode(c, &p, end, nnon, len);
  /* Sizes first: every suffix inside the page, every prefix within the previous value, and the
   * rebuilt total within the inflate limit (shared prefixes can multiply the page's size). */
  uint64_t sum = 0, suf = 0, prev = 0;
  for (uint64_t i = 0; !st && i < nnon; i++) {
    uint64_t pl = pre ? (uint64_t)pre[i] : 0, sl = (uint64_t)len[i];
    if (pl > prev || sl > n)
      st = io_fail(c, LT_EVALUE, "column '%s': bad string lengths", l->name);
    else if (l->type == IO_PQ_FIXED && pl + sl != (uint64_t)l->type_len)
      st = io_fail(c, LT_EVALUE, "column '%s': value of the wrong width", l->name);
    suf += sl;
    prev = pl + sl;
    sum += prev + (l->type == IO_PQ_FIXED ? 0 : 4);
    if (!st && (suf > (uint64_t)(end - p) || sum > c->max_inflate))
      st = io_fail(c, LT_EVALUE, "column '%s': strings past the page", l->name);
  }
  *outn = (size_t)sum;
  if (!st && !(*out = io_alloc(c, *outn ? *outn : 1))) st = LT_ENOMEM;
  size_t o = 0, last = 0;
  for (uint64_t i = 0; !st && i < nnon; i++) {
    size_t pl = pre ? (size_t)pre[i] : 0, sl = (size_t)len[i];
    if (l->type != IO_PQ_FIXED) {
      io_put32(*out + o, (uint32_t)(pl + sl));
      o += 4;
    }
    /* The previous value starts at `last`: its first pl bytes are this value's prefix. */
    if (pl) memmove(*out + o, *out + last, pl);
    memcpy(*out + o + pl, p, sl);
    p += sl;
    last = o;
    o += pl + sl;
  }
  io_free(c, len, tn);
  if (pre) io_free(c, pre, tn);
  if (st && *out) {
    io_free(c, *out, *outn ? *outn : 1);
    *out = NULL;
  }
  return st;
}

/* Decodes one data page (v1 or v2) from its decompressed parts. */
static LtStatus data_page(Dec *d, const PageHdr *h, const uint8_t *lv, size_t lvn, const uint8_t *v,
                          size_t vn) {
  IoCtx *c = d->c;
  const IoPqLeaf *l = d->l;
  int64_t n = h->nvals;
  if (n < 0 || n > d->nslots - d->slot)
    return io_fail(c, LT_EVALUE, "column '%s': pages hold more values than the chunk", l->name);
  LtStatus st;
  if (h->has_v2) {
    /* v2: repetition then definition levels, uncompressed, with no length prefixes. */
    if (h->rep_len < 0 || h->def_len < 0 || (uint64_t)h->rep_len + (uint64_t)h->def_len > lvn)
      return io_fail(c, LT_EVALUE, "column '%s': level lengths past the page", l->name);
    if (l->max_rep && (st = read_levels(c, lv, (size_t)h->rep_len, n, l->max_rep, d->rep + d->slot,
                                        "repetition")))
      return st;
    if (l->max_def && (st = read_levels(c, lv + h->rep_len, (size_t)h->def_len, n, l->max_def,
                                        d->def + d->slot, "definition")))
      return st;
  } else {
    /* v1: each level stream has a 4-byte length prefix, inside the compressed data. */
    size_t pos = 0;
    for (int pass = 0; pass < 2; pass++) {
      int maxv = pass == 0 ? l->max_rep : l->max_def;
      if (!maxv) continue;
      if (vn - pos < 4) return io_fail(c, LT_EVALUE, "column '%s': levels past the page", l->name);
      uint32_t len = io_le32(v + pos);
      pos += 4;
      if (len > vn - pos)
        return io_fail(c, LT_EVALUE, "column '%s': levels past the page", l->name);
      int16_t *out = pass == 0 ? d->rep + d->slot : d->def + d->slot;
      if ((st =
               read_levels(c, v + pos, len, n, maxv, out, pass == 0 ? "repetition" : "definition")))
        return st;
      pos += len;
    }
    v += pos;
    vn -= pos;
  }
  if (d->rep && d->slot == 0 && n > 0 && d->rep[0] != 0)
    return io_fail(c, LT_EVALUE, "column '%s': first repetition level is not 0", l->name);
  if (h->enc == 5 || h->enc == 6 || h->enc == 7 || h->enc == 9) {
    uint64_t nnon = 0;
    for (int64_t i = d->slot; i < d->slot + n; i++)
      if (!d->def || d->def[i] == l->max_def) nnon++;
    uint8_t *plain = NULL;
    size_t pn = 0;
    if ((st = to_plain(d, v, vn, h->enc, nnon, &plain, &pn))) return st;
    st = read_values(d, plain, pn, 0, d->slot, n);
    io_free(c, plain, pn ? pn : 1);
  } else {
    st = read_values(d, v, vn, h->enc, d->slot, n);
  }
  d->slot += n;
  return st;
}

/* Turns the levels of a list column into rows: value slots are those at or past list_def; rows
 * start at repetition level 0. Compacts the value arrays in place. */
static LtStatus assemble_list(Dec *d, int64_t rows) {
  IoCtx *c = d->c;
  IoPqColumn *col = d->col;
  const IoPqLeaf *l = d->l;
  if (l->max_rep > 1)
    return io_fail(c, LT_EVALUE, "column '%s': nested lists are not supported", l->name);
  col->cap_rows = ((size_t)rows + 1) * sizeof(int64_t);
  if (!(col->row_off = io_alloc(c, col->cap_rows))) return LT_ENOMEM;
  int64_t r = -1, nv = 0, i0 = 0;
  if (!col->off && !col->codes && !col->null) {
    /* Numbers without nulls while every slot is an element (an embedding column): nothing
     * moves, only the row starts are found, in a loop without the general case's branches. */
    const int16_t *rep = d->rep, *def = d->def;
    const int16_t ld = (int16_t)l->list_def;
    int64_t *off = col->row_off;
    for (; i0 < d->nslots && def[i0] >= ld; i0++) {
      if (rep[i0] != 0) continue;
      if (++r >= rows) return io_fail(c, LT_EVALUE, "column '%s': more lists than rows", l->name);
      off[r] = i0;
    }
    nv = i0;
  }
  for (int64_t i = i0; i < d->nslots; i++) {
    if (d->rep[i] == 0) {
      if (++r >= rows) return io_fail(c, LT_EVALUE, "column '%s': more lists than rows", l->name);
      col->row_off[r] = nv;
    }
    if (d->def[i] < l->list_def) continue; /* an empty or null list */
    /* Slot i becomes value nv (nv <= i, so moving forward never overwrites unread slots). */
    if (col->data && nv != i)
      memmove(col->data + nv * (int64_t)col->elem, col->data + i * (int64_t)col->elem, col->elem);
    if (col->off) {
      int64_t len = col->off[i + 1] - col->off[i];
      memmove(col->bytes + col->off[nv], col->bytes + col->off[i], (size_t)len);
      col->off[nv + 1] = col->off[nv] + len;
    }
    if (col->codes) col->codes[nv] = col->codes[i];
    int is_null = d->def[i] < l->max_def;
    if (col->null) col->null[nv] = (uint8_t)is_null;
    nv++;
  }
  if (r + 1 != rows)
    return io_fail(c, LT_EVALUE, "column '%s': %lld lists for %lld rows", l->name,
                   (long long)(r + 1), (long long)rows);
  col->row_off[rows] = nv;
  col->nvals = nv;
  col->nnull = 0;
  for (int64_t i = 0; col->null && i < nv; i++) col->nnull += col->null[i];
  int64_t w = rows ? col->row_off[1] - col->row_off[0] : 0;
  for (int64_t i = 0; i < rows && w >= 0; i++)
    if (col->row_off[i + 1] - col->row_off[i] != w) w = -1;
  col->width = w;
  return LT_OK;
}

/* Sets the slot width of d's leaf and allocates the chunk's levels and value arrays for
 * d->nslots slots. */
static LtStatus alloc_chunk(Dec *d) {
  IoCtx *c = d->c;
  IoPqColumn *col = d->col;
  const IoPqLeaf *l = d->l;
  size_t ns = (size_t)d->nslots;
  switch (l->type) {
  case IO_PQ_BOOLEAN: d->elem = 1; break;
  case IO_PQ_INT32:
  case IO_PQ_FLOAT: d->elem = 4; break;
  case IO_PQ_INT64:
  case IO_PQ_DOUBLE: d->elem = 8; break;
  case IO_PQ_FIXED: d->elem = (size_t)l->type_len; break;
  case IO_PQ_BYTE_ARRAY: d->elem = 0; break;
  default: return io_fail(c, LT_EVALUE, "column '%s': INT96 is not supported", l->name);
  }
  col->elem = d->elem;
  col->cap_vals = ns ? ns : 1;
  uint64_t dbytes;
  if (!io_mul_u64(col->cap_vals, d->elem ? d->elem : 1, &dbytes) || dbytes > SIZE_MAX / 2)
    return io_fail(c, LT_EOVERFLOW, "column '%s': too many values", l->name);
  if (l->max_def && !(d->def = io_alloc(c, col->cap_vals * 2))) return LT_ENOMEM;
  if (l->max_rep && !(d->rep = io_alloc(c, col->cap_vals * 2))) return LT_ENOMEM;
  if (d->elem) {
    if (!(col->data = io_calloc(c, col->cap_vals * d->elem))) return LT_ENOMEM;
  } else {
    if (!(col->off = io_calloc(c, (col->cap_vals + 1) * sizeof(int64_t)))) return LT_ENOMEM;
    if (!(col->codes = io_alloc(c, col->cap_vals * sizeof(int32_t)))) return LT_ENOMEM;
  }
  return LT_OK;
}


/* Decompresses a page's want bytes from src[0..n) so that its last `vals` bytes (the values)
 * land at into, the `want - vals` bytes before them (a v1 page's levels) at into - (want - vals),
 * which the caller lets us borrow: they are saved in sc->page first and put back after, the
 * levels copied to sc->page + pre for the page to read. 1 when done (*lv, *lvn: the levels), 0
 * when it does not apply (the levels would not fit the room, or a codec failure, with into's
 * surroundings restored and the error left for the general reader). */
static int decompress_into(IoCtx *c, IoPqScratch *sc, int codec, const uint8_t *src, size_t n,
                           size_t want, size_t vals, uint8_t *into, size_t room,
                           const uint8_t **lv, size_t *lvn) {
  if (vals > want) return 0;
  size_t pre = want - vals;
  /* 1 MiB of levels covers any real page (a list page's levels take about 1 byte in 64). */
  if (pre > room || pre > ((size_t)1 << 20)) return 0;
  if (pre && io_pq_grow_scratch(c, sc, 1, 2 * pre)) return 0;
  uint8_t *at = into - pre;
  if (pre) memcpy(sc->page, at, pre);
  int ok = decompress(c, codec, src, n, at, want) == LT_OK;
  if (pre) {
    memcpy(sc->page + pre, at, pre);
    memcpy(at, sc->page, pre);
  }
  *lv = sc->page + pre;
  *lvn = pre;
  return ok;
}

/* Parses and checks the page header at buf[*at] (the chunk is buf[0..csize)) of leaf l, moves
 * *at past the page and decompresses its values into sc->page when the chunk's codec applies.
 * *use is 0 for a page the reader skips (an index page). With into (the dense reader: into_cap
 * bytes there, room bytes before it to borrow, elem bytes per value), a compressed PLAIN data
 * page is decompressed in place instead (decompress_into; pg->in_place). */
LtStatus io_pq_open_page(IoCtx *c, IoPqScratch *sc, const IoPqLeaf *l, int codec,
                         const uint8_t *buf, size_t csize, size_t *at, Page *pg, int *use,
                         uint8_t *into, size_t into_cap, size_t room, size_t elem) {
  LtStatus st;
  PageHdr *h = &pg->h;
  memset(pg, 0, sizeof *pg);
  *use = 0;
  h->compressed = 1;
  IoTr t = {c, buf + *at, buf + csize, 0, LT_OK};
  if ((st = io_tr_struct(&t, page_field, h))) return st;
  size_t pos = (size_t)(t.p - buf);
  if (h->csize < 0 || h->usize < 0 || (uint64_t)h->csize > csize - pos) {
    return io_fail(c, LT_EVALUE, "column '%s': page size past the chunk", l->name);
  }
  if ((uint64_t)h->usize > c->max_inflate) {
    return io_fail(c, LT_EVALUE, "column '%s': page of %lld bytes over the %llu-byte limit",
                   l->name, (long long)h->usize, (unsigned long long)c->max_inflate);
  }
  const uint8_t *src = buf + pos;
  size_t sn = (size_t)h->csize;
  *at = pos + sn;
  if (h->type == 1) return LT_OK; /* index page: not needed */
  if (h->type != 0 && h->type != 2 && h->type != 3) {
    return io_fail(c, LT_EVALUE, "column '%s': unknown page type %lld", l->name,
                   (long long)h->type);
  }
  /* v2 pages keep their levels uncompressed in front of the (maybe compressed) values. */
  size_t lvn = 0;
  if (h->type == 3) {
    if (!h->has_v2 || h->rep_len < 0 || h->def_len < 0 ||
        (uint64_t)h->rep_len + (uint64_t)h->def_len > sn ||
        (uint64_t)h->rep_len + (uint64_t)h->def_len > (uint64_t)h->usize) {
      return io_fail(c, LT_EVALUE, "column '%s': bad v2 page header", l->name);
    }
    lvn = (size_t)(h->rep_len + h->def_len);
  } else if ((h->type == 0 && !h->has_dph) || (h->type == 2 && !h->has_dict)) {
    return io_fail(c, LT_EVALUE, "column '%s': page header lacks its type's part", l->name);
  }
  size_t want = (size_t)h->usize - lvn;
  pg->lv = src;
  pg->lvn = lvn;
  pg->v = src + lvn;
  pg->vn = sn - lvn;
  if (into && codec != 0 && (h->type != 3 || h->compressed) && h->enc == 0 && h->nvals >= 0 &&
      (uint64_t)h->nvals <= SIZE_MAX / 8 / elem) {
    /* A PLAIN data page of a dense column: its values decompressed where they belong, with no
     * copy after (a v2 page's levels are not compressed: none to move aside). */
    size_t vals = (size_t)h->nvals * elem;
    const uint8_t *lv;
    size_t lvlen;
    if (vals <= into_cap && (h->type == 0 || (h->type == 3 && vals == want)) &&
        decompress_into(c, sc, codec, pg->v, pg->vn, want, vals, into, room, &lv, &lvlen)) {
      pg->v = lv;
      pg->vn = lvlen;
      pg->in_place = 1;
      *use = 1;
      return LT_OK;
    }
  }
  if (codec != 0 && (h->type != 3 || h->compressed)) {
    if ((st = io_pq_grow_scratch(c, sc, 1, want))) return st;
    if ((st = decompress(c, codec, pg->v, pg->vn, sc->page, want))) return st;
    pg->v = sc->page;
    pg->vn = want;
  }
  *use = 1;
  return LT_OK;
}

/* Decodes the page whose header starts at buf[*at] (the chunk is buf[0..csize)) and moves *at
 * past it: a dictionary page fills the dictionary, a data page the next slots. */
static LtStatus next_page(Dec *d, const IoPqChunk *ch, const uint8_t *buf, size_t csize,
                          size_t *at) {
  Page pg;
  int use;
  LtStatus st =
      io_pq_open_page(d->c, d->sc, d->l, ch->codec, buf, csize, at, &pg, &use, NULL, 0, 0, 0);
  if (st || !use) return st;
  if (pg.h.type == 2) return read_dict(d, pg.v, pg.vn, pg.h.nvals);
  return data_page(d, &pg.h, pg.lv, pg.lvn, pg.v, pg.vn);
}

static LtStatus read_chunk(Dec *d, IoSrc *s, const IoPqChunk *ch, int64_t rows) {
  IoCtx *c = d->c;
  IoPqColumn *col = d->col;
  const IoPqLeaf *l = d->l;
  LtStatus st;
  int64_t nslots = ch->num_values;
  if (l->max_rep == 0 && nslots != rows)
    return io_fail(c, LT_EVALUE, "column '%s': %lld values for %lld rows", l->name,
                   (long long)nslots, (long long)rows);
  d->nslots = nslots;
  d->all_dict = 1;
  d->lazy_text = l->type == IO_PQ_BYTE_ARRAY && l->max_rep == 0;
  uint64_t lvbytes;
  if (!io_mul_u64((uint64_t)nslots, 2, &lvbytes) || lvbytes > SIZE_MAX / 4)
    return io_fail(c, LT_EOVERFLOW, "column '%s': too many values", l->name);
  if ((st = alloc_chunk(d))) return st;
  /* The chunk's bytes, read at once: its size was checked against the file by io_pq_open. */
  size_t csize = (size_t)ch->size;
  if ((st = io_pq_grow_scratch(c, d->sc, 0, csize))) return st;
  const uint8_t *buf = d->sc->chunk;
  st = io_src_read(c, s, (uint64_t)ch->data_off, d->sc->chunk, csize);
  size_t pos = 0;
  while (!st && d->slot < nslots) {
    if (pos >= csize) {
      st = io_fail(c, LT_EVALUE, "column '%s': chunk ends after %lld of %lld values", l->name,
                   (long long)d->slot, (long long)nslots);
      break;
    }
    st = next_page(d, ch, buf, csize, &pos);
  }
  if (st) return st;
  /* Null flags from the definition levels (flat columns: every slot is a value). */
  if (l->max_def) {
    int64_t nn = 0;
    for (int64_t i = 0; i < nslots; i++) nn += d->def[i] < l->max_def;
    if (nn) {
      if (!(col->null = io_alloc(c, col->cap_vals))) return LT_ENOMEM;
      for (int64_t i = 0; i < nslots; i++) col->null[i] = d->def[i] < l->max_def;
    }
    col->nnull = nn;
  }
  col->rows = rows;
  col->nvals = nslots;
  col->width = -1;
  if (l->max_rep) {
    if ((st = assemble_list(d, rows))) return st;
  }
  if (col->codes && !(d->all_dict && d->has_dict)) {
    io_free(c, col->codes, col->cap_vals * sizeof(int32_t));
    col->codes = NULL;
  }
  if (col->codes) col->ndict = d->ndict;
  return LT_OK;
}

LtStatus io_pq_read_column(IoCtx *c, IoSrc *s, const IoPqFile *f, int rg, int leaf,
                           IoPqScratch *sc, IoPqColumn *out) {
  memset(out, 0, sizeof *out);
  if (rg < 0 || rg >= f->nrg || leaf < 0 || leaf >= f->nleaves)
    return io_fail(c, LT_ERANGE, "row group or column out of range");
  Dec d;
  memset(&d, 0, sizeof d);
  IoPqScratch own;
  memset(&own, 0, sizeof own);
  d.c = c;
  d.sc = sc ? sc : &own;
  d.l = &f->leaves[leaf];
  d.col = out;
  LtStatus st =
      read_chunk(&d, s, &f->chunks[(size_t)rg * (size_t)f->nleaves + (size_t)leaf], f->rg_rows[rg]);
  io_pq_scratch_free(c, &own);
  if (d.def) io_free(c, d.def, out->cap_vals * 2);
  if (d.rep) io_free(c, d.rep, out->cap_vals * 2);
  if (d.dict) io_free(c, d.dict, d.dict_size ? d.dict_size : 1);
  if (st) io_pq_column_free(c, out);
  return st;
}
