# dopt — see README.md.  `make test` and `make demo` need nothing but a C compiler and libm;
# the bench targets install their anchors (Debian packages, a venv outside the tree) themselves.
CC ?= cc
CFLAGS ?= -std=c99 -O2 -march=native -Wall -Wextra -pedantic
BUILD := build

.PHONY: test demo bench deps-blas clean
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
	done

# Benchmarks: bench/<suite>.sh, one `bench <suite> <case> key=value ...` line per measurement.
SUITES := $(filter-out common,$(patsubst bench/%.sh,%,$(wildcard bench/*.sh)))
bench: $(addprefix bench-,$(SUITES))
bench-%:
	@bash bench/$*.sh

# Optional OpenBLAS backend (DOPT_USE_CBLAS); `make test` adds the cblas configuration when present.
deps-blas:
	flock /tmp/dopt-apt.lock sh -c "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libopenblas-dev liblapacke-dev"

clean:
	rm -rf $(BUILD)

# Reliability (issue 24): libFuzzer targets (tests/fuzz/run.sh; FUZZ_RUNS, FUZZ_TIME, FUZZ_TARGETS),
# ThreadSanitizer and valgrind passes (tests/run.sh calls the last two where the tools exist).
.PHONY: fuzz check-threads check-valgrind
fuzz:
	@bash tests/fuzz/run.sh
check-threads:
	@bash tests/check_threads.sh
check-valgrind:
	@bash tests/check_valgrind.sh
