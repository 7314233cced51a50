# vecs: Volume Encryption Conformance Suite
#
#   make            build every program into build/bin/
#   make check      CUnit suites + integration tests + a short fuzz run; ends with
#                   the total "check: N passed, N failed" (harness/tests/run-check)
#   make run        the main job (see README.md)
#   make bench      benchmarks, printed as ratios against a baseline of the same run
#   make asan       ASan+UBSan build in build/asan/, running the CUnit suites and the
#                   agent on real commands (harness/tests/sanitize/agent-asan)
#   make valgrind   CUnit suites, vecs-agent and vecs-host under valgrind (memcheck),
#                   zero errors required
#   make fuzz       libFuzzer targets; FUZZ_SECONDS=N per target (default 60)
#   make deps       install missing Debian packages (ci/install-deps)
#
# Every target that needs a package runs ci/install-deps first; it only installs what
# is missing and is a no-op (a dpkg query) otherwise.

CC        ?= gcc
BUILD     ?= build
O         := $(BUILD)/obj
BIN       := $(BUILD)/bin
WARN      := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wvla -Wno-unused-parameter
CFLAGS    ?= -O2 -g
CFLAGS    += -std=gnu11 $(WARN) -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 \
             -fstack-protector-strong -fno-strict-aliasing -Iharness
# _FORTIFY_SOURCE needs optimisation; sanitizer builds set their own flags.
ifeq ($(findstring -fsanitize,$(CFLAGS)),)
CFLAGS    += -D_FORTIFY_SOURCE=2
endif
LDLIBS_CRYPTO := -lcrypto -lcryptsetup
# libvecs' engine reads scenario files with libyaml; the targets talk to libvirtd (libvirt-dev)
LDLIBS_VECS := -lyaml -lcurl -ljansson -lsqlite3 -lmariadb -lvirt $(LDLIBS_CRYPTO)
DEPS_STAMP := $(BUILD)/.deps-ok

