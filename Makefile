# dopt — see README.md.  `make test` and `make demo` need nothing but a C compiler and libm;
# the bench targets install their anchors (Debian packages, a venv outside the tree) themselves.
CC ?= cc
CFLAGS ?= -std=c99 -O2 -march=native -Wall -Wextra -pedantic
BUILD := build

.PHONY: test demo bench deps-blas clean lib install
test:
	@bash tests/run.sh

# The examples: complete programs that generate their own data; each is built with one cc line.
EXAMPLES := $(wildcard examples/*.c)
demo:
	@mkdir -p $(BUILD)/examples
	@set -e; for src in $(EXAMPLES); do \
	  exe=$(BUILD)/examples/$$(basename $$src .c); \
	  echo "== $$src"; $(CC) $(CFLAGS) -I. $$src -o $$exe -lm; \
	  (cd $(BUILD)/examples && ./$$(basename $$exe)); \
	done; \
	echo "== SVGs written (examples/svg_plot.h):"; ls -1 $(BUILD)/examples/*.svg 2>/dev/null || echo "(none)"

# Benchmarks: bench/<suite>.sh, one `bench <suite> <case> key=value ...` line per measurement.
SUITES := $(filter-out common,$(patsubst bench/%.sh,%,$(wildcard bench/*.sh)))
bench: $(addprefix bench-,$(SUITES))
bench-%:
	@bash bench/$*.sh

# Optional OpenBLAS backend (DOPT_USE_CBLAS); `make test` adds the cblas configuration when present.
deps-blas:
	flock /tmp/dopt-apt.lock sh -c "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libopenblas-dev liblapacke-dev"

# The shared library: every module's implementation in one libdopt.so, exporting dopt_* only.
PREFIX ?= /usr/local
HEADERS := dopt.h dopt_lie.h dopt_sparse.h dopt_mpc.h dopt_deq.h dopt_cuda.cuh
VERSION := $(shell sed -n 's/^\#define DOPT_VERSION_STRING "\(.*\)"/\1/p' dopt.h)
LIB_CFLAGS ?= -std=c99 -O2 -Wall -Wextra -pedantic
lib: $(BUILD)/libdopt.so
$(BUILD)/libdopt.so: lib/dopt_lib.c lib/dopt_bridge.c $(HEADERS)
	@mkdir -p $(BUILD)
	$(CC) $(LIB_CFLAGS) -fPIC -shared -fvisibility=hidden -DDOPT_SHARED -I. lib/dopt_lib.c \
	  -o $@ -Wl,-soname,libdopt.so -lm

# make install PREFIX=...: headers, libdopt.so, dopt.pc and the CMake package files.
install: lib
	install -d $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig \
	  $(DESTDIR)$(PREFIX)/lib/cmake/dopt
	install -m 644 $(HEADERS) $(DESTDIR)$(PREFIX)/include
	install -m 755 $(BUILD)/libdopt.so $(DESTDIR)$(PREFIX)/lib
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' lib/dopt.pc.in \
	  > $(DESTDIR)$(PREFIX)/lib/pkgconfig/dopt.pc
	sed -e 's|@VERSION@|$(VERSION)|' lib/dopt-config-version.cmake.in \
	  > $(DESTDIR)$(PREFIX)/lib/cmake/dopt/dopt-config-version.cmake
	install -m 644 lib/dopt-config.cmake $(DESTDIR)$(PREFIX)/lib/cmake/dopt

clean:
	rm -rf $(BUILD)

# GPU tests of dopt_cuda.cuh (tests/cuda_test.cu: every kernel against the CPU code).  Prints a skip
# line where nvcc or a CUDA device is missing.  CUDA_ARCH: the targets built (A100 and H100).
.PHONY: test-cuda
NVCC ?= nvcc
CUDA_ARCH ?= -gencode arch=compute_80,code=sm_80 -gencode arch=compute_90,code=sm_90
test-cuda:
	@mkdir -p $(BUILD)/test
	@if command -v $(NVCC) >/dev/null 2>&1; then \
	  $(NVCC) -std=c++14 -O2 -I. $(CUDA_ARCH) tests/cuda_test.cu -o $(BUILD)/test/cuda_test && \
	  ./$(BUILD)/test/cuda_test; \
	else echo "skip: nvcc not found, GPU tests not built"; fi
# Reliability (issue 24): libFuzzer targets (tests/fuzz/run.sh; FUZZ_RUNS, FUZZ_TIME, FUZZ_TARGETS),
# ThreadSanitizer and valgrind passes (tests/run.sh calls the last two where the tools exist).
.PHONY: fuzz check-threads check-valgrind
fuzz:
	@bash tests/fuzz/run.sh
check-threads:
	@bash tests/check_threads.sh
check-valgrind:
	@bash tests/check_valgrind.sh

