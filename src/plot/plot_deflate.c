/* plot_deflate.c - fixed-Huffman deflate with run and single-probe LZ77 matching, for PNG encoding. */
#include <string.h>
#include "plot/plot_deflate.h"

typedef struct {
  uint8_t *out;
  uint64_t bits;
  int nbits;
} BitWriter;

static inline void put_bits(BitWriter *w, uint32_t v, int n) {
  w->bits |= (uint64_t)v << w->nbits;
  w->nbits += n;
  if (w->nbits >= 32) {
    uint32_t lo = (uint32_t)w->bits;
    w->out[0] = (uint8_t)lo; w->out[1] = (uint8_t)(lo >> 8);
    w->out[2] = (uint8_t)(lo >> 16); w->out[3] = (uint8_t)(lo >> 24);
    w->out += 4;
    w->bits >>= 32;
    w->nbits -= 32;
  }
}

static void flush_bytes(BitWriter *w) {
  while (w->nbits > 0) {
    *w->out++ = (uint8_t)w->bits;
    w->bits >>= 8;
    w->nbits -= 8;
  }
  w->nbits = 0;
  w->bits = 0;
}

static uint32_t reverse(uint32_t code, int len) {
  uint32_t r = 0;
  for (int i = 0; i < len; i++) { r = (r << 1) | (code & 1); code >>= 1; }
  return r;
}

/* Fixed literal/length code (RFC 1951 3.2.6), bit-reversed for LSB-first output. */
static void litlen_code(int sym, uint32_t *code, int *len) {
  if (sym < 144) { *len = 8; *code = reverse(0x30 + (uint32_t)sym, 8); }
  else if (sym < 256) { *len = 9; *code = reverse(0x190 + (uint32_t)(sym - 144), 9); }
  else if (sym < 280) { *len = 7; *code = reverse((uint32_t)(sym - 256), 7); }
  else { *len = 8; *code = reverse(0xc0 + (uint32_t)(sym - 280), 8); }
}

static const uint16_t len_base[29] = {3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31,
                                      35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258};
