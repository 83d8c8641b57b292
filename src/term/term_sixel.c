/* term_sixel.c - sixel encoding through libsixel, loaded with dlopen on first use and optional:
 * a machine without it shows figures another way (term.h). */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sixel/sixel.h>
#include "term/term.h"

/* Why not lazy.h: its libraries are required and a missing one aborts with the package to
 * install; libsixel only serves terminals that speak sixel, and its absence must fall back to
 * a PNG file. The table and its once-flag cache what the loader would otherwise resolve at
 * start, as lazy.c's do. */
typedef struct {
  __typeof__(sixel_output_new) *output_new;
  __typeof__(sixel_output_unref) *output_unref;
  __typeof__(sixel_dither_new) *dither_new;
  __typeof__(sixel_dither_unref) *dither_unref;
  __typeof__(sixel_dither_initialize) *dither_initialize;
  __typeof__(sixel_encode) *encode;
} SixelFns;

static SixelFns sixel;
static int sixel_loaded; /* 1 when every symbol resolved */
static pthread_once_t sixel_once = PTHREAD_ONCE_INIT;

static void load_sixel(void) {
  static const char *const names[] = {"libsixel.so.1", "libsixel.so", NULL};
  void *h = NULL;
  for (const char *const *n = names; *n && !h; n++) h = dlopen(*n, RTLD_NOW | RTLD_LOCAL);
  if (!h) return;
  *(void **)&sixel.output_new = dlsym(h, "sixel_output_new");
  *(void **)&sixel.output_unref = dlsym(h, "sixel_output_unref");
  *(void **)&sixel.dither_new = dlsym(h, "sixel_dither_new");
  *(void **)&sixel.dither_unref = dlsym(h, "sixel_dither_unref");
  *(void **)&sixel.dither_initialize = dlsym(h, "sixel_dither_initialize");
  *(void **)&sixel.encode = dlsym(h, "sixel_encode");
  sixel_loaded = sixel.output_new && sixel.output_unref && sixel.dither_new && sixel.dither_unref &&
                 sixel.dither_initialize && sixel.encode;
}

/* libsixel's write callback: appends to the TermBuf; a non-zero return stops the encoder. */
static int append(char *data, int size, void *priv) {
  TermBuf *b = priv;
  if (size < 0) return -1;
  if (b->len + (size_t)size > b->cap) {
    size_t cap = b->cap ? b->cap : 65536;
    while (cap < b->len + (size_t)size) cap *= 2;
    char *p = realloc(b->data, cap);
    if (!p) return -1;
    b->data = p;
    b->cap = cap;
  }
  memcpy(b->data + b->len, data, (size_t)size);
  b->len += (size_t)size;
  return 0;
}

/* Palette from the image, then the encoding; returns libsixel's status. */
static SIXELSTATUS encode(unsigned char *px, int w, int h, int channels, TermBuf *out) {
  sixel_output_t *output = NULL;
  sixel_dither_t *dither = NULL;
  int format = channels == 4 ? SIXEL_PIXELFORMAT_RGBA8888 : SIXEL_PIXELFORMAT_RGB888;
  SIXELSTATUS st = sixel.output_new(&output, append, out, NULL);
  if (SIXEL_SUCCEEDED(st)) st = sixel.dither_new(&dither, 256, NULL);
  if (SIXEL_SUCCEEDED(st))
    st = sixel.dither_initialize(dither, px, w, h, format, SIXEL_LARGE_AUTO, SIXEL_REP_AUTO,
                                 SIXEL_QUALITY_AUTO);
  if (SIXEL_SUCCEEDED(st)) st = sixel.encode(px, w, h, 8, dither, output);
  if (dither) sixel.dither_unref(dither);
  if (output) sixel.output_unref(output);
  return st;
}

int term_sixel_encode(const uint8_t *pixels, int w, int h, int channels, TermBuf *out, char *msg,
                      size_t msgcap) {
  if (w < 1 || h < 1 || w > 32767 || h > 32767 || (channels != 3 && channels != 4)) {
    snprintf(msg, msgcap, "image of %dx%d pixels with %d channels cannot be a sixel", w, h,
             channels);
    return -1;
  }
  pthread_once(&sixel_once, load_sixel);
  if (!sixel_loaded) {
    snprintf(msg, msgcap, "cannot load libsixel.so.1 (install the Debian package libsixel1)");
    return -1;
  }
  /* libsixel takes the pixels as non-const but only reads them: the palette and the encoding
   * both sample the image. */
  SIXELSTATUS st = encode((unsigned char *)pixels, w, h, channels, out);
  if (!SIXEL_SUCCEEDED(st)) {
    snprintf(msg, msgcap, "libsixel failed (status 0x%x)", (unsigned)st);
    return -1;
  }
  return 0;
}
