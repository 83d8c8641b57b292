/* peak.c - this machine's measured float32 GEMM peak through OpenBLAS.
 * Compiled by scripts/bench/run.sh against -lopenblas (the same library numpy
 * reaches through libblas.so.3). For each square size n it runs one warm-up
 * cblas_sgemm and `reps` timed ones; the peak is the best rate seen,
 * 2*n^3 / seconds, over all sizes and repeats. Thread count comes from
 * OPENBLAS_NUM_THREADS like every other process in the run.
 * usage: peak [reps] [n ...]     prints `peak gflops=<best> n=<size> ...` */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv) {
  int reps = argc > 1 ? atoi(argv[1]) : 3;
  int defaults[] = {1024, 2048, 3072};
  int nsizes = argc > 2 ? argc - 2 : 3;
  double best = 0.0;
  int best_n = 0;
  for (int s = 0; s < nsizes; s++) {
    int n = argc > 2 ? atoi(argv[s + 2]) : defaults[s];
    size_t nn = (size_t)n * (size_t)n;
    float *a = malloc(nn * sizeof *a), *b = malloc(nn * sizeof *b), *c = malloc(nn * sizeof *c);
    if (!a || !b || !c) { fprintf(stderr, "peak: out of memory for n=%d\n", n); return 1; }
    for (size_t i = 0; i < nn; i++) {
      a[i] = (float)((i * 7919) % 10007) / 10007.0f;
      b[i] = (float)((i * 7907) % 10009) / 10009.0f;
    }
    double flops = 2.0 * (double)n * (double)n * (double)n;
    for (int r = -1; r < reps; r++) {
      double t0 = now();
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
      double dt = now() - t0;
      if (r < 0) continue; /* warm-up */
      double g = flops / dt * 1e-9;
      printf("sgemm n=%d seconds=%.6g gflops=%.2f\n", n, dt, g);
      if (g > best) { best = g; best_n = n; }
    }
    free(a); free(b); free(c);
  }
  printf("peak gflops=%.2f n=%d threads=%d core='%s' config='%s'\n", best, best_n,
         openblas_get_num_threads(), openblas_get_corename(), openblas_get_config());
  return 0;
}
