/* cuda.h - lunette's side of the CUDA backend (core, no Lua): finds and loads lunette_cuda.so
 * with dlopen on first use, counts devices, names devices; no CUDA header needed. */
#ifndef LUNETTE_CUDA_H
#define LUNETTE_CUDA_H
#include <stddef.h>
#include "cuda/cuda_abi.h"
#include "tensor/tensor.h"

/* Why dlopen: linking cudart, cuBLAS and cuSOLVER would make every `lunette -e ''` map
 * hundreds of MiB of libraries, and lunette could not start on a machine without them. The
 * backend is loaded by the first CUDA call and its result (the table, or why not) is kept for
 * the process.
 * Where: lunette_cuda.so in the folder of the object holding this code (build/ beside
 * build/lunette and build/lunette.so; the Lua module folder when installed), then LT_CUDA_LIBDIR
 * (the install folder, set by the Makefile). */

/* The backend's table, loaded on the first call (thread-safe); NULL when it cannot be loaded,
 * with the reason in why (len bytes): not built, a library it needs missing (dlopen's
 * message), or a backend of another ABI version. */
const LtCudaApi *lt_cuda_backend(char *why, size_t len);
/* Loads the backend at path on its own (not cached, not kept: for tests of the failure
 * messages). Returns 0 when it loads and has the right ABI, else -1 with the reason in why. */
int lt_cuda_probe(const char *path, char *why, size_t len);
/* Number of usable devices; 0 with the reason in why when there is none (the backend's load
 * failure, or cudaGetDeviceCount's message, e.g. no driver). */
int lt_cuda_device_count(char *why, size_t len);
/* "cpu" or "cuda:N" for the device of t, into buf; returns buf. */
const char *lt_device_str(const Tensor *t, char *buf, size_t len);
#endif
