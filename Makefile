# lunette - build, test, bench. `make demo` and `make test` are all the set-up there is.

CC      ?= cc
LUA     ?= lua5.4
LUA_INC := $(shell pkg-config --cflags lua5.4 2>/dev/null || echo -I/usr/include/lua5.4)
CAIRO_CFLAGS := $(shell pkg-config --cflags cairo 2>/dev/null)
WARN    := -Wall -Wextra -Wshadow -Wno-unused-parameter -Wstrict-prototypes -Wmissing-prototypes
OPT     ?= -O2
CFLAGS  ?= $(OPT) -g
ALL_CFLAGS = -std=gnu11 $(CFLAGS) $(WARN) -fPIC -fopenmp -fno-math-errno -fno-trapping-math -fvect-cost-model=dynamic $(LUA_INC) $(CAIRO_CFLAGS) \
             -I/usr/include/x86_64-linux-gnu/openblas-pthread -Isrc -I$(BUILD)/gen -include lazy.h
LIBS    := -lz -lm -ldl -lpthread -fopenmp
HOSTLIBS := -llua5.4 -lreadline

BUILD   ?= build
# One folder per module under src/ (DESIGN.md's module map); src/host/ is the
# executable, everything else goes into both the host and lunette.so.
ALL_SRC  := $(sort $(wildcard src/*.c src/*/*.c))
ALL_HDR  := $(wildcard src/*.h src/*/*.h)
HOST_SRC := $(wildcard src/host/*.c)
# The CUDA backend's plain-C part goes only into lunette_cuda.so (and its host-side test);
# lunette itself has just the loader and the binding of src/cuda/ (see the CUDA rules below).
CUDA_BACKEND_C := src/cuda/cuda_alloc.c
LIB_SRC  := $(filter-out $(HOST_SRC) $(CUDA_BACKEND_C),$(ALL_SRC))
LUA_SRC  := $(sort $(wildcard lua/lunette/*.lua))
LIB_OBJ  := $(patsubst src/%.c,$(BUILD)/obj/%.o,$(LIB_SRC)) $(BUILD)/obj/luasrc.o
HOST_OBJ := $(patsubst src/%.c,$(BUILD)/obj/%.o,$(HOST_SRC))

.PHONY: all deps check-deps test test-asan debug lint bench demo clean fuzz fixtures docs
.PHONY: install uninstall rock-install
all: $(BUILD)/lunette $(BUILD)/lunette.so

$(BUILD)/obj/%.o: src/%.c $(ALL_HDR) $(BUILD)/gen/lazy_syms.h | $(BUILD)/obj
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(FILE_CFLAGS) -c $< -o $@

# OpenBLAS, LAPACKE and Cairo are dlopen'ed on first use (src/lazy.h, forced
# into every object with -include): scripts/lazy.lua lists the functions the
# sources call; the headers are rewritten only when the list changes.
$(BUILD)/gen/lazy_syms.h: $(ALL_SRC) scripts/lazy.lua | $(BUILD)/gen
	$(LUA) scripts/lazy.lua $@ $(ALL_SRC)
$(BUILD)/obj/lazy.o: FILE_CFLAGS = -DLT_LAZY_NO_RENAME
# Open MPI's header for src/dist (types and constants only: the library is dlopen'ed, dist.h).
MPI_CFLAGS := $(shell pkg-config --cflags ompi-c 2>/dev/null || echo -I/usr/lib/x86_64-linux-gnu/openmpi/include)
$(BUILD)/obj/dist/dist.o: FILE_CFLAGS = $(MPI_CFLAGS)
# libhdf5-dev's header for src/io/io_hdf5.c (the library is dlopen'ed there on first use).
HDF5_CFLAGS := $(shell pkg-config --cflags hdf5 2>/dev/null || echo -I/usr/include/hdf5/serial)
$(BUILD)/obj/io/io_hdf5.o: FILE_CFLAGS = $(HDF5_CFLAGS)

$(BUILD)/gen/luasrc.c: $(LUA_SRC) scripts/embed.lua | $(BUILD)/gen
	$(LUA) scripts/embed.lua $@ $(LUA_SRC)

# lazy_syms.h too: every object is compiled with -include lazy.h, which includes it.
$(BUILD)/obj/luasrc.o: $(BUILD)/gen/luasrc.c $(BUILD)/gen/lazy_syms.h | $(BUILD)/obj
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/lunette: $(HOST_OBJ) $(LIB_OBJ)
	$(CC) $(CFLAGS) -o $@ $^ -Wl,-E $(HOSTLIBS) $(LIBS)

# The Lua module: no -llua5.4, the symbols come from the interpreter that loads it.
$(BUILD)/lunette.so: $(LIB_OBJ)
	$(CC) $(CFLAGS) -shared -o $@ $^ $(LIBS)

$(BUILD)/obj $(BUILD)/gen:
	mkdir -p $@

# Test helper for tests/repl_spec.lua: drives the REPL through a pseudo-terminal.
all: $(BUILD)/ptyrun
$(BUILD)/ptyrun: tests/ptyrun.c | $(BUILD)/obj
	$(CC) -std=gnu11 $(CFLAGS) $(WARN) -o $@ $< -lutil

# Test double for the writer specs (LD_PRELOAD): SIGTERM mid-write, a log of
# fsync and rename. Built without sanitizers: it is preloaded before them.
all: $(BUILD)/writeshim.so
$(BUILD)/writeshim.so: tests/writeshim.c | $(BUILD)/obj
	$(CC) -std=gnu11 -O2 -g $(WARN) -fPIC -shared -o $@ $< -ldl

# Test driver for guards in core functions that no binding reaches today (tests/core_guards.c,
# run by tests/embed_spec.lua and tests/plot_spec.lua); built with CFLAGS, so sanitized by `debug`.
GUARD_OBJ := $(addprefix $(BUILD)/obj/,embed/embed.o interrupt.o plot/plot_color.o plot/plot_data.o)
all: $(BUILD)/core_guards
$(BUILD)/core_guards: tests/core_guards.c $(GUARD_OBJ) | $(BUILD)/obj
	$(CC) -std=gnu11 $(CFLAGS) $(WARN) -Isrc -o $@ $^ $(LIBS)

# ---- CUDA backend: src/cuda/*.cu + cuda_alloc.c -> $(BUILD)/lunette_cuda.so ------------------
# Built when nvcc is found (PATH or /usr/local/cuda); `make CUDA=1` insists, `make CUDA=0`
# skips. lunette never links it: src/cuda/cuda.c dlopens it on the first CUDA call, so
# `lunette -e ''` maps nothing of CUDA and a machine without CUDA runs lunette as before.
NVCC ?= $(firstword $(shell command -v nvcc 2>/dev/null) $(wildcard /usr/local/cuda/bin/nvcc))
CUDA ?= $(if $(NVCC),1,0)
CUDA_HOME ?= $(patsubst %/bin/nvcc,%,$(NVCC))
# SASS for Turing (sm_75), Ampere (sm_80: also runs on sm_86/87/89, same major) and Hopper
# (sm_90), plus PTX of compute_90 that the driver JIT-compiles for newer GPUs (Blackwell).
# Why not Volta (sm_70/72): CUDA 13 dropped it, nvcc 13.0 refuses those targets. Why so few:
# each target is another full device compile, and `make test` must stay fast on 2 cores
# (measured: README.md, GPU).
CUDA_ARCH ?= -gencode arch=compute_75,code=sm_75 -gencode arch=compute_80,code=sm_80 \
             -gencode arch=compute_90,code=[sm_90,compute_90]
NVCC_FLAGS ?= -O2 -std=c++17 -Xcompiler -fPIC,-fvisibility=hidden $(CUDA_ARCH) -Isrc
CUDA_HDR := $(wildcard src/cuda/*.h) src/tensor/tensor.h src/hot.h
CUDA_OBJ := $(patsubst src/cuda/%.cu,$(BUILD)/cuda/%.o,$(wildcard src/cuda/*.cu)) \
            $(BUILD)/cuda/cuda_alloc.o
ifeq ($(CUDA),1)
ifeq ($(NVCC),)
$(error CUDA=1 but nvcc is not on PATH nor in /usr/local/cuda/bin; set NVCC=/path/to/nvcc)
endif
all: $(BUILD)/lunette_cuda.so
endif
$(BUILD)/cuda/%.o: src/cuda/%.cu $(CUDA_HDR)
	@mkdir -p $(@D)
	$(NVCC) $(NVCC_FLAGS) -c $< -o $@
# Not $(CFLAGS): under `make debug` they add sanitizers, whose runtime nvcc's link of the
# backend does not bring (the allocator is sanitized in cuda_alloc_test instead).
$(BUILD)/cuda/cuda_alloc.o: src/cuda/cuda_alloc.c $(CUDA_HDR)
	@mkdir -p $(@D)
	$(CC) -std=gnu11 -O2 -g $(WARN) -fPIC -fvisibility=hidden -Isrc -c $< -o $@
# cudart is linked statically (nvcc's default); cuBLAS and cuSOLVER dynamically, found through
# the rpath when the toolkit's lib64 is not in the loader's path. The one exported symbol is
# lt_cuda_api (tests/cuda_spec.lua checks it with nm).
# The loader looks beside the object that holds it first, then where `make install` puts it;
# _GNU_SOURCE on the command line for dladdr (lazy.h, forced first, includes libc headers).
$(BUILD)/obj/cuda/cuda.o: FILE_CFLAGS = -D_GNU_SOURCE -DLT_CUDA_LIBDIR='"$(LUA_CMOD)"'
$(BUILD)/lunette_cuda.so: $(CUDA_OBJ)
	$(NVCC) -shared -o $@ $^ -lcublas -lcusolver -Xlinker -rpath,$(CUDA_HOME)/lib64

# The caching allocator's bookkeeping against a fake device: plain C, built with or without
# CUDA (tests/cuda_spec.lua runs it); sanitized under `make debug` like core_guards.
all: $(BUILD)/cuda_alloc_test
$(BUILD)/cuda_alloc_test: tests/cuda_alloc_test.c src/cuda/cuda_alloc.c src/cuda/cuda_alloc.h
	$(CC) -std=gnu11 $(CFLAGS) $(WARN) -Isrc -o $@ tests/cuda_alloc_test.c \
	  src/cuda/cuda_alloc.c -lpthread

# The kernels' per-element code (src/cuda/cuda_device.h: Philox, offsets, top-k) on the CPU.
all: $(BUILD)/cuda_kernels_test
$(BUILD)/cuda_kernels_test: tests/cuda_kernels_test.c src/cuda/cuda_device.h src/tensor/tensor.h
	$(CC) -std=gnu11 $(CFLAGS) $(WARN) -Isrc -o $@ tests/cuda_kernels_test.c -lm

deps:
	@scripts/deps.sh install

check-deps:
	@scripts/deps.sh check || scripts/deps.sh install

test: check-deps
	@$(MAKE) --no-print-directory all
	@scripts/test.sh $(BUILD)

# float-cast-overflow is not part of -fsanitize=undefined: a NaN or out-of-range double converted
# to int is undefined behaviour all the same (UMAP's schedule once computed int(NaN)).
debug:
	@$(MAKE) --no-print-directory BUILD=build-asan OPT=-O1 \
	  CFLAGS="-O1 -g -fsanitize=address,undefined,float-cast-overflow -fno-omit-frame-pointer \
	  -fno-sanitize-recover=undefined,float-cast-overflow" all

test-asan: check-deps debug
	@ASAN_OPTIONS=detect_leaks=0:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  scripts/test.sh build-asan

lint:
	@scripts/lint.sh

bench: all
	@scripts/deps.sh check bench || scripts/deps.sh install bench
	@scripts/bench/run.sh

# Both seed analyses on the built-in Fashion-MNIST data; figures under out/.
demo: check-deps all
	@scripts/demo.sh $(BUILD)

# docs/API.md from the doc comments in lua/lunette/*.lua (the text help() prints).
docs: all
	@$(BUILD)/lunette scripts/docs.lua docs/API.md

clean:
	rm -rf build build-asan

# make install [PREFIX=/usr/local] [DESTDIR=staging]: the executable, lunette.so where Debian's
# lua5.4 looks (package.cpath has /usr/local/lib/lua/5.4 and /usr/lib/lua/5.4), the Jupyter
# kernelspec (kernel.json naming $(PREFIX)/bin/lunette, logos drawn by lunette.kernelspec), the
# man page and the docs. `make uninstall` with the same variables removes exactly these files.
PREFIX    ?= /usr/local
BINDIR    ?= $(PREFIX)/bin
LUA_CMOD  ?= $(PREFIX)/lib/lua/5.4
DATADIR   ?= $(PREFIX)/share
MANDIR    ?= $(DATADIR)/man/man1
DOCDIR    ?= $(DATADIR)/doc/lunette
KERNELDIR ?= $(DATADIR)/jupyter/kernels/lunette
INSTALL_DOCS := README.md docs/API.md
INSTALLED := $(BINDIR)/lunette $(LUA_CMOD)/lunette.so $(MANDIR)/lunette.1 \
             $(addprefix $(DOCDIR)/,$(notdir $(INSTALL_DOCS))) \
             $(addprefix $(KERNELDIR)/,kernel.json logo-32x32.png logo-64x64.png)

install: $(BUILD)/lunette $(BUILD)/lunette.so
	install -d '$(DESTDIR)$(BINDIR)' '$(DESTDIR)$(LUA_CMOD)' '$(DESTDIR)$(MANDIR)' '$(DESTDIR)$(DOCDIR)'
	install -m 755 $(BUILD)/lunette '$(DESTDIR)$(BINDIR)/lunette'
	install -m 644 $(BUILD)/lunette.so '$(DESTDIR)$(LUA_CMOD)/lunette.so'
	install -m 644 docs/lunette.1 '$(DESTDIR)$(MANDIR)/lunette.1'
	if [ -f $(BUILD)/lunette_cuda.so ]; then \
	  install -m 644 $(BUILD)/lunette_cuda.so '$(DESTDIR)$(LUA_CMOD)/lunette_cuda.so'; fi
	install -m 644 $(INSTALL_DOCS) '$(DESTDIR)$(DOCDIR)'
	$(BUILD)/lunette -E -e "assert(require('lunette.kernelspec').write( \
	  '$(DESTDIR)$(KERNELDIR)', '$(BINDIR)/lunette'))"

# Only lunette's own folders go; shared ones (bin, man1) stay even when empty.
uninstall:
	rm -f $(foreach f,$(INSTALLED) $(LUA_CMOD)/lunette_cuda.so,'$(DESTDIR)$(f)')
	for d in '$(DESTDIR)$(KERNELDIR)' '$(DESTDIR)$(DOCDIR)'; do \
	  if [ -d "$$d" ]; then rmdir "$$d"; fi; done

# LuaRocks (lunette-0.1.0-1.rockspec, build type make): `luarocks make` builds lunette.so with
# the rule above, then installs it into the rock tree's INST_LIBDIR.
rock-install: $(BUILD)/lunette.so
	install -d '$(INST_LIBDIR)'
	install -m 644 $(BUILD)/lunette.so '$(INST_LIBDIR)/lunette.so'

# libFuzzer harnesses (tests/fuzz/*.c) for every file reader; FUZZ_SECONDS each.
FUZZ_SECONDS ?= 60
fuzz:
	@scripts/deps.sh check fuzz || scripts/deps.sh install fuzz
	@FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz.sh

# Fixtures written by the Python peers (numpy, torch, scikit-learn, h5py, csv) and, for Parquet,
# by npm's parquet-wasm/apache-arrow/hyparquet-writer, plus lunette's own Parquet files read back
# by parquet-wasm and hyparquet (scripts/fixtures/parquet.sh, which needs build/lunette); Arrow
# IPC files by apache-arrow and lunette's read back by it (scripts/fixtures/arrow.sh); the
# committed ones are small and specs read them without Python or node installed.
fixtures: all
	@scripts/deps.sh check bench || scripts/deps.sh install bench
	@for f in scripts/fixtures/*.py; do [ -f "$$f" ] && /usr/bin/python3 "$$f"; done; true
	@scripts/fixtures/parquet.sh
	@scripts/fixtures/arrow.sh