static const uint8_t len_extra[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2,
                                      3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
static const uint16_t dist_base[30] = {1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385,
                                       513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577};
static const uint8_t dist_extra[30] = {0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7,
                                       8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};

/* Precomputed codes: literals and match lengths 3..258 (code + extra bits merged). */
typedef struct {
  uint32_t lit_code[256];
  uint8_t lit_len[256];
  uint32_t mlen_code[259];
  uint8_t mlen_bits[259];
  uint32_t eob_code;
  int eob_len;
} Tables;

static void build_tables(Tables *t) {
  for (int s = 0; s < 256; s++) {
    int l;
    litlen_code(s, &t->lit_code[s], &l);
    t->lit_len[s] = (uint8_t)l;
  }
  for (int m = 3; m <= 258; m++) {
    int k = 28;
    while (len_base[k] > m) k--;
    uint32_t code;
    int l;
    litlen_code(257 + k, &code, &l);
    t->mlen_code[m] = code | ((uint32_t)(m - len_base[k]) << l);
    t->mlen_bits[m] = (uint8_t)(l + len_extra[k]);
  }
  litlen_code(256, &t->eob_code, &t->eob_len);
}

static inline void put_match(BitWriter *w, const Tables *t, int len, int dist) {
  put_bits(w, t->mlen_code[len], t->mlen_bits[len]);
  int k = 29;
  while (dist_base[k] > dist) k--;
  uint32_t code = reverse((uint32_t)k, 5) | ((uint32_t)(dist - dist_base[k]) << 5);
  put_bits(w, code, 5 + dist_extra[k]);
}

/* Emits a run of `len` copies of the previous byte (distance 1). */
static void put_run(BitWriter *w, const Tables *t, const uint8_t *src, size_t i, size_t len) {
  while (len >= 3) {
    int m = len > 258 ? 258 : (int)len;
    if (len > 258 && len - 258 < 3) m = (int)len - 3; /* leave a codable tail */
    put_match(w, t, m, 1);
    len -= (size_t)m;
    i += (size_t)m;
  }
  while (len--) { put_bits(w, t->lit_code[src[i]], t->lit_len[src[i]]); i++; }
}

static inline uint32_t load32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static inline uint64_t load64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

/* Length of the common prefix of a and b, at most max. */
static size_t common(const uint8_t *a, const uint8_t *b, size_t max) {
  size_t k = 0;
  while (k + 8 <= max) {
    uint64_t x = load64(a + k) ^ load64(b + k);
    if (x) return k + (size_t)(__builtin_ctzll(x) >> 3);
    k += 8;
  }
  while (k < max && a[k] == b[k]) k++;
  return k;
}

size_t plot_deflate_bound(size_t n) { return n + n / 8 + 64; }

/* Adler-32 sums kept in 64 bits and reduced after runs and every 1024 bytes. */
#define ADLER_MOD 65521u
typedef struct { uint64_t a, b; unsigned pending; } Adler;

static inline void adler_reduce(Adler *s) { s->a %= ADLER_MOD; s->b %= ADLER_MOD; s->pending = 0; }

static inline void adler_bytes(Adler *s, const uint8_t *p, size_t n) {
  for (size_t k = 0; k < n; k++) {
    s->a += p[k];
    s->b += s->a;
    if (++s->pending == 1024) adler_reduce(s);
  }
}

/* n copies of byte v: b gains n*a + v*n(n+1)/2, a gains v*n. */
static inline void adler_run(Adler *s, unsigned v, uint64_t n) {
  adler_reduce(s);
  s->b += (n % ADLER_MOD) * s->a + (uint64_t)v * ((n * (n + 1) / 2) % ADLER_MOD);
  s->a += (uint64_t)v * n;
  adler_reduce(s);
}

size_t plot_deflate_fixed(const uint8_t *src, size_t n, int final, uint8_t *out, int32_t *hashtab,
                          uint32_t *adler) {
  Adler ad = {1, 0, 0};
  Tables t;
  build_tables(&t);
  BitWriter w = {out, 0, 0};
  put_bits(&w, final ? 1 : 0, 1);
  put_bits(&w, 1, 2); /* BTYPE = 01, fixed Huffman */
  for (int k = 0; k < PLOT_DEFLATE_HASH; k++) hashtab[k] = -1;
  size_t i = 0;
  while (i < n) {
    if (i > 0 && src[i] == src[i - 1]) {
      size_t r = common(src + i, src + i - 1, n - i);
      if (r >= 3) { put_run(&w, &t, src, i, r); adler_run(&ad, src[i], r); i += r; continue; }
    }
    if (i + 4 <= n) {
      uint32_t h = (load32(src + i) * 2654435761u) >> 17;
      int32_t cand = hashtab[h];
      hashtab[h] = (int32_t)i;
      if (cand >= 0 && i - (size_t)cand <= 32768 && load32(src + cand) == load32(src + i)) {
        size_t max = n - i < 258 ? n - i : 258;
        size_t len = 4 + common(src + i + 4, src + cand + 4, max - 4);
        put_match(&w, &t, (int)len, (int)(i - (size_t)cand));
        adler_bytes(&ad, src + i, len);
        i += len;
        continue;
      }
    }
    put_bits(&w, t.lit_code[src[i]], t.lit_len[src[i]]);
    adler_bytes(&ad, src + i, 1);
    i++;
  }
  adler_reduce(&ad);
  *adler = (uint32_t)((ad.b << 16) | ad.a);
  put_bits(&w, t.eob_code, t.eob_len);
  if (!final) { /* empty stored block: BFINAL 0, BTYPE 00, align, LEN 0, NLEN 0xffff */
    put_bits(&w, 0, 3);
    flush_bytes(&w);
    w.out[0] = 0; w.out[1] = 0; w.out[2] = 0xff; w.out[3] = 0xff;
    w.out += 4;
  } else {
    flush_bytes(&w);
  }
  return (size_t)(w.out - out);
}
