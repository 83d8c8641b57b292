/* io_parquet_dense.c - the fast path for dense numeric Parquet columns (io_parquet.h): levels
 * checked run by run without being stored, values decoded straight into the caller's memory,
 * compressed PLAIN pages decompressed in place. */
#include <string.h>
#include "io/io_parquet_page.h"

size_t io_pq_dense_elem(const IoPqLeaf *l) {
  if (l->max_rep > 1) return 0;
  switch (l->type) {
  case IO_PQ_INT32: return l->is_unsigned ? 0 : 4; /* unsigned ones widen to int64 */
  case IO_PQ_FLOAT: return 4;
  case IO_PQ_INT64:
  case IO_PQ_DOUBLE: return 8;
  case IO_PQ_FIXED: return l->float16 && l->type_len == 2 ? 2 : 0;
  default: return 0;
  }
}

int64_t io_pq_dense_width(const IoPqFile *f, int rg, int leaf) {
  if (rg < 0 || rg >= f->nrg || leaf < 0 || leaf >= f->nleaves) return -1;
  const IoPqLeaf *l = &f->leaves[leaf];
  int64_t rows = f->rg_rows[rg];
  int64_t nv = f->chunks[(size_t)rg * (size_t)f->nleaves + (size_t)leaf].num_values;
  if (!io_pq_dense_elem(l) || rows <= 0 || nv <= 0) return -1;
  if (!l->max_rep) return nv == rows ? 1 : -1;
  return nv % rows ? -1 : nv / rows;
}

/* Bit width of levels whose maximum is maxv (as read_levels computes it). */
static int level_width(int maxv) {
  int bw = 0;
  while ((1 << bw) <= maxv) bw++;
  return bw;
}

/* Whether the n levels in p[0..len) are all `want`, read run by run (nothing is stored). */
static int levels_all(const uint8_t *p, size_t len, int64_t n, int maxv, int want) {
  Rle r;
  io_pq_rle_init(&r, p, len, level_width(maxv));
  int64_t i = 0;
  while (i < n) {
    if (r.run_left) {
      if (r.run_val != (uint32_t)want) return 0;
      uint64_t take = (uint64_t)(n - i) < r.run_left ? (uint64_t)(n - i) : r.run_left;
      r.run_left -= take;
      i += (int64_t)take;
      continue;
    }
    if (io_pq_rle_next(&r) != want) return 0;
    i++;
  }
  return 1;
}

/* Whether the n repetition levels in p[0..len) continue rows of exactly w values each: level 0
 * where a row starts, 1 inside it. *at is the position inside the current row, carried from page
 * to page (0 at the chunk's start, so its first level must be 0). */
static int levels_rows(const uint8_t *p, size_t len, int64_t n, int64_t w, int64_t *at) {
  Rle r;
  io_pq_rle_init(&r, p, len, 1);
  int64_t i = 0, pos = *at;
  while (i < n) {
    uint64_t run = 1;
    int64_t v;
    if (r.run_left) {
      v = r.run_val;
      run = (uint64_t)(n - i) < r.run_left ? (uint64_t)(n - i) : r.run_left;
      r.run_left -= run;
    } else {
      v = io_pq_rle_next(&r);
    }
    if (v == 0) {
      /* each 0 starts a row: only at a row's start, and twice in a row only for width 1 */
      if (pos != 0 || (run > 1 && w != 1)) return 0;
      pos = w == 1 ? 0 : 1;
    } else if (v == 1) {
      if (pos == 0 || (uint64_t)(w - pos) < run) return 0;
      pos = (pos + (int64_t)run) % w;
    } else {
      return 0; /* malformed, or a level over the maximum of 1 */
    }
    i += (int64_t)run;
  }
  *at = pos;
  return 1;
}

/* Stores the dictionary entries that the n RLE/bit-packed indices in p[0..len) (width bw) name,
 * elem bytes each, at out. 0 when the indices end early or one is out of range. */
