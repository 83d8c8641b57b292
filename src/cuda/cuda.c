/* cuda.c - finds and dlopens lunette_cuda.so on first use, and device facts (see cuda.h). */
/* dladdr needs _GNU_SOURCE, which the Makefile defines for this file (lazy.h comes first). */
#include "cuda/cuda.h"
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#ifndef LT_CUDA_LIBDIR
#define LT_CUDA_LIBDIR "/usr/local/lib/lua/5.4"
#endif
#define BACKEND_NAME "lunette_cuda.so"

/* Opens path and checks its ABI; on failure writes why and returns NULL (the handle closed). */
static const LtCudaApi *open_backend(const char *path, char *why, size_t len) {
  /* RTLD_LOCAL: the backend's cuBLAS and cudart stay private to it. */
  void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    snprintf(why, len, "cannot load %s: %s", path, dlerror());
    return NULL;
  }
  LtCudaApiFn fn;
  *(void **)&fn = dlsym(h, LT_CUDA_API_SYMBOL);
  const LtCudaApi *api = fn ? fn() : NULL;
  if (!api || api->abi_version != LT_CUDA_ABI_VERSION) {
    if (!api)
      snprintf(why, len, "%s has no %s: not a lunette CUDA backend", path, LT_CUDA_API_SYMBOL);
    else
      snprintf(why, len, "%s has ABI version %d, lunette needs %d: rebuild it", path,
               api->abi_version, LT_CUDA_ABI_VERSION);
    dlclose(h);
    return NULL;
  }
  return api;
}

int lt_cuda_probe(const char *path, char *why, size_t len) {
  const LtCudaApi *api = open_backend(path, why, len);
  /* A successful probe stays open: closing a library that started the CUDA runtime's threads
   * is not safe, and a probe is for tests only. */
  return api ? 0 : -1;
}

/* The candidate paths, in order; writes at most n of them into out (each PATH_MAX-ish). */
static int candidates(char out[][1024], int n) {
  int k = 0;
  Dl_info info;
  if (dladdr((void *)lt_cuda_backend, &info) && info.dli_fname) {
    const char *slash = strrchr(info.dli_fname, '/');
    int dirlen = slash ? (int)(slash - info.dli_fname) : 1;
    const char *dir = slash ? info.dli_fname : ".";
    snprintf(out[k++], sizeof out[0], "%.*s/%s", dirlen, dir, BACKEND_NAME);
  }
  if (k < n) snprintf(out[k++], sizeof out[0], "%s/%s", LT_CUDA_LIBDIR, BACKEND_NAME);
  return k;
}

/* The process-wide result of the one load (a cache of what dlopen found, like lazy.c's
 * tables): the table or the reason. */
static const LtCudaApi *backend;
static char backend_why[512];
static pthread_once_t backend_once = PTHREAD_ONCE_INIT;

static void load_backend(void) {
  char paths[2][1024];
  int n = candidates(paths, 2);
  for (int i = 0; i < n; i++) {
    /* A missing file means "look further"; a file that fails to load is the reason. */
    if (access(paths[i], F_OK) != 0) continue;
    backend = open_backend(paths[i], backend_why, sizeof backend_why);
    return;
  }
  snprintf(backend_why, sizeof backend_why,
           "%s not built: looked in %.200s%s%.200s; build it with `make CUDA=1` (needs nvcc)",
           BACKEND_NAME, n > 0 ? paths[0] : "", n > 1 ? " and " : "", n > 1 ? paths[1] : "");
}

const LtCudaApi *lt_cuda_backend(char *why, size_t len) {
  pthread_once(&backend_once, load_backend);
  if (!backend) snprintf(why, len, "%s", backend_why);
  return backend;
}

int lt_cuda_device_count(char *why, size_t len) {
  const LtCudaApi *api = lt_cuda_backend(why, len);
  if (!api) return 0;
  int n = api->device_count();
  if (n < 0) {
    snprintf(why, len, "%s", api->last_error());
    return 0;
  }
  if (n == 0) snprintf(why, len, "cudaGetDeviceCount found no device");
  return n;
}

const char *lt_device_str(const Tensor *t, char *buf, size_t len) {
  if (t->device == LT_CUDA)
    snprintf(buf, len, "cuda:%d", t->device_index);
  else
    snprintf(buf, len, "cpu");
  return buf;
}
