/* io_idx.h - MNIST-family IDX files and CIFAR-10/100 binary batches (core, no Lua). */
#ifndef LUNETTE_IO_IDX_H
#define LUNETTE_IO_IDX_H
#include "io/io_src.h"

/* Parses the IDX header at the start of s (a file, or a gzip stream):
 * magic bytes 0, 0, a type code (0x08 uint8, 0x09 int8, 0x0B int16,
 * 0x0C int32, 0x0D float32, 0x0E float64; big-endian) and 1..8 dims of
 * big-endian u32. The element count is overflow-checked; when s has a
 * known size the data must fill it exactly, otherwise (a stream) the
 * declared bytes must stay within c->max_inflate. Fills *a. */
LtStatus io_idx_parse(IoCtx *c, IoSrc *s, IoArray *a);

/* CIFAR binary batches: records of label byte(s) then 3072 pixel bytes
 * (R, G, B planes of 32x32). label_bytes is 1 (CIFAR-10: label < 10) or
 * 2 (CIFAR-100: coarse < 20, then fine < 100). */
#define IO_CIFAR_PIXELS 3072
/* Checks a batch of `size` bytes (non-empty, a whole number of records)
 * and sets *n to its record count. */
LtStatus io_cifar_count(IoCtx *c, uint64_t size, int label_bytes, int64_t *n);
/* Reads the n records of s: images (n*3072 bytes, [n,3,32,32]), labels
 * (the fine label for CIFAR-100) and, for CIFAR-100, coarse (may be NULL
 * otherwise), every label range-checked. */
LtStatus io_cifar_read(IoCtx *c, IoSrc *s, int label_bytes, int64_t n, uint8_t *images,
                       int64_t *labels, int64_t *coarse);

#endif
