/* hot.h - LT_HOT: runtime ISA dispatch for lunette's hot kernels (GCC function multiversioning).
 *
 * The Makefile builds for baseline x86-64 (SSE2) and never passes -march, so the binary runs on
 * any x86-64 machine. A function marked LT_HOT is compiled three times, for x86-64-v4 (AVX-512
 * F/BW/CD/DQ/VL), x86-64-v3 (AVX2, FMA, BMI2) and the baseline, and the dynamic loader picks one
 * clone per function at start-up through an ifunc resolver (libgcc's __builtin_cpu_supports), as
 * numpy and OpenBLAS pick their kernels at run time. OpenMP regions inside an LT_HOT function are
 * cloned with it, and static inline helpers it calls are inlined into each clone.
 *
 * Results may differ from the baseline clone in the last bits: the v3 and v4 clones contract
 * a*b+c into FMA (GCC's default -ffp-contract=fast), and vectorised loops may use wider
 * partial sums. Specs compare every hot kernel with a reference to tolerance, and the sanitizer
 * build (`make debug`, no clones) runs the baseline code.
 *
 * Not under clang, off x86-64, under AddressSanitizer (`make debug`, which so tests the baseline
 * code), or when built with -DLT_NO_CLONES. */
#ifndef LUNETTE_HOT_H
#define LUNETTE_HOT_H
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && \
    !defined(__SANITIZE_ADDRESS__) && !defined(LT_NO_CLONES)
#define LT_HOT __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define LT_HOT
#endif
#endif
