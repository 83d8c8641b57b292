/* lazy.c - fills the OpenBLAS, LAPACKE, Cairo and libdeflate function tables on first use (see
 * lazy.h). */
#ifndef LT_LAZY_NO_RENAME /* lazy.h is forced into every object; here it must not rename */
#error "compile lazy.c with -DLT_LAZY_NO_RENAME (see the Makefile)"
#endif
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include "lazy.h"

/* Opens the first library that loads; aborts with the package to install. */
static void *open_first(const char *const *names, const char *package) {
  for (const char *const *n = names; *n; n++) {
    void *h = dlopen(*n, RTLD_NOW | RTLD_LOCAL);
    if (h) return h;
  }
  fprintf(stderr, "lunette: cannot load %s (%s); install the Debian package %s (make deps)\n",
          names[0], dlerror(), package);
  abort();
}

static void *symbol(void *h, const char *name, const char *lib) {
  void *p = dlsym(h, name);
  if (!p) {
    fprintf(stderr, "lunette: %s has no symbol %s; the installed library is too old\n", lib, name);
    abort();
  }
  return p;
}

/* The tables and their once-flags are the only process-wide state here:
 * they cache what the dynamic loader would otherwise have resolved at start. */
static LtLazyBlas blas;
static LtLazyLapacke lapacke;
static LtLazyCairo cairo;
static LtLazyDeflate libdeflate;
static pthread_once_t blas_once = PTHREAD_ONCE_INIT, lapacke_once = PTHREAD_ONCE_INIT,
                      cairo_once = PTHREAD_ONCE_INIT;
static pthread_once_t deflate_once = PTHREAD_ONCE_INIT;

#define LT_LAZY_LOAD(name) *(void **)&tab->name = symbol(h, #name, lib);

static void load_blas(void) {
  static const char *const names[] = {"libopenblas.so.0", "libopenblas.so", NULL};
  const char *lib = names[0];
  void *h = open_first(names, "libopenblas-dev");
  LtLazyBlas *tab = &blas;
  (void)h;
  (void)lib;
  (void)tab;
  LT_LAZY_BLAS(LT_LAZY_LOAD)
}

static void load_lapacke(void) {
  static const char *const names[] = {"liblapacke.so.3", "liblapacke.so", NULL};
  const char *lib = names[0];
  void *h = open_first(names, "liblapacke-dev");
  LtLazyLapacke *tab = &lapacke;
  (void)h;
  (void)lib;
  (void)tab;
  LT_LAZY_LAPACKE(LT_LAZY_LOAD)
}

static void load_cairo(void) {
  static const char *const names[] = {"libcairo.so.2", "libcairo.so", NULL};
  const char *lib = names[0];
  void *h = open_first(names, "libcairo2-dev");
  LtLazyCairo *tab = &cairo;
  (void)h;
  (void)lib;
  (void)tab;
  LT_LAZY_CAIRO(LT_LAZY_LOAD)
}

static void load_deflate(void) {
  static const char *const names[] = {"libdeflate.so.0", "libdeflate.so", NULL};
  const char *lib = names[0];
  void *h = open_first(names, "libdeflate-dev");
  LtLazyDeflate *tab = &libdeflate;
  (void)h;
  (void)lib;
  (void)tab;
  LT_LAZY_DEFLATE(LT_LAZY_LOAD)
}

const LtLazyBlas *lt_lazy_blas(void) {
  pthread_once(&blas_once, load_blas);
  return &blas;
}
const LtLazyLapacke *lt_lazy_lapacke(void) {
  pthread_once(&lapacke_once, load_lapacke);
  return &lapacke;
}
const LtLazyCairo *lt_lazy_cairo(void) {
  pthread_once(&cairo_once, load_cairo);
  return &cairo;
}
const LtLazyDeflate *lt_lazy_deflate(void) {
  pthread_once(&deflate_once, load_deflate);
  return &libdeflate;
}
