/* term.h - what showing a figure in a terminal needs below Lua: base64, asking the terminal a
 * question with a timeout, a private temporary file, and sixel encoding through libsixel
 * (core, no Lua). */
#ifndef LUNETTE_TERM_H
#define LUNETTE_TERM_H
#include <stddef.h>
#include <stdint.h>

/* Bytes term_base64 writes for n input bytes (no NUL): 4 per started group of 3. */
#define TERM_BASE64_LEN(n) (((n) + 2) / 3 * 4)

/* Writes the standard base64 (RFC 4648, '+' '/', '=' padding, no line breaks) of in[0..n) to
 * out, which holds TERM_BASE64_LEN(n) bytes; writes no NUL. Cannot fail. */
void term_base64(const unsigned char *in, size_t n, char *out);

/* Writes q[0..qn) to the terminal on out_fd and reads its answer from in_fd (the same
 * terminal's input) until the byte `until` arrives, cap - 1 bytes are read, or timeout_ms pass
 * without it; buf is then a NUL-terminated string of what came (possibly empty). in_fd is put
 * in non-canonical, no-echo mode meanwhile (so the answer is neither shown nor waits for
 * Enter) and restored before returning. Returns the number of bytes read, or -1 when either fd
 * is not a terminal or in_fd's mode cannot be read or set (errno says why); nothing is written
 * then. Blocks at most about timeout_ms. */
int term_query(int in_fd, int out_fd, const char *q, size_t qn, char until, int timeout_ms,
               char *buf, size_t cap);

/* Creates an empty file named <dir>/<prefix>XXXXXX<suffix> (mkstemps: a new name, mode 0600),
 * closes it and writes its name to path (cap bytes). Returns 0, or an errno value
 * (ENAMETOOLONG when the name does not fit, else mkstemps's). */
int term_tmpfile(const char *dir, const char *prefix, const char *suffix, char *path, size_t cap);

/* A growing byte buffer (term_sixel_encode's output); free data with free(). */
typedef struct {
  char *data;
  size_t len, cap;
} TermBuf;

/* Encodes an image of 8-bit pixels (h rows of w pixels, `channels` 3 = RGB or 4 = RGBA
 * interleaved, rows contiguous) as a DEC sixel sequence (ESC P ... ESC \) with a palette of
 * at most 256 colours chosen by libsixel, appended to out. libsixel (Debian libsixel1) is
 * loaded with dlopen on the first call; unlike lazy.h's libraries it is optional: when it
 * is missing this fails and the caller shows the figure another way. Returns 0, or -1 with
 * a reason in msg (msgcap bytes): libsixel missing, bad size or channel count, out of
 * memory, or libsixel's own failure. On failure out may hold a partial sequence. */
int term_sixel_encode(const uint8_t *pixels, int w, int h, int channels, TermBuf *out, char *msg,
                      size_t msgcap);

#endif
