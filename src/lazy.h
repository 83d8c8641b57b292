/* lazy.h - OpenBLAS, LAPACKE, Cairo, libdeflate and FFTW, loaded with dlopen the first time one of
 * their functions is called. */
#ifndef LUNETTE_LAZY_H
#define LUNETTE_LAZY_H

/* Why: linking them made `lunette -e ''` take 8 ms, almost all of it the
 * dynamic loader mapping and relocating three copies of OpenBLAS (libopenblas,
 * and the libblas/liblapack that liblapacke pulls in), their constructors
 * starting thread pools, and Cairo's font stack. A script that never
 * multiplies a matrix or draws a figure now pays nothing for them. libdeflate,
 * the PNG compressor (src/io/io_png.c), is loaded the same way.
 * How: core files include this header instead of <cblas.h>, <lapacke.h>,
 * <cairo.h> and <libdeflate.h>. scripts/lazy.lua lists the functions the sources call and
 * renames each call `f(...)` to `(lt_lazy_<lib>()->f)(...)`; the table is
 * filled once (pthread_once) by dlsym on the library's handle. A missing
 * library or symbol is a broken installation, not user input: it prints what
 * is missing and which package provides it, then aborts. */
#include <cblas.h>
#include <lapacke.h>
#include <cairo.h>
#include <cairo-pdf.h>
#include <cairo-svg.h>
#include <libdeflate.h>
#include <fftw3.h>
/* The Jupyter kernel's libraries (src/kernel/): loaded only by `lunette --kernel`. */
#include <zmq.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <cjson/cJSON.h>
#include "lazy_syms.h"

#define LT_LAZY_MEMBER(name) __typeof__(name) *name;
typedef struct {
  char unused;
  LT_LAZY_BLAS(LT_LAZY_MEMBER)
} LtLazyBlas;
typedef struct {
  char unused;
  LT_LAZY_LAPACKE(LT_LAZY_MEMBER)
} LtLazyLapacke;
typedef struct {
  char unused;
  LT_LAZY_CAIRO(LT_LAZY_MEMBER)
} LtLazyCairo;
typedef struct {
  char unused;
  LT_LAZY_DEFLATE(LT_LAZY_MEMBER)
} LtLazyDeflate;
typedef struct {
  char unused;
  LT_LAZY_FFTW(LT_LAZY_MEMBER)
} LtLazyFftw;

typedef struct {
  char unused;
  LT_LAZY_ZMQ(LT_LAZY_MEMBER)
} LtLazyZmq;
typedef struct {
  char unused;
  LT_LAZY_CRYPTO(LT_LAZY_MEMBER)
} LtLazyCrypto;
typedef struct {
  char unused;
  LT_LAZY_CJSON(LT_LAZY_MEMBER)
} LtLazyCjson;

/* The function table of each library, loaded and filled on the first call (thread-safe), then
 * returned at once. Never NULL: a missing library or symbol aborts the process with the Debian
 * package to install. Call sites reach these only through lazy_rename.h's renaming. */
const LtLazyBlas *lt_lazy_blas(void);
const LtLazyLapacke *lt_lazy_lapacke(void);
const LtLazyCairo *lt_lazy_cairo(void);
const LtLazyDeflate *lt_lazy_deflate(void);
const LtLazyFftw *lt_lazy_fftw(void);
const LtLazyZmq *lt_lazy_zmq(void);
const LtLazyCrypto *lt_lazy_crypto(void);
const LtLazyCjson *lt_lazy_cjson(void);

#ifndef LT_LAZY_NO_RENAME
#include "lazy_rename.h"
#endif
#endif
