"""blas_info.py - which BLAS kernel set numpy runs here, and with how many threads.

Asks the OpenBLAS numpy loaded (libblas.so.3 -> OpenBLAS on Debian) through its own entry
points, found among the shared objects mapped into this process (threadpoolctl does the same).
Prints one line: `<corename> (<threads> threads; <config>)`, or `unknown (...)` with why."""
import ctypes

import numpy  # noqa: F401  (loads the BLAS)


def main():
    libs = []
    with open("/proc/self/maps") as fh:
        for line in fh:
            path = line.split()[-1] if len(line.split()) >= 6 else ""
            if ("openblas" in path or "libblas" in path) and path not in libs:
                libs.append(path)
    for path in libs:
        try:
            lib = ctypes.CDLL(path)
            core = lib.openblas_get_corename
        except (OSError, AttributeError):
            continue
        core.restype = ctypes.c_char_p
        lib.openblas_get_config.restype = ctypes.c_char_p
        threads = lib.openblas_get_num_threads()
        print("%s (%d threads; %s)" % (core().decode(), threads, lib.openblas_get_config().decode()))
        return
    print("unknown (no OpenBLAS among %s)" % (", ".join(libs) or "the loaded libraries"))


main()