UTIL_SRC   := $(wildcard harness/util/*.c)
ORACLE_SRC := $(wildcard harness/oracle/*.c)
ENGINE_SRC := $(wildcard harness/engine/*.c)
REPORT_SRC := $(wildcard harness/report/*.c)
TARGET_SRC := $(wildcard harness/targets/*.c)
# faults/corrupt*.c only: other files of faults/ may be preloaded shims, not library code
CORRUPT_SRC := $(wildcard harness/faults/corrupt*.c)
# the I/O fault control API; its shim (iofault_shim.c) is built on its own below
IOFAULT_SRC := harness/faults/iofault.c
# the fault catalog and the fault runner (`vecs list --faults`, `vecs run --faults`)
FAULTRUN_SRC := harness/faults/catalog.c harness/faults/fault_run.c
CLI_SRC    := $(wildcard harness/cli/*.c)
TEST_SRC   := $(wildcard harness/tests/*.c)
FUZZ_SRC   := $(wildcard harness/tests/fuzz/*.c)
BENCH_SRC  := $(wildcard harness/tests/bench/bench_*.c)

UTIL_OBJ   := $(UTIL_SRC:%.c=$(O)/%.o)
ORACLE_OBJ := $(ORACLE_SRC:%.c=$(O)/%.o)
ENGINE_OBJ := $(ENGINE_SRC:%.c=$(O)/%.o)
REPORT_OBJ := $(REPORT_SRC:%.c=$(O)/%.o)
TARGET_OBJ := $(TARGET_SRC:%.c=$(O)/%.o)
CORRUPT_OBJ := $(CORRUPT_SRC:%.c=$(O)/%.o)
IOFAULT_OBJ := $(IOFAULT_SRC:%.c=$(O)/%.o)
FAULTRUN_OBJ := $(FAULTRUN_SRC:%.c=$(O)/%.o)
CLI_OBJ    := $(CLI_SRC:%.c=$(O)/%.o)
TEST_OBJ   := $(TEST_SRC:%.c=$(O)/%.o)
LIBVECS    := $(O)/libvecs.a

BENCH_BIN  := $(BENCH_SRC:harness/tests/bench/bench_%.c=$(BIN)/vecs-bench-%)

PROGRAMS := $(BIN)/vecs $(BIN)/vecs-tests $(BIN)/getrusage-shim.so $(BUILD)/lib/libvecs-iofault.so \
            $(BUILD)/guest/vmlinuz

.PHONY: all deps check unit integration fuzz-smoke run bench asan valgrind fuzz clean
all: $(PROGRAMS)

deps: $(DEPS_STAMP)
$(DEPS_STAMP): ci/install-deps
	@ci/install-deps
	@mkdir -p $(@D) && touch $@

# the database probe reads MariaDB too (libmariadb-dev)
$(O)/harness/targets/db_probe.o: CFLAGS += -I/usr/include/mariadb

# V=1 shows whole command lines.
Q := $(if $(V),,@)

$(O)/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

$(LIBVECS): $(UTIL_OBJ) $(ORACLE_OBJ) $(ENGINE_OBJ) $(REPORT_OBJ) $(TARGET_OBJ) $(CORRUPT_OBJ) $(IOFAULT_OBJ) $(FAULTRUN_OBJ)
	@mkdir -p $(@D)
	$(Q)$(AR) rcs $@ $^

$(BIN)/vecs: $(CLI_OBJ) $(LIBVECS)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(CFLAGS) -o $@ $(CLI_OBJ) $(LIBVECS) $(LDLIBS_VECS) $(LDFLAGS)

$(BIN)/vecs-tests: $(TEST_OBJ) $(LIBVECS)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(CFLAGS) -o $@ $(TEST_OBJ) $(LIBVECS) -lcunit $(LDLIBS_VECS) $(LDFLAGS)

$(BIN)/vecs-bench-%: $(O)/harness/tests/bench/bench_%.o $(LIBVECS)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(CFLAGS) -o $@ $< $(LIBVECS) $(LDLIBS_VECS) $(LDFLAGS)

# Preloaded into qemu-img by the fast KDF profile (DESIGN.md, "Hazards").
$(BIN)/getrusage-shim.so: fixtures/getrusage-shim.c | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(CC) -shared -fPIC -O2 -Wall -Wextra -Werror -o $@ $< -ldl

# The I/O fault shim (harness/faults/README.md), preloaded into qemu-img, QEMU and the
# agent. Built without _FILE_OFFSET_BITS/_FORTIFY_SOURCE: it defines pread and pread64,
# open and __open_2 side by side, which those macros would rename.
$(BUILD)/lib/libvecs-iofault.so: harness/faults/iofault_shim.c harness/faults/iofault_layout.h | $(DEPS_STAMP)
	@mkdir -p $(@D)
	@$(if $(Q),echo "  SHLIB   $@")
	$(Q)$(CC) -shared -fPIC -O2 -g -std=gnu11 $(WARN) -D_GNU_SOURCE -Iharness \
		-o $@ $< -ldl -lpthread

# The tiny guest of the reference stack's VMs (fixtures/README.md): Debian's cloud kernel
# and a busybox-static initramfs, from packages fetched at build time; also initrd.img.
$(BUILD)/guest/vmlinuz: fixtures/make-guest fixtures/guest-io.c | $(DEPS_STAMP)
	fixtures/make-guest $(@D)

check: all
	harness/tests/run-check

unit: $(BIN)/vecs-tests
	$(BIN)/vecs-tests

integration: all
	VECS_BIN=$(BIN) harness/tests/integration/run-all

run: all
	VECS_BIN=$(BIN) ci/main-job

bench: all $(BENCH_BIN)
	VECS_BIN=$(BIN) harness/tests/bench/run-all

# --- sanitizers, valgrind, fuzzing ----------------------------------------------------
# -O1 sees other string lengths than -O2: format-truncation stays a warning there
SAN_FLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all \
	-Wno-error=format-truncation
# the agent's sanitizer runs (harness/tests/sanitize/): vecs-agent and vecs-host on real
# commands, with the programs they work with
SAN_AGENT_PROGS := vecs vecs-agent vecs-host vecs-agent-drive vecs-scaleio-gw vecs-nfs \
	getrusage-shim.so

# CFLAGS through the environment, not the command line: a command-line CFLAGS would
# override the Makefile's own `CFLAGS +=` (warnings, -std, include paths).
asan: | $(DEPS_STAMP)
	CFLAGS="$(SAN_FLAGS)" $(MAKE) BUILD=build/asan LDFLAGS="-fsanitize=address,undefined" \
		build/asan/bin/vecs-tests $(addprefix build/asan/bin/,$(SAN_AGENT_PROGS))
	ASAN_OPTIONS=detect_leaks=1 build/asan/bin/vecs-tests
	harness/tests/sanitize/agent-asan

valgrind: $(BIN)/vecs-tests $(addprefix $(BIN)/,$(SAN_AGENT_PROGS))
	VECS_TEST_SLOW=0 valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
		--quiet $(BIN)/vecs-tests
	VECS_BIN=$(BIN) harness/tests/sanitize/agent-valgrind

FUZZ_CC      := clang
FUZZ_FLAGS   := -O1 -g -std=gnu11 -D_GNU_SOURCE -Iharness -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
FUZZ_BIN     := $(FUZZ_SRC:harness/tests/fuzz/%.c=$(BUILD)/fuzz/%)
FUZZ_SECONDS ?= 60

$(BUILD)/fuzz/%: harness/tests/fuzz/%.c $(UTIL_SRC) $(ORACLE_SRC) | $(DEPS_STAMP)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) -o $@ $< $(UTIL_SRC) $(ORACLE_SRC) $(LDLIBS_CRYPTO)

fuzz: $(FUZZ_BIN)
	@for f in $(FUZZ_BIN); do \
		n=$$(basename $$f); mkdir -p $(BUILD)/fuzz/corpus-$$n; \
		echo "fuzz: $$n for $(FUZZ_SECONDS)s"; \
		$$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 -artifact_prefix=$(BUILD)/fuzz/ \
			$(BUILD)/fuzz/corpus-$$n \
			harness/tests/fuzz/seeds/$$n || exit 1; \
	done

# The short run that `make check` and CI include.
fuzz-smoke:
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=10

clean:
	rm -rf build reports/out

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
-include reference-impl/reference.mk
-include reference-impl/agent/agent.mk
-include reference-impl/storage/storage.mk
-include reference-impl/storage/nfs.mk
