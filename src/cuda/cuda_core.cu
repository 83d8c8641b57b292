/* cuda_core.cu - the backend's runtime part: devices, one stream and one caching allocator per
 * device, pinned staging copies, errors, and the ABI table lt_cuda_api() (cuda_abi.h).
 * UNVERIFIED: compiled and linked, never run on a GPU (see README.md, GPU). */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "cuda/cuda_internal.h"

/* The message of the last failure, per thread (lunette calls from its main thread only, but
 * a thread-local costs nothing and keeps two callers from mixing messages). */
static __thread char last_msg[512];

int ltcu_fail(int st, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(last_msg, sizeof last_msg, fmt, ap);
  va_end(ap);
  return st;
}

int ltcu_check(cudaError_t e, const char *what) {
  if (e == cudaSuccess) return LT_OK;
  /* Clear the sticky-free error so that the next call does not report it again. */
  cudaGetLastError();
  int st = e == cudaErrorMemoryAllocation ? LT_ENOMEM : LT_EDEVICE;
  return ltcu_fail(st, "%s: %s", what, cudaGetErrorString(e));
}

static const char *last_error(void) { return last_msg; }

/* Per-device state, made on first use of the device and kept until the process ends (the
 * driver releases it then; freeing at exit would race other atexit handlers). */
typedef struct {
  int ready;
  cudaStream_t stream;
  LtCache cache;
  void *pinned; /* page-locked staging buffer of PINNED_BYTES for copies */
} Device;

#define PINNED_BYTES ((size_t)8 << 20)

static Device devices[LTCU_MAX_DEVICES];
static pthread_mutex_t devices_lock = PTHREAD_MUTEX_INITIALIZER;

static void *dev_malloc(void *ctx, size_t n) {
  void *p = NULL;
  /* Stream-ordered would be cudaMallocAsync; the cache makes plain cudaMalloc rare enough. */
  if (cudaMalloc(&p, n) != cudaSuccess) {
    cudaGetLastError();
    return NULL;
  }
  return p;
}

static void dev_free(void *ctx, void *p) { cudaFree(p); }

/* Sets up devices[dev]: a non-blocking stream (no implicit sync with the legacy default
 * stream), the cache, the pinned buffer. The caller holds devices_lock and made dev current. */
static int device_setup(int dev) {
  Device *d = &devices[dev];
  int st = ltcu_check(cudaStreamCreateWithFlags(&d->stream, cudaStreamNonBlocking),
                      "cudaStreamCreate");
  if (st) return st;
  st = ltcu_check(cudaMallocHost(&d->pinned, PINNED_BYTES), "cudaMallocHost");
  if (st) return st;
  LtDevAllocFns fns = {dev_malloc, dev_free, NULL};
  if (lt_cache_init(&d->cache, fns)) return ltcu_fail(LT_ENOMEM, "cache: no mutex");
  d->ready = 1;
  return LT_OK;
}

static int device_count(void) {
  int n = 0;
  cudaError_t e = cudaGetDeviceCount(&n);
  if (e != cudaSuccess) {
    cudaGetLastError();
    ltcu_fail(LT_EDEVICE, "cudaGetDeviceCount: %s", cudaGetErrorString(e));
    return -1;
  }
  return n;
}

int ltcu_use(int dev) {
  int n = device_count();
  if (n < 0) return LT_EDEVICE;
  if (dev < 0 || dev >= n || dev >= LTCU_MAX_DEVICES)
    return ltcu_fail(LT_EDEVICE, "no CUDA device %d (%d present)", dev, n);
  int st = ltcu_check(cudaSetDevice(dev), "cudaSetDevice");
  if (st) return st;
  pthread_mutex_lock(&devices_lock);
  if (!devices[dev].ready) st = device_setup(dev);
  pthread_mutex_unlock(&devices_lock);
  return st;
}

cudaStream_t ltcu_stream(int dev) { return devices[dev].stream; }