static int gather_dict(const uint8_t *p, size_t len, int bw, int64_t n, const uint8_t *dict,
                       int64_t ndict, size_t elem, uint8_t *out) {
  Rle r;
  io_pq_rle_init(&r, p, len, bw);
  int64_t i = 0;
  while (i < n) {
    if (r.run_left) {
      /* a run of one index: one entry repeated */
      if (r.run_val >= (uint64_t)ndict) return 0;
      uint64_t take = (uint64_t)(n - i) < r.run_left ? (uint64_t)(n - i) : r.run_left;
      const uint8_t *e = dict + (size_t)r.run_val * elem;
      for (uint64_t k = 0; k < take; k++) memcpy(out + (size_t)(i + (int64_t)k) * elem, e, elem);
      r.run_left -= take;
      i += (int64_t)take;
      continue;
    }
    int64_t ix = io_pq_rle_next(&r);
    if (ix < 0 || ix >= ndict) return 0;
    memcpy(out + (size_t)i * elem, dict + (size_t)ix * elem, elem);
    i++;
  }
  return 1;
}

/* State of one dense chunk's decoding. */
typedef struct {
  IoCtx *c;
  const IoPqLeaf *l;
  size_t elem;
  int64_t width;
  int64_t slot, nslots; /* values written so far, values in the chunk */
  int64_t rowpos;       /* position inside the current list row (levels_rows) */
  uint8_t *dict;        /* dictionary entries, elem bytes each */
  size_t dict_size;
  int64_t ndict;
  int has_dict;
} Dense;

/* Finds a data page's repetition (rp, rn) and definition (dp, dn) level streams as data_page
 * does: a v2 page's in front of its values, uncompressed; a v1 page's with 4-byte lengths at the
 * start of its (decompressed) data *v, *vn, which then move past them. 0 when they do not fit. */
static int level_streams(const Page *pg, const IoPqLeaf *l, const uint8_t **v, size_t *vn,
                         const uint8_t **rp, size_t *rn, const uint8_t **dp, size_t *dn) {
  const PageHdr *h = &pg->h;
  *rp = *dp = NULL;
  *rn = *dn = 0;
  if (h->has_v2) {
    if (h->rep_len < 0 || h->def_len < 0 ||
        (uint64_t)h->rep_len + (uint64_t)h->def_len > pg->lvn)
      return 0;
    *rp = pg->lv;
    *rn = (size_t)h->rep_len;
    *dp = pg->lv + *rn;
    *dn = (size_t)h->def_len;
    return 1;
  }
  size_t pos = 0;
  for (int pass = 0; pass < 2; pass++) {
    if (!(pass == 0 ? l->max_rep : l->max_def)) continue;
    if (*vn - pos < 4) return 0;
    uint32_t len = io_le32(*v + pos);
    pos += 4;
    if (len > *vn - pos) return 0;
    *(pass == 0 ? rp : dp) = *v + pos;
    *(pass == 0 ? rn : dn) = len;
    pos += len;
  }
  *v += pos;
  *vn -= pos;
  return 1;
}

/* One data page into dst: 1 when it keeps the chunk dense, 0 otherwise (or when it is damaged,
 * which the general reader then reports). */
