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
LIB_SRC  := $(filter-out $(HOST_SRC),$(ALL_SRC))
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
	install -m 644 $(INSTALL_DOCS) '$(DESTDIR)$(DOCDIR)'
	$(BUILD)/lunette -E -e "assert(require('lunette.kernelspec').write( \
	  '$(DESTDIR)$(KERNELDIR)', '$(BINDIR)/lunette'))"

# Only lunette's own folders go; shared ones (bin, man1) stay even when empty.
uninstall:
	rm -f $(foreach f,$(INSTALLED),'$(DESTDIR)$(f)')
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
