/* stream.c - this machine's measured memory bandwidth, for rows bound by memory rather than by
 * arithmetic (per-sample gradients write gigabytes once). Compiled by scripts/bench/run.sh with
 * -O2 -fopenmp; threads come from OMP_NUM_THREADS like every other process in the run.
 *
 * Three probes over buffers far larger than the caches, each the best of `reps` passes:
 *   copy         b[i] = a[i] on buffers already touched (STREAM's Copy: read + write bytes)
 *   write        a[i] = v on a buffer already touched (write bytes)
 *   first_touch  malloc a fresh buffer, advise huge pages as lunette's tensors do, write every
 *                float, free it (write bytes): what producing a new tensor of that size costs,
 *                the kernel's page faults and zeroing included
 * usage: stream [reps] [MiB]     prints `stream copy_gbs=... write_gbs=... first_touch_gbs=...` */
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The whole 2 MiB pages inside [p, p + n) get MADV_HUGEPAGE, as lt_memory_advise does. */
static void advise(void *p, size_t n) {
#ifdef MADV_HUGEPAGE
  const uintptr_t huge = (uintptr_t)2 << 20;
  uintptr_t lo = ((uintptr_t)p + huge - 1) & ~(huge - 1), hi = ((uintptr_t)p + n) & ~(huge - 1);
  if (hi > lo) madvise((void *)lo, hi - lo, MADV_HUGEPAGE);
#else
  (void)p;
  (void)n;
#endif
}

static void fill(float *a, int64_t n, float v) {
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; i++) a[i] = v;
}

static void copy(float *b, const float *a, int64_t n) {
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; i++) b[i] = a[i];
}

int main(int argc, char **argv) {
  int reps = argc > 1 ? atoi(argv[1]) : 5;
  int64_t mib = argc > 2 ? atoll(argv[2]) : 512;
  size_t bytes = (size_t)mib << 20;
  int64_t n = (int64_t)(bytes / sizeof(float));
  float *a = malloc(bytes), *b = malloc(bytes);
  if (!a || !b) {
    fprintf(stderr, "stream: out of memory for 2 x %lld MiB\n", (long long)mib);
    return 1;
  }
  advise(a, bytes);
  advise(b, bytes);
  fill(a, n, 1.0f); /* touch both once: the copy and write probes measure warm pages */
  fill(b, n, 2.0f);
  double best_copy = 1e30, best_write = 1e30, best_first = 1e30;
  for (int r = 0; r < reps; r++) {
    double t0 = now();
    copy(b, a, n);
    double t1 = now();
    fill(a, n, (float)r);
    double t2 = now();
    if (t1 - t0 < best_copy) best_copy = t1 - t0;
    if (t2 - t1 < best_write) best_write = t2 - t1;
    float *c = malloc(bytes);
    if (!c) break;
    double t3 = now();
    advise(c, bytes);
    fill(c, n, (float)r);
    double t4 = now();
    /* read one value back so the compiler keeps the writes */
    if (c[n / 2] != (float)r) fprintf(stderr, "stream: bad fill\n");
    free(c);
    if (t4 - t3 < best_first) best_first = t4 - t3;
  }
  if (a[n - 1] + b[n - 1] < 0) fprintf(stderr, "stream: impossible\n");
  printf("stream copy_gbs=%.2f write_gbs=%.2f first_touch_gbs=%.2f mib=%lld reps=%d threads=%d\n",
         2.0 * (double)bytes / best_copy * 1e-9, (double)bytes / best_write * 1e-9,
         (double)bytes / best_first * 1e-9, (long long)mib, reps, omp_get_max_threads());
  free(a);
  free(b);
  return 0;
}