void *ltcu_alloc(int dev, size_t nbytes) {
  if (ltcu_use(dev)) return NULL;
  void *p = lt_cache_alloc(&devices[dev].cache, nbytes, devices[dev].stream);
  if (!p) {
    LtCacheStats s = lt_cache_stats(&devices[dev].cache);
    ltcu_fail(LT_ENOMEM, "out of memory on cuda:%d allocating %zu bytes (%zu in use)", dev,
              nbytes, s.in_use);
  }
  return p;
}

void ltcu_free(int dev, void *p) {
  if (!p || dev < 0 || dev >= LTCU_MAX_DEVICES || !devices[dev].ready) return;
  lt_cache_free(&devices[dev].cache, p);
}

static int device_name(int dev, char *buf, size_t len) {
  int st = ltcu_use(dev);
  if (st) return st;
  cudaDeviceProp p;
  st = ltcu_check(cudaGetDeviceProperties(&p, dev), "cudaGetDeviceProperties");
  if (!st) snprintf(buf, len, "%s (sm_%d%d)", p.name, p.major, p.minor);
  return st;
}

static int mem_info(int dev, size_t *free_bytes, size_t *total_bytes) {
  int st = ltcu_use(dev);
  return st ? st : ltcu_check(cudaMemGetInfo(free_bytes, total_bytes), "cudaMemGetInfo");
}

static int synchronize(int dev) {
  int st = ltcu_use(dev);
  return st ? st : ltcu_check(cudaStreamSynchronize(devices[dev].stream), "synchronize");
}

static int cache_stats(int dev, LtCacheStats *out) {
  int st = ltcu_use(dev);
  if (!st) *out = lt_cache_stats(&devices[dev].cache);
  return st;
}

static int empty_cache(int dev) {
  int st = synchronize(dev);
  if (!st) lt_cache_empty(&devices[dev].cache);
  return st;
}

/* Host to device in chunks of the pinned buffer: memcpy into it, async copy on the stream,
 * wait before the buffer is refilled (one buffer: simple, and the memcpy of the next chunk is
 * what a second buffer would overlap). */
static int copy_h2d(int dev, void *dst, const void *src, size_t n) {
  int st = ltcu_use(dev);
  Device *d = &devices[dev];
  for (size_t off = 0; !st && off < n; off += PINNED_BYTES) {
    size_t k = n - off < PINNED_BYTES ? n - off : PINNED_BYTES;
    memcpy(d->pinned, (const char *)src + off, k);
    st = ltcu_check(cudaMemcpyAsync((char *)dst + off, d->pinned, k, cudaMemcpyHostToDevice,
                                    d->stream), "copy to device");
    if (!st) st = ltcu_check(cudaStreamSynchronize(d->stream), "copy to device");
  }
  return st;
}

static int copy_d2h(int dev, void *dst, const void *src, size_t n) {
  int st = ltcu_use(dev);
  Device *d = &devices[dev];
  for (size_t off = 0; !st && off < n; off += PINNED_BYTES) {
    size_t k = n - off < PINNED_BYTES ? n - off : PINNED_BYTES;
    st = ltcu_check(cudaMemcpyAsync(d->pinned, (const char *)src + off, k,
                                    cudaMemcpyDeviceToHost, d->stream), "copy to host");
    if (!st) st = ltcu_check(cudaStreamSynchronize(d->stream), "copy to host");
    if (!st) memcpy((char *)dst + off, d->pinned, k);
  }
  return st;
}

static void *api_alloc(int dev, size_t n) { return ltcu_alloc(dev, n); }
static void api_free(int dev, void *p) { ltcu_free(dev, p); }

static const LtCudaApi api = {
    LT_CUDA_ABI_VERSION, last_error,   device_count,       device_name, mem_info,
    synchronize,         api_alloc,    api_free,           cache_stats, empty_cache,
    copy_h2d,            copy_d2h,     ltcu_copy,          ltcu_fill,   ltcu_binary,
    ltcu_binary_scalar,  ltcu_unary,   ltcu_reduce,        ltcu_softmax, ltcu_random,
    ltcu_gemm,           ltcu_syevd,   ltcu_cdist_sq,      ltcu_index_rows, ltcu_topk,
};

extern "C" __attribute__((visibility("default"))) const LtCudaApi *lt_cuda_api(void) {
  return &api;
}
