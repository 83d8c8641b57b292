/* plot_deflate.h - a fast raw-deflate encoder for filtered PNG rows: runs, one-probe LZ77, fixed Huffman (core, no Lua). */
#ifndef LUNETTE_PLOT_DEFLATE_H
#define LUNETTE_PLOT_DEFLATE_H
#include <stddef.h>
#include <stdint.h>

/* Worst-case output size for n input bytes. */
size_t plot_deflate_bound(size_t n);

/* Compresses src[0..n) as one fixed-Huffman deflate block (RFC 1951),
 * referencing only bytes of src itself, into out (plot_deflate_bound(n)
 * bytes). The block is final when `final`; otherwise it is followed by an
 * empty stored block so the output ends on a byte boundary and the next
 * piece can be appended (a sync flush). hashtab is caller scratch of
 * PLOT_DEFLATE_HASH int32 entries. *adler receives the Adler-32 of src
 * (computed during the parse, a run in O(1)). Returns the bytes written.
 * Plot images filtered with PNG's Up filter are mostly runs of zeros; runs
 * cost a word compare per 8 bytes here, where zlib's level 1 hashes them. */
#define PLOT_DEFLATE_HASH (1 << 15)
size_t plot_deflate_fixed(const uint8_t *src, size_t n, int final, uint8_t *out, int32_t *hashtab,
                          uint32_t *adler);

#endif