static int dense_page(Dense *d, const Page *pg, uint8_t *dst) {
  const IoPqLeaf *l = d->l;
  const PageHdr *h = &pg->h;
  int64_t n = h->nvals;
  if (n < 0 || n > d->nslots - d->slot) return 0;
  const uint8_t *v = pg->v, *rp, *dp;
  size_t vn = pg->vn, rn, dn;
  if (!level_streams(pg, l, &v, &vn, &rp, &rn, &dp, &dn)) return 0;
  if (l->max_rep && !levels_rows(rp, rn, n, d->width, &d->rowpos)) return 0;
  if (l->max_def && !levels_all(dp, dn, n, l->max_def, l->max_def)) return 0;
  size_t elem = d->elem;
  uint8_t *out = dst + (size_t)d->slot * elem;
  int64_t enc = h->enc;
  if (pg->in_place) {
    /* the values are in place: the page must have held nothing else than levels and them */
    if (enc != 0 || vn != 0) return 0;
  } else if (enc == 0) {
    if ((uint64_t)n > vn / elem) return 0;
    memcpy(out, v, (size_t)n * elem);
  } else if (enc == 2 || enc == 8) {
    if (!d->has_dict || vn < 1 || v[0] > 32) return 0;
    if (!gather_dict(v + 1, vn - 1, v[0], n, d->dict, d->ndict, elem, out)) return 0;
  } else if (enc == 9) {
    /* BYTE_STREAM_SPLIT: byte b of value i is at v[b * n + i] */
    if ((uint64_t)n > vn / elem) return 0;
    for (int64_t i = 0; i < n; i++)
      for (size_t b = 0; b < elem; b++) out[(size_t)i * elem + b] = v[b * (size_t)n + (size_t)i];
  } else {
    return 0; /* DELTA_* and the rest: the general reader */
  }
  d->slot += n;
  return 1;
}

/* A dictionary page of a dense chunk: PLAIN entries, elem bytes each. */
static LtStatus dense_dict(Dense *d, const Page *pg, int *ok) {
  int64_t count = pg->h.nvals;
  *ok = 0;
  if (d->has_dict || count < 0 || (uint64_t)count > pg->vn / d->elem) return LT_OK;
  d->has_dict = 1;
  d->ndict = count;
  d->dict_size = (size_t)count * d->elem;
  if (!(d->dict = io_alloc(d->c, d->dict_size ? d->dict_size : 1))) return LT_ENOMEM;
  memcpy(d->dict, pg->v, d->dict_size);
  *ok = 1;
  return LT_OK;
}

LtStatus io_pq_read_dense(IoCtx *c, IoSrc *s, const IoPqFile *f, int rg, int leaf,
                          IoPqScratch *sc, void *dst, size_t room, int64_t width, int *dense) {
  *dense = 0;
  int64_t w = io_pq_dense_width(f, rg, leaf);
  if (w < 1 || w != width) return LT_OK;
  const IoPqLeaf *l = &f->leaves[leaf];
  const IoPqChunk *ch = &f->chunks[(size_t)rg * (size_t)f->nleaves + (size_t)leaf];
  Dense d;
  memset(&d, 0, sizeof d);
  d.c = c;
  d.l = l;
  d.elem = io_pq_dense_elem(l);
  d.width = w;
  d.nslots = ch->num_values;
  size_t csize = (size_t)ch->size;
  LtStatus st = io_pq_grow_scratch(c, sc, 0, csize);
  if (st) return st;
  /* A failed read is left to the general reader to report, as every other failure. */
  if (io_src_read(c, s, (uint64_t)ch->data_off, sc->chunk, csize)) return LT_OK;
  size_t pos = 0;
  int ok = 1;
  while (ok && d.slot < d.nslots) {
    Page pg;
    int use;
    if (pos >= csize) {
      ok = 0;
      break;
    }
    uint8_t *into = (uint8_t *)dst + (size_t)d.slot * d.elem;
    st = io_pq_open_page(c, sc, l, ch->codec, sc->chunk, csize, &pos, &pg, &use, into,
                   (size_t)(d.nslots - d.slot) * d.elem, room + (size_t)d.slot * d.elem, d.elem);
    if (st == LT_ENOMEM) break;
    if (st) {
      st = LT_OK;
      ok = 0;
      break;
    }
    if (!use) continue;
    if (pg.h.type == 2) {
      if ((st = dense_dict(&d, &pg, &ok))) break;
    } else {
      ok = dense_page(&d, &pg, dst);
    }
  }
  if (d.dict) io_free(c, d.dict, d.dict_size ? d.dict_size : 1);
  *dense = !st && ok && d.slot == d.nslots;
  return st;
}
